//! The simulated gateway's own webhooks: for each charge and refund it
//! records, it delivers a Stripe-shaped event, signed the way Stripe signs,
//! to this deployment's `POST /webhooks/stripe`. The delivery is an outbox
//! job written with the gateway's record, so it survives crashes and is
//! retried with back-off like any step; the event id is derived from the
//! record, so a redelivery is recognised by the receiver.

use crate::infra::context::AppContext;
use crate::infra::error::DomainResult;
use crate::infra::signature;
use entity::simulated_charge;
use sea_orm::EntityTrait;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

/// The Stripe-shaped event for one record of the simulated gateway.
pub fn event_for(record: &simulated_charge::Model) -> Value {
    let currency = record.currency.to_ascii_lowercase();
    let metadata = json!({ "idempotency_key": record.idempotency_key });
    let (kind, object) = match (&record.refund_of, record.succeeded) {
        (Some(charge), succeeded) => (
            "refund.updated",
            json!({
                "id": record.reference,
                "object": "refund",
                "amount": record.amount_minor,
                "currency": currency,
                "payment_intent": charge,
                "status": if succeeded { "succeeded" } else { "failed" },
                "failure_reason": record.decline_code,
                "metadata": metadata,
            }),
        ),
        (None, true) => (
            "payment_intent.succeeded",
            json!({
                "id": record.reference,
                "object": "payment_intent",
                "amount": record.amount_minor,
                "amount_received": record.amount_minor,
                "currency": currency,
                "status": "succeeded",
                "payment_method": record.token,
                "metadata": metadata,
            }),
        ),
        (None, false) => (
            "payment_intent.payment_failed",
            json!({
                "id": record.reference,
                "object": "payment_intent",
                "amount": record.amount_minor,
                "amount_received": 0,
                "currency": currency,
                "status": "requires_payment_method",
                "payment_method": record.token,
                "last_payment_error": {
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": record.decline_code,
                    "message": "Your card was declined.",
                },
                "metadata": metadata,
            }),
        ),
    };
    json!({
        "id": format!("evt_{}", record.reference),
        "object": "event",
        "api_version": crate::adapters::stripe::STRIPE_API_VERSION,
        "created": record.created_at.timestamp(),
        "livemode": false,
        "type": kind,
        "data": { "object": object },
    })
}

/// Signs and POSTs the event of the gateway record `key` to this
/// deployment's webhook endpoint. Any answer but 2xx is an error, retried.
pub async fn deliver(ctx: &AppContext, key: &str) -> DomainResult<()> {
    if key.starts_with(crate::adapters::sim_checkout::EVENT_KEY_PREFIX) {
        let Some(event) = crate::adapters::sim_checkout::event_for(&ctx.db, key)
            .await
            .map_err(anyhow::Error::new)?
        else {
            tracing::warn!(key, "no simulated checkout session; nothing to deliver");
            return Ok(());
        };
        return post(ctx, &event).await;
    }
    if key.starts_with(crate::adapters::sim_disputes::EVENT_KEY_PREFIX) {
        let Some(event) = crate::adapters::sim_disputes::event_for(&ctx.db, key)
            .await
            .map_err(anyhow::Error::new)?
        else {
            tracing::warn!(key, "no simulated dispute; nothing to deliver");
            return Ok(());
        };
        return post(ctx, &event).await;
    }
    let Some(record) = simulated_charge::Entity::find_by_id(key.to_string())
        .one(&ctx.db)
        .await?
    else {
        tracing::warn!(key, "no simulated gateway record; nothing to deliver");
        return Ok(());
    };
    post(ctx, &event_for(&record)).await?;
    tracing::info!(key, reference = %record.reference, "simulated webhook delivered");
    Ok(())
}

async fn post(ctx: &AppContext, event: &Value) -> DomainResult<()> {
    let secret = signature::webhook_secret(ctx)
        .ok_or_else(|| anyhow::anyhow!("no webhook signing secret for the simulated gateway"))?;
    let body = serde_json::to_vec(event).map_err(anyhow::Error::from)?;
    let url = format!("{}/webhooks/stripe", ctx.settings.public_url());
    signature::post_signed(
        &url,
        "stripe-signature",
        secret.expose_secret(),
        body,
        ctx.clock.now(),
    )
    .await?;
    Ok(())
}
