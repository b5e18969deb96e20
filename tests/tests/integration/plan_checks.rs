//! Issue 19, items 1 and 3: the guardrails a studio sees on a plan and the
//! card checked before a large charge. A studio in the EU/EEA cannot set or
//! edit a plan with a part due more than 50 days after the session; an
//! auto-pay part above the studio's threshold has its card checked at the
//! gateway with its notice, and a card its issuer refuses gets the client a
//! link to save another days before the charge (simulated gateway and the
//! local Stripe-shaped server).

use super::installments::{app_at, at, bill_due_parts, book_on_plan, part_ids};
use chrono::Utc;
use domain::billing::installments::{self, Checked};
use domain::kernel::clock::Clock;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tests::stripe_server::StripeServer;
use tests::{AUTO_PAY_EMAIL, Backend, TestApp, spawn_app, spawn_app_full};

on_both_backends!(
    a_studio_in_the_eu_keeps_every_part_within_fifty_days_of_the_session,
    where_the_client_lives_decides_the_eu_limit,
    a_large_part_has_its_card_checked_with_its_notice,
    a_card_check_at_stripe_is_a_setup_intent_and_a_refusal_asks_for_a_new_card,
);

async fn settings(app: &TestApp, key: &str, input: Value) -> Value {
    let data = app
        .gql(
            key,
            "mutation($i: UpdateStudioSettingsInput!) { updateStudioSettings(input: $i) {
                studio { country planCardCheckAbove { minorUnits } }
                userErrors { field code message } } }",
            json!({ "i": input }),
        )
        .await;
    data["updateStudioSettings"].clone()
}

async fn set_parts(app: &TestApp, key: &str, session: &str, parts: Value) -> Value {
    let data = app
        .gql(
            key,
            "mutation($i: SetPaymentPlanInput!) { setPaymentPlan(input: $i) {
                paymentPlan { parts { dueDate } } userErrors { field code message } } }",
            json!({ "i": { "sessionId": session, "parts": parts } }),
        )
        .await;
    data["setPaymentPlan"].clone()
}

/// A French studio's wedding on June 12, 2027: a plan whose last part is
/// due on August 2 (51 days after) is refused with `PLAN_GUARDRAIL` on that
/// part's date, nothing written; August 1 is accepted; an edit moving the
/// balance to August 2 is refused the same way. The country is checked
/// (`XX` is refused) and can be cleared, after which the same plan is
/// allowed.
async fn a_studio_in_the_eu_keeps_every_part_within_fifty_days_of_the_session(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Atelier Lumière").await;
    let wrong = settings(&app, &f.key, json!({ "country": "XX" })).await;
    assert_eq!(wrong["userErrors"][0]["code"], "INVALID_INPUT", "{wrong}");
    assert_eq!(wrong["userErrors"][0]["field"], json!(["input", "country"]));
    let french = settings(&app, &f.key, json!({ "country": "fr" })).await;
    assert_eq!(french["studio"]["country"], "FR", "{french}");
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
    let late = json!([{}, { "dueDate": "2027-08-02" }]);
    let refused = set_parts(&app, &f.key, &session, late.clone()).await;
    let error = &refused["userErrors"][0];
    assert_eq!(error["code"], "PLAN_GUARDRAIL", "{refused}");
    assert_eq!(error["field"], json!(["input", "parts", "1", "dueDate"]));
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("EU/EEA") && m.contains("by 2027-08-01")),
        "{error}"
    );
    assert_eq!(app.count("payment_plans").await, 0, "nothing written");

    let within = set_parts(
        &app,
        &f.key,
        &session,
        json!([{ "dueDate": "2027-05-01" }, { "dueDate": "2027-08-01" }]),
    )
    .await;
    assert_eq!(within["userErrors"], json!([]), "{within}");
    let edited = app
        .gql(
            &f.key,
            "mutation($i: EditPaymentPlanInput!) { editPaymentPlan(input: $i) {
                userErrors { field code } } }",
            json!({ "i": { "sessionId": session, "parts": [
                { "dueDate": "2027-05-01" }, { "dueDate": "2027-08-02" }] } }),
        )
        .await;
    assert_eq!(
        edited["editPaymentPlan"]["userErrors"][0]["code"], "PLAN_GUARDRAIL",
        "{edited}"
    );

    let cleared = settings(&app, &f.key, json!({ "country": "" })).await;
    assert_eq!(cleared["studio"]["country"], Value::Null, "{cleared}");
    let anywhere = set_parts(&app, &f.key, &session, late).await;
    assert_eq!(anywhere["userErrors"], json!([]), "{anywhere}");
}

async fn client_lives_in(app: &TestApp, key: &str, client: &str, country: &str) -> Value {
    let data = app
        .gql(
            key,
            "mutation($i: UpdateClientInput!) { updateClient(input: $i) {
                client { country } userErrors { field code message } } }",
            json!({ "i": { "id": client, "country": country } }),
        )
        .await;
    data["updateClient"].clone()
}

/// The limit follows where the client lives when the studio recorded it:
/// a studio with no country booking a client living in Germany gets the
/// same refusal; a French studio's client living in the US does not. A
/// client created in Austria is held to it from the start; an unknown
/// code is refused on `country`.
async fn where_the_client_lives_decides_the_eu_limit(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let wrong = client_lives_in(&app, &f.key, &f.invoice_client, "ZZ").await;
    assert_eq!(wrong["userErrors"][0]["code"], "INVALID_INPUT", "{wrong}");
    assert_eq!(wrong["userErrors"][0]["field"], json!(["input", "country"]));
    let german = client_lives_in(&app, &f.key, &f.invoice_client, "de").await;
    assert_eq!(german["client"]["country"], "DE", "{german}");
    let wedding = |client: String| {
        let app = &app;
        let f = &f;
        async move {
            app.schedule_wedding_on(
                &f.key,
                &client,
                &f.package,
                &f.add_on,
                "0",
                "2027-06-12T15:00:00Z",
            )
            .await
        }
    };
    let late = json!([{}, { "dueDate": "2027-08-02" }]);
    let session = wedding(f.invoice_client.clone()).await;
    let refused = set_parts(&app, &f.key, &session, late.clone()).await;
    assert_eq!(
        refused["userErrors"][0]["code"], "PLAN_GUARDRAIL",
        "{refused}"
    );

    settings(&app, &f.key, json!({ "country": "FR" })).await;
    client_lives_in(&app, &f.key, &f.invoice_client, "US").await;
    let abroad = set_parts(&app, &f.key, &session, late.clone()).await;
    assert_eq!(abroad["userErrors"], json!([]), "{abroad}");

    settings(&app, &f.key, json!({ "country": "" })).await;
    let created = app
        .gql(
            &f.key,
            "mutation { createClient(input: { name: \"Lena Gruber\", email: \"lena@example.com\",
                country: \"AT\" }) { client { id country } userErrors { message } } }",
            json!({}),
        )
        .await;
    let lena = &created["createClient"]["client"];
    assert_eq!(lena["country"], "AT", "{created}");
    let session = wedding(lena["id"].as_str().unwrap_or_default().to_string()).await;
    let refused = set_parts(&app, &f.key, &session, late).await;
    assert_eq!(
        refused["userErrors"][0]["code"], "PLAN_GUARDRAIL",
        "{refused}"
    );
}

/// The audit trail entries of the invoice that bills plan part `part`.
async fn card_checks(app: &TestApp, part: i64) -> Vec<(String, String)> {
    use entity::enums::InvoiceEventKind as K;
    let billed = entity::invoice::Entity::find()
        .filter(entity::invoice::Column::PlanPartId.eq(part))
        .one(&app.ctx.db)
        .await
        .expect("invoice")
        .expect("the part is billed");
    entity::invoice_event::Entity::find()
        .filter(entity::invoice_event::Column::InvoiceId.eq(billed.id))
        .filter(entity::invoice_event::Column::Event.is_in([K::CardChecked, K::CardCheckFailed]))
        .all(&app.ctx.db)
        .await
        .expect("events")
        .into_iter()
        .map(|e| (e.event.as_str().to_string(), e.detail.unwrap_or_default()))
        .collect()
}

async fn invoice_of_part(app: &TestApp, part: i64) -> i64 {
    entity::invoice::Entity::find()
        .filter(entity::invoice::Column::PlanPartId.eq(part))
        .one(&app.ctx.db)
        .await
        .expect("invoice")
        .expect("the part is billed")
        .id
}

fn save_card_links(app: &TestApp) -> usize {
    app.emails_to(AUTO_PAY_EMAIL)
        .iter()
        .filter(|e| e.subject.starts_with("Save a card"))
        .count()
}

/// Ava (auto-pay) books the wedding (USD 3,291.82) with 10 % at booking,
/// 10 % on February 1 and the rest on March 1; the studio checks cards
/// above USD 300.00. The retainer, charged at once, is not checked; the
/// second part's card is checked with its notice and can be charged; before
/// the third part's notice Ava's card is one her issuer reports lost: the
/// check with the notice (a week before the charge) is refused, the trail
/// says so and Ava gets one link to save another card; a replay of the
/// check asks nothing again.
async fn a_large_part_has_its_card_checked_with_its_notice(backend: Backend) {
    let Some((app, clock)) = app_at(backend, at(2027, 1, 4, 15, 0)).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let set = settings(&app, &f.key, json!({ "planCardCheckAbove": "300.00" })).await;
    assert_eq!(set["studio"]["planCardCheckAbove"]["minorUnits"], 30_000);
    let negative = settings(&app, &f.key, json!({ "planCardCheckAbove": "-1" })).await;
    assert_eq!(negative["userErrors"][0]["code"], "INVALID_INPUT");
    book_on_plan(
        &app,
        &f,
        &f.auto_pay_client,
        json!([{ "percent": "10" }, { "percent": "10", "dueDate": "2027-02-01" },
               { "dueDate": "2027-03-01" }]),
    )
    .await;
    app.drain().await;
    let parts = part_ids(&app).await;
    assert!(
        card_checks(&app, parts[0]).await.is_empty(),
        "charged at once"
    );

    bill_due_parts(&app, &clock, at(2027, 1, 25, 10, 0)).await;
    let second = card_checks(&app, parts[1]).await;
    assert_eq!(second.len(), 1, "{second:?}");
    assert_eq!(second[0].0, "CARD_CHECKED");
    assert!(second[0].1.contains("Visa •••• 4242"), "{}", second[0].1);
    bill_due_parts(&app, &clock, at(2027, 2, 1, 10, 0)).await;

    app.attach_card(&f.key, &f.auto_pay_client, "pm_card_chargeDeclinedLostCard")
        .await;
    bill_due_parts(&app, &clock, at(2027, 2, 22, 10, 0)).await;
    let third = card_checks(&app, parts[2]).await;
    assert_eq!(third.len(), 1, "{third:?}");
    assert_eq!(third[0].0, "CARD_CHECK_FAILED");
    assert!(third[0].1.contains("lost_card"), "{}", third[0].1);
    assert_eq!(app.count("card_setups").await, 1);
    assert_eq!(save_card_links(&app), 1);

    let invoice = invoice_of_part(&app, parts[2]).await;
    let again = installments::check_card(&app.ctx, invoice, None)
        .await
        .expect("the step");
    assert_eq!(again, Checked::Nothing("the card was checked already"));
    app.drain().await;
    assert_eq!(app.count("card_setups").await, 1);
    assert_eq!(save_card_links(&app), 1);
}

const SECRET: &str = "sk_test_local";

/// The app on the Stripe adapter against a fresh Stripe-shaped server,
/// with a manual clock at `start`.
async fn stripe_app_at(
    backend: Backend,
    start: chrono::DateTime<Utc>,
) -> Option<(TestApp, StripeServer, Clock)> {
    let stripe = StripeServer::start(SECRET).await;
    stripe.add_card("pm_1Visa", Some("cus_ava"), "visa", "4242");
    let base = stripe.uri();
    let clock = Clock::manual(start);
    let installed = clock.clone();
    let app = spawn_app_full(
        backend,
        move |s| {
            s.gateway.stripe_secret_key = Some(SECRET.to_string().into());
            s.gateway.stripe_api_base = base;
            s.gateway.stripe_webhook_secret = Some("whsec_test_local".to_string().into());
        },
        move |mut ctx| {
            ctx.clock = installed;
            ctx
        },
    )
    .await?;
    Some((app, stripe, clock))
}

/// At Stripe the check is one SetupIntent, confirmed off-session with the
/// client's card and customer, under its own Idempotency-Key, carrying
/// `metadata[installment_id]`. A card the issuer declines is refused: Ava
/// is asked for a new card and nothing is charged before the due day.
async fn a_card_check_at_stripe_is_a_setup_intent_and_a_refusal_asks_for_a_new_card(
    backend: Backend,
) {
    let Some((app, stripe, clock)) = stripe_app_at(backend, at(2027, 1, 4, 15, 0)).await else {
        return;
    };
    let f = app.seed_studio_with_card("Golden Hour", "pm_1Visa").await;
    settings(&app, &f.key, json!({ "planCardCheckAbove": "1000" })).await;
    book_on_plan(
        &app,
        &f,
        &f.auto_pay_client,
        json!([{ "percent": "10" }, { "dueDate": "2027-03-01" }]),
    )
    .await;
    app.drain().await;
    let charged = stripe.charges();
    stripe.decline_card("pm_1Visa", "do_not_honor");
    bill_due_parts(&app, &clock, at(2027, 2, 22, 10, 0)).await;

    let part = part_ids(&app).await[1];
    let checks = card_checks(&app, part).await;
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert_eq!(checks[0].0, "CARD_CHECK_FAILED");
    assert!(checks[0].1.contains("do_not_honor"), "{}", checks[0].1);
    assert_eq!(app.count("card_setups").await, 1);
    assert_eq!(save_card_links(&app), 1);
    assert_eq!(stripe.charges(), charged, "nothing charged before the day");

    let invoice = invoice_of_part(&app, part).await;
    let key = format!("card_check_inv_{invoice}_pm_1Visa");
    let forms = stripe.forms_with_key(&key).await;
    assert_eq!(forms.len(), 1, "one SetupIntent, under its own key");
    let form = &forms[0];
    let field = |k: &str| form.get(k).map(String::as_str);
    assert_eq!(field("payment_method"), Some("pm_1Visa"));
    assert_eq!(field("customer"), Some("cus_ava"));
    assert_eq!(field("confirm"), Some("true"));
    assert_eq!(field("usage"), Some("off_session"));
    assert_eq!(
        field("metadata[installment_id]"),
        Some(part.to_string().as_str())
    );
    let calls = stripe.calls().await;
    assert!(
        calls
            .iter()
            .any(|(m, p, k)| m == "POST" && p == "/v1/setup_intents" && k.as_deref() == Some(&key)),
        "{calls:?}"
    );
    assert_eq!(stripe.violations(), Vec::<String>::new());
}
