//! The studio's key metrics, computed in the database (SQLite and PostgreSQL).
//!
//! SQL does the counting, summing and ranking in integers (seconds, minor
//! units); ratios and averages are divided here with `Decimal`, so no float
//! ever enters a figure.
//!
//! Definitions:
//! - *Invoice processing time*: session completed -> invoice email sent or
//!   invoice paid, whichever came first, for invoices issued in the range;
//!   p50 and p90 by the nearest-rank method.
//! - *Payment completion rate*: invoices issued in the range that are paid,
//!   over all invoices issued in the range (void ones excluded).
//! - *Days to collection*: issued -> paid, for invoices paid in the range;
//!   average and median (mean of the two middle values for an even count).
//! - *Outstanding* and *aging*: what open invoices issued before `to` still
//!   owe, by days past due on the date of `to` in the studio's time zone.
//! - *Revenue*: successful payments made in the range net of the refunds
//!   (chargebacks included) that went back in the range, by calendar month
//!   (UTC) and by the package sold. A refund counts in the month it went
//!   back, so a month can be negative.
//!
//! Invoice processing time is measured in milliseconds (it is usually under
//! a second).

use crate::infra::error::DomainResult;
use crate::kernel::money::Minor;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, QueryResult, Statement, Value,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Percentiles {
    pub count: i64,
    /// Milliseconds: the workflow takes well under a second, so whole
    /// seconds would show every invoice as 0 or 1 s.
    pub p50_ms: Option<i64>,
    pub p90_ms: Option<i64>,
}

impl Percentiles {
    /// The median in whole seconds (rounded), for the deprecated field.
    pub fn p50_seconds(&self) -> Option<i64> {
        self.p50_ms.map(ms_to_seconds)
    }

    pub fn p90_seconds(&self) -> Option<i64> {
        self.p90_ms.map(ms_to_seconds)
    }
}

/// Rounds half away from zero, as `ROUND` did when seconds were measured.
fn ms_to_seconds(ms: i64) -> i64 {
    (ms.saturating_add(500 * ms.signum())) / 1000
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    pub count: i64,
    pub average_days: Option<Decimal>,
    pub median_days: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgingBucket {
    pub label: &'static str,
    pub count: i64,
    pub amount_minor: Minor,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revenue {
    pub key: String,
    pub amount_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metrics {
    pub invoices_issued: i64,
    pub invoices_paid: i64,
    /// Paid over issued, 0..=1 with 4 decimals; `None` when nothing was issued.
    pub payment_completion_rate: Option<Decimal>,
    pub processing: Percentiles,
    pub collection: Collection,
    pub outstanding_minor: Minor,
    pub aging: Vec<AgingBucket>,
    pub revenue_by_month: Vec<Revenue>,
    pub revenue_by_package: Vec<Revenue>,
    /// Tips and card surcharges received in the range, net of what
    /// refunds returned of them: the studio's own figures, outside the
    /// revenue (which is invoices' money).
    pub on_top: crate::kernel::on_top::OnTop,
}

pub const AGING_BUCKETS: [&str; 5] = ["current", "1-30", "31-60", "61-90", "90+"];

/// The few expressions that differ between the two databases.
struct Dialect(DatabaseBackend);

impl Dialect {
    fn param(&self, n: usize) -> String {
        match self.0 {
            DatabaseBackend::Postgres => format!("${n}"),
            _ => format!("?{n}"),
        }
    }

    fn seconds_between(&self, from: &str, to: &str) -> String {
        match self.0 {
            DatabaseBackend::Postgres => {
                format!("CAST(ROUND(EXTRACT(EPOCH FROM ({to} - {from}))) AS BIGINT)")
            }
            _ => format!("CAST(ROUND((julianday({to}) - julianday({from})) * 86400) AS INTEGER)"),
        }
    }

    /// Milliseconds, rounded: PostgreSQL keeps microseconds, SQLite's
    /// `julianday` reads fractional seconds to the millisecond.
    fn millis_between(&self, from: &str, to: &str) -> String {
        match self.0 {
            DatabaseBackend::Postgres => {
                format!("CAST(ROUND(EXTRACT(EPOCH FROM ({to} - {from})) * 1000) AS BIGINT)")
            }
            _ => {
                format!("CAST(ROUND((julianday({to}) - julianday({from})) * 86400000) AS INTEGER)")
            }
        }
    }

    fn days_past_due(&self, as_of_param: &str) -> String {
        match self.0 {
            DatabaseBackend::Postgres => format!("(CAST({as_of_param} AS DATE) - due_date)"),
            _ => format!("CAST(julianday({as_of_param}) - julianday(due_date) AS INTEGER)"),
        }
    }

    fn month_of(&self, column: &str) -> String {
        match self.0 {
            DatabaseBackend::Postgres => format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM')"),
            _ => format!("strftime('%Y-%m', {column})"),
        }
    }

    /// `SUM` of a BIGINT is NUMERIC on PostgreSQL; bring it back to an integer.
    fn sum(&self, expr: &str) -> String {
        format!("CAST(COALESCE(SUM({expr}), 0) AS BIGINT)")
    }
}

fn int(row: &QueryResult, column: &str) -> DomainResult<i64> {
    Ok(row.try_get::<Option<i64>>("", column)?.unwrap_or(0))
}

fn opt_int(row: &QueryResult, column: &str) -> DomainResult<Option<i64>> {
    Ok(row.try_get::<Option<i64>>("", column)?)
}

async fn rows(
    db: &DatabaseConnection,
    sql: String,
    values: Vec<Value>,
) -> DomainResult<Vec<QueryResult>> {
    Ok(db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            values,
        ))
        .await?)
}

/// Nearest-rank percentiles and the median over a derived table `d(s)`.
fn ranked(derived: &str) -> String {
    format!(
        "WITH d AS ({derived}),
         r AS (SELECT s, ROW_NUMBER() OVER (ORDER BY s) AS rn, COUNT(*) OVER () AS n FROM d)
         SELECT COUNT(*) AS n,
                MIN(CASE WHEN rn * 100 >= n * 50 THEN s END) AS p50,
                MIN(CASE WHEN rn * 100 >= n * 90 THEN s END) AS p90,
                CAST(COALESCE(SUM(s), 0) AS BIGINT) AS total,
                CAST(COALESCE(SUM(CASE WHEN rn = (n + 1) / 2 OR rn = (n + 2) / 2 THEN s END), 0) AS BIGINT) AS mid_sum,
                COUNT(CASE WHEN rn = (n + 1) / 2 OR rn = (n + 2) / 2 THEN 1 END) AS mid_count
         FROM r"
    )
}

const SECONDS_PER_DAY: i64 = 86_400;

fn days(seconds: i64, count: i64) -> Option<Decimal> {
    (count > 0).then(|| {
        (Decimal::from(seconds) / Decimal::from(count) / Decimal::from(SECONDS_PER_DAY))
            .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    })
}

pub async fn compute(
    db: &DatabaseConnection,
    studio_id: i64,
    time_zone: chrono_tz::Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> DomainResult<Metrics> {
    let d = Dialect(db.get_database_backend());
    let (p1, p2, p3) = (d.param(1), d.param(2), d.param(3));
    let range = vec![studio_id.into(), from.into(), to.into()];
    let issued = rows(
        db,
        format!(
            "SELECT COUNT(*) AS issued, COUNT(CASE WHEN status = 'PAID' THEN 1 END) AS paid
             FROM invoices WHERE studio_id = {p1} AND issued_at >= {p2} AND issued_at < {p3} AND status NOT IN ('VOID', 'DRAFT')"
        ),
        range.clone(),
    )
    .await?;
    let (invoices_issued, invoices_paid) = match issued.first() {
        Some(row) => (int(row, "issued")?, int(row, "paid")?),
        None => (0, 0),
    };

    let processing_durations = format!(
        "SELECT {secs} AS s FROM (
            SELECT s.completed_at AS started,
                   CASE WHEN n.sent_at IS NULL THEN i.paid_at
                        WHEN i.paid_at IS NULL THEN n.sent_at
                        WHEN n.sent_at < i.paid_at THEN n.sent_at
                        ELSE i.paid_at END AS finished
            FROM invoices i
            JOIN sessions s ON s.id = i.session_id
            LEFT JOIN notifications n ON n.invoice_id = i.id AND n.kind = 'INVOICE' AND n.status = 'SENT'
            WHERE i.studio_id = {p1} AND i.issued_at >= {p2} AND i.issued_at < {p3} AND i.kind = 'FINAL' AND s.completed_at IS NOT NULL
         ) x WHERE finished IS NOT NULL",
        secs = d.millis_between("started", "finished"),
    );
    let processing = match rows(db, ranked(&processing_durations), range.clone())
        .await?
        .first()
    {
        Some(row) => Percentiles {
            count: int(row, "n")?,
            p50_ms: opt_int(row, "p50")?,
            p90_ms: opt_int(row, "p90")?,
        },
        None => Percentiles {
            count: 0,
            p50_ms: None,
            p90_ms: None,
        },
    };

    let collection_durations = format!(
        "SELECT {secs} AS s FROM invoices
         WHERE studio_id = {p1} AND paid_at IS NOT NULL AND paid_at >= {p2} AND paid_at < {p3}",
        secs = d.seconds_between("issued_at", "paid_at"),
    );
    let collection = match rows(db, ranked(&collection_durations), range.clone())
        .await?
        .first()
    {
        Some(row) => {
            let n = int(row, "n")?;
            Collection {
                count: n,
                average_days: days(int(row, "total")?, n),
                median_days: days(int(row, "mid_sum")?, int(row, "mid_count")?),
            }
        }
        None => Collection {
            count: 0,
            average_days: None,
            median_days: None,
        },
    };

    let as_of = to.with_timezone(&time_zone).date_naive();
    let open = "status IN ('OPEN', 'PARTIALLY_PAID')";
    let aging_rows = rows(
        db,
        format!(
            "SELECT CASE WHEN d <= 0 THEN 'current' WHEN d <= 30 THEN '1-30' WHEN d <= 60 THEN '31-60'
                         WHEN d <= 90 THEN '61-90' ELSE '90+' END AS bucket,
                    COUNT(*) AS n, {sum} AS amount
             FROM (SELECT {days} AS d, amount_due_minor FROM invoices
                   WHERE studio_id = {p1} AND {open} AND issued_at < {p2}) x
             GROUP BY 1",
            sum = d.sum("amount_due_minor"),
            days = d.days_past_due(&p3),
        ),
        vec![studio_id.into(), to.into(), as_of.into()],
    )
    .await?;
    let mut aging: Vec<AgingBucket> = AGING_BUCKETS
        .iter()
        .map(|label| AgingBucket {
            label,
            count: 0,
            amount_minor: Minor::ZERO,
        })
        .collect();
    for row in &aging_rows {
        let label: String = row.try_get("", "bucket")?;
        if let Some(bucket) = aging.iter_mut().find(|b| b.label == label) {
            bucket.count = int(row, "n")?;
            bucket.amount_minor = Minor::new(int(row, "amount")?);
        }
    }
    let outstanding_minor = crate::kernel::money::checked_sum(aging.iter().map(|b| b.amount_minor))
        .ok_or_else(|| anyhow::anyhow!("outstanding amount overflows"))?;

    // Money in (payments) and money back (refunds) as one signed stream,
    // so every figure built on it is net of refunds.
    let paid_in_range = format!(
        "FROM (
            SELECT p.created_at AS at, p.amount_minor AS amount, s.package_name AS package_name
            FROM payments p JOIN invoices i ON i.id = p.invoice_id JOIN sessions s ON s.id = i.session_id
            WHERE p.studio_id = {p1} AND p.status = 'SUCCEEDED' AND p.created_at >= {p2} AND p.created_at < {p3}
            UNION ALL
            SELECT r.updated_at AS at, -r.amount_minor AS amount, s.package_name AS package_name
            FROM refunds r JOIN invoices i ON i.id = r.invoice_id JOIN sessions s ON s.id = i.session_id
            WHERE r.studio_id = {p1} AND r.status = 'SUCCEEDED' AND r.updated_at >= {p2} AND r.updated_at < {p3}
         ) m"
    );
    let revenue = |key: String| {
        format!(
            "SELECT {key} AS k, {sum} AS amount {paid_in_range} GROUP BY 1 ORDER BY 1",
            sum = d.sum("m.amount"),
        )
    };
    let collect = |rows: Vec<QueryResult>| -> DomainResult<Vec<Revenue>> {
        rows.iter()
            .map(|row| {
                Ok(Revenue {
                    key: row.try_get("", "k")?,
                    amount_minor: int(row, "amount")?,
                })
            })
            .collect()
    };
    let revenue_by_month = collect(rows(db, revenue(d.month_of("m.at")), range.clone()).await?)?;
    let mut revenue_by_package = collect(
        rows(
            db,
            revenue("COALESCE(m.package_name, 'No package')".into()),
            range.clone(),
        )
        .await?,
    )?;
    revenue_by_package.sort_by(|a, b| b.amount_minor.cmp(&a.amount_minor).then(a.key.cmp(&b.key)));

    Ok(Metrics {
        invoices_issued,
        invoices_paid,
        payment_completion_rate: (invoices_issued > 0).then(|| {
            (Decimal::from(invoices_paid) / Decimal::from(invoices_issued))
                .round_dp_with_strategy(4, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
                .normalize()
        }),
        processing,
        collection,
        outstanding_minor,
        aging,
        revenue_by_month,
        revenue_by_package,
        on_top: on_top_in(db, &d, range).await?,
    })
}

/// Tips and surcharges received in the range, net of what refunds
/// returned of them.
async fn on_top_in(
    db: &DatabaseConnection,
    d: &Dialect,
    range: Vec<Value>,
) -> DomainResult<crate::kernel::on_top::OnTop> {
    let (p1, p2, p3) = (d.param(1), d.param(2), d.param(3));
    let sql = format!(
        "SELECT {tips} AS tips, {surcharges} AS surcharges FROM (
            SELECT tip_minor AS t, surcharge_minor AS s FROM payments
            WHERE studio_id = {p1} AND status = 'SUCCEEDED' AND created_at >= {p2} AND created_at < {p3}
            UNION ALL
            SELECT -tip_minor AS t, -surcharge_minor AS s FROM refunds
            WHERE studio_id = {p1} AND status = 'SUCCEEDED' AND updated_at >= {p2} AND updated_at < {p3}
         ) x",
        tips = d.sum("x.t"),
        surcharges = d.sum("x.s"),
    );
    let Some(row) = rows(db, sql, range).await?.into_iter().next() else {
        return Ok(crate::kernel::on_top::OnTop::ZERO);
    };
    Ok(crate::kernel::on_top::OnTop {
        surcharge: Minor::new(int(&row, "surcharges")?),
        tip: Minor::new(int(&row, "tips")?),
    })
}
