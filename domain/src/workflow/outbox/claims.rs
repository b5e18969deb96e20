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
    /// The lease the relay claimed it with, as stored.
    pub claimed_until: Option<DateTime<Utc>>,
}

impl Claimed {
    /// What the relay holds on the row, for [`mark_enqueued`].
    pub fn hold(&self) -> Hold {
        Hold {
            id: self.job.outbox_id,
            attempts: self.attempts,
            until: self.claimed_until,
        }
    }
}

/// A relay's hold on a claimed row: the attempt count and the lease it
/// claimed it with. A row whose job already ran meanwhile (it failed and
/// counted an attempt, was postponed, or is waiting for a service: each
/// writes its own `claimed_until`) is no longer held so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hold {
    pub id: i64,
    pub attempts: i32,
    pub until: Option<DateTime<Utc>>,
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
        // Whole microseconds, as both databases store it, so the lease read
        // back is the lease compared with in `mark_enqueued`.
        .col_expr(
            outbox::Column::ClaimedUntil,
            Expr::value(chrono::SubsecRound::trunc_subsecs(now + lease, 6)),
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
                attempts: row.attempts,
                claimed_until: row.claimed_until,
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
/// lease. Guarded by the relay's hold on each row (its attempt count and
/// lease): if its job already ran meanwhile (failed with its retry
/// scheduled, postponed to its moment, waiting for a service) or finished,
/// the row is left alone, so a postponement is never turned back into a
/// delivery. One statement per distinct hold (almost always one for the
/// whole batch).
pub async fn mark_enqueued<C: ConnectionTrait>(
    conn: &C,
    held: &[Hold],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    type Key = (i32, Option<DateTime<Utc>>);
    let mut by_hold: std::collections::BTreeMap<Key, Vec<i64>> = Default::default();
    for hold in held {
        by_hold
            .entry((hold.attempts, hold.until))
            .or_default()
            .push(hold.id);
    }
    for ((attempts, until), ids) in by_hold {
        let lease = match until {
            Some(until) => outbox::Column::ClaimedUntil.eq(until),
            None => outbox::Column::ClaimedUntil.is_null(),
        };
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
            .filter(lease)
            .filter(outbox::Column::Status.is_in([OutboxStatus::Pending, OutboxStatus::Enqueued]))
            .exec(conn)
            .await?;
    }
    Ok(())
}
