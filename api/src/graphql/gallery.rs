//! GraphQL view of gallery policy, photos and access (`domain::followup::gallery`).

use super::AppData;
use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{gallery_access, gallery_photo, studio};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::GalleryLevel")]
pub enum GalleryLevel {
    Locked,
    Preview,
    Full,
}

/// How gallery access follows payment.
pub struct GalleryPolicy(pub studio::Model);

#[Object]
impl GalleryPolicy {
    /// `FULL` for this many days after the invoice is paid in full.
    async fn full_access_days(&self) -> i32 {
        self.0.gallery_full_days
    }
    /// The level while nothing is paid...
    async fn unpaid_level(&self) -> GalleryLevel {
        self.0.gallery_unpaid_level.into()
    }
    /// ...and while the invoice is partially paid.
    async fn partially_paid_level(&self) -> GalleryLevel {
        self.0.gallery_partial_level.into()
    }
    /// ...and once the invoice's payments are refunded in full (default
    /// `LOCKED`; a partial refund keeps `FULL`).
    async fn refunded_level(&self) -> GalleryLevel {
        self.0.gallery_refunded_level.into()
    }
    /// How long an unpaid or partially paid level lasts from the invoice date.
    async fn unpaid_days(&self) -> i32 {
        self.0.gallery_unpaid_days
    }
    /// The client is emailed this many days before access ends (0 = never).
    async fn expiry_notice_days(&self) -> i32 {
        self.0.gallery_expiry_notice_days
    }
    /// Receives `gallery.access_changed` webhooks, signed with `webhookSecret`.
    async fn webhook_url(&self) -> Option<&str> {
        self.0.gallery_webhook_url.as_deref()
    }
    /// Verify `Studio-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>`.
    async fn webhook_secret(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(domain::followup::gallery::webhook_secret(
            &ctx.data::<AppData>()?.ctx,
            self.0.id,
        ))
    }
}

#[derive(InputObject)]
pub struct UpdateGalleryPolicyInput {
    pub full_access_days: Option<i32>,
    pub unpaid_level: Option<GalleryLevel>,
    pub partially_paid_level: Option<GalleryLevel>,
    pub refunded_level: Option<GalleryLevel>,
    pub unpaid_days: Option<i32>,
    pub expiry_notice_days: Option<i32>,
    /// An http(s) URL; empty string removes the webhook.
    pub webhook_url: Option<String>,
}

impl UpdateGalleryPolicyInput {
    pub fn into_changes(self) -> domain::followup::gallery::PolicyChanges {
        domain::followup::gallery::PolicyChanges {
            full_access_days: self.full_access_days,
            unpaid_level: self.unpaid_level.map(Into::into),
            partially_paid_level: self.partially_paid_level.map(Into::into),
            refunded_level: self.refunded_level.map(Into::into),
            unpaid_days: self.unpaid_days,
            expiry_notice_days: self.expiry_notice_days,
            webhook_url: self.webhook_url,
        }
    }
}

#[derive(InputObject)]
pub struct GalleryPhotoInput {
    /// The full-resolution file, downloadable at `FULL` only.
    pub url: String,
    /// A watermarked or low-resolution version shown at `PREVIEW`.
    pub preview_url: Option<String>,
    pub title: Option<String>,
}

#[derive(InputObject)]
pub struct AddGalleryPhotosInput {
    pub session_id: ID,
    pub photos: Vec<GalleryPhotoInput>,
}

pub struct GalleryPhoto(pub gallery_photo::Model);

#[Object]
impl GalleryPhoto {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    async fn preview_url(&self) -> Option<&str> {
        self.0.preview_url.as_deref()
    }
    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }
    async fn position(&self) -> i32 {
        self.0.position
    }
}

/// The client's access to a session's gallery.
#[derive(SimpleObject)]
pub struct GalleryAccess {
    pub level: GalleryLevel,
    pub expires_at: Option<DateTime<Utc>>,
    pub username: String,
}

impl From<gallery_access::Model> for GalleryAccess {
    fn from(a: gallery_access::Model) -> Self {
        Self {
            level: a.level.into(),
            expires_at: a.expires_at,
            username: a.username,
        }
    }
}
