//! The command-line contract scripts rely on: `create-studio` and `seed-demo`
//! work on a fresh data directory or database (migrations run by themselves)
//! and print the API key alone on the last line.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use domain::infra::settings::Settings;
use sea_orm::{ConnectionTrait, Database};
use std::path::Path;
use std::process::Command;

fn run(args: &[&str], data_dir: &Path, database_url: Option<&str>) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_api"));
    command
        .args(args)
        .env("DATA_DIR", data_dir)
        .env("APP_CONFIG", data_dir.join("no-such-config.toml"))
        .env("RUST_LOG", "warn")
        .env_remove("REDIS_URL")
        .env_remove("SMTP_URL");
    match database_url {
        Some(url) => command.env("DATABASE_URL", url),
        None => command.env_remove("DATABASE_URL"),
    };
    let output = command.output().expect("run api");
    assert!(
        output.status.success(),
        "api {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

fn last_line_key(stdout: &str) -> String {
    let last = stdout.lines().last().expect("a last line").to_string();
    assert!(
        last.starts_with("sk_studio_") && !last.contains(' '),
        "the key alone on the last line: {stdout:?}"
    );
    last
}

async fn assert_keys_work(data_dir: &Path, database_url: Option<&str>, keys: &[(&str, &str)]) {
    let settings = Settings::load_from(None, |name| match name {
        "DATA_DIR" => Some(data_dir.display().to_string()),
        "DATABASE_URL" => database_url.map(str::to_string),
        _ => None,
    })
    .expect("settings");
    let db = domain::infra::db::connect(&settings)
        .await
        .expect("connect")
        .conn;
    for (key, name) in keys {
        let studio = domain::studio::studios::authenticate(&db, key, chrono::Utc::now())
            .await
            .expect("lookup")
            .expect("key is valid");
        assert_eq!(&studio.name, name);
    }
}

fn scripts_on(data_dir: &Path, url: Option<&str>) -> Vec<(String, &'static str)> {
    let created = run(&["create-studio", "--name", "Golden Hour"], data_dir, url);
    let seeded = run(&["seed-demo"], data_dir, url);
    vec![
        (last_line_key(&created), "Golden Hour"),
        (last_line_key(&seeded), "Golden Hour Photography"),
    ]
}

#[tokio::test]
async fn create_studio_and_seed_demo_work_on_a_fresh_data_directory() {
    let dir = tempfile::tempdir().expect("dir");
    let keys = scripts_on(dir.path(), None);
    assert!(dir.path().join("studio.db").exists());
    let keys: Vec<(&str, &str)> = keys.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    assert_keys_work(dir.path(), None, &keys).await;
}

#[tokio::test]
async fn create_studio_and_seed_demo_work_on_a_fresh_postgres_database() {
    let base = std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let admin = match Database::connect(format!("{base}/postgres")).await {
        Ok(conn) => conn,
        Err(err) => {
            assert!(
                std::env::var("REQUIRE_SERVICES").is_err(),
                "PostgreSQL required: {err}"
            );
            eprintln!("skipping: PostgreSQL not reachable");
            return;
        }
    };
    let name = format!("billing_test_{}_cli", chrono::Utc::now().timestamp());
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create database");
    let url = format!("{base}/{name}");
    let dir = tempfile::tempdir().expect("dir");
    let keys = scripts_on(dir.path(), Some(&url));
    let keys: Vec<(&str, &str)> = keys.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    assert_keys_work(dir.path(), Some(&url), &keys).await;
    let _ = admin
        .execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .await;
}

/// The settings production requires besides `environment` (a public URL,
/// a real sender, and the gateway chosen explicitly).
const PRODUCTION: [(&str, &str); 4] = [
    ("APP__ENVIRONMENT", "production"),
    ("APP__HTTP__PUBLIC_URL", "https://billing.example.com"),
    ("APP__SMTP__FROM", "billing@example.com"),
    ("APP__GATEWAY__SIMULATED_IN_PRODUCTION", "true"),
];

fn command(args: &[&str], data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_api"));
    command
        .args(args)
        .env("DATA_DIR", data_dir)
        .env("APP_CONFIG", data_dir.join("no-such-config.toml"))
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env_remove("SMTP_URL")
        .env_remove("STAFF_PASSWORD");
    command
}

#[tokio::test]
async fn create_staff_reads_the_password_from_the_environment_and_never_prints_it() {
    let dir = tempfile::tempdir().expect("dir");
    run(
        &["create-studio", "--name", "Golden Hour"],
        dir.path(),
        None,
    );
    let secret = "a long passphrase 1";
    let args = [
        "create-staff",
        "--studio-id",
        "1",
        "--email",
        "Owner@Golden.example",
    ];
    let output = command(&args, dir.path())
        .env("STAFF_PASSWORD", secret)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("owner@golden.example"), "{stdout}");
    assert!(stdout.contains("/dashboard/login"), "{stdout}");
    assert!(!stdout.contains(secret) && !stderr.contains(secret));

    // No password, a short one, a taken email, an unknown studio: exit 2 with a reason.
    for (extra_env, args, reason) in [
        (None, args.to_vec(), "STAFF_PASSWORD"),
        (Some("short"), args.to_vec(), "at least 12 characters"),
        (Some(secret), args.to_vec(), "already exists"),
        (
            Some(secret),
            vec![
                "create-staff",
                "--studio-id",
                "99",
                "--email",
                "x@golden.example",
            ],
            "studio not found",
        ),
    ] {
        let mut cmd = command(&args, dir.path());
        if let Some(password) = extra_env {
            cmd.env("STAFF_PASSWORD", password);
        }
        let output = cmd.output().expect("run");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
    }

    // The account works.
    let settings = Settings::load_from(None, |name| match name {
        "DATA_DIR" => Some(dir.path().display().to_string()),
        _ => None,
    })
    .expect("settings");
    let db = domain::infra::db::connect(&settings)
        .await
        .expect("connect")
        .conn;
    let user = domain::studio::staff::verify_login(&db, "owner@golden.example", secret)
        .await
        .expect("verify");
    assert_eq!(user.map(|u| u.studio_id), Some(1));
}

#[test]
fn seed_demo_prints_a_dashboard_login_that_works() {
    let dir = tempfile::tempdir().expect("dir");
    let stdout = run(&["seed-demo"], dir.path(), None);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("Dashboard: "))
        .expect("a dashboard line");
    assert!(line.contains("/dashboard/login"), "{line}");
    assert!(line.contains("email: owner@goldenhour.example"), "{line}");
    let password = line
        .split("password (shown once): ")
        .nth(1)
        .expect("password")
        .trim()
        .to_string();
    assert_eq!(password.len(), 16);
    last_line_key(&stdout);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let settings = Settings::load_from(None, |name| match name {
            "DATA_DIR" => Some(dir.path().display().to_string()),
            _ => None,
        })
        .expect("settings");
        let db = domain::infra::db::connect(&settings)
            .await
            .expect("connect")
            .conn;
        let user = domain::studio::staff::verify_login(&db, "owner@goldenhour.example", &password)
            .await
            .expect("verify");
        assert!(user.is_some());
    });
}

/// Settings that could only fail later stop the process at start, with a
/// message that names the setting.
#[test]
fn bad_configuration_stops_the_process_with_the_settings_name() {
    let dir = tempfile::tempdir().expect("dir");
    let cases: [(&[(&str, &str)], &str); 3] = [
        (
            &[("APP__GATEWAY__STRIPE_SECRET_KEY", "sk_test_123")],
            "gateway.stripe_webhook_secret",
        ),
        (
            &[("APP__HTTP__PUBLIC_URL", "billing.example.com")],
            "http.public_url",
        ),
        (
            &[("APP__GATEWAY__STRIPE_API_BASE", "http://api.stripe.com")],
            "gateway.stripe_api_base",
        ),
    ];
    for (vars, setting) in cases {
        let mut command = Command::new(env!("CARGO_BIN_EXE_api"));
        command
            .arg("migrate")
            .env("DATA_DIR", dir.path())
            .env("APP_CONFIG", dir.path().join("no-such-config.toml"))
            .env("RUST_LOG", "warn")
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .env_remove("SMTP_URL");
        for (k, v) in vars {
            command.env(k, v);
        }
        let output = command.output().expect("run api");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{vars:?} must stop the process");
        assert!(stderr.contains(setting), "{vars:?}: {stderr}");
        assert!(
            !dir.path().join("studio.db").exists(),
            "nothing is done before the check"
        );
    }
}

#[tokio::test]
async fn api_keys_are_created_listed_and_revoked_from_the_cli() {
    let dir = tempfile::tempdir().expect("dir");
    let first = last_line_key(&run(
        &["create-studio", "--name", "Golden Hour"],
        dir.path(),
        None,
    ));
    let created = run(
        &["create-api-key", "--studio-id", "1", "--label", "website"],
        dir.path(),
        None,
    );
    let second = last_line_key(&created);
    assert_ne!(first, second);
    assert_keys_work(
        dir.path(),
        None,
        &[(&first, "Golden Hour"), (&second, "Golden Hour")],
    )
    .await;
    let listed = run(&["list-api-keys", "--studio-id", "1"], dir.path(), None);
    assert!(listed.contains("website"), "{listed}");
    assert!(listed.contains(&second[..14]), "{listed}");
    assert!(!listed.contains(&second), "never the whole key: {listed}");
    let revoked = run(
        &["revoke-api-key", "--studio-id", "1", "--key-id", "1"],
        dir.path(),
        None,
    );
    assert!(revoked.contains("revoked"), "{revoked}");
    assert_keys_work(dir.path(), None, &[(&second, "Golden Hour")]).await;
    let settings = Settings::load_from(None, |name| match name {
        "DATA_DIR" => Some(dir.path().display().to_string()),
        _ => None,
    })
    .expect("settings");
    let db = domain::infra::db::connect(&settings)
        .await
        .expect("connect")
        .conn;
    assert!(
        domain::studio::studios::authenticate(&db, &first, chrono::Utc::now())
            .await
            .expect("lookup")
            .is_none(),
        "a revoked key no longer works"
    );
    // Another studio's key is not found, and nothing changes.
    let output = command(
        &["revoke-api-key", "--studio-id", "2", "--key-id", "2"],
        dir.path(),
    )
    .output()
    .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not found"));
}

#[tokio::test]
async fn create_studio_takes_the_contact_details_and_refuses_bad_ones() {
    let dir = tempfile::tempdir().expect("dir");
    let bad = command(
        &[
            "create-studio",
            "--name",
            "Golden Hour",
            "--phone",
            "call me",
            "--logo-url",
            "http://img.example.com/logo.png",
        ],
        dir.path(),
    )
    .output()
    .expect("run api");
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("phone:") && stderr.contains("logoUrl:"),
        "{stderr}"
    );
    let out = run(
        &[
            "create-studio",
            "--name",
            "Golden Hour",
            "--address",
            "12 Orchard Street\\nBrooklyn, NY 11201",
            "--email",
            "hello@goldenhour.example",
            "--phone",
            "+1 718 555 0142",
            "--logo-url",
            "https://img.example.com/logo.png",
        ],
        dir.path(),
        None,
    );
    let key = last_line_key(&out);
    let settings = Settings::load_from(None, |name| match name {
        "DATA_DIR" => Some(dir.path().display().to_string()),
        _ => None,
    })
    .expect("settings");
    let db = domain::infra::db::connect(&settings)
        .await
        .expect("connect")
        .conn;
    let studio = domain::studio::studios::authenticate(&db, &key, chrono::Utc::now())
        .await
        .expect("authenticate")
        .expect("the new studio");
    assert_eq!(studio.address, "12 Orchard Street\nBrooklyn, NY 11201");
    assert_eq!(studio.email.as_deref(), Some("hello@goldenhour.example"));
    assert_eq!(studio.phone.as_deref(), Some("+1 718 555 0142"));
    assert_eq!(
        studio.logo_url.as_deref(),
        Some("https://img.example.com/logo.png")
    );
}

/// What a bounded run of the binary gave: `None` as the code when it had to
/// be killed at the limit.
struct Bounded {
    code: Option<i32>,
    stderr: String,
    elapsed: std::time::Duration,
}

fn run_bounded(mut command: Command, limit: std::time::Duration) -> Bounded {
    use std::process::Stdio;
    let start = std::time::Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut killed = false;
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > limit {
            child.kill().expect("kill");
            killed = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let elapsed = start.elapsed();
    let output = child.wait_with_output().expect("output");
    Bounded {
        code: if killed { None } else { output.status.code() },
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed,
    }
}

/// The error a process stopped with: from its `error: ` line to the end, at
/// most two lines, no panic, backtrace or Debug dump.
fn assert_startup_error(run: &Bounded, what: &str, needles: &[&str]) {
    assert!(
        matches!(run.code, Some(c) if c != 0),
        "{what}: must stop with a non-zero status, got {:?}; stderr: {}",
        run.code,
        run.stderr
    );
    assert!(
        run.elapsed < std::time::Duration::from_secs(5),
        "{what}: must fail fast, took {:?}",
        run.elapsed
    );
    let start = run
        .stderr
        .find("error: ")
        .unwrap_or_else(|| panic!("{what}: an `error: ` line in {:?}", run.stderr));
    let message = &run.stderr[start..];
    assert!(
        message.trim_end().lines().count() <= 2,
        "{what}: one or two lines: {message:?}"
    );
    for bad in [
        "panicked",
        "backtrace",
        "Backtrace",
        "{ ",
        "Error {",
        "hunter2",
    ] {
        assert!(
            !run.stderr.contains(bad),
            "{what}: {bad:?} in {:?}",
            run.stderr
        );
    }
    for needle in needles {
        assert!(
            message.contains(needle),
            "{what}: {needle:?} not in {message:?}"
        );
    }
}

/// `migrate` says what it applied, `status` lists each migration, `down`
/// rolls back one (not every table), `--steps`/`--all` more, and production
/// refuses it without `--yes-i-understand`.
#[tokio::test]
async fn migrate_prints_what_it_does_and_down_rolls_back_one_migration() {
    let dir = tempfile::tempdir().expect("dir");
    let status = |dir: &Path| -> Vec<(String, String)> {
        run(&["migrate", "status"], dir, None)
            .lines()
            .filter_map(|l| l.split_once("  "))
            .map(|(s, n)| (s.to_string(), n.to_string()))
            .collect()
    };
    let up = run(&["migrate"], dir.path(), None);
    let applied: Vec<&str> = up
        .lines()
        .filter_map(|l| l.strip_prefix("Applied m"))
        .collect();
    let listed = status(dir.path());
    assert!(listed.len() > 3, "{listed:?}");
    assert_eq!(applied.len(), listed.len(), "{up}");
    assert!(listed.iter().all(|(s, _)| s == "applied"), "{listed:?}");
    assert!(
        run(&["migrate"], dir.path(), None).contains("up to date"),
        "a second migrate says there is nothing to do"
    );
    run(
        &["create-studio", "--name", "Golden Hour"],
        dir.path(),
        None,
    );

    // Production: refused, nothing rolled back.
    let mut refused = command(&["migrate", "down"], dir.path());
    refused.envs(PRODUCTION);
    let refused = refused.output().expect("run");
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--yes-i-understand"));
    assert_eq!(status(dir.path()), listed);

    let down = run(&["migrate", "down"], dir.path(), None);
    let last = &listed.last().expect("a migration").1;
    assert!(down.contains(&format!("Rolled back {last}")), "{down}");
    assert_eq!(down.matches("Rolled back ").count(), 1, "{down}");
    let after = status(dir.path());
    assert_eq!(after.last().map(|(s, _)| s.as_str()), Some("pending"));
    assert_eq!(
        after.iter().filter(|(s, _)| s == "applied").count(),
        listed.len() - 1
    );
    // The other tables, and their rows, are still there.
    let db = sea_orm::Database::connect(format!(
        "sqlite://{}",
        dir.path().join("studio.db").display()
    ))
    .await
    .expect("open");
    let studios = db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Sqlite,
            "SELECT count(*) AS n FROM studios",
        ))
        .await
        .expect("studios still exists")
        .expect("a row");
    assert_eq!(studios.try_get::<i64>("", "n").expect("n"), 1);

    let two = run(&["migrate", "down", "--steps", "2"], dir.path(), None);
    assert_eq!(two.matches("Rolled back ").count(), 2, "{two}");
    let mut confirmed = command(
        &["migrate", "down", "--all", "--yes-i-understand"],
        dir.path(),
    );
    confirmed.envs(PRODUCTION);
    let all = confirmed.output().expect("run");
    assert!(all.status.success());
    assert_eq!(
        String::from_utf8_lossy(&all.stdout)
            .matches("Rolled back ")
            .count(),
        listed.len() - 3
    );
    assert!(status(dir.path()).iter().all(|(s, _)| s == "pending"));

    let help = run(&["migrate", "--help"], dir.path(), None);
    for option in ["--steps", "--all", "--yes-i-understand", "production"] {
        assert!(help.contains(option), "{option} in {help}");
    }
}

/// PostgreSQL or Redis unreachable, a database that does not exist, the
/// port in use: the process stops at once, naming the setting and its
/// variable, the value with its password masked, and what to do.
#[test]
fn unreachable_services_and_a_busy_port_stop_the_api_at_once_with_the_setting_named() {
    let dir = tempfile::tempdir().expect("dir");
    let limit = std::time::Duration::from_secs(20);
    let mut pg = command(&["migrate"], dir.path());
    pg.env(
        "DATABASE_URL",
        "postgres://postgres:hunter2@127.0.0.1:1/billing",
    );
    assert_startup_error(
        &run_bounded(pg, limit),
        "PostgreSQL unreachable",
        &[
            "DATABASE_URL",
            "postgres://postgres:***@127.0.0.1:1/billing",
            "unreachable",
        ],
    );

    let mut redis = command(&["serve"], dir.path());
    redis
        .env("PORT", "0")
        .env("REDIS_URL", "redis://:hunter2@127.0.0.1:1");
    assert_startup_error(
        &run_bounded(redis, limit),
        "Redis unreachable",
        &["REDIS_URL", "redis://:***@127.0.0.1:1", "unreachable"],
    );

    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = busy.local_addr().expect("addr").port().to_string();
    let mut serve = command(&["serve"], dir.path());
    serve.env("PORT", &port);
    assert_startup_error(
        &run_bounded(serve, limit),
        "port in use",
        &["PORT", &port, "in use"],
    );
    drop(busy);

    let base = std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    if std::net::TcpStream::connect("127.0.0.1:5432").is_err() {
        assert!(
            std::env::var("REQUIRE_SERVICES").is_err(),
            "PostgreSQL required"
        );
        return;
    }
    let mut missing = command(&["migrate"], dir.path());
    missing.env("DATABASE_URL", format!("{base}/billing_no_such_database"));
    assert_startup_error(
        &run_bounded(missing, limit),
        "a missing database",
        &[
            "DATABASE_URL",
            "`billing_no_such_database` does not exist",
            "createdb",
        ],
    );
}

/// Starts `api serve` on a free port and returns it with the line it printed.
fn serve(dir: &Path, env: &[(&str, &str)]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut command = command(&["serve"], dir);
    command
        .env("PORT", "0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let line = rx.recv_timeout(std::time::Duration::from_secs(60));
    match line {
        Ok(line) => (child, line),
        Err(_) => {
            let _ = child.kill();
            panic!("no line on stdout within 60 s");
        }
    }
}

fn http_get(base: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let authority = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(authority).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, response)
}

/// The api says where it listens; `/` links GraphiQL, the dashboard and the
/// health endpoints in development, and reveals nothing in production.
#[test]
fn serve_prints_its_url_and_the_root_page_links_what_runs_there() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut child, line) = serve(dir.path(), &[]);
    let base = line
        .strip_prefix("Listening on ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("the first line says where: {line:?}"))
        .to_string();
    assert!(
        line.contains(&format!("GraphiQL at {base}/graphql"))
            && line.contains(&format!("dashboard at {base}/dashboard")),
        "{line}"
    );
    let (status, page) = http_get(&base, "/");
    let (ready, _) = http_get(&base, "/readyz");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 200, "{page}");
    for link in ["/graphql", "/dashboard", "/healthz", "/readyz"] {
        assert!(
            page.contains(&format!("href=\"{base}{link}\"")),
            "{link}: {page}"
        );
    }
    assert_eq!(ready, 200);

    let dir = tempfile::tempdir().expect("dir");
    let (mut child, line) = serve(dir.path(), &PRODUCTION);
    let base = line
        .strip_prefix("Listening on ")
        .and_then(|rest| rest.split(' ').next())
        .expect("a URL")
        .to_string();
    let (status, page) = http_get(&base, "/");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 404, "{page}");
    assert!(!page.contains("graphql") && !page.contains("dashboard"));
}

/// Logs go to stderr (stdout is the output scripts read), and a second
/// `seed-demo` says that a demo studio exists and how to start over.
#[test]
fn seed_demo_logs_to_stderr_and_a_rerun_says_how_to_start_over() {
    let dir = tempfile::tempdir().expect("dir");
    let seed = || {
        let mut command = command(&["seed-demo"], dir.path());
        command.env("RUST_LOG", "info");
        command.output().expect("run")
    };
    let first = seed();
    assert!(first.status.success());
    let stdout = String::from_utf8_lossy(&first.stdout);
    for line in stdout.lines() {
        assert!(
            ["Demo studio #", "Dashboard: ", "Its API key", "sk_studio_"]
                .iter()
                .any(|start| line.starts_with(start)),
            "only the command's output on stdout: {line:?}"
        );
    }
    assert!(
        String::from_utf8_lossy(&first.stderr).contains("INFO"),
        "the logs go to stderr"
    );
    assert!(!String::from_utf8_lossy(&first.stderr).contains("already existed"));
    let second = seed();
    assert!(second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("a demo studio already existed (#1)"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("rm -rf {}", dir.path().display())),
        "{stderr}"
    );
    last_line_key(&String::from_utf8_lossy(&second.stdout));
}
