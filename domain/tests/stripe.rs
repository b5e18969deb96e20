//! The Stripe adapter against a local server that answers like Stripe and
//! checks what it is sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use domain::adapters::stripe::{STRIPE_API_VERSION, StripeGateway, StripeRefund};
use domain::ports::gateway::{
    ChargeOutcome, ChargeRequest, CheckoutLookup, CheckoutRequest, CheckoutState, GatewayError,
    IntentState, PaymentGateway,
};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::collections::HashMap;
use wiremock::matchers::{header, method, path};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

const SECRET: &str = "sk_test_51SuperSecretKeyNeverLogged";
const PM: &str = "pm_1Visa4242";

fn gateway(server: &MockServer) -> StripeGateway {
    StripeGateway::new(SecretString::from(SECRET), server.uri()).unwrap()
}

fn charge_request(key: &str) -> ChargeRequest {
    ChargeRequest {
        idempotency_key: key.into(),
        payment_key: key.into(),
        amount: domain::kernel::money::Money::stored(123_456, "USD").expect("USD"),
        payment_method_token: PM.into(),
        description: "Invoice payment 7".into(),
        installment_ref: None,
    }
}

fn form(request: &Request) -> HashMap<String, String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(&request.body)
        .unwrap()
        .into_iter()
        .collect()
}

/// Matches a form body holding (at least) these fields with these values.
struct FormHas(Vec<(&'static str, String)>);

impl Match for FormHas {
    fn matches(&self, request: &Request) -> bool {
        let form = form(request);
        self.0
            .iter()
            .all(|(k, v)| form.get(*k).map(String::as_str) == Some(v.as_str()))
    }
}

/// What every charge must send, for `key`.
fn charge_form(key: &str) -> FormHas {
    FormHas(vec![
        ("amount", "123456".into()),
        ("currency", "usd".into()),
        ("payment_method", PM.into()),
        ("confirm", "false".into()),
        ("description", "Invoice payment 7".into()),
        ("metadata[idempotency_key]", key.into()),
    ])
}

/// Stripe's answer to `GET /v1/payment_methods/{PM}`.
fn payment_method_body(customer: Option<&str>) -> Value {
    json!({
        "id": PM,
        "object": "payment_method",
        "type": "card",
        "customer": customer,
        "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034, "country": "US"}
    })
}

async fn mount_payment_method(server: &MockServer, customer: Option<&str>) {
    Mock::given(method("GET"))
        .and(path(format!("/v1/payment_methods/{PM}")))
        .and(header("authorization", format!("Bearer {SECRET}").as_str()))
        .and(header("stripe-version", STRIPE_API_VERSION))
        .respond_with(ResponseTemplate::new(200).set_body_json(payment_method_body(customer)))
        .mount(server)
        .await;
}

fn intent(id: &str, status: &str) -> Value {
    json!({"id": id, "object": "payment_intent", "amount": 123_456, "currency": "usd", "status": status})
}

fn card_error(code: &str, decline_code: Option<&str>, message: &str) -> ResponseTemplate {
    let mut error = json!({"type": "card_error", "code": code, "message": message});
    if let Some(d) = decline_code {
        error["decline_code"] = json!(d);
    }
    error["payment_intent"] = intent("pi_declined", "requires_payment_method");
    ResponseTemplate::new(402)
        .insert_header("request-id", "req_decl")
        .set_body_json(json!({ "error": error }))
}

/// Mounts the two steps of a charge: `POST /v1/payment_intents` (the
/// Stripe headers, `key`, the charge form, `confirm=false`) creating
/// `pi_two_steps`, then its confirmation (`off_session=true`, key
/// `{key}_confirm`) answering `response`; each exactly once.
async fn mount_charge(server: &MockServer, key: &str, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents"))
        .and(header("authorization", format!("Bearer {SECRET}").as_str()))
        .and(header("stripe-version", STRIPE_API_VERSION))
        .and(header("idempotency-key", key))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(charge_form(key))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(intent("pi_two_steps", "requires_confirmation")),
        )
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents/pi_two_steps/confirm"))
        .and(header("authorization", format!("Bearer {SECRET}").as_str()))
        .and(header("stripe-version", STRIPE_API_VERSION))
        .and(header("idempotency-key", format!("{key}_confirm").as_str()))
        .and(FormHas(vec![("off_session", "true".into())]))
        .respond_with(response)
        .expect(1)
        .mount(server)
        .await;
}

/// A charge through the port's two steps: create, then confirm under
/// `{key}_confirm`; an intent that is not settled is `Unavailable`.
trait TwoSteps {
    async fn charge(&self, request: &ChargeRequest) -> Result<ChargeOutcome, GatewayError>;
}

impl TwoSteps for StripeGateway {
    async fn charge(&self, request: &ChargeRequest) -> Result<ChargeOutcome, GatewayError> {
        let id = self.create_intent(request).await?;
        match self
            .confirm_intent(&id, &format!("{}_confirm", request.idempotency_key))
            .await?
        {
            IntentState::Settled(outcome) => Ok(outcome),
            other => Err(GatewayError::Unavailable(format!("{other:?}"))),
        }
    }
}

#[tokio::test]
async fn card_declined_with_insufficient_funds_is_a_decline() {
    let server = MockServer::start().await;
    mount_payment_method(&server, None).await;
    mount_charge(
        &server,
        "k_nsf",
        card_error(
            "card_declined",
            Some("insufficient_funds"),
            "Your card has insufficient funds.",
        ),
    )
    .await;
    let outcome = gateway(&server)
        .charge(&charge_request("k_nsf"))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        ChargeOutcome::Declined {
            code: "insufficient_funds".into(),
            message: "Your card has insufficient funds.".into()
        }
    );
    assert!(!domain::billing::payments::is_hard_decline(
        "insufficient_funds"
    ));
}

#[tokio::test]
async fn expired_card_is_a_hard_decline() {
    let server = MockServer::start().await;
    mount_payment_method(&server, None).await;
    mount_charge(
        &server,
        "k_exp",
        card_error("expired_card", None, "Your card has expired."),
    )
    .await;
    let outcome = gateway(&server)
        .charge(&charge_request("k_exp"))
        .await
        .unwrap();
    let ChargeOutcome::Declined { code, .. } = outcome else {
        panic!("expected a decline, got {outcome:?}");
    };
    assert_eq!(code, "expired_card");
    assert!(domain::billing::payments::is_hard_decline(&code));
}

#[tokio::test]
async fn authentication_required_is_a_decline_off_session() {
    let server = MockServer::start().await;
    mount_payment_method(&server, None).await;
    mount_charge(
        &server,
        "k_3ds",
        card_error(
            "authentication_required",
            Some("authentication_required"),
            "Your card was declined. This transaction requires authentication.",
        ),
    )
    .await;
    let outcome = gateway(&server)
        .charge(&charge_request("k_3ds"))
        .await
        .unwrap();
    assert!(
        matches!(&outcome, ChargeOutcome::Declined { code, .. } if code == "authentication_required"),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn intent_statuses_other_than_succeeded_are_declines() {
    let server = MockServer::start().await;
    mount_payment_method(&server, None).await;
    mount_charge(
        &server,
        "k_action",
        ResponseTemplate::new(200).set_body_json(intent("pi_a", "requires_action")),
    )
    .await;
    let mut declined = intent("pi_b", "requires_payment_method");
    declined["last_payment_error"] = json!({"type": "card_error", "code": "card_declined", "decline_code": "do_not_honor", "message": "Your card was declined."});
    mount_charge(
        &server,
        "k_rpm",
        ResponseTemplate::new(200).set_body_json(declined),
    )
    .await;
    let gw = gateway(&server);
    let outcome = gw.charge(&charge_request("k_action")).await.unwrap();
    assert!(
        matches!(&outcome, ChargeOutcome::Declined { code, .. } if code == "authentication_required"),
        "{outcome:?}"
    );
    let outcome = gw.charge(&charge_request("k_rpm")).await.unwrap();
    assert!(
        matches!(&outcome, ChargeOutcome::Declined { code, .. } if code == "do_not_honor"),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn rate_limit_is_unavailable() {
    let server = MockServer::start().await;
    mount_payment_method(&server, None).await;
    mount_charge(
        &server,
        "k_429",
        ResponseTemplate::new(429).set_body_json(json!({"error": {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests."}})),
    )
    .await;
    let err = gateway(&server)
        .charge(&charge_request("k_429"))
        .await
        .unwrap_err();
    assert!(matches!(err, GatewayError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn server_error_is_unavailable() {
    let server = MockServer::start().await;
    mount_payment_method(&server, None).await;
    mount_charge(
        &server,
        "k_500",
        ResponseTemplate::new(500).set_body_json(
            json!({"error": {"type": "api_error", "message": "Something went wrong."}}),
        ),
    )
    .await;
    let err = gateway(&server)
        .charge(&charge_request("k_500"))
        .await
        .unwrap_err();
    assert!(matches!(err, GatewayError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn bad_api_key_is_unavailable_without_leaking_the_key() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": {"type": "invalid_request_error", "message": "Invalid API Key provided: sk_test_****ged"}})))
        .mount(&server)
        .await;
    let err = gateway(&server)
        .charge(&charge_request("k_401"))
        .await
        .unwrap_err();
    let GatewayError::Unavailable(message) = &err else {
        panic!("expected Unavailable, got {err:?}");
    };
    assert!(message.contains("401"), "{message}");
    assert!(!message.contains(SECRET));
    assert!(!format!("{err:?}").contains(SECRET));
}

#[tokio::test]
async fn connection_refused_is_unavailable() {
    // A port nobody listens on (wiremock pools its servers, so a dropped
    // MockServer would still answer).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let gw = StripeGateway::new(SecretString::from(SECRET), uri).unwrap();
    let err = gw.charge(&charge_request("k_conn")).await.unwrap_err();
    assert!(matches!(err, GatewayError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn payment_method_lookup_returns_display_details() {
    let server = MockServer::start().await;
    mount_payment_method(&server, Some("cus_42")).await;
    let details = gateway(&server).payment_method(PM).await.unwrap();
    assert_eq!(details.token, PM);
    assert_eq!(details.brand, "visa");
    assert_eq!(details.last4, "4242");
    assert_eq!(details.exp_month, 12);
    assert_eq!(details.exp_year, 2034);
}

#[tokio::test]
async fn unknown_payment_method_is_invalid() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/payment_methods/pm_missing"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": {
            "type": "invalid_request_error", "code": "resource_missing", "param": "payment_method",
            "message": "No such PaymentMethod: 'pm_missing'"
        }})))
        .mount(&server)
        .await;
    let gw = gateway(&server);
    let err = gw.payment_method("pm_missing").await.unwrap_err();
    assert!(
        matches!(&err, GatewayError::InvalidPaymentMethod(t) if t == "pm_missing"),
        "{err:?}"
    );
    // A charge of it is refused before any PaymentIntent is created.
    let request = ChargeRequest {
        payment_method_token: "pm_missing".into(),
        ..charge_request("k_missing")
    };
    let err = gw.charge(&request).await.unwrap_err();
    assert!(
        matches!(err, GatewayError::InvalidPaymentMethod(_)),
        "{err:?}"
    );
    // A token that is not a Stripe id never reaches the server's path.
    let err = gw.payment_method("../v1/charges").await.unwrap_err();
    assert!(
        matches!(err, GatewayError::InvalidPaymentMethod(_)),
        "{err:?}"
    );
    let posts = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count();
    assert_eq!(posts, 0);
}

#[tokio::test]
async fn refund_uses_its_own_idempotency_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .and(header("authorization", format!("Bearer {SECRET}").as_str()))
        .and(header("stripe-version", STRIPE_API_VERSION))
        .and(header("idempotency-key", "inv_7_refund_1"))
        .and(FormHas(vec![
            ("payment_intent", "pi_123".into()),
            ("amount", "5000".into()),
        ]))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "re_1", "object": "refund", "amount": 5000, "currency": "usd",
            "payment_intent": "pi_123", "status": "succeeded"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let refund = gateway(&server)
        .refund("pi_123", 5000, "inv_7_refund_1", "inv_7_refund_1")
        .await
        .unwrap();
    assert_eq!(
        refund,
        StripeRefund {
            id: "re_1".into(),
            status: "succeeded".into(),
            amount_minor: 5000,
            currency: "usd".into(),
        }
    );
}

#[tokio::test]
async fn debug_output_hides_the_secret_key() {
    let server = MockServer::start().await;
    let gw = gateway(&server);
    let debug = format!("{gw:?}");
    assert!(!debug.contains(SECRET), "{debug}");
    assert!(!debug.contains("SuperSecret"), "{debug}");
    assert!(debug.contains("REDACTED"), "{debug}");
}

fn checkout_request(save_card: bool) -> CheckoutRequest {
    CheckoutRequest {
        idempotency_key: "inv_7_checkout_123456_1".into(),
        amount: domain::kernel::money::Money::stored(123_456, "USD").expect("USD"),
        product_name: "Invoice INV-2026-0007 — Golden Hour".into(),
        customer: Some("cus_ava".into()),
        invoice_ref: "7".into(),
        success_url: "https://studio.test/pay/tok/return?session_id={CHECKOUT_SESSION_ID}".into(),
        cancel_url: "https://studio.test/pay/tok".into(),
        expires_at: chrono::DateTime::from_timestamp(1_900_000_000, 0).unwrap(),
        save_card,
        installment_ref: None,
        tip: None,
        surcharge: None,
    }
}

/// A surcharge is a line of its own after the tip, and makes the session
/// hold the card (manual capture, cards only); without one, neither.
#[tokio::test]
async fn a_surcharge_is_a_line_of_its_own_and_holds_the_card() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .and(FormHas(vec![
            (
                "line_items[1][price_data][product_data][name]",
                "Gratuity".into(),
            ),
            ("line_items[2][price_data][unit_amount]", "3704".into()),
            ("payment_intent_data[capture_method]", "manual".into()),
            ("payment_method_types[0]", "card".into()),
        ]))
        .respond_with(ResponseTemplate::new(200).set_body_json(session_body("open", "unpaid")))
        .expect(1)
        .mount(&server)
        .await;
    let mut request = checkout_request(false);
    request.tip = Some(domain::kernel::money::Money::stored(15_000, "USD").expect("USD"));
    request.surcharge = Some(domain::kernel::money::Money::stored(3_704, "USD").expect("USD"));
    assert_eq!(
        request.total_minor().map(|m| m.get()),
        Some(123_456 + 15_000 + 3_704)
    );
    gateway(&server).create_checkout(&request).await.unwrap();
    let sent = server.received_requests().await.unwrap_or_default();
    let name = form(&sent[0])
        .get("line_items[2][price_data][product_data][name]")
        .cloned()
        .unwrap_or_default();
    assert!(name.starts_with("Card surcharge"), "{name}");

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session_body("open", "unpaid")))
        .mount(&server)
        .await;
    gateway(&server)
        .create_checkout(&checkout_request(false))
        .await
        .unwrap();
    let sent = server.received_requests().await.unwrap_or_default();
    let form = form(&sent[0]);
    assert!(
        !form.contains_key("payment_intent_data[capture_method]"),
        "{form:?}"
    );
    assert!(!form.contains_key("payment_method_types[0]"), "{form:?}");
}

/// A capture sends `amount_to_capture` under its key; one answered 500 (or
/// refused because it was captured already) is settled by retrieving the
/// intent: succeeded is what it received, canceled is lost.
#[tokio::test]
async fn a_capture_is_settled_by_looking_when_its_answer_is_lost() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents/pi_held/capture"))
        .and(header(
            "idempotency-key",
            "inv_7_checkout_123456_1_capture_5",
        ))
        .and(FormHas(vec![("amount_to_capture", "123456".into())]))
        .respond_with(ResponseTemplate::new(500).set_body_json(
            json!({ "error": { "type": "api_error", "message": "An unknown error occurred" } }),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/payment_intents/pi_held"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "pi_held", "object": "payment_intent", "status": "succeeded",
            "amount": 127_160, "amount_received": 123_456, "capture_method": "manual"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let request = domain::ports::gateway::CaptureRequest {
        intent: "pi_held".into(),
        amount: domain::kernel::money::Money::stored(123_456, "USD").expect("USD"),
        idempotency_key: "inv_7_checkout_123456_1_capture_5".into(),
    };
    let captured = gateway(&server).capture_intent(&request).await.unwrap();
    assert_eq!(
        captured,
        domain::ports::gateway::Captured::Taken { amount: 123_456 }
    );

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents/pi_held/capture"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "error": {
            "type": "invalid_request_error", "code": "payment_intent_unexpected_state",
            "message": "This PaymentIntent could not be captured because it has a status of canceled." } })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/payment_intents/pi_held"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "pi_held", "object": "payment_intent", "status": "canceled", "amount": 127_160
        })))
        .mount(&server)
        .await;
    let lost = gateway(&server).capture_intent(&request).await.unwrap();
    assert!(
        matches!(lost, domain::ports::gateway::Captured::Lost { .. }),
        "{lost:?}"
    );
}

/// Without a tip the session has one line, with one a "Gratuity" line of
/// its own after the invoice's money.
#[tokio::test]
async fn a_tip_is_a_gratuity_line_of_its_own() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .and(FormHas(vec![
            ("line_items[0][price_data][unit_amount]", "123456".into()),
            ("line_items[1][quantity]", "1".into()),
            ("line_items[1][price_data][currency]", "usd".into()),
            ("line_items[1][price_data][unit_amount]", "15000".into()),
            (
                "line_items[1][price_data][product_data][name]",
                "Gratuity".into(),
            ),
        ]))
        .respond_with(ResponseTemplate::new(200).set_body_json(session_body("open", "unpaid")))
        .expect(1)
        .mount(&server)
        .await;
    let mut request = checkout_request(false);
    request.tip = Some(domain::kernel::money::Money::stored(15_000, "USD").expect("USD"));
    gateway(&server).create_checkout(&request).await.unwrap();

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session_body("open", "unpaid")))
        .expect(1)
        .mount(&server)
        .await;
    gateway(&server)
        .create_checkout(&checkout_request(false))
        .await
        .unwrap();
    let sent = server.received_requests().await.unwrap_or_default();
    let form = form(&sent[0]);
    assert!(form.contains_key("line_items[0][price_data][unit_amount]"));
    assert!(
        !form.keys().any(|k| k.starts_with("line_items[1]")),
        "no tip, no second line: {form:?}"
    );
}

fn session_body(status: &str, payment_status: &str) -> Value {
    json!({
        "id": "cs_test_7", "object": "checkout.session", "mode": "payment",
        "url": if status == "open" { json!("https://checkout.stripe.com/c/pay/cs_test_7") } else { json!(null) },
        "status": status, "payment_status": payment_status,
        "amount_total": 123_456, "currency": "usd", "metadata": { "invoice_id": "7" }
    })
}

#[tokio::test]
async fn a_checkout_session_carries_exactly_the_fields_and_the_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .and(header("authorization", format!("Bearer {SECRET}").as_str()))
        .and(header("stripe-version", STRIPE_API_VERSION))
        .and(header("idempotency-key", "inv_7_checkout_123456_1"))
        .and(FormHas(vec![
            ("mode", "payment".into()),
            ("line_items[0][quantity]", "1".into()),
            ("line_items[0][price_data][currency]", "usd".into()),
            ("line_items[0][price_data][unit_amount]", "123456".into()),
            (
                "line_items[0][price_data][product_data][name]",
                "Invoice INV-2026-0007 — Golden Hour".into(),
            ),
            ("customer", "cus_ava".into()),
            ("client_reference_id", "7".into()),
            ("metadata[invoice_id]", "7".into()),
            ("metadata[checkout_key]", "inv_7_checkout_123456_1".into()),
            ("payment_intent_data[metadata][invoice_id]", "7".into()),
            (
                "success_url",
                "https://studio.test/pay/tok/return?session_id={CHECKOUT_SESSION_ID}".into(),
            ),
            ("cancel_url", "https://studio.test/pay/tok".into()),
            ("expires_at", "1900000000".into()),
            (
                "payment_intent_data[setup_future_usage]",
                "off_session".into(),
            ),
        ]))
        .respond_with(ResponseTemplate::new(200).set_body_json(session_body("open", "unpaid")))
        .expect(1)
        .mount(&server)
        .await;
    let session = gateway(&server)
        .create_checkout(&checkout_request(true))
        .await
        .unwrap();
    assert_eq!(session.id, "cs_test_7");
    assert_eq!(session.state, CheckoutState::Open);
    assert_eq!(
        session.url.as_deref(),
        Some("https://checkout.stripe.com/c/pay/cs_test_7")
    );
    assert_eq!(
        (session.amount_total, session.currency.as_str()),
        (123_456, "USD")
    );

    // Without the option, no setup_future_usage at all.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session_body("open", "unpaid")))
        .mount(&server)
        .await;
    gateway(&server)
        .create_checkout(&checkout_request(false))
        .await
        .unwrap();
    let sent = &server.received_requests().await.unwrap()[0];
    assert!(!form(sent).contains_key("payment_intent_data[setup_future_usage]"));
}

/// A plan's installment names its part on the PaymentIntent, whether the
/// card on file is charged or the client pays on a hosted page.
#[tokio::test]
async fn an_installment_names_its_part_in_the_metadata() {
    let server = MockServer::start().await;
    mount_payment_method(&server, Some("cus_ava")).await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(intent("pi_part", "requires_confirmation")),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session_body("open", "unpaid")))
        .mount(&server)
        .await;
    let stripe = gateway(&server);
    let charge = ChargeRequest {
        installment_ref: Some("42".into()),
        ..charge_request("inv_9_autopay_1_create_1")
    };
    assert_eq!(stripe.create_intent(&charge).await.unwrap(), "pi_part");
    let hosted = CheckoutRequest {
        installment_ref: Some("42".into()),
        ..checkout_request(false)
    };
    stripe.create_checkout(&hosted).await.unwrap();
    stripe
        .create_intent(&charge_request("inv_7_autopay_1_create_1"))
        .await
        .unwrap();
    let sent = server.received_requests().await.unwrap();
    let posted: Vec<_> = sent
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .map(form)
        .collect();
    assert_eq!(posted.len(), 3);
    assert_eq!(
        posted[0]
            .get("metadata[installment_id]")
            .map(String::as_str),
        Some("42")
    );
    assert_eq!(
        posted[1]
            .get("metadata[installment_id]")
            .map(String::as_str),
        Some("42")
    );
    assert_eq!(
        posted[1]
            .get("payment_intent_data[metadata][installment_id]")
            .map(String::as_str),
        Some("42")
    );
    assert!(
        !posted[2].contains_key("metadata[installment_id]"),
        "{:?}",
        posted[2]
    );
}

#[tokio::test]
async fn a_reused_checkout_key_with_other_parameters_is_an_idempotency_mismatch() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "type": "idempotency_error",
            "message": "Keys for idempotent requests can only be used with the same parameters they were first used with."
        }})))
        .mount(&server)
        .await;
    assert!(matches!(
        gateway(&server)
            .create_checkout(&checkout_request(false))
            .await,
        Err(GatewayError::IdempotencyMismatch)
    ));
}

#[tokio::test]
async fn a_retrieved_session_names_the_card_that_paid() {
    let server = MockServer::start().await;
    let mut paid = session_body("complete", "paid");
    paid["payment_intent"] = json!({"id": "pi_7", "object": "payment_intent",
        "payment_method": {"id": "pm_7", "object": "payment_method", "type": "card",
            "card": {"brand": "mastercard", "last4": "4444", "exp_month": 3, "exp_year": 2031}}});
    Mock::given(method("GET"))
        .and(path("/v1/checkout/sessions/cs_test_7"))
        .and(wiremock::matchers::query_param(
            "expand[]",
            "payment_intent.payment_method",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(paid))
        .expect(1)
        .mount(&server)
        .await;
    let session = gateway(&server)
        .retrieve_checkout("cs_test_7")
        .await
        .unwrap();
    assert!(session.paid());
    assert_eq!(session.payment_intent.as_deref(), Some("pi_7"));
    let card = session.card.unwrap();
    assert_eq!(
        (
            card.token.as_str(),
            card.brand.as_str(),
            card.last4.as_str(),
            card.exp_month,
            card.exp_year
        ),
        ("pm_7", "mastercard", "4444", 3, 2031)
    );
}

#[tokio::test]
async fn expiring_a_session_paid_meanwhile_returns_it_paid() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions/cs_test_7/expire"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "type": "invalid_request_error",
            "message": "Only Checkout Sessions with a status in [\"open\"] can be expired."
        }})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/checkout/sessions/cs_test_7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session_body("complete", "paid")))
        .expect(1)
        .mount(&server)
        .await;
    let session = gateway(&server).expire_checkout("cs_test_7").await.unwrap();
    assert!(session.paid());

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions/cs_test_7/expire"))
        .and(header("authorization", format!("Bearer {SECRET}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(session_body("expired", "unpaid")))
        .expect(1)
        .mount(&server)
        .await;
    let session = gateway(&server).expire_checkout("cs_test_7").await.unwrap();
    assert_eq!(session.state, CheckoutState::Expired);
}

#[test]
fn the_key_is_only_sent_over_https_or_to_loopback() {
    let new = |url: &str| StripeGateway::new(SecretString::from(SECRET), url.into());
    assert!(new("https://api.stripe.com").is_ok());
    assert!(new("http://127.0.0.1:12111").is_ok());
    assert!(new("http://localhost:12111/").is_ok());
    assert!(matches!(
        new("http://api.stripe.com"),
        Err(GatewayError::Unsupported(_))
    ));
    assert!(matches!(
        new("not a url"),
        Err(GatewayError::Unsupported(_))
    ));
    assert!(matches!(
        StripeGateway::new(SecretString::from(""), "https://api.stripe.com".into()),
        Err(GatewayError::Unsupported(_))
    ));
}

/// A lost creation's session is found by its key in the metadata, paging
/// through the Customer's recent sessions (Stripe's list has no metadata
/// filter); another attempt's session or a setup session is not it.
#[tokio::test]
async fn a_lost_checkout_session_is_found_by_its_key_across_pages() {
    use wiremock::matchers::{query_param, query_param_is_missing};
    let server = MockServer::start().await;
    let mut other = session_body("open", "unpaid");
    other["id"] = json!("cs_test_other");
    other["metadata"] = json!({ "invoice_id": "7", "checkout_key": "inv_7_checkout_123456_2" });
    let mut setup = other.clone();
    setup["id"] = json!("cs_test_setup");
    setup["mode"] = json!("setup");
    setup["metadata"] = json!({ "checkout_key": "inv_7_checkout_123456_1" });
    let mut ours = session_body("open", "unpaid");
    ours["metadata"] = json!({ "invoice_id": "7", "checkout_key": "inv_7_checkout_123456_1" });
    Mock::given(method("GET"))
        .and(path("/v1/checkout/sessions"))
        .and(query_param("customer", "cus_ava"))
        .and(query_param("created[gte]", "1899990000"))
        .and(query_param_is_missing("starting_after"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({ "object": "list", "data": [other, setup], "has_more": true }),
            ),
        )
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/checkout/sessions"))
        .and(query_param("starting_after", "cs_test_setup"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "object": "list", "data": [ours], "has_more": false })),
        )
        .expect(2)
        .mount(&server)
        .await;
    let lookup = CheckoutLookup {
        idempotency_key: "inv_7_checkout_123456_1".into(),
        customer: Some("cus_ava".into()),
        created_from: chrono::DateTime::from_timestamp(1_899_990_000, 0).unwrap(),
    };
    let found = gateway(&server).find_checkout(&lookup).await.unwrap();
    assert_eq!(found.map(|s| s.id), Some("cs_test_7".to_string()));
    let missing = CheckoutLookup {
        idempotency_key: "inv_7_checkout_123456_9".into(),
        ..lookup
    };
    assert_eq!(
        gateway(&server).find_checkout(&missing).await.unwrap(),
        None
    );
}
