//! Request ids: taken from `x-request-id` or generated, put on the request's
//! span, echoed in the response, and carried into the jobs the request causes.
//!
//! Bearer secrets in URLs (`/pay/{token}`, `/gallery/...`, `/card-setup/...`)
//! never reach logs or metrics: spans carry `loggable_path`, metrics the
//! route pattern.

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument;

#[derive(Clone, Debug)]
pub struct RequestId(pub String);

const HEADER: &str = "x-request-id";

pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("http", method = %req.method(), path = %loggable_path(req.path()), request_id = %id);
    let method = req.method().to_string();
    let started = std::time::Instant::now();
    let mut res = next.call(req).instrument(span.clone()).await?;
    // The route pattern (`/pay/{token}`), never the raw path: bounded labels.
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    let status = res.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    span.in_scope(|| tracing::debug!(status = res.status().as_u16(), "request finished"));
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static(HEADER), value);
    }
    Ok(res)
}

/// The longest path written to a log line.
const MAX_LOGGED_PATH: usize = 200;

/// The request path as it may be logged: the segment after `/pay/` (a portal
/// token) and after `/gallery/` (a gallery's link) is a bearer secret, so it
/// is replaced by `{redacted}`. API keys travel only in headers and
/// `connection_init`, which are never logged. Metrics use the route pattern.
pub fn loggable_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len().min(MAX_LOGGED_PATH));
    let mut redact_next = false;
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if redact_next && !segment.is_empty() {
            out.push_str("{redacted}");
        } else {
            out.push_str(segment);
        }
        redact_next = i == 1 && matches!(segment, "pay" | "gallery" | "card-setup");
        if out.len() > MAX_LOGGED_PATH {
            out.truncate(MAX_LOGGED_PATH);
            out.push('…');
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn bearer_secrets_in_paths_are_redacted() {
        assert_eq!(loggable_path("/pay/abc123"), "/pay/{redacted}");
        assert_eq!(
            loggable_path("/pay/abc123/invoice.pdf"),
            "/pay/{redacted}/invoice.pdf"
        );
        assert_eq!(
            loggable_path("/gallery/tok/photos/3"),
            "/gallery/{redacted}/photos/3"
        );
        assert_eq!(loggable_path("/graphql"), "/graphql");
        assert_eq!(loggable_path("/dashboard/pay/x"), "/dashboard/pay/x");
        assert!(loggable_path(&"/a".repeat(1000)).chars().count() <= 201);
    }
}
