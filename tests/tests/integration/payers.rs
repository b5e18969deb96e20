//! Issue 22, item 1: several payers on one invoice. The studio splits a
//! wedding invoice between the couple and the parents; each payer gets
//! their own email and link for their share, pays with their own card under
//! their own gateway Customer (one with a tip); the invoice is
//! PARTIALLY_PAID, then PAID; receipts go to the payer who paid and the
//! contracting client gets one summary; reminders go only to the payer who
//! has not paid; refunding a share goes back to that payer's card with a
//! credit note. Splits that do not add up are refused with nothing written.

use chrono::Utc;
use domain::kernel::clock::Clock;
use entity::{simulated_charge, simulated_checkout};
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::{Value, json};
use tests::stripe_server::StripeServer;
use tests::{
    AUTO_PAY_EMAIL, Backend, INVOICE_EMAIL, TestApp, spawn_app, spawn_app_full, stripe_event,
};

on_both_backends!(a_wedding_invoice_is_paid_by_the_couple_and_the_parents);
on_both_backends!(a_split_that_does_not_add_up_writes_nothing);
on_both_backends!(reminders_go_only_to_the_payer_who_has_not_paid);
on_both_backends!(each_payer_pays_stripe_under_their_own_customer);
on_both_backends!(a_shared_draft_goes_to_its_payers_and_the_client_may_cover_it);
on_both_backends!(each_part_of_a_plan_is_split_between_the_bookings_payers);
on_both_backends!(an_auto_pay_payer_is_charged_their_share_of_each_later_part);
on_both_backends!(a_refund_of_the_booking_tells_each_payer_of_their_own);
on_both_backends!(a_paid_in_full_summary_that_fails_is_listed_and_sent_on_retry);

const COUPLE: &str = "noah.and.mia@example.com";
const PARENTS: &str = "the.chens@example.com";

async fn set_payers(app: &TestApp, key: &str, invoice: &str, payers: Value) -> Value {
    let data = app
        .gql(
            key,
            "mutation($i: SetInvoicePayersInput!) { setInvoicePayers(input: $i) {
                invoice { status payers { id position name email share { minorUnits } paid { minorUnits }
                    owed { minorUnits } portalUrl } }
                userErrors { field code message } } }",
            json!({ "i": { "invoiceId": invoice, "payers": payers } }),
        )
        .await;
    data["setInvoicePayers"].clone()
}

fn couple_and_parents(couple: &str, parents: &str) -> Value {
    json!([
        { "name": "Noah & Mia", "email": COUPLE, "percent": couple },
        { "name": "Linda Chen", "email": PARENTS, "percent": parents },
    ])
}

async fn standing(app: &TestApp, key: &str, session: &str) -> Value {
    let data = app
        .gql(
            key,
            "query($id: ID!) { session(id: $id) { invoice { id status amountPaid { minorUnits } amountDue { minorUnits }
                payers { email share { minorUnits } paid { minorUnits } owed { minorUnits } }
                payments { id amount { minorUnits } tip { minorUnits } } } } }",
            json!({ "id": session }),
        )
        .await;
    data["session"]["invoice"].clone()
}

/// Ava (auto-pay, card on file) books the wedding for June 12, 2027.
async fn ava_books_in_june(app: &TestApp, f: &tests::Fixture) -> String {
    app.schedule_wedding_on(
        &f.key,
        &f.auto_pay_client,
        &f.package,
        &f.add_on,
        "0",
        "2027-06-12T15:00:00Z",
    )
    .await
}

/// `setSessionPayers`'s answer.
async fn set_session_payers(app: &TestApp, key: &str, session: &str, payers: Value) -> Value {
    app.gql(
        key,
        "mutation($i: SetSessionPayersInput!) { setSessionPayers(input: $i) {
            payers { name email percent autoPay cardLast4 } userErrors { field code message } } }",
        json!({ "i": { "sessionId": session, "payers": payers } }),
    )
    .await["setSessionPayers"]
        .clone()
}

/// The session's payment plan set to `parts`.
async fn set_plan(app: &TestApp, key: &str, session: &str, parts: Value) {
    let planned = app
        .gql(
            key,
            "mutation($i: SetPaymentPlanInput!) { setPaymentPlan(input: $i) { userErrors { code message } } }",
            json!({ "i": { "sessionId": session, "parts": parts } }),
        )
        .await;
    assert_eq!(
        planned["setPaymentPlan"]["userErrors"],
        json!([]),
        "{planned}"
    );
}

/// An invoice with its payers, their shares, what they owe and their links.
async fn invoice_with_payers(app: &TestApp, key: &str, id: Value) -> Value {
    app.gql(
        key,
        "query($id: ID!) { invoice(id: $id) { status payers { email share { minorUnits }
            owed { minorUnits } portalUrl } } }",
        json!({ "id": id }),
    )
    .await["invoice"]
        .clone()
}

fn minor(v: &Value) -> i64 {
    v["minorUnits"].as_i64().unwrap_or_else(|| panic!("{v}"))
}

/// The hosted page a payer's Pay button opens, with `tip` chosen.
async fn press_pay_with_tip(app: &TestApp, link: &str, tip: &str) -> String {
    press_pay_keeping(app, link, tip, false).await
}

/// The Pay button, `keep` ticking "use this card for automatic payments".
async fn press_pay_keeping(app: &TestApp, link: &str, tip: &str, keep: bool) -> String {
    let csrf = tests::csrf_field(&app.portal_page(link).await);
    let mut form = vec![("csrf", csrf.as_str()), ("tip", tip), ("tip_custom", "")];
    if keep {
        form.push(("save_card", "1"));
    }
    let pressed = app
        .http
        .post(format!("{link}/checkout"))
        .form(&form)
        .send()
        .await
        .expect("portal checkout");
    assert_eq!(pressed.status(), 303, "{:?}", pressed.text().await);
    pressed.headers()["location"]
        .to_str()
        .expect("location")
        .to_string()
}

async fn pay(app: &TestApp, link: &str, tip: &str, card: &str) {
    let hosted = press_pay_with_tip(app, link, tip).await;
    let paid = app.pay_on_hosted_page(&hosted, card).await;
    assert_eq!(paid.status(), 303);
    assert_eq!(app.follow(&paid).await.status(), 200);
    app.drain().await;
}

/// The whole shared wedding: split 60/40, two emails with two links, the
/// parents pay their 40 % with a 10 % tip, the couple their 60 %; two
/// customers, two charges; receipts to each, one summary to the client; a
/// refund of part of the couple's share goes back to the couple's card.
async fn a_wedding_invoice_is_paid_by_the_couple_and_the_parents(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let tipping = app
        .gql(
            &f.key,
            "mutation { updateStudioSettings(input: { tipping: { enabled: true, presetPercents: [\"10\", \"15\"] } }) {
                userErrors { field message } } }",
            json!({}),
        )
        .await;
    assert_eq!(tipping["updateStudioSettings"]["userErrors"], json!([]));
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let invoice = app.invoice_of(&f.key, &f.invoice_session).await;
    let invoice_id = invoice["id"].as_str().expect("id").to_string();
    let total = minor(&invoice["total"]);
    let client_link = invoice["portalUrl"].as_str().expect("portal").to_string();
    let emails_before = app.emails_to(INVOICE_EMAIL).len();

    let set = set_payers(&app, &f.key, &invoice_id, couple_and_parents("60", "40")).await;
    assert_eq!(set["userErrors"], json!([]), "{set}");
    let payers = set["invoice"]["payers"].as_array().expect("payers").clone();
    let parents_share = (total * 40 + 50) / 100;
    let couple_share = total - parents_share;
    assert_eq!(
        payers
            .iter()
            .map(|p| minor(&p["share"]))
            .collect::<Vec<_>>(),
        vec![couple_share, parents_share],
        "exact shares, the remainder on the first payer"
    );
    let link_of = |i: usize| payers[i]["portalUrl"].as_str().expect("link").to_string();
    let (couple_link, parents_link) = (link_of(0), link_of(1));
    assert!(couple_link != parents_link && couple_link != client_link);
    app.drain().await;

    // Each payer: their own email, their own link, their share; the other
    // payer's address appears nowhere.
    let money = tests::usd;
    for (to, link, share, other) in [
        (COUPLE, &couple_link, couple_share, PARENTS),
        (PARENTS, &parents_link, parents_share, COUPLE),
    ] {
        let email = app.email_to_saying(to, "your share is");
        assert!(
            email.says(&format!("your share is {}", money(share))),
            "{}",
            email.text
        );
        assert_eq!(email.portal_link().as_deref(), Some(link.as_str()));
        assert!(!email.text.contains(other), "{}", email.text);
        assert!(
            email.says(&format!("You owe: {}", money(share))),
            "{}",
            email.text
        );
        assert!(
            !email.says("Amount due:"),
            "not what the others owe: {}",
            email.text
        );
        let page = app.portal_page(link).await;
        assert!(page.contains("id=\"your-share\""), "{page}");
        assert!(page.contains(&money(share)), "{page}");
        assert!(!page.contains(other), "a payer never sees another: {page}");
        assert!(
            !page.contains("gallery-link"),
            "the gallery is the client's: {page}"
        );
    }
    assert_eq!(
        app.emails_to(INVOICE_EMAIL).len(),
        emails_before,
        "the split itself emails the payers only"
    );

    // The parents pay their share with a 10 % tip.
    pay(&app, &parents_link, "10", "4242424242424242").await;
    let now = standing(&app, &f.key, &f.invoice_session).await;
    assert_eq!(now["status"], "PARTIALLY_PAID", "{now:#}");
    assert_eq!(minor(&now["amountPaid"]), parents_share);
    assert_eq!(
        now["payers"]
            .as_array()
            .expect("payers")
            .iter()
            .map(|p| (minor(&p["paid"]), minor(&p["owed"])))
            .collect::<Vec<_>>(),
        vec![(0, couple_share), (parents_share, 0)]
    );
    let tip = minor(&now["payments"][0]["tip"]);
    assert!(tip > 0, "{now:#}");
    let receipt = app.email_to_saying(PARENTS, "We received your payment");
    assert!(receipt.says(&money(parents_share)), "{}", receipt.text);
    assert!(
        receipt.says("Your share remaining: USD 0.00"),
        "{}",
        receipt.text
    );
    assert!(
        !app.emails_to(INVOICE_EMAIL)
            .iter()
            .any(|e| e.says("We received your payment")),
        "the receipt goes to the payer who paid"
    );
    let parents_page = app.portal_page(&parents_link).await;
    assert!(parents_page.contains("id=\"share-paid\""), "{parents_page}");
    // The couple's invoice PDF: their share and what they owe, nothing of
    // the parents' card or payment.
    let pdf = app
        .http
        .get(format!("{couple_link}/invoice.pdf"))
        .send()
        .await
        .expect("pdf");
    assert_eq!(pdf.status(), 200);
    let text = pdf_extract::extract_text_from_mem(&pdf.bytes().await.expect("pdf")).expect("text");
    assert!(!text.contains("4242"), "the parents' card: {text}");
    assert!(
        text.contains(&format!("your share is {}", money(couple_share))),
        "{text}"
    );

    // The couple pay theirs: PAID, one summary to the contracting client.
    pay(&app, &couple_link, "none", "5555555555554444").await;
    let done = standing(&app, &f.key, &f.invoice_session).await;
    assert_eq!(done["status"], "PAID", "{done:#}");
    assert_eq!(
        minor(&done["amountPaid"]),
        total,
        "not overpaid: the tip is on top"
    );
    assert!(
        app.email_to_saying(COUPLE, "We received your payment")
            .says(&money(couple_share))
    );
    let summaries: Vec<_> = app
        .emails_to(INVOICE_EMAIL)
        .into_iter()
        .filter(|e| e.subject.contains("is paid in full"))
        .collect();
    assert_eq!(summaries.len(), 1, "one summary to the client");
    assert!(summaries[0].says(&format!(
        "Linda Chen: {} of a share of {}",
        money(parents_share),
        money(parents_share)
    )));

    // Two payers, two gateway Customers (neither the client's), two charges.
    let sessions = simulated_checkout::Entity::find()
        .order_by_asc(simulated_checkout::Column::CreatedAt)
        .all(&app.ctx.db)
        .await
        .expect("sessions");
    let customers: Vec<_> = sessions.iter().map(|s| s.customer.clone()).collect();
    let expected: Vec<Option<String>> = payers
        .iter()
        .rev()
        .map(|p| Some(format!("cus_sim_payer_{}", p["id"].as_str().expect("id"))))
        .collect();
    assert_eq!(customers, expected);
    let charges: Vec<i64> = simulated_charge::Entity::find()
        .order_by_asc(simulated_charge::Column::CreatedAt)
        .all(&app.ctx.db)
        .await
        .expect("charges")
        .iter()
        .map(|c| c.amount_minor)
        .collect();
    assert_eq!(charges, vec![parents_share + tip, couple_share]);

    // Refunding part of the couple's share goes back to their card, with a
    // credit note, and their confirmation goes to them.
    let couple_payment = done["payments"]
        .as_array()
        .expect("payments")
        .iter()
        .find(|p| minor(&p["amount"]) == couple_share)
        .expect("couple's payment")["id"]
        .clone();
    let refunded = app
        .gql(
            &f.key,
            "mutation($i: RefundPaymentInput!) { refundPayment(input: $i) {
                refund { status amount { minorUnits } } userErrors { field message } } }",
            json!({ "i": { "paymentId": couple_payment, "amount": "100.00", "idempotencyKey": "couple-100" } }),
        )
        .await;
    assert_eq!(
        refunded["refundPayment"]["userErrors"],
        json!([]),
        "{refunded}"
    );
    app.drain().await;
    let refunds: Vec<_> = simulated_charge::Entity::find()
        .all(&app.ctx.db)
        .await
        .expect("charges")
        .into_iter()
        .filter(|c| c.refund_of.is_some())
        .collect();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].amount_minor, 10_000);
    assert_eq!(refunds[0].token, "pm_card_mastercard", "the couple's card");
    let confirmation = app.email_to_saying(COUPLE, "We refunded");
    assert!(confirmation.says("USD 100.00"), "{}", confirmation.text);
    assert_eq!(app.count("credit_notes").await, 1);
}

/// Shares off by a cent, percentages short of 100 %, one payer, one email
/// for two payers, percent and amount mixed: refused with its code and
/// nothing written. A split may be replaced before anyone paid (the old
/// links stop), not after.
async fn a_split_that_does_not_add_up_writes_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let invoice = app.invoice_of(&f.key, &f.invoice_session).await;
    let id = invoice["id"].as_str().expect("id").to_string();
    let due = minor(&invoice["amountDue"]);
    let amount = |m: i64| format!("{}.{:02}", m / 100, m % 100);
    let cases = [
        (
            json!([{ "name": "A", "email": COUPLE, "amount": amount(due - 10_001) },
                   { "name": "B", "email": PARENTS, "amount": "100.00" }]),
            "SHARES_DO_NOT_ADD_UP",
            json!(["input", "payers"]),
        ),
        (
            couple_and_parents("60", "39.99"),
            "SHARES_DO_NOT_ADD_UP",
            json!(["input", "payers"]),
        ),
        (
            json!([{ "name": "A", "email": COUPLE, "percent": "100" }]),
            "INVALID_INPUT",
            json!(["input", "payers"]),
        ),
        (
            json!([{ "name": "A", "email": COUPLE, "percent": "50" },
                   { "name": "B", "email": "Noah.And.Mia@example.com", "percent": "50" }]),
            "DUPLICATE",
            json!(["input", "payers", "1", "email"]),
        ),
        (
            json!([{ "name": "A", "email": COUPLE, "percent": "50" },
                   { "name": "B", "email": PARENTS, "amount": amount(due / 2) }]),
            "INVALID_INPUT",
            json!(["input", "payers"]),
        ),
        (
            couple_and_parents("100", "0"),
            "INVALID_PERCENT",
            json!(["input", "payers", "1", "percent"]),
        ),
    ];
    for (payers, code, field) in cases {
        let refused = set_payers(&app, &f.key, &id, payers.clone()).await;
        assert_eq!(
            refused["userErrors"][0]["code"], code,
            "{payers} → {refused}"
        );
        assert_eq!(refused["userErrors"][0]["field"], field, "{refused}");
        assert_eq!(refused["invoice"], Value::Null);
    }
    assert_eq!(app.count("invoice_payers").await, 0, "nothing written");

    // Replaced before anyone paid: the first links stop working.
    let first = set_payers(&app, &f.key, &id, couple_and_parents("50", "50")).await;
    let old_link = first["invoice"]["payers"][0]["portalUrl"]
        .as_str()
        .expect("link")
        .to_string();
    let second = set_payers(&app, &f.key, &id, couple_and_parents("70", "30")).await;
    assert_eq!(second["userErrors"], json!([]), "{second}");
    let gone = app.http.get(&old_link).send().await.expect("old link");
    assert_eq!(gone.status(), 404);
    app.drain().await;

    // Once a payer paid, the split stays.
    let parents_link = second["invoice"]["payers"][1]["portalUrl"]
        .as_str()
        .expect("link")
        .to_string();
    pay(&app, &parents_link, "none", "4242424242424242").await;
    let late = set_payers(&app, &f.key, &id, couple_and_parents("50", "50")).await;
    assert_eq!(late["userErrors"][0]["code"], "INVALID_STATE", "{late}");
}

/// The parents paid; the couple did not: every reminder goes to the couple,
/// with their own link and what they owe, none to the parents or the client.
async fn reminders_go_only_to_the_payer_who_has_not_paid(backend: Backend) {
    let clock = Clock::manual(Utc::now());
    let installed = clock.clone();
    let Some(app) = spawn_app_full(
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
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let invoice = app.invoice_of(&f.key, &f.invoice_session).await;
    let id = invoice["id"].as_str().expect("id").to_string();
    let set = set_payers(&app, &f.key, &id, couple_and_parents("50", "50")).await;
    let link = |i: usize| {
        set["invoice"]["payers"][i]["portalUrl"]
            .as_str()
            .expect("link")
            .to_string()
    };
    app.drain().await;
    pay(&app, &link(1), "none", "4242424242424242").await;

    // Each reminder step on its day, as time passes.
    for _ in 0..8 {
        let next = app
            .scheduled()
            .await
            .into_iter()
            .filter(|(key, _)| key.starts_with("reminder"))
            .map(|(_, at)| at)
            .min();
        let Some(at) = next else { break };
        clock.set(at);
        app.advance_scheduled_of("reminder").await;
        app.drain().await;
    }
    let reminders = |to: &str| {
        app.emails_to(to)
            .into_iter()
            .filter(|e| e.subject.starts_with("Reminder") || e.subject.starts_with("Final notice"))
            .collect::<Vec<_>>()
    };
    let couple = reminders(COUPLE);
    assert!(couple.len() >= 2, "the couple are reminded");
    for email in &couple {
        assert_eq!(email.portal_link(), Some(link(0)), "{}", email.text);
    }
    assert_eq!(reminders(PARENTS).len(), 0, "the parents paid");
    assert_eq!(
        reminders(INVOICE_EMAIL).len(),
        0,
        "the client is not a payer"
    );
}

/// With Stripe: each payer's Pay button opens a Checkout Session for their
/// share under a Customer of their own (their name and email, never the
/// client's); both sessions completed by webhook leave the invoice PAID.
async fn each_payer_pays_stripe_under_their_own_customer(backend: Backend) {
    let stripe = StripeServer::start("sk_test_local").await;
    let Some(app) = tests::spawn_app_on_stripe(backend, stripe.uri()).await else {
        return;
    };
    stripe.add_card("pm_1Visa", Some("cus_ava"), "visa", "4242");
    let f = app.seed_studio_with_card("Golden Hour", "pm_1Visa").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let invoice = app.invoice_of(&f.key, &f.invoice_session).await;
    let id = invoice["id"].as_str().expect("id").to_string();
    let set = set_payers(&app, &f.key, &id, couple_and_parents("50", "50")).await;
    assert_eq!(set["userErrors"], json!([]), "{set}");
    let payers = set["invoice"]["payers"].as_array().expect("payers").clone();
    for payer in &payers {
        let link = payer["portalUrl"].as_str().expect("link");
        press_pay_with_tip(&app, link, "none").await;
    }
    let sessions = stripe.checkout_sessions();
    assert_eq!(sessions.len(), 2);
    assert!(
        sessions[0]["line_items"]["data"][0]["description"]
            .as_str()
            .is_some_and(|d| d.contains(", your share")),
        "{}",
        sessions[0]
    );
    let customers = stripe.customers();
    for (session, payer) in sessions.iter().zip(&payers) {
        assert_eq!(session["amount_total"], minor(&payer["share"]));
        let customer = customers
            .iter()
            .find(|c| c["id"] == session["customer"])
            .unwrap_or_else(|| panic!("{session} has its own Customer"));
        assert_eq!(customer["email"], payer["email"], "{customer}");
    }
    assert!(sessions[0]["customer"] != sessions[1]["customer"]);
    for (i, session) in sessions.iter().enumerate() {
        let mut object = session.clone();
        object["status"] = json!("complete");
        object["payment_status"] = json!("paid");
        object["payment_intent"] = json!(format!("pi_share_{i}"));
        let (status, answer) = app
            .send_webhook(&stripe_event(
                &format!("evt_share_{i}"),
                "checkout.session.completed",
                Utc::now().timestamp(),
                object,
            ))
            .await;
        assert_eq!(
            (status, answer["status"].clone()),
            (200, json!("processed")),
            "{answer}"
        );
        app.drain().await;
        let now = standing(&app, &f.key, &f.invoice_session).await;
        let expected = if i == 0 { "PARTIALLY_PAID" } else { "PAID" };
        assert_eq!(now["status"], expected, "{now:#}");
    }
}

/// A studio reviewing drafts splits Ava's (an auto-pay client's) invoice
/// before it is issued: finalized, it is emailed to the payers, not charged
/// to Ava's card on file, and Ava gets no invoice email. Ava then pays it
/// all through her own link: the payers owe nothing, and a payer's open
/// checkout for a share is expired.
async fn a_shared_draft_goes_to_its_payers_and_the_client_may_cover_it(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let review = app
        .gql(
            &f.key,
            "mutation { updateStudioSettings(input: { reviewDrafts: true }) { userErrors { message } } }",
            json!({}),
        )
        .await;
    assert_eq!(review["updateStudioSettings"]["userErrors"], json!([]));
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;
    let draft = app.invoice_of(&f.key, &f.auto_pay_session).await;
    assert_eq!(draft["status"], "DRAFT", "{draft:#}");
    let id = draft["id"].as_str().expect("id").to_string();
    let set = set_payers(&app, &f.key, &id, couple_and_parents("50", "50")).await;
    assert_eq!(set["userErrors"], json!([]), "{set}");
    app.drain().await;
    assert!(app.emails_to(COUPLE).is_empty(), "a draft is not sent yet");

    let finalized = app
        .gql(
            &f.key,
            "mutation($i: FinalizeInvoiceInput!) { finalizeInvoice(input: $i) { invoice { status } userErrors { message } } }",
            json!({ "i": { "invoiceId": id } }),
        )
        .await;
    assert_eq!(
        finalized["finalizeInvoice"]["invoice"]["status"], "OPEN",
        "{finalized}"
    );
    app.drain().await;
    assert_eq!(
        app.count("simulated_gateway_charges").await,
        0,
        "the payers pay it, not Ava's card"
    );
    assert_eq!(app.emails_to(COUPLE).len(), 1);
    assert_eq!(app.emails_to(PARENTS).len(), 1);
    assert!(
        !app.emails_to(AUTO_PAY_EMAIL)
            .iter()
            .any(|e| e.subject.starts_with("Invoice")),
        "the invoice goes to its payers"
    );

    // The parents open a checkout for their share; Ava pays it all first.
    let parents_link = set["invoice"]["payers"][1]["portalUrl"]
        .as_str()
        .expect("link")
        .to_string();
    press_pay_with_tip(&app, &parents_link, "none").await;
    let ava_link = app.invoice_of(&f.key, &f.auto_pay_session).await["portalUrl"]
        .as_str()
        .expect("portal")
        .to_string();
    pay(&app, &ava_link, "none", "4242424242424242").await;
    let done = standing(&app, &f.key, &f.auto_pay_session).await;
    assert_eq!(done["status"], "PAID", "{done:#}");
    let owed: Vec<i64> = done["payers"]
        .as_array()
        .expect("payers")
        .iter()
        .map(|p| minor(&p["owed"]))
        .collect();
    assert_eq!(owed, vec![0, 0]);
    let statuses: Vec<String> = simulated_checkout::Entity::find()
        .order_by_asc(simulated_checkout::Column::CreatedAt)
        .all(&app.ctx.db)
        .await
        .expect("sessions")
        .into_iter()
        .map(|s| s.status)
        .collect();
    assert_eq!(
        statuses,
        vec!["expired", "complete"],
        "the parents' session is expired"
    );
    let page = app.portal_page(&parents_link).await;
    assert!(page.contains("id=\"share-paid\""), "{page}");
    assert!(
        app.email_to_saying(AUTO_PAY_EMAIL, "We received your payment")
            .says("Balance remaining: USD 0.00")
    );
}

/// Ava (auto-pay, card on file) books her wedding with the parents paying
/// 40 %: the booking's payers are set before the plan (30 % at booking, the
/// rest on March 1). The retainer is split at once and emailed to both
/// payers instead of being charged to Ava's card; the second part is split
/// the same way on its day; the part is PAID once both shares are.
async fn each_part_of_a_plan_is_split_between_the_bookings_payers(backend: Backend) {
    use crate::installments::{app_at, at, bill_due_parts, plan};
    let Some((app, clock)) = app_at(backend, at(2027, 1, 4, 15, 0)).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let session = ava_books_in_june(&app, &f).await;
    let refused = set_session_payers(&app, &f.key, &session, couple_and_parents("60", "30")).await;
    assert_eq!(
        refused["userErrors"][0]["code"], "SHARES_DO_NOT_ADD_UP",
        "{refused}"
    );
    let set = set_session_payers(&app, &f.key, &session, couple_and_parents("60", "40")).await;
    assert_eq!(set["userErrors"], json!([]), "{set}");
    assert_eq!(set["payers"][1]["percent"], "40");
    set_plan(
        &app,
        &f.key,
        &session,
        json!([{ "percent": "30" }, { "dueDate": "2027-03-01" }]),
    )
    .await;
    app.drain().await;

    assert_eq!(
        app.count("simulated_gateway_charges").await,
        0,
        "not Ava's card"
    );
    let retainer = plan(&app, &f.key, &session).await;
    let invoice_id = retainer["parts"][0]["invoiceId"].clone();
    let part = minor(&retainer["parts"][0]["amount"]);
    let shares = invoice_with_payers(&app, &f.key, invoice_id).await;
    let payers = shares["payers"].as_array().expect("payers").clone();
    let parents = (part * 40 + 50) / 100;
    assert_eq!(
        payers
            .iter()
            .map(|p| minor(&p["share"]))
            .collect::<Vec<_>>(),
        vec![part - parents, parents]
    );
    assert_eq!(app.emails_to(COUPLE).len(), 1);
    assert_eq!(app.emails_to(PARENTS).len(), 1);
    for p in &payers {
        pay(
            &app,
            p["portalUrl"].as_str().expect("link"),
            "none",
            "4242424242424242",
        )
        .await;
    }
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["parts"][0]["status"], "PAID", "{now:#}");

    // March 1: the rest is billed, split the same way.
    bill_due_parts(&app, &clock, at(2027, 3, 1, 10, 0)).await;
    let later = plan(&app, &f.key, &session).await;
    let second = invoice_with_payers(&app, &f.key, later["parts"][1]["invoiceId"].clone()).await;
    let rest = minor(&later["parts"][1]["amount"]);
    let rest_parents = (rest * 40 + 50) / 100;
    assert_eq!(
        second["payers"]
            .as_array()
            .expect("payers")
            .iter()
            .map(|p| minor(&p["share"]))
            .collect::<Vec<_>>(),
        vec![rest - rest_parents, rest_parents],
        "{second}"
    );
    assert_eq!(
        app.count("simulated_gateway_charges").await,
        2,
        "only the payers' two cards"
    );
    assert_eq!(
        app.emails_to(PARENTS)
            .iter()
            .filter(|e| e.subject.starts_with("Invoice"))
            .count(),
        2
    );
}

/// The parents pay automatically: they keep the card they pay the retainer's
/// share with; the next part charges their share to it (a receipt, no
/// invoice email), while the couple are emailed theirs. When their card is
/// declined on the third part, only the parents are emailed, with the
/// decline and their link; nothing else is charged.
async fn an_auto_pay_payer_is_charged_their_share_of_each_later_part(backend: Backend) {
    use crate::installments::{app_at, at, bill_due_parts, plan};
    let Some((app, clock)) = app_at(backend, at(2027, 1, 4, 15, 0)).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let session = ava_books_in_june(&app, &f).await;
    let payers = json!([
        { "name": "Noah & Mia", "email": COUPLE, "percent": "60" },
        { "name": "Linda Chen", "email": PARENTS, "percent": "40", "autoPay": true } ]);
    let set = set_session_payers(&app, &f.key, &session, payers).await;
    assert_eq!(set["userErrors"], json!([]), "{set}");
    set_plan(
        &app,
        &f.key,
        &session,
        json!([{ "percent": "30" }, { "percent": "30", "dueDate": "2027-03-01" }, { "dueDate": "2027-04-01" }]),
    )
    .await;
    app.drain().await;
    let invoice_payers = |id: Value| invoice_with_payers(&app, &f.key, id);

    // The retainer: the parents have no card yet, so both are emailed; the
    // parents keep theirs as they pay.
    let first =
        invoice_payers(plan(&app, &f.key, &session).await["parts"][0]["invoiceId"].clone()).await;
    let link = |inv: &Value, i: usize| {
        inv["payers"][i]["portalUrl"]
            .as_str()
            .expect("link")
            .to_string()
    };
    let page = app.portal_page(&link(&first, 1)).await;
    assert!(
        page.contains("name=\"save_card\""),
        "offered to keep the card: {page}"
    );
    let hosted = press_pay_keeping(&app, &link(&first, 1), "none", true).await;
    assert_eq!(
        app.pay_on_hosted_page(&hosted, "4242424242424242")
            .await
            .status(),
        303
    );
    app.drain().await;
    pay(&app, &link(&first, 0), "none", "5555555555554444").await;
    let kept = app
        .gql(
            &f.key,
            "query($id: ID!) { session(id: $id) { payers { email cardLast4 } } }",
            json!({ "id": session }),
        )
        .await;
    assert_eq!(kept["session"]["payers"][1]["cardLast4"], "4242", "{kept}");
    assert_eq!(kept["session"]["payers"][0]["cardLast4"], Value::Null);

    // March 1: the parents' share is charged to their card.
    let invoices_to = |to: &str| {
        app.emails_to(to)
            .into_iter()
            .filter(|e| e.subject.starts_with("Invoice"))
            .count()
    };
    let (parents_invoices, couple_invoices) = (invoices_to(PARENTS), invoices_to(COUPLE));
    bill_due_parts(&app, &clock, at(2027, 3, 1, 10, 0)).await;
    let second =
        invoice_payers(plan(&app, &f.key, &session).await["parts"][1]["invoiceId"].clone()).await;
    assert_eq!(second["status"], "PARTIALLY_PAID", "{second:#}");
    assert_eq!(minor(&second["payers"][1]["owed"]), 0);
    let parents_share = minor(&second["payers"][1]["share"]);
    let charged: Vec<(String, i64)> = simulated_charge::Entity::find()
        .order_by_asc(simulated_charge::Column::CreatedAt)
        .all(&app.ctx.db)
        .await
        .expect("charges")
        .into_iter()
        .map(|c| (c.token, c.amount_minor))
        .collect();
    assert_eq!(
        charged.last(),
        Some(&("pm_card_visa".to_string(), parents_share))
    );
    assert_eq!(
        invoices_to(PARENTS),
        parents_invoices,
        "charged, not emailed the invoice"
    );
    assert_eq!(invoices_to(COUPLE), couple_invoices + 1);
    assert!(
        app.emails_to(PARENTS)
            .iter()
            .filter(|e| e.says("We received your payment"))
            .count()
            >= 2
    );

    // The parents' card is declined on the third part: they alone hear of it.
    use sea_orm::ConnectionTrait;
    app.ctx
        .db
        .execute_unprepared(
            "UPDATE session_payers SET pm_token = 'pm_card_chargeDeclined' WHERE removed_at IS NULL AND auto_pay",
        )
        .await
        .expect("the card is declined from now on");
    let charges_before = app.count("simulated_gateway_charges").await;
    bill_due_parts(&app, &clock, at(2027, 4, 1, 10, 0)).await;
    let third =
        invoice_payers(plan(&app, &f.key, &session).await["parts"][2]["invoiceId"].clone()).await;
    assert_eq!(third["status"], "OPEN", "{third:#}");
    assert_eq!(
        app.count("simulated_gateway_charges").await,
        charges_before + 1,
        "one declined attempt"
    );
    let declined = app
        .emails_to(PARENTS)
        .into_iter()
        .filter(|e| e.says("but it was declined"))
        .collect::<Vec<_>>();
    assert_eq!(declined.len(), 1, "the parents are told once");
    assert_eq!(declined[0].portal_link(), Some(link(&third, 1)));
    assert!(
        !app.emails_to(COUPLE).iter().any(|e| e.says("declined")),
        "the couple hear nothing of it"
    );
    assert!(
        declined[0].says("We will try your card again on April 2"),
        "{}",
        declined[0].text
    );

    // The card works again; the retry on April 2 takes their share, once.
    app.ctx
        .db
        .execute_unprepared(
            "UPDATE session_payers SET pm_token = 'pm_card_visa' WHERE removed_at IS NULL AND auto_pay",
        )
        .await
        .expect("the card works again");
    let receipts = |app: &TestApp| {
        app.emails_to(PARENTS)
            .iter()
            .filter(|e| e.says("We received your payment"))
            .count()
    };
    let receipts_before = receipts(&app);
    app.advance_scheduled_of("charge:").await;
    app.drain().await;
    let third =
        invoice_payers(plan(&app, &f.key, &session).await["parts"][2]["invoiceId"].clone()).await;
    assert_eq!(minor(&third["payers"][1]["owed"]), 0, "{third:#}");
    assert_eq!(third["status"], "PARTIALLY_PAID", "{third:#}");
    assert_eq!(receipts(&app), receipts_before + 1);
    app.advance_scheduled_of("charge:").await;
    app.drain().await;
    assert_eq!(
        app.count("simulated_gateway_charges").await,
        charges_before + 2,
        "one decline, one retry, nothing more"
    );
}

/// The couple (Visa) and the parents (Mastercard) pay half each; the
/// studio refunds the whole booking (`refundSession`): one refund per
/// payment, and each payer is told of their own, to their own card, never
/// the other's; the client is told the total went back to the payers,
/// with neither card.
async fn a_refund_of_the_booking_tells_each_payer_of_their_own(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let (invoice, links) = noahs_invoice_halved(&app, &f).await;
    let total = invoice["total"]["formatted"]
        .as_str()
        .expect("total")
        .to_string();
    pay(&app, &links[0], "none", "4242 4242 4242 4242").await;
    pay(&app, &links[1], "none", "5555 5555 5555 4444").await;
    assert_eq!(
        standing(&app, &f.key, &f.invoice_session).await["status"],
        "PAID"
    );

    let made = app
        .gql(
            &f.key,
            "mutation($i: RefundSessionInput!) { refundSession(input: $i) {
                refunds { status } userErrors { field code message } } }",
            json!({ "i": { "sessionId": f.invoice_session, "amount": total.trim_start_matches("USD ").replace(',', ""),
                          "reason": "Cancelled", "idempotencyKey": "all-back" } }),
        )
        .await;
    assert_eq!(made["refundSession"]["userErrors"], json!([]), "{made}");
    assert_eq!(
        made["refundSession"]["refunds"].as_array().map(Vec::len),
        Some(2)
    );
    app.drain().await;

    let couple = app.email_to_saying(COUPLE, "We refunded");
    assert!(
        couple.says("Visa •••• 4242") && !couple.says("4444"),
        "{}",
        couple.text
    );
    let parents = app.email_to_saying(PARENTS, "We refunded");
    assert!(
        parents.says("Mastercard •••• 4444") && !parents.says("4242"),
        "{}",
        parents.text
    );
    let client = app.email_to_saying(INVOICE_EMAIL, "We refunded");
    assert!(
        client.says(&total) && client.says("went back to the payers who paid it"),
        "{}",
        client.text
    );
    assert!(
        !client.says("4242") && !client.says("4444"),
        "{}",
        client.text
    );
}

/// The client's "paid in full" summary cannot be sent (a name that would
/// inject a header): the payer's receipt goes, the summary is FAILED and
/// listed among the failing steps as the last payer's receipt job; the
/// name mended, a retry sends the summary once, and the receipt is not
/// sent again.
async fn a_paid_in_full_summary_that_fails_is_listed_and_sent_on_retry(backend: Backend) {
    use super::steps::{RETRY, STEPS, store_client_name};
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let (_, links) = noahs_invoice_halved(&app, &f).await;
    pay(&app, &links[0], "none", "4242 4242 4242 4242").await;
    store_client_name(&app, &f.invoice_client, "Noah\r\nBcc: everyone@example.com").await;
    pay(&app, &links[1], "none", "5555 5555 5555 4444").await;
    let summaries = |app: &TestApp| {
        app.emails_to(INVOICE_EMAIL)
            .into_iter()
            .filter(|e| e.subject.ends_with("is paid in full"))
            .count()
    };
    assert_eq!(summaries(&app), 0);
    assert_eq!(
        app.emails_to(PARENTS)
            .iter()
            .filter(|e| e.subject.starts_with("Receipt"))
            .count(),
        1
    );

    let body = app.gql(&f.key, STEPS, json!({})).await;
    let step = body["failingSteps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["step"] == "send_receipt").cloned())
        .unwrap_or_else(|| panic!("the failed summary is listed: {body}"));
    assert_eq!(step["state"], "GAVE_UP", "{step}");
    store_client_name(&app, &f.invoice_client, "Noah Chen").await;
    let retried = app.gql(&f.key, RETRY, json!({ "id": step["id"] })).await;
    assert_eq!(retried["retryStep"]["userErrors"], json!([]), "{retried}");
    app.drain().await;
    assert_eq!(summaries(&app), 1);
    assert_eq!(
        app.emails_to(PARENTS)
            .iter()
            .filter(|e| e.subject.starts_with("Receipt"))
            .count(),
        1
    );
}

/// Noah's wedding invoice issued and split half and half between the
/// couple and the parents: the invoice, and the payers' links.
async fn noahs_invoice_halved(app: &TestApp, f: &tests::Fixture) -> (Value, Vec<String>) {
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let invoice = app.invoice_of(&f.key, &f.invoice_session).await;
    let id = invoice["id"].as_str().expect("id").to_string();
    let set = set_payers(app, &f.key, &id, couple_and_parents("50", "50")).await;
    assert_eq!(set["userErrors"], json!([]), "{set}");
    let links = set["invoice"]["payers"]
        .as_array()
        .expect("payers")
        .iter()
        .map(|p| p["portalUrl"].as_str().expect("link").to_string())
        .collect();
    (invoice, links)
}
