//! The command-line contract scripts rely on: `create-studio` and `seed-demo`
//! work on a fresh data directory or database (migrations run by themselves)
//! and print the API key alone on the last line.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use domain::settings::Settings;
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
    let db = domain::db::connect(&settings).await.expect("connect").conn;
    for (key, name) in keys {
        let studio = domain::studios::authenticate(&db, key)
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
