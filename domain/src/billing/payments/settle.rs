//! Step 3 of a charge: its outcome recorded once. Only the writer that
//! moves the payment out of `PENDING` changes the invoice.

use super::payment;
use crate::billing::lifecycle::{self, Actor, Audit};
use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::DomainResult;
use crate::ports::gateway::ChargeOutcome;
use crate::workflow::next::{self, Change};
use chrono::{DateTime, Utc};
use entity::enums::{InvoiceEventKind, PaymentSource, PaymentStatus};
use entity::invoice;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};

/// Step 3: records the outcome; only the writer that moves the payment out of
/// `PENDING` updates the invoice and enqueues the receipt and gallery update.
/// Settles in a transaction of its own and returns the payment as stored;
/// what the live event shows is read in that same transaction.
pub(super) async fn settle(
    ctx: &AppContext,
    pending: &payment::Model,
    outcome: &ChargeOutcome,
    request_id: Option<&str>,
) -> DomainResult<payment::Model> {
    let tx = begin_write(&ctx.db).await?;
    let moved = settle_written(
        &tx,
        pending,
        outcome,
        &actor_of(pending),
        request_id,
        ctx.clock.now(),
    )
    .await?;
    // What this writer moved came back with its writes; a payment someone
    // else settled is read as it is.
    let (stored, invoice) = match moved {
        Some(Settled { payment, invoice }) => (payment, Some(invoice)),
        None => {
            let stored = payment::Entity::find_by_id(pending.id)
                .one(&tx)
                .await?
                .ok_or_else(|| anyhow::anyhow!("payment {} vanished", pending.id))?;
            (stored, None)
        }
    };
    crate::workflow::next::commit(ctx, tx).await?;
    if let Some(invoice) = invoice {
        crate::billing::events::publish_payment(ctx, &stored, &invoice).await;
    }
    Ok(stored)
}

/// Writes a charge's outcome inside the caller's transaction and returns
/// whether this writer moved the payment (and so changed the invoice).
///
/// A decline only moves a `PENDING` payment. Success moves any payment that
/// has not succeeded yet: a gateway that reports money taken (a webhook after
/// an attempt was recorded as failed) is the truth, and the money must show.
/// Nothing ever moves a `SUCCEEDED` payment, so a replayed or late outcome is
/// never counted twice.
pub(crate) async fn settle_in(
    tx: &DatabaseTransaction,
    pending: &payment::Model,
    outcome: &ChargeOutcome,
    actor: &Actor,
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> DomainResult<bool> {
    Ok(settle_written(tx, pending, outcome, actor, request_id, now)
        .await?
        .is_some())
}

/// A payment this writer moved, and its invoice, as they are afterwards.
struct Settled {
    payment: payment::Model,
    invoice: invoice::Model,
}

/// [`settle_in`], answering the rows it wrote (read back with the writes,
/// `RETURNING`), or `None` when it moved nothing.
async fn settle_written(
    tx: &DatabaseTransaction,
    pending: &payment::Model,
    outcome: &ChargeOutcome,
    actor: &Actor,
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> DomainResult<Option<Settled>> {
    let update = payment::Entity::update_many()
        .filter(payment::Column::Id.eq(pending.id))
        .col_expr(payment::Column::UpdatedAt, Expr::value(now));
    // Success moves any payment that has not succeeded; a decline only a
    // `PENDING` one.
    let (update, to) = match outcome {
        ChargeOutcome::Succeeded { reference } => (
            update
                .filter(payment::Column::Status.ne(PaymentStatus::Succeeded))
                .col_expr(
                    payment::Column::GatewayReference,
                    Expr::value(reference.clone()),
                ),
            PaymentStatus::Succeeded,
        ),
        ChargeOutcome::Declined { code, message } => (
            update
                .filter(payment::Column::Status.eq(PaymentStatus::Pending))
                .col_expr(payment::Column::FailureCode, Expr::value(code.clone()))
                .col_expr(
                    payment::Column::FailureMessage,
                    Expr::value(message.clone()),
                ),
            PaymentStatus::Failed,
        ),
    };
    let moved = update
        .col_expr(payment::Column::Status, Expr::value(to.as_str()))
        .exec_with_returning(tx)
        .await?
        .pop();
    let Some(payment) = moved else {
        return Ok(None);
    };
    let invoice = match outcome {
        ChargeOutcome::Succeeded { reference } => {
            let invoice = lifecycle::apply_money(
                tx,
                pending.invoice_id,
                lifecycle::Movement::payment(pending.amount_minor),
                Audit {
                    event: InvoiceEventKind::PaymentSucceeded,
                    from: None,
                    to: None,
                    amount_minor: Some(pending.amount_minor),
                    actor,
                    detail: Some(format!("payment {} ({})", pending.id, reference)),
                },
                now,
            )
            .await?;
            let paid = Change::Paid {
                studio_id: pending.studio_id,
                invoice_id: pending.invoice_id,
                payment_id: pending.id,
            };
            next::after(tx, paid, request_id, now).await?;
            invoice
        }
        ChargeOutcome::Declined { code, message } => {
            lifecycle::record_payment_failed(
                tx,
                pending.invoice_id,
                pending.amount_minor,
                actor,
                format!("payment {}: {code}: {message}", pending.id),
                now,
            )
            .await?
        }
    };
    Ok(Some(Settled { payment, invoice }))
}

fn actor_of(payment: &payment::Model) -> Actor {
    match payment.source {
        PaymentSource::Portal => Actor::portal(),
        _ => Actor::system(),
    }
}
