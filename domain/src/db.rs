//! Database connections: one pool, shared by sea-orm and (on SQLite) apalis.

use crate::settings::{DatabaseKind, Settings};
use migration::MigratorTrait;
use sea_orm::sqlx::SqlitePool;
use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sea_orm::{
    ConnectOptions, DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode,
    SqlxSqliteConnector, TransactionOptions, TransactionTrait,
};
use std::str::FromStr;
use std::time::Duration;

pub struct Database {
    pub conn: DatabaseConnection,
    /// The raw pool behind `conn` on SQLite, for the apalis SQLite storage.
    pub sqlite_pool: Option<SqlitePool>,
}

pub async fn connect(settings: &Settings) -> anyhow::Result<Database> {
    let url = settings.database_url();
    match settings.database_kind() {
        DatabaseKind::Sqlite => {
            std::fs::create_dir_all(&settings.data_dir)?;
            let options = SqliteConnectOptions::from_str(&url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options)
                .await?;
            Ok(Database {
                conn: SqlxSqliteConnector::from_sqlx_sqlite_pool(pool.clone()),
                sqlite_pool: Some(pool),
            })
        }
        DatabaseKind::Postgres => {
            let mut options = ConnectOptions::new(url);
            options
                .max_connections(20)
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .sqlx_logging(false);
            Ok(Database {
                conn: sea_orm::Database::connect(options).await?,
                sqlite_pool: None,
            })
        }
    }
}

pub async fn migrate(conn: &DatabaseConnection) -> Result<(), DbErr> {
    migration::Migrator::up(conn, None).await?;
    if conn.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        refresh_sqlite_schema(conn.get_sqlite_connection_pool()).await?;
    }
    Ok(())
}

/// Makes every idle SQLite connection reread the schema. A connection that
/// sat idle while a migration changed a table keeps the old schema until its
/// next read notices the change; until then a statement prepared on it (an
/// `INSERT ... RETURNING` in particular) can be described with the old
/// columns. Reading `sqlite_schema` once on each connection refreshes it.
async fn refresh_sqlite_schema(pool: &SqlitePool) -> Result<(), DbErr> {
    let idle = pool.num_idle();
    let mut held = Vec::with_capacity(idle);
    for _ in 0..idle {
        let mut conn = pool
            .acquire()
            .await
            .map_err(|e| DbErr::Custom(format!("refresh schema: {e}")))?;
        sea_orm::sqlx::query("SELECT count(*) FROM sqlite_schema")
            .execute(&mut *conn)
            .await
            .map_err(|e| DbErr::Custom(format!("refresh schema: {e}")))?;
        held.push(conn);
    }
    Ok(())
}

/// Begins a transaction that writes. On SQLite it takes the write lock up
/// front (`BEGIN IMMEDIATE`) so concurrent writers wait on the busy timeout
/// instead of failing when a read lock cannot be upgraded.
pub async fn begin_write(conn: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    conn.begin_with_options(TransactionOptions {
        isolation_level: None,
        access_mode: None,
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
    })
    .await
}
