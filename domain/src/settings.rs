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
}

#[derive(Debug, Clone, Deserialize)]
pub struct WorkerSettings {
    /// Run the worker inside the api process; default: yes unless Redis is configured.
    pub in_process: Option<bool>,
    pub concurrency: usize,
    pub poll_interval_ms: u64,
    /// apalis queue name; separate names isolate deployments sharing one Redis.
    pub queue: String,
    pub max_attempts: u32,
    pub heartbeat_secs: u64,
    pub missed_heartbeats: usize,
    /// How long an outbox row may sit `ENQUEUED` before the relay sends it again.
    pub redeliver_after_secs: i64,
    /// A portal payment whose outcome is unknown is asked about again after this.
    pub resolve_payment_after_secs: i64,
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
    pub worker: WorkerSettings,
    pub gateway: GatewaySettings,
    /// Key for portal-token HMACs; required once several hosts share a database.
    pub secret_key: Option<SecretString>,
    pub log: LogSettings,
    #[serde(default)]
    pub graphql: GraphqlSettings,
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
            .set_default("worker.concurrency", 4)?
            .set_default("worker.poll_interval_ms", 200)?
            .set_default("worker.queue", "billing")?
            .set_default("worker.max_attempts", 150)?
            .set_default("worker.heartbeat_secs", 5)?
            .set_default("worker.missed_heartbeats", 3)?
            .set_default("worker.redeliver_after_secs", 900)?
            .set_default("worker.resolve_payment_after_secs", 60)?
            .set_default("gateway.stripe_api_base", "https://api.stripe.com")?
            .set_default("gateway.webhook_tolerance_secs", 300)?
            .set_default("gateway.simulated_webhooks", true)?
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
        builder.build()?.try_deserialize()
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
}
