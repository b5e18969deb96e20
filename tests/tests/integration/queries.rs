//! Lists: Relay cursor pagination and filters.

use serde_json::json;
use tests::{Backend, spawn_app};

on_both_backends!(lists_paginate_with_cursors_and_filter);

async fn lists_paginate_with_cursors_and_filter(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    for _ in 0..3 {
        app.schedule_wedding(&f.key, &f.invoice_client, &f.package, &f.add_on, "0")
            .await;
    }
    let page =
        "query($after: String, $f: SessionFilter) { sessions(first: 2, after: $after, filter: $f) {
        edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage endCursor } } }";
    let first = app.gql(&f.key, page, json!({})).await;
    assert_eq!(first["sessions"]["edges"].as_array().map(Vec::len), Some(2));
    assert_eq!(first["sessions"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(first["sessions"]["pageInfo"]["hasPreviousPage"], false);
    let mut seen = vec![];
    let mut after = serde_json::Value::Null;
    loop {
        let data = app.gql(&f.key, page, json!({ "after": after })).await;
        for edge in data["sessions"]["edges"].as_array().expect("edges") {
            seen.push(edge["node"]["id"].as_str().expect("id").to_string());
        }
        if data["sessions"]["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = data["sessions"]["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen.len(), 5);
    let mut sorted = seen.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), 5, "no session twice: {seen:?}");

    let by_client = app
        .gql(
            &f.key,
            page,
            json!({ "f": { "clientId": f.auto_pay_client } }),
        )
        .await;
    assert_eq!(
        by_client["sessions"]["edges"].as_array().map(Vec::len),
        Some(1)
    );

    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let completed = app
        .gql(&f.key, page, json!({ "f": { "status": "COMPLETED" } }))
        .await;
    assert_eq!(
        completed["sessions"]["edges"].as_array().map(Vec::len),
        Some(2)
    );
    let invoices = app
        .gql(&f.key, "{ paid: invoices(filter: { status: PAID }) { edges { node { number } } }
                        open: invoices(filter: { status: OPEN }) { edges { node { number } } }
                        last: invoices(last: 1) { edges { node { number } } pageInfo { hasPreviousPage } }
                        payments(filter: { status: SUCCEEDED }) { edges { node { amount { formatted } } } } }", json!({}))
        .await;
    assert_eq!(invoices["paid"]["edges"].as_array().map(Vec::len), Some(1));
    assert_eq!(invoices["open"]["edges"].as_array().map(Vec::len), Some(1));
    assert_eq!(invoices["last"]["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(
        invoices["payments"]["edges"][0]["node"]["amount"]["formatted"],
        "USD 2,791.82"
    );
    let future = app
        .gql(
            &f.key,
            "{ invoices(filter: { from: \"2099-01-01T00:00:00Z\" }) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(future["invoices"]["edges"], json!([]));
}
