//! GraphQL view of the follow-up of unpaid invoices (`domain::followup::reminders`).

use super::types::Money;
use async_graphql::{Enum, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::DomainResult;
use domain::followup::reminders::{LateFeeInput, Policy, PolicyChanges, ScheduledReminder};
use domain::kernel::money::Currency;
use entity::studio;
use rust_decimal::Decimal;

pub struct ReminderPolicy {
    policy: Policy,
    currency: Currency,
}

impl ReminderPolicy {
    pub fn new(policy: Policy, studio: &studio::Model) -> DomainResult<Self> {
        let currency = Currency::parse(&studio.currency)
            .map_err(|e| anyhow::anyhow!("studio currency: {e}"))?;
        Ok(Self { policy, currency })
    }
}

#[Object]
impl ReminderPolicy {
    async fn enabled(&self) -> bool {
        self.policy.enabled
    }
    /// Days relative to the due date (negative = before); the last one is
    /// the final notice.
    async fn offsets_days(&self) -> &[i32] {
        &self.policy.offsets_days
    }
    /// Reminders go out from this local hour (the client's zone, else the studio's)...
    async fn window_start_hour(&self) -> u32 {
        self.policy.window_start_hour
    }
    /// ...until this one.
    async fn window_end_hour(&self) -> u32 {
        self.policy.window_end_hour
    }
    async fn late_fee(&self) -> Option<LateFee> {
        self.policy.late_fee.as_ref().map(|f| LateFee {
            fixed: f.fixed_minor.map(|m| Money::of(m, self.currency)),
            percent: f.percent,
            cap: f.cap_minor.map(|m| Money::of(m, self.currency)),
        })
    }
    /// Days after the final notice when an unpaid invoice becomes
    /// `UNCOLLECTIBLE`; `null` = never.
    async fn uncollectible_after_days(&self) -> Option<i32> {
        self.policy.uncollectible_after_days
    }
}

/// Added once, at the first reminder after the due date, as its own line
/// (not taxed): the fixed amount plus the percentage of what is due, capped.
#[derive(SimpleObject)]
pub struct LateFee {
    pub fixed: Option<Money>,
    pub percent: Option<Decimal>,
    pub cap: Option<Money>,
}

#[derive(InputObject)]
pub struct LateFeeSettings {
    pub fixed: Option<super::amount::Amount>,
    pub percent: Option<super::percent::Percent>,
    pub cap: Option<super::amount::Amount>,
}

#[derive(InputObject)]
pub struct UpdateReminderPolicyInput {
    pub enabled: Option<bool>,
    /// e.g. `[-3, 0, 3, 7, 14]`: 3 days before, on the due date, 3, 7 and 14 days after.
    pub offsets_days: Option<Vec<i32>>,
    pub window_start_hour: Option<i32>,
    pub window_end_hour: Option<i32>,
    /// `null` removes the late fee; omitted leaves it.
    pub late_fee: MaybeUndefined<LateFeeSettings>,
    /// `null`: never mark uncollectible; omitted leaves it.
    pub uncollectible_after_days: MaybeUndefined<i32>,
}

fn maybe<T, U>(value: MaybeUndefined<T>, map: impl FnOnce(T) -> U) -> Option<Option<U>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(map(v))),
    }
}

impl UpdateReminderPolicyInput {
    pub fn into_changes(self) -> PolicyChanges {
        PolicyChanges {
            enabled: self.enabled,
            offsets_days: self.offsets_days,
            window_start_hour: self.window_start_hour,
            window_end_hour: self.window_end_hour,
            late_fee: maybe(self.late_fee, |f| LateFeeInput {
                fixed: f.fixed.map(Into::into),
                percent: f.percent.map(Into::into),
                cap: f.cap.map(Into::into),
            }),
            uncollectible_after_days: maybe(self.uncollectible_after_days, |d| d),
        }
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "domain::followup::reminders::StepKind")]
pub enum ReminderKind {
    Reminder,
    FinalNotice,
    MarkUncollectible,
}

pub struct ReminderStep(pub ScheduledReminder);

#[Object]
impl ReminderStep {
    async fn step(&self) -> u32 {
        self.0.step.index
    }
    async fn kind(&self) -> ReminderKind {
        self.0.step.kind.into()
    }
    /// Days relative to the due date.
    async fn days_from_due(&self) -> i32 {
        self.0.step.days_from_due
    }
    /// When it is due: the window's opening hour on that local day.
    async fn scheduled_at(&self) -> DateTime<Utc> {
        self.0.step.at
    }
    async fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.0.sent_at
    }
}
