//! Moves outbox rows into the queue: at once when this process wrote them
//! (`outbox_signal`), otherwise at the next poll. At-least-once by design.

use crate::queue::Queue;
use chrono::Duration as ChronoDuration;
use domain::AppContext;
use domain::workflow::outbox;
use std::time::Duration;
use tokio::sync::watch;

const BATCH: u64 = 100;

pub async fn run(ctx: AppContext, mut queue: Queue, mut stop: watch::Receiver<bool>) {
    let poll = Duration::from_millis(ctx.settings.worker.poll_interval_ms.max(50));
    let redeliver = ChronoDuration::seconds(ctx.settings.worker.redeliver_after_secs);
    let lease = ChronoDuration::seconds(ctx.settings.worker.relay_claim_secs.max(1));
    loop {
        if *stop.borrow() {
            return;
        }
        let moved = match relay_once(&ctx, &mut queue, lease, redeliver).await {
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
            _ = ctx.outbox_signal.notified() => {}
            _ = tokio::time::sleep(poll) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One pass: claim (a `lease` other relays respect), push, mark. Returns
/// how many rows were pushed.
pub async fn relay_once(
    ctx: &AppContext,
    queue: &mut Queue,
    lease: ChronoDuration,
    redeliver: ChronoDuration,
) -> anyhow::Result<usize> {
    let jobs = outbox::claim_batch(&ctx.db, BATCH, lease, redeliver, ctx.clock.now()).await?;
    let ids: Vec<i64> = jobs.iter().map(|c| c.job.outbox_id).collect();
    let mut pushed = 0;
    for outbox::Claimed { job, attempts } in jobs {
        let id = job.outbox_id;
        let kind = job.kind.name();
        if let Err(err) = queue.push(job).await {
            // The queue is down (or its connection was, as after a Redis
            // restart): free the rows not pushed at once, so the next pass
            // retries them instead of waiting for the claims to run out.
            outbox::release_claims(&ctx.db, &ids[pushed..]).await?;
            return Err(err);
        }
        outbox::mark_enqueued(&ctx.db, id, attempts, ctx.clock.now()).await?;
        tracing::debug!(outbox_id = id, kind, "job enqueued");
        pushed += 1;
    }
    Ok(pushed)
}
