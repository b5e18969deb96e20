//! Request body size, limited for every route before any handler or
//! extractor reads the body (async-graphql's extractor reads it all).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, web};
use domain::AppContext;
use futures::StreamExt;

/// The stable code of a refused body (`413`), in the GraphQL error shape.
pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";

fn too_large(req: ServiceRequest, limit: usize) -> ServiceResponse<BoxBody> {
    let body = serde_json::json!({
        "errors": [{
            "message": format!("the request body is larger than {limit} bytes"),
            "extensions": { "code": PAYLOAD_TOO_LARGE },
        }]
    });
    let response = HttpResponse::PayloadTooLarge()
        // The rest of an oversized body is never read: don't reuse the connection.
        .force_close()
        .json(body);
    req.into_response(response)
}

/// Refuses a body over `http.max_body_bytes` with `413`: at once when its
/// `Content-Length` says so, else as soon as the streamed bytes pass it. A
/// body within the limit is buffered and handed on unchanged. Requests
/// without a body (GET, the WebSocket upgrade) pass through untouched.
pub async fn body_limit(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let limit = req
        .app_data::<web::Data<AppContext>>()
        .map(|app| app.settings.http.max_body_bytes)
        .unwrap_or(256 * 1024);
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Ok(too_large(req, limit));
    }
    let has_body =
        declared.is_some_and(|n| n > 0) || req.headers().contains_key("transfer-encoding");
    if has_body {
        let mut payload = req.take_payload();
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk?;
            if body.len().saturating_add(chunk.len()) > limit {
                return Ok(too_large(req, limit));
            }
            body.extend_from_slice(&chunk);
        }
        req.set_payload(Payload::from(body.freeze()));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}
