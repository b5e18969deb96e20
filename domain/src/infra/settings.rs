//! Typed, layered configuration shared by `api` and `worker`.
//!
//! Layers, lowest first: built-in defaults (the embedded mode) < a TOML file
//! (`config/app.toml`, or the path in `APP_CONFIG`) < `APP__SECTION__KEY`
//! environment variables < the contract variables `PORT`, `DATA_DIR`,
//! `DATABASE_URL`, `REDIS_URL`, `SMTP_URL`.

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
    /// The relay's lease on the rows it is pushing into the queue: another
    /// relay leaves them alone this long. Released as soon as a row is
    /// pushed (or could not be), so it only matters when a relay dies
    /// between claiming and pushing.
    pub relay_claim_secs: i64,
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
            .set_default("smtp.from", "billing@studio.localhost")?
            .set_default("smtp.timeout_secs", 10)?
            .set_default("postgres.statement_timeout_ms", 30_000)?
            .set_default("postgres.idle_in_transaction_timeout_ms", 15_000)?
            .set_default("worker.job_timeout_secs", 120)?
            .set_default("worker.email_claim_secs", 8)?
            .set_default("worker.concurrency", 16)?
            .set_default("worker.poll_interval_ms", 200)?
            .set_default("worker.queue", "billing")?
            .set_default("worker.max_attempts", 150)?
            .set_default("worker.heartbeat_secs", 5)?
            .set_default("worker.missed_heartbeats", 3)?
            .set_default("worker.redeliver_after_secs", 5)?
            .set_default("worker.relay_claim_secs", 5)?
            .set_default("worker.resolve_payment_after_secs", 60)?
            .set_default("gateway.stripe_api_base", "https://api.stripe.com")?
            .set_default("gateway.webhook_tolerance_secs", 300)?
            .set_default("gateway.simulated_webhooks", true)?
            .set_default("gateway.key_reuse_limit_hours", 23)?
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
        let settings: Self = builder.build()?.try_deserialize()?;
        settings.check().map_err(config::ConfigError::Message)?;
        Ok(settings)
    }

    /// Refuses, at start, settings that would only fail later (a webhook
    /// nobody can verify, links that go nowhere, card data sent in clear).
    /// Each message names the setting and its environment variable.
    pub fn check(&self) -> Result<(), String> {
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
        let limits = &self.login_limits;
        if limits.window_secs < 60
            || limits.per_address == 0
            || limits.per_gallery == 0
            || limits.per_staff_account == 0
        {
            return Err("login_limits (APP__LOGIN_LIMITS__*): window_secs must be at least 60 and every threshold at least 1".into());
        }
        let stripe = self
            .gateway
            .stripe_secret_key
            .as_ref()
            .is_some_and(|k| !k.expose_secret().trim().is_empty());
        let webhook_secret = self
            .gateway
            .stripe_webhook_secret
            .as_ref()
            .is_some_and(|k| !k.expose_secret().trim().is_empty());
        if stripe && !webhook_secret {
            return Err("gateway.stripe_webhook_secret (APP__GATEWAY__STRIPE_WEBHOOK_SECRET) is required when gateway.stripe_secret_key is set: without it no Stripe webhook can be verified, so no payment would ever be confirmed".into());
        }
        if !(1..=23).contains(&self.gateway.key_reuse_limit_hours) {
            return Err(format!(
                "gateway.key_reuse_limit_hours (APP__GATEWAY__KEY_REUSE_LIMIT_HOURS) must be 1 to 23 (below the 24 hours Stripe keeps an idempotency key), not {}",
                self.gateway.key_reuse_limit_hours
            ));
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
}
