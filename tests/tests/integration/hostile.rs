//! Hostile input from outside (issue 10, items 8-16): oversized bodies and
//! documents, expensive queries, introspection in production, secrets in
//! logs, headers, close codes, API key revocation. Each limit is exercised
//! over real HTTP and must answer with a stable code and write nothing.

use domain::infra::settings::Environment;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use tests::{Backend, TestApp, spawn_app, spawn_app_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

on_both_backends!(
    oversized_bodies_are_refused_with_413_before_anything_reads_them,
    long_or_token_heavy_documents_are_refused_before_parsing,
    list_sizes_and_aliases_count_against_the_query_budget,
    production_answers_no_introspection_and_no_suggestions,
    portal_and_gallery_links_never_reach_the_logs_or_metrics,
    pages_cannot_be_framed_cached_sniffed_or_leak_their_link,
    a_login_to_a_missing_gallery_fails_like_a_wrong_password,
    api_keys_are_created_and_revoked_but_never_the_last_one_by_itself,
    a_wrong_key_on_the_websocket_closes_with_4403,
    a_fragment_bomb_is_refused_before_validation_with_or_without_a_key,
    requests_without_a_key_are_refused_before_their_document_costs_anything,
);

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
}

const CREATE_CLIENT: &str = "mutation { createClient(input: { name: \"Eve\", email: \"eve@example.com\" }) { client { id } } }";

/// Sends a chunked POST (no `Content-Length`) of `size` bytes over a raw
/// socket and returns the status line.
async fn chunked_post(app: &TestApp, path: &str, size: usize) -> String {
    let address = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    let chunk = vec![b' '; 64 * 1024];
    let mut sent = 0;
    while sent < size {
        let frame = format!("{:x}\r\n", chunk.len());
        // The server may answer and close before everything is sent.
        if stream.write_all(frame.as_bytes()).await.is_err()
            || stream.write_all(&chunk).await.is_err()
            || stream.write_all(b"\r\n").await.is_err()
        {
            break;
        }
        sent += chunk.len();
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut response = vec![0u8; 4096];
    let n = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read(&mut response),
    )
    .await
    .expect("an answer in time")
    .unwrap_or(0);
    String::from_utf8_lossy(&response[..n])
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

async fn oversized_bodies_are_refused_with_413_before_anything_reads_them(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let key = app.create_studio("Golden Hour").await;
    // 10 MB of query with a valid mutation in front, sent with a key.
    let huge = format!("{CREATE_CLIENT}{}", " ".repeat(10 * 1024 * 1024));
    let response = app
        .http
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&key)
        .json(&json!({ "query": huge }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 413);
    assert!(response.headers().contains_key("x-request-id"));
    let body: Value = response.json().await.expect("json");
    assert_eq!(code(&body), "PAYLOAD_TOO_LARGE", "{body}");
    // Without a Content-Length, the limit holds while streaming.
    let status = chunked_post(&app, "/graphql", 4 * 1024 * 1024).await;
    assert!(status.contains("413"), "{status}");
    // Every route, not only /graphql: the portal, logins, webhooks.
    for path in [
        "/pay/some-token",
        "/dashboard/login",
        "/webhooks/stripe",
        "/gallery/1",
    ] {
        let response = app
            .http
            .post(format!("{}{path}", app.address))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(vec![b'a'; 2 * 1024 * 1024])
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 413, "{path}");
    }
    // A normal request still works, and nothing was written by the others.
    let ok = app.graphql(Some(&key), CREATE_CLIENT, json!({})).await;
    assert!(ok.get("errors").is_none(), "{ok}");
    assert_eq!(app.count("clients").await, 1);
}

async fn long_or_token_heavy_documents_are_refused_before_parsing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let key = app.create_studio("Golden Hour").await;
    // Longer than the document limit (but well under the body limit).
    let long = format!("{CREATE_CLIENT}{}", " ".repeat(20 * 1024));
    let body = app.graphql(Some(&key), &long, json!({})).await;
    assert_eq!(code(&body), "QUERY_TOO_LARGE", "{body}");
    // Short, but made of thousands of tokens.
    let tokens = format!(
        "mutation {{ createClient(input: {{ name: \"Eve\", email: \"eve@example.com\" }}) {{ client {{ id {} }} }} }}",
        "id ".repeat(4_000)
    );
    assert!(tokens.len() < 16 * 1024);
    let body = app.graphql(Some(&key), &tokens, json!({})).await;
    assert_eq!(code(&body), "QUERY_TOO_LARGE", "{body}");
    // Without a key too: the limit comes before authentication.
    let body = app.graphql(None, &tokens, json!({})).await;
    assert_eq!(code(&body), "QUERY_TOO_LARGE", "{body}");
    assert_eq!(app.count("clients").await, 0);
}

async fn list_sizes_and_aliases_count_against_the_query_budget(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let key = app.create_studio("Golden Hour").await;
    // One page of 100 is fine.
    let one = app
        .graphql(
            Some(&key),
            "{ invoices(first: 100) { edges { node { id number } } } }",
            json!({}),
        )
        .await;
    assert!(one.get("errors").is_none(), "{one}");
    // 20 of them cost 20 x 100 items: over the budget.
    let pages = (0..20)
        .map(|i| format!("p{i}: invoices(first: 100) {{ edges {{ node {{ id number }} }} }}"))
        .collect::<Vec<_>>()
        .join(" ");
    let body = app
        .graphql(Some(&key), &format!("{{ {pages} }}"), json!({}))
        .await;
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
    assert!(body["data"].is_null(), "nothing ran: {body}");
    // A page size the resolver clamps costs what the clamp allows, not less.
    let nested = (0..9)
        .map(|i| {
            format!(
                "s{i}: sessions(first: 100000) {{ edges {{ node {{ id title status scheduledAt }} }} }}"
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    let body = app
        .graphql(Some(&key), &format!("{{ {nested} }}"), json!({}))
        .await;
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
    // Many aliases of a free field are capped.
    let typenames = (0..200)
        .map(|i| format!("t{i}: __typename"))
        .collect::<Vec<_>>()
        .join(" ");
    let body = app
        .graphql(Some(&key), &format!("{{ {typenames} }}"), json!({}))
        .await;
    assert_eq!(code(&body), "TOO_MANY_ALIASES", "{body}");
    // Aliased mutations too: nothing is written.
    let mutations = (0..40)
        .map(|i| {
            format!(
                "c{i}: createClient(input: {{ name: \"Eve {i}\", email: \"eve{i}@example.com\" }}) {{ client {{ id }} }}"
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    let body = app
        .graphql(
            Some(&key),
            &format!("mutation {{ {mutations} }}"),
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "TOO_MANY_ALIASES", "{body}");
    assert_eq!(app.count("clients").await, 0);
}

async fn production_answers_no_introspection_and_no_suggestions(backend: Backend) {
    let introspection = "{ __schema { queryType { name } } }";
    let typo = "{ invoicez(first: 1) { edges { node { id } } } }";
    // Development (the embedded default): both on.
    let Some(dev) = spawn_app(backend).await else {
        return;
    };
    let key = dev.create_studio("Golden Hour").await;
    let body = dev.graphql(Some(&key), introspection, json!({})).await;
    assert_eq!(
        body["data"]["__schema"]["queryType"]["name"], "Query",
        "{body}"
    );
    let body = dev.graphql(Some(&key), typo, json!({})).await;
    assert!(body.to_string().contains("Did you mean"), "{body}");
    drop(dev);
    // Production: both off.
    let Some(prod) = spawn_app_with(backend, |s| s.environment = Environment::Production).await
    else {
        return;
    };
    let key = prod.create_studio("Golden Hour").await;
    for query in [
        introspection,
        "{ __type(name: \"Invoice\") { fields { name } } }",
    ] {
        let body = prod.graphql(Some(&key), query, json!({})).await;
        assert!(
            body["data"].is_null()
                || body["data"]["__schema"].is_null() && body["data"]["__type"].is_null(),
            "introspection answered in production: {body}"
        );
        assert!(!body.to_string().contains("\"Query\""), "{body}");
    }
    let body = prod.graphql(Some(&key), typo, json!({})).await;
    assert!(body.get("errors").is_some(), "{body}");
    assert!(!body.to_string().contains("Did you mean"), "{body}");
    // GraphiQL is not served either; the API itself still works.
    let page = prod
        .http
        .get(format!("{}/graphql", prod.address))
        .send()
        .await
        .expect("graphiql");
    assert_eq!(page.status(), 404);
    let ok = prod
        .graphql(Some(&key), "{ studio { name } }", json!({}))
        .await;
    assert_eq!(ok["data"]["studio"]["name"], "Golden Hour", "{ok}");
}

/// Every log line of this test binary, captured once a test asks for it.
mod captured_logs {
    use std::sync::{Mutex, OnceLock};

    static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());
    static INSTALLED: OnceLock<bool> = OnceLock::new();

    struct Writer;

    impl std::io::Write for Writer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            LOG.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Installs the process-wide subscriber (the app's own format, debug for
    /// the api so every request's span is written).
    pub fn install() -> bool {
        *INSTALLED.get_or_init(|| {
            tracing_subscriber::fmt()
                .with_env_filter("info,api=debug,sqlx=warn,sea_orm=warn,apalis=warn")
                .with_ansi(false)
                .with_writer(|| Writer)
                .try_init()
                .is_ok()
        })
    }

    pub fn text() -> String {
        String::from_utf8_lossy(&LOG.lock().unwrap()).into_owned()
    }
}

async fn portal_and_gallery_links_never_reach_the_logs_or_metrics(backend: Backend) {
    assert!(
        captured_logs::install(),
        "the capturing subscriber must be the first"
    );
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let fixture = app.seed_studio("Golden Hour").await;
    app.complete_session(&fixture.key, &fixture.invoice_session)
        .await;
    app.drain().await;
    let invoice = app.invoice_of(&fixture.key, &fixture.invoice_session).await;
    let link = invoice["portalUrl"]
        .as_str()
        .expect("portal link")
        .to_string();
    let token = link.rsplit('/').next().expect("token").to_string();
    assert!(token.len() >= 20, "{link}");
    for url in [
        link.clone(),
        format!("{link}/invoice.pdf"),
        format!("{link}/nothing-here"),
    ] {
        app.http.get(&url).send().await.expect("portal");
    }
    app.http
        .post(&link)
        .form(&[("card", "4000000000000002"), ("attempt", "x")])
        .send()
        .await
        .expect("portal post");
    let gallery = format!("{}/gallery/secret-gallery-link-{token}", app.address);
    app.http.get(&gallery).send().await.expect("gallery");
    let logs = captured_logs::text();
    assert!(
        logs.contains("/pay/{redacted}"),
        "the portal requests were logged with their path redacted"
    );
    assert!(!logs.contains(&token), "a portal token reached the logs");
    assert!(
        !logs.contains("secret-gallery-link"),
        "a gallery link reached the logs"
    );
    assert!(!logs.contains(&fixture.key), "an API key reached the logs");
    let metrics = app
        .http
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    assert!(
        metrics.contains("/pay/{token}"),
        "route labels are patterns"
    );
    assert!(
        !metrics.contains(&token),
        "a portal token reached the metrics"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_refuses_to_start_with_a_secret_key_others_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("secret.key");
    std::fs::write(&path, "a-secret-anyone-on-the-host-can-read").expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let mut settings = tests::test_settings(dir.path());
    settings.secret_key = None;
    let err = api::Application::build(settings.clone())
        .await
        .err()
        .expect("refused to start");
    assert!(err.to_string().contains("chmod 600"), "{err}");
    // Owner-only, it starts; a fresh key is created owner-only.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    api::Application::build(settings.clone())
        .await
        .expect("starts");
    let fresh = tempfile::tempdir().expect("dir");
    let mut settings = tests::test_settings(fresh.path());
    settings.secret_key = None;
    api::Application::build(settings).await.expect("starts");
    let mode = std::fs::metadata(fresh.path().join("secret.key"))
        .expect("created")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

fn assert_protected(response: &reqwest::Response, what: &str) {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let csp = header("content-security-policy");
    assert!(
        csp.contains("frame-ancestors 'none'"),
        "{what}: CSP {csp:?}"
    );
    assert!(csp.contains("default-src 'none'"), "{what}: CSP {csp:?}");
    assert_eq!(header("x-frame-options"), "DENY", "{what}");
    assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header("referrer-policy"), "no-referrer", "{what}");
    assert!(header("cache-control").contains("no-store"), "{what}");
}

async fn pages_cannot_be_framed_cached_sniffed_or_leak_their_link(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let fixture = app.seed_studio("Golden Hour").await;
    app.complete_session(&fixture.key, &fixture.invoice_session)
        .await;
    app.drain().await;
    let invoice = app.invoice_of(&fixture.key, &fixture.invoice_session).await;
    let link = invoice["portalUrl"]
        .as_str()
        .expect("portal link")
        .to_string();
    let portal = app.http.get(&link).send().await.expect("portal");
    assert_eq!(portal.status(), 200);
    assert_protected(&portal, "portal page");
    let pdf = app
        .http
        .get(format!("{link}/invoice.pdf"))
        .send()
        .await
        .expect("pdf");
    assert_eq!(
        pdf.headers()
            .get("referrer-policy")
            .and_then(|v| v.to_str().ok()),
        Some("no-referrer")
    );
    let unknown = app
        .http
        .get(format!("{}/pay/not-a-token", app.address))
        .send()
        .await
        .expect("portal");
    assert_protected(&unknown, "unknown link");
    let gallery = app
        .http
        .get(gallery_link(&app))
        .send()
        .await
        .expect("gallery");
    assert_eq!(gallery.status(), 200);
    assert_protected(&gallery, "gallery login");
    let login = app
        .http
        .get(format!("{}/dashboard/login", app.address))
        .send()
        .await
        .expect("dashboard login");
    assert_protected(&login, "dashboard login");
    // The API's JSON answers are not sniffed or referred either.
    let api = app
        .http
        .post(format!("{}/graphql", app.address))
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .expect("graphql");
    assert_eq!(
        api.headers()
            .get("x-content-type-options")
            .and_then(|v| v.to_str().ok()),
        Some("nosniff")
    );
}

/// The gallery link of the (only) credentials email sent.
fn gallery_link(app: &TestApp) -> String {
    app.emails_to(tests::INVOICE_EMAIL)
        .into_iter()
        .find(|e| e.text.contains("Password: "))
        .expect("credentials email")
        .text
        .split_whitespace()
        .find(|w| w.starts_with("http") && w.contains("/gallery/"))
        .expect("gallery link")
        .to_string()
}

async fn a_login_to_a_missing_gallery_fails_like_a_wrong_password(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let fixture = app.seed_studio("Golden Hour").await;
    app.complete_session(&fixture.key, &fixture.invoice_session)
        .await;
    app.drain().await;
    let form = [("username", "noah"), ("password", "not-the-password")];
    let link = gallery_link(&app);
    let wrong = app
        .http
        .post(&link)
        .form(&form)
        .send()
        .await
        .expect("login");
    let before = domain::infra::secrets::password_verifications();
    let mut missing = None;
    // A made-up link, and the old session-id form of a link.
    let made_up = format!("{}/gallery/{}", app.address, "x".repeat(43));
    let by_id = format!("{}/gallery/{}", app.address, fixture.invoice_session);
    for url in [&made_up, &by_id, &made_up] {
        missing = Some(app.http.post(url).form(&form).send().await.expect("login"));
    }
    let missing = missing.expect("answer");
    // Each failed login to a gallery that does not exist ran a verification.
    assert!(
        domain::infra::secrets::password_verifications() - before >= 3,
        "no hash work for a missing gallery"
    );
    assert_eq!(wrong.status(), 401);
    assert_eq!(missing.status(), wrong.status());
    assert_protected(&missing, "failed gallery login");
    let wrong = wrong.text().await.expect("body");
    let missing = missing.text().await.expect("body");
    assert!(wrong.contains("do not match"));
    assert_eq!(wrong, missing, "the same page either way");
    // The same hash work either way: a missing gallery is verified against
    // a decoy with the parameters of a real stored hash.
    let stored = entity::gallery_access::Entity::find()
        .one(&app.ctx.db)
        .await
        .expect("query")
        .and_then(|a| a.password_hash)
        .expect("a real gallery hash");
    let (decoy, real) = domain::followup::gallery::login_hash(None);
    assert!(!real);
    let params = |phc: &str| phc.split('$').take(4).collect::<Vec<_>>().join("$");
    assert_eq!(params(&decoy), params(&stored));
}

const KEYS: &str = "{ apiKeys { id label prefix createdAt lastUsedAt revokedAt current } }";

async fn api_keys_are_created_and_revoked_but_never_the_last_one_by_itself(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let first = app.create_studio("Golden Hour").await;
    let other_studio = app.create_studio("Other").await;
    let keys = app.gql(&first, KEYS, json!({})).await;
    assert_eq!(keys["apiKeys"].as_array().map(Vec::len), Some(1), "{keys}");
    assert_eq!(keys["apiKeys"][0]["current"], true);
    assert!(
        keys["apiKeys"][0]["lastUsedAt"].is_string(),
        "used just now: {keys}"
    );
    let first_id = keys["apiKeys"][0]["id"].as_str().expect("id").to_string();
    // A bad label writes nothing.
    let create = "mutation($label: String!) { createApiKey(input: { label: $label }) {
        key apiKey { id label prefix current } userErrors { field code } } }";
    let bad = app.gql(&first, create, json!({ "label": "  " })).await;
    assert_eq!(
        bad["createApiKey"]["userErrors"][0]["code"], "INVALID_INPUT",
        "{bad}"
    );
    assert!(bad["createApiKey"]["key"].is_null());
    assert_eq!(app.count("api_keys").await, 2);
    let made = app.gql(&first, create, json!({ "label": "website" })).await;
    let second = made["createApiKey"]["key"]
        .as_str()
        .expect("key")
        .to_string();
    let second_id = made["createApiKey"]["apiKey"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(made["createApiKey"]["apiKey"]["current"], false);
    assert!(
        second.starts_with(
            made["createApiKey"]["apiKey"]["prefix"]
                .as_str()
                .expect("prefix")
        )
    );
    let mine = app.gql(&second, "{ studio { name } }", json!({})).await;
    assert_eq!(mine["studio"]["name"], "Golden Hour");
    let revoke = "mutation($id: ID!) { revokeApiKey(id: $id) {
        apiKey { id revokedAt current } userErrors { field message code } } }";
    // Another studio's key is not found from here.
    let foreign = app
        .gql(&other_studio, revoke, json!({ "id": first_id }))
        .await;
    assert_eq!(
        foreign["revokeApiKey"]["userErrors"][0]["code"], "NOT_FOUND",
        "{foreign}"
    );
    // The second key revokes the first: the first stops working at once.
    let done = app.gql(&second, revoke, json!({ "id": first_id })).await;
    assert!(
        done["revokeApiKey"]["apiKey"]["revokedAt"].is_string(),
        "{done}"
    );
    let refused = app
        .graphql(Some(&first), "{ studio { name } }", json!({}))
        .await;
    assert_eq!(code(&refused), "UNAUTHENTICATED", "{refused}");
    // Now the second is the last active key: it cannot revoke itself.
    let last = app.gql(&second, revoke, json!({ "id": second_id })).await;
    assert_eq!(
        last["revokeApiKey"]["userErrors"][0]["code"], "INVALID_STATE",
        "{last}"
    );
    assert!(last["revokeApiKey"]["apiKey"].is_null());
    let still = app.gql(&second, "{ studio { name } }", json!({})).await;
    assert_eq!(still["studio"]["name"], "Golden Hour");
    // With a third key, it can.
    let third = app.gql(&second, create, json!({ "label": "app" })).await;
    let third = third["createApiKey"]["key"]
        .as_str()
        .expect("key")
        .to_string();
    let gone = app.gql(&second, revoke, json!({ "id": second_id })).await;
    assert_eq!(gone["revokeApiKey"]["apiKey"]["current"], true, "{gone}");
    assert!(
        gone["revokeApiKey"]["userErrors"]
            .as_array()
            .is_some_and(Vec::is_empty)
    );
    let keys = app.gql(&third, KEYS, json!({})).await;
    let active = keys["apiKeys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter(|k| k["revokedAt"].is_null())
        .count();
    assert_eq!(active, 1, "{keys}");
}

async fn last_used_at(app: &TestApp, key_id: i64) -> Option<chrono::DateTime<chrono::Utc>> {
    entity::api_key::Entity::find_by_id(key_id)
        .one(&app.ctx.db)
        .await
        .expect("query")
        .expect("key")
        .last_used_at
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_used_at_is_written_at_most_once_a_minute() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_app(backend).await else {
            return;
        };
        let key = app.create_studio("Golden Hour").await;
        assert_eq!(last_used_at(&app, 1).await, None, "never used");
        app.gql(&key, "{ studio { name } }", json!({})).await;
        let first = last_used_at(&app, 1).await.expect("recorded");
        for _ in 0..5 {
            app.gql(&key, "{ studio { name } }", json!({})).await;
        }
        assert_eq!(
            last_used_at(&app, 1).await,
            Some(first),
            "not rewritten within the minute"
        );
        // A minute later it moves.
        let earlier = first - chrono::Duration::seconds(61);
        let mut row: entity::api_key::ActiveModel = entity::api_key::Entity::find_by_id(1)
            .one(&app.ctx.db)
            .await
            .expect("query")
            .expect("key")
            .into();
        row.last_used_at = sea_orm::ActiveValue::Set(Some(earlier));
        sea_orm::ActiveModelTrait::update(row, &app.ctx.db)
            .await
            .expect("update");
        app.gql(&key, "{ studio { name } }", json!({})).await;
        assert!(last_used_at(&app, 1).await.expect("recorded") > earlier);
    }
}

/// Opens `/graphql/ws` with graphql-transport-ws, sends `connection_init`
/// with `key`, and returns the first answer: `Ok(type)` or `Err(close code)`.
async fn websocket_init(app: &TestApp, key: &str) -> Result<String, (u16, String)> {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let url = format!("{}/graphql/ws", app.address.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connect");
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {key}") } });
    socket
        .send(Message::Text(init.to_string().into()))
        .await
        .expect("init");
    loop {
        let next = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
            .await
            .expect("an answer in time");
        match next {
            Some(Ok(Message::Text(text))) => {
                let value: Value = serde_json::from_str(&text).expect("json");
                if value["type"] == "ping" {
                    continue;
                }
                return Ok(value["type"].as_str().unwrap_or_default().to_string());
            }
            Some(Ok(Message::Close(Some(frame)))) => {
                return Err((u16::from(frame.code), frame.reason.to_string()));
            }
            Some(Ok(Message::Close(None))) | None => return Err((0, String::new())),
            Some(Ok(_)) => continue,
            Some(Err(err)) => panic!("websocket error: {err}"),
        }
    }
}

async fn a_wrong_key_on_the_websocket_closes_with_4403(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let key = app.create_studio("Golden Hour").await;
    assert_eq!(
        websocket_init(&app, &key).await,
        Ok("connection_ack".to_string())
    );
    for wrong in ["sk_studio_not-a-real-key", ""] {
        let answer = websocket_init(&app, wrong).await;
        assert_eq!(
            answer,
            Err((4403, "Forbidden".to_string())),
            "key {wrong:?}"
        );
    }
    // A revoked key is refused the same way.
    let create = "mutation { createApiKey(input: { label: \"second\" }) { key } }";
    let second = app.gql(&key, create, json!({})).await["createApiKey"]["key"]
        .as_str()
        .expect("key")
        .to_string();
    app.gql(
        &second,
        "mutation { revokeApiKey(id: \"1\") { userErrors { code } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        websocket_init(&app, &key).await,
        Err((4403, "Forbidden".to_string()))
    );
}

/// A document of `levels` fragments, each spreading the previous one twice
/// (about 1 KB for 26 levels; fully expanded it selects 2^26 fields), on
/// the type `on`, spread from `root`.
fn fragment_bomb(levels: usize, on: &str, root: &str) -> String {
    let mut document = format!("fragment F0 on {on} {{ __typename }}\n");
    for level in 1..=levels {
        let below = level - 1;
        document.push_str(&format!(
            "fragment F{level} on {on} {{ ...F{below} ...F{below} }}\n"
        ));
    }
    document.push_str(&root.replace("SPREAD", &format!("...F{levels}")));
    document
}

/// Issue 17, item 7. Unbounded, this document kept a core busy for 16 s in
/// the release build (minutes in a debug one): validation walked every
/// expansion before the complexity limit refused it. It must be refused by
/// the expansion bound, right after parsing: the code says which limit
/// refused it (validation's would be `QUERY_TOO_COMPLEX`), and the answer
/// comes long before validation could have finished. The bound (10 s)
/// only keeps the unfixed server from hanging the test; the time itself is
/// measured by BENCHMARKS.md, not here.
async fn a_fragment_bomb_is_refused_before_validation_with_or_without_a_key(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let key = app.create_studio("Golden Hour").await;
    let bomb = fragment_bomb(26, "Query", "{ SPREAD }");
    assert!(bomb.len() < 1_200, "{} bytes", bomb.len());
    let in_time = std::time::Duration::from_secs(10);
    let body = tokio::time::timeout(in_time, app.graphql(Some(&key), &bomb, json!({})))
        .await
        .expect("the bomb is refused long before validation would end");
    assert_eq!(code(&body), "QUERY_TOO_LARGE", "{body}");
    assert!(body["data"].is_null(), "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("fragments are spread")),
        "{body}"
    );
    // Refusals point at the document's start, counted from 1.
    assert_eq!(
        body["errors"][0]["locations"],
        json!([{ "line": 1, "column": 1 }]),
        "{body}"
    );
    // Without a key, the same document is refused as unauthenticated.
    let body = tokio::time::timeout(in_time, app.graphql(None, &bomb, json!({})))
        .await
        .expect("refused at once");
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
    // An introspection-only bomb (what may run without a key in
    // development) meets the same bound.
    let bomb = fragment_bomb(26, "__Schema", "{ __schema { SPREAD } }");
    let body = tokio::time::timeout(in_time, app.graphql(None, &bomb, json!({})))
        .await
        .expect("refused at once");
    assert_eq!(code(&body), "QUERY_TOO_LARGE", "{body}");
    // Fragments reused within the bound are fine: 2^9 = 512 fields.
    let fine = fragment_bomb(9, "Query", "{ SPREAD }");
    let body = app.graphql(Some(&key), &fine, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
    // A fragment that spreads itself is refused, not walked forever.
    let cycle = "fragment A on Query { ...B } fragment B on Query { ...A } { ...A }";
    let body = app.graphql(Some(&key), cycle, json!({})).await;
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
    // Two at once do not stall the server: /healthz answers meanwhile.
    let bomb = fragment_bomb(26, "Query", "{ SPREAD }");
    let (a, b, health) = tokio::time::timeout(
        in_time,
        futures::future::join3(
            app.graphql(Some(&key), &bomb, json!({})),
            app.graphql(None, &bomb, json!({})),
            app.http.get(format!("{}/healthz", app.address)).send(),
        ),
    )
    .await
    .expect("all answered");
    assert_eq!(code(&a), "QUERY_TOO_LARGE", "{a}");
    assert_eq!(code(&b), "UNAUTHENTICATED", "{b}");
    assert!(health.expect("healthz").status().is_success());
}

/// Issue 17, item 7: a request without a valid key gets `UNAUTHENTICATED`
/// before anything that costs. In production (no introspection) its
/// document is not even parsed: a document that does not parse gets the
/// same answer. In development only introspection runs without a key.
async fn requests_without_a_key_are_refused_before_their_document_costs_anything(backend: Backend) {
    let Some(dev) = spawn_app(backend).await else {
        return;
    };
    // Development: introspection is public (GraphiQL asks before a key is set)...
    let body = dev
        .graphql(None, "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(
        body["data"]["__schema"]["queryType"]["name"], "Query",
        "{body}"
    );
    // ...and nothing else, not even a field that fails on its own.
    for query in [
        "{ studio { name } }",
        "{ __typename studio { name } }",
        "{ ... on Query { studio { name } } }",
        "mutation { __typename }",
    ] {
        let body = dev.graphql(None, query, json!({})).await;
        assert_eq!(code(&body), "UNAUTHENTICATED", "{query}: {body}");
        assert!(body["data"].is_null(), "{query}: {body}");
    }
    // A document that does not parse says so, with a code.
    let body = dev.graphql(None, "{ studio { ", json!({})).await;
    assert_eq!(code(&body), "GRAPHQL_PARSE_FAILED", "{body}");
    drop(dev);

    let Some(prod) = spawn_app_with(backend, |s| s.environment = Environment::Production).await
    else {
        return;
    };
    let key = prod.create_studio("Golden Hour").await;
    for query in [
        "{ __schema { queryType { name } } }",
        "{ studio { name } }",
        "{ studio { ",
        "fragment F on Query { ...F } { ...F }",
    ] {
        for bad_key in [None, Some("sk_studio_not-a-real-key")] {
            let body = prod.graphql(bad_key, query, json!({})).await;
            assert_eq!(code(&body), "UNAUTHENTICATED", "{query}: {body}");
            assert_eq!(
                body["errors"][0]["locations"],
                json!([{ "line": 1, "column": 1 }]),
                "{body}"
            );
        }
    }
    // With the key, the same parse error is a parse error.
    let body = prod.graphql(Some(&key), "{ studio { ", json!({})).await;
    assert_eq!(code(&body), "GRAPHQL_PARSE_FAILED", "{body}");
    let ok = prod
        .graphql(Some(&key), "{ studio { name } }", json!({}))
        .await;
    assert_eq!(ok["data"]["studio"]["name"], "Golden Hour", "{ok}");
}
