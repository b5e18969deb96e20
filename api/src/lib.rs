//! The api process: GraphQL for studios, the payment portal for clients,
//! the staff dashboard, health endpoints; in the embedded mode it also runs the worker.

pub mod card_setup;
pub mod dashboard;
pub mod gallery;
pub mod graphql;
pub mod headers;
pub mod health;
pub mod limits;
pub mod portal;
pub mod source;
pub mod telemetry;
pub mod webhooks;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, guard, web};
use domain::AppContext;
use domain::infra::settings::Settings;
use sea_orm::{EntityTrait, PaginatorTrait};
use std::net::TcpListener;
use worker::WorkerHandle;

pub struct Application {
    port: u16,
    server: Server,
    pub ctx: AppContext,
    /// The in-process worker (embedded mode), if this process runs one.
    pub worker: Option<WorkerHandle>,
}

impl Application {
    /// Connects, migrates, binds (port 0 picks a free port) and, when the
    /// settings say so, starts the worker in this process.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with(settings, |ctx| ctx).await
    }

    /// Like `build`, with a chance to wrap the context's adapters (tests
    /// inject faults into the gateway or the mailer this way).
    pub async fn build_with(
        settings: Settings,
        adapt: impl FnOnce(AppContext) -> AppContext,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind((settings.http.host.as_str(), settings.http.port))
            .map_err(|e| anyhow::anyhow!(domain::infra::startup::bind_error(&settings, &e)))?;
        let port = listener.local_addr()?.port();
        let mut settings = settings;
        if settings.http.public_url.is_none() {
            settings.http.public_url = Some(format!("http://{}:{port}", settings.http.host));
        }
        let in_process = settings.run_worker_in_process();
        // Install the recorder before any metric is recorded.
        let _ = domain::infra::telemetry::metrics_handle();
        let built = AppContext::build(settings).await?;
        let ctx = adapt(built.ctx);
        let worker = if in_process {
            Some(worker::spawn(ctx.clone(), built.sqlite_pool).await?)
        } else {
            // No relay here: the workers hear of this api's writes by NOTIFY.
            domain::workflow::wakes::forward_wakes(&ctx);
            None
        };
        if let Some(url) = &ctx.settings.redis_url {
            // Events of every process (workers too) reach this api's subscribers.
            use secrecy::ExposeSecret;
            domain::adapters::events::forward_from_redis(
                url.expose_secret().to_string(),
                ctx.settings.events_channel(),
                ctx.live.clone(),
            );
        }
        let schema = graphql::build_schema(ctx.clone());
        let data = web::Data::new(ctx.clone());
        let schema = web::Data::new(schema);
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(portal::test_mode_scope))
                .wrap(from_fn(limits::body_limit))
                .wrap(from_fn(headers::security_headers))
                .wrap(from_fn(telemetry::request_id))
                .app_data(data.clone())
                .app_data(schema.clone())
                .route("/graphql", web::post().to(graphql::graphql))
                .route(
                    "/graphql/ws",
                    web::get()
                        .guard(guard::Header("upgrade", "websocket"))
                        .to(graphql::graphql_ws),
                )
                .route(
                    "/graphql",
                    web::get()
                        .guard(guard::Header("accept", "application/json"))
                        .to(graphql::graphql),
                )
                .route("/graphql", web::get().to(graphql::graphiql::graphiql))
                .route(
                    &format!("{}/{{file}}", graphql::graphiql::ASSET_PREFIX),
                    web::get().to(graphql::graphiql::asset),
                )
                .configure(portal::routes)
                .route("/card-setup/{token}", web::get().to(card_setup::show))
                .route(
                    "/card-setup/{token}/checkout",
                    web::post().to(card_setup::checkout),
                )
                .route(
                    "/card-setup/{token}/return",
                    web::get().to(card_setup::returned),
                )
                .configure(gallery::routes)
                .configure(dashboard::routes)
                .route("/webhooks/stripe", web::post().to(webhooks::stripe))
                .route("/", web::get().to(health::home))
                .route("/healthz", web::get().to(health::healthz))
                .route("/readyz", web::get().to(health::readyz))
                .route("/metrics", web::get().to(health::metrics))
        })
        .shutdown_timeout(30)
        .listen(listener)?
        .run();
        tracing::info!(port, in_process_worker = in_process, "api listening");
        if let Ok(0) = entity::studio::Entity::find().count(&ctx.db).await {
            tracing::info!(
                "no studio yet: run `cargo run -p api -- seed-demo` (or `create-studio --name ...`) to get an API key"
            );
        }
        Ok(Self {
            port,
            server,
            ctx,
            worker,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the server stops (Ctrl-C / SIGTERM), then drains the worker.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        if let Some(worker) = self.worker {
            worker.shutdown().await;
        }
        result
    }
}
