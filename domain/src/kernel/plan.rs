//! A payment plan's arithmetic: how a booking's balance splits into dated
//! parts (a retainer at booking, installments before or after the session),
//! exactly, in the currency's minor units, and what a plan may not be. Pure:
//! the caller passes today and the session's day (`studio::plans` stores the
//! parts).
//!
//! - A part is a fixed amount, a percentage of the plan total, or an equal
//!   share of what the fixed and percentage parts leave (a part with
//!   neither). Percentages round half away from zero like every amount;
//!   what rounding leaves goes to the last part, so the parts always add up
//!   to the total exactly (3 equal parts of USD 1,000.00 are 333.33, 333.33,
//!   333.34; 35/35/30 % of USD 4,600.00 are 1,610.00, 1,610.00, 1,380.00).
//! - A part is due on a date, a number of days before (or after) the
//!   session, or, with neither, at booking (today).
//! - Refused: parts that do not add up, dates not strictly later than the
//!   previous part's or already past, a part below the gateway's minimum
//!   charge, more than [`MAX_PARTS`] parts, and more than
//!   [`MAX_PARTS_AFTER_SESSION`] parts due after the session (US
//!   buy-now-pay-later rules treat more as a credit agreement); for a
//!   consumer in the EU/EEA, a part due more than [`EU_DEFERRAL_DAYS`] days
//!   after the session (deferred payment beyond that is consumer credit,
//!   Directive (EU) 2023/2225, art. 2(2)(h)).

use crate::kernel::error::{ErrorCode, UserError};
use crate::kernel::money::{Currency, Minor};
use crate::kernel::pricing::round_minor;
use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The most parts a plan may have (a retainer and 11 installments).
pub const MAX_PARTS: usize = 12;

/// The most parts that may fall due after the session date.
pub const MAX_PARTS_AFTER_SESSION: usize = 4;

/// The most days after the session a part may fall due for a consumer in
/// the EU/EEA.
pub const EU_DEFERRAL_DAYS: i64 = 50;

/// The days a plan is laid out against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calendar {
    /// The day the plan is set (in the studio's zone).
    pub today: NaiveDate,
    /// The session's day.
    pub session_day: NaiveDate,
    /// The client is a consumer in the EU/EEA ([`EU_DEFERRAL_DAYS`]).
    pub eu_consumer: bool,
}

/// How much of the plan total a part asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Share {
    Amount(Minor),
    /// Of the plan total, 0 < p <= 100.
    Percent(Decimal),
    /// An equal share of what the other parts leave.
    Rest,
}

/// When a part falls due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Today, when the plan is set (a retainer).
    AtBooking,
    On(NaiveDate),
    /// Days before the session's day (negative: after it).
    DaysBeforeSession(i32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartSpec {
    pub share: Share,
    pub due: Due,
}

/// One part of a package's default plan: like [`PartSpec`], but due at
/// booking or relative to the session only (a template has no dates).
/// Stored as JSON in `packages.plan_template`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplatePart {
    pub amount_minor: Option<Minor>,
    pub percent: Option<Decimal>,
    /// `None`: at booking.
    pub days_before_session: Option<i32>,
}

impl TemplatePart {
    pub fn spec(&self) -> PartSpec {
        let share = match (self.amount_minor, self.percent) {
            (Some(amount), _) => Share::Amount(amount),
            (None, Some(p)) => Share::Percent(p),
            (None, None) => Share::Rest,
        };
        let due = self
            .days_before_session
            .map_or(Due::AtBooking, Due::DaysBeforeSession);
        PartSpec { share, due }
    }
}

/// What can be checked of a package's default plan before it meets a
/// session: 1 to [`MAX_PARTS`] parts, at most one at booking and first,
/// the others ever later, percentages in range, fixed parts above the
/// minimum, and a part taking the rest unless the percentages make 100 %.
pub fn check_template(currency: Currency, parts: &[TemplatePart]) -> Result<(), UserError> {
    check_count(parts.len())?;
    let mut previous: Option<Option<i32>> = None;
    for (i, part) in parts.iter().enumerate() {
        let later = match (previous, part.days_before_session) {
            (None, _) => true,
            (Some(None), Some(_)) => true,
            (Some(Some(before)), Some(days)) => days < before,
            (Some(_), None) => false,
        };
        if !later {
            return Err(refuse(
                format!("parts.{i}.daysBeforeSession"),
                ErrorCode::DatesOutOfOrder,
                "each part must fall due after the one before it",
            ));
        }
        previous = Some(part.days_before_session);
        if part
            .amount_minor
            .is_some_and(|a| a < minimum_part(currency))
        {
            return Err(below_minimum(i, currency));
        }
        if part.percent.is_some_and(|p| !percent_in_range(p)) {
            return Err(bad_percent(i));
        }
    }
    let rest = parts
        .iter()
        .any(|p| p.amount_minor.is_none() && p.percent.is_none());
    let all_percent = parts
        .iter()
        .all(|p| p.amount_minor.is_none() && p.percent.is_some());
    let percent: Decimal = parts.iter().filter_map(|p| p.percent).sum();
    if !(rest || (all_percent && percent == Decimal::ONE_HUNDRED)) {
        return Err(refuse(
            "parts".into(),
            ErrorCode::PartsDoNotAddUp,
            "percentages must make 100 %, or a part without amount or percentage takes the rest",
        ));
    }
    Ok(())
}

/// A part as it will be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedPart {
    pub seq: i32,
    pub amount: Minor,
    pub due_date: NaiveDate,
}

/// The smallest amount a gateway charges: half a major unit (USD 0.50,
/// EUR 0.50; JPY 50 for a currency without minor units), about Stripe's
/// minimum in every currency it settles.
pub fn minimum_part(currency: Currency) -> Minor {
    let exponent = currency.exponent();
    Minor::new(if exponent == 0 {
        50
    } else {
        5 * 10_i64.pow(exponent - 1)
    })
}

fn refuse(field: String, code: ErrorCode, message: impl Into<String>) -> UserError {
    UserError {
        field: field.split('.').map(str::to_string).collect(),
        message: message.into(),
        code,
    }
}

fn check_count(parts: usize) -> Result<(), UserError> {
    if parts == 0 || parts > MAX_PARTS {
        return Err(refuse(
            "parts".into(),
            ErrorCode::TooManyParts,
            format!("a plan has 1 to {MAX_PARTS} parts"),
        ));
    }
    Ok(())
}

fn percent_in_range(p: Decimal) -> bool {
    p > Decimal::ZERO && p <= Decimal::ONE_HUNDRED
}

fn bad_percent(index: usize) -> UserError {
    refuse(
        format!("parts.{index}.percent"),
        ErrorCode::InvalidPercent,
        "must be more than 0 and at most 100",
    )
}

fn below_minimum(index: usize, currency: Currency) -> UserError {
    refuse(
        format!("parts.{index}.amount"),
        ErrorCode::BelowMinimum,
        format!(
            "each part must be at least {} (the payment processor's minimum charge)",
            minimum_part(currency).of(currency)
        ),
    )
}

/// Splits `total` into the dated parts `specs` asks for, or says what is
/// wrong with the first problem found (field `parts.{i}...`).
pub fn plan(
    total: Minor,
    currency: Currency,
    specs: &[PartSpec],
    calendar: &Calendar,
) -> Result<Vec<PlannedPart>, UserError> {
    let Calendar {
        today, session_day, ..
    } = *calendar;
    check_count(specs.len())?;
    let amounts = split(total, currency, specs)?;
    let mut parts = Vec::with_capacity(specs.len());
    let mut previous: Option<NaiveDate> = None;
    for (index, (spec, amount)) in specs.iter().zip(amounts).enumerate() {
        let field = |name: &str| format!("parts.{index}.{name}");
        if amount < minimum_part(currency) {
            return Err(below_minimum(index, currency));
        }
        let due_date = match spec.due {
            Due::AtBooking => today,
            Due::On(date) => date,
            Due::DaysBeforeSession(days) => session_day
                .checked_sub_signed(Duration::days(i64::from(days)))
                .ok_or_else(|| {
                    refuse(
                        field("daysBeforeSession"),
                        ErrorCode::InvalidInput,
                        "is out of range",
                    )
                })?,
        };
        if due_date < today {
            return Err(refuse(
                field("dueDate"),
                ErrorCode::DateInPast,
                format!("{due_date} is already past"),
            ));
        }
        if previous.is_some_and(|p| due_date <= p) {
            return Err(refuse(
                field("dueDate"),
                ErrorCode::DatesOutOfOrder,
                "each part must fall due after the one before it",
            ));
        }
        previous = Some(due_date);
        parts.push(PlannedPart {
            seq: i32::try_from(index + 1).unwrap_or(i32::MAX),
            amount,
            due_date,
        });
    }
    check_after_session(&parts, calendar)?;
    Ok(parts)
}

/// The lending guardrails on the parts due after the session.
fn check_after_session(parts: &[PlannedPart], calendar: &Calendar) -> Result<(), UserError> {
    let session_day = calendar.session_day;
    let after = parts.iter().filter(|p| p.due_date > session_day).count();
    if after > MAX_PARTS_AFTER_SESSION {
        return Err(refuse(
            "parts".into(),
            ErrorCode::PlanGuardrail,
            format!(
                "at most {MAX_PARTS_AFTER_SESSION} parts may fall due after the session date ({after} do)"
            ),
        ));
    }
    let last_day = session_day + Duration::days(EU_DEFERRAL_DAYS);
    let too_late = parts.iter().position(|p| p.due_date > last_day);
    if let (true, Some(index)) = (calendar.eu_consumer, too_late) {
        return Err(refuse(
            format!("parts.{index}.dueDate"),
            ErrorCode::PlanGuardrail,
            format!(
                "for a client in the EU/EEA every part falls due at most {EU_DEFERRAL_DAYS} days \
                 after the session (by {last_day}); a later payment is consumer credit"
            ),
        ));
    }
    Ok(())
}

/// The amounts of the parts: fixed, percentage (rounded half away from
/// zero), then the rest shared equally, the remainder on the last part.
fn split(total: Minor, currency: Currency, specs: &[PartSpec]) -> Result<Vec<Minor>, UserError> {
    let does_not_add_up =
        |message: String| refuse("parts".into(), ErrorCode::PartsDoNotAddUp, message);
    let mut amounts = Vec::with_capacity(specs.len());
    for (index, spec) in specs.iter().enumerate() {
        amounts.push(match spec.share {
            Share::Amount(amount) => Some(amount),
            Share::Percent(p) if percent_in_range(p) => {
                let exact = Decimal::from(total.get())
                    .checked_mul(p)
                    .map(|v| v / Decimal::ONE_HUNDRED)
                    .ok_or_else(|| does_not_add_up("the total is too large".into()))?;
                let rounded = round_minor(exact)
                    .map_err(|_| does_not_add_up("the total is too large".into()))?;
                Some(Minor::new(rounded))
            }
            Share::Percent(_) => return Err(bad_percent(index)),
            Share::Rest => None,
        });
    }
    let given = crate::kernel::money::checked_sum(amounts.iter().flatten().copied())
        .ok_or_else(|| does_not_add_up("the parts are too large".into()))?;
    let left = total
        .checked_sub(given)
        .ok_or_else(|| does_not_add_up("the parts are too large".into()))?;
    let rest: Vec<usize> = (0..specs.len()).filter(|i| amounts[*i].is_none()).collect();
    let all_percent = specs.iter().all(|s| matches!(s.share, Share::Percent(_)));
    if rest.is_empty() {
        // Percentages that add up to 100 % leave at most a rounding
        // difference: it goes to the last part.
        let percent_sum: Decimal = specs
            .iter()
            .filter_map(|s| match s.share {
                Share::Percent(p) => Some(p),
                _ => None,
            })
            .sum();
        if all_percent && percent_sum == Decimal::ONE_HUNDRED {
            if let Some(last) = amounts.last_mut().and_then(Option::as_mut) {
                *last += left;
            }
        } else if !left.is_zero() {
            return Err(does_not_add_up(format!(
                "the parts add up to {}; the plan total is {}",
                given.of(currency),
                total.of(currency)
            )));
        }
    } else {
        if left.is_negative() {
            return Err(does_not_add_up(format!(
                "the fixed and percentage parts ({}) exceed the plan total ({})",
                given.of(currency),
                total.of(currency)
            )));
        }
        let count = i64::try_from(rest.len()).unwrap_or(i64::MAX);
        let each = left.get() / count;
        let remainder = left.get() % count;
        for (k, index) in rest.iter().enumerate() {
            let extra = if k + 1 == rest.len() { remainder } else { 0 };
            amounts[*index] = Some(Minor::new(each + extra));
        }
    }
    Ok(amounts.into_iter().map(Option::unwrap_or_default).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("a date")
    }

    fn cur(code: &str) -> Currency {
        Currency::parse(code).expect("a currency")
    }

    const TODAY: &str = "2027-01-10";
    const SESSION: &str = "2027-06-12";

    fn parts(total: i64, code: &str, specs: &[PartSpec]) -> Result<Vec<i64>, UserError> {
        plan(Minor::new(total), cur(code), specs, &calendar(false))
            .map(|p| p.iter().map(|p| p.amount.get()).collect())
    }

    fn calendar(eu_consumer: bool) -> Calendar {
        Calendar {
            today: day(TODAY),
            session_day: day(SESSION),
            eu_consumer,
        }
    }

    fn rest_on(due: &str) -> PartSpec {
        PartSpec {
            share: Share::Rest,
            due: Due::On(day(due)),
        }
    }

    fn percent(p: Decimal, due: Due) -> PartSpec {
        PartSpec {
            share: Share::Percent(p),
            due,
        }
    }

    fn code(result: Result<Vec<i64>, UserError>) -> ErrorCode {
        result.expect_err("refused").code
    }

    #[test]
    fn equal_parts_put_the_remainder_on_the_last() {
        let three = [
            rest_on("2027-01-10"),
            rest_on("2027-03-01"),
            rest_on("2027-05-01"),
        ];
        assert_eq!(
            parts(100_000, "USD", &three),
            Ok(vec![33_333, 33_333, 33_334])
        );
        assert_eq!(
            parts(100_000, "JPY", &three),
            Ok(vec![33_333, 33_333, 33_334])
        );
    }

    #[test]
    fn percentages_round_half_away_and_add_up_exactly() {
        // 35 % at booking, 35 % 60 days before, the rest 14 days before.
        let specs = [
            percent(dec!(35), Due::AtBooking),
            percent(dec!(35), Due::DaysBeforeSession(60)),
            percent(dec!(30), Due::DaysBeforeSession(14)),
        ];
        let planned =
            plan(Minor::new(460_000), cur("USD"), &specs, &calendar(false)).expect("a plan");
        let amounts: Vec<i64> = planned.iter().map(|p| p.amount.get()).collect();
        assert_eq!(amounts, vec![161_000, 161_000, 138_000]);
        let dates: Vec<NaiveDate> = planned.iter().map(|p| p.due_date).collect();
        assert_eq!(
            dates,
            vec![day(TODAY), day("2027-04-13"), day("2027-05-29")]
        );
        // A third each: what rounding leaves goes to the last part.
        let thirds = [
            percent(dec!(33.3333), Due::AtBooking),
            percent(dec!(33.3333), Due::On(day("2027-02-01"))),
            percent(dec!(33.3334), Due::On(day("2027-03-01"))),
        ];
        let split = parts(100_001, "USD", &thirds).expect("a plan");
        assert_eq!(split.iter().sum::<i64>(), 100_001);
        // A fixed retainer, then the rest in two.
        let mixed = [
            PartSpec {
                share: Share::Amount(Minor::new(50_000)),
                due: Due::AtBooking,
            },
            rest_on("2027-02-01"),
            rest_on("2027-03-01"),
        ];
        assert_eq!(
            parts(250_001, "USD", &mixed),
            Ok(vec![50_000, 100_000, 100_001])
        );
    }

    #[test]
    fn what_a_plan_may_not_be_is_refused_with_its_own_code() {
        let fixed = |minor, due: &str| PartSpec {
            share: Share::Amount(Minor::new(minor)),
            due: Due::On(day(due)),
        };
        // Fixed parts that do not add up.
        assert_eq!(
            code(parts(
                10_000,
                "USD",
                &[fixed(4_000, "2027-02-01"), fixed(5_000, "2027-03-01")]
            )),
            ErrorCode::PartsDoNotAddUp
        );
        // Percentages that are not 100 % without a part taking the rest.
        let short = [
            percent(dec!(50), Due::AtBooking),
            percent(dec!(40), Due::On(day("2027-02-01"))),
        ];
        assert_eq!(
            code(parts(10_000, "USD", &short)),
            ErrorCode::PartsDoNotAddUp
        );
        // Fixed parts above the total, with a part for the rest.
        assert_eq!(
            code(parts(
                10_000,
                "USD",
                &[fixed(12_000, "2027-02-01"), rest_on("2027-03-01")]
            )),
            ErrorCode::PartsDoNotAddUp
        );
        assert_eq!(
            code(parts(
                10_000,
                "USD",
                &[rest_on("2027-03-01"), rest_on("2027-02-01")]
            )),
            ErrorCode::DatesOutOfOrder
        );
        assert_eq!(
            code(parts(
                10_000,
                "USD",
                &[rest_on("2027-03-01"), rest_on("2027-03-01")]
            )),
            ErrorCode::DatesOutOfOrder
        );
        assert_eq!(
            code(parts(10_000, "USD", &[rest_on("2027-01-09")])),
            ErrorCode::DateInPast
        );
        // USD 0.50 is the smallest part; JPY 50.
        assert_eq!(
            code(parts(
                10_049,
                "USD",
                &[fixed(49, "2027-02-01"), rest_on("2027-03-01")]
            )),
            ErrorCode::BelowMinimum
        );
        assert_eq!(
            parts(
                10_050,
                "USD",
                &[fixed(50, "2027-02-01"), rest_on("2027-03-01")]
            ),
            Ok(vec![50, 10_000])
        );
        assert_eq!(minimum_part(cur("JPY")), Minor::new(50));
        assert_eq!(minimum_part(cur("KWD")), Minor::new(500));
        assert_eq!(code(parts(10_000, "USD", &[])), ErrorCode::TooManyParts);
        let thirteen: Vec<PartSpec> = (1..=13)
            .map(|m| rest_on(&format!("2027-{:02}-20", m.min(12))))
            .collect();
        assert_eq!(
            code(parts(1_000_000, "USD", &thirteen)),
            ErrorCode::TooManyParts
        );
        assert_eq!(
            code(parts(10_000, "USD", &[percent(dec!(101), Due::AtBooking)])),
            ErrorCode::InvalidPercent
        );
    }

    #[test]
    fn a_package_template_is_checked_before_it_meets_a_session() {
        let part =
            |amount: Option<i64>, percent: Option<Decimal>, days: Option<i32>| TemplatePart {
                amount_minor: amount.map(Minor::new),
                percent,
                days_before_session: days,
            };
        let usd = cur("USD");
        let usual = [
            part(None, Some(dec!(35)), None),
            part(None, Some(dec!(35)), Some(60)),
            part(None, None, Some(14)),
        ];
        assert_eq!(check_template(usd, &usual), Ok(()));
        assert_eq!(usual[1].spec().due, Due::DaysBeforeSession(60));
        assert_eq!(usual[0].spec().due, Due::AtBooking);
        let code = |r: Result<(), UserError>| r.expect_err("refused").code;
        let out_of_order = [part(None, None, Some(14)), part(None, None, Some(60))];
        assert_eq!(
            code(check_template(usd, &out_of_order)),
            ErrorCode::DatesOutOfOrder
        );
        let booking_last = [part(None, None, Some(14)), part(None, None, None)];
        assert_eq!(
            code(check_template(usd, &booking_last)),
            ErrorCode::DatesOutOfOrder
        );
        let short = [
            part(None, Some(dec!(50)), None),
            part(None, Some(dec!(40)), Some(10)),
        ];
        assert_eq!(
            code(check_template(usd, &short)),
            ErrorCode::PartsDoNotAddUp
        );
        let fixed_only = [part(Some(50_000), None, None)];
        assert_eq!(
            code(check_template(usd, &fixed_only)),
            ErrorCode::PartsDoNotAddUp
        );
        let tiny = [part(Some(10), None, None), part(None, None, Some(10))];
        assert_eq!(code(check_template(usd, &tiny)), ErrorCode::BelowMinimum);
        assert_eq!(code(check_template(usd, &[])), ErrorCode::TooManyParts);
    }

    #[test]
    fn at_most_four_parts_fall_due_after_the_session() {
        let after = |d: &str| rest_on(d);
        let four = [
            after("2027-07-01"),
            after("2027-08-01"),
            after("2027-09-01"),
            after("2027-10-01"),
        ];
        assert!(parts(100_000, "USD", &four).is_ok());
        let five = [four.as_slice(), &[after("2027-11-01")]].concat();
        assert_eq!(code(parts(100_000, "USD", &five)), ErrorCode::PlanGuardrail);
    }

    #[test]
    fn an_eu_consumer_pays_within_fifty_days_of_the_session() {
        // The session is on 2027-06-12; 50 days later is 2027-08-01.
        let specs = [rest_on("2027-06-01"), rest_on("2027-08-01")];
        let eu = calendar(true);
        assert!(plan(Minor::new(100_000), cur("EUR"), &specs, &eu).is_ok());
        let late = [rest_on("2027-06-01"), rest_on("2027-08-02")];
        let refused = plan(Minor::new(100_000), cur("EUR"), &late, &eu).expect_err("refused");
        assert_eq!(refused.code, ErrorCode::PlanGuardrail);
        assert_eq!(refused.field, vec!["parts", "1", "dueDate"]);
        assert!(
            refused.message.contains("by 2027-08-01"),
            "{}",
            refused.message
        );
        // Anywhere else the same plan is allowed.
        assert!(plan(Minor::new(100_000), cur("EUR"), &late, &calendar(false)).is_ok());
    }
}
