//! Gap-free invoice numbers: one counter row per studio, bumped inside the
//! transaction that finalizes the invoice (SPEC: numbering).

use crate::billing::invoicing::studio_tz;
use crate::infra::error::DomainResult;
use chrono::{DateTime, Utc};
use entity::{invoice_number_counter, studio};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseTransaction, EntityTrait};

/// Takes the next number of the studio's counter inside the caller's
/// transaction. The row lock (PostgreSQL) or the write lock (SQLite) holds
/// concurrent finalizations back until commit, and a rollback returns the
/// number, so numbers are gap-free and unique. Every finalization of a
/// studio waits for that lock: take the number last, just before the
/// commit, so that it is held as briefly as possible.
pub async fn next_invoice_number(
    tx: &DatabaseTransaction,
    studio: &studio::Model,
    now: DateTime<Utc>,
) -> DomainResult<String> {
    let numbers = next_invoice_numbers(tx, studio, 1, now).await?;
    numbers
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("no invoice number taken").into())
}

/// The studio's next `n` numbers, in order, with one write of its counter
/// (a batch of invoices numbered together).
pub async fn next_invoice_numbers(
    tx: &DatabaseTransaction,
    studio: &studio::Model,
    n: usize,
    now: DateTime<Utc>,
) -> DomainResult<Vec<String>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let n = i64::try_from(n).map_err(|_| anyhow::anyhow!("{n} invoice numbers at once"))?;
    let last = match bump_counter(tx, studio.id, n).await? {
        Some(seq) => seq,
        None => {
            // Studios get their counter when created; this covers one that
            // predates that.
            invoice_number_counter::Entity::insert(invoice_number_counter::ActiveModel {
                studio_id: Set(studio.id),
                last_value: Set(0),
            })
            .on_conflict(
                OnConflict::column(invoice_number_counter::Column::StudioId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(tx)
            .await?;
            bump_counter(tx, studio.id, n)
                .await?
                .ok_or_else(|| anyhow::anyhow!("invoice counter of studio {} missing", studio.id))?
        }
    };
    let today = now.with_timezone(&studio_tz(studio)).date_naive();
    Ok((last - n + 1..=last)
        .map(|seq| {
            crate::kernel::numbering::format_number(
                &studio.invoice_number_format,
                &studio.invoice_prefix,
                today,
                seq,
            )
        })
        .collect())
}

/// `last_value + n` of the studio's counter, locking its row; `None` when
/// the studio has no counter row.
async fn bump_counter(
    tx: &DatabaseTransaction,
    studio_id: i64,
    n: i64,
) -> DomainResult<Option<i64>> {
    let mut update = Query::update();
    update
        .table(invoice_number_counter::Entity)
        .value(
            invoice_number_counter::Column::LastValue,
            Expr::col(invoice_number_counter::Column::LastValue).add(n),
        )
        .and_where(Expr::col(invoice_number_counter::Column::StudioId).eq(studio_id))
        .returning_col(invoice_number_counter::Column::LastValue);
    match tx.query_one(&update).await? {
        Some(row) => Ok(Some(row.try_get("", "last_value")?)),
        None => Ok(None),
    }
}
