//! What every feature of the GraphQL API shares: authentication, the
//! resolver prologue (`Caller`), and the one place where domain errors
//! become GraphQL errors (`extensions.code`) or payload `userErrors`.

use async_graphql::{Context, Error, ErrorExtensions, ID, Result, SimpleObject};
use chrono::{DateTime, Utc};
use domain::billing::lifecycle::Actor;
use domain::kernel::ids::{InvoiceId, StudioId};

use domain::{AppContext, DomainError, DomainResult, ErrorCode};
use entity::studio;
use sea_orm::DatabaseConnection;

/// Process-wide data every resolver can reach.
pub struct AppData {
    pub ctx: AppContext,
}

/// Per-request: the studio the API key belongs to (if any) and the request id.
pub struct Auth(pub Option<studio::Model>);
pub struct RequestId(pub String);

/// The studio of the request, or `UNAUTHENTICATED`.
pub fn studio<'a>(ctx: &'a Context<'_>) -> Result<&'a studio::Model> {
    match ctx.data::<Auth>() {
        Ok(Auth(Some(studio))) => Ok(studio),
        _ => Err(Error::new(
            "a valid studio API key is required: send `Authorization: Bearer <key>`",
        )
        .extend_with(|_, e| e.set("code", ErrorCode::Unauthenticated.as_str()))),
    }
}

/// The request's DataLoaders (present whenever the request is authenticated).
pub fn loaders<'a>(ctx: &'a Context<'_>) -> Result<&'a super::loaders::Loaders> {
    studio(ctx)?;
    ctx.data::<super::loaders::Loaders>()
}

/// Maps a DataLoader failure.
pub fn load_error(err: super::loaders::LoadError) -> Error {
    internal(anyhow::anyhow!("load failed: {err}"))
}

pub fn request_id(ctx: &Context<'_>) -> Option<String> {
    ctx.data::<RequestId>().ok().map(|r| r.0.clone())
}

/// The audit-trail actor for the calling API key.
fn actor(ctx: &Context<'_>) -> Actor {
    match ctx.data::<Auth>() {
        Ok(Auth(Some(studio))) => Actor(format!("api-key:studio-{}", studio.id)),
        _ => Actor::system(),
    }
}

/// The prologue of a resolver: the authenticated studio (or
/// `UNAUTHENTICATED`), the application, the audit actor and the request id.
pub struct Caller<'a> {
    pub studio: &'a studio::Model,
    pub app: &'a AppContext,
    pub actor: Actor,
    request_id: Option<String>,
}

impl<'a> Caller<'a> {
    pub fn of(ctx: &'a Context<'_>) -> Result<Self> {
        let studio = studio(ctx)?;
        let app = &ctx.data::<AppData>()?.ctx;
        Ok(Self {
            studio,
            app,
            actor: actor(ctx),
            request_id: request_id(ctx),
        })
    }

    /// The caller's studio, as the id the services take.
    pub fn studio_id(&self) -> StudioId {
        StudioId::new(self.studio.id)
    }

    pub fn db(&self) -> &'a DatabaseConnection {
        &self.app.db
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.app.clock.now()
    }

    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
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
pub fn payload<T>(result: Result<T, DomainError>) -> Result<(Option<T>, Vec<UserError>)> {
    match result {
        Ok(value) => Ok((Some(value), vec![])),
        Err(DomainError::User(errors)) => {
            Ok((None, errors.into_iter().map(UserError::from).collect()))
        }
        Err(other) => Err(domain_error(other)),
    }
}

/// A mutation payload: the one value (or `null`) and the `userErrors`.
macro_rules! payload_type {
    ($name:ident, $field:ident, $ty:ty) => {
        #[derive(async_graphql::SimpleObject)]
        pub struct $name {
            pub $field: Option<$ty>,
            pub user_errors: Vec<$crate::graphql::common::UserError>,
        }

        impl $name {
            pub fn from_result(result: domain::DomainResult<$ty>) -> async_graphql::Result<Self> {
                let ($field, user_errors) = $crate::graphql::common::payload(result)?;
                Ok(Self {
                    $field,
                    user_errors,
                })
            }
        }
    };
}
pub(crate) use payload_type;

/// Parses a GraphQL ID; a malformed one is treated as an unknown record.
pub fn parse_id(id: &ID, field: &str, what: &str) -> Result<i64, DomainError> {
    id.parse::<i64>()
        .map_err(|_| domain::UserError::not_found(field, what).into())
}

/// An invoice's id as the services take it (`NOT_FOUND` on `invoiceId`
/// when it is no id).
pub fn parse_invoice_id(id: &ID) -> DomainResult<InvoiceId> {
    parse_id(id, "invoiceId", "invoice").map(InvoiceId::new)
}

/// Parses a list of IDs (`field.0`, `field.1`... in errors).
pub fn parse_ids(list: &[ID], field: &str, what: &str) -> DomainResult<Vec<i64>> {
    list.iter()
        .enumerate()
        .map(|(i, id)| parse_id(id, &format!("{field}.{i}"), what))
        .collect()
}

/// A record's id as a GraphQL ID.
pub fn id(id: i64) -> ID {
    ID(id.to_string())
}
