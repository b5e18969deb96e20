//! Invoice lifecycle gaps: reissue after void, drafts the studio reviews
//! before they are numbered and sent, and uncollectible by hand.

use serde_json::{Value, json};
use tests::{AUTO_PAY_EMAIL, Backend, INVOICE_EMAIL, TestApp, spawn_app};

on_both_backends!(
    a_voided_invoice_is_reissued_with_the_next_number_and_the_client_gets_the_new_invoice_email,
    a_studio_reviewing_drafts_gets_a_draft_without_number_and_no_email_until_it_is_finalized,
    marking_an_invoice_uncollectible_then_recording_a_manual_payment_makes_it_paid_in_order,
);

const INVOICE: &str = "id number status total { minorUnits } amountDue { minorUnits }
    discount { minorUnits }
    creditNote { number }
    reissuedFrom { id number status } reissuedBy { id number status }
    payments { status amount { minorUnits } }
    auditTrail { event fromStatus toStatus detail }";

async fn session_invoice(app: &TestApp, key: &str, session: &str) -> Value {
    let data = app
        .gql(
            key,
            &format!("query($id: ID!) {{ session(id: $id) {{ invoice {{ {INVOICE} }} }} }}"),
            json!({ "id": session }),
        )
        .await;
    data["session"]["invoice"].clone()
}

async fn invoice_by_id(app: &TestApp, key: &str, id: &str) -> Value {
    let data = app
        .gql(
            key,
            &format!("query($id: ID!) {{ invoice(id: $id) {{ {INVOICE} }} }}"),
            json!({ "id": id }),
        )
        .await;
    data["invoice"].clone()
}

/// Runs an invoice mutation `name(input: $i)` and returns its payload.
async fn mutate(app: &TestApp, key: &str, name: &str, input_type: &str, input: Value) -> Value {
    let body = app
        .graphql(
            Some(key),
            &format!(
                "mutation($i: {input_type}!) {{ {name}(input: $i) {{
                    invoice {{ {INVOICE} }} userErrors {{ field message code }} }} }}"
            ),
            json!({ "i": input }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    body["data"][name].clone()
}

async fn reissue(app: &TestApp, key: &str, invoice: &str, idem: &str) -> Value {
    mutate(
        app,
        key,
        "reissueInvoice",
        "ReissueInvoiceInput",
        json!({ "invoiceId": invoice, "idempotencyKey": idem }),
    )
    .await
}

async fn finalize(app: &TestApp, key: &str, invoice: &str) -> Value {
    mutate(
        app,
        key,
        "finalizeInvoice",
        "FinalizeInvoiceInput",
        json!({ "invoiceId": invoice }),
    )
    .await
}

async fn void(app: &TestApp, key: &str, invoice: &str, reason: &str) -> Value {
    mutate(
        app,
        key,
        "voidInvoice",
        "VoidInvoiceInput",
        json!({ "invoiceId": invoice, "reason": reason }),
    )
    .await
}

async fn uncollectible(app: &TestApp, key: &str, invoice: &str, reason: &str) -> Value {
    mutate(
        app,
        key,
        "markInvoiceUncollectible",
        "MarkInvoiceUncollectibleInput",
        json!({ "invoiceId": invoice, "reason": reason }),
    )
    .await
}

async fn manual_payment(app: &TestApp, key: &str, invoice: &str, amount: &str, idem: &str) {
    let body = app
        .graphql(
            Some(key),
            "mutation($i: RecordManualPaymentInput!) { recordManualPayment(input: $i) {
                payment { id } userErrors { field message code } } }",
            json!({ "i": { "invoiceId": invoice, "amount": amount, "method": "BANK_TRANSFER", "idempotencyKey": idem } }),
        )
        .await;
    assert_eq!(
        body["data"]["recordManualPayment"]["userErrors"],
        json!([]),
        "{body:#}"
    );
}

fn code(payload: &Value) -> &str {
    payload["userErrors"][0]["code"].as_str().unwrap_or("none")
}

fn trail(inv: &Value) -> Vec<String> {
    inv["auditTrail"]
        .as_array()
        .expect("audit trail")
        .iter()
        .map(|e| {
            format!(
                "{} {}->{}",
                e["event"].as_str().unwrap(),
                e["fromStatus"].as_str().unwrap_or("-"),
                e["toStatus"].as_str().unwrap_or("-")
            )
        })
        .collect()
}

fn invoice_emails(app: &TestApp, to: &str) -> Vec<tests::SentEmail> {
    app.emails_to(to)
        .into_iter()
        .filter(|e| e.subject.starts_with("Invoice"))
        .collect()
}

fn number(inv: &Value) -> String {
    inv["number"].as_str().expect("a number").to_string()
}

async fn a_voided_invoice_is_reissued_with_the_next_number_and_the_client_gets_the_new_invoice_email(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Reissue Studio").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let first = session_invoice(&app, &f.key, &f.invoice_session).await;
    assert_eq!(first["status"], "OPEN");
    let first_id = first["id"].as_str().unwrap().to_string();
    let first_number = number(&first);
    assert!(first_number.ends_with("0001"), "{first_number}");
    assert_eq!(invoice_emails(&app, INVOICE_EMAIL).len(), 1);

    // Only a void invoice can be reissued.
    let refused = reissue(&app, &f.key, &first_id, "reissue-too-early").await;
    assert_eq!(code(&refused), "INVALID_STATE", "{refused}");
    assert!(refused["invoice"].is_null());

    let voided = void(&app, &f.key, &first_id, "wrong package").await;
    assert_eq!(voided["invoice"]["status"], "VOID", "{voided}");

    // A replayed GenerateInvoice (or completeSession again) creates nothing.
    let replay = domain::billing::invoicing::generate_invoice(
        &app.ctx,
        f.invoice_session.parse().unwrap(),
        None,
    )
    .await
    .expect("replay");
    assert!(
        matches!(
            replay,
            domain::billing::invoicing::Generated::AlreadyIssued { .. }
        ),
        "{replay:?}"
    );
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    assert_eq!(app.count("invoices").await, 1);

    // A foreign studio's id behaves as not found.
    let other = app.create_studio("Elsewhere").await;
    let foreign = reissue(&app, &other, &first_id, "foreign").await;
    assert_eq!(code(&foreign), "NOT_FOUND", "{foreign}");

    let reissued = reissue(&app, &f.key, &first_id, "reissue-1").await;
    assert_eq!(reissued["userErrors"], json!([]), "{reissued}");
    let new = &reissued["invoice"];
    let new_id = new["id"].as_str().unwrap().to_string();
    assert_ne!(new_id, first_id);
    assert_eq!(new["status"], "OPEN");
    let new_number = number(new);
    assert!(new_number.ends_with("0002"), "{new_number}");
    assert_eq!(new["reissuedFrom"]["id"], first_id.as_str());
    assert_eq!(new["total"], first["total"]);
    assert_eq!(
        trail(new),
        ["CREATED -->DRAFT", "FINALIZED DRAFT->OPEN"],
        "{new:#}"
    );

    // The old invoice links forward and its trail says so, last.
    let old = invoice_by_id(&app, &f.key, &first_id).await;
    assert_eq!(old["reissuedBy"]["id"], new_id.as_str());
    assert_eq!(old["creditNote"]["number"], format!("CN-{first_number}"));
    assert_eq!(
        trail(&old),
        [
            "CREATED -->DRAFT",
            "FINALIZED DRAFT->OPEN",
            "VOIDED OPEN->VOID",
            "CREDIT_NOTE_ISSUED -->-",
            "REISSUED -->-",
        ],
        "{old:#}"
    );
    // The session bills the new invoice now.
    let current = session_invoice(&app, &f.key, &f.invoice_session).await;
    assert_eq!(current["id"], new_id.as_str());

    // The client gets the new invoice by email, with a working portal link.
    app.drain().await;
    let emails = invoice_emails(&app, INVOICE_EMAIL);
    assert_eq!(emails.len(), 2, "{emails:#?}");
    let email = emails
        .iter()
        .find(|e| e.subject.contains(&new_number))
        .expect("the new invoice email");
    let link = email.portal_link().expect("portal link");
    let page = app.portal_page(&link).await;
    assert!(page.contains(&new_number), "{page}");

    // Replaying the key returns the same invoice and sends nothing more.
    let again = reissue(&app, &f.key, &first_id, "reissue-1").await;
    assert_eq!(again["invoice"]["id"], new_id.as_str(), "{again}");
    assert_eq!(app.count("invoices").await, 2);
    // A second replacement is refused clearly...
    let twice = reissue(&app, &f.key, &first_id, "reissue-2").await;
    assert_eq!(code(&twice), "DUPLICATE", "{twice}");
    assert!(
        twice["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains(&new_number),
        "{twice}"
    );
    // ...and the key cannot be reused for another invoice.
    let reused = reissue(&app, &f.key, &new_id, "reissue-1").await;
    assert_eq!(code(&reused), "IDEMPOTENCY_KEY_REUSED", "{reused}");
    app.drain().await;
    assert_eq!(invoice_emails(&app, INVOICE_EMAIL).len(), 2);
    assert_eq!(app.count("invoices").await, 2);
}

async fn a_studio_reviewing_drafts_gets_a_draft_without_number_and_no_email_until_it_is_finalized(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Review Studio").await;
    let data = app
        .gql(
            &f.key,
            "mutation { updateStudioSettings(input: { reviewDrafts: true }) {
                studio { reviewDrafts } userErrors { message } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["updateStudioSettings"]["studio"]["reviewDrafts"], true,
        "{data}"
    );

    app.complete_session(&f.key, &f.invoice_session).await;
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;
    let draft = session_invoice(&app, &f.key, &f.invoice_session).await;
    assert_eq!(draft["status"], "DRAFT", "{draft:#}");
    assert!(draft["number"].is_null(), "{draft:#}");
    assert_eq!(draft["total"]["minorUnits"], 329_182);
    assert_eq!(trail(&draft), ["CREATED -->DRAFT"]);
    let auto_draft = session_invoice(&app, &f.key, &f.auto_pay_session).await;
    assert_eq!(auto_draft["status"], "DRAFT");
    assert_eq!(auto_draft["payments"], json!([]));
    assert!(app.emails().is_empty(), "nothing is sent for drafts");

    // Finalizing numbers it, opens it and sends the invoice email.
    let draft_id = draft["id"].as_str().unwrap().to_string();
    let finalized = finalize(&app, &f.key, &draft_id).await;
    assert_eq!(finalized["userErrors"], json!([]), "{finalized}");
    let inv = &finalized["invoice"];
    assert_eq!(inv["status"], "OPEN");
    let first_number = number(inv);
    assert!(first_number.ends_with("0001"), "{first_number}");
    assert_eq!(trail(inv), ["CREATED -->DRAFT", "FINALIZED DRAFT->OPEN"]);
    app.drain().await;
    let emails = invoice_emails(&app, INVOICE_EMAIL);
    assert_eq!(emails.len(), 1);
    assert!(emails[0].subject.contains(&first_number), "{emails:#?}");

    // Another studio cannot see it.
    let other = app.create_studio("Elsewhere").await;
    let foreign = finalize(&app, &other, auto_draft["id"].as_str().unwrap()).await;
    assert_eq!(code(&foreign), "NOT_FOUND", "{foreign}");
    let foreign = uncollectible(&app, &other, &draft_id, "not mine").await;
    assert_eq!(code(&foreign), "NOT_FOUND", "{foreign}");

    // Finalizing twice returns the invoice and changes nothing.
    let again = finalize(&app, &f.key, &draft_id).await;
    assert_eq!(again["userErrors"], json!([]), "{again}");
    assert_eq!(again["invoice"]["number"], first_number.as_str());
    app.drain().await;
    assert_eq!(invoice_emails(&app, INVOICE_EMAIL).len(), 1);

    // The auto-pay client's draft is charged once finalized.
    let auto_id = auto_draft["id"].as_str().unwrap().to_string();
    let charged = finalize(&app, &f.key, &auto_id).await;
    assert!(number(&charged["invoice"]).ends_with("0002"), "{charged}");
    app.drain().await;
    let auto = session_invoice(&app, &f.key, &f.auto_pay_session).await;
    assert_eq!(auto["status"], "PAID", "{auto:#}");
    assert_eq!(auto["payments"][0]["status"], "SUCCEEDED");
    assert!(
        app.emails_to(AUTO_PAY_EMAIL)
            .iter()
            .any(|e| e.subject.starts_with("Receipt"))
    );

    // A draft can be voided without a number and without a credit note;
    // then it cannot be finalized, but it can be reissued.
    let session = app
        .schedule_wedding(&f.key, &f.invoice_client, &f.package, &f.add_on, "0")
        .await;
    app.complete_session(&f.key, &session).await;
    app.drain().await;
    let third = session_invoice(&app, &f.key, &session).await;
    assert_eq!(third["status"], "DRAFT");
    let third_id = third["id"].as_str().unwrap().to_string();
    let voided = void(&app, &f.key, &third_id, "duplicate booking").await;
    assert_eq!(voided["userErrors"], json!([]), "{voided}");
    assert_eq!(voided["invoice"]["status"], "VOID");
    assert!(voided["invoice"]["number"].is_null());
    assert!(voided["invoice"]["creditNote"].is_null());
    let refused = finalize(&app, &f.key, &third_id).await;
    assert_eq!(code(&refused), "INVALID_STATE", "{refused}");
    // A reissue may correct the session's discount; bad input writes nothing.
    let invoices = app.count("invoices").await;
    // (A percentage above 100 is refused by the `Percent` scalar itself.)
    let bad = app
        .graphql(
            Some(&f.key),
            "mutation($i: ReissueInvoiceInput!) { reissueInvoice(input: $i) { invoice { id } } }",
            json!({ "i": { "invoiceId": third_id, "idempotencyKey": "third-bad", "discount": { "percent": "150" } } }),
        )
        .await;
    assert_eq!(
        bad["errors"][0]["extensions"]["code"], "INVALID_PERCENT",
        "{bad}"
    );
    assert_eq!(app.count("invoices").await, invoices);
    let reissued = mutate(
        &app,
        &f.key,
        "reissueInvoice",
        "ReissueInvoiceInput",
        json!({ "invoiceId": third_id, "idempotencyKey": "third-again", "discount": { "amount": "100.00" } }),
    )
    .await;
    assert_eq!(reissued["userErrors"], json!([]), "{reissued}");
    assert!(number(&reissued["invoice"]).ends_with("0003"), "{reissued}");
    assert_eq!(reissued["invoice"]["discount"]["minorUnits"], 10_000);
    assert!(
        reissued["invoice"]["total"]["minorUnits"].as_i64().unwrap() < 329_182,
        "{reissued}"
    );
    app.drain().await;
    assert_eq!(invoice_emails(&app, INVOICE_EMAIL).len(), 2);
}

async fn marking_an_invoice_uncollectible_then_recording_a_manual_payment_makes_it_paid_in_order(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Collections").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let inv = session_invoice(&app, &f.key, &f.invoice_session).await;
    let id = inv["id"].as_str().unwrap().to_string();

    manual_payment(&app, &f.key, &id, "1000.00", "first-part").await;
    let empty = uncollectible(&app, &f.key, &id, "  ").await;
    assert_eq!(code(&empty), "INVALID_INPUT", "{empty}");
    let marked = uncollectible(&app, &f.key, &id, "client unreachable").await;
    assert_eq!(marked["userErrors"], json!([]), "{marked}");
    assert_eq!(marked["invoice"]["status"], "UNCOLLECTIBLE");
    assert_eq!(marked["invoice"]["amountDue"]["minorUnits"], 229_182);
    let again = uncollectible(&app, &f.key, &id, "client unreachable").await;
    assert_eq!(again["invoice"]["status"], "UNCOLLECTIBLE", "{again}");
    app.drain().await;

    // The money arrives after all.
    manual_payment(&app, &f.key, &id, "2291.82", "the-rest").await;
    let paid = invoice_by_id(&app, &f.key, &id).await;
    assert_eq!(paid["status"], "PAID", "{paid:#}");
    assert_eq!(paid["amountDue"]["minorUnits"], 0);
    assert_eq!(
        trail(&paid),
        [
            "CREATED -->DRAFT",
            "FINALIZED DRAFT->OPEN",
            "MANUAL_PAYMENT_RECORDED OPEN->PARTIALLY_PAID",
            "MARKED_UNCOLLECTIBLE PARTIALLY_PAID->UNCOLLECTIBLE",
            "MANUAL_PAYMENT_RECORDED UNCOLLECTIBLE->PAID",
        ],
        "{paid:#}"
    );
    let reason = paid["auditTrail"][3]["detail"].as_str().unwrap();
    assert_eq!(reason, "client unreachable");

    // A paid invoice cannot be marked uncollectible.
    let refused = uncollectible(&app, &f.key, &id, "too late").await;
    assert_eq!(code(&refused), "INVALID_STATE", "{refused}");
    app.drain().await;
}
