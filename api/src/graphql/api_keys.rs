//! API keys in GraphQL: the studio's keys, creating one (shown in clear
//! once), revoking one. The domain rules live in `domain::studio::api_keys`.

use super::common::{Caller, UserError, domain_error, id, parse_id, payload};
use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use domain::kernel::ids::ApiKeyId;
use domain::studio::api_keys as service;
use entity::api_key;

/// Per-request: the API key that authenticated the request.
pub struct CurrentKey(pub i64);

fn current_key(ctx: &Context<'_>) -> Option<i64> {
    ctx.data::<CurrentKey>().ok().map(|k| k.0)
}

// One of the studio's API keys; the key itself is never shown again.
#[derive(SimpleObject)]
pub struct ApiKey {
    pub id: ID,
    pub label: String,
    /// The key's first characters (`sk_studio_xxxx`), to tell keys apart.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    /// When the key last authenticated a request (to the minute); null if never.
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Whether this is the key that made the request.
    pub current: bool,
}

impl ApiKey {
    fn new(model: api_key::Model, current: Option<i64>) -> Self {
        Self {
            id: id(model.id),
            current: current == Some(model.id),
            label: model.label,
            prefix: model.key_prefix,
            created_at: model.created_at,
            last_used_at: model.last_used_at,
            revoked_at: model.revoked_at,
        }
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

#[derive(Default)]
pub struct ApiKeysQuery;

#[Object]
impl ApiKeysQuery {
    /// The studio's API keys, oldest first, revoked ones included.
    async fn api_keys(&self, ctx: &Context<'_>) -> Result<Vec<ApiKey>> {
        let caller = Caller::of(ctx)?;
        let current = current_key(ctx);
        Ok(service::list(caller.db(), caller.studio.id)
            .await
            .map_err(domain_error)?
            .into_iter()
            .map(|m| ApiKey::new(m, current))
            .collect())
    }
}

#[derive(Default)]
pub struct ApiKeysMutation;

#[Object]
impl ApiKeysMutation {
    /// A new API key for the studio. The key is in the payload this once.
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        input: CreateApiKeyInput,
    ) -> Result<CreateApiKeyPayload> {
        let caller = Caller::of(ctx)?;
        let current = current_key(ctx);
        let result =
            service::create(caller.db(), caller.studio.id, &input.label, caller.now()).await;
        let (created, user_errors) = payload(result)?;
        let (api_key, key) = match created {
            Some((model, key)) => (Some(ApiKey::new(model, current)), Some(key)),
            None => (None, None),
        };
        Ok(CreateApiKeyPayload {
            api_key,
            key,
            user_errors,
        })
    }

    /// Revokes one of the studio's keys at once. The key making the request
    /// may revoke itself only while the studio has another active key.
    async fn revoke_api_key(&self, ctx: &Context<'_>, id: ID) -> Result<RevokeApiKeyPayload> {
        let caller = Caller::of(ctx)?;
        let current = current_key(ctx);
        let result = async {
            let id = parse_id(&id, "id", "API key")?;
            service::revoke(
                caller.db(),
                caller.studio_id(),
                ApiKeyId::new(id),
                current,
                caller.now(),
            )
            .await
        }
        .await;
        let (revoked, user_errors) = payload(result)?;
        Ok(RevokeApiKeyPayload {
            api_key: revoked.map(|m| ApiKey::new(m, current)),
            user_errors,
        })
    }
}
