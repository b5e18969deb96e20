//! The source address of a request, for failed-login limits: the
//! connection's peer; behind a configured trusted proxy
//! (`http.trusted_proxies`), the address that proxy saw, from the right end
//! of `X-Forwarded-For` (entries left of the last untrusted hop are what a
//! client wrote itself and are never believed).

use actix_web::HttpRequest;
use std::net::IpAddr;

pub fn source_ip(req: &HttpRequest, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip().to_canonical();
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    // Right to left: each trusted hop vouches for the one before it.
    let mut source = peer;
    for hop in forwarded.into_iter().rev() {
        let Ok(hop) = hop.parse::<IpAddr>() else {
            break;
        };
        source = hop.to_canonical();
        if !trusted.contains(&source) {
            break;
        }
    }
    Some(source)
}

/// The request's source address as text (the gallery's log).
pub fn client_address(req: &HttpRequest, app: &domain::AppContext) -> Option<String> {
    let trusted = app.settings.trusted_proxies().unwrap_or_default();
    source_ip(req, &trusted).map(|ip| ip.to_string())
}

/// The subject a request's failed logins count against.
pub fn login_source(req: &HttpRequest, app: &domain::AppContext) -> String {
    let trusted = app.settings.trusted_proxies().unwrap_or_default();
    source_ip(req, &trusted)
        .map(domain::studio::login_limits::address_subject)
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let req = TestRequest::default()
            .peer_addr("10.0.0.1:5000".parse().unwrap())
            .insert_header(("x-forwarded-for", "203.0.113.9"))
            .to_http_request();
        // Not configured: the header is anyone's to write.
        assert_eq!(source_ip(&req, &[]), Some(ip("10.0.0.1")));
        assert_eq!(source_ip(&req, &[ip("10.0.0.1")]), Some(ip("203.0.113.9")));
    }

    #[test]
    fn a_client_cannot_prepend_addresses_to_hide_behind() {
        // The client wrote "1.1.1.1"; the proxy appended what it saw.
        let req = TestRequest::default()
            .peer_addr("10.0.0.1:5000".parse().unwrap())
            .insert_header(("x-forwarded-for", "1.1.1.1, 198.51.100.4"))
            .to_http_request();
        assert_eq!(source_ip(&req, &[ip("10.0.0.1")]), Some(ip("198.51.100.4")));
        // Two trusted proxies in a row are skipped.
        let req = TestRequest::default()
            .peer_addr("10.0.0.1:5000".parse().unwrap())
            .insert_header(("x-forwarded-for", "1.1.1.1, 198.51.100.4, 10.0.0.2"))
            .to_http_request();
        assert_eq!(
            source_ip(&req, &[ip("10.0.0.1"), ip("10.0.0.2")]),
            Some(ip("198.51.100.4"))
        );
        // Garbage written by the client does not hide what the proxy saw.
        let req = TestRequest::default()
            .peer_addr("10.0.0.1:5000".parse().unwrap())
            .insert_header(("x-forwarded-for", "not-an-ip, 198.51.100.4"))
            .to_http_request();
        assert_eq!(source_ip(&req, &[ip("10.0.0.1")]), Some(ip("198.51.100.4")));
    }
}
