//! One studio never sees or changes another's data, through any query or mutation.

use serde_json::{Value, json};
use tests::{Backend, spawn_app};

on_both_backends!(studios_cannot_read_or_change_each_others_data);

fn user_error_code(body: &Value, field: &str) -> String {
    body["data"][field]["userErrors"][0]["code"]
        .as_str()
        .unwrap_or("<none>")
        .to_string()
}

async fn studios_cannot_read_or_change_each_others_data(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let a = app.seed_studio("Studio A").await;
    app.complete_session(&a.key, &a.auto_pay_session).await;
    app.complete_session(&a.key, &a.invoice_session).await;
    app.drain().await;
    let invoice = app.invoice_of(&a.key, &a.invoice_session).await;
    let invoice_id = invoice["id"].as_str().expect("invoice id").to_string();
    let b = app.create_studio("Studio B").await;

    // Reads: foreign records look exactly like missing ones.
    let reads = app
        .gql(
            &b,
            "query($s: ID!, $i: ID!, $c: ID!) {
                session(id: $s) { id } invoice(id: $i) { id } client(id: $c) { id }
                sessions(first: 50) { edges { node { id } } }
                invoices(first: 50) { edges { node { id } } }
                payments(first: 50) { edges { node { id } } }
                clients(first: 50) { edges { node { id } } }
                packages(first: 50) { edges { node { id } } } addOnServices { id } taxRates { id }
                studio { name }
            }",
            json!({ "s": a.auto_pay_session, "i": invoice_id, "c": a.auto_pay_client }),
        )
        .await;
    assert_eq!(
        reads,
        json!({
            "session": null, "invoice": null, "client": null,
            "sessions": { "edges": [] }, "invoices": { "edges": [] }, "payments": { "edges": [] },
            "clients": { "edges": [] }, "packages": { "edges": [] }, "addOnServices": [], "taxRates": [],
            "studio": { "name": "Studio B" }
        })
    );

    // Writes: every mutation that names a foreign record reports NOT_FOUND.
    let complete = app.complete_session(&b, &a.invoice_session).await;
    assert_eq!(user_error_code(&complete, "completeSession"), "NOT_FOUND");
    let cancel = app
        .graphql(
            Some(&b),
            "mutation($id: ID!) { cancelSession(id: $id) { session { id } userErrors { code } } }",
            json!({ "id": a.auto_pay_session }),
        )
        .await;
    assert_eq!(user_error_code(&cancel, "cancelSession"), "NOT_FOUND");
    let update = app
        .graphql(
            Some(&b),
            "mutation($i: UpdateClientInput!) { updateClient(input: $i) { client { id } userErrors { code } } }",
            json!({ "i": { "id": a.auto_pay_client, "email": "stolen@example.com" } }),
        )
        .await;
    assert_eq!(user_error_code(&update, "updateClient"), "NOT_FOUND");
    let attach = app
        .graphql(
            Some(&b),
            "mutation($i: AttachPaymentMethodInput!) { attachPaymentMethod(input: $i) { client { id } userErrors { code } } }",
            json!({ "i": { "clientId": a.invoice_client, "token": "pm_card_visa" } }),
        )
        .await;
    assert_eq!(user_error_code(&attach, "attachPaymentMethod"), "NOT_FOUND");
    let package = app
        .graphql(
            Some(&b),
            "mutation($i: UpdatePackageInput!) { updatePackage(input: $i) { package { id } userErrors { code } } }",
            json!({ "i": { "id": a.package, "price": "1.00" } }),
        )
        .await;
    assert_eq!(user_error_code(&package, "updatePackage"), "NOT_FOUND");
    let add_on = app
        .graphql(
            Some(&b),
            "mutation($i: UpdateAddOnServiceInput!) { updateAddOnService(input: $i) { addOnService { id } userErrors { code } } }",
            json!({ "i": { "id": a.add_on, "unitPrice": "1.00" } }),
        )
        .await;
    assert_eq!(user_error_code(&add_on, "updateAddOnService"), "NOT_FOUND");
    let schedule = app
        .graphql(
            Some(&b),
            "mutation($i: ScheduleSessionInput!) { scheduleSession(input: $i) { session { id } userErrors { field code } } }",
            json!({ "i": { "clientId": a.auto_pay_client, "packageId": a.package, "title": "x", "scheduledAt": "2026-12-01T10:00:00Z",
                           "items": [{ "addOnServiceId": a.add_on, "quantity": 1 }] } }),
        )
        .await;
    let codes: Vec<_> = schedule["data"]["scheduleSession"]["userErrors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| (e["field"].clone(), e["code"].clone()))
        .collect();
    assert_eq!(
        codes,
        vec![
            (json!(["input", "clientId"]), json!("NOT_FOUND")),
            (json!(["input", "packageId"]), json!("NOT_FOUND")),
            (
                json!(["input", "items", "0", "addOnServiceId"]),
                json!("NOT_FOUND")
            ),
        ]
    );

    // Studio A's data is untouched.
    let client = app
        .gql(
            &a.key,
            "query($c: ID!) { client(id: $c) { email paymentMethod { last4 } } }",
            json!({ "c": a.auto_pay_client }),
        )
        .await;
    assert_eq!(
        client["client"],
        json!({ "email": "ava@example.com", "paymentMethod": { "last4": "4242" } })
    );
    let session = app
        .gql(
            &a.key,
            "query($s: ID!) { session(id: $s) { status } }",
            json!({ "s": a.auto_pay_session }),
        )
        .await;
    assert_eq!(session["session"]["status"], "COMPLETED");
    assert_eq!(app.count("sessions").await, 2);
}
