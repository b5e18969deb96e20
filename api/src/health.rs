use actix_web::{HttpResponse, web};
use domain::AppContext;
use domain::infra::settings::Environment;

/// `GET /`: in development, a page of links to what runs here; in
/// production nothing (404), so the root reveals nothing about the service.
pub async fn home(app: web::Data<AppContext>) -> HttpResponse {
    if app.settings.environment == Environment::Production {
        return HttpResponse::NotFound().finish();
    }
    let base = app.settings.public_url();
    let page = maud::html! {
        (maud::DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Studio billing (development)" }
            }
            body {
                h1 { "Studio billing" }
                p { "This api runs in development. What it serves:" }
                ul {
                    li { a href={ (base) "/graphql" } { "GraphiQL" } " — the GraphQL API (an API key from " code { "seed-demo" } " or " code { "create-studio" } ")" }
                    li { a href={ (base) "/dashboard" } { "Dashboard" } " — for a studio's staff" }
                    li { a href={ (base) "/healthz" } { "Health" } " and " a href={ (base) "/readyz" } { "readiness" } " (database, queue, mail)" }
                    li { a href={ (base) "/metrics" } { "Metrics" } " (Prometheus)" }
                }
            }
        }
    };
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page.into_string())
}

/// Liveness: the process answers.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// Readiness: every service this process depends on answers: the database;
/// the queue (Redis when one is configured, production; else the queue lives
/// in the database); mail (the SMTP server when one is configured, else the
/// outbox directory takes a file). Each check is bounded so a service that
/// hangs reads as down instead of hanging the probe. The body names each
/// service and its state, e.g. `database: ok` / `queue: down`.
pub async fn readyz(app: web::Data<AppContext>) -> HttpResponse {
    let (database, queue, mail) = tokio::join!(
        check(async { app.db.ping().await.map_err(|e| e.to_string()) }),
        async {
            if app.settings.redis_url.is_some() {
                Some(check(app.events.health()).await)
            } else {
                None
            }
        },
        check(domain::adapters::probes::mail(&app.settings)),
    );
    let queue = queue.unwrap_or_else(|| database.clone());
    let lines = [("database", database), ("queue", queue), ("mail", mail)];
    let mut body = String::new();
    let mut ready = true;
    for (service, state) in &lines {
        match state {
            Ok(()) => body.push_str(&format!("{service}: ok\n")),
            Err(err) => {
                ready = false;
                tracing::warn!(service, error = %err, "not ready");
                body.push_str(&format!("{service}: down\n"));
            }
        }
    }
    let mut response = if ready {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    response.content_type("text/plain").body(body)
}

async fn check(probe: impl Future<Output = Result<(), String>>) -> Result<(), String> {
    tokio::time::timeout(READY_CHECK_TIMEOUT, probe)
        .await
        .unwrap_or_else(|_| Err("no answer in time".into()))
}

const READY_CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Prometheus metrics of this process (HTTP, and jobs when the worker runs here).
pub async fn metrics() -> HttpResponse {
    match domain::infra::telemetry::metrics_handle() {
        Some(handle) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(handle.render()),
        None => HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("metrics recorder unavailable"),
    }
}
