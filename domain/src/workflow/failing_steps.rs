//! Steps of the workflow that keep failing, for the studio to see and to
//! retry: outbox rows of the studio that failed at least once and are not
//! done (waiting for their next attempt, running again, or given up after
//! `worker.max_attempts`), and emails whose `notifications` row ended
//! `FAILED` (the message could not be built or sent as it is), listed under
//! the outbox row of the job that sends them. The retry itself stays the
//! outbox's: `retry` only makes the row due now (for a failed email, it
//! first moves the email back to `PENDING`, once), and the relay hands it to
//! a worker.
//!
//! A studio sees and retries only its own steps (`outbox.studio_id`);
//! another studio's id is `NOT_FOUND`; the step stays idempotent.

use crate::infra::context::AppContext;
use crate::infra::error::{DomainResult, UserError};
use crate::kernel::ids::{SessionId, StudioId};
use crate::workflow::jobs::JobKind;
use chrono::{DateTime, Utc};
use entity::enums::{NotificationStatus, OutboxStatus};
use entity::{invoice, notification, outbox, payment, refund, session};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// At most this many steps are listed (newest first).
const LIST_LIMIT: u64 = 100;
/// What of a step's last error a studio sees: its first line, this long.
const ERROR_CHARS: usize = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    /// Waiting for its next attempt (`next_retry_at`).
    Retrying,
    /// Handed to a worker again.
    Running,
    /// Out of attempts; runs again only when retried.
    GaveUp,
}

#[derive(Debug, Clone)]
pub struct FailingStep {
    /// The outbox row.
    pub id: i64,
    /// The job kind (`generate_invoice`, `send_invoice`, `charge`...).
    pub kind: &'static str,
    pub session_id: Option<i64>,
    /// The session's title, to show with the step.
    pub session_title: Option<String>,
    pub invoice_id: Option<i64>,
    pub attempts: i32,
    /// The first line of the last error, as the code wrote it.
    pub last_error: String,
    /// The last error as a sentence a studio understands ("Can't reach the
    /// mail server at smtp://mail.example.com:587."); [`explain`].
    pub problem: String,
    pub state: StepState,
    pub next_retry_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Where emails go, to name it in a sentence: the SMTP URL without its user,
/// password and options (`smtp://mail.example.com:587`), or `None` when
/// emails are written as `.eml` files.
pub fn mail_server(settings: &crate::infra::settings::Settings) -> Option<String> {
    use secrecy::ExposeSecret;
    let raw = settings.smtp.url.as_ref()?.expose_secret().to_string();
    let url = url::Url::parse(&raw).ok()?;
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    })
}

/// A step's error as a sentence for the studio, instead of the raw error
/// text: what could not be done and what happens next. `mail_server` names
/// the SMTP server ([`mail_server`]) in mail errors.
pub fn explain(error: &str, mail_server: Option<&str>) -> String {
    let lower = error.to_ascii_lowercase();
    let server = mail_server
        .map(|s| format!("the mail server at {s}"))
        .unwrap_or_else(|| "the mail server".to_string());
    let has = |needle: &str| lower.contains(needle);
    if has("mail server unreachable") {
        let why = if has("refused") {
            " (it refused the connection)"
        } else if has("timed out") || has("timeout") {
            " (it did not answer in time)"
        } else if has("dns") || has("resolve") || has("lookup") {
            " (its name does not resolve)"
        } else {
            ""
        };
        format!("Can't reach {server}{why}. The email is sent as soon as it answers.")
    } else if has("smtp delivery failed") {
        format!(
            "{} refused the email: {}. Check the mail settings (address, login), then retry.",
            capitalized(&server),
            detail_after(error, "SMTP delivery failed:")
        )
    } else if has("invalid smtp url") {
        "The mail server setting (smtp.url) is not a valid SMTP address: fix it and restart."
            .to_string()
    } else if has("could not write the email file") {
        format!(
            "Can't write the email file: {}. Check that the data directory is writable.",
            detail_after(error, "could not write the email file:")
        )
    } else if has("gateway unavailable") {
        "Can't reach the payment provider. The step runs again on its own; nothing was charged twice."
            .to_string()
    } else if has("database") {
        "The database did not answer. The step runs again on its own.".to_string()
    } else if error.trim().is_empty() {
        "The step failed without saying why.".to_string()
    } else {
        format!(
            "The step failed: {}.",
            summary(Some(error)).trim_end_matches('.')
        )
    }
}

/// Gives every step's problem the mail server's name (see [`explain`]).
pub fn name_mail_server(steps: &mut [FailingStep], settings: &crate::infra::settings::Settings) {
    let server = mail_server(settings);
    for step in steps {
        step.problem = explain(&step.last_error, server.as_deref());
    }
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The text after `marker` (case-insensitive) on the error's first line.
fn detail_after(error: &str, marker: &str) -> String {
    let line = error.lines().next().unwrap_or_default();
    let found = line
        .to_ascii_lowercase()
        .find(&marker.to_ascii_lowercase())
        .map(|at| at + marker.len());
    found
        .and_then(|at| line.get(at..))
        .unwrap_or(line)
        .trim()
        .trim_end_matches('.')
        .chars()
        .take(ERROR_CHARS)
        .collect()
}

fn summary(error: Option<&str>) -> String {
    error
        .and_then(|e| e.lines().next())
        .map(|line| line.chars().take(ERROR_CHARS).collect())
        .unwrap_or_else(|| "failed".into())
}

/// The invoice a job is about, whichever id it carries.
async fn invoice_of<C: ConnectionTrait>(
    conn: &C,
    studio_id: i64,
    kind: &JobKind,
) -> DomainResult<Option<i64>> {
    Ok(match kind {
        JobKind::GenerateInvoice { .. }
        | JobKind::IssuePlanPart { .. }
        | JobKind::DeliverSimulatedWebhook { .. }
        | JobKind::SendCardSetupLink { .. }
        | JobKind::SendPlanUpdate { .. }
        | JobKind::Noop { .. } => None,
        JobKind::Charge { invoice_id, .. }
        | JobKind::SendInvoice { invoice_id, .. }
        | JobKind::SyncGalleryAccess { invoice_id, .. }
        | JobKind::SendGalleryCredentials { invoice_id }
        | JobKind::SendGalleryUpgrade { invoice_id, .. }
        | JobKind::SendDeclineNotice { invoice_id, .. }
        | JobKind::ReminderStep { invoice_id, .. }
        | JobKind::SendReminder { invoice_id, .. }
        | JobKind::SendGalleryExpiryNotice { invoice_id, .. }
        | JobKind::DeliverGalleryWebhook { invoice_id, .. }
        | JobKind::ExpireStaleCheckouts { invoice_id, .. }
        | JobKind::CheckCard { invoice_id }
        | JobKind::ApplyDefaultPicks { invoice_id } => Some(*invoice_id),
        JobKind::SendReceipt { payment_id } | JobKind::ResolvePayment { payment_id } => {
            payment::Entity::find_by_id(*payment_id)
                .filter(payment::Column::StudioId.eq(studio_id))
                .one(conn)
                .await?
                .map(|p| p.invoice_id)
        }
        JobKind::AnswerDispute { dispute_id, .. } => {
            entity::dispute::Entity::find_by_id(*dispute_id)
                .filter(entity::dispute::Column::StudioId.eq(studio_id))
                .one(conn)
                .await?
                .map(|d| d.invoice_id)
        }
        JobKind::SendRefundConfirmation { refund_id } | JobKind::ResolveRefund { refund_id } => {
            refund::Entity::find_by_id(*refund_id)
                .filter(refund::Column::StudioId.eq(studio_id))
                .one(conn)
                .await?
                .map(|r| r.invoice_id)
        }
    })
}

async fn describe<C: ConnectionTrait>(
    conn: &C,
    studio_id: i64,
    row: outbox::Model,
) -> DomainResult<FailingStep> {
    let kind = serde_json::from_str::<JobKind>(&row.payload).ok();
    let (name, session_id, invoice_id) = match &kind {
        Some(JobKind::GenerateInvoice { session_id }) => {
            ("generate_invoice", Some(*session_id), None)
        }
        Some(kind) => {
            let invoice_id = invoice_of(conn, studio_id, kind).await?;
            let session_id = match invoice_id {
                Some(id) => invoice::Entity::find_by_id(id)
                    .filter(invoice::Column::StudioId.eq(studio_id))
                    .one(conn)
                    .await?
                    .map(|i| i.session_id),
                None => None,
            };
            (kind.name(), session_id, invoice_id)
        }
        None => ("unknown", None, None),
    };
    let session_title = match session_id {
        Some(id) => session::Entity::find_by_id(id)
            .filter(session::Column::StudioId.eq(studio_id))
            .one(conn)
            .await?
            .map(|s| s.title),
        None => None,
    };
    let state = match row.status {
        OutboxStatus::Failed => StepState::GaveUp,
        OutboxStatus::Enqueued => StepState::Running,
        _ => StepState::Retrying,
    };
    Ok(FailingStep {
        id: row.id,
        kind: name,
        session_id,
        session_title,
        invoice_id,
        attempts: row.attempts,
        problem: explain(row.last_error.as_deref().unwrap_or_default(), None),
        last_error: summary(row.last_error.as_deref()),
        next_retry_at: (state == StepState::Retrying)
            .then_some(row.claimed_until)
            .flatten(),
        state,
        created_at: row.created_at,
    })
}

fn failing() -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(crate::workflow::outbox::has_failed())
        .add(outbox::Column::Status.is_in([
            OutboxStatus::Pending,
            OutboxStatus::Enqueued,
            OutboxStatus::Failed,
        ]))
}

/// The studio's emails that ended `FAILED`, each with the (done) outbox row
/// of the job that sends it, newest first.
async fn failed_emails<C: ConnectionTrait>(
    conn: &C,
    studio_id: i64,
) -> DomainResult<Vec<(notification::Model, outbox::Model)>> {
    let emails = notification::Entity::find()
        .filter(notification::Column::StudioId.eq(studio_id))
        .filter(notification::Column::Status.eq(NotificationStatus::Failed))
        .order_by_desc(notification::Column::Id)
        .limit(LIST_LIMIT)
        .all(conn)
        .await?;
    let mut found = Vec::with_capacity(emails.len());
    for email in emails {
        let job = match JobKind::sending(&email) {
            Some(job) => Some(job),
            None => paid_summary_job(conn, &email).await?,
        };
        let Some(job) = job else {
            continue;
        };
        if let Some(row) = crate::workflow::outbox::find_by_dedup(conn, &job).await?
            && row.studio_id == Some(studio_id)
            && row.status == OutboxStatus::Done
        {
            found.push((email, row));
        }
    }
    Ok(found)
}

/// The job that sends a shared invoice's "paid in full" summary: the
/// receipt of the last payer's payment (the one that paid it off).
async fn paid_summary_job<C: ConnectionTrait>(
    conn: &C,
    email: &notification::Model,
) -> DomainResult<Option<JobKind>> {
    if email.kind != entity::enums::NotificationKind::Receipt
        || email.step != crate::workflow::jobs::PAID_IN_FULL
    {
        return Ok(None);
    }
    let last = payment::Entity::find()
        .filter(payment::Column::InvoiceId.eq(email.invoice_id))
        .filter(payment::Column::Status.eq(entity::enums::PaymentStatus::Succeeded))
        .filter(payment::Column::PayerId.is_not_null())
        .order_by_desc(payment::Column::Id)
        .one(conn)
        .await?;
    Ok(last.map(|p| JobKind::SendReceipt { payment_id: p.id }))
}

/// A failed email as a step: its job, its error, and the attempts of its
/// job including the last one, which failed for good.
async fn describe_email<C: ConnectionTrait>(
    conn: &C,
    studio_id: i64,
    email: &notification::Model,
    row: outbox::Model,
) -> DomainResult<FailingStep> {
    let mut step = describe(conn, studio_id, row).await?;
    step.attempts = step.attempts.saturating_add(1);
    step.last_error = summary(email.error.as_deref());
    step.problem = explain(email.error.as_deref().unwrap_or_default(), None);
    step.state = StepState::GaveUp;
    step.next_retry_at = None;
    step.created_at = email.created_at;
    Ok(step)
}

/// The studio's steps that failed and are not done, and its failed emails,
/// newest first.
pub async fn list<C: ConnectionTrait>(conn: &C, studio_id: i64) -> DomainResult<Vec<FailingStep>> {
    let rows = outbox::Entity::find()
        .filter(outbox::Column::StudioId.eq(studio_id))
        .filter(failing())
        .order_by_desc(outbox::Column::Id)
        .limit(LIST_LIMIT)
        .all(conn)
        .await?;
    let mut steps = Vec::with_capacity(rows.len());
    for row in rows {
        steps.push(describe(conn, studio_id, row).await?);
    }
    for (email, row) in failed_emails(conn, studio_id).await? {
        steps.push(describe_email(conn, studio_id, &email, row).await?);
    }
    steps.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    steps.truncate(LIST_LIMIT as usize);
    Ok(steps)
}

/// The failing steps of one of the studio's sessions.
pub async fn of_session<C: ConnectionTrait>(
    conn: &C,
    studio_id: StudioId,
    session_id: SessionId,
) -> DomainResult<Vec<FailingStep>> {
    let (studio_id, session_id) = (studio_id.get(), session_id.get());
    Ok(list(conn, studio_id)
        .await?
        .into_iter()
        .filter(|s| s.session_id == Some(session_id))
        .collect())
}

/// Makes one of the studio's failing steps due now (a given-up one gets one
/// more attempt; its count goes on). A step running right now, or done, is
/// `INVALID_STATE`; another studio's step is `NOT_FOUND`, like a missing one.
pub async fn retry(ctx: &AppContext, studio_id: i64, id: i64) -> DomainResult<FailingStep> {
    if let Some(step) = retry_email(ctx, studio_id, id).await? {
        return Ok(step);
    }
    let updated = due_now(id)
        .filter(outbox::Column::StudioId.eq(studio_id))
        .filter(crate::workflow::outbox::has_failed())
        .filter(outbox::Column::Status.is_in([OutboxStatus::Pending, OutboxStatus::Failed]))
        .exec(&ctx.db)
        .await?;
    let row = outbox::Entity::find_by_id(id)
        .filter(outbox::Column::StudioId.eq(studio_id))
        .one(&ctx.db)
        .await?
        .ok_or_else(|| UserError::not_found("id", "step"))?;
    if updated.rows_affected == 0 {
        return Err(match row.status {
            OutboxStatus::Done => UserError::state("id", "this step is done"),
            OutboxStatus::Enqueued => UserError::state("id", "this step is running right now"),
            _ => UserError::state("id", "this step has not failed"),
        }
        .into());
    }
    crate::workflow::next::wake(ctx);
    tracing::info!(
        studio_id,
        outbox_id = id,
        "failing step retried by the studio"
    );
    describe(&ctx.db, studio_id, row).await
}

/// Outbox row `id` made due now (`PENDING`, no lease); the caller adds the
/// states it may come from.
fn due_now(id: i64) -> sea_orm::UpdateMany<outbox::Entity> {
    outbox::Entity::update_many()
        .col_expr(
            outbox::Column::Status,
            Expr::value(OutboxStatus::Pending.as_str()),
        )
        .col_expr(
            outbox::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(outbox::Column::Id.eq(id))
}

/// Retries a failed email listed under outbox row `id`: in one
/// transaction, the email goes back from `FAILED` to `PENDING` (a
/// conditional update, so of two retries, concurrent or not, exactly one
/// does it) and its job's row becomes due again; the job then claims and
/// sends the email once like any other. `None` when `id` is no failed
/// email's step.
async fn retry_email(
    ctx: &AppContext,
    studio_id: i64,
    id: i64,
) -> DomainResult<Option<FailingStep>> {
    let Some(row) = outbox::Entity::find_by_id(id)
        .filter(outbox::Column::StudioId.eq(studio_id))
        .filter(outbox::Column::Status.eq(OutboxStatus::Done))
        .one(&ctx.db)
        .await?
    else {
        return Ok(None);
    };
    let Some((email, _)) = failed_emails(&ctx.db, studio_id)
        .await?
        .into_iter()
        .find(|(_, r)| r.id == row.id)
    else {
        return Ok(None);
    };
    let tx = crate::infra::db::begin_write(&ctx.db).await?;
    let reopened = notification::Entity::update_many()
        .col_expr(
            notification::Column::Status,
            Expr::value(NotificationStatus::Pending.as_str()),
        )
        .col_expr(
            notification::Column::Error,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            notification::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(notification::Column::Id.eq(email.id))
        .filter(notification::Column::Status.eq(NotificationStatus::Failed))
        .exec(&tx)
        .await?;
    if reopened.rows_affected != 1 {
        return Err(UserError::state("id", "this email is being sent again already").into());
    }
    due_now(row.id)
        .filter(outbox::Column::Status.eq(OutboxStatus::Done))
        .exec(&tx)
        .await?;
    crate::workflow::next::commit(ctx, tx).await?;
    tracing::info!(
        studio_id,
        outbox_id = id,
        notification_id = email.id,
        "failed email retried by the studio"
    );
    let mut step = describe_email(&ctx.db, studio_id, &email, row).await?;
    step.state = StepState::Retrying;
    Ok(Some(step))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_studio_sees_the_first_line_of_an_error_only() {
        assert_eq!(summary(Some("smtp: refused\nat line 3")), "smtp: refused");
        assert_eq!(summary(None), "failed");
        assert_eq!(summary(Some(&"x".repeat(1000))).len(), ERROR_CHARS);
    }

    #[test]
    fn errors_read_as_sentences() {
        let refused = "sending the invoice email: mail server unreachable: Connection error: Connection refused (os error 111)";
        assert_eq!(
            explain(refused, Some("smtp://127.0.0.1:2525")),
            "Can't reach the mail server at smtp://127.0.0.1:2525 (it refused the connection). The email is sent as soon as it answers."
        );
        assert_eq!(
            explain(
                "SMTP delivery failed: permanent error (550): mailbox unavailable",
                None
            ),
            "The mail server refused the email: permanent error (550): mailbox unavailable. Check the mail settings (address, login), then retry."
        );
        assert_eq!(explain("", None), "The step failed without saying why.");
    }
}
