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
