//! Invoice lifecycle gaps: reissue after void, drafts at rest, and the
//! studio setting that keeps new invoices as drafts.
//!
//! - A session may have several invoices, but at most one that is not `VOID`
//!   (partial unique index `ux_invoices_session_current`). Migration 1
//!   declared `session_id` inline `UNIQUE`; PostgreSQL drops that constraint,
//!   SQLite cannot drop an inline constraint, so the table is rebuilt there
//!   (the documented 12-step procedure: foreign keys off on one connection,
//!   copy, drop, rename, recreate the indexes, `foreign_key_check`).
//! - `number` becomes nullable: a draft has no number yet. NULLs are
//!   distinct in `ux_invoices_studio_number` on both databases, so any number
//!   of drafts fit.
//! - `reissued_from_id` links a reissued invoice to the void one it replaces
//!   (unique: one replacement per void invoice); `reissue_key` holds the
//!   idempotency key of the reissue (unique per studio).
//! - `studios.review_drafts`: new invoices stop at `DRAFT` until finalized.
//!
//! Down restores `UNIQUE (session_id)` and `number NOT NULL`: it numbers
//! remaining drafts `DRAFT-<id>` and fails (changing nothing) when a session
//! has more than one invoice, which the old schema cannot hold.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::sqlx::{self, Row};
use sea_orm_migration::sea_orm::{DatabaseBackend, DatabaseExecutor};

#[derive(DeriveMigrationName)]
pub struct Migration;

const STUDIO_ADD: &str =
    "ALTER TABLE studios ADD COLUMN review_drafts boolean NOT NULL DEFAULT FALSE";
const STUDIO_DROP: &str = "ALTER TABLE studios DROP COLUMN review_drafts";

const NEW_INDEXES: [&str; 4] = [
    "CREATE INDEX ix_invoices_session ON invoices (session_id)",
    "CREATE UNIQUE INDEX ux_invoices_session_current ON invoices (session_id) WHERE status <> 'VOID'",
    "CREATE UNIQUE INDEX ux_invoices_reissued_from ON invoices (reissued_from_id)",
    "CREATE UNIQUE INDEX ux_invoices_studio_reissue_key ON invoices (studio_id, reissue_key)",
];
const NEW_INDEX_NAMES: [&str; 4] = [
    "ix_invoices_session",
    "ux_invoices_session_current",
    "ux_invoices_reissued_from",
    "ux_invoices_studio_reissue_key",
];

/// Column definitions as SQLite stores them after `ADD COLUMN` (kept exact so
/// down can remove them from the table's SQL).
const SQLITE_REISSUED_FROM: &str =
    r#""reissued_from_id" integer NULL REFERENCES "invoices" ("id")"#;
const SQLITE_REISSUE_KEY: &str = r#""reissue_key" varchar NULL"#;

const SESSION_UNIQUE: &str = r#""session_id" integer NOT NULL UNIQUE"#;
const SESSION_PLAIN: &str = r#""session_id" integer NOT NULL"#;
const NUMBER_REQUIRED: &str = r#""number" varchar NOT NULL"#;
const NUMBER_OPTIONAL: &str = r#""number" varchar NULL"#;

fn err(e: impl std::fmt::Display) -> DbErr {
    DbErr::Migration(format!("invoice reissue migration: {e}"))
}

/// Replaces `from` by `to` exactly once, or fails (the schema is not what
/// this migration was written for).
fn replace_once(sql: &str, from: &str, to: &str) -> Result<String, DbErr> {
    match sql.matches(from).count() {
        1 => Ok(sql.replacen(from, to, 1)),
        n => Err(err(format!(
            "expected `{from}` once in the invoices table, found it {n} times in: {sql}"
        ))),
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        match m.get_database_backend() {
            DatabaseBackend::Sqlite => {
                let pool = sqlite_pool(m)?;
                let mut statements = vec![
                    format!("ALTER TABLE invoices ADD COLUMN {SQLITE_REISSUED_FROM}"),
                    format!("ALTER TABLE invoices ADD COLUMN {SQLITE_REISSUE_KEY}"),
                ];
                statements.extend(NEW_INDEXES.iter().map(|s| String::from(*s)));
                // Every change on the one connection, which is closed after.
                statements.push(STUDIO_ADD.to_string());
                sqlite_rebuild_invoices(
                    &pool,
                    |sql| {
                        let sql = replace_once(sql, SESSION_UNIQUE, SESSION_PLAIN)?;
                        replace_once(&sql, NUMBER_REQUIRED, NUMBER_OPTIONAL)
                    },
                    &[],
                    &[],
                    &statements,
                )
                .await?;
            }
            _ => {
                let db = m.get_connection();
                for sql in [
                    STUDIO_ADD,
                    "ALTER TABLE invoices DROP CONSTRAINT invoices_session_id_key",
                    "ALTER TABLE invoices ALTER COLUMN number DROP NOT NULL",
                    "ALTER TABLE invoices ADD COLUMN reissued_from_id bigint NULL REFERENCES invoices (id)",
                    "ALTER TABLE invoices ADD COLUMN reissue_key varchar NULL",
                ]
                .into_iter()
                .chain(NEW_INDEXES)
                {
                    db.execute_unprepared(sql).await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let drafts = "UPDATE invoices SET number = 'DRAFT-' || id WHERE number IS NULL";
        match m.get_database_backend() {
            DatabaseBackend::Sqlite => {
                let pool = sqlite_pool(m)?;
                let mut before: Vec<String> = NEW_INDEX_NAMES
                    .iter()
                    .map(|name| format!("DROP INDEX {name}"))
                    .collect();
                before.push(drafts.to_string());
                before.push(STUDIO_DROP.to_string());
                sqlite_rebuild_invoices(
                    &pool,
                    |sql| {
                        let sql = replace_once(sql, &format!(", {SQLITE_REISSUED_FROM}"), "")?;
                        let sql = replace_once(&sql, &format!(", {SQLITE_REISSUE_KEY}"), "")?;
                        let sql = replace_once(&sql, SESSION_PLAIN, SESSION_UNIQUE)?;
                        replace_once(&sql, NUMBER_OPTIONAL, NUMBER_REQUIRED)
                    },
                    &before,
                    &["reissued_from_id", "reissue_key"],
                    &[],
                )
                .await
            }
            _ => {
                let db = m.get_connection();
                db.execute_unprepared(STUDIO_DROP).await?;
                for name in NEW_INDEX_NAMES {
                    db.execute_unprepared(&format!("DROP INDEX {name}")).await?;
                }
                for sql in [
                    "ALTER TABLE invoices DROP COLUMN reissue_key",
                    "ALTER TABLE invoices DROP COLUMN reissued_from_id",
                    drafts,
                    "ALTER TABLE invoices ALTER COLUMN number SET NOT NULL",
                    "ALTER TABLE invoices ADD CONSTRAINT invoices_session_id_key UNIQUE (session_id)",
                ] {
                    db.execute_unprepared(sql).await?;
                }
                Ok(())
            }
        }
    }
}

fn sqlite_pool(m: &SchemaManager) -> Result<sqlx::SqlitePool, DbErr> {
    match m.get_connection() {
        DatabaseExecutor::Connection(conn) => Ok(conn.get_sqlite_connection_pool().clone()),
        _ => Err(err(
            "on SQLite this migration manages its own transaction (foreign keys must be off)",
        )),
    }
}

/// Rebuilds `invoices` on SQLite with the table SQL transformed by `edit`:
/// on one connection with foreign keys off (so dropping the old table
/// cascades nothing), in one transaction: `before`, copy every column but
/// `exclude`, drop, rename, recreate the explicit indexes, `after`, and
/// `foreign_key_check`.
async fn sqlite_rebuild_invoices(
    pool: &sqlx::SqlitePool,
    edit: impl Fn(&str) -> Result<String, DbErr>,
    before: &[String],
    exclude: &[&str],
    after: &[String],
) -> Result<(), DbErr> {
    let mut conn = pool.acquire().await.map_err(err)?;
    sqlx::query("PRAGMA foreign_keys = OFF")
        .execute(&mut *conn)
        .await
        .map_err(err)?;
    let result = async {
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut *conn)
            .await
            .map_err(err)?;
        let steps = async {
            for sql in before {
                sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .execute(&mut *conn)
                    .await
                    .map_err(err)?;
            }
            let table_sql: String = sqlx::query(
                "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'invoices'",
            )
            .fetch_one(&mut *conn)
            .await
            .map_err(err)?
            .try_get(0)
            .map_err(err)?;
            let index_sqls: Vec<String> = sqlx::query(
                "SELECT sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'invoices' AND sql IS NOT NULL",
            )
            .fetch_all(&mut *conn)
            .await
            .map_err(err)?
            .iter()
            .map(|row| row.try_get::<String, _>(0))
            .collect::<Result<_, _>>()
            .map_err(err)?;
            let columns: Vec<String> = sqlx::query("SELECT name FROM pragma_table_info('invoices')")
                .fetch_all(&mut *conn)
                .await
                .map_err(err)?
                .iter()
                .map(|row| row.try_get::<String, _>(0))
                .collect::<Result<Vec<_>, _>>()
                .map_err(err)?
                .into_iter()
                .filter(|c| !exclude.contains(&c.as_str()))
                .map(|c| format!("\"{c}\""))
                .collect();
            let columns = columns.join(", ");
            let new_sql = replace_once(
                &edit(&table_sql)?,
                r#"CREATE TABLE "invoices""#,
                r#"CREATE TABLE "invoices_rebuild""#,
            )?;
            let mut statements = vec![
                new_sql,
                format!("INSERT INTO invoices_rebuild ({columns}) SELECT {columns} FROM invoices"),
                "DROP TABLE invoices".to_string(),
                "ALTER TABLE invoices_rebuild RENAME TO invoices".to_string(),
            ];
            statements.extend(index_sqls);
            statements.extend(after.iter().cloned());
            for sql in &statements {
                sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .execute(&mut *conn)
                    .await
                    .map_err(err)?;
            }
            let broken = sqlx::query("PRAGMA foreign_key_check")
                .fetch_all(&mut *conn)
                .await
                .map_err(err)?;
            if !broken.is_empty() {
                return Err(err(format!(
                    "{} rows violate foreign keys after the rebuild",
                    broken.len()
                )));
            }
            Ok(())
        }
        .await;
        match steps {
            Ok(()) => sqlx::query("COMMIT")
                .execute(&mut *conn)
                .await
                .map(|_| ())
                .map_err(err),
            Err(e) => {
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                Err(e)
            }
        }
    }
    .await;
    sqlx::query("PRAGMA foreign_keys = ON")
        .execute(&mut *conn)
        .await
        .map_err(err)?;
    // The connection that rebuilt the table is closed rather than returned
    // to the pool: its cached schema and prepared statements describe the
    // tables mid-change, and every other connection rereads the schema.
    conn.close().await.map_err(err)?;
    result
}
