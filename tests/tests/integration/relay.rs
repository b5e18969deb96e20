//! The relay between the outbox and the queue in production: relays in
//! several worker processes share the outbox without waiting on each other,
//! and a row committed by any process wakes them at once.

use domain::workflow::jobs::JobKind;
use domain::workflow::outbox;
use entity::enums::OutboxStatus;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use std::time::{Duration, Instant};
use tests::{Backend, spawn_app_with};

/// Two relays claim at the same moment: the second takes the rows the first
/// has not locked, at once, instead of queueing behind the first's row locks
/// (`FOR UPDATE SKIP LOCKED`). The first claim is held open in a
/// transaction, as a relay slowed down between its claim and its commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relays_claiming_at_once_skip_each_others_rows() {
    // No worker in this process: the test plays two relays.
    let Some(app) = spawn_app_with(Backend::Postgres, |s| s.worker.in_process = Some(false)).await
    else {
        return;
    };
    let db = &app.ctx.db;
    for session_id in 1..=3 {
        outbox::enqueue(
            db,
            None,
            &JobKind::GenerateInvoice { session_id },
            None,
            app.ctx.clock.now(),
        )
        .await
        .expect("enqueue");
    }
    let lease = chrono::Duration::seconds(30);
    let redeliver = chrono::Duration::seconds(10);
    let first = db.begin().await.expect("begin");
    let mine = outbox::claim_batch(&first, 2, lease, redeliver, app.ctx.clock.now())
        .await
        .expect("first claim");
    assert_eq!(mine.len(), 2);
    let theirs = tokio::time::timeout(
        Duration::from_secs(10),
        outbox::claim_batch(db, 10, lease, redeliver, app.ctx.clock.now()),
    )
    .await
    .expect("the second relay waited on the first one's row locks")
    .expect("second claim");
    let ids = |claimed: &[outbox::Claimed]| -> Vec<i64> {
        claimed.iter().map(|c| c.job.outbox_id).collect()
    };
    let (mine, theirs) = (ids(&mine), ids(&theirs));
    assert_eq!(theirs.len(), 1, "the unlocked row is claimed: {theirs:?}");
    assert!(
        !mine.contains(&theirs[0]),
        "no row is claimed twice: {mine:?} {theirs:?}"
    );
    first.commit().await.expect("commit");
    // Both leases are held now: nothing left to claim.
    let rest = outbox::claim_batch(db, 10, lease, redeliver, app.ctx.clock.now())
        .await
        .expect("claim");
    assert!(rest.is_empty());
}

/// A row committed by another process (here another connection, as an api
/// would) reaches the queue at once: the relay listens for the outbox
/// trigger's `NOTIFY`, so its minute-long poll is not what moves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_committed_elsewhere_wakes_the_relay_at_once() {
    let Some(app) = spawn_app_with(Backend::Postgres, |s| {
        s.worker.poll_interval_ms = 60_000;
    })
    .await
    else {
        return;
    };
    // The relay's first passes (at start, and when its listener is up).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let other = domain::infra::db::connect(&app.ctx.settings)
        .await
        .expect("another connection")
        .conn;
    let kind = JobKind::GenerateInvoice { session_id: 777 };
    let txn = other.begin().await.expect("begin");
    outbox::enqueue(&txn, None, &kind, None, app.ctx.clock.now())
        .await
        .expect("enqueue");
    txn.commit().await.expect("commit");
    let started = Instant::now();
    loop {
        let row = entity::outbox::Entity::find()
            .filter(entity::outbox::Column::DedupKey.eq(kind.dedup_key()))
            .one(&app.ctx.db)
            .await
            .expect("read")
            .expect("row");
        if row.status != OutboxStatus::Pending {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the row waited for the relay's poll (60 s)"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
