//! What a chaos run verifies, by SQL on the application's database and by
//! the SMTP sink's log: the end state of every session, and the invariants
//! that must hold whatever crashed when.

use crate::workload::Kind;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, QueryResult, Statement};
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

async fn rows(db: &DatabaseConnection, sql: &str) -> anyhow::Result<Vec<QueryResult>> {
    Ok(db
        .query_all_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await?)
}

async fn count(db: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    let rows = rows(db, sql).await?;
    match rows.first() {
        Some(row) => Ok(row.try_get::<i64>("", "n")?),
        None => Ok(0),
    }
}

/// Work that is due now or soon: outbox rows waiting or queued (a retry a
/// day away, a reminder next week is not), emails not yet sent, payments
/// whose outcome is not known yet.
pub async fn busy(db: &DatabaseConnection) -> anyhow::Result<(i64, i64, i64)> {
    let outbox = count(
        db,
        "SELECT COUNT(*) AS n FROM outbox WHERE status = 'ENQUEUED'
           OR (status = 'PENDING' AND (claimed_until IS NULL OR claimed_until < now() + interval '60 seconds'))",
    )
    .await?;
    let mail = count(
        db,
        "SELECT COUNT(*) AS n FROM notifications WHERE status IN ('PENDING', 'SENDING')",
    )
    .await?;
    let payments = count(
        db,
        "SELECT COUNT(*) AS n FROM payments WHERE status = 'PENDING'",
    )
    .await?;
    Ok((outbox, mail, payments))
}

/// One session as the database has it now.
#[derive(Debug, Clone)]
pub struct SessionState {
    pub session_status: String,
    pub invoice_status: Option<String>,
    pub failed_payments: i64,
    pub sent: Vec<String>,
    /// The session's live installment invoices, and how many are paid.
    pub installments: i64,
    pub installments_paid: i64,
}

pub async fn sessions(db: &DatabaseConnection) -> anyhow::Result<HashMap<String, SessionState>> {
    let mut states = HashMap::new();
    for row in rows(
        db,
        "SELECT s.id, s.status, i.status AS invoice_status,
                (SELECT COUNT(*) FROM payments p WHERE p.invoice_id = i.id AND p.status = 'FAILED') AS failed,
                (SELECT string_agg(n.kind, ',' ORDER BY n.kind) FROM notifications n
                  WHERE n.invoice_id = i.id AND n.status = 'SENT') AS sent,
                (SELECT COUNT(*) FROM invoices j WHERE j.session_id = s.id
                  AND j.kind = 'INSTALLMENT' AND j.status <> 'VOID') AS installments,
                (SELECT COUNT(*) FROM invoices j WHERE j.session_id = s.id
                  AND j.kind = 'INSTALLMENT' AND j.status = 'PAID') AS installments_paid
           FROM sessions s
           LEFT JOIN invoices i ON i.session_id = s.id AND i.status <> 'VOID' AND i.kind = 'FINAL'",
    )
    .await?
    {
        let id: i64 = row.try_get("", "id")?;
        let sent: Option<String> = row.try_get("", "sent")?;
        states.insert(
            id.to_string(),
            SessionState {
                session_status: row.try_get("", "status")?,
                invoice_status: row.try_get("", "invoice_status")?,
                failed_payments: row.try_get::<Option<i64>>("", "failed")?.unwrap_or(0),
                sent: sent
                    .map(|s| s.split(',').map(str::to_string).collect())
                    .unwrap_or_default(),
                installments: row.try_get("", "installments")?,
                installments_paid: row.try_get("", "installments_paid")?,
            },
        );
    }
    Ok(states)
}

/// Whether a session is where its client's kind says it must end, with its
/// email out. `None` when it is; otherwise what is still missing.
pub fn end_state_gap(kind: Kind, state: Option<&SessionState>) -> Option<String> {
    let Some(state) = state else {
        return Some("session missing".into());
    };
    if state.session_status != "COMPLETED" {
        return Some(format!("session {}", state.session_status));
    }
    let Some(invoice) = state.invoice_status.as_deref() else {
        return Some("no invoice".into());
    };
    let sent = |kind: &str| state.sent.iter().any(|k| k == kind);
    if kind == Kind::PlanAutoPay && (state.installments != 1 || state.installments_paid != 1) {
        return Some(format!(
            "{} installment invoices, {} paid; expected the retainer's, paid",
            state.installments, state.installments_paid
        ));
    }
    match kind {
        Kind::AutoPayGood | Kind::PortalPaid | Kind::PlanAutoPay => {
            if invoice != "PAID" {
                return Some(format!("invoice {invoice}, expected PAID"));
            }
            if !sent("RECEIPT") {
                return Some("receipt not sent".into());
            }
        }
        Kind::AutoPayDeclined => {
            if invoice != "OPEN" || state.failed_payments == 0 {
                return Some(format!(
                    "invoice {invoice} with {} failed payments, expected OPEN after a decline",
                    state.failed_payments
                ));
            }
            if !sent("INVOICE") {
                return Some("invoice email not sent".into());
            }
        }
        Kind::InvoiceOnly => {
            if invoice != "OPEN" {
                return Some(format!("invoice {invoice}, expected OPEN"));
            }
            if !sent("INVOICE") {
                return Some("invoice email not sent".into());
            }
        }
    }
    None
}

/// The sessions not in their end state yet, and the busy counts.
pub async fn unsettled(
    db: &DatabaseConnection,
    expected: &[(String, Kind)],
) -> anyhow::Result<Vec<String>> {
    let states = sessions(db).await?;
    let mut gaps: Vec<String> = expected
        .iter()
        .filter_map(|(id, kind)| {
            end_state_gap(*kind, states.get(id)).map(|gap| format!("session {id}: {gap}"))
        })
        .collect();
    let (outbox, mail, payments) = busy(db).await?;
    if outbox > 0 {
        gaps.push(format!("{outbox} outbox rows due"));
    }
    if mail > 0 {
        gaps.push(format!("{mail} emails not sent"));
    }
    if payments > 0 {
        gaps.push(format!("{payments} payments pending"));
    }
    Ok(gaps)
}

/// A moment a fault happened that could explain an email delivered twice:
/// a worker killed, the SMTP server cut, PostgreSQL stopped.
pub type SendWindowFault = (Instant, String);

pub struct Report {
    pub violations: Vec<String>,
    pub notes: Vec<String>,
}

/// The invariants, checked once every session has settled (or the wait
/// gave up).
pub async fn invariants(
    db: &DatabaseConnection,
    expected: &[(String, Kind)],
    mail: &[tests::smtp::Received],
    faults: &[SendWindowFault],
) -> anyhow::Result<Report> {
    let mut violations = Vec::new();
    let mut notes = Vec::new();

    // One live final invoice per completed session, and none for the
    // others (a plan's installment invoices are checked with the end states).
    for row in rows(
        db,
        "SELECT s.id, s.status, COUNT(i.id) AS n FROM sessions s
           LEFT JOIN invoices i ON i.session_id = s.id AND i.status <> 'VOID' AND i.kind = 'FINAL'
          GROUP BY s.id, s.status
         HAVING (s.status = 'COMPLETED' AND COUNT(i.id) <> 1) OR (s.status <> 'COMPLETED' AND COUNT(i.id) <> 0)",
    )
    .await?
    {
        let id: i64 = row.try_get("", "id")?;
        let n: i64 = row.try_get("", "n")?;
        let status: String = row.try_get("", "status")?;
        violations.push(format!("session {id} ({status}) has {n} live invoices"));
    }

    // End states.
    let states = sessions(db).await?;
    let mut wrong = 0;
    for (id, kind) in expected {
        if let Some(gap) = end_state_gap(*kind, states.get(id)) {
            wrong += 1;
            if wrong <= 10 {
                violations.push(format!("session {id} ({}): {gap}", kind.name()));
            }
        }
    }
    if wrong > 10 {
        violations.push(format!(
            "... {} more sessions not in their end state",
            wrong - 10
        ));
    }

    // Gap-free invoice numbers, per studio.
    let mut numbers: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for row in rows(
        db,
        "SELECT studio_id, number FROM invoices WHERE number IS NOT NULL",
    )
    .await?
    {
        let studio: i64 = row.try_get("", "studio_id")?;
        let number: String = row.try_get("", "number")?;
        let digits: String = number
            .chars()
            .rev()
            .take_while(char::is_ascii_digit)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        match digits.parse::<i64>() {
            Ok(n) => numbers.entry(studio).or_default().push(n),
            Err(_) => violations.push(format!("invoice number {number} has no sequence")),
        }
    }
    for (studio, mut seq) in numbers {
        seq.sort_unstable();
        let expected: Vec<i64> = (1..=seq.len() as i64).collect();
        if seq != expected {
            violations.push(format!(
                "studio {studio}: invoice numbers not gap-free/unique ({} numbers, highest {:?})",
                seq.len(),
                seq.last()
            ));
        }
    }

    // No double charge, by the gateway's own records: what it charged per
    // invoice (off-session charges keyed inv_{id}_..., hosted checkout
    // payments of sessions opened for the invoice).
    for row in rows(
        db,
        "SELECT i.id, i.total_minor, i.amount_paid_minor,
                (SELECT COUNT(*) FROM simulated_gateway_charges c
                  WHERE c.succeeded AND c.refund_of IS NULL
                    AND split_part(c.idempotency_key, '_', 1) = 'inv'
                    AND split_part(c.idempotency_key, '_', 2) = i.id::text) AS direct_n,
                (SELECT COALESCE(SUM(c.amount_minor), 0)::bigint FROM simulated_gateway_charges c
                  WHERE c.succeeded AND c.refund_of IS NULL
                    AND split_part(c.idempotency_key, '_', 1) = 'inv'
                    AND split_part(c.idempotency_key, '_', 2) = i.id::text) AS direct,
                (SELECT COUNT(*) FROM simulated_gateway_charges c
                   JOIN simulated_checkout_sessions cs
                     ON left(c.idempotency_key, length(cs.id) + 10) = 'checkout_' || cs.id || '_'
                  WHERE c.succeeded AND c.refund_of IS NULL AND cs.invoice_ref = i.id::text) AS hosted_n,
                (SELECT COALESCE(SUM(c.amount_minor), 0)::bigint FROM simulated_gateway_charges c
                   JOIN simulated_checkout_sessions cs
                     ON left(c.idempotency_key, length(cs.id) + 10) = 'checkout_' || cs.id || '_'
                  WHERE c.succeeded AND c.refund_of IS NULL AND cs.invoice_ref = i.id::text) AS hosted
           FROM invoices i",
    )
    .await?
    {
        let id: i64 = row.try_get("", "id")?;
        let total: i64 = row.try_get("", "total_minor")?;
        let paid: i64 = row.try_get("", "amount_paid_minor")?;
        let charges: i64 =
            row.try_get::<i64>("", "direct_n")? + row.try_get::<i64>("", "hosted_n")?;
        let charged = sum_i64(&row, "direct")? + sum_i64(&row, "hosted")?;
        if charges > 1 || charged > total {
            violations.push(format!(
                "invoice {id}: DOUBLE CHARGE: {charges} successful gateway charges, {charged} charged for a total of {total}"
            ));
        }
        if charged != paid {
            violations.push(format!(
                "invoice {id}: the gateway charged {charged}, the invoice records {paid} paid"
            ));
        }
    }

    // Ledgers.
    for row in rows(
        db,
        "SELECT i.id, i.total_minor, i.amount_credited_minor, i.amount_paid_minor, i.amount_refunded_minor, i.amount_due_minor,
                (SELECT COALESCE(SUM(p.amount_minor), 0)::bigint FROM payments p
                  WHERE p.invoice_id = i.id AND p.status = 'SUCCEEDED') AS payments
           FROM invoices i WHERE i.status <> 'VOID'",
    )
    .await?
    {
        let id: i64 = row.try_get("", "id")?;
        let total: i64 = row.try_get("", "total_minor")?;
        let credited: i64 = row.try_get("", "amount_credited_minor")?;
        let paid: i64 = row.try_get("", "amount_paid_minor")?;
        let refunded: i64 = row.try_get("", "amount_refunded_minor")?;
        let due: i64 = row.try_get("", "amount_due_minor")?;
        let payments = sum_i64(&row, "payments")?;
        if due != total - credited - paid + refunded {
            violations.push(format!(
                "invoice {id}: amount_due {due} != total {total} - credited {credited} - paid {paid} + refunded {refunded}"
            ));
        }
        if payments != paid {
            violations.push(format!(
                "invoice {id}: payments sum to {payments}, amount_paid is {paid}"
            ));
        }
    }

    // Nothing stuck or given up.
    let failed_jobs = count(
        db,
        "SELECT COUNT(*) AS n FROM outbox WHERE status = 'FAILED'",
    )
    .await?;
    if failed_jobs > 0 {
        violations.push(format!("{failed_jobs} outbox rows FAILED"));
    }
    let failed_mail = count(
        db,
        "SELECT COUNT(*) AS n FROM notifications WHERE status = 'FAILED'",
    )
    .await?;
    if failed_mail > 0 {
        violations.push(format!("{failed_mail} notifications FAILED"));
    }
    let (outbox, pending_mail, pending_payments) = busy(db).await?;
    if outbox + pending_mail + pending_payments > 0 {
        violations.push(format!(
            "stuck: {outbox} outbox rows due, {pending_mail} emails unsent, {pending_payments} payments pending"
        ));
    }

    // Each notification once, by the mail log.
    let mut sent_ids: HashMap<String, String> = HashMap::new();
    for row in rows(
        db,
        "SELECT message_id, kind, invoice_id, step FROM notifications WHERE status = 'SENT'",
    )
    .await?
    {
        let id: String = row.try_get("", "message_id")?;
        let kind: String = row.try_get("", "kind")?;
        let invoice: i64 = row.try_get("", "invoice_id")?;
        let step: String = row.try_get("", "step")?;
        sent_ids.insert(
            normalize_message_id(&id),
            format!("{kind} of invoice {invoice} ({step})"),
        );
    }
    let mut delivered: HashMap<String, Vec<Instant>> = HashMap::new();
    for message in mail {
        let parsed = tests::parse_email(message.raw.as_bytes());
        delivered
            .entry(normalize_message_id(&parsed.message_id))
            .or_default()
            .push(message.at);
    }
    for (id, what) in &sent_ids {
        if !delivered.contains_key(id) {
            violations.push(format!("{what} is SENT but never reached the SMTP server"));
        }
    }
    let mut explained = 0;
    for (id, times) in &delivered {
        if !sent_ids.contains_key(id) {
            violations.push(format!(
                "Message-ID {id} delivered {} times but no notification is SENT with it",
                times.len()
            ));
            continue;
        }
        if times.len() < 2 {
            continue;
        }
        // A second copy is within the guarantee only when the sender lost
        // its chance to mark the first one sent: a fault right then.
        let first = times.iter().min().copied().unwrap_or_else(Instant::now);
        let cause = faults.iter().find(|(at, _)| {
            let after = at.checked_duration_since(first).map(|d| d.as_secs_f64());
            let before = first.checked_duration_since(*at).map(|d| d.as_secs_f64());
            after.is_some_and(|d| d <= 3.0) || before.is_some_and(|d| d <= 1.0)
        });
        match cause {
            Some((_, fault)) => {
                explained += 1;
                notes.push(format!(
                    "{} delivered {} times (same Message-ID): inside the send window, {fault}",
                    sent_ids[id],
                    times.len()
                ));
            }
            None => violations.push(format!(
                "DUPLICATE EMAIL: {} delivered {} times with no fault in its send window",
                sent_ids[id],
                times.len()
            )),
        }
    }
    notes.push(format!(
        "emails: {} notifications sent, {} messages delivered, {explained} duplicates explained by a fault in the send window",
        sent_ids.len(),
        mail.len()
    ));
    Ok(Report { violations, notes })
}

/// A `SUM` (cast to bigint) or `COUNT` column.
fn sum_i64(row: &QueryResult, column: &str) -> anyhow::Result<i64> {
    Ok(row.try_get::<i64>("", column)?)
}

fn normalize_message_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}
