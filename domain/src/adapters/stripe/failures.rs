//! Stripe's refusals sorted into what the callers distinguish (a declined
//! card, a missing object, a reused key, everything else), and transport
//! failures, with a message for the logs that carries no secret.

use super::Response;
use super::wire::ErrorEnvelope;
use crate::ports::gateway::GatewayError;
use reqwest::StatusCode;
use std::time::Duration;

/// A non-2xx answer, sorted into what the callers distinguish.
pub(super) enum Failure {
    /// `card_error`: the card was declined.
    Card { code: String, message: String },
    /// 404 / `resource_missing`, or an invalid request about the payment method.
    Missing { code: String, message: String },
    /// `idempotency_error`: the key was used with other parameters.
    Idempotency,
    /// Everything else, with a message for the logs (no secrets in it).
    Other(String),
}

/// A refusal of a call that charges no card (refunds, Customers, Checkout
/// Sessions): a key reused with other parameters, or unavailable with
/// Stripe's reason for the logs.
pub(super) fn refused(response: &Response, what: &str) -> GatewayError {
    match classify(response) {
        Failure::Idempotency => GatewayError::IdempotencyMismatch,
        Failure::Other(message) => GatewayError::Unavailable(message),
        Failure::Card { code, message } | Failure::Missing { code, message } => {
            GatewayError::Unavailable(format!("Stripe refused the {what} ({code}): {message}"))
        }
    }
}

pub(super) fn classify(response: &Response) -> Failure {
    let status = response.status;
    let request_id = response.request_id.as_deref().unwrap_or("-");
    let error = serde_json::from_str::<ErrorEnvelope>(&response.body)
        .map(|e| e.error)
        .unwrap_or_default();
    let kind = error.kind.as_deref().unwrap_or("");
    let code = error.code.clone().unwrap_or_default();
    let message = error.message.clone().unwrap_or_default();
    let detail = || {
        format!(
            "HTTP {}, type `{kind}`, code `{code}`, request {request_id}: {message}",
            status.as_u16()
        )
    };
    if kind == "idempotency_error" {
        return Failure::Idempotency;
    }
    if kind == "card_error" || status == StatusCode::PAYMENT_REQUIRED {
        return Failure::Card {
            code: error
                .decline_code
                .filter(|c| !c.is_empty())
                .or(error.code)
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| "card_declined".into()),
            message: error
                .message
                .unwrap_or_else(|| "Your card was declined.".into()),
        };
    }
    if status == StatusCode::UNAUTHORIZED {
        tracing::error!(request_id, "Stripe rejected the API key (HTTP 401)");
        return Failure::Other(format!(
            "Stripe rejected the API key (HTTP 401, request {request_id}): fix the configured \
             secret key; the attempt stays pending and is retried with the same idempotency key"
        ));
    }
    if status == StatusCode::FORBIDDEN {
        tracing::error!(request_id, "Stripe API key lacks a permission (HTTP 403)");
        return Failure::Other(format!(
            "the Stripe API key may not do this ({}); the attempt is retried with the same \
             idempotency key",
            detail()
        ));
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        tracing::warn!(request_id, "Stripe rate limit (HTTP 429)");
        return Failure::Other(format!("Stripe rate limit, retry later ({})", detail()));
    }
    if status.is_server_error() || kind == "api_error" {
        tracing::warn!(request_id, status = status.as_u16(), "Stripe server error");
        return Failure::Other(format!(
            "Stripe server error, outcome unknown ({})",
            detail()
        ));
    }
    if status == StatusCode::CONFLICT {
        return Failure::Other(format!(
            "a request with this idempotency key is still in progress at Stripe ({})",
            detail()
        ));
    }
    if status == StatusCode::NOT_FOUND
        || code == "resource_missing"
        || (kind == "invalid_request_error" && error.param.as_deref() == Some("payment_method"))
    {
        return Failure::Missing { code, message };
    }
    tracing::error!(
        request_id,
        status = status.as_u16(),
        kind,
        code = %code,
        "Stripe refused the request"
    );
    Failure::Other(format!("Stripe refused the request ({})", detail()))
}

pub(super) fn transport_error(
    endpoint: &str,
    error: &reqwest::Error,
    timeout: Duration,
) -> GatewayError {
    let what = if error.is_timeout() {
        format!("no answer within {timeout:?}")
    } else if error.is_connect() {
        "could not connect".to_string()
    } else {
        "the connection failed".to_string()
    };
    tracing::warn!(endpoint, error = %error, "Stripe request failed: {what}");
    GatewayError::Unavailable(format!(
        "Stripe {endpoint}: {what}; the outcome is unknown, retry with the same idempotency key"
    ))
}
