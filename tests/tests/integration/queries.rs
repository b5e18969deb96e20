//! Lists: Relay cursor pagination and filters.

use serde_json::json;
use tests::{Backend, spawn_app};

on_both_backends!(
    lists_paginate_with_cursors_and_filter,
    clients_and_packages_are_studio_scoped_connections,
    paging_arguments_are_checked_with_codes_and_first_zero_returns_no_edge,
);

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

/// Issue 17, item 12: `clients` and `packages` are Relay connections like the
/// other lists, scoped to the key's studio.
async fn clients_and_packages_are_studio_scoped_connections(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let other = app.seed_studio("Other Studio").await;
    let extra = app
        .create_client(&f.key, "Mia Park", "mia@example.com", "INVOICE")
        .await;
    let query = "query($after: String) {
        clients(first: 2, after: $after) { edges { cursor node { id email } }
            pageInfo { hasNextPage hasPreviousPage endCursor } }
        packages(first: 10) { edges { node { id name } } pageInfo { hasNextPage } } }";
    let first = app.gql(&f.key, query, json!({})).await;
    let ids = |data: &serde_json::Value| {
        data["clients"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| e["node"]["id"].as_str().expect("id").to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&first),
        vec![f.auto_pay_client.clone(), f.invoice_client.clone()],
        "{first}"
    );
    assert_eq!(first["clients"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(
        first["clients"]["edges"][1]["cursor"],
        first["clients"]["pageInfo"]["endCursor"]
    );
    let next = app
        .gql(
            &f.key,
            query,
            json!({ "after": first["clients"]["pageInfo"]["endCursor"] }),
        )
        .await;
    assert_eq!(ids(&next), vec![extra], "{next}");
    assert_eq!(next["clients"]["pageInfo"]["hasNextPage"], false);
    assert_eq!(next["clients"]["pageInfo"]["hasPreviousPage"], true);
    let packages = first["packages"]["edges"].as_array().expect("packages");
    assert_eq!(packages.len(), 1, "{first}");
    assert_eq!(packages[0]["node"]["id"], f.package.as_str());
    // The other studio sees its own only.
    let theirs = app.gql(&other.key, query, json!({})).await;
    assert_eq!(
        ids(&theirs),
        vec![other.auto_pay_client.clone(), other.invoice_client.clone()],
        "{theirs}"
    );
    assert_eq!(
        theirs["packages"]["edges"][0]["node"]["id"],
        other.package.as_str()
    );
}

/// Issue 17, item 7: a malformed cursor or a negative page size is
/// `INVALID_INPUT` naming the argument (not Rust's parse error text), and
/// `first: 0` returns no edge (only whether there are more).
async fn paging_arguments_are_checked_with_codes_and_first_zero_returns_no_edge(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    for (list, args, field) in [
        ("sessions", "after: \"\"", "after"),
        ("invoices", "before: \"abc\"", "before"),
        ("payments", "after: \"1.5\"", "after"),
        ("clients", "first: -1", "first"),
        ("packages", "last: -3", "last"),
    ] {
        let query = format!("{{ {list}({args}) {{ edges {{ node {{ id }} }} }} }}");
        let body = app.graphql(Some(&f.key), &query, json!({})).await;
        let error = &body["errors"][0];
        assert_eq!(
            error["extensions"]["code"], "INVALID_INPUT",
            "{query}: {body}"
        );
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.contains(&format!("`{field}`")), "{query}: {body}");
        assert!(!message.contains("invalid digit"), "{query}: {body}");
        assert!(!message.contains("cannot parse"), "{query}: {body}");
    }
    let zero = app
        .gql(
            &f.key,
            "{ sessions(first: 0) { edges { node { id } } pageInfo { hasNextPage } }
               clients(first: 0) { edges { node { id } } pageInfo { hasNextPage } } }",
            json!({}),
        )
        .await;
    assert_eq!(zero["sessions"]["edges"], json!([]), "{zero}");
    assert_eq!(zero["sessions"]["pageInfo"]["hasNextPage"], true, "{zero}");
    assert_eq!(zero["clients"]["edges"], json!([]), "{zero}");
    assert_eq!(zero["clients"]["pageInfo"]["hasNextPage"], true, "{zero}");
}
