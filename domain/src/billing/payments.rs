//! Charging an invoice through the gateway, exactly once per debt.
//!
//! 1. **Start**: in one write transaction that holds the invoice (row lock on
//!    PostgreSQL, write lock on SQLite) the invoice must still be payable and
//!    have no other attempt `PENDING`; a `PENDING` payment is written under the
//!    attempt's idempotency key. One attempt per invoice at a time means two
//!    browser tabs, or auto-pay and the portal, can never both charge.
//! 2. **Charge**, in two steps ([`drive_intent`]): a PaymentIntent is created
//!    (not confirmed) and its id committed on the payment; then it is
//!    confirmed. An unknown outcome (timeout, 5xx, a lost connection) is
//!    settled by retrieving the intent, never by replaying the request:
//!    Stripe stores a 500 under its key and replays it, and forgets keys
//!    after 24 hours. Until the intent says, the attempt stays `PENDING` and
//!    is looked at again (the charge job's retry, or a `ResolvePayment` job
//!    for the portal). No key is sent after `gateway.key_reuse_limit_hours`,
//!    and one debt never gets a second intent.
//! 3. **Settle**: the outcome is written in one transaction. Only the writer
//!    that moves the payment out of `PENDING` touches the invoice, so a
//!    replayed outcome is never counted twice.
//!
//! A confirmation goes out again only if the retrieved intent still requires
//! one, under the next attempt's key. Auto-pay attempt *n* uses key
//! `inv_{id}_autopay_{n}` and the client's card as it is at that moment; a
//! soft decline schedules attempt *n+1* as a delayed outbox row
//! (`AUTO_PAY_RETRY_DAYS`: 1, 3, 5, 7 days), a hard decline schedules
//! nothing, and a paid invoice makes a later attempt a no-op. Manual payments
//! use key `manual_{studio}_{client key}` in the payments' unique
//! idempotency column, so a replay finds the first payment.

mod auto_pay;
mod intent;
mod manual;
mod settle;

use auto_pay::CardOf;
use intent::{Origin, drive_intent};
use settle::settle;
pub(crate) use settle::settle_in;

pub(crate) use auto_pay::decline_code;
pub use auto_pay::{AutoPay, NO_CARD, OnFile, auto_pay, charge_card_on_file, retry_in_days};
pub use manual::{ManualPayment, record_manual_payment};

use crate::billing::surcharge;
use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::{DomainResult, UserError};
use crate::kernel::keys::Key;
use crate::workflow::next::{self, Change};
use chrono::{DateTime, Duration, Utc};
use entity::enums::{InvoiceStatus, PaymentSource, PaymentStatus};
use entity::{invoice, payment};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter,
};

#[derive(Debug, Clone)]
pub struct Card {
    pub token: String,
    pub brand: Option<String>,
    pub last4: Option<String>,
    /// As the gateway reported it when the card was saved: only a credit
    /// card carries the studio's surcharge (`billing::surcharge`).
    pub funding: crate::kernel::surcharge::Funding,
}

#[derive(Debug)]
pub enum ChargeResult {
    Succeeded(payment::Model),
    Declined(payment::Model),
    /// The invoice owes nothing (already paid, void...): nothing was charged.
    NothingDue,
    /// The gateway has the attempt but no outcome yet: it stays `PENDING`
    /// and is looked at again then (a postponement, not a failure).
    Processing {
        look_again_at: DateTime<Utc>,
    },
}

pub fn payable(invoice: &invoice::Model) -> bool {
    matches!(
        invoice.status,
        InvoiceStatus::Open | InvoiceStatus::PartiallyPaid
    ) && invoice.amount_due_minor.is_positive()
}

fn find_by_key(key: &str) -> sea_orm::Select<payment::Entity> {
    payment::Entity::find().filter(payment::Column::IdempotencyKey.eq(key))
}

enum Start {
    Attempt(payment::Model, Origin),
    Replay(ChargeResult),
    /// The client has no card on file (`CardOf::Client`): nothing charged.
    NoCard {
        studio_id: i64,
    },
}

/// The attempt made under `key`, if any, and the invoice's attempts still
/// in flight, in one statement.
async fn known_attempts(
    tx: &DatabaseTransaction,
    invoice_id: i64,
    key: &str,
) -> DomainResult<Vec<payment::Model>> {
    let in_flight = sea_orm::Condition::all()
        .add(payment::Column::InvoiceId.eq(invoice_id))
        .add(payment::Column::Status.eq(PaymentStatus::Pending));
    Ok(payment::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(payment::Column::IdempotencyKey.eq(key))
                .add(in_flight),
        )
        .all(tx)
        .await?)
}

/// Step 1: writes the `PENDING` attempt, or tells why there is none.
async fn start_attempt(
    ctx: &AppContext,
    invoice_id: i64,
    source: PaymentSource,
    card: CardOf<'_>,
    key: &str,
    payer: Option<i64>,
    request_id: Option<&str>,
) -> DomainResult<Start> {
    let tx = begin_write(&ctx.db).await?;
    // The invoice, locked, with its studio, client and session.
    let (invoice, parties) =
        crate::billing::documents::with_parties_locked(&tx, invoice_id).await?;
    let mut known = known_attempts(&tx, invoice_id, key).await?;
    if let Some(at) = known.iter().position(|p| p.idempotency_key == key) {
        let existing = known.swap_remove(at);
        return Ok(match existing.status {
            PaymentStatus::Succeeded => Start::Replay(ChargeResult::Succeeded(existing)),
            PaymentStatus::Failed => Start::Replay(ChargeResult::Declined(existing)),
            PaymentStatus::Pending => Start::Attempt(existing, Origin::Resumed),
        });
    }
    // What the attempt is for: a payer's share, or what the invoice owes.
    let amount = crate::billing::payers::charged_amount(&tx, &invoice, source, payer).await?;
    if !payable(&invoice) || !amount.is_positive() {
        return Ok(Start::Replay(ChargeResult::NothingDue));
    }
    let in_flight = known
        .iter()
        .any(|p| p.invoice_id == invoice_id && p.status == PaymentStatus::Pending);
    if in_flight {
        return Err(UserError::state(
            "payment",
            "another payment for this invoice is being processed; please wait a minute and reload",
        )
        .into());
    }
    let Some(card) = card.resolve(&parties.client) else {
        let studio_id = invoice.studio_id;
        return Ok(Start::NoCard { studio_id });
    };
    let now = ctx.clock.now();
    // Where a payer lives is not known: their card is never surcharged.
    let surcharge = match payer {
        Some(_) => surcharge::Charge::NONE,
        None => surcharge::for_parties(&tx, &parties, card.funding, amount).await?,
    };
    let pending = payment::ActiveModel {
        studio_id: Set(invoice.studio_id),
        invoice_id: Set(invoice.id),
        payer_id: Set(payer),
        amount_minor: Set(amount),
        surcharge_minor: Set(surcharge.total),
        surcharge_tax_minor: Set(surcharge.tax),
        card_funding: Set(Some(card.funding.as_str().to_string())),
        currency: Set(invoice.currency),
        status: Set(PaymentStatus::Pending),
        source: Set(source),
        idempotency_key: Set(key.to_string()),
        payment_method_token: Set(Some(card.token.clone())),
        gateway_reference: Set(None),
        failure_code: Set(None),
        failure_message: Set(None),
        card_brand: Set(card.brand.clone()),
        card_last4: Set(card.last4.clone()),
        // Its creation is claimed with it: a run that resumes it looks for
        // what this one may have sent before sending anything.
        create_sent_at: Set(Some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    if source == PaymentSource::Portal {
        // Nobody retries a browser's request: if this attempt's outcome is
        // never learned, this job asks the gateway again under the same key.
        next::after(
            &tx,
            Change::PaymentStarted {
                studio_id: invoice.studio_id,
                payment_id: pending.id,
                resolve_after: Duration::seconds(ctx.settings.worker.resolve_payment_after_secs),
            },
            request_id,
            ctx.clock.now(),
        )
        .await?;
    }
    tx.commit().await?;
    let installment_ref = invoice.plan_part_id.map(|id| id.to_string());
    Ok(Start::Attempt(pending, Origin::Fresh { installment_ref }))
}

/// Steps 2 and 3 for an attempt that is `PENDING`.
async fn charge_and_settle(
    ctx: &AppContext,
    pending: payment::Model,
    origin: Origin,
    request_id: Option<&str>,
) -> DomainResult<ChargeResult> {
    let Some(outcome) = drive_intent(ctx, &pending, &origin).await? else {
        // Not a failure: the bank is still working on it (a slow 3-D Secure
        // or a bank debit), however long that takes.
        let look_again_at = look_again_at(&pending, ctx.clock.now());
        tracing::info!(payment_id = pending.id, %look_again_at, "the gateway is still processing the payment");
        return Ok(ChargeResult::Processing { look_again_at });
    };
    let stored = settle(ctx, &pending, &outcome, request_id).await?;
    tracing::info!(
        invoice_id = stored.invoice_id,
        payment_id = stored.id,
        status = stored.status.as_str(),
        "charge finished"
    );
    Ok(match stored.status {
        PaymentStatus::Succeeded => ChargeResult::Succeeded(stored),
        _ => ChargeResult::Declined(stored),
    })
}

/// The first look at a payment the gateway is still processing comes 30
/// seconds after its confirmation, each later one as long after the last as
/// the payment has waited so far (30 s, 30 s, 1 min, 2 min...), at most 15
/// minutes apart: a slow bank costs a few lookups, never an attempt.
pub fn look_again_at(pending: &payment::Model, now: DateTime<Utc>) -> DateTime<Utc> {
    let since = pending.confirm_sent_at.unwrap_or(pending.created_at);
    let waited = (now - since).max(Duration::zero());
    now + waited.clamp(Duration::seconds(30), Duration::minutes(15))
}

/// Charges a payer's saved `card` for their share of a shared invoice,
/// once per attempt, under `key` (`Key::PayerAutoPay`).
pub async fn charge_share(
    ctx: &AppContext,
    invoice_id: i64,
    payer_id: i64,
    card: &Card,
    key: &Key,
    request_id: Option<&str>,
) -> DomainResult<ChargeResult> {
    let (source, payer, key) = (PaymentSource::AutoPay, Some(payer_id), key.to_string());
    let card = CardOf::Given(card);
    match start_attempt(ctx, invoice_id, source, card, &key, payer, request_id).await? {
        Start::Replay(result) => Ok(result),
        Start::NoCard { .. } => Err(anyhow::anyhow!("invoice {invoice_id}: no card given").into()),
        Start::Attempt(pending, origin) => {
            charge_and_settle(ctx, pending, origin, request_id).await
        }
    }
}

#[derive(Debug)]
pub enum Resolved {
    AlreadySettled,
    Settled {
        status: &'static str,
    },
    /// Still with the gateway: look again then.
    Processing {
        look_again_at: DateTime<Utc>,
    },
}

/// Settles an attempt still `PENDING` by looking at its PaymentIntent.
pub async fn resolve_pending(
    ctx: &AppContext,
    payment_id: i64,
    request_id: Option<&str>,
) -> DomainResult<Resolved> {
    let Some(pending) = payment::Entity::find_by_id(payment_id).one(&ctx.db).await? else {
        return Ok(Resolved::AlreadySettled);
    };
    if pending.status != PaymentStatus::Pending {
        return Ok(Resolved::AlreadySettled);
    }
    Ok(
        match charge_and_settle(ctx, pending, Origin::Resumed, request_id).await? {
            ChargeResult::Succeeded(_) => Resolved::Settled {
                status: "SUCCEEDED",
            },
            ChargeResult::Processing { look_again_at } => Resolved::Processing { look_again_at },
            ChargeResult::Declined(_) | ChargeResult::NothingDue => {
                Resolved::Settled { status: "FAILED" }
            }
        },
    )
}

/// Days to wait after each declined auto-pay attempt before the next one:
/// attempt 2 a day after attempt 1, attempt 3 three days after attempt 2...
pub const AUTO_PAY_RETRY_DAYS: [i64; 4] = [1, 3, 5, 7];

/// Decline codes that no retry can fix: the card must not be tried again.
const HARD_DECLINES: &[&str] = &[
    "stolen_card",
    "lost_card",
    "pickup_card",
    "restricted_card",
    "fraudulent",
    "invalid_account",
    "expired_card",
    "invalid_payment_method",
    // The bank wants the client present (3-D Secure): an off-session retry
    // cannot pass it, so the client pays through the portal's checkout.
    "authentication_required",
];

pub fn is_hard_decline(code: &str) -> bool {
    HARD_DECLINES.contains(&code)
}

/// The auto-pay attempt a payment was, from its idempotency key.
pub fn auto_pay_attempt(payment: &payment::Model) -> Option<u32> {
    payment
        .idempotency_key
        .parse::<Key>()
        .ok()?
        .auto_pay_attempt()
}

/// When the attempt after this declined auto-pay payment will run, if any.
pub fn next_auto_pay_retry(payment: &payment::Model) -> Option<chrono::DateTime<Utc>> {
    if payment.status != PaymentStatus::Failed {
        return None;
    }
    let code = payment.failure_code.as_deref().unwrap_or("");
    let days = retry_in_days(auto_pay_attempt(payment)?, Some(code))?;
    Some(payment.created_at + Duration::days(days))
}
