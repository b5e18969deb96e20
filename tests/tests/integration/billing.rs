//! Billing depth: partial and manual payments, refunds through the gateway,
//! void with a credit note, the audit trail, the PDF, studio settings,
//! discounts and fees, idempotency keys on every money-moving mutation.

use serde_json::{Value, json};
use tests::{Backend, INVOICE_EMAIL, TestApp, spawn_app};

on_both_backends!(
    manual_and_partial_payments_refunds_and_the_audit_trail,
    card_refund_through_the_gateway_then_void_with_a_credit_note,
    the_pdf_shows_the_api_totals_in_the_email_and_the_portal,
    studio_settings_discounts_and_fees_shape_the_invoice,
    a_tax_inclusive_vat_invoice_shows_the_same_cents_everywhere,
);

const INVOICE: &str = "id number status
    total { minorUnits formatted } amountPaid { minorUnits } amountRefunded { minorUnits }
    amountCredited { minorUnits } amountDue { minorUnits formatted } subtotal { minorUnits formatted } tax { minorUnits formatted }
    taxBreakdown { name percent amount { minorUnits formatted } }
    discount { minorUnits } fees { minorUnits }
    payments { id status method reference source amount { minorUnits } amountRefunded { minorUnits } }
    refunds { id status amount { minorUnits } gatewayReference }
    creditNote { number amount { minorUnits } reason }
    creditNotes { number amount { minorUnits } }
    auditTrail { event fromStatus toStatus amountMinor actor }
    portalUrl pdfUrl voidReason";

async fn invoice(app: &TestApp, key: &str, session: &str) -> Value {
    let data = app
        .gql(
            key,
            &format!("query($id: ID!) {{ session(id: $id) {{ invoice {{ {INVOICE} }} }} }}"),
            json!({ "id": session }),
        )
        .await;
    data["session"]["invoice"].clone()
}

fn balanced(inv: &Value) {
    let n = |f: &str| inv[f]["minorUnits"].as_i64().expect(f);
    if inv["status"] != "VOID" {
        assert_eq!(
            n("amountDue"),
            n("total") - n("amountCredited") - n("amountPaid") + n("amountRefunded"),
            "amount_due == total - credited - paid + refunded: {inv:#}"
        );
    }
}

async fn manual_payment(app: &TestApp, key: &str, input: Value) -> Value {
    let body = app
        .graphql(
            Some(key),
            "mutation($i: RecordManualPaymentInput!) { recordManualPayment(input: $i) {
                payment { id status method amount { minorUnits } }
                userErrors { field message code } } }",
            json!({ "i": input }),
        )
        .await;
    body["data"]["recordManualPayment"].clone()
}

async fn refund(app: &TestApp, key: &str, input: Value) -> Value {
    let body = app
        .graphql(
            Some(key),
            "mutation($i: RefundPaymentInput!) { refundPayment(input: $i) {
                refund { id status amount { minorUnits } gatewayReference }
                userErrors { field message code } } }",
            json!({ "i": input }),
        )
        .await;
    body["data"]["refundPayment"].clone()
}

async fn void(app: &TestApp, key: &str, invoice_id: &str, reason: &str) -> Value {
    let body = app
        .graphql(
            Some(key),
            "mutation($i: VoidInvoiceInput!) { voidInvoice(input: $i) {
                invoice { id status amountDue { minorUnits } creditNote { number amount { minorUnits } } }
                userErrors { field message code } } }",
            json!({ "i": { "invoiceId": invoice_id, "reason": reason } }),
        )
        .await;
    body["data"]["voidInvoice"].clone()
}

fn code(payload: &Value) -> &str {
    payload["userErrors"][0]["code"].as_str().unwrap_or("none")
}

async fn manual_and_partial_payments_refunds_and_the_audit_trail(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let inv = invoice(&app, &f.key, &f.invoice_session).await;
    assert_eq!(inv["status"], "OPEN");
    assert_eq!(inv["total"]["minorUnits"], 329_182);
    let id = inv["id"].as_str().unwrap().to_string();

    // A partial payment by check.
    let first = manual_payment(
        &app,
        &f.key,
        json!({ "invoiceId": id, "amount": "1000.00", "method": "CHECK", "reference": "#1042", "idempotencyKey": "check-1042" }),
    )
    .await;
    assert_eq!(first["userErrors"], json!([]), "{first}");
    let payment_id = first["payment"]["id"].as_str().unwrap().to_string();
    let inv = invoice(&app, &f.key, &f.invoice_session).await;
    assert_eq!(inv["status"], "PARTIALLY_PAID");
    assert_eq!(inv["amountDue"]["minorUnits"], 229_182);
    balanced(&inv);

    // The same key again is a replay, not a second payment...
    let replay = manual_payment(
        &app,
        &f.key,
        json!({ "invoiceId": id, "amount": "1000.00", "method": "CHECK", "reference": "#1042", "idempotencyKey": "check-1042" }),
    )
    .await;
    assert_eq!(replay["payment"]["id"], payment_id.as_str());
    assert_eq!(app.count("payments").await, 1);
    // ...and the same key for something else is refused.
    let reused = manual_payment(
        &app,
        &f.key,
        json!({ "invoiceId": id, "amount": "5.00", "method": "CASH", "idempotencyKey": "check-1042" }),
    )
    .await;
    assert_eq!(code(&reused), "IDEMPOTENCY_KEY_REUSED", "{reused}");
    // More than is due is refused, as is a card "recorded by hand".
    let over = manual_payment(
        &app,
        &f.key,
        json!({ "invoiceId": id, "amount": "2291.83", "method": "CASH", "idempotencyKey": "too-much" }),
    )
    .await;
    assert_eq!(code(&over), "INVALID_INPUT", "{over}");
    assert_eq!(over["userErrors"][0]["field"], json!(["input", "amount"]));
    assert_eq!(
        app.count("payments").await,
        1,
        "a refused payment writes nothing"
    );

    // The rest by bank transfer: paid in full.
    let rest = manual_payment(
        &app,
        &f.key,
        json!({ "invoiceId": id, "amount": "2291.82", "method": "BANK_TRANSFER", "idempotencyKey": "wire-1" }),
    )
    .await;
    assert_eq!(rest["userErrors"], json!([]), "{rest}");
    let inv = invoice(&app, &f.key, &f.invoice_session).await;
    assert_eq!(inv["status"], "PAID");
    assert_eq!(inv["amountDue"]["minorUnits"], 0);
    balanced(&inv);

    // A partial refund of the check settles: its credit note lowers what the
    // invoice asks for by the same amount, so nothing is owed again.
    let r = refund(
        &app,
        &f.key,
        json!({ "paymentId": payment_id, "amount": "200.00", "reason": "album cancelled", "idempotencyKey": "refund-1" }),
    )
    .await;
    assert_eq!(r["userErrors"], json!([]), "{r}");
    assert_eq!(r["refund"]["status"], "SUCCEEDED");
    let again = refund(
        &app,
        &f.key,
        json!({ "paymentId": payment_id, "amount": "200.00", "idempotencyKey": "refund-1" }),
    )
    .await;
    assert_eq!(again["refund"]["id"], r["refund"]["id"]);
    assert_eq!(app.count("refunds").await, 1);
    let too_much = refund(
        &app,
        &f.key,
        json!({ "paymentId": payment_id, "amount": "800.01", "idempotencyKey": "refund-2" }),
    )
    .await;
    assert_eq!(code(&too_much), "INVALID_INPUT", "{too_much}");
    let inv = invoice(&app, &f.key, &f.invoice_session).await;
    assert_eq!(inv["status"], "PAID");
    assert_eq!(inv["amountRefunded"]["minorUnits"], 20_000);
    assert_eq!(inv["amountCredited"]["minorUnits"], 20_000);
    assert_eq!(inv["amountDue"]["minorUnits"], 0);
    balanced(&inv);
    let number = inv["number"].as_str().unwrap();
    assert_eq!(
        inv["creditNotes"],
        json!([{ "number": format!("CN-{number}-2"), "amount": { "minorUnits": 20_000 } }])
    );
    assert!(inv["creditNote"].is_null(), "the void's note only");
    assert_eq!(inv["payments"][0]["amountRefunded"]["minorUnits"], 20_000);
    assert_eq!(inv["payments"][0]["method"], "CHECK");
    assert_eq!(inv["payments"][0]["reference"], "#1042");

    // Money on the invoice: it cannot be voided until refunded.
    let refused = void(&app, &f.key, &id, "client cancelled").await;
    assert_eq!(code(&refused), "INVALID_STATE", "{refused}");

    let events: Vec<String> = inv["auditTrail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}->{}",
                e["event"].as_str().unwrap(),
                e["fromStatus"].as_str().unwrap_or("-"),
                e["toStatus"].as_str().unwrap_or("-")
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            "CREATED -->DRAFT",
            "FINALIZED DRAFT->OPEN",
            "MANUAL_PAYMENT_RECORDED OPEN->PARTIALLY_PAID",
            "MANUAL_PAYMENT_RECORDED PARTIALLY_PAID->PAID",
            "REFUND_SUCCEEDED PAID->PAID",
            "CREDIT_NOTE_ISSUED -->-",
        ],
        "{inv:#}"
    );
    assert!(
        inv["auditTrail"][2]["actor"]
            .as_str()
            .unwrap()
            .starts_with("api-key:")
    );

    app.drain().await;
    let receipts: Vec<_> = app
        .emails_to(INVOICE_EMAIL)
        .into_iter()
        .filter(|e| e.subject.starts_with("Receipt"))
        .collect();
    assert_eq!(receipts.len(), 2, "one receipt per payment");
    assert!(receipts.iter().any(|e| e.says("paid by check")));
    assert!(receipts.iter().any(|e| e.says("paid by bank transfer")));
}

async fn card_refund_through_the_gateway_then_void_with_a_credit_note(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;
    let inv = invoice(&app, &f.key, &f.auto_pay_session).await;
    assert_eq!(inv["status"], "PAID");
    assert_eq!(inv["amountPaid"]["minorUnits"], 279_182);
    let id = inv["id"].as_str().unwrap().to_string();
    let payment_id = inv["payments"][0]["id"].as_str().unwrap().to_string();
    let gallery = || async {
        entity::gallery_access::Entity::find()
            .one(&app.ctx.db)
            .await
            .unwrap()
            .unwrap()
            .level
    };
    use sea_orm::EntityTrait;
    assert_eq!(gallery().await, entity::enums::GalleryLevel::Full);

    // The whole card payment back, through the gateway, under one key.
    let r = refund(
        &app,
        &f.key,
        json!({ "paymentId": payment_id, "reason": "wedding postponed", "idempotencyKey": "rf-all" }),
    )
    .await;
    assert_eq!(r["userErrors"], json!([]), "{r}");
    assert_eq!(r["refund"]["status"], "SUCCEEDED");
    assert_eq!(r["refund"]["amount"]["minorUnits"], 279_182);
    assert!(
        r["refund"]["gatewayReference"]
            .as_str()
            .unwrap()
            .starts_with("sim_re_")
    );
    let replay = refund(
        &app,
        &f.key,
        json!({ "paymentId": payment_id, "idempotencyKey": "rf-all" }),
    )
    .await;
    assert_eq!(replay["refund"]["id"], r["refund"]["id"]);
    // The gateway saw one refund, and nothing is left to refund.
    let gateway_refunds = entity::simulated_charge::Entity::find()
        .all(&app.ctx.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.refund_of.is_some())
        .count();
    assert_eq!(gateway_refunds, 1);
    let nothing_left = refund(
        &app,
        &f.key,
        json!({ "paymentId": payment_id, "idempotencyKey": "rf-more" }),
    )
    .await;
    assert_eq!(code(&nothing_left), "INVALID_INPUT", "{nothing_left}");

    // Refunded in full, it is settled: PAID with amountRefunded == total,
    // its credit note credits the whole amount, nothing is owed.
    let inv = invoice(&app, &f.key, &f.auto_pay_session).await;
    assert_eq!(inv["status"], "PAID");
    assert_eq!(inv["amountRefunded"]["minorUnits"], 279_182);
    assert_eq!(inv["amountCredited"]["minorUnits"], 279_182);
    assert_eq!(inv["amountDue"]["minorUnits"], 0);
    balanced(&inv);
    let number = inv["number"].as_str().unwrap();
    assert_eq!(
        inv["creditNotes"][0]["number"],
        format!("CN-{number}-2").as_str()
    );
    // Access follows the studio's refund policy (default: locked).
    app.drain().await;
    assert_eq!(gallery().await, entity::enums::GalleryLevel::Locked);

    // It can still be voided (e.g. to reissue it); the void's credit note
    // cancels only what the refund's credit note did not already credit.
    let voided = void(&app, &f.key, &id, "wedding postponed to next year").await;
    assert_eq!(voided["userErrors"], json!([]), "{voided}");
    assert_eq!(voided["invoice"]["status"], "VOID");
    assert_eq!(voided["invoice"]["amountDue"]["minorUnits"], 0);
    assert_eq!(
        voided["invoice"]["creditNote"]["number"],
        format!("CN-{number}").as_str()
    );
    assert_eq!(voided["invoice"]["creditNote"]["amount"]["minorUnits"], 0);
    // Voiding again changes nothing; paying a void invoice is refused.
    let again = void(&app, &f.key, &id, "again").await;
    assert_eq!(again["invoice"]["status"], "VOID");
    assert_eq!(app.count("credit_notes").await, 2);
    let pay_void = manual_payment(
        &app,
        &f.key,
        json!({ "invoiceId": id, "amount": "1.00", "method": "CASH", "idempotencyKey": "late" }),
    )
    .await;
    assert_eq!(code(&pay_void), "INVALID_STATE", "{pay_void}");
    app.drain().await;
    assert_eq!(gallery().await, entity::enums::GalleryLevel::Locked);

    // The portal says what happened instead of offering to pay.
    let inv = invoice(&app, &f.key, &f.auto_pay_session).await;
    let page = app.portal_page(inv["portalUrl"].as_str().unwrap()).await;
    assert!(page.contains("This invoice was voided"), "{page}");
    assert!(page.contains(&format!("CN-{number}")));
    assert!(page.contains("Refunded USD 2,791.82"));
    assert!(!page.contains("<form"));
    let last = inv["auditTrail"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["event"], "CREDIT_NOTE_ISSUED");
}

async fn the_pdf_shows_the_api_totals_in_the_email_and_the_portal(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let inv = invoice(&app, &f.key, &f.invoice_session).await;
    let number = inv["number"].as_str().unwrap();

    let email = app
        .emails_to(INVOICE_EMAIL)
        .into_iter()
        .find(|e| e.subject.starts_with("Invoice"))
        .expect("invoice email");
    assert_eq!(email.attachments.len(), 1);
    assert_eq!(email.attachments[0].0, format!("{number}.pdf"));
    let from_email = crate::pdf_text(&email.attachments[0].1);

    let response = app
        .http
        .get(inv["pdfUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/pdf"
    );
    let from_portal = crate::pdf_text(&response.bytes().await.unwrap());

    for text in [&from_email, &from_portal] {
        assert!(text.contains(number), "{text}");
        assert!(text.contains("Noah Chen"), "{text}");
        for (label, field) in [
            ("Subtotal", "subtotal"),
            ("Total", "total"),
            ("Amount due", "amountDue"),
        ] {
            let expected = format!("{label} {}", inv[field]["formatted"].as_str().unwrap());
            assert!(text.contains(&expected), "`{expected}` in {text}");
        }
        for share in inv["taxBreakdown"].as_array().unwrap() {
            let expected = format!(
                "{} {}% {}",
                share["name"].as_str().unwrap(),
                share["percent"].as_str().unwrap(),
                share["amount"]["formatted"].as_str().unwrap()
            );
            assert!(text.contains(&expected), "`{expected}` in {text}");
        }
    }
    // Hand-checked: the API's figures are the ones above.
    assert_eq!(inv["total"]["formatted"], "USD 3,291.82");
    assert_eq!(inv["taxBreakdown"][0]["amount"]["formatted"], "USD 261.82");

    // Resending is one email per key.
    for _ in 0..2 {
        let body = app
            .graphql(
                Some(&f.key),
                "mutation($i: ResendInvoiceInput!) { resendInvoice(input: $i) { invoice { id } userErrors { code } } }",
                json!({ "i": { "invoiceId": inv["id"], "idempotencyKey": "resend-1" } }),
            )
            .await;
        assert_eq!(
            body["data"]["resendInvoice"]["userErrors"],
            json!([]),
            "{body}"
        );
    }
    app.drain().await;
    let invoice_emails = app
        .emails_to(INVOICE_EMAIL)
        .into_iter()
        .filter(|e| e.subject.starts_with("Invoice"))
        .count();
    assert_eq!(invoice_emails, 2, "the first email and one resend");
}

async fn studio_settings_discounts_and_fees_shape_the_invoice(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let settings = |input: Value| {
        let app = &app;
        let key = f.key.clone();
        async move {
            app.graphql(
                Some(&key),
                "mutation($i: UpdateStudioSettingsInput!) { updateStudioSettings(input: $i) {
                    studio { invoiceNumberFormat rounding taxId address currency }
                    userErrors { field message code } } }",
                json!({ "i": input }),
            )
            .await["data"]["updateStudioSettings"]
                .clone()
        }
    };
    let bad = settings(json!({ "invoiceNumberFormat": "INV-{YYYY}" })).await;
    assert_eq!(
        bad["userErrors"][0]["field"],
        json!(["input", "invoiceNumberFormat"])
    );
    let bad = settings(json!({ "currency": "EUR" })).await;
    assert_eq!(
        code(&bad),
        "INVALID_STATE",
        "packages are priced in USD: {bad}"
    );
    let ok = settings(json!({
        "invoiceNumberFormat": "INV-{YYYY}-{seq:04}",
        "rounding": "PER_INVOICE",
        "taxId": "EIN 12-3456789",
        "address": "12 Harbor Street\nPortland, ME 04101",
    }))
    .await;
    assert_eq!(ok["userErrors"], json!([]), "{ok}");
    assert_eq!(ok["studio"]["rounding"], "PER_INVOICE");

    // The wedding with a 10% discount and a 50.00 travel fee (not taxable).
    let data = app
        .gql(
            &f.key,
            "mutation($i: ScheduleSessionInput!) { scheduleSession(input: $i) { session { id } userErrors { field message } } }",
            json!({ "i": {
                "clientId": f.invoice_client, "packageId": f.package, "title": "Wedding",
                "scheduledAt": "2026-10-10T15:00:00Z",
                "items": [
                    { "addOnServiceId": f.add_on, "quantity": 3 },
                    { "description": "Album prints", "quantity": 1, "unitPrice": "80.00", "taxable": false }
                ],
                "discount": { "percent": "10" },
                "fees": [{ "name": "Travel", "kind": "TRAVEL", "charge": { "amount": "50.00" } }]
            } }),
        )
        .await;
    let session = data["scheduleSession"]["session"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.complete_session(&f.key, &session).await;
    app.drain().await;
    let inv = invoice(&app, &f.key, &session).await;
    let year = chrono::Datelike::year(&chrono::Utc::now());
    assert_eq!(inv["number"], format!("INV-{year}-0001").as_str());
    // Lines 3030.00, discount 303.00 (250 + 45 + 8), fee 50.00:
    // subtotal 2777.00; tax 8.875% of the taxable 2655.00 = 235.63125 -> 235.63.
    assert_eq!(inv["discount"]["minorUnits"], 30_300);
    assert_eq!(inv["fees"]["minorUnits"], 5_000);
    assert_eq!(inv["subtotal"]["minorUnits"], 277_700);
    assert_eq!(inv["tax"]["minorUnits"], 23_563);
    assert_eq!(inv["total"]["formatted"], "USD 3,012.63");
    balanced(&inv);

    let email = app
        .emails_to(INVOICE_EMAIL)
        .into_iter()
        .find(|e| e.subject.contains("INV-"))
        .expect("invoice email");
    let text = crate::pdf_text(&email.attachments[0].1);
    assert!(text.contains("EIN 12-3456789"), "{text}");
    assert!(text.contains("Portland, ME 04101"), "{text}");
    assert!(text.contains("Travel"), "{text}");
    assert!(text.contains("Total USD 3,012.63"), "{text}");
    assert!(email.says("Total: USD 3,012.63"), "{}", email.text);
}

/// A studio whose prices include 20% VAT, in euros: the tax is taken out of
/// the prices, per line, half away from zero, and the API, the email text,
/// the email HTML and the PDF all show the same cents, per rate.
async fn a_tax_inclusive_vat_invoice_shows_the_same_cents_everywhere(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let key = app.create_studio("Atelier Lumière").await;
    let set = app
        .gql(
            &key,
            "mutation { updateStudioSettings(input: { currency: \"EUR\", pricesIncludeTax: true }) {
                studio { currency } userErrors { field message code } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        set["updateStudioSettings"]["userErrors"],
        json!([]),
        "{set}"
    );
    let data = app
        .gql(
            &key,
            "mutation { t: createTaxRate(input: { name: \"VAT\", percent: \"20\" }) { taxRate { id } }
                        p: createPackage(input: { name: \"Portrait\", price: \"1200.00\" }) { package { id } } }",
            json!({}),
        )
        .await;
    let package = data["p"]["package"]["id"].as_str().unwrap().to_string();
    let client = app
        .create_client(&key, "Léa Moreau", INVOICE_EMAIL, "INVOICE")
        .await;
    let data = app
        .gql(
            &key,
            "mutation($i: ScheduleSessionInput!) { scheduleSession(input: $i) { session { id } userErrors { field message } } }",
            json!({ "i": {
                "clientId": client, "packageId": package, "title": "Portraits",
                "scheduledAt": "2026-10-10T15:00:00Z",
                "items": [
                    { "description": "Fine-art print", "quantity": 3, "unitPrice": "99.99" },
                    { "description": "Archive USB key", "quantity": 1, "unitPrice": "20.00", "taxable": false }
                ]
            } }),
        )
        .await;
    let session = data["scheduleSession"]["session"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{data}"))
        .to_string();
    app.complete_session(&key, &session).await;
    app.drain().await;
    let inv = invoice(&app, &key, &session).await;
    // Portrait 1200.00 holds 200.00 VAT; prints 299.97 hold 49.995 -> 50.00;
    // the USB key is not taxable. Gross 1519.97 = subtotal 1269.97 + VAT 250.00.
    assert_eq!(inv["tax"]["minorUnits"], 25_000, "{inv:#}");
    assert_eq!(inv["subtotal"]["minorUnits"], 126_997);
    assert_eq!(inv["total"]["formatted"], "EUR 1,519.97");
    assert_eq!(
        inv["taxBreakdown"],
        json!([{ "name": "VAT", "percent": "20", "amount": { "minorUnits": 25_000, "formatted": "EUR 250.00" } }])
    );
    balanced(&inv);

    let email = app
        .emails_to(INVOICE_EMAIL)
        .into_iter()
        .find(|e| e.attachments.iter().any(|(name, _)| name.ends_with(".pdf")))
        .expect("invoice email");
    assert!(email.says("VAT 20%: EUR 250.00"), "{}", email.text);
    assert!(email.says("Total: EUR 1,519.97"), "{}", email.text);
    assert!(email.html.contains("VAT 20%"), "{}", email.html);
    let text = crate::pdf_text(&email.attachments[0].1);
    assert!(text.contains("VAT 20% EUR 250.00"), "{text}");
    assert!(text.contains("Total EUR 1,519.97"), "{text}");
}
