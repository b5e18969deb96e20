//! The session galleries (`domain::followup::gallery`): the policy of how
//! access follows payment, the photos, the client's access.

use super::common::{AppData, Caller, id, parse_id, payload_type};
use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use domain::followup::gallery as service;
use entity::{gallery_access, gallery_photo, studio};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::GalleryLevel")]
pub enum GalleryLevel {
    Locked,
    Preview,
    Full,
}

// How gallery access follows payment.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct GalleryPolicy {
    /// `FULL` for this many days after the invoice is paid in full.
    pub full_access_days: i32,
    /// The level while nothing is paid...
    pub unpaid_level: GalleryLevel,
    /// ...and while the invoice is partially paid.
    pub partially_paid_level: GalleryLevel,
    /// ...and once the invoice's payments are refunded in full (default
    /// `LOCKED`; a partial refund keeps `FULL`).
    pub refunded_level: GalleryLevel,
    /// How long an unpaid or partially paid level lasts from the invoice date.
    pub unpaid_days: i32,
    /// The client is emailed this many days before access ends (0 = never).
    pub expiry_notice_days: i32,
    /// Receives `gallery.access_changed` webhooks, signed with `webhookSecret`.
    pub webhook_url: Option<String>,
    /// A booking on a payment plan opens in full only once every installment
    /// is paid (default); `false`: its paid final invoice opens it.
    pub waits_for_plan: bool,
    /// How long the gallery's log (logins, page views, downloads) is kept,
    /// in days (default 730).
    pub log_days: i32,
    /// A client who picked nothing this many days after the gallery opened
    /// gets the default pick: the first included photos (0: no deadline).
    pub picks_deadline_days: i32,
    #[graphql(skip)]
    studio_id: i64,
}

impl From<&studio::Model> for GalleryPolicy {
    fn from(s: &studio::Model) -> Self {
        Self {
            full_access_days: s.gallery_full_days,
            unpaid_level: s.gallery_unpaid_level.into(),
            partially_paid_level: s.gallery_partial_level.into(),
            refunded_level: s.gallery_refunded_level.into(),
            unpaid_days: s.gallery_unpaid_days,
            expiry_notice_days: s.gallery_expiry_notice_days,
            webhook_url: s.gallery_webhook_url.clone(),
            waits_for_plan: s.gallery_waits_for_plan,
            log_days: s.gallery_log_days,
            picks_deadline_days: s.picks_deadline_days,
            studio_id: s.id,
        }
    }
}

#[ComplexObject]
impl GalleryPolicy {
    /// Verify `Studio-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>`.
    async fn webhook_secret(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(service::webhook_secret(
            &ctx.data::<AppData>()?.ctx,
            self.studio_id,
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
    /// Whether a booking on a payment plan waits for its last installment
    /// before `FULL`.
    pub waits_for_plan: Option<bool>,
    /// 30 to 3650 days.
    pub log_days: Option<i32>,
    /// 0 (no deadline) to 365 days.
    pub picks_deadline_days: Option<i32>,
}

impl UpdateGalleryPolicyInput {
    fn into_changes(self) -> service::PolicyChanges {
        service::PolicyChanges {
            full_access_days: self.full_access_days,
            unpaid_level: self.unpaid_level.map(Into::into),
            partially_paid_level: self.partially_paid_level.map(Into::into),
            refunded_level: self.refunded_level.map(Into::into),
            unpaid_days: self.unpaid_days,
            expiry_notice_days: self.expiry_notice_days,
            webhook_url: self.webhook_url,
            waits_for_plan: self.waits_for_plan,
            log_days: self.log_days,
            picks_deadline_days: self.picks_deadline_days,
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

#[derive(SimpleObject)]
pub struct GalleryPhoto {
    pub id: ID,
    pub url: String,
    pub preview_url: Option<String>,
    pub title: Option<String>,
    pub position: i32,
}

impl From<&gallery_photo::Model> for GalleryPhoto {
    fn from(p: &gallery_photo::Model) -> Self {
        Self {
            id: id(p.id),
            url: p.url.clone(),
            preview_url: p.preview_url.clone(),
            title: p.title.clone(),
            position: p.position,
        }
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

payload_type!(GalleryPolicyPayload, policy, GalleryPolicy);
payload_type!(GalleryPhotosPayload, photos, Vec<GalleryPhoto>);
payload_type!(GalleryPhotoPayload, photo, GalleryPhoto);

#[derive(Default)]
pub struct GalleryMutation;

#[Object]
impl GalleryMutation {
    /// Which level each payment state gives and for how long, the notice
    /// before access ends, and the `gallery.access_changed` webhook URL.
    /// Applies from each gallery's next change.
    async fn update_gallery_policy(
        &self,
        ctx: &Context<'_>,
        input: UpdateGalleryPolicyInput,
    ) -> Result<GalleryPolicyPayload> {
        let caller = Caller::of(ctx)?;
        let result = service::update_policy(caller.db(), caller.studio, input.into_changes()).await;
        GalleryPolicyPayload::from_result(result.map(|s| (&s).into()))
    }

    /// Registers photos (hosted by the studio) in a session's gallery; returns
    /// all of the session's photos.
    async fn add_gallery_photos(
        &self,
        ctx: &Context<'_>,
        input: AddGalleryPhotosInput,
    ) -> Result<GalleryPhotosPayload> {
        let caller = Caller::of(ctx)?;
        let result = async {
            let session_id = parse_id(&input.session_id, "sessionId", "session")?;
            let photos: Vec<service::NewPhoto> = input
                .photos
                .into_iter()
                .map(|p| service::NewPhoto {
                    url: p.url,
                    preview_url: p.preview_url,
                    title: p.title,
                })
                .collect();
            service::add_photos(
                caller.db(),
                caller.studio,
                session_id,
                &photos,
                caller.now(),
            )
            .await
        }
        .await;
        GalleryPhotosPayload::from_result(result.map(|all| all.iter().map(Into::into).collect()))
    }

    async fn remove_gallery_photo(&self, ctx: &Context<'_>, id: ID) -> Result<GalleryPhotoPayload> {
        let caller = Caller::of(ctx)?;
        let result = async {
            let id = parse_id(&id, "id", "photo")?;
            service::remove_photo(caller.db(), caller.studio, id).await
        }
        .await;
        GalleryPhotoPayload::from_result(result.map(|p| (&p).into()))
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::GalleryEventKind")]
pub enum GalleryEventKind {
    Login,
    View,
    Download,
}

/// One line of the gallery's log.
#[derive(SimpleObject)]
pub struct GalleryEvent {
    pub kind: GalleryEventKind,
    /// The photo downloaded (`DOWNLOAD` only).
    pub photo_id: Option<ID>,
    /// The client's address, as the login limits see it.
    pub address: Option<String>,
    pub user_agent: Option<String>,
    pub at: DateTime<Utc>,
}

impl From<entity::gallery_event::Model> for GalleryEvent {
    fn from(e: entity::gallery_event::Model) -> Self {
        Self {
            kind: e.kind.into(),
            photo_id: e.photo_id.map(id),
            address: e.address,
            user_agent: e.user_agent,
            at: e.at,
        }
    }
}

/// A session's gallery log, newest first.
pub async fn log_of(
    ctx: &Context<'_>,
    studio_id: i64,
    session_id: i64,
    first: i32,
) -> Result<Vec<GalleryEvent>> {
    let app = ctx.data::<AppData>()?;
    let limit = u64::try_from(first.max(0)).unwrap_or(0);
    Ok(
        service::log::of_session(&app.ctx.db, studio_id, session_id, limit)
            .await
            .map_err(super::common::domain_error)?
            .into_iter()
            .map(GalleryEvent::from)
            .collect(),
    )
}
