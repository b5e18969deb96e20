//! Moves outbox rows into the queue: at once when this process wrote them
//! (`outbox_signal`) or, on PostgreSQL, when an api committed them
//! (`wake_on_notify`), otherwise at the next poll. At-least-once by design.
//!
//! A batch is claimed and recorded enqueued in one statement, then pushed
//! at once (`push_all`). A stale row is redelivered only while
//! the queue holds no backlog (`Queue::waiting`: Redis' pending list and
//! scheduled set): behind a backlog it is waiting its turn, and a second
//! delivery would run its step twice when the workers are busiest; a Redis
//! restart empties the queue, so lost entries still come back. On
//! PostgreSQL the api sends `NOTIFY outbox` after its commits
//! (`wakes::forward_wakes`) and `wake_on_notify` (a `PgListener` that
//! reconnects) wakes the relay, one relay per database (an advisory lock
//! decides which: the others would claim nothing); the poll stays as the
//! backstop. Never
//! `NOTIFY` inside a writing transaction: PostgreSQL serialises the commits
//! of notifying transactions behind one cluster-wide lock (BENCHMARKS.md).
//! While rows keep coming, the relay waits `GATHER` (5 ms) after a wake-up so
//! that one claim takes what several commits wrote.

use crate::queue::Queue;
use chrono::Duration as ChronoDuration;
use domain::AppContext;
use domain::workflow::outbox;
use sea_orm::sqlx::postgres::PgListener;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::watch;

const BATCH: u64 = 100;

/// While rows keep coming (the last pass moved some), a wake-up waits this
/// long before the next pass, so that the rows committed meanwhile go in the
/// same claim: under load every job's commit wakes the relay, and one
/// claim per commit was a third of all transactions. An idle relay answers
/// a wake-up at once.
const GATHER: Duration = Duration::from_millis(5);

pub async fn run(ctx: AppContext, mut queue: Queue, mut stop: watch::Receiver<bool>) {
    let poll = Duration::from_millis(ctx.settings.worker.poll_interval_ms.max(50));
    let redeliver = ChronoDuration::seconds(ctx.settings.worker.redeliver_after_secs);
    let waker = tokio::spawn(wake_on_notify(ctx.clone(), stop.clone()));
    let _waker = AbortOnDrop(waker);
    loop {
        if *stop.borrow() {
            return;
        }
        let moved = match relay_once(&ctx, &mut queue, redeliver).await {
            Ok(n) => n,
            Err(err) => {
                tracing::warn!(error = %err, "outbox relay pass failed");
                0
            }
        };
        if moved as u64 == BATCH {
            continue;
        }
        tokio::select! {
            _ = ctx.outbox_signal.notified() => {
                if moved > 0 {
                    tokio::time::sleep(GATHER).await;
                }
            }
            _ = tokio::time::sleep(poll) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One pass: claim (recording the rows enqueued), then push: two round
/// trips for the whole batch (one statement, one pipelined push), whatever
/// its size. Returns how many rows were pushed.
pub async fn relay_once(
    ctx: &AppContext,
    queue: &mut Queue,
    redeliver: ChronoDuration,
) -> anyhow::Result<usize> {
    // A row handed out long ago may have lost its queue entry (Redis
    // restarted, a worker died), but not while the queue still holds a
    // backlog: then it is most likely waiting its turn, and handing it out
    // again would run its step twice just when the workers are busiest.
    // Once the backlog is gone (as it is after a Redis restart) it is.
    let redeliver = match queue.waiting().await {
        Some(waiting) if waiting > 0 => None,
        _ => Some(redeliver),
    };
    let claimed = outbox::claim_batch(&ctx.db, BATCH, redeliver, ctx.clock.now()).await?;
    let Some(stamp) = claimed.first().map(|c| c.enqueued_at) else {
        return Ok(0);
    };
    let jobs: Vec<_> = claimed.into_iter().map(|c| c.job).collect();
    let ids: Vec<i64> = jobs.iter().map(|job| job.outbox_id).collect();
    if let Err(err) = queue.push_all(jobs).await {
        // The queue is down (or its connection was, as after a Redis
        // restart): free the rows at once, so the next pass retries them
        // instead of waiting for the claims to run out. Some of them may
        // have reached the queue already: a second delivery of a job is
        // harmless (a finished row's is dropped by `outbox::start`).
        outbox::release_claims(&ctx.db, &ids, stamp).await?;
        return Err(err);
    }
    tracing::debug!(rows = ids.len(), "jobs enqueued");
    Ok(ids.len())
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// On PostgreSQL, wakes this process's relay as soon as another process
/// commits an outbox row: the api sends `NOTIFY outbox` after its commits
/// (`wakes::forward_wakes`), and this listener turns it into the in-process
/// `outbox_signal`.
/// So an api's writes reach a worker in milliseconds instead of at its next
/// poll.
///
/// **One listener per database.** Every relay woken by every `NOTIFY`
/// claimed at once, and all but one claimed nothing: an empty claim is a
/// transaction, and with 4 workers three of every four were wasted. The
/// listener first takes a session-level advisory lock on its own connection
/// (`RELAY_LEADER_LOCK`); only its holder listens. The others keep trying
/// every [`LEADER_RETRY`] and meanwhile relay what their own process writes
/// (`outbox_signal`) and poll. A holder that dies (kill -9, a lost
/// connection, a PostgreSQL restart) loses the lock with its connection;
/// another process takes it within a retry, and wakes its relay once for
/// whatever was committed meanwhile. The poll stays as the backstop.
pub async fn wake_on_notify(ctx: AppContext, mut stop: watch::Receiver<bool>) {
    let Some(pool) = postgres_pool(&ctx) else {
        return;
    };
    loop {
        tokio::select! {
            Err(err) = listen(&ctx, &pool) => {
                tracing::warn!(error = %err, "outbox listener failed; retrying in 1 s");
            }
            _ = stop.changed() => return,
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// The advisory lock (`pg_try_advisory_lock`, per database) of the one
/// relay that listens: "outbox" in ASCII.
pub const RELAY_LEADER_LOCK: i64 = 0x6f75_7462_6f78;

/// How often a relay that does not listen tries to become the one that does.
pub const LEADER_RETRY: Duration = Duration::from_secs(1);

/// Takes the listener's lock (waiting for it), then wakes the relay at
/// every `NOTIFY outbox` until the connection fails: the lock went with
/// it, so it is taken again from the start.
async fn listen(ctx: &AppContext, pool: &sea_orm::sqlx::PgPool) -> anyhow::Result<Infallible> {
    let mut listener = PgListener::connect_with(pool).await?;
    loop {
        let held: bool = sea_orm::sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(RELAY_LEADER_LOCK)
            .fetch_one(&mut listener)
            .await?;
        if held {
            break;
        }
        tokio::time::sleep(LEADER_RETRY).await;
    }
    listener.listen(domain::infra::db::OUTBOX_CHANNEL).await?;
    tracing::info!("this relay answers the outbox notifications");
    domain::workflow::next::wake(ctx);
    loop {
        // `None`: the connection was lost, and the lock with it.
        if listener.try_recv().await?.is_none() {
            anyhow::bail!("outbox listener connection lost");
        }
        domain::workflow::next::wake(ctx);
    }
}

fn postgres_pool(ctx: &AppContext) -> Option<sea_orm::sqlx::PgPool> {
    match ctx.db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => Some(ctx.db.get_postgres_connection_pool().clone()),
        _ => None,
    }
}
