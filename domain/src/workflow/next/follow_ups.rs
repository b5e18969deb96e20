//! What each change asks for, as follow-ups before they are written: the
//! recipes `Change::follow_ups` uses where a change asks for more than one
//! job, or for a job that depends on its fields.

use crate::workflow::jobs::{GalleryCause, GalleryChange, JobKind};
use chrono::{DateTime, Duration, Utc};
use entity::enums::{GalleryLevel, InvoiceStatus};

/// One follow-up a change asks for, before it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum FollowUp {
    Now(JobKind),
    After(JobKind, Duration),
    At(JobKind, DateTime<Utc>),
    /// A step planned before, moved to a new moment (written anew if it is
    /// not planned yet, planned again if it ran).
    MovedTo(JobKind, DateTime<Utc>),
    /// The invoice goes to the client by email (the first reminder of its
    /// plan is read from the database when written).
    EmailInvoice {
        invoice_id: i64,
        status: InvoiceStatus,
    },
}

use FollowUp::{After, At, Now};

/// Gallery access follows the payment state; `state` keys the sync so that
/// each change runs once.
pub(super) fn sync_gallery(invoice_id: i64, state: GalleryCause) -> FollowUp {
    Now(JobKind::SyncGalleryAccess { invoice_id, state })
}

/// A declined auto-pay attempt: the first falls back to emailing the
/// invoice, later ones send a decline notice; `retry_in` plans the next.
pub(super) fn auto_pay_declined(declined: super::Change) -> Vec<FollowUp> {
    let super::Change::AutoPayDeclined {
        invoice_id,
        attempt,
        retry_in,
        payer,
        ..
    } = declined
    else {
        return Vec::new();
    };
    let tell = if payer.is_some() {
        None
    } else if attempt <= 1 {
        Some(FollowUp::EmailInvoice {
            invoice_id,
            status: InvoiceStatus::Open,
        })
    } else {
        Some(Now(JobKind::SendDeclineNotice {
            invoice_id,
            attempt,
        }))
    };
    let retry = retry_in.map(|delay| {
        After(
            JobKind::Charge {
                invoice_id,
                attempt: attempt + 1,
                payer,
            },
            delay,
        )
    });
    tell.into_iter().chain(retry).collect()
}

/// An issued invoice: an auto-pay client's card is charged (now, or, for
/// an installment whose invoice is the notice, at its moment, the invoice
/// emailed now without reminders); anyone else gets the invoice email.
pub(super) fn invoice_issued(issued: super::Change) -> Vec<FollowUp> {
    let super::Change::InvoiceIssued {
        invoice_id,
        status,
        auto_pay,
        charge_at,
        charge_payers,
        ..
    } = issued
    else {
        return Vec::new();
    };
    // A payer of a shared invoice with a saved card: their share, now.
    let shares = charge_payers.into_iter().map(move |payer| {
        Now(JobKind::Charge {
            invoice_id,
            attempt: 1,
            payer: Some(payer),
        })
    });
    let charge = JobKind::Charge {
        invoice_id,
        attempt: 1,
        payer: None,
    };
    // A sending of its own, so that a declined charge still emails the
    // invoice with the decline (`auto_pay_declined`).
    let notice = JobKind::SendInvoice {
        invoice_id,
        resend: Some("notice".to_string()),
    };
    let routed = match (auto_pay, charge_at) {
        (true, Some(at)) => vec![Now(notice), At(charge, at)],
        (true, None) => vec![Now(charge)],
        (false, _) => vec![FollowUp::EmailInvoice { invoice_id, status }],
    };
    routed.into_iter().chain(shares).collect()
}

/// A refund succeeded: the client is told when a credit note was issued
/// for it (`confirm`), and gallery access follows.
/// An invoice closed unpaid (void, written off): gallery access follows.
/// A job now, or at `at`.
pub(super) fn at_or_now(job: JobKind, at: Option<DateTime<Utc>>) -> FollowUp {
    match at {
        Some(at) => At(job, at),
        None => Now(job),
    }
}

/// A dispute opened or closed: the gallery follows it; a dispute just
/// opened is answered with evidence.
pub(super) fn disputed_follow_ups(disputed: super::Change) -> Vec<FollowUp> {
    let super::Change::Disputed {
        invoice_id,
        dispute_id,
        open,
        answer,
        ..
    } = disputed
    else {
        return Vec::new();
    };
    let gallery = sync_gallery(invoice_id, GalleryCause::Dispute { dispute_id, open });
    std::iter::once(gallery)
        .chain(answer.map(|dispute_id| answer_dispute(dispute_id, false)))
        .collect()
}

/// Answering dispute `dispute_id` (`approved`: the studio said to send it).
pub(super) fn answer_dispute(dispute_id: i64, approved: bool) -> FollowUp {
    Now(JobKind::AnswerDispute {
        dispute_id,
        approved,
        by_deadline: false,
    })
}

/// Evidence waiting for the studio's review: sent at its `send_at` if the
/// studio has not said by then.
pub(super) fn dispute_deadline(waiting: super::Change) -> Vec<FollowUp> {
    let super::Change::DisputeAwaitingReview {
        dispute_id,
        send_at,
        ..
    } = waiting
    else {
        return Vec::new();
    };
    let job = JobKind::AnswerDispute {
        dispute_id,
        approved: false,
        by_deadline: true,
    };
    vec![At(job, send_at)]
}

pub(super) fn closed(invoice_id: i64, status: InvoiceStatus) -> Vec<FollowUp> {
    vec![sync_gallery(invoice_id, GalleryCause::Invoice(status))]
}

pub(super) fn refunded(invoice_id: i64, refund_id: i64, confirm: bool) -> Vec<FollowUp> {
    let tell = confirm.then_some(Now(JobKind::SendRefundConfirmation { refund_id }));
    let gallery = sync_gallery(invoice_id, GalleryCause::Refund { refund_id });
    tell.into_iter().chain([gallery]).collect()
}

/// Each part of a payment plan is billed at its moment.
pub(super) fn plan_scheduled(parts: Vec<(i64, DateTime<Utc>)>) -> Vec<FollowUp> {
    let issue = |(part_id, at)| At(JobKind::IssuePlanPart { part_id }, at);
    parts.into_iter().map(issue).collect()
}

/// A plan's future parts were edited: each part's billing moves to its new
/// moment (a removed part's step finds it gone), and one email tells the
/// client.
pub(super) fn plan_edited(
    plan_id: i64,
    revision: i32,
    parts: Vec<(i64, DateTime<Utc>)>,
) -> Vec<FollowUp> {
    let moved = |(part_id, at)| FollowUp::MovedTo(JobKind::IssuePlanPart { part_id }, at);
    let email = Now(JobKind::SendPlanUpdate { plan_id, revision });
    parts.into_iter().map(moved).chain([email]).collect()
}

/// A gallery opened (`Change::GalleryGranted`): its credentials now, the
/// default pick at its deadline.
pub(super) fn gallery_granted(change: super::Change) -> Vec<FollowUp> {
    let super::Change::GalleryGranted {
        invoice_id,
        picks_at,
        ..
    } = change
    else {
        return Vec::new();
    };
    std::iter::once(Now(JobKind::SendGalleryCredentials { invoice_id }))
        .chain(picks_at.map(|at| At(JobKind::ApplyDefaultPicks { invoice_id }, at)))
        .collect()
}

/// Gallery access changed: the notice before the new expiry (when the studio
/// sends one) and the studio's webhook (when it has one).
pub(super) fn gallery_changed(
    invoice_id: i64,
    level: GalleryLevel,
    expires_at: Option<DateTime<Utc>>,
    expiry_notice_days: i32,
    webhook: bool,
) -> Vec<FollowUp> {
    let notice = expires_at
        .filter(|_| level != GalleryLevel::Locked && expiry_notice_days > 0)
        .map(|expiry| {
            At(
                JobKind::SendGalleryExpiryNotice {
                    invoice_id,
                    expires_at: expiry.timestamp(),
                },
                expiry - Duration::days(i64::from(expiry_notice_days)),
            )
        });
    let hook = webhook.then(|| {
        Now(JobKind::DeliverGalleryWebhook {
            invoice_id,
            change: GalleryChange {
                level,
                expires_at: expires_at.map(|e| e.timestamp()).unwrap_or(0),
            },
        })
    });
    notice.into_iter().chain(hook).collect()
}
