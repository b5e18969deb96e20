//! Invoice numbers are gap-free and unique per studio under concurrency.

use chrono::{Datelike, Utc};
use domain::billing::invoicing::{self, Generated};
use domain::studio::sessions::{self, ScheduleSession};
use entity::enums::SessionStatus;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use tests::{Backend, spawn_app_with};

on_both_backends!(
    fifty_concurrent_finalizations_number_one_to_fifty,
    batches_number_gap_free_and_a_failing_batch_runs_each_session_alone
);

async fn fifty_concurrent_finalizations_number_one_to_fifty(backend: Backend) {
    let Some((app, studios, client, other_client)) = two_studios(backend).await else {
        return;
    };
    let ids = completed_sessions(
        &app,
        &[(&studios[0], &client, 50), (&studios[1], &other_client, 5)],
    )
    .await;

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
        let expected: Vec<String> = (1..=count).map(|n| format!("INV-{year}-{n:04}")).collect();
        assert_eq!(
            numbers_of(&app, studio).await,
            expected,
            "gap-free, no duplicate, per studio"
        );
    }
}

/// An app without a worker (only the test's own calls touch the counters)
/// and two studios with a client each (paying by invoice): the app, the
/// studios, and the two clients' ids as GraphQL gives them.
async fn two_studios(
    backend: Backend,
) -> Option<(tests::TestApp, Vec<entity::studio::Model>, String, String)> {
    let app = spawn_app_with(backend, |s| s.worker.in_process = Some(false)).await?;
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
    Some((app, studios, client, other_client))
}

/// `count` completed sessions of each studio for its client (a client id
/// as GraphQL gives it), priced 100.00, 100.01...; their ids in that order.
async fn completed_sessions(
    app: &tests::TestApp,
    per_studio: &[(&entity::studio::Model, &String, i64)],
) -> Vec<i64> {
    let mut ids = Vec::new();
    for &(studio, client, count) in per_studio {
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
    ids
}

/// Each studio's invoice numbers, sorted.
async fn numbers_of(app: &tests::TestApp, studio: &entity::studio::Model) -> Vec<String> {
    let mut numbers: Vec<String> = entity::invoice::Entity::find()
        .filter(entity::invoice::Column::StudioId.eq(studio.id))
        .all(&app.ctx.db)
        .await
        .expect("invoices")
        .into_iter()
        .filter_map(|i| i.number)
        .collect();
    numbers.sort();
    numbers
}

/// Steps in batches (issue 20): several workers' batches of sessions of two
/// studios, mixed in opposite orders, beside single finalizations of the
/// same sessions, number every invoice once and gap-free, and their
/// galleries synced in overlapping batches open once each; a batch holding
/// a session that cannot be priced writes nothing, and the worker's batch
/// task then generates each session alone, so only that one fails.
async fn batches_number_gap_free_and_a_failing_batch_runs_each_session_alone(backend: Backend) {
    let Some((app, studios, client, other_client)) = two_studios(backend).await else {
        return;
    };
    let ids = completed_sessions(
        &app,
        &[(&studios[0], &client, 12), (&studios[1], &other_client, 12)],
    )
    .await;
    // Batches of six, each mixing both studios, half of them in reverse.
    let (ours, theirs) = ids.split_at(12);
    let mut batches: Vec<Vec<i64>> = (0..4)
        .map(|b| {
            let mut batch: Vec<i64> = ours[b * 3..b * 3 + 3]
                .iter()
                .chain(&theirs[b * 3..b * 3 + 3])
                .copied()
                .collect();
            if b % 2 == 1 {
                batch.reverse();
            }
            batch
        })
        .collect();
    // The same sessions again in other batches (duplicate deliveries).
    batches.push(ids.iter().rev().step_by(2).copied().collect());
    let mut tasks = Vec::new();
    for batch in batches {
        let ctx = app.ctx.clone();
        tasks.push(tokio::spawn(async move {
            let due: Vec<(i64, Option<&str>)> = batch.iter().map(|id| (*id, None)).collect();
            invoicing::generate_invoices(&ctx, &due, &[])
                .await
                .map(|answers| answers.len())
        }));
    }
    for id in ids.iter().step_by(3) {
        let ctx = app.ctx.clone();
        let id = *id;
        tasks.push(tokio::spawn(async move {
            invoicing::generate_invoice(&ctx, id, None).await.map(|_| 1)
        }));
    }
    for task in tasks {
        match task.await.expect("join") {
            Ok(_) => {}
            // A single that lost the race on the unique session id does
            // nothing (its job retries and finds the invoice).
            Err(domain::DomainError::Db(err))
                if domain::infra::error::is_unique_violation(&err) => {}
            Err(other) => panic!("a batch or a single failed: {other:?}"),
        }
    }
    let year = Utc::now().year();
    for studio in &studios[..2] {
        let expected: Vec<String> = (1..=12).map(|n| format!("INV-{year}-{n:04}")).collect();
        assert_eq!(
            numbers_of(&app, studio).await,
            expected,
            "gap-free, no duplicate, per studio"
        );
    }
    for id in &ids {
        let again = invoicing::generate_invoice(&app.ctx, *id, None)
            .await
            .expect("again");
        assert!(
            matches!(again, Generated::AlreadyIssued { .. }),
            "{again:?}"
        );
    }

    // Their galleries, synced in overlapping batches beside single syncs:
    // one gallery per session at the level of an open invoice, and one
    // credentials email asked for each.
    let invoices: Vec<i64> = entity::invoice::Entity::find()
        .filter(entity::invoice::Column::SessionId.is_in(ids.clone()))
        .all(&app.ctx.db)
        .await
        .expect("invoices")
        .into_iter()
        .map(|i| i.id)
        .collect();
    let mut syncs = Vec::new();
    for chunk in [&invoices[..16], &invoices[8..]] {
        let (ctx, chunk) = (app.ctx.clone(), chunk.to_vec());
        syncs.push(tokio::spawn(async move {
            let due: Vec<(i64, Option<&str>)> = chunk.iter().map(|id| (*id, None)).collect();
            domain::followup::gallery::sync_many(&ctx, &due, &[]).await
        }));
    }
    for id in invoices.iter().step_by(5) {
        let (ctx, id) = (app.ctx.clone(), *id);
        syncs.push(tokio::spawn(async move {
            domain::followup::gallery::sync_access(&ctx, id, None).await
        }));
    }
    for sync in syncs {
        sync.await.expect("join").expect("a gallery sync");
    }
    let galleries = entity::gallery_access::Entity::find()
        .filter(entity::gallery_access::Column::SessionId.is_in(ids.clone()))
        .all(&app.ctx.db)
        .await
        .expect("galleries");
    assert_eq!(galleries.len(), ids.len(), "one gallery per session");
    let levels: std::collections::BTreeSet<_> =
        galleries.iter().map(|g| g.level.as_str()).collect();
    assert_eq!(
        levels.len(),
        1,
        "every open invoice's gallery alike: {levels:?}"
    );
    let credentials = entity::outbox::Entity::find()
        .filter(entity::outbox::Column::DedupKey.starts_with("gallery_credentials:"))
        .all(&app.ctx.db)
        .await
        .expect("outbox");
    assert_eq!(
        credentials.len(),
        ids.len(),
        "one credentials email per gallery"
    );

    // A session that cannot be priced (its line overflows) fails its batch
    // whole: nothing of the batch is written, no number is taken.
    let more = completed_sessions(&app, &[(&studios[0], &client, 3)]).await;
    entity::session_item::Entity::update_many()
        .col_expr(
            entity::session_item::Column::UnitPriceMinor,
            Expr::value(i64::MAX / 2),
        )
        .col_expr(entity::session_item::Column::Quantity, Expr::value(10))
        .filter(entity::session_item::Column::SessionId.eq(more[1]))
        .exec(&app.ctx.db)
        .await
        .expect("an absurd price, written behind the validation's back");
    let due: Vec<(i64, Option<&str>)> = more.iter().map(|id| (*id, None)).collect();
    let failed = invoicing::generate_invoices(&app.ctx, &due, &[]).await;
    assert!(failed.is_err(), "{failed:?}");
    assert_eq!(
        numbers_of(&app, &studios[0]).await.len(),
        12,
        "nothing of the failed batch"
    );

    // Through the worker's batch task, the three together, each for its
    // job's outbox row: the batch fails, each runs alone, and only the
    // unpriceable one fails. The others' rows are `DONE` with their invoices
    // (the bookkeeping is in the step's commit); the failed one's is not.
    let mut jobs = Vec::new();
    for id in &more {
        let kind = domain::workflow::jobs::JobKind::GenerateInvoice { session_id: *id };
        let now = app.ctx.clock.now();
        domain::workflow::outbox::enqueue(&app.ctx.db, Some(studios[0].id), &kind, None, now)
            .await
            .expect("a job's row");
        let row = domain::workflow::outbox::find_by_dedup(&app.ctx.db, &kind)
            .await
            .expect("read")
            .expect("the row");
        jobs.push(row.id);
    }
    let batches = worker::batches::Batches::spawn(app.ctx.clone());
    let answers = futures::future::join_all(
        more.iter()
            .zip(&jobs)
            .map(|(id, job)| batches.generate_invoice(*id, None, Some(*job))),
    )
    .await;
    let statuses: Vec<String> = entity::outbox::Entity::find()
        .filter(entity::outbox::Column::Id.is_in(jobs.clone()))
        .order_by_asc(entity::outbox::Column::Id)
        .all(&app.ctx.db)
        .await
        .expect("rows")
        .into_iter()
        .map(|row| row.status.as_str().to_string())
        .collect();
    assert_eq!(statuses, ["DONE", "PENDING", "DONE"], "{answers:?}");
    assert!(
        matches!(answers[0], Ok(Generated::Issued { .. })),
        "{answers:?}"
    );
    assert!(answers[1].is_err(), "{answers:?}");
    assert!(
        matches!(answers[2], Ok(Generated::Issued { .. })),
        "{answers:?}"
    );
    let expected: Vec<String> = (1..=14).map(|n| format!("INV-{year}-{n:04}")).collect();
    assert_eq!(
        numbers_of(&app, &studios[0]).await,
        expected,
        "gap-free after the fallback"
    );

    // A batch numbered last, asked in any order: each studio's invoices
    // take its next numbers in session order.
    let last = completed_sessions(
        &app,
        &[(&studios[0], &client, 2), (&studios[1], &other_client, 2)],
    )
    .await;
    let due: Vec<(i64, Option<&str>)> = [last[3], last[0], last[2], last[1]]
        .iter()
        .map(|id| (*id, None))
        .collect();
    let answers = invoicing::generate_invoices(&app.ctx, &due, &[])
        .await
        .expect("a batch");
    let numbers: Vec<String> = answers
        .into_iter()
        .map(|answer| match answer {
            Generated::Issued { number, .. } => number,
            other => panic!("{other:?}"),
        })
        .collect();
    let n = |n: u32| format!("INV-{year}-{n:04}");
    assert_eq!(
        numbers,
        [n(14), n(15), n(13), n(16)],
        "as asked: 3, 0, 2, 1"
    );

    // One session asked twice in a batch (a duplicate delivery landing in
    // the same batch as the first): one invoice, one number; the second
    // answer names the first's invoice.
    let twice = completed_sessions(&app, &[(&studios[0], &client, 1)]).await;
    let due = [(twice[0], None), (twice[0], None)];
    let answers = invoicing::generate_invoices(&app.ctx, &due, &[])
        .await
        .expect("a batch");
    let first = match &answers[0] {
        Generated::Issued { invoice_id, number } => {
            assert_eq!(number, &n(17));
            *invoice_id
        }
        other => panic!("{other:?}"),
    };
    assert!(
        matches!(answers[1], Generated::AlreadyIssued { invoice_id } if invoice_id == first),
        "{answers:?}"
    );
    let invoices = entity::invoice::Entity::find()
        .filter(entity::invoice::Column::SessionId.eq(twice[0]))
        .count(&app.ctx.db)
        .await
        .expect("count");
    assert_eq!(invoices, 1, "one invoice for the session asked twice");
    assert_eq!(
        numbers_of(&app, &studios[0]).await.last(),
        Some(&n(17)),
        "no number taken for the second ask"
    );
}
