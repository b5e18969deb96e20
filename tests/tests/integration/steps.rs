//! Steps that keep failing are visible to their studio (issue 10, item 19):
//! in GraphQL (`failingSteps`, `Session.failingSteps`) and on the dashboard
//! ("Needs attention"), with a retry (`retryStep`, the dashboard's button)
//! that runs the step now. Another studio sees and retries nothing.

use async_trait::async_trait;
use domain::AppContext;
use domain::ports::mailer::{MailError, Mailer};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tests::{Backend, INVOICE_EMAIL, TestApp, spawn_app, spawn_app_full};

on_both_backends!(
    a_step_that_keeps_failing_is_shown_to_its_studio_and_retried_on_request,
    a_failed_email_is_shown_and_sent_again_once_on_retry,
);

/// The mail server is down while `down` is set: every send is refused.
struct MailOutage {
    inner: Arc<dyn Mailer>,
    down: Arc<AtomicBool>,
}

#[async_trait]
impl Mailer for MailOutage {
    async fn send(&self, message: lettre::Message) -> Result<(), MailError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(MailError::Smtp("421 service not available".into()));
        }
        self.inner.send(message).await
    }
}

pub(crate) const STEPS: &str = "{ failingSteps { id step session { id title } invoiceId attempts lastError state nextRetryAt } }";
pub(crate) const RETRY: &str = "mutation($id: ID!) { retryStep(id: $id) { step { id state attempts } userErrors { field code message } } }";

/// Waits until the studio's failing steps are `n` steps that gave up.
async fn gave_up(app: &TestApp, key: &str, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let body = app.gql(key, STEPS, json!({})).await;
        let steps = body["failingSteps"].as_array().cloned().unwrap_or_default();
        if steps.len() == n && steps.iter().all(|s| s["state"] == "GAVE_UP") {
            return steps;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "steps did not give up: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn hidden_csrf(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a csrf field") + marker.len();
    html[start..].split('"').next().expect("value").to_string()
}

async fn a_step_that_keeps_failing_is_shown_to_its_studio_and_retried_on_request(backend: Backend) {
    let down = Arc::new(AtomicBool::new(true));
    let outage = down.clone();
    let Some(app) = spawn_app_full(
        backend,
        // Give up after two attempts, so the test need not wait a day.
        |s| s.worker.max_attempts = 2,
        move |mut ctx: AppContext| {
            ctx.mailer = Arc::new(MailOutage {
                inner: ctx.mailer.clone(),
                down: outage,
            });
            ctx
        },
    )
    .await
    else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let other = app.create_studio("Other Studio").await;
    app.complete_session(&f.key, &f.invoice_session).await;

    // The mail server is down: the invoice and the gallery credentials fail
    // twice each and give up. The studio sees both, with the session.
    let steps = gave_up(&app, &f.key, 2).await;
    let mut kinds: Vec<&str> = steps.iter().filter_map(|s| s["step"].as_str()).collect();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        ["send_gallery_credentials", "send_invoice"],
        "{steps:?}"
    );
    for step in &steps {
        assert_eq!(step["session"]["id"], f.invoice_session.as_str(), "{step}");
        assert_eq!(step["attempts"], 2, "{step}");
        assert!(step["invoiceId"].is_string(), "{step}");
        assert!(step["nextRetryAt"].is_null(), "given up: {step}");
        let error = step["lastError"].as_str().unwrap_or_default();
        assert!(error.contains("421"), "{step}");
    }
    let on_session = app
        .gql(
            &f.key,
            "query($id: ID!) { session(id: $id) { failingSteps { id step } } }",
            json!({ "id": f.invoice_session }),
        )
        .await;
    assert_eq!(
        on_session["session"]["failingSteps"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "{on_session}"
    );
    let id_of = |kind: &str| {
        steps
            .iter()
            .find(|s| s["step"] == kind)
            .and_then(|s| s["id"].as_str())
            .expect("step id")
            .to_string()
    };
    let invoice_step = id_of("send_invoice");
    let credentials_step = id_of("send_gallery_credentials");

    // Another studio sees nothing and cannot retry it.
    let theirs = app.gql(&other, STEPS, json!({})).await;
    assert_eq!(theirs["failingSteps"], json!([]), "{theirs}");
    let refused = app.gql(&other, RETRY, json!({ "id": invoice_step })).await;
    assert_eq!(
        refused["retryStep"]["userErrors"][0]["code"], "NOT_FOUND",
        "{refused}"
    );
    assert!(refused["retryStep"]["step"].is_null());
    assert_eq!(app.count("outbox WHERE status = 'FAILED'").await, 2);

    // The dashboard lists them under "Needs attention".
    let browser = app.staff_browser(&f.key, "owner@golden.example").await;
    let page = tests::browsers::page_of(&browser, &format!("{}/dashboard", app.address)).await;
    assert!(page.contains("Needs attention"), "{page}");
    assert!(page.contains("send gallery credentials"), "{page}");
    assert!(page.contains(&format!("/dashboard/steps/{credentials_step}/retry")));

    // The mail server is back. Nothing runs by itself (the steps gave up)...
    down.store(false, Ordering::SeqCst);
    assert_eq!(app.count("outbox WHERE status = 'FAILED'").await, 2);
    // ...until the studio retries: one through GraphQL, one on the dashboard
    // (a forged form without the session's CSRF token changes nothing).
    let retried = app.gql(&f.key, RETRY, json!({ "id": invoice_step })).await;
    assert_eq!(retried["retryStep"]["userErrors"], json!([]), "{retried}");
    assert_eq!(retried["retryStep"]["step"]["id"], invoice_step.as_str());
    assert_eq!(retried["retryStep"]["step"]["attempts"], 2);
    let retry_url = format!("{}/dashboard/steps/{credentials_step}/retry", app.address);
    let forged = browser
        .post(&retry_url)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .expect("forged retry");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let pressed = browser
        .post(&retry_url)
        .form(&[("csrf", hidden_csrf(&page))])
        .send()
        .await
        .expect("retry");
    assert_eq!(pressed.status(), StatusCode::SEE_OTHER);

    // Both run now and are done: each email went out once.
    app.drain().await;
    let emails = app.emails_to(INVOICE_EMAIL);
    assert_eq!(
        emails
            .iter()
            .filter(|e| e.subject.starts_with("Invoice"))
            .count(),
        1,
        "{emails:#?}"
    );
    assert_eq!(
        emails
            .iter()
            .filter(|e| e.text.contains("Password: "))
            .count(),
        1
    );
    let after = app.gql(&f.key, STEPS, json!({})).await;
    assert_eq!(after["failingSteps"], json!([]), "{after}");
    // A done step is not retried again.
    let done = app.gql(&f.key, RETRY, json!({ "id": invoice_step })).await;
    assert_eq!(
        done["retryStep"]["userErrors"][0]["code"], "INVALID_STATE",
        "{done}"
    );
}

/// Stores a client name the API would refuse (a line break: the mail
/// library panics on it), as rows written before names were checked have.
pub(crate) async fn store_client_name(app: &TestApp, client: &str, name: &str) {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
    let id: i64 = client.parse().expect("client id");
    let mut row: entity::client::ActiveModel = entity::client::Entity::find_by_id(id)
        .one(&app.ctx.db)
        .await
        .expect("client")
        .expect("client row")
        .into();
    row.name = Set(name.into());
    row.update(&app.ctx.db).await.expect("store the name");
}

/// Issue 10, item 19 follow-up: an email whose `notifications` row ended
/// `FAILED` is a failing step too (session, invoice, the email's job, the
/// error, the attempts), and `retryStep` sends it again exactly once, also
/// when retried twice at the same time.
async fn a_failed_email_is_shown_and_sent_again_once_on_retry(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let eve = app
        .create_client(&f.key, "Eve Placeholder", "eve@example.com", "INVOICE")
        .await;
    let session = app
        .schedule_wedding(&f.key, &eve, &f.package, &f.add_on, "0")
        .await;
    store_client_name(&app, &eve, "Eve\r\nBcc: everyone@example.com").await;
    app.complete_session(&f.key, &session).await;
    app.drain().await;
    assert!(app.emails_to("eve@example.com").is_empty());

    let body = app.gql(&f.key, STEPS, json!({})).await;
    let steps = body["failingSteps"].as_array().cloned().unwrap_or_default();
    let invoice_step = steps
        .iter()
        .find(|s| s["step"] == "send_invoice")
        .unwrap_or_else(|| panic!("the failed invoice email is listed: {body}"))
        .clone();
    assert_eq!(
        invoice_step["session"]["id"],
        session.as_str(),
        "{invoice_step}"
    );
    assert!(invoice_step["invoiceId"].is_string(), "{invoice_step}");
    assert_eq!(invoice_step["state"], "GAVE_UP", "{invoice_step}");
    assert_eq!(invoice_step["attempts"], 1, "{invoice_step}");
    assert!(invoice_step["nextRetryAt"].is_null(), "{invoice_step}");
    assert!(
        invoice_step["lastError"]
            .as_str()
            .unwrap_or_default()
            .contains("panicked"),
        "{invoice_step}"
    );
    let id = invoice_step["id"].as_str().expect("step id").to_string();

    // The name is corrected; two retries at once send the email once.
    store_client_name(&app, &eve, "Eve Placeholder").await;
    let (a, b) = tokio::join!(
        app.gql(&f.key, RETRY, json!({ "id": id })),
        app.gql(&f.key, RETRY, json!({ "id": id }))
    );
    let refused: Vec<&Value> = [&a, &b]
        .into_iter()
        .filter(|r| r["retryStep"]["userErrors"] != json!([]))
        .collect();
    assert!(refused.len() <= 1, "{a} {b}");
    for r in &refused {
        assert_eq!(
            r["retryStep"]["userErrors"][0]["code"], "INVALID_STATE",
            "{r}"
        );
    }
    app.drain().await;
    let again = app.gql(&f.key, RETRY, json!({ "id": id })).await;
    assert_eq!(
        again["retryStep"]["userErrors"][0]["code"], "INVALID_STATE",
        "done: {again}"
    );
    app.drain().await;
    let invoices: Vec<_> = app
        .emails_to("eve@example.com")
        .into_iter()
        .filter(|e| e.subject.starts_with("Invoice"))
        .collect();
    assert_eq!(invoices.len(), 1, "sent once: {invoices:?}");
    let body = app.gql(&f.key, STEPS, json!({})).await;
    assert!(
        body["failingSteps"]
            .as_array()
            .is_some_and(|s| s.iter().all(|s| s["id"] != id.as_str())),
        "no longer failing: {body}"
    );
}
