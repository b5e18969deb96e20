//! User-facing errors: a problem the caller can fix, with a stable code.
//! (`infra::error::DomainError` wraps them with the internal causes.)

use serde::Serialize;

/// Stable codes, documented in the README; clients may match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    InvalidInput,
    NotFound,
    InvalidState,
    Duplicate,
    Unauthenticated,
    /// An idempotency key was replayed with different parameters.
    IdempotencyKeyReused,
    /// The payment gateway refused the operation (e.g. a refund).
    GatewayRefused,
    /// The payment gateway did not answer: the operation is neither made
    /// nor refused yet, and is settled automatically once its outcome is
    /// known (a refund stays `PENDING`).
    GatewayUnavailable,
    /// The amounts add up to more than can be invoiced (minor units beyond
    /// 64 bits): refused when the session is scheduled.
    AmountTooLarge,
    /// A money input that is not plain decimal notation (`1e3`, `NaN`, `""`).
    InvalidAmount,
    /// A percentage input that is not plain decimal notation or is out of
    /// its range (`"1e1"`, `"NaN"`, `"-1"`, `"100.0001"`).
    InvalidPercent,
    /// `markCreditRepaid` on a credit already repaid under another reference.
    AlreadyRepaid,
    /// `markCreditRepaid` on an invoice that owes its client nothing.
    NothingOwed,
    /// A payment plan whose parts do not add up to its total.
    PartsDoNotAddUp,
    /// The payers' shares of an invoice do not add up to its amount due.
    SharesDoNotAddUp,
    /// A payment plan part due on or before the part before it.
    DatesOutOfOrder,
    /// A payment plan part due before today.
    DateInPast,
    /// A payment plan part below the payment processor's minimum charge.
    BelowMinimum,
    /// A payment plan with no part or more than `kernel::plan::MAX_PARTS`.
    TooManyParts,
    /// A payment plan the lending rules do not allow (more than
    /// `kernel::plan::MAX_PARTS_AFTER_SESSION` parts after the session).
    PlanGuardrail,
    /// A card surcharge where surcharging consumer cards is banned, as a
    /// fixed amount, or above the card networks' cap.
    SurchargeNotAllowed,
    Internal,
}

impl ErrorCode {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::InvalidInput => "INVALID_INPUT",
            Self::NotFound => "NOT_FOUND",
            Self::InvalidState => "INVALID_STATE",
            Self::Duplicate => "DUPLICATE",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            Self::GatewayRefused => "GATEWAY_REFUSED",
            Self::GatewayUnavailable => "GATEWAY_UNAVAILABLE",
            Self::AmountTooLarge => "AMOUNT_TOO_LARGE",
            Self::InvalidAmount => "INVALID_AMOUNT",
            Self::InvalidPercent => "INVALID_PERCENT",
            Self::AlreadyRepaid => "ALREADY_REPAID",
            Self::NothingOwed => "NOTHING_OWED",
            Self::PartsDoNotAddUp => "PARTS_DO_NOT_ADD_UP",
            Self::SharesDoNotAddUp => "SHARES_DO_NOT_ADD_UP",
            Self::DatesOutOfOrder => "DATES_OUT_OF_ORDER",
            Self::DateInPast => "DATE_IN_PAST",
            Self::BelowMinimum => "BELOW_MINIMUM",
            Self::TooManyParts => "TOO_MANY_PARTS",
            Self::PlanGuardrail => "PLAN_GUARDRAIL",
            Self::SurchargeNotAllowed => "SURCHARGE_NOT_ALLOWED",
            Self::Internal => "INTERNAL",
        }
    }
}

/// A problem the caller can fix, with the input field it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserError {
    pub field: Vec<String>,
    pub message: String,
    pub code: ErrorCode,
}

impl UserError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.split('.').map(str::to_string).collect(),
            message: message.into(),
            code: ErrorCode::InvalidInput,
        }
    }

    pub fn surcharge(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.split('.').map(str::to_string).collect(),
            message: message.into(),
            code: ErrorCode::SurchargeNotAllowed,
        }
    }

    pub fn not_found(field: &str, what: &str) -> Self {
        Self {
            field: field.split('.').map(str::to_string).collect(),
            message: format!("{what} not found"),
            code: ErrorCode::NotFound,
        }
    }

    pub fn state(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.split('.').map(str::to_string).collect(),
            message: message.into(),
            code: ErrorCode::InvalidState,
        }
    }

    pub fn key_reused(field: &str) -> Self {
        Self {
            field: field.split('.').map(str::to_string).collect(),
            message: "this idempotency key was already used for a different request".into(),
            code: ErrorCode::IdempotencyKeyReused,
        }
    }

    pub fn too_large(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.split('.').map(str::to_string).collect(),
            message: message.into(),
            code: ErrorCode::AmountTooLarge,
        }
    }

    /// An error with one of the specific codes (`ALREADY_REPAID`...).
    pub fn with_code(field: &str, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            field: field.split('.').map(str::to_string).collect(),
            message: message.into(),
            code,
        }
    }

    pub fn duplicate(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.split('.').map(str::to_string).collect(),
            message: message.into(),
            code: ErrorCode::Duplicate,
        }
    }
}

/// What a caught panic said (`panic!("...")` carries a `&str` or a
/// `String`). The one place a payload is downcast: errors are typed
/// (`DomainError`), never recognised by downcasting.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}
