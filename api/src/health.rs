use actix_web::{HttpResponse, web};
use domain::AppContext;

/// Liveness: the process answers.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// Readiness: every service this process depends on answers: the database,
/// and Redis when one is configured (production). Each check is bounded so a
/// service that hangs reads as down instead of hanging the probe. The body
/// names each service and its state, e.g. `database: ok` / `redis: down`.
pub async fn readyz(app: web::Data<AppContext>) -> HttpResponse {
    let database = check(async { app.db.ping().await.map_err(|e| e.to_string()) }).await;
    let mut lines = vec![("database", database)];
    if app.settings.redis_url.is_some() {
        lines.push(("redis", check(app.events.health()).await));
    }
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
