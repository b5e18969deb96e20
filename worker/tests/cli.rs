//! The worker binary's command line: it parses its arguments (help, version,
//! an error for anything unknown) before it starts anything, and stops at
//! once, with the setting named, when a service it needs is unreachable.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Bounded {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// Runs the worker for at most `limit` (a worker that started is killed
/// then, and reads as `code: None`).
fn run(args: &[&str], data_dir: &Path, env: &[(&str, &str)], limit: Duration) -> Bounded {
    let mut command = Command::new(env!("CARGO_BIN_EXE_worker"));
    command
        .args(args)
        .env("DATA_DIR", data_dir)
        .env("APP_CONFIG", data_dir.join("no-such-config.toml"))
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env_remove("SMTP_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let start = Instant::now();
    let mut child = command.spawn().expect("spawn worker");
    let mut killed = false;
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > limit {
            child.kill().expect("kill");
            killed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let elapsed = start.elapsed();
    let output = child.wait_with_output().expect("output");
    Bounded {
        code: if killed { None } else { output.status.code() },
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed,
    }
}

#[test]
fn help_and_version_start_nothing_and_an_unknown_flag_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let limit = Duration::from_secs(10);
    let help = run(&["--help"], dir.path(), &[], limit);
    assert_eq!(help.code, Some(0), "{}", help.stderr);
    assert!(help.stdout.contains("Usage: worker"), "{}", help.stdout);
    assert!(help.stdout.contains("--version"), "{}", help.stdout);

    let version = run(&["--version"], dir.path(), &[], limit);
    assert_eq!(version.code, Some(0), "{}", version.stderr);
    assert_eq!(
        version.stdout.trim(),
        format!("worker {}", env!("CARGO_PKG_VERSION"))
    );

    for args in [&["--frobnicate"][..], &["--hlep"], &["run", "now"]] {
        let bad = run(args, dir.path(), &[], limit);
        assert_eq!(bad.code, Some(2), "{args:?}: {}", bad.stderr);
        assert!(
            bad.stderr.contains("error: unexpected argument"),
            "{}",
            bad.stderr
        );
    }
    assert!(
        std::fs::read_dir(dir.path()).expect("dir").next().is_none(),
        "no database, no queue: nothing started"
    );
}

#[test]
fn unreachable_services_stop_the_worker_at_once_with_the_setting_named() {
    let dir = tempfile::tempdir().expect("dir");
    let limit = Duration::from_secs(20);
    for (env, needles) in [
        (
            ("REDIS_URL", "redis://:hunter2@127.0.0.1:1"),
            ["REDIS_URL", "redis://:***@127.0.0.1:1", "unreachable"],
        ),
        (
            (
                "DATABASE_URL",
                "postgres://billing:hunter2@127.0.0.1:1/billing",
            ),
            [
                "DATABASE_URL",
                "postgres://billing:***@127.0.0.1:1/billing",
                "unreachable",
            ],
        ),
    ] {
        let out = run(&[], dir.path(), &[env], limit);
        assert!(
            matches!(out.code, Some(c) if c != 0),
            "{env:?}: exit {:?}, {}",
            out.code,
            out.stderr
        );
        assert!(
            out.elapsed < Duration::from_secs(5),
            "{env:?}: {:?}",
            out.elapsed
        );
        let start = out.stderr.find("error: ").expect("an error line");
        let message = &out.stderr[start..];
        assert!(message.trim_end().lines().count() <= 2, "{message}");
        assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        for needle in needles {
            assert!(message.contains(needle), "{needle:?} in {message}");
        }
    }
}
