//! Unknown outcomes are settled by looking, not by replaying (issue 9,
//! item 7). Against the local Stripe-shaped server, which stores the first
//! answer under an idempotency key (500s included), replays it, and forgets
//! keys after 24 hours: a lost answer is settled by retrieving the
//! PaymentIntent or finding the refund, one debt gets one intent and one
//! charge, and no key is sent again after the gateway may have forgotten it.

use chrono::{Duration, Utc};
use domain::kernel::clock::Clock;
use entity::enums::OutboxStatus;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tests::stripe_server::{Failure, Op, StripeServer};
use tests::{AUTO_PAY_EMAIL, Backend, TestApp, spawn_app_full};

on_both_backends!(
    a_500_after_the_charge_took_effect_is_settled_by_retrieving_the_intent,
    a_stored_500_replayed_for_the_same_key_does_not_wedge_the_payment,
    a_charge_retried_a_day_later_never_resends_the_old_key,
    a_refund_answered_by_a_500_after_it_was_made_is_found_not_repeated,
    a_refund_retried_a_day_later_never_resends_the_old_key,
    a_refund_the_gateway_keeps_silent_on_is_looked_at_again_not_failed,
    a_checkout_attempt_retired_while_its_session_was_created_expires_that_session,
);

const SECRET: &str = "sk_test_local";

/// An app on the Stripe adapter, pointed at a fresh Stripe-shaped server,
/// with a manual clock (the one the key's age is measured with).
async fn stripe_app(backend: Backend) -> Option<(TestApp, StripeServer, Clock)> {
    let stripe = StripeServer::start(SECRET).await;
    stripe.add_card("pm_1Visa", Some("cus_ava"), "visa", "4242");
    let base = stripe.uri();
    let clock = Clock::manual(Utc::now());
    let installed = clock.clone();
    let app = spawn_app_full(
        backend,
        move |s| {
            s.gateway.stripe_secret_key = Some(SECRET.to_string().into());
            s.gateway.stripe_api_base = base;
            s.gateway.stripe_webhook_secret = Some("whsec_test_local".to_string().into());
            // The refund's safety-net job waits for the test to release it.
            s.worker.resolve_payment_after_secs = 3600;
        },
        move |mut ctx| {
            ctx.clock = installed;
            ctx
        },
    )
    .await?;
    Some((app, stripe, clock))
}

/// A day and an hour pass, for the app and for the server (which forgets
/// the keys it saw more than 24 hours ago).
fn a_day_passes(clock: &Clock, stripe: &StripeServer) {
    clock.set(clock.now() + Duration::hours(25));
    stripe.advance_hours(25);
}

/// Waits until a job (by dedup-key prefix) has failed and waits for its
/// retry, then holds that retry a day out, so the test decides when it runs.
async fn hold_retry(app: &TestApp, prefix: &str) {
    for _ in 0..1200 {
        let held = entity::outbox::Entity::update_many()
            .col_expr(
                entity::outbox::Column::ClaimedUntil,
                Expr::value(Utc::now() + Duration::days(1)),
            )
            .filter(entity::outbox::Column::DedupKey.starts_with(prefix))
            .filter(entity::outbox::Column::Status.eq(OutboxStatus::Pending))
            .filter(entity::outbox::Column::LastError.is_not_null())
            .exec(&app.ctx.db)
            .await
            .expect("hold");
        if held.rows_affected == 1 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the job {prefix} never failed");
}

/// How many requests went out under `key`.
async fn sent(stripe: &StripeServer, key: &str) -> usize {
    stripe
        .calls()
        .await
        .iter()
        .filter(|(_, _, k)| k.as_deref() == Some(key))
        .count()
}

async fn payments_of(app: &TestApp, key: &str) -> Vec<Value> {
    let found = app
        .gql(
            key,
            "{ payments { edges { node { id status gatewayReference } } } }",
            json!({}),
        )
        .await;
    found["payments"]["edges"]
        .as_array()
        .expect("payments")
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

fn receipts(app: &TestApp) -> usize {
    app.emails_to(AUTO_PAY_EMAIL)
        .iter()
        .filter(|e| e.subject.starts_with("Receipt"))
        .count()
}

/// The charge is made, but Stripe answers the confirmation with a 500: the
/// intent is retrieved at once and the payment settles, with one charge.
async fn a_500_after_the_charge_took_effect_is_settled_by_retrieving_the_intent(backend: Backend) {
    let Some((app, stripe, _clock)) = stripe_app(backend).await else {
        return;
    };
    stripe.fail_next(Op::ConfirmIntent, Failure::After);
    let f = app.seed_studio_with_card("Golden Hour", "pm_1Visa").await;
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;

    let invoice = app.invoice_of(&f.key, &f.auto_pay_session).await;
    assert_eq!(invoice["status"], "PAID", "{invoice:#}");
    assert_eq!(stripe.charges(), 1, "one charge");
    let intents = stripe.intents();
    assert_eq!(intents.len(), 1, "one PaymentIntent for one debt");
    let pi = intents[0]["id"].as_str().expect("pi").to_string();
    let payments = payments_of(&app, &f.key).await;
    assert_eq!(payments.len(), 1, "{payments:?}");
    assert_eq!(payments[0]["status"], "SUCCEEDED");
    assert_eq!(payments[0]["gatewayReference"], pi.as_str());
    assert_eq!(receipts(&app), 1);
    let id = invoice["id"].as_str().expect("invoice id");
    assert_eq!(
        stripe.calls().await,
        vec![
            // attachPaymentMethod, then the charge: the card's Customer.
            ("GET".into(), "/v1/payment_methods/pm_1Visa".into(), None),
            ("GET".into(), "/v1/payment_methods/pm_1Visa".into(), None),
            (
                "POST".into(),
                "/v1/payment_intents".into(),
                Some(format!("inv_{id}_autopay_1_create_1"))
            ),
            (
                "POST".into(),
                format!("/v1/payment_intents/{pi}/confirm"),
                Some(format!("inv_{id}_autopay_1_confirm_1"))
            ),
            ("GET".into(), format!("/v1/payment_intents/{pi}"), None),
        ],
        "created, confirmed once, then looked at: never confirmed again"
    );
    assert_eq!(stripe.violations(), Vec::<String>::new());
}

/// The confirmation fails with a 500 before anything happened, and Stripe
/// stores that 500 under its key: the same key would get the same 500 for
/// a day. The retry looks first, sees the intent still unconfirmed, and
/// confirms it under the next attempt's key.
async fn a_stored_500_replayed_for_the_same_key_does_not_wedge_the_payment(backend: Backend) {
    let Some((app, stripe, _clock)) = stripe_app(backend).await else {
        return;
    };
    stripe.fail_next(Op::ConfirmIntent, Failure::Before);
    let f = app.seed_studio_with_card("Golden Hour", "pm_1Visa").await;
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;

    let invoice = app.invoice_of(&f.key, &f.auto_pay_session).await;
    assert_eq!(invoice["status"], "PAID", "{invoice:#}");
    assert_eq!(stripe.charges(), 1);
    assert_eq!(stripe.intents().len(), 1);
    assert_eq!(receipts(&app), 1);
    let id = invoice["id"].as_str().expect("invoice id");
    let first = format!("inv_{id}_autopay_1_confirm_1");
    let second = format!("inv_{id}_autopay_1_confirm_2");
    assert_eq!(
        sent(&stripe, &first).await,
        1,
        "the 500's key is not replayed"
    );
    assert_eq!(sent(&stripe, &second).await, 1);
    let pi = stripe.intents()[0]["id"].as_str().expect("pi").to_string();
    let looks = stripe
        .calls()
        .await
        .iter()
        .filter(|(m, p, _)| m == "GET" && *p == format!("/v1/payment_intents/{pi}"))
        .count();
    assert!(
        looks >= 2,
        "looked after the 500 and before confirming again"
    );
    assert_eq!(stripe.violations(), Vec::<String>::new());

    // What replaying would have got: the stored 500, again.
    let replay = app
        .http
        .post(format!("{}/v1/payment_intents/{pi}/confirm", stripe.uri()))
        .bearer_auth(SECRET)
        .header(
            "Stripe-Version",
            domain::adapters::stripe::STRIPE_API_VERSION,
        )
        .header("Idempotency-Key", &first)
        .form(&[("off_session", "true")])
        .send()
        .await
        .expect("replay");
    assert_eq!(replay.status(), 500);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    // The same key with other parameters is Stripe's idempotency error.
    let other = app
        .http
        .post(format!("{}/v1/payment_intents/{pi}/confirm", stripe.uri()))
        .bearer_auth(SECRET)
        .header(
            "Stripe-Version",
            domain::adapters::stripe::STRIPE_API_VERSION,
        )
        .header("Idempotency-Key", &first)
        .form(&[("off_session", "false")])
        .send()
        .await
        .expect("mismatch");
    assert_eq!(other.status(), 400);
    let body: Value = other.json().await.expect("json");
    assert_eq!(body["error"]["type"], "idempotency_error");
    assert_eq!(stripe.charges(), 1);
}

/// The intent's creation fails with a stored 500 and nothing is created.
/// Within the day the same key may go again (it gets the same 500); after
/// a day the server has forgotten the key, so sending it could create a
/// second intent: the retry looks for the intent instead, finds none, and
/// starts attempt 2 with a new key.
async fn a_charge_retried_a_day_later_never_resends_the_old_key(backend: Backend) {
    let Some((app, stripe, clock)) = stripe_app(backend).await else {
        return;
    };
    stripe.fail_next(Op::CreateIntent, Failure::Before);
    let f = app.seed_studio_with_card("Golden Hour", "pm_1Visa").await;
    app.complete_session(&f.key, &f.auto_pay_session).await;
    hold_retry(&app, "charge:").await;
    let invoice = app.invoice_of(&f.key, &f.auto_pay_session).await;
    assert_eq!(invoice["status"], "OPEN");
    assert_eq!(app.count("payments WHERE status = 'PENDING'").await, 1);
    let id = invoice["id"].as_str().expect("invoice id");
    let old = format!("inv_{id}_autopay_1_create_1");
    let new = format!("inv_{id}_autopay_1_create_2");
    let before = sent(&stripe, &old).await;
    assert!(before >= 1);
    assert!(stripe.remembers(&old));
    assert!(stripe.intents().is_empty(), "nothing was created");

    a_day_passes(&clock, &stripe);
    assert!(!stripe.remembers(&old), "the server forgot the key");
    app.advance_scheduled_of("charge:").await;
    app.drain().await;

    assert_eq!(
        sent(&stripe, &old).await,
        before,
        "the old key never went again"
    );
    assert_eq!(sent(&stripe, &new).await, 1);
    let searched = stripe
        .calls()
        .await
        .iter()
        .filter(|(m, p, _)| m == "GET" && p == "/v1/payment_intents/search")
        .count();
    assert!(searched >= 2, "looked for the intent before a new attempt");
    let invoice = app.invoice_of(&f.key, &f.auto_pay_session).await;
    assert_eq!(invoice["status"], "PAID", "{invoice:#}");
    assert_eq!(stripe.intents().len(), 1, "one PaymentIntent for one debt");
    assert_eq!(stripe.charges(), 1);
    assert_eq!(receipts(&app), 1);
    assert_eq!(stripe.violations(), Vec::<String>::new());
}

async fn paid_auto_pay(app: &TestApp, stripe: &StripeServer) -> (tests::Fixture, String) {
    let f = app.seed_studio_with_card("Golden Hour", "pm_1Visa").await;
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;
    assert_eq!(stripe.charges(), 1);
    let payment = payments_of(app, &f.key).await[0]["id"]
        .as_str()
        .expect("payment")
        .to_string();
    (f, payment)
}

async fn refund(app: &TestApp, key: &str, payment: &str, client_key: &str) -> Value {
    app.gql(
        key,
        "mutation($i: RefundPaymentInput!) { refundPayment(input: $i) {
            refund { id status gatewayReference } userErrors { code message } } }",
        json!({ "i": { "paymentId": payment, "amount": "500.00", "idempotencyKey": client_key } }),
    )
    .await["refundPayment"]
        .clone()
}

/// Stripe makes the refund and answers 500: the refund is found by listing
/// the intent's refunds (our key is in its metadata) and settles, once.
async fn a_refund_answered_by_a_500_after_it_was_made_is_found_not_repeated(backend: Backend) {
    let Some((app, stripe, _clock)) = stripe_app(backend).await else {
        return;
    };
    let (f, payment) = paid_auto_pay(&app, &stripe).await;
    stripe.fail_next(Op::CreateRefund, Failure::After);
    let answer = refund(&app, &f.key, &payment, "lost-refund-1").await;
    let made = stripe.refunds();
    assert_eq!(made.len(), 1, "one refund at the gateway");
    assert_eq!(
        answer,
        json!({ "refund": { "id": answer["refund"]["id"], "status": "SUCCEEDED",
                            "gatewayReference": made[0]["id"] }, "userErrors": [] })
    );
    app.drain().await;
    let studio = f.key.clone();
    let invoice = app.invoice_of(&studio, &f.auto_pay_session).await;
    assert_eq!(invoice["status"], "PAID", "{invoice:#}");
    assert_eq!(app.count("credit_notes").await, 1);
    assert_eq!(
        app.emails_to(AUTO_PAY_EMAIL)
            .iter()
            .filter(|e| e.subject.starts_with("Refund"))
            .count(),
        1
    );
    let refund_posts = stripe
        .calls()
        .await
        .into_iter()
        .filter(|(m, p, _)| m == "POST" && p == "/v1/refunds")
        .collect::<Vec<_>>();
    assert_eq!(refund_posts.len(), 1, "the refund was not requested again");
    let key = refund_posts[0].2.clone().expect("key");
    assert!(key.ends_with("_lost-refund-1_attempt_1"), "{key}");
    let forms = stripe.forms_with_key(&key).await;
    let pi = stripe.intents()[0]["id"].as_str().expect("pi").to_string();
    let expected: std::collections::BTreeMap<String, String> = [
        ("payment_intent", pi.clone()),
        ("amount", "50000".to_string()),
        (
            "metadata[idempotency_key]",
            key.trim_end_matches("_attempt_1").to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(forms, vec![expected]);
    assert!(
        stripe
            .calls()
            .await
            .iter()
            .any(|(m, p, _)| m == "GET" && p == "/v1/refunds"),
        "looked for it"
    );
    assert_eq!(stripe.violations(), Vec::<String>::new());
}

/// The refund request fails with a stored 500 and no refund is made. A day
/// later (the key forgotten by the server) the safety-net job looks for the
/// refund, finds none, and sends attempt 2 under a new key; the old key
/// never goes again.
async fn a_refund_retried_a_day_later_never_resends_the_old_key(backend: Backend) {
    let Some((app, stripe, clock)) = stripe_app(backend).await else {
        return;
    };
    let (f, payment) = paid_auto_pay(&app, &stripe).await;
    stripe.fail_next(Op::CreateRefund, Failure::Before);
    let answer = refund(&app, &f.key, &payment, "late-refund-1").await;
    assert_eq!(
        answer["userErrors"][0]["code"], "GATEWAY_UNAVAILABLE",
        "{answer}"
    );
    assert_eq!(app.count("refunds WHERE status = 'PENDING'").await, 1);
    assert!(stripe.refunds().is_empty());
    let old_key = stripe
        .calls()
        .await
        .into_iter()
        .find(|(m, p, _)| m == "POST" && p == "/v1/refunds")
        .and_then(|(_, _, k)| k)
        .expect("the refund's key");
    assert!(old_key.ends_with("_attempt_1"), "{old_key}");
    let new_key = format!("{}_attempt_2", old_key.trim_end_matches("_attempt_1"));

    a_day_passes(&clock, &stripe);
    assert!(!stripe.remembers(&old_key));
    app.advance_scheduled_of("resolve_refund:").await;
    app.drain().await;

    assert_eq!(
        sent(&stripe, &old_key).await,
        1,
        "the old key never went again"
    );
    assert_eq!(sent(&stripe, &new_key).await, 1);
    let made = stripe.refunds();
    assert_eq!(made.len(), 1, "one refund");
    let refunds = app
        .gql(
            &f.key,
            "query($id: ID!) { session(id: $id) { invoice { status amountDue { minorUnits }
                refunds { status amount { minorUnits } } } } }",
            json!({ "id": f.auto_pay_session }),
        )
        .await;
    let invoice = &refunds["session"]["invoice"];
    assert_eq!(invoice["status"], "PAID", "{invoice:#}");
    assert_eq!(
        invoice["refunds"],
        json!([{ "status": "SUCCEEDED", "amount": { "minorUnits": 50_000 } }])
    );
    assert_eq!(app.count("credit_notes").await, 1);
    assert_eq!(stripe.violations(), Vec::<String>::new());
}

/// Issue 18, item 4: a refund the gateway does not answer is neither made
/// nor refused. The mutation says so (`GATEWAY_UNAVAILABLE`, not
/// `GATEWAY_REFUSED`), and every look the safety net takes while the
/// gateway stays silent is "unavailable" (the worker looks again soon and
/// counts no attempt), never a failure that would spend the job's attempts
/// and give up on money owed back. Once the gateway answers, one refund.
async fn a_refund_the_gateway_keeps_silent_on_is_looked_at_again_not_failed(backend: Backend) {
    let Some((app, stripe, clock)) = stripe_app(backend).await else {
        return;
    };
    let (f, payment) = paid_auto_pay(&app, &stripe).await;
    stripe.fail_next(Op::CreateRefund, Failure::Before);
    let answer = refund(&app, &f.key, &payment, "silent-refund-1").await;
    assert_eq!(
        answer["userErrors"][0]["code"], "GATEWAY_UNAVAILABLE",
        "{answer}"
    );
    let pending = entity::refund::Entity::find()
        .one(&app.ctx.db)
        .await
        .expect("refunds")
        .expect("the refund was recorded");
    // The old key replays its stored 500 all day: each look is unavailable.
    for _ in 0..3 {
        let looked = domain::billing::refunds::resolve(&app.ctx, pending.id, None).await;
        assert!(
            looked.as_ref().is_err_and(|e| e.is_unavailable()),
            "{looked:?}"
        );
    }
    assert_eq!(app.count("refunds WHERE status = 'PENDING'").await, 1);
    assert!(stripe.refunds().is_empty());

    a_day_passes(&clock, &stripe);
    app.advance_scheduled_of("resolve_refund:").await;
    app.drain().await;
    assert_eq!(
        stripe.refunds().len(),
        1,
        "one refund once the gateway answers"
    );
    assert_eq!(app.count("refunds WHERE status = 'SUCCEEDED'").await, 1);
    let resolve_rows = entity::outbox::Entity::find()
        .filter(entity::outbox::Column::DedupKey.starts_with("resolve_refund:"))
        .all(&app.ctx.db)
        .await
        .expect("outbox");
    assert!(
        resolve_rows.iter().all(|r| r.status == OutboxStatus::Done),
        "{resolve_rows:#?}"
    );
    assert_eq!(stripe.violations(), Vec::<String>::new());
}

/// The portal's checkout attempt is retired (another tab saw the amount
/// change) while the gateway is creating its session. Sending the client
/// to that session would let them pay a stale amount that no checkout row
/// knows (its webhook would be ignored): the session is remembered and
/// expired, and the client is asked to press Pay again.
async fn a_checkout_attempt_retired_while_its_session_was_created_expires_that_session(
    backend: Backend,
) {
    use async_trait::async_trait;
    use domain::ports::gateway::{
        ChargeRequest, CheckoutRequest, CheckoutSession, CheckoutState, CustomerRequest,
        GatewayError, IntentState, PaymentGateway, PaymentMethodDetails, RefundOutcome,
        RefundRequest,
    };
    use entity::enums::CheckoutStatus;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    struct RetiredMeanwhile {
        inner: Arc<dyn PaymentGateway>,
        db: sea_orm::DatabaseConnection,
        done: AtomicBool,
    }

    #[async_trait]
    impl PaymentGateway for RetiredMeanwhile {
        async fn payment_method(&self, token: &str) -> Result<PaymentMethodDetails, GatewayError> {
            self.inner.payment_method(token).await
        }
        async fn create_intent(&self, request: &ChargeRequest) -> Result<String, GatewayError> {
            self.inner.create_intent(request).await
        }
        async fn confirm_intent(&self, id: &str, key: &str) -> Result<IntentState, GatewayError> {
            self.inner.confirm_intent(id, key).await
        }
        async fn retrieve_intent(&self, id: &str) -> Result<IntentState, GatewayError> {
            self.inner.retrieve_intent(id).await
        }
        async fn find_intent(&self, key: &str) -> Result<Option<String>, GatewayError> {
            self.inner.find_intent(key).await
        }
        async fn create_customer(&self, request: &CustomerRequest) -> Result<String, GatewayError> {
            self.inner.create_customer(request).await
        }
        async fn create_checkout(
            &self,
            request: &CheckoutRequest,
        ) -> Result<CheckoutSession, GatewayError> {
            if !self.done.swap(true, Ordering::SeqCst) {
                // What `checkout::start` in another tab does to a stale attempt.
                entity::checkout_session::Entity::update_many()
                    .col_expr(
                        entity::checkout_session::Column::Status,
                        Expr::value(CheckoutStatus::Expired.as_str()),
                    )
                    .exec(&self.db)
                    .await
                    .expect("retire");
            }
            self.inner.create_checkout(request).await
        }
        async fn retrieve_checkout(&self, id: &str) -> Result<CheckoutSession, GatewayError> {
            self.inner.retrieve_checkout(id).await
        }
        async fn expire_checkout(&self, id: &str) -> Result<CheckoutSession, GatewayError> {
            self.inner.expire_checkout(id).await
        }
        async fn refund(&self, request: &RefundRequest) -> Result<RefundOutcome, GatewayError> {
            self.inner.refund(request).await
        }
        async fn retrieve_refund(&self, id: &str) -> Result<RefundOutcome, GatewayError> {
            self.inner.retrieve_refund(id).await
        }
        async fn find_refund(
            &self,
            charge: &str,
            key: &str,
        ) -> Result<Option<RefundOutcome>, GatewayError> {
            self.inner.find_refund(charge, key).await
        }
    }

    let Some(app) = spawn_app_full(
        backend,
        |_| {},
        |mut ctx| {
            ctx.gateway = Arc::new(RetiredMeanwhile {
                inner: ctx.gateway.clone(),
                db: ctx.db.clone(),
                done: AtomicBool::new(false),
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
    let open = app.invoice_of(&f.key, &f.invoice_session).await;
    let link = open["portalUrl"].as_str().expect("portal").to_string();

    let pressed = app.press_pay(&link, false).await;
    assert_ne!(
        pressed.status(),
        303,
        "not sent to a session nobody records"
    );
    let page = pressed.text().await.expect("html");
    assert!(page.contains("press Pay again"), "{page}");
    let rows = entity::checkout_session::Entity::find()
        .all(&app.ctx.db)
        .await
        .expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, CheckoutStatus::Expired);
    let id = rows[0]
        .gateway_session_id
        .clone()
        .expect("the session is remembered");
    let at_gateway = app.ctx.gateway.retrieve_checkout(&id).await.expect("read");
    assert_eq!(
        at_gateway.state,
        CheckoutState::Expired,
        "nobody can pay it"
    );

    // Pressing again opens a fresh attempt.
    assert_eq!(app.press_pay(&link, false).await.status(), 303);
}
