//! What each setting may be: every numeric range (`RANGES`), the settings
//! that take one of a few words, the switches, checked on the raw layered
//! values before they are parsed (`check_raw`) and on the typed ones
//! (`Settings::check`), each refusal naming the setting and its variables.

use super::Settings;

/// One numeric setting's allowed values, checked at start.
pub(super) struct Range {
    pub(super) key: &'static str,
    pub(super) min: i128,
    pub(super) max: i128,
    pub(super) get: fn(&Settings) -> i128,
}

impl Range {
    const fn new(key: &'static str, min: i128, max: i128, get: fn(&Settings) -> i128) -> Self {
        Self { key, min, max, get }
    }

    pub(super) fn check(&self, value: i128) -> Result<(), String> {
        if (self.min..=self.max).contains(&value) {
            Ok(())
        } else {
            Err(self.refusal(&value.to_string()))
        }
    }

    pub(super) fn refusal(&self, value: &str) -> String {
        format!(
            "{} ({}) must be a whole number from {} to {}, not `{value}`: set it in that range (see config/app.example.toml)",
            self.key,
            env_names(self.key),
            self.min,
            self.max
        )
    }
}

/// Every numeric setting and its range, the one place they are checked
/// (raw values before parsing, so `PORT=abc` is named too, and the typed
/// values in `check`). config/app.example.toml documents each range.
pub(super) const RANGES: &[Range] = &[
    Range::new("http.port", 0, 65_535, |s| s.http.port.into()),
    Range::new("http.max_body_bytes", 1_024, 104_857_600, |s| {
        s.http.max_body_bytes as i128
    }),
    Range::new("smtp.timeout_secs", 1, 600, |s| s.smtp.timeout_secs.into()),
    Range::new("postgres.statement_timeout_ms", 0, 86_400_000, |s| {
        s.postgres.statement_timeout_ms.into()
    }),
    Range::new(
        "postgres.idle_in_transaction_timeout_ms",
        0,
        86_400_000,
        |s| s.postgres.idle_in_transaction_timeout_ms.into(),
    ),
    Range::new("postgres.pool_size", 1, 1_000, |s| {
        s.postgres.pool_size.into()
    }),
    Range::new("worker.concurrency", 1, 1_024, |s| {
        s.worker.concurrency as i128
    }),
    Range::new("worker.poll_interval_ms", 10, 60_000, |s| {
        s.worker.poll_interval_ms.into()
    }),
    Range::new("worker.max_attempts", 1, 10_000, |s| {
        s.worker.max_attempts.into()
    }),
    Range::new("worker.heartbeat_secs", 1, 3_600, |s| {
        s.worker.heartbeat_secs.into()
    }),
    Range::new("worker.missed_heartbeats", 1, 100, |s| {
        s.worker.missed_heartbeats as i128
    }),
    Range::new("worker.redeliver_after_secs", 1, 86_400, |s| {
        s.worker.redeliver_after_secs.into()
    }),
    Range::new("worker.resolve_payment_after_secs", 1, 86_400, |s| {
        s.worker.resolve_payment_after_secs.into()
    }),
    Range::new("worker.job_timeout_secs", 1, 86_400, |s| {
        s.worker.job_timeout_secs.into()
    }),
    Range::new("worker.email_claim_secs", 3, 3_600, |s| {
        s.worker.email_claim_secs.into()
    }),
    Range::new("gateway.webhook_tolerance_secs", 1, 86_400, |s| {
        s.gateway.webhook_tolerance_secs.into()
    }),
    Range::new("gateway.key_reuse_limit_hours", 1, 23, |s| {
        s.gateway.key_reuse_limit_hours.into()
    }),
    Range::new("gateway.simulated_faults.timeout_percent", 0, 100, |s| {
        s.gateway.simulated_faults.timeout_percent.into()
    }),
    Range::new("gateway.simulated_faults.error_percent", 0, 100, |s| {
        s.gateway.simulated_faults.error_percent.into()
    }),
    Range::new("gateway.simulated_faults.delay_ms", 0, 600_000, |s| {
        s.gateway.simulated_faults.delay_ms.into()
    }),
    Range::new(
        "gateway.simulated_faults.faulty_calls_per_key",
        0,
        1_000_000,
        |s| s.gateway.simulated_faults.faulty_calls_per_key.into(),
    ),
    Range::new("gateway.simulated_faults.seed", 0, u64::MAX as i128, |s| {
        s.gateway.simulated_faults.seed.into()
    }),
    Range::new("login_limits.window_secs", 60, 604_800, |s| {
        s.login_limits.window_secs.into()
    }),
    Range::new("login_limits.per_address", 1, 1_000_000, |s| {
        s.login_limits.per_address.into()
    }),
    Range::new("login_limits.per_gallery", 1, 1_000_000, |s| {
        s.login_limits.per_gallery.into()
    }),
    Range::new("login_limits.per_staff_account", 1, 1_000_000, |s| {
        s.login_limits.per_staff_account.into()
    }),
];

/// Settings that take one of a few words, with those words.
const CHOICES: &[(&str, &[&str])] = &[
    ("environment", &["development", "production"]),
    ("log.format", &["pretty", "json"]),
];

/// Switches (`true`/`false`).
const SWITCHES: &[&str] = &[
    "worker.in_process",
    "gateway.simulated_webhooks",
    "gateway.simulated_in_production",
    "graphql.introspection",
];

/// The environment variables that set `key`: the contract variable if it
/// has one, and its `APP__SECTION__KEY` form.
pub(super) fn env_names(key: &str) -> String {
    let app = format!("APP__{}", key.replace('.', "__").to_ascii_uppercase());
    let contract = match key {
        "http.port" => Some("PORT"),
        "data_dir" => Some("DATA_DIR"),
        "database_url" => Some("DATABASE_URL"),
        "redis_url" => Some("REDIS_URL"),
        "smtp.url" => Some("SMTP_URL"),
        _ => None,
    };
    match contract {
        Some(c) => format!("{c} / {app}"),
        None => app,
    }
}

/// Checks the layered values before they are parsed into `Settings`, so a
/// value of the wrong kind is named with its setting and what is allowed
/// (instead of serde's text).
pub(super) fn check_raw(raw: &config::Config) -> Result<(), String> {
    for range in RANGES {
        if let Ok(value) = raw.get_string(range.key) {
            match value.trim().parse::<i128>() {
                Ok(n) => range.check(n)?,
                Err(_) => return Err(range.refusal(&value)),
            }
        }
    }
    for (key, words) in CHOICES {
        if let Ok(value) = raw.get_string(key)
            && !words.contains(&value.as_str())
        {
            return Err(format!(
                "{key} ({}) must be one of {}, not `{value}`",
                env_names(key),
                words.join(", ")
            ));
        }
    }
    for key in SWITCHES {
        if let Ok(value) = raw.get_string(key)
            && raw.get_bool(key).is_err()
        {
            return Err(format!(
                "{key} ({}) must be true or false, not `{value}`",
                env_names(key)
            ));
        }
    }
    Ok(())
}
