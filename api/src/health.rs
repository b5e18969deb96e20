use actix_web::{HttpResponse, web};
use domain::AppContext;

/// Liveness: the process answers.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// Readiness: the database answers too.
pub async fn readyz(app: web::Data<AppContext>) -> HttpResponse {
    match app.db.ping().await {
        Ok(()) => HttpResponse::Ok().content_type("text/plain").body("ready"),
        Err(err) => {
            tracing::warn!(error = %err, "database not ready");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain")
                .body("database unavailable")
        }
    }
}

/// Prometheus metrics of this process (HTTP, and jobs when the worker runs here).
pub async fn metrics() -> HttpResponse {
    match domain::telemetry::metrics_handle() {
        Some(handle) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(handle.render()),
        None => HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("metrics recorder unavailable"),
    }
}
