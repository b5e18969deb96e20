//! Follow-up of unpaid invoices: reminders at 9:00 local time on their days,
//! across a daylight-saving change, each sent once; a late fee once; the
//! final notice; then uncollectible. Payment stops it at once. A manual
//! clock stands in for weeks passing.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use domain::kernel::clock::Clock;
use entity::enums::OutboxStatus;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tests::{Backend, INVOICE_EMAIL, TestApp, spawn_app_full};

on_both_backends!(
    an_unpaid_invoice_gets_its_reminders_across_a_dst_change_then_becomes_uncollectible,
    paying_stops_the_reminders_and_a_late_step_waits_for_the_window,
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

/// 9:00 on `date` in `tz`, computed independently of the code under test.
fn nine_local(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    tz.with_ymd_and_hms(date.year(), date.month(), date.day(), 9, 0, 0)
        .single()
        .expect("9:00 exists and is unambiguous")
        .with_timezone(&Utc)
}

/// The first local date after `after` on which the zone's UTC offset changes.
fn next_dst_change(tz: Tz, after: NaiveDate) -> NaiveDate {
    let offset = |d: NaiveDate| {
        tz.from_utc_datetime(&d.and_hms_opt(12, 0, 0).unwrap())
            .offset()
            .fix()
    };
    let mut day = after;
    while offset(day) == offset(day.succ_opt().unwrap()) {
        day = day.succ_opt().unwrap();
    }
    day.succ_opt().unwrap()
}

const INVOICE: &str = "query($id: ID!) { session(id: $id) { invoice {
    id status dueDate total { minorUnits } amountDue { minorUnits }
    lines { kind description amount { minorUnits } }
    reminders { step kind daysFromDue scheduledAt sentAt }
    auditTrail { event actor amountMinor }
} } }";

async fn invoice(app: &TestApp, key: &str, session: &str) -> Value {
    app.gql(key, INVOICE, json!({ "id": session })).await["session"]["invoice"].clone()
}

async fn settings(app: &TestApp, key: &str, input: Value) -> Value {
    let body = app
        .gql(
            key,
            "mutation($i: UpdateStudioSettingsInput!) { updateStudioSettings(input: $i) {
                userErrors { field message } } }",
            json!({ "i": input }),
        )
        .await;
    assert_eq!(
        body["updateStudioSettings"]["userErrors"],
        json!([]),
        "{body}"
    );
    body
}

async fn policy(app: &TestApp, key: &str, input: Value) -> Value {
    app.gql(
        key,
        "mutation($i: UpdateReminderPolicyInput!) { updateReminderPolicy(input: $i) {
            policy { enabled offsetsDays windowStartHour windowEndHour
                     lateFee { fixed { minorUnits } percent cap { minorUnits } } uncollectibleAfterDays }
            userErrors { field message code } } }",
        json!({ "i": input }),
    )
    .await["updateReminderPolicy"]
        .clone()
}

/// The due time of an invoice's scheduled reminder step, if one is waiting.
async fn scheduled_step(app: &TestApp, invoice_id: &str, step: u32) -> Option<DateTime<Utc>> {
    let key = format!("reminder_step:invoice:{invoice_id}:step:{step}");
    app.scheduled()
        .await
        .into_iter()
        .find(|(k, _)| *k == key)
        .map(|(_, at)| at)
}

fn reminder_emails(app: &TestApp) -> Vec<String> {
    app.emails_to(INVOICE_EMAIL)
        .into_iter()
        .map(|e| e.subject)
        .filter(|s| s.starts_with("Reminder") || s.starts_with("Final notice"))
        .collect()
}

/// Lets the clock reach `at`, makes what is scheduled due, and runs it.
async fn pass_time_to(app: &TestApp, clock: &Clock, at: DateTime<Utc>) {
    clock.set(at);
    app.advance_scheduled().await;
    app.drain().await;
}

async fn an_unpaid_invoice_gets_its_reminders_across_a_dst_change_then_becomes_uncollectible(
    backend: Backend,
) {
    let Some((app, clock)) = app_with_clock(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let tz: Tz = "America/New_York".parse().unwrap();
    let today = Utc::now().with_timezone(&tz).date_naive();
    // Due two days before the next change of clocks: the reminder 3 days
    // after the due date is on the other side of it.
    let change = next_dst_change(tz, today + Duration::days(7));
    let due = change - Duration::days(2);
    settings(
        &app,
        &f.key,
        json!({ "timeZone": "America/New_York", "paymentTermsDays": (due - today).num_days() }),
    )
    .await;
    let set = policy(
        &app,
        &f.key,
        json!({ "lateFee": { "percent": "1.5", "cap": "50.00" }, "uncollectibleAfterDays": 7 }),
    )
    .await;
    assert_eq!(set["userErrors"], json!([]), "{set}");
    assert_eq!(set["policy"]["offsetsDays"], json!([-3, 0, 3, 7, 14]));

    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let issued = invoice(&app, &f.key, &f.invoice_session).await;
    let id = issued["id"].as_str().unwrap().to_string();
    assert_eq!(issued["dueDate"], due.to_string());
    let days = [-3, 0, 3, 7, 14, 21];
    let expected: Vec<DateTime<Utc>> = days
        .iter()
        .map(|d| nine_local(tz, due + Duration::days(*d)))
        .collect();
    let planned: Vec<DateTime<Utc>> = issued["reminders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["scheduledAt"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(planned, expected, "{issued:#}");
    assert_ne!(
        chrono::Timelike::hour(&expected[0]),
        chrono::Timelike::hour(&expected[2]),
        "9:00 local is another UTC hour after the change"
    );
    assert_eq!(issued["reminders"][4]["kind"], "FINAL_NOTICE");
    assert_eq!(issued["reminders"][5]["kind"], "MARK_UNCOLLECTIBLE");
    let total = issued["total"]["minorUnits"].as_i64().unwrap();
    assert_eq!(total, 329_182);

    let subjects = [
        "is due in 3 days",
        "is due today",
        "is 3 days overdue",
        "is 7 days overdue",
        "is 14 days overdue",
    ];
    for (step, at) in expected.iter().enumerate() {
        let step = step as u32;
        assert_eq!(
            scheduled_step(&app, &id, step).await,
            Some(*at),
            "step {step} waits for 9:00 local"
        );
        pass_time_to(&app, &clock, *at).await;
        let sent = reminder_emails(&app);
        if let Some(phrase) = subjects.get(step as usize) {
            assert_eq!(sent.len(), step as usize + 1, "{sent:?}");
            assert!(sent.last().unwrap().contains(phrase), "{sent:?}");
        } else {
            assert_eq!(sent.len(), 5, "no email for the last step: {sent:?}");
        }
        if step == 2 {
            // 1.5% of 3,291.82 = 49.3773 -> 49.38 (under the 50.00 cap), once.
            let late = invoice(&app, &f.key, &f.invoice_session).await;
            assert_eq!(late["total"]["minorUnits"], total + 4_938, "{late:#}");
            assert_eq!(late["amountDue"]["minorUnits"], total + 4_938);
            let fees: Vec<_> = late["lines"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|l| l["kind"] == "LATE_FEE")
                .collect();
            assert_eq!(fees.len(), 1);
            let email = app.emails_to(INVOICE_EMAIL).pop().unwrap();
            assert!(email.says("A late fee of USD 49.38"), "{}", email.text);
        }
    }
    let sent = reminder_emails(&app);
    assert!(sent[4].starts_with("Final notice"), "{sent:?}");
    let closed = invoice(&app, &f.key, &f.invoice_session).await;
    assert_eq!(closed["status"], "UNCOLLECTIBLE", "{closed:#}");
    assert_eq!(
        closed["total"]["minorUnits"],
        total + 4_938,
        "the fee never compounds"
    );
    let trail: Vec<&str> = closed["auditTrail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        trail.iter().filter(|e| **e == "LATE_FEE_ADDED").count(),
        1,
        "{trail:?}"
    );
    assert_eq!(trail.last(), Some(&"MARKED_UNCOLLECTIBLE"), "{trail:?}");
    assert!(
        app.scheduled()
            .await
            .iter()
            .all(|(k, _)| !k.starts_with("reminder")),
        "nothing left to follow up"
    );
    let sent_at: Vec<bool> = closed["reminders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["sentAt"].is_string())
        .collect();
    assert_eq!(
        sent_at, [true; 5],
        "settled: the five reminders that went out, no plan ahead"
    );
}

async fn paying_stops_the_reminders_and_a_late_step_waits_for_the_window(backend: Backend) {
    let Some((app, clock)) = app_with_clock(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    // Bad policies are refused with the field, and change nothing.
    let bad = policy(&app, &f.key, json!({ "offsetsDays": [] })).await;
    assert_eq!(
        bad["userErrors"][0]["field"],
        json!(["input", "offsetsDays"]),
        "{bad}"
    );
    let bad = policy(
        &app,
        &f.key,
        json!({ "windowStartHour": 18, "windowEndHour": 9 }),
    )
    .await;
    assert_eq!(bad["userErrors"][0]["code"], "INVALID_INPUT", "{bad}");
    let bad = policy(&app, &f.key, json!({ "lateFee": {} })).await;
    assert_eq!(
        bad["userErrors"][0]["field"],
        json!(["input", "lateFee"]),
        "{bad}"
    );
    assert_eq!(app.count("reminder_policies").await, 0);

    // The client lives in Los Angeles: reminders reach them at 9:00 there.
    let update = app
        .gql(
            &f.key,
            "mutation($i: UpdateClientInput!) { updateClient(input: $i) { client { timeZone } userErrors { field message } } }",
            json!({ "i": { "id": f.invoice_client, "timeZone": "America/Los_Angeles" } }),
        )
        .await;
    assert_eq!(
        update["updateClient"]["client"]["timeZone"], "America/Los_Angeles",
        "{update}"
    );
    settings(
        &app,
        &f.key,
        json!({ "timeZone": "Europe/Paris", "paymentTermsDays": 10 }),
    )
    .await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let issued = invoice(&app, &f.key, &f.invoice_session).await;
    let id = issued["id"].as_str().unwrap().to_string();
    let due: NaiveDate = issued["dueDate"].as_str().unwrap().parse().unwrap();
    let la: Tz = "America/Los_Angeles".parse().unwrap();
    let first = nine_local(la, due - Duration::days(3));
    assert_eq!(scheduled_step(&app, &id, 0).await, Some(first));

    // The queue was down: the step runs at 19:00 local, outside the window,
    // and waits for 9:00 the next day instead of waking the client.
    pass_time_to(&app, &clock, first + Duration::hours(10)).await;
    assert_eq!(reminder_emails(&app).len(), 0);
    let next_morning = nine_local(la, due - Duration::days(2));
    assert_eq!(scheduled_step(&app, &id, 0).await, Some(next_morning));
    pass_time_to(&app, &clock, next_morning).await;
    assert_eq!(reminder_emails(&app).len(), 1);

    // Every reminder job delivered again changes nothing.
    entity::outbox::Entity::update_many()
        .col_expr(
            entity::outbox::Column::Status,
            Expr::value(OutboxStatus::Pending.as_str()),
        )
        .col_expr(
            entity::outbox::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(entity::outbox::Column::Status.eq(OutboxStatus::Done))
        .filter(entity::outbox::Column::DedupKey.contains("reminder"))
        .exec(&app.ctx.db)
        .await
        .unwrap();
    app.drain().await;
    assert_eq!(reminder_emails(&app).len(), 1);

    // Paid in full: the next step finds nothing to chase and ends the plan.
    let paid = app
        .gql(
            &f.key,
            "mutation($i: RecordManualPaymentInput!) { recordManualPayment(input: $i) { userErrors { message } } }",
            json!({ "i": { "invoiceId": id, "amount": "3291.82", "method": "BANK_TRANSFER", "idempotencyKey": "wire-1" } }),
        )
        .await;
    assert_eq!(
        paid["recordManualPayment"]["userErrors"],
        json!([]),
        "{paid}"
    );
    let on_due_date = nine_local(la, due);
    assert_eq!(scheduled_step(&app, &id, 1).await, Some(on_due_date));
    pass_time_to(&app, &clock, on_due_date).await;
    pass_time_to(&app, &clock, on_due_date + Duration::days(30)).await;
    assert_eq!(reminder_emails(&app).len(), 1, "none after payment");
    assert!(
        app.scheduled()
            .await
            .iter()
            .all(|(k, _)| !k.starts_with("reminder")),
        "{:?}",
        app.scheduled().await
    );
}
