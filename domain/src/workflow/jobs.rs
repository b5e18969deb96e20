//! Job payloads shared by the producer (outbox relay) and the worker.
//!
//! Every job is written first as an outbox row in the same transaction as the
//! state change that causes it, then relayed to the apalis queue. Delivery is
//! at-least-once: every handler is idempotent, and `dedup_key` makes sure one
//! logical job has exactly one outbox row.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobKind {
    /// Price a completed session, number the invoice and route on payment preference.
    GenerateInvoice { session_id: i64 },
    /// Auto-pay attempt `attempt` (1 when the invoice is issued, 2, 3...
    /// after soft declines) with the client's stored payment method.
    Charge { invoice_id: i64, attempt: u32 },
    /// Email the invoice with its portal link.
    /// `resend` names a resend requested by the studio (its idempotency key).
    SendInvoice {
        invoice_id: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resend: Option<String>,
    },
    /// Email the receipt for a successful payment.
    SendReceipt { payment_id: i64 },
    /// Email the client that a refund went back, with its credit note.
    SendRefundConfirmation { refund_id: i64 },
    /// Bring gallery access in line with the invoice's payment state. `state`
    /// names the payment state that caused it, so each change runs once.
    SyncGalleryAccess { invoice_id: i64, state: String },
    /// Email gallery credentials (a fresh password) once per gallery.
    SendGalleryCredentials { invoice_id: i64 },
    /// Email that the gallery access level went up.
    SendGalleryUpgrade { invoice_id: i64, level: String },
    /// Settle a payment left `PENDING` (unknown outcome) by asking the
    /// gateway again under the same idempotency key.
    ResolvePayment { payment_id: i64 },
    /// Settle a refund left `PENDING` by asking the gateway again under its key.
    ResolveRefund { refund_id: i64 },
    /// Tell the client an auto-pay retry was declined (with the portal link).
    SendDeclineNotice { invoice_id: i64, attempt: u32 },
    /// The simulated gateway's signed webhook for its record `key`, POSTed
    /// to this deployment's `/webhooks/stripe` as Stripe would.
    DeliverSimulatedWebhook { key: String },
    /// Step `step` of an unpaid invoice's follow-up plan (`reminders`).
    ReminderStep { invoice_id: i64, step: u32 },
    /// Email the reminder (or final notice) of step `step`.
    SendReminder { invoice_id: i64, step: u32 },
    /// Tell the client their gallery access ends soon (if it still ends at
    /// `expires_at`, unix seconds: a later change supersedes this notice).
    SendGalleryExpiryNotice { invoice_id: i64, expires_at: i64 },
    /// POST the signed `gallery.access_changed` webhook for change `change`.
    DeliverGalleryWebhook { invoice_id: i64, change: String },
    /// Email the client the link to put a card on file (`requestCardSetup`).
    SendCardSetupLink { card_setup_id: i64 },
    /// Expire the invoice's open Checkout Sessions whose amount is no longer
    /// what is due (written with the change of the amount due, after which
    /// `amount_due` was due and `attempt` the newest stale attempt).
    ExpireStaleCheckouts {
        invoice_id: i64,
        amount_due: i64,
        attempt: i32,
    },
    /// Does nothing: the bench's probe of the job path itself (outbox row →
    /// relay → queue → handler → done). Nothing in the product writes it.
    Noop { n: i64 },
}

impl JobKind {
    /// One logical job, one outbox row.
    pub fn dedup_key(&self) -> String {
        match self {
            Self::GenerateInvoice { session_id } => {
                format!("generate_invoice:session:{session_id}")
            }
            Self::Charge {
                invoice_id,
                attempt,
            } => format!("charge:invoice:{invoice_id}:attempt:{attempt}"),
            Self::SendInvoice {
                invoice_id,
                resend: None,
            } => format!("send_invoice:invoice:{invoice_id}"),
            Self::SendInvoice {
                invoice_id,
                resend: Some(key),
            } => format!("send_invoice:invoice:{invoice_id}:resend:{key}"),
            Self::SendReceipt { payment_id } => format!("send_receipt:payment:{payment_id}"),
            Self::SendRefundConfirmation { refund_id } => {
                format!("send_refund_confirmation:refund:{refund_id}")
            }
            Self::SyncGalleryAccess { invoice_id, state } => {
                format!("sync_gallery:invoice:{invoice_id}:{state}")
            }
            Self::SendGalleryCredentials { invoice_id } => {
                format!("gallery_credentials:invoice:{invoice_id}")
            }
            Self::SendGalleryUpgrade { invoice_id, level } => {
                format!("gallery_upgrade:invoice:{invoice_id}:{level}")
            }
            Self::ResolvePayment { payment_id } => format!("resolve_payment:payment:{payment_id}"),
            Self::ResolveRefund { refund_id } => format!("resolve_refund:refund:{refund_id}"),
            Self::SendDeclineNotice {
                invoice_id,
                attempt,
            } => {
                format!("decline_notice:invoice:{invoice_id}:attempt:{attempt}")
            }
            Self::DeliverSimulatedWebhook { key } => format!("simulated_webhook:{key}"),
            Self::ReminderStep { invoice_id, step } => {
                format!("reminder_step:invoice:{invoice_id}:step:{step}")
            }
            Self::SendReminder { invoice_id, step } => {
                format!("send_reminder:invoice:{invoice_id}:step:{step}")
            }
            Self::SendGalleryExpiryNotice {
                invoice_id,
                expires_at,
            } => format!("gallery_expiry:invoice:{invoice_id}:{expires_at}"),
            Self::DeliverGalleryWebhook { invoice_id, change } => {
                format!("gallery_webhook:invoice:{invoice_id}:{change}")
            }
            Self::SendCardSetupLink { card_setup_id } => {
                format!("card_setup_link:setup:{card_setup_id}")
            }
            Self::ExpireStaleCheckouts {
                invoice_id,
                amount_due,
                attempt,
            } => {
                format!("expire_checkouts:invoice:{invoice_id}:due:{amount_due}:attempt:{attempt}")
            }
            Self::Noop { n } => format!("noop:{n}"),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::GenerateInvoice { .. } => "generate_invoice",
            Self::Charge { .. } => "charge",
            Self::SendInvoice { .. } => "send_invoice",
            Self::SendReceipt { .. } => "send_receipt",
            Self::SendRefundConfirmation { .. } => "send_refund_confirmation",
            Self::SyncGalleryAccess { .. } => "sync_gallery_access",
            Self::SendGalleryCredentials { .. } => "send_gallery_credentials",
            Self::SendGalleryUpgrade { .. } => "send_gallery_upgrade",
            Self::ResolvePayment { .. } => "resolve_payment",
            Self::ResolveRefund { .. } => "resolve_refund",
            Self::SendDeclineNotice { .. } => "send_decline_notice",
            Self::DeliverSimulatedWebhook { .. } => "deliver_simulated_webhook",
            Self::ReminderStep { .. } => "reminder_step",
            Self::SendReminder { .. } => "send_reminder",
            Self::SendGalleryExpiryNotice { .. } => "send_gallery_expiry_notice",
            Self::DeliverGalleryWebhook { .. } => "deliver_gallery_webhook",
            Self::SendCardSetupLink { .. } => "send_card_setup_link",
            Self::ExpireStaleCheckouts { .. } => "expire_stale_checkouts",
            Self::Noop { .. } => "noop",
        }
    }
}

/// What travels through apalis: the outbox row it came from and the work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub outbox_id: i64,
    pub kind: JobKind,
    /// The request that caused the job, carried into the worker's spans.
    pub request_id: Option<String>,
}
