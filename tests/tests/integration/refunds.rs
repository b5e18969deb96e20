//! Refunds settle, they don't reopen (issue 9, item 5): each refund comes with
//! a credit note for its amount and a confirmation email naming the amount,
//! the card and the credit note; afterwards nothing is owed, so no reminder or
//! late fee follows however much time passes, and the revenue the dashboard
//! shows as *Collected* is net of refunds. Manual payments and card payments,
//! partial then full. (A lost dispute still makes money owed again: see
//! `webhooks::a_dispute_locks_the_gallery_and_a_lost_dispute_is_a_chargeback`.)

use chrono::{Duration, Utc};
use domain::kernel::clock::Clock;
use serde_json::{Value, json};
use tests::{Backend, INVOICE_EMAIL, TestApp, spawn_app_full};

on_both_backends!(
    card_refunds_partial_then_full_settle_with_credit_notes_emails_and_no_reminders,
    manual_refunds_partial_then_full_settle_with_credit_notes_emails_and_no_reminders,
    a_receipt_pdf_names_the_card_and_the_invoice_and_the_portal_serves_it,
);

async fn app_with_clock(backend: Backend) -> Option<(TestApp, Clock)> {
    let clock = Clock::manual(Utc::now());
    let installed = clock.clone();
    let app = spawn_app_full(
        backend,
        |_| {},
        move |mut ctx| {
            ctx.clock = installed;
            ctx
        },
    )
    .await?;
    Some((app, clock))
}

const INVOICE: &str = "query($id: ID!) { session(id: $id) { invoice {
    id number status portalUrl
    total { minorUnits } amountPaid { minorUnits } amountRefunded { minorUnits }
    amountCredited { minorUnits } amountDue { minorUnits }
    lines { kind }
    payments { id }
    refunds { id status amount { minorUnits } creditNote { number amount { minorUnits } } }
    creditNote { number }
    creditNotes { number amount { minorUnits formatted } }
} } }";

async fn invoice(app: &TestApp, key: &str, session: &str) -> Value {
    app.gql(key, INVOICE, json!({ "id": session })).await["session"]["invoice"].clone()
}

fn n(v: &Value) -> i64 {
    v["minorUnits"].as_i64().unwrap()
}

/// The restated invariant: `amountDue == total - credited - paid + refunded`.
fn balanced(inv: &Value) {
    assert_eq!(
        n(&inv["amountDue"]),
        n(&inv["total"]) - n(&inv["amountCredited"]) - n(&inv["amountPaid"])
            + n(&inv["amountRefunded"]),
        "{inv:#}"
    );
}

async fn refund(app: &TestApp, key: &str, payment: &str, amount: Option<&str>, idem: &str) {
    let mut input =
        json!({ "paymentId": payment, "reason": "album cancelled", "idempotencyKey": idem });
    if let Some(amount) = amount {
        input["amount"] = json!(amount);
    }
    let body = app
        .gql(
            key,
            "mutation($i: RefundPaymentInput!) { refundPayment(input: $i) {
                refund { status } userErrors { field message code } } }",
            json!({ "i": input }),
        )
        .await;
    assert_eq!(body["refundPayment"]["userErrors"], json!([]), "{body}");
    assert_eq!(
        body["refundPayment"]["refund"]["status"], "SUCCEEDED",
        "{body}"
    );
}

/// Revenue of the period as the dashboard's *Collected* card sums it.
async fn collected(app: &TestApp, key: &str) -> i64 {
    let from = Utc::now() - Duration::days(30);
    let to = Utc::now() + Duration::days(400);
    let m = app
        .gql(
            key,
            "query($from: DateTime!, $to: DateTime!) { metrics(from: $from, to: $to) {
                revenueByMonth { amount { minorUnits } } } }",
            json!({ "from": from, "to": to }),
        )
        .await;
    m["metrics"]["revenueByMonth"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| n(&r["amount"]))
        .sum()
}

fn refund_emails(app: &TestApp) -> Vec<tests::SentEmail> {
    app.emails_to(INVOICE_EMAIL)
        .into_iter()
        .filter(|e| e.subject.starts_with("Refund of"))
        .collect()
}

/// Lets months pass (past the due date, every reminder step and the final
/// notice) and runs whatever became due; nothing may be sent or charged.
async fn months_pass_without_reminders(app: &TestApp, clock: &Clock, key: &str, session: &str) {
    for days in [10, 40, 70, 100, 130] {
        clock.set(Utc::now() + Duration::days(days));
        app.advance_scheduled().await;
        app.drain().await;
    }
    let reminders: Vec<String> = app
        .emails_to(INVOICE_EMAIL)
        .into_iter()
        .map(|e| e.subject)
        .filter(|s| s.starts_with("Reminder") || s.starts_with("Final notice"))
        .collect();
    assert_eq!(
        reminders,
        Vec::<String>::new(),
        "no reminder after a refund"
    );
    let inv = invoice(app, key, session).await;
    assert_eq!(inv["status"], "PAID", "{inv:#}");
    assert_eq!(n(&inv["amountDue"]), 0);
    assert!(
        !inv["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["kind"] == "LATE_FEE"),
        "no late fee: {inv:#}"
    );
}

async fn card_refunds_partial_then_full_settle_with_credit_notes_emails_and_no_reminders(
    backend: Backend,
) {
    let Some((app, clock)) = app_with_clock(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let inv = invoice(&app, &f.key, &f.invoice_session).await;
    assert_eq!(inv["status"], "OPEN");
    let total = n(&inv["total"]);
    let number = inv["number"].as_str().unwrap().to_string();
    let link = inv["portalUrl"].as_str().unwrap().to_string();
    let response = app.open_and_pay(&link, "4242424242424242").await;
    assert!(response.status().is_success() || response.status().is_redirection());
    app.drain().await;
    let inv = invoice(&app, &f.key, &f.invoice_session).await;
    assert_eq!(inv["status"], "PAID", "{inv:#}");
    assert_eq!(collected(&app, &f.key).await, total);
    let payment = inv["payments"][0]["id"].as_str().unwrap().to_string();

    // A partial refund: its credit note, still PAID, nothing owed.
    refund(&app, &f.key, &payment, Some("300.00"), "card-part").await;
    app.drain().await;
    let inv = invoice(&app, &f.key, &f.invoice_session).await;
    assert_eq!(inv["status"], "PAID", "{inv:#}");
    assert_eq!(n(&inv["amountDue"]), 0);
    assert_eq!(n(&inv["amountRefunded"]), 30_000);
    assert_eq!(n(&inv["amountCredited"]), 30_000);
    balanced(&inv);
    let first_note = format!("CN-{number}-2");
    assert_eq!(
        inv["refunds"][0]["creditNote"]["number"],
        first_note.as_str()
    );
    assert_eq!(n(&inv["refunds"][0]["creditNote"]["amount"]), 30_000);
    assert!(inv["creditNote"].is_null(), "not a void");
    let emails = refund_emails(&app);
    assert_eq!(emails.len(), 1);
    let email = &emails[0];
    assert!(email.says("USD 300.00"), "{}", email.text);
    assert!(email.says("Visa •••• 4242"), "{}", email.text);
    assert!(email.says(&first_note), "{}", email.text);
    assert!(!email.says("sim_"), "no internal ids: {}", email.text);
    assert_eq!(collected(&app, &f.key).await, total - 30_000);

    // The rest: refunded in full, still PAID with amountRefunded == total.
    refund(&app, &f.key, &payment, None, "card-rest").await;
    app.drain().await;
    let inv = invoice(&app, &f.key, &f.invoice_session).await;
    assert_eq!(inv["status"], "PAID", "{inv:#}");
    assert_eq!(n(&inv["amountRefunded"]), total);
    assert_eq!(n(&inv["amountCredited"]), total);
    assert_eq!(n(&inv["amountDue"]), 0);
    balanced(&inv);
    let second_note = format!("CN-{number}-3");
    let notes: Vec<&str> = inv["creditNotes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["number"].as_str().unwrap())
        .collect();
    assert_eq!(notes, [first_note.as_str(), second_note.as_str()]);
    let emails = refund_emails(&app);
    assert_eq!(emails.len(), 2, "one confirmation per refund");
    let rest = inv["creditNotes"][1]["amount"]["formatted"]
        .as_str()
        .unwrap();
    assert!(emails[1].says(rest), "{}", emails[1].text);
    assert!(emails[1].says(&second_note), "{}", emails[1].text);
    assert!(emails[1].says("Nothing is owed"), "{}", emails[1].text);
    assert_eq!(
        collected(&app, &f.key).await,
        0,
        "Collected is net of refunds"
    );
    // The studio's refund policy (default: locked) decides the gallery.
    let level = entity::gallery_access::Entity::find()
        .one(&app.ctx.db)
        .await
        .unwrap()
        .unwrap()
        .level;
    assert_eq!(level, entity::enums::GalleryLevel::Locked);

    months_pass_without_reminders(&app, &clock, &f.key, &f.invoice_session).await;
    assert_eq!(refund_emails(&app).len(), 2, "each confirmation once");
}

use sea_orm::EntityTrait;

async fn manual_refunds_partial_then_full_settle_with_credit_notes_emails_and_no_reminders(
    backend: Backend,
) {
    let Some((app, clock)) = app_with_clock(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let inv = invoice(&app, &f.key, &f.invoice_session).await;
    let total = n(&inv["total"]);
    let number = inv["number"].as_str().unwrap().to_string();
    let paid = app
        .gql(
            &f.key,
            "mutation($i: RecordManualPaymentInput!) { recordManualPayment(input: $i) {
                payment { id } userErrors { field message code } } }",
            json!({ "i": { "invoiceId": inv["id"], "amount": inv_amount(total), "method": "CHECK",
                           "reference": "#1042", "idempotencyKey": "check-1042" } }),
        )
        .await;
    assert_eq!(
        paid["recordManualPayment"]["userErrors"],
        json!([]),
        "{paid}"
    );
    let payment = paid["recordManualPayment"]["payment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.drain().await;

    refund(&app, &f.key, &payment, Some("200.00"), "check-part").await;
    app.drain().await;
    let inv = invoice(&app, &f.key, &f.invoice_session).await;
    assert_eq!(inv["status"], "PAID", "{inv:#}");
    assert_eq!(n(&inv["amountDue"]), 0);
    balanced(&inv);
    let first_note = format!("CN-{number}-2");
    assert_eq!(inv["creditNotes"][0]["number"], first_note.as_str());
    let emails = refund_emails(&app);
    assert_eq!(emails.len(), 1);
    assert!(emails[0].says("USD 200.00"), "{}", emails[0].text);
    assert!(emails[0].says("by check"), "{}", emails[0].text);
    assert!(emails[0].says(&first_note), "{}", emails[0].text);
    assert_eq!(collected(&app, &f.key).await, total - 20_000);

    refund(&app, &f.key, &payment, None, "check-rest").await;
    app.drain().await;
    let inv = invoice(&app, &f.key, &f.invoice_session).await;
    assert_eq!(inv["status"], "PAID", "{inv:#}");
    assert_eq!(n(&inv["amountRefunded"]), total);
    assert_eq!(n(&inv["amountDue"]), 0);
    balanced(&inv);
    assert_eq!(
        inv["creditNotes"][1]["number"],
        format!("CN-{number}-3").as_str()
    );
    assert_eq!(refund_emails(&app).len(), 2);
    assert_eq!(collected(&app, &f.key).await, 0);

    months_pass_without_reminders(&app, &clock, &f.key, &f.invoice_session).await;
}

/// Minor units as the API's decimal string (USD).
fn inv_amount(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// Issue 9, item 6: the receipt email carries a PDF receipt that names the
/// card (brand capitalised, last4) and the invoice, with no internal id; the
/// portal serves the same receipt by position, not by id.
async fn a_receipt_pdf_names_the_card_and_the_invoice_and_the_portal_serves_it(backend: Backend) {
    let Some(app) = tests::spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;
    let inv = invoice(&app, &f.key, &f.auto_pay_session).await;
    assert_eq!(inv["status"], "PAID");
    let number = inv["number"].as_str().unwrap().to_string();
    let receipt = app
        .emails_to(tests::AUTO_PAY_EMAIL)
        .into_iter()
        .find(|e| e.subject.starts_with("Receipt"))
        .expect("receipt email");
    assert!(receipt.says("Visa •••• 4242"), "{}", receipt.text);
    assert!(!receipt.text.contains("sim_") && !receipt.html.contains("sim_"));
    assert_eq!(receipt.attachments.len(), 1, "the PDF receipt");
    let (name, bytes) = &receipt.attachments[0];
    assert_eq!(name, &format!("Receipt-{number}.pdf"));
    let text = crate::pdf_text(bytes);
    assert!(text.contains("Receipt"), "{text}");
    assert!(text.contains(&format!("Invoice {number}")), "{text}");
    assert!(text.contains("Visa"), "{text}");
    assert!(text.contains("4242"), "{text}");
    assert!(text.contains("USD 2,791.82"), "{text}");
    assert!(!text.contains("sim_"), "no internal ids: {text}");

    // The portal links the same receipt; a receipt that does not exist is 404.
    let link = inv["portalUrl"].as_str().unwrap();
    let page = app.portal_page(link).await;
    assert!(page.contains("/receipt/1.pdf"), "{page}");
    let response = app
        .http
        .get(format!("{link}/receipt/1.pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/pdf"
    );
    let from_portal = crate::pdf_text(&response.bytes().await.unwrap());
    assert_eq!(from_portal, text, "the portal serves the emailed receipt");
    for missing in ["2.pdf", "0.pdf", "x.pdf", "1"] {
        let response = app
            .http
            .get(format!("{link}/receipt/{missing}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{missing}");
    }
}
