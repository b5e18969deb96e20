//! The relay's side of the outbox: claiming due rows in batches (the
//! claim records them `ENQUEUED`), and freeing them when the push failed
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

/// A claimed outbox row: the job, and the `enqueued_at` the claim stamped
/// on it (what [`release_claims`] compares with).
pub struct Claimed {
    pub job: Job,
    pub enqueued_at: DateTime<Utc>,
}

/// Claims up to `limit` rows to relay, and records them `ENQUEUED` at
/// `now` in the same statement, before they are pushed: new rows, and
/// (given `redeliver_after`) rows enqueued so long ago that their queue
/// entry may be lost. A relay that dies before its push leaves them
/// `ENQUEUED` with nobody running them, which is what redelivery looks for,
/// so they come back after `redeliver_after` like a lost queue entry. A
/// worker that runs a pushed job at once finds its row already enqueued,
/// and nothing the relay writes later can undo what the job wrote (a
/// postponement, a retry, `DONE`).
///
/// One statement whatever the batch: `UPDATE … WHERE id IN (SELECT … LIMIT
/// n FOR UPDATE SKIP LOCKED) RETURNING …`. On PostgreSQL, relays claiming at
/// the same moment skip each other's rows instead of queueing behind their
/// row locks; SQLite runs one writer at a time anyway (the lock clause is
/// left out there).
pub async fn claim_batch<C: ConnectionTrait>(
    conn: &C,
    limit: u64,
    redeliver_after: Option<Duration>,
    now: DateTime<Utc>,
) -> Result<Vec<Claimed>, DbErr> {
    // Whole microseconds, as both databases store it, so that the stamp
    // read back is the stamp `release_claims` compares with.
    let stamp = chrono::SubsecRound::trunc_subsecs(now, 6);
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
        .col_expr(
            outbox::Column::Status,
            Expr::value(OutboxStatus::Enqueued.as_str()),
        )
        .col_expr(outbox::Column::EnqueuedAt, Expr::value(stamp))
        .col_expr(
            outbox::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
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
                enqueued_at: stamp,
            }),
            Err(err) => {
                tracing::error!(outbox_id = row.id, %err, "outbox payload does not parse");
                mark_failed(conn, row.id, &format!("payload does not parse: {err}")).await?;
            }
        }
    }
    Ok(claimed)
}

/// Frees rows a relay claimed but could not push, for the next pass: back
/// to `PENDING`, unless a worker has taken one meanwhile (its `start` moved
/// `enqueued_at` on from the claim's `stamp`) or it has moved on (a
/// postponement, a retry, `DONE`).
pub async fn release_claims<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
    stamp: DateTime<Utc>,
) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    outbox::Entity::update_many()
        .col_expr(
            outbox::Column::Status,
            Expr::value(OutboxStatus::Pending.as_str()),
        )
        .col_expr(
            outbox::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(super::ids_among(conn, ids))
        .filter(outbox::Column::Status.eq(OutboxStatus::Enqueued))
        .filter(outbox::Column::EnqueuedAt.eq(stamp))
        .exec(conn)
        .await?;
    Ok(())
}
