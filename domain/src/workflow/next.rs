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
use crate::workflow::jobs::{GalleryCause, GalleryChange, JobKind};
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
    },
    /// An auto-pay attempt was declined. The first attempt falls back to
    /// emailing the invoice, later ones send a decline notice;
    /// `retry_in` plans the next attempt.
    AutoPayDeclined {
        studio_id: i64,
        invoice_id: i64,
        attempt: u32,
        retry_in: Option<Duration>,
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
    /// issued for it).
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
    /// A dispute opened or closed on one of the invoice's payments.
    Disputed {
        studio_id: i64,
        invoice_id: i64,
        dispute_id: String,
        open: bool,
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
        amount_due: i64,
        attempt: i32,
    },
    /// A card-setup link was requested.
    CardSetupRequested { studio_id: i64, card_setup_id: i64 },
    /// A gallery was granted for the first time: its credentials go out.
    GalleryGranted { studio_id: i64, invoice_id: i64 },
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
    /// The simulated gateway recorded something its webhook announces.
    SimulatedEvent { key: String },
}

/// Writes every follow-up of `change` in the caller's transaction.
pub async fn after(
    tx: &DatabaseTransaction,
    change: Change,
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let row = |studio_id: i64| Row {
        tx,
        studio_id: Some(studio_id),
        request_id,
        now,
    };
    match change {
        Change::SessionCompleted {
            studio_id,
            session_id,
        } => {
            row(studio_id)
                .now(JobKind::GenerateInvoice { session_id })
                .await?
        }
        Change::InvoiceIssued {
            studio_id,
            invoice_id,
            status,
            auto_pay,
        } => {
            if auto_pay {
                row(studio_id)
                    .now(JobKind::Charge {
                        invoice_id,
                        attempt: 1,
                    })
                    .await?;
            } else {
                email_invoice(row(studio_id), invoice_id, status).await?;
            }
        }
        Change::AutoPayDeclined {
            studio_id,
            invoice_id,
            attempt,
            retry_in,
        } => {
            if attempt <= 1 {
                email_invoice(row(studio_id), invoice_id, InvoiceStatus::Open).await?;
            } else {
                row(studio_id)
                    .now(JobKind::SendDeclineNotice {
                        invoice_id,
                        attempt,
                    })
                    .await?;
            }
            if let Some(delay) = retry_in {
                row(studio_id)
                    .after(
                        JobKind::Charge {
                            invoice_id,
                            attempt: attempt + 1,
                        },
                        delay,
                    )
                    .await?;
            }
        }
        Change::PaymentStarted {
            studio_id,
            payment_id,
            resolve_after,
        } => {
            row(studio_id)
                .after(JobKind::ResolvePayment { payment_id }, resolve_after)
                .await?
        }
        Change::Paid {
            studio_id,
            invoice_id,
            payment_id,
        } => {
            row(studio_id)
                .now(JobKind::SendReceipt { payment_id })
                .await?;
            row(studio_id)
                .sync_gallery(invoice_id, GalleryCause::Payment { payment_id })
                .await?;
        }
        Change::RefundStarted {
            studio_id,
            refund_id,
            resolve_after,
        } => {
            row(studio_id)
                .after(JobKind::ResolveRefund { refund_id }, resolve_after)
                .await?
        }
        Change::Refunded {
            studio_id,
            invoice_id,
            refund_id,
            confirm,
        } => {
            if confirm {
                row(studio_id)
                    .now(JobKind::SendRefundConfirmation { refund_id })
                    .await?;
            }
            row(studio_id)
                .sync_gallery(invoice_id, GalleryCause::Refund { refund_id })
                .await?;
        }
        Change::Voided {
            studio_id,
            invoice_id,
        } => {
            row(studio_id)
                .sync_gallery(invoice_id, GalleryCause::Invoice(InvoiceStatus::Void))
                .await?
        }
        Change::Uncollectible {
            studio_id,
            invoice_id,
        } => {
            row(studio_id)
                .sync_gallery(
                    invoice_id,
                    GalleryCause::Invoice(InvoiceStatus::Uncollectible),
                )
                .await?
        }
        Change::Disputed {
            studio_id,
            invoice_id,
            dispute_id,
            open,
        } => {
            // The dispute's webhook carries no request id of ours.
            Row {
                tx,
                studio_id: Some(studio_id),
                request_id: None,
                now,
            }
            .sync_gallery(invoice_id, GalleryCause::Dispute { dispute_id, open })
            .await?
        }
        Change::InvoiceResent {
            studio_id,
            invoice_id,
            key,
        } => {
            row(studio_id)
                .now(JobKind::SendInvoice {
                    invoice_id,
                    resend: Some(key),
                })
                .await?
        }
        Change::ReminderPlanned {
            studio_id,
            invoice_id,
            step,
            at,
        } => {
            row(studio_id)
                .at(JobKind::ReminderStep { invoice_id, step }, at)
                .await?
        }
        Change::Reminded {
            studio_id,
            invoice_id,
            step,
        } => {
            row(studio_id)
                .now(JobKind::SendReminder { invoice_id, step })
                .await?
        }
        Change::AmountDueChanged {
            studio_id,
            invoice_id,
            amount_due,
            attempt,
        } => {
            // Written by the settlement that changed the amount, whatever
            // request caused it.
            Row {
                tx,
                studio_id: Some(studio_id),
                request_id: None,
                now,
            }
            .now(JobKind::ExpireStaleCheckouts {
                invoice_id,
                amount_due,
                attempt,
            })
            .await?
        }
        Change::CardSetupRequested {
            studio_id,
            card_setup_id,
        } => {
            row(studio_id)
                .now(JobKind::SendCardSetupLink { card_setup_id })
                .await?
        }
        Change::GalleryGranted {
            studio_id,
            invoice_id,
        } => {
            row(studio_id)
                .now(JobKind::SendGalleryCredentials { invoice_id })
                .await?
        }
        Change::GalleryUpgraded {
            studio_id,
            invoice_id,
            level,
        } => {
            row(studio_id)
                .now(JobKind::SendGalleryUpgrade { invoice_id, level })
                .await?
        }
        Change::GalleryChanged {
            studio_id,
            invoice_id,
            level,
            expires_at,
            expiry_notice_days,
            webhook,
        } => {
            if let Some(expiry) = expires_at
                && level != GalleryLevel::Locked
                && expiry_notice_days > 0
            {
                let notice_at = expiry - Duration::days(i64::from(expiry_notice_days));
                row(studio_id)
                    .at(
                        JobKind::SendGalleryExpiryNotice {
                            invoice_id,
                            expires_at: expiry.timestamp(),
                        },
                        notice_at,
                    )
                    .await?;
            }
            if webhook {
                row(studio_id)
                    .now(JobKind::DeliverGalleryWebhook {
                        invoice_id,
                        change: GalleryChange {
                            level,
                            expires_at: expires_at.map(|e| e.timestamp()).unwrap_or(0),
                        },
                    })
                    .await?;
            }
        }
        Change::SimulatedEvent { key } => {
            Row {
                tx,
                studio_id: None,
                request_id: None,
                now,
            }
            .now(JobKind::DeliverSimulatedWebhook { key })
            .await?
        }
    }
    Ok(())
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
/// production) [`forward_wakes`] carries the wake to the workers.
pub fn wake(ctx: &AppContext) {
    ctx.outbox_signal.notify_one();
}

/// In a process that runs no relay of its own (the api in production, on
/// PostgreSQL), turns its wakes into `NOTIFY outbox`, which every worker's
/// relay listens for: an api's writes reach a worker in milliseconds, not
/// at its next poll.
///
/// The `NOTIFY` is sent on its own, after the commit, rather than inside the
/// writing transaction (a trigger): PostgreSQL serialises the commits of
/// every transaction that notifies behind one cluster-wide lock held through
/// the commit's flush, which cut a two-insert transaction from about 2,000 to
/// 850 commits/s with 8 clients on the bench box (BENCHMARKS.md). Wakes that
/// arrive while one is being sent fold into the next.
pub fn forward_wakes(ctx: &AppContext) -> Option<tokio::task::JoinHandle<()>> {
    use sea_orm::ConnectionTrait;
    if ctx.db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return None;
    }
    let ctx = ctx.clone();
    Some(tokio::spawn(async move {
        let notify = format!("NOTIFY {}", crate::infra::db::OUTBOX_CHANNEL);
        loop {
            ctx.outbox_signal.notified().await;
            if let Err(err) = ctx.db.execute_unprepared(&notify).await {
                // The workers' poll is the backstop.
                tracing::warn!(error = %err, "could not wake the workers");
            }
        }
    }))
}

/// An invoice that goes to the client by email: the email, gallery access
/// matching its payment state, and the first reminder of its follow-up plan.
async fn email_invoice(row: Row<'_>, invoice_id: i64, status: InvoiceStatus) -> DomainResult<()> {
    row.now(JobKind::SendInvoice {
        invoice_id,
        resend: None,
    })
    .await?;
    row.sync_gallery(invoice_id, GalleryCause::Invoice(status))
        .await?;
    if let Some(first) = super::follow_up_plan::first_step(row.tx, invoice_id).await? {
        row.at(
            JobKind::ReminderStep {
                invoice_id,
                step: first.index,
            },
            first.at,
        )
        .await?;
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
    async fn now(&self, kind: JobKind) -> Result<(), DbErr> {
        outbox::enqueue(self.tx, self.studio_id, &kind, self.request_id, self.now).await
    }

    async fn after(&self, kind: JobKind, delay: Duration) -> Result<(), DbErr> {
        outbox::enqueue_after(
            self.tx,
            self.studio_id,
            &kind,
            self.request_id,
            Some(delay),
            self.now,
        )
        .await
    }

    async fn at(&self, kind: JobKind, at: DateTime<Utc>) -> Result<(), DbErr> {
        outbox::enqueue_at(
            self.tx,
            self.studio_id,
            &kind,
            self.request_id,
            at,
            self.now,
        )
        .await
    }

    /// Gallery access follows the payment state; `state` keys the sync so
    /// that each change runs once.
    async fn sync_gallery(&self, invoice_id: i64, state: GalleryCause) -> Result<(), DbErr> {
        self.now(JobKind::SyncGalleryAccess { invoice_id, state })
            .await
    }
}
