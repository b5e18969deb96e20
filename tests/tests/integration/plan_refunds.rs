//! Issue 19, item 8: a refund of a booking paid in parts is spread over its
//! payments, newest first, one refund per payment, with one email.

use super::installments::{app_at, at, bill_due_parts, book_on_plan, plan};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use tests::{Backend, TestApp};

on_both_backends!(a_refund_larger_than_the_last_part_is_spread_newest_payment_first);

async fn refund_session(app: &TestApp, key: &str, input: Value) -> Value {
    let data = app
        .gql(
            key,
            "mutation($i: RefundSessionInput!) { refundSession(input: $i) {
                refunds { id status amount { minorUnits } paymentId }
                userErrors { field code message } } }",
            json!({ "i": input }),
        )
        .await;
    data["refundSession"].clone()
}

/// Ava (auto-pay) books the wedding (USD 3,291.82) on four parts: USD
/// 1,000.00 at booking, on February 1 and on March 1, and the rest in May.
/// With the first three charged, the studio refunds USD 1,500.00 of the
/// session: exactly two refunds, USD 1,000.00 of the March payment and USD
/// 500.00 of the February one, two gateway refunds, two credit notes, one
/// email listing both. A replay makes nothing more; more than is left
/// (USD 1,500.01) is refused with nothing written.
async fn a_refund_larger_than_the_last_part_is_spread_newest_payment_first(backend: Backend) {
    let Some((app, clock)) = app_at(backend, at(2027, 1, 4, 15, 0)).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let (session, _) = book_on_plan(
        &app,
        &f,
        &f.auto_pay_client,
        json!([
            { "amount": "1000.00" },
            { "amount": "1000.00", "dueDate": "2027-02-01" },
            { "amount": "1000.00", "dueDate": "2027-03-01" },
            { "dueDate": "2027-05-01" }
        ]),
    )
    .await;
    app.drain().await;
    for day in [at(2027, 2, 1, 10, 0), at(2027, 3, 1, 10, 0)] {
        bill_due_parts(&app, &clock, day).await;
        app.advance_scheduled_of("charge:").await;
        app.drain().await;
    }
    let paid = plan(&app, &f.key, &session).await;
    assert_eq!(paid["totalPaid"]["minorUnits"], 300_000, "{paid}");
    let payments: Vec<(i64, i64)> = entity::payment::Entity::find()
        .filter(entity::payment::Column::Status.eq(entity::enums::PaymentStatus::Succeeded))
        .order_by_asc(entity::payment::Column::Id)
        .all(&app.ctx.db)
        .await
        .expect("payments")
        .into_iter()
        .map(|p| (p.id, p.invoice_id))
        .collect();
    assert_eq!(payments.len(), 3);
    let emails_before = app.emails_to(tests::AUTO_PAY_EMAIL).len();

    let request = json!({
        "sessionId": session, "amount": "1500.00", "reason": "Second shooter cancelled",
        "idempotencyKey": "spread-1"
    });
    let made = refund_session(&app, &f.key, request.clone()).await;
    assert_eq!(made["userErrors"], json!([]), "{made}");
    let refunds = made["refunds"].as_array().cloned().unwrap_or_default();
    let spread: Vec<(String, i64, &str)> = refunds
        .iter()
        .map(|r| {
            (
                r["paymentId"].as_str().unwrap_or("").to_string(),
                r["amount"]["minorUnits"].as_i64().unwrap_or(0),
                r["status"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        spread,
        vec![
            (payments[2].0.to_string(), 100_000, "SUCCEEDED"),
            (payments[1].0.to_string(), 50_000, "SUCCEEDED"),
        ],
        "newest payment first: {made}"
    );
    assert_eq!(app.count("refunds").await, 2);
    assert_eq!(
        app.count("simulated_gateway_charges WHERE refund_of IS NOT NULL")
            .await,
        2,
        "one gateway refund per PaymentIntent"
    );
    let notes: Vec<(i64, i64)> = entity::credit_note::Entity::find()
        .filter(entity::credit_note::Column::RefundId.is_not_null())
        .order_by_asc(entity::credit_note::Column::AmountMinor)
        .all(&app.ctx.db)
        .await
        .expect("credit notes")
        .into_iter()
        .map(|n| (n.invoice_id, n.amount_minor.get()))
        .collect();
    assert_eq!(
        notes,
        vec![(payments[1].1, 50_000), (payments[2].1, 100_000)]
    );
    app.drain().await;
    let told: Vec<_> = app.emails_to(tests::AUTO_PAY_EMAIL)[emails_before..]
        .iter()
        .filter(|e| e.subject.starts_with("Refund of"))
        .cloned()
        .collect();
    assert_eq!(told.len(), 1, "one email for the request: {told:?}");
    let email = &told[0];
    assert_eq!(email.subject, "Refund of USD 1,500.00 for “Wedding”");
    assert!(email.says("in 2 refunds"), "{}", email.text);
    assert!(
        email.says("USD 1,000.00, to your Visa •••• 4242, credit note CN-"),
        "{}",
        email.text
    );
    assert!(
        email.says("USD 500.00, to your Visa •••• 4242, credit note CN-"),
        "{}",
        email.text
    );
    let after = plan(&app, &f.key, &session).await;
    assert_eq!(
        after["totalPaid"]["minorUnits"],
        300_000 - 150_000,
        "{after}"
    );

    // A replay returns the same two refunds and makes nothing more.
    let again = refund_session(&app, &f.key, request).await;
    assert_eq!(again["refunds"], made["refunds"], "{again}");
    assert_eq!(app.count("refunds").await, 2);
    // The same key for another amount is refused.
    let reused = refund_session(
        &app,
        &f.key,
        json!({ "sessionId": session, "amount": "10.00", "idempotencyKey": "spread-1" }),
    )
    .await;
    assert_eq!(reused["userErrors"][0]["code"], "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(
        reused["userErrors"][0]["field"],
        json!(["input", "idempotencyKey"]),
        "{reused}"
    );
    // USD 1,500.00 is left to refund: a cent more is refused, nothing written.
    let above = refund_session(
        &app,
        &f.key,
        json!({ "sessionId": session, "amount": "1500.01", "idempotencyKey": "spread-2" }),
    )
    .await;
    assert_eq!(
        above["userErrors"],
        json!([{ "field": ["input", "amount"], "code": "INVALID_INPUT",
            "message": "the amount must be positive and at most the USD 1,500.00 paid for this session and not refunded yet" }]),
        "{above}"
    );
    assert_eq!(app.count("refunds").await, 2);
    drop(clock);
}
