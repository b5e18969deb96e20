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
