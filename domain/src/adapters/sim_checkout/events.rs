//! The Stripe-shaped events of the simulated gateway's hosted sessions
//! (`checkout.session.*`, `setup_intent.succeeded`), for
//! `sim_webhooks::deliver`.

use super::{EVENT_KEY_PREFIX, SETUP, find};
use crate::ports::gateway::GatewayError;
use entity::simulated_checkout;
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

/// The Stripe-shaped `checkout.session.{kind}` event of a hosted session,
/// for `sim_webhooks::deliver` (key `checkout:{id}:{kind}`).
pub async fn event_for(db: &DatabaseConnection, key: &str) -> Result<Option<Value>, GatewayError> {
    let Some(rest) = key.strip_prefix(EVENT_KEY_PREFIX) else {
        return Ok(None);
    };
    let Some((id, kind)) = rest.rsplit_once(':') else {
        return Ok(None);
    };
    let Some(row) = find(db, id).await? else {
        return Ok(None);
    };
    // `setup_intent.succeeded` names its own type; the rest are
    // `checkout.session.{kind}`.
    let (kind, object) = if kind == SETUP_INTENT_SUCCEEDED {
        (kind.to_string(), setup_intent_json(&row))
    } else {
        (format!("checkout.session.{kind}"), session_json(&row))
    };
    Ok(Some(json!({
        "id": format!("evt_{id}_{kind}"),
        "object": "event",
        "api_version": crate::adapters::stripe::STRIPE_API_VERSION,
        "created": row.updated_at.timestamp(),
        "livemode": false,
        "type": kind,
        "data": { "object": object },
    })))
}

pub(super) const SETUP_INTENT_SUCCEEDED: &str = "setup_intent.succeeded";

/// A SetupIntent as Stripe's events show it (`payment_method` an id).
fn setup_intent_json(row: &simulated_checkout::Model) -> Value {
    json!({
        "id": row.payment_intent,
        "object": "setup_intent",
        "status": "succeeded",
        "usage": "off_session",
        "customer": row.customer,
        "payment_method": row.card_token,
        "metadata": { "card_setup": row.setup_ref, "client_id": row.client_reference_id },
    })
}

/// A session as Stripe's events show it (`object: checkout.session`): the
/// PaymentIntent or SetupIntent is an id, not expanded, so the receiver
/// retrieves the card the way it must with Stripe.
fn session_json(row: &simulated_checkout::Model) -> Value {
    if row.mode == SETUP {
        return json!({
            "id": row.id,
            "object": "checkout.session",
            "mode": SETUP,
            "status": row.status,
            "payment_status": row.payment_status,
            "amount_total": null,
            "currency": row.currency,
            "client_reference_id": row.client_reference_id,
            "customer": row.customer,
            "metadata": { "card_setup": row.setup_ref, "client_id": row.client_reference_id },
            "setup_intent": row.payment_intent,
            "expires_at": row.expires_at.timestamp(),
            "url": null,
        });
    }
    json!({
        "id": row.id,
        "object": "checkout.session",
        "mode": "payment",
        "status": row.status,
        "payment_status": row.payment_status,
        "amount_total": row.amount_minor,
        "currency": row.currency,
        "client_reference_id": row.client_reference_id,
        "customer": row.customer,
        "metadata": { "invoice_id": row.invoice_ref },
        "payment_intent": row.payment_intent,
        "expires_at": row.expires_at.timestamp(),
        "url": null,
    })
}
