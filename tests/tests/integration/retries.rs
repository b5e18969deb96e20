//! Declined auto-pay: retried on a schedule with a fresh key per attempt and
//! the client's current card; the client is told each time; hard declines stop.

use serde_json::json;
use tests::{AUTO_PAY_EMAIL, Backend, TestApp, spawn_app};

on_both_backends!(
    a_soft_decline_is_retried_on_schedule_until_the_updated_card_pays,
    a_hard_decline_is_never_retried,
    a_declined_client_pays_in_the_portal_and_keeps_the_new_card,
);

async fn scheduled_retry(app: &TestApp) -> Option<(String, chrono::Duration)> {
    app.scheduled()
        .await
        .into_iter()
        .find(|(key, _)| key.starts_with("charge:invoice:"))
        .map(|(key, due)| (key, due - chrono::Utc::now()))
}

fn about_days(delay: chrono::Duration, days: i64) -> bool {
    (delay - chrono::Duration::days(days)).num_minutes().abs() < 10
}

async fn a_soft_decline_is_retried_on_schedule_until_the_updated_card_pays(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app
        .seed_studio_with_card("Golden Hour", "pm_card_chargeDeclinedInsufficientFunds")
        .await;
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;

    // Attempt 1 declined: the invoice email says so and when the card is tried again.
    let emails = app.emails_to(AUTO_PAY_EMAIL);
    let invoice_email = emails
        .iter()
        .find(|e| e.subject.starts_with("Invoice"))
        .expect("invoice email");
    assert!(
        invoice_email.says("We will try your card again on"),
        "{}",
        invoice_email.text
    );
    let (key, delay) = scheduled_retry(&app).await.expect("attempt 2 scheduled");
    assert!(
        key.ends_with(":attempt:2") && about_days(delay, 1),
        "{key} in {delay}"
    );

    // A day later, attempt 2 is declined again: a decline notice, attempt 3 in 3 days.
    app.advance_scheduled_of("charge:").await;
    app.drain().await;
    let notices: Vec<_> = app
        .emails_to(AUTO_PAY_EMAIL)
        .into_iter()
        .filter(|e| e.subject.starts_with("Payment declined"))
        .collect();
    assert_eq!(notices.len(), 1);
    assert!(
        notices[0].says("We will try again on") && notices[0].portal_link().is_some(),
        "{}",
        notices[0].text
    );
    let (key, delay) = scheduled_retry(&app).await.expect("attempt 3 scheduled");
    assert!(
        key.ends_with(":attempt:3") && about_days(delay, 3),
        "{key} in {delay}"
    );

    // The client updates the card; attempt 3 uses it and pays.
    app.attach_card(&f.key, &f.auto_pay_client, "pm_card_visa")
        .await;
    app.advance_scheduled_of("charge:").await;
    app.drain().await;
    let invoice = app.invoice_of(&f.key, &f.auto_pay_session).await;
    assert_eq!(invoice["status"], "PAID", "{invoice:#}");
    let statuses: Vec<_> = invoice["payments"]
        .as_array()
        .expect("payments")
        .iter()
        .map(|p| p["status"].clone())
        .collect();
    assert_eq!(
        statuses,
        vec![json!("FAILED"), json!("FAILED"), json!("SUCCEEDED")]
    );
    assert_eq!(invoice["payments"][2]["cardLast4"], "4242");
    assert_eq!(
        app.count("simulated_gateway_charges").await,
        3,
        "one gateway call per attempt, each with its own key"
    );
    assert!(
        scheduled_retry(&app).await.is_none(),
        "no attempt after payment"
    );
    let emails = app.emails_to(AUTO_PAY_EMAIL);
    assert_eq!(
        emails
            .iter()
            .filter(|e| e.subject.starts_with("Receipt"))
            .count(),
        1
    );
    assert_eq!(
        emails.len(),
        5,
        "invoice, credentials, one decline notice, receipt, gallery upgrade: {emails:#?}"
    );
}

async fn a_hard_decline_is_never_retried(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app
        .seed_studio_with_card("Golden Hour", "pm_card_chargeDeclinedStolenCard")
        .await;
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;
    let invoice = app.invoice_of(&f.key, &f.auto_pay_session).await;
    assert_eq!(invoice["status"], "OPEN");
    assert_eq!(invoice["payments"][0]["failureCode"], "stolen_card");
    assert!(
        scheduled_retry(&app).await.is_none(),
        "a stolen card is never tried again"
    );
    let emails = app.emails_to(AUTO_PAY_EMAIL);
    let invoice_email = emails
        .iter()
        .find(|e| e.subject.starts_with("Invoice"))
        .expect("invoice email");
    assert!(
        invoice_email.says("We will not try this card again"),
        "{}",
        invoice_email.text
    );
}

/// The decline notice's portal link is where the client updates the card:
/// paying there with "use this card for my future automatic payments"
/// settles the debt, replaces the stored card, and the scheduled retry finds
/// nothing left to charge.
async fn a_declined_client_pays_in_the_portal_and_keeps_the_new_card(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app
        .seed_studio_with_card("Golden Hour", "pm_card_chargeDeclinedInsufficientFunds")
        .await;
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;
    assert!(
        scheduled_retry(&app).await.is_some(),
        "attempt 2 is scheduled"
    );
    let link = app
        .emails_to(AUTO_PAY_EMAIL)
        .iter()
        .find(|e| e.subject.starts_with("Invoice"))
        .and_then(|e| e.portal_link())
        .expect("portal link in the invoice email");
    let page = app.portal_page(&link).await;
    assert!(
        page.contains("name=\"save_card\""),
        "an auto-pay client is offered to keep the card"
    );
    let paid = app
        .pay_through_checkout(&link, "5555555555554444", true)
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
    // The retry that was scheduled for the old card charges nothing.
    app.advance_scheduled_of("charge:").await;
    app.drain().await;
    let invoice = app.invoice_of(&f.key, &f.auto_pay_session).await;
    assert_eq!(invoice["status"], "PAID", "{invoice:#}");
    assert_eq!(
        app.count("simulated_gateway_charges").await,
        2,
        "the decline and the portal payment"
    );
}
