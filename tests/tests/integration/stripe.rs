//! With a Stripe secret key configured, the whole auto-pay path runs through
//! the Stripe adapter: here against a local server that answers like Stripe's
//! API and checks what it is sent.

use serde_json::json;
use tests::stripe_server::{Failure, Op, StripeServer};
use tests::{AUTO_PAY_EMAIL, Backend, spawn_app_with, stripe_event};
use wiremock::matchers::{body_string_contains, header, header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

on_both_backends!(a_configured_stripe_key_sends_auto_pay_through_stripe);

async fn a_configured_stripe_key_sends_auto_pay_through_stripe(backend: Backend) {
    let stripe = StripeServer::start("sk_test_local").await;
    let base = stripe.uri();
    let Some(app) = spawn_app_with(backend, |s| {
        s.gateway.stripe_secret_key = Some("sk_test_local".to_string().into());
        s.gateway.stripe_api_base = base;
    })
    .await
    else {
        return;
    };
    stripe.add_card("pm_1Visa", Some("cus_ava"), "visa", "4242");
    let f = app.seed_studio_with_card("Golden Hour", "pm_1Visa").await;
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;

    let invoice = app.invoice_of(&f.key, &f.auto_pay_session).await;
    assert_eq!(invoice["status"], "PAID", "{invoice:#}");
    let intents = stripe.intents();
    assert_eq!(intents.len(), 1, "one PaymentIntent for one debt");
    let pi = intents[0]["id"].as_str().expect("id").to_string();
    let reference = app
        .gql(
            &f.key,
            "{ payments { edges { node { gatewayReference status } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        reference["payments"]["edges"][0]["node"],
        json!({ "gatewayReference": pi, "status": "SUCCEEDED" })
    );
    // Two steps, each under its own key: the intent is created (the
    // wedding fixture: 2,791.82 USD = 279182 minor units, not confirmed),
    // then confirmed off-session.
    let id = invoice["id"].as_str().expect("invoice id");
    let payment_key = format!("inv_{id}_autopay_1");
    let create_key = format!("{payment_key}_create_1");
    let confirm_key = format!("{payment_key}_confirm_1");
    assert_eq!(
        stripe.calls().await,
        vec![
            // attachPaymentMethod, then the charge: the card's Customer.
            ("GET".into(), "/v1/payment_methods/pm_1Visa".into(), None),
            ("GET".into(), "/v1/payment_methods/pm_1Visa".into(), None),
            (
                "POST".into(),
                "/v1/payment_intents".into(),
                Some(create_key.clone())
            ),
            (
                "POST".into(),
                format!("/v1/payment_intents/{pi}/confirm"),
                Some(confirm_key.clone())
            ),
        ]
    );
    let created = stripe.forms_with_key(&create_key).await;
    let expected: std::collections::BTreeMap<String, String> = [
        ("amount", "279182".to_string()),
        ("currency", "usd".to_string()),
        ("payment_method", "pm_1Visa".to_string()),
        ("payment_method_types[]", "card".to_string()),
        ("confirm", "false".to_string()),
        ("metadata[idempotency_key]", payment_key.clone()),
        ("description", format!("Invoice payment {id}")),
        ("customer", "cus_ava".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(created, vec![expected]);
    let confirmed = stripe.forms_with_key(&confirm_key).await;
    assert_eq!(
        confirmed,
        vec![
            [("off_session".to_string(), "true".to_string())]
                .into_iter()
                .collect()
        ]
    );
    assert_eq!(stripe.violations(), Vec::<String>::new());
    assert_eq!(stripe.charges(), 1);
    assert_eq!(
        app.emails_to(AUTO_PAY_EMAIL)
            .iter()
            .filter(|e| e.subject.starts_with("Receipt"))
            .count(),
        1
    );
}

on_both_backends!(a_stripe_charge_refund_and_webhook_round_trip);

/// Charge, refund and webhook against a local Stripe-shaped server: Stripe
/// accepts the refund as `pending`; its signed `refund.updated` settles it.
/// The replayed event changes nothing and a forged one is refused.
async fn a_stripe_charge_refund_and_webhook_round_trip(backend: Backend) {
    let stripe = MockServer::start().await;
    let Some(app) = tests::spawn_app_on_stripe(backend, stripe.uri()).await else {
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
        .and(body_string_contains("confirm=false"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "pi_wedding", "object": "payment_intent", "amount": 279_182, "currency": "usd",
            "status": "requires_confirmation"
        })))
        .expect(1)
        .mount(&stripe)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents/pi_wedding/confirm"))
        .and(body_string_contains("off_session=true"))
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
        .and_then(|r| form_of(&r).get("metadata[idempotency_key]").cloned())
        .expect("the refund's key in its metadata");

    let settled = stripe_event(
        "evt_re_ok",
        "refund.updated",
        now,
        json!({ "id": "re_wedding", "object": "refund", "amount": 50_000, "currency": "usd",
                "payment_intent": "pi_wedding", "status": "succeeded",
                "metadata": { "idempotency_key": sent_key } }),
    );
    let body = serde_json::to_vec(&settled).expect("json");
    let forged = domain::infra::signature::sign("whsec_guess", now, &body);
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

on_both_backends!(a_portal_payment_goes_through_stripe_checkout_and_settles_once);

fn form_of(request: &wiremock::Request) -> std::collections::HashMap<String, String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(&request.body)
        .expect("form body")
        .into_iter()
        .collect()
}

/// The Pay button opens a Stripe Checkout Session with exactly the fields
/// the issue names; pressing it again reuses the open session; the client's
/// return retrieves the session and settles it, and the webhook that
/// follows changes nothing.
async fn a_portal_payment_goes_through_stripe_checkout_and_settles_once(backend: Backend) {
    let stripe = MockServer::start().await;
    let Some(app) = tests::spawn_app_on_stripe(backend, stripe.uri()).await else {
        return;
    };
    Mock::given(method("GET"))
        .and(path("/v1/payment_methods/pm_1Visa"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "pm_1Visa", "object": "payment_method", "type": "card", "customer": "cus_ava",
            "card": { "brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034 }
        })))
        .mount(&stripe)
        .await;
    let f = app.seed_studio_with_card("Golden Hour", "pm_1Visa").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let open = app.invoice_of(&f.key, &f.invoice_session).await;
    let link = open["portalUrl"].as_str().expect("portal").to_string();
    let id = open["id"].as_str().expect("id").to_string();
    let number = open["number"].as_str().expect("number").to_string();
    let key = format!("inv_{id}_checkout_329182_1");
    let session = json!({
        "id": "cs_test_1", "object": "checkout.session", "mode": "payment",
        "url": "https://checkout.stripe.test/c/pay/cs_test_1", "status": "open",
        "payment_status": "unpaid", "amount_total": 329_182, "currency": "usd",
        "metadata": { "invoice_id": id }
    });
    // One Customer per client, created once under the client's key.
    Mock::given(method("POST"))
        .and(path("/v1/customers"))
        .and(header("authorization", "Bearer sk_test_local"))
        .and(header_exists("idempotency-key"))
        .and(body_string_contains("email=noah%40example.com"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": "cus_noah", "object": "customer" })),
        )
        .expect(1)
        .mount(&stripe)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .and(header("authorization", "Bearer sk_test_local"))
        .and(header("idempotency-key", key.as_str()))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session.clone()))
        .expect(1)
        .mount(&stripe)
        .await;

    let page = app.portal_page(&link).await;
    assert!(
        !page.contains("card_number") && !page.contains("4242424242424242"),
        "{page}"
    );
    let pressed = app.press_pay(&link, false).await;
    assert_eq!(pressed.status(), 303);
    assert_eq!(
        pressed.headers()["location"],
        "https://checkout.stripe.test/c/pay/cs_test_1"
    );
    let created = stripe
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .find(|r| r.url.path() == "/v1/checkout/sessions")
        .expect("a Checkout Session request");
    let form = form_of(&created);
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("<missing>");
    assert_eq!(field("mode"), "payment");
    assert_eq!(field("line_items[0][quantity]"), "1");
    assert_eq!(field("line_items[0][price_data][unit_amount]"), "329182");
    assert_eq!(field("line_items[0][price_data][currency]"), "usd");
    assert!(
        field("line_items[0][price_data][product_data][name]").contains(&number),
        "{form:?}"
    );
    assert_eq!(field("customer"), "cus_noah");
    assert_eq!(field("client_reference_id"), id);
    assert_eq!(field("metadata[invoice_id]"), id);
    assert_eq!(field("payment_intent_data[metadata][invoice_id]"), id);
    assert_eq!(
        field("success_url"),
        format!("{link}/return?session_id={{CHECKOUT_SESSION_ID}}")
    );
    assert_eq!(field("cancel_url"), link);
    let expires: i64 = field("expires_at").parse().expect("expires_at");
    let now = chrono::Utc::now().timestamp();
    assert!(
        expires > now + 30 * 60 && expires <= now + 24 * 3600,
        "{expires}"
    );
    assert!(!form.contains_key("payment_intent_data[setup_future_usage]"));
    // Pressing Pay again: the open session for the same amount, no new request.
    assert_eq!(
        app.press_pay(&link, false).await.headers()["location"],
        "https://checkout.stripe.test/c/pay/cs_test_1"
    );

    // The client paid on Stripe's page and comes back: the session is read.
    let mut paid = session.clone();
    paid["status"] = json!("complete");
    paid["payment_status"] = json!("paid");
    paid["url"] = json!(null);
    paid["payment_intent"] = json!({ "id": "pi_cs1", "object": "payment_intent",
        "payment_method": { "id": "pm_cs1", "object": "payment_method", "type": "card",
            "card": { "brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034 } } });
    Mock::given(method("GET"))
        .and(path("/v1/checkout/sessions/cs_test_1"))
        .and(wiremock::matchers::query_param(
            "expand[]",
            "payment_intent.payment_method",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(paid.clone()))
        .mount(&stripe)
        .await;
    let back = app
        .http
        .get(format!("{link}/return?session_id=cs_test_1"))
        .send()
        .await
        .expect("return");
    let html = back.text().await.expect("html");
    assert!(html.contains("Your payment was received"), "{html}");

    // Stripe's webhook follows (the session unexpanded): counted once.
    let mut object = paid.clone();
    object["payment_intent"] = json!("pi_cs1");
    let (status, answer) = app
        .send_webhook(&stripe_event(
            "evt_cs_done",
            "checkout.session.completed",
            chrono::Utc::now().timestamp(),
            object,
        ))
        .await;
    assert_eq!(
        (status, answer["status"].clone()),
        (200, json!("processed")),
        "{answer}"
    );
    app.drain().await;
    let invoice = app.invoice_of(&f.key, &f.invoice_session).await;
    assert_eq!(invoice["status"], "PAID", "{invoice:#}");
    assert_eq!(invoice["payments"].as_array().map(Vec::len), Some(1));
    assert_eq!(invoice["payments"][0]["cardLast4"], "4242");
    assert_eq!(
        app.emails_to(tests::INVOICE_EMAIL)
            .iter()
            .filter(|e| e.subject.starts_with("Receipt"))
            .count(),
        1
    );
}

on_both_backends!(an_auto_pay_charge_needing_authentication_falls_back_to_the_invoice_email);

/// Stripe answers an off-session charge with `authentication_required`: the
/// client gets the invoice email with the portal link (where Checkout can
/// authenticate), and no second off-session charge is ever scheduled.
async fn an_auto_pay_charge_needing_authentication_falls_back_to_the_invoice_email(
    backend: Backend,
) {
    let stripe = MockServer::start().await;
    let Some(app) = tests::spawn_app_on_stripe(backend, stripe.uri()).await else {
        return;
    };
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
            "id": "pi_auth", "object": "payment_intent", "amount": 279_182, "currency": "usd",
            "status": "requires_confirmation"
        })))
        .expect(1)
        .mount(&stripe)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents/pi_auth/confirm"))
        .and(body_string_contains("off_session=true"))
        .respond_with(ResponseTemplate::new(402).set_body_json(json!({ "error": {
            "type": "card_error", "code": "authentication_required",
            "decline_code": "authentication_required",
            "message": "Your card was declined. This transaction requires authentication."
        }})))
        .expect(1)
        .mount(&stripe)
        .await;
    let f = app.seed_studio_with_card("Golden Hour", "pm_1Visa").await;
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;
    let invoice = app.invoice_of(&f.key, &f.auto_pay_session).await;
    assert_eq!(invoice["status"], "OPEN", "{invoice:#}");
    assert_eq!(
        invoice["payments"][0]["failureCode"],
        "authentication_required"
    );
    assert!(
        !app.scheduled()
            .await
            .iter()
            .any(|(k, _)| k.starts_with("charge:")),
        "no off-session retry: {:?}",
        app.scheduled().await
    );
    let emails = app.emails_to(AUTO_PAY_EMAIL);
    let invoice_email = emails
        .iter()
        .find(|e| e.subject.starts_with("Invoice"))
        .expect("the invoice email");
    assert!(invoice_email.portal_link().is_some());
}

// ---------------------------------------------------------------------------
// Lost answers of Customer and Checkout Session creations (issue 17, item 6):
// Stripe stores a 500 under its key and replays it, so a key whose answer was
// lost is never sent again; what it may have created is looked for first.

async fn checkout_app(backend: Backend) -> Option<(tests::TestApp, StripeServer, tests::Fixture)> {
    let stripe = StripeServer::start("sk_test_local").await;
    let base = stripe.uri();
    let app = spawn_app_with(backend, |s| {
        s.gateway.stripe_secret_key = Some("sk_test_local".to_string().into());
        s.gateway.stripe_api_base = base;
    })
    .await?;
    stripe.add_card("pm_1Visa", Some("cus_ava"), "visa", "4242");
    let f = app.seed_studio_with_card("Golden Hour", "pm_1Visa").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    Some((app, stripe, f))
}

/// How many requests carried `key`.
async fn sent_with(stripe: &StripeServer, key: &str) -> usize {
    stripe
        .calls()
        .await
        .iter()
        .filter(|(_, _, k)| k.as_deref() == Some(key))
        .count()
}

fn location_of(response: &reqwest::Response) -> String {
    response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string()
}

on_both_backends!(a_checkout_session_created_despite_a_500_is_found_and_used);

/// Stripe created the session but answered 500 (stored under the key): the
/// session is found by the attempt's key in its metadata, the press
/// succeeds with it, and no second session is made.
async fn a_checkout_session_created_despite_a_500_is_found_and_used(backend: Backend) {
    let Some((app, stripe, f)) = checkout_app(backend).await else {
        return;
    };
    let open = app.invoice_of(&f.key, &f.invoice_session).await;
    let link = open["portalUrl"].as_str().expect("portal").to_string();
    let id = open["id"].as_str().expect("id").to_string();
    stripe.fail_next(Op::CreateCheckout, Failure::After);

    let pressed = app.press_pay(&link, false).await;
    assert_eq!(
        pressed.status(),
        303,
        "{}",
        pressed.text().await.unwrap_or_default()
    );
    let sessions = stripe.checkout_sessions();
    assert_eq!(sessions.len(), 1, "{sessions:#?}");
    assert_eq!(
        location_of(&pressed),
        sessions[0]["url"].as_str().expect("url")
    );
    let key = format!("inv_{id}_checkout_329182_1");
    assert_eq!(sessions[0]["metadata"]["checkout_key"], key.as_str());
    assert_eq!(sent_with(&stripe, &key).await, 1, "the key is sent once");
    // The next press reuses it without asking Stripe to create anything.
    let again = app.press_pay(&link, false).await;
    assert_eq!(
        location_of(&again),
        sessions[0]["url"].as_str().expect("url")
    );
    assert_eq!(stripe.checkout_sessions().len(), 1);
    assert_eq!(sent_with(&stripe, &key).await, 1);
    assert_eq!(stripe.violations(), Vec::<String>::new());
}

on_both_backends!(the_pay_button_works_again_at_once_after_a_checkout_500);

/// Stripe answered 500 having created nothing: that press fails with a
/// plain "press Pay again", and the next one opens a session at once under
/// the next attempt's key (no 50-minute lockout replaying the stored 500).
async fn the_pay_button_works_again_at_once_after_a_checkout_500(backend: Backend) {
    let Some((app, stripe, f)) = checkout_app(backend).await else {
        return;
    };
    let open = app.invoice_of(&f.key, &f.invoice_session).await;
    let link = open["portalUrl"].as_str().expect("portal").to_string();
    let id = open["id"].as_str().expect("id").to_string();
    stripe.fail_next(Op::CreateCheckout, Failure::Before);

    let failed = app.press_pay(&link, false).await;
    assert_ne!(failed.status(), 303);
    let html = failed.text().await.expect("html");
    assert!(html.contains("press Pay again"), "{html}");
    assert!(stripe.checkout_sessions().is_empty());

    let pressed = app.press_pay(&link, false).await;
    assert_eq!(
        pressed.status(),
        303,
        "{}",
        pressed.text().await.unwrap_or_default()
    );
    let sessions = stripe.checkout_sessions();
    assert_eq!(sessions.len(), 1, "{sessions:#?}");
    assert_eq!(
        location_of(&pressed),
        sessions[0]["url"].as_str().expect("url")
    );
    let first = format!("inv_{id}_checkout_329182_1");
    let second = format!("inv_{id}_checkout_329182_2");
    assert_eq!(sessions[0]["metadata"]["checkout_key"], second.as_str());
    assert_eq!(
        sent_with(&stripe, &first).await,
        1,
        "a failed key is never resent"
    );
    assert_eq!(sent_with(&stripe, &second).await, 1);
    assert_eq!(stripe.violations(), Vec::<String>::new());
}

on_both_backends!(a_customer_created_despite_a_500_is_found_not_made_twice);

/// Stripe created the client's Customer but answered 500: the Customer is
/// found (listed by email, matched by `metadata[client_id]`), the Pay
/// button works, and a day later (Stripe has forgotten the key) there is
/// still one Customer.
async fn a_customer_created_despite_a_500_is_found_not_made_twice(backend: Backend) {
    let Some((app, stripe, f)) = checkout_app(backend).await else {
        return;
    };
    let open = app.invoice_of(&f.key, &f.invoice_session).await;
    let link = open["portalUrl"].as_str().expect("portal").to_string();
    stripe.fail_next(Op::CreateCustomer, Failure::After);

    let pressed = app.press_pay(&link, false).await;
    assert_eq!(
        pressed.status(),
        303,
        "{}",
        pressed.text().await.unwrap_or_default()
    );
    let customers = stripe.customers();
    assert_eq!(customers.len(), 1, "{customers:#?}");
    assert_eq!(customers[0]["email"], tests::INVOICE_EMAIL);
    let sessions = stripe.checkout_sessions();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["customer"], customers[0]["id"]);
    // A day later Stripe has forgotten the key; the client still has one.
    stripe.advance_hours(25);
    app.press_pay(&link, true).await;
    assert_eq!(stripe.customers().len(), 1, "{:#?}", stripe.customers());
    assert_eq!(stripe.violations(), Vec::<String>::new());
}

on_both_backends!(a_customer_creation_500_does_not_lock_the_client_out);

/// Stripe answered 500 to the Customer's creation having created nothing:
/// that press fails; the next one learns the key is spent (Stripe replays
/// its 500), finds no Customer, and creates it under the next key.
async fn a_customer_creation_500_does_not_lock_the_client_out(backend: Backend) {
    let Some((app, stripe, f)) = checkout_app(backend).await else {
        return;
    };
    let open = app.invoice_of(&f.key, &f.invoice_session).await;
    let link = open["portalUrl"].as_str().expect("portal").to_string();
    stripe.fail_next(Op::CreateCustomer, Failure::Before);

    let failed = app.press_pay(&link, false).await;
    assert_ne!(failed.status(), 303);
    assert!(stripe.customers().is_empty());

    let pressed = app.press_pay(&link, false).await;
    assert_eq!(
        pressed.status(),
        303,
        "{}",
        pressed.text().await.unwrap_or_default()
    );
    let customers = stripe.customers();
    assert_eq!(customers.len(), 1, "{customers:#?}");
    let sessions = stripe.checkout_sessions();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["customer"], customers[0]["id"]);
    let base = stripe
        .calls()
        .await
        .into_iter()
        .filter_map(|(m, p, k)| (m == "POST" && p == "/v1/customers").then_some(k))
        .flatten()
        .collect::<Vec<_>>();
    assert_eq!(base.len(), 3, "{base:?}");
    assert_eq!(base[0], base[1], "the spent key, then its replay");
    assert_eq!(base[2], format!("{}_2", base[0]));
    assert_eq!(stripe.violations(), Vec::<String>::new());
}

on_both_backends!(the_card_setup_page_works_again_after_a_500);

/// The card-setup page's button after Stripe answered 500 to the setup
/// session (having created nothing, then having created it): each time
/// the page works without waiting for the attempt to expire.
async fn the_card_setup_page_works_again_after_a_500(backend: Backend) {
    let Some((app, stripe, f)) = checkout_app(backend).await else {
        return;
    };
    // Created nothing: the next press opens attempt 2 at once.
    let (setup, link) = setup_link_of(&app, &f.key, &f.invoice_client, tests::INVOICE_EMAIL).await;
    stripe.fail_next(Op::CreateCheckout, Failure::Before);
    let failed = press_setup(&app, &link).await;
    assert_ne!(failed.status(), 303);
    let pressed = press_setup(&app, &link).await;
    assert_eq!(
        pressed.status(),
        303,
        "{}",
        pressed.text().await.unwrap_or_default()
    );
    let sessions = stripe.checkout_sessions();
    assert_eq!(sessions.len(), 1, "{sessions:#?}");
    assert_eq!(sessions[0]["mode"], "setup");
    assert_eq!(
        location_of(&pressed),
        sessions[0]["url"].as_str().expect("url")
    );
    let first = format!("setup_{setup}_checkout_1");
    assert_eq!(
        sessions[0]["metadata"]["card_setup"],
        format!("setup_{setup}_checkout_2")
    );
    assert_eq!(
        sent_with(&stripe, &first).await,
        1,
        "a failed key is never resent"
    );

    // Created despite the 500 (another client): found, and the page leads to it.
    let mia = app
        .create_client(&f.key, "Mia Park", "mia@example.com", "AUTO_PAY")
        .await;
    let (_, link) = setup_link_of(&app, &f.key, &mia, "mia@example.com").await;
    stripe.fail_next(Op::CreateCheckout, Failure::After);
    let pressed = press_setup(&app, &link).await;
    assert_eq!(
        pressed.status(),
        303,
        "{}",
        pressed.text().await.unwrap_or_default()
    );
    let sessions = stripe.checkout_sessions();
    assert_eq!(sessions.len(), 2, "{sessions:#?}");
    assert_eq!(
        location_of(&pressed),
        sessions[1]["url"].as_str().expect("url")
    );
    assert_eq!(stripe.violations(), Vec::<String>::new());
}

/// Asks for a card setup for `client` and returns the request's id and the
/// emailed link.
async fn setup_link_of(
    app: &tests::TestApp,
    key: &str,
    client: &str,
    email: &str,
) -> (String, String) {
    let asked = app
        .gql(
            key,
            "mutation($c: ID!) { requestCardSetup(clientId: $c) { cardSetup { id } userErrors { message } } }",
            json!({ "c": client }),
        )
        .await;
    let setup = asked["requestCardSetup"]["cardSetup"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{asked}"))
        .to_string();
    app.drain().await;
    let text = app
        .emails_to(email)
        .into_iter()
        .find(|e| e.text.contains("/card-setup/"))
        .expect("the card-setup email")
        .text;
    let link = text
        .split_whitespace()
        .find(|w| w.starts_with("http") && w.contains("/card-setup/"))
        .expect("a link")
        .to_string();
    (setup, link)
}

/// Opens the setup page and presses its button.
async fn press_setup(app: &tests::TestApp, link: &str) -> reqwest::Response {
    let page = app
        .http
        .get(link)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    let csrf = tests::csrf_field(&page);
    app.http
        .post(format!("{link}/checkout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("press")
}

on_both_backends!(the_simulated_gateway_finds_sessions_and_customers_like_stripe);

/// The simulated gateway answers the same lookups (its sessions keep their
/// key): the session a press opened is found by its attempt's key, in its
/// mode only, and the client's Customer is found.
async fn the_simulated_gateway_finds_sessions_and_customers_like_stripe(backend: Backend) {
    use domain::ports::gateway::{CheckoutLookup, CustomerRequest};
    let Some(app) = tests::spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let open = app.invoice_of(&f.key, &f.invoice_session).await;
    let link = open["portalUrl"].as_str().expect("portal").to_string();
    let id = open["id"].as_str().expect("id").to_string();
    let url = app.checkout_url(&link, false).await;
    let gateway = &app.ctx.gateway;
    let lookup = CheckoutLookup {
        idempotency_key: format!("inv_{id}_checkout_329182_1"),
        customer: None,
        created_from: chrono::Utc::now() - chrono::Duration::hours(1),
    };
    let found = gateway
        .find_checkout(&lookup)
        .await
        .expect("lookup")
        .expect("the session");
    assert_eq!(found.url.as_deref(), Some(url.as_str()));
    assert_eq!(
        gateway.find_setup_checkout(&lookup).await.expect("lookup"),
        None
    );
    let other = CheckoutLookup {
        idempotency_key: format!("inv_{id}_checkout_329182_2"),
        ..lookup
    };
    assert_eq!(gateway.find_checkout(&other).await.expect("lookup"), None);
    let customer = CustomerRequest {
        idempotency_key: "client_1_customer".into(),
        client_ref: "1".into(),
        name: "Noah".into(),
        email: tests::INVOICE_EMAIL.into(),
    };
    assert_eq!(
        gateway.find_customer(&customer).await.expect("lookup"),
        Some(gateway.create_customer(&customer).await.expect("create"))
    );
}
