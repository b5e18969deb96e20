//! Step 6: gallery access follows the invoice's payment state.
//!
//! `FULL` for the studio's configured period once paid in full; the studio's
//! configured lower level (default `PREVIEW`) while unpaid. The level is always
//! recomputed from the current state, never taken from the job, so jobs may
//! run twice or out of order and still converge.

use crate::context::AppContext;
use crate::db::begin_write;
use crate::error::DomainResult;
use crate::jobs::JobKind;
use crate::outbox;
use crate::secrets::hash_password;
use chrono::{DateTime, Duration, Utc};
use entity::enums::{GalleryLevel, InvoiceStatus};
use entity::{client, gallery_access, invoice, studio};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QuerySelect,
};

pub fn level_for(
    studio: &studio::Model,
    invoice: &invoice::Model,
) -> (GalleryLevel, Option<DateTime<Utc>>) {
    match invoice.status {
        InvoiceStatus::Paid => (
            GalleryLevel::Full,
            Some(
                invoice.paid_at.unwrap_or(invoice.updated_at)
                    + Duration::days(i64::from(studio.gallery_full_days)),
            ),
        ),
        InvoiceStatus::Void | InvoiceStatus::Uncollectible => (GalleryLevel::Locked, None),
        _ => (
            studio.gallery_unpaid_level,
            Some(invoice.issued_at + Duration::days(i64::from(studio.gallery_unpaid_days))),
        ),
    }
}

pub async fn sync_access(
    ctx: &AppContext,
    invoice_id: i64,
    request_id: Option<&str>,
) -> DomainResult<()> {
    let tx = begin_write(&ctx.db).await?;
    // Lock the invoice row (PostgreSQL) so a payment committing meanwhile is
    // seen before the level is decided; SQLite's write lock already serializes.
    let invoice = invoice::Entity::find_by_id(invoice_id)
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("invoice {invoice_id} missing"))?;
    // A void invoice that was reissued no longer decides: the session's
    // current invoice does (a late job for the old one must not lock a
    // gallery the new invoice opened). A draft grants nothing yet.
    let invoice =
        match crate::invoicing::current_invoice_of_session(&tx, invoice.session_id).await? {
            Some(current) if invoice.status == InvoiceStatus::Void => current,
            _ => invoice,
        };
    if invoice.status == InvoiceStatus::Draft {
        tx.commit().await?;
        return Ok(());
    }
    let invoice_id = invoice.id;
    let studio = studio::Entity::find_by_id(invoice.studio_id)
        .one(&tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("studio {} missing", invoice.studio_id))?;
    let client = client::Entity::find_by_id(invoice.client_id)
        .one(&tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("client {} missing", invoice.client_id))?;
    let (level, expires_at) = level_for(&studio, &invoice);
    let now = Utc::now();
    let studio_id = Some(studio.id);
    match gallery_access::Entity::find()
        .filter(gallery_access::Column::SessionId.eq(invoice.session_id))
        .one(&tx)
        .await?
    {
        None => {
            gallery_access::ActiveModel {
                studio_id: Set(studio.id),
                session_id: Set(invoice.session_id),
                client_id: Set(client.id),
                invoice_id: Set(invoice.id),
                level: Set(level),
                expires_at: Set(expires_at),
                username: Set(client.email.clone()),
                password_hash: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&tx)
            .await?;
            outbox::enqueue(
                &tx,
                studio_id,
                &JobKind::SendGalleryCredentials { invoice_id },
                request_id,
            )
            .await?;
        }
        Some(existing) if existing.level != level || existing.expires_at != expires_at => {
            let upgraded = level.rank() > existing.level.rank();
            let mut active: gallery_access::ActiveModel = existing.into();
            active.invoice_id = Set(invoice.id);
            active.level = Set(level);
            active.expires_at = Set(expires_at);
            active.updated_at = Set(now);
            active.update(&tx).await?;
            if upgraded {
                outbox::enqueue(
                    &tx,
                    studio_id,
                    &JobKind::SendGalleryUpgrade {
                        invoice_id,
                        level: level.as_str().into(),
                    },
                    request_id,
                )
                .await?;
            }
        }
        Some(_) => {}
    }
    tx.commit().await?;
    ctx.outbox_signal.notify_one();
    tracing::info!(invoice_id, level = level.as_str(), "gallery access synced");
    Ok(())
}

/// Stores the argon2id hash of the password the credentials email carries.
pub async fn set_password(
    ctx: &AppContext,
    invoice: &invoice::Model,
    password: &str,
) -> DomainResult<gallery_access::Model> {
    let access = gallery_access::Entity::find()
        .filter(gallery_access::Column::SessionId.eq(invoice.session_id))
        .one(&ctx.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("gallery access for invoice {} missing", invoice.id))?;
    let hash = hash_password(password)?;
    let mut active: gallery_access::ActiveModel = access.into();
    active.password_hash = Set(Some(hash));
    active.updated_at = Set(Utc::now());
    Ok(active.update(&ctx.db).await?)
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
}

/// Checks gallery credentials (argon2id). Wrong username, wrong password and
/// unknown gallery are indistinguishable to the caller.
pub async fn login(
    ctx: &AppContext,
    session_id: i64,
    username: &str,
    password: &str,
) -> DomainResult<Option<GalleryView>> {
    let Some(access) = gallery_access::Entity::find()
        .filter(gallery_access::Column::SessionId.eq(session_id))
        .one(&ctx.db)
        .await?
    else {
        return Ok(None);
    };
    let Some(hash) = &access.password_hash else {
        return Ok(None);
    };
    let username_ok = access.username.eq_ignore_ascii_case(username.trim());
    // Verify even for a wrong username so timing does not tell which was wrong.
    let password_ok = crate::secrets::verify_password(password, hash);
    if !(username_ok && password_ok) {
        return Ok(None);
    }
    let studio = studio::Entity::find_by_id(access.studio_id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("studio {} missing", access.studio_id))?;
    let session = entity::session::Entity::find_by_id(access.session_id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("session {} missing", access.session_id))?;
    Ok(Some(GalleryView {
        studio_name: studio.name,
        session_title: session.title,
        access,
    }))
}

/// The level in force now: an expired grant counts as `LOCKED`.
pub fn effective_level(access: &gallery_access::Model, now: DateTime<Utc>) -> GalleryLevel {
    match access.expires_at {
        Some(expiry) if expiry <= now => GalleryLevel::Locked,
        _ => access.level,
    }
}
