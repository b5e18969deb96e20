//! What the studio's financial dashboard shows, gathered for one studio.
//!
//! The period is a range of whole days in the studio's time zone (both ends
//! included); the key metrics come from `metrics::compute`, the lists from
//! plain queries, every one of them filtered by the studio's id.

use crate::billing::invoicing::studio_tz;
use crate::infra::error::{DomainError, DomainResult, UserError};
use crate::kernel::money::{Currency, Minor, Money};
use crate::read::metrics::{self, Metrics};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use entity::enums::InvoiceStatus;
use entity::{client, invoice, studio};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::{BTreeMap, HashMap};

/// Rows in each list: enough to act on, short enough to read at a glance.
pub const LIST_LIMIT: u64 = 10;
/// The longest period one page shows (the revenue chart has a bar per month).
const MAX_DAYS: i64 = 5 * 366;

mod disputes;
pub use disputes::DisputeRow;

/// A period of whole days in the studio's time zone, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// The last 12 months: from the first day of the month eleven months ago
    /// to `today`.
    pub fn default_for(today: NaiveDate) -> Self {
        let months_back = today.year() * 12 + today.month0() as i32 - 11;
        let from = NaiveDate::from_ymd_opt(
            months_back.div_euclid(12),
            months_back.rem_euclid(12) as u32 + 1,
            1,
        )
        .unwrap_or(today);
        Self { from, to: today }
    }

    /// Parses `?from=YYYY-MM-DD&to=YYYY-MM-DD`; a missing end takes its
    /// default. Every problem is reported at once.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        today: NaiveDate,
    ) -> Result<Self, Vec<UserError>> {
        let default = Self::default_for(today);
        let mut problems = Vec::new();
        let mut date =
            |field: &str, raw: Option<&str>, fallback: NaiveDate| match raw.map(str::trim) {
                None | Some("") => fallback,
                Some(raw) => NaiveDate::parse_from_str(raw, "%Y-%m-%d").unwrap_or_else(|_| {
                    problems.push(UserError::invalid(
                        field,
                        format!("`{raw}` is not a date like 2026-01-31"),
                    ));
                    fallback
                }),
            };
        let from = date("from", from, default.from);
        let to = date("to", to, default.to);
        if problems.is_empty() {
            if from > to {
                problems.push(UserError::invalid(
                    "to",
                    "the end date must not be before the start date",
                ));
            } else if (to - from).num_days() > MAX_DAYS {
                problems.push(UserError::invalid(
                    "from",
                    "the period can be at most 5 years long",
                ));
            }
        }
        if problems.is_empty() {
            Ok(Self { from, to })
        } else {
            Err(problems)
        }
    }

    /// `from <= t < to` in UTC: midnight starting `from` to midnight after `to`.
    pub fn bounds(&self, tz: chrono_tz::Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        let end = self.to.succ_opt().unwrap_or(self.to);
        (start_of_day(tz, self.from), start_of_day(tz, end))
    }

    /// Every calendar month the period touches, as `YYYY-MM`.
    pub fn months(&self) -> Vec<String> {
        let mut months = Vec::new();
        let (mut y, mut m) = (self.from.year(), self.from.month());
        while (y, m) <= (self.to.year(), self.to.month()) {
            months.push(format!("{y:04}-{m:02}"));
            (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        }
        months
    }
}

/// The first instant of a local day; DST-safe (a day whose midnight does not
/// exist starts at the first hour that does).
fn start_of_day(tz: chrono_tz::Tz, day: NaiveDate) -> DateTime<Utc> {
    (0..4)
        .filter_map(|h| day.and_hms_opt(h, 0, 0))
        .find_map(|local| tz.from_local_datetime(&local).earliest())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| day.and_time(chrono::NaiveTime::MIN).and_utc())
}

#[derive(Debug, Clone)]
pub struct InvoiceRow {
    pub id: i64,
    pub number: String,
    pub client_name: String,
    pub status: InvoiceStatus,
    pub issued_on: NaiveDate,
    pub due_date: NaiveDate,
    pub total: Money,
    pub amount_due: Money,
    /// Whole days past the due date on the period's last day (0 if not late).
    pub days_overdue: i64,
}

#[derive(Debug, Clone)]
pub struct Dashboard {
    pub studio_name: String,
    pub currency: Currency,
    pub period: Period,
    /// Today in the studio's time zone.
    pub today: NaiveDate,
    /// The day overdue is counted on: the period's last day.
    pub as_of: NaiveDate,
    pub metrics: Metrics,
    /// Revenue per month over the whole period, months without payments at 0.
    pub revenue_by_month: Vec<(String, i64)>,
    /// Open invoices past due on `as_of`, most overdue first.
    pub overdue: Vec<InvoiceRow>,
    pub overdue_count: u64,
    /// The latest invoices issued in the period, newest first.
    pub recent: Vec<InvoiceRow>,
    /// Credits owed back to clients (retainers above an invoice's total,
    /// under `REFUND_DUE`), newest first, whatever the period.
    pub credits_owed: Vec<CreditOwedRow>,
    /// Steps that failed and are not done ("needs attention"), newest first.
    pub needs_attention: Vec<crate::workflow::failing_steps::FailingStep>,
    /// Chargebacks, open ones first, whatever the period.
    pub disputes: Vec<DisputeRow>,
}

/// An invoice whose retainer exceeded its total: what the studio owes back.
#[derive(Debug, Clone)]
pub struct CreditOwedRow {
    pub number: String,
    pub client_name: String,
    pub amount: Money,
    /// When the studio marked it repaid, in its zone, and the reference;
    /// `None` while it is still owed.
    pub repaid: Option<(NaiveDate, String)>,
}

impl Dashboard {
    pub fn money(&self, minor: i64) -> Money {
        Money::new(Minor::new(minor), self.currency)
    }

    /// Each package's share of the revenue by package, in whole percent
    /// adding up to 100, in `metrics.revenue_by_package`'s order (empty
    /// when nothing was collected).
    pub fn package_shares(&self) -> Vec<i64> {
        let amounts: Vec<i64> = self
            .metrics
            .revenue_by_package
            .iter()
            .map(|r| r.amount_minor)
            .collect();
        crate::kernel::shares::whole_percentages(&amounts).unwrap_or_default()
    }
}

/// Today in a studio's time zone.
pub fn today(studio: &studio::Model, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&studio_tz(studio)).date_naive()
}

/// Everything the dashboard of `studio_id` shows for the period asked for
/// (`from`/`to` as typed; the last 12 months by default). A period that does
/// not parse is `DomainError::User`; an unknown studio `None`.
#[tracing::instrument(skip_all, fields(studio_id))]
pub async fn load(
    db: &DatabaseConnection,
    studio_id: i64,
    from: Option<&str>,
    to: Option<&str>,
    now: DateTime<Utc>,
) -> DomainResult<Option<Dashboard>> {
    let Some(studio) = studio::Entity::find_by_id(studio_id).one(db).await? else {
        return Ok(None);
    };
    let today = today(&studio, now);
    let period = Period::parse(from, to, today).map_err(DomainError::User)?;
    let tz = studio_tz(&studio);
    let currency = studio.currency;
    let (from, end) = period.bounds(tz);
    // `metrics` counts aging on the date of its `to`: hand it the last
    // instant of the period so that date is the period's last day.
    let to = end - Duration::microseconds(1);
    let metrics = metrics::compute(db, studio.id, tz, from, to).await?;

    let mut revenue: BTreeMap<String, i64> = period.months().into_iter().map(|m| (m, 0)).collect();
    for r in &metrics.revenue_by_month {
        let month = revenue.entry(r.key.clone()).or_default();
        *month = month.saturating_add(r.amount_minor);
    }

    let as_of = period.to;
    let overdue_query = invoice::Entity::find()
        .filter(invoice::Column::StudioId.eq(studio.id))
        .filter(invoice::Column::Status.is_in([InvoiceStatus::Open, InvoiceStatus::PartiallyPaid]))
        .filter(invoice::Column::IssuedAt.lt(end))
        .filter(invoice::Column::DueDate.lt(as_of));
    let overdue_count = {
        use sea_orm::PaginatorTrait;
        overdue_query.clone().count(db).await?
    };
    let overdue = overdue_query
        .order_by_asc(invoice::Column::DueDate)
        .order_by_asc(invoice::Column::Id)
        .limit(LIST_LIMIT)
        .all(db)
        .await?;
    let recent = invoice::Entity::find()
        .filter(invoice::Column::StudioId.eq(studio.id))
        .filter(invoice::Column::IssuedAt.gte(from))
        .filter(invoice::Column::IssuedAt.lt(end))
        .order_by_desc(invoice::Column::IssuedAt)
        .order_by_desc(invoice::Column::Id)
        .limit(LIST_LIMIT)
        .all(db)
        .await?;

    let owed = crate::billing::credits::owed_back(db, studio.id, LIST_LIMIT).await?;
    let client_ids: Vec<i64> = overdue
        .iter()
        .chain(&recent)
        .chain(&owed)
        .map(|i| i.client_id)
        .collect();
    let names: HashMap<i64, String> = client::Entity::find()
        .filter(client::Column::StudioId.eq(studio.id))
        .filter(client::Column::Id.is_in(client_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let row = |inv: invoice::Model| InvoiceRow {
        client_name: names.get(&inv.client_id).cloned().unwrap_or_default(),
        issued_on: inv.issued_at.with_timezone(&tz).date_naive(),
        days_overdue: (as_of - inv.due_date).num_days().max(0),
        total: Money::new(inv.total_minor, currency),
        amount_due: Money::new(inv.amount_due_minor, currency),
        id: inv.id,
        number: inv.display_number().to_string(),
        status: inv.status,
        due_date: inv.due_date,
    };

    Ok(Some(Dashboard {
        needs_attention: crate::workflow::failing_steps::list(db, studio.id).await?,
        disputes: disputes::rows(db, &studio, LIST_LIMIT).await?,
        studio_name: studio.name.clone(),
        currency,
        period,
        today,
        as_of,
        revenue_by_month: revenue.into_iter().collect(),
        overdue: overdue.into_iter().map(row).collect(),
        overdue_count,
        recent: recent.into_iter().map(row).collect(),
        credits_owed: owed
            .iter()
            .map(|inv| CreditOwedRow {
                number: inv.display_number().to_string(),
                client_name: names.get(&inv.client_id).cloned().unwrap_or_default(),
                amount: Money::new(crate::billing::credits::owed_excess(inv), currency),
                repaid: crate::billing::credits::repaid_to_client(inv).map(|(_, at, reference)| {
                    (at.with_timezone(&tz).date_naive(), reference.to_string())
                }),
            })
            .collect(),
        metrics,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_default_period_is_the_last_twelve_months() {
        assert_eq!(
            Period::default_for(d("2026-11-28")),
            Period {
                from: d("2025-12-01"),
                to: d("2026-11-28")
            }
        );
        assert_eq!(Period::default_for(d("2026-12-31")).from, d("2026-01-01"));
        assert_eq!(Period::default_for(d("2026-01-15")).from, d("2025-02-01"));
    }

    #[test]
    fn periods_are_parsed_with_clear_messages() {
        let today = d("2026-11-28");
        assert_eq!(
            Period::parse(Some("2026-02-01"), Some("2026-02-28"), today),
            Ok(Period {
                from: d("2026-02-01"),
                to: d("2026-02-28")
            })
        );
        assert_eq!(
            Period::parse(None, None, today),
            Ok(Period::default_for(today))
        );
        let errors = Period::parse(Some("yesterday"), Some("2026-13-01"), today).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert!(errors[0].message.contains("`yesterday` is not a date"));
        let reversed = Period::parse(Some("2026-03-01"), Some("2026-02-01"), today).unwrap_err();
        assert_eq!(reversed[0].field, vec!["to"]);
        assert!(Period::parse(Some("2000-01-01"), Some("2026-01-01"), today).is_err());
    }

    #[test]
    fn bounds_are_local_midnights_and_months_cover_the_period() {
        let p = Period {
            from: d("2026-02-01"),
            to: d("2026-03-08"),
        };
        let (from, to) = p.bounds(chrono_tz::America::New_York);
        assert_eq!(from.to_rfc3339(), "2026-02-01T05:00:00+00:00");
        // March 8, 2026 is the DST switch: the next midnight is EDT.
        assert_eq!(to.to_rfc3339(), "2026-03-09T04:00:00+00:00");
        assert_eq!(p.months(), vec!["2026-02", "2026-03"]);
        let long = Period {
            from: d("2025-12-15"),
            to: d("2026-01-02"),
        };
        assert_eq!(long.months(), vec!["2025-12", "2026-01"]);
    }
}
