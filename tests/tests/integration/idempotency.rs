//! Exactly once: completing twice or ten times at once, and every job run twice.

use entity::enums::OutboxStatus;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tests::{AUTO_PAY_EMAIL, Backend, INVOICE_EMAIL, TestApp, spawn_app};

on_both_backends!(
    completing_a_session_twice_creates_one_invoice,
    ten_concurrent_completions_bill_once,
    running_every_job_twice_changes_nothing,
);

async fn completing_a_session_twice_creates_one_invoice(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let first = app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;
    let second = app.complete_session(&f.key, &f.auto_pay_session).await;
    assert_eq!(
        first["data"]["completeSession"]["session"],
        second["data"]["completeSession"]["session"]
    );
    assert_eq!(
        second["data"]["completeSession"]["userErrors"],
        serde_json::json!([])
    );
    app.drain().await;
    assert_eq!(app.count("invoices").await, 1);
    assert_eq!(app.count("payments").await, 1);
    assert_eq!(app.emails_to(AUTO_PAY_EMAIL).len(), 2);
}

async fn ten_concurrent_completions_bill_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let calls = (0..10).map(|_| app.complete_session(&f.key, &f.auto_pay_session));
    for body in futures::future::join_all(calls).await {
        assert_eq!(
            body["data"]["completeSession"]["session"]["status"], "COMPLETED",
            "{body}"
        );
        assert_eq!(
            body["data"]["completeSession"]["userErrors"],
            serde_json::json!([])
        );
    }
    app.drain().await;
    assert_eq!(app.count("invoices").await, 1);
    assert_eq!(app.count("payments").await, 1);
    assert_eq!(app.count("simulated_gateway_charges").await, 1);
    let emails = app.emails_to(AUTO_PAY_EMAIL);
    assert_eq!(
        emails
            .iter()
            .filter(|e| e.subject.starts_with("Receipt"))
            .count(),
        1
    );
    assert_eq!(
        emails
            .iter()
            .filter(|e| e.subject.contains("photos"))
            .count(),
        1
    );
    assert_eq!(emails.len(), 2);
}

#[derive(Debug, PartialEq)]
struct Snapshot {
    invoices: i64,
    lines: i64,
    payments: i64,
    charges: i64,
    notifications: i64,
    galleries: i64,
    webhooks: i64,
    emails: usize,
    counter: i64,
    invoice_json: serde_json::Value,
}

async fn snapshot(app: &TestApp, f: &tests::Fixture) -> Snapshot {
    Snapshot {
        invoices: app.count("invoices").await,
        lines: app.count("invoice_lines").await,
        payments: app.count("payments").await,
        charges: app.count("simulated_gateway_charges").await,
        notifications: app.count("notifications").await,
        galleries: app.count("gallery_access").await,
        webhooks: app.count("webhook_events").await,
        emails: app.emails().len(),
        counter: entity::invoice_number_counter::Entity::find()
            .all(&app.ctx.db)
            .await
            .expect("counter")
            .iter()
            .map(|c| c.last_value)
            .sum(),
        invoice_json: serde_json::json!([
            app.invoice_of(&f.key, &f.auto_pay_session).await,
            app.invoice_of(&f.key, &f.invoice_session).await,
        ]),
    }
}

/// Redelivers every job ever run (as the relay does for a lost queue entry)
/// and lets the real worker run each a second time: nothing may change.
async fn running_every_job_twice_changes_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let before = snapshot(&app, &f).await;
    assert_eq!(before.invoices, 2);
    assert_eq!(before.emails, 4);
    assert_eq!(before.webhooks, 1, "the auto-pay charge's webhook");

    let redelivered = entity::outbox::Entity::update_many()
        .col_expr(
            entity::outbox::Column::Status,
            Expr::value(OutboxStatus::Pending.as_str()),
        )
        .col_expr(
            entity::outbox::Column::ClaimedUntil,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .filter(entity::outbox::Column::Status.eq(OutboxStatus::Done))
        .exec(&app.ctx.db)
        .await
        .expect("redeliver");
    assert!(
        redelivered.rows_affected >= 8,
        "every step ran: {}",
        redelivered.rows_affected
    );
    app.drain().await;

    assert_eq!(snapshot(&app, &f).await, before);
    assert_eq!(app.emails_to(INVOICE_EMAIL).len(), 2);
}
