//! Issue 19, items 2 and 7: a payment plan collects itself. Each part is
//! billed on its day at the studio's hour as an installment invoice of its
//! own (charged to the card on file for an auto-pay client), never before
//! and never twice; completing the session nets the plan: the final invoice
//! credits each installment and bills only what was delivered on top.

use chrono::{DateTime, TimeZone, Utc};
use domain::AppContext;
use domain::billing::installments::{self, Issued};
use domain::kernel::clock::Clock;
use serde_json::{Value, json};
use std::sync::Arc;
use tests::{Backend, TestApp, spawn_app, spawn_app_full};

on_both_backends!(
    a_plan_collects_each_part_on_its_day_once_and_completion_nets_it,
    an_emailed_installment_is_paid_on_the_portal_and_a_voided_one_returns_to_the_balance,
    a_declined_part_stays_alone_and_parts_are_charged_at_the_local_hour_across_dst,
    the_demo_books_a_wedding_on_a_plan_and_bills_its_retainer,
    a_part_paid_by_hand_after_its_notice_is_not_charged,
    the_gallery_opens_in_full_only_once_every_installment_is_paid,
    a_studio_can_open_the_gallery_before_the_plan_is_paid,
    a_card_that_expires_before_its_charge_is_asked_for_again_with_the_notice,
);

pub(super) fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .expect("a valid instant")
}

/// The app with a manual clock standing at `start` (the simulated gateway
/// stamps its records with it too).
pub(super) async fn app_at(backend: Backend, start: DateTime<Utc>) -> Option<(TestApp, Clock)> {
    let clock = Clock::manual(start);
    let installed = clock.clone();
    let app = spawn_app_full(
        backend,
        |_| {},
        move |mut ctx| {
            ctx.gateway = Arc::new(AppContext::simulated_gateway(
                &ctx.settings,
                ctx.db.clone(),
                installed.clone(),
            ));
            ctx.clock = installed;
            ctx
        },
    )
    .await?;
    Some((app, clock))
}

pub(super) async fn plan(app: &TestApp, key: &str, session: &str) -> Value {
    let data = app
        .gql(
            key,
            "query($id: ID!) { session(id: $id) { paymentPlan { status totalPaid { minorUnits }
                remaining { minorUnits } parts { seq status amount { minorUnits }
                amountPaid { minorUnits } invoiceId invoiceNumber } } } }",
            json!({ "id": session }),
        )
        .await;
    data["session"]["paymentPlan"].clone()
}

pub(super) async fn part_ids(app: &TestApp) -> Vec<i64> {
    use sea_orm::{EntityTrait, QueryOrder};
    entity::payment_plan_part::Entity::find()
        .order_by_asc(entity::payment_plan_part::Column::Id)
        .all(&app.ctx.db)
        .await
        .expect("parts")
        .into_iter()
        .map(|p| p.id)
        .collect()
}

/// Sets the clock to `when` and runs the plan parts' billing steps due by
/// then.
pub(super) async fn bill_due_parts(app: &TestApp, clock: &Clock, when: DateTime<Utc>) {
    clock.set(when);
    app.advance_scheduled_of("issue_plan_part:").await;
    app.drain().await;
}

/// `client` books the studio's wedding for June 12, 2027 on a plan of
/// `parts` (the `setPaymentPlan` grammar); returns the session's id and the
/// plan's.
pub(super) async fn book_on_plan(
    app: &TestApp,
    f: &tests::Fixture,
    client: &str,
    parts: Value,
) -> (String, Value) {
    let session = app
        .schedule_wedding_on(
            &f.key,
            client,
            &f.package,
            &f.add_on,
            "0",
            "2027-06-12T15:00:00Z",
        )
        .await;
    let set = app
        .gql(
            &f.key,
            "mutation($i: SetPaymentPlanInput!) { setPaymentPlan(input: $i) {
                paymentPlan { id } userErrors { code message } } }",
            json!({ "i": { "sessionId": session, "parts": parts } }),
        )
        .await;
    assert_eq!(set["setPaymentPlan"]["userErrors"], json!([]), "{set}");
    (session, set["setPaymentPlan"]["paymentPlan"]["id"].clone())
}

/// Ava (auto-pay, card on file) books the wedding (USD 3,291.82) for June
/// 12, 2027 with 30 % at booking, 30 % on March 1 and the rest on May 1.
/// The retainer is charged at once; the second part is issued as the
/// notice a week before its day (not at 9:59: the studio bills at 10:00),
/// a replay bills nothing, and it is charged on March 1 at 10:00; completing the session on April 15 folds the third
/// part into the final invoice, which credits the two installments and
/// bills the rest: 1,316.72.
async fn a_plan_collects_each_part_on_its_day_once_and_completion_nets_it(backend: Backend) {
    let Some((app, clock)) = app_at(backend, at(2027, 1, 4, 15, 0)).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let (session, _) = book_on_plan(
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
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["parts"][0]["status"], "PAID", "{now}");
    assert_eq!(now["parts"][0]["amountPaid"]["minorUnits"], 98_755);
    assert_eq!(now["parts"][1]["status"], "SCHEDULED");
    assert_eq!(now["totalPaid"]["minorUnits"], 98_755);
    assert_eq!(now["remaining"]["minorUnits"], 329_182 - 98_755);
    assert_eq!(app.count("payments WHERE status = 'SUCCEEDED'").await, 1);
    assert_eq!(app.count("invoices WHERE kind = 'INSTALLMENT'").await, 1);
    // The others are issued as the notice 7 days before 10:00 on their day,
    // in the studio's zone (UTC).
    let mut waiting: Vec<(String, DateTime<Utc>)> = app
        .scheduled()
        .await
        .into_iter()
        .filter(|(key, _)| key.starts_with("issue_plan_part:"))
        .collect();
    waiting.sort();
    assert_eq!(
        waiting,
        vec![
            (
                format!("issue_plan_part:part:{}", ids[1]),
                at(2027, 2, 22, 10, 0)
            ),
            (
                format!("issue_plan_part:part:{}", ids[2]),
                at(2027, 4, 24, 10, 0)
            ),
        ]
    );

    // 9:59 on February 22: a run of the step bills nothing yet.
    clock.set(at(2027, 2, 22, 9, 59));
    let early = installments::issue_part(&app.ctx, ids[1], None)
        .await
        .expect("the step");
    assert_eq!(early, Issued::NotYet(at(2027, 2, 22, 10, 0)));
    assert_eq!(app.count("invoices WHERE kind = 'INSTALLMENT'").await, 1);
    // 10:00: issued and emailed as the notice, naming the card and the day;
    // the charge waits for March 1 at 10:00; the step again bills nothing.
    bill_due_parts(&app, &clock, at(2027, 2, 22, 10, 0)).await;
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["parts"][1]["status"], "ISSUED", "{now}");
    assert!(now["parts"][1]["invoiceNumber"].is_string(), "{now}");
    let notice = app.email_to_saying(tests::AUTO_PAY_EMAIL, "Installment 2 of 3");
    assert!(
        notice.says("We will charge Visa •••• 4242 USD 987.55 for it on March 1, 2027"),
        "{}",
        notice.text
    );
    let charge: Vec<_> = app
        .scheduled()
        .await
        .into_iter()
        .filter(|(key, _)| key.starts_with("charge:"))
        .map(|(_, when)| when)
        .collect();
    assert_eq!(charge, vec![at(2027, 3, 1, 10, 0)]);
    let again = installments::issue_part(&app.ctx, ids[1], None)
        .await
        .expect("the step");
    assert!(matches!(again, Issued::Nothing(_)), "{again:?}");
    assert_eq!(app.count("payments").await, 1);
    clock.set(at(2027, 3, 1, 10, 0));
    app.advance_scheduled_of("charge:").await;
    app.drain().await;
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["parts"][1]["status"], "PAID", "{now}");
    assert_eq!(app.count("payments WHERE status = 'SUCCEEDED'").await, 2);
    assert_eq!(app.count("invoices WHERE kind = 'INSTALLMENT'").await, 2);
    // Each receipt says where Ava stands on the plan, in the email and the PDF.
    let receipts: Vec<_> = app
        .emails_to(tests::AUTO_PAY_EMAIL)
        .into_iter()
        .filter(|e| e.subject.starts_with("Receipt"))
        .collect();
    assert_eq!(receipts.len(), 2);
    let first = "Installment 1 of 3 — USD 2,304.27 remaining, due March 1, 2027";
    let second = "Installment 2 of 3 — USD 1,316.72 remaining, due May 1, 2027";
    for (receipt, standing) in receipts.iter().zip([first, second]) {
        assert!(receipt.says(standing), "{}", receipt.text);
        let pdf = crate::pdf_text(&receipt.attachments[0].1);
        assert!(pdf.contains(standing), "{pdf}");
    }

    // Completed on April 15, before the third part's day.
    clock.set(at(2027, 4, 15, 12, 0));
    let done = app.complete_session(&f.key, &session).await;
    assert!(done.get("errors").is_none(), "{done}");
    app.drain().await;
    let invoice = app
        .gql(
            &f.key,
            "query($id: ID!) { session(id: $id) { invoice { kind number total { minorUnits }
                retainerCredit { minorUnits } planCredit { minorUnits } amountDue { minorUnits }
                status } } }",
            json!({ "id": session }),
        )
        .await["session"]["invoice"]
        .clone();
    assert_eq!(invoice["kind"], "FINAL", "{invoice}");
    assert_eq!(invoice["planCredit"]["minorUnits"], 2 * 98_755);
    assert_eq!(invoice["retainerCredit"]["minorUnits"], 2 * 98_755);
    assert_eq!(invoice["total"]["minorUnits"], 329_182 - 2 * 98_755);
    // Auto-pay: the rest is charged at once.
    assert_eq!(invoice["status"], "PAID", "{invoice}");
    assert_eq!(app.count("payments WHERE status = 'SUCCEEDED'").await, 3);
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["status"], "COMPLETED", "{now}");
    assert_eq!(now["parts"][2]["status"], "FOLDED");
    // May 1 comes: the folded part is not billed.
    bill_due_parts(&app, &clock, at(2027, 5, 1, 10, 0)).await;
    assert_eq!(app.count("invoices WHERE kind = 'INSTALLMENT'").await, 2);
    assert_eq!(app.count("payments WHERE status = 'SUCCEEDED'").await, 3);
    // Only the final invoice's receipt names the credits: one row each.
    let last = app
        .emails_to(tests::AUTO_PAY_EMAIL)
        .into_iter()
        .rev()
        .find(|e| e.says("Installment 1 of 3"))
        .expect("an email crediting the installments");
    assert!(last.says("Installment 2 of 3"), "{}", last.text);
}

async fn void(app: &TestApp, key: &str, invoice: &str) -> Value {
    app.gql(
        key,
        "mutation($i: VoidInvoiceInput!) { voidInvoice(input: $i) {
            invoice { status } userErrors { field code message } } }",
        json!({ "i": { "invoiceId": invoice, "reason": "to be paid with the balance" } }),
    )
    .await["voidInvoice"]
        .clone()
}

/// Noah (invoice client) books the wedding with three equal parts: at
/// booking, February 1 and March 1 (1,097.27, 1,097.27, 1,097.28). Each is
/// emailed on its day as "Installment N of 3" with its own portal link,
/// due that day; he pays the first on the portal and its part is `PAID`.
/// The studio voids the third (it will be paid with the balance): its part
/// goes back to the balance, and completion folds it, so the final invoice
/// credits the first two installments (one paid, one still billed by its
/// own invoice) and bills 1,097.28. The second can no longer be voided:
/// the final invoice credits it.
async fn an_emailed_installment_is_paid_on_the_portal_and_a_voided_one_returns_to_the_balance(
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
        json!([
            {}, { "dueDate": "2027-02-01" }, { "dueDate": "2027-03-01" }
        ]),
    )
    .await;
    app.drain().await;
    let first = app.email_to_saying(tests::INVOICE_EMAIL, "Installment 1 of 3");
    assert!(first.says("USD 1,097.27"), "{}", first.text);
    let link = first.portal_link().expect("a portal link");
    let paid = app.open_and_pay(&link, "4242 4242 4242 4242").await;
    assert_eq!(paid.status(), 303);
    app.drain().await;
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["parts"][0]["status"], "PAID", "{now}");
    assert_eq!(now["parts"][0]["amountPaid"]["minorUnits"], 109_727);
    assert_eq!(now["totalPaid"]["minorUnits"], 109_727);

    for (day, n) in [((2027, 2, 1), 2), ((2027, 3, 1), 3)] {
        bill_due_parts(&app, &clock, at(day.0, day.1, day.2, 10, 0)).await;
        let sent = app
            .emails_to(tests::INVOICE_EMAIL)
            .into_iter()
            .filter(|e| e.says(&format!("Installment {n} of 3")))
            .count();
        assert_eq!(sent, 1, "installment {n} emailed once");
    }
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["parts"][1]["status"], "ISSUED", "{now}");
    assert_eq!(now["parts"][2]["status"], "ISSUED", "{now}");
    let third = now["parts"][2]["invoiceId"]
        .as_str()
        .expect("the third part's invoice")
        .to_string();
    let voided = void(&app, &f.key, &third).await;
    assert_eq!(voided["userErrors"], json!([]), "{voided}");
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["parts"][2]["status"], "SCHEDULED", "{now}");
    assert_eq!(now["parts"][2]["invoiceId"], Value::Null, "{now}");

    clock.set(at(2027, 4, 15, 12, 0));
    let done = app.complete_session(&f.key, &session).await;
    assert!(done.get("errors").is_none(), "{done}");
    app.drain().await;
    let invoice = app
        .gql(
            &f.key,
            "query($id: ID!) { session(id: $id) { invoice { kind total { minorUnits }
                planCredit { minorUnits } status } } }",
            json!({ "id": session }),
        )
        .await["session"]["invoice"]
        .clone();
    assert_eq!(invoice["kind"], "FINAL", "{invoice}");
    assert_eq!(invoice["planCredit"]["minorUnits"], 2 * 109_727);
    assert_eq!(invoice["total"]["minorUnits"], 109_728);
    assert_eq!(invoice["status"], "OPEN");
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["status"], "COMPLETED", "{now}");
    assert_eq!(now["parts"][2]["status"], "FOLDED", "{now}");
    let last = app
        .emails_to(tests::INVOICE_EMAIL)
        .into_iter()
        .rev()
        .find(|e| e.says("Installment 2 of 3"))
        .expect("the final invoice's email");
    assert!(last.says("Installment 1 of 3"), "{}", last.text);
    assert!(!last.says("Installment 3 of 3"), "{}", last.text);

    let second = now["parts"][1]["invoiceId"]
        .as_str()
        .expect("the second part's invoice")
        .to_string();
    let refused = void(&app, &f.key, &second).await;
    assert_eq!(
        refused["userErrors"][0]["code"], "INVALID_STATE",
        "{refused}"
    );
    assert_eq!(app.count("invoices WHERE status = 'VOID'").await, 1);
}

/// A studio in New York bills plan parts at 10:00 local, without notice
/// days (the part is issued and charged at that moment). Ava's card on file
/// declines: the retainer's charge fails and is retried on the usual
/// schedule (the invoice email says so), while the later parts stay
/// scheduled, untouched. With a new card the retry pays the retainer. The
/// part due March 13, 2027 (EST, UTC-5) is charged at 15:00 UTC; the one
/// due March 14, the day clocks change (EDT, UTC-4), at 14:00 UTC, and not
/// at 13:59 even when its step runs early.
async fn a_declined_part_stays_alone_and_parts_are_charged_at_the_local_hour_across_dst(
    backend: Backend,
) {
    let Some((app, clock)) = app_at(backend, at(2027, 1, 4, 15, 0)).await else {
        return;
    };
    let f = app
        .seed_studio_with_card("Golden Hour", "pm_card_chargeDeclinedInsufficientFunds")
        .await;
    let zone = app
        .gql(
            &f.key,
            "mutation($i: UpdateStudioSettingsInput!) { updateStudioSettings(input: $i) {
                studio { planChargeHour } userErrors { field code } } }",
            json!({ "i": { "timeZone": "America/New_York", "planChargeHour": 10, "planNoticeDays": 0 } }),
        )
        .await;
    assert_eq!(
        zone["updateStudioSettings"]["userErrors"],
        json!([]),
        "{zone}"
    );
    let refused = app
        .gql(
            &f.key,
            "mutation($i: UpdateStudioSettingsInput!) { updateStudioSettings(input: $i) {
                userErrors { field code } } }",
            json!({ "i": { "planChargeHour": 24 } }),
        )
        .await;
    assert_eq!(
        refused["updateStudioSettings"]["userErrors"],
        json!([{ "field": ["input", "planChargeHour"], "code": "INVALID_INPUT" }])
    );
    let (session, _) = book_on_plan(
        &app,
        &f,
        &f.auto_pay_client,
        json!([
            {}, { "dueDate": "2027-03-13" }, { "dueDate": "2027-03-14" }
        ]),
    )
    .await;
    app.drain().await;
    let ids = part_ids(&app).await;
    // Declined: emailed instead, retried tomorrow; the rest untouched.
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["parts"][0]["status"], "ISSUED", "{now}");
    assert_eq!(now["parts"][1]["status"], "SCHEDULED", "{now}");
    assert_eq!(now["parts"][2]["status"], "SCHEDULED", "{now}");
    let told = app.email_to_saying(tests::AUTO_PAY_EMAIL, "Installment 1 of 3");
    assert!(told.says("We will try your card again on"), "{}", told.text);
    let mut waiting: Vec<(String, DateTime<Utc>)> = app
        .scheduled()
        .await
        .into_iter()
        .filter(|(key, _)| key.starts_with("issue_plan_part:") || key.starts_with("charge:"))
        .collect();
    waiting.sort();
    assert_eq!(waiting.len(), 3, "{waiting:?}");
    assert!(waiting[0].0.ends_with(":attempt:2"), "{waiting:?}");
    assert_eq!(
        waiting[1..],
        [
            (
                format!("issue_plan_part:part:{}", ids[1]),
                at(2027, 3, 13, 15, 0)
            ),
            (
                format!("issue_plan_part:part:{}", ids[2]),
                at(2027, 3, 14, 14, 0)
            ),
        ]
    );

    // A new card; the retry pays the retainer, and only the retainer.
    app.attach_card(&f.key, &f.auto_pay_client, "pm_card_visa")
        .await;
    clock.set(at(2027, 1, 5, 15, 0));
    app.advance_scheduled_of("charge:").await;
    app.drain().await;
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["parts"][0]["status"], "PAID", "{now}");
    assert_eq!(now["parts"][1]["status"], "SCHEDULED", "{now}");
    assert_eq!(app.count("payments WHERE status = 'SUCCEEDED'").await, 1);

    // March 13, 15:00 UTC: the second part. Its step and the third's run;
    // the third is early and waits for its own moment.
    bill_due_parts(&app, &clock, at(2027, 3, 13, 15, 0)).await;
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["parts"][1]["status"], "PAID", "{now}");
    assert_eq!(now["parts"][2]["status"], "SCHEDULED", "{now}");
    let third: Vec<_> = app
        .scheduled()
        .await
        .into_iter()
        .filter(|(key, _)| key.starts_with("issue_plan_part:"))
        .collect();
    assert_eq!(
        third,
        vec![(
            format!("issue_plan_part:part:{}", ids[2]),
            at(2027, 3, 14, 14, 0)
        )]
    );
    clock.set(at(2027, 3, 14, 13, 59));
    let early = installments::issue_part(&app.ctx, ids[2], None)
        .await
        .expect("the step");
    assert_eq!(early, Issued::NotYet(at(2027, 3, 14, 14, 0)));
    bill_due_parts(&app, &clock, at(2027, 3, 14, 14, 0)).await;
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["parts"][2]["status"], "PAID", "{now}");
    assert_eq!(now["remaining"]["minorUnits"], 0, "{now}");
    assert_eq!(app.count("payments WHERE status = 'SUCCEEDED'").await, 3);
}

/// `seed-demo` books Mia's wedding (USD 3,484.00 with NY tax) four months
/// ahead on the package's default plan: 1,219.40 at booking, 1,219.40 60
/// days before, 1,045.20 14 days before. Once the worker has run, the
/// retainer is billed and emailed to Mia with its portal link.
async fn the_demo_books_a_wedding_on_a_plan_and_bills_its_retainer(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let demo = domain::app::seed::seed_demo(&app.ctx)
        .await
        .expect("seed the demo");
    assert!(
        demo.summary().contains("payment plan"),
        "{}",
        demo.summary()
    );
    app.drain().await;
    let now = plan(&app, &demo.api_key, &demo.plan_session_id.to_string()).await;
    let amounts: Vec<i64> = now["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .map(|p| p["amount"]["minorUnits"].as_i64().expect("an amount"))
        .collect();
    assert_eq!(amounts, vec![121_940, 121_940, 104_520], "{now}");
    assert_eq!(now["parts"][0]["status"], "ISSUED", "{now}");
    assert_eq!(now["parts"][1]["status"], "SCHEDULED", "{now}");
    let email = app.email_to_saying("mia@example.com", "Installment 1 of 3");
    assert!(email.says("USD 1,219.40"), "{}", email.text);
    assert!(
        email.says("For your booking “Mia & Leo's wedding”, as your payment plan says"),
        "{}",
        email.text
    );
    assert!(email.portal_link().is_some(), "{}", email.text);
}

/// The standard's case: Ava is sent the notice of her second part (USD
/// 1,645.91, due March 1) on February 22; on the 25th she pays it by check
/// and the studio records it. On March 1 the charge finds nothing due: no
/// gateway call, no second payment, and the part is `PAID` once.
async fn a_part_paid_by_hand_after_its_notice_is_not_charged(backend: Backend) {
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
    bill_due_parts(&app, &clock, at(2027, 2, 22, 10, 0)).await;
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["parts"][1]["status"], "ISSUED", "{now}");
    let second = now["parts"][1]["invoiceId"]
        .as_str()
        .expect("the notice's invoice")
        .to_string();

    clock.set(at(2027, 2, 25, 12, 0));
    let paid = app
        .gql(
            &f.key,
            "mutation($i: RecordManualPaymentInput!) { recordManualPayment(input: $i) {
                payment { status } userErrors { field code message } } }",
            json!({ "i": { "invoiceId": second, "amount": "1645.91", "method": "CHECK",
                "reference": "#311", "idempotencyKey": "check-311" } }),
        )
        .await;
    assert_eq!(
        paid["recordManualPayment"]["userErrors"],
        json!([]),
        "{paid}"
    );
    app.drain().await;
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["parts"][1]["status"], "PAID", "{now}");
    assert_eq!(now["remaining"]["minorUnits"], 0, "{now}");

    clock.set(at(2027, 3, 1, 10, 0));
    app.advance_scheduled_of("charge:").await;
    app.drain().await;
    assert_eq!(app.count("simulated_gateway_charges").await, 1, "no charge");
    assert_eq!(app.count("payments").await, 2);
    assert_eq!(app.count("payments WHERE status = 'SUCCEEDED'").await, 2);
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["parts"][1]["status"], "PAID", "{now}");
    assert_eq!(now["totalPaid"]["minorUnits"], 329_182, "{now}");
}

pub(super) async fn pay_by_check(
    app: &TestApp,
    key: &str,
    invoice: &Value,
    amount: &str,
    check: &str,
) {
    let paid = app
        .gql(
            key,
            "mutation($i: RecordManualPaymentInput!) { recordManualPayment(input: $i) {
                userErrors { field code message } } }",
            json!({ "i": { "invoiceId": invoice, "amount": amount, "method": "CHECK",
                "reference": check, "idempotencyKey": check } }),
        )
        .await;
    assert_eq!(
        paid["recordManualPayment"]["userErrors"],
        json!([]),
        "{paid}"
    );
    app.drain().await;
}

/// The session's gallery level and its final invoice's state.
pub(super) async fn gallery_level(app: &TestApp, key: &str, session: &str) -> Value {
    app.gql(
        key,
        "query($id: ID!) { session(id: $id) { galleryAccess { level }
            invoice { status amountDue { minorUnits } } } }",
        json!({ "id": session }),
    )
    .await["session"]
        .clone()
}

/// The studio's one final invoice, as stored (its plan credits).
pub(super) async fn final_invoice(app: &TestApp) -> entity::invoice::Model {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    entity::invoice::Entity::find()
        .filter(entity::invoice::Column::Kind.eq(entity::enums::InvoiceKind::Final))
        .one(&app.ctx.db)
        .await
        .expect("final invoice")
        .expect("the final invoice")
}

/// Noah (invoices by email) pays his retainer by check; the second half is
/// invoiced on March 1 and still open when the session is completed on
/// March 5. The final invoice credits both halves and asks for nothing
/// more, so it is paid at once. Returns the session and the second
/// installment's invoice.
async fn complete_with_an_installment_open(
    app: &TestApp,
    clock: &Clock,
    f: &tests::Fixture,
) -> (String, Value) {
    let (session, _) = book_on_plan(
        app,
        f,
        &f.invoice_client,
        json!([{}, { "dueDate": "2027-03-01" }]),
    )
    .await;
    app.drain().await;
    let now = plan(app, &f.key, &session).await;
    pay_by_check(
        app,
        &f.key,
        &now["parts"][0]["invoiceId"],
        "1645.91",
        "#101",
    )
    .await;
    bill_due_parts(app, clock, at(2027, 3, 1, 10, 0)).await;
    let now = plan(app, &f.key, &session).await;
    assert_eq!(now["parts"][1]["status"], "ISSUED", "{now}");
    let second = now["parts"][1]["invoiceId"].clone();
    clock.set(at(2027, 3, 5, 12, 0));
    let done = app.complete_session(&f.key, &session).await;
    assert!(done.get("errors").is_none(), "{done}");
    app.drain().await;
    (session, second)
}

/// With an installment still open at completion, the gallery stays at the
/// partly-paid level although the final invoice is paid; paying the
/// installment opens it in full.
async fn the_gallery_opens_in_full_only_once_every_installment_is_paid(backend: Backend) {
    let Some((app, clock)) = app_at(backend, at(2027, 1, 4, 15, 0)).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let (session, second) = complete_with_an_installment_open(&app, &clock, &f).await;
    let held = gallery_level(&app, &f.key, &session).await;
    assert_eq!(held["invoice"]["status"], "PAID", "{held}");
    assert_eq!(held["galleryAccess"]["level"], "PREVIEW", "{held}");

    pay_by_check(&app, &f.key, &second, "1645.91", "#102").await;
    let open = gallery_level(&app, &f.key, &session).await;
    assert_eq!(open["galleryAccess"]["level"], "FULL", "{open}");
}

/// A studio whose gallery policy does not wait for the plan
/// (`waitsForPlan: false`) opens the same gallery in full with the paid
/// final invoice, the installment still open.
async fn a_studio_can_open_the_gallery_before_the_plan_is_paid(backend: Backend) {
    let Some((app, clock)) = app_at(backend, at(2027, 1, 4, 15, 0)).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let set = app
        .gql(
            &f.key,
            "mutation { updateGalleryPolicy(input: { waitsForPlan: false }) {
                policy { waitsForPlan } userErrors { message } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        set["updateGalleryPolicy"]["policy"]["waitsForPlan"], false,
        "{set}"
    );
    let (session, _) = complete_with_an_installment_open(&app, &clock, &f).await;
    let open = gallery_level(&app, &f.key, &session).await;
    assert_eq!(open["invoice"]["status"], "PAID", "{open}");
    assert_eq!(open["galleryAccess"]["level"], "FULL", "{open}");
}

/// Ava's card expires at the end of February 2027; her second part is
/// charged on March 1. The notice (February 22) says so and a card-setup
/// link goes out with it, once: a replay of the step asks for nothing more.
async fn a_card_that_expires_before_its_charge_is_asked_for_again_with_the_notice(
    backend: Backend,
) {
    use sea_orm::ConnectionTrait;
    let Some((app, clock)) = app_at(backend, at(2027, 1, 4, 15, 0)).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.ctx
        .db
        .execute_unprepared(
            "UPDATE clients SET pm_exp_month = 2, pm_exp_year = 2027 WHERE email = 'ava@example.com'",
        )
        .await
        .expect("the card's expiry");
    let _booked = book_on_plan(
        &app,
        &f,
        &f.auto_pay_client,
        json!([{}, { "dueDate": "2027-03-01" }]),
    )
    .await;
    app.drain().await;
    assert_eq!(
        app.count("card_setups").await,
        0,
        "the card works on the retainer's day"
    );
    bill_due_parts(&app, &clock, at(2027, 2, 22, 10, 0)).await;
    assert_eq!(app.count("card_setups").await, 1);
    let emails = app.emails_to(tests::AUTO_PAY_EMAIL);
    let notice = emails
        .iter()
        .find(|e| e.says("Installment 2 of 2"))
        .expect("the notice");
    assert!(
        notice.says(
            "Your card expires before then (02/2027): we are sending you a link to save a new one."
        ),
        "{}",
        notice.text
    );
    let links = emails
        .iter()
        .filter(|e| e.subject.starts_with("Save a card"))
        .count();
    assert_eq!(links, 1);
    let part = part_ids(&app).await[1];
    let again = installments::issue_part(&app.ctx, part, None)
        .await
        .expect("the step");
    assert!(matches!(again, Issued::Nothing(_)), "{again:?}");
    app.drain().await;
    assert_eq!(app.count("card_setups").await, 1);
}
