//! Gallery access brought in line with what has been paid
//! (`SyncGalleryAccess`), one invoice at a time or a batch of them in one
//! transaction (issue 20: steps in batches; one invoice is a batch of one).
//! A batch locks and reads its invoices first, in id order, with one
//! statement; each sync reads its studio and client with one more
//! (`documents::with_parties`). A batch commits whole or not at all (the
//! caller then syncs each alone).

use super::{deciding, granted, level_for};
use crate::billing::documents::{Parties, with_parties};
use crate::infra::context::AppContext;
use crate::infra::db::{begin_write, ids_among};
use crate::infra::error::DomainResult;
use crate::infra::secrets::{hash_token, random_token};
use crate::workflow::next::{self, Change};
use chrono::{DateTime, Utc};
use entity::enums::GalleryLevel;
use entity::{gallery_access, invoice, studio};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use std::collections::HashMap;

/// Brings the gallery of an invoice's session in line with what has been
/// paid: created with its credentials on the first decided invoice, its
/// level and expiry changed (and announced) when they differ.
pub async fn sync_access(
    ctx: &AppContext,
    invoice_id: i64,
    request_id: Option<&str>,
) -> DomainResult<()> {
    sync_many(ctx, &[(invoice_id, request_id)], &[]).await
}

/// [`sync_access`] for several invoices, `(invoice, request id)`, in one
/// transaction, with `jobs` (the outbox rows of the jobs asking) marked
/// `DONE` in it. `Err` means nothing was written: sync each alone then.
pub async fn sync_many(
    ctx: &AppContext,
    due: &[(i64, Option<&str>)],
    jobs: &[i64],
) -> DomainResult<()> {
    let tx = begin_write(&ctx.db).await?;
    let mut due = due.to_vec();
    due.sort_by_key(|(id, _)| *id);
    let ids: Vec<i64> = due.iter().map(|(id, _)| *id).collect();
    // Lock the invoice rows (PostgreSQL) so a payment committing meanwhile
    // is seen before the level is decided; SQLite's write lock already
    // serializes. The rows read here are the ones each sync decides on.
    let locked: HashMap<i64, invoice::Model> = invoice::Entity::find()
        .filter(ids_among(&tx, invoice::Column::Id, &ids))
        .order_by_asc(invoice::Column::Id)
        .lock_exclusive()
        .all(&tx)
        .await?
        .into_iter()
        .map(|invoice| (invoice.id, invoice))
        .collect();
    for (invoice_id, request_id) in due {
        // A sync writes the gallery, never the invoice: two jobs of one
        // invoice in a batch decide on the same row.
        let invoice = locked
            .get(&invoice_id)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("invoice {invoice_id} missing"))?;
        sync_in(ctx, &tx, invoice, request_id).await?;
    }
    crate::workflow::outbox::mark_done_many(&tx, jobs, ctx.clock.now()).await?;
    next::commit(ctx, tx).await?;
    Ok(())
}

/// The sync inside the caller's transaction.
async fn sync_in(
    ctx: &AppContext,
    tx: &DatabaseTransaction,
    invoice: invoice::Model,
    request_id: Option<&str>,
) -> DomainResult<()> {
    let Some(invoice) = deciding(tx, invoice).await? else {
        return Ok(());
    };
    let invoice_id = invoice.id;
    let (_, Parties { studio, client, .. }) = with_parties(tx, invoice_id).await?;
    let unsettled = crate::billing::installments::unsettled(tx, &invoice).await?;
    let (level, expires_at) = level_for(&studio, &invoice, unsettled);
    let now = ctx.clock.now();
    // What changed, its follow-ups written together at the end.
    let mut changes = Vec::new();
    match gallery_access::Entity::find()
        .filter(gallery_access::Column::SessionId.eq(invoice.session_id))
        .one(tx)
        .await?
    {
        None => {
            let salt = random_token();
            gallery_access::ActiveModel {
                link_token_hash: Set(Some(hash_token(&ctx.secret.gallery_token(&salt)))),
                link_salt: Set(Some(salt)),
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
            .insert(tx)
            .await?;
            changes.push(granted(tx, &studio, &invoice, now).await?);
        }
        Some(existing) if existing.level != level || existing.expires_at != expires_at => {
            let upgraded = level.rank() > existing.level.rank();
            let mut active: gallery_access::ActiveModel = existing.into();
            active.invoice_id = Set(invoice.id);
            active.level = Set(level);
            active.expires_at = Set(expires_at);
            active.updated_at = Set(now);
            active.update(tx).await?;
            if upgraded {
                changes.push(Change::GalleryUpgraded {
                    studio_id: studio.id,
                    invoice_id,
                    level,
                });
            }
        }
        Some(_) => {}
    }
    if !changes.is_empty() {
        changes.push(announced(&studio, invoice_id, (level, expires_at)));
        next::after_all(tx, changes, request_id, now).await?;
    }
    tracing::info!(invoice_id, level = level.as_str(), "gallery access synced");
    Ok(())
}

/// A change of level or expiry: the notice before the new expiry and the
/// studio's webhook, keyed by the new state, so each change is announced
/// once and a later change supersedes an earlier notice.
fn announced(
    studio: &studio::Model,
    invoice_id: i64,
    (level, expires_at): (GalleryLevel, Option<DateTime<Utc>>),
) -> Change {
    Change::GalleryChanged {
        studio_id: studio.id,
        invoice_id,
        level,
        expires_at,
        expiry_notice_days: studio.gallery_expiry_notice_days,
        webhook: studio.gallery_webhook_url.is_some(),
    }
}
