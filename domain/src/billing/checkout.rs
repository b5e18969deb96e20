//! Hosted checkout for the portal (Stripe Checkout, `mode=payment`) and the
//! one writer that settles it.
//!
//! 1. **Open** ([`start`]): the portal's Pay button POSTs here (never a GET:
//!    mail scanners open links). A still-open session for the amount due is
//!    reused; an open session for another amount (a late fee, a partial
//!    payment since) is expired first, so a client never pays a stale
//!    amount. A new attempt is reserved as a `checkout_sessions` row under
//!    the invoice's lock, with every parameter the gateway will see
//!    (amount, expiry, ...) fixed in it; its idempotency key
//!    `inv_{invoice}_checkout_{amount}_{attempt}` is therefore never sent
//!    with other parameters, and two tabs share one session. A creation
//!    whose answer is lost (a timeout, a 5xx: Stripe replays a stored 500
//!    for the key) is never sent again: the session is looked for by the
//!    key in its metadata, and if there is none the attempt is abandoned so
//!    the next press opens attempt n+1 under a new key.
//! 2. **Settle** ([`settle_in`]): the `checkout.session.*` webhooks and the
//!    client's return to `success_url` (which retrieves the session) all end
//!    here, in any order and any number of times: one payment row (keyed by
//!    the session id), one receipt and one gallery change, through
//!    `payments::settle_in`. A session whose `amount_total` or `currency`
//!    differs from what was asked is recorded as `MISMATCH` with an audit
//!    line, never settled silently.
//!
//! Every writer that changes an invoice's amount due calls `retire_stale_in`
//! in its transaction: open sessions for another amount get an
//! `ExpireStaleCheckouts` job and are expired at the gateway after the commit
//! (`expire_stale`: once, retried; one paid meanwhile is settled). A paid
//! session is `COMPLETE` before its money moves, so its own payment writes no
//! such job. A client has at most one gateway Customer
//! (`clients.gateway_customer_id`, created under `client_{id}_customer` and
//! written only while empty; after an unanswered creation it is looked for
//! with `find_customer` before another is made).

use crate::billing::documents::InvoiceDocument;
use crate::billing::lifecycle::{self, Actor};
use crate::billing::{hosted, surcharge::Charge};
use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::{DomainError, DomainResult, UserError};
use crate::kernel::money::Minor;
use crate::ports::gateway::{
    CheckoutLookup, CheckoutRequest, CheckoutSession, CheckoutState, GatewayError,
};
use chrono::{DateTime, Duration, Utc};
use entity::checkout_session;
use entity::enums::CheckoutStatus;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect};

pub(crate) const LIVE: [CheckoutStatus; 2] = [CheckoutStatus::Creating, CheckoutStatus::Open];

fn request_of(
    ctx: &AppContext,
    doc: &InvoiceDocument,
    row: &checkout_session::Model,
) -> DomainResult<CheckoutRequest> {
    let portal = doc.portal_link(ctx);
    Ok(CheckoutRequest {
        idempotency_key: row.idempotency_key.clone(),
        amount: row.amount_minor.of(row.currency),
        tip: row
            .tip_minor
            .is_positive()
            .then(|| row.tip_minor.of(row.currency)),
        surcharge: row
            .surcharge_minor
            .is_positive()
            .then(|| row.surcharge_minor.of(row.currency)),
        product_name: doc.checkout_line(),
        customer: doc.gateway_customer(),
        invoice_ref: doc.invoice.id.to_string(),
        success_url: format!("{portal}/return?session_id={{CHECKOUT_SESSION_ID}}"),
        cancel_url: portal,
        expires_at: row.expires_at,
        save_card: row.save_card,
        installment_ref: doc.invoice.plan_part_id.map(|id| id.to_string()),
    })
}

/// Opens (or reuses) the hosted Checkout Session for what the invoice owes
/// now, with the client's `tip` as a line of its own (zero: none), and
/// returns its URL, for a 303 from the portal.
pub async fn start(
    ctx: &AppContext,
    doc: &InvoiceDocument,
    save_card: bool,
    tip: Minor,
) -> DomainResult<String> {
    let choice = Choice {
        save_card,
        tip,
        tip_only: false,
        payer: doc.payer.as_ref().map(|p| p.id),
    };
    open(ctx, doc, choice).await
}

/// Opens (or reuses) a tip-only Checkout Session on a paid invoice ("Add a
/// tip" after an automatic charge): one "Gratuity" line, nothing toward
/// the invoice's money, never stale when the amount due changes.
pub async fn start_tip(
    ctx: &AppContext,
    doc: &InvoiceDocument,
    tip: Minor,
) -> DomainResult<String> {
    let choice = Choice {
        save_card: false,
        tip,
        tip_only: true,
        payer: None,
    };
    open(ctx, doc, choice).await
}

async fn open(ctx: &AppContext, doc: &InvoiceDocument, choice: Choice) -> DomainResult<String> {
    let Choice { save_card, tip, .. } = choice;
    let invoice_id = doc.invoice.id;
    let now = ctx.clock.now();
    let fresh_until = hosted::fresh_until(now);
    // Sessions for another amount, or about to expire, go first: expired at
    // the gateway so that nobody can pay them any more.
    let live = checkout_session::Entity::find()
        .filter(checkout_session::Column::InvoiceId.eq(invoice_id))
        .filter(checkout_session::Column::Status.is_in(LIVE))
        .all(&ctx.db)
        .await?;
    // Another payer's sessions are theirs to keep.
    let mine = |row: &checkout_session::Model| row.payer_id == choice.payer;
    let amount = match choice.payer {
        Some(_) => doc.due_now(),
        None => choice.amount_toward(&doc.invoice),
    };
    let surcharge = choice.surcharge_at(doc, amount);
    for row in live.into_iter().filter(mine) {
        if row.amount_minor == amount
            && row.save_card == save_card
            && row.tip_minor == tip
            && row.surcharge_minor == surcharge
            && row.expires_at > fresh_until
        {
            continue;
        }
        retire(ctx, &row).await?;
    }

    let (invoice, row) = reserve_attempt(ctx, invoice_id, choice, fresh_until).await?;
    if row.status == CheckoutStatus::Open
        && let Some(url) = &row.url
    {
        tracing::info!(invoice_id, attempt = row.attempt, "checkout session reused");
        return Ok(url.clone());
    }
    // A reserved attempt is created (or, by another tab, replayed by the
    // gateway under the same key and parameters).
    let doc = hosted::with_customer(ctx, doc, invoice).await?;
    let request = request_of(ctx, &doc, &row)?;
    let session = match ctx.gateway.create_checkout(&request).await {
        Ok(session) => session,
        Err(GatewayError::Unavailable(why)) => {
            settle_lost_creation(ctx, &row, request.customer.clone(), &why).await?
        }
        Err(err) => return Err(err.into()),
    };
    let url = session
        .url
        .clone()
        .ok_or_else(|| anyhow::anyhow!("checkout session {} has no url", session.id))?;
    let opened = checkout_session::Entity::update_many()
        .col_expr(
            checkout_session::Column::GatewaySessionId,
            Expr::value(session.id.clone()),
        )
        .col_expr(checkout_session::Column::Url, Expr::value(url.clone()))
        .col_expr(
            checkout_session::Column::Status,
            Expr::value(CheckoutStatus::Open.as_str()),
        )
        .col_expr(
            checkout_session::Column::UpdatedAt,
            Expr::value(ctx.clock.now()),
        )
        .filter(checkout_session::Column::Id.eq(row.id))
        .filter(checkout_session::Column::Status.eq(CheckoutStatus::Creating))
        .exec(&ctx.db)
        .await?;
    if opened.rows_affected != 1 {
        opened_meanwhile(ctx, &row, &session.id).await?;
    }
    tracing::info!(invoice_id, attempt = row.attempt, session = %session.id, "checkout session opened");
    Ok(url)
}

mod attempts;
use attempts::{Choice, reserve_attempt};

mod stale;
pub use stale::expire_stale;
use stale::retire;
pub(crate) use stale::retire_stale_in;

use hosted::unavailable;

mod paid;
use paid::{settle_mismatch, settle_paid};

mod held;
pub(crate) use held::capture_in_event;

/// Slack on the attempt's reservation time when listing the gateway's
/// sessions (clocks differ).
const LOOKUP_SLACK_MINUTES: i64 = 10;

/// The creation of an attempt's session got no answer (a timeout, a 5xx):
/// the gateway may have created it, and Stripe keeps a 500 under the key
/// and replays it, so the key is never sent again. The session is looked
/// for by the attempt's key in its metadata: found, it is the attempt's
/// (opened as if the answer had arrived); not found (or not findable), the
/// attempt is abandoned, so the next press reserves attempt n+1 under a
/// new key at once. A session created after the look is harmless: nobody
/// has its address (it was in the lost answer), and it expires on its own.
async fn settle_lost_creation(
    ctx: &AppContext,
    row: &checkout_session::Model,
    customer: Option<String>,
    why: &str,
) -> DomainResult<CheckoutSession> {
    tracing::warn!(invoice_id = row.invoice_id, attempt = row.attempt, %why, "checkout session creation's outcome unknown; looking for it");
    let lookup = CheckoutLookup {
        idempotency_key: row.idempotency_key.clone(),
        customer,
        created_from: row.created_at - Duration::minutes(LOOKUP_SLACK_MINUTES),
    };
    let looked = ctx.gateway.find_checkout(&lookup).await;
    match looked {
        Ok(Some(session)) if session.state == CheckoutState::Open && session.url.is_some() => {
            tracing::info!(invoice_id = row.invoice_id, attempt = row.attempt, session = %session.id, "checkout session found after a lost answer");
            return Ok(session);
        }
        Ok(Some(session)) => {
            // Not payable any more (expired meanwhile): remembered, so that
            // anything that happens to it still settles here.
            checkout_session::Entity::update_many()
                .col_expr(
                    checkout_session::Column::GatewaySessionId,
                    Expr::value(session.id.clone()),
                )
                .filter(checkout_session::Column::Id.eq(row.id))
                .filter(checkout_session::Column::GatewaySessionId.is_null())
                .exec(&ctx.db)
                .await?;
        }
        Ok(None) => {}
        Err(err) => {
            tracing::warn!(invoice_id = row.invoice_id, attempt = row.attempt, error = %err, "checkout session lookup failed; abandoning the attempt");
        }
    }
    abandon(
        ctx,
        row,
        &format!("creation got no answer ({why}); abandoned for a new attempt"),
    )
    .await?;
    Err(unavailable(
        "the payment provider did not answer; nothing was charged; please press Pay again",
    ))
}

/// Takes an attempt out of play (no session anybody could pay is known
/// for it), with why.
async fn abandon(
    ctx: &AppContext,
    row: &checkout_session::Model,
    detail: &str,
) -> DomainResult<()> {
    checkout_session::Entity::update_many()
        .col_expr(
            checkout_session::Column::Status,
            Expr::value(CheckoutStatus::Expired.as_str()),
        )
        .col_expr(checkout_session::Column::Detail, Expr::value(detail))
        .col_expr(
            checkout_session::Column::UpdatedAt,
            Expr::value(ctx.clock.now()),
        )
        .filter(checkout_session::Column::Id.eq(row.id))
        .filter(checkout_session::Column::Status.eq(CheckoutStatus::Creating))
        .exec(&ctx.db)
        .await?;
    Ok(())
}

/// The attempt left `CREATING` while its session was being created: another
/// tab opened it (same key, same session: fine), or it was retired because
/// the amount changed. A retired attempt's session is remembered (so that
/// anything that happens to it settles here) and expired at the gateway, and
/// the client is asked to press Pay again: nobody pays a stale amount, and
/// no session that can take money is unknown to us.
async fn opened_meanwhile(
    ctx: &AppContext,
    row: &checkout_session::Model,
    session_id: &str,
) -> DomainResult<()> {
    checkout_session::Entity::update_many()
        .col_expr(
            checkout_session::Column::GatewaySessionId,
            Expr::value(session_id),
        )
        .filter(checkout_session::Column::Id.eq(row.id))
        .filter(checkout_session::Column::GatewaySessionId.is_null())
        .exec(&ctx.db)
        .await?;
    let now = checkout_session::Entity::find_by_id(row.id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("checkout attempt {} vanished", row.id))?;
    if now.status == CheckoutStatus::Open {
        return Ok(());
    }
    tracing::warn!(
        invoice_id = row.invoice_id,
        attempt = row.attempt,
        session = session_id,
        "checkout attempt retired while its session was created; expiring the session"
    );
    retire(ctx, &now).await?;
    Err(UserError::state(
        "invoice",
        "the amount due changed while the payment page was being prepared; please press Pay again",
    )
    .into())
}

/// What a settle call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// No checkout row knows this session.
    Unknown,
    /// This call recorded the payment (receipt and gallery follow).
    Paid { invoice_id: i64, payment_id: i64 },
    /// Nothing new: already settled, still open, expired, processing.
    Noted(String),
    /// The gateway reported an amount or currency other than what was asked.
    Mismatch(String),
    /// An asynchronous payment failed.
    Failed { invoice_id: i64 },
}

/// Settles a session the way it is now, in its own transaction (the return
/// page, a stale session found paid). `async_failed` marks a
/// `checkout.session.async_payment_failed`.
pub async fn settle(
    ctx: &AppContext,
    session: &CheckoutSession,
    actor: &Actor,
    async_failed: bool,
) -> DomainResult<Settled> {
    let session = &held::capture(ctx, session.clone()).await?;
    let tx = begin_write(&ctx.db).await?;
    let settled = settle_in(&tx, session, actor, async_failed, ctx.clock.now()).await?;
    crate::workflow::next::commit(ctx, tx).await?;
    if let Settled::Paid { payment_id, .. } = &settled {
        crate::billing::events::publish_payment_event(ctx, *payment_id).await?;
    }
    Ok(settled)
}

/// **The** settle writer of hosted checkout, inside the caller's transaction.
pub(crate) async fn settle_in(
    tx: &DatabaseTransaction,
    session: &CheckoutSession,
    actor: &Actor,
    async_failed: bool,
    now: DateTime<Utc>,
) -> DomainResult<Settled> {
    let Some(row) = checkout_session::Entity::find()
        .filter(checkout_session::Column::GatewaySessionId.eq(session.id.clone()))
        .lock_exclusive()
        .one(tx)
        .await?
    else {
        return Ok(Settled::Unknown);
    };
    if matches!(
        row.status,
        CheckoutStatus::Complete | CheckoutStatus::Mismatch
    ) {
        return Ok(Settled::Noted(format!(
            "checkout session {} already {}",
            session.id,
            row.status.as_str()
        )));
    }
    let unsettled = [
        CheckoutStatus::Creating,
        CheckoutStatus::Open,
        CheckoutStatus::Processing,
    ];
    match session.state {
        CheckoutState::Open => Ok(Settled::Noted(format!(
            "checkout session {} is open",
            session.id
        ))),
        CheckoutState::Expired => {
            mark(tx, &row, CheckoutStatus::Expired, &unsettled, now).await?;
            Ok(Settled::Noted(format!(
                "checkout session {} expired",
                session.id
            )))
        }
        CheckoutState::Complete if async_failed => {
            mark(tx, &row, CheckoutStatus::Failed, &unsettled, now).await?;
            let detail = format!(
                "checkout attempt {}: the delayed payment failed",
                row.attempt
            );
            lifecycle::record_payment_failed(
                tx,
                row.invoice_id,
                row.amount_minor,
                actor,
                detail,
                now,
            )
            .await?;
            Ok(Settled::Failed {
                invoice_id: row.invoice_id,
            })
        }
        CheckoutState::Complete if row.surcharge_minor.is_positive() => {
            held::settle_held(tx, &row, session, actor, now).await
        }
        CheckoutState::Complete if session.payment_status != "paid" => {
            // Completed with a delayed method: the money is not confirmed yet.
            let from = [CheckoutStatus::Creating, CheckoutStatus::Open];
            mark(tx, &row, CheckoutStatus::Processing, &from, now).await?;
            Ok(Settled::Noted(format!(
                "checkout session {} is processing",
                session.id
            )))
        }
        CheckoutState::Complete
            if Some(session.amount_total)
                != row.amount_minor.checked_add(row.tip_minor).map(Minor::get)
                || !session.currency.eq_ignore_ascii_case(row.currency.code()) =>
        {
            let asked = row.amount_minor + row.tip_minor;
            settle_mismatch(tx, &row, session, session.amount_total, asked, actor, now).await
        }
        CheckoutState::Complete => settle_paid(tx, &row, session, Charge::NONE, actor, now).await,
    }
}

/// Moves an attempt to `status` if it is still in one of `from`.
async fn mark(
    tx: &DatabaseTransaction,
    row: &checkout_session::Model,
    status: CheckoutStatus,
    from: &[CheckoutStatus],
    now: DateTime<Utc>,
) -> DomainResult<()> {
    checkout_session::Entity::update_many()
        .col_expr(
            checkout_session::Column::Status,
            Expr::value(status.as_str()),
        )
        .col_expr(checkout_session::Column::UpdatedAt, Expr::value(now))
        .filter(checkout_session::Column::Id.eq(row.id))
        .filter(checkout_session::Column::Status.is_in(from.to_vec()))
        .exec(tx)
        .await?;
    Ok(())
}

/// The checkout row of a session id on this invoice (the return page
/// ignores a session id that belongs to another invoice).
pub async fn find(
    ctx: &AppContext,
    invoice_id: i64,
    session_id: &str,
) -> DomainResult<Option<checkout_session::Model>> {
    Ok(checkout_session::Entity::find()
        .filter(checkout_session::Column::InvoiceId.eq(invoice_id))
        .filter(checkout_session::Column::GatewaySessionId.eq(session_id))
        .one(&ctx.db)
        .await?)
}

/// The client came back to `success_url`: look at the session (never trust
/// the browser) and settle what it says. An unreachable gateway leaves the
/// session as it was; the webhook will settle it.
pub async fn returned(
    ctx: &AppContext,
    invoice_id: i64,
    session_id: &str,
) -> DomainResult<Option<checkout_session::Model>> {
    let Some(row) = find(ctx, invoice_id, session_id).await? else {
        return Ok(None);
    };
    if matches!(
        row.status,
        CheckoutStatus::Creating | CheckoutStatus::Open | CheckoutStatus::Processing
    ) {
        match ctx.gateway.retrieve_checkout(session_id).await {
            Ok(session) => match settle(ctx, &session, &Actor::portal(), false).await {
                Err(DomainError::Unavailable { message, .. }) => {
                    tracing::warn!(%message, session = session_id, "checkout session not captured; the webhook settles it");
                }
                settled => _ = settled?,
            },
            Err(err) => {
                tracing::warn!(error = %err, session = session_id, "checkout session not readable; the webhook settles it");
            }
        }
    }
    find(ctx, invoice_id, session_id).await
}
