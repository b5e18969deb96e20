//! Small writes of many concurrent callers gathered into rounds: each
//! caller hands over an id and awaits its own answer, and one task writes
//! every id that arrived meanwhile with one statement (as a database groups
//! commits). An idle process waits for nothing extra; a busy one spends one
//! transaction per round, not per caller. Used for the `SENT` mark of
//! emails (`workflow::notify`), wired by the composition root. Its
//! [`gather`] is how the worker's bookkeeping and batches collect theirs.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use sea_orm::DbErr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The most ids one round carries.
const ROUND: usize = 256;

/// How long a round waits for more ids after its first.
const GATHER: Duration = Duration::from_millis(2);

/// Writes a round: the ids, and the latest time among them.
pub type Write =
    Arc<dyn Fn(Vec<i64>, DateTime<Utc>) -> BoxFuture<'static, Result<(), DbErr>> + Send + Sync>;

struct Request {
    id: i64,
    now: DateTime<Utc>,
    reply: oneshot::Sender<Result<(), String>>,
}

/// A handle on a round-writing task.
#[derive(Clone)]
pub struct Rounds {
    requests: mpsc::UnboundedSender<Request>,
}

impl Rounds {
    /// Starts the task; it ends when the last handle is dropped.
    pub fn spawn(write: Write) -> Self {
        let (requests, incoming) = mpsc::unbounded_channel();
        tokio::spawn(run(write, incoming));
        Self { requests }
    }

    /// Writes `id` in the next round. `None` when the task is gone (a
    /// runtime that ended): the caller writes it alone.
    pub async fn submit(&self, id: i64, now: DateTime<Utc>) -> Option<Result<(), DbErr>> {
        let (reply, answer) = oneshot::channel();
        self.requests.send(Request { id, now, reply }).ok()?;
        Some(answer.await.ok()?.map_err(DbErr::Custom))
    }
}

/// Waits for the next round: the requests that arrive, then those that
/// arrive within `wait` of the first, at most `max`. `false` once every
/// sender is gone and nothing is left.
pub async fn gather<T>(
    incoming: &mut mpsc::UnboundedReceiver<T>,
    round: &mut Vec<T>,
    max: usize,
    wait: Duration,
) -> bool {
    if incoming.recv_many(round, max).await == 0 {
        return false;
    }
    tokio::time::sleep(wait).await;
    while round.len() < max {
        match incoming.try_recv() {
            Ok(request) => round.push(request),
            Err(_) => break,
        }
    }
    true
}

async fn run(write: Write, mut incoming: mpsc::UnboundedReceiver<Request>) {
    let mut round = Vec::with_capacity(ROUND);
    while gather(&mut incoming, &mut round, ROUND, GATHER).await {
        let Some(now) = round.iter().map(|r| r.now).max() else {
            continue;
        };
        let ids = round.iter().map(|r| r.id).collect();
        let written = write(ids, now).await.map_err(|e| e.to_string());
        for request in round.drain(..) {
            let _ = request.reply.send(written.clone());
        }
    }
}
