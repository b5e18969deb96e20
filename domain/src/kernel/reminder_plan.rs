//! The pure follow-up plan of an unpaid invoice: a policy's reminder days
//! turned into steps at local times, the sending window, the late fee. No
//! database and no clock: the caller passes the times (`followup::reminders`
//! runs the steps).

use crate::kernel::money::Minor;
use crate::kernel::pricing::round_minor;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

/// A late fee: a fixed amount, a percentage of what is due, or both,
/// optionally capped. Charged once per invoice, never compounding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LateFee {
    pub fixed_minor: Option<Minor>,
    pub percent: Option<Decimal>,
    pub cap_minor: Option<Minor>,
}

impl LateFee {
    /// The fee on `due`, rounded half away from zero like every amount.
    pub fn amount_for(&self, due: Minor) -> Minor {
        let percent = self
            .percent
            .and_then(|p| round_minor(Decimal::from(due.get()) * p / Decimal::ONE_HUNDRED).ok())
            .unwrap_or(0);
        let fee = self
            .fixed_minor
            .unwrap_or_default()
            .get()
            .saturating_add(percent);
        let capped = match self.cap_minor {
            Some(cap) => Ord::min(fee, cap.get()),
            None => fee,
        };
        Minor::new(Ord::max(capped, 0))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub enabled: bool,
    /// Days relative to the due date, ascending; the last is the final notice.
    pub offsets_days: Vec<i32>,
    pub window_start_hour: u32,
    pub window_end_hour: u32,
    pub late_fee: Option<LateFee>,
    /// Days after the final notice at which the invoice becomes uncollectible.
    pub uncollectible_after_days: Option<i32>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            enabled: true,
            offsets_days: vec![-3, 0, 3, 7, 14],
            window_start_hour: 9,
            window_end_hour: 17,
            late_fee: None,
            uncollectible_after_days: None,
        }
    }
}

impl Policy {
    /// `None` while `now` is inside the sending window in `tz`; otherwise
    /// when the window opens next.
    pub fn next_window_opening(&self, tz: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = now.with_timezone(&tz);
        let hour = chrono::Timelike::hour(&local);
        if (self.window_start_hour..self.window_end_hour).contains(&hour) {
            return None;
        }
        let date = local.date_naive();
        let date = if hour < self.window_start_hour {
            date
        } else {
            date.succ_opt().unwrap_or(date)
        };
        Some(local_time(tz, date, self.window_start_hour))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    Reminder,
    FinalNotice,
    MarkUncollectible,
}

/// One step of an invoice's follow-up plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Stable position in the policy (steps before the invoice was issued
    /// are left out, the others keep their index).
    pub index: u32,
    pub kind: StepKind,
    pub days_from_due: i32,
    pub at: DateTime<Utc>,
}

/// `hour:00` on `date` in `tz`, in UTC. A time that does not exist (the hour
/// skipped when clocks go forward) moves to the next hour that does; an
/// ambiguous one (the hour repeated when they go back) takes the first.
pub fn local_time(tz: Tz, date: NaiveDate, hour: u32) -> DateTime<Utc> {
    for h in hour..hour + 3 {
        let Some(naive) = date.and_hms_opt(Ord::min(h, 23), 0, 0) else {
            continue;
        };
        if let Some(t) = tz.from_local_datetime(&naive).earliest() {
            return t.with_timezone(&Utc);
        }
    }
    // Unreachable for real zones (gaps are at most an hour or two).
    Utc.from_utc_datetime(&date.and_time(chrono::NaiveTime::MIN))
}

/// The follow-up plan of an invoice due on `due` in `tz`, issued at
/// `issued_at`: the steps still ahead of the issue time, in order.
pub fn plan(policy: &Policy, due: NaiveDate, tz: Tz, issued_at: DateTime<Utc>) -> Vec<Step> {
    let mut steps = Vec::new();
    let last = policy.offsets_days.len().saturating_sub(1);
    for (i, days) in policy.offsets_days.iter().enumerate() {
        steps.push(Step {
            index: u32::try_from(i).unwrap_or(u32::MAX),
            kind: if i == last {
                StepKind::FinalNotice
            } else {
                StepKind::Reminder
            },
            days_from_due: *days,
            at: local_time(
                tz,
                due + Duration::days(i64::from(*days)),
                policy.window_start_hour,
            ),
        });
    }
    if let (Some(after), Some(final_days)) = (
        policy.uncollectible_after_days,
        policy.offsets_days.last().copied(),
    ) {
        let days = final_days + after;
        steps.push(Step {
            index: u32::try_from(policy.offsets_days.len()).unwrap_or(u32::MAX),
            kind: StepKind::MarkUncollectible,
            days_from_due: days,
            at: local_time(
                tz,
                due + Duration::days(i64::from(days)),
                policy.window_start_hour,
            ),
        });
    }
    steps.retain(|s| s.at > issued_at);
    steps
}

/// The step at which the late fee is due: the first reminder after the due
/// date (or, when that one was skipped, the first later one that goes out).
pub fn late_fee_step(plan: &[Step]) -> Option<u32> {
    plan.iter()
        .find(|s| s.days_from_due > 0 && s.kind != StepKind::MarkUncollectible)
        .map(|s| s.index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn reminders_stay_at_nine_local_across_the_autumn_change() {
        // New York falls back on Sunday 2026-11-01 (EDT -4 -> EST -5).
        let tz: Tz = "America/New_York".parse().unwrap();
        let steps = plan(
            &Policy::default(),
            date("2026-10-30"),
            tz,
            utc("2026-10-01T12:00:00Z"),
        );
        let at: Vec<_> = steps.iter().map(|s| s.at.to_rfc3339()).collect();
        assert_eq!(
            at,
            [
                "2026-10-27T13:00:00+00:00", // -3, EDT
                "2026-10-30T13:00:00+00:00", // due date, EDT
                "2026-11-02T14:00:00+00:00", // +3, EST
                "2026-11-06T14:00:00+00:00", // +7
                "2026-11-13T14:00:00+00:00", // +14, final notice
            ]
        );
        assert_eq!(steps[4].kind, StepKind::FinalNotice);
        assert_eq!(late_fee_step(&steps), Some(2));
    }

    #[test]
    fn reminders_stay_at_nine_local_across_the_spring_change() {
        // Paris springs forward on Sunday 2027-03-28 (CET +1 -> CEST +2).
        let tz: Tz = "Europe/Paris".parse().unwrap();
        let policy = Policy {
            uncollectible_after_days: Some(10),
            ..Policy::default()
        };
        let steps = plan(&policy, date("2027-03-26"), tz, utc("2027-03-01T00:00:00Z"));
        let at: Vec<_> = steps.iter().map(|s| (s.index, s.at.to_rfc3339())).collect();
        assert_eq!(
            at,
            [
                (0, "2027-03-23T08:00:00+00:00".to_string()),
                (1, "2027-03-26T08:00:00+00:00".to_string()),
                (2, "2027-03-29T07:00:00+00:00".to_string()),
                (3, "2027-04-02T07:00:00+00:00".to_string()),
                (4, "2027-04-09T07:00:00+00:00".to_string()),
                (5, "2027-04-19T07:00:00+00:00".to_string()),
            ]
        );
        assert_eq!(steps[5].kind, StepKind::MarkUncollectible);
    }

    #[test]
    fn a_local_time_skipped_by_the_clocks_moves_to_the_next_hour() {
        let tz: Tz = "America/New_York".parse().unwrap();
        // 2:00 does not exist on 2027-03-14; 3:00 EDT does.
        assert_eq!(
            local_time(tz, date("2027-03-14"), 2).to_rfc3339(),
            "2027-03-14T07:00:00+00:00"
        );
        // 1:00 happens twice on 2026-11-01: the first (EDT) is taken.
        assert_eq!(
            local_time(tz, date("2026-11-01"), 1).to_rfc3339(),
            "2026-11-01T05:00:00+00:00"
        );
    }

    #[test]
    fn steps_before_the_invoice_was_issued_are_left_out() {
        let tz: Tz = "UTC".parse().unwrap();
        let steps = plan(
            &Policy::default(),
            date("2026-12-10"),
            tz,
            utc("2026-12-08T10:00:00Z"),
        );
        assert_eq!(
            steps.iter().map(|s| s.index).collect::<Vec<_>>(),
            [1, 2, 3, 4],
            "the reminder 3 days before was already past"
        );
    }

    #[test]
    fn the_sending_window_is_local() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let policy = Policy::default();
        // 14:00 UTC = 9:00 EST: inside.
        assert_eq!(
            policy.next_window_opening(tz, utc("2026-11-02T14:00:00Z")),
            None
        );
        // 23:00 UTC = 18:00 EST: opens at 9:00 EST the next day.
        assert_eq!(
            policy.next_window_opening(tz, utc("2026-11-02T23:00:00Z")),
            Some(utc("2026-11-03T14:00:00Z"))
        );
        // 12:00 UTC = 7:00 EST: opens the same day.
        assert_eq!(
            policy.next_window_opening(tz, utc("2026-11-02T12:00:00Z")),
            Some(utc("2026-11-02T14:00:00Z"))
        );
    }

    #[test]
    fn late_fees_are_fixed_or_a_percentage_capped_and_rounded_half_away() {
        let fee = |fixed: Option<i64>, percent, cap: Option<i64>| LateFee {
            fixed_minor: fixed.map(Minor::new),
            percent,
            cap_minor: cap.map(Minor::new),
        };
        assert_eq!(
            fee(Some(2500), None, None).amount_for(Minor::new(100_000)),
            Minor::new(2500)
        );
        // 1.5% of 2,791.82 = 41.8773 -> 41.88
        assert_eq!(
            fee(None, Some(dec!(1.5)), None).amount_for(Minor::new(279_182)),
            Minor::new(4188)
        );
        // 1.5% of 1,000.50 = 15.0075 -> 15.01 (half away from zero)
        assert_eq!(
            fee(None, Some(dec!(1.5)), None).amount_for(Minor::new(100_050)),
            Minor::new(1501)
        );
        assert_eq!(
            fee(None, Some(dec!(10)), Some(5000)).amount_for(Minor::new(279_182)),
            Minor::new(5000)
        );
        assert_eq!(
            fee(Some(1000), Some(dec!(1)), Some(1500)).amount_for(Minor::new(100_000)),
            Minor::new(1500)
        );
    }
}
