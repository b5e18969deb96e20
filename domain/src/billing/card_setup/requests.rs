//! Asking a client for a card on file (`requestCardSetup`, or an
//! installment's notice when the card expires before its charge).

use super::{LINK_DAYS, token_of};
use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::{DomainResult, UserError};
use crate::infra::secrets::{hash_token, random_token};
use chrono::{DateTime, Duration, Utc};
use entity::{card_setup, client, studio};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

/// `requestCardSetup`: a new request for the studio's client, and its email
/// job, in one transaction. While the client has a request whose link still
/// works (not completed, not expired), that request is returned as it is and
/// no second email goes out (asking again does not flood the client's
/// inbox); the client row is locked so that concurrent requests agree.
pub async fn request(
    ctx: &AppContext,
    studio: &studio::Model,
    client_id: i64,
    request_id: Option<&str>,
) -> DomainResult<card_setup::Model> {
    let client = crate::studio::catalog::find_client(&ctx.db, studio.id, client_id)
        .await?
        .ok_or_else(|| UserError::not_found("clientId", "client"))?;
    if client.email.trim().is_empty() {
        return Err(UserError::invalid(
            "clientId",
            "the client has no email address to send the card-setup link to",
        )
        .into());
    }
    let now = ctx.clock.now();
    let tx = begin_write(&ctx.db).await?;
    let setup = request_in(ctx, &tx, studio.id, client.id, request_id, now).await?;
    crate::workflow::next::commit(ctx, tx).await?;
    Ok(setup)
}

/// The request in the caller's transaction (an installment's notice asks
/// for a new card with it when the card on file expires before the charge):
/// the client's pending request if its link still works, else a new one and
/// its email job.
pub async fn request_in(
    ctx: &AppContext,
    tx: &DatabaseTransaction,
    studio_id: i64,
    client_id: i64,
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> DomainResult<card_setup::Model> {
    let salt = random_token();
    client::Entity::find_by_id(client_id)
        .lock_exclusive()
        .one(tx)
        .await?;
    let pending = card_setup::Entity::find()
        .filter(card_setup::Column::StudioId.eq(studio_id))
        .filter(card_setup::Column::ClientId.eq(client_id))
        .filter(card_setup::Column::CompletedAt.is_null())
        .filter(card_setup::Column::ExpiresAt.gte(now))
        .order_by_desc(card_setup::Column::Id)
        .one(tx)
        .await?;
    if let Some(pending) = pending {
        tracing::info!(
            card_setup = pending.id,
            client_id,
            "card setup already pending: not emailed again"
        );
        return Ok(pending);
    }
    let created = card_setup::ActiveModel {
        studio_id: Set(studio_id),
        client_id: Set(client_id),
        token_hash: Set(hash_token(&token_of(ctx, &salt))),
        salt: Set(salt),
        expires_at: Set(now + Duration::days(LINK_DAYS)),
        completed_at: Set(None),
        card_brand: Set(None),
        card_last4: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    crate::workflow::next::after(
        tx,
        crate::workflow::next::Change::CardSetupRequested {
            studio_id,
            card_setup_id: created.id,
        },
        request_id,
        now,
    )
    .await?;
    tracing::info!(card_setup = created.id, client_id, "card setup requested");
    Ok(created)
}
