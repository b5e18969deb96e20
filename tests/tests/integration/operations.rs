//! Operations: Prometheus metrics, health and readiness.

use tests::{Backend, spawn_app};

on_both_backends!(metrics_count_requests_and_jobs_by_kind_and_outcome);

fn has_line(body: &str, name: &str, labels: &[&str]) -> bool {
    body.lines().any(|l| {
        l.starts_with(&format!("{name}{{")) && labels.iter().all(|label| l.contains(label))
    })
}

async fn metrics_count_requests_and_jobs_by_kind_and_outcome(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;
    let invoice = app.invoice_of(&f.key, &f.auto_pay_session).await;
    let portal = invoice["portalUrl"].as_str().expect("portal").to_string();
    app.http.get(&portal).send().await.expect("portal");

    let response = app
        .http
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .expect("metrics");
    assert_eq!(response.status(), 200);
    let body = response.text().await.expect("body");
    for kind in [
        "generate_invoice",
        "charge",
        "send_receipt",
        "sync_gallery_access",
        "send_gallery_credentials",
    ] {
        assert!(
            has_line(
                &body,
                "jobs_total",
                &[&format!("kind=\"{kind}\""), "outcome=\"done\""]
            ),
            "{kind} in:\n{body}"
        );
    }
    assert!(
        has_line(
            &body,
            "job_duration_seconds_bucket",
            &["kind=\"charge\"", "le=\"0.5\""]
        ),
        "{body}"
    );
    assert!(
        has_line(
            &body,
            "http_requests_total",
            &["method=\"POST\"", "route=\"/graphql\"", "status=\"200\""]
        ),
        "{body}"
    );
    // Route patterns, never raw paths: a portal token must not become a label.
    assert!(
        has_line(&body, "http_requests_total", &["route=\"/pay/{token}\""]),
        "{body}"
    );
    let token = portal.rsplit('/').next().expect("token");
    assert!(
        !body.contains(token),
        "portal tokens never appear in metrics"
    );
}
