//! Invoice numbers are gap-free and unique per studio under concurrency.

use chrono::{Datelike, Utc};
use domain::billing::invoicing::{self, Generated};
use domain::studio::sessions::{self, ScheduleSession};
use entity::enums::SessionStatus;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tests::{Backend, spawn_app_with};

on_both_backends!(fifty_concurrent_finalizations_number_one_to_fifty);

async fn fifty_concurrent_finalizations_number_one_to_fifty(backend: Backend) {
    // No worker: only the 50 finalizations below touch the counter.
    let Some(app) = spawn_app_with(backend, |s| s.worker.in_process = Some(false)).await else {
        return;
    };
    let key = app.create_studio("Golden Hour").await;
    let other_key = app.create_studio("Elsewhere").await;
    let client = app
        .create_client(&key, "Noah", "noah@example.com", "INVOICE")
        .await;
    let other_client = app
        .create_client(&other_key, "Zoe", "zoe@example.com", "INVOICE")
        .await;
    let studios = entity::studio::Entity::find()
        .all(&app.ctx.db)
        .await
        .expect("studios");
    let mut ids = Vec::new();
    for (studio, client, count) in [(&studios[0], &client, 50), (&studios[1], &other_client, 5)] {
        for i in 0..count {
            let (session, _) = sessions::schedule_session(
                &app.ctx.db,
                studio,
                ScheduleSession {
                    client_id: client.parse().expect("id"),
                    package_id: None,
                    title: format!("Session {i}"),
                    scheduled_at: Utc::now(),
                    items: vec![sessions::ItemInput {
                        add_on_service_id: None,
                        description: Some("Portrait".into()),
                        quantity: 1,
                        unit_price: Some(rust_decimal::Decimal::new(10_000 + i, 2)),
                        taxable: Some(true),
                    }],
                    retainer_paid: None,
                    tax_rate_ids: None,
                    discount: None,
                    fees: Vec::new(),
                },
                app.ctx.clock.now(),
            )
            .await
            .expect("schedule");
            ids.push(session.id);
        }
    }
    entity::session::Entity::update_many()
        .col_expr(
            entity::session::Column::Status,
            Expr::value(SessionStatus::Completed.as_str()),
        )
        .col_expr(
            entity::session::Column::CompletedAt,
            Expr::value(Utc::now()),
        )
        .filter(entity::session::Column::Id.is_in(ids.clone()))
        .exec(&app.ctx.db)
        .await
        .expect("complete");

    // Every finalization at once, and each one twice (a duplicate delivery).
    let tasks: Vec<_> = ids
        .iter()
        .chain(ids.iter())
        .map(|id| {
            let ctx = app.ctx.clone();
            let id = *id;
            tokio::spawn(async move { invoicing::generate_invoice(&ctx, id, None).await })
        })
        .collect();
    let mut issued = 0;
    for task in tasks {
        match task.await.expect("join") {
            Ok(Generated::Issued { .. }) => issued += 1,
            Ok(Generated::AlreadyIssued { .. }) => {}
            // A duplicate that lost the race on the unique session id is
            // retried by the worker in production; here it just did nothing.
            Err(domain::DomainError::Db(err))
                if domain::infra::error::is_unique_violation(&err) => {}
            Ok(Generated::NotBillable) => panic!("every session is completed"),
            Ok(Generated::Drafted { .. }) => panic!("this studio does not review drafts"),
            Err(other) => panic!("finalization failed: {other:?}"),
        }
    }
    assert_eq!(issued, 55, "one invoice per session");

    let year = Utc::now().year();
    for (studio, count) in [(&studios[0], 50), (&studios[1], 5)] {
        let mut numbers: Vec<String> = entity::invoice::Entity::find()
            .filter(entity::invoice::Column::StudioId.eq(studio.id))
            .all(&app.ctx.db)
            .await
            .expect("invoices")
            .into_iter()
            .filter_map(|i| i.number)
            .collect();
        numbers.sort();
        let expected: Vec<String> = (1..=count).map(|n| format!("INV-{year}-{n:04}")).collect();
        assert_eq!(numbers, expected, "gap-free, no duplicate, per studio");
    }
}
