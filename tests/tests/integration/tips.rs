//! Issue 22, item 2: tips. The studio turns tipping on (presets, a custom
//! amount, a maximum, every payment or the final invoice only); the portal
//! offers the presets on the pre-tax amount due, "No tip" chosen by
//! default; the hosted page carries the tip as its own "Gratuity" line;
//! the invoice ends PAID (not overpaid) with the tip recorded on the
//! payment, shown on the receipt and as its own figure on the dashboard,
//! and a full refund returns it. A tip the studio does not take is refused
//! with a clear page and nothing opened.

use entity::simulated_charge;
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::{Value, json};
use tests::stripe_server::StripeServer;
use tests::{AUTO_PAY_EMAIL, Backend, INVOICE_EMAIL, TestApp, csrf_field, spawn_app, stripe_event};

on_both_backends!(a_client_tips_fifteen_percent_and_the_invoice_is_paid_not_overpaid);
on_both_backends!(a_tip_the_studio_does_not_take_opens_nothing);
on_both_backends!(a_tip_goes_to_stripe_as_a_gratuity_line_and_settles_with_the_invoice);
on_both_backends!(an_auto_pay_receipt_offers_a_tip_paid_alone_and_refunded_whole);

/// Turns tipping on: 10/15/20 %, a custom amount up to `maximum`.
async fn tipping_on(app: &TestApp, key: &str, extra: Value) -> Value {
    let mut tipping = json!({
        "enabled": true, "presetPercents": ["10", "15", "20"],
        "allowCustom": true, "maximum": "500.00"
    });
    if let (Some(t), Some(e)) = (tipping.as_object_mut(), extra.as_object()) {
        t.extend(e.clone());
    }
    let data = app
        .gql(
            key,
            "mutation($i: UpdateStudioSettingsInput!) { updateStudioSettings(input: $i) {
                studio { tipping { enabled presetPercents allowCustom maximum { minorUnits } offer } }
                userErrors { field code message } } }",
            json!({ "i": { "tipping": tipping } }),
        )
        .await;
    data["updateStudioSettings"].clone()
}

/// Presses Pay with the tip form fields.
async fn pay_with_tip(app: &TestApp, link: &str, tip: &str, custom: &str) -> reqwest::Response {
    let csrf = csrf_field(&app.portal_page(link).await);
    app.http
        .post(format!("{link}/checkout"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("tip", tip),
            ("tip_custom", custom),
        ])
        .send()
        .await
        .expect("portal checkout")
}

/// The pre-tax amount of an invoice without credits (total − tax) and
/// `percent` of it, rounded half away from zero, in minor units.
fn expected_tip(invoice: &Value, percent: i64) -> (i64, i64) {
    let total = invoice["total"]["minorUnits"].as_i64().expect("total");
    let tax = invoice["tax"]["minorUnits"].as_i64().expect("tax");
    let base = total - tax;
    (base, (base * percent + 50) / 100)
}

async fn payment_of(app: &TestApp, key: &str, session: &str) -> Value {
    let data = app
        .gql(
            key,
            "query($id: ID!) { session(id: $id) { invoice { status amountPaid { minorUnits } amountDue { minorUnits }
                payments { id amount { minorUnits } tip { minorUnits } } } } }",
            json!({ "id": session }),
        )
        .await;
    data["session"]["invoice"].clone()
}

async fn tips_figure(app: &TestApp, key: &str) -> i64 {
    let data = app
        .gql(
            key,
            "query($from: DateTime!, $to: DateTime!) { metrics(from: $from, to: $to) { tips { minorUnits } } }",
            json!({ "from": "2020-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z" }),
        )
        .await;
    data["metrics"]["tips"]["minorUnits"]
        .as_i64()
        .unwrap_or_else(|| panic!("{data}"))
}

/// Noah's wedding invoice: 15 % of its pre-tax amount is offered and
/// chosen; the hosted page shows two lines; the card pays the invoice and
/// the tip in one charge; the invoice is PAID for its total; the payment
/// records the tip; the receipt (email and PDF) shows it as its own row;
/// the dashboard counts it apart; a full refund returns it too.
async fn a_client_tips_fifteen_percent_and_the_invoice_is_paid_not_overpaid(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let set = tipping_on(&app, &f.key, json!({})).await;
    assert_eq!(set["userErrors"], json!([]), "{set}");
    assert_eq!(
        set["studio"]["tipping"],
        json!({ "enabled": true, "presetPercents": ["10", "15", "20"], "allowCustom": true,
                "maximum": { "minorUnits": 50_000 }, "offer": "EVERY_PAYMENT" })
    );
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let invoice = app.invoice_of(&f.key, &f.invoice_session).await;
    let total = invoice["total"]["minorUnits"].as_i64().expect("total");
    let (base, tip) = expected_tip(&invoice, 15);
    assert!(tip > 0 && base < total, "{invoice:#}");
    let link = portal_url(&app, &f.key, &f.invoice_session).await;

    // The portal offers the presets on the pre-tax amount, "No tip" chosen.
    let page = app.portal_page(&link).await;
    assert!(page.contains("id=\"tip-choices\""), "{page}");
    assert!(
        page.contains(r#"<input type="radio" name="tip" value="none" checked>"#),
        "No tip is the default: {page}"
    );
    let money = tests::usd;
    assert!(
        page.contains(&format!("({})", money(tip))),
        "15 % shown: {page}"
    );
    assert!(
        page.contains(&format!("Tips are computed on {}", money(base))),
        "{page}"
    );

    // Pay with 15 %: the hosted page has the invoice's line and a Gratuity line.
    let pressed = pay_with_tip(&app, &link, "15", "").await;
    assert_eq!(pressed.status(), 303);
    let hosted = pressed.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let hosted_page = app
        .http
        .get(&hosted)
        .send()
        .await
        .expect("hosted")
        .text()
        .await
        .expect("html");
    assert!(hosted_page.contains("checkout-lines"), "{hosted_page}");
    assert!(hosted_page.contains("Gratuity"), "{hosted_page}");
    assert!(hosted_page.contains(&money(total + tip)), "{hosted_page}");
    let paid = app.pay_on_hosted_page(&hosted, "4242424242424242").await;
    assert_eq!(paid.status(), 303);
    assert_eq!(app.follow(&paid).await.status(), 200);
    app.drain().await;

    let charges: Vec<i64> = simulated_charge::Entity::find()
        .order_by_asc(simulated_charge::Column::CreatedAt)
        .all(&app.ctx.db)
        .await
        .expect("charges")
        .iter()
        .map(|c| c.amount_minor)
        .collect();
    assert_eq!(charges, vec![total + tip], "one charge for invoice and tip");
    let now = payment_of(&app, &f.key, &f.invoice_session).await;
    assert_eq!(now["status"], "PAID", "{now:#}");
    assert_eq!(now["amountPaid"]["minorUnits"], total, "not overpaid");
    assert_eq!(now["amountDue"]["minorUnits"], 0);
    let payment = &now["payments"][0];
    assert_eq!(
        (
            payment["amount"]["minorUnits"].as_i64(),
            payment["tip"]["minorUnits"].as_i64()
        ),
        (Some(total), Some(tip))
    );

    // The receipt: the tip said and as its own row.
    let receipt = app.email_to_saying(INVOICE_EMAIL, "We received your payment");
    assert!(
        receipt.says(&format!(
            "You paid {}: {} for the invoice and your tip of {} (not part of the invoice, not taxed), thank you.",
            money(total + tip),
            money(total),
            money(tip)
        )),
        "{}",
        receipt.text
    );
    assert!(
        receipt.says(&format!(
            "Tip (gratuity), not part of the invoice: {}",
            money(tip)
        )),
        "{}",
        receipt.text
    );
    let pdf = app
        .http
        .get(format!("{link}/receipt/1.pdf"))
        .send()
        .await
        .expect("receipt pdf");
    assert_eq!(pdf.status(), 200);
    let text = pdf_extract::extract_text_from_mem(&pdf.bytes().await.expect("pdf")).expect("text");
    assert!(text.contains("Tip (gratuity)"), "{text}");
    assert!(text.contains(&money(tip)), "{text}");
    assert_eq!(tips_figure(&app, &f.key).await, tip);

    // A full refund returns the money and the tip, in one gateway refund.
    let (refund, data) = refund_whole(&app, &f.key, &payment["id"], "tip-full-refund").await;
    assert_eq!(
        (
            refund["status"].as_str(),
            refund["amount"]["minorUnits"].as_i64(),
            refund["tip"]["minorUnits"].as_i64()
        ),
        (Some("SUCCEEDED"), Some(total), Some(tip)),
        "{data}"
    );
    let refunds: Vec<i64> = simulated_charge::Entity::find()
        .all(&app.ctx.db)
        .await
        .expect("charges")
        .iter()
        .filter(|c| c.refund_of.is_some())
        .map(|c| c.amount_minor)
        .collect();
    assert_eq!(refunds, vec![total + tip], "the card gets both back");
    app.drain().await;
    assert!(
        app.email_to_saying(INVOICE_EMAIL, "We refunded")
            .says(&format!("Your tip ({}) goes back too", money(tip))),
    );
    assert_eq!(tips_figure(&app, &f.key).await, 0, "net of the refund");
}

async fn portal_url(app: &TestApp, key: &str, session: &str) -> String {
    let invoice = app.invoice_of(key, session).await;
    invoice["portalUrl"]
        .as_str()
        .unwrap_or_else(|| panic!("{invoice}"))
        .to_string()
}

/// Refunds what is left of a payment (no amount named): the refund and the
/// whole answer.
async fn refund_whole(app: &TestApp, key: &str, payment: &Value, idem: &str) -> (Value, Value) {
    let data = app
        .gql(
            key,
            "mutation($i: RefundPaymentInput!) { refundPayment(input: $i) {
                refund { status amount { minorUnits } tip { minorUnits } } userErrors { field message } } }",
            json!({ "i": { "paymentId": payment, "idempotencyKey": idem } }),
        )
        .await;
    (data["refundPayment"]["refund"].clone(), data)
}

async fn refund_part(
    app: &TestApp,
    key: &str,
    payment: &Value,
    amount: &str,
    idem: &str,
) -> (Value, Value) {
    let data = app
        .gql(
            key,
            "mutation($i: RefundPaymentInput!) { refundPayment(input: $i) {
                refund { status amount { minorUnits } tip { minorUnits } } userErrors { field message } } }",
            json!({ "i": { "paymentId": payment, "amount": amount, "idempotencyKey": idem } }),
        )
        .await;
    (data["refundPayment"]["refund"].clone(), data)
}

/// Negative, non-numeric, above the maximum, a preset the studio does not
/// offer, a custom amount where it takes none, and any tip where tipping
/// is off or (FINAL_PAYMENT) on an installment: each refused with its
/// sentence, a 422 page, and no checkout opened. Settings that leave the
/// client nothing to choose are refused too.
async fn a_tip_the_studio_does_not_take_opens_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let link = portal_url(&app, &f.key, &f.invoice_session).await;
    // Tipping off: no choice shown, a tip posted anyway is refused.
    assert!(!app.portal_page(&link).await.contains("tip-choices"));
    let refused = pay_with_tip(&app, &link, "15", "").await;
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .expect("html")
            .contains("This payment does not take a tip.")
    );

    for (input, field) in [
        (
            json!({ "presetPercents": ["10", "15", "20", "25", "30"] }),
            "tipping.presetPercents",
        ),
        (json!({ "presetPercents": ["0"] }), "tipping.presetPercents"),
        (
            json!({ "presetPercents": ["15", "15"] }),
            "tipping.presetPercents",
        ),
        (
            json!({ "presetPercents": [], "allowCustom": false }),
            "tipping.presetPercents",
        ),
        (json!({ "maximum": "-1" }), "tipping.maximum"),
    ] {
        let set = tipping_on(&app, &f.key, input.clone()).await;
        let fields: Vec<String> = set["userErrors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["field"].as_array())
                    .map(|path| {
                        let names: Vec<&str> = path.iter().filter_map(Value::as_str).collect();
                        names.join(".")
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert!(fields.iter().any(|f| f.ends_with(field)), "{input}: {set}");
    }
    let set = tipping_on(&app, &f.key, json!({})).await;
    assert_eq!(set["userErrors"], json!([]), "{set}");

    for (tip, custom, says) in [
        ("custom", "-5", "A tip cannot be negative."),
        ("custom", "lots", "`lots` is not an amount"),
        (
            "custom",
            "500.01",
            "A tip is at most USD 500.00 on this payment.",
        ),
        ("12", "", "12 % is not a tip this studio offers."),
    ] {
        let refused = pay_with_tip(&app, &link, tip, custom).await;
        assert_eq!(refused.status(), 422, "{tip} {custom}");
        let html = refused.text().await.expect("html");
        assert!(html.contains(says), "{tip} {custom}: {html}");
    }
    let set = tipping_on(&app, &f.key, json!({ "allowCustom": false })).await;
    assert_eq!(set["userErrors"], json!([]));
    let refused = pay_with_tip(&app, &link, "custom", "5").await;
    assert_eq!(refused.status(), 422);
    assert_eq!(app.count("checkout_sessions").await, 0, "nothing opened");

    // FINAL_PAYMENT: an installment offers no tip; the final invoice does.
    let set = tipping_on(&app, &f.key, json!({ "offer": "FINAL_PAYMENT" })).await;
    assert_eq!(set["studio"]["tipping"]["offer"], "FINAL_PAYMENT", "{set}");
    assert!(app.portal_page(&link).await.contains("tip-choices"));
    let installment = installment_link(&app, &f).await;
    assert!(!app.portal_page(&installment).await.contains("tip-choices"));
    let refused = pay_with_tip(&app, &installment, "10", "").await;
    assert_eq!(refused.status(), 422);
    assert_eq!(app.count("checkout_sessions").await, 0, "nothing opened");
}

/// Noah's second booking on a two-part plan, its first part billed at
/// once: the installment invoice's portal link.
async fn installment_link(app: &TestApp, f: &tests::Fixture) -> String {
    let parts = json!([{}, { "dueDate": "2027-03-01" }]);
    super::installments::book_on_plan(app, f, &f.invoice_client, parts).await;
    app.drain().await;
    app.email_to_saying(INVOICE_EMAIL, "Installment 1 of 2")
        .portal_link()
        .expect("the installment's portal link")
}

/// With Stripe configured, the Checkout Session gets the invoice's money
/// and a "Gratuity" line; its completion (amount_total = both) settles
/// the invoice PAID with the tip on the payment.
async fn a_tip_goes_to_stripe_as_a_gratuity_line_and_settles_with_the_invoice(backend: Backend) {
    let stripe = StripeServer::start("sk_test_local").await;
    let Some(app) = tests::spawn_app_on_stripe(backend, stripe.uri()).await else {
        return;
    };
    stripe.add_card("pm_1Visa", Some("cus_ava"), "visa", "4242");
    let f = app.seed_studio_with_card("Golden Hour", "pm_1Visa").await;
    assert_eq!(
        tipping_on(&app, &f.key, json!({})).await["userErrors"],
        json!([])
    );
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let invoice = app.invoice_of(&f.key, &f.invoice_session).await;
    let total = invoice["total"]["minorUnits"].as_i64().expect("total");
    let (_, tip) = expected_tip(&invoice, 10);
    let link = portal_url(&app, &f.key, &f.invoice_session).await;
    let pressed = pay_with_tip(&app, &link, "10", "").await;
    assert_eq!(
        pressed.status(),
        303,
        "{}",
        pressed.text().await.unwrap_or_default()
    );
    let sessions = stripe.checkout_sessions();
    assert_eq!(sessions.len(), 1);
    let session = &sessions[0];
    assert_eq!(session["amount_total"], total + tip);
    let lines: Vec<(String, i64)> = session["line_items"]["data"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            (
                l["description"].as_str().unwrap_or_default().to_string(),
                l["amount_total"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[1], ("Gratuity".to_string(), tip));
    assert_eq!(lines[0].1, total);

    let mut object = session.clone();
    object["status"] = json!("complete");
    object["payment_status"] = json!("paid");
    object["payment_intent"] = json!("pi_tip");
    let (status, answer) = app
        .send_webhook(&stripe_event(
            "evt_cs_tip",
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
    let now = payment_of(&app, &f.key, &f.invoice_session).await;
    assert_eq!(now["status"], "PAID", "{now:#}");
    assert_eq!(now["amountPaid"]["minorUnits"], total);
    assert_eq!(now["payments"][0]["tip"]["minorUnits"], tip);
}

/// Ava's card is charged automatically; her receipt offers "Add a tip". Its
/// page offers the presets on the pre-tax amount paid; "No tip" is refused
/// there (nothing to pay) and opens nothing; 10 % opens a hosted page with
/// the Gratuity line alone, and paying it records a second payment of no
/// money and the tip: the invoice stays PAID for its total, a receipt for
/// the tip follows, the page offers no second tip. Refunded, the tip comes
/// back whole, with no credit note (no invoice money moved).
async fn an_auto_pay_receipt_offers_a_tip_paid_alone_and_refunded_whole(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    assert_eq!(
        tipping_on(&app, &f.key, json!({})).await["userErrors"],
        json!([])
    );
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;
    let before = payment_of(&app, &f.key, &f.auto_pay_session).await;
    assert_eq!(before["status"], "PAID", "{before:#}");
    let paid = before["amountPaid"]["minorUnits"].as_i64().expect("paid");
    let receipt = app.email_to_saying(AUTO_PAY_EMAIL, "We received your payment");
    assert!(receipt.says("Add a tip"), "{}", receipt.text);
    let link = format!(
        "{}/tip",
        portal_url(&app, &f.key, &f.auto_pay_session).await
    );
    assert!(receipt.text.contains(&link), "{}", receipt.text);

    let page = app.portal_page(&link).await;
    assert!(page.contains("id=\"tip-choices\""), "{page}");
    let post = |tip: &'static str| {
        let (app, link, page) = (&app, link.clone(), page.clone());
        async move {
            let csrf = csrf_field(&page);
            app.http
                .post(&link)
                .form(&[("csrf", csrf.as_str()), ("tip", tip), ("tip_custom", "")])
                .send()
                .await
                .expect("tip form")
        }
    };
    let refused = post("none").await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.expect("html").contains("Choose a tip"));
    assert_eq!(app.count("checkout_sessions").await, 0);

    let invoice = app.invoice_of(&f.key, &f.auto_pay_session).await;
    let total = invoice["total"]["minorUnits"].as_i64().expect("total");
    let tax = invoice["tax"]["minorUnits"].as_i64().expect("tax");
    let credit = invoice["retainerCredit"]["minorUnits"]
        .as_i64()
        .unwrap_or(0);
    // The pre-tax share of what was paid, then 10 % of it, half away from zero.
    let gross = total + credit;
    let base = (2 * paid * (gross - tax) + gross) / (2 * gross);
    let tip = (base * 10 + 50) / 100;
    let opened = post("10").await;
    assert_eq!(opened.status(), 303);
    let hosted = opened.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let hosted_page = app
        .http
        .get(&hosted)
        .send()
        .await
        .expect("hosted")
        .text()
        .await
        .expect("html");
    let money = tests::usd;
    assert!(hosted_page.contains(&money(tip)), "{hosted_page}");
    let done = app.pay_on_hosted_page(&hosted, "4242424242424242").await;
    assert_eq!(done.status(), 303);
    assert_eq!(app.follow(&done).await.status(), 200);
    app.drain().await;

    let after = payment_of(&app, &f.key, &f.auto_pay_session).await;
    assert_eq!(after["status"], "PAID");
    assert_eq!(
        after["amountPaid"]["minorUnits"], paid,
        "the tip is not invoice money"
    );
    let tip_payment = &after["payments"][1];
    assert_eq!(
        (
            tip_payment["amount"]["minorUnits"].as_i64(),
            tip_payment["tip"]["minorUnits"].as_i64()
        ),
        (Some(0), Some(tip)),
        "{after:#}"
    );
    let thanks = app.email_to_saying(
        AUTO_PAY_EMAIL,
        &format!("We received your payment of {}", money(tip)),
    );
    assert!(
        thanks.says(&format!("your tip of {}", money(tip))),
        "{}",
        thanks.text
    );
    assert!(app.portal_page(&link).await.contains("takes no tip now"));
    assert_eq!(tips_figure(&app, &f.key).await, tip);

    let notes = app.count("credit_notes").await;
    // USD 1.00 of the tip back first; more than is left is refused.
    let (part, data) = refund_part(&app, &f.key, &tip_payment["id"], "1.00", "tip-part").await;
    assert_eq!(
        (
            part["amount"]["minorUnits"].as_i64(),
            part["tip"]["minorUnits"].as_i64()
        ),
        (Some(0), Some(100)),
        "{data}"
    );
    app.drain().await;
    assert!(
        app.email_to_saying(AUTO_PAY_EMAIL, "We refunded your tip of USD 1.00")
            .says("your tip of USD 1.00")
    );
    assert_eq!(tips_figure(&app, &f.key).await, tip - 100);
    let too_much = format!("{}.{:02}", (tip - 99) / 100, (tip - 99) % 100);
    let (_, data) = refund_part(&app, &f.key, &tip_payment["id"], &too_much, "tip-over").await;
    let refused = data["refundPayment"]["userErrors"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(refused.contains("of the tip left to refund"), "{data}");
    let (refund, data) = refund_whole(&app, &f.key, &tip_payment["id"], "tip-alone-back").await;
    assert_eq!(
        (
            refund["status"].as_str(),
            refund["amount"]["minorUnits"].as_i64(),
            refund["tip"]["minorUnits"].as_i64()
        ),
        (Some("SUCCEEDED"), Some(0), Some(tip - 100)),
        "{data}"
    );
    app.drain().await;
    assert_eq!(
        app.count("credit_notes").await,
        notes,
        "no invoice money, no credit note"
    );
    let told = app.email_to_saying(
        AUTO_PAY_EMAIL,
        &format!("We refunded your tip of {}", money(tip - 100)),
    );
    assert!(
        told.says(&format!("We refunded your tip of {}", money(tip - 100))),
        "{}",
        told.text
    );
    assert!(!told.says("Credit note"), "{}", told.text);
    let now = payment_of(&app, &f.key, &f.auto_pay_session).await;
    assert_eq!(
        (
            now["status"].as_str(),
            now["amountDue"]["minorUnits"].as_i64()
        ),
        (Some("PAID"), Some(0))
    );
    assert_eq!(tips_figure(&app, &f.key).await, 0);
}
