//! The chaos run: the production topology on its own fresh resources, a
//! studio's day of work through the public API, random faults for a while,
//! then the heal, the time to recover, and every invariant checked by SQL
//! and by the mail log. Exits non-zero on any violation.
//!
//! ```sh
//! cargo run -p tests --bin chaos -- --short        # CI: ~100 sessions, 60 s of faults
//! cargo run -p tests --bin chaos -- --long         # 300 sessions, 180 s of faults
//! cargo run -p tests --bin chaos -- --sessions 200 --fault-secs 120 --seed 42
//! ```
//!
//! Needs `redis-server` and PostgreSQL's server binaries (`initdb`, `pg_ctl`
//! under /usr/lib/postgresql/*/bin) for its private instances; without the
//! latter it uses a fresh database on 127.0.0.1:5432 and never restarts it.

mod checks;
mod faults;
mod workload;

use anyhow::{Context, bail};
use sea_orm::{ConnectionTrait, Database};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tests::fleet::{self, Member, Role};
use tests::private::{PrivatePostgres, PrivateRedis, free_port};
use tests::smtp::SmtpSink;
use tokio::sync::Mutex;
use tokio::time::Instant;

#[derive(Debug, Clone)]
struct Options {
    sessions: usize,
    fault_secs: u64,
    seed: u64,
    apis: usize,
    workers: usize,
    recovery_limit_secs: u64,
    /// The longest wait for the end state before giving up.
    settle_limit_secs: u64,
    keep: bool,
}

impl Options {
    fn short() -> Self {
        Self {
            sessions: 100,
            fault_secs: 60,
            seed: 7,
            apis: 2,
            workers: 3,
            recovery_limit_secs: 15,
            settle_limit_secs: 120,
            keep: false,
        }
    }

    fn parse(args: &[String]) -> anyhow::Result<Self> {
        let mut options = Self::short();
        let mut i = 0;
        while i < args.len() {
            let value = |i: usize| -> anyhow::Result<u64> {
                args.get(i + 1)
                    .with_context(|| format!("{} needs a value", args[i]))?
                    .parse::<u64>()
                    .with_context(|| format!("{} needs a number", args[i]))
            };
            match args[i].as_str() {
                "--short" => {
                    options = Self {
                        keep: options.keep,
                        ..Self::short()
                    }
                }
                "--long" => {
                    options = Self {
                        sessions: 300,
                        fault_secs: 180,
                        keep: options.keep,
                        ..Self::short()
                    }
                }
                "--sessions" => {
                    options.sessions = usize::try_from(value(i)?)?;
                    i += 1;
                }
                "--fault-secs" => {
                    options.fault_secs = value(i)?;
                    i += 1;
                }
                "--seed" => {
                    options.seed = value(i)?;
                    i += 1;
                }
                "--recovery-limit" => {
                    options.recovery_limit_secs = value(i)?;
                    i += 1;
                }
                "--keep" => options.keep = true,
                other => bail!(
                    "unknown argument {other}; use --short | --long | --sessions N | --fault-secs S | --seed N | --recovery-limit S | --keep"
                ),
            }
            i += 1;
        }
        Ok(options)
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Re-executed as one process of the fleet: the api's and the worker's
    // own entry points, configured by environment only.
    match args.first().map(String::as_str) {
        Some(fleet::ROLE_API) => return fleet::run_role(Role::Api),
        Some(fleet::ROLE_WORKER) => return fleet::run_role(Role::Worker),
        _ => {}
    }
    let options = Options::parse(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let violations = runtime.block_on(run(options))?;
    if violations > 0 {
        std::process::exit(1);
    }
    Ok(())
}

/// The fresh database: on a private cluster (so it can be restarted) when
/// PostgreSQL's server binaries are installed, else on the shared server.
async fn database() -> anyhow::Result<(Option<PrivatePostgres>, String)> {
    if let Some(pg) = PrivatePostgres::start().await {
        let admin = Database::connect(format!("{}/postgres", pg.url())).await?;
        admin
            .execute_unprepared("CREATE DATABASE billing_chaos")
            .await?;
        let url = format!("{}/billing_chaos", pg.url());
        return Ok((Some(pg), url));
    }
    let url = tests::fresh_postgres_database()
        .await
        .context("no PostgreSQL reachable on 127.0.0.1:5432")?;
    Ok((None, url))
}

async fn run(options: Options) -> anyhow::Result<usize> {
    let started = Instant::now();
    println!("chaos: {options:?}");
    let dir = tempfile::Builder::new().prefix("chaos-").tempdir()?;
    let (postgres, database_url) = database().await?;
    let redis = PrivateRedis::start().await;
    let smtp = SmtpSink::start().await;
    println!(
        "chaos: PostgreSQL {} ({}), Redis {}, SMTP sink 127.0.0.1:{}, logs in {}",
        database_url,
        if postgres.is_some() {
            "private cluster: restarts on"
        } else {
            "shared server: no restarts"
        },
        redis.url(),
        smtp.port(),
        dir.path().display()
    );

    let api_ports: Vec<u16> = (0..options.apis).map(|_| free_port()).collect();
    let proxy = fleet::start_proxy(api_ports.clone()).await?;
    let public_url = format!("http://127.0.0.1:{proxy}");
    let mut env = BTreeMap::new();
    for (k, v) in [
        ("DATABASE_URL", database_url.clone()),
        ("REDIS_URL", redis.url()),
        ("SMTP_URL", format!("smtp://127.0.0.1:{}", smtp.port())),
        ("DATA_DIR", dir.path().join("data").display().to_string()),
        // Development: production refuses the loopback public_url and the
        // simulated gateway a local run uses (the topology is the same).
        ("APP__ENVIRONMENT", "development".into()),
        (
            "APP__SECRET_KEY",
            "chaos-run-secret-key-for-portal-links".into(),
        ),
        ("APP__HTTP__PUBLIC_URL", public_url.clone()),
        ("APP__WORKER__QUEUE", "chaos".into()),
        ("APP__LOG__FILTER", "info".into()),
        // The gateway's own faults: timeouts after charging (unknown
        // outcomes), 503s and slow answers, on the first call of a key.
        (
            "APP__GATEWAY__SIMULATED_FAULTS__TIMEOUT_PERCENT",
            "10".into(),
        ),
        ("APP__GATEWAY__SIMULATED_FAULTS__ERROR_PERCENT", "10".into()),
        ("APP__GATEWAY__SIMULATED_FAULTS__DELAY_MS", "150".into()),
        (
            "APP__GATEWAY__SIMULATED_FAULTS__SEED",
            options.seed.to_string(),
        ),
    ] {
        env.insert(k.to_string(), v);
    }
    let mut members = Vec::new();
    for (i, port) in api_ports.iter().enumerate() {
        let mut env = env.clone();
        env.insert("PORT".into(), port.to_string());
        env.insert("APP__HTTP__HOST".into(), "127.0.0.1".into());
        members.push(Member::new(Role::Api, i, env, dir.path()));
    }
    for i in 0..options.workers {
        members.push(Member::new(Role::Worker, i, env.clone(), dir.path()));
    }
    // All at once on the empty database: migrations must serialise.
    for member in &mut members {
        member.start()?;
    }
    let http = reqwest::Client::new();
    if !fleet::wait_ready(&http, &api_ports, Duration::from_secs(120)).await {
        bail!(
            "the apis did not become ready; see {}",
            dir.path().display()
        );
    }
    let db = Database::connect(database_url.as_str()).await?;
    let (_, key) = domain::studio::studios::create_studio(
        &db,
        domain::studio::studios::NewStudio::named("Chaos Studio"),
        chrono::Utc::now(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("create studio: {e}"))?;
    let api = workload::Api::new(public_url.clone(), key)?;
    let plan = workload::prepare(&api, options.sessions).await?;
    println!(
        "chaos: fleet up ({} apis, {} workers) and {} sessions scheduled in {:.1} s",
        options.apis,
        options.workers,
        plan.sessions.len(),
        started.elapsed().as_secs_f64()
    );

    // Faults and work at the same time.
    let members = Arc::new(Mutex::new(members));
    let smtp = Arc::new(smtp);
    let redis = Arc::new(Mutex::new(redis));
    let postgres = postgres.map(Arc::new);
    let fault_window = Duration::from_secs(options.fault_secs);
    let fault_log = Arc::new(Mutex::new(Vec::new()));
    let injector = tokio::spawn(faults::inject(
        faults::Targets {
            members: members.clone(),
            smtp: smtp.clone(),
            redis: redis.clone(),
            postgres: postgres.clone(),
        },
        options.seed,
        fault_window,
        fault_log.clone(),
    ));
    let work_started = Instant::now();
    let work_deadline = work_started + fault_window + Duration::from_secs(120);
    let workload = {
        let api = api.clone();
        let spread = fault_window.mul_f64(0.7);
        let sessions = plan.sessions.clone();
        tokio::spawn(async move {
            workload::run(&api, &workload::Plan { sessions }, spread, work_deadline).await
        })
    };
    let _ = injector.await;
    // The heal: every service up, every process running.
    let exited = faults::heal(&members).await?;
    let healed = Instant::now();
    println!(
        "chaos: faults healed after {:.1} s",
        (healed - work_started).as_secs_f64()
    );
    let outcome = workload.await?;
    let work_done = Instant::now();

    // Recovery: until every session is in its end state and nothing is due.
    let expected = outcome.completed.clone();
    let settle_deadline = healed.max(work_done) + Duration::from_secs(options.settle_limit_secs);
    let mut last_gaps = Vec::new();
    let mut next_progress = Instant::now();
    let settled_at = loop {
        match checks::unsettled(&db, &expected).await {
            Ok(gaps) if gaps.is_empty() => break Some(Instant::now()),
            Ok(gaps) => last_gaps = gaps,
            Err(err) => last_gaps = vec![format!("check failed: {err}")],
        }
        if Instant::now() >= next_progress {
            // Where the time goes: what is still missing, every 2 s.
            println!(
                "chaos: +{:>4.1} s after the heal: {} left: {}",
                healed.elapsed().as_secs_f64(),
                last_gaps.len(),
                last_gaps
                    .iter()
                    .take(4)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            );
            next_progress += Duration::from_secs(2);
        }
        if Instant::now() > settle_deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };

    let faults_seen: Vec<faults::Fault> = fault_log.lock().await.clone();
    let window_faults: Vec<checks::SendWindowFault> = faults_seen
        .iter()
        .filter(|f| f.in_send_window())
        .map(|f| (f.at.into_std(), f.describe()))
        .collect();
    let report = checks::invariants(&db, &expected, &smtp.received(), &window_faults).await?;

    // The report.
    let mut violations = report.violations;
    for failure in &outcome.failures {
        violations.push(format!("workload: {failure}"));
    }
    let recovery = settled_at.map(|at| at.saturating_duration_since(healed));
    match recovery {
        Some(d) if d > Duration::from_secs(options.recovery_limit_secs) => {
            violations.push(format!(
                "RECOVERY: {:.1} s after the heal, over the {} s target",
                d.as_secs_f64(),
                options.recovery_limit_secs
            ))
        }
        Some(_) => {}
        None => violations.push(format!(
            "RECOVERY: not settled {} s after the heal; still: {}",
            options.settle_limit_secs,
            last_gaps.join("; ")
        )),
    }
    let mut starts = 0;
    for member in members.lock().await.iter() {
        if let Ok(log) = std::fs::read_to_string(member.log_path())
            && log.contains("panicked")
        {
            violations.push(format!("{} panicked (see its log)", member.label()));
        }
        starts += member.starts;
    }
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for fault in &faults_seen {
        *kinds.entry(fault.kind.name()).or_insert(0) += 1;
    }

    println!("\n==== chaos report (seed {}) ====", options.seed);
    println!(
        "sessions: {} completed of {} planned; {} portal payments; {} request retries",
        outcome.completed.len(),
        plan.sessions.len(),
        outcome.portal_payments,
        outcome.request_retries
    );
    for (kind, n) in workload::by_kind(&outcome.completed) {
        println!("  {:<28} {n}", kind.name());
    }
    println!(
        "faults over {} s: {} ({})",
        options.fault_secs,
        faults_seen.len(),
        kinds
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("process starts (incl. restarts after kills): {starts}");
    if !exited.is_empty() {
        println!(
            "note: exited on their own during the faults (restarted at the heal): {}",
            exited.join(", ")
        );
    }
    println!(
        "workload finished {:.1} s after the heal",
        work_done.saturating_duration_since(healed).as_secs_f64()
    );
    match recovery {
        Some(d) => println!(
            "recovery: every session in its end state {:.1} s after the heal (target {} s)",
            d.as_secs_f64(),
            options.recovery_limit_secs
        ),
        None => println!("recovery: NOT SETTLED"),
    }
    for note in &report.notes {
        println!("note: {note}");
    }
    println!("total run time: {:.0} s", started.elapsed().as_secs_f64());
    if violations.is_empty() {
        println!("violations: none");
    } else {
        println!("violations: {}", violations.len());
        for v in &violations {
            println!("  - {v}");
        }
    }
    // Stop the fleet before its services.
    for member in members.lock().await.iter_mut() {
        member.kill();
    }
    if options.keep || !violations.is_empty() {
        let kept = dir.keep();
        println!("logs kept in {}", kept.display());
    }
    Ok(violations.len())
}
