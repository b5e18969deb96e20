//! The domain's error type: user-facing errors carry a stable code; internal
//! causes are logged and never shown to clients.

use sea_orm::{DbErr, SqlErr};

pub use crate::kernel::error::{ErrorCode, UserError};

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// One or more problems with the caller's input; nothing was written.
    #[error("invalid input: {}", .0.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; "))]
    User(Vec<UserError>),
    #[error("database error")]
    Db(#[from] DbErr),
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

impl DomainError {
    /// Maps a unique-constraint violation to a user error, anything else stays internal.
    pub fn unique_as(err: DbErr, user: UserError) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => Self::User(vec![user]),
            _ => Self::Db(err),
        }
    }
}

pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

pub type DomainResult<T> = Result<T, DomainError>;
