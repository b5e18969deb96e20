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
    let redeliver = chrono::Duration::seconds(10);
    let first = db.begin().await.expect("begin");
    let mine = outbox::claim_batch(&first, 2, Some(redeliver), app.ctx.clock.now())
        .await
        .expect("first claim");
    assert_eq!(mine.len(), 2);
    let theirs = tokio::time::timeout(
        Duration::from_secs(10),
        outbox::claim_batch(db, 10, Some(redeliver), app.ctx.clock.now()),
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
    // Every row is enqueued now: nothing left to claim.
    let rest = outbox::claim_batch(db, 10, Some(redeliver), app.ctx.clock.now())
        .await
        .expect("claim");
    assert!(rest.is_empty());
}

/// A row committed by another process (an api, with its own context and no
/// relay) reaches the queue at once: the api sends `NOTIFY outbox` after its
/// commit (`wakes::forward_wakes`) and the relay listens for it, so its
/// minute-long poll is not what moves the row. The writing transaction
/// itself does not notify (that would serialise every commit).
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
    let api = domain::AppContext::build((*app.ctx.settings).clone())
        .await
        .expect("an api's context")
        .ctx;
    let forwarder = domain::workflow::wakes::forward_wakes(&api).expect("PostgreSQL forwards");
    let kind = JobKind::GenerateInvoice { session_id: 777 };
    let txn = api.db.begin().await.expect("begin");
    outbox::enqueue(&txn, None, &kind, None, app.ctx.clock.now())
        .await
        .expect("enqueue");
    domain::workflow::next::commit(&api, txn)
        .await
        .expect("commit");
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
    forwarder.abort();
}

/// One relay per database answers the api's `NOTIFY`: with three worker
/// processes' listeners up, a notification wakes exactly one relay (the
/// others would each have spent a transaction claiming nothing). When that
/// one dies its lock goes with its connection, and another takes over
/// within a retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_relay_answers_each_notification_and_another_takes_over() {
    let Some(app) = spawn_app_with(Backend::Postgres, |s| s.worker.in_process = Some(false)).await
    else {
        return;
    };
    let mut workers = Vec::new();
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    for _ in 0..3 {
        let ctx = domain::AppContext::build((*app.ctx.settings).clone())
            .await
            .expect("a worker's context")
            .ctx;
        let task = tokio::spawn(worker::relay::wake_on_notify(ctx.clone(), stopped.clone()));
        workers.push((ctx, task));
    }
    let woken = |workers: &Vec<(domain::AppContext, tokio::task::JoinHandle<()>)>| {
        let signals: Vec<_> = workers
            .iter()
            .map(|(c, _)| c.outbox_signal.clone())
            .collect();
        async move {
            let mut which = Vec::new();
            for (i, signal) in signals.iter().enumerate() {
                let wait = tokio::time::timeout(Duration::from_millis(500), signal.notified());
                if wait.await.is_ok() {
                    which.push(i);
                }
            }
            which
        }
    };
    let notify = || async {
        use sea_orm::ConnectionTrait;
        app.ctx
            .db
            .execute_unprepared("NOTIFY outbox")
            .await
            .expect("notify");
    };
    // The listener that took the lock woke its relay once when it started.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let leader = woken(&workers).await;
    assert_eq!(leader.len(), 1, "one listener: {leader:?}");
    notify().await;
    assert_eq!(woken(&workers).await, leader, "only the listener wakes");

    let (_, task) = workers.remove(leader[0]);
    task.abort();
    let _ = task.await;
    tokio::time::sleep(worker::relay::LEADER_RETRY * 3).await;
    let next = woken(&workers).await;
    assert_eq!(next.len(), 1, "another relay took over: {next:?}");
    notify().await;
    assert_eq!(woken(&workers).await, next);
    for (_, task) in workers {
        task.abort();
    }
}

/// A row handed out long ago is handed out again (its queue entry may have
/// been lost with Redis), but not while the queue still holds a backlog: in
/// a burst the row is only waiting its turn, and a second delivery would run
/// its step twice when the workers are busiest. Once the queue is empty (as
/// after a Redis restart) the row is redelivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_row_is_redelivered_only_when_the_queue_holds_no_backlog() {
    let clock = domain::kernel::clock::Clock::manual(chrono::Utc::now());
    let shared = clock.clone();
    // No worker anywhere: nothing consumes the queue, the test plays the relay.
    let Some(app) = tests::spawn_app_full(
        Backend::Postgres,
        |s| s.worker.in_process = Some(false),
        move |mut ctx: domain::AppContext| {
            ctx.clock = shared;
            ctx
        },
    )
    .await
    else {
        return;
    };
    let mut queue = worker::queue::Queue::connect(&app.ctx.settings, None)
        .await
        .expect("redis queue");
    let redeliver = chrono::Duration::seconds(10);
    for session_id in 1..=2 {
        outbox::enqueue(
            &app.ctx.db,
            None,
            &JobKind::GenerateInvoice { session_id },
            None,
            clock.now(),
        )
        .await
        .expect("enqueue");
    }
    let pass = |queue: &mut worker::queue::Queue| {
        let ctx = app.ctx.clone();
        let mut queue = queue.clone();
        async move {
            worker::relay::relay_once(&ctx, &mut queue, redeliver)
                .await
                .expect("relay pass")
        }
    };
    assert_eq!(pass(&mut queue).await, 2, "new rows are pushed");
    assert_eq!(queue.waiting().await, Some(2));
    clock.set(clock.now() + chrono::Duration::seconds(60));
    assert_eq!(
        pass(&mut queue).await,
        0,
        "a minute in the queue behind a backlog is waiting, not lost"
    );
    assert_eq!(queue.waiting().await, Some(2));
    // Redis loses its entries (a restart without persistence).
    let mut redis = redis::Client::open(tests::redis_url())
        .expect("redis")
        .get_multiplexed_async_connection()
        .await
        .expect("redis connection");
    let worker::queue::Queue::Redis(storage) = &queue else {
        panic!("production runs on the Redis queue");
    };
    let config = storage.get_config();
    let _: () = redis::cmd("DEL")
        .arg(config.active_jobs_list())
        .arg(config.scheduled_jobs_set())
        .query_async(&mut redis)
        .await
        .expect("DEL");
    assert_eq!(queue.waiting().await, Some(0));
    assert_eq!(
        pass(&mut queue).await,
        2,
        "lost entries are handed out again"
    );
    let rows = entity::outbox::Entity::find()
        .all(&app.ctx.db)
        .await
        .expect("rows");
    assert!(rows.iter().all(|r| r.status == OutboxStatus::Enqueued));
}

/// A late failure of a step whose two attempts (`max_attempts = 2`) are
/// counted and whose status is `status`: what `retry_later` leaves. The
/// studio's dashboard once showed `attempts: 3` for `max_attempts = 2`.
async fn late_failure(
    status: OutboxStatus,
) -> Option<(entity::outbox::Model, entity::outbox::Model)> {
    use sea_orm::sea_query::Expr;
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await?;
    let kind = JobKind::Noop { n: 4242 };
    let txn = app.ctx.db.begin().await.expect("begin");
    outbox::enqueue(&txn, None, &kind, None, app.ctx.clock.now())
        .await
        .expect("enqueue");
    // In the same transaction, and leased: no worker sees it due.
    entity::outbox::Entity::update_many()
        .col_expr(entity::outbox::Column::Status, Expr::value(status.as_str()))
        .col_expr(entity::outbox::Column::Attempts, Expr::value(2))
        .col_expr(
            entity::outbox::Column::ClaimedUntil,
            Expr::value(app.ctx.clock.now() + chrono::Duration::hours(1)),
        )
        .filter(entity::outbox::Column::DedupKey.eq(kind.dedup_key()))
        .exec(&txn)
        .await
        .expect("two attempts");
    txn.commit().await.expect("commit");
    let row = || async {
        entity::outbox::Entity::find()
            .filter(entity::outbox::Column::DedupKey.eq(kind.dedup_key()))
            .one(&app.ctx.db)
            .await
            .expect("read")
            .expect("row")
    };
    let before = row().await;
    outbox::retry_later(&app.ctx.db, before.id, "late", 2, app.ctx.clock.now())
        .await
        .expect("retry_later");
    Some((before, row().await))
}

/// A step that gave up stays given up: a duplicate delivery still running
/// when it gave up fails afterwards without counting a third attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_failure_of_a_given_up_step_counts_no_attempt() {
    let Some((given_up, after)) = late_failure(OutboxStatus::Failed).await else {
        return;
    };
    assert_eq!(after.status, OutboxStatus::Failed);
    assert_eq!(after.attempts, 2, "{after:?}");
    assert_eq!(after.last_error, given_up.last_error);
}

/// A duplicate delivery that fails between the last attempt's count and
/// its marking as given up counts no third attempt either: the step is
/// given up with two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_racing_the_last_attempt_counts_no_attempt() {
    let Some((_, after)) = late_failure(OutboxStatus::Pending).await else {
        return;
    };
    assert_eq!(after.status, OutboxStatus::Failed, "{after:?}");
    assert_eq!(after.attempts, 2, "{after:?}");
}

/// A worker takes a pushed job and postpones it (its moment is ahead) while
/// the relay that pushed it is still at work, and another row of the batch
/// could not be pushed (the queue went away): the relay frees that row, and
/// leaves alone the postponed one (the step is not handed out before its
/// moment) and one a worker has started (it is not handed out twice). The claim itself recorded both rows `ENQUEUED` (nothing marks
/// them after the push), on both databases (the stamp read back from the
/// claim is the stamp the release compares with).
#[tokio::test]
async fn a_postponement_written_while_the_relay_pushes_stands() {
    use sea_orm::QueryOrder;
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_app_with(backend, |s| s.worker.in_process = Some(false)).await else {
            continue;
        };
        let db = &app.ctx.db;
        let now = app.ctx.clock.now();
        for session_id in [7001, 7002, 7003] {
            outbox::enqueue(
                db,
                None,
                &JobKind::GenerateInvoice { session_id },
                None,
                now,
            )
            .await
            .expect("enqueue");
        }
        let redeliver = chrono::Duration::seconds(10);
        let claimed = outbox::claim_batch(db, 10, Some(redeliver), now)
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 3);
        let ids: Vec<i64> = claimed.iter().map(|c| c.job.outbox_id).collect();
        let rows = |db| {
            entity::outbox::Entity::find()
                .filter(entity::outbox::Column::Id.is_in(ids.clone()))
                .order_by_asc(entity::outbox::Column::Id)
                .all(db)
        };
        let enqueued = rows(db).await.expect("rows");
        assert!(
            enqueued
                .iter()
                .all(|r| r.status == OutboxStatus::Enqueued && r.claimed_until.is_none()),
            "{backend:?}: the claim records the rows enqueued"
        );
        let until = now + chrono::Duration::hours(2);
        outbox::postpone(db, ids[0], until).await.expect("postpone");
        let started = outbox::start(db, ids[2], now + chrono::Duration::seconds(1))
            .await
            .expect("start");
        assert!(started, "{backend:?}");
        outbox::release_claims(db, &ids, claimed[0].enqueued_at)
            .await
            .expect("release");
        let after = rows(db).await.expect("rows");
        assert_eq!(after[0].status, OutboxStatus::Pending, "{backend:?}");
        assert!(
            after[0]
                .claimed_until
                .is_some_and(|u| u > now + chrono::Duration::hours(1)),
            "{backend:?}: the postponement stands"
        );
        assert_eq!(after[1].status, OutboxStatus::Pending, "{backend:?}: freed");
        assert_eq!(after[1].claimed_until, None, "{backend:?}");
        assert_eq!(
            after[2].status,
            OutboxStatus::Enqueued,
            "{backend:?}: the started row stays with its worker"
        );
        // Before the started row could look lost (`redeliver_after`).
        let early = now + chrono::Duration::seconds(5);
        let again = outbox::claim_batch(db, 10, Some(redeliver), early)
            .await
            .expect("claim");
        let again: Vec<i64> = again.iter().map(|c| c.job.outbox_id).collect();
        assert_eq!(
            again,
            vec![ids[1]],
            "{backend:?}: the freed row is claimed again, the postponed step not before its moment"
        );
    }
}
