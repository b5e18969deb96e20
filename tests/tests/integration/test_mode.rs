//! Issue 17: with the simulated gateway in use, every client page and email
//! says "test mode" (nobody may take its payments for real money); with
//! Stripe, none does. Every client email answers to the studio (Reply-To).

use domain::workflow::notify::TEST_MODE_LINE;
use serde_json::json;
use tests::stripe_server::StripeServer;
use tests::{Backend, INVOICE_EMAIL, TestApp, spawn_app};

/// The banner `api::portal::page` opens every client page with.
const PAGE_BANNER: &str = "id=\"test-mode\"";

/// The invoice emails to the invoice client (the gallery email goes too).
fn invoice_emails(app: &TestApp) -> Vec<tests::SentEmail> {
    app.emails_to(INVOICE_EMAIL)
        .into_iter()
        .filter(|e| e.subject.starts_with("Invoice "))
        .collect()
}

/// Completes the invoice client's session and returns (the invoice email's
/// text, its HTML, the portal page it links to).
async fn invoice_email_and_portal(app: &TestApp) -> (String, String, String) {
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let emails = invoice_emails(app);
    assert_eq!(emails.len(), 1, "one invoice email");
    let link = emails[0].portal_link().expect("portal link");
    let page = app.portal_page(&link).await;
    assert!(page.contains("Pay"), "the portal page: {page}");
    (emails[0].text.clone(), emails[0].html.clone(), page)
}

on_both_backends!(
    the_simulated_gateway_marks_pages_and_emails_test_mode,
    stripe_pages_and_emails_carry_no_test_mode_mark,
    client_emails_reply_to_the_studio,
);

async fn the_simulated_gateway_marks_pages_and_emails_test_mode(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    assert!(app.ctx.settings.test_mode());
    let (text, html, page) = invoice_email_and_portal(&app).await;
    let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat(&text).starts_with(TEST_MODE_LINE), "text part: {text}");
    assert!(html.contains("id=\"test-mode\""), "HTML part: {html}");
    assert!(html.contains(TEST_MODE_LINE), "HTML part: {html}");
    assert!(page.contains(PAGE_BANNER), "portal page: {page}");
    assert!(page.contains("No real money moves"), "portal page: {page}");
    let dashboard = dashboard_login_page(&app).await;
    assert!(
        dashboard.contains(PAGE_BANNER),
        "the studio's dashboard too: {dashboard}"
    );
}

/// The dashboard's login page, as a browser gets it.
async fn dashboard_login_page(app: &TestApp) -> String {
    app.http
        .get(format!("{}/dashboard/login", app.address))
        .send()
        .await
        .expect("GET /dashboard/login")
        .text()
        .await
        .expect("body")
}

async fn stripe_pages_and_emails_carry_no_test_mode_mark(backend: Backend) {
    let stripe = StripeServer::start("sk_test_local").await;
    let Some(app) = tests::spawn_app_on_stripe(backend, stripe.uri()).await else {
        return;
    };
    stripe.add_card("pm_card_visa", Some("cus_ava"), "visa", "4242");
    assert!(!app.ctx.settings.test_mode());
    let (text, html, page) = invoice_email_and_portal(&app).await;
    assert!(!text.contains("TEST MODE"), "text part: {text}");
    assert!(!html.contains("test-mode"), "HTML part: {html}");
    assert!(!page.contains(PAGE_BANNER), "portal page: {page}");
    let dashboard = dashboard_login_page(&app).await;
    assert!(!dashboard.contains(PAGE_BANNER), "dashboard: {dashboard}");
}

async fn client_emails_reply_to_the_studio(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let set = app
        .gql(
            &f.key,
            "mutation($i: UpdateStudioSettingsInput!) { updateStudioSettings(input: $i) { userErrors { field message } } }",
            json!({ "i": { "email": "hello@goldenhour.example" } }),
        )
        .await;
    assert_eq!(
        set["updateStudioSettings"]["userErrors"],
        json!([]),
        "{set}"
    );
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let emails = invoice_emails(&app);
    assert_eq!(emails.len(), 1, "one invoice email");
    assert!(
        app.emails_to(INVOICE_EMAIL)
            .iter()
            .all(|e| e.reply_to.as_deref() == Some("hello@goldenhour.example")),
        "every client email (the gallery's too)"
    );
    assert_eq!(
        emails[0].reply_to.as_deref(),
        Some("hello@goldenhour.example"),
        "the client's answer goes to the studio"
    );
}
