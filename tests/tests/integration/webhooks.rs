//! Webhooks in: `POST /webhooks/stripe` verifies Stripe's signature, stores
//! each event once, tolerates any delivery order, and moves payments,
//! refunds, invoices and gallery access through the same writers as the API.
//! The simulated gateway signs and delivers its own events, so the path runs
//! end to end here; tests also play the processor with hand-made events.

use entity::enums::GalleryLevel;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tests::{AUTO_PAY_EMAIL, Backend, TestApp, spawn_app, spawn_app_full, stripe_event};

on_both_backends!(
    the_simulated_gateway_delivers_signed_webhooks_that_count_once,
    forged_stale_and_replayed_webhooks_change_nothing,
    a_dispute_locks_the_gallery_and_a_lost_dispute_is_a_chargeback,
    refund_events_in_any_order_settle_the_refund_once,
    a_webhook_settles_a_payment_whose_answer_never_came,
);

const PAYMENTS: &str = "query($id: ID!) { session(id: $id) { invoice {
    id status amountDue { minorUnits } amountPaid { minorUnits } amountRefunded { minorUnits }
    total { minorUnits }
    payments { id status gatewayReference amount { minorUnits } amountRefunded { minorUnits } disputedAt }
    refunds { status amount { minorUnits } reason creditNote { number } }
    amountCredited { minorUnits }
    auditTrail { event actor detail }
} } }";

async fn invoice(app: &TestApp, key: &str, session: &str) -> Value {
    app.gql(key, PAYMENTS, json!({ "id": session })).await["session"]["invoice"].clone()
}

fn events_of(invoice: &Value, kind: &str) -> Vec<Value> {
    invoice["auditTrail"]
        .as_array()
        .expect("trail")
        .iter()
        .filter(|e| e["event"] == kind)
        .cloned()
        .collect()
}

async fn gallery_level(app: &TestApp, invoice_id: &str) -> GalleryLevel {
    let id: i64 = invoice_id.parse().expect("numeric id");
    entity::gallery_access::Entity::find()
        .filter(entity::gallery_access::Column::InvoiceId.eq(id))
        .one(&app.ctx.db)
        .await
        .expect("gallery query")
        .expect("gallery access row")
        .level
}

async fn refund(
    app: &TestApp,
    key: &str,
    payment: &str,
    amount: Option<&str>,
    idem: &str,
) -> Value {
    app.gql(
        key,
        "mutation($i: RefundPaymentInput!) { refundPayment(input: $i) {
            refund { id status amount { minorUnits } } userErrors { field message code } } }",
        json!({ "i": { "paymentId": payment, "amount": amount, "idempotencyKey": idem, "reason": "test" } }),
    )
    .await["refundPayment"]
        .clone()
}

/// A charge and a refund through the simulated gateway each produce one
/// signed event, delivered through the queue and applied once: the API call
/// and the webhook confirming it never count the money twice.
async fn the_simulated_gateway_delivers_signed_webhooks_that_count_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;
    let paid = invoice(&app, &f.key, &f.auto_pay_session).await;
    assert_eq!(paid["status"], "PAID", "{paid:#}");
    assert_eq!(paid["amountPaid"]["minorUnits"], 279_182);
    assert_eq!(events_of(&paid, "PAYMENT_SUCCEEDED").len(), 1, "{paid:#}");
    let stored = app.webhook_events().await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].0, "payment_intent.succeeded");
    assert_eq!(stored[0].1, "PROCESSED", "{stored:?}");

    let payment = paid["payments"][0]["id"].as_str().expect("payment id");
    let done = refund(&app, &f.key, payment, Some("300.00"), "sim-refund-1").await;
    assert_eq!(done["refund"]["status"], "SUCCEEDED", "{done:#}");
    app.drain().await;
    let refunded = invoice(&app, &f.key, &f.auto_pay_session).await;
    // Settled with its credit note: still paid, nothing owed.
    assert_eq!(refunded["status"], "PAID", "{refunded:#}");
    assert_eq!(refunded["amountRefunded"]["minorUnits"], 30_000);
    assert_eq!(refunded["amountDue"]["minorUnits"], 0);
    assert_eq!(events_of(&refunded, "REFUND_SUCCEEDED").len(), 1);
    let stored = app.webhook_events().await;
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert_eq!(stored[1].0, "refund.updated");
    assert_eq!(stored[1].1, "PROCESSED", "{stored:?}");
    assert_eq!(
        app.emails_to(AUTO_PAY_EMAIL)
            .iter()
            .filter(|e| e.subject.starts_with("Receipt"))
            .count(),
        1,
        "one receipt for one payment"
    );
}

/// Signatures are checked before anything is read: a missing, forged, stale
/// or tampered request is refused with a stable code and stores nothing; a
/// replayed event is acknowledged and changes nothing.
async fn forged_stale_and_replayed_webhooks_change_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let now = chrono::Utc::now().timestamp();
    let event = stripe_event(
        "evt_forged_1",
        "customer.created",
        now,
        json!({ "id": "cus_1", "object": "customer" }),
    );
    let body = serde_json::to_vec(&event).expect("json");
    let secret = app.webhook_secret();
    let sign = domain::infra::signature::sign;

    let (status, answer) = app.post_webhook_raw(&body, None).await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (400, json!("SIGNATURE_MISSING"))
    );
    let forged = sign("whsec_not_the_secret", now, &body);
    let (status, answer) = app.post_webhook_raw(&body, Some(&forged)).await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (400, json!("SIGNATURE_MISMATCH"))
    );
    let stale = sign(&secret, now - 301, &body);
    let (status, answer) = app.post_webhook_raw(&body, Some(&stale)).await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (400, json!("TIMESTAMP_OUTSIDE_TOLERANCE"))
    );
    let signed = sign(&secret, now, &body);
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    let (status, answer) = app.post_webhook_raw(&tampered, Some(&signed)).await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (400, json!("SIGNATURE_MISMATCH"))
    );
    let (status, answer) = app
        .post_webhook_raw(b"not json", Some(&sign(&secret, now, b"not json")))
        .await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (400, json!("MALFORMED_EVENT"))
    );
    assert_eq!(
        app.count("webhook_events").await,
        0,
        "nothing refused is stored"
    );

    let (status, answer) = app.post_webhook_raw(&body, Some(&signed)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["status"], "ignored",
        "an unhandled type is acknowledged"
    );
    let (status, answer) = app.post_webhook_raw(&body, Some(&signed)).await;
    assert_eq!(
        (status, answer["status"].clone()),
        (200, json!("duplicate"))
    );
    assert_eq!(app.count("webhook_events").await, 1);
}

/// A chargeback: the dispute locks the gallery at once; when it is lost the
/// money is recorded as refunded and the invoice is owed again. A dispute
/// event that arrives after the close (older than it) is stale and skipped.
async fn a_dispute_locks_the_gallery_and_a_lost_dispute_is_a_chargeback(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;
    let paid = invoice(&app, &f.key, &f.auto_pay_session).await;
    let invoice_id = paid["id"].as_str().expect("id").to_string();
    let intent = paid["payments"][0]["gatewayReference"]
        .as_str()
        .expect("reference")
        .to_string();
    assert_eq!(gallery_level(&app, &invoice_id).await, GalleryLevel::Full);

    let t0 = chrono::Utc::now().timestamp() - 120;
    let dispute = |status: &str| {
        json!({ "id": "dp_1", "object": "dispute", "amount": 279_182, "currency": "usd",
                "payment_intent": intent, "charge": "ch_1", "status": status, "reason": "fraudulent" })
    };
    let (status, answer) = app
        .send_webhook(&stripe_event(
            "evt_dp_open",
            "charge.dispute.created",
            t0,
            dispute("needs_response"),
        ))
        .await;
    assert_eq!(
        (status, answer["status"].clone()),
        (200, json!("processed")),
        "{answer}"
    );
    app.drain().await;
    let disputed = invoice(&app, &f.key, &f.auto_pay_session).await;
    assert!(
        disputed["payments"][0]["disputedAt"].is_string(),
        "{disputed:#}"
    );
    assert_eq!(
        events_of(&disputed, "DISPUTE_OPENED")[0]["actor"],
        "webhook:stripe"
    );
    assert_eq!(gallery_level(&app, &invoice_id).await, GalleryLevel::Locked);

    let (status, _) = app
        .send_webhook(&stripe_event(
            "evt_dp_lost",
            "charge.dispute.closed",
            t0 + 60,
            dispute("lost"),
        ))
        .await;
    assert_eq!(status, 200);
    app.drain().await;
    let lost = invoice(&app, &f.key, &f.auto_pay_session).await;
    assert_eq!(lost["status"], "OPEN", "{lost:#}");
    assert_eq!(lost["amountRefunded"]["minorUnits"], 279_182);
    assert_eq!(lost["amountDue"]["minorUnits"], 279_182);
    assert_eq!(lost["refunds"][0]["reason"], "chargeback: dispute lost");
    // Only a chargeback makes money owed again: no credit note, nothing
    // credited, no refund confirmation.
    assert!(lost["refunds"][0]["creditNote"].is_null(), "{lost:#}");
    assert_eq!(lost["amountCredited"]["minorUnits"], 0);
    assert!(
        !app.emails_to(AUTO_PAY_EMAIL)
            .iter()
            .any(|e| e.subject.starts_with("Refund of")),
        "a chargeback is not a refund by agreement"
    );
    assert!(lost["payments"][0]["disputedAt"].is_null(), "{lost:#}");
    assert_eq!(
        gallery_level(&app, &invoice_id).await,
        GalleryLevel::Preview
    );

    // A late `updated` event about the same dispute, created before the
    // close, must not reopen it; the lost dispute replayed changes nothing.
    let (_, answer) = app
        .send_webhook(&stripe_event(
            "evt_dp_late",
            "charge.dispute.created",
            t0 + 30,
            dispute("needs_response"),
        ))
        .await;
    assert_eq!(answer["status"], "ignored", "{answer}");
    assert!(
        answer["detail"].as_str().unwrap_or("").starts_with("stale"),
        "{answer}"
    );
    let (_, answer) = app
        .send_webhook(&stripe_event(
            "evt_dp_lost",
            "charge.dispute.closed",
            t0 + 60,
            dispute("lost"),
        ))
        .await;
    assert_eq!(answer["status"], "duplicate");
    app.drain().await;
    let after = invoice(&app, &f.key, &f.auto_pay_session).await;
    assert_eq!(after, lost, "stale and replayed events change nothing");
}

/// A refund the processor only accepted (`pending`) is settled by its
/// webhook; `refund.updated` may arrive before `refund.created`, and a refund
/// made in the processor's dashboard is recorded too.
async fn refund_events_in_any_order_settle_the_refund_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;
    let paid = invoice(&app, &f.key, &f.auto_pay_session).await;
    let intent = paid["payments"][0]["gatewayReference"]
        .as_str()
        .expect("reference")
        .to_string();
    let t0 = chrono::Utc::now().timestamp() - 60;
    let refund_object = |status: &str| {
        json!({ "id": "re_dashboard_1", "object": "refund", "amount": 10_000, "currency": "usd",
                "payment_intent": intent, "status": status, "metadata": {} })
    };
    // `updated` (succeeded) overtakes `created` (pending).
    let (_, answer) = app
        .send_webhook(&stripe_event(
            "evt_re_upd",
            "refund.updated",
            t0 + 5,
            refund_object("succeeded"),
        ))
        .await;
    assert_eq!(answer["status"], "processed", "{answer}");
    let (_, answer) = app
        .send_webhook(&stripe_event(
            "evt_re_new",
            "refund.created",
            t0,
            refund_object("pending"),
        ))
        .await;
    assert_eq!(answer["status"], "ignored", "{answer}");
    app.drain().await;
    let after = invoice(&app, &f.key, &f.auto_pay_session).await;
    // A refund made in the gateway's dashboard is a refund by agreement
    // too: credited, so still paid.
    assert_eq!(after["status"], "PAID", "{after:#}");
    assert_eq!(after["amountRefunded"]["minorUnits"], 10_000);
    assert_eq!(after["amountDue"]["minorUnits"], 0);
    assert_eq!(
        after["refunds"].as_array().map(Vec::len),
        Some(1),
        "{after:#}"
    );
    assert_eq!(after["refunds"][0]["status"], "SUCCEEDED");
    assert_eq!(events_of(&after, "REFUND_SUCCEEDED").len(), 1);
    assert_eq!(
        after["payments"][0]["amountRefunded"]["minorUnits"], 10_000,
        "{after:#}"
    );
}

/// The client paid on the hosted page, but the session cannot be read when
/// the client comes back: the return page says "processing" and the
/// gateway's own `checkout.session.completed` settles it, exactly once.
async fn a_webhook_settles_a_payment_whose_answer_never_came(backend: Backend) {
    use async_trait::async_trait;
    use domain::ports::gateway::{
        ChargeRequest, CheckoutRequest, CheckoutSession, GatewayError, IntentState, PaymentGateway,
        PaymentMethodDetails, RefundOutcome, RefundRequest,
    };
    use std::sync::Arc;

    struct LostAnswers(Arc<dyn PaymentGateway>);

    #[async_trait]
    impl PaymentGateway for LostAnswers {
        async fn payment_method(&self, token: &str) -> Result<PaymentMethodDetails, GatewayError> {
            self.0.payment_method(token).await
        }
        async fn create_intent(&self, request: &ChargeRequest) -> Result<String, GatewayError> {
            self.0.create_intent(request).await
        }
        async fn confirm_intent(&self, id: &str, key: &str) -> Result<IntentState, GatewayError> {
            self.0.confirm_intent(id, key).await?;
            Err(GatewayError::Unavailable("timed out after sending".into()))
        }
        async fn retrieve_intent(&self, _id: &str) -> Result<IntentState, GatewayError> {
            Err(GatewayError::Unavailable("timed out".into()))
        }
        async fn find_intent(&self, key: &str) -> Result<Option<String>, GatewayError> {
            self.0.find_intent(key).await
        }
        async fn retrieve_refund(&self, id: &str) -> Result<RefundOutcome, GatewayError> {
            self.0.retrieve_refund(id).await
        }
        async fn find_refund(
            &self,
            charge: &str,
            key: &str,
        ) -> Result<Option<RefundOutcome>, GatewayError> {
            self.0.find_refund(charge, key).await
        }
        async fn create_checkout(
            &self,
            request: &CheckoutRequest,
        ) -> Result<CheckoutSession, GatewayError> {
            self.0.create_checkout(request).await
        }
        async fn retrieve_checkout(&self, _id: &str) -> Result<CheckoutSession, GatewayError> {
            Err(GatewayError::Unavailable("timed out".into()))
        }
        async fn payment_intent_card(
            &self,
            id: &str,
        ) -> Result<Option<PaymentMethodDetails>, GatewayError> {
            self.0.payment_intent_card(id).await
        }
        async fn refund(&self, request: &RefundRequest) -> Result<RefundOutcome, GatewayError> {
            self.0.refund(request).await
        }
    }

    let Some(app) = spawn_app_full(
        backend,
        |s| s.worker.resolve_payment_after_secs = 3600,
        |mut ctx| {
            ctx.gateway = Arc::new(LostAnswers(ctx.gateway.clone()));
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
    let hosted = app.checkout_url(&link, false).await;
    let paid = app.pay_on_hosted_page(&hosted, "4242424242424242").await;
    assert_eq!(paid.status(), 303);
    let page = app.follow(&paid).await.text().await.expect("html");
    // The return could not read the session; the page says "processing"
    // unless the simulated webhook (delivered by the in-process worker) got
    // there first. Either way the webhook is what settles it (below).
    assert!(
        page.contains("Your payment is processing") || page.contains("Your payment was received"),
        "{page}"
    );
    app.drain().await;
    let page = app.follow(&paid).await.text().await.expect("html");
    assert!(page.contains("Your payment was received"), "{page}");
    let settled = invoice(&app, &f.key, &f.invoice_session).await;
    assert_eq!(settled["status"], "PAID", "{settled:#}");
    assert_eq!(settled["payments"][0]["status"], "SUCCEEDED");
    let succeeded = events_of(&settled, "PAYMENT_SUCCEEDED");
    assert_eq!(succeeded.len(), 1, "{settled:#}");
    assert_eq!(succeeded[0]["actor"], "webhook:stripe");
    assert_eq!(app.count("simulated_gateway_charges").await, 1);
}
