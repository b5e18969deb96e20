//! Typed, layered configuration shared by `api` and `worker`.
//!
//! Layers, lowest first: built-in defaults (the embedded mode) < a TOML file
//! (`config/app.toml`, or the path in `APP_CONFIG`) < `APP__SECTION__KEY`
//! environment variables < the contract variables `PORT`, `DATA_DIR`,
//! `DATABASE_URL`, `REDIS_URL`, `SMTP_URL`.
//!
//! Settings are checked when loaded (`Settings::check`; every numeric range
//! in `checks::RANGES`, on the raw and the typed values): anything that would only
//! fail later stops the process, naming the setting.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpSettings {
    pub host: String,
    pub port: u16,
    /// Base URL used in emailed links; defaults to `http://{host}:{port}`.
    pub public_url: Option<String>,
    /// The largest request body accepted on any route, in bytes; larger ones
    /// get `413` before anything reads them.
    pub max_body_bytes: usize,
    /// Comma-separated addresses of reverse proxies whose `X-Forwarded-For`
    /// is believed (e.g. `127.0.0.1, 10.0.0.2`). Empty (the default): the
    /// source of a request is its connection's peer, whatever headers say.
    #[serde(default)]
    pub trusted_proxies: String,
}

/// Failed-login limits (gallery and dashboard logins), counted in the
/// database so that every api process sees the same counts.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct LoginLimitSettings {
    /// The window failures are counted in, in seconds.
    pub window_secs: i64,
    /// Failed logins from one source address (an IPv6 /64) in the window,
    /// whatever it tries to open; then that address is refused.
    pub per_address: u32,
    /// Failed logins to one gallery in the window, from all addresses
    /// together; higher, so one attacker does not lock the client out.
    pub per_gallery: u32,
    /// Failed logins to one staff account in the window, from all addresses.
    pub per_staff_account: u32,
}

impl Default for LoginLimitSettings {
    fn default() -> Self {
        Self {
            window_secs: 15 * 60,
            per_address: 10,
            per_gallery: 50,
            per_staff_account: 50,
        }
    }
}

/// The GraphQL API's switches.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GraphqlSettings {
    /// Introspection and "Did you mean ..." suggestions. Unset = on in
    /// `development`, off in `production` (the committed `schema.graphql` is
    /// the contract there).
    pub introspection: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SmtpSettings {
    /// `smtp://host:port` or `smtps://user:pass@host`; unset = `.eml` files.
    pub url: Option<SecretString>,
    pub from: String,
    /// lettre's timeout for each SMTP command (connect, `DATA`, ...).
    pub timeout_secs: u64,
}

/// Server-side backstops on every PostgreSQL connection of the pool.
#[derive(Debug, Clone, Deserialize)]
pub struct PostgresSettings {
    /// `statement_timeout`: a statement running longer is cancelled; 0 = none.
    pub statement_timeout_ms: u64,
    /// `idle_in_transaction_session_timeout`: a session that sits in an open
    /// transaction without a statement this long is terminated by the
    /// server, releasing its locks; 0 = none.
    pub idle_in_transaction_timeout_ms: u64,
    /// Connections this process's pool opens at most (20). Every process
    /// (api, each worker) has its own pool: processes × this must fit the
    /// server's `max_connections`, which the process checks at start.
    pub pool_size: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WorkerSettings {
    /// Run the worker inside the api process; default: yes unless Redis is configured.
    pub in_process: Option<bool>,
    /// Jobs one worker process runs at once (16): steps mostly wait on I/O.
    pub concurrency: usize,
    pub poll_interval_ms: u64,
    /// apalis queue name; separate names isolate deployments sharing one Redis.
    pub queue: String,
    pub max_attempts: u32,
    pub heartbeat_secs: u64,
    pub missed_heartbeats: usize,
    /// How long an outbox row may sit `ENQUEUED` without a worker running it
    /// before the relay sends it again (a queue entry lost with a Redis
    /// restart, an orphan). A running job renews its row every third of this.
    pub redeliver_after_secs: i64,
    /// A portal payment whose outcome is unknown is asked about again after this.
    pub resolve_payment_after_secs: i64,
    /// A job running longer than this is no longer waited for (its slot is
    /// freed); its body still runs to its end in its own task.
    pub job_timeout_secs: u64,
    /// The lease on an email while it is sent. It is renewed every third of
    /// it while the SMTP conversation lasts, so a live sender never loses
    /// it and a dead one's email is free again after at most this long.
    pub email_claim_secs: i64,
    /// Where a standalone worker serves Prometheus `/metrics` (e.g.
    /// `0.0.0.0:9091`); unset = none. In the api process they are at `/metrics`.
    pub metrics_addr: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GatewaySettings {
    /// A Stripe secret key (`sk_live_...` / `sk_test_...`) selects the Stripe
    /// adapter; unset = the built-in simulated gateway with test cards.
    pub stripe_secret_key: Option<SecretString>,
    /// Stripe's API base URL (tests point it at a local server).
    pub stripe_api_base: String,
    /// The signing secret of the Stripe webhook endpoint (`whsec_...`) that
    /// `POST /webhooks/stripe` verifies. Required with Stripe; with the
    /// simulated gateway it defaults to one derived from `secret_key`.
    pub stripe_webhook_secret: Option<SecretString>,
    /// How old (or how far in the future) a webhook's signed timestamp may be.
    pub webhook_tolerance_secs: i64,
    /// The simulated gateway signs and delivers Stripe-shaped webhooks for
    /// its charges and refunds to this deployment's `/webhooks/stripe`.
    pub simulated_webhooks: bool,
    /// Faults the simulated gateway injects on purpose; all off by default.
    #[serde(default)]
    pub simulated_faults: SimulatedFaults,
    /// An idempotency key older than this many hours is never sent again
    /// (Stripe forgets keys after 24 hours, and then the same key could
    /// charge twice): the object is retrieved instead, and only if nothing
    /// was created does a new attempt start, with a new key. 1 to 23.
    pub key_reuse_limit_hours: i64,
    /// In `production`, run the simulated gateway anyway (a demo or staging
    /// deployment): no money moves, and every client page and email says
    /// "test mode". Without it, production refuses to start with no Stripe key.
    #[serde(default)]
    pub simulated_in_production: bool,
}

/// Fault injection in the simulated gateway, so that tests and chaos runs
/// can produce unknown outcomes on purpose. Whether a call fails is a pure
/// function of `seed`, the idempotency key and how many times this process
/// has seen that key: the same settings give the same faults on every run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SimulatedFaults {
    /// Percent of calls (0-100) that do their work (the card is charged)
    /// and then answer as a timeout: the caller cannot know the outcome.
    pub timeout_percent: u8,
    /// Percent of calls (0-100) answered like a `503`, having done nothing.
    pub error_percent: u8,
    /// Every call answers this much later (a slow gateway).
    pub delay_ms: u64,
    /// Only the first this-many calls of an idempotency key may fail, so
    /// that the caller's retry with the same key gets through; 0 = any call.
    pub faulty_calls_per_key: u32,
    pub seed: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub format: LogFormat,
    pub filter: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub environment: Environment,
    pub http: HttpSettings,
    pub data_dir: PathBuf,
    pub database_url: Option<SecretString>,
    pub redis_url: Option<SecretString>,
    pub smtp: SmtpSettings,
    pub postgres: PostgresSettings,
    pub worker: WorkerSettings,
    pub gateway: GatewaySettings,
    /// Key for portal-token HMACs; required once several hosts share a database.
    pub secret_key: Option<SecretString>,
    pub log: LogSettings,
    #[serde(default)]
    pub graphql: GraphqlSettings,
    #[serde(default)]
    pub login_limits: LoginLimitSettings,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

/// The sender every email has when nothing is configured (development).
pub const DEFAULT_FROM: &str = "billing@studio.localhost";

mod checks;
use checks::{RANGES, check_raw};

/// A secret shown in a message: its first few characters (enough to see
/// `pk_live_` or `whsec_`), never the rest.
fn mask(secret: &str) -> String {
    let shown: String = secret
        .chars()
        .take(8.min(secret.chars().count() / 3))
        .collect();
    format!("{shown}*** ({} characters)", secret.chars().count())
}

/// A URL shown in a message without its credentials, path or query.
fn mask_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, _)) => format!("{scheme}://***"),
        None => mask(url),
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::NotADirectory => "a part of the path is a file".into(),
        std::io::ErrorKind::ReadOnlyFilesystem => "read-only file system".into(),
        _ => e.to_string(),
    }
}

impl Settings {
    /// Loads the layered configuration from the process environment.
    pub fn load() -> Result<Self, config::ConfigError> {
        let file = std::env::var("APP_CONFIG").unwrap_or_else(|_| "config/app.toml".into());
        Self::load_from(Some(file), |name| std::env::var(name).ok())
    }

    /// Loads configuration with an explicit file and variable source (tests).
    pub fn load_from(
        file: Option<String>,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, config::ConfigError> {
        let mut builder = config::Config::builder()
            .set_default("environment", "development")?
            .set_default("http.host", "127.0.0.1")?
            .set_default("http.port", 8080)?
            .set_default("http.max_body_bytes", 256 * 1024)?
            .set_default("data_dir", "./data")?
            .set_default("smtp.from", DEFAULT_FROM)?
            .set_default("smtp.timeout_secs", 10)?
            .set_default("postgres.statement_timeout_ms", 30_000)?
            .set_default("postgres.idle_in_transaction_timeout_ms", 15_000)?
            .set_default("postgres.pool_size", 20)?
            .set_default("worker.job_timeout_secs", 120)?
            .set_default("worker.email_claim_secs", 8)?
            .set_default("worker.concurrency", 16)?
            .set_default("worker.poll_interval_ms", 200)?
            .set_default("worker.queue", "billing")?
            .set_default("worker.max_attempts", 150)?
            .set_default("worker.heartbeat_secs", 5)?
            .set_default("worker.missed_heartbeats", 3)?
            .set_default("worker.redeliver_after_secs", 5)?
            .set_default("worker.resolve_payment_after_secs", 60)?
            .set_default("gateway.stripe_api_base", "https://api.stripe.com")?
            .set_default("gateway.webhook_tolerance_secs", 300)?
            .set_default("gateway.simulated_webhooks", true)?
            .set_default("gateway.key_reuse_limit_hours", 23)?
            .set_default("gateway.simulated_in_production", false)?
            .set_default("gateway.simulated_faults.timeout_percent", 0)?
            .set_default("gateway.simulated_faults.error_percent", 0)?
            .set_default("gateway.simulated_faults.delay_ms", 0)?
            .set_default("gateway.simulated_faults.faulty_calls_per_key", 1)?
            .set_default("gateway.simulated_faults.seed", 0)?
            .set_default("log.format", "pretty")?
            .set_default("log.filter", "info,sqlx=warn,sea_orm=warn,apalis=warn")?;
        if let Some(file) = file {
            builder = builder.add_source(config::File::with_name(&file).required(false));
        }
        let env_source = config::Environment::with_prefix("APP")
            .prefix_separator("__")
            .separator("__");
        builder = builder.add_source(env_source);
        for (var_name, key) in [
            ("PORT", "http.port"),
            ("DATA_DIR", "data_dir"),
            ("DATABASE_URL", "database_url"),
            ("REDIS_URL", "redis_url"),
            ("SMTP_URL", "smtp.url"),
        ] {
            if let Some(value) = var(var_name).filter(|v| !v.is_empty()) {
                builder = builder.set_override(key, value)?;
            }
        }
        let raw = builder.build()?;
        check_raw(&raw).map_err(config::ConfigError::Message)?;
        let settings: Self = raw
            .try_deserialize()
            .map_err(|e| config::ConfigError::Message(format!("invalid setting: {e}")))?;
        settings.check().map_err(config::ConfigError::Message)?;
        Ok(settings)
    }

    /// Refuses, at start, settings that would only fail later (a webhook
    /// nobody can verify, links that go nowhere, card data sent in clear).
    /// Each message names the setting and its environment variable.
    pub fn check(&self) -> Result<(), String> {
        for range in RANGES {
            range.check((range.get)(self))?;
        }
        self.check_database_url()?;
        self.check_gateway()?;
        if self.smtp.from.trim().parse::<lettre::Address>().is_err() {
            return Err(format!(
                "smtp.from (APP__SMTP__FROM) must be an email address such as billing@your-studio.com, not `{}`",
                self.smtp.from
            ));
        }
        if self.environment == Environment::Production {
            self.check_production()?;
        }
        if let Some(raw) = &self.http.public_url {
            let ok = reqwest::Url::parse(raw.trim()).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host_str().is_some_and(|h| !h.is_empty())
            });
            if !ok {
                return Err(format!(
                    "http.public_url (APP__HTTP__PUBLIC_URL) must be an http(s) URL such as https://billing.example.com, not `{raw}`"
                ));
            }
        }
        if let Err(bad) = self.trusted_proxies() {
            return Err(format!(
                "http.trusted_proxies (APP__HTTP__TRUSTED_PROXIES) must be comma-separated IP addresses, not `{bad}`"
            ));
        }
        let stripe = self.stripe_secret_key().is_some();
        let webhook_secret = self
            .gateway
            .stripe_webhook_secret
            .as_ref()
            .is_some_and(|k| !k.expose_secret().trim().is_empty());
        if stripe && !webhook_secret {
            return Err("gateway.stripe_webhook_secret (APP__GATEWAY__STRIPE_WEBHOOK_SECRET) is required when gateway.stripe_secret_key is set: without it no Stripe webhook can be verified, so no payment would ever be confirmed".into());
        }
        let base = &self.gateway.stripe_api_base;
        match reqwest::Url::parse(base.trim()) {
            Ok(url) if url.scheme() == "https" && url.host_str().is_some() => {}
            Ok(url)
                if url.scheme() == "http"
                    && matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")) => {}
            _ => {
                return Err(format!(
                    "gateway.stripe_api_base (APP__GATEWAY__STRIPE_API_BASE) must be an https URL (plain http only for localhost), not `{base}`"
                ));
            }
        }
        Ok(())
    }

    /// The Stripe secret key, when one is set (an empty value is none).
    pub fn stripe_secret_key(&self) -> Option<&SecretString> {
        self.gateway
            .stripe_secret_key
            .as_ref()
            .filter(|k| !k.expose_secret().trim().is_empty())
    }

    /// Whether the simulated gateway is the one in use: no money moves, and
    /// every client page and email says "test mode" (in every environment).
    pub fn test_mode(&self) -> bool {
        self.stripe_secret_key().is_none()
    }

    /// A database URL of a scheme nobody serves (`mysql://`) is refused
    /// instead of being taken for SQLite.
    fn check_database_url(&self) -> Result<(), String> {
        let Some(url) = &self.database_url else {
            return Ok(());
        };
        let url = url.expose_secret().trim();
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or_default();
        if url.is_empty()
            || !matches!(
                scheme.to_ascii_lowercase().as_str(),
                "postgres" | "postgresql" | "sqlite"
            )
        {
            return Err(format!(
                "database_url (DATABASE_URL / APP__DATABASE_URL) `{}` is not a PostgreSQL or SQLite URL: use postgres://user@host:5432/billing or sqlite://path/studio.db?mode=rwc, or leave it unset for SQLite under data_dir",
                mask_url(url)
            ));
        }
        Ok(())
    }

    /// A Stripe key of the wrong shape is refused everywhere; in production
    /// the simulated gateway runs only when asked for by name.
    fn check_gateway(&self) -> Result<(), String> {
        const KEY: &str = "gateway.stripe_secret_key (APP__GATEWAY__STRIPE_SECRET_KEY)";
        if let Some(key) = self.stripe_secret_key() {
            let key = key.expose_secret();
            let shaped = ["sk_live_", "sk_test_", "rk_live_", "rk_test_"]
                .iter()
                .any(|p| key.len() > p.len() && key.starts_with(p))
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !shaped {
                let hint = if key.starts_with("pk_") {
                    "that is a publishable key; the server needs the secret key"
                } else if key.starts_with("whsec_") {
                    "that is a webhook signing secret; it goes in gateway.stripe_webhook_secret (APP__GATEWAY__STRIPE_WEBHOOK_SECRET)"
                } else {
                    "it is not a Stripe secret key"
                };
                return Err(format!(
                    "{KEY} `{}`: {hint}. Use the secret key (sk_live_..., sk_test_... or a restricted rk_live_... key) from Stripe's Dashboard > Developers > API keys",
                    mask(key)
                ));
            }
            if let Some(secret) = &self.gateway.stripe_webhook_secret {
                let secret = secret.expose_secret().trim();
                if !secret.is_empty() && !secret.starts_with("whsec_") {
                    return Err(format!(
                        "gateway.stripe_webhook_secret (APP__GATEWAY__STRIPE_WEBHOOK_SECRET) `{}` is not a webhook signing secret (whsec_...): copy it from the endpoint's page under Dashboard > Developers > Webhooks",
                        mask(secret)
                    ));
                }
            }
            if self.gateway.simulated_in_production {
                return Err(format!(
                    "gateway.simulated_in_production (APP__GATEWAY__SIMULATED_IN_PRODUCTION) is true and {KEY} is set: choose one gateway (remove the key to run the simulated one, or the switch to use Stripe)"
                ));
            }
        }
        Ok(())
    }

    /// What production needs on top: a real gateway (or the simulated one
    /// asked for by name), links clients can open, a sender of the studio.
    fn check_production(&self) -> Result<(), String> {
        if self.test_mode() && !self.gateway.simulated_in_production {
            return Err("environment is production but gateway.stripe_secret_key (APP__GATEWAY__STRIPE_SECRET_KEY) is not set: the simulated gateway would mark invoices paid with no money moved. Set your Stripe secret key (sk_live_...), or set gateway.simulated_in_production = true (APP__GATEWAY__SIMULATED_IN_PRODUCTION) to run the simulated gateway on purpose (no money moves; pages and emails say \"test mode\")".into());
        }
        let Some(public_url) = &self.http.public_url else {
            return Err("http.public_url (APP__HTTP__PUBLIC_URL) is required in production: emailed links would point at this host's own address. Set it to the address clients open, e.g. https://billing.example.com".into());
        };
        let loopback = reqwest::Url::parse(public_url.trim())
            .ok()
            .and_then(|u| u.host().map(|h| h.to_owned()))
            .is_some_and(|host| match host {
                url::Host::Domain(d) => {
                    let d = d.trim_end_matches('.').to_ascii_lowercase();
                    d == "localhost" || d.ends_with(".localhost")
                }
                url::Host::Ipv4(ip) => ip.is_loopback() || ip.is_unspecified(),
                url::Host::Ipv6(ip) => ip.is_loopback() || ip.is_unspecified(),
            });
        if loopback {
            return Err(format!(
                "http.public_url (APP__HTTP__PUBLIC_URL) `{public_url}` is a loopback address: clients cannot open emailed links to it. In production set it to the public address, e.g. https://billing.example.com"
            ));
        }
        let from = self.smtp.from.trim().to_ascii_lowercase();
        let domain = from.rsplit('@').next().unwrap_or_default();
        if from == DEFAULT_FROM || domain == "localhost" || domain.ends_with(".localhost") {
            return Err(format!(
                "smtp.from (APP__SMTP__FROM) `{}` is a development address: in production set the address emails come from, on a domain you send mail for, e.g. billing@your-studio.com",
                self.smtp.from
            ));
        }
        Ok(())
    }

    /// Whether anything is kept under `data_dir` (the SQLite database,
    /// `.eml` files, the generated secret key).
    pub fn data_dir_in_use(&self) -> bool {
        self.database_kind() == DatabaseKind::Sqlite
            || self.smtp.url.is_none()
            || self.secret_key.is_none()
    }

    /// Creates `data_dir` if needed and checks that this process can write
    /// into it, naming the setting instead of a raw OS error later.
    pub fn check_data_dir(&self) -> Result<(), String> {
        let dir = &self.data_dir;
        let name = "data_dir (DATA_DIR / APP__DATA_DIR)";
        let fix = "point DATA_DIR at a directory this process may write, or create it with the right owner";
        if dir.exists() && !dir.is_dir() {
            return Err(format!(
                "{name} `{}` is a file, not a directory: {fix}",
                dir.display()
            ));
        }
        if let Err(e) = std::fs::create_dir_all(dir) {
            return Err(format!(
                "{name} `{}` cannot be created ({}): {fix}",
                dir.display(),
                io_reason(&e)
            ));
        }
        let probe = dir.join(format!(".write-check-{}", std::process::id()));
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&probe)
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"ok"));
        let _ = std::fs::remove_file(&probe);
        if let Err(e) = written {
            return Err(format!(
                "{name} `{}` is not writable ({}): {fix}",
                dir.display(),
                io_reason(&e)
            ));
        }
        Ok(())
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose_secret().to_string(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("studio.db").display()
            ),
        }
    }

    pub fn database_kind(&self) -> DatabaseKind {
        if self.database_url().starts_with("postgres") {
            DatabaseKind::Postgres
        } else {
            DatabaseKind::Sqlite
        }
    }

    /// The reverse proxies whose `X-Forwarded-For` is believed; `Err` names
    /// an entry that is not an IP address.
    pub fn trusted_proxies(&self) -> Result<Vec<std::net::IpAddr>, String> {
        self.http
            .trusted_proxies
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().map_err(|_| s.to_string()))
            .collect()
    }

    pub fn run_worker_in_process(&self) -> bool {
        self.worker.in_process.unwrap_or(self.redis_url.is_none())
    }

    /// Whether GraphQL answers introspection and suggests field names.
    pub fn graphql_introspection(&self) -> bool {
        self.graphql
            .introspection
            .unwrap_or(self.environment != Environment::Production)
    }

    pub fn public_url(&self) -> String {
        self.http
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}:{}", self.http.host, self.http.port))
            .trim_end_matches('/')
            .to_string()
    }

    /// The Redis pub/sub channel of billing events (per queue, so separate
    /// deployments sharing one Redis never see each other's events).
    pub fn events_channel(&self) -> String {
        format!("{}:events", self.worker.queue)
    }

    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_configuration_is_the_embedded_mode() {
        let s = Settings::load_from(None, |_| None).unwrap();
        assert_eq!(s.http.port, 8080);
        assert_eq!(s.database_kind(), DatabaseKind::Sqlite);
        assert!(s.database_url().contains("data/studio.db"));
        assert!(s.run_worker_in_process());
        assert!(s.smtp.url.is_none());
        assert!(
            s.gateway.stripe_secret_key.is_none(),
            "the simulated gateway by default"
        );
        assert_eq!(s.public_url(), "http://127.0.0.1:8080");
        assert!(s.graphql_introspection(), "introspection on in development");
        assert_eq!(s.http.max_body_bytes, 256 * 1024);
    }

    #[test]
    fn production_turns_introspection_off_unless_asked() {
        let mut s = Settings::load_from(None, |_| None).unwrap();
        s.environment = Environment::Production;
        assert!(!s.graphql_introspection());
        s.graphql.introspection = Some(true);
        assert!(s.graphql_introspection());
    }

    #[test]
    fn contract_variables_select_production() {
        let s = Settings::load_from(None, |name| match name {
            "PORT" => Some("9090".into()),
            "DATABASE_URL" => Some("postgres://postgres@127.0.0.1/billing".into()),
            "REDIS_URL" => Some("redis://127.0.0.1:6379".into()),
            "SMTP_URL" => Some("smtp://127.0.0.1:2525".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(s.http.port, 9090);
        assert_eq!(s.database_kind(), DatabaseKind::Postgres);
        assert!(!s.run_worker_in_process());
        assert!(s.smtp.url.is_some());
    }

    #[test]
    fn stripe_without_a_webhook_secret_is_refused_by_name() {
        let mut s = Settings::load_from(None, |_| None).unwrap();
        s.gateway.stripe_secret_key = Some("sk_test_1".to_string().into());
        let err = s.check().unwrap_err();
        assert!(err.contains("gateway.stripe_webhook_secret"), "{err}");
        s.gateway.stripe_webhook_secret = Some("whsec_1".to_string().into());
        assert_eq!(s.check(), Ok(()));
    }

    #[test]
    fn a_public_url_that_is_not_a_url_is_refused_by_name() {
        for bad in [
            "billing.example.com",
            "not a url",
            "ftp://x.example",
            "http://",
        ] {
            let mut s = Settings::load_from(None, |_| None).unwrap();
            s.http.public_url = Some(bad.into());
            let err = s.check().unwrap_err();
            assert!(err.contains("http.public_url"), "{bad}: {err}");
        }
        let mut s = Settings::load_from(None, |_| None).unwrap();
        s.http.public_url = Some("https://billing.example.com/".into());
        assert_eq!(s.check(), Ok(()));
    }

    #[test]
    fn a_stripe_base_url_must_be_https_outside_localhost() {
        for bad in [
            "http://api.stripe.com",
            "api.stripe.com",
            "http://10.0.0.5:12111",
        ] {
            let mut s = Settings::load_from(None, |_| None).unwrap();
            s.gateway.stripe_api_base = bad.into();
            let err = s.check().unwrap_err();
            assert!(err.contains("gateway.stripe_api_base"), "{bad}: {err}");
        }
        for good in [
            "https://api.stripe.com",
            "http://localhost:12111",
            "http://127.0.0.1:12111",
            "http://[::1]:12111",
        ] {
            let mut s = Settings::load_from(None, |_| None).unwrap();
            s.gateway.stripe_api_base = good.into();
            assert_eq!(s.check(), Ok(()), "{good}");
        }
    }

    fn production() -> Settings {
        let mut s = Settings::load_from(None, |_| None).unwrap();
        s.environment = Environment::Production;
        s.http.public_url = Some("https://billing.example-studio.com".into());
        s.smtp.from = "billing@example-studio.com".into();
        s.gateway.stripe_secret_key = Some("sk_live_abc123".to_string().into());
        s.gateway.stripe_webhook_secret = Some("whsec_abc123".to_string().into());
        s
    }

    #[test]
    fn production_with_stripe_a_public_url_and_a_sender_starts() {
        assert_eq!(production().check(), Ok(()));
        let mut s = production();
        s.gateway.stripe_secret_key = Some("rk_live_abc123".to_string().into());
        assert_eq!(s.check(), Ok(()), "a restricted key");
    }

    #[test]
    fn production_refuses_the_simulated_gateway_unless_chosen_by_name() {
        for webhook_only in [false, true] {
            let mut s = production();
            s.gateway.stripe_secret_key = None;
            if !webhook_only {
                s.gateway.stripe_webhook_secret = None;
            }
            let err = s.check().unwrap_err();
            assert!(err.contains("gateway.stripe_secret_key"), "{err}");
            assert!(
                err.contains("APP__GATEWAY__SIMULATED_IN_PRODUCTION"),
                "{err}"
            );
            s.gateway.simulated_in_production = true;
            assert_eq!(s.check(), Ok(()));
            assert!(s.test_mode());
        }
        let mut s = production();
        s.gateway.stripe_secret_key = Some(" ".to_string().into());
        assert!(
            s.check()
                .unwrap_err()
                .contains("gateway.simulated_in_production")
        );
        let mut s = production();
        s.gateway.simulated_in_production = true;
        let err = s.check().unwrap_err();
        assert!(err.contains("choose one gateway"), "{err}");
    }

    #[test]
    fn a_stripe_key_of_the_wrong_shape_is_refused_in_every_environment_masked() {
        for environment in [Environment::Development, Environment::Production] {
            for (key, hint) in [
                ("pk_live_51HxSECRETTAIL", "publishable"),
                ("pk_test_51HxSECRETTAIL", "publishable"),
                ("whsec_51HxSECRETTAIL", "gateway.stripe_webhook_secret"),
                ("garbage-SECRETTAIL", "not a Stripe secret key"),
                ("sk_live_", "not a Stripe secret key"),
                ("sk_live_abc SECRETTAIL", "not a Stripe secret key"),
            ] {
                let mut s = production();
                s.environment = environment;
                s.gateway.stripe_secret_key = Some(key.to_string().into());
                let err = s.check().unwrap_err();
                assert!(err.contains("gateway.stripe_secret_key"), "{key}: {err}");
                assert!(
                    err.contains("APP__GATEWAY__STRIPE_SECRET_KEY"),
                    "{key}: {err}"
                );
                assert!(err.contains(hint), "{key}: {err}");
                assert!(!err.contains("SECRETTAIL"), "masked: {err}");
            }
        }
        let mut s = production();
        s.gateway.stripe_webhook_secret = Some("sk_live_SECRETTAIL".to_string().into());
        let err = s.check().unwrap_err();
        assert!(err.contains("gateway.stripe_webhook_secret"), "{err}");
        assert!(!err.contains("SECRETTAIL"), "masked: {err}");
    }

    #[test]
    fn production_requires_a_public_url_clients_can_open() {
        let mut s = production();
        s.http.public_url = None;
        let err = s.check().unwrap_err();
        assert!(
            err.contains("http.public_url") && err.contains("APP__HTTP__PUBLIC_URL"),
            "{err}"
        );
        for loopback in [
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "https://studio.localhost",
            "http://[::1]:8080",
            "http://0.0.0.0:8080",
        ] {
            let mut s = production();
            s.http.public_url = Some(loopback.into());
            let err = s.check().unwrap_err();
            assert!(
                err.contains("http.public_url") && err.contains("loopback"),
                "{loopback}: {err}"
            );
            s.environment = Environment::Development;
            assert_eq!(s.check(), Ok(()), "development allows {loopback}");
        }
    }

    #[test]
    fn production_requires_a_sender_of_the_studio() {
        for from in [DEFAULT_FROM, "me@localhost", "billing@my.studio.localhost"] {
            let mut s = production();
            s.smtp.from = from.into();
            let err = s.check().unwrap_err();
            assert!(
                err.contains("smtp.from") && err.contains("APP__SMTP__FROM"),
                "{from}: {err}"
            );
            s.environment = Environment::Development;
            assert_eq!(s.check(), Ok(()), "development allows {from}");
        }
        let mut s = production();
        s.smtp.from = "not an address".into();
        assert!(s.check().unwrap_err().contains("smtp.from"));
    }

    #[test]
    fn every_numeric_setting_has_a_range_checked_by_name() {
        let defaults = Settings::load_from(None, |_| None).unwrap();
        assert_eq!(defaults.check(), Ok(()), "the defaults are in range");
        let env = |key: &str, value: &str| {
            let key = key.to_string();
            let value = value.to_string();
            move |name: &str| (name == key).then(|| value.clone())
        };
        // Each range, one below and one above, through the typed check.
        for range in RANGES {
            assert!((range.min..=range.max).contains(&(range.get)(&defaults)));
            let err = range.check(range.min - 1).unwrap_err();
            let app_var = format!("APP__{}", range.key.replace('.', "__").to_ascii_uppercase());
            assert!(err.contains(range.key) && err.contains(&app_var), "{err}");
            assert!(
                err.contains(&format!("{} to {}", range.min, range.max)),
                "{err}"
            );
            assert!(range.check(range.max + 1).is_err());
        }
        // Port 0 (pick a free port) stays allowed; `PORT=abc` is named.
        let s = Settings::load_from(None, env("PORT", "0")).unwrap();
        assert_eq!(s.http.port, 0);
        let err = Settings::load_from(None, env("PORT", "abc"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("http.port") && err.contains("PORT") && err.contains("`abc`"),
            "{err}"
        );
        let mut s = defaults.clone();
        s.worker.concurrency = 0;
        let err = s.check().unwrap_err();
        assert!(
            err.contains("worker.concurrency") && err.contains("APP__WORKER__CONCURRENCY"),
            "{err}"
        );
        let mut s = defaults.clone();
        s.gateway.simulated_faults.timeout_percent = 101;
        assert!(
            s.check()
                .unwrap_err()
                .contains("gateway.simulated_faults.timeout_percent")
        );
        let mut s = defaults;
        s.login_limits.per_gallery = 0;
        assert!(s.check().unwrap_err().contains("login_limits.per_gallery"));
    }

    #[test]
    fn a_database_url_of_an_unknown_scheme_is_refused_masked() {
        for bad in ["mysql://root:hunter2@db/billing", "hunter2", "redis://x"] {
            let mut s = Settings::load_from(None, |_| None).unwrap();
            s.database_url = Some(bad.to_string().into());
            let err = s.check().unwrap_err();
            assert!(
                err.contains("database_url") && err.contains("DATABASE_URL"),
                "{err}"
            );
            assert!(!err.contains("hunter2"), "masked: {err}");
        }
        for good in [
            "postgres://p@h/b",
            "postgresql://p@h/b",
            "sqlite://x.db?mode=rwc",
            "sqlite::memory:",
        ] {
            let mut s = Settings::load_from(None, |_| None).unwrap();
            s.database_url = Some(good.to_string().into());
            assert_eq!(s.check(), Ok(()), "{good}");
        }
    }

    #[test]
    fn a_data_directory_that_is_a_file_or_under_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        let mut s = Settings::load_from(None, |_| None).unwrap();
        s.data_dir = file.clone();
        let err = s.check_data_dir().unwrap_err();
        assert!(
            err.contains("data_dir (DATA_DIR / APP__DATA_DIR)") && err.contains("is a file"),
            "{err}"
        );
        s.data_dir = file.join("below");
        let err = s.check_data_dir().unwrap_err();
        assert!(
            err.contains("data_dir") && err.contains("cannot be created"),
            "{err}"
        );
        s.data_dir = dir.path().join("new");
        assert_eq!(s.check_data_dir(), Ok(()));
        assert!(s.data_dir.is_dir());
    }
}
