//! Security headers on every response, added in one place so no page can
//! forget them. HTML pages show invoices, payment forms, galleries and the
//! dashboard: they may not be framed, cached, or leak their URL (a portal or
//! gallery link is a bearer secret) through `Referer`.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;

/// Pages are server-rendered with inline styles and no scripts. Images may
/// come from the studio's photo host (https); forms post to this site, or
/// hand over to a payment provider's hosted page (https).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; form-action 'self' https:; frame-ancestors 'none'; base-uri 'none'";

fn set_if_absent(headers: &mut HeaderMap, name: HeaderName, value: &'static str) {
    if !headers.contains_key(&name) {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    set_if_absent(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set_if_absent(headers, header::REFERRER_POLICY, "no-referrer");
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html {
        // GraphiQL (development only) runs its own embedded scripts and sets
        // its own policy ('self' only, `graphql::graphiql`), which is kept.
        set_if_absent(
            headers,
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY,
        );
        set_if_absent(headers, header::X_FRAME_OPTIONS, "DENY");
        // Every page shows something private (an invoice, a card form, a
        // gallery, the studio's figures) or a login form.
        set_if_absent(headers, header::CACHE_CONTROL, "no-store");
    }
    Ok(res)
}
