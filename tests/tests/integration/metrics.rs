//! `metrics(from, to)` on fixed data and clocks, computed by each database.

use chrono::{DateTime, NaiveDate, Utc};
use entity::enums::*;
use entity::money::{Currency, Minor};
use entity::{invoice, notification, payment, session, studio};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::json;
use tests::{Backend, TestApp, spawn_app};

fn usd() -> Currency {
    Currency::parse("USD").expect("USD")
}

on_both_backends!(metrics_are_computed_in_the_database_from_fixed_data);

pub(crate) fn t(s: &str) -> DateTime<Utc> {
    s.parse().expect("timestamp")
}

fn day(s: &str) -> NaiveDate {
    s.parse().expect("date")
}

pub(crate) struct Spec {
    pub(crate) package: Option<&'static str>,
    pub(crate) completed: &'static str,
    pub(crate) issued: &'static str,
    pub(crate) due: &'static str,
    pub(crate) emailed: Option<&'static str>,
    pub(crate) paid: Option<&'static str>,
    pub(crate) status: InvoiceStatus,
    pub(crate) total: i64,
}

pub(crate) async fn insert(
    app: &TestApp,
    studio_id: i64,
    client_id: i64,
    n: usize,
    spec: Spec,
) -> i64 {
    let db = &app.ctx.db;
    let now = Utc::now();
    let s = session::ActiveModel {
        studio_id: Set(studio_id),
        client_id: Set(client_id),
        package_id: Set(None),
        package_name: Set(spec.package.map(str::to_string)),
        package_price_minor: Set(Some(Minor::new(spec.total))),
        package_taxable: Set(Some(false)),
        title: Set(format!("Session {n}")),
        scheduled_at: Set(t(spec.completed)),
        status: Set(SessionStatus::Completed),
        retainer_paid_minor: Set(Minor::ZERO),
        tax_rate_ids: Set(None),
        completed_at: Set(Some(t(spec.completed))),
        cancelled_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("session");
    let paid = spec.paid.map(t);
    let due = if spec.status == InvoiceStatus::Paid {
        0
    } else {
        spec.total
    };
    let inv = invoice::ActiveModel {
        studio_id: Set(studio_id),
        session_id: Set(s.id),
        client_id: Set(client_id),
        number: Set(Some(format!("M-{studio_id}-{n}"))),
        status: Set(spec.status),
        currency: Set(usd()),
        subtotal_minor: Set(Minor::new(spec.total)),
        tax_minor: Set(Minor::ZERO),
        credit_minor: Set(Minor::ZERO),
        total_minor: Set(Minor::new(spec.total)),
        amount_paid_minor: Set(Minor::new(spec.total - due)),
        amount_due_minor: Set(Minor::new(due)),
        issued_at: Set(t(spec.issued)),
        due_date: Set(day(spec.due)),
        paid_at: Set(paid),
        portal_salt: Set(format!("salt-{studio_id}-{n}")),
        portal_token_hash: Set(format!("hash-{studio_id}-{n}")),
        request_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("invoice");
    if let Some(sent) = spec.emailed {
        notification::ActiveModel {
            studio_id: Set(studio_id),
            invoice_id: Set(inv.id),
            kind: Set(NotificationKind::Invoice),
            step: Set("1".into()),
            recipient: Set("c@example.com".into()),
            subject: Set("Invoice".into()),
            status: Set(NotificationStatus::Sent),
            message_id: Set(format!("<m{}@x>", inv.id)),
            claimed_until: Set(None),
            created_at: Set(t(sent)),
            sent_at: Set(Some(t(sent))),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("notification");
    }
    if let Some(paid) = paid {
        pay(
            app,
            studio_id,
            inv.id,
            spec.total,
            paid,
            PaymentStatus::Succeeded,
        )
        .await;
    }
    inv.id
}

pub(crate) async fn pay(
    app: &TestApp,
    studio_id: i64,
    invoice_id: i64,
    amount: i64,
    at: DateTime<Utc>,
    status: PaymentStatus,
) {
    payment::ActiveModel {
        studio_id: Set(studio_id),
        invoice_id: Set(invoice_id),
        amount_minor: Set(Minor::new(amount)),
        currency: Set(usd()),
        status: Set(status),
        source: Set(PaymentSource::Portal),
        idempotency_key: Set(format!(
            "k-{invoice_id}-{}-{}",
            at.timestamp(),
            status.as_str()
        )),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(&app.ctx.db)
    .await
    .expect("payment");
}

async fn metrics_are_computed_in_the_database_from_fixed_data(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let key = app.create_studio("Golden Hour").await;
    let other_key = app.create_studio("Elsewhere").await;
    let studios = studio::Entity::find()
        .all(&app.ctx.db)
        .await
        .expect("studios");
    let (sid, other) = (studios[0].id, studios[1].id);
    // The aging date is `to` in the studio's time zone: New York.
    let mut ny: studio::ActiveModel = studios[0].clone().into();
    ny.time_zone = Set("America/New_York".into());
    ny.update(&app.ctx.db).await.expect("tz");
    let cid = app
        .create_client(&key, "Ava", "ava@example.com", "INVOICE")
        .await
        .parse::<i64>()
        .expect("id");
    let other_client = app
        .create_client(&other_key, "Zoe", "zoe@example.com", "INVOICE")
        .await
        .parse::<i64>()
        .expect("id");

    use InvoiceStatus::*;
    // A: emailed 120 s after completion; paid 4 days after issue.
    insert(
        &app,
        sid,
        cid,
        1,
        Spec {
            package: Some("Wedding"),
            completed: "2026-02-01T10:00:00Z",
            issued: "2026-02-01T10:00:30Z",
            due: "2026-02-15",
            emailed: Some("2026-02-01T10:02:00Z"),
            paid: Some("2026-02-05T10:00:30Z"),
            status: Paid,
            total: 100_000,
        },
    )
    .await;
    // B: auto-pay, paid 60 s after completion (50 s after issue), no package.
    insert(
        &app,
        sid,
        cid,
        2,
        Spec {
            package: None,
            completed: "2026-02-10T09:00:00Z",
            issued: "2026-02-10T09:00:10Z",
            due: "2026-02-24",
            emailed: None,
            paid: Some("2026-02-10T09:01:00Z"),
            status: Paid,
            total: 50_000,
        },
    )
    .await;
    // C: emailed 600 s after completion; paid 10 days after issue.
    insert(
        &app,
        sid,
        cid,
        3,
        Spec {
            package: Some("Portrait"),
            completed: "2026-02-03T12:00:00Z",
            issued: "2026-02-03T12:00:05Z",
            due: "2026-02-17",
            emailed: Some("2026-02-03T12:10:00Z"),
            paid: Some("2026-02-13T12:00:05Z"),
            status: Paid,
            total: 20_000,
        },
    )
    .await;
    // D: emailed after 300 s, open, due Feb 28: "current" on Feb 28 in New York
    // (it would be 1 day late on March 1 in UTC). A declined attempt too.
    let d = insert(
        &app,
        sid,
        cid,
        4,
        Spec {
            package: Some("Wedding"),
            completed: "2026-02-20T08:00:00Z",
            issued: "2026-02-20T08:00:05Z",
            due: "2026-02-28",
            emailed: Some("2026-02-20T08:05:00Z"),
            paid: None,
            status: Open,
            total: 30_000,
        },
    )
    .await;
    pay(
        &app,
        sid,
        d,
        30_000,
        t("2026-02-21T10:00:00Z"),
        PaymentStatus::Failed,
    )
    .await;
    // E: issued in January, open, due Jan 15: 44 days late on Feb 28.
    insert(
        &app,
        sid,
        cid,
        5,
        Spec {
            package: None,
            completed: "2026-01-10T10:00:00Z",
            issued: "2026-01-10T10:00:05Z",
            due: "2026-01-15",
            emailed: Some("2026-01-10T10:01:00Z"),
            paid: None,
            status: Open,
            total: 45_000,
        },
    )
    .await;
    // F: void, ignored everywhere.
    insert(
        &app,
        sid,
        cid,
        6,
        Spec {
            package: None,
            completed: "2026-02-11T10:00:00Z",
            issued: "2026-02-11T10:00:05Z",
            due: "2026-02-25",
            emailed: None,
            paid: None,
            status: Void,
            total: 99_000,
        },
    )
    .await;
    // H: paid in January: outside the revenue range.
    insert(
        &app,
        sid,
        cid,
        7,
        Spec {
            package: Some("Wedding"),
            completed: "2026-01-19T10:00:00Z",
            issued: "2026-01-19T10:00:00Z",
            due: "2026-02-02",
            emailed: None,
            paid: Some("2026-01-20T10:00:00Z"),
            status: Paid,
            total: 70_000,
        },
    )
    .await;
    // I: completed Feb 25 09:59, paid Mar 1 01:00 UTC (inside the range, March in UTC).
    insert(
        &app,
        sid,
        cid,
        8,
        Spec {
            package: Some("Wedding"),
            completed: "2026-02-25T09:59:00Z",
            issued: "2026-02-25T10:00:00Z",
            due: "2026-03-11",
            emailed: None,
            paid: Some("2026-03-01T01:00:00Z"),
            status: Paid,
            total: 10_000,
        },
    )
    .await;
    // Another studio's invoices never count.
    insert(
        &app,
        other,
        other_client,
        1,
        Spec {
            package: Some("Wedding"),
            completed: "2026-02-02T10:00:00Z",
            issued: "2026-02-02T10:00:00Z",
            due: "2026-02-03",
            emailed: None,
            paid: None,
            status: Open,
            total: 1_000_000,
        },
    )
    .await;

    let query = "query($from: DateTime!, $to: DateTime!) { metrics(from: $from, to: $to) {
        invoicesIssued invoicesPaid paymentCompletionRate
        invoiceProcessingTime { count p50Seconds p90Seconds }
        daysToCollection { count average median }
        outstanding { minorUnits }
        aging { bucket count amount { minorUnits } }
        revenueByMonth { month amount { minorUnits } }
        revenueByPackage { package amount { minorUnits } } } }";
    let data = app
        .gql(
            &key,
            query,
            json!({ "from": "2026-02-01T00:00:00Z", "to": "2026-03-01T03:00:00Z" }),
        )
        .await;
    let m = &data["metrics"];
    // Issued in range, not void: A B C D I; paid: A B C I.
    assert_eq!(m["invoicesIssued"], 5);
    assert_eq!(m["invoicesPaid"], 4);
    assert_eq!(m["paymentCompletionRate"], "0.8");
    // Processing: [60, 120, 300, 600, 313260] s -> p50 = 3rd = 300, p90 = 5th.
    assert_eq!(
        m["invoiceProcessingTime"],
        json!({ "count": 5, "p50Seconds": 300, "p90Seconds": 313_260 })
    );
    // Collection (paid in range: A B C I): [50, 313200, 345600, 864000] s;
    // average 1522850 / 4 / 86400 = 4.406 -> 4.41; median (313200 + 345600) / 2 = 3.8125 d -> 3.81.
    assert_eq!(
        m["daysToCollection"],
        json!({ "count": 4, "average": "4.41", "median": "3.81" })
    );
    // Open and issued before `to`: D (current in New York) + E (44 days late).
    assert_eq!(m["outstanding"]["minorUnits"], 75_000);
    assert_eq!(
        m["aging"],
        json!([
            { "bucket": "current", "count": 1, "amount": { "minorUnits": 30_000 } },
            { "bucket": "1-30", "count": 0, "amount": { "minorUnits": 0 } },
            { "bucket": "31-60", "count": 1, "amount": { "minorUnits": 45_000 } },
            { "bucket": "61-90", "count": 0, "amount": { "minorUnits": 0 } },
            { "bucket": "90+", "count": 0, "amount": { "minorUnits": 0 } },
        ])
    );
    assert_eq!(
        m["revenueByMonth"],
        json!([{ "month": "2026-02", "amount": { "minorUnits": 170_000 } }, { "month": "2026-03", "amount": { "minorUnits": 10_000 } }])
    );
    assert_eq!(
        m["revenueByPackage"],
        json!([
            { "package": "Wedding", "amount": { "minorUnits": 110_000 } },
            { "package": "No package", "amount": { "minorUnits": 50_000 } },
            { "package": "Portrait", "amount": { "minorUnits": 20_000 } },
        ])
    );

    // An empty period has no rates or percentiles rather than zeros.
    let empty = app
        .gql(
            &key,
            query,
            json!({ "from": "2025-01-01T00:00:00Z", "to": "2025-02-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(
        empty["metrics"]["paymentCompletionRate"],
        serde_json::Value::Null
    );
    assert_eq!(
        empty["metrics"]["invoiceProcessingTime"]["p50Seconds"],
        serde_json::Value::Null
    );
    // A reversed range is refused with a stable code.
    let bad = app
        .graphql(
            Some(&key),
            query,
            json!({ "from": "2026-03-01T00:00:00Z", "to": "2026-02-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(bad["errors"][0]["extensions"]["code"], "INVALID_INPUT");
}
