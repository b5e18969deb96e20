//! The relay's side of the outbox: claiming due rows in batches, ending
//! their lease once pushed to the queue, freeing them when the push failed
//! (see the parent module).

use super::mark_failed;
use crate::workflow::jobs::{Job, JobKind};
use chrono::{DateTime, Duration, Utc};
use entity::enums::OutboxStatus;
use entity::outbox;
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, SubQueryStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
};

/// A claimed outbox row: the job, and the attempt count it was claimed at.
pub struct Claimed {
    pub job: Job,
    pub attempts: i32,
}

/// Claims up to `limit` rows to relay: new rows, and (given
/// `redeliver_after`) rows enqueued so long ago that their queue entry may
/// be lost. A claim is a short lease, so two relays rarely push the same row
/// and a relay that dies frees it again.
///
/// One statement whatever the batch: `UPDATE … WHERE id IN (SELECT … LIMIT
/// n FOR UPDATE SKIP LOCKED) RETURNING …`. On PostgreSQL, relays claiming at
/// the same moment skip each other's rows instead of queueing behind their
/// row locks; SQLite runs one writer at a time anyway (the lock clause is
/// left out there).
pub async fn claim_batch<C: ConnectionTrait>(
    conn: &C,
    limit: u64,
    lease: Duration,
    redeliver_after: Option<Duration>,
    now: DateTime<Utc>,
) -> Result<Vec<Claimed>, DbErr> {
    let claimable = || {
        let mut due =
            sea_orm::Condition::any().add(outbox::Column::Status.eq(OutboxStatus::Pending));
        if let Some(after) = redeliver_after {
            due = due.add(
                outbox::Column::Status
                    .eq(OutboxStatus::Enqueued)
                    .and(outbox::Column::EnqueuedAt.lt(now - after)),
            );
        }
        sea_orm::Condition::all().add(due).add(
            sea_orm::Condition::any()
                .add(outbox::Column::ClaimedUntil.is_null())
                .add(outbox::Column::ClaimedUntil.lte(now)),
        )
    };
    let candidates = outbox::Entity::find()
        .select_only()
        .column(outbox::Column::Id)
        .filter(claimable())
        .order_by_asc(outbox::Column::Id)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .into_query();
    let chosen = match conn.get_database_backend() {
        // Evaluated once, before the update (an InitPlan): `IN (SELECT … LIMIT
        // n FOR UPDATE SKIP LOCKED)` may be re-scanned per row, and a re-scan
        // skips the rows this statement just claimed and takes the next ones,
        // past the limit.
        sea_orm::DatabaseBackend::Postgres => Expr::cust_with_expr(
            "\"id\" = ANY(ARRAY $1)",
            Expr::SubQuery(
                None,
                Box::new(SubQueryStatement::SelectStatement(candidates)),
            ),
        ),
        _ => outbox::Column::Id.in_subquery(candidates),
    };
    let mut rows = outbox::Entity::update_many()
        .col_expr(outbox::Column::ClaimedUntil, Expr::value(now + lease))
        .filter(chosen)
        .filter(claimable())
        .exec_with_returning(conn)
        .await?;
    rows.sort_by_key(|row| row.id);
    let mut claimed = Vec::with_capacity(rows.len());
    for row in rows {
        match serde_json::from_str::<JobKind>(&row.payload) {
            Ok(kind) => claimed.push(Claimed {
                job: Job {
                    outbox_id: row.id,
                    kind,
                    request_id: row.request_id,
                },
                attempts: row.attempts,
            }),
            Err(err) => {
                tracing::error!(outbox_id = row.id, %err, "outbox payload does not parse");
                mark_failed(conn, row.id, &format!("payload does not parse: {err}")).await?;
            }
        }
    }
    Ok(claimed)
}

/// Frees rows a relay claimed but could not push, for the next pass.
pub async fn release_claims<C: ConnectionTrait>(conn: &C, ids: &[i64]) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    outbox::Entity::update_many()
        .col_expr(
            outbox::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(outbox::Column::Id.is_in(ids.iter().copied()))
        .filter(outbox::Column::Status.is_in([OutboxStatus::Pending, OutboxStatus::Enqueued]))
        .exec(conn)
        .await?;
    Ok(())
}

/// Records that claimed rows are in the queue, and ends the relay's lease
/// on them: from now on only `redeliver_after` (counted from `enqueued_at`,
/// which a running job renews) decides when one is handed out again, so a
/// queue entry lost with Redis is redelivered after that, not after the
/// lease. Guarded by the attempt count each was claimed at: if its job
/// already ran and failed meanwhile (its retry is scheduled), or finished,
/// the row is left alone. One statement per distinct attempt count (almost
/// always one for the whole batch).
pub async fn mark_enqueued<C: ConnectionTrait>(
    conn: &C,
    claimed: &[(i64, i32)],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut by_attempts: std::collections::BTreeMap<i32, Vec<i64>> = Default::default();
    for &(id, attempts) in claimed {
        by_attempts.entry(attempts).or_default().push(id);
    }
    for (attempts, ids) in by_attempts {
        outbox::Entity::update_many()
            .col_expr(
                outbox::Column::Status,
                Expr::value(OutboxStatus::Enqueued.as_str()),
            )
            .col_expr(outbox::Column::EnqueuedAt, Expr::value(now))
            .col_expr(
                outbox::Column::ClaimedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(outbox::Column::Id.is_in(ids))
            .filter(outbox::Column::Attempts.eq(attempts))
            .filter(outbox::Column::Status.is_in([OutboxStatus::Pending, OutboxStatus::Enqueued]))
            .exec(conn)
            .await?;
    }
    Ok(())
}
