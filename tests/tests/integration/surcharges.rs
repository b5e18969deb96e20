//! Issue 22, item 3 (first part): the flat `CARD_SURCHARGE` fee is lawful
//! or refused. Refused (`SURCHARGE_NOT_ALLOWED`, nothing written) where
//! surcharging consumer cards is banned (where the client lives, else the
//! studio: the EU/EEA, the UK, Puerto Rico), as a fixed amount, or above the
//! card networks' 3 % cap; a reissue cannot bring one back in either.

use serde_json::{Value, json};
use tests::{Backend, Fixture, TestApp, spawn_app};

on_both_backends!(a_card_surcharge_is_refused_where_it_is_banned_and_above_the_cap);

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

/// A US studio may add a 3 % surcharge for Noah, not 3.5 % nor USD 25.00.
/// Once Noah lives in the UK, or the studio is in France and Noah's country
/// is not recorded, no surcharge at all; a reissue adding one is refused
/// the same way, and nothing is written by any refusal.
async fn a_card_surcharge_is_refused_where_it_is_banned_and_above_the_cap(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let noah = f.invoice_client.clone();
    let sessions = app.count("sessions").await;
    let fixed = schedule_with_fee(&app, &f, &noah, json!({ "amount": "25.00" })).await;
    assert_eq!(
        refusal(&fixed),
        (
            json!("SURCHARGE_NOT_ALLOWED"),
            json!(["input", "fees", "0", "amount"])
        ),
        "{fixed}"
    );
    let capped = schedule_with_fee(&app, &f, &noah, json!({ "percent": "3.5" })).await;
    assert_eq!(
        refusal(&capped),
        (
            json!("SURCHARGE_NOT_ALLOWED"),
            json!(["input", "fees", "0", "percent"])
        ),
        "{capped}"
    );
    assert_eq!(app.count("sessions").await, sessions, "nothing written");
    let lawful = schedule_with_fee(&app, &f, &noah, json!({ "percent": "3" })).await;
    assert_eq!(lawful["userErrors"], json!([]), "{lawful}");

    let moved = app
        .gql(
            &f.key,
            "mutation($i: UpdateClientInput!) { updateClient(input: $i) { userErrors { message } } }",
            json!({ "i": { "id": noah, "country": "GB" } }),
        )
        .await;
    assert_eq!(moved["updateClient"]["userErrors"], json!([]), "{moved}");
    let banned = schedule_with_fee(&app, &f, &noah, json!({ "percent": "2" })).await;
    assert_eq!(
        refusal(&banned),
        (
            json!("SURCHARGE_NOT_ALLOWED"),
            json!(["input", "fees", "0", "kind"])
        ),
        "{banned}"
    );
    assert!(
        banned["userErrors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("banned") && m.contains("GB")),
        "{banned}"
    );

    app.gql(
        &f.key,
        "mutation { updateStudioSettings(input: { country: \"FR\" }) { userErrors { message } } }",
        json!({}),
    )
    .await;
    app.gql(
        &f.key,
        "mutation($i: UpdateClientInput!) { updateClient(input: $i) { userErrors { message } } }",
        json!({ "i": { "id": noah, "country": "" } }),
    )
    .await;
    let french = schedule_with_fee(&app, &f, &noah, json!({ "percent": "2" })).await;
    assert_eq!(
        refusal(&french).0,
        json!("SURCHARGE_NOT_ALLOWED"),
        "{french}"
    );

    // A reissue cannot add one either: the travel-only session's invoice,
    // voided and reissued with a surcharge, is refused.
    let session = app
        .schedule_wedding_on(
            &f.key,
            &noah,
            &f.package,
            &f.add_on,
            "0",
            "2027-06-12T15:00:00Z",
        )
        .await;
    app.complete_session(&f.key, &session).await;
    app.drain().await;
    let invoice = app
        .gql(
            &f.key,
            "query($id: ID!) { session(id: $id) { invoice { id } } }",
            json!({ "id": session }),
        )
        .await["session"]["invoice"]["id"]
        .clone();
    let voided = app
        .gql(
            &f.key,
            "mutation($id: ID!) { voidInvoice(input: { invoiceId: $id, reason: \"Wrong fees\" }) {
                userErrors { message } } }",
            json!({ "id": invoice }),
        )
        .await;
    assert_eq!(voided["voidInvoice"]["userErrors"], json!([]), "{voided}");
    let reissued = app
        .gql(
            &f.key,
            "mutation($i: ReissueInvoiceInput!) { reissueInvoice(input: $i) {
                userErrors { field code message } } }",
            json!({ "i": { "invoiceId": invoice, "idempotencyKey": "reissue-1", "fees": [
                { "name": "Card fee", "kind": "CARD_SURCHARGE", "charge": { "percent": "2" } }] } }),
        )
        .await;
    assert_eq!(
        refusal(&reissued["reissueInvoice"]).0,
        json!("SURCHARGE_NOT_ALLOWED"),
        "{reissued}"
    );
}
