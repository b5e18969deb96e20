//! Stripe's wire model, defined once: the objects of its API answers and of
//! its events (`Deserialize` structs, and the readers of the JSON objects
//! whose shape depends on expansion), turned into the ports' types by the
//! gateway (`super`) and the event parser (`super::events`).

use crate::ports::gateway::{CheckoutSession, CheckoutState, PaymentMethodDetails, SetupSession};
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Deserialize, Default)]
pub(super) struct ErrorEnvelope {
    #[serde(default)]
    pub(super) error: ApiError,
}

#[derive(Deserialize, Default)]
pub(super) struct ApiError {
    #[serde(rename = "type")]
    pub(super) kind: Option<String>,
    pub(super) code: Option<String>,
    pub(super) decline_code: Option<String>,
    pub(super) message: Option<String>,
    pub(super) param: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct PaymentMethodObject {
    pub(super) id: String,
    #[serde(rename = "type")]
    pub(super) kind: String,
    pub(super) card: Option<CardObject>,
    /// The Customer the card is saved on (id; not expanded).
    pub(super) customer: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct CardObject {
    pub(super) brand: String,
    pub(super) last4: String,
    pub(super) exp_month: i32,
    pub(super) exp_year: i32,
    /// `credit`, `debit`, `prepaid` or `unknown`.
    #[serde(default)]
    pub(super) funding: Option<String>,
}

impl CardObject {
    /// What may be shown and kept of the card of payment method `token`.
    pub(super) fn details(self, token: String) -> PaymentMethodDetails {
        PaymentMethodDetails {
            token,
            brand: self.brand,
            last4: self.last4,
            exp_month: self.exp_month,
            exp_year: self.exp_year,
            funding: crate::kernel::surcharge::Funding::parse(self.funding.as_deref()),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct PaymentIntentObject {
    pub(super) id: String,
    #[serde(default)]
    pub(super) status: String,
    pub(super) last_payment_error: Option<ApiError>,
    #[serde(default)]
    pub(super) metadata: HashMap<String, String>,
    /// What the intent received (a held one: what its capture took).
    #[serde(default)]
    pub(super) amount_received: i64,
}

#[derive(Deserialize)]
pub(super) struct RefundObject {
    pub(super) id: String,
    pub(super) status: Option<String>,
    pub(super) amount: i64,
    pub(super) currency: String,
    #[serde(default)]
    pub(super) metadata: HashMap<String, String>,
    pub(super) payment_intent: Option<String>,
    pub(super) failure_reason: Option<String>,
}

/// An event (`object: event`): its object stays JSON until its type says
/// what it is.
#[derive(Deserialize)]
pub(super) struct Event {
    pub(super) id: String,
    #[serde(rename = "type")]
    pub(super) kind: String,
    pub(super) created: i64,
    pub(super) data: EventData,
}

#[derive(Deserialize)]
pub(super) struct EventData {
    pub(super) object: serde_json::Value,
}

/// `charge.refunded`'s object: the charge with its refunds.
#[derive(Deserialize)]
pub(super) struct ChargeObject {
    pub(super) payment_intent: Option<String>,
    pub(super) refunds: Option<ListObject<RefundObject>>,
}

#[derive(Deserialize)]
pub(super) struct DisputeObject {
    pub(super) id: String,
    pub(super) amount: i64,
    pub(super) payment_intent: Option<String>,
    pub(super) status: String,
    pub(super) reason: Option<String>,
    #[serde(default)]
    pub(super) evidence_details: Option<EvidenceDetails>,
}

/// A dispute's `evidence_details`: its deadline and how often evidence was
/// submitted.
#[derive(Deserialize, Default)]
pub(super) struct EvidenceDetails {
    pub(super) due_by: Option<i64>,
    #[serde(default)]
    pub(super) submission_count: i64,
}

#[derive(Deserialize)]
pub(super) struct SetupIntentObject {
    pub(super) id: String,
    #[serde(default)]
    pub(super) status: String,
    pub(super) payment_method: Option<serde_json::Value>,
    #[serde(default)]
    pub(super) metadata: HashMap<String, String>,
}

#[derive(Deserialize)]
pub(super) struct CustomerObject {
    pub(super) id: String,
    #[serde(default)]
    pub(super) metadata: HashMap<String, String>,
}

/// A page of `GET /v1/checkout/sessions`.
#[derive(Deserialize)]
pub(super) struct SessionPage {
    pub(super) data: Vec<serde_json::Value>,
    #[serde(default)]
    pub(super) has_more: bool,
}

/// `metadata[key]` of a Stripe object.
pub(super) fn metadata_of<'a>(object: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    object.get("metadata")?.get(key)?.as_str()
}

/// A list or search answer (`object: list` / `search_result`).
#[derive(Deserialize)]
pub(super) struct ListObject<T> {
    pub(super) data: Vec<T>,
}

/// A Checkout Session object (`object: checkout.session`) as Stripe sends
/// it, in an API answer or a `checkout.session.*` event. `payment_intent` is
/// an id, or the object when expanded (with its `payment_method` expanded,
/// the card that paid).
pub fn checkout_session_from(value: &serde_json::Value) -> Result<CheckoutSession, String> {
    let text = |key: &str| value.get(key).and_then(|v| v.as_str()).map(str::to_string);
    let id = text("id").ok_or("a Checkout Session without an id")?;
    let state = match text("status").as_deref() {
        Some("complete") => CheckoutState::Complete,
        Some("expired") => CheckoutState::Expired,
        Some("open") | None => CheckoutState::Open,
        Some(other) => return Err(format!("Checkout Session {id} has status `{other}`")),
    };
    let amount_total = value
        .get("amount_total")
        .and_then(serde_json::Value::as_i64)
        .ok_or_else(|| format!("Checkout Session {id} has no amount_total"))?;
    let currency = text("currency")
        .ok_or_else(|| format!("Checkout Session {id} has no currency"))?
        .to_ascii_uppercase();
    let intent = value.get("payment_intent");
    let payment_intent = intent.and_then(|pi| {
        pi.as_str()
            .map(str::to_string)
            .or_else(|| pi.get("id").and_then(|v| v.as_str()).map(str::to_string))
    });
    let card = intent
        .and_then(|pi| pi.get("payment_method"))
        .and_then(card_from);
    // An expanded intent that was held and has been captured tells what
    // the capture took.
    let amount_captured = intent
        .filter(|pi| {
            pi.get("capture_method").and_then(|c| c.as_str()) == Some("manual")
                && pi.get("status").and_then(|s| s.as_str()) == Some("succeeded")
        })
        .and_then(|pi| pi.get("amount_received"))
        .and_then(serde_json::Value::as_i64);
    Ok(CheckoutSession {
        amount_captured,
        url: text("url"),
        state,
        payment_status: text("payment_status").unwrap_or_else(|| "unpaid".into()),
        amount_total,
        currency,
        invoice_ref: value
            .get("metadata")
            .and_then(|m| m.get("invoice_id"))
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .or_else(|| text("client_reference_id")),
        payment_intent,
        card,
        id,
    })
}

/// Brand, last4 and expiry of an expanded `payment_method` object (`None`
/// for an unexpanded id or a method that is not a card).
pub(super) fn card_from(pm: &serde_json::Value) -> Option<PaymentMethodDetails> {
    let card = pm.get("card")?;
    Some(PaymentMethodDetails {
        token: pm.get("id")?.as_str()?.to_string(),
        brand: card.get("brand")?.as_str()?.to_string(),
        last4: card.get("last4")?.as_str()?.to_string(),
        exp_month: i32::try_from(card.get("exp_month")?.as_i64()?).ok()?,
        exp_year: i32::try_from(card.get("exp_year")?.as_i64()?).ok()?,
        funding: crate::kernel::surcharge::Funding::parse(
            card.get("funding").and_then(|f| f.as_str()),
        ),
    })
}

/// A Checkout Session object in `mode=setup` (an API answer or a
/// `checkout.session.*` event). `setup_intent` is an id, or the object when
/// expanded (with its `payment_method` expanded: the card saved). A session
/// of another mode is an error.
pub fn setup_session_from(value: &serde_json::Value) -> Result<SetupSession, String> {
    let text = |key: &str| value.get(key).and_then(|v| v.as_str()).map(str::to_string);
    let id = text("id").ok_or("a Checkout Session without an id")?;
    if text("mode").as_deref() != Some("setup") {
        return Err(format!("Checkout Session {id} is not in setup mode"));
    }
    let state = match text("status").as_deref() {
        Some("complete") => CheckoutState::Complete,
        Some("expired") => CheckoutState::Expired,
        Some("open") | None => CheckoutState::Open,
        Some(other) => return Err(format!("Checkout Session {id} has status `{other}`")),
    };
    let intent = value.get("setup_intent");
    Ok(SetupSession {
        url: text("url"),
        state,
        setup_ref: value
            .get("metadata")
            .and_then(|m| m.get("card_setup"))
            .and_then(|v| v.as_str())
            .map(str::to_string),
        setup_intent: intent.and_then(|si| {
            si.as_str()
                .map(str::to_string)
                .or_else(|| si.get("id").and_then(|v| v.as_str()).map(str::to_string))
        }),
        card: intent
            .and_then(|si| si.get("payment_method"))
            .and_then(card_from),
        id,
    })
}

/// Whether a `checkout.session` object is a `mode=setup` one.
pub fn is_setup_session(value: &serde_json::Value) -> bool {
    value.get("mode").and_then(|v| v.as_str()) == Some("setup")
}
