//! API keys in GraphQL: the studio's keys, creating one (shown in clear
//! once), revoking one. The domain rules live in `domain::studio::api_keys`.

use super::UserError;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::api_key;

/// Per-request: the API key that authenticated the request.
pub struct CurrentKey(pub i64);

pub fn current_key(ctx: &Context<'_>) -> Option<i64> {
    ctx.data::<CurrentKey>().ok().map(|k| k.0)
}

/// One of the studio's API keys; the key itself is never shown again.
pub struct ApiKey {
    pub model: api_key::Model,
    pub current: bool,
}

impl ApiKey {
    pub fn new(model: api_key::Model, current: Option<i64>) -> Self {
        let current = current == Some(model.id);
        Self { model, current }
    }
}

#[Object]
impl ApiKey {
    async fn id(&self) -> ID {
        ID(self.model.id.to_string())
    }
    async fn label(&self) -> &str {
        &self.model.label
    }
    /// The key's first characters (`sk_studio_xxxx`), to tell keys apart.
    async fn prefix(&self) -> &str {
        &self.model.key_prefix
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
    /// When the key last authenticated a request (to the minute); null if never.
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.model.last_used_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.model.revoked_at
    }
    /// Whether this is the key that made the request.
    async fn current(&self) -> bool {
        self.current
    }
}

#[derive(InputObject)]
pub struct CreateApiKeyInput {
    /// What the key is for, e.g. "website" or "booking app".
    pub label: String,
}

#[derive(SimpleObject)]
pub struct CreateApiKeyPayload {
    pub api_key: Option<ApiKey>,
    /// The new key in clear: shown this once, store it now.
    pub key: Option<String>,
    pub user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct RevokeApiKeyPayload {
    pub api_key: Option<ApiKey>,
    pub user_errors: Vec<UserError>,
}
