//! The apalis queue behind the outbox: SQLite storage (embedded) or Redis (production).

use apalis::prelude::TaskSink;
use apalis_redis::RedisStorage;
use apalis_sqlite::SqliteStorage;
use domain::infra::settings::Settings;
use domain::workflow::jobs::Job;
use redis::aio::ConnectionManagerConfig;
use sea_orm::sqlx::SqlitePool;
use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use secrecy::ExposeSecret;
use std::str::FromStr;
use std::time::Duration;

#[derive(Clone)]
pub enum Queue {
    Sqlite(SqliteStorage<Job>),
    Redis(RedisStorage<Job>),
}

impl Queue {
    /// Redis when `REDIS_URL` is set; otherwise the apalis SQLite storage in
    /// the application database (or in `{data_dir}/queue.db` when the
    /// application database is PostgreSQL).
    pub async fn connect(
        settings: &Settings,
        app_pool: Option<SqlitePool>,
    ) -> anyhow::Result<Self> {
        let w = &settings.worker;
        if let Some(url) = &settings.redis_url {
            let client = redis::Client::open(url.expose_secret())?;
            // redis-rs' 500 ms default response timeout turns load into fatal worker errors.
            let conn = client
                .get_connection_manager_with_config(
                    ConnectionManagerConfig::new()
                        .set_response_timeout(Some(Duration::from_secs(5))),
                )
                .await?;
            let config = apalis_redis::Config::default()
                .queue(&w.queue)
                .heartbeat_interval(Duration::from_secs(w.heartbeat_secs))
                .missed_heartbeats(w.missed_heartbeats);
            return Ok(Self::Redis(RedisStorage::new(conn).with_config(config)));
        }
        let pool = match app_pool {
            Some(pool) => pool,
            None => {
                std::fs::create_dir_all(&settings.data_dir)?;
                let path = settings.data_dir.join("queue.db");
                let options = SqliteConnectOptions::from_str(&format!(
                    "sqlite://{}?mode=rwc",
                    path.display()
                ))?
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30));
                SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(options)
                    .await?
            }
        };
        SqliteStorage::setup(&pool).await?;
        let config = apalis_sqlite::Config::default()
            .queue(&w.queue)
            .heartbeat_interval(Duration::from_secs(w.heartbeat_secs))
            .missed_heartbeats(w.missed_heartbeats);
        Ok(Self::Sqlite(SqliteStorage::new(&pool).with_config(config)))
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Redis(_) => "redis",
        }
    }

    pub async fn push(&mut self, job: Job) -> anyhow::Result<()> {
        match self {
            Self::Sqlite(storage) => storage
                .push(job)
                .await
                .map_err(|e| anyhow::anyhow!("sqlite queue: {e}")),
            Self::Redis(storage) => storage
                .push(job)
                .await
                .map_err(|e| anyhow::anyhow!("redis queue: {e}")),
        }
    }

    /// How many jobs wait in the queue for a worker, where the queue can
    /// tell cheaply (Redis: its list of pending jobs, and its scheduled set,
    /// where apalis puts every pushed job until a worker's fetch moves it to
    /// the list); `None` otherwise, or when it cannot be asked.
    pub async fn waiting(&mut self) -> Option<u64> {
        match self {
            Self::Sqlite(_) => None,
            Self::Redis(storage) => {
                let config = storage.get_config();
                let (active, scheduled) = (config.active_jobs_list(), config.scheduled_jobs_set());
                let (listed, due): (u64, u64) = redis::pipe()
                    .cmd("LLEN")
                    .arg(active)
                    .cmd("ZCARD")
                    .arg(scheduled)
                    .query_async(storage.get_connection())
                    .await
                    .ok()?;
                Some(listed + due)
            }
        }
    }

    /// Pushes a batch in one pipelined round trip where the storage can
    /// (apalis' `push_bulk`).
    pub async fn push_all(&mut self, jobs: Vec<Job>) -> anyhow::Result<()> {
        match self {
            Self::Sqlite(storage) => storage
                .push_bulk(jobs)
                .await
                .map_err(|e| anyhow::anyhow!("sqlite queue: {e}")),
            Self::Redis(storage) => storage
                .push_bulk(jobs)
                .await
                .map_err(|e| anyhow::anyhow!("redis queue: {e}")),
        }
    }
}
