//! Refunds, full or partial, exactly once per request.
//!
//! Same three steps as a charge: a `PENDING` refund is written under its
//! idempotency key (with a `ResolveRefund` job as the safety net) while the
//! invoice is locked, so two refunds can never exceed what was paid; then the
//! gateway is asked under that key; then the outcome is written by whoever
//! moves the refund out of `PENDING`. Money recorded by hand (cash, check,
//! transfer) is returned by hand, so its refund settles at once.
//!
//! A refund settles, it does not reopen: the writer that records it also
//! issues its credit note (`CN-<number>-<n>`) for the same amount, so the
//! invoice owes nothing more (no reminder, no late fee), and enqueues the
//! client's refund confirmation. Only a chargeback (a lost dispute,
//! [`Settlement::Chargeback`]) returns money without a credit note and makes
//! it owed again.
//!
//! A refund also returns its shares of the card surcharge and the tip (pro
//! rata, all with the whole payment: `on_top.rs`) in the same gateway
//! refund; the credit note covers the invoice's money only.
//!
//! The key is `refund_{studio}_{client key}`; what is still refundable is
//! computed from settled and pending refunds under the invoice lock, so
//! concurrent refunds never exceed the payment. [`settle`] records a refund
//! by agreement (our API, a manual refund, one made in the gateway's
//! dashboard) as `Movement::refund_with_credit_note`; its credit note is
//! numbered `CN-<number>-<n>` from n = 2, counted under the invoice lock,
//! unique per studio and per refund.

mod amount;
mod at_gateway;
mod by_gateway;
mod credit_notes;
pub(crate) mod on_top;
use on_top::pending_row;
pub mod spread;

use crate::billing::lifecycle::{self, Actor, Audit};
use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::{DomainResult, UserError};
use crate::kernel::ids::PaymentId;
use crate::kernel::keys::Key;
use crate::kernel::money::Minor;
use crate::ports::gateway::{GatewayError, RefundOutcome};
use crate::workflow::next::{self, Change};

use at_gateway::refund_at_gateway;
pub(crate) use by_gateway::{Chargeback, record_chargeback, record_outside};
use chrono::{DateTime, Duration, Utc};
use credit_notes::agreed;
pub use credit_notes::credit_note_of;
use entity::enums::{InvoiceEventKind, PaymentMethod, PaymentStatus, RefundStatus};
use entity::{invoice, payment, refund};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QuerySelect,
};

#[derive(Debug, Clone)]
pub struct RefundInput {
    pub payment_id: i64,
    /// `None` refunds everything not yet refunded.
    pub amount_minor: Option<Minor>,
    pub reason: Option<String>,
    pub idempotency_key: String,
}

/// Refunds (part of) a successful payment. A replayed key returns the refund
/// it first created, in its current state.
pub async fn refund_payment(
    ctx: &AppContext,
    studio_id: i64,
    input: &RefundInput,
    actor: &Actor,
    request_id: Option<&str>,
) -> DomainResult<refund::Model> {
    validate_request(&input.idempotency_key, input.reason.as_deref())?;
    let key = Key::Refund {
        studio_id,
        client_key: input.idempotency_key.clone(),
    }
    .to_string();
    let tx = begin_write(&ctx.db).await?;
    let payment = payment::Entity::find_by_id(input.payment_id)
        .filter(payment::Column::StudioId.eq(studio_id))
        .one(&tx)
        .await?
        .ok_or_else(|| UserError::not_found("paymentId", "payment"))?;
    // The invoice lock serializes refunds of the same invoice.
    invoice::Entity::find_by_id(payment.invoice_id)
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("invoice {} missing", payment.invoice_id))?;
    if let Some(existing) = refund::Entity::find()
        .filter(refund::Column::IdempotencyKey.eq(key.clone()))
        .one(&tx)
        .await?
    {
        let same_amount = input
            .amount_minor
            .is_none_or(|a| a == existing.amount_minor);
        if existing.payment_id != payment.id || !same_amount {
            return Err(UserError::key_reused("idempotencyKey").into());
        }
        drop(tx);
        if existing.status != RefundStatus::Pending || existing.gateway_reference.is_some() {
            return Ok(existing);
        }
        let settled = settle_with_gateway(ctx, existing, request_id).await;
        return settled.map_err(|e| e.unanswered("paymentId"));
    }
    if payment.status != PaymentStatus::Succeeded {
        return Err(UserError::state(
            "paymentId",
            format!(
                "payment {} is {}; only a successful payment can be refunded",
                payment.id,
                payment.status.as_str()
            ),
        )
        .into());
    }
    let (amount, tip) = amount::to_refund(&tx, &payment, input.amount_minor).await?;
    let opening = Opening {
        payment: &payment,
        amount,
        tip,
        key,
        group: None,
        reason: input.reason.clone(),
    };
    let created = insert(ctx, &tx, opening).await?;
    let settled = start(ctx, &tx, (&created, payment.method), actor, request_id).await?;
    crate::workflow::next::commit(ctx, tx).await?;
    if settled {
        crate::billing::events::publish_refund(ctx, PaymentId::new(created.payment_id)).await?;
        return reload(ctx, created.id).await;
    }
    let settled = settle_with_gateway(ctx, created, request_id).await;
    settled.map_err(|e| e.unanswered("paymentId"))
}

fn validate_request(key: &str, reason: Option<&str>) -> DomainResult<()> {
    crate::kernel::validate::idempotency_key("idempotencyKey", key)?;
    if let Some(reason) = reason {
        crate::kernel::validate::plain_text(reason.trim(), false)
            .map_err(|m| UserError::invalid("reason", m))?;
    }
    Ok(())
}

/// A refund about to be written: `amount` of `payment`, under `key`.
struct Opening<'a> {
    payment: &'a payment::Model,
    amount: Minor,
    /// Of a tip paid alone, what is returned (`None`: the share of what
    /// the payment carried on top that goes with `amount`).
    tip: Option<Minor>,
    key: String,
    /// The studio's request, when it is spread over several payments.
    group: Option<String>,
    reason: Option<String>,
}

/// Writes a `PENDING` refund in `tx`.
async fn insert(
    ctx: &AppContext,
    tx: &DatabaseTransaction,
    opening: Opening<'_>,
) -> DomainResult<refund::Model> {
    let now = ctx.clock.now();
    let payment = opening.payment;
    let on_top = match opening.tip {
        Some(tip) => crate::kernel::on_top::OnTop {
            surcharge: Minor::ZERO,
            tip,
        },
        None => on_top::refund_share(tx, payment, opening.amount).await?,
    };
    let mut row = pending_row(payment, (opening.amount, on_top), opening.key, now);
    row.group_key = Set(opening.group);
    row.reason = Set(opening.reason);
    Ok(row.insert(tx).await?)
}

/// Starts settling a refund just written. Money recorded by hand
/// (`method` not a card) is returned by hand, so its refund settles at once
/// (`true`); a card refund gets its `ResolveRefund` safety net and waits for
/// the gateway (`false`).
async fn start(
    ctx: &AppContext,
    tx: &DatabaseTransaction,
    (created, method): (&refund::Model, PaymentMethod),
    actor: &Actor,
    request_id: Option<&str>,
) -> DomainResult<bool> {
    let now = ctx.clock.now();
    if method != PaymentMethod::Card {
        let by_hand = Settlement::Succeeded(None);
        settle(tx, created, &by_hand, actor, request_id, now).await?;
        return Ok(true);
    }
    let change = Change::RefundStarted {
        studio_id: created.studio_id,
        refund_id: created.id,
        resolve_after: Duration::seconds(ctx.settings.worker.resolve_payment_after_secs),
    };
    next::after(tx, change, request_id, now).await?;
    Ok(false)
}

/// Asks the gateway (again, under the same key) for a refund still `PENDING`.
pub async fn resolve(
    ctx: &AppContext,
    refund_id: i64,
    request_id: Option<&str>,
) -> DomainResult<()> {
    let Some(found) = refund::Entity::find_by_id(refund_id).one(&ctx.db).await? else {
        return Ok(());
    };
    if found.status != RefundStatus::Pending {
        return Ok(());
    }
    match settle_with_gateway(ctx, found, request_id).await {
        Ok(_) => Ok(()),
        // A refusal settled the refund as failed: nothing left to retry.
        Err(e) if reload(ctx, refund_id).await?.status != RefundStatus::Pending => {
            tracing::warn!(refund_id, error = %e, "refund refused");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

async fn settle_with_gateway(
    ctx: &AppContext,
    pending: refund::Model,
    request_id: Option<&str>,
) -> DomainResult<refund::Model> {
    let payment = payment::Entity::find_by_id(pending.payment_id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("payment {} missing", pending.payment_id))?;
    let reference = payment
        .gateway_reference
        .clone()
        .ok_or_else(|| anyhow::anyhow!("payment {} has no gateway reference", payment.id))?;
    let outcome = refund_at_gateway(ctx, &pending, &reference).await;
    let settlement = match outcome {
        Ok(RefundOutcome::Succeeded { reference }) => Settlement::Succeeded(Some(reference)),
        Ok(RefundOutcome::Pending { reference }) => {
            refund::Entity::update_many()
                .col_expr(refund::Column::GatewayReference, Expr::value(reference))
                .filter(refund::Column::Id.eq(pending.id))
                .exec(&ctx.db)
                .await?;
            return reload(ctx, pending.id).await;
        }
        Ok(RefundOutcome::Failed { reason }) => Settlement::Failed(reason),
        Err(unknown @ GatewayError::Unavailable(_)) => {
            // Unknown outcome: typed, so the ResolveRefund job looks again
            // soon without spending an attempt (a long outage never gives
            // up on a refund), and the API says "did not answer".
            tracing::warn!(refund_id = pending.id, error = %unknown, "refund outcome unknown; will look again");
            return Err(unknown.into());
        }
        Err(other) => Settlement::Failed(other.to_string()),
    };
    let tx = begin_write(&ctx.db).await?;
    let moved = settle(
        &tx,
        &pending,
        &settlement,
        &Actor::system(),
        request_id,
        ctx.clock.now(),
    )
    .await?;
    tx.commit().await?;
    if moved {
        crate::workflow::next::wake(ctx);
        crate::billing::events::publish_refund(ctx, PaymentId::new(pending.payment_id)).await?;
    }
    let stored = reload(ctx, pending.id).await?;
    if let Settlement::Failed(reason) = settlement
        && stored.status == RefundStatus::Failed
    {
        return Err(UserError {
            field: vec!["paymentId".into()],
            message: format!("the payment processor refused the refund: {reason}"),
            code: crate::infra::error::ErrorCode::GatewayRefused,
        }
        .into());
    }
    Ok(stored)
}

pub enum Settlement {
    /// Returned by agreement (our API, the gateway's dashboard): credited.
    Succeeded(Option<String>),
    /// Taken back by the card network (a lost dispute): owed again.
    Chargeback(String),
    Failed(String),
}

/// Writes a refund's outcome; only the writer that moves it out of `PENDING`
/// touches the payment and the invoice. Returns whether it moved.
pub async fn settle(
    tx: &DatabaseTransaction,
    pending: &refund::Model,
    settlement: &Settlement,
    actor: &Actor,
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> DomainResult<bool> {
    spread::lock_request(tx, pending).await?;
    let update = refund::Entity::update_many()
        .filter(refund::Column::Id.eq(pending.id))
        .filter(refund::Column::Status.eq(RefundStatus::Pending))
        .col_expr(refund::Column::UpdatedAt, Expr::value(now));
    let (update, event, detail) = match settlement {
        Settlement::Chargeback(reference) => (
            update
                .col_expr(
                    refund::Column::Status,
                    Expr::value(RefundStatus::Succeeded.as_str()),
                )
                .col_expr(
                    refund::Column::GatewayReference,
                    Expr::value(reference.clone()),
                ),
            InvoiceEventKind::RefundSucceeded,
            format!(
                "chargeback {} of payment {}: owed again",
                pending.id, pending.payment_id
            ),
        ),
        Settlement::Succeeded(reference) => (
            update
                .col_expr(
                    refund::Column::Status,
                    Expr::value(RefundStatus::Succeeded.as_str()),
                )
                .col_expr(
                    refund::Column::GatewayReference,
                    Expr::value(reference.clone()),
                ),
            InvoiceEventKind::RefundSucceeded,
            format!("refund {} of payment {}", pending.id, pending.payment_id),
        ),
        Settlement::Failed(reason) => (
            update
                .col_expr(
                    refund::Column::Status,
                    Expr::value(RefundStatus::Failed.as_str()),
                )
                .col_expr(refund::Column::FailureMessage, Expr::value(reason.clone())),
            InvoiceEventKind::RefundFailed,
            format!(
                "refund {} of payment {}: {reason}",
                pending.id, pending.payment_id
            ),
        ),
    };
    if update.exec(tx).await?.rows_affected != 1 {
        return Ok(false);
    }
    let audit = Audit {
        event,
        from: None,
        to: None,
        amount_minor: Some(pending.amount_minor),
        actor,
        detail: Some(detail),
    };
    match settlement {
        Settlement::Succeeded(_) | Settlement::Chargeback(_) => {
            payment::Entity::update_many()
                .col_expr(
                    payment::Column::AmountRefundedMinor,
                    Expr::col(payment::Column::AmountRefundedMinor).add(pending.amount_minor),
                )
                .col_expr(payment::Column::UpdatedAt, Expr::value(now))
                .filter(payment::Column::Id.eq(pending.payment_id))
                .exec(tx)
                .await?;
            let confirm = if let Settlement::Chargeback(_) = settlement {
                lifecycle::apply_money(
                    tx,
                    pending.invoice_id,
                    lifecycle::Movement::chargeback(pending.amount_minor),
                    audit,
                    now,
                )
                .await?;
                false
            } else {
                agreed(tx, pending, audit, now).await?
            };
            next::after(
                tx,
                Change::Refunded {
                    studio_id: pending.studio_id,
                    invoice_id: pending.invoice_id,
                    refund_id: pending.id,
                    confirm: confirm && spread::request_settled(tx, pending).await?,
                },
                request_id,
                now,
            )
            .await?;
        }
        Settlement::Failed(_) => record_failure(tx, pending, audit, request_id, now).await?,
    }
    Ok(true)
}

/// A refund that failed: recorded on its invoice's trail. The last member
/// of a spread request to settle asks for the request's one email, which
/// lists the refunds that went back, even when it failed itself.
async fn record_failure(
    tx: &DatabaseTransaction,
    pending: &refund::Model,
    audit: Audit<'_>,
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let invoice = invoice::Entity::find_by_id(pending.invoice_id)
        .one(tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("invoice {} missing", pending.invoice_id))?;
    let (from, to) = (Some(invoice.status), Some(invoice.status));
    lifecycle::record(tx, &invoice, Audit { from, to, ..audit }, now).await?;
    if pending.group_key.is_some() && spread::request_settled(tx, pending).await? {
        let change = Change::Refunded {
            studio_id: pending.studio_id,
            invoice_id: pending.invoice_id,
            refund_id: pending.id,
            confirm: true,
        };
        next::after(tx, change, request_id, now).await?;
    }
    Ok(())
}

async fn reload(ctx: &AppContext, refund_id: i64) -> DomainResult<refund::Model> {
    Ok(refund::Entity::find_by_id(refund_id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("refund {refund_id} vanished"))?)
}
