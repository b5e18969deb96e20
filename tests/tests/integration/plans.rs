//! Issue 19, item 1: a payment plan on a booking. The session's balance
//! splits into a retainer at booking and installments, exactly; what a plan
//! may not be is refused with its own code and nothing written; a plan is
//! replaced while nothing of it is paid, and cancelled on record.

use sea_orm::EntityTrait;
use serde_json::{Value, json};
use tests::{Backend, TestApp, spawn_app};

on_both_backends!(
    a_booking_splits_into_a_retainer_and_installments_that_add_up,
    a_plan_that_cannot_be_is_refused_with_its_code_and_nothing_written,
    a_plan_is_replaced_then_cancelled_on_record,
    a_package_default_plan_fills_in_a_sessions_plan,
);

const PLAN: &str =
    "id status total { minorUnits } totalPaid { minorUnits } remaining { minorUnits }
    parts { seq amount { minorUnits formatted } dueDate status amountPaid { minorUnits } }";

/// The seeded studio's wedding (3,291.82 with tax, `schedule_wedding`) for
/// its invoice client, with no retainer recorded, on 2027-06-12 at 15:00
/// UTC: (the studio's key, the session, its package).
async fn booked(app: &TestApp) -> (String, String, String) {
    let f = app.seed_studio("Golden Hour").await;
    let session = app
        .schedule_wedding_on(
            &f.key,
            &f.invoice_client,
            &f.package,
            &f.add_on,
            "0",
            "2027-06-12T15:00:00Z",
        )
        .await;
    (f.key, session, f.package)
}

async fn set_plan(app: &TestApp, key: &str, session: &str, parts: Value) -> Value {
    let data = app
        .gql(
            key,
            &format!(
                "mutation($i: SetPaymentPlanInput!) {{ setPaymentPlan(input: $i) {{
                    paymentPlan {{ {PLAN} }} userErrors {{ field message code }} }} }}"
            ),
            json!({ "i": { "sessionId": session, "parts": parts } }),
        )
        .await;
    data["setPaymentPlan"].clone()
}

async fn plan_of(app: &TestApp, key: &str, session: &str) -> Value {
    let data = app
        .gql(
            key,
            &format!("query($id: ID!) {{ session(id: $id) {{ paymentPlan {{ {PLAN} }} }} }}"),
            json!({ "id": session }),
        )
        .await;
    data["session"]["paymentPlan"].clone()
}

fn amounts(plan: &Value) -> Vec<i64> {
    plan["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .map(|p| p["amount"]["minorUnits"].as_i64().expect("minor units"))
        .collect()
}

/// Today in the studio's zone, as the plan counts "at booking".
async fn studio_today(app: &TestApp) -> String {
    let studio = entity::studio::Entity::find()
        .one(&app.ctx.db)
        .await
        .expect("studios")
        .expect("the studio");
    let zone = domain::kernel::clock::zone(&studio.time_zone);
    app.ctx
        .clock
        .now()
        .with_timezone(&zone)
        .date_naive()
        .to_string()
}

/// 35 % at booking, 35 % 60 days before, the rest 14 days before: of
/// USD 3,291.82, 1,152.14 (1,152.137 rounded half away), 1,152.14 and
/// 987.54, adding up exactly, on today, April 13 and May 29.
async fn a_booking_splits_into_a_retainer_and_installments_that_add_up(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (key, session, _) = booked(&app).await;
    let answer = set_plan(
        &app,
        &key,
        &session,
        json!([
            { "percent": "35" },
            { "percent": "35", "daysBeforeSession": 60 },
            { "daysBeforeSession": 14 }
        ]),
    )
    .await;
    assert_eq!(answer["userErrors"], json!([]), "{answer}");
    let plan = &answer["paymentPlan"];
    assert_eq!(plan["status"], "ACTIVE");
    assert_eq!(plan["total"]["minorUnits"], 329_182);
    assert_eq!(amounts(plan), vec![115_214, 115_214, 98_754]);
    assert_eq!(amounts(plan).iter().sum::<i64>(), 329_182);
    let dates: Vec<&str> = plan["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .map(|p| p["dueDate"].as_str().expect("a date"))
        .collect();
    let today = studio_today(&app).await;
    assert_eq!(dates, vec![today.as_str(), "2027-04-13", "2027-05-29"]);
    assert_eq!(plan["parts"][0]["amount"]["formatted"], "USD 1,152.14");
    assert_eq!(plan["parts"][2]["status"], "SCHEDULED");
    assert_eq!(plan["totalPaid"]["minorUnits"], 0);
    assert_eq!(plan["remaining"]["minorUnits"], 329_182);
    // Read back through the session, as stored, once the worker has done
    // its part: the retainer, due today, is billed at once (an invoice of
    // its own for this invoice client); the installments wait for their day.
    app.drain().await;
    let mut billed = plan.clone();
    billed["parts"][0]["status"] = json!("ISSUED");
    assert_eq!(plan_of(&app, &key, &session).await, billed);
    assert_eq!(app.count("payment_plan_parts").await, 3);
    assert_eq!(
        app.count("invoices WHERE kind = 'INSTALLMENT' AND total_minor = 115214")
            .await,
        1
    );
}

async fn a_plan_that_cannot_be_is_refused_with_its_code_and_nothing_written(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (key, session, _) = booked(&app).await;
    let refused = [
        (
            json!([{ "amount": "1000.00" }, { "amount": "2000.00", "dueDate": "2027-05-01" }]),
            "PARTS_DO_NOT_ADD_UP",
            json!(["input", "parts"]),
        ),
        (
            json!([{ "percent": "50" }, { "percent": "40", "dueDate": "2027-05-01" }]),
            "PARTS_DO_NOT_ADD_UP",
            json!(["input", "parts"]),
        ),
        (
            json!([{ "dueDate": "2027-05-01" }, { "dueDate": "2027-04-01" }]),
            "DATES_OUT_OF_ORDER",
            json!(["input", "parts", "1", "dueDate"]),
        ),
        (
            json!([{ "dueDate": "2020-01-01" }]),
            "DATE_IN_PAST",
            json!(["input", "parts", "0", "dueDate"]),
        ),
        (
            json!([{ "amount": "0.49" }, { "dueDate": "2027-05-01" }]),
            "BELOW_MINIMUM",
            json!(["input", "parts", "0", "amount"]),
        ),
        (
            json!(
                (1..=13)
                    .map(|d| json!({ "dueDate": format!("2027-03-{d:02}") }))
                    .collect::<Vec<_>>()
            ),
            "TOO_MANY_PARTS",
            json!(["input", "parts"]),
        ),
        (
            json!(
                (1..=5)
                    .map(|m| json!({ "dueDate": format!("2027-{:02}-20", m + 6) }))
                    .collect::<Vec<_>>()
            ),
            "PLAN_GUARDRAIL",
            json!(["input", "parts"]),
        ),
        (
            json!([{ "amount": "10.00", "percent": "10" }, {}]),
            "INVALID_INPUT",
            json!(["input", "parts", "0", "amount"]),
        ),
    ];
    for (parts, code, field) in refused {
        let answer = set_plan(&app, &key, &session, parts.clone()).await;
        assert_eq!(answer["paymentPlan"], Value::Null, "{parts}: {answer}");
        assert_eq!(answer["userErrors"][0]["code"], code, "{parts}: {answer}");
        assert_eq!(answer["userErrors"][0]["field"], field, "{parts}: {answer}");
    }
    let answer = set_plan(&app, &key, &session, json!([{ "amount": "1000.00" }])).await;
    assert_eq!(
        answer["userErrors"][0]["message"],
        "the parts add up to USD 1,000.00; the plan total is USD 3,291.82"
    );
    assert_eq!(app.count("payment_plans").await, 0);
    assert_eq!(app.count("payment_plan_parts").await, 0);

    // Another studio's session is not found; a cancelled one is refused.
    let other = app.create_studio("Elsewhere").await;
    let answer = set_plan(&app, &other, &session, json!([{}])).await;
    assert_eq!(answer["userErrors"][0]["code"], "NOT_FOUND", "{answer}");
    let cancelled = app
        .gql(
            &key,
            "mutation($id: ID!) { cancelSession(id: $id) { userErrors { code } } }",
            json!({ "id": session }),
        )
        .await;
    assert_eq!(cancelled["cancelSession"]["userErrors"], json!([]));
    let answer = set_plan(&app, &key, &session, json!([{}])).await;
    assert_eq!(answer["userErrors"][0]["code"], "INVALID_STATE", "{answer}");
    assert_eq!(app.count("payment_plans").await, 0);
}

async fn a_plan_is_replaced_then_cancelled_on_record(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (key, session, _) = booked(&app).await;
    let first = set_plan(
        &app,
        &key,
        &session,
        json!([{ "dueDate": "2027-02-01" }, { "dueDate": "2027-05-01" }]),
    )
    .await;
    assert_eq!(amounts(&first["paymentPlan"]), vec![164_591, 164_591]);
    // Three equal parts instead: 1,097.27, 1,097.27, 1,097.28. (None is
    // due yet, so none is billed, and the plan may still be replaced.)
    let second = set_plan(
        &app,
        &key,
        &session,
        json!([
            { "dueDate": "2027-02-01" },
            { "dueDate": "2027-03-01" },
            { "dueDate": "2027-05-01" }
        ]),
    )
    .await;
    assert_eq!(second["userErrors"], json!([]), "{second}");
    assert_eq!(
        amounts(&second["paymentPlan"]),
        vec![109_727, 109_727, 109_728]
    );
    assert_eq!(app.count("payment_plans WHERE status = 'ACTIVE'").await, 1);
    assert_eq!(
        app.count("payment_plans WHERE status = 'CANCELLED'").await,
        1
    );
    assert_eq!(
        app.count("payment_plan_parts WHERE status = 'CANCELLED'")
            .await,
        2
    );
    assert_eq!(plan_of(&app, &key, &session).await, second["paymentPlan"]);

    let data = app
        .gql(
            &key,
            &format!(
                "mutation($id: ID!) {{ cancelPaymentPlan(sessionId: $id) {{
                    paymentPlan {{ {PLAN} }} userErrors {{ code }} }} }}"
            ),
            json!({ "id": session }),
        )
        .await;
    let cancelled = &data["cancelPaymentPlan"]["paymentPlan"];
    assert_eq!(cancelled["status"], "CANCELLED", "{data}");
    assert_eq!(cancelled["remaining"]["minorUnits"], 0);
    assert!(
        cancelled["parts"]
            .as_array()
            .expect("parts")
            .iter()
            .all(|p| p["status"] == "CANCELLED")
    );
    assert_eq!(plan_of(&app, &key, &session).await, Value::Null);
    let again = app
        .gql(
            &key,
            "mutation($id: ID!) { cancelPaymentPlan(sessionId: $id) { userErrors { code } } }",
            json!({ "id": session }),
        )
        .await;
    assert_eq!(
        again["cancelPaymentPlan"]["userErrors"][0]["code"],
        "NOT_FOUND"
    );
}

async fn set_package_plan(app: &TestApp, key: &str, package: &str, parts: Value) -> Value {
    let data = app
        .gql(
            key,
            "mutation($i: SetPackagePaymentPlanInput!) { setPackagePaymentPlan(input: $i) {
                package { paymentPlan { amount { minorUnits } percent daysBeforeSession } }
                userErrors { field code } } }",
            json!({ "i": { "packageId": package, "parts": parts } }),
        )
        .await;
    data["setPackagePaymentPlan"].clone()
}

/// Issue 19, item 1: "35 % at booking, 35 % 60 days before, the rest 14
/// days before" as the package's default fills in a session's plan when
/// the studio gives no parts; a template that can never work is refused
/// when it is saved; without a default, the parts are asked for.
async fn a_package_default_plan_fills_in_a_sessions_plan(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (key, session, package) = booked(&app).await;
    let answer = set_plan(&app, &key, &session, Value::Null).await;
    assert_eq!(answer["userErrors"][0]["code"], "INVALID_INPUT", "{answer}");
    assert_eq!(answer["userErrors"][0]["field"], json!(["input", "parts"]));

    let refused = set_package_plan(
        &app,
        &key,
        &package,
        json!([{ "daysBeforeSession": 14 }, { "daysBeforeSession": 60 }]),
    )
    .await;
    assert_eq!(
        refused["userErrors"][0]["code"], "DATES_OUT_OF_ORDER",
        "{refused}"
    );
    let saved = set_package_plan(
        &app,
        &key,
        &package,
        json!([
            { "percent": "35" },
            { "percent": "35", "daysBeforeSession": 60 },
            { "daysBeforeSession": 14 }
        ]),
    )
    .await;
    assert_eq!(saved["userErrors"], json!([]), "{saved}");
    assert_eq!(
        saved["package"]["paymentPlan"],
        json!([
            { "amount": null, "percent": "35", "daysBeforeSession": null },
            { "amount": null, "percent": "35", "daysBeforeSession": 60 },
            { "amount": null, "percent": null, "daysBeforeSession": 14 }
        ])
    );
    let answer = set_plan(&app, &key, &session, Value::Null).await;
    assert_eq!(answer["userErrors"], json!([]), "{answer}");
    assert_eq!(
        amounts(&answer["paymentPlan"]),
        vec![115_214, 115_214, 98_754]
    );
    assert_eq!(answer["paymentPlan"]["parts"][1]["dueDate"], "2027-04-13");

    let cleared = set_package_plan(&app, &key, &package, json!([])).await;
    assert_eq!(cleared["package"]["paymentPlan"], json!([]), "{cleared}");
}
