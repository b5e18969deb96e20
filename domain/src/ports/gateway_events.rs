//! What the payment gateway tells us by webhook, as typed events: the
//! adapter turns its wire format (Stripe's events) into these, and
//! `billing::webhooks` applies them. Nothing here knows JSON.

use crate::kernel::money::Minor;
use crate::ports::gateway::{ChargeOutcome, CheckoutSession, SetupSession};
use chrono::{DateTime, Utc};

/// One delivery: the event's identity, for storing it once and in order,
/// and what it says.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The gateway's event id (`evt_...`): a redelivery has the same.
    pub id: String,
    /// The gateway's event type (`payment_intent.succeeded`), as stored.
    pub kind: String,
    /// When the gateway created the event: an older event about an object
    /// than one already applied is stale.
    pub created: DateTime<Utc>,
    /// The gateway object it is about (`pi_`, `re_`, `cs_`, `dp_`...).
    pub object_id: Option<String>,
    pub event: GatewayEvent,
}

#[derive(Debug, Clone)]
pub enum GatewayEvent {
    /// A PaymentIntent reached an outcome (`payment_intent.succeeded` /
    /// `payment_intent.payment_failed`).
    Charge {
        intent_id: String,
        /// `metadata[idempotency_key]`: the payment's key.
        payment_key: Option<String>,
        outcome: ChargeOutcome,
    },
    /// A refund created or moved (`refund.*`).
    Refund(GatewayRefund),
    /// A charge refunded, with its refunds (`charge.refunded`).
    ChargeRefunded(Vec<GatewayRefund>),
    /// A hosted payment page moved (`checkout.session.*`, `mode=payment`);
    /// `failed` for `async_payment_failed`.
    Checkout {
        session: CheckoutSession,
        failed: bool,
    },
    /// A hosted card-setup page moved (`checkout.session.*`, `mode=setup`).
    SetupCheckout(SetupSession),
    /// A SetupIntent succeeded (`setup_intent.succeeded`).
    SetupSucceeded {
        intent_id: String,
        /// `metadata[card_setup]`: the setup attempt's key.
        setup_key: Option<String>,
        /// The payment method saved (an id).
        payment_method: Option<String>,
    },
    /// A dispute opened (`charge.dispute.created`) or closed
    /// (`charge.dispute.closed`).
    Dispute { dispute: GatewayDispute, open: bool },
    /// Nothing to apply, and why (an unknown type, a `charge.refunded`
    /// without its list).
    Ignored(String),
}

/// A refund as the gateway reports it.
#[derive(Debug, Clone)]
pub struct GatewayRefund {
    /// `re_...`
    pub id: String,
    pub amount_minor: Minor,
    /// Uppercase or lowercase ISO 4217, as sent.
    pub currency: String,
    pub payment_intent: Option<String>,
    pub state: RefundState,
    /// `metadata[idempotency_key]`: our refund's key, when it is ours.
    pub refund_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundState {
    Succeeded,
    /// `failed` or `canceled` (`status`), with the gateway's reason if any.
    Failed {
        status: String,
        reason: Option<String>,
    },
    /// Anything else (`pending`, `requires_action`...), as sent.
    InProgress(String),
}

/// A dispute as the gateway reports it.
#[derive(Debug, Clone)]
pub struct GatewayDispute {
    /// `dp_...`
    pub id: String,
    pub amount_minor: Minor,
    pub payment_intent: Option<String>,
    /// `won`, `lost`, `needs_response`...
    pub status: String,
    pub reason: Option<String>,
    /// The last moment evidence is accepted (`evidence_details.due_by`).
    pub due_by: Option<chrono::DateTime<chrono::Utc>>,
}
