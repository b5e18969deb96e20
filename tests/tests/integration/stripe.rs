//! With a Stripe secret key configured, the whole auto-pay path runs through
//! the Stripe adapter: here against a local server that answers like Stripe's
//! API and checks what it is sent.

use serde_json::json;
use tests::{AUTO_PAY_EMAIL, Backend, spawn_app_with, stripe_event};
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

on_both_backends!(a_stripe_charge_refund_and_webhook_round_trip);

/// Charge, refund and webhook against a local Stripe-shaped server: Stripe
/// accepts the refund as `pending`; its signed `refund.updated` settles it.
/// The replayed event changes nothing and a forged one is refused.
async fn a_stripe_charge_refund_and_webhook_round_trip(backend: Backend) {
    let stripe = MockServer::start().await;
    let base = stripe.uri();
    let Some(app) = spawn_app_with(backend, |s| {
        s.gateway.stripe_secret_key = Some("sk_test_local".to_string().into());
        s.gateway.stripe_api_base = base;
        s.gateway.stripe_webhook_secret = Some("whsec_test_local".to_string().into());
    })
    .await
    else {
        return;
    };
    assert_eq!(app.webhook_secret(), "whsec_test_local");
    Mock::given(method("GET"))
        .and(path("/v1/payment_methods/pm_1Visa"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "pm_1Visa", "object": "payment_method", "type": "card", "customer": "cus_ava",
            "card": { "brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034 }
        })))
        .mount(&stripe)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "pi_wedding", "object": "payment_intent", "amount": 279_182, "currency": "usd", "status": "succeeded"
        })))
        .expect(1)
        .mount(&stripe)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .and(header("authorization", "Bearer sk_test_local"))
        .and(header_exists("idempotency-key"))
        .and(body_string_contains("payment_intent=pi_wedding"))
        .and(body_string_contains("amount=50000"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "re_wedding", "object": "refund", "amount": 50_000, "currency": "usd",
            "payment_intent": "pi_wedding", "status": "pending"
        })))
        .expect(1)
        .mount(&stripe)
        .await;

    let f = app.seed_studio_with_card("Golden Hour", "pm_1Visa").await;
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;
    let payments = app
        .gql(&f.key, "{ payments { edges { node { id } } } }", json!({}))
        .await;
    let payment = payments["payments"]["edges"][0]["node"]["id"]
        .as_str()
        .expect("payment")
        .to_string();

    // Stripe's own confirmation of the charge: already settled, counted once.
    let now = chrono::Utc::now().timestamp();
    let intent = json!({ "id": "pi_wedding", "object": "payment_intent", "amount": 279_182,
                         "currency": "usd", "status": "succeeded", "metadata": {} });
    let (status, answer) = app
        .send_webhook(&stripe_event(
            "evt_pi_ok",
            "payment_intent.succeeded",
            now - 5,
            intent,
        ))
        .await;
    assert_eq!(
        (status, answer["status"].clone()),
        (200, json!("processed")),
        "{answer}"
    );

    let refunded = app
        .gql(
            &f.key,
            "mutation($i: RefundPaymentInput!) { refundPayment(input: $i) {
                refund { id status gatewayReference } userErrors { code message } } }",
            json!({ "i": { "paymentId": payment, "amount": "500.00", "idempotencyKey": "stripe-refund-1" } }),
        )
        .await;
    let pending = &refunded["refundPayment"]["refund"];
    assert_eq!(pending["status"], "PENDING", "{refunded:#}");
    assert_eq!(pending["gatewayReference"], "re_wedding");
    let sent_key = stripe
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .find(|r| r.url.path() == "/v1/refunds")
        .and_then(|r| {
            r.headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .expect("refund idempotency key");

    let settled = stripe_event(
        "evt_re_ok",
        "refund.updated",
        now,
        json!({ "id": "re_wedding", "object": "refund", "amount": 50_000, "currency": "usd",
                "payment_intent": "pi_wedding", "status": "succeeded",
                "metadata": { "idempotency_key": sent_key } }),
    );
    let body = serde_json::to_vec(&settled).expect("json");
    let forged = domain::webhooks::signature::sign("whsec_guess", now, &body);
    let (status, answer) = app.post_webhook_raw(&body, Some(&forged)).await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (400, json!("SIGNATURE_MISMATCH"))
    );

    let (status, answer) = app.send_webhook(&settled).await;
    assert_eq!(
        (status, answer["status"].clone()),
        (200, json!("processed")),
        "{answer}"
    );
    let (status, answer) = app.send_webhook(&settled).await;
    assert_eq!(
        (status, answer["status"].clone()),
        (200, json!("duplicate"))
    );
    app.drain().await;

    let invoice = app
        .gql(
            &f.key,
            "query($id: ID!) { session(id: $id) { invoice { status amountDue { minorUnits }
                refunds { status amount { minorUnits } } } } }",
            json!({ "id": f.auto_pay_session }),
        )
        .await;
    let invoice = &invoice["session"]["invoice"];
    // A refund settles with its credit note: still paid, nothing owed.
    assert_eq!(invoice["status"], "PAID", "{invoice:#}");
    assert_eq!(invoice["amountDue"]["minorUnits"], 0);
    assert_eq!(
        invoice["refunds"],
        json!([{ "status": "SUCCEEDED", "amount": { "minorUnits": 50_000 } }])
    );
    assert_eq!(app.count("webhook_events").await, 2);
}
