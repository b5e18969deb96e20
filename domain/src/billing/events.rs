//! The billing event of an invoice's state, published after the commit that
//! changed it (`ctx.events`), by the writer that actually changed the state
//! (a replay publishes nothing); best effort, never the record.

use crate::ports::events::{BillingEvent, EventKind};
use chrono::{DateTime, Utc};

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
