//! Issue 22, item 3: a card surcharge that is lawful. The flat
//! `CARD_SURCHARGE` fee is refused on new sessions and reissues (it fell on
//! debit cards and checks alike); the studio's `cardSurchargePercent` is
//! checked where the studio is, applied at payment to credit cards only,
//! capped or dropped where the client is, charged with the invoice's money
//! in one charge but recorded apart from it (the invoice is PAID, not
//! overpaid), shown on the receipt, and returned pro rata with refunds.

use entity::simulated_charge;
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::{Value, json};
use tests::stripe_server::StripeServer;
use tests::{AUTO_PAY_EMAIL, Backend, Fixture, TestApp, spawn_app, spawn_app_with, stripe_event};

on_both_backends!(the_old_fee_is_refused_and_the_setting_follows_where_the_studio_is);
on_both_backends!(only_a_credit_card_pays_the_surcharge_and_refunds_return_it_pro_rata);
on_both_backends!(money_the_gateway_returns_by_itself_is_split_between_invoice_and_surcharge);
on_both_backends!(stripe_reports_the_funding_and_is_asked_for_money_and_surcharge_at_once);
on_both_backends!(a_client_is_told_of_the_surcharge_before_their_card_is_charged);

async fn schedule_with_fee(app: &TestApp, f: &Fixture, client: &str, charge: Value) -> Value {
    let data = app
        .gql(
            &f.key,
            "mutation($i: ScheduleSessionInput!) { scheduleSession(input: $i) {
                session { id } userErrors { field code message } } }",
            json!({ "i": {
                "clientId": client, "packageId": f.package, "title": "Wedding",
                "scheduledAt": "2027-06-12T15:00:00Z",
                "fees": [{ "name": "Card fee", "kind": "CARD_SURCHARGE", "charge": charge }]
            } }),
        )
        .await;
    data["scheduleSession"].clone()
}

fn refusal(payload: &Value) -> (Value, Value) {
    let error = &payload["userErrors"][0];
    (error["code"].clone(), error["field"].clone())
}

/// `updateStudioSettings` with `input`: (the studio's place and surcharge,
/// the errors).
async fn settings(app: &TestApp, key: &str, input: Value) -> (Value, Value) {
    let data = app
        .gql(
            key,
            "mutation($i: UpdateStudioSettingsInput!) { updateStudioSettings(input: $i) {
                studio { country region cardSurchargePercent }
                userErrors { field code message } } }",
            json!({ "i": input }),
        )
        .await;
    let payload = &data["updateStudioSettings"];
    (payload["studio"].clone(), payload["userErrors"].clone())
}

/// The studio in New York, surcharging credit cards 3 %.
pub(crate) async fn surcharge_in_new_york(app: &TestApp, key: &str) {
    let (_, errors) = settings(
        app,
        key,
        json!({ "country": "US", "region": "NY", "cardSurchargePercent": "3" }),
    )
    .await;
    assert_eq!(errors, json!([]));
}

pub(crate) async fn place_client(
    app: &TestApp,
    key: &str,
    client: &str,
    country: &str,
    region: &str,
) {
    let data = app
        .gql(
            key,
            "mutation($i: UpdateClientInput!) { updateClient(input: $i) {
                client { country region } userErrors { field message } } }",
            json!({ "i": { "id": client, "country": country, "region": region } }),
        )
        .await;
    assert_eq!(data["updateClient"]["userErrors"], json!([]), "{data}");
}

/// The fee is refused whatever its amount; the setting is refused where
/// the studio is if banned there or above the cap there; a region is a US
/// state or Canadian province of the studio's country; nothing is written
/// by a refusal.
async fn the_old_fee_is_refused_and_the_setting_follows_where_the_studio_is(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let sessions = app.count("sessions").await;
    let fee = schedule_with_fee(&app, &f, &f.invoice_client, json!({ "percent": "3" })).await;
    assert_eq!(
        refusal(&fee),
        (
            json!("SURCHARGE_NOT_ALLOWED"),
            json!(["input", "fees", "0", "kind"])
        ),
        "{fee}"
    );
    assert!(
        fee["userErrors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("cardSurchargePercent")),
        "the refusal points to the setting: {fee}"
    );
    assert_eq!(app.count("sessions").await, sessions, "nothing written");

    let code = |errors: &Value| (errors[0]["code"].clone(), errors[0]["field"].clone());
    let refused = (
        json!("SURCHARGE_NOT_ALLOWED"),
        json!(["input", "cardSurchargePercent"]),
    );
    // Connecticut bans it; Colorado caps it at 2 %; Quebec bans it.
    let (_, errors) = settings(
        &app,
        &f.key,
        json!({ "country": "US", "region": "CT", "cardSurchargePercent": "3" }),
    )
    .await;
    assert_eq!(code(&errors), refused, "{errors}");
    let (_, errors) = settings(
        &app,
        &f.key,
        json!({ "country": "US", "region": "CO", "cardSurchargePercent": "2.5" }),
    )
    .await;
    assert_eq!(code(&errors), refused, "{errors}");
    assert!(
        errors[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("2 %") && m.contains("US-CO")),
        "{errors}"
    );
    let (studio, errors) = settings(
        &app,
        &f.key,
        json!({ "country": "US", "region": "co", "cardSurchargePercent": "2" }),
    )
    .await;
    assert_eq!(errors, json!([]));
    assert_eq!(
        studio,
        json!({ "country": "US", "region": "CO", "cardSurchargePercent": "2" })
    );
    // Moving to Quebec with the surcharge on is refused, and changes nothing.
    let (_, errors) = settings(&app, &f.key, json!({ "country": "CA", "region": "QC" })).await;
    assert_eq!(code(&errors), refused, "{errors}");
    let (_, errors) = settings(&app, &f.key, json!({ "region": "QC" })).await;
    assert_eq!(
        code(&errors).1,
        json!(["input", "region"]),
        "QC is no US state"
    );
    let (studio, _) = settings(&app, &f.key, json!({})).await;
    assert_eq!(
        studio,
        json!({ "country": "US", "region": "CO", "cardSurchargePercent": "2" })
    );
    // In Ontario 2.4 % is the cap; turning it off works anywhere.
    let (studio, errors) = settings(
        &app,
        &f.key,
        json!({ "country": "CA", "region": "ON", "cardSurchargePercent": "2.4" }),
    )
    .await;
    assert_eq!(errors, json!([]));
    assert_eq!(studio["cardSurchargePercent"], json!("2.4"));
    let (studio, errors) = settings(
        &app,
        &f.key,
        json!({ "country": "FR", "cardSurchargePercent": "0" }),
    )
    .await;
    assert_eq!(errors, json!([]));
    assert_eq!(
        studio,
        json!({ "country": "FR", "region": null, "cardSurchargePercent": null })
    );
    let (_, errors) = settings(&app, &f.key, json!({ "cardSurchargePercent": "1" })).await;
    assert_eq!(code(&errors), refused, "banned in the EU: {errors}");
}

/// A client's card on file and the gateway's record of each charge.
pub(crate) async fn gateway_charges(app: &TestApp) -> Vec<(String, i64)> {
    simulated_charge::Entity::find()
        .order_by_asc(simulated_charge::Column::CreatedAt)
        .all(&app.ctx.db)
        .await
        .expect("simulated charges")
        .into_iter()
        .map(|c| (c.token, c.amount_minor))
        .collect()
}

/// The session's invoice, its one payment (amount, surcharge, funding).
pub(crate) async fn paid(app: &TestApp, key: &str, session: &str) -> Value {
    let data = app
        .gql(
            key,
            "query($id: ID!) { session(id: $id) { invoice {
                status total { minorUnits } amountPaid { minorUnits } amountDue { minorUnits }
                payments { id status amount { minorUnits } surcharge { minorUnits } cardFunding }
            } } }",
            json!({ "id": session }),
        )
        .await;
    data["session"]["invoice"].clone()
}

async fn auto_pay_client(app: &TestApp, key: &str, name: &str, email: &str, card: &str) -> String {
    let client = app.create_client(key, name, email, "AUTO_PAY").await;
    app.attach_card(key, &client, card).await;
    client
}

async fn complete_wedding(app: &TestApp, f: &Fixture, client: &str) -> String {
    let session = app
        .schedule_wedding(&f.key, client, &f.package, &f.add_on, "500.00")
        .await;
    app.complete_session(&f.key, &session).await;
    app.drain().await;
    session
}

pub(crate) async fn refund(
    app: &TestApp,
    key: &str,
    payment: &Value,
    amount: Option<&str>,
    idem: &str,
) -> Value {
    let data = app
        .gql(
            key,
            "mutation($i: RefundPaymentInput!) { refundPayment(input: $i) {
                refund { status amount { minorUnits } surcharge { minorUnits } }
                userErrors { field message } } }",
            json!({ "i": { "paymentId": payment, "amount": amount, "idempotencyKey": idem } }),
        )
        .await;
    assert_eq!(data["refundPayment"]["userErrors"], json!([]), "{data}");
    data["refundPayment"]["refund"].clone()
}

/// A New York studio at 3 %. The wedding leaves 2,791.82 due after the
/// retainer: Ava's credit card is charged 2,791.82 + 83.75 in one charge,
/// the invoice is PAID with 2,791.82 (not overpaid), the receipt shows the
/// surcharge. A debit card, a prepaid card and a credit card in
/// Connecticut pay 2,791.82 and no more; a credit card in Colorado pays
/// 2 %. Refunding half of Ava's payment returns half the surcharge; the
/// rest returns the rest, to the cent.
async fn only_a_credit_card_pays_the_surcharge_and_refunds_return_it_pro_rata(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    surcharge_in_new_york(&app, &f.key).await;
    let due = 279_182;

    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;
    let ava = paid(&app, &f.key, &f.auto_pay_session).await;
    assert_eq!(ava["status"], "PAID", "{ava:#}");
    assert_eq!(ava["amountPaid"]["minorUnits"], json!(due), "not overpaid");
    assert_eq!(ava["amountDue"]["minorUnits"], json!(0));
    let payment = &ava["payments"][0];
    assert_eq!(payment["amount"]["minorUnits"], json!(due));
    // 3 % of 2,791.82 is 83.7546: 83.75.
    assert_eq!(payment["surcharge"]["minorUnits"], json!(8_375));
    assert_eq!(payment["cardFunding"], "credit");
    assert_eq!(
        gateway_charges(&app).await,
        vec![("pm_card_visa".to_string(), due + 8_375)],
        "one charge for the money and the surcharge"
    );
    let receipt = app.email_to_saying(AUTO_PAY_EMAIL, "card surcharge");
    assert!(
        receipt.says("Your credit card was charged USD 2,875.57")
            && receipt.says("card surcharge of USD 83.75"),
        "{}",
        receipt.text
    );
    assert!(
        !receipt.attachments.is_empty(),
        "the receipt PDF goes with it"
    );
    let metrics = app
        .gql(
            &f.key,
            "query($from: DateTime!, $to: DateTime!) { metrics(from: $from, to: $to) {
                surcharges { minorUnits } tips { minorUnits } } }",
            json!({ "from": "2020-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(
        metrics["metrics"],
        json!({ "surcharges": { "minorUnits": 8_375 }, "tips": { "minorUnits": 0 } }),
        "the surcharge is its own figure, apart from revenue"
    );

    // No surcharge: debit, prepaid, and a credit card where it is banned.
    let debit = auto_pay_client(
        &app,
        &f.key,
        "Dee Bit",
        "dee@example.com",
        "pm_card_visa_debit",
    )
    .await;
    let prepaid = auto_pay_client(
        &app,
        &f.key,
        "Pree Paid",
        "pree@example.com",
        "pm_card_mastercard_prepaid",
    )
    .await;
    let hartford = auto_pay_client(
        &app,
        &f.key,
        "Hart Ford",
        "hart@example.com",
        "pm_card_visa",
    )
    .await;
    place_client(&app, &f.key, &hartford, "US", "CT").await;
    let denver = auto_pay_client(
        &app,
        &f.key,
        "Den Ver",
        "den@example.com",
        "pm_card_mastercard",
    )
    .await;
    place_client(&app, &f.key, &denver, "US", "CO").await;
    for (client, funding, surcharge) in [
        (&debit, "debit", 0),
        (&prepaid, "prepaid", 0),
        (&hartford, "credit", 0),
        // 2 % of 2,791.82 is 55.8364: 55.84.
        (&denver, "credit", 5_584),
    ] {
        let session = complete_wedding(&app, &f, client).await;
        let invoice = paid(&app, &f.key, &session).await;
        assert_eq!(invoice["status"], "PAID", "{invoice:#}");
        let payment = &invoice["payments"][0];
        assert_eq!(payment["cardFunding"], funding, "{invoice:#}");
        assert_eq!(
            payment["surcharge"]["minorUnits"],
            json!(surcharge),
            "{funding}: {invoice:#}"
        );
        assert_eq!(invoice["amountPaid"]["minorUnits"], json!(due));
    }
    let charged: Vec<i64> = gateway_charges(&app).await.iter().map(|c| c.1).collect();
    assert_eq!(
        charged,
        vec![due + 8_375, due, due, due, due + 5_584],
        "what each card was charged"
    );

    // Half of Ava's payment back: half the surcharge goes with it; the
    // rest returns the rest, exactly.
    let half = refund(&app, &f.key, &payment["id"], Some("1395.91"), "half").await;
    assert_eq!(half["amount"]["minorUnits"], json!(139_591));
    assert_eq!(half["surcharge"]["minorUnits"], json!(4_188));
    app.drain().await;
    let told = app.email_to_saying(AUTO_PAY_EMAIL, "USD 1,395.91");
    assert!(
        told.says(
            "The card surcharge paid with it (USD 41.88) goes back too: USD 1,437.79 in all."
        ),
        "{}",
        told.text
    );
    let rest = refund(&app, &f.key, &payment["id"], None, "rest").await;
    assert_eq!(rest["amount"]["minorUnits"], json!(due - 139_591));
    assert_eq!(rest["surcharge"]["minorUnits"], json!(8_375 - 4_188));
    app.drain().await;
    let refunds: Vec<i64> = gateway_charges(&app)
        .await
        .iter()
        .skip(5)
        .map(|c| c.1)
        .collect();
    assert_eq!(
        refunds.iter().sum::<i64>(),
        due + 8_375,
        "the card got back all it paid: {refunds:?}"
    );
}

/// Ava's 2,791.82 + 83.75 surcharge. A 1,030.00 refund made in the
/// processor's dashboard is 1,000.00 of the invoice's money and 30.00 of
/// surcharge; the dispute lost afterwards for the whole charge takes back
/// what is left of each (1,791.82 owed again, 53.75 of surcharge), never
/// more than the card paid.
async fn money_the_gateway_returns_by_itself_is_split_between_invoice_and_surcharge(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let (_, errors) = settings(
        &app,
        &f.key,
        json!({ "country": "US", "cardSurchargePercent": "3" }),
    )
    .await;
    assert_eq!(errors, json!([]));
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;
    let intent = app
        .gql(
            &f.key,
            "{ payments { edges { node { gatewayReference surcharge { minorUnits } } } } }",
            json!({}),
        )
        .await["payments"]["edges"][0]["node"]["gatewayReference"]
        .as_str()
        .expect("reference")
        .to_string();
    let t0 = chrono::Utc::now().timestamp() - 60;
    let (_, answer) = app
        .send_webhook(&stripe_event(
            "evt_re_dash",
            "refund.updated",
            t0,
            json!({ "id": "re_dash", "object": "refund", "amount": 103_000, "currency": "usd",
                    "payment_intent": intent, "status": "succeeded", "metadata": {} }),
        ))
        .await;
    assert_eq!(answer["status"], "processed", "{answer}");
    let (_, answer) = app
        .send_webhook(&stripe_event(
            "evt_dp_lost",
            "charge.dispute.closed",
            t0 + 10,
            json!({ "id": "dp_1", "object": "dispute", "amount": 287_557, "currency": "usd",
                    "payment_intent": intent, "charge": "ch_1", "status": "lost",
                    "reason": "fraudulent" }),
        ))
        .await;
    assert_eq!(answer["status"], "processed", "{answer}");
    app.drain().await;
    let data = app
        .gql(
            &f.key,
            "query($id: ID!) { session(id: $id) { invoice { status amountDue { minorUnits }
                refunds { reason amount { minorUnits } surcharge { minorUnits } } } } }",
            json!({ "id": f.auto_pay_session }),
        )
        .await;
    let invoice = &data["session"]["invoice"];
    let refunds: Vec<(i64, i64)> = invoice["refunds"]
        .as_array()
        .expect("refunds")
        .iter()
        .map(|r| {
            (
                r["amount"]["minorUnits"].as_i64().unwrap_or_default(),
                r["surcharge"]["minorUnits"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        refunds,
        vec![(100_000, 3_000), (179_182, 5_375)],
        "{invoice:#}"
    );
    assert_eq!(
        invoice["amountDue"]["minorUnits"],
        json!(179_182),
        "the chargeback's money is owed again, not its surcharge: {invoice:#}"
    );
}

/// Against the local Stripe-shaped server: the funding type comes from the
/// payment method Stripe returns (`card.funding`). Ava's credit card gets
/// one PaymentIntent for 2,791.82 + 83.75; Dee's debit card one for
/// 2,791.82; refunding Ava in full asks Stripe for 2,875.57 back.
async fn stripe_reports_the_funding_and_is_asked_for_money_and_surcharge_at_once(backend: Backend) {
    let stripe = StripeServer::start("sk_test_local").await;
    let base = stripe.uri();
    let Some(app) = spawn_app_with(backend, |s| {
        s.gateway.stripe_secret_key = Some("sk_test_local".to_string().into());
        s.gateway.stripe_api_base = base;
    })
    .await
    else {
        return;
    };
    stripe.add_card("pm_1Visa", Some("cus_ava"), "visa", "4242");
    stripe.add_funded_card("pm_1Debit", Some("cus_dee"), "visa", "5556", "debit");
    let f = app.seed_studio_with_card("Golden Hour", "pm_1Visa").await;
    surcharge_in_new_york(&app, &f.key).await;
    app.complete_session(&f.key, &f.auto_pay_session).await;
    let dee = auto_pay_client(&app, &f.key, "Dee Bit", "dee@example.com", "pm_1Debit").await;
    let dee_session = complete_wedding(&app, &f, &dee).await;
    app.drain().await;
    let mut amounts: Vec<(String, i64)> = stripe
        .intents()
        .iter()
        .map(|i| {
            let method = i["payment_method"].as_str().unwrap_or_default();
            (method.to_string(), i["amount"].as_i64().unwrap_or_default())
        })
        .collect();
    amounts.sort();
    assert_eq!(
        amounts,
        vec![
            ("pm_1Debit".to_string(), 279_182),
            ("pm_1Visa".to_string(), 287_557)
        ]
    );
    let debit = paid(&app, &f.key, &dee_session).await;
    assert_eq!(debit["status"], "PAID", "{debit:#}");
    assert_eq!(debit["payments"][0]["cardFunding"], "debit");
    let ava = paid(&app, &f.key, &f.auto_pay_session).await;
    assert_eq!(ava["payments"][0]["surcharge"]["minorUnits"], json!(8_375));
    let back = refund(&app, &f.key, &ava["payments"][0]["id"], None, "all-back").await;
    assert_eq!(back["surcharge"]["minorUnits"], json!(8_375), "{back}");
    let refunded: Vec<Value> = stripe
        .refunds()
        .iter()
        .map(|r| r["amount"].clone())
        .collect();
    assert_eq!(refunded, vec![json!(287_557)]);
    assert_eq!(stripe.violations(), Vec::<String>::new());
}

/// The surcharge is said before it is charged: an auto-pay plan part's
/// notice names it with its total, the portal's "use this card for
/// automatic payments" and the card-setup page state the terms; a client
/// in Connecticut is told nothing of a surcharge, for there is none.
async fn a_client_is_told_of_the_surcharge_before_their_card_is_charged(backend: Backend) {
    use super::installments::{app_at, at, bill_due_parts, book_on_plan};
    let Some((app, clock)) = app_at(backend, at(2027, 1, 4, 15, 0)).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    surcharge_in_new_york(&app, &f.key).await;
    book_on_plan(
        &app,
        &f,
        &f.auto_pay_client,
        json!([{ "percent": "30" }, { "percent": "30", "dueDate": "2027-03-01" }, { "dueDate": "2027-05-01" }]),
    )
    .await;
    app.drain().await;
    bill_due_parts(&app, &clock, at(2027, 2, 22, 10, 0)).await;
    let notice = app.email_to_saying(AUTO_PAY_EMAIL, "Installment 2 of 3");
    // 3 % of 987.55 is 29.6265: 29.63.
    assert!(
        notice.says("We will charge Visa •••• 4242 USD 987.55 for it on March 1, 2027")
            && notice.says(
                "a card surcharge of USD 29.63 (3 %) is added to that charge, USD 1,017.18 in all"
            ),
        "{}",
        notice.text
    );
    clock.set(at(2027, 3, 1, 10, 0));
    app.advance_scheduled_of("charge:").await;
    app.drain().await;
    let charged: Vec<i64> = gateway_charges(&app).await.iter().map(|c| c.1).collect();
    assert_eq!(
        charged.last(),
        Some(&(98_755 + 2_963)),
        "what the notice said: {charged:?}"
    );

    // The portal of an auto-pay client whose card was declined, and the
    // card-setup page, state the terms; in Connecticut they do not.
    let declined = auto_pay_client(
        &app,
        &f.key,
        "Dec Lined",
        "dec@example.com",
        "pm_card_chargeDeclined",
    )
    .await;
    complete_wedding(&app, &f, &declined).await;
    let link = app
        .email_to_saying("dec@example.com", "/pay/")
        .portal_link()
        .expect("portal link");
    let terms =
        "Automatic payments charged to a credit card carry a card surcharge of 3 % of the amount";
    assert!(app.portal_page(&link).await.contains(terms));
    let asked = app
        .gql(
            &f.key,
            "mutation($c: ID!) { requestCardSetup(clientId: $c) { userErrors { message } } }",
            json!({ "c": declined }),
        )
        .await;
    assert_eq!(
        asked["requestCardSetup"]["userErrors"],
        json!([]),
        "{asked}"
    );
    app.drain().await;
    let setup = app
        .emails_to("dec@example.com")
        .into_iter()
        .find_map(|e| {
            e.text
                .split_whitespace()
                .find(|w| w.starts_with("http") && w.contains("/card-setup/"))
                .map(str::to_string)
        })
        .expect("the card-setup link");
    let page = app.http.get(&setup).send().await.expect("setup page");
    assert!(page.text().await.expect("body").contains(terms));
    place_client(&app, &f.key, &declined, "US", "CT").await;
    assert!(!app.portal_page(&link).await.contains("surcharge"));
}
