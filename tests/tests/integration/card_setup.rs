//! Cards on file: `requestCardSetup` emails a link to a setup page that
//! opens Checkout in `mode=setup`; the card is stored once whatever arrives
//! first (the webhooks or the client's return), and the next completed
//! session is charged to it off-session. Also: a card kept in a payment
//! whose webhook arrives before the client returns, and an open Checkout
//! Session expired when the amount due changes.

use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tests::{Backend, SentEmail, TestApp, csrf_field, spawn_app, stripe_event};
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

on_both_backends!(
    a_payment_webhook_before_the_return_still_keeps_the_card,
    a_late_fee_expires_the_open_checkout_session,
    a_stale_session_paid_before_it_could_be_expired_is_recorded_once,
    a_client_who_follows_the_card_setup_email_is_charged_automatically_next_time,
    request_card_setup_refuses_unknown_foreign_and_emailless_clients,
    a_stripe_card_setup_stores_the_card_once_whatever_arrives_first,
    asking_again_while_a_link_is_pending_sends_no_second_email,
);

const MIA: &str = "mia@example.com";

const REQUEST: &str = "mutation($c: ID!) { requestCardSetup(clientId: $c) {
    cardSetup { id clientId status expiresAt cardBrand cardLast4 }
    userErrors { field message code } } }";

async fn request_setup(app: &TestApp, key: &str, client: &str) -> Value {
    app.gql(key, REQUEST, json!({ "c": client })).await["requestCardSetup"].clone()
}

/// The setup link of the card-setup email.
fn setup_link(email: &SentEmail) -> String {
    email
        .text
        .split_whitespace()
        .find(|w| w.starts_with("http") && w.contains("/card-setup/"))
        .expect("a card-setup link")
        .to_string()
}

fn setup_emails(app: &TestApp, to: &str) -> Vec<SentEmail> {
    app.emails_to(to)
        .into_iter()
        .filter(|e| e.subject.starts_with("Save a card"))
        .collect()
}

/// Opens the setup page as a browser and presses its button.
async fn press_save(app: &TestApp, link: &str) -> reqwest::Response {
    let page = app
        .http
        .get(link)
        .send()
        .await
        .expect("setup page")
        .text()
        .await
        .expect("html");
    let csrf = csrf_field(&page);
    app.http
        .post(format!("{link}/checkout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("setup checkout")
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string()
}

async fn card_of(app: &TestApp, key: &str, client: &str) -> Value {
    app.gql(
        key,
        "query($id: ID!) { client(id: $id) { paymentMethod { brand last4 } } }",
        json!({ "id": client }),
    )
    .await["client"]["paymentMethod"]
        .clone()
}

fn form_of(request: &wiremock::Request) -> std::collections::HashMap<String, String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(&request.body)
        .expect("form body")
        .into_iter()
        .collect()
}

async fn requests_to(stripe: &MockServer, path: &str) -> Vec<wiremock::Request> {
    stripe
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path() == path)
        .collect()
}

/// On the simulated gateway: the email's link, the page (a GET opens
/// nothing), the button, a test card typed on the hosted page, "card
/// saved"; the signed events that follow change nothing; the next completed
/// session is charged to the card without the client.
async fn a_client_who_follows_the_card_setup_email_is_charged_automatically_next_time(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let mia = app.create_client(&f.key, "Mia Park", MIA, "AUTO_PAY").await;
    let asked = request_setup(&app, &f.key, &mia).await;
    assert_eq!(asked["userErrors"], json!([]), "{asked}");
    assert_eq!(asked["cardSetup"]["status"], "REQUESTED");
    assert_eq!(asked["cardSetup"]["clientId"], mia);
    app.drain().await;
    let emails = setup_emails(&app, MIA);
    assert_eq!(emails.len(), 1, "one email per request");
    let link = setup_link(&emails[0]);
    assert!(
        emails[0].says("Nothing is charged now"),
        "{}",
        emails[0].text
    );

    // A mail scanner opening the link creates nothing.
    let page = app.http.get(&link).send().await.expect("page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("Golden Hour") && html.contains("Save a card"),
        "{html}"
    );
    assert_eq!(app.count("card_setup_sessions").await, 0);
    assert_eq!(app.count("simulated_checkout_sessions").await, 0);
    // Nor does a POST without the page's CSRF token.
    let forged = app
        .http
        .post(format!("{link}/checkout"))
        .form(&[("csrf", "00")])
        .send()
        .await
        .expect("forged");
    assert_eq!(forged.status(), 422);
    assert_eq!(app.count("card_setup_sessions").await, 0);

    let pressed = press_save(&app, &link).await;
    assert_eq!(pressed.status(), 303);
    let hosted = location(&pressed);
    assert!(hosted.contains("/sim-checkout/cs_sim_"), "{hosted}");
    // Pressing again (another tab) reuses the open session.
    assert_eq!(location(&press_save(&app, &link).await), hosted);
    let hosted_html = app
        .http
        .get(&hosted)
        .send()
        .await
        .expect("hosted")
        .text()
        .await
        .expect("html");
    assert!(
        hosted_html.contains("Save card") && !hosted_html.contains("Pay "),
        "no amount on a setup page: {hosted_html}"
    );
    // A declining test card is refused there and saves nothing.
    let declined = app.pay_on_hosted_page(&hosted, "4000 0000 0000 0002").await;
    assert_eq!(declined.status(), 402);
    let saved = app.pay_on_hosted_page(&hosted, "5555 5555 5555 4444").await;
    assert_eq!(saved.status(), 303);
    let back = app.follow(&saved).await;
    assert_eq!(back.status(), 200);
    let html = back.text().await.expect("html");
    assert!(
        html.contains("Card saved") && html.contains("Mastercard •••• 4444"),
        "{html}"
    );
    app.drain().await;
    assert_eq!(
        card_of(&app, &f.key, &mia).await,
        json!({ "brand": "mastercard", "last4": "4444" })
    );
    let kinds: Vec<String> = app
        .webhook_events()
        .await
        .into_iter()
        .map(|(kind, status, _)| format!("{kind} {status}"))
        .collect();
    // Both arrive verified; whichever comes after the card is stored (the
    // return page may have stored it first) changes nothing and is IGNORED.
    let arrived = |kind: &str| {
        kinds.contains(&format!("{kind} PROCESSED")) || kinds.contains(&format!("{kind} IGNORED"))
    };
    assert!(
        arrived("checkout.session.completed") && arrived("setup_intent.succeeded"),
        "the simulated gateway signs both events: {kinds:?}"
    );
    let sessions = entity::card_setup_session::Entity::find()
        .all(&app.ctx.db)
        .await
        .expect("sessions");
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].status, entity::enums::CheckoutStatus::Complete);
    assert_eq!(
        sessions[0].payment_method.as_deref(),
        Some("pm_card_mastercard")
    );

    // The next completed session is charged to the card, off-session.
    let next = app
        .schedule_wedding(&f.key, &mia, &f.package, &f.add_on, "0")
        .await;
    app.complete_session(&f.key, &next).await;
    app.drain().await;
    let invoice = app.invoice_of(&f.key, &next).await;
    assert_eq!(invoice["status"], "PAID", "{invoice:#}");
    assert_eq!(invoice["payments"].as_array().map(Vec::len), Some(1));
    assert_eq!(invoice["payments"][0]["source"], "AUTO_PAY");
    assert_eq!(invoice["payments"][0]["cardLast4"], "4444");
    assert_eq!(setup_emails(&app, MIA).len(), 1, "no second setup email");
}

/// userErrors for what cannot be done, and nothing written; an expired link
/// opens nothing.
async fn request_card_setup_refuses_unknown_foreign_and_emailless_clients(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let other = app.seed_studio("Other Studio").await;
    for client in ["999999", "not-an-id", other.invoice_client.as_str()] {
        let refused = request_setup(&app, &f.key, client).await;
        assert_eq!(refused["cardSetup"], Value::Null, "{refused}");
        assert_eq!(
            refused["userErrors"][0]["code"], "NOT_FOUND",
            "a foreign client is a missing one: {refused}"
        );
    }
    let id: i64 = f.invoice_client.parse().expect("id");
    let stored = entity::client::Entity::find_by_id(id)
        .one(&app.ctx.db)
        .await
        .expect("client")
        .expect("noah");
    let mut emailless: entity::client::ActiveModel = stored.into();
    emailless.email = Set(String::new());
    emailless.update(&app.ctx.db).await.expect("update");
    let refused = request_setup(&app, &f.key, &f.invoice_client).await;
    assert_eq!(
        refused["userErrors"][0]["code"], "INVALID_INPUT",
        "{refused}"
    );
    assert!(
        refused["userErrors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no email")),
        "{refused}"
    );
    assert_eq!(app.count("card_setups").await, 0);
    // Without an API key, nothing at all.
    let anonymous = app
        .graphql(None, REQUEST, json!({ "c": f.auto_pay_client }))
        .await;
    assert!(anonymous.get("errors").is_some(), "{anonymous}");

    // An expired link: the page says so and its button opens nothing.
    let asked = request_setup(&app, &f.key, &f.auto_pay_client).await;
    assert_eq!(asked["userErrors"], json!([]));
    app.drain().await;
    let link = setup_link(&setup_emails(&app, tests::AUTO_PAY_EMAIL)[0]);
    let html = app
        .http
        .get(&link)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    let csrf = csrf_field(&html);
    entity::card_setup::Entity::update_many()
        .col_expr(
            entity::card_setup::Column::ExpiresAt,
            sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::Duration::minutes(1)),
        )
        .exec(&app.ctx.db)
        .await
        .expect("expire");
    let late = app
        .http
        .post(format!("{link}/checkout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("late");
    assert_eq!(late.status(), 410);
    assert!(late.text().await.expect("html").contains("expired"));
    assert_eq!(app.count("card_setup_sessions").await, 0);
    let unknown = app
        .http
        .get(format!("{}/card-setup/{}", app.address, "x".repeat(64)))
        .send()
        .await
        .expect("unknown");
    assert_eq!(unknown.status(), 404);
}

fn setup_session(id: &str, key: &str, client: &str) -> Value {
    json!({
        "id": id, "object": "checkout.session", "mode": "setup",
        "url": format!("https://checkout.stripe.test/c/setup/{id}"), "status": "open",
        "payment_status": "no_payment_required", "amount_total": null, "currency": "usd",
        "customer": "cus_mia", "client_reference_id": client,
        "metadata": { "card_setup": key, "client_id": client }, "setup_intent": null
    })
}

fn card_json(pm: &str, brand: &str, last4: &str) -> Value {
    json!({ "id": pm, "object": "payment_method", "type": "card", "customer": "cus_mia",
            "card": { "brand": brand, "last4": last4, "exp_month": 8, "exp_year": 2031 } })
}

/// Against the Stripe-shaped server, with the exact fields of the setup
/// session: the webhook before the return (the SetupIntent retrieved once),
/// duplicated and followed by `setup_intent.succeeded`; then a second setup
/// whose return comes before its webhook; a late event of the first setup
/// does not bring its card back; the next session is charged off-session
/// to the card of the second.
async fn a_stripe_card_setup_stores_the_card_once_whatever_arrives_first(backend: Backend) {
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
    let mia = app.create_client(&f.key, "Mia Park", MIA, "AUTO_PAY").await;
    Mock::given(method("POST"))
        .and(path("/v1/customers"))
        .and(body_string_contains("email=mia%40example.com"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": "cus_mia", "object": "customer" })),
        )
        .expect(1)
        .mount(&stripe)
        .await;

    // ---- setup 1: the webhook arrives before the client returns.
    let first = request_setup(&app, &f.key, &mia).await;
    let first_id = first["cardSetup"]["id"].as_str().expect("id").to_string();
    let key1 = format!("setup_{first_id}_checkout_1");
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .and(header("authorization", "Bearer sk_test_local"))
        .and(header("idempotency-key", key1.as_str()))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(ResponseTemplate::new(200).set_body_json(setup_session(
            "cs_setup_1",
            &key1,
            &mia,
        )))
        .expect(1)
        .mount(&stripe)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/setup_intents/seti_1"))
        .and(query_param("expand[]", "payment_method"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "seti_1", "object": "setup_intent", "status": "succeeded",
            "payment_method": card_json("pm_saved1", "visa", "1881")
        })))
        .expect(1)
        .mount(&stripe)
        .await;
    app.drain().await;
    let link1 = setup_link(&setup_emails(&app, MIA)[0]);
    let pressed = press_save(&app, &link1).await;
    assert_eq!(pressed.status(), 303);
    assert_eq!(
        location(&pressed),
        "https://checkout.stripe.test/c/setup/cs_setup_1"
    );
    let created = requests_to(&stripe, "/v1/checkout/sessions").await;
    assert_eq!(created.len(), 1);
    let form = form_of(&created[0]);
    let field = |k: &str| form.get(k).cloned().unwrap_or_else(|| "<missing>".into());
    assert_eq!(field("mode"), "setup");
    assert_eq!(field("currency"), "usd");
    assert_eq!(field("payment_method_types[]"), "card");
    assert_eq!(field("customer"), "cus_mia");
    assert_eq!(field("client_reference_id"), mia);
    assert_eq!(field("metadata[client_id]"), mia);
    assert_eq!(field("metadata[card_setup]"), key1);
    assert_eq!(field("setup_intent_data[metadata][client_id]"), mia);
    assert_eq!(field("setup_intent_data[metadata][card_setup]"), key1);
    assert_eq!(
        field("success_url"),
        format!("{link1}/return?session_id={{CHECKOUT_SESSION_ID}}")
    );
    assert_eq!(field("cancel_url"), link1);
    let expires: i64 = field("expires_at").parse().expect("expires_at");
    let now = chrono::Utc::now().timestamp();
    assert!(
        expires > now + 30 * 60 && expires <= now + 24 * 3600,
        "{expires}"
    );
    assert!(!form.contains_key("line_items[0][price_data][unit_amount]"));

    let mut done = setup_session("cs_setup_1", &key1, &mia);
    done["status"] = json!("complete");
    done["url"] = json!(null);
    done["setup_intent"] = json!("seti_1");
    let completed = stripe_event(
        "evt_setup1_done",
        "checkout.session.completed",
        now,
        done.clone(),
    );
    let (status, answer) = app.send_webhook(&completed).await;
    assert_eq!(
        (status, answer["status"].clone()),
        (200, json!("processed")),
        "{answer}"
    );
    assert_eq!(
        card_of(&app, &f.key, &mia).await,
        json!({ "brand": "visa", "last4": "1881" })
    );
    // Delivered again, and the SetupIntent's own event: nothing more.
    let (_, again) = app.send_webhook(&completed).await;
    assert_eq!(again["status"], "duplicate", "{again}");
    let intent_event = stripe_event(
        "evt_seti1",
        "setup_intent.succeeded",
        now,
        json!({ "id": "seti_1", "object": "setup_intent", "status": "succeeded",
                "payment_method": "pm_saved1", "customer": "cus_mia",
                "metadata": { "card_setup": key1, "client_id": mia } }),
    );
    let (status, answer) = app.send_webhook(&intent_event).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        requests_to(&stripe, "/v1/payment_methods/pm_saved1")
            .await
            .len(),
        0
    );
    // The client's return reads "card saved" without asking Stripe again.
    let back = app
        .http
        .get(format!("{link1}/return?session_id=cs_setup_1"))
        .send()
        .await
        .expect("return");
    assert!(back.text().await.expect("html").contains("Card saved"));
    assert_eq!(
        requests_to(&stripe, "/v1/checkout/sessions/cs_setup_1")
            .await
            .len(),
        0
    );

    // ---- setup 2: the client returns before the webhook.
    let second = request_setup(&app, &f.key, &mia).await;
    let second_id = second["cardSetup"]["id"].as_str().expect("id").to_string();
    let key2 = format!("setup_{second_id}_checkout_1");
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .and(header("idempotency-key", key2.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(setup_session(
            "cs_setup_2",
            &key2,
            &mia,
        )))
        .expect(1)
        .mount(&stripe)
        .await;
    let mut done2 = setup_session("cs_setup_2", &key2, &mia);
    done2["status"] = json!("complete");
    done2["url"] = json!(null);
    done2["setup_intent"] = json!({ "id": "seti_2", "object": "setup_intent", "status": "succeeded",
        "payment_method": card_json("pm_saved2", "mastercard", "4444") });
    Mock::given(method("GET"))
        .and(path("/v1/checkout/sessions/cs_setup_2"))
        .and(query_param("expand[]", "setup_intent.payment_method"))
        .respond_with(ResponseTemplate::new(200).set_body_json(done2.clone()))
        .expect(1)
        .mount(&stripe)
        .await;
    app.drain().await;
    let emails = setup_emails(&app, MIA);
    assert_eq!(emails.len(), 2);
    let link2 = emails
        .iter()
        .map(setup_link)
        .find(|l| *l != link1)
        .expect("a second link");
    assert_eq!(
        location(&press_save(&app, &link2).await),
        "https://checkout.stripe.test/c/setup/cs_setup_2"
    );
    let back = app
        .http
        .get(format!("{link2}/return?session_id=cs_setup_2"))
        .send()
        .await
        .expect("return");
    let html = back.text().await.expect("html");
    assert!(
        html.contains("Card saved") && html.contains("Mastercard •••• 4444"),
        "{html}"
    );
    let mut object = done2.clone();
    object["setup_intent"] = json!("seti_2");
    let (status, answer) = app
        .send_webhook(&stripe_event(
            "evt_setup2_done",
            "checkout.session.completed",
            now,
            object,
        ))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer["detail"]
            .as_str()
            .is_some_and(|d| d.contains("already stored") || d.contains("no card to store")),
        "{answer}"
    );
    // A late event of the first setup does not bring its card back.
    let (status, _) = app
        .send_webhook(&stripe_event(
            "evt_setup1_late",
            "checkout.session.async_payment_succeeded",
            now,
            done,
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        card_of(&app, &f.key, &mia).await,
        json!({ "brand": "mastercard", "last4": "4444" })
    );

    // ---- the next completed session is charged to that card, off-session.
    Mock::given(method("GET"))
        .and(path("/v1/payment_methods/pm_saved2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(card_json(
            "pm_saved2",
            "mastercard",
            "4444",
        )))
        .mount(&stripe)
        .await;
    // Created first (unconfirmed, its id stored), then confirmed off-session.
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents"))
        .and(body_string_contains("payment_method=pm_saved2"))
        .and(body_string_contains("customer=cus_mia"))
        .and(body_string_contains("confirm=false"))
        .and(body_string_contains("amount=329182"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "pi_mia", "object": "payment_intent", "amount": 329_182, "currency": "usd",
            "status": "requires_confirmation", "payment_method": "pm_saved2"
        })))
        .expect(1)
        .mount(&stripe)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents/pi_mia/confirm"))
        .and(body_string_contains("off_session=true"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "pi_mia", "object": "payment_intent", "amount": 329_182, "currency": "usd",
            "status": "succeeded", "payment_method": "pm_saved2"
        })))
        .expect(1)
        .mount(&stripe)
        .await;
    let next = app
        .schedule_wedding(&f.key, &mia, &f.package, &f.add_on, "0")
        .await;
    app.complete_session(&f.key, &next).await;
    app.drain().await;
    let invoice = app.invoice_of(&f.key, &next).await;
    assert_eq!(invoice["status"], "PAID", "{invoice:#}");
    assert_eq!(invoice["payments"][0]["source"], "AUTO_PAY");
    assert_eq!(invoice["payments"][0]["cardLast4"], "4444");
}

/// With real Stripe, `checkout.session.completed` carries the PaymentIntent
/// as an id, so the card the client asked to keep is not in it: the
/// receiver retrieves the PaymentIntent with its payment method. The card is
/// kept although the webhook came before the client's return.
async fn a_payment_webhook_before_the_return_still_keeps_the_card(backend: Backend) {
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
    let mia = app.create_client(&f.key, "Mia Park", MIA, "AUTO_PAY").await;
    Mock::given(method("POST"))
        .and(path("/v1/customers"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": "cus_mia", "object": "customer" })),
        )
        .mount(&stripe)
        .await;
    let session = app
        .schedule_wedding(&f.key, &mia, &f.package, &f.add_on, "0")
        .await;
    app.complete_session(&f.key, &session).await;
    app.drain().await;
    let open = app.invoice_of(&f.key, &session).await;
    assert_eq!(
        open["status"], "OPEN",
        "no card yet: the invoice is emailed"
    );
    let link = open["portalUrl"].as_str().expect("portal").to_string();
    let id = open["id"].as_str().expect("id").to_string();
    let key = format!("inv_{id}_checkout_329182_1");
    let cs = json!({
        "id": "cs_keep_1", "object": "checkout.session", "mode": "payment",
        "url": "https://checkout.stripe.test/c/pay/cs_keep_1", "status": "open",
        "payment_status": "unpaid", "amount_total": 329_182, "currency": "usd",
        "metadata": { "invoice_id": id }
    });
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .and(header("idempotency-key", key.as_str()))
        .and(body_string_contains(
            "payment_intent_data%5Bsetup_future_usage%5D=off_session",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(cs.clone()))
        .expect(1)
        .mount(&stripe)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/payment_intents/pi_keep"))
        .and(query_param("expand[]", "payment_method"))
        .and(header("authorization", "Bearer sk_test_local"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "pi_keep", "object": "payment_intent", "status": "succeeded",
            "payment_method": card_json("pm_kept", "visa", "4242")
        })))
        .expect(1)
        .mount(&stripe)
        .await;
    let pressed = app.press_pay(&link, true).await;
    assert_eq!(pressed.status(), 303);

    // Stripe's event, as Stripe sends it: the PaymentIntent unexpanded.
    let mut paid = cs.clone();
    paid["status"] = json!("complete");
    paid["payment_status"] = json!("paid");
    paid["url"] = json!(null);
    paid["payment_intent"] = json!("pi_keep");
    let event = stripe_event(
        "evt_keep_done",
        "checkout.session.completed",
        chrono::Utc::now().timestamp(),
        paid,
    );
    let (status, answer) = app.send_webhook(&event).await;
    assert_eq!(
        (status, answer["status"].clone()),
        (200, json!("processed")),
        "{answer}"
    );
    assert_eq!(
        card_of(&app, &f.key, &mia).await,
        json!({ "brand": "visa", "last4": "4242" }),
        "the card is kept though the event did not carry it"
    );
    let (_, again) = app.send_webhook(&event).await;
    assert_eq!(again["status"], "duplicate");
    // The client's return after that: "paid", nothing asked again.
    let back = app
        .http
        .get(format!("{link}/return?session_id=cs_keep_1"))
        .send()
        .await
        .expect("return");
    assert!(
        back.text()
            .await
            .expect("html")
            .contains("Your payment was received")
    );
    app.drain().await;
    let invoice = app.invoice_of(&f.key, &session).await;
    assert_eq!(invoice["status"], "PAID", "{invoice:#}");
    assert_eq!(invoice["payments"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        invoice["payments"][0]["cardLast4"], "4242",
        "the receipt names the card"
    );
    let stored = entity::client::Entity::find()
        .filter(entity::client::Column::Email.eq(MIA))
        .one(&app.ctx.db)
        .await
        .expect("client")
        .expect("mia");
    assert_eq!(stored.pm_token.as_deref(), Some("pm_kept"));
}

async fn checkout_rows(app: &TestApp) -> Vec<(i32, i64, String)> {
    entity::checkout_session::Entity::find()
        .all(&app.ctx.db)
        .await
        .expect("rows")
        .into_iter()
        .map(|r| {
            (
                r.attempt,
                r.amount_minor.get(),
                r.status.as_str().to_string(),
            )
        })
        .collect()
}

/// A client opened the hosted page; then the first overdue reminder adds
/// the late fee: the open session (for the old amount) is expired at the
/// gateway after that commit and can no longer be paid; Pay opens one for
/// the new amount.
async fn a_late_fee_expires_the_open_checkout_session(backend: Backend) {
    use domain::kernel::clock::Clock;
    let clock = Clock::manual(chrono::Utc::now());
    let installed = clock.clone();
    let Some(app) = tests::spawn_app_full(
        backend,
        |_| {},
        move |mut ctx| {
            ctx.clock = installed;
            ctx
        },
    )
    .await
    else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let set = app
        .gql(
            &f.key,
            "mutation { updateReminderPolicy(input: { lateFee: { fixed: \"25.00\" } }) { userErrors { message } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        set["updateReminderPolicy"]["userErrors"],
        json!([]),
        "{set}"
    );
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let open = app.invoice_of(&f.key, &f.invoice_session).await;
    let link = open["portalUrl"].as_str().expect("portal").to_string();
    let id = open["id"].as_str().expect("id").to_string();
    let hosted = app.checkout_url(&link, false).await;
    assert_eq!(
        checkout_rows(&app).await,
        vec![(1, 329_182, "OPEN".to_string())]
    );

    // Steps 0 (3 days before), 1 (due date) and 2 (3 days overdue: the fee).
    for step in 0..=2 {
        let key = format!("reminder_step:invoice:{id}:step:{step}");
        let at = app
            .scheduled()
            .await
            .into_iter()
            .find(|(k, _)| *k == key)
            .map(|(_, at)| at)
            .unwrap_or_else(|| panic!("step {step} scheduled: {:?}", key));
        clock.set(at);
        app.advance_scheduled().await;
        app.drain().await;
    }
    let late = app.invoice_of(&f.key, &f.invoice_session).await;
    assert_eq!(late["amountDue"]["minorUnits"], 329_182 + 2_500, "{late:#}");
    assert_eq!(
        checkout_rows(&app).await,
        vec![(1, 329_182, "EXPIRED".to_string())],
        "the stale session was expired"
    );
    let stale = app.pay_on_hosted_page(&hosted, "4242 4242 4242 4242").await;
    assert_eq!(
        stale.status(),
        410,
        "the old amount cannot be paid any more"
    );
    assert!(
        app.webhook_events()
            .await
            .iter()
            .any(|(kind, status, _)| kind == "checkout.session.expired" && status == "PROCESSED"),
        "{:?}",
        app.webhook_events().await
    );
    let paid = app.open_and_pay(&link, "4242 4242 4242 4242").await;
    assert_eq!(paid.status(), 303);
    app.drain().await;
    let invoice = app.invoice_of(&f.key, &f.invoice_session).await;
    assert_eq!(invoice["status"], "PAID", "{invoice:#}");
    assert_eq!(invoice["amountPaid"]["minorUnits"], 329_182 + 2_500);
    assert_eq!(invoice["payments"].as_array().map(Vec::len), Some(1));
}

/// The amount due changes (a partial payment by check) while a Stripe
/// session for the old amount is open; expiring it finds that the client
/// paid it just before: the payment is recorded once, never lost, and the
/// overpayment is written on the attempt for the studio to refund.
async fn a_stale_session_paid_before_it_could_be_expired_is_recorded_once(backend: Backend) {
    let stripe = MockServer::start().await;
    let Some(app) = tests::spawn_app_on_stripe(backend, stripe.uri()).await else {
        return;
    };
    Mock::given(method("GET"))
        .and(path("/v1/payment_methods/pm_1Visa"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(card_json("pm_1Visa", "visa", "4242")),
        )
        .mount(&stripe)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/customers"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": "cus_noah", "object": "customer" })),
        )
        .mount(&stripe)
        .await;
    let f = app.seed_studio_with_card("Golden Hour", "pm_1Visa").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let open = app.invoice_of(&f.key, &f.invoice_session).await;
    let link = open["portalUrl"].as_str().expect("portal").to_string();
    let id = open["id"].as_str().expect("id").to_string();
    let cs = json!({
        "id": "cs_stale_1", "object": "checkout.session", "mode": "payment",
        "url": "https://checkout.stripe.test/c/pay/cs_stale_1", "status": "open",
        "payment_status": "unpaid", "amount_total": 329_182, "currency": "usd",
        "metadata": { "invoice_id": id }
    });
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(cs.clone()))
        .expect(1)
        .mount(&stripe)
        .await;
    assert_eq!(app.press_pay(&link, false).await.status(), 303);
    // The client pays it on Stripe's page; Stripe refuses to expire it then.
    let mut paid = cs.clone();
    paid["status"] = json!("complete");
    paid["payment_status"] = json!("paid");
    paid["url"] = json!(null);
    paid["payment_intent"] = json!({ "id": "pi_stale", "object": "payment_intent",
        "payment_method": card_json("pm_x", "visa", "4242") });
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions/cs_stale_1/expire"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "error": {
            "type": "invalid_request_error", "code": "checkout_session_not_open",
            "message": "Only Checkout Sessions with a status in [\"open\"] can be expired." } })))
        .expect(1)
        .mount(&stripe)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/checkout/sessions/cs_stale_1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(paid.clone()))
        .mount(&stripe)
        .await;
    let recorded = app
        .gql(
            &f.key,
            "mutation($i: RecordManualPaymentInput!) { recordManualPayment(input: $i) { userErrors { code } } }",
            json!({ "i": { "invoiceId": id, "amount": "1000.00", "method": "CHECK", "idempotencyKey": "check-1" } }),
        )
        .await;
    assert_eq!(
        recorded["recordManualPayment"]["userErrors"],
        json!([]),
        "{recorded}"
    );
    app.drain().await;
    // Stripe's own webhook for it, later: counted once.
    let mut object = paid.clone();
    object["payment_intent"] = json!("pi_stale");
    let (status, _) = app
        .send_webhook(&stripe_event(
            "evt_stale",
            "checkout.session.completed",
            chrono::Utc::now().timestamp(),
            object,
        ))
        .await;
    assert_eq!(status, 200);
    app.drain().await;
    let invoice = app.invoice_of(&f.key, &f.invoice_session).await;
    assert_eq!(
        invoice["amountPaid"]["minorUnits"],
        329_182 + 100_000,
        "{invoice:#}"
    );
    let card_payments: Vec<_> = invoice["payments"]
        .as_array()
        .expect("payments")
        .iter()
        .filter(|p| p["cardLast4"] == "4242")
        .collect();
    assert_eq!(card_payments.len(), 1, "one card payment: {invoice:#}");
    let row = entity::checkout_session::Entity::find()
        .one(&app.ctx.db)
        .await
        .expect("row")
        .expect("attempt");
    assert_eq!(row.status, entity::enums::CheckoutStatus::Complete);
    assert!(
        row.detail.as_deref().is_some_and(|d| d.contains("refund")),
        "the overpayment is written down: {row:?}"
    );
}

/// Issue 17, item 7: a fuzzer calling `requestCardSetup` in a loop sent the
/// client 342 emails. While a link is pending (not used, not expired) the
/// same request comes back and nothing is sent; once it expired, asking
/// again sends a new link.
async fn asking_again_while_a_link_is_pending_sends_no_second_email(backend: Backend) {
    use domain::kernel::clock::Clock;
    let clock = Clock::manual(chrono::Utc::now());
    let installed = clock.clone();
    let Some(app) = tests::spawn_app_full(
        backend,
        |_| {},
        move |mut ctx| {
            ctx.clock = installed;
            ctx
        },
    )
    .await
    else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let mia = app.create_client(&f.key, "Mia Park", MIA, "AUTO_PAY").await;
    let first = request_setup(&app, &f.key, &mia).await;
    assert_eq!(first["userErrors"], json!([]), "{first}");
    // Again, and five at once.
    let again = request_setup(&app, &f.key, &mia).await;
    let burst = futures::future::join_all((0..5).map(|_| request_setup(&app, &f.key, &mia))).await;
    for asked in burst.iter().chain([&again]) {
        assert_eq!(asked["userErrors"], json!([]), "{asked}");
        assert_eq!(
            asked["cardSetup"]["id"], first["cardSetup"]["id"],
            "{asked}"
        );
        assert_eq!(asked["cardSetup"]["status"], "REQUESTED");
    }
    app.drain().await;
    assert_eq!(app.count("card_setups").await, 1);
    assert_eq!(setup_emails(&app, MIA).len(), 1, "one email while pending");

    // Expired: a new link, a new email.
    clock.set(
        chrono::Utc::now() + chrono::Duration::days(domain::billing::card_setup::LINK_DAYS + 1),
    );
    let fresh = request_setup(&app, &f.key, &mia).await;
    assert_eq!(fresh["userErrors"], json!([]), "{fresh}");
    assert_ne!(
        fresh["cardSetup"]["id"], first["cardSetup"]["id"],
        "{fresh}"
    );
    app.drain().await;
    assert_eq!(
        setup_emails(&app, MIA).len(),
        2,
        "a new link once the old expired"
    );
}
