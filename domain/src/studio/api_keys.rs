//! A studio's API keys: authenticate (recording when a key was last used, at
//! most once a minute), list, create, revoke. A key is shown in clear once,
//! when created; the database keeps its SHA-256 and a short prefix.
//!
//! A studio always keeps one working key through the API: a key revokes
//! itself only while another active key exists (checked with the studio's
//! active keys locked). `last_used_at` is written by a conditional `UPDATE`,
//! at most once a minute per key in any number of processes.

use crate::infra::db::begin_write;
use crate::infra::error::{DomainResult, UserError};
use crate::infra::secrets::{generate_api_key, hash_token};
use crate::kernel::ids::{ApiKeyId, StudioId};
use crate::kernel::validate::Problems;
use chrono::{DateTime, Duration, Utc};
use entity::{api_key, studio};
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

/// `last_used_at` is written at most this often per key, so that a busy
/// key does not turn every request into a write.
pub const LAST_USED_RESOLUTION_SECS: i64 = 60;

/// How many characters of a key are kept to tell keys apart (`sk_studio_xxxx`).
const PREFIX_CHARS: usize = 14;

/// A valid, unrevoked key and its studio.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub studio: studio::Model,
    pub key_id: i64,
}

/// The studio an API key belongs to, if the key is valid and not revoked.
pub async fn authenticate(
    db: &DatabaseConnection,
    key: &str,
    now: DateTime<Utc>,
) -> DomainResult<Option<Authenticated>> {
    // The key and its studio in one statement (one per request).
    let of_studio = api_key::Entity::belongs_to(studio::Entity)
        .from(api_key::Column::StudioId)
        .to(studio::Column::Id)
        .into();
    let Some((row, Some(studio))) = api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(hash_token(key.trim())))
        .filter(api_key::Column::RevokedAt.is_null())
        .join(sea_orm::JoinType::InnerJoin, of_studio)
        .select_also(studio::Entity)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    touch(db, &row, now).await;
    Ok(Some(Authenticated {
        studio,
        key_id: row.id,
    }))
}

/// Records a use of `key` when the stored time is older than the resolution.
/// The condition is repeated in the `UPDATE`, so concurrent requests (in any
/// process) write it once. Best effort: a failure never refuses the request.
async fn touch(db: &impl ConnectionTrait, key: &api_key::Model, now: DateTime<Utc>) {
    let cutoff = now - Duration::seconds(LAST_USED_RESOLUTION_SECS);
    if key.last_used_at.is_some_and(|t| t > cutoff) {
        return;
    }
    let result = api_key::Entity::update_many()
        .col_expr(api_key::Column::LastUsedAt, Expr::value(now))
        .filter(api_key::Column::Id.eq(key.id))
        .filter(
            Condition::any()
                .add(api_key::Column::LastUsedAt.is_null())
                .add(api_key::Column::LastUsedAt.lte(cutoff)),
        )
        .exec(db)
        .await;
    if let Err(err) = result {
        tracing::warn!(error = %err, key_id = key.id, "could not record the API key's last use");
    }
}

/// The studio's keys, oldest first, revoked ones included.
pub async fn list(db: &DatabaseConnection, studio_id: i64) -> DomainResult<Vec<api_key::Model>> {
    Ok(api_key::Entity::find()
        .filter(api_key::Column::StudioId.eq(studio_id))
        .order_by_asc(api_key::Column::Id)
        .all(db)
        .await?)
}

/// A new key for the studio; returns it in clear (the only time).
pub async fn create(
    db: &DatabaseConnection,
    studio_id: i64,
    label: &str,
    now: DateTime<Utc>,
) -> DomainResult<(api_key::Model, String)> {
    let mut problems = Problems::new();
    let label = problems.name("label", label);
    problems.finish()?;
    if studio::Entity::find_by_id(studio_id)
        .one(db)
        .await?
        .is_none()
    {
        return Err(UserError::not_found("studioId", "studio").into());
    }
    let (key, hash) = generate_api_key();
    let model = api_key::ActiveModel {
        studio_id: Set(studio_id),
        label: Set(label),
        key_hash: Set(hash),
        key_prefix: Set(key.chars().take(PREFIX_CHARS).collect()),
        created_at: Set(now),
        revoked_at: Set(None),
        last_used_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    tracing::info!(studio_id, key_id = model.id, "API key created");
    Ok((model, key))
}

/// Revokes one of the studio's keys (a key of another studio is not found).
/// `acting_key` is the key making the request, if any: a key may revoke
/// itself only while the studio keeps another active key, so a studio can
/// never lock itself out through the API. Revoking twice is a no-op.
pub async fn revoke(
    db: &DatabaseConnection,
    studio_id: StudioId,
    key_id: ApiKeyId,
    acting_key: Option<i64>,
    now: DateTime<Utc>,
) -> DomainResult<api_key::Model> {
    let (studio_id, key_id) = (studio_id.get(), key_id.get());
    let tx = begin_write(db).await?;
    // The studio's active keys, locked (PostgreSQL; SQLite's write lock is
    // already held), so two keys revoking each other cannot both succeed.
    let active = api_key::Entity::find()
        .filter(api_key::Column::StudioId.eq(studio_id))
        .filter(api_key::Column::RevokedAt.is_null())
        .lock_exclusive()
        .all(&tx)
        .await?;
    let Some(key) = api_key::Entity::find_by_id(key_id)
        .filter(api_key::Column::StudioId.eq(studio_id))
        .one(&tx)
        .await?
    else {
        return Err(UserError::not_found("id", "API key").into());
    };
    if key.revoked_at.is_some() {
        return Ok(key);
    }
    if acting_key == Some(key.id) && active.len() <= 1 {
        return Err(UserError::state(
            "id",
            "this is the studio's last active API key: create another key before revoking this one",
        )
        .into());
    }
    let mut update: api_key::ActiveModel = key.into();
    update.revoked_at = Set(Some(now));
    let revoked = update.update(&tx).await?;
    tx.commit().await?;
    tracing::info!(studio_id, key_id, "API key revoked");
    Ok(revoked)
}
