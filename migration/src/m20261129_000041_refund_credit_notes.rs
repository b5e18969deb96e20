//! Refunds settle instead of reopening an invoice (issue 9, item 5).
//!
//! - `invoices.amount_credited_minor`: what post-payment credit notes took off
//!   the invoice. The balance becomes
//!   `amount_due == total - credited - paid + refunded`.
//! - `credit_notes.refund_id`: a refund by agreement comes with its own credit
//!   note, so an invoice may have several. Migration 2 declared `invoice_id`
//!   inline `UNIQUE`; PostgreSQL drops that constraint, SQLite cannot drop an
//!   inline constraint, so the table is rebuilt there (nothing references
//!   `credit_notes`, so foreign keys can stay on). A void's credit note stays
//!   one per invoice (`ux_credit_notes_invoice_void`, partial), a refund's one
//!   per refund (`ux_credit_notes_refund`). No foreign key on `refund_id`:
//!   SQLite cannot drop a column that has one, and down must.
//! - `studios.gallery_refunded_level`: the gallery level once an invoice's
//!   payments are refunded in full (the studio's refund policy).
//! - `studios.phone`, `studios.logo_url`: contact details shown on documents.
//!
//! Down deletes refund credit notes (the old schema holds one note per
//! invoice) and restores the old schema.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INVOICE_UNIQUE: &str = r#""invoice_id" integer NOT NULL UNIQUE"#;
const INVOICE_PLAIN: &str = r#""invoice_id" integer NOT NULL"#;

const ADD_COLUMNS: [&str; 5] = [
    "ALTER TABLE invoices ADD COLUMN amount_credited_minor bigint NOT NULL DEFAULT 0",
    "ALTER TABLE credit_notes ADD COLUMN refund_id bigint NULL",
    "ALTER TABLE studios ADD COLUMN gallery_refunded_level varchar NOT NULL DEFAULT 'LOCKED'",
    "ALTER TABLE studios ADD COLUMN phone varchar NULL",
    "ALTER TABLE studios ADD COLUMN logo_url varchar NULL",
];
const DROP_COLUMNS: [&str; 5] = [
    "ALTER TABLE studios DROP COLUMN logo_url",
    "ALTER TABLE studios DROP COLUMN phone",
    "ALTER TABLE studios DROP COLUMN gallery_refunded_level",
    "ALTER TABLE credit_notes DROP COLUMN refund_id",
    "ALTER TABLE invoices DROP COLUMN amount_credited_minor",
];
const NEW_INDEXES: [&str; 3] = [
    "CREATE INDEX ix_credit_notes_invoice ON credit_notes (invoice_id)",
    "CREATE UNIQUE INDEX ux_credit_notes_invoice_void ON credit_notes (invoice_id) WHERE refund_id IS NULL",
    "CREATE UNIQUE INDEX ux_credit_notes_refund ON credit_notes (refund_id)",
];
const NEW_INDEX_NAMES: [&str; 3] = [
    "ix_credit_notes_invoice",
    "ux_credit_notes_invoice_void",
    "ux_credit_notes_refund",
];

fn err(e: impl std::fmt::Display) -> DbErr {
    DbErr::Migration(format!("refund credit notes migration: {e}"))
}

/// Replaces `from` by `to` exactly once, or fails (the schema is not what
/// this migration was written for).
fn replace_once(sql: &str, from: &str, to: &str) -> Result<String, DbErr> {
    match sql.matches(from).count() {
        1 => Ok(sql.replacen(from, to, 1)),
        n => Err(err(format!(
            "expected `{from}` once in the credit_notes table, found it {n} times in: {sql}"
        ))),
    }
}

async fn run(m: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    m.get_connection().execute_unprepared(sql).await.map(|_| ())
}

/// Rebuilds `credit_notes` on SQLite with its table SQL changed from `from`
/// to `to` (the only difference), keeping every row and explicit index.
async fn sqlite_rebuild_credit_notes(
    m: &SchemaManager<'_>,
    from: &str,
    to: &str,
) -> Result<(), DbErr> {
    let db = m.get_connection();
    let rows = db
        .query_all_raw(Statement::from_string(
            DatabaseBackend::Sqlite,
            "SELECT type, sql FROM sqlite_master WHERE tbl_name = 'credit_notes' AND sql IS NOT NULL",
        ))
        .await?;
    let mut table_sql = None;
    let mut index_sqls = Vec::new();
    for row in rows {
        let kind: String = row.try_get("", "type")?;
        let sql: String = row.try_get("", "sql")?;
        if kind == "table" {
            table_sql = Some(sql);
        } else {
            index_sqls.push(sql);
        }
    }
    let table_sql = table_sql.ok_or_else(|| err("credit_notes is missing"))?;
    let new_sql = replace_once(
        &replace_once(&table_sql, from, to)?,
        r#"CREATE TABLE "credit_notes""#,
        r#"CREATE TABLE "credit_notes_rebuild""#,
    )?;
    run(m, &new_sql).await?;
    run(
        m,
        "INSERT INTO credit_notes_rebuild SELECT * FROM credit_notes",
    )
    .await?;
    run(m, "DROP TABLE credit_notes").await?;
    run(m, "ALTER TABLE credit_notes_rebuild RENAME TO credit_notes").await?;
    for sql in index_sqls {
        run(m, &sql).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on one connection on both databases: the SQLite
    /// rebuild (create, copy, drop, rename) must be all or nothing, and every
    /// step must see the previous one's schema.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        match m.get_database_backend() {
            DatabaseBackend::Sqlite => {
                sqlite_rebuild_credit_notes(m, INVOICE_UNIQUE, INVOICE_PLAIN).await?;
            }
            _ => {
                run(
                    m,
                    "ALTER TABLE credit_notes DROP CONSTRAINT credit_notes_invoice_id_key",
                )
                .await?;
            }
        }
        for sql in ADD_COLUMNS.into_iter().chain(NEW_INDEXES) {
            run(m, sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        run(m, "DELETE FROM credit_notes WHERE refund_id IS NOT NULL").await?;
        for name in NEW_INDEX_NAMES {
            run(m, &format!("DROP INDEX {name}")).await?;
        }
        for sql in DROP_COLUMNS {
            run(m, sql).await?;
        }
        match m.get_database_backend() {
            DatabaseBackend::Sqlite => {
                sqlite_rebuild_credit_notes(m, INVOICE_PLAIN, INVOICE_UNIQUE).await
            }
            _ => {
                run(
                    m,
                    "ALTER TABLE credit_notes ADD CONSTRAINT credit_notes_invoice_id_key UNIQUE (invoice_id)",
                )
                .await
            }
        }
    }
}
