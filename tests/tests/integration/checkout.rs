//! Hosted checkout on the simulated gateway's own page: sessions reused,
//! expired and replaced; settled once whatever arrives first (the
//! `checkout.session.*` webhook or the client's return), however often.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tests::{
    AUTO_PAY_EMAIL, Backend, INVOICE_EMAIL, TestApp, spawn_app, spawn_app_with, stripe_event,
};

on_both_backends!(
    a_session_is_reused_for_the_same_amount_and_replaced_when_the_amount_changes,
    the_webhook_and_the_return_settle_once_in_any_order,
    an_expired_session_cannot_be_paid_and_pay_opens_a_new_one,
    a_session_paid_for_another_amount_is_recorded_not_settled,
    a_card_kept_in_checkout_pays_the_next_session_automatically,
    only_a_live_session_for_another_amount_is_retired_after_a_payment,
);

struct Open {
    app: TestApp,
    key: String,
    session: String,
    invoice_id: String,
    link: String,
}

/// An invoice client's invoice, issued and open, and its portal link.
async fn open_invoice(app: TestApp) -> Open {
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let invoice = app.invoice_of(&f.key, &f.invoice_session).await;
    Open {
        link: invoice["portalUrl"].as_str().expect("portal").to_string(),
        invoice_id: invoice["id"].as_str().expect("id").to_string(),
        key: f.key,
        session: f.invoice_session,
        app,
    }
}

fn session_id(hosted: &str) -> String {
    hosted.rsplit('/').next().expect("session id").to_string()
}

async fn statuses(app: &TestApp) -> Vec<(i32, String, i64)> {
    let mut rows: Vec<_> = entity::checkout_session::Entity::find()
        .all(&app.ctx.db)
        .await
        .expect("checkout sessions")
        .into_iter()
        .map(|r| {
            (
                r.attempt,
                r.status.as_str().to_string(),
                r.amount_minor.get(),
            )
        })
        .collect();
    rows.sort();
    rows
}

fn receipts(app: &TestApp) -> usize {
    app.emails_to(INVOICE_EMAIL)
        .iter()
        .filter(|e| e.subject.starts_with("Receipt"))
        .count()
}

/// The simulated gateway's signed event for a session, as its outbox job
/// would deliver it.
async fn event(app: &TestApp, session: &str, kind: &str) -> Value {
    domain::adapters::sim_checkout::event_for(&app.ctx.db, &format!("checkout:{session}:{kind}"))
        .await
        .expect("event")
        .expect("session")
}

async fn a_session_is_reused_for_the_same_amount_and_replaced_when_the_amount_changes(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let o = open_invoice(app).await;
    let app = &o.app;
    // A GET of the portal (a mail scanner) opens nothing.
    app.portal_page(&o.link).await;
    assert_eq!(app.count("checkout_sessions").await, 0);
    let first = app.checkout_url(&o.link, false).await;
    assert_eq!(app.checkout_url(&o.link, false).await, first, "reused");
    assert_eq!(statuses(app).await, vec![(1, "OPEN".into(), 329_182)]);

    // A partial payment changes the amount due: the next Pay expires the
    // old session and opens one for what is due now.
    let paid = app
        .gql(
            &o.key,
            "mutation($i: RecordManualPaymentInput!) { recordManualPayment(input: $i) { userErrors { code } } }",
            json!({ "i": { "invoiceId": o.invoice_id, "amount": "1000.00", "method": "CHECK", "idempotencyKey": "check-1" } }),
        )
        .await;
    assert_eq!(paid["recordManualPayment"]["userErrors"], json!([]));
    let second = app.checkout_url(&o.link, false).await;
    assert_ne!(second, first);
    assert_eq!(
        statuses(app).await,
        vec![(1, "EXPIRED".into(), 329_182), (2, "OPEN".into(), 229_182)]
    );
    let stale = app.pay_on_hosted_page(&first, "4242424242424242").await;
    assert_eq!(stale.status(), 410, "the stale amount cannot be paid");
    let hosted = app
        .http
        .get(&second)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(hosted.contains("USD 2,291.82"), "{hosted}");
    let ok = app.pay_on_hosted_page(&second, "4242424242424242").await;
    assert_eq!(ok.status(), 303);
    app.follow(&ok).await;
    app.drain().await;
    let invoice = app.invoice_of(&o.key, &o.session).await;
    assert_eq!(invoice["status"], "PAID", "{invoice:#}");
    assert_eq!(invoice["amountPaid"]["minorUnits"], 329_182);
    assert_eq!(app.count("simulated_gateway_charges").await, 1);
    // The Idempotency-Key names the invoice, the amount and the attempt.
    let keys: Vec<String> = entity::checkout_session::Entity::find()
        .all(&app.ctx.db)
        .await
        .expect("rows")
        .into_iter()
        .map(|r| r.idempotency_key)
        .collect();
    assert!(
        keys.iter().any(|k| k.ends_with("_checkout_329182_1")),
        "{keys:?}"
    );
    assert!(
        keys.iter().any(|k| k.ends_with("_checkout_229182_2")),
        "{keys:?}"
    );
}

async fn the_webhook_and_the_return_settle_once_in_any_order(backend: Backend) {
    // The events are delivered by hand here, in chosen orders.
    let Some(app) = spawn_app_with(backend, |s| s.gateway.simulated_webhooks = false).await else {
        return;
    };
    let o = open_invoice(app).await;
    let app = &o.app;
    let hosted = app.checkout_url(&o.link, false).await;
    let id = session_id(&hosted);
    let paid = app.pay_on_hosted_page(&hosted, "4242424242424242").await;
    assert_eq!(paid.status(), 303);
    let completed = event(app, &id, "completed").await;

    // The webhook first...
    let (status, answer) = app.send_webhook(&completed).await;
    assert_eq!(
        (status, answer["status"].clone()),
        (200, json!("processed")),
        "{answer}"
    );
    // ...then the client's return, then the same webhook again.
    let page = app.follow(&paid).await.text().await.expect("html");
    assert!(page.contains("Your payment was received"), "{page}");
    let (_, again) = app.send_webhook(&completed).await;
    assert_eq!(again["status"], "duplicate");
    // A later delivery of an older, different event about the session
    // (reversed order) changes nothing either.
    let mut expired = completed.clone();
    expired["id"] = json!(format!("evt_{id}_expired_late"));
    expired["type"] = json!("checkout.session.expired");
    expired["created"] = json!(completed["created"].as_i64().expect("created") - 60);
    expired["data"]["object"]["status"] = json!("expired");
    let (status, _) = app.send_webhook(&expired).await;
    assert_eq!(status, 200);
    // The return page reloaded.
    app.follow(&paid).await;
    app.drain().await;
    let invoice = app.invoice_of(&o.key, &o.session).await;
    assert_eq!(invoice["status"], "PAID", "{invoice:#}");
    assert_eq!(invoice["payments"].as_array().map(Vec::len), Some(1));
    assert_eq!(receipts(app), 1);
    assert_eq!(statuses(app).await, vec![(1, "COMPLETE".into(), 329_182)]);

    // The other order on a second invoice: the return first, then the webhook.
    let f = app.seed_studio("Blue Hour").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let link = app.invoice_of(&f.key, &f.invoice_session).await["portalUrl"]
        .as_str()
        .expect("portal")
        .to_string();
    let hosted = app.checkout_url(&link, false).await;
    let id = session_id(&hosted);
    let paid = app.pay_on_hosted_page(&hosted, "4242424242424242").await;
    let page = app.follow(&paid).await.text().await.expect("html");
    assert!(page.contains("Your payment was received"), "{page}");
    let (status, answer) = app.send_webhook(&event(app, &id, "completed").await).await;
    assert_eq!(
        (status, answer["status"].clone()),
        (200, json!("processed")),
        "{answer}"
    );
    assert!(answer.to_string().contains("already"), "{answer}");
    app.drain().await;
    let invoice = app.invoice_of(&f.key, &f.invoice_session).await;
    assert_eq!(invoice["status"], "PAID", "{invoice:#}");
    assert_eq!(invoice["payments"].as_array().map(Vec::len), Some(1));
    assert_eq!(app.count("payments WHERE status = 'SUCCEEDED'").await, 2);
}

async fn an_expired_session_cannot_be_paid_and_pay_opens_a_new_one(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let o = open_invoice(app).await;
    let app = &o.app;
    let hosted = app.checkout_url(&o.link, false).await;
    // The session's hour passes.
    entity::simulated_checkout::Entity::update_many()
        .col_expr(
            entity::simulated_checkout::Column::ExpiresAt,
            sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::Duration::minutes(1)),
        )
        .filter(entity::simulated_checkout::Column::Id.eq(session_id(&hosted)))
        .exec(&app.ctx.db)
        .await
        .expect("age the session");
    let late = app.pay_on_hosted_page(&hosted, "4242424242424242").await;
    assert_eq!(late.status(), 410);
    app.drain().await; // its checkout.session.expired webhook
    assert_eq!(statuses(app).await, vec![(1, "EXPIRED".into(), 329_182)]);
    let page = app.portal_page(&o.link).await;
    assert!(page.contains("name=\"csrf\""), "still payable: {page}");
    let fresh = app.checkout_url(&o.link, false).await;
    assert_ne!(fresh, hosted);
    let paid = app.pay_on_hosted_page(&fresh, "4242424242424242").await;
    assert_eq!(paid.status(), 303);
    app.follow(&paid).await;
    app.drain().await;
    assert_eq!(app.invoice_of(&o.key, &o.session).await["status"], "PAID");
    assert_eq!(app.count("simulated_gateway_charges").await, 1);
}

async fn a_session_paid_for_another_amount_is_recorded_not_settled(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.gateway.simulated_webhooks = false).await else {
        return;
    };
    let o = open_invoice(app).await;
    let app = &o.app;
    let hosted = app.checkout_url(&o.link, false).await;
    let id = session_id(&hosted);
    let mut forged = event(app, &id, "completed").await;
    let now = chrono::Utc::now().timestamp();
    forged = stripe_event(
        &format!("evt_{id}_odd"),
        "checkout.session.completed",
        now,
        json!({ "id": id, "object": "checkout.session", "status": "complete", "payment_status": "paid",
                "amount_total": 100, "currency": "usd", "payment_intent": "pi_odd",
                "metadata": forged["data"]["object"]["metadata"].clone() }),
    );
    let (status, answer) = app.send_webhook(&forged).await;
    assert_eq!(status, 200, "{answer}");
    app.drain().await;
    let invoice = app.invoice_of(&o.key, &o.session).await;
    assert_eq!(invoice["status"], "OPEN", "not settled: {invoice:#}");
    assert_eq!(invoice["payments"], json!([]));
    assert_eq!(statuses(app).await, vec![(1, "MISMATCH".into(), 329_182)]);
    let trail = app
        .gql(
            &o.key,
            "query($id: ID!) { session(id: $id) { invoice { auditTrail { event detail } } } }",
            json!({ "id": o.session }),
        )
        .await;
    assert!(
        trail
            .to_string()
            .contains("was paid 100 USD but 329182 USD was asked"),
        "surfaced in the audit trail: {trail:#}"
    );
    assert_eq!(receipts(app), 0);
}

/// An auto-pay client's card is declined; the client pays through checkout
/// with "use this card for future automatic payments": the card that paid
/// becomes the client's card (on the client's one gateway Customer), and the
/// next completed session is charged to it without the client.
async fn a_card_kept_in_checkout_pays_the_next_session_automatically(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app
        .seed_studio_with_card("Golden Hour", "pm_card_chargeDeclinedInsufficientFunds")
        .await;
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;
    let link = app.invoice_of(&f.key, &f.auto_pay_session).await["portalUrl"]
        .as_str()
        .expect("portal")
        .to_string();
    let paid = app
        .pay_through_checkout(&link, "5555 5555 5555 4444", true)
        .await;
    assert_eq!(paid.status(), 303);
    app.drain().await;
    let client = app
        .gql(
            &f.key,
            "query($id: ID!) { client(id: $id) { paymentMethod { brand last4 } } }",
            json!({ "id": f.auto_pay_client }),
        )
        .await;
    assert_eq!(
        client["client"]["paymentMethod"],
        json!({ "brand": "mastercard", "last4": "4444" }),
        "{client}"
    );
    let stored = entity::client::Entity::find()
        .filter(entity::client::Column::Email.eq(AUTO_PAY_EMAIL))
        .one(&app.ctx.db)
        .await
        .expect("client")
        .expect("ava");
    assert!(
        stored
            .gateway_customer_id
            .as_deref()
            .is_some_and(|c| c.starts_with("cus_")),
        "one gateway Customer: {stored:?}"
    );

    let next = app
        .schedule_wedding(&f.key, &f.auto_pay_client, &f.package, &f.add_on, "500.00")
        .await;
    app.complete_session(&f.key, &next).await;
    app.drain().await;
    let invoice = app.invoice_of(&f.key, &next).await;
    assert_eq!(invoice["status"], "PAID", "{invoice:#}");
    assert_eq!(invoice["payments"][0]["source"], "AUTO_PAY");
    assert_eq!(invoice["payments"][0]["cardLast4"], "4444");
}

/// Review mend: `retire_stale_in` runs with every payment; a Checkout payment
/// (its own session is no stale one) writes no `ExpireStaleCheckouts` job,
/// while another payment with a session open for the old amount still does.
async fn only_a_live_session_for_another_amount_is_retired_after_a_payment(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let o = open_invoice(app).await;
    let app = &o.app;
    let expire_jobs = "outbox WHERE dedup_key LIKE 'expire_checkouts:%'";
    let hosted = app.checkout_url(&o.link, false).await;
    let paid = app.pay_on_hosted_page(&hosted, "4242424242424242").await;
    assert_eq!(paid.status(), 303);
    app.follow(&paid).await;
    app.drain().await;
    let invoice = app.invoice_of(&o.key, &o.session).await;
    assert_eq!(invoice["status"], "PAID", "{invoice:#}");
    assert_eq!(
        app.count(expire_jobs).await,
        0,
        "no job for the paid session"
    );

    // A second invoice with a session open for its full amount, then a
    // partial payment by check: that session is stale and is retired.
    let f = app.seed_studio("Blue Hour").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let invoice = app.invoice_of(&f.key, &f.invoice_session).await;
    let link = invoice["portalUrl"].as_str().expect("portal").to_string();
    app.checkout_url(&link, false).await;
    let paid = app
        .gql(
            &f.key,
            "mutation($i: RecordManualPaymentInput!) { recordManualPayment(input: $i) { userErrors { code } } }",
            json!({ "i": { "invoiceId": invoice["id"], "amount": "1000.00", "method": "CHECK", "idempotencyKey": "check-1" } }),
        )
        .await;
    assert_eq!(paid["recordManualPayment"]["userErrors"], json!([]));
    assert_eq!(
        app.count(expire_jobs).await,
        1,
        "the stale session is retired"
    );
    app.drain().await;
    assert!(
        statuses(app)
            .await
            .iter()
            .any(|(_, status, amount)| status == "EXPIRED" && *amount == 329_182),
        "{:?}",
        statuses(app).await
    );
}
