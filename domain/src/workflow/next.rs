//! The one owner of next steps. A service that changes state describes the
//! change as a [`Change`] and calls [`after`] in the transaction that makes
//! it; `after` writes every follow-up outbox row for it (emails, gallery
//! sync, reminders, retries, resolutions), so what happens next is decided
//! here and nowhere else. After the commit, [`commit`] wakes the relay.
//!
//! Every row is keyed by its job's `dedup_key`: calling `after` twice for
//! one change writes each follow-up once (the exactly-once property of the
//! outbox).

use crate::infra::context::AppContext;
use crate::infra::error::DomainResult;
use crate::workflow::jobs::{GalleryCause, JobKind};
use crate::workflow::outbox;
use chrono::{DateTime, Duration, Utc};
use entity::enums::{GalleryLevel, InvoiceStatus};
use sea_orm::{DatabaseTransaction, DbErr};

/// A state change that has follow-ups. Each names the studio the rows
/// belong to (`None` for the simulated gateway's own rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A session was completed: its invoice is generated.
    SessionCompleted { studio_id: i64, session_id: i64 },
    /// An invoice was numbered and issued in `status` (`OPEN`, or `PAID`
    /// when credits settled it). `auto_pay`: charged with the card on file
    /// instead of emailed (only when something is left to pay).
    InvoiceIssued {
        studio_id: i64,
        invoice_id: i64,
        status: InvoiceStatus,
        auto_pay: bool,
        /// An installment issued as the notice of its auto-charge: the
        /// moment the card is charged (emailed now, no reminders).
        charge_at: Option<DateTime<Utc>>,
        /// Payers of a shared invoice whose share is charged to their
        /// saved card now.
        charge_payers: Vec<i64>,
    },
    /// An auto-pay attempt was declined. The client's first attempt falls
    /// back to emailing the invoice, later ones send a decline notice (a
    /// payer is told by `InvoiceResent`); `retry_in` plans the next attempt.
    AutoPayDeclined {
        studio_id: i64,
        invoice_id: i64,
        attempt: u32,
        retry_in: Option<Duration>,
        /// The payer whose share was declined (none: the client).
        payer: Option<i64>,
    },
    /// A payment was started whose outcome nobody else will ask for (a
    /// portal payment): it is resolved after `resolve_after` if still open.
    PaymentStarted {
        studio_id: i64,
        payment_id: i64,
        resolve_after: Duration,
    },
    /// A payment succeeded (at the gateway or recorded by hand).
    Paid {
        studio_id: i64,
        invoice_id: i64,
        payment_id: i64,
    },
    /// A refund was started at the gateway: resolved after `resolve_after`
    /// if its outcome is still unknown.
    RefundStarted {
        studio_id: i64,
        refund_id: i64,
        resolve_after: Duration,
    },
    /// A refund succeeded; `confirm`: the client is told (a credit note was
    /// issued for it). Also a failed member of a spread refund request, so
    /// that the request's one email goes out if it settled last.
    Refunded {
        studio_id: i64,
        invoice_id: i64,
        refund_id: i64,
        confirm: bool,
    },
    /// An invoice was voided with a credit note.
    Voided { studio_id: i64, invoice_id: i64 },
    /// An invoice was written off (by hand or by the last reminder step).
    Uncollectible { studio_id: i64, invoice_id: i64 },
    /// A dispute opened or closed on one of the invoice's payments;
    /// `answer`: the row of a dispute just opened, answered with evidence.
    Disputed {
        studio_id: i64,
        invoice_id: i64,
        dispute_id: String,
        open: bool,
        answer: Option<i64>,
    },
    /// The studio said to send a dispute's gathered evidence.
    DisputeEvidenceApproved { studio_id: i64, dispute_id: i64 },
    /// A dispute's evidence waits for the studio's review: unless the
    /// studio says first, it goes by itself at `send_at`, before the deadline.
    DisputeAwaitingReview {
        studio_id: i64,
        dispute_id: i64,
        send_at: DateTime<Utc>,
    },
    /// The studio asked to send the invoice again under `key`.
    InvoiceResent {
        studio_id: i64,
        invoice_id: i64,
        key: String,
    },
    /// A reminder step is planned for `at`.
    ReminderPlanned {
        studio_id: i64,
        invoice_id: i64,
        step: u32,
        at: DateTime<Utc>,
    },
    /// A reminder step ran and its email goes out.
    Reminded {
        studio_id: i64,
        invoice_id: i64,
        step: u32,
    },
    /// The amount due changed while Checkout Sessions for another amount
    /// are open (the newest of them is `attempt`).
    AmountDueChanged {
        studio_id: i64,
        invoice_id: i64,
        amount_due: crate::kernel::money::Minor,
        attempt: i32,
    },
    /// A card-setup link was requested.
    CardSetupRequested { studio_id: i64, card_setup_id: i64 },
    /// An auto-pay installment above the studio's threshold was issued:
    /// its card is checked now, days before the charge.
    CardCheckWanted { studio_id: i64, invoice_id: i64 },
    /// A gallery was granted for the first time: its credentials go out,
    /// and the default pick waits for `picks_at`, if any.
    GalleryGranted {
        studio_id: i64,
        invoice_id: i64,
        picks_at: Option<DateTime<Utc>>,
    },
    /// Gallery access went up to `level`.
    GalleryUpgraded {
        studio_id: i64,
        invoice_id: i64,
        level: GalleryLevel,
    },
    /// Gallery access changed: the notice before the new expiry (when the
    /// studio sends one, `expiry_notice_days` > 0) and the studio's webhook
    /// (when it has one).
    GalleryChanged {
        studio_id: i64,
        invoice_id: i64,
        level: GalleryLevel,
        expires_at: Option<DateTime<Utc>>,
        expiry_notice_days: i32,
        webhook: bool,
    },
    /// A payment plan's parts were scheduled: each is billed at its
    /// moment (its due day, at the studio's hour in the client's zone).
    PlanScheduled {
        studio_id: i64,
        parts: Vec<(i64, DateTime<Utc>)>,
    },
    /// A plan's future parts were edited (revision `revision`): each part's
    /// billing moves to its new moment, and the client gets one email.
    PlanEdited {
        studio_id: i64,
        plan_id: i64,
        revision: i32,
        parts: Vec<(i64, DateTime<Utc>)>,
    },
    /// The simulated gateway recorded something its webhook announces
    /// (at `at`, or at once).
    SimulatedEvent {
        key: String,
        at: Option<DateTime<Utc>>,
    },
}

/// Writes every follow-up of `change` in the caller's transaction.
pub async fn after(
    tx: &DatabaseTransaction,
    change: Change,
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    after_all(tx, vec![change], request_id, now).await
}

/// [`after`] for several changes of one step: their new rows go in one
/// statement (`Rows`) while they belong to the same studio and request; a
/// moved row is written in its place, after the rows before it.
pub async fn after_all(
    tx: &DatabaseTransaction,
    changes: Vec<Change>,
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let mut rows = Rows::default();
    let mut last: Option<Row<'_>> = None;
    for change in changes {
        let row = Row {
            tx,
            studio_id: change.studio_id(),
            request_id: request_id.filter(|_| change.keeps_request_id()),
            now,
        };
        if let Some(before) = last
            && (before.studio_id, before.request_id) != (row.studio_id, row.request_id)
        {
            rows.write(before).await?;
        }
        last = Some(row);
        for follow_up in change.follow_ups() {
            match follow_up {
                FollowUp::Now(kind) => rows.push(kind, None),
                FollowUp::After(kind, delay) => rows.push(kind, Some(now + delay)),
                FollowUp::At(kind, at) => rows.push(kind, Some(at)),
                FollowUp::MovedTo(kind, at) => {
                    rows.write(row).await?;
                    row.moved_to(kind, at).await?;
                }
                FollowUp::EmailInvoice { invoice_id, status } => {
                    email_invoice(row, &mut rows, invoice_id, status).await?
                }
            }
        }
    }
    if let Some(row) = last {
        rows.write(row).await?;
    }
    Ok(())
}

/// New outbox rows of one change, written together.
#[derive(Default)]
struct Rows(Vec<(JobKind, Option<DateTime<Utc>>)>);

impl Rows {
    fn push(&mut self, kind: JobKind, not_before: Option<DateTime<Utc>>) {
        self.0.push((kind, not_before));
    }

    /// Writes the rows gathered so far, in one statement.
    async fn write(&mut self, row: Row<'_>) -> Result<(), DbErr> {
        let rows = std::mem::take(&mut self.0);
        let jobs: Vec<(&JobKind, Option<DateTime<Utc>>)> =
            rows.iter().map(|(kind, at)| (kind, *at)).collect();
        outbox::enqueue_all(row.tx, row.studio_id, &jobs, row.request_id, row.now).await
    }
}

mod follow_ups;
use follow_ups::FollowUp::{self, After, At, Now};
use follow_ups::{
    answer_dispute, at_or_now, auto_pay_declined, closed, dispute_deadline, disputed_follow_ups,
    gallery_changed, gallery_granted, invoice_issued, plan_edited, plan_scheduled, refunded,
    sync_gallery,
};

impl Change {
    /// The studio the rows belong to (none for the simulated gateway's own).
    fn studio_id(&self) -> Option<i64> {
        match self {
            Self::SessionCompleted { studio_id, .. }
            | Self::InvoiceIssued { studio_id, .. }
            | Self::AutoPayDeclined { studio_id, .. }
            | Self::PaymentStarted { studio_id, .. }
            | Self::Paid { studio_id, .. }
            | Self::RefundStarted { studio_id, .. }
            | Self::Refunded { studio_id, .. }
            | Self::Voided { studio_id, .. }
            | Self::Uncollectible { studio_id, .. }
            | Self::Disputed { studio_id, .. }
            | Self::DisputeEvidenceApproved { studio_id, .. }
            | Self::DisputeAwaitingReview { studio_id, .. }
            | Self::InvoiceResent { studio_id, .. }
            | Self::ReminderPlanned { studio_id, .. }
            | Self::Reminded { studio_id, .. }
            | Self::AmountDueChanged { studio_id, .. }
            | Self::CardSetupRequested { studio_id, .. }
            | Self::CardCheckWanted { studio_id, .. }
            | Self::GalleryGranted { studio_id, .. }
            | Self::GalleryUpgraded { studio_id, .. }
            | Self::GalleryChanged { studio_id, .. }
            | Self::PlanScheduled { studio_id, .. }
            | Self::PlanEdited { studio_id, .. } => Some(*studio_id),
            Self::SimulatedEvent { .. } => None,
        }
    }

    /// Whether the rows carry the caller's request id. A dispute's webhook
    /// carries none of ours; a changed amount is written by whatever
    /// settlement changed it; the simulated gateway's events are its own.
    fn keeps_request_id(&self) -> bool {
        !matches!(
            self,
            Self::Disputed { .. } | Self::AmountDueChanged { .. } | Self::SimulatedEvent { .. }
        )
    }

    /// Every follow-up of this change, in the order they are written.
    fn follow_ups(self) -> Vec<FollowUp> {
        use JobKind as J;
        match self {
            Self::SessionCompleted { session_id, .. } => {
                vec![Now(J::GenerateInvoice { session_id })]
            }
            issued @ Self::InvoiceIssued { .. } => invoice_issued(issued),
            declined @ Self::AutoPayDeclined { .. } => auto_pay_declined(declined),
            Self::PaymentStarted {
                payment_id,
                resolve_after,
                ..
            } => vec![After(J::ResolvePayment { payment_id }, resolve_after)],
            Self::Paid {
                invoice_id,
                payment_id,
                ..
            } => vec![
                Now(J::SendReceipt { payment_id }),
                sync_gallery(invoice_id, GalleryCause::Payment { payment_id }),
            ],
            Self::RefundStarted {
                refund_id,
                resolve_after,
                ..
            } => vec![After(J::ResolveRefund { refund_id }, resolve_after)],
            Self::Refunded {
                invoice_id,
                refund_id,
                confirm,
                ..
            } => refunded(invoice_id, refund_id, confirm),
            Self::Voided { invoice_id, .. } => closed(invoice_id, InvoiceStatus::Void),
            Self::Uncollectible { invoice_id, .. } => {
                closed(invoice_id, InvoiceStatus::Uncollectible)
            }
            disputed @ Self::Disputed { .. } => disputed_follow_ups(disputed),
            Self::DisputeEvidenceApproved { dispute_id, .. } => {
                vec![answer_dispute(dispute_id, true)]
            }
            waiting @ Self::DisputeAwaitingReview { .. } => dispute_deadline(waiting),
            Self::InvoiceResent {
                invoice_id, key, ..
            } => {
                vec![Now(J::SendInvoice {
                    invoice_id,
                    resend: Some(key),
                })]
            }
            Self::ReminderPlanned {
                invoice_id,
                step,
                at,
                ..
            } => {
                vec![At(J::ReminderStep { invoice_id, step }, at)]
            }
            Self::Reminded {
                invoice_id, step, ..
            } => vec![Now(J::SendReminder { invoice_id, step })],
            Self::AmountDueChanged {
                invoice_id,
                amount_due,
                attempt,
                ..
            } => vec![Now(J::ExpireStaleCheckouts {
                invoice_id,
                amount_due,
                attempt,
            })],
            Self::CardSetupRequested { card_setup_id, .. } => {
                vec![Now(J::SendCardSetupLink { card_setup_id })]
            }
            Self::CardCheckWanted { invoice_id, .. } => vec![Now(J::CheckCard { invoice_id })],
            granted @ Self::GalleryGranted { .. } => gallery_granted(granted),
            Self::GalleryUpgraded {
                invoice_id, level, ..
            } => {
                vec![Now(J::SendGalleryUpgrade { invoice_id, level })]
            }
            Self::GalleryChanged {
                invoice_id,
                level,
                expires_at,
                expiry_notice_days,
                webhook,
                ..
            } => gallery_changed(invoice_id, level, expires_at, expiry_notice_days, webhook),
            Self::PlanScheduled { parts, .. } => plan_scheduled(parts),
            Self::PlanEdited {
                plan_id,
                revision,
                parts,
                ..
            } => plan_edited(plan_id, revision, parts),
            Self::SimulatedEvent { key, at } => {
                vec![at_or_now(J::DeliverSimulatedWebhook { key }, at)]
            }
        }
    }
}

/// Commits a transaction whose changes went through [`after`], then wakes
/// the outbox relay so that their follow-ups start without waiting for its
/// next poll.
pub async fn commit(ctx: &AppContext, tx: DatabaseTransaction) -> Result<(), DbErr> {
    tx.commit().await?;
    wake(ctx);
    Ok(())
}

/// Wakes the outbox relay (rows were written by a transaction already
/// committed, or made due again). In a process without a relay (the api in
/// production) `wakes::forward_wakes` carries the wake to the workers.
pub fn wake(ctx: &AppContext) {
    ctx.outbox_signal.notify_one();
}

/// An invoice that goes to the client by email: the email, gallery access
/// matching its payment state, and the first reminder of its follow-up plan.
async fn email_invoice(
    row: Row<'_>,
    rows: &mut Rows,
    invoice_id: i64,
    status: InvoiceStatus,
) -> DomainResult<()> {
    let send = JobKind::SendInvoice {
        invoice_id,
        resend: None,
    };
    rows.push(send, None);
    let state = GalleryCause::Invoice(status);
    rows.push(JobKind::SyncGalleryAccess { invoice_id, state }, None);
    if let Some(first) = super::follow_up_plan::first_step(row.tx, invoice_id).await? {
        let step = first.index;
        rows.push(JobKind::ReminderStep { invoice_id, step }, Some(first.at));
    }
    Ok(())
}

/// Where the rows of one change go.
#[derive(Clone, Copy)]
struct Row<'a> {
    tx: &'a DatabaseTransaction,
    studio_id: Option<i64>,
    request_id: Option<&'a str>,
    /// The caller's clock reading: when the rows are created (and from
    /// when a delay counts).
    now: DateTime<Utc>,
}

impl Row<'_> {
    async fn moved_to(&self, kind: JobKind, at: DateTime<Utc>) -> Result<(), DbErr> {
        outbox::reschedule(
            self.tx,
            self.studio_id,
            &kind,
            self.request_id,
            at,
            self.now,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payers_declined_share_is_retried_for_them_alone() {
        let declined = Change::AutoPayDeclined {
            studio_id: 1,
            invoice_id: 7,
            attempt: 2,
            retry_in: Some(Duration::days(3)),
            payer: Some(4),
        };
        assert_eq!(
            declined.follow_ups(),
            [After(
                JobKind::Charge {
                    invoice_id: 7,
                    attempt: 3,
                    payer: Some(4),
                },
                Duration::days(3)
            )]
        );
    }

    #[test]
    fn a_declined_auto_pay_emails_first_then_notices_and_plans_its_retry() {
        let first = Change::AutoPayDeclined {
            studio_id: 1,
            invoice_id: 7,
            attempt: 1,
            retry_in: Some(Duration::days(1)),
            payer: None,
        };
        assert_eq!(
            first.follow_ups(),
            [
                FollowUp::EmailInvoice {
                    invoice_id: 7,
                    status: InvoiceStatus::Open
                },
                After(
                    JobKind::Charge {
                        invoice_id: 7,
                        attempt: 2,
                        payer: None,
                    },
                    Duration::days(1)
                ),
            ]
        );
        let last = Change::AutoPayDeclined {
            studio_id: 1,
            invoice_id: 7,
            attempt: 5,
            retry_in: None,
            payer: None,
        };
        assert_eq!(
            last.follow_ups(),
            [Now(JobKind::SendDeclineNotice {
                invoice_id: 7,
                attempt: 5
            })]
        );
    }

    #[test]
    fn a_locked_gallery_gets_no_expiry_notice_and_only_a_webhook_when_asked() {
        let expires_at = DateTime::<Utc>::from_timestamp(1_767_225_600, 0);
        let change = |level, webhook| Change::GalleryChanged {
            studio_id: 1,
            invoice_id: 7,
            level,
            expires_at,
            expiry_notice_days: 3,
            webhook,
        };
        assert!(change(GalleryLevel::Locked, false).follow_ups().is_empty());
        let full = change(GalleryLevel::Full, true).follow_ups();
        assert_eq!(full.len(), 2, "{full:?}");
        assert!(matches!(
            &full[0],
            At(JobKind::SendGalleryExpiryNotice { .. }, at)
                if Some(*at + Duration::days(3)) == expires_at
        ));
    }

    #[test]
    fn rows_carry_the_studio_and_the_request_except_where_the_gateway_caused_them() {
        let disputed = Change::Disputed {
            studio_id: 4,
            invoice_id: 7,
            dispute_id: "dp_1".into(),
            open: true,
            answer: Some(2),
        };
        assert_eq!(disputed.studio_id(), Some(4));
        assert!(!disputed.keeps_request_id());
        let simulated = Change::SimulatedEvent {
            key: "k".into(),
            at: None,
        };
        assert_eq!(simulated.studio_id(), None);
        assert!(!simulated.keeps_request_id());
        assert!(
            Change::Voided {
                studio_id: 4,
                invoice_id: 7
            }
            .keeps_request_id()
        );
    }
}
