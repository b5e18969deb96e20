//! What a process says when it cannot start: one or two lines that name the
//! setting (and its environment variable), its value with any password
//! masked, and what to do.

use crate::infra::settings::Settings;

/// How long a process waits for a service at start before it gives up.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// `scheme://user:***@host/...`: the URL with its password (if any) masked.
pub fn mask_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() && url.set_password(Some("***")).is_err() {
                return "<a URL that cannot be shown>".into();
            }
            url.to_string()
        }
        // Not a URL at all: show nothing of it past a possible `user:`.
        Err(_) => match raw.split_once('@') {
            Some((_, host)) => format!("***@{host}"),
            None => raw.to_string(),
        },
    }
}

/// The message for a listener that cannot be bound on `http.host:http.port`.
pub fn bind_error(settings: &Settings, err: &std::io::Error) -> String {
    let (host, port) = (&settings.http.host, settings.http.port);
    match err.kind() {
        std::io::ErrorKind::AddrInUse => format!(
            "http.port (PORT) {port} on {host} is already in use by another process: stop that process, or set PORT to a free port"
        ),
        std::io::ErrorKind::AddrNotAvailable => format!(
            "http.host (APP__HTTP__HOST) {host} is not an address of this machine: use 127.0.0.1, 0.0.0.0 or one of its addresses"
        ),
        std::io::ErrorKind::PermissionDenied => format!(
            "http.port (PORT) {port} on {host} needs privileges this process lacks: use a port above 1023"
        ),
        _ => format!("cannot listen on {host}:{port} (http.host, http.port / PORT): {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_masked() {
        assert_eq!(
            mask_url("postgres://billing:s3cret@db.internal:5432/billing"),
            "postgres://billing:***@db.internal:5432/billing"
        );
        assert_eq!(
            mask_url("redis://:s3cret@127.0.0.1:6379"),
            "redis://:***@127.0.0.1:6379"
        );
        assert_eq!(
            mask_url("postgres://postgres@127.0.0.1:1/x"),
            "postgres://postgres@127.0.0.1:1/x"
        );
        assert!(!mask_url("not a url:s3cret@host").contains("s3cret"));
    }
}
