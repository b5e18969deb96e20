//! The GraphQL API: one module per feature (its object types, inputs, query
//! and mutation parts), merged here into the schema's root `Query` and
//! `Mutation`; `common` holds what they share (authentication, the resolver
//! prologue `Caller`, the mapping of domain errors to `extensions.code` or
//! payload `userErrors`).

pub mod amount;
pub mod api_keys;
pub mod card_setup;
pub mod catalog;
pub mod clients;
pub mod common;
pub mod disputes;
pub mod gallery;
pub mod graphiql;
pub mod invoices;
pub mod limits;
pub mod loaders;
pub mod metrics;
pub mod money;
pub mod paging;
pub mod payers;
pub mod payments;
pub mod percent;
pub mod picks;
pub mod plans;
pub mod reminders;
pub mod sessions;
pub mod steps;
pub mod studio;
pub mod subscription;
pub mod ws;

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use async_graphql::{Data, Error, ErrorExtensions, MergedObject, Schema};
use async_graphql_actix_web::{GraphQLRequest, GraphQLResponse};
use common::{AppData, Auth, RequestId};
use domain::{AppContext, ErrorCode};

pub type ApiSchema = Schema<Query, Mutation, subscription::Subscription>;

// The root queries, feature by feature (the order is the schema's field order).
#[derive(MergedObject, Default)]
pub struct Query(
    studio::StudioQuery,
    api_keys::ApiKeysQuery,
    steps::StepsQuery,
    clients::ClientsQuery,
    catalog::CatalogQuery,
    metrics::MetricsQuery,
    sessions::SessionsQuery,
    invoices::InvoicesQuery,
    payments::PaymentsQuery,
    disputes::DisputesQuery,
);

// The root mutations, feature by feature (the order is the schema's field order).
#[derive(MergedObject, Default)]
pub struct Mutation(
    clients::ClientsMutation,
    card_setup::CardSetupMutation,
    catalog::CatalogMutation,
    sessions::SessionsMutation,
    plans::PlansMutation,
    payments::PaymentsMutation,
    invoices::InvoicesMutation,
    payers::PayersMutation,
    studio::StudioMutation,
    reminders::RemindersMutation,
    gallery::GalleryMutation,
    picks::PicksMutation,
    disputes::DisputesMutation,
    api_keys::ApiKeysMutation,
    steps::StepsMutation,
);

pub fn build_schema(ctx: AppContext) -> ApiSchema {
    let introspection = ctx.settings.graphql_introspection();
    let builder = Schema::build(
        Query::default(),
        Mutation::default(),
        subscription::Subscription,
    )
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
    Schema::build(
        Query::default(),
        Mutation::default(),
        subscription::Subscription,
    )
    .finish()
    .sdl()
}
