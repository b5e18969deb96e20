//! The domain's error type: user-facing errors carry a stable code; internal
//! causes are logged and never shown to clients.

use crate::ports::gateway::GatewayError;
use crate::ports::mailer::MailError;
use sea_orm::{DbErr, RuntimeErr, SqlErr};

pub use crate::kernel::error::{ErrorCode, UserError};

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// One or more problems with the caller's input; nothing was written.
    #[error("invalid input: {}", .0.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; "))]
    User(Vec<UserError>),
    #[error("database error")]
    Db(#[from] DbErr),
    /// A service the step needs is down, the step itself is not at fault
    /// (mapped where the port's error enters the domain, see the `From`
    /// impls below). A job retries it soon without counting the attempt
    /// (`outbox::retry_soon`).
    #[error("{message}")]
    Unavailable { service: Service, message: String },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<UserError> for DomainError {
    fn from(e: UserError) -> Self {
        Self::User(vec![e])
    }
}

/// The problems `kernel::validate` collected.
impl From<Vec<UserError>> for DomainError {
    fn from(e: Vec<UserError>) -> Self {
        Self::User(e)
    }
}

/// The outside services a step can find down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Database,
    Gateway,
    Mail,
}

impl DomainError {
    /// To the person who asked: a gateway that did not answer has neither
    /// made nor refused what was asked (a refund stays `PENDING`, and its
    /// `ResolveRefund` job settles it once the outcome is known), so the
    /// answer is `GATEWAY_UNAVAILABLE` on `field`, never `GATEWAY_REFUSED`.
    pub fn unanswered(self, field: &str) -> Self {
        if !self.is_unavailable() {
            return self;
        }
        UserError {
            field: vec![field.to_string()],
            message: "the payment processor did not answer; this is settled automatically once its outcome is known".into(),
            code: ErrorCode::GatewayUnavailable,
        }
        .into()
    }

    pub fn unavailable(service: Service, message: impl Into<String>) -> Self {
        Self::Unavailable {
            service,
            message: message.into(),
        }
    }

    /// A service the step needs was unavailable: the mail server
    /// unreachable, the payment gateway unavailable (a 5xx or no answer,
    /// retried with the same idempotency key), the database connection lost
    /// (a PostgreSQL restart).
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Unavailable { .. } => true,
            Self::Db(err) => connection_lost(err),
            Self::User(_) | Self::Internal(_) => false,
        }
    }

    /// Maps a unique-constraint violation to a user error, anything else stays internal.
    pub fn unique_as(err: DbErr, user: UserError) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => Self::User(vec![user]),
            _ => Self::Db(err),
        }
    }
}

/// The database connection failed (not the statement).
fn connection_lost(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    match err {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => true,
        DbErr::Query(RuntimeErr::SqlxError(e)) | DbErr::Exec(RuntimeErr::SqlxError(e)) => {
            matches!(
                e.as_ref(),
                Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed
            )
        }
        _ => false,
    }
}

/// The gateway's port boundary: "unavailable" (the outcome unknown, retry
/// with the same key) becomes the typed `Unavailable`, anything else is a
/// failure of the step.
impl From<GatewayError> for DomainError {
    fn from(err: GatewayError) -> Self {
        match err {
            GatewayError::Unavailable(_) => Self::unavailable(Service::Gateway, err.to_string()),
            other => Self::Internal(anyhow::Error::new(other)),
        }
    }
}

/// An amount or currency read back from storage that does not make sense
/// (user input is checked, and mapped to a `UserError`, where it enters).
impl From<crate::kernel::money::MoneyError> for DomainError {
    fn from(err: crate::kernel::money::MoneyError) -> Self {
        Self::Internal(anyhow::Error::new(err))
    }
}

/// The mailer's port boundary: no SMTP conversation at all is the typed
/// `Unavailable`; a refused email is a failure of the step.
impl From<MailError> for DomainError {
    fn from(err: MailError) -> Self {
        match err {
            MailError::Unreachable(_) => Self::unavailable(Service::Mail, err.to_string()),
            other => Self::Internal(anyhow::Error::new(other)),
        }
    }
}

pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

pub type DomainResult<T> = Result<T, DomainError>;
