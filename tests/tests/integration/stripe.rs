//! With a Stripe secret key configured, the whole auto-pay path runs through
//! the Stripe adapter: here against a local server that answers like Stripe's
//! API and checks what it is sent.

use serde_json::json;
use tests::{AUTO_PAY_EMAIL, Backend, spawn_app_with};
use wiremock::matchers::{body_string_contains, header, header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

on_both_backends!(a_configured_stripe_key_sends_auto_pay_through_stripe);

async fn a_configured_stripe_key_sends_auto_pay_through_stripe(backend: Backend) {
    let stripe = MockServer::start().await;
    let base = stripe.uri();
    let Some(app) = spawn_app_with(backend, |s| {
        s.gateway.stripe_secret_key = Some("sk_test_local".to_string().into());
        s.gateway.stripe_api_base = base;
    })
    .await
    else {
        return;
    };
    Mock::given(method("GET"))
        .and(path("/v1/payment_methods/pm_1Visa"))
        .and(header("authorization", "Bearer sk_test_local"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "pm_1Visa", "object": "payment_method", "type": "card", "customer": "cus_ava",
            "card": { "brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034 }
        })))
        .mount(&stripe)
        .await;
    // The wedding fixture: 2,791.82 USD = 279182 minor units, off-session,
    // with the auto-pay idempotency key of attempt 1.
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents"))
        .and(header("authorization", "Bearer sk_test_local"))
        .and(header_exists("idempotency-key"))
        .and(body_string_contains("amount=279182"))
        .and(body_string_contains("currency=usd"))
        .and(body_string_contains("off_session=true"))
        .and(body_string_contains("customer=cus_ava"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "pi_wedding", "object": "payment_intent", "amount": 279_182, "currency": "usd", "status": "succeeded"
        })))
        .expect(1)
        .mount(&stripe)
        .await;

    let f = app.seed_studio_with_card("Golden Hour", "pm_1Visa").await;
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;

    let invoice = app.invoice_of(&f.key, &f.auto_pay_session).await;
    assert_eq!(invoice["status"], "PAID", "{invoice:#}");
    let reference = app
        .gql(
            &f.key,
            "{ payments { edges { node { gatewayReference status } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        reference["payments"]["edges"][0]["node"],
        json!({ "gatewayReference": "pi_wedding", "status": "SUCCEEDED" })
    );
    let intents: Vec<_> = stripe
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path() == "/v1/payment_intents")
        .collect();
    assert_eq!(intents.len(), 1, "one PaymentIntent for one debt");
    let key = intents[0]
        .headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(key.ends_with("_autopay_1"), "the attempt's key: {key}");
    assert_eq!(
        app.emails_to(AUTO_PAY_EMAIL)
            .iter()
            .filter(|e| e.subject.starts_with("Receipt"))
            .count(),
        1
    );

    // The portal's typed-card form belongs to the simulated gateway: with
    // Stripe it says so instead of pretending.
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let open = app.invoice_of(&f.key, &f.invoice_session).await;
    let link = open["portalUrl"].as_str().expect("portal").to_string();
    let response = app.open_and_pay(&link, "4242424242424242").await;
    assert_eq!(response.status(), 409);
    assert!(
        response
            .text()
            .await
            .expect("html")
            .contains("contact the studio")
    );
}
