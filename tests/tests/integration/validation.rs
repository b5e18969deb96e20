//! Bad input gets a clear, specific error and leaves nothing half-written.

use serde_json::{Value, json};
use tests::{Backend, spawn_app};

on_both_backends!(
    requests_without_a_valid_api_key_are_unauthenticated,
    unknown_sessions_are_not_found,
    completing_a_cancelled_session_is_refused,
    negative_and_malformed_prices_are_rejected,
    malformed_and_duplicate_emails_are_rejected,
    documents_that_do_not_fit_the_schema_carry_a_code,
);

fn errors(body: &Value, field: &str) -> Vec<(Value, Value)> {
    body["data"][field]["userErrors"]
        .as_array()
        .unwrap_or_else(|| panic!("no userErrors in {body}"))
        .iter()
        .map(|e| (e["field"].clone(), e["code"].clone()))
        .collect()
}

async fn requests_without_a_valid_api_key_are_unauthenticated(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let query = "mutation { createClient(input: { name: \"Eve\", email: \"eve@example.com\" }) { client { id } } }";
    for key in [None, Some("sk_studio_not-a-real-key"), Some("")] {
        let body = app.graphql(key, query, json!({})).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{body}"
        );
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("API key")
        );
        let read = app
            .graphql(
                key,
                "{ invoices(first: 5) { edges { node { id } } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            read["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{read}"
        );
    }
    assert_eq!(app.count("clients").await, 0);
    // Every response carries a request id.
    let response = app
        .http
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .expect("healthz");
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(
        app.http
            .get(format!("{}/readyz", app.address))
            .send()
            .await
            .expect("readyz")
            .status(),
        200
    );
}

async fn unknown_sessions_are_not_found(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let key = app.create_studio("Golden Hour").await;
    for id in ["999999", "not-a-number", ""] {
        let body = app.complete_session(&key, id).await;
        assert_eq!(
            errors(&body, "completeSession"),
            vec![(json!(["input", "id"]), json!("NOT_FOUND"))],
            "{body}"
        );
        assert_eq!(body["data"]["completeSession"]["session"], Value::Null);
    }
    let read = app
        .gql(
            &key,
            "{ session(id: \"999999\") { id } invoice(id: \"x\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(read, json!({ "session": null, "invoice": null }));
    assert_eq!(app.count("outbox").await, 0);
}

async fn completing_a_cancelled_session_is_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let cancel = app
        .gql(&f.key, "mutation($id: ID!) { cancelSession(id: $id) { session { status } userErrors { code } } }", json!({ "id": f.invoice_session }))
        .await;
    assert_eq!(cancel["cancelSession"]["session"]["status"], "CANCELLED");
    let body = app.complete_session(&f.key, &f.invoice_session).await;
    assert_eq!(
        errors(&body, "completeSession"),
        vec![(json!(["input", "id"]), json!("INVALID_STATE"))]
    );
    assert!(
        body["data"]["completeSession"]["userErrors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("cancelled")
    );
    app.drain().await;
    assert_eq!(app.count("outbox").await, 0);
    assert_eq!(app.count("invoices").await, 0);
    let session = app
        .gql(
            &f.key,
            "query($id: ID!) { session(id: $id) { status completedAt } }",
            json!({ "id": f.invoice_session }),
        )
        .await;
    assert_eq!(
        session["session"],
        json!({ "status": "CANCELLED", "completedAt": null })
    );
}

async fn negative_and_malformed_prices_are_rejected(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let packages_before = app.count("packages").await;
    for price in ["-10.00", "10.001"] {
        let body = app
            .graphql(
                Some(&f.key),
                "mutation($p: Amount!) { createPackage(input: { name: \"Bad\", price: $p }) { package { id } userErrors { field message code } } }",
                json!({ "p": price }),
            )
            .await;
        assert_eq!(
            errors(&body, "createPackage"),
            vec![(json!(["input", "price"]), json!("INVALID_INPUT"))],
            "{body}"
        );
    }
    let add_on = app
        .graphql(Some(&f.key), "mutation { createAddOnService(input: { name: \"Bad\", unitPrice: \"-1\" }) { addOnService { id } userErrors { field code } } }", json!({}))
        .await;
    assert_eq!(
        errors(&add_on, "createAddOnService"),
        vec![(json!(["input", "unitPrice"]), json!("INVALID_INPUT"))]
    );
    let update = app
        .graphql(
            Some(&f.key),
            "mutation($i: UpdatePackageInput!) { updatePackage(input: $i) { package { id } userErrors { field code } } }",
            json!({ "i": { "id": f.package, "price": "-2500.00" } }),
        )
        .await;
    assert_eq!(
        errors(&update, "updatePackage"),
        vec![(json!(["input", "price"]), json!("INVALID_INPUT"))]
    );
    let sessions_before = app.count("sessions").await;
    let schedule = app
        .graphql(
            Some(&f.key),
            "mutation($i: ScheduleSessionInput!) { scheduleSession(input: $i) { session { id } userErrors { field message code } } }",
            json!({ "i": { "clientId": f.invoice_client, "title": "Bad", "scheduledAt": "2026-12-01T10:00:00Z", "retainerPaid": "-5",
                           "items": [{ "description": "Refund?", "quantity": 0, "unitPrice": "-5.00" }] } }),
        )
        .await;
    assert_eq!(
        errors(&schedule, "scheduleSession"),
        vec![
            (json!(["input", "retainerPaid"]), json!("INVALID_INPUT")),
            (
                json!(["input", "items", "0", "quantity"]),
                json!("INVALID_INPUT")
            ),
            (
                json!(["input", "items", "0", "unitPrice"]),
                json!("INVALID_INPUT")
            ),
        ]
    );
    // A retainer above the total is not refused any more: the excess is
    // owed back or carried forward (edges::a_retainer_may_cover_the_total_…).
    let rate = app
        .graphql(Some(&f.key), "mutation { createTaxRate(input: { name: \"Odd\", percent: \"-1\" }) { taxRate { id } userErrors { field code } } }", json!({}))
        .await;
    // Refused by the `Percent` scalar itself (edges::percent_inputs_…).
    assert_eq!(
        rate["errors"][0]["extensions"]["code"], "INVALID_PERCENT",
        "{rate}"
    );
    assert_eq!(app.count("packages").await, packages_before);
    assert_eq!(app.count("sessions").await, sessions_before);
    assert_eq!(app.count("session_items").await, 4);
    let price = app
        .gql(
            &f.key,
            "{ packages { edges { node { price { minorUnits } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        price["packages"]["edges"][0]["node"]["price"]["minorUnits"], 250_000,
        "price unchanged"
    );
}

async fn malformed_and_duplicate_emails_are_rejected(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let clients_before = app.count("clients").await;
    for email in ["not-an-email", "ava@", "two@@example.com", "   "] {
        let body = app
            .graphql(
                Some(&f.key),
                "mutation($e: String!) { createClient(input: { name: \"Eve\", email: $e }) { client { id } userErrors { field message code } } }",
                json!({ "e": email }),
            )
            .await;
        assert_eq!(
            errors(&body, "createClient"),
            vec![(json!(["input", "email"]), json!("INVALID_INPUT"))],
            "{email}: {body}"
        );
    }
    let duplicate = app
        .graphql(
            Some(&f.key),
            "mutation { createClient(input: { name: \"Ava again\", email: \"AVA@example.com\" }) { client { id } userErrors { field code } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        errors(&duplicate, "createClient"),
        vec![(json!(["input", "email"]), json!("DUPLICATE"))]
    );
    let update = app
        .graphql(
            Some(&f.key),
            "mutation($i: UpdateClientInput!) { updateClient(input: $i) { client { id } userErrors { field code } } }",
            json!({ "i": { "id": f.auto_pay_client, "name": "", "email": "nope" } }),
        )
        .await;
    assert_eq!(
        errors(&update, "updateClient"),
        vec![
            (json!(["input", "name"]), json!("INVALID_INPUT")),
            (json!(["input", "email"]), json!("INVALID_INPUT"))
        ]
    );
    let bad_token = app
        .graphql(
            Some(&f.key),
            "mutation($i: AttachPaymentMethodInput!) { attachPaymentMethod(input: $i) { client { id } userErrors { field code } } }",
            json!({ "i": { "clientId": f.invoice_client, "token": "4242424242424242" } }),
        )
        .await;
    assert_eq!(
        errors(&bad_token, "attachPaymentMethod"),
        vec![(json!(["input", "token"]), json!("INVALID_INPUT"))]
    );
    assert_eq!(app.count("clients").await, clients_before);
    let ava = app
        .gql(
            &f.key,
            "query($c: ID!) { client(id: $c) { name email } }",
            json!({ "c": f.auto_pay_client }),
        )
        .await;
    assert_eq!(
        ava["client"],
        json!({ "name": "Ava Martinez", "email": "ava@example.com" })
    );
}

/// Issue 17, item 12: parse and validation errors carry `extensions.code`
/// like every other error, and nothing runs.
async fn documents_that_do_not_fit_the_schema_carry_a_code(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let key = app.create_studio("Golden Hour").await;
    for (query, code) in [
        ("{ studio { nmae } }", "GRAPHQL_VALIDATION_FAILED"),
        (
            "{ invoices(first: \"ten\") { edges { node { id } } } }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "query($x: Int) { studio { name } }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "fragment Unused on Query { studio { name } } { studio { name } }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "mutation { createClient(input: { name: \"Eve\" }) { client { id } } }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
        ("{ studio { name }", "GRAPHQL_PARSE_FAILED"),
    ] {
        let body = app.graphql(Some(&key), query, json!({})).await;
        let errors = body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("{query}: {body}"));
        assert!(!errors.is_empty(), "{query}: {body}");
        for error in errors {
            assert_eq!(error["extensions"]["code"], code, "{query}: {body}");
            assert!(
                error["locations"][0]["line"].as_u64() >= Some(1),
                "{query}: {body}"
            );
        }
        assert!(body["data"].is_null(), "{query}: {body}");
    }
    assert_eq!(app.count("clients").await, 0);
}
