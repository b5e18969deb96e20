//! The benchmark: the issue-11 scenarios, measured on fresh private
//! resources with the release build of the api's and the worker's own entry
//! points (this binary re-executed, as the chaos fleet does).
//!
//! ```sh
//! cargo run -p tests --release --bin bench -- [--sessions N] [--mode embedded|production|all]
//!     [--workers K] [--jobs N] [--runs R] [--pgbench-secs S] [--profile DIR] [--rate R]
//!     [--fsync on|off] [--smoke]
//! ```
//!
//! One run does, in order:
//! - (a) end to end, per mode: N auto-pay sessions (clients with a good card
//!   on the simulated gateway) scheduled first, then all completed at once
//!   through the public GraphQL `completeSession`; timed until every
//!   invoice is PAID and until every follow-up is done (no outbox row due,
//!   no email unsent, every sent email in the SMTP sink or the mail
//!   directory). Embedded: SQLite, the in-process worker, emails as files.
//!   Production: PostgreSQL + Redis + SMTP sink, one api and K worker
//!   processes (2 and 4 unless `--workers` names one K).
//! - (b) N no-op jobs (`JobKind::Noop`) through outbox → relay → Redis →
//!   worker → done, with the first K.
//! - (c) `pgbench -c 8 -j 2` on the same PostgreSQL, for the ratio.
//!
//! Transactions are PostgreSQL's own count: the growth of `xact_commit` in
//! `pg_stat_database` for the run's database, read from another database
//! after the fleet has shut down (so every backend has flushed its counts),
//! minus the bench's own progress queries, which it counts.
//!
//! Each end-to-end run also says where the box's CPU went from the burst
//! to done (`cpu.rs`: PostgreSQL with its backends, the api, the workers,
//! Redis, the bench, anything else, idle) and PostgreSQL's CPU per session,
//! which bounds the rate on this box whatever the engine does.
//!
//! `--profile DIR` also records `perf record -g` of every worker (the api
//! in the embedded mode) during the timed part, and loads
//! `pg_stat_statements`, writing the statements of each production run and
//! its outbox rows by job kind.
//!
//! With `--profile` the private cluster also logs every statement, and each
//! production run's file gains its transactions by shape (`shapes.rs`):
//! which statements ran alone, one commit each, and which shared one.
//!
//! `--fsync on` runs the private cluster with `fsync=on` (durable commits,
//! as a production server runs); the default is `fsync=off`, a throwaway
//! cluster's setting. Every figure of a run is under the one setting its
//! header names; pgbench runs under it too.
//!
//! `--rate R` completes the sessions at R per second instead of all at once:
//! the processing time at a steady pace (the issue's "p50 at 50 sessions/s").

use anyhow::{Context, anyhow, bail};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, Value};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tests::fleet::{self, Member, Role};
use tests::private::{PrivatePostgres, PrivateRedis, free_port};
use tests::smtp::SmtpSink;
use tokio::time::Instant;

mod cpu;
mod shapes;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Embedded,
    Production,
    All,
}

#[derive(Debug, Clone)]
struct Options {
    sessions: usize,
    mode: Mode,
    workers: Vec<usize>,
    jobs: usize,
    runs: usize,
    pgbench_secs: u64,
    pgbench_scale: u32,
    profile: Option<PathBuf>,
    /// Complete the sessions at this many per second instead of all at once
    /// (`--rate`), for processing time at a steady pace.
    rate: Option<f64>,
    /// The private cluster's `fsync` (`--fsync on|off`, off by default).
    fsync: bool,
    /// The longest wait for one scenario's end state.
    limit_secs: u64,
}

impl Options {
    fn defaults() -> Self {
        Self {
            sessions: 500,
            mode: Mode::All,
            workers: vec![2, 4],
            jobs: 20_000,
            runs: 3,
            pgbench_secs: 15,
            pgbench_scale: 10,
            profile: None,
            rate: None,
            fsync: false,
            limit_secs: 600,
        }
    }

    fn parse(args: &[String]) -> anyhow::Result<Self> {
        let mut options = Self::defaults();
        let mut i = 0;
        while i < args.len() {
            let value = |i: usize| -> anyhow::Result<&String> {
                args.get(i + 1)
                    .with_context(|| format!("{} needs a value", args[i]))
            };
            let number = |i: usize| -> anyhow::Result<u64> {
                value(i)?
                    .parse::<u64>()
                    .with_context(|| format!("{} needs a number", args[i]))
            };
            match args[i].as_str() {
                "--sessions" => options.sessions = usize::try_from(number(i)?)?,
                "--jobs" => options.jobs = usize::try_from(number(i)?)?,
                "--runs" => options.runs = usize::try_from(number(i)?)?.max(1),
                "--workers" => options.workers = vec![usize::try_from(number(i)?)?.max(1)],
                "--pgbench-secs" => options.pgbench_secs = number(i)?.max(1),
                "--mode" => {
                    options.mode = match value(i)?.as_str() {
                        "embedded" => Mode::Embedded,
                        "production" => Mode::Production,
                        "all" => Mode::All,
                        other => bail!("--mode {other}: use embedded | production | all"),
                    }
                }
                "--profile" => options.profile = Some(PathBuf::from(value(i)?)),
                "--rate" => options.rate = Some(number(i)?.max(1) as f64),
                "--fsync" => {
                    options.fsync = match value(i)?.as_str() {
                        "on" => true,
                        "off" => false,
                        other => bail!("--fsync {other}: use on | off"),
                    }
                }
                "--smoke" => {
                    // Tiny numbers: proves every part runs, measures nothing.
                    options.sessions = 5;
                    options.jobs = 50;
                    options.runs = 1;
                    options.workers = vec![2];
                    options.pgbench_secs = 1;
                    options.pgbench_scale = 1;
                    options.limit_secs = 60;
                    i += 1;
                    continue;
                }
                other => bail!(
                    "unknown argument {other}; use --sessions N | --mode embedded|production|all | --workers K | --jobs N | --runs R | --pgbench-secs S | --profile DIR | --rate R | --fsync on|off | --smoke"
                ),
            }
            i += 2;
        }
        if options.sessions == 0 {
            bail!("--sessions must be at least 1");
        }
        Ok(options)
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some(fleet::ROLE_API) => return fleet::run_role(Role::Api),
        Some(fleet::ROLE_WORKER) => return fleet::run_role(Role::Worker),
        _ => {}
    }
    let options = Options::parse(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(options))
}

/// The services every scenario of the bench shares: one private PostgreSQL
/// cluster (a database per scenario) and one private Redis (a queue name
/// per scenario).
struct Services {
    postgres: PrivatePostgres,
    redis: PrivateRedis,
    admin: DatabaseConnection,
}

/// One end-to-end measurement.
#[derive(Debug, Clone)]
struct EndToEnd {
    sessions: usize,
    paid_secs: f64,
    done_secs: f64,
    p50_ms: i64,
    p99_ms: i64,
    emails: usize,
    /// `None` on SQLite.
    xacts: Option<i64>,
    /// Where the box's CPU went from the burst to done (`None` off Linux).
    cpu: Option<cpu::Usage>,
}

impl EndToEnd {
    fn paid_rate(&self) -> f64 {
        self.sessions as f64 / self.paid_secs
    }
    fn done_rate(&self) -> f64 {
        self.sessions as f64 / self.done_secs
    }
    fn xacts_per_session(&self) -> Option<f64> {
        self.xacts.map(|x| x as f64 / self.sessions as f64)
    }
    fn xacts_per_sec(&self) -> Option<f64> {
        self.xacts.map(|x| x as f64 / self.done_secs)
    }
    /// Milliseconds of PostgreSQL's CPU per session.
    fn postgres_ms_per_session(&self) -> Option<f64> {
        let cpu = self.cpu.as_ref()?;
        let secs = cpu.of(cpu::POSTGRES);
        (secs > 0.0).then(|| 1000.0 * secs / self.sessions as f64)
    }
    /// The most sessions/s PostgreSQL could do with every core to itself.
    fn postgres_bound(&self) -> Option<f64> {
        let cores = self.cpu.as_ref()?.cores as f64;
        self.postgres_ms_per_session().map(|ms| 1000.0 * cores / ms)
    }
}

#[derive(Debug, Clone)]
struct JobsResult {
    jobs: usize,
    secs: f64,
    xacts: i64,
}

#[derive(Default)]
struct RunResults {
    scenarios: BTreeMap<String, EndToEnd>,
    jobs: Option<JobsResult>,
    pgbench_tps: Option<f64>,
    /// PostgreSQL's CPU per pgbench transaction, in milliseconds.
    pgbench_cpu_ms: Option<f64>,
}

#[derive(Clone, Copy, Debug)]
enum Target {
    Embedded,
    Production { workers: usize },
}

impl Target {
    fn label(self) -> String {
        match self {
            Target::Embedded => "embedded".into(),
            Target::Production { workers } => format!("production, {workers} workers"),
        }
    }
}

async fn run(options: Options) -> anyhow::Result<()> {
    println!("bench: {options:?}");
    if let Some(dir) = &options.profile {
        std::fs::create_dir_all(dir)?;
    }
    let production = options.mode != Mode::Embedded;
    let services = if production {
        let mut extra = format!("-c fsync={}", fsync_word(options.fsync));
        if options.profile.is_some() {
            extra.push_str(
                " -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all ",
            );
            extra.push_str(shapes::LOG_OPTIONS);
        }
        let postgres = PrivatePostgres::start_with(&extra).await.context(
            "the production mode needs PostgreSQL's server binaries (initdb, pg_ctl, pgbench)",
        )?;
        let redis = PrivateRedis::start().await;
        let admin = Database::connect(format!("{}/postgres", postgres.url())).await?;
        if options.profile.is_some() {
            admin
                .execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                .await?;
        }
        println!(
            "bench: private PostgreSQL {} (fsync={}), private Redis {}",
            postgres.url(),
            fsync_word(options.fsync),
            redis.url()
        );
        Some(Services {
            postgres,
            redis,
            admin,
        })
    } else {
        None
    };

    let mut targets = Vec::new();
    if options.mode != Mode::Production {
        targets.push(Target::Embedded);
    }
    if production {
        for &workers in &options.workers {
            targets.push(Target::Production { workers });
        }
    }

    let mut runs: Vec<RunResults> = Vec::new();
    for run in 1..=options.runs {
        let mut results = RunResults::default();
        for &target in &targets {
            let result = end_to_end(&options, services.as_ref(), target, run).await?;
            println!(
                "bench: run {run}, {}: {}",
                target.label(),
                describe(&result)
            );
            results.scenarios.insert(target.label(), result);
        }
        if let Some(services) = &services {
            let workers = options.workers.first().copied().unwrap_or(2);
            let jobs = noop_jobs(&options, services, workers, run).await?;
            println!(
                "bench: run {run}, {} no-op jobs with {workers} workers: {:.0} jobs/s ({:.2} s, {:.2} transactions per job)",
                jobs.jobs,
                jobs.jobs as f64 / jobs.secs,
                jobs.secs,
                jobs.xacts as f64 / jobs.jobs.max(1) as f64
            );
            results.jobs = Some(jobs);
            let (tps, cpu_ms) = pgbench(&options, services, run).await?;
            println!(
                "bench: run {run}, pgbench -c 8 -j 2: {tps:.0} tps, PostgreSQL {} ms of CPU per transaction",
                cpu_ms.map_or_else(|| "?".into(), |ms| format!("{ms:.3}"))
            );
            results.pgbench_tps = Some(tps);
            results.pgbench_cpu_ms = cpu_ms;
        }
        runs.push(results);
    }
    report(&options, &targets, &runs);
    Ok(())
}

fn fsync_word(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

fn describe(r: &EndToEnd) -> String {
    let mut text = format!(
        "{:.1} sessions/s to PAID ({:.2} s), {:.1} sessions/s to done ({:.2} s), processing p50 {} ms p99 {} ms, {} emails",
        r.paid_rate(),
        r.paid_secs,
        r.done_rate(),
        r.done_secs,
        r.p50_ms,
        r.p99_ms,
        r.emails
    );
    if let (Some(x), Some(per), Some(rate)) = (r.xacts, r.xacts_per_session(), r.xacts_per_sec()) {
        text.push_str(&format!(
            ", {x} transactions = {per:.1} per session ({rate:.0}/s)"
        ));
    }
    if let Some(cpu) = &r.cpu {
        text.push_str(&format!("\n    {}", cpu.describe()));
        if let (Some(ms), Some(bound)) = (r.postgres_ms_per_session(), r.postgres_bound()) {
            text.push_str(&format!(
                "; PostgreSQL {ms:.1} ms of CPU per session (with every core to itself: at most {bound:.0} sessions/s)"
            ));
        }
    }
    text
}

/// The run's own queries on the measured database, each one transaction.
struct Probe {
    db: DatabaseConnection,
    queries: AtomicI64,
}

impl Probe {
    async fn one(&self, sql: &str, values: Vec<Value>) -> anyhow::Result<sea_orm::QueryResult> {
        self.queries.fetch_add(1, Ordering::Relaxed);
        let backend = self.db.get_database_backend();
        self.db
            .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?
            .ok_or_else(|| anyhow!("no row: {sql}"))
    }

    async fn all(
        &self,
        sql: &str,
        values: Vec<Value>,
    ) -> anyhow::Result<Vec<sea_orm::QueryResult>> {
        self.queries.fetch_add(1, Ordering::Relaxed);
        let backend = self.db.get_database_backend();
        Ok(self
            .db
            .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?)
    }

    fn param(&self, n: usize) -> String {
        match self.db.get_database_backend() {
            DbBackend::Postgres => format!("${n}"),
            _ => "?".into(),
        }
    }
}

/// Where the workflow stands, in one query (one transaction).
#[derive(Debug, Default)]
struct Progress {
    paid: i64,
    /// Outbox rows due within a minute (a reminder next week is not work
    /// left), or queued.
    due: i64,
    unsent: i64,
    sent: i64,
}

async fn progress(probe: &Probe) -> anyhow::Result<Progress> {
    let soon = chrono::Utc::now() + chrono::Duration::seconds(60);
    let p = probe.param(1);
    let row = probe
        .one(
            &format!(
                "{} SELECT (SELECT COUNT(*) FROM invoices WHERE status = 'PAID') AS paid,
                        (SELECT COUNT(*) FROM outbox WHERE status = 'ENQUEUED'
                            OR (status = 'PENDING' AND (claimed_until IS NULL OR claimed_until < {p}))) AS due,
                        (SELECT COUNT(*) FROM notifications WHERE status IN ('PENDING', 'SENDING')) AS unsent,
                        (SELECT COUNT(*) FROM notifications WHERE status = 'SENT') AS sent",
                shapes::PROBE
            ),
            vec![soon.into()],
        )
        .await?;
    Ok(Progress {
        paid: row.try_get("", "paid")?,
        due: row.try_get("", "due")?,
        unsent: row.try_get("", "unsent")?,
        sent: row.try_get("", "sent")?,
    })
}

/// `xact_commit` of one database, read from the `postgres` database.
async fn xact_commit(admin: &DatabaseConnection, database: &str) -> anyhow::Result<i64> {
    let row = admin
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT xact_commit FROM pg_stat_database WHERE datname = $1",
            vec![database.into()],
        ))
        .await?
        .ok_or_else(|| anyhow!("no pg_stat_database row for {database}"))?;
    Ok(row.try_get("", "xact_commit")?)
}

fn base_env(dir: &Path, port: u16, queue: &str) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for (k, v) in [
        ("DATA_DIR", dir.join("data").display().to_string()),
        // Development: production refuses the loopback public_url and the
        // simulated gateway a local run uses (the topology is the same).
        ("APP__ENVIRONMENT", "development".into()),
        (
            "APP__SECRET_KEY",
            "bench-run-secret-key-for-portal-links".into(),
        ),
        ("APP__HTTP__PUBLIC_URL", format!("http://127.0.0.1:{port}")),
        ("APP__HTTP__HOST", "127.0.0.1".into()),
        ("PORT", port.to_string()),
        ("APP__WORKER__QUEUE", queue.into()),
        ("APP__LOG__FILTER", "warn".into()),
    ] {
        env.insert(k.to_string(), v);
    }
    // Settings given to the bench (`APP__WORKER__CONCURRENCY=16 bench …`)
    // reach every api and worker of the fleet, for experiments.
    for (k, v) in std::env::vars().filter(|(k, _)| k.starts_with("APP__")) {
        env.insert(k, v);
    }
    env
}

/// A fresh database on the private cluster.
async fn create_database(services: &Services, name: &str) -> anyhow::Result<String> {
    services
        .admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    Ok(format!("{}/{name}", services.postgres.url()))
}

async fn end_to_end(
    options: &Options,
    services: Option<&Services>,
    target: Target,
    run: usize,
) -> anyhow::Result<EndToEnd> {
    let dir = tempfile::Builder::new().prefix("bench-").tempdir()?;
    let port = free_port();
    let tag = match target {
        Target::Embedded => format!("bench_embedded_{run}"),
        Target::Production { workers } => format!("bench_production_{workers}w_{run}"),
    };
    let mut env = base_env(dir.path(), port, &tag);
    let smtp = SmtpSink::start().await;
    let database = match (target, services) {
        (Target::Embedded, _) => None,
        (Target::Production { .. }, Some(services)) => {
            let url = create_database(services, &tag).await?;
            env.insert("DATABASE_URL".into(), url);
            env.insert("REDIS_URL".into(), services.redis.url());
            env.insert(
                "SMTP_URL".into(),
                format!("smtp://127.0.0.1:{}", smtp.port()),
            );
            Some(tag.clone())
        }
        (Target::Production { .. }, None) => bail!("production mode without PostgreSQL"),
    };
    let mut members = vec![Member::new(Role::Api, 0, env.clone(), dir.path())];
    if let Target::Production { workers } = target {
        for i in 0..workers {
            members.push(Member::new(Role::Worker, i, env.clone(), dir.path()));
        }
    }
    for member in &mut members {
        member.start()?;
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()?;
    if !fleet::wait_ready(&http, &[port], Duration::from_secs(120)).await {
        let kept = dir.keep();
        bail!("the api did not become ready; logs in {}", kept.display());
    }
    let db = match &database {
        Some(_) => Database::connect(env["DATABASE_URL"].as_str()).await?,
        None => {
            Database::connect(format!(
                "sqlite://{}?mode=rw",
                dir.path().join("data").join("studio.db").display()
            ))
            .await?
        }
    };
    let (_, key) = domain::studio::studios::create_studio(
        &db,
        domain::studio::studios::NewStudio::named("Bench Studio"),
        domain::kernel::clock::Clock::system().now(),
    )
    .await
    .map_err(|e| anyhow!("create studio: {e}"))?;
    let api = Api {
        http,
        base: format!("http://127.0.0.1:{port}"),
        key,
    };
    let sessions = prepare(&api, options.sessions).await?;
    let probe = Probe {
        db,
        queries: AtomicI64::new(0),
    };
    // Quiet before the clock starts: whatever the setup caused is done, and
    // (PostgreSQL) every backend has flushed its counts.
    wait_quiet(&probe, Duration::from_secs(60)).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let profiled: Vec<&Member> = members
        .iter()
        .filter(|m| match target {
            Target::Embedded => m.role == Role::Api,
            Target::Production { .. } => m.role == Role::Worker,
        })
        .collect();
    let mut perfs = Vec::new();
    let log_start = services.map(|s| shapes::log_offset(&s.postgres.log_path()));
    if let Some(profile) = &options.profile {
        for member in profiled {
            if let Some(pid) = member.pid() {
                perfs.push(start_perf(
                    &profile.join(format!("{tag}-{}.perf.data", member.label())),
                    pid,
                )?);
            }
        }
        if let Some(services) = services
            && database.is_some()
        {
            services
                .admin
                .execute_unprepared("SELECT pg_stat_statements_reset()")
                .await?;
        }
    }
    let before = match (&database, services) {
        (Some(name), Some(services)) => Some(xact_commit(&services.admin, name).await?),
        _ => None,
    };
    let queries_before = probe.queries.load(Ordering::Relaxed);
    let groups = cpu_groups(services, &members);
    let cpu_before = cpu::Sample::take(&groups);

    // The burst: every session completed at once, or (`--rate`) one every
    // 1/rate seconds.
    let started = Instant::now();
    let burst = {
        let api = api.clone();
        let sessions = sessions.clone();
        let rate = options.rate;
        tokio::spawn(async move {
            let calls = sessions.iter().enumerate().map(|(i, s)| {
                let api = &api;
                async move {
                    if let Some(rate) = rate {
                        tokio::time::sleep_until(
                            started + Duration::from_secs_f64(i as f64 / rate),
                        )
                        .await;
                    }
                    complete(api, s).await
                }
            });
            futures::future::join_all(calls).await
        })
    };
    let n = i64::try_from(options.sessions)?;
    let limit = started + Duration::from_secs(options.limit_secs);
    let mut paid_at = None;
    let mail_dir = dir.path().join("data").join("outbox");
    let (done_at, emails) = loop {
        let now = Instant::now();
        let p = progress(&probe).await?;
        if paid_at.is_none() && p.paid >= n {
            paid_at = Some(now);
        }
        if paid_at.is_some() && p.due == 0 && p.unsent == 0 {
            let delivered = match target {
                Target::Embedded => count_files(&mail_dir),
                Target::Production { .. } => smtp.received().len(),
            };
            if i64::try_from(delivered)? >= p.sent {
                break (now, delivered);
            }
        }
        if now > limit {
            let kept = dir.keep();
            bail!(
                "{}: not done after {} s ({p:?}); logs in {}",
                target.label(),
                options.limit_secs,
                kept.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let cpu = cpu::Sample::take(&groups).since(&cpu_before, &cpu::GROUPS);
    for perf in perfs {
        stop_perf(perf);
    }
    for answer in burst.await? {
        answer.context("completeSession")?;
    }
    let paid_at = paid_at.unwrap_or(done_at);

    // Shut the fleet down (gracefully: backends flush their counts at exit),
    // then read the count.
    drop(api);
    for member in &mut members {
        member.terminate();
    }
    let (p50_ms, p99_ms) = processing(&probe).await?;
    let own = probe.queries.load(Ordering::Relaxed) - queries_before;
    probe.db.close().await?;
    let xacts = match (&database, services, before) {
        (Some(name), Some(services), Some(before)) => {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let after = xact_commit(&services.admin, name).await?;
            if let Some(profile) = &options.profile {
                let path = profile.join(format!("{tag}-statements.txt"));
                statements(services, name, options.sessions, &path).await?;
                let shapes = shapes::report(
                    &services.postgres.log_path(),
                    log_start.unwrap_or(0),
                    name,
                    options.sessions,
                )?;
                let mut text = std::fs::read_to_string(&path)?;
                text.push_str(&shapes);
                std::fs::write(&path, text)?;
            }
            Some(after - before - own)
        }
        _ => None,
    };
    let result = EndToEnd {
        sessions: options.sessions,
        paid_secs: (paid_at - started).as_secs_f64(),
        done_secs: (done_at - started).as_secs_f64(),
        p50_ms,
        p99_ms,
        emails,
        xacts,
        cpu: cfg!(target_os = "linux").then_some(cpu),
    };
    for member in &members {
        if let Ok(log) = std::fs::read_to_string(member.log_path())
            && log.contains("panicked")
        {
            let kept = dir.keep();
            bail!("{} panicked; logs in {}", member.label(), kept.display());
        }
    }
    Ok(result)
}

/// The processes whose CPU the bench tells apart (`cpu::GROUPS`).
fn cpu_groups(services: Option<&Services>, members: &[Member]) -> Vec<(&'static str, cpu::Group)> {
    let of_role = |role: Role| cpu::Group {
        trees: Vec::new(),
        alone: members
            .iter()
            .filter(|m| m.role == role)
            .filter_map(Member::pid)
            .collect(),
    };
    let postgres = cpu::Group {
        trees: services
            .and_then(|s| s.postgres.postmaster_pid())
            .into_iter()
            .collect(),
        alone: Vec::new(),
    };
    let redis = cpu::Group {
        trees: Vec::new(),
        alone: services.and_then(|s| s.redis.pid()).into_iter().collect(),
    };
    let bench = cpu::Group {
        trees: Vec::new(),
        alone: vec![std::process::id()],
    };
    vec![
        (cpu::POSTGRES, postgres),
        ("api", of_role(Role::Api)),
        ("workers", of_role(Role::Worker)),
        ("redis", redis),
        ("bench", bench),
    ]
}

/// Waits until nothing is due and no email is unsent.
async fn wait_quiet(probe: &Probe, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        let p = progress(probe).await?;
        if p.due == 0 && p.unsent == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the setup's own jobs did not finish: {p:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .count()
        })
        .unwrap_or(0)
}

/// Invoice processing time as `read::metrics` defines it (session
/// completed → invoice email sent or invoice paid, whichever came first),
/// per invoice; p50 and p99 by the nearest-rank method.
async fn processing(probe: &Probe) -> anyhow::Result<(i64, i64)> {
    let millis = match probe.db.get_database_backend() {
        DbBackend::Postgres => {
            "CAST(ROUND(EXTRACT(EPOCH FROM (finished - started)) * 1000) AS BIGINT)"
        }
        _ => "CAST(ROUND((julianday(finished) - julianday(started)) * 86400000) AS INTEGER)",
    };
    let rows = probe
        .all(
            &format!(
                "SELECT {millis} AS ms FROM (
                    SELECT s.completed_at AS started,
                           CASE WHEN n.sent_at IS NULL THEN i.paid_at
                                WHEN i.paid_at IS NULL THEN n.sent_at
                                WHEN n.sent_at < i.paid_at THEN n.sent_at
                                ELSE i.paid_at END AS finished
                    FROM invoices i
                    JOIN sessions s ON s.id = i.session_id
                    LEFT JOIN notifications n ON n.invoice_id = i.id AND n.kind = 'INVOICE' AND n.status = 'SENT'
                    WHERE s.completed_at IS NOT NULL
                 ) x WHERE finished IS NOT NULL"
            ),
            vec![],
        )
        .await?;
    let mut ms = rows
        .iter()
        .map(|r| r.try_get::<i64>("", "ms"))
        .collect::<Result<Vec<_>, _>>()?;
    ms.sort_unstable();
    Ok((nearest_rank(&ms, 50), nearest_rank(&ms, 99)))
}

fn nearest_rank(sorted: &[i64], percent: usize) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

/// N no-op jobs inserted as pending outbox rows in one statement (as many
/// state changes would have written them), then timed through relay →
/// Redis queue → worker handler → outbox DONE.
async fn noop_jobs(
    options: &Options,
    services: &Services,
    workers: usize,
    run: usize,
) -> anyhow::Result<JobsResult> {
    let dir = tempfile::Builder::new().prefix("bench-jobs-").tempdir()?;
    let tag = format!("bench_jobs_{workers}w_{run}");
    let url = create_database(services, &tag).await?;
    let mut env = base_env(dir.path(), free_port(), &tag);
    env.insert("DATABASE_URL".into(), url.clone());
    env.insert("REDIS_URL".into(), services.redis.url());
    let mut members: Vec<Member> = (0..workers)
        .map(|i| Member::new(Role::Worker, i, env.clone(), dir.path()))
        .collect();
    for member in &mut members {
        member.start()?;
    }
    let probe = Probe {
        db: Database::connect(url.as_str()).await?,
        queries: AtomicI64::new(0),
    };
    // Ready when the workers have migrated the database and are polling.
    let deadline = Instant::now() + Duration::from_secs(120);
    while probe
        .one("SELECT COUNT(*) AS n FROM outbox", vec![])
        .await
        .is_err()
    {
        if Instant::now() > deadline {
            let kept = dir.keep();
            bail!("the workers did not migrate; logs in {}", kept.display());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let n = i64::try_from(options.jobs)?;
    let before = xact_commit(&services.admin, &tag).await?;
    let queries_before = probe.queries.load(Ordering::Relaxed);
    // The clock starts with the rows written; the relay finds them at its
    // next poll (nothing in this process signals it).
    let started = Instant::now();
    probe
        .one(
            "WITH inserted AS (
                INSERT INTO outbox (studio_id, payload, dedup_key, status, attempts, created_at)
                SELECT NULL, '{\"type\":\"noop\",\"n\":' || g || '}', 'noop:' || g, 'PENDING', 0, now()
                FROM generate_series(1, $1) AS g
                RETURNING 1)
             SELECT COUNT(*) AS n FROM inserted",
            vec![n.into()],
        )
        .await?;
    let limit = started + Duration::from_secs(options.limit_secs);
    let done_at = loop {
        let row = probe
            .one(
                "SELECT COUNT(CASE WHEN status = 'DONE' THEN 1 END) AS done,
                        COUNT(CASE WHEN status = 'FAILED' THEN 1 END) AS failed
                 FROM outbox",
                vec![],
            )
            .await?;
        let now = Instant::now();
        let done: i64 = row.try_get("", "done")?;
        let failed: i64 = row.try_get("", "failed")?;
        if failed > 0 {
            bail!("{failed} no-op jobs failed");
        }
        if done >= n {
            break now;
        }
        if now > limit {
            let kept = dir.keep();
            bail!(
                "no-op jobs: {done} of {n} done after {} s; logs in {}",
                options.limit_secs,
                kept.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    for member in &mut members {
        member.terminate();
    }
    let own = probe.queries.load(Ordering::Relaxed) - queries_before;
    probe.db.close().await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = xact_commit(&services.admin, &tag).await?;
    Ok(JobsResult {
        jobs: options.jobs,
        secs: (done_at - started).as_secs_f64(),
        xacts: after - before - own,
    })
}

/// `pgbench -i -s S` on a scratch database, then `pgbench -c 8 -j 2 -T T`.
/// pgbench's tps, and PostgreSQL's CPU per transaction (ms) while it ran.
async fn pgbench(
    options: &Options,
    services: &Services,
    run: usize,
) -> anyhow::Result<(f64, Option<f64>)> {
    let name = format!("bench_pgbench_{run}");
    create_database(services, &name).await?;
    let bin = PrivatePostgres::bin_dir()
        .context("no PostgreSQL binaries")?
        .join("pgbench");
    let common: Vec<String> = [
        "-h".into(),
        "127.0.0.1".into(),
        "-p".into(),
        services.postgres.port().to_string(),
        "-U".into(),
        "postgres".into(),
    ]
    .into();
    let init = Command::new(&bin)
        .args(&common)
        .args(["-i", "-q", "-s"])
        .arg(options.pgbench_scale.to_string())
        .arg(&name)
        .output()?;
    if !init.status.success() {
        bail!("pgbench -i: {}", String::from_utf8_lossy(&init.stderr));
    }
    let secs = options.pgbench_secs.to_string();
    let groups = [(
        cpu::POSTGRES,
        cpu::Group {
            trees: services.postgres.postmaster_pid().into_iter().collect(),
            alone: Vec::new(),
        },
    )];
    let cpu_before = cpu::Sample::take(&groups);
    let bench = tokio::task::spawn_blocking(move || {
        Command::new(&bin)
            .args(&common)
            .args(["-c", "8", "-j", "2", "-T"])
            .arg(&secs)
            .arg(&name)
            .output()
    })
    .await??;
    let postgres_secs = cpu::Sample::take(&groups)
        .since(&cpu_before, &[cpu::POSTGRES])
        .of(cpu::POSTGRES);
    let out = String::from_utf8_lossy(&bench.stdout);
    if !bench.status.success() {
        bail!("pgbench: {}", String::from_utf8_lossy(&bench.stderr));
    }
    let number = |prefix: &str| {
        out.lines().find_map(|l| {
            l.trim()
                .strip_prefix(prefix)
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse::<f64>().ok())
        })
    };
    let tps = number("tps = ").ok_or_else(|| anyhow!("no tps in pgbench's output: {out}"))?;
    let cpu_ms = number("number of transactions actually processed:")
        .filter(|n| *n > 0.0 && postgres_secs > 0.0)
        .map(|n| 1000.0 * postgres_secs / n);
    Ok((tps, cpu_ms))
}

fn start_perf(output: &Path, pid: u32) -> anyhow::Result<Child> {
    Command::new("perf")
        .args(["record", "-g", "-F", "499", "-o"])
        .arg(output)
        .args(["-p", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("start perf record")
}

/// SIGINT: perf writes its file and exits.
fn stop_perf(mut perf: Child) {
    let _ = Command::new("kill")
        .args(["-INT", &perf.id().to_string()])
        .status();
    let _ = perf.wait();
}

/// The run's statements by total time, calls and rows, per session.
async fn statements(
    services: &Services,
    database: &str,
    sessions: usize,
    path: &Path,
) -> anyhow::Result<()> {
    let rows = services
        .admin
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT s.calls, CAST(ROUND(CAST(s.total_exec_time AS numeric), 1) AS TEXT) AS ms,
                    s.rows, regexp_replace(s.query, '\\s+', ' ', 'g') AS query
             FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
             WHERE d.datname = $1 ORDER BY s.total_exec_time DESC",
            vec![database.into()],
        ))
        .await?;
    let mut listing = String::from("calls\ttotal_ms\trows\tquery\n");
    // Statements the processes sent (each a round trip to the server):
    // not the foreign-key checks PostgreSQL runs inside an INSERT, nor the
    // bench's own probe.
    let (mut sent, mut sent_ms) = (0_i64, 0.0_f64);
    for row in rows {
        let calls: i64 = row.try_get("", "calls")?;
        let ms: String = row.try_get("", "ms")?;
        let n: i64 = row.try_get("", "rows")?;
        let query: String = row.try_get("", "query")?;
        if !query.starts_with("SELECT $2 FROM ONLY") && !query.starts_with(shapes::PROBE) {
            sent += calls;
            sent_ms += ms.parse::<f64>().unwrap_or(0.0);
        }
        listing.push_str(&format!("{calls}\t{ms}\t{n}\t{query}\n"));
    }
    let per = sessions.max(1) as f64;
    let mut text = format!(
        "statements sent: {sent} = {:.1} per session (BEGIN and COMMIT included; foreign-key checks and the bench's probe left out), {:.2} ms of execution per session\n\n",
        sent as f64 / per,
        sent_ms / per
    );
    text.push_str(&listing);
    // What the statements were for: the jobs of the run, by kind.
    let db = Database::connect(format!("{}/{database}", services.postgres.url())).await?;
    let kinds = db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT CAST(payload AS json)->>'type' AS kind, COUNT(*) AS n,
                    CAST(SUM(attempts) AS BIGINT) AS attempts
             FROM outbox GROUP BY 1 ORDER BY 2 DESC",
        ))
        .await?;
    db.close().await?;
    text.push_str("\noutbox rows\tfailed attempts\tkind\n");
    for row in kinds {
        let kind: Option<String> = row.try_get("", "kind")?;
        let n: i64 = row.try_get("", "n")?;
        let attempts: i64 = row.try_get("", "attempts")?;
        text.push_str(&format!("{n}\t{attempts}\t{}\n", kind.unwrap_or_default()));
    }
    std::fs::write(path, text)?;
    Ok(())
}

#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Api {
    async fn gql(&self, query: &str, variables: Json) -> anyhow::Result<Json> {
        let response = self
            .http
            .post(format!("{}/graphql", self.base))
            .bearer_auth(&self.key)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await?;
        let status = response.status();
        let body: Json = response.json().await.with_context(|| format!("{status}"))?;
        if let Some(errors) = body.get("errors") {
            bail!("GraphQL errors: {errors}");
        }
        Ok(body["data"].clone())
    }
}

fn id_of(data: &Json, path: &[&str]) -> anyhow::Result<String> {
    let mut v = data;
    for p in path {
        v = &v[*p];
    }
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("no {} in {data}", path.join(".")))
}

/// A package, auto-pay clients with a good card, and N scheduled sessions.
async fn prepare(api: &Api, sessions: usize) -> anyhow::Result<Vec<String>> {
    use futures::StreamExt;
    let data = api
        .gql(
            "mutation { p: createPackage(input: { name: \"Portrait\", price: \"450.00\" }) { package { id } } }",
            json!({}),
        )
        .await?;
    let package = id_of(&data, &["p", "package", "id"])?;
    let client_count = sessions.clamp(1, 50);
    let mut clients = Vec::with_capacity(client_count);
    for i in 0..client_count {
        let data = api
            .gql(
                "mutation($i: CreateClientInput!) { createClient(input: $i) { client { id } userErrors { message } } }",
                json!({ "i": { "name": format!("Bench Client {i}"), "email": format!("client{i}@bench.test"), "paymentPreference": "AUTO_PAY" } }),
            )
            .await?;
        let client = id_of(&data, &["createClient", "client", "id"])?;
        let data = api
            .gql(
                "mutation($i: AttachPaymentMethodInput!) { attachPaymentMethod(input: $i) { userErrors { message } } }",
                json!({ "i": { "clientId": client, "token": "pm_card_visa" } }),
            )
            .await?;
        if data["attachPaymentMethod"]["userErrors"] != json!([]) {
            bail!("attach a card: {data}");
        }
        clients.push(client);
    }
    let scheduled: Vec<anyhow::Result<String>> = futures::stream::iter(0..sessions)
        .map(|s| {
            let client = clients[s % client_count].clone();
            let package = package.clone();
            async move {
                let data = api
                    .gql(
                        "mutation($i: ScheduleSessionInput!) { scheduleSession(input: $i) { session { id } userErrors { field message } } }",
                        json!({ "i": {
                            "clientId": client,
                            "packageId": package,
                            "title": format!("Session {s}"),
                            "scheduledAt": "2026-10-03T15:00:00Z",
                            "retainerPaid": "0"
                        } }),
                    )
                    .await?;
                id_of(&data, &["scheduleSession", "session", "id"])
            }
        })
        .buffered(8)
        .collect()
        .await;
    scheduled.into_iter().collect()
}

async fn complete(api: &Api, session: &str) -> anyhow::Result<()> {
    let data = api
        .gql(
            "mutation($id: ID!) { completeSession(id: $id) { session { status } userErrors { message code } } }",
            json!({ "id": session }),
        )
        .await?;
    if data["completeSession"]["session"]["status"] != "COMPLETED" {
        bail!("completeSession {session}: {data}");
    }
    Ok(())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if !n.is_multiple_of(2) => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The report, as Markdown tables (BENCHMARKS.md takes them as they are).
/// Where the CPU went in each run (seconds of CPU from the burst to done,
/// and PostgreSQL's per session with the rate it alone would bound).
fn cpu_report(targets: &[Target], runs: &[RunResults]) {
    let rows: Vec<(String, &EndToEnd, &cpu::Usage)> = targets
        .iter()
        .flat_map(|target| {
            let label = target.label();
            runs.iter().enumerate().filter_map(move |(i, r)| {
                let result = r.scenarios.get(&label)?;
                Some((
                    format!("{label}, run {}", i + 1),
                    result,
                    result.cpu.as_ref()?,
                ))
            })
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    let names = cpu::GROUPS.join(" | ");
    println!(
        "\n| CPU seconds, burst to done | cores × wall | {names} | other | idle | PostgreSQL ms per session | PostgreSQL's bound, sessions/s |"
    );
    println!(
        "|---|---|{}---|---|---|---|",
        "---|".repeat(cpu::GROUPS.len())
    );
    for (label, result, usage) in rows {
        let counted: f64 = usage.groups.iter().map(|(_, s)| s).sum();
        let groups: Vec<String> = usage
            .groups
            .iter()
            .map(|(_, secs)| format!("{secs:.2}"))
            .collect();
        println!(
            "| {label} | {:.2} | {} | {:.2} | {:.2} | {} | {} |",
            usage.capacity_secs(),
            groups.join(" | "),
            (usage.busy_secs - counted).max(0.0),
            (usage.capacity_secs() - usage.busy_secs).max(0.0),
            result
                .postgres_ms_per_session()
                .map_or_else(|| "—".into(), |ms| format!("{ms:.1}")),
            result
                .postgres_bound()
                .map_or_else(|| "—".into(), |b| format!("{b:.0}")),
        );
    }
}

fn report(options: &Options, targets: &[Target], runs: &[RunResults]) {
    println!("\n==== bench report ====");
    println!(
        "{} sessions, {} no-op jobs, {} run(s), PostgreSQL fsync={}; medians of the runs, then each run\n",
        options.sessions,
        options.jobs,
        options.runs,
        fsync_word(options.fsync)
    );
    println!(
        "| scenario | sessions/s to PAID | sessions/s to done | processing p50 / p99 (ms) | transactions per session | transactions/s |"
    );
    println!("|---|---|---|---|---|---|");
    for target in targets {
        let label = target.label();
        let results: Vec<&EndToEnd> = runs
            .iter()
            .filter_map(|r| r.scenarios.get(&label))
            .collect();
        let med = |f: &dyn Fn(&EndToEnd) -> f64| median(results.iter().map(|r| f(r)).collect());
        let xacts = results.first().and_then(|r| r.xacts).is_some();
        println!(
            "| {label} (median) | {:.1} | {:.1} | {:.0} / {:.0} | {} | {} |",
            med(&|r| r.paid_rate()),
            med(&|r| r.done_rate()),
            med(&|r| r.p50_ms as f64),
            med(&|r| r.p99_ms as f64),
            if xacts {
                format!("{:.1}", med(&|r| r.xacts_per_session().unwrap_or(0.0)))
            } else {
                "—".into()
            },
            if xacts {
                format!("{:.0}", med(&|r| r.xacts_per_sec().unwrap_or(0.0)))
            } else {
                "—".into()
            },
        );
        for (i, r) in results.iter().enumerate() {
            println!(
                "| {label}, run {} | {:.1} | {:.1} | {} / {} | {} | {} |",
                i + 1,
                r.paid_rate(),
                r.done_rate(),
                r.p50_ms,
                r.p99_ms,
                r.xacts_per_session()
                    .map(|x| format!("{x:.1}"))
                    .unwrap_or_else(|| "—".into()),
                r.xacts_per_sec()
                    .map(|x| format!("{x:.0}"))
                    .unwrap_or_else(|| "—".into()),
            );
        }
    }
    cpu_report(targets, runs);
    let jobs: Vec<&JobsResult> = runs.iter().filter_map(|r| r.jobs.as_ref()).collect();
    if !jobs.is_empty() {
        println!("\n| no-op jobs | jobs/s | transactions per job |");
        println!("|---|---|---|");
        let rate = |j: &JobsResult| j.jobs as f64 / j.secs;
        let per = |j: &JobsResult| j.xacts as f64 / j.jobs.max(1) as f64;
        println!(
            "| median | {:.0} | {:.2} |",
            median(jobs.iter().map(|j| rate(j)).collect()),
            median(jobs.iter().map(|j| per(j)).collect())
        );
        for (i, j) in jobs.iter().enumerate() {
            println!("| run {} | {:.0} | {:.2} |", i + 1, rate(j), per(j));
        }
    }
    let first_production = targets
        .iter()
        .find(|t| matches!(t, Target::Production { .. }))
        .map(|t| t.label());
    if let Some(label) = first_production {
        println!(
            "\n| pgbench | tps | {label}: transactions/s | ratio | PostgreSQL ms of CPU per transaction: pgbench / {label} |"
        );
        println!("|---|---|---|---|---|");
        let mut ratios = Vec::new();
        for (i, r) in runs.iter().enumerate() {
            let scenario = r.scenarios.get(&label);
            if let (Some(tps), Some(rate)) =
                (r.pgbench_tps, scenario.and_then(EndToEnd::xacts_per_sec))
            {
                ratios.push(tps / rate);
                let ours = scenario.and_then(|s| {
                    let cpu = s.cpu.as_ref()?;
                    let xacts = s.xacts.filter(|x| *x > 0)?;
                    Some(1000.0 * cpu.of(cpu::POSTGRES) / xacts as f64)
                });
                let ms = |v: Option<f64>| v.map_or_else(|| "—".into(), |v| format!("{v:.3}"));
                println!(
                    "| run {} | {tps:.0} | {rate:.0} | {:.1} | {} / {} |",
                    i + 1,
                    tps / rate,
                    ms(r.pgbench_cpu_ms),
                    ms(ours)
                );
            }
        }
        println!(
            "| median | {:.0} | | {:.1} | |",
            median(runs.iter().filter_map(|r| r.pgbench_tps).collect()),
            median(ratios)
        );
    }
}
