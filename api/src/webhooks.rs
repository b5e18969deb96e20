//! `POST /webhooks/stripe`: the gateway's events in. The handler only hands
//! the raw body and the signature header to `domain::app::webhooks::receive` (the
//! signature is computed over the exact bytes, so nothing parses them first)
//! and maps the result to the status codes Stripe acts on: 2xx = delivered,
//! anything else = deliver again later.

use actix_web::{HttpRequest, HttpResponse, web};
use domain::AppContext;
use domain::app::webhooks;
use domain::billing::webhooks::{Receipt, WebhookError};
use serde_json::json;

pub async fn stripe(
    request: HttpRequest,
    body: web::Bytes,
    app: web::Data<AppContext>,
) -> HttpResponse {
    let signature = request
        .headers()
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    match webhooks::receive(&app, signature, &body).await {
        Ok(receipt) => {
            let (status, detail) = match receipt {
                Receipt::Processed(detail) => ("processed", Some(detail)),
                Receipt::Ignored(detail) => ("ignored", Some(detail)),
                Receipt::Duplicate => ("duplicate", None),
            };
            HttpResponse::Ok().json(json!({ "received": true, "status": status, "detail": detail }))
        }
        Err(WebhookError::Signature(e)) => {
            tracing::warn!(error = %e, "webhook refused: bad signature");
            HttpResponse::BadRequest()
                .json(json!({ "error": { "code": e.code(), "message": e.to_string() } }))
        }
        Err(WebhookError::Malformed(why)) => {
            tracing::warn!(%why, "webhook refused: malformed event");
            HttpResponse::BadRequest()
                .json(json!({ "error": { "code": "MALFORMED_EVENT", "message": why } }))
        }
        Err(e @ WebhookError::NotConfigured) => {
            tracing::error!(error = %e, "webhook received but no signing secret is configured");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "error": { "code": "NOT_CONFIGURED", "message": e.to_string() } }))
        }
        Err(WebhookError::Internal(e)) => {
            // Rolled back: Stripe delivers it again, and it is applied then.
            tracing::error!(error = ?e, "webhook failed; the gateway will redeliver it");
            HttpResponse::InternalServerError()
                .json(json!({ "error": { "code": "INTERNAL", "message": "try again later" } }))
        }
    }
}
