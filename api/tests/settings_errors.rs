//! Issue 17: settings that are wrong stop the process at start with a
//! message naming the setting, its environment variable, the value (secrets
//! masked) and what is allowed, before anything is created or opened.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

/// Environment variables, and what the error must say.
type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);

/// Runs the api binary with `args` and `vars` on top of an empty
/// configuration (no file, no service URLs) and `DATA_DIR=data_dir`.
fn run(args: &[&str], data_dir: &Path, vars: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_api"));
    command
        .args(args)
        .env("DATA_DIR", data_dir)
        .env("APP_CONFIG", "/nonexistent/no-such-config.toml")
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env_remove("SMTP_URL")
        .env_remove("PORT");
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("APP__")) {
        command.env_remove(key);
    }
    for (k, v) in vars {
        command.env(k, v);
    }
    command.output().expect("run api")
}

/// Asserts the run failed and its error says every one of `needles`.
fn refused(output: &Output, needles: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(!output.status.success(), "must stop the process: {stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "`{needle}` missing in: {stderr}");
    }
    stderr
}

#[test]
fn values_of_the_wrong_kind_or_range_are_named_with_what_is_allowed() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let cases: &[Case] = &[
        (
            &[("PORT", "abc")],
            &[
                "http.port",
                "PORT",
                "APP__HTTP__PORT",
                "`abc`",
                "0 to 65535",
            ],
        ),
        (
            &[("PORT", "70000")],
            &["http.port", "`70000`", "0 to 65535"],
        ),
        (
            &[("APP__WORKER__CONCURRENCY", "0")],
            &[
                "worker.concurrency",
                "APP__WORKER__CONCURRENCY",
                "`0`",
                "1 to 1024",
            ],
        ),
        (
            &[("APP__GATEWAY__SIMULATED_FAULTS__ERROR_PERCENT", "150")],
            &["gateway.simulated_faults.error_percent", "0 to 100"],
        ),
        (
            &[("APP__SMTP__TIMEOUT_SECS", "-1")],
            &["smtp.timeout_secs", "APP__SMTP__TIMEOUT_SECS", "`-1`"],
        ),
        (
            &[("APP__ENVIRONMENT", "prod")],
            &[
                "environment",
                "APP__ENVIRONMENT",
                "`prod`",
                "development, production",
            ],
        ),
        (
            &[("APP__LOG__FORMAT", "xml")],
            &["log.format", "APP__LOG__FORMAT", "`xml`", "pretty, json"],
        ),
        (
            &[("APP__WORKER__IN_PROCESS", "maybe")],
            &["worker.in_process", "true or false"],
        ),
    ];
    for (vars, needles) in cases {
        let output = run(&["migrate"], &data, vars);
        let stderr = refused(&output, needles);
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            !data.exists(),
            "{vars:?}: nothing is created before the check"
        );
    }
}

#[test]
fn a_database_url_of_an_unknown_scheme_is_refused_and_masked() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let output = run(
        &["migrate"],
        &data,
        &[("DATABASE_URL", "mysql://root:hunter2@db.example/billing")],
    );
    let stderr = refused(
        &output,
        &["database_url", "DATABASE_URL", "mysql://***", "postgres://"],
    );
    assert!(
        !stderr.contains("hunter2"),
        "the password is masked: {stderr}"
    );
    assert!(!data.exists(), "no SQLite data directory: {stderr}");
}

#[test]
fn a_stripe_key_of_the_wrong_shape_is_refused_in_every_environment() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let secret_tail = "51HxYzAbCdEfGhIjKlMnOpQrStUv";
    for (value, hint) in [
        (format!("pk_live_{secret_tail}"), "publishable key"),
        (format!("whsec_{secret_tail}"), "webhook signing secret"),
        ("not-a-key-at-all".to_string(), "not a Stripe secret key"),
    ] {
        let output = run(
            &["migrate"],
            &data,
            &[
                ("APP__GATEWAY__STRIPE_SECRET_KEY", &value),
                ("APP__GATEWAY__STRIPE_WEBHOOK_SECRET", "whsec_1"),
            ],
        );
        let stderr = refused(
            &output,
            &[
                "gateway.stripe_secret_key",
                "APP__GATEWAY__STRIPE_SECRET_KEY",
                hint,
            ],
        );
        assert!(!stderr.contains(secret_tail), "the key is masked: {stderr}");
        assert!(!stderr.contains(&value), "the key is masked: {stderr}");
    }
}

/// What production needs that development does not.
#[test]
fn production_refuses_the_simulated_gateway_loopback_links_and_the_dev_sender() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let production = ("APP__ENVIRONMENT", "production");
    let public_url = (
        "APP__HTTP__PUBLIC_URL",
        "https://billing.example-studio.com",
    );
    let from = ("APP__SMTP__FROM", "billing@example-studio.com");
    let stripe = ("APP__GATEWAY__STRIPE_SECRET_KEY", "sk_live_abcdef123456");
    let webhook = ("APP__GATEWAY__STRIPE_WEBHOOK_SECRET", "whsec_abcdef123456");
    let simulated = ("APP__GATEWAY__SIMULATED_IN_PRODUCTION", "true");
    let cases: &[Case] = &[
        (
            &[production, public_url, from],
            &[
                "gateway.stripe_secret_key",
                "gateway.simulated_in_production",
                "APP__GATEWAY__SIMULATED_IN_PRODUCTION",
            ],
        ),
        (
            // Only the webhook secret: still no gateway that moves money.
            &[production, public_url, from, webhook],
            &[
                "gateway.stripe_secret_key",
                "gateway.simulated_in_production",
            ],
        ),
        (
            &[production, from, stripe, webhook],
            &[
                "http.public_url",
                "APP__HTTP__PUBLIC_URL",
                "required in production",
            ],
        ),
        (
            &[
                production,
                from,
                stripe,
                webhook,
                ("APP__HTTP__PUBLIC_URL", "http://127.0.0.1:8080"),
            ],
            &["http.public_url", "loopback"],
        ),
        (
            &[
                production,
                from,
                stripe,
                webhook,
                ("APP__HTTP__PUBLIC_URL", "http://localhost:8080"),
            ],
            &["http.public_url", "loopback"],
        ),
        (
            &[production, public_url, stripe, webhook],
            &["smtp.from", "APP__SMTP__FROM", "billing@studio.localhost"],
        ),
        (
            &[
                production,
                public_url,
                stripe,
                webhook,
                ("APP__SMTP__FROM", "me@studio.localhost"),
            ],
            &["smtp.from", "APP__SMTP__FROM"],
        ),
    ];
    for (vars, needles) in cases {
        refused(&run(&["migrate"], &data, vars), needles);
    }
    // With all of it, or with the simulated gateway chosen by name, it starts.
    for vars in [
        &[production, public_url, from, stripe, webhook][..],
        &[production, public_url, from, simulated][..],
    ] {
        let output = run(&["print-schema"], &data, vars);
        assert!(
            output.status.success(),
            "{vars:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn a_data_directory_that_cannot_be_used_is_named() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a directory").expect("file");
    let args = ["create-studio", "--name", "Golden Hour"];
    refused(
        &run(&args, &file, &[]),
        &["data_dir", "DATA_DIR", "a-file", "is a file"],
    );
    // `migrate`, often the first command an operator runs, names it too.
    refused(
        &run(&["migrate"], &file, &[]),
        &["data_dir", "DATA_DIR", "a-file", "is a file"],
    );
    refused(
        &run(&args, &file.join("data"), &[]),
        &["data_dir", "DATA_DIR", "cannot be created"],
    );
    // A directory this process may not write into (root may write anywhere:
    // then there is nothing to see).
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).expect("dir");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o500)).expect("chmod");
    }
    if std::fs::write(locked.join("probe"), b"x").is_err() {
        refused(
            &run(&args, &locked, &[]),
            &["data_dir", "DATA_DIR", "not writable"],
        );
    }
}
