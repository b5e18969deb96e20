#![allow(clippy::expect_used, clippy::unwrap_used)] // test harness: a failed step should fail the test loudly

//! The integration harness: `spawn_app` starts the real application on port 0
//! against a fresh database (a new SQLite file, or a new PostgreSQL database
//! with its own Redis queue name and an SMTP sink), with helpers to call
//! GraphQL, read the emails, and drain the job queue without sleeping.

pub mod browsers;
pub mod fleet;
pub mod private;
pub mod smtp;
pub mod stripe_server;

use api::Application;
use domain::AppContext;
use domain::infra::settings::Settings;
use mail_parser::{MessageParser, MimeHeaders};
use sea_orm::{ConnectionTrait, Database, EntityTrait};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::broadcast;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default: SQLite file, apalis SQLite queue, `.eml` files.
    Sqlite,
    /// Production: PostgreSQL, apalis Redis queue, SMTP.
    Postgres,
}

pub fn postgres_base_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn services_required() -> bool {
    std::env::var("REQUIRE_SERVICES")
        .map(|v| !v.is_empty() && v != "0")
        .unwrap_or(false)
}

/// Creates a fresh PostgreSQL database; `None` (test skipped) when PostgreSQL
/// or Redis is unreachable, unless `REQUIRE_SERVICES` demands them.
pub async fn fresh_postgres_database() -> Option<String> {
    let admin = format!("{}/postgres", postgres_base_url());
    let redis_ok = match redis::Client::open(redis_url()) {
        Ok(client) => client.get_multiplexed_async_connection().await.is_ok(),
        Err(_) => false,
    };
    let conn = match Database::connect(admin.as_str()).await {
        Ok(conn) if redis_ok => conn,
        Ok(_) | Err(_) => {
            if services_required() {
                panic!(
                    "PostgreSQL ({admin}) and Redis ({}) are required (REQUIRE_SERVICES is set) but not reachable",
                    redis_url()
                );
            }
            eprintln!(
                "skipping: PostgreSQL or Redis not reachable (set REQUIRE_SERVICES=1 to fail instead)"
            );
            return None;
        }
    };
    drop_stale_test_databases(&conn).await;
    let now = chrono::Utc::now().timestamp();
    let name = format!("billing_test_{now}_{}", uuid::Uuid::new_v4().simple());
    conn.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create test database");
    Some(format!("{}/{name}", postgres_base_url()))
}

/// Test databases are named `billing_test_<unix time>_<uuid>`; those older
/// than two hours belong to finished runs and are dropped (best effort).
async fn drop_stale_test_databases(conn: &sea_orm::DatabaseConnection) {
    let Ok(rows) = conn
        .query_all_raw(sea_orm::Statement::from_string(
            conn.get_database_backend(),
            "SELECT datname FROM pg_database WHERE datname LIKE 'billing_test_%'",
        ))
        .await
    else {
        return;
    };
    let cutoff = chrono::Utc::now().timestamp() - 2 * 3600;
    for row in rows {
        let Ok(name) = row.try_get::<String>("", "datname") else {
            continue;
        };
        let created = name
            .split('_')
            .nth(2)
            .and_then(|t| t.parse::<i64>().ok())
            .unwrap_or(0);
        if created < cutoff {
            let _ = conn
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
        }
    }
}

pub struct TestApp {
    pub backend: Backend,
    pub address: String,
    pub ctx: AppContext,
    pub http: reqwest::Client,
    pub smtp: Option<smtp::SmtpSink>,
    finished: broadcast::Sender<i64>,
    data_dir: tempfile::TempDir,
}

/// Settings of a test app; the same layering as production, plus overrides.
pub fn test_settings(data_dir: &std::path::Path) -> Settings {
    let mut settings = Settings::load_from(None, |_| None).expect("default settings");
    settings.http.port = 0;
    settings.data_dir = data_dir.to_path_buf();
    settings.worker.in_process = Some(true);
    settings.worker.poll_interval_ms = 50;
    // A step held by a worker that died is redelivered quickly in tests.
    settings.worker.redeliver_after_secs = 5;
    settings.worker.resolve_payment_after_secs = 1;
    settings.worker.queue = format!("billing-test-{}", uuid::Uuid::new_v4().simple());
    settings.secret_key = Some(secrecy::SecretString::from(
        "test-secret-key-for-portal-links",
    ));
    settings
}

pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

/// The app on the local Stripe-shaped server (or a wiremock) at `base`,
/// with its test secret and webhook secret (`whsec_test_local`).
pub async fn spawn_app_on_stripe(backend: Backend, base: String) -> Option<TestApp> {
    spawn_app_with(backend, |s| {
        s.gateway.stripe_secret_key = Some("sk_test_local".to_string().into());
        s.gateway.stripe_api_base = base;
        s.gateway.stripe_webhook_secret = Some("whsec_test_local".to_string().into());
    })
    .await
}

pub async fn spawn_app_with(
    backend: Backend,
    adjust: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    spawn_app_full(backend, adjust, |ctx| ctx).await
}

/// The full form: adjust the settings, and wrap the context's adapters
/// (fault injection) before the app and its worker start.
pub async fn spawn_app_full(
    backend: Backend,
    adjust: impl FnOnce(&mut Settings),
    adapt: impl FnOnce(AppContext) -> AppContext,
) -> Option<TestApp> {
    if std::env::var("TEST_LOG").is_ok() {
        let settings = Settings::load_from(None, |_| None).expect("settings");
        domain::infra::telemetry::init(&settings);
    }
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut settings = test_settings(data_dir.path());
    let mut smtp = None;
    if backend == Backend::Postgres {
        let url = fresh_postgres_database().await?;
        settings.database_url = Some(url.into());
        settings.redis_url = Some(redis_url().into());
        let sink = smtp::SmtpSink::start().await;
        settings.smtp.url = Some(format!("smtp://127.0.0.1:{}", sink.port()).into());
        smtp = Some(sink);
    }
    adjust(&mut settings);
    let app = Application::build_with(settings, adapt)
        .await
        .expect("build application");
    let address = format!("http://127.0.0.1:{}", app.port());
    let ctx = app.ctx.clone();
    let finished = app
        .worker
        .as_ref()
        .map(|w| w.finished.clone())
        .unwrap_or_else(|| broadcast::channel(1024).0);
    tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        // The server closes a connection idle for 5 s (actix's keep-alive);
        // reusing one it is closing at that moment fails the request
        // (`IncompleteMessage`). A client that lets go sooner never does.
        .pool_idle_timeout(std::time::Duration::from_secs(2))
        .build()
        .expect("http client");
    Some(TestApp {
        backend,
        address,
        ctx,
        http,
        smtp,
        finished,
        data_dir,
    })
}

#[derive(Debug, Clone)]
pub struct SentEmail {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub message_id: String,
    /// The address of the `Reply-To` header, if any.
    pub reply_to: Option<String>,
    /// (file name, bytes) of each attachment.
    pub attachments: Vec<(String, Vec<u8>)>,
}

impl SentEmail {
    /// Whether the text part says `phrase`, however the lines were wrapped.
    pub fn says(&self, phrase: &str) -> bool {
        let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        flat(&self.text).contains(&flat(phrase))
    }

    /// The first `http(s)://.../pay/...` link of the text part.
    pub fn portal_link(&self) -> Option<String> {
        self.text
            .split_whitespace()
            .find(|w| w.starts_with("http") && w.contains("/pay/"))
            .map(str::to_string)
    }
}

pub fn parse_email(raw: &[u8]) -> SentEmail {
    let message = MessageParser::default().parse(raw).expect("parse email");
    let to = message
        .to()
        .map(|list| {
            list.iter()
                .filter_map(|a| a.address().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    SentEmail {
        to,
        subject: message.subject().unwrap_or_default().to_string(),
        text: message
            .body_text(0)
            .map(|t| t.to_string())
            .unwrap_or_default(),
        html: message
            .body_html(0)
            .map(|t| t.to_string())
            .unwrap_or_default(),
        message_id: message.message_id().unwrap_or_default().to_string(),
        reply_to: message
            .reply_to()
            .and_then(|list| list.first())
            .and_then(|a| a.address())
            .map(str::to_string),
        attachments: message
            .attachments()
            .map(|a| {
                (
                    a.attachment_name().unwrap_or_default().to_string(),
                    a.contents().to_vec(),
                )
            })
            .collect(),
    }
}

impl TestApp {
    pub async fn graphql(&self, key: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .http
            .post(format!("{}/graphql", self.address))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.expect("graphql request");
        response.json().await.expect("graphql json")
    }

    /// Runs a query and panics on GraphQL errors.
    pub async fn gql(&self, key: &str, query: &str, variables: Value) -> Value {
        let body = self.graphql(Some(key), query, variables).await;
        assert!(body.get("errors").is_none(), "GraphQL errors: {body:#}");
        body["data"].clone()
    }

    /// Creates a studio through the same service the CLI uses; returns its API key.
    pub async fn create_studio(&self, name: &str) -> String {
        let (_, key) = domain::studio::studios::create_studio(
            &self.ctx.db,
            domain::studio::studios::NewStudio::named(name),
            self.ctx.clock.now(),
        )
        .await
        .expect("create studio");
        key
    }

    /// Waits until every outbox row is finished: relays at once, then wakes on
    /// each finished job (no fixed sleeps). Panics with the outbox after 60 s.
    pub async fn drain(&self) {
        let mut finished = self.finished.subscribe();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            self.ctx.outbox_signal.notify_one();
            let unfinished = self.unfinished_now().await;
            if unfinished == 0 {
                break;
            }
            self.let_time_pass().await;
            if tokio::time::Instant::now() > deadline {
                let rows = entity::outbox::Entity::find()
                    .all(&self.ctx.db)
                    .await
                    .expect("outbox");
                panic!("queue did not drain: {rows:#?}");
            }
            // Wake on the next finished job; the timeout only guards against a
            // wake-up lost between the count and the subscription.
            let _ = tokio::time::timeout(Duration::from_millis(250), finished.recv()).await;
        }
        let failed = entity::outbox::Entity::find()
            .all(&self.ctx.db)
            .await
            .expect("outbox")
            .into_iter()
            .filter(|r| r.status == entity::enums::OutboxStatus::Failed)
            .collect::<Vec<_>>();
        assert!(failed.is_empty(), "jobs failed: {failed:#?}");
    }

    /// Starts one more worker with its own connections, as a separate worker
    /// process would (production topology: api without worker + N workers).
    pub async fn start_worker(&self) -> worker::WorkerHandle {
        let settings = (*self.ctx.settings).clone();
        let built = AppContext::build(settings).await.expect("worker context");
        let handle = worker::spawn(built.ctx, built.sqlite_pool)
            .await
            .expect("spawn worker");
        let mut events = handle.finished.subscribe();
        let forward = self.finished.clone();
        tokio::spawn(async move {
            while let Ok(id) = events.recv().await {
                let _ = forward.send(id);
            }
        });
        handle
    }

    /// A manual clock stands still, so waiting never makes a retry in a few
    /// seconds due: when nothing is due or queued and the work left is due
    /// within the minute, move the clock to the earliest of it (what waiting
    /// does with the system clock, which `set` leaves alone).
    async fn let_time_pass(&self) {
        let now = self.ctx.clock.now();
        let horizon = now + chrono::Duration::seconds(60);
        let rows = entity::outbox::Entity::find()
            .all(&self.ctx.db)
            .await
            .expect("outbox");
        let pending = |r: &&entity::outbox::Model| r.status == entity::enums::OutboxStatus::Pending;
        let busy = rows.iter().any(|r| {
            r.status == entity::enums::OutboxStatus::Enqueued
                || (pending(&r) && r.claimed_until.is_none_or(|t| t <= now))
        });
        if busy {
            return;
        }
        if let Some(next) = rows
            .iter()
            .filter(pending)
            .filter_map(|r| r.claimed_until)
            .filter(|t| *t > now && *t < horizon)
            .min()
        {
            self.ctx.clock.set(next);
        }
    }

    /// Outbox rows that are due: pending or queued, except those scheduled
    /// more than a minute ahead (a retry in days is not work to wait for).
    async fn unfinished_now(&self) -> usize {
        let horizon = self.ctx.clock.now() + chrono::Duration::seconds(60);
        entity::outbox::Entity::find()
            .all(&self.ctx.db)
            .await
            .expect("outbox")
            .into_iter()
            .filter(|r| {
                matches!(
                    r.status,
                    entity::enums::OutboxStatus::Pending | entity::enums::OutboxStatus::Enqueued
                )
            })
            .filter(|r| {
                r.status == entity::enums::OutboxStatus::Enqueued
                    || r.claimed_until.is_none_or(|t| t < horizon)
            })
            .count()
    }

    /// Jobs scheduled for later, as (dedup key, due time).
    pub async fn scheduled(&self) -> Vec<(String, chrono::DateTime<chrono::Utc>)> {
        let horizon = self.ctx.clock.now() + chrono::Duration::seconds(60);
        entity::outbox::Entity::find()
            .all(&self.ctx.db)
            .await
            .expect("outbox")
            .into_iter()
            .filter(|r| r.status == entity::enums::OutboxStatus::Pending)
            .filter_map(|r| {
                r.claimed_until
                    .filter(|t| *t >= horizon)
                    .map(|t| (r.dedup_key, t))
            })
            .collect()
    }

    /// Lets time pass: every job scheduled for later becomes due now.
    pub async fn advance_scheduled(&self) {
        self.advance_scheduled_of("").await;
    }

    /// Lets time pass for one kind of job only: those scheduled for later
    /// whose dedup key starts with `prefix` (e.g. `charge:`) become due now.
    pub async fn advance_scheduled_of(&self, prefix: &str) {
        use sea_orm::{ColumnTrait, QueryFilter};
        let now = self.ctx.clock.now();
        entity::outbox::Entity::update_many()
            .filter(entity::outbox::Column::DedupKey.starts_with(prefix))
            .col_expr(
                entity::outbox::Column::ClaimedUntil,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(entity::outbox::Column::Status.eq(entity::enums::OutboxStatus::Pending))
            .filter(entity::outbox::Column::ClaimedUntil.gt(now))
            .exec(&self.ctx.db)
            .await
            .expect("advance");
        self.ctx.outbox_signal.notify_one();
    }

    /// Every email sent so far, in the order sent.
    pub fn emails(&self) -> Vec<SentEmail> {
        match &self.smtp {
            Some(sink) => sink
                .messages()
                .iter()
                .map(|m| parse_email(m.as_bytes()))
                .collect(),
            None => {
                let dir = self.data_dir.path().join("outbox");
                let mut files: Vec<_> = std::fs::read_dir(&dir)
                    .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
                    .unwrap_or_default();
                files.retain(|p| p.extension().is_some_and(|e| e == "eml"));
                files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
                files
                    .iter()
                    .map(|p| parse_email(&std::fs::read(p).expect("read eml")))
                    .collect()
            }
        }
    }

    /// The first email sent to `address` that says `phrase`.
    pub fn email_to_saying(&self, address: &str, phrase: &str) -> SentEmail {
        self.emails_to(address)
            .into_iter()
            .find(|e| e.says(phrase))
            .unwrap_or_else(|| panic!("no email to {address} says {phrase:?}"))
    }

    pub fn emails_to(&self, address: &str) -> Vec<SentEmail> {
        self.emails()
            .into_iter()
            .filter(|e| e.to.iter().any(|t| t == address))
            .collect()
    }
}

/// The CSRF token of the portal's Pay form (an HMAC of the link token).
pub fn csrf_field(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("the Pay form") + marker.len();
    html[start..]
        .split('"')
        .next()
        .expect("csrf value")
        .to_string()
}

fn location(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

impl TestApp {
    pub async fn portal_page(&self, link: &str) -> String {
        self.http
            .get(link)
            .send()
            .await
            .expect("portal")
            .text()
            .await
            .expect("portal html")
    }

    /// Presses the portal's Pay button (`POST /pay/{token}/checkout` with the
    /// page's CSRF token); a 303 leads to the hosted checkout page.
    pub async fn press_pay(&self, link: &str, save_card: bool) -> reqwest::Response {
        let csrf = csrf_field(&self.portal_page(link).await);
        let mut form = vec![("csrf", csrf.as_str())];
        if save_card {
            form.push(("save_card", "1"));
        }
        self.http
            .post(format!("{link}/checkout"))
            .form(&form)
            .send()
            .await
            .expect("portal checkout")
    }

    /// The hosted checkout page the Pay button leads to.
    pub async fn checkout_url(&self, link: &str, save_card: bool) -> String {
        let response = self.press_pay(link, save_card).await;
        assert_eq!(response.status(), 303, "the Pay button redirects");
        location(&response).expect("location of the hosted page")
    }

    /// Types `card` on the simulated gateway's hosted page: a 303 to the
    /// portal's return page when paid, 402 when declined, 410 when closed.
    pub async fn pay_on_hosted_page(&self, checkout_url: &str, card: &str) -> reqwest::Response {
        self.http
            .post(checkout_url)
            .form(&[("card_number", card), ("exp", "12/34"), ("cvc", "123")])
            .send()
            .await
            .expect("hosted checkout payment")
    }

    /// Follows a 303 (the return page after the hosted page) as a browser.
    pub async fn follow(&self, response: &reqwest::Response) -> reqwest::Response {
        let to = location(response).expect("a redirect");
        self.http.get(to).send().await.expect("follow redirect")
    }

    /// Opens the portal as a client would, presses Pay (optionally keeping
    /// the card), types `card` on the hosted page and, when that paid, comes
    /// back to the return page. Returns the hosted page's answer (303 when
    /// paid).
    pub async fn pay_through_checkout(
        &self,
        link: &str,
        card: &str,
        save_card: bool,
    ) -> reqwest::Response {
        let hosted = self.checkout_url(link, save_card).await;
        let paid = self.pay_on_hosted_page(&hosted, card).await;
        if paid.status() == 303 {
            let back = self.follow(&paid).await;
            assert_eq!(back.status(), 200, "the return page");
        }
        paid
    }

    /// `pay_through_checkout` without keeping the card.
    pub async fn open_and_pay(&self, link: &str, card: &str) -> reqwest::Response {
        self.pay_through_checkout(link, card, false).await
    }
}

/// A studio with a catalogue and two clients with a scheduled session each,
/// created through the GraphQL API.
pub struct Fixture {
    pub key: String,
    pub auto_pay_client: String,
    pub invoice_client: String,
    pub auto_pay_session: String,
    pub invoice_session: String,
    pub package: String,
    pub add_on: String,
}

pub const AUTO_PAY_EMAIL: &str = "ava@example.com";
pub const INVOICE_EMAIL: &str = "noah@example.com";

impl TestApp {
    pub async fn create_client(
        &self,
        key: &str,
        name: &str,
        email: &str,
        preference: &str,
    ) -> String {
        let data = self
            .gql(
                key,
                "mutation($i: CreateClientInput!) { createClient(input: $i) { client { id } userErrors { message } } }",
                json!({ "i": { "name": name, "email": email, "paymentPreference": preference } }),
            )
            .await;
        data["createClient"]["client"]["id"]
            .as_str()
            .expect("client id")
            .to_string()
    }

    pub async fn attach_card(&self, key: &str, client: &str, token: &str) {
        let data = self
            .gql(
                key,
                "mutation($i: AttachPaymentMethodInput!) { attachPaymentMethod(input: $i) { client { id } userErrors { message } } }",
                json!({ "i": { "clientId": client, "token": token } }),
            )
            .await;
        assert_eq!(
            data["attachPaymentMethod"]["userErrors"],
            json!([]),
            "{data}"
        );
    }

    /// Package 2500.00 + 3 x extra hour 150.00 + prints 80.00 (non-taxable),
    /// 8.875% tax: subtotal 3030.00, tax 261.82 (221.88 + 39.94).
    pub async fn schedule_wedding(
        &self,
        key: &str,
        client: &str,
        package: &str,
        add_on: &str,
        retainer: &str,
    ) -> String {
        self.schedule_wedding_on(
            key,
            client,
            package,
            add_on,
            retainer,
            "2026-10-03T15:00:00Z",
        )
        .await
    }

    /// `schedule_wedding` on another day (`scheduled_at`, RFC 3339).
    pub async fn schedule_wedding_on(
        &self,
        key: &str,
        client: &str,
        package: &str,
        add_on: &str,
        retainer: &str,
        scheduled_at: &str,
    ) -> String {
        let data = self
            .gql(
                key,
                "mutation($i: ScheduleSessionInput!) { scheduleSession(input: $i) { session { id } userErrors { field message } } }",
                json!({ "i": {
                    "clientId": client,
                    "packageId": package,
                    "title": "Wedding",
                    "scheduledAt": scheduled_at,
                    "retainerPaid": retainer,
                    "items": [
                        { "addOnServiceId": add_on, "quantity": 3 },
                        { "description": "Album prints", "quantity": 1, "unitPrice": "80.00", "taxable": false }
                    ]
                } }),
            )
            .await;
        data["scheduleSession"]["session"]["id"]
            .as_str()
            .expect("session id")
            .to_string()
    }

    pub async fn seed_studio(&self, name: &str) -> Fixture {
        self.seed_studio_with_card(name, "pm_card_visa").await
    }

    pub async fn seed_studio_with_card(&self, name: &str, card: &str) -> Fixture {
        let key = self.create_studio(name).await;
        self.gql(
            &key,
            "mutation { createTaxRate(input: { name: \"Sales tax\", percent: \"8.875\" }) { taxRate { id } } }",
            json!({}),
        )
        .await;
        let data = self
            .gql(
                &key,
                "mutation { p: createPackage(input: { name: \"Wedding\", price: \"2500.00\" }) { package { id } }
                            a: createAddOnService(input: { name: \"Extra hour\", unitPrice: \"150.00\" }) { addOnService { id } } }",
                json!({}),
            )
            .await;
        let package = data["p"]["package"]["id"]
            .as_str()
            .expect("package")
            .to_string();
        let add_on = data["a"]["addOnService"]["id"]
            .as_str()
            .expect("add-on")
            .to_string();
        let auto_pay_client = self
            .create_client(&key, "Ava Martinez", AUTO_PAY_EMAIL, "AUTO_PAY")
            .await;
        self.attach_card(&key, &auto_pay_client, card).await;
        let invoice_client = self
            .create_client(&key, "Noah Chen", INVOICE_EMAIL, "INVOICE")
            .await;
        let auto_pay_session = self
            .schedule_wedding(&key, &auto_pay_client, &package, &add_on, "500.00")
            .await;
        let invoice_session = self
            .schedule_wedding(&key, &invoice_client, &package, &add_on, "0")
            .await;
        Fixture {
            key,
            auto_pay_client,
            invoice_client,
            auto_pay_session,
            invoice_session,
            package,
            add_on,
        }
    }

    pub async fn complete_session(&self, key: &str, session: &str) -> Value {
        self.graphql(
            Some(key),
            "mutation($id: ID!) { completeSession(id: $id) { session { id status } userErrors { field message code } } }",
            json!({ "id": session }),
        )
        .await
    }

    /// The invoice of a session with its totals, lines and payments.
    pub async fn invoice_of(&self, key: &str, session: &str) -> Value {
        let data = self
            .gql(
                key,
                "query($id: ID!) { session(id: $id) { invoice {
                    id number status currency dueDate portalUrl
                    subtotal { minorUnits formatted } tax { minorUnits } retainerCredit { minorUnits }
                    total { minorUnits formatted } amountPaid { minorUnits } amountDue { minorUnits formatted }
                    lines { description quantity amount { minorUnits } tax { minorUnits } }
                    payments { status amount { minorUnits } cardLast4 failureCode failureMessage source }
                } } }",
                json!({ "id": session }),
            )
            .await;
        data["session"]["invoice"].clone()
    }

    /// Counts rows of a table (test assertions on what was written).
    pub async fn count(&self, table: &str) -> i64 {
        let row = self
            .ctx
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.ctx.db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count query")
            .expect("count row");
        row.try_get::<i64>("", "n").expect("count value")
    }
}

/// Webhooks in: tests play the payment processor, signing events the way
/// Stripe does.
impl TestApp {
    /// The secret `POST /webhooks/stripe` verifies with.
    pub fn webhook_secret(&self) -> String {
        use secrecy::ExposeSecret;
        domain::infra::signature::webhook_secret(&self.ctx)
            .expect("a webhook signing secret")
            .expose_secret()
            .to_string()
    }

    /// POSTs `body` to the webhook endpoint with the given `Stripe-Signature`.
    pub async fn post_webhook_raw(&self, body: &[u8], signature: Option<&str>) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!("{}/webhooks/stripe", self.address))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(signature) = signature {
            request = request.header("stripe-signature", signature);
        }
        let response = request.send().await.expect("webhook request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// POSTs `event` signed now with the endpoint's secret, as the processor would.
    pub async fn send_webhook(&self, event: &Value) -> (u16, Value) {
        let body = serde_json::to_vec(event).expect("event json");
        let signature = domain::infra::signature::sign(
            &self.webhook_secret(),
            chrono::Utc::now().timestamp(),
            &body,
        );
        self.post_webhook_raw(&body, Some(&signature)).await
    }

    /// The stored webhook events as (type, status, detail), oldest first.
    pub async fn webhook_events(&self) -> Vec<(String, String, String)> {
        use sea_orm::QueryOrder;
        entity::webhook_event::Entity::find()
            .order_by_asc(entity::webhook_event::Column::Id)
            .all(&self.ctx.db)
            .await
            .expect("webhook events")
            .into_iter()
            .map(|e| {
                (
                    e.event_type,
                    e.status.as_str().to_string(),
                    e.detail.unwrap_or_default(),
                )
            })
            .collect()
    }
}

/// A Stripe event envelope around `object`.
pub fn stripe_event(id: &str, kind: &str, created: i64, object: Value) -> Value {
    json!({
        "id": id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": created,
        "livemode": false,
        "type": kind,
        "data": { "object": object },
    })
}

/// The env var that turns the integration binary's `worker_process` entry
/// point into a worker process (see `spawn_worker_process`).
pub const WORKER_PROCESS_ENV: &str = "TESTS_RUN_WORKER_PROCESS";

/// A worker running as its own OS process; killed when dropped.
pub struct WorkerProcess(std::process::Child);

impl WorkerProcess {
    /// Stops it (SIGKILL: the harshest way a worker can die).
    pub fn kill(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl TestApp {
    /// Starts a worker as a separate OS process, configured only through
    /// the environment as a deployed one is: the test binary re-executes
    /// itself into `worker::run_process` (what `cargo run -p worker` runs),
    /// so no stale separately-built binary can be picked up.
    pub fn spawn_worker_process(&self) -> WorkerProcess {
        use secrecy::ExposeSecret;
        let s = &self.ctx.settings;
        let mut command = std::process::Command::new(std::env::current_exe().expect("test binary"));
        command
            .args([
                "--exact",
                "worker_process_entry_point",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(WORKER_PROCESS_ENV, "1")
            .env("DATA_DIR", &s.data_dir)
            .env("DATABASE_URL", s.database_url())
            .env("APP__WORKER__QUEUE", &s.worker.queue)
            .env(
                "APP__WORKER__POLL_INTERVAL_MS",
                s.worker.poll_interval_ms.to_string(),
            )
            .env(
                "APP__WORKER__REDELIVER_AFTER_SECS",
                s.worker.redeliver_after_secs.to_string(),
            )
            .env(
                "APP__WORKER__RESOLVE_PAYMENT_AFTER_SECS",
                s.worker.resolve_payment_after_secs.to_string(),
            )
            .env("APP__HTTP__PUBLIC_URL", s.public_url())
            .stdout(std::process::Stdio::null());
        if let Some(url) = &s.redis_url {
            command.env("REDIS_URL", url.expose_secret());
        }
        if let Some(url) = &s.smtp.url {
            command.env("SMTP_URL", url.expose_secret());
        }
        if let Some(secret) = &s.secret_key {
            command.env("APP__SECRET_KEY", secret.expose_secret());
        }
        if std::env::var("TEST_LOG").is_err() {
            command.stderr(std::process::Stdio::null());
        }
        WorkerProcess(command.spawn().expect("spawn the worker process"))
    }
}

/// The body of the worker process: settings from the environment only.
pub fn run_worker_process() {
    let settings = Settings::load_from(None, |name| std::env::var(name).ok()).expect("settings");
    if std::env::var("TEST_LOG").is_ok() {
        domain::infra::telemetry::init(&settings);
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime
        .block_on(worker::run_process(settings, worker::shutdown_signal()))
        .expect("worker process");
}

/// `minor` US cents as the product prints them: `USD 1,234.50`.
pub fn usd(minor: i64) -> String {
    let digits = (minor / 100).to_string();
    let mut whole = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            whole.push(',');
        }
        whole.push(c);
    }
    format!("USD {whole}.{:02}", minor % 100)
}
