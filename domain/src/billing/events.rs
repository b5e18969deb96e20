//! The billing event of an invoice's state, published after the commit that
//! changed it (`ctx.events`), by the writer that actually changed the state
//! (a replay publishes nothing); best effort, never the record.

use crate::infra::context::AppContext;
use crate::infra::error::DomainResult;
use crate::ports::events::{BillingEvent, EventKind};
use chrono::{DateTime, Utc};
use entity::enums::PaymentStatus;
use entity::{invoice, payment};
use sea_orm::{EntityTrait, TransactionTrait};

/// The event describing an invoice's current state at `at`, optionally
/// about one payment.
pub fn for_invoice(
    kind: EventKind,
    invoice: &entity::invoice::Model,
    payment: Option<&entity::payment::Model>,
    at: DateTime<Utc>,
) -> BillingEvent {
    BillingEvent {
        kind,
        studio_id: invoice.studio_id,
        invoice_id: invoice.id,
        session_id: invoice.session_id,
        plan_part_id: invoice.plan_part_id,
        invoice_number: invoice.display_number().to_string(),
        invoice_status: invoice.status.as_str().to_string(),
        amount_due_minor: invoice.amount_due_minor,
        currency: invoice.currency,
        payment_id: payment.map(|p| p.id),
        payment_status: payment.map(|p| p.status.as_str().to_string()),
        payment_amount_minor: payment.map(|p| p.amount_minor),
        failure_message: payment.and_then(|p| p.failure_message.clone()),
        at,
    }
}

/// A payment and its invoice, read together.
async fn payment_and_invoice(
    ctx: &AppContext,
    payment_id: i64,
) -> DomainResult<Option<(payment::Model, invoice::Model)>> {
    let read = ctx.db.begin().await?;
    let payment = payment::Entity::find_by_id(payment_id).one(&read).await?;
    let invoice = match &payment {
        Some(payment) => {
            invoice::Entity::find_by_id(payment.invoice_id)
                .one(&read)
                .await?
        }
        None => None,
    };
    read.commit().await?;
    Ok(payment.zip(invoice))
}

/// Tells live subscribers about a payment that was just settled.
pub(crate) async fn publish_payment_event(ctx: &AppContext, payment_id: i64) -> DomainResult<()> {
    if let Some((payment, invoice)) = payment_and_invoice(ctx, payment_id).await? {
        publish_payment(ctx, &payment, &invoice).await;
    }
    Ok(())
}

/// Tells live subscribers that money of a payment went back.
pub(crate) async fn publish_refund(
    ctx: &AppContext,
    payment_id: crate::kernel::ids::PaymentId,
) -> DomainResult<()> {
    if let Some((payment, invoice)) = payment_and_invoice(ctx, payment_id.get()).await? {
        let at = ctx.clock.now();
        let event = for_invoice(EventKind::PaymentRefunded, &invoice, Some(&payment), at);
        ctx.events.publish(event).await;
    }
    Ok(())
}

/// Tells live subscribers about a settled payment already read.
pub(crate) async fn publish_payment(
    ctx: &AppContext,
    payment: &payment::Model,
    invoice: &invoice::Model,
) {
    let kind = if payment.status == PaymentStatus::Succeeded {
        crate::ports::events::EventKind::PaymentSucceeded
    } else {
        crate::ports::events::EventKind::PaymentFailed
    };
    ctx.events
        .publish(for_invoice(kind, invoice, Some(payment), ctx.clock.now()))
        .await;
}
