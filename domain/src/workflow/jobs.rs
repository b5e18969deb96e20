//! Job payloads shared by the producer (outbox relay) and the worker.
//!
//! Every job is written first as an outbox row in the same transaction as the
//! state change that causes it, then relayed to the apalis queue. Delivery is
//! at-least-once: every handler is idempotent, and `dedup_key` makes sure one
//! logical job has exactly one outbox row.
//!
//! Payloads serialise exactly as the rows already in the outbox are (the
//! tests round-trip today's JSON and dedup keys); the gallery's `state`,
//! `level` and `change` are typed and serialise as the strings they were.

use crate::kernel::money::Minor;
use entity::enums::{GalleryLevel, InvoiceStatus};
use sea_orm::Iterable;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobKind {
    /// Price a completed session, number the invoice and route on payment preference.
    GenerateInvoice { session_id: i64 },
    /// Auto-pay attempt `attempt` (1 when the invoice is issued, 2, 3...
    /// after soft declines) with the client's stored payment method.
    /// With `payer`: that payer's share of a shared invoice, charged to the
    /// card they saved (one attempt; a decline emails them alone).
    Charge {
        invoice_id: i64,
        attempt: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        payer: Option<i64>,
    },
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
    SyncGalleryAccess {
        invoice_id: i64,
        state: GalleryCause,
    },
    /// Email gallery credentials (a fresh password) once per gallery.
    SendGalleryCredentials { invoice_id: i64 },
    /// Email that the gallery access level went up.
    SendGalleryUpgrade {
        invoice_id: i64,
        level: GalleryLevel,
    },
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
    DeliverGalleryWebhook {
        invoice_id: i64,
        change: GalleryChange,
    },
    /// Email the client the link to put a card on file (`requestCardSetup`).
    SendCardSetupLink { card_setup_id: i64 },
    /// Expire the invoice's open Checkout Sessions whose amount is no longer
    /// what is due (written with the change of the amount due, after which
    /// `amount_due` was due and `attempt` the newest stale attempt).
    ExpireStaleCheckouts {
        invoice_id: i64,
        amount_due: Minor,
        attempt: i32,
    },
    /// Bill part `part_id` of a payment plan on its day: an installment
    /// invoice, charged to the card on file or emailed (`billing::installments`).
    IssuePlanPart { part_id: i64 },
    /// Check the card on file of an auto-pay installment above the
    /// studio's threshold, before its charge day.
    CheckCard { invoice_id: i64 },
    /// Email the client the schedule of plan `plan_id` as edit `revision`
    /// left it ("schedule updated").
    SendPlanUpdate { plan_id: i64, revision: i32 },
    /// A client who picked nothing by the studio's deadline gets the default
    /// pick (the gallery of invoice `invoice_id`'s session).
    ApplyDefaultPicks { invoice_id: i64 },
    /// Answer dispute `dispute_id` (`disputes.id`) with evidence: gather
    /// it, and send it unless the studio reviews evidence and has not
    /// `approved` it yet.
    /// `by_deadline`: the studio has not said, and the deadline is near:
    /// the evidence goes as if approved.
    AnswerDispute {
        dispute_id: i64,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        approved: bool,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        by_deadline: bool,
    },
    /// Does nothing: the bench's probe of the job path itself (outbox row →
    /// relay → queue → handler → done). Nothing in the product writes it.
    Noop { n: i64 },
}

/// The step of a shared invoice's "paid in full" summary to its client.
pub const PAID_IN_FULL: &str = "paid-in-full";

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
                payer: None,
            } => format!("charge:invoice:{invoice_id}:attempt:{attempt}"),
            Self::Charge {
                invoice_id,
                attempt,
                payer: Some(payer),
            } => format!("charge:invoice:{invoice_id}:payer:{payer}:attempt:{attempt}"),
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
                format!("gallery_upgrade:invoice:{invoice_id}:{}", level.as_str())
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
            Self::IssuePlanPart { part_id } => format!("issue_plan_part:part:{part_id}"),
            Self::CheckCard { invoice_id } => format!("check_card:invoice:{invoice_id}"),
            Self::SendPlanUpdate { plan_id, revision } => {
                format!("plan_update:plan:{plan_id}:revision:{revision}")
            }
            Self::ApplyDefaultPicks { invoice_id } => {
                format!("apply_default_picks:invoice:{invoice_id}")
            }
            Self::AnswerDispute {
                dispute_id,
                by_deadline: true,
                ..
            } => format!("answer_dispute:dispute:{dispute_id}:deadline"),
            Self::AnswerDispute {
                dispute_id,
                approved: false,
                ..
            } => format!("answer_dispute:dispute:{dispute_id}"),
            Self::AnswerDispute {
                dispute_id,
                approved: true,
                ..
            } => format!("answer_dispute:dispute:{dispute_id}:approved"),
            Self::Noop { n } => format!("noop:{n}"),
        }
    }

    /// The job that sends a notification (the inverse of the keys in
    /// `followup::emails`), `None` for a row no job could have written.
    ///
    /// The "paid in full" summary of a shared invoice ([`PAID_IN_FULL`]) is
    /// sent by the receipt job of the payer's payment that paid it off,
    /// which the email does not name: `failing_steps` finds it.
    pub fn sending(email: &entity::notification::Model) -> Option<Self> {
        use entity::enums::NotificationKind as N;
        // One payer's email of a shared invoice (`{step}:payer:{id}`) is
        // sent by the invoice's own job, which skips those already sent.
        let step = email
            .step
            .split_once(":payer:")
            .map_or(email.step.as_str(), |(step, _)| step);
        let invoice_id = email.invoice_id;
        Some(match email.kind {
            N::Invoice => Self::SendInvoice {
                invoice_id,
                resend: match step.strip_prefix("resend:") {
                    Some(key) => Some(key.to_string()),
                    None if step == "1" => None,
                    None => return None,
                },
            },
            N::Receipt => Self::SendReceipt {
                payment_id: step.parse().ok()?,
            },
            N::RefundConfirmation => Self::SendRefundConfirmation {
                refund_id: step.parse().ok()?,
            },
            N::GalleryCredentials => Self::SendGalleryCredentials { invoice_id },
            N::GalleryUpgraded => Self::SendGalleryUpgrade {
                invoice_id,
                level: {
                    use sea_orm::Iterable;
                    entity::enums::GalleryLevel::iter().find(|l| l.as_str() == step)?
                },
            },
            N::DeclineNotice => Self::SendDeclineNotice {
                invoice_id,
                attempt: step.parse().ok()?,
            },
            N::Reminder => Self::SendReminder {
                invoice_id,
                step: step.parse().ok()?,
            },
            N::GalleryExpiring => Self::SendGalleryExpiryNotice {
                invoice_id,
                expires_at: step.parse().ok()?,
            },
            N::CardSetup => Self::SendCardSetupLink {
                card_setup_id: step.parse().ok()?,
            },
            N::PlanUpdated => {
                let (plan, revision) = step.split_once(':')?;
                let (plan_id, revision) = (plan.parse().ok()?, revision.parse().ok()?);
                Self::SendPlanUpdate { plan_id, revision }
            }
        })
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
            Self::IssuePlanPart { .. } => "issue_plan_part",
            Self::CheckCard { .. } => "check_card",
            Self::SendPlanUpdate { .. } => "send_plan_update",
            Self::ApplyDefaultPicks { .. } => "apply_default_picks",
            Self::AnswerDispute { .. } => "answer_dispute",
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

/// The payment state that caused a gallery sync (`SyncGalleryAccess.state`).
/// It travels as the string it always did (`OPEN`, `payment-12`,
/// `refund-3`, `dispute-dp_1-open`...), so rows already in an outbox and
/// their dedup keys keep working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum GalleryCause {
    /// The invoice reached this status (issued, voided, uncollectible...).
    Invoice(InvoiceStatus),
    /// A payment settled (`payment-{id}`).
    Payment { payment_id: i64 },
    /// A refund settled (`refund-{id}`).
    Refund { refund_id: i64 },
    /// A dispute opened or closed (`dispute-{id}-open|closed`).
    Dispute { dispute_id: String, open: bool },
}

impl fmt::Display for GalleryCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invoice(status) => f.write_str(status.as_str()),
            Self::Payment { payment_id } => write!(f, "payment-{payment_id}"),
            Self::Refund { refund_id } => write!(f, "refund-{refund_id}"),
            Self::Dispute { dispute_id, open } => write!(
                f,
                "dispute-{dispute_id}-{}",
                if *open { "open" } else { "closed" }
            ),
        }
    }
}

impl From<GalleryCause> for String {
    fn from(cause: GalleryCause) -> Self {
        cause.to_string()
    }
}

impl TryFrom<String> for GalleryCause {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        let bad = || format!("not a gallery sync cause: {s:?}");
        if let Some(id) = s.strip_prefix("payment-") {
            let payment_id = id.parse().map_err(|_| bad())?;
            return Ok(Self::Payment { payment_id });
        }
        if let Some(id) = s.strip_prefix("refund-") {
            let refund_id = id.parse().map_err(|_| bad())?;
            return Ok(Self::Refund { refund_id });
        }
        if let Some(rest) = s.strip_prefix("dispute-") {
            let (id, side) = rest.rsplit_once('-').ok_or_else(bad)?;
            let open = match side {
                "open" => true,
                "closed" => false,
                _ => return Err(bad()),
            };
            return Ok(Self::Dispute {
                dispute_id: id.to_string(),
                open,
            });
        }
        InvoiceStatus::iter()
            .find(|status| status.as_str() == s)
            .map(Self::Invoice)
            .ok_or_else(bad)
    }
}

/// One change of gallery access (`DeliverGalleryWebhook.change`): the new
/// level and its expiry (unix seconds, 0 for none). Travels as
/// `LEVEL-expiry` (`FULL-1767225600`), as it always did; the webhook's event
/// id is derived from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct GalleryChange {
    pub level: GalleryLevel,
    pub expires_at: i64,
}

impl fmt::Display for GalleryChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.level.as_str(), self.expires_at)
    }
}

impl From<GalleryChange> for String {
    fn from(change: GalleryChange) -> Self {
        change.to_string()
    }
}

impl TryFrom<String> for GalleryChange {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        let bad = || format!("not a gallery change: {s:?}");
        let (level, expires_at) = s.split_once('-').ok_or_else(bad)?;
        let level = GalleryLevel::iter()
            .find(|l| l.as_str() == level)
            .ok_or_else(bad)?;
        let expires_at = expires_at.parse().map_err(|_| bad())?;
        Ok(Self { level, expires_at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows written before the payloads were typed: each must read back as
    /// the typed job, write back byte for byte, and keep its dedup key.
    #[test]
    fn todays_payloads_round_trip_with_their_dedup_keys() {
        let rows = [
            (
                r#"{"type":"apply_default_picks","invoice_id":7}"#,
                "apply_default_picks:invoice:7",
            ),
            (
                r#"{"type":"answer_dispute","dispute_id":3}"#,
                "answer_dispute:dispute:3",
            ),
            (
                r#"{"type":"answer_dispute","dispute_id":3,"approved":true}"#,
                "answer_dispute:dispute:3:approved",
            ),
            (
                r#"{"type":"answer_dispute","dispute_id":3,"by_deadline":true}"#,
                "answer_dispute:dispute:3:deadline",
            ),
            (
                r#"{"type":"sync_gallery_access","invoice_id":7,"state":"OPEN"}"#,
                "sync_gallery:invoice:7:OPEN",
            ),
            (
                r#"{"type":"sync_gallery_access","invoice_id":7,"state":"PAID"}"#,
                "sync_gallery:invoice:7:PAID",
            ),
            (
                r#"{"type":"sync_gallery_access","invoice_id":7,"state":"PARTIALLY_PAID"}"#,
                "sync_gallery:invoice:7:PARTIALLY_PAID",
            ),
            (
                r#"{"type":"sync_gallery_access","invoice_id":7,"state":"VOID"}"#,
                "sync_gallery:invoice:7:VOID",
            ),
            (
                r#"{"type":"sync_gallery_access","invoice_id":7,"state":"UNCOLLECTIBLE"}"#,
                "sync_gallery:invoice:7:UNCOLLECTIBLE",
            ),
            (
                r#"{"type":"sync_gallery_access","invoice_id":7,"state":"payment-42"}"#,
                "sync_gallery:invoice:7:payment-42",
            ),
            (
                r#"{"type":"sync_gallery_access","invoice_id":7,"state":"refund-9"}"#,
                "sync_gallery:invoice:7:refund-9",
            ),
            (
                r#"{"type":"sync_gallery_access","invoice_id":7,"state":"dispute-dp_1AbC-open"}"#,
                "sync_gallery:invoice:7:dispute-dp_1AbC-open",
            ),
            (
                r#"{"type":"sync_gallery_access","invoice_id":7,"state":"dispute-dp-sim-3-closed"}"#,
                "sync_gallery:invoice:7:dispute-dp-sim-3-closed",
            ),
            (
                r#"{"type":"send_gallery_upgrade","invoice_id":7,"level":"FULL"}"#,
                "gallery_upgrade:invoice:7:FULL",
            ),
            (
                r#"{"type":"send_gallery_upgrade","invoice_id":7,"level":"PREVIEW"}"#,
                "gallery_upgrade:invoice:7:PREVIEW",
            ),
            (
                r#"{"type":"deliver_gallery_webhook","invoice_id":7,"change":"FULL-1767225600"}"#,
                "gallery_webhook:invoice:7:FULL-1767225600",
            ),
            (
                r#"{"type":"deliver_gallery_webhook","invoice_id":7,"change":"LOCKED-0"}"#,
                "gallery_webhook:invoice:7:LOCKED-0",
            ),
            (
                r#"{"type":"send_invoice","invoice_id":7}"#,
                "send_invoice:invoice:7",
            ),
            (
                r#"{"type":"charge","invoice_id":7,"attempt":2}"#,
                "charge:invoice:7:attempt:2",
            ),
        ];
        for (json, dedup) in rows {
            let kind: JobKind = serde_json::from_str(json).expect(json);
            assert_eq!(kind.dedup_key(), dedup, "{json}");
            assert_eq!(serde_json::to_string(&kind).expect("serialise"), json);
        }
    }

    #[test]
    fn typed_payloads_are_what_the_strings_said() {
        let kind: JobKind = serde_json::from_str(
            r#"{"type":"sync_gallery_access","invoice_id":1,"state":"dispute-dp-x-closed"}"#,
        )
        .expect("parse");
        assert_eq!(
            kind,
            JobKind::SyncGalleryAccess {
                invoice_id: 1,
                state: GalleryCause::Dispute {
                    dispute_id: "dp-x".into(),
                    open: false
                }
            }
        );
        let kind: JobKind = serde_json::from_str(
            r#"{"type":"deliver_gallery_webhook","invoice_id":1,"change":"PREVIEW-17"}"#,
        )
        .expect("parse");
        assert_eq!(
            kind,
            JobKind::DeliverGalleryWebhook {
                invoice_id: 1,
                change: GalleryChange {
                    level: GalleryLevel::Preview,
                    expires_at: 17
                }
            }
        );
        for bad in [
            r#"{"type":"sync_gallery_access","invoice_id":1,"state":"payment-x"}"#,
            r#"{"type":"sync_gallery_access","invoice_id":1,"state":"SOMETHING"}"#,
            r#"{"type":"deliver_gallery_webhook","invoice_id":1,"change":"FULL"}"#,
            r#"{"type":"send_gallery_upgrade","invoice_id":1,"level":"full"}"#,
        ] {
            assert!(serde_json::from_str::<JobKind>(bad).is_err(), "{bad}");
        }
    }

    /// A failed email to one payer of a shared invoice is found by the job
    /// that sends the invoice's emails (the dashboard lists it, and its
    /// retry sends it), like the client's own.
    #[test]
    fn a_payers_email_is_sent_by_the_invoices_job() {
        use entity::enums::{NotificationKind as N, NotificationStatus};
        let email = |kind, step: &str| entity::notification::Model {
            id: 1,
            studio_id: 1,
            invoice_id: 7,
            kind,
            step: step.to_string(),
            recipient: "linda@example.com".into(),
            subject: String::new(),
            status: NotificationStatus::Failed,
            message_id: String::new(),
            claimed_until: None,
            created_at: chrono::DateTime::UNIX_EPOCH,
            sent_at: None,
            error: None,
        };
        let cases = [
            (
                email(N::Invoice, "1:payer:3"),
                JobKind::SendInvoice {
                    invoice_id: 7,
                    resend: None,
                },
            ),
            (
                email(N::Invoice, "resend:payers-3:payer:4"),
                JobKind::SendInvoice {
                    invoice_id: 7,
                    resend: Some("payers-3".into()),
                },
            ),
            (
                email(N::Reminder, "2:payer:4"),
                JobKind::SendReminder {
                    invoice_id: 7,
                    step: 2,
                },
            ),
        ];
        for (email, job) in cases {
            assert_eq!(JobKind::sending(&email), Some(job), "{}", email.step);
        }
    }
}
