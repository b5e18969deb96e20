//! A surcharged checkout attempt is **held**: its session carries the
//! studio's card surcharge as a line of its own and only authorizes
//! (`capture_method=manual`), because the card, and so whether it may be
//! surcharged, is known only once the client has typed it. The system then
//! captures what that card pays, once: the money and the tip, and the
//! surcharge from a credit card only (a debit or prepaid card, or a card
//! whose funding the gateway does not tell, is released of it).
//!
//! [`capture`] runs before the settling transaction (a network call is
//! never made inside one) wherever a paid session is settled: the webhook,
//! the client's return, a stale session found paid. The gateway captures an
//! intent at most once, so two of them capturing together take one charge;
//! a capture that fails leaves the attempt `PROCESSING` and the webhook is
//! refused, so the gateway delivers it again. An authorization that lapsed
//! uncaptured charged nothing: the attempt is `FAILED` with why.

use super::{Settled, mark, paid};
use crate::billing::lifecycle::{self, Actor};
use crate::billing::surcharge::Charge;
use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::DomainResult;
use crate::kernel::keys::{RequestKey, Step};
use crate::kernel::surcharge::Funding;
use crate::ports::gateway::{CaptureRequest, Captured, CheckoutSession, CheckoutState};
use crate::ports::gateway_events::GatewayEvent;
use chrono::{DateTime, Utc};
use entity::checkout_session;
use entity::enums::CheckoutStatus;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};

/// The session of a webhook's `checkout.session.*` event, captured when it
/// is a held one that completed ([`capture`]).
pub(crate) async fn capture_in_event(
    ctx: &AppContext,
    event: &mut GatewayEvent,
) -> DomainResult<()> {
    if let GatewayEvent::Checkout {
        session,
        failed: false,
    } = event
    {
        *session = capture(ctx, session.clone()).await?;
    }
    Ok(())
}

/// Captures a held session that completed, for what its card pays, and
/// returns it with what the capture took (`amount_captured`) and the card;
/// any other session is returned as it is.
pub(crate) async fn capture(
    ctx: &AppContext,
    mut session: CheckoutSession,
) -> DomainResult<CheckoutSession> {
    if session.state != CheckoutState::Complete || session.amount_captured.is_some() {
        return Ok(session);
    }
    let Some(intent) = session.payment_intent.clone() else {
        return Ok(session);
    };
    let Some(row) = checkout_session::Entity::find()
        .filter(checkout_session::Column::GatewaySessionId.eq(session.id.clone()))
        .one(&ctx.db)
        .await?
        .filter(|row| row.surcharge_minor.is_positive())
        .filter(|row| {
            !matches!(
                row.status,
                CheckoutStatus::Complete | CheckoutStatus::Mismatch | CheckoutStatus::Failed
            )
        })
    else {
        return Ok(session);
    };
    if session.card.is_none() {
        session.card = ctx.gateway.payment_intent_card(&intent).await?;
    }
    let surcharge = surcharge_of(&row, &session);
    let amount = row.amount_minor + row.tip_minor + surcharge.total;
    let request = CaptureRequest {
        intent,
        amount: amount.of(row.currency),
        idempotency_key: RequestKey::new(
            row.idempotency_key.clone(),
            Step::Capture,
            ctx.clock.now().timestamp_millis(),
        )
        .to_string(),
    };
    match ctx.gateway.capture_intent(&request).await? {
        Captured::Taken { amount } => {
            tracing::info!(invoice_id = row.invoice_id, session = %session.id, amount, "held checkout captured");
            session.amount_captured = Some(amount);
            session.payment_status = "paid".into();
        }
        Captured::Lost { reason } => lapsed(ctx, &row, &reason).await?,
    }
    Ok(session)
}

/// What the card that paid a held session owes on top: the attempt's
/// surcharge (and its tax) from a credit card, nothing from any other.
fn surcharge_of(row: &checkout_session::Model, session: &CheckoutSession) -> Charge {
    match session.card.as_ref().map(|c| c.funding) {
        Some(Funding::Credit) => Charge {
            total: row.surcharge_minor,
            tax: row.surcharge_tax_minor,
        },
        _ => Charge::NONE,
    }
}

/// A held authorization that can no longer be captured: nothing was
/// charged; the attempt is `FAILED` and the trail says why.
async fn lapsed(ctx: &AppContext, row: &checkout_session::Model, reason: &str) -> DomainResult<()> {
    let now = ctx.clock.now();
    let tx = begin_write(&ctx.db).await?;
    let from = [
        CheckoutStatus::Creating,
        CheckoutStatus::Open,
        CheckoutStatus::Processing,
    ];
    mark(&tx, row, CheckoutStatus::Failed, &from, now).await?;
    let detail = format!(
        "checkout attempt {}: {reason}; nothing was charged",
        row.attempt
    );
    tracing::warn!(invoice_id = row.invoice_id, %detail, "held checkout not captured");
    lifecycle::record_payment_failed(
        &tx,
        row.invoice_id,
        row.amount_minor,
        &Actor::portal(),
        detail,
        now,
    )
    .await?;
    Ok(crate::workflow::next::commit(ctx, tx).await?)
}

/// Settles a held session that completed (inside the settling
/// transaction): captured, its payment carries the surcharge its card
/// paid; not captured yet, the attempt waits as `PROCESSING`.
pub(super) async fn settle_held(
    tx: &DatabaseTransaction,
    row: &checkout_session::Model,
    session: &CheckoutSession,
    actor: &Actor,
    now: DateTime<Utc>,
) -> DomainResult<Settled> {
    let Some(captured) = session.amount_captured else {
        let from = [CheckoutStatus::Creating, CheckoutStatus::Open];
        mark(tx, row, CheckoutStatus::Processing, &from, now).await?;
        return Ok(Settled::Noted(format!(
            "checkout session {} is authorized; its capture is pending",
            session.id
        )));
    };
    let surcharge = surcharge_of(row, session);
    let asked = row.amount_minor + row.tip_minor + surcharge.total;
    if captured != asked.get() || !session.currency.eq_ignore_ascii_case(row.currency.code()) {
        return paid::settle_mismatch(tx, row, session, captured, asked, actor, now).await;
    }
    paid::settle_paid(tx, row, session, surcharge, actor, now).await
}
