//! Step 6: gallery access follows the invoice's payment state.
//!
//! `FULL` for the studio's configured period once paid in full; the studio's
//! configured lower level (default `PREVIEW`) while unpaid. The level is always
//! recomputed from the current state, never taken from the job, so jobs may
//! run twice or out of order and still converge.
//!
//! - An open dispute on any of the session's payments locks the gallery; a
//!   late job for a void invoice defers to its replacement, one for an
//!   installment to the final invoice, which grants `FULL` only once every
//!   installment of the plan is paid too.
//! - Every change of level or expiry (decided in `sync_access`) writes, in
//!   the same transaction, the expiry notice due `expiryNoticeDays` before
//!   the new expiry (keyed by it, so an obsolete notice sends nothing) and,
//!   when the studio has a webhook URL, the `gallery.access_changed`
//!   delivery (keyed by the new level and expiry). Downloads (`download`):
//!   `FULL` and not expired, nothing else.
//! - A gallery is reached only through its link token
//!   (`HMAC(secret, link_salt)`, stored as its SHA-256), never by session
//!   id: an unknown token is a 404 on `GET` and, on `POST`, the same 401 and
//!   the same work (`secrets::gallery_decoy_hash`) as wrong credentials.

use crate::infra::context::AppContext;
use crate::infra::error::{DomainError, DomainResult};
use crate::infra::secrets::{hash_token, random_token};
use crate::kernel::ids::{PhotoId, SessionId, StudioId};
use crate::studio::login_limits::{self, Counter, Scope};
use crate::workflow::next::Change;
use chrono::{DateTime, Duration, Utc};
use entity::enums::{GalleryLevel, InvoiceKind, InvoiceStatus};
use entity::{client, gallery_access, gallery_photo, invoice, studio};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};

pub mod log;
mod photos;
pub mod picks;
mod policy;
mod sync;

pub use photos::{DEMO_PHOTOS, NewPhoto, add_photos, demo_photo_svg, photos, remove_photo};
pub use policy::{PolicyChanges, update_policy};
pub use sync::{sync_access, sync_many};

/// The access an invoice's state gives. An open dispute (chargeback) on one
/// of the session's payments locks the gallery until the dispute is closed;
/// a paid final invoice whose plan still has an installment to pay
/// (`plan_owed`) counts as partly paid.
pub fn level_for(
    studio: &studio::Model,
    invoice: &invoice::Model,
    (disputed, plan_owed): (bool, bool),
) -> (GalleryLevel, Option<DateTime<Utc>>) {
    let unpaid_until = invoice.issued_at + Duration::days(i64::from(studio.gallery_unpaid_days));
    if disputed {
        return (GalleryLevel::Locked, None);
    }
    if plan_owed && studio.gallery_waits_for_plan && invoice.status == InvoiceStatus::Paid {
        return (studio.gallery_partial_level, Some(unpaid_until));
    }
    // Refunded in full: settled, but the studio's refund policy decides.
    let refunded_in_full = invoice.status == InvoiceStatus::Paid
        && invoice.amount_paid_minor.is_positive()
        && invoice.amount_refunded_minor >= invoice.amount_paid_minor;
    if refunded_in_full {
        return match studio.gallery_refunded_level {
            GalleryLevel::Locked => (GalleryLevel::Locked, None),
            GalleryLevel::Full => (
                GalleryLevel::Full,
                Some(
                    invoice.paid_at.unwrap_or(invoice.updated_at)
                        + Duration::days(i64::from(studio.gallery_full_days)),
                ),
            ),
            level => (level, Some(unpaid_until)),
        };
    }
    match invoice.status {
        InvoiceStatus::Paid => (
            GalleryLevel::Full,
            Some(
                invoice.paid_at.unwrap_or(invoice.updated_at)
                    + Duration::days(i64::from(studio.gallery_full_days)),
            ),
        ),
        InvoiceStatus::Void | InvoiceStatus::Uncollectible => (GalleryLevel::Locked, None),
        InvoiceStatus::PartiallyPaid => (studio.gallery_partial_level, Some(unpaid_until)),
        _ => (studio.gallery_unpaid_level, Some(unpaid_until)),
    }
}

/// The invoice that decides the gallery of `invoice`'s session. A void
/// invoice that was reissued, an installment or a supplementary invoice
/// (picks) does not decide: the session's final invoice does (a late job for
/// the old one must not lock a gallery the new invoice opened). A draft
/// grants nothing yet, nor an installment before the final invoice.
async fn deciding(
    tx: &sea_orm::DatabaseTransaction,
    invoice: invoice::Model,
) -> DomainResult<Option<invoice::Model>> {
    let not_final = |i: &invoice::Model| i.plan_part_id.is_some() || i.kind == InvoiceKind::Extras;
    let defers = invoice.status == InvoiceStatus::Void || not_final(&invoice);
    // Only an invoice that defers asks which invoice of its session is current.
    let current = match defers {
        true => {
            crate::billing::invoicing::current_invoice_of_session(tx, invoice.session_id).await?
        }
        false => None,
    };
    let invoice = current.unwrap_or(invoice);
    let undecided = invoice.status == InvoiceStatus::Draft || not_final(&invoice);
    Ok((!undecided).then_some(invoice))
}

/// A gallery opened for the first time: its credentials go out, and the
/// default pick waits for the studio's deadline (`picks::deadline`).
async fn granted(
    tx: &sea_orm::DatabaseTransaction,
    studio: &studio::Model,
    invoice: &invoice::Model,
    now: DateTime<Utc>,
) -> DomainResult<Change> {
    Ok(Change::GalleryGranted {
        studio_id: studio.id,
        invoice_id: invoice.id,
        picks_at: picks::deadline(tx, studio, invoice.session_id, now).await?,
    })
}

/// The secret a studio verifies `gallery.access_changed` webhooks with
/// (derived from the application secret, so every process signs alike).
pub fn webhook_secret(ctx: &AppContext, studio_id: i64) -> String {
    ctx.secret
        .derive(&format!("gallery-webhook:{studio_id}"), "whsec_")
}

/// POSTs the current gallery access of an invoice's session to the studio's
/// webhook URL, signed like Stripe signs (`Studio-Signature: t=..,v1=..`).
/// The event id is derived from the change, so the receiver can deduplicate.
pub async fn deliver_webhook(
    ctx: &AppContext,
    invoice_id: i64,
    change: crate::workflow::jobs::GalleryChange,
) -> DomainResult<()> {
    let Some(invoice) = invoice::Entity::find_by_id(invoice_id).one(&ctx.db).await? else {
        return Ok(());
    };
    let studio = studio::Entity::find_by_id(invoice.studio_id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("studio {} missing", invoice.studio_id))?;
    let Some(url) = studio.gallery_webhook_url.clone() else {
        return Ok(());
    };
    let Some(access) = access_for_invoice(ctx, &invoice).await? else {
        return Ok(());
    };
    let client = client::Entity::find_by_id(access.client_id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("client {} missing", access.client_id))?;
    let body = serde_json::to_vec(&serde_json::json!({
        "id": format!("gac_{invoice_id}_{change}"),
        "type": "gallery.access_changed",
        "created": ctx.clock.now().timestamp(),
        "data": {
            "studio_id": studio.id,
            "session_id": access.session_id,
            "invoice_id": invoice.id,
            "invoice_number": invoice.number,
            "invoice_status": invoice.status.as_str(),
            "client": { "id": client.id, "name": client.name, "email": client.email },
            "level": access.level.as_str(),
            "expires_at": access.expires_at.map(|e| e.to_rfc3339()),
        },
    }))
    .map_err(anyhow::Error::from)?;
    crate::infra::signature::post_signed(
        &url,
        "studio-signature",
        &webhook_secret(ctx, studio.id),
        body,
        ctx.clock.now(),
    )
    .await?;
    tracing::info!(invoice_id, %change, "gallery webhook delivered");
    Ok(())
}

/// Stores the keyed hash of the password the credentials email carries
/// (`AppSecret::hash_gallery_password`).
pub async fn set_password<C: sea_orm::ConnectionTrait>(
    ctx: &AppContext,
    conn: &C,
    access: gallery_access::Model,
    password: &str,
) -> DomainResult<gallery_access::Model> {
    let mut active: gallery_access::ActiveModel = access.into();
    active.password_hash = Set(Some(ctx.secret.hash_gallery_password(password)));
    active.updated_at = Set(ctx.clock.now());
    Ok(active.update(conn).await?)
}

pub async fn access_for_session<C: sea_orm::ConnectionTrait>(
    conn: &C,
    studio_id: StudioId,
    session_id: SessionId,
) -> DomainResult<Option<gallery_access::Model>> {
    let (studio_id, session_id) = (studio_id.get(), session_id.get());
    Ok(gallery_access::Entity::find()
        .filter(gallery_access::Column::StudioId.eq(studio_id))
        .filter(gallery_access::Column::SessionId.eq(session_id))
        .one(conn)
        .await?)
}

pub async fn access_for_invoice(
    ctx: &AppContext,
    invoice: &invoice::Model,
) -> DomainResult<Option<gallery_access::Model>> {
    Ok(gallery_access::Entity::find()
        .filter(gallery_access::Column::SessionId.eq(invoice.session_id))
        .one(&ctx.db)
        .await?)
}

/// What a client sees after logging in to a gallery.
pub struct GalleryView {
    pub studio_name: String,
    pub session_title: String,
    pub access: gallery_access::Model,
    pub photos: Vec<gallery_photo::Model>,
    /// For the page's logo and contact details.
    pub studio: studio::Model,
    /// The portal link of the session's invoice while something is due on
    /// it: a `PREVIEW` gallery says where to pay to open it fully.
    pub pay_url: Option<String>,
    /// The client's picks, when the session's package sells them: then
    /// `FULL` access downloads the unlocked picks only.
    pub picks: Option<picks::Picks>,
}

/// The gallery of a session, for a client who has logged in.
pub async fn view(ctx: &AppContext, session_id: i64) -> DomainResult<Option<GalleryView>> {
    let Some(access) = gallery_access::Entity::find()
        .filter(gallery_access::Column::SessionId.eq(session_id))
        .one(&ctx.db)
        .await?
    else {
        return Ok(None);
    };
    let studio = studio::Entity::find_by_id(access.studio_id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("studio {} missing", access.studio_id))?;
    let session = entity::session::Entity::find_by_id(access.session_id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("session {} missing", access.session_id))?;
    let photos = photos(
        &ctx.db,
        StudioId::new(studio.id),
        SessionId::new(session.id),
    )
    .await?;
    let pay_url = invoice::Entity::find()
        .filter(invoice::Column::StudioId.eq(studio.id))
        .filter(invoice::Column::SessionId.eq(session.id))
        .order_by_desc(invoice::Column::Id)
        .all(&ctx.db)
        .await?
        .into_iter()
        .find(crate::billing::payments::payable)
        .map(|i| ctx.portal_url(&i.portal_salt));
    let picks = picks::of_session(&ctx.db, &session).await?;
    Ok(Some(GalleryView {
        picks,
        studio_name: studio.name.clone(),
        session_title: session.title,
        access,
        photos,
        studio,
        pay_url,
    }))
}

/// The studio whose gallery a link opens, for the login page (`None` for
/// an unknown link).
pub async fn studio_of_link(ctx: &AppContext, token: &str) -> DomainResult<Option<studio::Model>> {
    let Some(access) = find_by_token(&ctx.db, token).await? else {
        return Ok(None);
    };
    Ok(studio::Entity::find_by_id(access.studio_id)
        .one(&ctx.db)
        .await?)
}

/// The gallery a link token opens. A token of the wrong shape or an
/// unknown one finds nothing (`/gallery/<session id>` is such a token).
pub async fn find_by_token<C: sea_orm::ConnectionTrait>(
    conn: &C,
    token: &str,
) -> DomainResult<Option<gallery_access::Model>> {
    if token.len() < 32 || token.len() > 128 {
        return Ok(None);
    }
    Ok(gallery_access::Entity::find()
        .filter(gallery_access::Column::LinkTokenHash.eq(hash_token(token)))
        .one(conn)
        .await?)
}

/// The link to a gallery: `/gallery/<HMAC(secret, link salt)>`. A gallery
/// made before links had tokens gets its salt here, once: the conditional
/// update lets one writer win, and everyone then uses the stored salt.
pub async fn link(ctx: &AppContext, access: &gallery_access::Model) -> DomainResult<String> {
    let salt = match &access.link_salt {
        Some(salt) => salt.clone(),
        None => {
            use sea_orm::sea_query::Expr;
            let salt = random_token();
            gallery_access::Entity::update_many()
                .col_expr(gallery_access::Column::LinkSalt, Expr::value(salt.clone()))
                .col_expr(
                    gallery_access::Column::LinkTokenHash,
                    Expr::value(hash_token(&ctx.secret.gallery_token(&salt))),
                )
                .filter(gallery_access::Column::Id.eq(access.id))
                .filter(gallery_access::Column::LinkSalt.is_null())
                .exec(&ctx.db)
                .await?;
            gallery_access::Entity::find_by_id(access.id)
                .one(&ctx.db)
                .await?
                .and_then(|a| a.link_salt)
                .ok_or_else(|| anyhow::anyhow!("gallery access {} has no link", access.id))?
        }
    };
    Ok(format!(
        "{}/gallery/{}",
        ctx.settings.public_url(),
        ctx.secret.gallery_token(&salt)
    ))
}

/// The link to a session's gallery, if it has one yet (scoped to the studio).
pub async fn link_for_session(
    ctx: &AppContext,
    studio_id: StudioId,
    session_id: SessionId,
) -> DomainResult<Option<String>> {
    match access_for_session(&ctx.db, studio_id, session_id).await? {
        Some(access) => Ok(Some(link(ctx, &access).await?)),
        None => Ok(None),
    }
}

/// Checks gallery credentials. Wrong username, wrong password and unknown
/// gallery are indistinguishable to the caller. A gallery still holding an
/// argon2id hash from before keyed hashes is rehashed at its first
/// successful login.
pub async fn login(
    ctx: &AppContext,
    access: Option<&gallery_access::Model>,
    username: &str,
    password: &str,
) -> DomainResult<Option<GalleryView>> {
    let (hash, real) = login_hash(access);
    let username_ok = access.is_some_and(|a| a.username.eq_ignore_ascii_case(username.trim()));
    // Verify even for a wrong username, or a gallery that does not exist (a
    // decoy hash of the same kind), so timing does not tell which was wrong.
    // A legacy argon2id hash is deliberately slow: keep it off the executor.
    let legacy = crate::infra::secrets::is_legacy_gallery_hash(&hash);
    let secret = ctx.secret.clone();
    let typed = password.to_string();
    let password_ok = if legacy {
        tokio::task::spawn_blocking(move || secret.verify_gallery_password(&typed, &hash))
            .await
            .map_err(|e| DomainError::Internal(e.into()))?
    } else {
        secret.verify_gallery_password(&typed, &hash)
    };
    match access {
        Some(access) if real && username_ok && password_ok => {
            if legacy {
                rehash(ctx, access, password).await?;
            }
            view(ctx, access.session_id).await
        }
        _ => Ok(None),
    }
}

/// Replaces a legacy argon2id hash by the keyed hash of the same password,
/// unless the password was changed meanwhile.
async fn rehash(
    ctx: &AppContext,
    access: &gallery_access::Model,
    password: &str,
) -> DomainResult<()> {
    gallery_access::Entity::update_many()
        .col_expr(
            gallery_access::Column::PasswordHash,
            sea_orm::sea_query::Expr::value(ctx.secret.hash_gallery_password(password)),
        )
        .filter(gallery_access::Column::Id.eq(access.id))
        .filter(gallery_access::Column::PasswordHash.eq(access.password_hash.clone()))
        .exec(&ctx.db)
        .await?;
    Ok(())
}

/// What a login attempt at a gallery link came to.
pub enum LoginOutcome {
    LoggedIn(Box<GalleryView>),
    /// Wrong credentials, or a link that opens nothing: the same answer.
    Refused,
    /// Too many failures from this address, or at this gallery, lately.
    TooManyAttempts,
}

/// A login at a gallery link from `source` (`login_limits::address_subject`):
/// refused without checking while this address, or the gallery, has too
/// many recent failures; a failure counts against both. An unknown link
/// counts against a shared "no gallery" subject, so every failure costs the
/// same work whether or not the gallery exists.
pub async fn attempt_login(
    ctx: &AppContext,
    token: &str,
    source: &str,
    username: &str,
    password: &str,
) -> DomainResult<LoginOutcome> {
    let access = find_by_token(&ctx.db, token).await?;
    let limits = &ctx.settings.login_limits;
    let counters = [
        Counter {
            scope: Scope::GalleryAddress,
            subject: source.to_string(),
            limit: limits.per_address,
        },
        Counter {
            scope: Scope::Gallery,
            subject: access
                .as_ref()
                .map(|a| a.id.to_string())
                .unwrap_or_else(|| "none".into()),
            limit: limits.per_gallery,
        },
    ];
    if login_limits::reached(ctx, &counters).await? {
        return Ok(LoginOutcome::TooManyAttempts);
    }
    match login(ctx, access.as_ref(), username, password).await? {
        Some(view) => Ok(LoginOutcome::LoggedIn(Box::new(view))),
        None => {
            login_limits::record_failure(ctx, &counters).await?;
            Ok(LoginOutcome::Refused)
        }
    }
}

/// The hash a login attempt is verified against, and whether it is real: a
/// missing gallery, or one without credentials yet, gets a decoy (which no
/// password opens), so every failed login does the same work.
pub fn login_hash(access: Option<&gallery_access::Model>) -> (String, bool) {
    match access.and_then(|a| a.password_hash.clone()) {
        Some(hash) => (hash, true),
        None => (crate::infra::secrets::gallery_decoy_hash(), false),
    }
}

/// What a download link of a logged-in client leads to.
pub enum Download {
    /// The full-resolution file.
    Allowed(String),
    /// Downloads need `FULL` access; this is the level in force.
    NotAllowed(GalleryLevel),
    /// The session's package sells picks, and this photo is not a pick
    /// that is paid for.
    NotUnlocked,
    NotFound,
}

/// Downloads open only at `FULL` access that has not expired, and, when
/// the package sells picks, for the unlocked picks only (`picks`).
pub async fn download(
    ctx: &AppContext,
    session_id: SessionId,
    photo_id: PhotoId,
    now: DateTime<Utc>,
) -> DomainResult<Download> {
    let (session_id, photo_id) = (session_id.get(), photo_id.get());
    let Some(gallery) = view(ctx, session_id).await? else {
        return Ok(Download::NotFound);
    };
    let Some(photo) = gallery.photos.into_iter().find(|p| p.id == photo_id) else {
        return Ok(Download::NotFound);
    };
    let unlocked = gallery.picks.as_ref().map(picks::Picks::unlocked);
    Ok(match effective_level(&gallery.access, now) {
        GalleryLevel::Full if unlocked.as_ref().is_none_or(|u| u.contains(&photo.id)) => {
            Download::Allowed(photo.url)
        }
        GalleryLevel::Full => Download::NotUnlocked,
        level => Download::NotAllowed(level),
    })
}

/// The level in force now: an expired grant counts as `LOCKED`.
pub fn effective_level(access: &gallery_access::Model, now: DateTime<Utc>) -> GalleryLevel {
    match access.expires_at {
        Some(expiry) if expiry <= now => GalleryLevel::Locked,
        _ => access.level,
    }
}
