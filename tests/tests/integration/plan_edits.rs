//! Issue 19, item 5: editing a plan's future parts keeps the client
//! enrolled, moves each part's billing to its new day, sends one "schedule
//! updated" email, and never touches a part already billed or paid.

use super::installments::{app_at, at, bill_due_parts, book_on_plan, part_ids, plan};
use serde_json::{Value, json};
use tests::{Backend, TestApp};

on_both_backends!(
    an_edit_keeps_auto_pay_and_charges_the_new_amount_on_the_new_day,
    an_edit_adds_and_removes_future_parts_and_never_a_billed_one,
);

async fn edit(app: &TestApp, key: &str, session: &str, parts: Value) -> Value {
    let data = app
        .gql(
            key,
            "mutation($i: EditPaymentPlanInput!) { editPaymentPlan(input: $i) {
                paymentPlan { id parts { seq status dueDate amount { minorUnits } } }
                userErrors { field code message } } }",
            json!({ "i": { "sessionId": session, "parts": parts } }),
        )
        .await;
    data["editPaymentPlan"].clone()
}

fn codes(payload: &Value) -> Vec<String> {
    payload["userErrors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["code"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

async fn issue_rows(app: &TestApp) -> Vec<(String, chrono::DateTime<chrono::Utc>)> {
    let mut rows: Vec<_> = app
        .scheduled()
        .await
        .into_iter()
        .filter(|(key, _)| key.starts_with("issue_plan_part:"))
        .collect();
    rows.sort();
    rows
}

fn schedule_emails(app: &TestApp, to: &str) -> Vec<tests::SentEmail> {
    app.emails_to(to)
        .into_iter()
        .filter(|e| e.subject.contains("payment schedule"))
        .collect()
}

/// Ava (auto-pay) books the wedding (USD 3,291.82) with 30 % at booking,
/// 30 % on March 1 and the rest on May 1; the retainer (987.55) is charged
/// at once. On January 10 the studio moves the second part to February 15
/// for USD 1,200.00 and the third to May 20 (the rest, 1,104.27): refusals
/// first, with nothing written; then the edit, in place, with one email.
/// The second part is noticed on February 8 and charged on February 15 for
/// the new amount to the same card; its old day bills nothing; a paid part
/// cannot be edited.
async fn an_edit_keeps_auto_pay_and_charges_the_new_amount_on_the_new_day(backend: Backend) {
    let Some((app, clock)) = app_at(backend, at(2027, 1, 4, 15, 0)).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let (session, plan_id) = book_on_plan(
        &app,
        &f,
        &f.auto_pay_client,
        json!([
            { "percent": "30" },
            { "percent": "30", "dueDate": "2027-03-01" },
            { "dueDate": "2027-05-01" }
        ]),
    )
    .await;
    app.drain().await;
    let ids = part_ids(&app).await;
    let before = plan(&app, &f.key, &session).await;
    let emails_before = app.emails_to(tests::AUTO_PAY_EMAIL).len();

    clock.set(at(2027, 1, 10, 9, 0));
    let refused = [
        (
            json!([{ "amount": "1000.00", "dueDate": "2027-02-15" }]),
            "PARTS_DO_NOT_ADD_UP",
        ),
        (json!([{ "dueDate": "2027-01-09" }]), "DATE_IN_PAST"),
        (
            json!([{ "amount": "1200.00", "dueDate": "2027-04-01" }, { "dueDate": "2027-02-01" }]),
            "DATES_OUT_OF_ORDER",
        ),
        (
            json!([{ "amount": "0.10", "dueDate": "2027-02-15" }, { "dueDate": "2027-05-20" }]),
            "BELOW_MINIMUM",
        ),
    ];
    for (parts, code) in refused {
        let payload = edit(&app, &f.key, &session, parts).await;
        assert_eq!(codes(&payload), vec![code.to_string()], "{payload}");
    }
    assert_eq!(
        plan(&app, &f.key, &session).await,
        before,
        "nothing written"
    );

    let edited = edit(
        &app,
        &f.key,
        &session,
        json!([{ "amount": "1200.00", "dueDate": "2027-02-15" }, { "dueDate": "2027-05-20" }]),
    )
    .await;
    assert_eq!(edited["userErrors"], json!([]), "{edited}");
    assert_eq!(edited["paymentPlan"]["id"], plan_id, "the same plan");
    assert_eq!(
        edited["paymentPlan"]["parts"],
        json!([
            { "seq": 1, "status": "PAID", "dueDate": "2027-01-04", "amount": { "minorUnits": 98_755 } },
            { "seq": 2, "status": "SCHEDULED", "dueDate": "2027-02-15", "amount": { "minorUnits": 120_000 } },
            { "seq": 3, "status": "SCHEDULED", "dueDate": "2027-05-20", "amount": { "minorUnits": 110_427 } },
        ]),
        "{edited}"
    );
    assert_eq!(part_ids(&app).await, ids, "edited in place");
    assert_eq!(
        issue_rows(&app).await,
        vec![
            (
                format!("issue_plan_part:part:{}", ids[1]),
                at(2027, 2, 8, 10, 0)
            ),
            (
                format!("issue_plan_part:part:{}", ids[2]),
                at(2027, 5, 13, 10, 0)
            ),
        ],
        "each part is noticed a week before its new day"
    );
    app.drain().await;
    let mail = schedule_emails(&app, tests::AUTO_PAY_EMAIL);
    assert_eq!(mail.len(), 1, "one email for the edit");
    assert!(mail[0].says("Part 2 of 3"), "{}", mail[0].text);
    assert!(mail[0].says("USD 1,200.00"), "{}", mail[0].text);
    assert!(
        mail[0].says("due February 15, 2027, charged to Visa •••• 4242"),
        "{}",
        mail[0].text
    );
    assert_eq!(
        app.emails_to(tests::AUTO_PAY_EMAIL).len(),
        emails_before + 1,
        "no other email (no reminder) for the edit"
    );

    // February 8, 10:00: the notice of the new amount and day; February 15:
    // charged to the same card.
    bill_due_parts(&app, &clock, at(2027, 2, 8, 10, 0)).await;
    let notice = app.email_to_saying(tests::AUTO_PAY_EMAIL, "Installment 2 of 3");
    assert!(
        notice.says("We will charge Visa •••• 4242 USD 1,200.00 for it on February 15, 2027"),
        "{}",
        notice.text
    );
    // Part 2 is billed now: part 3 may not fall due before it.
    let before_billed = edit(&app, &f.key, &session, json!([{ "dueDate": "2027-02-12" }])).await;
    assert_eq!(
        codes(&before_billed),
        vec!["DATES_OUT_OF_ORDER"],
        "{before_billed}"
    );
    clock.set(at(2027, 2, 15, 10, 0));
    app.advance_scheduled_of("charge:").await;
    app.drain().await;
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["parts"][1]["status"], "PAID", "{now}");
    assert_eq!(now["parts"][1]["amountPaid"]["minorUnits"], 120_000);
    assert_eq!(
        app.count("payments WHERE status = 'SUCCEEDED' AND amount_minor = 120000")
            .await,
        1
    );
    assert_eq!(
        app.count("clients WHERE payment_preference = 'AUTO_PAY' AND pm_token IS NOT NULL")
            .await,
        1
    );

    // The second part's old day bills nothing more.
    clock.set(at(2027, 3, 1, 10, 0));
    app.advance_scheduled_of("issue_plan_part:").await;
    app.advance_scheduled_of("charge:").await;
    app.drain().await;
    assert_eq!(app.count("invoices WHERE kind = 'INSTALLMENT'").await, 2);
    assert_eq!(app.count("simulated_gateway_charges").await, 2);

    // The third part moves again: its step with it, one more email.
    let later = edit(&app, &f.key, &session, json!([{ "dueDate": "2027-05-25" }])).await;
    assert_eq!(later["userErrors"], json!([]), "{later}");
    assert_eq!(
        issue_rows(&app).await,
        vec![(
            format!("issue_plan_part:part:{}", ids[2]),
            at(2027, 5, 18, 10, 0)
        )]
    );
    app.drain().await;
    assert_eq!(schedule_emails(&app, tests::AUTO_PAY_EMAIL).len(), 2);
}

/// Noah (invoices by email) on a plan of three equal parts; the studio
/// splits the last two into three, then folds them back into one; the
/// removed part's billing step bills nothing on its day, and a part given
/// by an issued invoice cannot be edited.
async fn an_edit_adds_and_removes_future_parts_and_never_a_billed_one(backend: Backend) {
    let Some((app, clock)) = app_at(backend, at(2027, 1, 4, 15, 0)).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let (session, _) = book_on_plan(
        &app,
        &f,
        &f.invoice_client,
        json!([
            {}, { "dueDate": "2027-03-01" }, { "dueDate": "2027-05-01" }
        ]),
    )
    .await;
    app.drain().await;
    let first = plan(&app, &f.key, &session).await;
    assert_eq!(first["parts"][0]["status"], "ISSUED", "{first}");
    let future: i64 = first["parts"][1]["amount"]["minorUnits"]
        .as_i64()
        .unwrap_or(0)
        + first["parts"][2]["amount"]["minorUnits"]
            .as_i64()
            .unwrap_or(0);

    let three = edit(
        &app,
        &f.key,
        &session,
        json!([{ "dueDate": "2027-02-01" }, { "dueDate": "2027-03-01" }, { "dueDate": "2027-04-01" }]),
    )
    .await;
    assert_eq!(three["userErrors"], json!([]), "{three}");
    let parts = three["paymentPlan"]["parts"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(parts.len(), 4, "{three}");
    let split: i64 = parts[1..]
        .iter()
        .map(|p| p["amount"]["minorUnits"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(split, future, "the future parts ask for what they replaced");
    assert_eq!(parts[3]["seq"], 4);
    let added = *part_ids(&app).await.last().unwrap_or(&0);
    let one = edit(&app, &f.key, &session, json!([{ "dueDate": "2027-04-15" }])).await;
    assert_eq!(one["userErrors"], json!([]), "{one}");
    assert_eq!(
        one["paymentPlan"]["parts"].as_array().map(Vec::len),
        Some(2),
        "{one}"
    );
    assert_eq!(
        one["paymentPlan"]["parts"][1]["amount"]["minorUnits"],
        future
    );
    app.drain().await;
    // Two edits in a row: one email each at most (the first may be skipped
    // as superseded, or already on its way), and one tells the schedule as
    // it is now. With a worker running alongside, the two may arrive in
    // either order.
    let mail = schedule_emails(&app, tests::INVOICE_EMAIL);
    assert!(!mail.is_empty() && mail.len() <= 2, "{}", mail.len());
    let last = mail
        .iter()
        .find(|e| e.says("Part 2 of 2"))
        .expect("the email of the last edit");
    assert!(last.says("Part 2 of 2"), "{}", last.text);
    assert!(
        last.says("due April 15, 2027, invoiced by email"),
        "{}",
        last.text
    );
    assert!(last.says("Part 1 of 2"), "{}", last.text);

    // The removed part's day (April 1) bills nothing; April 15 bills the one.
    clock.set(at(2027, 4, 1, 10, 0));
    let gone = domain::billing::installments::issue_part(&app.ctx, added, None)
        .await
        .expect("the step");
    assert!(
        matches!(gone, domain::billing::installments::Issued::Nothing(_)),
        "{gone:?}"
    );
    bill_due_parts(&app, &clock, at(2027, 4, 15, 10, 0)).await;
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["parts"][1]["status"], "ISSUED", "{now}");
    assert_eq!(app.count("invoices WHERE kind = 'INSTALLMENT'").await, 2);
    let none_left = edit(&app, &f.key, &session, json!([{ "dueDate": "2027-05-01" }])).await;
    assert_eq!(codes(&none_left), vec!["INVALID_STATE"], "{none_left}");
}
