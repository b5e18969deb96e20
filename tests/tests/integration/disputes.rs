//! Issue 21, item 8: a chargeback is answered with evidence. When a dispute
//! opens (`charge.dispute.created`), what the system holds is gathered —
//! the gallery's log after the payment, the emails the client was sent,
//! the invoice and receipt, the studio's refund policy — and submitted to
//! the gateway once, before the deadline (Stripe: documents uploaded as
//! `dispute_evidence` files, then `POST /v1/disputes/{id}` with
//! `evidence[...]`), or, for a studio that reviews evidence, with one click
//! on the dashboard. The simulated gateway walks the same path.

use serde_json::{Value, json};
use tests::stripe_server::{Failure, Op, StripeServer};
use tests::{AUTO_PAY_EMAIL, Backend, Fixture, TestApp, spawn_app, spawn_app_with, stripe_event};

on_both_backends!(
    a_dispute_is_answered_once_with_the_gallery_log_through_stripe,
    a_studio_that_reviews_evidence_sends_it_with_one_click,
    the_simulated_gateway_disputes_its_test_card_and_takes_the_evidence,
);

const AGENT: &str = "DisputeTest/1.0";
const POLICY: &str = "Sessions are refundable up to 14 days before the shoot.\nDelivered photographs are not refundable.";

const DISPUTES: &str = "{ disputes { id gatewayId status reason evidenceStage evidenceDueBy closedAt
    evidenceSubmittedAt amount { minorUnits }
    evidence { customerEmailAddress serviceDate accessActivityLog logins downloads emails refundPolicy summary
               documents { field fileId } } } }";

async fn stripe_app(backend: Backend) -> Option<(TestApp, StripeServer)> {
    let stripe = StripeServer::start("sk_test_local").await;
    let base = stripe.uri();
    let app = spawn_app_with(backend, |s| {
        s.gateway.stripe_secret_key = Some("sk_test_local".to_string().into());
        s.gateway.stripe_api_base = base;
        s.gateway.stripe_webhook_secret = Some("whsec_test_local".to_string().into());
    })
    .await?;
    stripe.add_card("pm_1Visa", Some("cus_ava"), "visa", "4242");
    Some((app, stripe))
}

/// Ava's wedding (auto-pay) with three photos in its gallery, completed
/// and charged; her gallery is open.
async fn paid_wedding(app: &TestApp, card: &str) -> Fixture {
    let f = app.seed_studio_with_card("Golden Hour", card).await;
    let photos: Vec<Value> = (1..=3)
        .map(|n| json!({ "url": format!("https://cdn.example.com/ava/{n}.jpg"), "title": format!("Ava {n}") }))
        .collect();
    app.gql(
        &f.key,
        "mutation($i: AddGalleryPhotosInput!) { addGalleryPhotos(input: $i) { photos { id } } }",
        json!({ "i": { "sessionId": f.auto_pay_session, "photos": photos } }),
    )
    .await;
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.drain().await;
    let invoice = app.invoice_of(&f.key, &f.auto_pay_session).await;
    assert_eq!(invoice["status"], "PAID", "{invoice:#}");
    f
}

async fn photo_ids(app: &TestApp, f: &Fixture) -> Vec<String> {
    app.gql(
        &f.key,
        "query($id: ID!) { session(id: $id) { galleryPhotos { id } } }",
        json!({ "id": f.auto_pay_session }),
    )
    .await["session"]["galleryPhotos"]
        .as_array()
        .expect("photos")
        .iter()
        .map(|p| p["id"].as_str().expect("id").to_string())
        .collect()
}

async fn disputes(app: &TestApp, key: &str) -> Vec<Value> {
    app.gql(key, DISPUTES, json!({})).await["disputes"]
        .as_array()
        .expect("disputes")
        .clone()
}

async fn set_policy(app: &TestApp, key: &str, review: bool, policy: &str) -> Value {
    app.gql(
        key,
        "mutation($r: Boolean, $p: String) { setDisputePolicy(input: { reviewEvidence: $r, refundPolicy: $p }) {
            policy { reviewEvidence refundPolicy } userErrors { field message code } } }",
        json!({ "r": review, "p": policy }),
    )
    .await["setDisputePolicy"]
        .clone()
}

fn intent_of(stripe: &StripeServer) -> String {
    let intents = stripe.intents();
    assert_eq!(intents.len(), 1);
    intents[0]["id"].as_str().expect("pi").to_string()
}

/// How many `POST /v1/disputes/{id}` the server received.
async fn submissions(stripe: &StripeServer, id: &str) -> Vec<Option<String>> {
    let path = format!("/v1/disputes/{id}");
    stripe
        .calls()
        .await
        .into_iter()
        .filter(|(m, p, _)| m == "POST" && *p == path)
        .map(|(_, _, key)| key)
        .collect()
}

async fn a_dispute_is_answered_once_with_the_gallery_log_through_stripe(backend: Backend) {
    let Some((app, stripe)) = stripe_app(backend).await else {
        return;
    };
    let f = paid_wedding(&app, "pm_1Visa").await;
    let set = set_policy(&app, &f.key, false, POLICY).await;
    assert_eq!(set["userErrors"], json!([]), "{set}");
    let visit = app.gallery_login(AUTO_PAY_EMAIL, AGENT).await;
    let photos = photo_ids(&app, &f).await;
    assert_eq!(visit.download(&photos[0]).await, 303);
    assert_eq!(visit.download(&photos[2]).await, 303);

    let pi = intent_of(&stripe);
    let due_by = chrono::Utc::now().timestamp() + 7 * 86_400;
    let dispute = stripe.add_dispute("dp_1Ava", &pi, 279_182, due_by);
    // The submission goes through but its answer is lost: the retry looks
    // at the dispute and records it as answered, never sending it again.
    stripe.fail_next(Op::SubmitEvidence, Failure::After);
    let created = chrono::Utc::now().timestamp();
    let event = stripe_event(
        "evt_dp_1",
        "charge.dispute.created",
        created,
        dispute.clone(),
    );
    let (status, _) = app.send_webhook(&event).await;
    assert_eq!(status, 200);
    app.drain().await;

    assert_eq!(submissions(&stripe, "dp_1Ava").await.len(), 1, "sent once");
    let at_stripe = stripe.dispute("dp_1Ava").expect("dispute");
    assert_eq!(at_stripe["evidence_details"]["submission_count"], 1);
    assert_eq!(at_stripe["status"], "under_review");
    let evidence = &at_stripe["evidence"];
    assert_eq!(evidence["customer_email_address"], AUTO_PAY_EMAIL);
    assert_eq!(evidence["customer_name"], "Ava Martinez");
    let log = evidence["access_activity_log"].as_str().expect("log");
    assert_eq!(log.lines().count(), 3, "{log}");
    assert!(
        log.lines().next().expect("login").contains(&format!(
            "logged in to the gallery from 127.0.0.1 ({AGENT})"
        )),
        "{log}"
    );
    assert!(log.contains("downloaded Ava 1 at full resolution"), "{log}");
    assert!(log.contains("downloaded Ava 3 at full resolution"), "{log}");
    assert!(!log.contains("Ava 2"), "{log}");
    let summary = evidence["uncategorized_text"].as_str().expect("summary");
    assert!(
        summary.contains("logged in to the gallery 1 time(s) and downloaded 2 photo(s)"),
        "{summary}"
    );
    // Four documents, each an uploaded evidence file, each a PDF.
    let files = stripe.files();
    for field in [
        "service_documentation",
        "receipt",
        "customer_communication",
        "refund_policy",
    ] {
        let id = evidence[field]
            .as_str()
            .unwrap_or_else(|| panic!("{field}: {evidence:#}"));
        let (object, bytes) = files
            .iter()
            .find(|(f, _)| f["id"] == id)
            .unwrap_or_else(|| panic!("no file {id}"));
        assert_eq!(object["purpose"], "dispute_evidence");
        assert!(bytes.starts_with(b"%PDF"), "{field} is a PDF");
    }
    assert_eq!(stripe.violations(), Vec::<String>::new());

    let listed = disputes(&app, &f.key).await;
    assert_eq!(listed.len(), 1);
    let d = &listed[0];
    assert_eq!(d["gatewayId"], "dp_1Ava");
    assert_eq!(d["evidenceStage"], "SUBMITTED");
    assert_eq!(d["status"], "under_review");
    assert_eq!(d["amount"]["minorUnits"], 279_182);
    assert!(
        d["evidenceDueBy"].is_string() && d["evidenceSubmittedAt"].is_string(),
        "{d:#}"
    );
    assert_eq!(d["evidence"]["logins"], 1);
    assert_eq!(d["evidence"]["downloads"], 2);
    assert_eq!(d["evidence"]["refundPolicy"], POLICY);
    assert_eq!(d["evidence"]["documents"].as_array().map(Vec::len), Some(4));
    let emails = d["evidence"]["emails"].as_array().expect("emails");
    assert!(
        emails.iter().any(|e| e
            .as_str()
            .is_some_and(|e| e.contains(AUTO_PAY_EMAIL) && e.contains("Receipt"))),
        "{emails:?}"
    );

    // The same event again, or another event of the same dispute: nothing more.
    app.send_webhook(&event).await;
    let again = stripe_event("evt_dp_1b", "charge.dispute.created", created + 1, dispute);
    app.send_webhook(&again).await;
    app.drain().await;
    assert_eq!(submissions(&stripe, "dp_1Ava").await.len(), 1);
    assert_eq!(app.count("disputes").await, 1);

    // Won: the outcome is recorded, the gallery opens again.
    let mut won = stripe.dispute("dp_1Ava").expect("dispute");
    won["status"] = json!("won");
    let closed = stripe_event("evt_dp_1c", "charge.dispute.closed", created + 2, won);
    app.send_webhook(&closed).await;
    app.drain().await;
    let d = &disputes(&app, &f.key).await[0];
    assert_eq!(
        (d["status"].as_str(), d["closedAt"].is_string()),
        (Some("won"), true)
    );
    assert_eq!(d["evidenceStage"], "SUBMITTED");
    assert_eq!(visit.download(&photos[1]).await, 303);
}

async fn a_studio_that_reviews_evidence_sends_it_with_one_click(backend: Backend) {
    let Some((app, stripe)) = stripe_app(backend).await else {
        return;
    };
    let f = paid_wedding(&app, "pm_1Visa").await;
    let set = set_policy(&app, &f.key, true, "").await;
    assert_eq!(
        set["policy"],
        json!({ "reviewEvidence": true, "refundPolicy": null }),
        "{set}"
    );
    let too_long = set_policy(&app, &f.key, true, &"x".repeat(5001)).await;
    assert_eq!(
        too_long["userErrors"][0]["field"],
        json!(["input", "refundPolicy"]),
        "{too_long}"
    );
    assert_eq!(too_long["userErrors"][0]["code"], "INVALID_INPUT");

    let pi = intent_of(&stripe);
    let due_by = chrono::Utc::now().timestamp() + 7 * 86_400;
    let dispute = stripe.add_dispute("dp_2Ava", &pi, 279_182, due_by);
    let created = chrono::Utc::now().timestamp();
    app.send_webhook(&stripe_event(
        "evt_dp_2",
        "charge.dispute.created",
        created,
        dispute,
    ))
    .await;
    app.drain().await;
    assert!(
        submissions(&stripe, "dp_2Ava").await.is_empty(),
        "waits for the studio"
    );
    let d = &disputes(&app, &f.key).await[0];
    assert_eq!(d["evidenceStage"], "AWAITING_REVIEW", "{d:#}");
    assert_eq!(d["evidence"]["logins"], 0);
    assert_eq!(d["evidence"]["documents"], json!([]));
    let id = d["id"].as_str().expect("id").to_string();
    // Unless the studio says first, it goes by itself two days before the deadline.
    let deadline: Vec<_> = app
        .scheduled()
        .await
        .into_iter()
        .filter(|(k, _)| *k == format!("answer_dispute:dispute:{id}:deadline"))
        .map(|(_, at)| at.timestamp())
        .collect();
    assert_eq!(deadline, vec![due_by - 2 * 86_400]);

    // Another studio can neither see nor send it.
    let other = app.create_studio("Other Studio").await;
    assert_eq!(disputes(&app, &other).await, Vec::<Value>::new());
    let foreign = app
        .gql(
            &other,
            "mutation($d: ID!) { submitDisputeEvidence(input: { disputeId: $d }) { dispute { id } userErrors { field code } } }",
            json!({ "d": id }),
        )
        .await;
    assert_eq!(
        foreign["submitDisputeEvidence"]["userErrors"],
        json!([{ "field": ["input", "disputeId"], "code": "NOT_FOUND" }])
    );

    // The dashboard lists it with its Submit button; a forged form is refused.
    let browser = app.staff_browser(&f.key, "owner@golden.example").await;
    let page = tests::browsers::page_of(&browser, &format!("{}/dashboard", app.address)).await;
    assert!(page.contains("id=\"disputes\""), "{page}");
    assert!(
        page.contains("ready for your review") && page.contains("Submit evidence"),
        "{page}"
    );
    let submit = format!("{}/dashboard/disputes/{id}/submit", app.address);
    let forged = browser
        .post(&submit)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .expect("post");
    assert_eq!(forged.status(), 403);
    assert!(submissions(&stripe, "dp_2Ava").await.is_empty());

    // The first sending fails before doing anything: the retry looks, finds
    // nothing submitted, and sends under the next attempt's key.
    stripe.fail_next(Op::SubmitEvidence, Failure::Before);
    let clicked = browser
        .post(&submit)
        .form(&[("csrf", tests::csrf_field(&page).as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(clicked.status(), 303);
    app.drain().await;
    let keys = submissions(&stripe, "dp_2Ava").await;
    assert_eq!(
        keys,
        vec![
            Some("dispute_dp_2Ava_evidence_1".to_string()),
            Some("dispute_dp_2Ava_evidence_2".to_string())
        ]
    );
    let at_stripe = stripe.dispute("dp_2Ava").expect("dispute");
    assert_eq!(at_stripe["evidence_details"]["submission_count"], 1);
    assert!(
        at_stripe["evidence"].get("refund_policy").is_none(),
        "no policy, no document"
    );
    let d = &disputes(&app, &f.key).await[0];
    assert_eq!(d["evidenceStage"], "SUBMITTED");
    assert_eq!(d["evidence"]["documents"].as_array().map(Vec::len), Some(3));

    // A second click sends nothing more.
    let again = app
        .gql(
            &f.key,
            "mutation($d: ID!) { submitDisputeEvidence(input: { disputeId: $d }) { dispute { evidenceStage } userErrors { code } } }",
            json!({ "d": id }),
        )
        .await;
    assert_eq!(
        again["submitDisputeEvidence"]["dispute"]["evidenceStage"],
        "SUBMITTED"
    );
    // Nor does the deadline's own sending, once it comes.
    app.advance_scheduled_of("answer_dispute:").await;
    app.drain().await;
    assert_eq!(submissions(&stripe, "dp_2Ava").await.len(), 2);
    let page = tests::browsers::page_of(&browser, &format!("{}/dashboard", app.address)).await;
    assert!(
        page.contains("sent ") && !page.contains("Submit evidence"),
        "{page}"
    );
    assert_eq!(stripe.violations(), Vec::<String>::new());
}

async fn the_simulated_gateway_disputes_its_test_card_and_takes_the_evidence(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = paid_wedding(&app, "pm_card_createDispute").await;
    let set = set_policy(&app, &f.key, true, POLICY).await;
    assert_eq!(set["userErrors"], json!([]), "{set}");
    // The dispute opens two minutes after the charge: time to use the gallery.
    let pending: Vec<String> = app
        .scheduled()
        .await
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with("simulated_webhook:dispute:"))
        .collect();
    assert_eq!(pending.len(), 1, "{:?}", app.scheduled().await);
    let visit = app.gallery_login(AUTO_PAY_EMAIL, AGENT).await;
    let photos = photo_ids(&app, &f).await;
    assert_eq!(visit.download(&photos[1]).await, 303);
    app.advance_scheduled_of("simulated_webhook:dispute:").await;
    app.drain().await;
    // The studio reviews evidence and does not say: it goes by itself
    // two days before the deadline.
    let d = &disputes(&app, &f.key).await[0];
    assert_eq!(d["evidenceStage"], "AWAITING_REVIEW", "{d:#}");
    app.advance_scheduled_of("answer_dispute:").await;
    app.drain().await;

    let d = &disputes(&app, &f.key).await[0];
    assert!(
        d["gatewayId"]
            .as_str()
            .is_some_and(|g| g.starts_with("dp_sim_")),
        "{d:#}"
    );
    assert_eq!(d["reason"], "fraudulent");
    assert_eq!(d["evidenceStage"], "SUBMITTED");
    assert_eq!(d["evidence"]["downloads"], 1);
    // The simulated gateway closes it on the evidence: an access log wins.
    assert_eq!(
        (d["status"].as_str(), d["closedAt"].is_string()),
        (Some("won"), true),
        "{d:#}"
    );
    let documents = d["evidence"]["documents"].as_array().expect("documents");
    assert_eq!(documents.len(), 4, "the refund policy too");
    assert!(documents.iter().all(|doc| {
        doc["fileId"]
            .as_str()
            .is_some_and(|f| f.starts_with("file_sim_"))
    }));
    use sea_orm::EntityTrait;
    let stored = entity::simulated_dispute::Entity::find()
        .one(&app.ctx.db)
        .await
        .expect("query")
        .expect("the simulated dispute");
    let (count, evidence) = (stored.submission_count, stored.evidence.unwrap_or_default());
    assert_eq!(count, 1);
    assert!(
        evidence.contains("downloaded Ava 2 at full resolution"),
        "{evidence}"
    );
    // Won: the gallery is open again.
    assert_eq!(visit.download(&photos[0]).await, 303);

    // The same card on the simulated hosted page opens a dispute too.
    let invoice = {
        app.complete_session(&f.key, &f.invoice_session).await;
        app.drain().await;
        app.invoice_of(&f.key, &f.invoice_session).await
    };
    let portal = invoice["portalUrl"].as_str().expect("portal").to_string();
    assert_eq!(
        app.open_and_pay(&portal, "4000 0000 0000 0259")
            .await
            .status(),
        303
    );
    app.drain().await;
    let pending = app
        .scheduled()
        .await
        .into_iter()
        .filter(|(k, _)| k.starts_with("simulated_webhook:dispute:"))
        .count();
    assert_eq!(pending, 1);
}
