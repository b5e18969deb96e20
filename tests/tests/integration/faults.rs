//! Whatever fails when, the end state is the same as without the failure:
//! never two charges for one debt, never a lost invoice, never a duplicate email.

use async_trait::async_trait;
use domain::AppContext;
use domain::ports::gateway::{
    ChargeRequest, CheckoutRequest, CheckoutSession, GatewayError, IntentState, PaymentGateway,
    PaymentMethodDetails, RefundOutcome, RefundRequest,
};
use domain::ports::mailer::{MailError, Mailer};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tests::{AUTO_PAY_EMAIL, Backend, INVOICE_EMAIL, TestApp, spawn_app_full, spawn_app_with};

on_both_backends!(
    an_ambiguous_gateway_timeout_is_settled_by_retrieving_the_intent,
    a_worker_dying_after_the_charge_leaves_exactly_one_charge,
    a_refused_email_is_retried_and_sent_once,
    several_workers_share_the_queue_without_doubling_work,
    an_unconfirmed_portal_payment_is_settled_in_the_background,
    a_bank_slower_than_the_attempts_does_not_exhaust_the_charge,
);

#[derive(Clone, Copy)]
enum Fault {
    /// The charge goes through, but the caller hears a timeout.
    TimeoutAfterCharging,
    /// The charge goes through, then the worker dies (a panic in the job).
    DieAfterCharging,
    /// The bank takes its time: the confirmation and the next `n` looks at
    /// the PaymentIntent answer "processing", then it has succeeded.
    SlowBank(usize),
}

/// Wraps the real (simulated) gateway; the first charge misbehaves.
struct FaultyGateway {
    inner: Arc<dyn PaymentGateway>,
    fault: Fault,
    calls: AtomicUsize,
    keys: Mutex<Vec<String>>,
    /// Checkout Sessions looked at (the first look times out).
    retrievals: AtomicUsize,
    /// PaymentIntents looked at (how unknown outcomes are settled).
    intent_retrievals: AtomicUsize,
}

#[async_trait]
impl PaymentGateway for FaultyGateway {
    async fn payment_method(&self, token: &str) -> Result<PaymentMethodDetails, GatewayError> {
        self.inner.payment_method(token).await
    }

    async fn create_intent(&self, request: &ChargeRequest) -> Result<String, GatewayError> {
        self.inner.create_intent(request).await
    }

    async fn confirm_intent(
        &self,
        id: &str,
        idempotency_key: &str,
    ) -> Result<IntentState, GatewayError> {
        self.keys.lock().unwrap().push(idempotency_key.to_string());
        let outcome = self.inner.confirm_intent(id, idempotency_key).await;
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            match self.fault {
                Fault::TimeoutAfterCharging => {
                    return Err(GatewayError::Unavailable("timed out after sending".into()));
                }
                Fault::DieAfterCharging => panic!("worker killed after the gateway charged"),
                Fault::SlowBank(_) => {
                    outcome?;
                    return Ok(IntentState::Processing);
                }
            }
        }
        outcome
    }

    async fn retrieve_intent(&self, id: &str) -> Result<IntentState, GatewayError> {
        let looked = self.intent_retrievals.fetch_add(1, Ordering::SeqCst);
        if let Fault::SlowBank(slow) = self.fault
            && looked < slow
        {
            return Ok(IntentState::Processing);
        }
        self.inner.retrieve_intent(id).await
    }

    async fn find_intent(&self, payment_key: &str) -> Result<Option<String>, GatewayError> {
        self.inner.find_intent(payment_key).await
    }

    async fn retrieve_refund(&self, id: &str) -> Result<RefundOutcome, GatewayError> {
        self.inner.retrieve_refund(id).await
    }

    async fn find_refund(
        &self,
        charge_reference: &str,
        refund_key: &str,
    ) -> Result<Option<RefundOutcome>, GatewayError> {
        self.inner.find_refund(charge_reference, refund_key).await
    }

    async fn create_checkout(
        &self,
        request: &CheckoutRequest,
    ) -> Result<CheckoutSession, GatewayError> {
        self.inner.create_checkout(request).await
    }

    async fn retrieve_checkout(&self, id: &str) -> Result<CheckoutSession, GatewayError> {
        if self.retrievals.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(GatewayError::Unavailable("timed out".into()));
        }
        self.inner.retrieve_checkout(id).await
    }

    async fn expire_checkout(&self, id: &str) -> Result<CheckoutSession, GatewayError> {
        self.inner.expire_checkout(id).await
    }

    async fn payment_intent_card(
        &self,
        id: &str,
    ) -> Result<Option<PaymentMethodDetails>, GatewayError> {
        self.inner.payment_intent_card(id).await
    }

    async fn refund(&self, request: &RefundRequest) -> Result<RefundOutcome, GatewayError> {
        self.inner.refund(request).await
    }
}

async fn with_faulty_gateway(
    backend: Backend,
    fault: Fault,
) -> Option<(TestApp, Arc<FaultyGateway>)> {
    with_faulty_gateway_and(backend, fault, |_| {}).await
}

async fn with_faulty_gateway_and(
    backend: Backend,
    fault: Fault,
    configure: impl FnOnce(&mut domain::infra::settings::Settings),
) -> Option<(TestApp, Arc<FaultyGateway>)> {
    let slot: Arc<Mutex<Option<Arc<FaultyGateway>>>> = Arc::default();
    let captured = slot.clone();
    let app = spawn_app_full(
        backend,
        // These faults are about the same-key retry alone: without the
        // simulated gateway's webhook, which would settle the attempt first
        // (that path has its own test in webhooks.rs).
        |s| {
            s.gateway.simulated_webhooks = false;
            configure(s);
        },
        move |mut ctx: AppContext| {
            let faulty = Arc::new(FaultyGateway {
                inner: ctx.gateway.clone(),
                fault,
                calls: AtomicUsize::new(0),
                keys: Mutex::default(),
                retrievals: AtomicUsize::new(0),
                intent_retrievals: AtomicUsize::new(0),
            });
            *captured.lock().unwrap() = Some(faulty.clone());
            ctx.gateway = faulty;
            if matches!(fault, Fault::SlowBank(_)) {
                // Its waits are minutes: time passes when the test says so.
                ctx.clock = domain::kernel::clock::Clock::manual(chrono::Utc::now());
            }
            ctx
        },
    )
    .await?;
    let gateway = slot.lock().unwrap().clone().expect("gateway installed");
    Some((app, gateway))
}

async fn assert_charged_once(app: &TestApp, gateway: &FaultyGateway, session: &str, key: &str) {
    let invoice = app.invoice_of(key, session).await;
    assert_eq!(invoice["status"], "PAID", "{invoice:#}");
    assert_eq!(
        invoice["payments"].as_array().map(Vec::len),
        Some(1),
        "{invoice:#}"
    );
    assert_eq!(invoice["payments"][0]["status"], "SUCCEEDED");
    assert_eq!(
        app.count("simulated_gateway_charges").await,
        1,
        "the gateway charged once"
    );
    // The unknown outcome was settled by looking at the PaymentIntent, not
    // by confirming it again.
    let keys = gateway.keys.lock().unwrap().clone();
    assert_eq!(keys.len(), 1, "one confirmation: {keys:?}");
    assert!(keys[0].ends_with("_autopay_1_confirm_1"), "{keys:?}");
    assert!(
        gateway.intent_retrievals.load(Ordering::SeqCst) >= 1,
        "the outcome was retrieved"
    );
    let emails = app.emails_to(AUTO_PAY_EMAIL);
    assert_eq!(
        emails
            .iter()
            .filter(|e| e.subject.starts_with("Receipt"))
            .count(),
        1,
        "{emails:#?}"
    );
    assert_eq!(emails.len(), 2);
}

async fn an_ambiguous_gateway_timeout_is_settled_by_retrieving_the_intent(backend: Backend) {
    let Some((app, gateway)) = with_faulty_gateway(backend, Fault::TimeoutAfterCharging).await
    else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;
    assert_charged_once(&app, &gateway, &f.auto_pay_session, &f.key).await;
}

async fn a_worker_dying_after_the_charge_leaves_exactly_one_charge(backend: Backend) {
    let Some((app, gateway)) = with_faulty_gateway(backend, Fault::DieAfterCharging).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;
    assert_charged_once(&app, &gateway, &f.auto_pay_session, &f.key).await;
}

/// Refuses the first message it is given, like an SMTP server answering 451.
struct RefusingMailer {
    inner: Arc<dyn Mailer>,
    calls: AtomicUsize,
}

#[async_trait]
impl Mailer for RefusingMailer {
    async fn send(&self, message: lettre::Message) -> Result<(), MailError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(MailError::Smtp("451 try again later".into()));
        }
        self.inner.send(message).await
    }
}

async fn a_refused_email_is_retried_and_sent_once(backend: Backend) {
    let Some(app) = spawn_app_full(
        backend,
        |_| {},
        |mut ctx: AppContext| {
            ctx.mailer = Arc::new(RefusingMailer {
                inner: ctx.mailer.clone(),
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
    let emails = app.emails_to(INVOICE_EMAIL);
    assert_eq!(
        emails.len(),
        2,
        "invoice and credentials, each once: {emails:#?}"
    );
    assert_eq!(
        emails
            .iter()
            .filter(|e| e.subject.starts_with("Invoice"))
            .count(),
        1
    );
    assert_eq!(app.count("notifications").await, 2);
    let unsent = app.count("notifications WHERE status <> 'SENT'").await;
    assert_eq!(unsent, 0);
}

/// Production topology: the api runs no worker; three independent workers
/// (own pools, own queue connections, own relays) share the queue.
async fn several_workers_share_the_queue_without_doubling_work(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.worker.in_process = Some(false)).await else {
        return;
    };
    assert!(app.ctx.settings.worker.in_process == Some(false));
    let workers = vec![
        app.start_worker().await,
        app.start_worker().await,
        app.start_worker().await,
    ];
    let f = app.seed_studio("Golden Hour").await;
    let mut sessions = vec![f.auto_pay_session.clone(), f.invoice_session.clone()];
    for i in 0..6 {
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
    let calls = sessions.iter().map(|s| app.complete_session(&f.key, s));
    futures::future::join_all(calls).await;
    app.drain().await;

    let data = app
        .gql(
            &f.key,
            "{ invoices(first: 20) { edges { node { number status } } } }",
            serde_json::json!({}),
        )
        .await;
    let mut numbers: Vec<String> = data["invoices"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["number"].as_str().expect("number").to_string())
        .collect();
    numbers.sort();
    let year = chrono::Datelike::year(&chrono::Utc::now());
    let expected: Vec<String> = (1..=8).map(|n| format!("INV-{year}-{n:04}")).collect();
    assert_eq!(numbers, expected, "gap-free and unique");
    assert_eq!(
        app.count("payments").await,
        4,
        "one charge per auto-pay invoice"
    );
    assert_eq!(app.count("simulated_gateway_charges").await, 4);
    assert_eq!(
        app.emails_to(AUTO_PAY_EMAIL).len(),
        8,
        "receipt + credentials per auto-pay session"
    );
    assert_eq!(
        app.emails_to(INVOICE_EMAIL).len(),
        8,
        "invoice + credentials per invoice session"
    );
    for w in workers {
        w.shutdown().await;
    }
}

/// The client comes back from the hosted page while the gateway cannot be
/// read (and its webhook is lost): the return page says "processing"
/// honestly and offers no second payment; looking again settles the
/// session, once.
async fn an_unconfirmed_portal_payment_is_settled_in_the_background(backend: Backend) {
    let Some((app, gateway)) = with_faulty_gateway(backend, Fault::TimeoutAfterCharging).await
    else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let invoice = app.invoice_of(&f.key, &f.invoice_session).await;
    let link = invoice["portalUrl"]
        .as_str()
        .expect("portal url")
        .to_string();
    let hosted = app.checkout_url(&link, false).await;
    let paid = app.pay_on_hosted_page(&hosted, "4242424242424242").await;
    assert_eq!(paid.status(), 303);
    let back = app.follow(&paid).await;
    assert_eq!(back.status(), 200);
    let page = back.text().await.expect("html");
    assert!(page.contains("Your payment is processing"), "{page}");
    assert!(
        !page.contains("name=\"csrf\""),
        "no second Pay button while the payment is being confirmed"
    );
    assert_eq!(gateway.retrievals.load(Ordering::SeqCst), 1);
    // Reloading the return page looks again and settles.
    let again = app.follow(&paid).await.text().await.expect("html");
    assert!(again.contains("Your payment was received"), "{again}");
    assert!(
        app.follow(&paid)
            .await
            .text()
            .await
            .expect("html")
            .contains("Your payment was received")
    );
    app.drain().await;
    let invoice = app.invoice_of(&f.key, &f.invoice_session).await;
    assert_eq!(invoice["status"], "PAID", "{invoice:#}");
    assert_eq!(app.count("simulated_gateway_charges").await, 1);
    assert_eq!(
        app.emails_to(INVOICE_EMAIL)
            .iter()
            .filter(|e| e.subject.starts_with("Receipt"))
            .count(),
        1
    );
}

/// A bank that keeps a payment "processing" for longer than a job has
/// attempts: the charge step waits (30 s, 30 s, 1 min...) instead of
/// failing, so its attempts are not used up and the payment settles once,
/// with one charge and one receipt, whenever the bank answers.
async fn a_bank_slower_than_the_attempts_does_not_exhaust_the_charge(backend: Backend) {
    let looks = 6;
    let Some((app, gateway)) = with_faulty_gateway_and(backend, Fault::SlowBank(looks), |s| {
        s.worker.max_attempts = 2
    })
    .await
    else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.auto_pay_session).await;
    for _ in 0..=looks {
        app.drain().await;
        if app.invoice_of(&f.key, &f.auto_pay_session).await["status"] == "PAID" {
            break;
        }
        // A wait past drain's one-minute horizon: let it pass.
        app.advance_scheduled_of("charge:").await;
    }
    app.drain().await;
    assert!(
        gateway.intent_retrievals.load(Ordering::SeqCst) > looks,
        "the bank was asked until it answered"
    );
    assert_charged_once(&app, &gateway, &f.auto_pay_session, &f.key).await;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let charge_rows = entity::outbox::Entity::find()
        .filter(entity::outbox::Column::DedupKey.starts_with("charge:"))
        .all(&app.ctx.db)
        .await
        .expect("outbox");
    assert!(!charge_rows.is_empty());
    assert!(
        charge_rows
            .iter()
            .all(|r| r.attempts == 0 && r.status == entity::enums::OutboxStatus::Done),
        "waiting is not a failed attempt: {charge_rows:#?}"
    );
}
