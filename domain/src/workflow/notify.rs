//! Exactly-once email bookkeeping: every email has a row keyed by
//! (invoice, kind, step) that is written before it is sent.
//!
//! A sender claims the row with a short lease (`SENDING`), sends, then marks it
//! `SENT`. A second delivery of the same job sees `SENT` and does nothing, or
//! sees a live claim and backs off (its job is retried later). The one window
//! left, a crash after the SMTP server accepted the message and before `SENT`
//! is written, resends with the same Message-ID so mail clients fold the two.
//!
//! The claim (`worker.email_claim_secs`) is renewed from the claim until the
//! send is over (`Held`), and between the server's `250` and `SENT` there is
//! only that update (`mark_sent`, retried): an email goes twice only when
//! its sender dies in that window or loses the database for longer than the
//! claim. A failed send frees the claim only while it is still `SENDING`; a
//! delivery that finds the email held waits for the claim to run out
//! (`Sent::InFlight` → `Outcome::InFlight`). A panic or error while building
//! a message marks that notification `FAILED` (`deliver`); it is never
//! claimed again, so its job finishes and other emails still go. The gallery
//! password is derived from the notification (`HMAC(secret, message id)`),
//! so a resend never carries a different password.

use crate::infra::context::AppContext;
use crate::infra::error::DomainResult;
use chrono::{Duration, Utc};
use entity::enums::{NotificationKind, NotificationStatus};
use entity::notification;
use lettre::Message;
use lettre::message::header::ContentType;
use lettre::message::{Body, Mailbox, MultiPart};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

mod claim;
pub use claim::{Taken, claim, claim_in};

pub struct Email {
    pub studio_name: String,
    pub to_name: String,
    pub to_email: String,
    /// Where the client's answers go: the studio's contact email.
    pub reply_to: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub attachments: Vec<Attachment>,
}

/// A file sent with an email, e.g. the invoice PDF.
pub struct Attachment {
    pub filename: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Sent {
    Now,
    Already,
    /// The email can never be sent as it is; its row is `FAILED` with the
    /// reason, and the job that asked for it is done (retrying would fail
    /// the same way and keep the row claimed).
    Failed,
    /// Another sender holds the email's claim until `until`: the job of
    /// this delivery waits until then (the holder sends it, or dies and the
    /// claim runs out) instead of failing (`Outcome::InFlight`).
    InFlight {
        until: chrono::DateTime<Utc>,
    },
}

/// Identifies one email: at most one is ever sent per key.
#[derive(Debug, Clone)]
pub struct EmailKey {
    pub studio_id: i64,
    pub invoice_id: i64,
    pub kind: NotificationKind,
    pub step: String,
}

pub enum Claim {
    /// This worker owns the send until the `Held` is dropped.
    Mine(Held),
    AlreadySent,
    /// It failed for good earlier (`FAILED`, see `deliver`).
    Failed,
    /// Another sender holds it until `until` (see `Sent::InFlight`).
    HeldElsewhere {
        until: chrono::DateTime<Utc>,
    },
}

impl Claim {
    /// The email to send, or what this delivery comes to without sending it.
    pub fn mine(self) -> Result<Held, Sent> {
        match self {
            Claim::Mine(held) => Ok(held),
            Claim::AlreadySent => Err(Sent::Already),
            Claim::Failed => Err(Sent::Failed),
            Claim::HeldElsewhere { until } => Err(Sent::InFlight { until }),
        }
    }
}

/// An email this sender has claimed. The claim is renewed in the background
/// from the moment it is taken until the email is sent (or this is dropped),
/// so work done between claiming and sending (deriving and hashing a gallery
/// password, slow on a busy machine) can never outlast it: a claim that ran
/// out there let a second sender take the email while the first went on to
/// send it too, the same Message-ID twice with no fault at all.
pub struct Held {
    /// The notification's row.
    id: i64,
    /// Stable across retries: every copy of this email carries it.
    pub message_id: String,
    renewal: KeepClaim,
}

fn by_key<E: sea_orm::QueryFilter>(q: E, key: &EmailKey) -> E {
    q.filter(notification::Column::InvoiceId.eq(key.invoice_id))
        .filter(notification::Column::Kind.eq(key.kind))
        .filter(notification::Column::Step.eq(key.step.clone()))
}

/// The lease on an email being sent (`worker.email_claim_secs`).
fn claim_lease(ctx: &AppContext) -> Duration {
    Duration::seconds(Ord::max(ctx.settings.worker.email_claim_secs, 3))
}

/// Sends a claimed email and marks it sent; on a delivery failure frees the
/// claim (the job retries). A message that cannot be built at all is marked
/// `FAILED` with the reason: that is not going to change on a retry.
///
/// While the SMTP conversation lasts, the claim is renewed every third of
/// its lease, so an email is never taken over from a sender that is alive
/// however slow the server is (a lease that ran out under a slow send was
/// the way one email went out twice without any fault), and a sender that
/// died frees it within one lease. Between the server's `250` and `SENT`
/// there is nothing but the update that marks it, retried if the database
/// hiccups, because the email must not look unsent once it was accepted.
pub async fn deliver(
    ctx: &AppContext,
    key: &EmailKey,
    held: Held,
    email: &Email,
) -> DomainResult<Sent> {
    let Held {
        id,
        message_id,
        renewal,
    } = held;
    let message_id = message_id.as_str();
    // lettre panics (instead of returning an error) on some header values,
    // e.g. a display name with a line break stored before names were
    // checked; one such email must not take its job down with it.
    let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        build_message(ctx, email, message_id)
    }))
    .unwrap_or_else(|panic| {
        let message = crate::kernel::error::panic_message(panic.as_ref());
        Err(anyhow::anyhow!("the mail library panicked: {message}"))
    });
    let message = match built {
        Ok(message) => message,
        Err(err) => {
            let error = format!("{err:#}");
            tracing::error!(kind = key.kind.as_str(), invoice_id = key.invoice_id, %error, "email cannot be built; marked failed");
            by_key(notification::Entity::update_many(), key)
                .col_expr(
                    notification::Column::Status,
                    Expr::value(NotificationStatus::Failed.as_str()),
                )
                .col_expr(notification::Column::Error, Expr::value(error))
                .col_expr(
                    notification::Column::ClaimedUntil,
                    Expr::value(Option::<chrono::DateTime<Utc>>::None),
                )
                .exec(&ctx.db)
                .await?;
            return Ok(Sent::Failed);
        }
    };
    let sent = ctx.mailer.send(message).await;
    drop(renewal);
    match sent {
        Ok(()) => {
            mark_sent(ctx, key, id).await?;
            tracing::info!(kind = key.kind.as_str(), invoice_id = key.invoice_id, to = %email.to_email, "email sent");
            Ok(Sent::Now)
        }
        Err(err) => {
            // Refused or unreachable: free the claim (only while it is still
            // this send's) so that the job's retry can send it.
            by_key(notification::Entity::update_many(), key)
                .col_expr(
                    notification::Column::Status,
                    Expr::value(NotificationStatus::Pending.as_str()),
                )
                .filter(notification::Column::Status.eq(NotificationStatus::Sending))
                .exec(&ctx.db)
                .await?;
            Err(err.into())
        }
    }
}

/// Marks an accepted email `SENT` (in a round with the others sent now,
/// `ctx.sent_marks`), retrying alone for a while: giving up would leave it
/// `SENDING`, and once its claim ran out it would be sent again.
async fn mark_sent(ctx: &AppContext, key: &EmailKey, id: i64) -> DomainResult<()> {
    if let Some(Ok(())) = ctx.sent_marks.submit(id, ctx.clock.now()).await {
        return Ok(());
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut pause = std::time::Duration::from_millis(100);
    loop {
        let result = by_key(notification::Entity::update_many(), key)
            .col_expr(
                notification::Column::Status,
                Expr::value(NotificationStatus::Sent.as_str()),
            )
            .col_expr(notification::Column::SentAt, Expr::value(ctx.clock.now()))
            .exec(&ctx.db)
            .await;
        match result {
            Ok(_) => return Ok(()),
            Err(err) if tokio::time::Instant::now() >= deadline => return Err(err.into()),
            Err(err) => {
                tracing::warn!(error = %err, "email accepted but not yet marked sent; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(std::time::Duration::from_secs(2));
            }
        }
    }
}

/// The task that marks emails `SENT` in rounds, one statement each.
pub fn sent_marks(db: sea_orm::DatabaseConnection) -> crate::infra::rounds::Rounds {
    crate::infra::rounds::Rounds::spawn(std::sync::Arc::new(move |ids: Vec<i64>, now| {
        let db = db.clone();
        Box::pin(async move {
            notification::Entity::update_many()
                .col_expr(
                    notification::Column::Status,
                    Expr::value(NotificationStatus::Sent.as_str()),
                )
                .col_expr(notification::Column::SentAt, Expr::value(now))
                .filter(crate::infra::db::ids_among(
                    &db,
                    notification::Column::Id,
                    &ids,
                ))
                .exec(&db)
                .await
                .map(|_| ())
        })
    }))
}

/// Renews an email's claim in the background until dropped.
struct KeepClaim(tokio::task::JoinHandle<()>);

impl KeepClaim {
    fn start(ctx: &AppContext, key: &EmailKey) -> Self {
        let ctx = ctx.clone();
        let key = key.clone();
        let lease = claim_lease(&ctx);
        let every = (lease / 3)
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(1));
        Self(tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let renewed = by_key(notification::Entity::update_many(), &key)
                    .col_expr(
                        notification::Column::ClaimedUntil,
                        Expr::value(ctx.clock.now() + lease),
                    )
                    .filter(notification::Column::Status.eq(NotificationStatus::Sending))
                    .exec(&ctx.db)
                    .await;
                if let Err(err) = renewed {
                    tracing::warn!(error = %err, "could not renew an email's claim");
                }
            }
        }))
    }
}

impl Drop for KeepClaim {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Whether the email under `key` went out already (saves building it again).
pub async fn already_sent(ctx: &AppContext, key: &EmailKey) -> DomainResult<bool> {
    Ok(by_key(notification::Entity::find(), key)
        .filter(notification::Column::Status.eq(NotificationStatus::Sent))
        .one(&ctx.db)
        .await?
        .is_some())
}

/// Claims and delivers in one go, for emails whose content is fixed.
pub async fn send_once(ctx: &AppContext, key: &EmailKey, email: &Email) -> DomainResult<Sent> {
    match claim(ctx, key, &email.to_email, &email.subject)
        .await?
        .mine()
    {
        Ok(held) => deliver(ctx, key, held, email).await,
        Err(sent) => Ok(sent),
    }
}

fn message_id_host(ctx: &AppContext) -> String {
    ctx.settings
        .smtp
        .from
        .rsplit('@')
        .next()
        .unwrap_or("localhost")
        .to_string()
}

/// Wraps plain text at 72 columns so the part can travel as readable
/// `7bit`/`8bit` text (an `.eml` file opened in an editor shows whole lines
/// and links). Lines that cannot be wrapped (a very long URL) make lettre
/// fall back to quoted-printable, which every mail client decodes.
fn readable_body(text: &str) -> Body {
    let wrapped = text
        .lines()
        .map(|line| {
            textwrap::fill(
                line,
                textwrap::Options::new(72)
                    // Break between words only: Unicode line breaking would
                    // split a long link after a `/`, and a client could not
                    // follow it (`/gallery/` + its token on the next line).
                    .word_separator(textwrap::WordSeparator::AsciiSpace)
                    .break_words(false)
                    .word_splitter(textwrap::WordSplitter::NoHyphenation),
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    Body::new(wrapped)
}

/// The line every email carries while the simulated gateway is in use.
pub const TEST_MODE_LINE: &str = "TEST MODE: payments here go through a simulated payment provider. No real money moves and no card is charged.";

/// The text and HTML of `email` as sent: with the "test mode" mark on top
/// of both while the simulated gateway is the one in use (in every
/// environment), so that nobody takes its payments for real money.
fn marked_bodies(ctx: &AppContext, email: &Email) -> (String, String) {
    if !ctx.settings.test_mode() {
        return (email.text.clone(), email.html.clone());
    }
    let text = format!("{TEST_MODE_LINE}\n\n{}", email.text);
    let banner = format!(
        "<div id=\"test-mode\" style=\"background:#fff4d6;color:#8a6100;padding:10px 14px;font-family:Helvetica,Arial,sans-serif;font-size:14px;font-weight:bold;text-align:center\">{TEST_MODE_LINE}</div>"
    );
    // Right after `<body ...>`, or first if the HTML has no body tag.
    let at = email
        .html
        .find("<body")
        .and_then(|start| email.html[start..].find('>').map(|end| start + end + 1))
        .unwrap_or(0);
    let mut html = email.html.clone();
    html.insert_str(at, &banner);
    (text, html)
}

fn build_message(ctx: &AppContext, email: &Email, message_id: &str) -> anyhow::Result<Message> {
    let from: Mailbox = Mailbox::new(
        Some(email.studio_name.clone()),
        ctx.settings.smtp.from.parse()?,
    );
    let to = Mailbox::new(Some(email.to_name.clone()), email.to_email.parse()?);
    let (text, html) = marked_bodies(ctx, email);
    let body = MultiPart::alternative()
        .singlepart(
            lettre::message::SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(readable_body(&text)),
        )
        .singlepart(
            lettre::message::SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(html),
        );
    let body = if email.attachments.is_empty() {
        body
    } else {
        let mut mixed = MultiPart::mixed().multipart(body);
        for file in &email.attachments {
            mixed = mixed.singlepart(
                lettre::message::Attachment::new(file.filename.clone())
                    .body(file.bytes.clone(), ContentType::parse(file.content_type)?),
            );
        }
        mixed
    };
    let mut builder = Message::builder().from(from).to(to);
    // A studio address that does not parse leaves the header out rather
    // than the email unsent.
    if let Some(reply_to) = email.reply_to.as_deref().map(str::trim)
        && !reply_to.is_empty()
    {
        match reply_to.parse() {
            Ok(address) => {
                builder = builder.reply_to(Mailbox::new(Some(email.studio_name.clone()), address));
            }
            Err(err) => {
                tracing::warn!(%reply_to, error = %err, "studio email is not an address; no Reply-To");
            }
        }
    }
    Ok(builder
        .subject(email.subject.clone())
        .message_id(Some(message_id.to_string()))
        .multipart(body)?)
}
