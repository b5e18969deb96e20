//! Issue 19, item 4: money goes to the oldest part first. The client pays
//! the next part ahead on the portal, the studio bills the next part ahead
//! for a check; an earlier billed part is always paid first, and a part paid
//! ahead is neither billed again nor charged on its day.

use super::installments::{app_at, at, bill_due_parts, book_on_plan, pay_by_check, plan};
use serde_json::{Value, json};
use tests::{Backend, TestApp, csrf_field};

on_both_backends!(
    the_client_pays_the_next_part_ahead_on_the_portal_and_its_day_bills_nothing,
    a_part_billed_ahead_and_paid_by_check_is_not_charged_on_its_day,
    the_portal_takes_money_for_the_oldest_open_part_first,
);

async fn bill_next(app: &TestApp, key: &str, session: &str) -> Value {
    app.gql(
        key,
        "mutation($s: ID!) { billNextPlanPart(sessionId: $s) {
            invoice { id number amountDue { minorUnits } } userErrors { field code message } } }",
        json!({ "s": session }),
    )
    .await["billNextPlanPart"]
        .clone()
}

/// Noah (invoices by email) pays his retainer (USD 1,097.27 of three equal
/// parts) on the portal. The retainer's page lists the plan and offers
/// "Pay the next part now": pressing it bills installment 2 at once and
/// leads to its page, where he pays it. While it was billed and unpaid, the
/// button was gone and paying the third ahead refused. On March 1, the
/// second part's own day, nothing is billed or emailed again.
async fn the_client_pays_the_next_part_ahead_on_the_portal_and_its_day_bills_nothing(
    backend: Backend,
) {
    let Some((app, clock)) = app_at(backend, at(2027, 1, 4, 15, 0)).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let (session, _) = book_on_plan(
        &app,
        &f,
        &f.invoice_client,
        json!([{}, { "dueDate": "2027-03-01" }, { "dueDate": "2027-05-01" }]),
    )
    .await;
    app.drain().await;
    let retainer = app
        .email_to_saying(tests::INVOICE_EMAIL, "Installment 1 of 3")
        .portal_link()
        .expect("the retainer's portal link");
    let paid = app.open_and_pay(&retainer, "4242 4242 4242 4242").await;
    assert_eq!(paid.status(), 303);
    app.drain().await;

    clock.set(at(2027, 1, 10, 9, 0));
    let page = app.portal_page(&retainer).await;
    assert!(page.contains("Your payment plan"), "{page}");
    assert!(page.contains("Installment 2 of 3"), "{page}");
    assert!(
        page.contains("Pay the next part now (USD 1,097.27)"),
        "{page}"
    );
    let csrf = csrf_field(&page);
    let pressed = app
        .http
        .post(format!("{retainer}/next-part"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("pay the next part");
    assert_eq!(pressed.status(), 303);
    let second = pressed
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .expect("the next part's page")
        .to_string();
    assert_ne!(second, retainer);
    let next_page = app.portal_page(&second).await;
    assert!(next_page.contains("Due (this invoice)"), "{next_page}");
    assert!(
        next_page.contains("Pay <span class=\"amount\">USD 1,097.27</span>"),
        "{next_page}"
    );
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["parts"][1]["status"], "ISSUED", "{now}");

    // Installment 2 is billed and unpaid: the retainer's page links to it
    // and offers nothing ahead; pressing anyway is refused.
    let page = app.portal_page(&retainer).await;
    assert!(!page.contains("Pay the next part now"), "{page}");
    assert!(page.contains(&format!("href=\"{second}\"")), "{page}");
    let refused = app
        .http
        .post(format!("{retainer}/next-part"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("pay ahead again");
    assert_eq!(refused.status(), 409);
    let text = refused.text().await.unwrap_or_default();
    assert!(
        text.contains("is billed and not paid yet: it is paid first."),
        "{text}"
    );
    let forged = app
        .http
        .post(format!("{second}/next-part"))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .expect("a forged form");
    assert_eq!(forged.status(), 422);

    let paid = app.open_and_pay(&second, "4242 4242 4242 4242").await;
    assert_eq!(paid.status(), 303);
    app.drain().await;
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["parts"][1]["status"], "PAID", "{now}");
    assert_eq!(now["totalPaid"]["minorUnits"], 2 * 109_727, "{now}");

    // March 1, the part's own day: nothing billed or emailed again.
    let installments = app.count("invoices WHERE kind = 'INSTALLMENT'").await;
    let emails = app.emails_to(tests::INVOICE_EMAIL).len();
    bill_due_parts(&app, &clock, at(2027, 3, 1, 10, 0)).await;
    assert_eq!(
        app.count("invoices WHERE kind = 'INSTALLMENT'").await,
        installments
    );
    let again: Vec<_> = app.emails_to(tests::INVOICE_EMAIL)[emails..]
        .iter()
        .map(|e| e.subject.clone())
        .collect();
    assert_eq!(again, Vec::<String>::new());
}

/// Ava (auto-pay) hands the studio a check in January for her second part,
/// due on March 1: the studio bills it ahead and records the check. Nothing
/// is left to bill ahead, and on March 1 her card is not charged.
async fn a_part_billed_ahead_and_paid_by_check_is_not_charged_on_its_day(backend: Backend) {
    let Some((app, clock)) = app_at(backend, at(2027, 1, 4, 15, 0)).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let (session, _) = book_on_plan(
        &app,
        &f,
        &f.auto_pay_client,
        json!([{}, { "dueDate": "2027-03-01" }]),
    )
    .await;
    app.drain().await;
    assert_eq!(app.count("simulated_gateway_charges").await, 1);

    clock.set(at(2027, 1, 10, 9, 0));
    let billed = bill_next(&app, &f.key, &session).await;
    assert_eq!(billed["userErrors"], json!([]), "{billed}");
    let invoice = &billed["invoice"];
    assert_eq!(invoice["amountDue"]["minorUnits"], 164_591, "{billed}");
    pay_by_check(&app, &f.key, &invoice["id"], "1645.91", "check-204").await;
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["parts"][1]["status"], "PAID", "{now}");
    assert_eq!(now["remaining"]["minorUnits"], 0, "{now}");
    let nothing = bill_next(&app, &f.key, &session).await;
    assert_eq!(
        nothing["userErrors"],
        json!([{ "field": ["input", "sessionId"], "code": "INVALID_STATE",
            "message": "every part of this plan is billed already" }]),
        "{nothing}"
    );

    clock.set(at(2027, 3, 1, 10, 0));
    app.advance_scheduled_of("issue_plan_part:").await;
    app.advance_scheduled_of("charge:").await;
    app.drain().await;
    assert_eq!(app.count("simulated_gateway_charges").await, 1, "no charge");
    assert_eq!(app.count("payments").await, 2);
}

/// Noah pays his retainer by check; his second and third parts are both
/// billed (February 1 and March 1) and unpaid. Pressing Pay on the third part's page is refused, naming the
/// second, with nothing opened at the gateway; once the second is paid, the
/// third is paid as usual.
async fn the_portal_takes_money_for_the_oldest_open_part_first(backend: Backend) {
    let Some((app, clock)) = app_at(backend, at(2027, 1, 4, 15, 0)).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let (session, _) = book_on_plan(
        &app,
        &f,
        &f.invoice_client,
        json!([{}, { "dueDate": "2027-02-01" }, { "dueDate": "2027-03-01" }]),
    )
    .await;
    app.drain().await;
    let retainer = plan(&app, &f.key, &session).await["parts"][0]["invoiceId"].clone();
    pay_by_check(&app, &f.key, &retainer, "1097.27", "#100").await;
    for day in [at(2027, 2, 1, 10, 0), at(2027, 3, 1, 10, 0)] {
        bill_due_parts(&app, &clock, day).await;
    }
    let link = |n: usize| {
        app.email_to_saying(tests::INVOICE_EMAIL, &format!("Installment {n} of 3"))
            .portal_link()
            .expect("the installment's portal link")
    };
    let (second, third) = (link(2), link(3));
    let refused = app.press_pay(&third, false).await;
    assert_eq!(refused.status(), 409);
    let page = refused.text().await.unwrap_or_default();
    assert!(page.contains("Installment 2 (invoice "), "{page}");
    assert!(
        page.contains("is billed and not paid yet: it is paid first."),
        "{page}"
    );
    assert!(page.contains(&format!("href=\"{second}\"")), "{page}");
    assert_eq!(app.count("simulated_checkout_sessions").await, 0);

    let paid = app.open_and_pay(&second, "4242 4242 4242 4242").await;
    assert_eq!(paid.status(), 303);
    app.drain().await;
    let paid = app.open_and_pay(&third, "4242 4242 4242 4242").await;
    assert_eq!(paid.status(), 303);
    app.drain().await;
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["parts"][2]["status"], "PAID", "{now}");
}
