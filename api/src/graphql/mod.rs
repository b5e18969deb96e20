//! The GraphQL API: schema, authentication, and the one place where domain
//! errors become GraphQL errors (`extensions.code`) or payload `userErrors`.

pub mod amount;
pub mod api_keys;
pub mod card_setup;
pub mod gallery;
pub mod graphiql;
pub mod inputs;
pub mod limits;
pub mod loaders;
pub mod mutation;
pub mod percent;
pub mod query;
pub mod reminders;
pub mod steps;
pub mod subscription;
pub mod types;
pub mod ws;

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use async_graphql::{Data, Error, ErrorExtensions, ID, Schema, SimpleObject};
use async_graphql_actix_web::{GraphQLRequest, GraphQLResponse};
use domain::{AppContext, DomainError, ErrorCode};
use entity::studio;

pub type ApiSchema = Schema<query::Query, mutation::Mutation, subscription::Subscription>;

/// Process-wide data every resolver can reach.
pub struct AppData {
    pub ctx: AppContext,
}

/// Per-request: the studio the API key belongs to (if any) and the request id.
pub struct Auth(pub Option<studio::Model>);
pub struct RequestId(pub String);

pub fn build_schema(ctx: AppContext) -> ApiSchema {
    let introspection = ctx.settings.graphql_introspection();
    let builder = Schema::build(query::Query, mutation::Mutation, subscription::Subscription)
        .data(AppData { ctx })
        // Depth is limited by `QueryLimits` (introspection aside where allowed).
        .extension(limits::QueryLimits)
        .extension(limits::DocumentGate { introspection })
        .limit_complexity(limits::MAX_COMPLEXITY);
    if introspection {
        builder.finish()
    } else {
        // Production: the committed `schema.graphql` is the contract; the
        // schema is neither introspectable nor hinted at by suggestions.
        builder
            .disable_introspection()
            .disable_suggestions()
            .finish()
    }
}

/// The studio of the request, or `UNAUTHENTICATED`.
pub fn studio<'a>(ctx: &'a async_graphql::Context<'_>) -> async_graphql::Result<&'a studio::Model> {
    match ctx.data::<Auth>() {
        Ok(Auth(Some(studio))) => Ok(studio),
        _ => Err(Error::new(
            "a valid studio API key is required: send `Authorization: Bearer <key>`",
        )
        .extend_with(|_, e| e.set("code", ErrorCode::Unauthenticated.as_str()))),
    }
}

/// The request's DataLoaders (present whenever the request is authenticated).
pub fn loaders<'a>(
    ctx: &'a async_graphql::Context<'_>,
) -> async_graphql::Result<&'a loaders::Loaders> {
    studio(ctx)?;
    ctx.data::<loaders::Loaders>()
}

/// Maps a DataLoader failure.
pub fn load_error(err: loaders::LoadError) -> Error {
    internal(anyhow::anyhow!("load failed: {err}"))
}

pub fn request_id(ctx: &async_graphql::Context<'_>) -> Option<String> {
    ctx.data::<RequestId>().ok().map(|r| r.0.clone())
}

pub fn internal(err: anyhow::Error) -> Error {
    tracing::error!(error = ?err, "internal error");
    Error::new("internal error").extend_with(|_, e| e.set("code", ErrorCode::Internal.as_str()))
}

/// Maps an error outside a mutation payload (queries, nested fields).
pub fn domain_error(err: DomainError) -> Error {
    match err {
        DomainError::User(errors) => {
            let first = errors.first().cloned();
            let message = errors
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; ");
            Error::new(message).extend_with(move |_, e| {
                e.set(
                    "code",
                    first
                        .as_ref()
                        .map(|f| f.code.as_str())
                        .unwrap_or("INVALID_INPUT"),
                )
            })
        }
        DomainError::Db(db) => internal(anyhow::Error::new(db)),
        DomainError::Internal(e) => internal(e),
        unavailable @ DomainError::Unavailable { .. } => {
            internal(anyhow::anyhow!(unavailable.to_string()))
        }
    }
}

/// A problem with the input of a mutation; nothing was written.
#[derive(SimpleObject, Clone, Debug)]
pub struct UserError {
    /// Path to the input field, e.g. `["input", "items", "0", "unitPrice"]`.
    pub field: Vec<String>,
    pub message: String,
    /// Stable code: `INVALID_INPUT`, `NOT_FOUND`, `INVALID_STATE`, `DUPLICATE`.
    pub code: String,
}

impl From<domain::UserError> for UserError {
    fn from(e: domain::UserError) -> Self {
        let mut field = vec!["input".to_string()];
        field.extend(e.field);
        Self {
            field,
            message: e.message,
            code: e.code.as_str().to_string(),
        }
    }
}

/// Splits a domain result into (value, userErrors); other errors stay errors.
pub fn payload<T>(
    result: Result<T, DomainError>,
) -> async_graphql::Result<(Option<T>, Vec<UserError>)> {
    match result {
        Ok(value) => Ok((Some(value), vec![])),
        Err(DomainError::User(errors)) => {
            Ok((None, errors.into_iter().map(UserError::from).collect()))
        }
        Err(other) => Err(domain_error(other)),
    }
}

/// Parses a GraphQL ID; a malformed one is treated as an unknown record.
pub fn parse_id(id: &ID, field: &str, what: &str) -> Result<i64, DomainError> {
    id.parse::<i64>()
        .map_err(|_| domain::UserError::not_found(field, what).into())
}

pub async fn graphql(
    schema: web::Data<ApiSchema>,
    app: web::Data<AppContext>,
    http: HttpRequest,
    request: GraphQLRequest,
) -> GraphQLResponse {
    let key = http
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let found = match key {
        Some(key) => {
            match domain::studio::api_keys::authenticate(&app.db, key, app.clock.now()).await {
                Ok(found) => found,
                Err(err) => {
                    tracing::error!(error = ?err, "authentication lookup failed");
                    None
                }
            }
        }
        None => None,
    };
    let key_id = found.as_ref().map(|f| f.key_id);
    let studio = found.map(|f| f.studio);
    let request_id = http
        .extensions()
        .get::<crate::telemetry::RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let mut request = request.into_inner().data(RequestId(request_id));
    if let Some(key_id) = key_id {
        request = request.data(api_keys::CurrentKey(key_id));
    }
    if let Some(studio) = &studio {
        request = request.data(loaders::Loaders::new(&app.db, studio.id));
    }
    schema.execute(request.data(Auth(studio))).await.into()
}

/// `graphql-transport-ws` (and legacy `graphql-ws`) at `/graphql/ws`. The API
/// key comes in `connection_init`: `{"Authorization": "Bearer <key>"}`.
pub async fn graphql_ws(
    schema: web::Data<ApiSchema>,
    app: web::Data<AppContext>,
    http: HttpRequest,
    payload: web::Payload,
) -> actix_web::Result<HttpResponse> {
    let db = app.db.clone();
    let clock = app.clock.clone();
    let on_init: ws::OnInit = Box::new(move |init: serde_json::Value| {
        Box::pin(async move {
            let key = init
                .get("Authorization")
                .or_else(|| init.get("authorization"))
                .and_then(|v| v.as_str())
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
                .map(str::trim)
                .unwrap_or_default()
                .to_string();
            let found = match domain::studio::api_keys::authenticate(&db, &key, clock.now()).await {
                Ok(Some(found)) => found,
                _ => {
                    return Err(Error::new(
                        "a valid studio API key is required in connection_init",
                    )
                    .extend_with(|_, e| e.set("code", ErrorCode::Unauthenticated.as_str())));
                }
            };
            let mut data = Data::default();
            data.insert(loaders::Loaders::new(&db, found.studio.id));
            data.insert(api_keys::CurrentKey(found.key_id));
            data.insert(Auth(Some(found.studio)));
            Ok(data)
        })
    });
    ws::start(ApiSchema::clone(&schema), &http, payload, on_init)
}

/// The SDL of the schema, as committed in `schema.graphql`.
pub fn schema_sdl() -> String {
    Schema::build(query::Query, mutation::Mutation, subscription::Subscription)
        .finish()
        .sdl()
}
