//! Stripe's webhook signature scheme, used both ways: `POST /webhooks/stripe`
//! verifies it (`app::webhooks`), and the simulated gateway and the gallery
//! webhooks sign their own events with it.
//!
//! `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t.body")>`;
//! several `v1` entries may be present while a secret is being rolled. The
//! comparison is constant-time (`Mac::verify_slice`), and a timestamp further
//! than the tolerance from now is refused so a captured request cannot be
//! replayed later.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::SecretString;
use sha2::Sha256;

/// The secret `POST /webhooks/stripe` verifies with: the configured one, or,
/// with the simulated gateway, one derived from the application secret (the
/// simulated gateway signs its events with the same).
pub fn webhook_secret(ctx: &crate::infra::context::AppContext) -> Option<SecretString> {
    if let Some(secret) = &ctx.settings.gateway.stripe_webhook_secret {
        return Some(secret.clone());
    }
    ctx.settings
        .test_mode()
        .then(|| SecretString::from(ctx.secret.derive("simulated-webhook-signing", "whsec_")))
}

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing")]
    Missing,
    #[error("the Stripe-Signature header has no timestamp or no v1 signature")]
    Malformed,
    #[error(
        "the signed timestamp is {age_secs} s from now, beyond the {tolerance_secs} s tolerance"
    )]
    OutsideTolerance { age_secs: i64, tolerance_secs: i64 },
    #[error("no v1 signature matches the payload")]
    Mismatch,
}

impl SignatureError {
    /// Stable code for the response body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "SIGNATURE_MISSING",
            Self::Malformed => "SIGNATURE_MALFORMED",
            Self::OutsideTolerance { .. } => "TIMESTAMP_OUTSIDE_TOLERANCE",
            Self::Mismatch => "SIGNATURE_MISMATCH",
        }
    }
}

/// HMAC-SHA256 over `"{timestamp}.{payload}"`; `None` only if the MAC
/// rejected the key, which HMAC never does (it takes keys of any length).
fn mac(secret: &str, timestamp: i64, payload: &[u8]) -> Option<HmacSha256> {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    Some(mac)
}

/// The `Stripe-Signature` header value for `payload` signed at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    let signature = mac(secret, timestamp, payload)
        .map(|m| hex::encode(m.finalize().into_bytes()))
        .unwrap_or_default();
    format!("t={timestamp},v1={signature}")
}

/// Checks a `Stripe-Signature` header against the raw payload and returns the
/// signed timestamp.
pub fn verify(
    secret: &str,
    header: Option<&str>,
    payload: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<i64, SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for item in header.split(',') {
        match item.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => {
                if let Ok(bytes) = hex::decode(value) {
                    candidates.push(bytes);
                }
            }
            // v0 (test-mode legacy) and unknown schemes are ignored, as Stripe's libraries do.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let age_secs = now - timestamp;
    if age_secs.abs() > tolerance_secs {
        return Err(SignatureError::OutsideTolerance {
            age_secs,
            tolerance_secs,
        });
    }
    let expected = mac(secret, timestamp, payload).ok_or(SignatureError::Mismatch)?;
    if candidates
        .iter()
        .any(|candidate| expected.clone().verify_slice(candidate).is_ok())
    {
        Ok(timestamp)
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// POSTs a JSON `body` to `url`, signed now with `secret` in the header
/// `header` (`Stripe-Signature` for the simulated gateway's events,
/// `Studio-Signature` for a studio's gallery webhooks). Anything but a 2xx
/// answer is an error, so the outbox retries the delivery.
pub async fn post_signed(
    url: &str,
    header: &str,
    secret: &str,
    body: Vec<u8>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let signature = sign(secret, now.timestamp(), &body);
    let response = reqwest::Client::new()
        .post(url)
        .timeout(std::time::Duration::from_secs(15))
        .header("content-type", "application/json")
        .header(header, signature)
        .body(body)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("webhook to {url}: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        anyhow::bail!("webhook to {url} answered {status}: {text}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;

    #[test]
    fn a_signed_payload_verifies() {
        let header = sign(SECRET, 1_700_000_000, BODY);
        assert_eq!(
            verify(SECRET, Some(&header), BODY, 1_700_000_100, 300),
            Ok(1_700_000_000)
        );
    }

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Computed independently: Python's
        // hmac.new(b"whsec_test_secret", b"1700000000.{}", hashlib.sha256).hexdigest()
        assert_eq!(
            sign(SECRET, 1_700_000_000, b"{}"),
            "t=1700000000,v1=ceb8863f7208fa249a6cd8f951e993c7563412aca65866f6272283debe143ab3"
        );
    }

    #[test]
    fn tampering_and_wrong_secrets_are_refused() {
        let header = sign(SECRET, 1_700_000_000, BODY);
        let tampered = br#"{"id":"evt_1","type":"payment_intent.succeeded "}"#;
        assert_eq!(
            verify(SECRET, Some(&header), tampered, 1_700_000_000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("whsec_other", Some(&header), BODY, 1_700_000_000, 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn old_and_future_timestamps_are_refused() {
        let header = sign(SECRET, 1_700_000_000, BODY);
        assert!(matches!(
            verify(SECRET, Some(&header), BODY, 1_700_000_301, 300),
            Err(SignatureError::OutsideTolerance { age_secs: 301, .. })
        ));
        assert!(matches!(
            verify(SECRET, Some(&header), BODY, 1_699_999_699, 300),
            Err(SignatureError::OutsideTolerance { age_secs: -301, .. })
        ));
        assert!(verify(SECRET, Some(&header), BODY, 1_700_000_300, 300).is_ok());
    }

    #[test]
    fn any_of_several_signatures_may_match() {
        let good = sign(SECRET, 1_700_000_000, BODY);
        let other = sign("whsec_old", 1_700_000_000, BODY);
        let header = format!("{},{}", other, &good[good.find("v1=").unwrap_or(0)..]);
        assert!(verify(SECRET, Some(&header), BODY, 1_700_000_000, 300).is_ok());
    }

    #[test]
    fn malformed_headers_are_named() {
        assert_eq!(
            verify(SECRET, None, BODY, 0, 300),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(SECRET, Some("v1=abcd"), BODY, 0, 300),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(SECRET, Some("t=0"), BODY, 0, 300),
            Err(SignatureError::Malformed)
        );
    }
}
