//! The outside world fails: Redis restarts, a task stops halfway through a
//! transaction, an SMTP server answers slowly, processes start together.
//! Work continues, and nothing is done twice.

use async_trait::async_trait;
use domain::AppContext;
use domain::adapters::sim_gateway::SimulatedGateway;
use domain::ports::gateway::{
    ChargeOutcome, ChargeRequest, GatewayError, IntentState, PaymentGateway,
};
use domain::ports::mailer::{MailError, Mailer};
use futures::StreamExt;
use sea_orm::{ConnectionTrait, TransactionTrait};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tests::private::{PrivatePostgres, PrivateRedis};
use tests::{
    AUTO_PAY_EMAIL, Backend, INVOICE_EMAIL, TestApp, fresh_postgres_database, spawn_app,
    spawn_app_full, spawn_app_with, test_settings,
};
use tokio::sync::Notify;

on_both_backends!(
    several_processes_migrating_a_fresh_database_at_once_all_succeed,
    a_job_cut_off_by_its_timeout_still_finishes_its_step,
    a_slow_send_keeps_its_claim_so_the_email_goes_out_once,
    the_simulated_gateway_injects_the_configured_faults,
    an_auto_pay_charge_answered_by_a_timeout_is_charged_once,
    a_queue_entry_lost_after_its_push_is_redelivered_after_redeliver_after,
    an_email_held_by_a_dead_sender_goes_out_when_its_claim_runs_out,
    an_email_claim_is_held_from_the_claim_not_only_during_the_send,
    emails_wait_out_a_mail_server_outage_without_growing_back_off,
);

/// The mail server is down (no SMTP conversation at all) until `up` is set.
struct MailServerDown {
    inner: Arc<dyn Mailer>,
    up: Arc<std::sync::atomic::AtomicBool>,
    refused: Arc<AtomicUsize>,
    tried: Arc<Notify>,
}

#[async_trait]
impl Mailer for MailServerDown {
    async fn send(&self, message: lettre::Message) -> Result<(), MailError> {
        if !self.up.load(Ordering::SeqCst) {
            self.refused.fetch_add(1, Ordering::SeqCst);
            self.tried.notify_one();
            return Err(MailError::Unreachable(
                "Connection refused (os error 111)".into(),
            ));
        }
        self.inner.send(message).await
    }
}

/// While the mail server is unreachable an email is retried every few
/// seconds without counting attempts, so neither a back-off grown during
/// the outage (2, 4, 8, 16 s... which kept the chaos run's emails waiting
/// for over 30 s after the server came back) nor `max_attempts` depends on
/// how long the outage lasts.
async fn emails_wait_out_a_mail_server_outage_without_growing_back_off(backend: Backend) {
    use entity::enums::OutboxStatus;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let up = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let tried = Arc::new(Notify::new());
    let refused = Arc::new(AtomicUsize::new(0));
    let (flag, signal, count) = (up.clone(), tried.clone(), refused.clone());
    let Some(app) = spawn_app_full(
        backend,
        |_| {},
        move |mut ctx: AppContext| {
            ctx.mailer = Arc::new(MailServerDown {
                inner: ctx.mailer.clone(),
                up: flag,
                refused: count,
                tried: signal,
            });
            ctx
        },
    )
    .await
    else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    // Both emails (invoice, gallery) refused a few times, the invoice's
    // at least once.
    let row = loop {
        tokio::time::timeout(Duration::from_secs(60), tried.notified())
            .await
            .expect("the emails are retried during the outage");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let row = entity::outbox::Entity::find()
            .filter(entity::outbox::Column::DedupKey.starts_with("send_invoice:"))
            .one(&app.ctx.db)
            .await
            .expect("query");
        if let Some(row) = row
            && refused.load(Ordering::SeqCst) >= 4
            && row
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("unreachable"))
        {
            break row;
        }
    };
    assert_eq!(
        row.attempts, 0,
        "an outage does not use up attempts: {row:?}"
    );
    if row.status == OutboxStatus::Pending {
        let next = row.claimed_until.expect("a retry is scheduled");
        assert!(
            next <= chrono::Utc::now() + domain::workflow::outbox::UNREACHABLE_RETRY,
            "the retry is soon, not after a grown back-off: {row:?}"
        );
    }
    up.store(true, Ordering::SeqCst);
    app.drain().await;
    assert_each_email_once(&app, INVOICE_EMAIL, 2).await;
}

/// A sender holds an email's claim from the moment it takes it, not only
/// while the SMTP conversation lasts: work between claiming and sending
/// (the gallery credentials email hashes its password with argon2id, which
/// took longer than the claim on a loaded machine) used to let the claim
/// run out, a second sender took the email, and both sent it (the chaos
/// run's duplicate emails with no fault in their send window).
async fn an_email_claim_is_held_from_the_claim_not_only_during_the_send(backend: Backend) {
    use domain::workflow::notify::{self, Claim, EmailKey};
    use entity::enums::NotificationKind;
    use sea_orm::EntityTrait;
    let Some(app) = spawn_app_with(backend, |s| s.worker.email_claim_secs = 3).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let invoice = entity::invoice::Entity::find()
        .one(&app.ctx.db)
        .await
        .expect("query")
        .expect("invoice");
    let key = EmailKey {
        studio_id: invoice.studio_id,
        invoice_id: invoice.id,
        kind: NotificationKind::RefundConfirmation,
        step: "claim-test".into(),
    };
    let first = notify::claim(&app.ctx, &key, INVOICE_EMAIL, "Test")
        .await
        .expect("claim");
    assert!(
        matches!(first, Claim::Mine(_)),
        "the first sender claims it"
    );
    // Busy for longer than the lease before sending.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let second = notify::claim(&app.ctx, &key, INVOICE_EMAIL, "Test").await;
    let held_elsewhere = matches!(&second, Ok(Claim::HeldElsewhere { .. }));
    assert!(
        held_elsewhere,
        "a second sender must find the email held while the first is alive"
    );
    drop(first);
}

/// A sender killed in the middle of an email leaves it `SENDING` under a
/// claim nobody renews. The job's next delivery finds it held and waits
/// for the claim to run out, then sends it: it does not also wait for a
/// redelivery (here set far beyond the test's patience), which used to add
/// `redeliver_after_secs` to every email a killed worker held.
async fn an_email_held_by_a_dead_sender_goes_out_when_its_claim_runs_out(backend: Backend) {
    use entity::enums::{NotificationKind, NotificationStatus};
    use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
    let Some(app) = spawn_app_with(backend, |s| {
        s.worker.in_process = Some(false);
        s.worker.redeliver_after_secs = 600;
        s.worker.email_claim_secs = 3;
    })
    .await
    else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    let session_id: i64 = f.invoice_session.parse().expect("id");
    domain::billing::invoicing::generate_invoice(&app.ctx, session_id, None)
        .await
        .expect("invoice");
    let invoice = entity::invoice::Entity::find()
        .filter(entity::invoice::Column::SessionId.eq(session_id))
        .one(&app.ctx.db)
        .await
        .expect("query")
        .expect("invoice");
    // What a sender killed mid-send leaves: the email claimed for a while yet.
    entity::notification::Entity::insert(entity::notification::ActiveModel {
        studio_id: Set(invoice.studio_id),
        invoice_id: Set(invoice.id),
        kind: Set(NotificationKind::Invoice),
        step: Set("1".into()),
        recipient: Set(INVOICE_EMAIL.into()),
        subject: Set("Invoice".into()),
        status: Set(NotificationStatus::Sending),
        message_id: Set(format!("<invoice.{}.1@studio.localhost>", invoice.id)),
        claimed_until: Set(Some(chrono::Utc::now() + chrono::Duration::seconds(3))),
        created_at: Set(chrono::Utc::now()),
        sent_at: Set(None),
        ..Default::default()
    })
    .exec_without_returning(&app.ctx.db)
    .await
    .expect("a claimed email");
    let worker = app.start_worker().await;
    app.drain().await;
    assert_each_email_once(&app, INVOICE_EMAIL, 2).await;
    worker.shutdown().await;
}

/// A row the relay claimed (which records it `ENQUEUED`) and pushed, whose
/// queue entry was lost (Redis restarted empty, the worker that took it
/// killed, the relay killed before its push), is handed out again once
/// `redeliver_after` has passed since it was last handed out or renewed,
/// and not before. (A relay lease on claimed rows used to stay for 30 s,
/// which alone put recovery after a Redis restart over the 15 s target.)
async fn a_queue_entry_lost_after_its_push_is_redelivered_after_redeliver_after(backend: Backend) {
    use domain::workflow::jobs::JobKind;
    use domain::workflow::outbox;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    // No worker and no relay in this process: the test plays the relay.
    let Some(app) = spawn_app_with(backend, |s| s.worker.in_process = Some(false)).await else {
        return;
    };
    let db = &app.ctx.db;
    let kind = JobKind::GenerateInvoice { session_id: 4242 };
    outbox::enqueue(db, None, &kind, None, app.ctx.clock.now())
        .await
        .expect("enqueue");
    let redeliver = chrono::Duration::seconds(10);
    let claimed = outbox::claim_batch(db, 10, Some(redeliver), app.ctx.clock.now())
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    let id = claimed[0].job.outbox_id;
    // Pushed just now: not handed out again while it may be running.
    let again = outbox::claim_batch(db, 10, Some(redeliver), app.ctx.clock.now())
        .await
        .expect("claim");
    assert!(again.is_empty(), "a fresh queue entry is not redelivered");
    // `redeliver_after` later with no worker having touched it: lost.
    entity::outbox::Entity::update_many()
        .col_expr(
            entity::outbox::Column::EnqueuedAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::seconds(11)),
        )
        .filter(entity::outbox::Column::Id.eq(id))
        .exec(db)
        .await
        .expect("age the queue entry");
    let redelivered = outbox::claim_batch(db, 10, Some(redeliver), app.ctx.clock.now())
        .await
        .expect("claim");
    assert_eq!(
        redelivered
            .iter()
            .map(|c| c.job.outbox_id)
            .collect::<Vec<_>>(),
        vec![id],
        "a lost queue entry is redelivered after redeliver_after"
    );
    let row = entity::outbox::Entity::find_by_id(id)
        .one(db)
        .await
        .expect("row")
        .expect("the row");
    assert_eq!(row.status, entity::enums::OutboxStatus::Enqueued);
    assert_eq!(row.claimed_until, None);
}

/// Several api and worker processes started at once on an empty database
/// each migrate it: all of them succeed, and the migrations ran once.
async fn several_processes_migrating_a_fresh_database_at_once_all_succeed(backend: Backend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = test_settings(dir.path());
    if backend == Backend::Postgres {
        let Some(url) = fresh_postgres_database().await else {
            return;
        };
        settings.database_url = Some(url.into());
    }
    let starts = (0..4).map(|_| {
        let settings = settings.clone();
        tokio::spawn(async move {
            let db = domain::infra::db::connect(&settings).await?;
            domain::infra::db::migrate(&db.conn).await?;
            anyhow::Ok(db.conn)
        })
    });
    let mut conns = Vec::new();
    for result in futures::future::join_all(starts).await {
        match result.expect("task") {
            Ok(conn) => conns.push(conn),
            Err(err) => panic!("a concurrent migration failed: {err:#}"),
        }
    }
    let applied = conns[0]
        .query_one_raw(sea_orm::Statement::from_string(
            conns[0].get_database_backend(),
            "SELECT COUNT(*) AS n FROM seaql_migrations",
        ))
        .await
        .expect("count")
        .expect("row")
        .try_get::<i64>("", "n")
        .expect("n");
    use sea_orm_migration::MigratorTrait;
    assert_eq!(applied as usize, migration::Migrator::migrations().len());
}

/// Hands each message to the real mailer at once, but hears the server's
/// answer to the first one only after `delay`: a slow `250` after `DATA`,
/// when the email has in fact been accepted already.
struct SlowAnswer {
    inner: Arc<dyn Mailer>,
    delay: Duration,
    calls: AtomicUsize,
}

#[async_trait]
impl Mailer for SlowAnswer {
    async fn send(&self, message: lettre::Message) -> Result<(), MailError> {
        self.inner.send(message).await?;
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            tokio::time::sleep(self.delay).await;
        }
        Ok(())
    }
}

/// The job's timeout fires while the SMTP server is answering: the job is
/// no longer waited for, but its step is not cut off halfway (accepted,
/// never marked sent, sent again later). It ends, marks the email sent,
/// and the email goes out once.
async fn a_job_cut_off_by_its_timeout_still_finishes_its_step(backend: Backend) {
    let Some(app) = spawn_app_full(
        backend,
        |s| s.worker.job_timeout_secs = 1,
        |mut ctx: AppContext| {
            ctx.mailer = Arc::new(SlowAnswer {
                inner: ctx.mailer.clone(),
                delay: Duration::from_secs(3),
                calls: AtomicUsize::new(0),
            });
            ctx
        },
    )
    .await
    else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    // Anything sent twice would go out once the claim ran out: give it time.
    let lease = app.ctx.settings.worker.email_claim_secs as u64;
    tokio::time::sleep(Duration::from_secs(lease + 2)).await;
    app.drain().await;
    assert_each_email_once(&app, INVOICE_EMAIL, 2).await;
}

/// Sends the first message only after `delay`, telling the test when it
/// started (an SMTP server slow to take the message).
struct SlowSend {
    inner: Arc<dyn Mailer>,
    delay: Duration,
    calls: AtomicUsize,
    started: Arc<Notify>,
}

#[async_trait]
impl Mailer for SlowSend {
    async fn send(&self, message: lettre::Message) -> Result<(), MailError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            self.started.notify_one();
            tokio::time::sleep(self.delay).await;
        }
        self.inner.send(message).await
    }
}

/// A send that takes longer than the email's claim keeps the claim (it is
/// renewed while the SMTP conversation lasts), so a second delivery of the
/// same job meanwhile (the relay redelivering, an orphan) backs off instead
/// of sending the email a second time.
async fn a_slow_send_keeps_its_claim_so_the_email_goes_out_once(backend: Backend) {
    let started = Arc::new(Notify::new());
    let signal = started.clone();
    let Some(app) = spawn_app_full(
        backend,
        |s| s.worker.email_claim_secs = 3,
        move |mut ctx: AppContext| {
            ctx.mailer = Arc::new(SlowSend {
                inner: ctx.mailer.clone(),
                delay: Duration::from_secs(7),
                calls: AtomicUsize::new(0),
                started: signal,
            });
            ctx
        },
    )
    .await
    else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    tokio::time::timeout(Duration::from_secs(30), started.notified())
        .await
        .expect("the first email starts sending");
    let slow_send_over = tokio::time::Instant::now() + Duration::from_secs(8);
    // Longer than the claim: without renewal it has run out by now.
    tokio::time::sleep(Duration::from_secs(4)).await;
    redeliver_everything_in_the_queue(&app).await;
    app.drain().await;
    tokio::time::sleep_until(slow_send_over).await;
    app.drain().await;
    assert_each_email_once(&app, INVOICE_EMAIL, 2).await;
}

/// What the relay does for queue entries it believes lost.
async fn redeliver_everything_in_the_queue(app: &TestApp) {
    use entity::enums::OutboxStatus;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    entity::outbox::Entity::update_many()
        .col_expr(
            entity::outbox::Column::Status,
            Expr::value(OutboxStatus::Pending.as_str()),
        )
        .col_expr(
            entity::outbox::Column::ClaimedUntil,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .filter(entity::outbox::Column::Status.eq(OutboxStatus::Enqueued))
        .exec(&app.ctx.db)
        .await
        .expect("redeliver");
    app.ctx.outbox_signal.notify_one();
}

async fn assert_each_email_once(app: &TestApp, to: &str, expected: usize) {
    let emails = app.emails_to(to);
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    for email in &emails {
        *by_id.entry(email.message_id.as_str()).or_default() += 1;
    }
    assert!(
        by_id.values().all(|n| *n == 1),
        "an email went out twice: {:#?}",
        emails
            .iter()
            .map(|e| (&e.subject, &e.message_id))
            .collect::<Vec<_>>()
    );
    assert_eq!(emails.len(), expected, "{emails:#?}");
    let unsent = app.count("notifications WHERE status <> 'SENT'").await;
    assert_eq!(unsent, 0, "every notification is marked sent");
}

/// A task that stopped halfway through a transaction (never resumed, or
/// dropped while a statement was in flight) holds its row locks: the
/// server ends such a session after `idle_in_transaction_timeout_ms`, and
/// the writers queued behind it go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_ends_a_transaction_that_was_left_open() {
    let Some(url) = fresh_postgres_database().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = test_settings(dir.path());
    settings.database_url = Some(url.into());
    settings.postgres.idle_in_transaction_timeout_ms = 1000;
    let db = domain::infra::db::connect(&settings)
        .await
        .expect("connect")
        .conn;
    domain::infra::db::migrate(&db).await.expect("migrate");
    domain::studio::studios::create_studio(
        &db,
        domain::studio::studios::NewStudio::named("Golden Hour"),
        chrono::Utc::now(),
    )
    .await
    .expect("studio");
    let abandoned = db.begin().await.expect("begin");
    abandoned
        .execute_unprepared("UPDATE studios SET name = name")
        .await
        .expect("lock the rows");
    // Neither committed nor rolled back, ever: its future is gone.
    std::mem::forget(abandoned);
    let started = Instant::now();
    let next = tokio::time::timeout(
        Duration::from_secs(10),
        db.execute_unprepared("UPDATE studios SET name = name"),
    )
    .await;
    assert!(
        matches!(next, Ok(Ok(_))),
        "the next writer is stuck behind the open transaction: {next:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// Production topology on a private Redis: three workers, sessions completed
/// before and after Redis is killed and restarted empty (every queued job
/// lost). Every session still reaches its end state, once, promptly, and no
/// PostgreSQL session is left idle in a transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_continues_after_redis_restarts_under_load() {
    let mut redis = PrivateRedis::start().await;
    let url = redis.url();
    let Some(app) = spawn_app_with(Backend::Postgres, move |s| {
        s.redis_url = Some(url.into());
        s.worker.in_process = Some(false);
    })
    .await
    else {
        return;
    };
    let workers = vec![
        app.start_worker().await,
        app.start_worker().await,
        app.start_worker().await,
    ];
    let f = app.seed_studio("Golden Hour").await;
    let mut sessions = vec![f.auto_pay_session.clone(), f.invoice_session.clone()];
    for i in 0..10 {
        let client = if i % 2 == 0 {
            &f.auto_pay_client
        } else {
            &f.invoice_client
        };
        sessions.push(
            app.schedule_wedding(&f.key, client, &f.package, &f.add_on, "0")
                .await,
        );
    }
    let (before, after) = sessions.split_at(6);
    futures::future::join_all(before.iter().map(|s| app.complete_session(&f.key, s))).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    redis.stop();
    tokio::time::sleep(Duration::from_secs(1)).await;
    redis.start_again().await;
    let healed = Instant::now();
    futures::future::join_all(after.iter().map(|s| app.complete_session(&f.key, s))).await;
    app.drain().await;
    let recovery = healed.elapsed();
    eprintln!("finished {recovery:?} after Redis came back");
    assert!(
        recovery < Duration::from_secs(45),
        "took {recovery:?} to finish after Redis came back"
    );
    assert_eq!(app.count("invoices").await, 12);
    assert_eq!(app.count("invoices WHERE status = 'PAID'").await, 6);
    assert_eq!(app.count("simulated_gateway_charges").await, 6);
    assert_eq!(app.count("payments").await, 6, "one charge per debt");
    assert_each_email_once(&app, AUTO_PAY_EMAIL, 12).await;
    assert_each_email_once(&app, INVOICE_EMAIL, 12).await;
    let stuck = app
        .count(
            "pg_stat_activity WHERE datname = current_database() \
             AND state = 'idle in transaction'",
        )
        .await;
    assert_eq!(stuck, 0, "no session left open in a transaction");
    for w in workers {
        w.shutdown().await;
    }
}

/// Readiness says which service is down, and the first billing event
/// published after Redis comes back is delivered (not lost to the dead
/// connection's "broken pipe").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_events_and_readiness_follow_redis_through_a_restart() {
    let mut redis = PrivateRedis::start().await;
    let url = redis.url();
    let Some(app) = spawn_app_with(Backend::Postgres, move |s| {
        s.redis_url = Some(url.into());
        s.worker.in_process = Some(false);
    })
    .await
    else {
        return;
    };
    let (status, body) = readyz(&app).await;
    assert_eq!(
        (status, body.as_str()),
        (200, "database: ok\nqueue: ok\nmail: ok\n")
    );
    app.ctx.events.publish(event()).await;

    // Redis restarts between two events: the next event meets the dead
    // connection first.
    redis.start_again().await;
    let client = redis::Client::open(redis.url()).expect("client");
    let mut pubsub = client.get_async_pubsub().await.expect("pubsub");
    pubsub
        .subscribe(app.ctx.settings.events_channel())
        .await
        .expect("subscribe");
    app.ctx.events.publish(event()).await;
    let received = tokio::time::timeout(Duration::from_secs(5), pubsub.on_message().next())
        .await
        .ok()
        .flatten();
    assert!(
        received.is_some(),
        "the first event after the restart was lost"
    );

    redis.stop();
    let (status, body) = readyz(&app).await;
    assert_eq!(
        (status, body.as_str()),
        (503, "database: ok\nqueue: down\nmail: ok\n")
    );
    redis.start_again().await;
    let (status, body) = readyz(&app).await;
    assert_eq!(
        (status, body.as_str()),
        (200, "database: ok\nqueue: ok\nmail: ok\n")
    );
}

async fn readyz(app: &TestApp) -> (u16, String) {
    let response = app
        .http
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .expect("readyz");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

fn event() -> domain::ports::events::BillingEvent {
    domain::ports::events::BillingEvent {
        kind: domain::ports::events::EventKind::InvoiceIssued,
        studio_id: 1,
        invoice_id: 1,
        session_id: 1,
        plan_part_id: None,
        invoice_number: "INV-2026-0001".into(),
        invoice_status: "OPEN".into(),
        amount_due_minor: domain::kernel::money::Minor::new(100),
        currency: domain::kernel::money::Currency::parse("USD").expect("USD"),
        payment_id: None,
        payment_status: None,
        payment_amount_minor: None,
        failure_message: None,
        at: chrono::Utc::now(),
    }
}

fn faults(timeout: u8, error: u8, delay_ms: u64) -> domain::infra::settings::SimulatedFaults {
    domain::infra::settings::SimulatedFaults {
        timeout_percent: timeout,
        error_percent: error,
        delay_ms,
        faulty_calls_per_key: 1,
        seed: 7,
    }
}

fn charge_request(key: &str) -> ChargeRequest {
    ChargeRequest {
        idempotency_key: format!("{key}_create_1"),
        payment_key: key.into(),
        amount: domain::kernel::money::Money::stored(12_345, "USD").expect("USD"),
        payment_method_token: "pm_card_visa".into(),
        description: "test".into(),
        installment_ref: None,
    }
}

/// `gateway.simulated_faults`: a timeout charges and then answers with an
/// unknown outcome, a 5xx charges nothing, a delay answers late; only the
/// first call of a key fails, and the same seed gives the same faults.
async fn the_simulated_gateway_injects_the_configured_faults(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let gateway = |f| SimulatedGateway::new(app.ctx.db.clone()).with_faults(f);

    // A timeout: the intent is created, the caller hears a timeout, and
    // finds it; the same key returns it.
    let timing_out = gateway(faults(100, 0, 0));
    let request = charge_request("k_timeout");
    let first = timing_out.create_intent(&request).await;
    assert!(
        matches!(first, Err(GatewayError::Unavailable(_))),
        "{first:?}"
    );
    assert_eq!(app.count("simulated_payment_intents").await, 1, "created");
    let found = timing_out
        .find_intent("k_timeout")
        .await
        .expect("search")
        .expect("the intent");
    assert_eq!(
        timing_out.create_intent(&request).await.expect("replay"),
        found
    );
    assert_eq!(
        timing_out.retrieve_intent(&found).await.ok(),
        None,
        "the first read of an object times out too"
    );
    assert_eq!(
        timing_out.retrieve_intent(&found).await.expect("read"),
        IntentState::RequiresConfirmation,
        "nothing charged yet"
    );
    // The confirmation charges, then times out; looking tells the outcome,
    // and confirming again (any key) charges nothing more.
    let confirmed = timing_out
        .confirm_intent(&found, "k_timeout_confirm_1")
        .await;
    assert!(
        matches!(confirmed, Err(GatewayError::Unavailable(_))),
        "{confirmed:?}"
    );
    assert_eq!(
        app.count("simulated_gateway_charges").await,
        1,
        "charged, though the caller heard a timeout"
    );
    assert!(matches!(
        timing_out.retrieve_intent(&found).await,
        Ok(IntentState::Settled(ChargeOutcome::Succeeded { .. }))
    ));
    let again = timing_out
        .confirm_intent(&found, "k_timeout_confirm_1")
        .await;
    assert!(
        matches!(
            again,
            Ok(IntentState::Settled(ChargeOutcome::Succeeded { .. }))
        ),
        "{again:?}"
    );
    assert_eq!(app.count("simulated_gateway_charges").await, 1);

    let failing = gateway(faults(0, 100, 0));
    let first = failing.create_intent(&charge_request("k_error")).await;
    assert!(
        matches!(first, Err(GatewayError::Unavailable(_))),
        "{first:?}"
    );
    assert_eq!(
        app.count("simulated_payment_intents").await,
        1,
        "nothing created"
    );
    let created = failing
        .create_intent(&charge_request("k_error"))
        .await
        .expect("the retry");
    assert!(matches!(
        failing.confirm_intent(&created, "k_error_confirm_1").await,
        Err(GatewayError::Unavailable(_))
    ));
    assert_eq!(
        app.count("simulated_gateway_charges").await,
        1,
        "a 503 charges nothing"
    );

    let slow = gateway(faults(0, 0, 300));
    let started = Instant::now();
    let answer = slow.create_intent(&charge_request("k_slow")).await;
    assert!(answer.is_ok(), "{answer:?}");
    assert!(started.elapsed() >= Duration::from_millis(300));

    // Deterministic: two gateways with the same settings fail the same calls.
    let pattern = |g: SimulatedGateway| async move {
        let mut failed = Vec::new();
        for i in 0..40 {
            let outcome = g
                .create_intent(&charge_request(&format!("k_mixed_{i}")))
                .await;
            failed.push(outcome.is_err());
        }
        failed
    };
    let once = pattern(gateway(faults(25, 25, 0))).await;
    let again = pattern(gateway(faults(25, 25, 0))).await;
    assert_eq!(once, again);
    let failures = once.iter().filter(|f| **f).count();
    assert!((8..=32).contains(&failures), "{failures} of 40 failed");
    assert!(
        gateway(faults(0, 0, 0))
            .create_intent(&charge_request("k_off"))
            .await
            .is_ok(),
        "off by default"
    );
}

/// End to end with the configured faults: every first call times out after
/// doing its work (the intent's creation, its confirmation, the first look
/// at it); the intent is found, its outcome retrieved, and the client is
/// charged once, with one receipt.
async fn an_auto_pay_charge_answered_by_a_timeout_is_charged_once(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        s.gateway.simulated_faults = faults(100, 0, 50);
    })
    .await
    else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;
    let invoice = app.invoice_of(&f.key, &f.auto_pay_session).await;
    assert_eq!(invoice["status"], "PAID", "{invoice:#}");
    assert_eq!(app.count("simulated_gateway_charges").await, 1);
    assert_eq!(
        app.count("simulated_payment_intents").await,
        1,
        "one PaymentIntent for one debt, though its creation timed out"
    );
    assert_eq!(app.count("payments WHERE status = 'SUCCEEDED'").await, 1);
    assert_each_email_once(&app, AUTO_PAY_EMAIL, 2).await;
}

/// Readiness names PostgreSQL when it is down, and after it restarts (every
/// pooled connection dead) the workflow carries on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_and_work_follow_postgres_through_a_restart() {
    let Some(pg) = PrivatePostgres::start().await else {
        eprintln!("skipping: no PostgreSQL server binaries");
        return;
    };
    let admin = sea_orm::Database::connect(format!("{}/postgres", pg.url()))
        .await
        .expect("private postgres");
    admin
        .execute_unprepared("CREATE DATABASE billing")
        .await
        .expect("create database");
    drop(admin);
    let url = format!("{}/billing", pg.url());
    let Some(app) = spawn_app_with(Backend::Postgres, move |s| {
        s.database_url = Some(url.into());
    })
    .await
    else {
        return;
    };
    let (status, body) = readyz(&app).await;
    assert_eq!(
        (status, body.as_str()),
        (200, "database: ok\nqueue: ok\nmail: ok\n")
    );

    pg.stop();
    let (status, body) = readyz(&app).await;
    assert_eq!(
        (status, body.as_str()),
        (503, "database: down\nqueue: ok\nmail: ok\n")
    );
    pg.start_again().await;

    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    assert_each_email_once(&app, INVOICE_EMAIL, 2).await;
    let (status, _) = readyz(&app).await;
    assert_eq!(status, 200);
}

/// The connection budget a process checks at start, read from the real
/// server: its `max_connections`, the superuser reserve and the connections
/// open (the probe's own at least); a pool larger than what is left is
/// named with what to do, one that fits is not.
#[tokio::test]
async fn the_postgres_connection_budget_is_read_from_the_server() {
    use sea_orm::sqlx::Connection;
    let Some(url) = fresh_postgres_database().await else {
        return;
    };
    let mut conn = sea_orm::sqlx::PgConnection::connect(&url)
        .await
        .expect("connect");
    let budget = domain::infra::db::ConnectionBudget::read(&mut conn)
        .await
        .expect("the server says its budget");
    assert!(budget.max > budget.reserved, "{budget:?}");
    assert!(budget.in_use >= 1, "{budget:?}");
    let left = budget.max - budget.reserved - budget.in_use.min(budget.max - budget.reserved);
    let warning = budget.shortfall(left + 1).expect("one too many");
    assert!(warning.contains("max_connections"), "{warning}");
    if left > 0 {
        assert_eq!(budget.shortfall(left), None);
    }
}
