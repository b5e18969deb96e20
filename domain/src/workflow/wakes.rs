//! Wakes across processes: an api that runs no relay of its own forwards
//! its `next::wake`s to the workers' relays as `NOTIFY outbox`.

use crate::infra::context::AppContext;
use sea_orm::ConnectionTrait;
use std::time::Duration;

/// The least time between two `NOTIFY`s of one api: a relay's claim takes
/// longer than this, so a burst loses nothing by waiting for it.
const SPACING: Duration = Duration::from_millis(10);

/// In a process that runs no relay of its own (the api in production, on
/// PostgreSQL), turns its wakes into `NOTIFY outbox`, which every worker's
/// relay listens for: an api's writes reach a worker in milliseconds, not
/// at its next poll.
///
/// The `NOTIFY` is sent on its own, after the commit, rather than inside the
/// writing transaction (a trigger): PostgreSQL serialises the commits of
/// every transaction that notifies behind one cluster-wide lock held through
/// the commit's flush, which cut a two-insert transaction from about 2,000 to
/// 850 commits/s with 8 clients on the bench box (BENCHMARKS.md). Wakes that
/// arrive while one is being sent, or within `SPACING` after it, fold into
/// the next: a lone write wakes the workers at once, a burst of them with
/// one `NOTIFY` (one transaction) per `SPACING`, not one per write.
pub fn forward_wakes(ctx: &AppContext) -> Option<tokio::task::JoinHandle<()>> {
    if ctx.db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return None;
    }
    let ctx = ctx.clone();
    Some(tokio::spawn(async move {
        let notify = format!("NOTIFY {}", crate::infra::db::OUTBOX_CHANNEL);
        loop {
            ctx.outbox_signal.notified().await;
            if let Err(err) = ctx.db.execute_unprepared(&notify).await {
                // The workers' poll is the backstop.
                tracing::warn!(error = %err, "could not wake the workers");
            }
            tokio::time::sleep(SPACING).await;
        }
    }))
}
