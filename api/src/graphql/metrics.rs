//! The studio's key metrics for a period (`metrics`), computed in the database.

use super::common::{Caller, domain_error};
use super::money::Money;
use async_graphql::{Context, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use domain::kernel::money::{Currency, Minor};
use rust_decimal::Decimal;

/// Invoice processing time: session completed -> invoice sent or paid.
#[derive(SimpleObject)]
pub struct ProcessingTime {
    /// Invoices measured.
    pub count: i64,
    /// Median, in milliseconds.
    pub p50_milliseconds: Option<i64>,
    /// 90th percentile, in milliseconds.
    pub p90_milliseconds: Option<i64>,
    #[graphql(deprecation = "Whole seconds hide sub-second times: use `p50Milliseconds`.")]
    pub p50_seconds: Option<i64>,
    #[graphql(deprecation = "Whole seconds hide sub-second times: use `p90Milliseconds`.")]
    pub p90_seconds: Option<i64>,
}

/// Issued -> paid, for invoices paid in the range.
#[derive(SimpleObject)]
pub struct DaysToCollection {
    pub count: i64,
    pub average: Option<Decimal>,
    pub median: Option<Decimal>,
}

#[derive(SimpleObject)]
pub struct AgingBucket {
    /// `current`, `1-30`, `31-60`, `61-90` or `90+` days past due.
    pub bucket: String,
    pub count: i64,
    pub amount: Money,
}

#[derive(SimpleObject)]
pub struct MonthRevenue {
    /// `YYYY-MM` (UTC).
    pub month: String,
    pub amount: Money,
}

#[derive(SimpleObject)]
pub struct PackageRevenue {
    pub package: String,
    pub amount: Money,
}

/// The studio's key metrics for a period, computed in the database.
#[derive(SimpleObject)]
pub struct Metrics {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Invoices issued in the period (void ones excluded).
    pub invoices_issued: i64,
    /// Of those, paid in full.
    pub invoices_paid: i64,
    /// `invoicesPaid / invoicesIssued` (0 to 1), null when nothing was issued.
    pub payment_completion_rate: Option<Decimal>,
    pub invoice_processing_time: ProcessingTime,
    pub days_to_collection: DaysToCollection,
    /// What open invoices issued before `to` still owe.
    pub outstanding: Money,
    /// Open invoices by days past due on the date of `to` (studio time zone).
    pub aging: Vec<AgingBucket>,
    pub revenue_by_month: Vec<MonthRevenue>,
    pub revenue_by_package: Vec<PackageRevenue>,
    /// Tips received in the range, net of tips refunded; not part of the
    /// revenue figures (which are invoices' money).
    pub tips: Money,
    /// Card surcharges received in the range, net of what refunds
    /// returned of them; not part of the revenue figures either.
    pub surcharges: Money,
}

impl Metrics {
    fn new(
        m: domain::read::metrics::Metrics,
        currency: Currency,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Self {
        Self {
            from,
            to,
            invoices_issued: m.invoices_issued,
            invoices_paid: m.invoices_paid,
            payment_completion_rate: m.payment_completion_rate,
            invoice_processing_time: ProcessingTime {
                count: m.processing.count,
                p50_milliseconds: m.processing.p50_ms,
                p90_milliseconds: m.processing.p90_ms,
                p50_seconds: m.processing.p50_seconds(),
                p90_seconds: m.processing.p90_seconds(),
            },
            days_to_collection: DaysToCollection {
                count: m.collection.count,
                average: m.collection.average_days,
                median: m.collection.median_days,
            },
            outstanding: Money::of(m.outstanding_minor, currency),
            aging: m
                .aging
                .into_iter()
                .map(|b| AgingBucket {
                    bucket: b.label.to_string(),
                    count: b.count,
                    amount: Money::of(b.amount_minor, currency),
                })
                .collect(),
            revenue_by_month: m
                .revenue_by_month
                .into_iter()
                .map(|r| MonthRevenue {
                    month: r.key,
                    amount: Money::of(Minor::new(r.amount_minor), currency),
                })
                .collect(),
            tips: Money::of(m.on_top.tip, currency),
            surcharges: Money::of(m.on_top.surcharge, currency),
            revenue_by_package: m
                .revenue_by_package
                .into_iter()
                .map(|r| PackageRevenue {
                    package: r.key,
                    amount: Money::of(Minor::new(r.amount_minor), currency),
                })
                .collect(),
        }
    }
}

#[derive(Default)]
pub struct MetricsQuery;

#[Object]
impl MetricsQuery {
    /// Key metrics for `from <= t < to`: processing time, completion rate,
    /// days to collection, outstanding and aging, revenue by month and package.
    async fn metrics(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Metrics> {
        let caller = Caller::of(ctx)?;
        if from >= to {
            return Err(domain_error(
                domain::UserError::invalid("to", "`to` must be after `from`").into(),
            ));
        }
        let tz = domain::billing::invoicing::studio_tz(caller.studio);
        let computed = domain::read::metrics::compute(caller.db(), caller.studio.id, tz, from, to)
            .await
            .map_err(domain_error)?;
        Ok(Metrics::new(computed, caller.studio.currency, from, to))
    }
}
