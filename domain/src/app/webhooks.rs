//! `POST /webhooks/stripe`, end to end: verify the signature over the exact
//! bytes received (nothing is read before), let the gateway adapter read
//! Stripe's event into a typed `GatewayEvent`, and hand it to
//! `billing::webhooks`, which stores it once and applies it.

use crate::adapters::stripe::parse_event;
use crate::billing::webhooks::{self, Receipt, WebhookError};
use crate::infra::context::AppContext;
use crate::infra::signature;
use secrecy::ExposeSecret;

/// Verifies, reads, stores once and applies one delivery.
pub async fn receive(
    ctx: &AppContext,
    signature_header: Option<&str>,
    body: &[u8],
) -> Result<Receipt, WebhookError> {
    let secret = signature::webhook_secret(ctx).ok_or(WebhookError::NotConfigured)?;
    signature::verify(
        secret.expose_secret(),
        signature_header,
        body,
        ctx.clock.now().timestamp(),
        ctx.settings.gateway.webhook_tolerance_secs,
    )?;
    let raw = std::str::from_utf8(body)
        .map_err(|_| WebhookError::Malformed("the body is not UTF-8".into()))?;
    let delivery = parse_event(raw).map_err(WebhookError::Malformed)?;
    webhooks::apply_delivery(ctx, raw, delivery).await
}
