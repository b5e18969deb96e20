//! One clock (issue 11, item 2): `ctx.clock` is the only reader of the time,
//! so the whole workflow runs at an instant a test chooses. A session
//! completed with the clock standing at 2031-03-30 23:30 UTC gets an invoice
//! issued, due and paid by that clock, and every outbox row of its workflow
//! is written, enqueued and finished by that clock (at that instant, or
//! the seconds `drain` lets it move on): nothing reads the wall clock.

use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::AppContext;
use domain::kernel::clock::Clock;
use entity::enums::{InvoiceStatus, OutboxStatus, PaymentStatus};
use sea_orm::EntityTrait;
use std::sync::Arc;
use tests::{Backend, spawn_app_full};

on_both_backends!(the_whole_workflow_runs_at_the_instant_of_the_contexts_clock);

async fn the_whole_workflow_runs_at_the_instant_of_the_contexts_clock(backend: Backend) {
    let at: DateTime<Utc> = Utc
        .with_ymd_and_hms(2031, 3, 30, 23, 30, 0)
        .single()
        .expect("a valid instant");
    let clock = Clock::manual(at);
    let installed = clock.clone();
    let Some(app) = spawn_app_full(
        backend,
        |_| {},
        move |mut ctx| {
            // The simulated gateway stamps its records with the same clock.
            ctx.gateway = Arc::new(AppContext::simulated_gateway(
                &ctx.settings,
                ctx.db.clone(),
                installed.clone(),
            ));
            ctx.clock = installed;
            ctx
        },
    )
    .await
    else {
        return;
    };
    let fx = app.seed_studio("Far Future").await;
    let done = app.complete_session(&fx.key, &fx.auto_pay_session).await;
    assert_eq!(
        done["data"]["completeSession"]["userErrors"],
        serde_json::json!([]),
        "{done}"
    );
    app.drain().await;
    // `drain` lets a manual clock move to a step due within the minute (a
    // retry, a delayed charge), as waiting would: the times fall between
    // the chosen instant and the clock's time now, a few seconds later.
    let end = clock.now();
    assert!(end >= at && end < at + Duration::minutes(5), "{end}");
    let by_clock = |t: DateTime<Utc>| t >= at && t <= end;

    let invoices = entity::invoice::Entity::find()
        .all(&app.ctx.db)
        .await
        .expect("invoices");
    assert_eq!(invoices.len(), 1, "{invoices:#?}");
    let invoice = &invoices[0];
    let studio = entity::studio::Entity::find_by_id(invoice.studio_id)
        .one(&app.ctx.db)
        .await
        .expect("studio")
        .expect("the studio");
    let zone: chrono_tz::Tz = studio.time_zone.parse().expect("a time zone");
    let local_day = invoice.issued_at.with_timezone(&zone).date_naive();
    assert_eq!(invoice.status, InvoiceStatus::Paid, "{invoice:#?}");
    assert!(
        by_clock(invoice.issued_at),
        "issued by the clock: {invoice:#?}"
    );
    assert!(by_clock(invoice.created_at), "{invoice:#?}");
    assert_eq!(
        invoice.due_date,
        local_day + Duration::days(i64::from(studio.payment_terms_days)),
        "due counted from the clock's day in the studio's zone"
    );
    assert!(
        invoice.paid_at.is_some_and(by_clock),
        "paid by the context's clock: {invoice:#?}"
    );

    let payments = entity::payment::Entity::find()
        .all(&app.ctx.db)
        .await
        .expect("payments");
    assert_eq!(payments.len(), 1, "{payments:#?}");
    assert_eq!(payments[0].status, PaymentStatus::Succeeded);
    assert!(by_clock(payments[0].created_at), "{payments:#?}");
    assert!(by_clock(payments[0].updated_at), "{payments:#?}");

    let rows = entity::outbox::Entity::find()
        .all(&app.ctx.db)
        .await
        .expect("outbox");
    assert!(rows.len() >= 3, "invoice, charge and follow-ups: {rows:#?}");
    for row in &rows {
        assert!(
            by_clock(row.created_at),
            "outbox row written at the clock: {row:#?}"
        );
        match row.status {
            // A step planned for later (the gallery's expiry notice) is
            // planned from the clock's instant, not from today.
            OutboxStatus::Pending => assert!(
                row.claimed_until
                    .is_some_and(|t| t > at && t < at + Duration::days(400)),
                "planned from the clock: {row:#?}"
            ),
            _ => assert!(
                row.done_at.is_some_and(by_clock),
                "finished at the clock: {row:#?}"
            ),
        }
    }
    let notifications = entity::notification::Entity::find()
        .all(&app.ctx.db)
        .await
        .expect("notifications");
    assert!(!notifications.is_empty());
    for n in &notifications {
        assert!(n.sent_at.is_some_and(by_clock), "sent at the clock: {n:#?}");
    }
}
