//! The transactional outbox: jobs are rows written with the state change that
//! causes them, then relayed to the queue by `worker::relay`. Every time
//! here is the caller's `now`.
//!
//! - Retries: a failed or panicking step backs off exponentially (2 s
//!   doubling to 10 min; `worker.max_attempts`, 150 by default, about a day),
//!   then is `FAILED`. A step that failed because a service was unavailable
//!   (mail server, gateway `Unavailable`, lost database connection) is retried
//!   after `UNREACHABLE_RETRY` (3 s) without counting an attempt
//!   (`retry_soon`). "A step has failed" is one condition, `has_failed`
//!   (attempts > 0 or a last error), for every reader.
//! - Relay: `claim_batch` is one statement (`FOR UPDATE SKIP LOCKED` on
//!   PostgreSQL, `id IN (SELECT …)` on SQLite), so relays claiming at once
//!   skip each other's rows; a row is due when its back-off or postponement
//!   ends at or before the relay's `now`. The claim records the rows
//!   `ENQUEUED` before the push (one statement for both), so nothing the
//!   relay writes afterwards can undo what a worker that ran the job first
//!   wrote; a failed push frees the rows no worker has taken.
//! - Redelivery: a running job renews its row (`still_running`) every third
//!   of `redeliver_after_secs`, so only rows nobody runs are redelivered; a
//!   delivery of a row already `DONE`/`FAILED` is skipped (`start`).

use crate::workflow::jobs::JobKind;
use chrono::{DateTime, Duration, Utc};
use entity::enums::OutboxStatus;
use entity::outbox;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

mod claims;
pub use claims::{Claimed, claim_batch, release_claims};

/// The rows whose id is one of `ids` (see `infra::db::ids_among`).
pub(crate) fn ids_among<C: ConnectionTrait>(conn: &C, ids: &[i64]) -> Expr {
    crate::infra::db::ids_among(conn, outbox::Column::Id, ids)
}

/// The one notion of "this step has failed": one of its attempts failed
/// (`attempts`, counted by `retry_later`), or a service it needs was
/// unreachable and it left its error without counting (`retry_soon`).
/// `failing_steps` (its list and its retry) uses this condition, and so
/// must every other reader.
pub fn has_failed() -> sea_orm::Condition {
    sea_orm::Condition::any()
        .add(outbox::Column::Attempts.gt(0))
        .add(outbox::Column::LastError.is_not_null())
}

/// Adds a job to the outbox inside the caller's transaction, created at
/// `now` (the context's clock). A job with the
/// same dedup key already present makes this a no-op.
pub async fn enqueue<C: ConnectionTrait>(
    conn: &C,
    studio_id: Option<i64>,
    kind: &JobKind,
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    enqueue_after(conn, studio_id, kind, request_id, None, now).await
}

/// The outbox row of a logical job, if it was ever enqueued.
pub async fn find_by_dedup<C: ConnectionTrait>(
    conn: &C,
    kind: &JobKind,
) -> Result<Option<outbox::Model>, DbErr> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    outbox::Entity::find()
        .filter(outbox::Column::DedupKey.eq(kind.dedup_key()))
        .one(conn)
        .await
}

/// Like `enqueue`, but not relayed before `delay` has passed.
pub async fn enqueue_after<C: ConnectionTrait>(
    conn: &C,
    studio_id: Option<i64>,
    kind: &JobKind,
    request_id: Option<&str>,
    delay: Option<Duration>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    insert(
        conn,
        studio_id,
        kind,
        request_id,
        delay.map(|d| now + d),
        now,
    )
    .await
}

/// Like `enqueue`, but not relayed before `at` (a step planned for a
/// moment, such as a reminder at 9:00 in the client's time zone).
pub async fn enqueue_at<C: ConnectionTrait>(
    conn: &C,
    studio_id: Option<i64>,
    kind: &JobKind,
    request_id: Option<&str>,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    insert(conn, studio_id, kind, request_id, Some(at), now).await
}

async fn insert<C: ConnectionTrait>(
    conn: &C,
    studio_id: Option<i64>,
    kind: &JobKind,
    request_id: Option<&str>,
    not_before: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    enqueue_all(conn, studio_id, &[(kind, not_before)], request_id, now).await
}

/// Adds several jobs in one statement, each not relayed before its time
/// (`None`: at once). A job whose dedup key is present already (or earlier
/// in `jobs`) is skipped, as [`enqueue`] skips it.
pub async fn enqueue_all<C: ConnectionTrait>(
    conn: &C,
    studio_id: Option<i64>,
    jobs: &[(&JobKind, Option<DateTime<Utc>>)],
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut keys = std::collections::HashSet::new();
    let mut rows = Vec::with_capacity(jobs.len());
    for (kind, not_before) in jobs {
        let dedup_key = kind.dedup_key();
        if !keys.insert(dedup_key.clone()) {
            continue;
        }
        let payload = serde_json::to_string(kind).map_err(|e| DbErr::Custom(e.to_string()))?;
        rows.push(outbox::ActiveModel {
            studio_id: Set(studio_id),
            payload: Set(payload),
            dedup_key: Set(dedup_key),
            status: Set(OutboxStatus::Pending),
            attempts: Set(0),
            claimed_until: Set(*not_before),
            enqueued_at: Set(None),
            done_at: Set(None),
            last_error: Set(None),
            request_id: Set(request_id.map(str::to_string)),
            created_at: Set(now),
            ..Default::default()
        });
    }
    if rows.is_empty() {
        return Ok(());
    }
    outbox::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(outbox::Column::DedupKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Like `enqueue_at`, for a step that may be planned already: its row (new
/// or not) waits for `at`. A row that ran or failed is planned again (the
/// step decides then whether anything is left to do); one in the queue is
/// left alone, as its step re-plans itself when run too early.
pub async fn reschedule<C: ConnectionTrait>(
    conn: &C,
    studio_id: Option<i64>,
    kind: &JobKind,
    request_id: Option<&str>,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    insert(conn, studio_id, kind, request_id, Some(at), now).await?;
    outbox::Entity::update_many()
        .col_expr(
            outbox::Column::Status,
            Expr::value(OutboxStatus::Pending.as_str()),
        )
        .col_expr(outbox::Column::ClaimedUntil, Expr::value(at))
        .col_expr(outbox::Column::Attempts, Expr::value(0))
        .col_expr(
            outbox::Column::EnqueuedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            outbox::Column::DoneAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            outbox::Column::LastError,
            Expr::value(Option::<String>::None),
        )
        .filter(outbox::Column::DedupKey.eq(kind.dedup_key()))
        .filter(outbox::Column::Status.ne(OutboxStatus::Enqueued))
        .exec(conn)
        .await?;
    Ok(())
}

/// A step that ran too early for itself (e.g. outside the sending window)
/// goes back to waiting until `until`; this is not a failed attempt.
pub async fn postpone<C: ConnectionTrait>(
    conn: &C,
    id: i64,
    until: DateTime<Utc>,
) -> Result<(), DbErr> {
    outbox::Entity::update_many()
        .col_expr(
            outbox::Column::Status,
            Expr::value(OutboxStatus::Pending.as_str()),
        )
        .col_expr(outbox::Column::ClaimedUntil, Expr::value(until))
        .filter(outbox::Column::Id.eq(id))
        .filter(outbox::Column::Status.ne(OutboxStatus::Done))
        .exec(conn)
        .await?;
    Ok(())
}

/// A worker starts the job of row `id`. Returns `false` when there is
/// nothing to do: the row is finished (`DONE` or `FAILED`), so this delivery
/// is a duplicate (a redelivered or orphaned queue entry) and is dropped
/// without running the step again. Otherwise stamps the row as freshly
/// handed out, so the relay does not redeliver it while it runs.
pub async fn start<C: ConnectionTrait>(
    conn: &C,
    id: i64,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    Ok(start_many(conn, &[id], now).await?.contains(&id))
}

/// [`start`] for many rows in one statement: returns the ids whose jobs
/// are to run (the others are finished).
pub async fn start_many<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut update = sea_orm::sea_query::Query::update();
    update
        .table(outbox::Entity)
        .value(outbox::Column::EnqueuedAt, Expr::value(now))
        .and_where(ids_among(conn, ids))
        .and_where(outbox::Column::Status.is_not_in([OutboxStatus::Done, OutboxStatus::Failed]))
        .returning_col(outbox::Column::Id);
    conn.query_all(&update)
        .await?
        .iter()
        .map(|row| row.try_get::<i64>("", "id"))
        .collect()
}

/// The heartbeat of a running job: keeps its row from looking lost to the
/// relay (`redeliver_after_secs`) however long the step takes.
pub async fn still_running<C: ConnectionTrait>(
    conn: &C,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    outbox::Entity::update_many()
        .col_expr(outbox::Column::EnqueuedAt, Expr::value(now))
        .filter(outbox::Column::Id.eq(id))
        .filter(outbox::Column::Status.eq(OutboxStatus::Enqueued))
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn mark_done<C: ConnectionTrait>(
    conn: &C,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    mark_done_many(conn, &[id], now).await
}

/// Marks the rows of finished jobs `DONE`, in one statement.
pub async fn mark_done_many<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    outbox::Entity::update_many()
        .col_expr(
            outbox::Column::Status,
            Expr::value(OutboxStatus::Done.as_str()),
        )
        .col_expr(outbox::Column::DoneAt, Expr::value(now))
        .col_expr(
            outbox::Column::LastError,
            Expr::value(Option::<String>::None),
        )
        .filter(ids_among(conn, ids))
        .exec(conn)
        .await?;
    Ok(())
}

/// Records a failed attempt and schedules the next one with exponential
/// back-off (2, 4, 8... seconds, at most 10 minutes) by leasing the row to
/// nobody until then. After `max_attempts` (about a day with the default)
/// the row is `FAILED` and logged for an operator.
pub async fn retry_later<C: ConnectionTrait>(
    conn: &C,
    id: i64,
    error: &str,
    max_attempts: u32,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    outbox::Entity::update_many()
        .col_expr(
            outbox::Column::Attempts,
            Expr::col(outbox::Column::Attempts).add(1),
        )
        .col_expr(
            outbox::Column::LastError,
            Expr::value(error.chars().take(2000).collect::<String>()),
        )
        .col_expr(
            outbox::Column::Status,
            Expr::value(OutboxStatus::Pending.as_str()),
        )
        // Held until the shortest back-off at least: between this statement
        // and the next (which sets the real back-off, or gives up) the row
        // must not look due to a relay, which would take it `ENQUEUED` and
        // leave the next statement nothing to update.
        .col_expr(
            outbox::Column::ClaimedUntil,
            Expr::value(now + Duration::seconds(2)),
        )
        .filter(outbox::Column::Id.eq(id))
        // A finished or given-up step stays so: a duplicate delivery that
        // was still running when it gave up does not count another attempt,
        // nor one that fails while the last attempt is being marked given up.
        .filter(outbox::Column::Status.is_not_in([OutboxStatus::Done, OutboxStatus::Failed]))
        .filter(outbox::Column::Attempts.lt(i32::try_from(max_attempts).unwrap_or(i32::MAX)))
        .exec(conn)
        .await?;
    let Some(row) = outbox::Entity::find_by_id(id).one(conn).await? else {
        return Ok(());
    };
    if matches!(row.status, OutboxStatus::Done | OutboxStatus::Failed) {
        return Ok(());
    }
    let exhausted = row.attempts as u32 >= max_attempts;
    let backoff = Duration::seconds(Ord::min(
        2_i64.saturating_pow(row.attempts.clamp(1, 16) as u32),
        600,
    ));
    let mut update = outbox::Entity::update_many()
        .col_expr(outbox::Column::ClaimedUntil, Expr::value(now + backoff))
        .filter(outbox::Column::Id.eq(id))
        .filter(outbox::Column::Status.eq(OutboxStatus::Pending));
    if exhausted {
        tracing::error!(
            outbox_id = id,
            attempts = row.attempts,
            error,
            "job gave up after its last attempt"
        );
        update = update.col_expr(
            outbox::Column::Status,
            Expr::value(OutboxStatus::Failed.as_str()),
        );
    }
    update.exec(conn).await?;
    Ok(())
}

/// How soon a step that found a service unavailable (the mail server, the
/// payment gateway, the database connection) tries again: a fixed short pause instead of the exponential back-off, so that
/// it goes out within seconds of the service coming back.
pub const UNREACHABLE_RETRY: Duration = Duration::seconds(3);

/// Records a failed attempt that was not the job's fault (the service it
/// needs was unreachable) and schedules the next one after
/// `UNREACHABLE_RETRY`. The attempt is not counted: an outage of any length
/// never uses up a job's `max_attempts` (it would mark emails `FAILED` after
/// a long mail-server outage), and a back-off grown during an outage would
/// otherwise keep work waiting long after the service is back (the chaos
/// run's recovery after SMTP outages took over 30 s).
pub async fn retry_soon<C: ConnectionTrait>(
    conn: &C,
    id: i64,
    error: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    outbox::Entity::update_many()
        .col_expr(
            outbox::Column::LastError,
            Expr::value(error.chars().take(2000).collect::<String>()),
        )
        .col_expr(
            outbox::Column::Status,
            Expr::value(OutboxStatus::Pending.as_str()),
        )
        .col_expr(
            outbox::Column::ClaimedUntil,
            Expr::value(now + UNREACHABLE_RETRY),
        )
        .filter(outbox::Column::Id.eq(id))
        .filter(outbox::Column::Status.ne(OutboxStatus::Done))
        .filter(outbox::Column::Status.ne(OutboxStatus::Failed))
        .exec(conn)
        .await?;
    Ok(())
}

async fn mark_failed<C: ConnectionTrait>(conn: &C, id: i64, error: &str) -> Result<(), DbErr> {
    outbox::Entity::update_many()
        .col_expr(
            outbox::Column::Status,
            Expr::value(OutboxStatus::Failed.as_str()),
        )
        .col_expr(outbox::Column::LastError, Expr::value(error.to_string()))
        .filter(outbox::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}
