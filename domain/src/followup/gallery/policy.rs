//! How gallery access follows payment, as the studio sets it
//! (`updateGalleryPolicy`).

use crate::infra::error::DomainResult;
use entity::enums::GalleryLevel;
use entity::studio;
use sea_orm::{ActiveModelTrait, ActiveValue::Set};

/// The changes of `updateGalleryPolicy`; `None` leaves a setting as it is.
#[derive(Debug, Default, Clone)]
pub struct PolicyChanges {
    pub full_access_days: Option<i32>,
    pub unpaid_level: Option<GalleryLevel>,
    pub partially_paid_level: Option<GalleryLevel>,
    pub refunded_level: Option<GalleryLevel>,
    pub unpaid_days: Option<i32>,
    pub expiry_notice_days: Option<i32>,
    /// `Some("")` removes the webhook.
    pub webhook_url: Option<String>,
    /// Whether a booking on a payment plan waits for its last installment
    /// before `FULL` (default), or opens with its final invoice.
    pub waits_for_plan: Option<bool>,
    /// How long the gallery's log is kept, in days.
    pub log_days: Option<i32>,
    /// Days after a gallery opens when the default pick applies (0: never).
    pub picks_deadline_days: Option<i32>,
}

/// Validates and saves how gallery access follows payment. Applies from the
/// next change of each gallery.
pub async fn update_policy(
    db: &sea_orm::DatabaseConnection,
    studio: &studio::Model,
    changes: PolicyChanges,
) -> DomainResult<studio::Model> {
    use crate::infra::error::UserError;
    let mut problems = crate::kernel::validate::Problems::new();
    let mut active: studio::ActiveModel = studio.clone().into();
    if let Some(days) = changes.full_access_days {
        if !(1..=3650).contains(&days) {
            problems.push(UserError::invalid(
                "fullAccessDays",
                "must be 1 to 3650 days",
            ));
        }
        active.gallery_full_days = Set(days);
    }
    if let Some(days) = changes.unpaid_days {
        if !(1..=3650).contains(&days) {
            problems.push(UserError::invalid("unpaidDays", "must be 1 to 3650 days"));
        }
        active.gallery_unpaid_days = Set(days);
    }
    if let Some(days) = changes.expiry_notice_days {
        if !(0..=90).contains(&days) {
            problems.push(UserError::invalid(
                "expiryNoticeDays",
                "must be 0 (no notice) to 90 days",
            ));
        }
        active.gallery_expiry_notice_days = Set(days);
    }
    if let Some(days) = changes.log_days {
        if !(30..=3650).contains(&days) {
            problems.push(UserError::invalid("logDays", "must be 30 to 3650 days"));
        }
        active.gallery_log_days = Set(days);
    }
    if let Some(days) = changes.picks_deadline_days {
        if !(0..=365).contains(&days) {
            problems.push(UserError::invalid(
                "picksDeadlineDays",
                "must be 0 (no deadline) to 365 days",
            ));
        }
        active.picks_deadline_days = Set(days);
    }
    if let Some(level) = changes.unpaid_level {
        active.gallery_unpaid_level = Set(level);
    }
    if let Some(level) = changes.partially_paid_level {
        active.gallery_partial_level = Set(level);
    }
    if let Some(level) = changes.refunded_level {
        active.gallery_refunded_level = Set(level);
    }
    if let Some(waits) = changes.waits_for_plan {
        active.gallery_waits_for_plan = Set(waits);
    }
    if let Some(url) = changes.webhook_url {
        let url = url.trim();
        active.gallery_webhook_url = Set(if url.is_empty() {
            None
        } else {
            Some(super::photos::web_url(&mut problems, "webhookUrl", url))
        });
    }
    problems.finish()?;
    Ok(active.update(db).await?)
}
