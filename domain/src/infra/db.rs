//! Database connections: one pool, shared by sea-orm and (on SQLite) apalis.
//!
//! - Write transactions on SQLite start with `BEGIN IMMEDIATE`
//!   (`begin_write`), so concurrent writers wait on the busy timeout instead
//!   of failing.
//! - Migrations run under one lock across processes (`migrate`:
//!   `pg_advisory_lock` on a dedicated connection, closed rather than
//!   returned if a migration fails; `flock` on `<file>.migrate-lock` on
//!   SQLite); afterwards every idle SQLite connection rereads the schema.
//! - Every PostgreSQL connection carries `statement_timeout` and
//!   `idle_in_transaction_session_timeout`: the server-side backstop for a
//!   transaction left open.

use crate::infra::settings::{DatabaseKind, PostgresSettings, Settings};
use migration::MigratorTrait;
use sea_orm::sqlx::SqlitePool;
use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sea_orm::sqlx::{PgPool, Postgres};
use sea_orm::{
    ConnectOptions, DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode,
    SqlxSqliteConnector, TransactionOptions, TransactionTrait,
};
use std::str::FromStr;
use std::time::Duration;

/// The PostgreSQL channel on which a trigger on `outbox` announces committed
/// rows (migration `m20261201_000300_outbox_notify`); worker relays listen.
pub const OUTBOX_CHANNEL: &str = "outbox";

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
            let pool = connect_sqlite(options).await?;
            Ok(Database {
                conn: SqlxSqliteConnector::from_sqlx_sqlite_pool(pool.clone()),
                sqlite_pool: Some(pool),
            })
        }
        DatabaseKind::Postgres => {
            let budget = probe_postgres(&url).await?;
            let pool = settings.postgres.pool_size;
            if let Some(warning) = budget.and_then(|b| b.shortfall(pool)) {
                tracing::warn!("{warning}");
            }
            let mut options = ConnectOptions::new(url);
            let backstops = postgres_backstops(&settings.postgres);
            options
                .max_connections(pool)
                .min_connections(0)
                // After a burst, connections go back to the server instead of
                // holding its budget while idle.
                .idle_timeout(Duration::from_secs(60))
                .acquire_timeout(Duration::from_secs(10))
                .sqlx_logging(false)
                // A session left in a transaction (a task that never resumes,
                // a connection handed back mid-transaction) holds its row
                // locks until the server ends it: these settings make the
                // server do so instead of stalling every other writer.
                .map_sqlx_postgres_opts(move |o| o.options(backstops.clone()));
            Ok(Database {
                conn: sea_orm::Database::connect(options).await?,
                sqlite_pool: None,
            })
        }
    }
}

/// One connection, bounded in time, before the pool is built: the pool
/// would retry a refused connection until its acquire timeout and then say
/// only "pool timed out". The error names the setting, the server (password
/// masked) and what to do.
async fn probe_postgres(url: &str) -> anyhow::Result<Option<ConnectionBudget>> {
    use sea_orm::sqlx::Connection;
    use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection};
    let shown = crate::infra::startup::mask_url(url);
    let options = PgConnectOptions::from_str(url).map_err(|e| {
        anyhow::anyhow!("database_url (DATABASE_URL) {shown} is not a PostgreSQL URL: {e}")
    })?;
    let timeout = crate::infra::startup::CONNECT_TIMEOUT;
    let err = match tokio::time::timeout(timeout, PgConnection::connect_with(&options)).await {
        Ok(Ok(mut conn)) => {
            let budget = ConnectionBudget::read(&mut conn).await;
            let _ = conn.close().await;
            return Ok(budget);
        }
        Ok(Err(err)) => err,
        Err(_) => anyhow::bail!(
            "PostgreSQL at {shown} (database_url, DATABASE_URL) did not answer in {} s\n  check the host and port, or that a firewall lets the connection through",
            timeout.as_secs()
        ),
    };
    let code = err
        .as_database_error()
        .and_then(|e| e.code().map(|c| c.to_string()));
    let database = options.get_database().unwrap_or("postgres").to_string();
    let user = options.get_username().to_string();
    let message = match code.as_deref() {
        Some("3D000") => format!(
            "database `{database}` does not exist on the PostgreSQL server of {shown} (database_url, DATABASE_URL)\n  create it (createdb -h {} -p {} -U {user} {database}), or fix the database name in DATABASE_URL",
            options.get_host(),
            options.get_port()
        ),
        Some("28P01" | "28000") => format!(
            "PostgreSQL refused the login of user `{user}` at {shown} (database_url, DATABASE_URL): {}\n  fix the user or password in DATABASE_URL",
            err.as_database_error()
                .map(|e| e.message())
                .unwrap_or_default()
        ),
        _ => match &err {
            sea_orm::sqlx::Error::Io(io) => format!(
                "PostgreSQL is unreachable at {shown} (database_url, DATABASE_URL): {io}\n  start PostgreSQL there, or set DATABASE_URL to a running server (unset it to use SQLite in the data directory)"
            ),
            other => format!(
                "cannot connect to PostgreSQL at {shown} (database_url, DATABASE_URL): {other}"
            ),
        },
    };
    Err(anyhow::anyhow!(message))
}

/// What the PostgreSQL server can still give a new pool: its
/// `max_connections`, the superuser reserve, and the connections open now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionBudget {
    pub max: u32,
    pub reserved: u32,
    pub in_use: u32,
}

impl ConnectionBudget {
    /// Read on the probe's connection; `None` when the server will not say
    /// (a pooler in front answers `SHOW` differently): nothing is checked.
    pub async fn read(conn: &mut sea_orm::sqlx::PgConnection) -> Option<Self> {
        let row: (String, String, i64) = sea_orm::sqlx::query_as(
            "SELECT current_setting('max_connections'), \
             current_setting('superuser_reserved_connections'), \
             (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')",
        )
        .fetch_one(conn)
        .await
        .ok()?;
        Some(Self {
            max: row.0.parse().ok()?,
            reserved: row.1.parse().ok()?,
            in_use: u32::try_from(row.2).ok()?,
        })
    }

    /// Why a pool of `pool` connections may not get them all, if so.
    pub fn shortfall(&self, pool: u32) -> Option<String> {
        let left = self
            .max
            .saturating_sub(self.reserved)
            .saturating_sub(self.in_use);
        (pool > left).then(|| {
            format!(
                "the database pool (postgres.pool_size = {pool}) may not get its connections: \
                 PostgreSQL allows {} (max_connections, {} reserved for superusers) and {} are \
                 open, so {left} are left; lower postgres.pool_size so that every process's pool \
                 fits, raise max_connections, or put a pooler (PgBouncer in transaction mode) in \
                 front",
                self.max, self.reserved, self.in_use
            )
        })
    }
}

/// The `SET`-style options sent with every new PostgreSQL connection.
fn postgres_backstops(settings: &PostgresSettings) -> Vec<(&'static str, String)> {
    vec![
        (
            "statement_timeout",
            format!("{}ms", settings.statement_timeout_ms),
        ),
        (
            "idle_in_transaction_session_timeout",
            format!("{}ms", settings.idle_in_transaction_timeout_ms),
        ),
    ]
}

/// Opens the SQLite pool. Processes started at once on a new database file
/// race to switch it to WAL, and SQLite answers that switch `SQLITE_BUSY`
/// at once instead of waiting out the busy timeout; the loser tries again
/// after a short pause (up to about 5 s) rather than failing its start.
async fn connect_sqlite(options: SqliteConnectOptions) -> Result<SqlitePool, sea_orm::sqlx::Error> {
    let mut pause = Duration::from_millis(20);
    let mut retries = 12;
    loop {
        let opened = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.clone())
            .await;
        match opened {
            Err(sea_orm::sqlx::Error::Database(e))
                if retries > 0 && e.code().as_deref() == Some("5") =>
            {
                tracing::warn!(error = %e, "SQLite database busy while opening; trying again");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
                retries -= 1;
            }
            other => return other,
        }
    }
}

/// Brings the schema up to date. Several processes may start at once on an
/// empty database; the migrations are serialised between them (an advisory
/// lock on PostgreSQL, a file lock beside the SQLite file), so the first one
/// migrates and the others find nothing left to do.
pub async fn migrate(conn: &DatabaseConnection) -> Result<(), DbErr> {
    match conn.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            let lock = PgMigrationLock::acquire(conn.get_postgres_connection_pool()).await?;
            migration::Migrator::up(conn, None).await?;
            lock.release().await
        }
        sea_orm::DatabaseBackend::Sqlite => {
            let pool = conn.get_sqlite_connection_pool();
            let _lock = SqliteMigrationLock::acquire(pool).await?;
            migration::Migrator::up(conn, None).await?;
            refresh_sqlite_schema(pool).await
        }
        _ => migration::Migrator::up(conn, None).await,
    }
}

/// Every migration by name, oldest first, and whether it is applied.
pub async fn migration_status(conn: &DatabaseConnection) -> Result<Vec<(String, bool)>, DbErr> {
    Ok(migration::Migrator::get_migration_with_status(conn)
        .await?
        .iter()
        .map(|m| {
            (
                m.name().to_string(),
                m.status() == sea_orm_migration::MigrationStatus::Applied,
            )
        })
        .collect())
}

async fn applied(conn: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    Ok(migration_status(conn)
        .await?
        .into_iter()
        .filter_map(|(name, applied)| applied.then_some(name))
        .collect())
}

/// `migrate`, returning the names of the migrations this call applied
/// (none when another process got there first, or nothing was pending).
pub async fn migrate_reporting(conn: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    let before = applied(conn).await?;
    migrate(conn).await?;
    Ok(applied(conn)
        .await?
        .into_iter()
        .filter(|name| !before.contains(name))
        .collect())
}

/// Rolls back the latest `steps` applied migrations (all of them with
/// `None`), newest first; returns their names in the order they were
/// rolled back. Rolling back drops what the migration created, data included.
pub async fn rollback(conn: &DatabaseConnection, steps: Option<u32>) -> Result<Vec<String>, DbErr> {
    let applied = applied(conn).await?;
    let count = match steps {
        Some(n) => (n as usize).min(applied.len()),
        None => applied.len(),
    };
    if count == 0 {
        return Ok(Vec::new());
    }
    let names: Vec<String> = applied.iter().rev().take(count).cloned().collect();
    migration::Migrator::down(conn, Some(count as u32)).await?;
    Ok(names)
}

/// An arbitrary constant naming "the migrations" among advisory locks.
const MIGRATION_LOCK_KEY: i64 = 0x6269_6c6c_6d69_6772; // "billmigr"

/// `pg_advisory_lock` held on one dedicated connection of the pool for as
/// long as the migrations run. The lock belongs to that session: if this
/// process dies, the server ends the session and the lock with it.
struct PgMigrationLock(PoolConnection<Postgres>);

impl PgMigrationLock {
    async fn acquire(pool: &PgPool) -> Result<Self, DbErr> {
        let mut conn = pool.acquire().await.map_err(lock_err)?;
        // No statement timeout for this wait: another process may be
        // migrating for longer than a statement is normally allowed.
        sea_orm::sqlx::query("SET statement_timeout = 0")
            .execute(&mut *conn)
            .await
            .map_err(lock_err)?;
        sea_orm::sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(MIGRATION_LOCK_KEY)
            .execute(&mut *conn)
            .await
            .map_err(lock_err)?;
        Ok(Self(conn))
    }

    async fn release(mut self) -> Result<(), DbErr> {
        sea_orm::sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(MIGRATION_LOCK_KEY)
            .execute(&mut *self.0)
            .await
            .map_err(lock_err)?;
        sea_orm::sqlx::query("RESET statement_timeout")
            .execute(&mut *self.0)
            .await
            .map_err(lock_err)?;
        Ok(())
    }
}

impl Drop for PgMigrationLock {
    fn drop(&mut self) {
        // Dropped without `release` (a migration failed): the session-level
        // lock must not go back to the pool with the connection.
        self.0.close_on_drop();
    }
}

/// An exclusive `flock` on `<database file>.migrate-lock`, held while the
/// migrations run (released when the file is closed, or the process dies).
struct SqliteMigrationLock {
    _held: Option<std::fs::File>,
}

impl SqliteMigrationLock {
    async fn acquire(pool: &SqlitePool) -> Result<Self, DbErr> {
        let filename = pool.connect_options().get_filename().to_path_buf();
        if filename.as_os_str().is_empty() || filename == std::path::Path::new(":memory:") {
            return Ok(Self { _held: None });
        }
        let mut path = filename.into_os_string();
        path.push(".migrate-lock");
        let file = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)?;
            file.lock()?;
            Ok(file)
        })
        .await
        .map_err(lock_err)?
        .map_err(lock_err)?;
        Ok(Self { _held: Some(file) })
    }
}

fn lock_err(err: impl std::fmt::Display) -> DbErr {
    DbErr::Custom(format!("migration lock: {err}"))
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

/// `column` (an id) among `ids`, as one statement text whatever their number.
/// On PostgreSQL that is `= ANY($1)` with the ids as one array parameter:
/// an `IN ($1, …, $n)` list is a different statement for every length, each
/// prepared anew on every pooled connection, and a prepare outside a
/// transaction is a transaction of its own (about six per session in the
/// bench, BENCHMARKS.md). SQLite prepares for nothing: a plain `IN` list.
pub(crate) fn ids_among<C, Col>(conn: &C, column: Col, ids: &[i64]) -> sea_orm::sea_query::Expr
where
    C: sea_orm::ConnectionTrait,
    Col: sea_orm::ColumnTrait,
{
    use sea_orm::EntityName;
    match conn.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            let array = format!(
                "{{{}}}",
                ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
            );
            let table = Col::EntityName::default().table_name().to_string();
            let sql = format!(
                "\"{table}\".\"{}\" = ANY(CAST($1 AS BIGINT[]))",
                column.as_str()
            );
            sea_orm::sea_query::Expr::cust_with_values(sql, [array])
        }
        _ => column.is_in(ids.iter().copied()),
    }
}

#[cfg(test)]
mod tests {
    use super::ConnectionBudget;

    #[test]
    fn a_pool_that_does_not_fit_what_is_left_is_named_with_what_to_do() {
        let budget = ConnectionBudget {
            max: 100,
            reserved: 3,
            in_use: 80,
        };
        assert_eq!(budget.shortfall(17), None);
        let warning = budget.shortfall(20).expect("20 do not fit in 17");
        assert!(warning.contains("postgres.pool_size = 20"), "{warning}");
        assert!(warning.contains("so 17 are left"), "{warning}");
        assert!(warning.contains("PgBouncer"), "{warning}");
        let crowded = ConnectionBudget {
            in_use: 120,
            ..budget
        };
        assert!(crowded.shortfall(1).is_some());
    }
}
