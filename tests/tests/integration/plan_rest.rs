//! Issue 19, item 4: "pay everything that's left". The client pays the
//! rest of the plan at once on the portal (one invoice, a line per part);
//! money on it goes to its oldest part first; left unpaid until its first
//! part's day, it is voided and the plan goes on part by part, charged as
//! agreed.

use super::installments::{app_at, at, bill_due_parts, book_on_plan, pay_by_check, plan};
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use tests::{Backend, TestApp, csrf_field};

on_both_backends!(
    the_client_pays_everything_that_is_left_on_the_portal_in_one_payment,
    a_check_for_part_of_the_rest_pays_its_oldest_part_first,
    an_unpaid_rest_gives_way_to_the_schedule_on_its_first_day,
    a_client_at_the_checkout_of_the_rest_on_its_first_day_is_waited_for,
);

async fn bill_rest(app: &TestApp, key: &str, session: &str) -> Value {
    app.gql(
        key,
        "mutation($s: ID!) { billRestOfPlan(sessionId: $s) {
            invoice { id number status amountDue { minorUnits } } userErrors { field code message } } }",
        json!({ "s": session }),
    )
    .await["billRestOfPlan"]
        .clone()
}

/// `client` books the wedding (June 12, 2027) on three equal parts of USD
/// 1,097.27 (the last 1,097.28): at booking, March 1 and May 1; the part
/// at booking is billed. Returns the session.
async fn three_parts(app: &TestApp, f: &tests::Fixture, client: &str) -> String {
    let (session, _) = book_on_plan(
        app,
        f,
        client,
        json!([{}, { "dueDate": "2027-03-01" }, { "dueDate": "2027-05-01" }]),
    )
    .await;
    app.drain().await;
    session
}

async fn invoice_status(app: &TestApp, id: &Value) -> String {
    let id: i64 = id
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("an invoice id");
    entity::invoice::Entity::find_by_id(id)
        .one(&app.ctx.db)
        .await
        .expect("invoice")
        .expect("the invoice")
        .status
        .as_str()
        .to_string()
}

/// Noah (invoices by email) pays his retainer by check. On the portal he
/// presses "Pay everything that's left (USD 2,194.55)": one invoice bills
/// installments 2 and 3, a line each, and he pays it at once. Both parts
/// are paid, the receipt says the plan is paid in full, their days bill
/// nothing, and the final invoice credits "Installments 2–3 of 3".
async fn the_client_pays_everything_that_is_left_on_the_portal_in_one_payment(backend: Backend) {
    let Some((app, clock)) = app_at(backend, at(2027, 1, 4, 15, 0)).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let session = three_parts(&app, &f, &f.invoice_client).await;
    let retainer = app
        .email_to_saying(tests::INVOICE_EMAIL, "Installment 1 of 3")
        .portal_link()
        .expect("the retainer's portal link");
    let first = plan(&app, &f.key, &session).await["parts"][0]["invoiceId"].clone();
    pay_by_check(&app, &f.key, &first, "1097.27", "#300").await;

    clock.set(at(2027, 1, 10, 9, 0));
    let page = app.portal_page(&retainer).await;
    assert!(
        page.contains("Pay everything that's left (USD 2,194.55)"),
        "{page}"
    );
    let pressed = app
        .http
        .post(format!("{retainer}/rest"))
        .form(&[("csrf", csrf_field(&page).as_str())])
        .send()
        .await
        .expect("pay the rest");
    assert_eq!(pressed.status(), 303);
    let rest = pressed
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .expect("the rest's page")
        .to_string();
    let rest_page = app.portal_page(&rest).await;
    assert!(rest_page.contains("Installment 2 of 3 · "), "{rest_page}");
    assert!(rest_page.contains("Installment 3 of 3 · "), "{rest_page}");
    assert!(
        rest_page.contains("Pay <span class=\"amount\">USD 2,194.55</span>"),
        "{rest_page}"
    );
    assert!(
        !rest_page.contains("Pay everything that's left"),
        "{rest_page}"
    );
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["parts"][1]["status"], "ISSUED", "{now}");
    assert_eq!(now["parts"][2]["status"], "ISSUED", "{now}");
    assert_eq!(now["parts"][1]["invoiceId"], now["parts"][2]["invoiceId"]);

    let paid = app.open_and_pay(&rest, "4242 4242 4242 4242").await;
    assert_eq!(paid.status(), 303);
    app.drain().await;
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["parts"][1]["status"], "PAID", "{now}");
    assert_eq!(now["parts"][2]["status"], "PAID", "{now}");
    assert_eq!(
        now["parts"][2]["amountPaid"]["minorUnits"], 109_728,
        "{now}"
    );
    assert_eq!(now["remaining"]["minorUnits"], 0, "{now}");
    app.email_to_saying(
        tests::INVOICE_EMAIL,
        "Installments 2–3 of 3 — your payment plan is paid in full",
    );

    let installments = app.count("invoices WHERE kind = 'INSTALLMENT'").await;
    let emails = app.emails_to(tests::INVOICE_EMAIL).len();
    bill_due_parts(&app, &clock, at(2027, 3, 1, 10, 0)).await;
    bill_due_parts(&app, &clock, at(2027, 5, 1, 10, 0)).await;
    assert_eq!(
        app.count("invoices WHERE kind = 'INSTALLMENT'").await,
        installments
    );
    assert_eq!(app.emails_to(tests::INVOICE_EMAIL).len(), emails);

    clock.set(at(2027, 6, 13, 12, 0));
    let done = app.complete_session(&f.key, &session).await;
    assert!(done.get("errors").is_none(), "{done}");
    app.drain().await;
    let last = super::installments::final_invoice(&app).await;
    assert!(
        last.plan_credits.contains("Installments 2–3 of 3, INV-"),
        "{}",
        last.plan_credits
    );
    assert_eq!(last.plan_credit_minor.get(), 329_182);
}

/// The studio bills the rest for a client who sends checks: a check of USD
/// 1,500.00 pays installment 2 in full and USD 402.73 of installment 3;
/// the second's day bills nothing, and the next check pays the rest.
async fn a_check_for_part_of_the_rest_pays_its_oldest_part_first(backend: Backend) {
    let Some((app, clock)) = app_at(backend, at(2027, 1, 4, 15, 0)).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let session = three_parts(&app, &f, &f.invoice_client).await;
    let first = plan(&app, &f.key, &session).await["parts"][0]["invoiceId"].clone();
    let waiting = bill_rest(&app, &f.key, &session).await;
    assert_eq!(
        waiting["userErrors"][0]["code"], "INVALID_STATE",
        "the retainer is paid first: {waiting}"
    );
    pay_by_check(&app, &f.key, &first, "1097.27", "#301").await;

    let billed = bill_rest(&app, &f.key, &session).await;
    assert_eq!(billed["userErrors"], json!([]), "{billed}");
    assert_eq!(billed["invoice"]["amountDue"]["minorUnits"], 219_455);
    let rest = billed["invoice"]["id"].clone();
    pay_by_check(&app, &f.key, &rest, "1500.00", "#302").await;
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["parts"][1]["status"], "PAID", "{now}");
    assert_eq!(now["parts"][1]["amountPaid"]["minorUnits"], 109_727);
    assert_eq!(now["parts"][2]["status"], "ISSUED", "{now}");
    assert_eq!(now["parts"][2]["amountPaid"]["minorUnits"], 40_273);
    assert_eq!(now["remaining"]["minorUnits"], 69_455, "{now}");

    let installments = app.count("invoices WHERE kind = 'INSTALLMENT'").await;
    bill_due_parts(&app, &clock, at(2027, 3, 1, 10, 0)).await;
    assert_eq!(
        app.count("invoices WHERE kind = 'INSTALLMENT'").await,
        installments
    );
    assert_eq!(invoice_status(&app, &rest).await, "PARTIALLY_PAID");
    pay_by_check(&app, &f.key, &rest, "694.55", "#303").await;
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["parts"][2]["status"], "PAID", "{now}");
    assert_eq!(now["remaining"]["minorUnits"], 0, "{now}");
}

/// Ava (auto-pay) asks for the rest in January and never pays it: it is
/// not charged to her card (nor noticed as a charge). On February 22, the
/// notice day of installment 2, it is voided and the plan goes on: the
/// notice for installment 2 alone goes out, her card is charged USD
/// 1,097.27 on March 1, and installment 3 waits for its own day.
async fn an_unpaid_rest_gives_way_to_the_schedule_on_its_first_day(backend: Backend) {
    let Some((app, clock)) = app_at(backend, at(2027, 1, 4, 15, 0)).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let session = three_parts(&app, &f, &f.auto_pay_client).await;
    assert_eq!(app.count("simulated_gateway_charges").await, 1);

    clock.set(at(2027, 1, 10, 9, 0));
    let billed = bill_rest(&app, &f.key, &session).await;
    assert_eq!(billed["userErrors"], json!([]), "{billed}");
    let rest = billed["invoice"]["id"].clone();
    let number = billed["invoice"]["number"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    app.drain().await;
    assert_eq!(
        app.count("simulated_gateway_charges").await,
        1,
        "not charged"
    );
    let emailed = app.email_to_saying(tests::AUTO_PAY_EMAIL, &number);
    assert!(!emailed.says("We will charge"), "{}", emailed.text);

    bill_due_parts(&app, &clock, at(2027, 2, 22, 10, 0)).await;
    assert_eq!(invoice_status(&app, &rest).await, "VOID");
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["parts"][1]["status"], "ISSUED", "{now}");
    assert_ne!(now["parts"][1]["invoiceId"], rest);
    assert_eq!(now["parts"][2]["status"], "SCHEDULED", "{now}");
    app.email_to_saying(
        tests::AUTO_PAY_EMAIL,
        "We will charge Visa •••• 4242 USD 1,097.27",
    );

    clock.set(at(2027, 3, 1, 10, 0));
    app.advance_scheduled_of("charge:").await;
    app.drain().await;
    assert_eq!(app.count("simulated_gateway_charges").await, 2);
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["parts"][1]["status"], "PAID", "{now}");
    assert_eq!(now["parts"][2]["status"], "SCHEDULED", "{now}");
    assert_eq!(
        app.count("simulated_gateway_charges WHERE amount_minor = 219455")
            .await,
        0
    );
}

/// Noah opens the hosted checkout of the rest just before installment 2's
/// moment (March 1, 10:00): the moment passes while he types his card, and
/// the rest is not voided under him; his payment pays both parts and the
/// postponed step then bills nothing.
async fn a_client_at_the_checkout_of_the_rest_on_its_first_day_is_waited_for(backend: Backend) {
    let Some((app, clock)) = app_at(backend, at(2027, 1, 4, 15, 0)).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let session = three_parts(&app, &f, &f.invoice_client).await;
    let first = plan(&app, &f.key, &session).await["parts"][0]["invoiceId"].clone();
    pay_by_check(&app, &f.key, &first, "1097.27", "#304").await;
    let billed = bill_rest(&app, &f.key, &session).await;
    assert_eq!(billed["userErrors"], json!([]), "{billed}");
    let rest = billed["invoice"]["id"].clone();
    let number = billed["invoice"]["number"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    app.drain().await;
    let link = app
        .email_to_saying(tests::INVOICE_EMAIL, &number)
        .portal_link()
        .expect("the rest's portal link");

    clock.set(at(2027, 3, 1, 9, 55));
    let hosted = app.checkout_url(&link, false).await;
    bill_due_parts(&app, &clock, at(2027, 3, 1, 10, 0)).await;
    assert_eq!(invoice_status(&app, &rest).await, "OPEN");
    let paid = app.pay_on_hosted_page(&hosted, "4242 4242 4242 4242").await;
    assert_eq!(paid.status(), 303);
    app.drain().await;
    assert_eq!(invoice_status(&app, &rest).await, "PAID");
    let installments = app.count("invoices WHERE kind = 'INSTALLMENT'").await;
    bill_due_parts(&app, &clock, at(2027, 3, 2, 10, 0)).await;
    assert_eq!(
        app.count("invoices WHERE kind = 'INSTALLMENT'").await,
        installments
    );
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["remaining"]["minorUnits"], 0, "{now}");
}
