//! The whole workflow, end to end: completed session -> invoice -> charge or
//! invoice email -> portal payment -> receipt -> gallery access.

use chrono::Datelike;
use entity::enums::GalleryLevel;
use sea_orm::EntityTrait;
use serde_json::json;
use tests::{AUTO_PAY_EMAIL, Backend, INVOICE_EMAIL, SentEmail, TestApp, spawn_app};

on_both_backends!(
    auto_pay_client_is_charged_and_receives_receipt_and_gallery_access,
    invoice_client_pays_through_the_portal,
    declined_auto_pay_falls_back_to_the_invoice_email,
    paying_from_two_tabs_at_once_charges_once,
);

fn year() -> i32 {
    chrono::Utc::now().year()
}

fn password_in(email: &SentEmail) -> String {
    email
        .text
        .lines()
        .find_map(|l| l.strip_prefix("Password: "))
        .expect("password line")
        .trim()
        .to_string()
}

/// Logs in to the gallery page from a credentials email; returns (status, html).
async fn gallery_login(app: &TestApp, email: &SentEmail, password: &str) -> (u16, String) {
    let link = email
        .text
        .split_whitespace()
        .find(|w| w.starts_with("http") && w.contains("/gallery/"))
        .expect("gallery link");
    assert_eq!(
        app.http
            .get(link)
            .send()
            .await
            .expect("gallery page")
            .status(),
        200
    );
    let response = app
        .http
        .post(link)
        .form(&[("username", email.to[0].as_str()), ("password", password)])
        .send()
        .await
        .expect("gallery login");
    let status = response.status().as_u16();
    (status, response.text().await.expect("html"))
}

async fn gallery_of(app: &TestApp) -> entity::gallery_access::Model {
    let rows = entity::gallery_access::Entity::find()
        .all(&app.ctx.db)
        .await
        .expect("gallery rows");
    assert_eq!(rows.len(), 1, "one gallery per session: {rows:#?}");
    rows.into_iter().next().expect("gallery row")
}

async fn auto_pay_client_is_charged_and_receives_receipt_and_gallery_access(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;

    let body = app.complete_session(&f.key, &f.auto_pay_session).await;
    assert_eq!(
        body["data"]["completeSession"]["session"]["status"], "COMPLETED",
        "{body}"
    );
    app.drain().await;

    let invoice = app.invoice_of(&f.key, &f.auto_pay_session).await;
    assert_eq!(invoice["number"], format!("INV-{}-0001", year()));
    assert_eq!(invoice["status"], "PAID");
    assert_eq!(invoice["subtotal"]["minorUnits"], 303_000);
    assert_eq!(invoice["tax"]["minorUnits"], 26_182);
    assert_eq!(invoice["retainerCredit"]["minorUnits"], 50_000);
    assert_eq!(invoice["total"]["minorUnits"], 279_182);
    assert_eq!(invoice["total"]["formatted"], "USD 2,791.82");
    assert_eq!(invoice["amountPaid"]["minorUnits"], 279_182);
    assert_eq!(invoice["amountDue"]["minorUnits"], 0);
    assert_eq!(invoice["lines"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        invoice["payments"],
        json!([{ "status": "SUCCEEDED", "amount": { "minorUnits": 279_182 }, "cardLast4": "4242",
                 "failureCode": null, "failureMessage": null, "source": "AUTO_PAY" }])
    );

    let emails = app.emails_to(AUTO_PAY_EMAIL);
    assert_eq!(
        emails.len(),
        2,
        "receipt and gallery credentials: {emails:#?}"
    );
    let receipt = emails
        .iter()
        .find(|e| e.subject.starts_with("Receipt"))
        .expect("receipt");
    assert_eq!(
        receipt.subject,
        format!("Receipt for invoice INV-{}-0001: USD 2,791.82 paid", year())
    );
    assert!(receipt.says("Visa •••• 4242"), "{}", receipt.text);
    assert!(
        !receipt.text.contains("sim_"),
        "no internal ids: {}",
        receipt.text
    );
    assert!(!receipt.html.contains("sim_"), "no internal ids");
    assert!(receipt.html.contains("USD 2,791.82"));
    let gallery_email = emails
        .iter()
        .find(|e| e.subject.contains("photos"))
        .expect("gallery email");
    assert!(
        gallery_email.text.contains("Username: ava@example.com"),
        "{}",
        gallery_email.text
    );
    assert!(
        gallery_email.text.contains("full access"),
        "{}",
        gallery_email.text
    );
    assert!(
        app.emails_to(INVOICE_EMAIL).is_empty(),
        "the other client gets nothing"
    );

    let gallery = gallery_of(&app).await;
    assert_eq!(gallery.level, GalleryLevel::Full);
    let hash = gallery.password_hash.expect("password hash");
    assert!(hash.starts_with("$hmac-sha256$"), "{hash}");
    assert!(
        app.ctx
            .secret
            .verify_gallery_password(&password_in(gallery_email), &hash),
        "emailed password opens the gallery"
    );
    assert!(!hash.contains(&password_in(gallery_email)));
    assert_eq!(
        gallery_login(&app, gallery_email, "wrong-password").await.0,
        401
    );
    let (status, page) = gallery_login(&app, gallery_email, &password_in(gallery_email)).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("FULL ACCESS") && page.contains("Wedding"),
        "{page}"
    );
    assert_eq!(app.count("simulated_gateway_charges").await, 1);
}

async fn invoice_client_pays_through_the_portal(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;

    let invoice = app.invoice_of(&f.key, &f.invoice_session).await;
    assert_eq!(invoice["status"], "OPEN");
    assert_eq!(invoice["total"]["formatted"], "USD 3,291.82");
    let emails = app.emails_to(INVOICE_EMAIL);
    assert_eq!(
        emails.len(),
        2,
        "invoice and gallery preview credentials: {emails:#?}"
    );
    let invoice_email = emails
        .iter()
        .find(|e| e.subject.starts_with("Invoice"))
        .expect("invoice email");
    assert_eq!(
        invoice_email.subject,
        format!("Invoice INV-{}-0001 from Golden Hour", year())
    );
    assert!(
        invoice_email.text.contains("Amount due: USD 3,291.82"),
        "{}",
        invoice_email.text
    );
    assert!(invoice_email.html.contains("USD 3,291.82"));
    assert_eq!(gallery_of(&app).await.level, GalleryLevel::Preview);
    let credentials = emails
        .iter()
        .find(|e| e.subject.contains("photos"))
        .expect("credentials");
    let (status, page) = gallery_login(&app, credentials, &password_in(credentials)).await;
    assert_eq!(status, 200);
    assert!(page.contains("PREVIEW"), "{page}");

    let link = invoice_email.portal_link().expect("portal link");
    assert_eq!(
        Some(link.clone()),
        invoice["portalUrl"].as_str().map(str::to_string)
    );
    let page = app.http.get(&link).send().await.expect("portal get");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("portal html");
    assert!(html.contains(&format!("INV-{}-0001", year())) && html.contains("USD 3,291.82"));

    // The portal has a Pay button and no card field; it takes the client to
    // the hosted checkout page, where the cards are typed.
    assert!(
        html.contains("name=\"csrf\"") && !html.contains("card_number"),
        "{html}"
    );
    assert!(!html.contains("4242 4242"), "no test cards on the portal");
    let hosted = app.checkout_url(&link, false).await;
    assert!(hosted.contains("/sim-checkout/cs_sim_"), "{hosted}");
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
        hosted_html.contains("USD 3,291.82") && hosted_html.contains("4242424242424242"),
        "{hosted_html}"
    );

    // A declined card: a clear message on the hosted page, the invoice stays open.
    let declined = app.pay_on_hosted_page(&hosted, "4000 0000 0000 0002").await;
    assert_eq!(declined.status(), 402);
    let declined_html = declined.text().await.expect("html");
    assert!(
        declined_html.contains("Your card was declined."),
        "{declined_html}"
    );
    assert!(declined_html.contains("Nothing was charged"));
    let invoice = app.invoice_of(&f.key, &f.invoice_session).await;
    assert_eq!(invoice["status"], "OPEN");
    assert_eq!(
        invoice["payments"],
        json!([]),
        "a decline on the hosted page records no payment"
    );

    // Pressing Pay again reuses the still-open session for the same amount.
    assert_eq!(app.checkout_url(&link, false).await, hosted);

    // A good card: back to the portal's return page, then receipt and full gallery.
    let paid = app.pay_on_hosted_page(&hosted, "4242424242424242").await;
    assert_eq!(paid.status(), 303);
    let back = app.follow(&paid).await;
    let thanks = back.text().await.expect("html");
    assert!(thanks.contains("Your payment was received"), "{thanks}");
    assert!(
        thanks.contains("/gallery/"),
        "a link to the gallery: {thanks}"
    );
    // Submitting the hosted page again charges nothing more.
    assert_eq!(
        app.pay_on_hosted_page(&hosted, "4242424242424242")
            .await
            .status(),
        410
    );
    app.drain().await;

    let invoice = app.invoice_of(&f.key, &f.invoice_session).await;
    assert_eq!(invoice["status"], "PAID");
    assert_eq!(invoice["amountDue"]["minorUnits"], 0);
    let succeeded: Vec<_> = invoice["payments"]
        .as_array()
        .expect("payments")
        .iter()
        .filter(|p| p["status"] == "SUCCEEDED")
        .collect();
    assert_eq!(succeeded.len(), 1);
    assert_eq!(succeeded[0]["source"], "PORTAL");
    assert_eq!(succeeded[0]["cardLast4"], "4242");
    assert_eq!(
        app.count("simulated_gateway_charges").await,
        2,
        "one decline, one charge"
    );

    let emails = app.emails_to(INVOICE_EMAIL);
    assert_eq!(
        emails.len(),
        4,
        "invoice, credentials, receipt, upgrade: {emails:#?}"
    );
    assert!(emails.iter().any(
        |e| e.subject == format!("Receipt for invoice INV-{}-0001: USD 3,291.82 paid", year())
    ));
    assert!(
        emails
            .iter()
            .any(|e| e.subject.starts_with("Full access to your photos"))
    );
    assert_eq!(gallery_of(&app).await.level, GalleryLevel::Full);
    let (_, page) = gallery_login(&app, credentials, &password_in(credentials)).await;
    assert!(
        page.contains("FULL ACCESS"),
        "the same password now opens full access: {page}"
    );
}

async fn declined_auto_pay_falls_back_to_the_invoice_email(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app
        .seed_studio_with_card("Golden Hour", "pm_card_chargeDeclinedInsufficientFunds")
        .await;
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;

    let invoice = app.invoice_of(&f.key, &f.auto_pay_session).await;
    assert_eq!(invoice["status"], "OPEN");
    assert_eq!(invoice["payments"][0]["status"], "FAILED");
    assert_eq!(invoice["payments"][0]["failureCode"], "insufficient_funds");
    let emails = app.emails_to(AUTO_PAY_EMAIL);
    assert_eq!(emails.len(), 2, "{emails:#?}");
    let invoice_email = emails
        .iter()
        .find(|e| e.subject.starts_with("Invoice"))
        .expect("invoice email");
    assert!(
        invoice_email.says("insufficient funds"),
        "{}",
        invoice_email.text
    );
    assert!(invoice_email.portal_link().is_some());
    assert_eq!(gallery_of(&app).await.level, GalleryLevel::Preview);
}

/// The portal open in two tabs, Pay pressed in both at once: both get the
/// same hosted session (reuse under the invoice's lock), and the session
/// can be paid once, so one charge.
async fn paying_from_two_tabs_at_once_charges_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let invoice = app.invoice_of(&f.key, &f.invoice_session).await;
    let link = invoice["portalUrl"]
        .as_str()
        .expect("portal url")
        .to_string();
    let (a, b) = tokio::join!(
        app.checkout_url(&link, false),
        app.checkout_url(&link, false)
    );
    assert_eq!(a, b, "one session for one amount");
    let (r1, r2) = tokio::join!(
        app.pay_on_hosted_page(&a, "4242424242424242"),
        app.pay_on_hosted_page(&b, "4242424242424242")
    );
    let mut statuses = [r1.status().as_u16(), r2.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [303, 410], "one paid, the other found it closed");
    let paid = if r1.status() == 303 { r1 } else { r2 };
    assert_eq!(app.follow(&paid).await.status(), 200);
    app.drain().await;
    assert_eq!(
        app.count("simulated_gateway_charges").await,
        1,
        "charged once"
    );
    assert_eq!(app.count("payments WHERE status = 'SUCCEEDED'").await, 1);
    let invoice = app.invoice_of(&f.key, &f.invoice_session).await;
    assert_eq!(invoice["status"], "PAID");
    assert_eq!(invoice["amountPaid"]["minorUnits"], 329_182);
    assert_eq!(
        app.emails_to(INVOICE_EMAIL)
            .iter()
            .filter(|e| e.subject.starts_with("Receipt"))
            .count(),
        1
    );
}
