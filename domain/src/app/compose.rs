//! The composition root: reads the settings and builds the adapters they
//! select (the SQLite or PostgreSQL pool, the simulated or Stripe gateway,
//! the file or SMTP mailer, local or Redis events) into one `AppContext`.
//! The only code that names both the ports and their adapters' types.

use crate::adapters::events::{LocalEvents, RedisEvents};
use crate::adapters::mailer::{FileMailer, SmtpMailer};
use crate::adapters::sim_gateway::SimulatedGateway;
use crate::infra::context::AppContext;
use crate::infra::db::{self, Database};
use crate::infra::secrets::AppSecret;
use crate::infra::settings::{Environment, Settings};
use crate::kernel::clock::Clock;
use crate::ports::events::EventPublisher;
use crate::ports::gateway::PaymentGateway;
use crate::ports::mailer::Mailer;
use sea_orm::DatabaseConnection;
use sea_orm::sqlx::SqlitePool;
use secrecy::ExposeSecret;
use std::sync::Arc;
use tokio::sync::{Notify, broadcast};

pub struct Built {
    pub ctx: AppContext,
    /// The pool behind `ctx.db` when it is SQLite (shared with apalis).
    pub sqlite_pool: Option<SqlitePool>,
}

impl AppContext {
    /// Connects, migrates and wires the adapters the settings select.
    pub async fn build(settings: Settings) -> anyhow::Result<Built> {
        if settings.data_dir_in_use() {
            settings.check_data_dir().map_err(anyhow::Error::msg)?;
        }
        if settings.test_mode() && settings.environment == Environment::Production {
            tracing::warn!(
                "gateway.simulated_in_production: the simulated gateway runs in production; no money moves, and every client page and email says \"test mode\""
            );
        }
        let Database { conn, sqlite_pool } = db::connect(&settings).await?;
        db::migrate(&conn).await?;
        let mailer: Arc<dyn Mailer> = match &settings.smtp.url {
            Some(url) => Arc::new(SmtpMailer::from_url(
                url.expose_secret(),
                std::time::Duration::from_secs(settings.smtp.timeout_secs),
            )?),
            None => Arc::new(FileMailer::new(settings.outbox_dir())?),
        };
        let clock = Clock::system();
        let gateway: Arc<dyn PaymentGateway> = match settings.stripe_secret_key() {
            Some(key) => Arc::new(
                crate::adapters::stripe::StripeGateway::new(
                    key.clone(),
                    settings.gateway.stripe_api_base.clone(),
                )
                .map_err(|e| anyhow::anyhow!("Stripe gateway: {e}"))?,
            ),
            None => Arc::new(Self::simulated_gateway(
                &settings,
                conn.clone(),
                clock.clone(),
            )),
        };
        let secret = AppSecret::load_or_create(settings.secret_key.as_ref(), &settings.data_dir)?;
        let (live, _) = broadcast::channel(1024);
        let events: Arc<dyn EventPublisher> = match &settings.redis_url {
            Some(url) => Arc::new({
                crate::adapters::probes::redis_at_start(&settings).await?;
                RedisEvents::connect(url.expose_secret(), settings.events_channel()).await?
            }),
            None => Arc::new(LocalEvents(live.clone())),
        };
        let sent_marks = crate::workflow::notify::sent_marks(conn.clone());
        Ok(Built {
            ctx: AppContext {
                sent_marks,
                db: conn,
                settings: Arc::new(settings),
                gateway,
                mailer,
                secret,
                outbox_signal: Arc::new(Notify::new()),
                events,
                live,
                clock,
            },
            sqlite_pool,
        })
    }

    /// The simulated gateway the settings describe, stamping its records with
    /// `clock` (a test that installs a manual clock builds it again with it).
    pub fn simulated_gateway(
        settings: &Settings,
        db: DatabaseConnection,
        clock: Clock,
    ) -> SimulatedGateway {
        SimulatedGateway::new(db)
            .with_public_url(settings.public_url())
            .with_webhooks(settings.gateway.simulated_webhooks)
            .with_faults(settings.gateway.simulated_faults.clone())
            .with_clock(clock)
    }
}
