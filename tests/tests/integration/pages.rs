//! Pages a client trusts, on a phone too (issue 9, item 9) and retainers
//! above the total (issue 10, item 21): the studio's contact details on the
//! portal, the return page, the PDFs and every email; emails and the portal
//! at 390 px in a real Chromium; GraphiQL served by the binary; the excess of
//! a retainer owed back or carried to the next invoice, exactly once.

use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;
use tests::{Backend, TestApp, spawn_app, spawn_app_with};

on_both_backends!(
    studio_contact_details_are_checked_and_shown_to_clients_everywhere,
    a_retainer_above_the_total_is_owed_back_and_listed_for_the_studio,
    a_retainer_above_the_total_is_carried_to_the_next_invoice_once,
    a_reissue_never_carries_again_a_credit_a_later_invoice_used,
    a_credit_owed_back_is_marked_repaid_once_and_shown_repaid,
    the_standard_introspection_query_passes_where_introspection_is_allowed,
);

const PHONE: &str = "+1 (718) 555-0142";
// Refused at once by the machine itself, so no page waits on it.
const LOGO: &str = "https://localhost:9/golden-hour/logo.png";

fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn pdf_text(bytes: &[u8]) -> String {
    flat(&pdf_extract::extract_text_from_mem(bytes).expect("extract PDF text"))
}

async fn set_contact(app: &TestApp, key: &str) {
    let data = app
        .gql(
            key,
            "mutation($i: UpdateStudioSettingsInput!) { updateStudioSettings(input: $i) {
                studio { phone logoUrl email address } userErrors { field code } } }",
            json!({ "i": {
                "address": "12 Orchard Street\nBrooklyn, NY 11201",
                "email": "hello@goldenhour.example",
                "phone": PHONE,
                "logoUrl": LOGO,
            } }),
        )
        .await;
    assert_eq!(
        data["updateStudioSettings"]["userErrors"],
        json!([]),
        "{data}"
    );
    assert_eq!(data["updateStudioSettings"]["studio"]["phone"], PHONE);
    assert_eq!(data["updateStudioSettings"]["studio"]["logoUrl"], LOGO);
}

/// The footer every client-facing HTML carries: name, address, a mailto and
/// a tel link.
fn assert_contact_html(html: &str, what: &str) {
    for needle in [
        "id=\"studio-contact\"",
        "12 Orchard Street",
        "Brooklyn, NY 11201",
        "href=\"mailto:hello@goldenhour.example\"",
        "href=\"tel:+17185550142\"",
        PHONE,
    ] {
        assert!(html.contains(needle), "`{needle}` in the {what}: {html}");
    }
}

async fn studio_contact_details_are_checked_and_shown_to_clients_everywhere(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    // Bad input: a clear error per field, and nothing is written.
    let bad = app
        .gql(
            &f.key,
            "mutation { updateStudioSettings(input: { phone: \"call me maybe\", logoUrl: \"http://img.example.com/logo.png\", email: \"hello@goldenhour.example\" }) {
                studio { phone } userErrors { field code } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        bad["updateStudioSettings"]["userErrors"],
        json!([
            { "field": ["input", "phone"], "code": "INVALID_INPUT" },
            { "field": ["input", "logoUrl"], "code": "INVALID_INPUT" },
        ]),
        "{bad}"
    );
    let studio = app
        .gql(&f.key, "{ studio { phone logoUrl email } }", json!({}))
        .await;
    assert_eq!(
        studio["studio"],
        json!({ "phone": null, "logoUrl": null, "email": null })
    );
    set_contact(&app, &f.key).await;

    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let invoice_email = app
        .emails_to(tests::INVOICE_EMAIL)
        .into_iter()
        .find(|e| e.subject.starts_with("Invoice"))
        .expect("invoice email");
    assert_contact_html(&invoice_email.html, "invoice email");
    assert!(
        invoice_email.html.contains(&format!("src=\"{LOGO}\"")),
        "{}",
        invoice_email.html
    );
    for phrase in [
        "Golden Hour",
        "12 Orchard Street",
        "hello@goldenhour.example",
        &format!("Tel. {PHONE}"),
    ] {
        assert!(
            invoice_email.says(phrase),
            "`{phrase}` in {}",
            invoice_email.text
        );
    }
    let pdf = pdf_text(&invoice_email.attachments[0].1);
    for phrase in [
        "Golden Hour",
        "12 Orchard Street",
        "hello@goldenhour.example",
        &format!("Tel. {PHONE}"),
    ] {
        assert!(pdf.contains(phrase), "`{phrase}` in the invoice PDF: {pdf}");
    }

    // The portal, then the return page after paying on the hosted page.
    let link = invoice_email.portal_link().expect("portal link");
    let portal = app.portal_page(&link).await;
    assert_contact_html(&portal, "portal");
    assert!(portal.contains(&format!("src=\"{LOGO}\"")), "{portal}");
    let hosted = app.checkout_url(&link, false).await;
    let paid = app.pay_on_hosted_page(&hosted, "4242424242424242").await;
    assert_eq!(paid.status(), 303);
    let back = app.follow(&paid).await;
    assert_eq!(back.status(), 200);
    let returned = back.text().await.expect("return page");
    assert_contact_html(&returned, "return page");
    app.drain().await;

    let receipt = app
        .emails_to(tests::INVOICE_EMAIL)
        .into_iter()
        .find(|e| e.subject.starts_with("Receipt"))
        .expect("receipt email");
    assert_contact_html(&receipt.html, "receipt email");
    let receipt_pdf = receipt
        .attachments
        .iter()
        .find(|(name, _)| name.starts_with("Receipt"))
        .map(|(_, bytes)| pdf_text(bytes))
        .expect("receipt PDF");
    for phrase in [
        "Golden Hour",
        "hello@goldenhour.example",
        &format!("Tel. {PHONE}"),
    ] {
        assert!(
            receipt_pdf.contains(phrase),
            "`{phrase}` in the receipt PDF: {receipt_pdf}"
        );
    }
    // Every other email to the client (gallery credentials, upgrade) too.
    let all = app.emails_to(tests::INVOICE_EMAIL);
    assert!(
        all.len() >= 2,
        "{:?}",
        all.iter().map(|e| &e.subject).collect::<Vec<_>>()
    );
    for email in &all {
        assert_contact_html(&email.html, &email.subject);
        assert!(email.says(PHONE), "{}: {}", email.subject, email.text);
    }
}

/// Package 2500.00 at 8.875 %: total 2721.88; a 3000.00 retainer leaves
/// 278.12.
async fn schedule_with_retainer(
    app: &TestApp,
    key: &str,
    client: &str,
    package: &str,
    retainer: &str,
) -> String {
    let data = app
        .gql(
            key,
            "mutation($i: ScheduleSessionInput!) { scheduleSession(input: $i) { session { id } userErrors { field code } } }",
            json!({ "i": { "clientId": client, "packageId": package, "title": "Paid ahead",
                           "scheduledAt": "2026-12-01T10:00:00Z", "retainerPaid": retainer } }),
        )
        .await;
    assert_eq!(data["scheduleSession"]["userErrors"], json!([]), "{data}");
    data["scheduleSession"]["session"]["id"]
        .as_str()
        .expect("session")
        .to_string()
}

async fn credits_of(app: &TestApp, key: &str, session: &str) -> Value {
    let data = app
        .gql(
            key,
            "query($id: ID!) { session(id: $id) { invoice {
                status number total { minorUnits } amountDue { minorUnits }
                retainerCredit { minorUnits } carriedCredit { minorUnits }
                excessCredit { minorUnits } excessCreditDisposition creditDueToClient { minorUnits }
                client { carriedCredit { minorUnits formatted } }
            } } }",
            json!({ "id": session }),
        )
        .await;
    data["session"]["invoice"].clone()
}

/// The dashboard of the studio of `key`.
async fn dashboard_of(app: &TestApp, key: &str) -> domain::read::dashboard::Dashboard {
    let studio_id: i64 = app.gql(key, "{ studio { id } }", json!({})).await["studio"]["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("studio id");
    domain::read::dashboard::load(&app.ctx.db, studio_id, None, None, app.ctx.clock.now())
        .await
        .expect("dashboard")
        .expect("studio")
}

async fn a_retainer_above_the_total_is_owed_back_and_listed_for_the_studio(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let setting = app
        .gql(&f.key, "{ studio { retainerExcess } }", json!({}))
        .await;
    assert_eq!(
        setting["studio"]["retainerExcess"], "REFUND_DUE",
        "the default"
    );
    let session =
        schedule_with_retainer(&app, &f.key, &f.invoice_client, &f.package, "3000.00").await;
    app.complete_session(&f.key, &session).await;
    app.drain().await;
    let invoice = credits_of(&app, &f.key, &session).await;
    assert_eq!(invoice["status"], "PAID", "{invoice}");
    assert_eq!(invoice["total"]["minorUnits"], 0);
    assert_eq!(invoice["retainerCredit"]["minorUnits"], 272_188);
    assert_eq!(invoice["carriedCredit"]["minorUnits"], 0);
    assert_eq!(invoice["excessCredit"]["minorUnits"], 27_812);
    assert_eq!(invoice["excessCreditDisposition"], "REFUND_DUE");
    assert_eq!(invoice["creditDueToClient"]["minorUnits"], 27_812);
    assert_eq!(
        invoice["client"]["carriedCredit"]["minorUnits"], 0,
        "nothing carried"
    );
    assert_eq!(app.count("client_credits").await, 0);

    let email = app
        .emails_to(tests::INVOICE_EMAIL)
        .into_iter()
        .find(|e| e.subject.starts_with("Invoice"))
        .expect("invoice email");
    assert!(email.says("Retainer paid: -USD 2,721.88"), "{}", email.text);
    assert!(
        email.says("Credit due to you from Golden Hour: USD 278.12"),
        "{}",
        email.text
    );
    assert!(email.html.contains("USD 278.12"), "{}", email.html);
    let pdf = pdf_text(&email.attachments[0].1);
    assert!(
        pdf.contains("Credit due to you from Golden Hour: USD 278.12"),
        "{pdf}"
    );
    let portal = app
        .portal_page(&email.portal_link().expect("portal link"))
        .await;
    assert!(
        portal.contains("Credit due to you from Golden Hour"),
        "{portal}"
    );

    // The studio's dashboard lists what it owes back.
    let dashboard = dashboard_of(&app, &f.key).await;
    assert_eq!(dashboard.credits_owed.len(), 1);
    assert_eq!(dashboard.credits_owed[0].client_name, "Noah Chen");
    assert_eq!(dashboard.credits_owed[0].amount.to_string(), "USD 278.12");
    assert_eq!(
        Some(dashboard.credits_owed[0].number.as_str()),
        invoice["number"].as_str()
    );
}

async fn a_retainer_above_the_total_is_carried_to_the_next_invoice_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let set = app
        .gql(
            &f.key,
            "mutation { updateStudioSettings(input: { retainerExcess: CARRY_FORWARD }) { studio { retainerExcess } userErrors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        set["updateStudioSettings"]["studio"]["retainerExcess"], "CARRY_FORWARD",
        "{set}"
    );
    let first =
        schedule_with_retainer(&app, &f.key, &f.invoice_client, &f.package, "3000.00").await;
    // Two more sessions for the same client, completed at the same time:
    // the carried credit goes to exactly one of them.
    let second = schedule_with_retainer(&app, &f.key, &f.invoice_client, &f.package, "0").await;
    let third = schedule_with_retainer(&app, &f.key, &f.invoice_client, &f.package, "0").await;
    app.complete_session(&f.key, &first).await;
    app.drain().await;
    let invoice = credits_of(&app, &f.key, &first).await;
    assert_eq!(invoice["total"]["minorUnits"], 0, "{invoice}");
    assert_eq!(invoice["excessCredit"]["minorUnits"], 27_812);
    assert_eq!(invoice["excessCreditDisposition"], "CARRY_FORWARD");
    assert_eq!(invoice["creditDueToClient"]["minorUnits"], 0);
    assert_eq!(invoice["client"]["carriedCredit"]["minorUnits"], 27_812);
    let email = app
        .emails_to(tests::INVOICE_EMAIL)
        .into_iter()
        .find(|e| e.subject.starts_with("Invoice"))
        .expect("invoice email");
    assert!(
        email.says("Credit carried to your next invoice: USD 278.12"),
        "{}",
        email.text
    );
    assert!(
        pdf_text(&email.attachments[0].1)
            .contains("Credit carried to your next invoice: USD 278.12")
    );

    let (a, b) = tokio::join!(
        app.complete_session(&f.key, &second),
        app.complete_session(&f.key, &third)
    );
    assert_eq!(a["data"]["completeSession"]["userErrors"], json!([]), "{a}");
    assert_eq!(b["data"]["completeSession"]["userErrors"], json!([]), "{b}");
    app.drain().await;
    // Replaying the invoice jobs changes nothing.
    for session in [&second, &third] {
        let id: i64 = session.parse().expect("session id");
        domain::billing::invoicing::generate_invoice(&app.ctx, id, None)
            .await
            .expect("replay");
    }
    let invoices = [
        credits_of(&app, &f.key, &second).await,
        credits_of(&app, &f.key, &third).await,
    ];
    let carried: Vec<i64> = invoices
        .iter()
        .map(|i| i["carriedCredit"]["minorUnits"].as_i64().expect("carried"))
        .collect();
    assert!(
        carried == [27_812, 0] || carried == [0, 27_812],
        "used once: {invoices:?}"
    );
    let (with, without) = if carried[0] > 0 {
        (&invoices[0], &invoices[1])
    } else {
        (&invoices[1], &invoices[0])
    };
    assert_eq!(with["retainerCredit"]["minorUnits"], 27_812);
    assert_eq!(with["total"]["minorUnits"], 272_188 - 27_812);
    assert_eq!(with["amountDue"]["minorUnits"], 272_188 - 27_812);
    assert_eq!(with["excessCredit"]["minorUnits"], 0);
    assert_eq!(without["total"]["minorUnits"], 272_188);
    assert_eq!(with["client"]["carriedCredit"]["minorUnits"], 0, "used up");
    assert_eq!(app.count("client_credits").await, 1);
    let number = with["number"].as_str().expect("number").to_string();
    let email = app
        .emails_to(tests::INVOICE_EMAIL)
        .into_iter()
        .find(|e| e.subject.starts_with(&format!("Invoice {number}")))
        .expect("the next invoice's email");
    assert!(
        email.says("Credit from an earlier invoice: -USD 278.12"),
        "{}",
        email.text
    );
    let pdf = pdf_text(&email.attachments[0].1);
    assert!(
        pdf.contains("Credit from an earlier") && pdf.contains("-USD 278.12"),
        "{pdf}"
    );
}

/// The invoice of `session` as the reissue test reads it.
async fn invoice_of(app: &TestApp, key: &str, session: &str) -> Value {
    let data = app
        .gql(
            key,
            "query($id: ID!) { session(id: $id) { invoice {
                id status total { minorUnits } amountDue { minorUnits }
                retainerCredit { minorUnits } carriedCredit { minorUnits }
                excessCredit { minorUnits } client { carriedCredit { minorUnits } }
            } } }",
            json!({ "id": session }),
        )
        .await;
    data["session"]["invoice"].clone()
}

async fn void_and_reissue(app: &TestApp, key: &str, invoice: &Value, discount: Value) -> Value {
    let id = invoice["id"].as_str().expect("invoice id");
    let voided = app
        .gql(
            key,
            "mutation($id: ID!) { voidInvoice(input: { invoiceId: $id, reason: \"Wrong package\" }) { invoice { status } userErrors { code message } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        voided["voidInvoice"]["invoice"]["status"], "VOID",
        "{voided}"
    );
    let reissued = app
        .gql(
            key,
            "mutation($i: ReissueInvoiceInput!) { reissueInvoice(input: $i) { invoice { id } userErrors { code message } } }",
            json!({ "i": { "invoiceId": id, "idempotencyKey": format!("reissue-{id}"), "discount": discount } }),
        )
        .await;
    assert_eq!(
        reissued["reissueInvoice"]["userErrors"],
        json!([]),
        "{reissued}"
    );
    reissued
}

/// The client's carried credits, checked to balance: created − used =
/// outstanding. Returns what was ever created.
async fn balanced_credits(app: &TestApp, session: &str) -> i64 {
    use sea_orm::EntityTrait;
    let id: i64 = session.parse().expect("session id");
    let session = entity::session::Entity::find_by_id(id)
        .one(&app.ctx.db)
        .await
        .expect("session")
        .expect("session row");
    let ledger = domain::billing::credits::ledger_of_client(
        &app.ctx.db,
        domain::kernel::ids::StudioId::new(session.studio_id),
        domain::kernel::ids::ClientId::new(session.client_id),
    )
    .await
    .expect("ledger");
    assert_eq!(
        ledger.created_minor - ledger.used_minor,
        ledger.outstanding_minor,
        "{ledger:?}"
    );
    ledger.created_minor.get()
}

/// Issue 10, item 21 follow-up: retainer 150.00 on an invoice of 108.88
/// carries 41.12; the next invoice uses it. Voiding and reissuing the first
/// invoice must not carry the 41.12 a second time (the retainer it came from
/// is already spent); a reissue whose excess grows carries only the
/// difference.
async fn a_reissue_never_carries_again_a_credit_a_later_invoice_used(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let data = app
        .gql(
            &f.key,
            "mutation { updateStudioSettings(input: { retainerExcess: CARRY_FORWARD }) { userErrors { code } }
                        createPackage(input: { name: \"Mini\", price: \"100.00\" }) { package { id } } }",
            json!({}),
        )
        .await;
    let mini = data["createPackage"]["package"]["id"]
        .as_str()
        .expect("package")
        .to_string();
    let first = schedule_with_retainer(&app, &f.key, &f.invoice_client, &mini, "150.00").await;
    app.complete_session(&f.key, &first).await;
    app.drain().await;
    let original = invoice_of(&app, &f.key, &first).await;
    assert_eq!(original["total"]["minorUnits"], 0, "{original}");
    assert_eq!(original["excessCredit"]["minorUnits"], 4_112, "{original}");
    let second = schedule_with_retainer(&app, &f.key, &f.invoice_client, &mini, "0").await;
    app.complete_session(&f.key, &second).await;
    app.drain().await;
    let next = invoice_of(&app, &f.key, &second).await;
    assert_eq!(next["carriedCredit"]["minorUnits"], 4_112, "{next}");
    assert_eq!(next["total"]["minorUnits"], 10_888 - 4_112, "{next}");

    // Void and reissue the first invoice as it was: the 41.12 is consumed.
    void_and_reissue(&app, &f.key, &original, Value::Null).await;
    app.drain().await;
    let reissued = invoice_of(&app, &f.key, &first).await;
    assert_ne!(reissued["id"], original["id"]);
    assert_eq!(reissued["excessCredit"]["minorUnits"], 0, "{reissued}");
    assert_eq!(
        reissued["retainerCredit"]["minorUnits"], 10_888,
        "{reissued}"
    );
    assert_eq!(reissued["carriedCredit"]["minorUnits"], 0, "{reissued}");
    assert_eq!(reissued["amountDue"]["minorUnits"], 0, "{reissued}");
    assert_eq!(
        reissued["client"]["carriedCredit"]["minorUnits"], 0,
        "no second credit: {reissued}"
    );
    assert_eq!(balanced_credits(&app, &first).await, 4_112);

    // Reissued again with 10 % off (90.00 + 8.875 % = 97.99): the real
    // excess is 150.00 − 97.99 = 52.01, of which 41.12 already moved on, so
    // only the 10.89 difference is carried.
    void_and_reissue(&app, &f.key, &reissued, json!({ "percent": "10" })).await;
    app.drain().await;
    let again = invoice_of(&app, &f.key, &first).await;
    assert_eq!(again["total"]["minorUnits"], 0, "{again}");
    assert_eq!(again["excessCredit"]["minorUnits"], 1_089, "{again}");
    assert_eq!(
        again["client"]["carriedCredit"]["minorUnits"], 1_089,
        "{again}"
    );
    assert_eq!(balanced_credits(&app, &first).await, 15_000 - 9_799);
}

const MARK_REPAID: &str = "mutation($i: MarkCreditRepaidInput!) { markCreditRepaid(input: $i) {
    invoice { creditDueToClient { minorUnits } creditRepaid { minorUnits } creditRepaidAt creditRepaidReference }
    userErrors { field code message } } }";

async fn mark_repaid(app: &TestApp, key: &str, invoice: &str, reference: &str) -> Value {
    app.gql(
        key,
        MARK_REPAID,
        json!({ "i": { "invoiceId": invoice, "reference": reference } }),
    )
    .await["markCreditRepaid"]
        .clone()
}

/// Issue 10, item 21 follow-up: a credit owed back (`REFUND_DUE`) is marked
/// repaid by the studio once (idempotent for the same reference), audited,
/// and shown repaid in GraphQL, on the portal and on the dashboard.
async fn a_credit_owed_back_is_marked_repaid_once_and_shown_repaid(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let other = app.create_studio("Other Studio").await;
    let session =
        schedule_with_retainer(&app, &f.key, &f.invoice_client, &f.package, "3000.00").await;
    app.complete_session(&f.key, &session).await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let invoice = app.invoice_of(&f.key, &session).await;
    let id = invoice["id"].as_str().expect("invoice id").to_string();
    let portal = invoice["portalUrl"].as_str().expect("portal").to_string();
    let nothing_owed = app.invoice_of(&f.key, &f.invoice_session).await["id"]
        .as_str()
        .expect("id")
        .to_string();

    let theirs = mark_repaid(&app, &other, &id, "TRF-1").await;
    assert_eq!(theirs["userErrors"][0]["code"], "NOT_FOUND", "{theirs}");
    let blank = mark_repaid(&app, &f.key, &id, "  ").await;
    assert_eq!(blank["userErrors"][0]["code"], "INVALID_INPUT", "{blank}");
    let none = mark_repaid(&app, &f.key, &nothing_owed, "TRF-1").await;
    assert_eq!(none["userErrors"][0]["code"], "NOTHING_OWED", "{none}");
    assert_eq!(
        app.count("invoice_events WHERE event = 'CREDIT_REPAID'")
            .await,
        0
    );

    let repaid = mark_repaid(&app, &f.key, &id, "TRF-1").await;
    assert_eq!(repaid["userErrors"], json!([]), "{repaid}");
    assert_eq!(repaid["invoice"]["creditDueToClient"]["minorUnits"], 0);
    assert_eq!(repaid["invoice"]["creditRepaid"]["minorUnits"], 27_812);
    assert_eq!(repaid["invoice"]["creditRepaidReference"], "TRF-1");
    assert!(repaid["invoice"]["creditRepaidAt"].is_string(), "{repaid}");
    let again = mark_repaid(&app, &f.key, &id, "TRF-1").await;
    assert_eq!(again["userErrors"], json!([]), "idempotent: {again}");
    assert_eq!(again["invoice"], repaid["invoice"]);
    let other_reference = mark_repaid(&app, &f.key, &id, "TRF-2").await;
    assert_eq!(
        other_reference["userErrors"][0]["code"], "ALREADY_REPAID",
        "{other_reference}"
    );
    assert_eq!(
        app.count("invoice_events WHERE event = 'CREDIT_REPAID'")
            .await,
        1
    );

    let page = app.portal_page(&portal).await;
    assert!(
        page.contains("Credit repaid to you by Golden Hour"),
        "{page}"
    );
    assert!(page.contains("TRF-1"), "{page}");
    assert!(!page.contains("Credit due to you"), "{page}");
    let dashboard = dashboard_of(&app, &f.key).await;
    assert_eq!(dashboard.credits_owed.len(), 1);
    assert_eq!(dashboard.credits_owed[0].amount.to_string(), "USD 278.12");
    assert_eq!(
        dashboard.credits_owed[0]
            .repaid
            .as_ref()
            .map(|(_, r)| r.as_str()),
        Some("TRF-1")
    );
}

// ---------------------------------------------------------------- GraphiQL

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_is_served_by_the_binary_without_a_cdn() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let page = app
        .http
        .get(format!("{}/graphql", app.address))
        .header("accept", "text/html")
        .send()
        .await
        .expect("graphiql");
    assert_eq!(page.status(), 200);
    let csp = page
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(csp.contains("connect-src 'self'"), "{csp}");
    assert!(!csp.contains("http"), "only this origin: {csp}");
    let html = page.text().await.expect("html");
    assert!(
        !html.contains("http:") && !html.contains("https:") && !html.contains("//"),
        "no external URL: {html}"
    );
    assert!(!html.contains("<script>"), "no inline script: {html}");
    let assets: Vec<String> = html
        .split(['"', '\''])
        .filter(|s| s.starts_with("/graphiql/"))
        .map(str::to_string)
        .collect();
    assert_eq!(assets.len(), 6, "{assets:?}");
    assert!(
        !html.contains("style="),
        "no inline style (CSP style-src 'self'): {html}"
    );
    for asset in &assets {
        let response = app
            .http
            .get(format!("{}{asset}", app.address))
            .send()
            .await
            .expect("asset");
        assert_eq!(response.status(), 200, "{asset}");
        let cache = response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(cache.contains("max-age=31536000"), "{asset}: {cache}");
        let body = response.text().await.expect("asset body");
        assert!(body.len() > 100, "{asset}");
        if asset.ends_with(".css") {
            // Fonts and icons are inline; nothing else is fetched.
            for url in body.split("url(").skip(1) {
                assert!(
                    url.trim_start_matches(['"', '\'']).starts_with("data:"),
                    "{asset}: url({}",
                    &url[..url.len().min(60)]
                );
            }
            assert!(!body.contains("@import"), "{asset}");
        }
    }
    let missing = app
        .http
        .get(format!("{}/graphiql/3.8.3/secret.key", app.address))
        .send()
        .await
        .expect("missing asset");
    assert_eq!(missing.status(), 404);
}

/// graphql-js's `getIntrospectionQuery()` (what GraphiQL sends on load):
/// 13 levels deep through `TypeRef`'s `ofType` chain.
const INTROSPECTION_QUERY: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
}
"#;

/// A real selection `levels` deep (`reissuedFrom` nests without end).
fn deep_real_fields(levels: usize) -> String {
    // session > invoice > reissuedFrom… > id
    let chain = levels - 3;
    format!(
        "session(id: \"1\") {{ invoice {{ {} id {} }} }}",
        "reissuedFrom { ".repeat(chain),
        "} ".repeat(chain)
    )
}

async fn the_standard_introspection_query_passes_where_introspection_is_allowed(backend: Backend) {
    let Some(dev) = spawn_app(backend).await else {
        return;
    };
    let key = dev.create_studio("Golden Hour").await;
    let body = dev
        .graphql(Some(&key), INTROSPECTION_QUERY, json!({}))
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");
    assert!(
        body["data"]["__schema"]["types"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["name"] == "Invoice")),
        "the docs have the types"
    );
    // The exemption covers the introspection selections only: real fields
    // next to them are still measured, and pass or fail as alone.
    let mixed = |levels| {
        format!(
            "{{ __schema {{ types {{ fields {{ type {{ ofType {{ ofType {{ ofType {{ ofType {{ ofType {{ ofType {{ ofType {{ ofType {{ ofType {{ name }} }} }} }} }} }} }} }} }} }} }} }} }} {} }}",
            deep_real_fields(levels)
        )
    };
    let body = dev.graphql(Some(&key), &mixed(12), json!({})).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    for query in [mixed(13), format!("{{ {} }}", deep_real_fields(13))] {
        let body = dev.graphql(Some(&key), &query, json!({})).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "QUERY_TOO_DEEP",
            "{body:#}"
        );
        assert!(body["data"].is_null(), "{body:#}");
    }
    drop(dev);
    // Where introspection is off, nothing is exempt (and nothing answered).
    let Some(prod) = spawn_app_with(backend, |s| {
        s.environment = domain::infra::settings::Environment::Production
    })
    .await
    else {
        return;
    };
    let key = prod.create_studio("Golden Hour").await;
    let body = prod
        .graphql(Some(&key), INTROSPECTION_QUERY, json!({}))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "QUERY_TOO_DEEP",
        "{body:#}"
    );
    assert!(!body.to_string().contains("\"Invoice\""), "{body}");
}

// ------------------------------------------------------- 390 px, Chromium

fn chromium() -> Option<PathBuf> {
    for var in ["CHROME", "CHROMIUM"] {
        if let Some(path) = std::env::var_os(var).filter(|p| !p.is_empty()) {
            return Some(PathBuf::from(path));
        }
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find_map(|dir| {
        ["chromium", "chromium-browser", "google-chrome"]
            .iter()
            .map(|name| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")));
    target.join("test-artifacts")
}

/// Waits (at most 20 s) until `expression` is true in the page.
async fn wait_until(page: &chromiumoxide::Page, expression: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let done = page
            .evaluate(expression)
            .await
            .ok()
            .and_then(|r| r.into_value::<bool>().ok())
            .unwrap_or(false);
        if done {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "`{expression}` stayed false"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How far the page is wider than the phone's screen (0: it fits).
async fn overflow(page: &chromiumoxide::Page) -> i64 {
    page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        .await
        .expect("measure")
        .into_value::<i64>()
        .expect("a number")
}

/// Puts the page back on a 390 × 844 phone (a full-page screenshot resets
/// the device metrics to the window's).
async fn phone(page: &chromiumoxide::Page) {
    use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
    page.execute(SetDeviceMetricsOverrideParams::new(390, 844, 1.0, true))
        .await
        .expect("a 390 px phone");
}

/// How the portal's line items are laid out.
#[derive(Debug, serde::Deserialize)]
struct LineItems {
    /// Each item row's text, as shown.
    rows: Vec<String>,
    /// Visible numeric cells per item row (the most of any row).
    columns: usize,
    /// Horizontal gaps between texts side by side in a row (items and totals).
    gaps: Vec<f64>,
    /// The right edge of each row's last text (items and totals).
    rights: Vec<f64>,
}

async fn line_items(page: &chromiumoxide::Page) -> LineItems {
    eval(
        page,
        r#"(() => {
  const text = e => { const r = document.createRange(); r.selectNodeContents(e); return r.getBoundingClientRect(); };
  const shown = e => e.getClientRects().length > 0 && e.getBoundingClientRect().width > 0;
  const out = { rows: [], columns: 0, gaps: [], rights: [] };
  for (const tr of document.querySelectorAll('table tbody tr, table tfoot tr')) {
    const cells = Array.from(tr.children).filter(shown);
    const boxes = cells.map(text).sort((a, b) => a.left - b.left);
    for (let i = 1; i < boxes.length; i++) {
      if (boxes[i].top < boxes[i - 1].bottom && boxes[i].bottom > boxes[i - 1].top) out.gaps.push(boxes[i].left - boxes[i - 1].right);
    }
    out.rights.push(boxes[boxes.length - 1].right);
    if (tr.parentElement.tagName === 'TBODY') {
      out.rows.push(tr.innerText.trim());
      out.columns = Math.max(out.columns, cells.filter(c => c.classList.contains('num')).length);
    }
  }
  return out;
})()"#,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_and_the_emails_fit_a_390_px_phone_and_graphiql_renders() {
    use chromiumoxide::browser::{Browser, BrowserConfig};
    use chromiumoxide::handler::viewport::Viewport;
    use chromiumoxide::page::ScreenshotParams;
    use futures::StreamExt;

    let Some(binary) = chromium() else {
        let required = std::env::var("REQUIRE_SERVICES").is_ok_and(|v| !v.is_empty() && v != "0");
        assert!(
            !required,
            "Chromium is required (REQUIRE_SERVICES is set); install it with `apt-get install chromium`"
        );
        eprintln!("skipping: no Chromium found (set CHROME or install `chromium`)");
        return;
    };
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let f = app
        .seed_studio("Golden Hour Photography & Film Studio")
        .await;
    set_contact(&app, &f.key).await;
    // A New York studio surcharging credit cards: the portal discloses it.
    let surcharge = app
        .gql(
            &f.key,
            "mutation { updateStudioSettings(input: { country: \"US\", region: \"NY\", cardSurchargePercent: \"3\" }) {
                userErrors { message } } }",
            json!({}),
        )
        .await;
    assert_eq!(surcharge["updateStudioSettings"]["userErrors"], json!([]));
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let email = app
        .emails_to(tests::INVOICE_EMAIL)
        .into_iter()
        .find(|e| e.subject.starts_with("Invoice"))
        .expect("invoice email");
    let link = email.portal_link().expect("portal link");

    let profile = tempfile::tempdir().expect("profile dir");
    let config = BrowserConfig::builder()
        .chrome_executable(&binary)
        .no_sandbox()
        .user_data_dir(profile.path())
        .window_size(390, 844)
        .viewport(Viewport {
            width: 390,
            height: 844,
            device_scale_factor: Some(1.0),
            emulating_mobile: true,
            is_landscape: false,
            has_touch: true,
        })
        .arg("--disable-dev-shm-usage")
        .arg("--disable-gpu")
        .build()
        .expect("browser config");
    let (mut browser, mut handler) = Browser::launch(config)
        .await
        .unwrap_or_else(|e| panic!("launch {}: {e}", binary.display()));
    let driver = tokio::spawn(async move { while handler.next().await.is_some() {} });
    let dir = artifacts_dir();
    std::fs::create_dir_all(&dir).expect("artifacts dir");

    // The portal.
    let page = browser.new_page(link.as_str()).await.expect("portal page");
    wait_until(&page, "document.readyState === 'complete'").await;
    assert_eq!(
        page.evaluate("window.innerWidth")
            .await
            .expect("width")
            .into_value::<i64>()
            .expect("a number"),
        390
    );
    assert!(
        page.content().await.expect("content").contains(PHONE),
        "the studio's phone on the portal"
    );
    // (Measured before the full-page screenshot, which resets the viewport.)
    // One line per item: no quantity or unit price column, "3 × <unit
    // price>" under the description, every amount (lines and totals) in one
    // right-aligned column, clear of the text beside it.
    let lines = line_items(&page).await;
    assert!(
        lines.rows.iter().any(|r| r.starts_with("Extra hour\n3 × ")),
        "the quantity and unit price under the description: {lines:?}"
    );
    assert_eq!(lines.columns, 1, "one amount column: {lines:?}");
    assert!(
        lines.gaps.iter().all(|g| *g >= 8.0),
        "amounts touch what is beside them: {lines:?}"
    );
    let (left, right) = lines
        .rights
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
    assert!(right - left <= 1.0, "amounts misaligned: {lines:?}");
    // The surcharge is disclosed above the Pay button, on screen.
    let disclosed = page
        .evaluate(
            "(() => { const d = document.getElementById('surcharge-disclosure'); \
               const pay = document.querySelector(\"form[action$='/checkout'] button[type=submit]\"); \
               return !!d && d.getBoundingClientRect().height > 0 && !!pay \
                 && d.getBoundingClientRect().bottom <= pay.getBoundingClientRect().top \
                 && !!d.querySelector('#pay-another-way a[href^=\"mailto:\"]'); })()",
        )
        .await
        .expect("disclosure")
        .into_value::<bool>()
        .expect("a boolean");
    assert!(
        disclosed,
        "the surcharge disclosure is shown above the Pay button"
    );
    page.save_screenshot(
        ScreenshotParams::builder().full_page(true).build(),
        dir.join("portal-390.png"),
    )
    .await
    .expect("screenshot");
    assert_eq!(overflow(&page).await, 0, "the portal fits 390 px");

    // The provider's hosted page (the simulated gateway's), from the Pay button.
    phone(&page).await;
    page.find_element("form[action$='/checkout'] button[type=submit]")
        .await
        .expect("the Pay button")
        .click()
        .await
        .expect("pay");
    wait_until(
        &page,
        "location.pathname.startsWith('/sim-checkout/') && document.readyState === 'complete'",
    )
    .await;
    assert_eq!(
        overflow(&page).await,
        0,
        "the hosted checkout page fits 390 px"
    );
    page.save_screenshot(
        ScreenshotParams::builder().full_page(true).build(),
        dir.join("sim-checkout-390.png"),
    )
    .await
    .expect("screenshot");

    // The invoice email's HTML, as a phone's mail app would lay it out.
    phone(&page).await;
    let file = dir.join("invoice-email-390.html");
    std::fs::write(&file, &email.html).expect("write the email");
    page.goto(format!("file://{}", file.display()))
        .await
        .expect("open the email");
    wait_until(
        &page,
        "document.readyState === 'complete' && !!document.getElementById('studio-contact')",
    )
    .await;
    page.save_screenshot(
        ScreenshotParams::builder().full_page(true).build(),
        dir.join("invoice-email-390.png"),
    )
    .await
    .expect("screenshot");
    phone(&page).await;
    assert_eq!(overflow(&page).await, 0, "the invoice email fits 390 px");
    // No amount or invoice number is broken across lines: each such text
    // sits in one line box (its height is a single line's).
    let broken = page
        .evaluate(
            "Array.from(document.querySelectorAll('td,span,strong,a')).filter(e => e.children.length === 0 && /^(USD [-0-9,.]+|INV-[0-9-]+)$/.test(e.textContent.trim())).filter(e => e.getClientRects().length > 1 || e.getBoundingClientRect().height > 2 * parseFloat(getComputedStyle(e).fontSize) * 1.3).map(e => e.textContent)",
        )
        .await
        .expect("tokens")
        .into_value::<Vec<String>>()
        .expect("list");
    assert!(broken.is_empty(), "broken across lines: {broken:?}");

    // GraphiQL renders from the binary's own assets under its CSP.
    page.goto(format!("{}/graphql", app.address))
        .await
        .expect("open GraphiQL");
    wait_until(&page, "!!document.querySelector('.graphiql-container')").await;
    page.save_screenshot(
        ScreenshotParams::builder().build(),
        dir.join("graphiql.png"),
    )
    .await
    .expect("screenshot");

    let _ = browser.close().await;
    let _ = browser.wait().await;
    driver.abort();
}

/// A headless Chromium with a `width` × `height` window (its own profile),
/// the task that drives it, and the profile dir to keep alive; `None` when
/// there is no Chromium (an error when `REQUIRE_SERVICES` is set).
async fn launch_browser(
    width: u32,
    height: u32,
    mobile: bool,
) -> Option<(
    chromiumoxide::Browser,
    tokio::task::JoinHandle<()>,
    tempfile::TempDir,
)> {
    use chromiumoxide::browser::{Browser, BrowserConfig};
    use chromiumoxide::handler::viewport::Viewport;
    use futures::StreamExt;
    let Some(binary) = chromium() else {
        let required = std::env::var("REQUIRE_SERVICES").is_ok_and(|v| !v.is_empty() && v != "0");
        assert!(!required, "Chromium is required (REQUIRE_SERVICES is set)");
        eprintln!("skipping: no Chromium found (set CHROME or install `chromium`)");
        return None;
    };
    let profile = tempfile::tempdir().expect("profile dir");
    let config = BrowserConfig::builder()
        .chrome_executable(&binary)
        .no_sandbox()
        .user_data_dir(profile.path())
        .window_size(width, height)
        .viewport(Viewport {
            width,
            height,
            device_scale_factor: Some(1.0),
            emulating_mobile: mobile,
            is_landscape: !mobile,
            has_touch: mobile,
        })
        .arg("--disable-dev-shm-usage")
        .arg("--disable-gpu")
        .build()
        .expect("browser config");
    let (browser, mut handler) = Browser::launch(config)
        .await
        .unwrap_or_else(|e| panic!("launch {}: {e}", binary.display()));
    let driver = tokio::spawn(async move { while handler.next().await.is_some() {} });
    Some((browser, driver, profile))
}

/// Records the page's CSP violations in `window.cspViolations`.
const RECORD_CSP_VIOLATIONS: &str = "window.cspViolations = []; document.addEventListener('securitypolicyviolation', e => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || '')));";

async fn eval<T: serde::de::DeserializeOwned>(page: &chromiumoxide::Page, expression: &str) -> T {
    page.evaluate(expression)
        .await
        .unwrap_or_else(|e| panic!("`{expression}`: {e}"))
        .into_value::<T>()
        .unwrap_or_else(|e| panic!("`{expression}`: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_takes_the_key_in_its_headers_pane_runs_the_readme_mutation_and_has_docs() {
    use chromiumoxide::page::ScreenshotParams;
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let Some((mut browser, driver, _profile)) = launch_browser(1280, 800, false).await else {
        return;
    };
    let dir = artifacts_dir();
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    let page = browser.new_page("about:blank").await.expect("page");
    page.evaluate_on_new_document(RECORD_CSP_VIOLATIONS)
        .await
        .expect("record CSP violations");
    page.goto(format!("{}/graphql", app.address))
        .await
        .expect("open GraphiQL");
    wait_until(&page, "!!document.querySelector('.graphiql-container')").await;
    // The introspection query went through: the schema is loaded.
    wait_until(
        &page,
        "!!document.querySelector('.graphiql-query-editor .CodeMirror') && !document.querySelector('.graphiql-spinner')",
    )
    .await;

    // GraphiQL fills the window (its styles all load under the page's CSP).
    let height: f64 = eval(
        &page,
        "document.querySelector('.graphiql-container').getBoundingClientRect().height",
    )
    .await;
    assert!(
        height >= 790.0,
        "GraphiQL is {height} px tall in an 800 px window"
    );

    // The Headers pane: open it, type the key there.
    wait_until(
        &page,
        "Array.from(document.querySelectorAll('.graphiql-editor-tools button')).some(b => b.textContent.trim() === 'Headers')",
    )
    .await;
    let _: bool = eval(
        &page,
        "(Array.from(document.querySelectorAll('.graphiql-editor-tools button')).find(b => b.textContent.trim() === 'Headers').click(), true)",
    )
    .await;
    const HEADERS: &str = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror";
    wait_until(&page, &format!("!!document.querySelector('{HEADERS}')")).await;
    let pane: f64 = eval(
        &page,
        &format!("document.querySelector('{HEADERS}').getBoundingClientRect().height"),
    )
    .await;
    assert!(pane >= 60.0, "the Headers pane is {pane} px tall");
    let input = page
        .find_element(format!("{HEADERS} textarea"))
        .await
        .expect("the Headers editor's input");
    input.click().await.expect("focus the Headers pane");
    // Replace the placeholder: select it all, then type over it.
    let _: bool = eval(
        &page,
        &format!("(document.querySelector('{HEADERS}').CodeMirror.execCommand('selectAll'), true)"),
    )
    .await;
    let headers = format!("{{\"Authorization\": \"Bearer {}\"}}", f.key);
    input.type_str(&headers).await.expect("type the key");
    let typed: String = eval(
        &page,
        &format!("document.querySelector('{HEADERS}').CodeMirror.getValue()"),
    )
    .await;
    assert_eq!(typed, headers, "the Headers pane holds what was typed");

    // The README's mutation (step 3), on this studio's sessions.
    let mutation = format!(
        "mutation {{\n  ava: completeSession(id: \"{}\") {{ session {{ id status }} userErrors {{ field message code }} }}\n  noah: completeSession(id: \"{}\") {{ session {{ id status }} userErrors {{ field message code }} }}\n}}",
        f.auto_pay_session, f.invoice_session
    );
    let _: bool = eval(
        &page,
        &format!(
            "(document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue({}), true)",
            serde_json::to_string(&mutation).expect("json")
        ),
    )
    .await;
    page.find_element(".graphiql-execute-button")
        .await
        .expect("the run button")
        .click()
        .await
        .expect("run");
    const RESPONSE: &str = "(document.querySelector('.graphiql-response .CodeMirror') || {CodeMirror: {getValue: () => ''}}).CodeMirror.getValue()";
    wait_until(&page, &format!("{RESPONSE}.includes('\"noah\"')")).await;
    let response: String = eval(&page, RESPONSE).await;
    let response: Value = serde_json::from_str(&response).expect("a JSON response");
    assert!(response.get("errors").is_none(), "{response:#}");
    for alias in ["ava", "noah"] {
        assert_eq!(
            response["data"][alias]["session"]["status"], "COMPLETED",
            "{response:#}"
        );
        assert_eq!(
            response["data"][alias]["userErrors"],
            json!([]),
            "{response:#}"
        );
    }

    // The docs explorer shows the schema's root types.
    page.find_element("button[aria-label='Show Documentation Explorer']")
        .await
        .expect("the docs button")
        .click()
        .await
        .expect("open the docs");
    wait_until(
        &page,
        "!!document.querySelector('.graphiql-doc-explorer') && /mutation:\\s*Mutation/.test(document.querySelector('.graphiql-doc-explorer').textContent)",
    )
    .await;
    page.save_screenshot(
        ScreenshotParams::builder().build(),
        dir.join("graphiql-docs.png"),
    )
    .await
    .expect("screenshot");
    let violations: Vec<String> = eval(&page, "window.cspViolations").await;
    assert!(
        violations.is_empty(),
        "blocked by the page's CSP: {violations:?}"
    );

    let _ = browser.close().await;
    let _ = browser.wait().await;
    driver.abort();
}
