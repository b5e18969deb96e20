//! The follow-up of unpaid invoices (`domain::followup::reminders`): the
//! studio's policy and each invoice's reminder plan.

use super::amount::Amount;
use super::common::{AppData, Caller, domain_error, payload_type};
use super::money::Money;
use super::percent::Percent;
use async_graphql::{Context, Enum, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use domain::DomainResult;
use domain::followup::reminders::{
    self as service, LateFeeInput, Policy, PolicyChanges, ScheduledReminder,
};

use entity::studio;
use rust_decimal::Decimal;

#[derive(SimpleObject)]
pub struct ReminderPolicy {
    pub enabled: bool,
    /// Days relative to the due date (negative = before); the last one is
    /// the final notice.
    pub offsets_days: Vec<i32>,
    /// Reminders go out from this local hour (the client's zone, else the studio's)...
    pub window_start_hour: u32,
    /// ...until this one.
    pub window_end_hour: u32,
    pub late_fee: Option<LateFee>,
    /// Days after the final notice when an unpaid invoice becomes
    /// `UNCOLLECTIBLE`; `null` = never.
    pub uncollectible_after_days: Option<i32>,
}

impl ReminderPolicy {
    pub fn new(policy: Policy, studio: &studio::Model) -> DomainResult<Self> {
        let currency = studio.currency;
        Ok(Self {
            enabled: policy.enabled,
            offsets_days: policy.offsets_days,
            window_start_hour: policy.window_start_hour,
            window_end_hour: policy.window_end_hour,
            late_fee: policy.late_fee.map(|f| LateFee {
                fixed: f.fixed_minor.map(|m| Money::of(m, currency)),
                percent: f.percent,
                cap: f.cap_minor.map(|m| Money::of(m, currency)),
            }),
            uncollectible_after_days: policy.uncollectible_after_days,
        })
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

// `Studio.reminderPolicy`, read when asked for.
pub struct StudioReminderPolicy(pub studio::Model);

#[Object]
impl StudioReminderPolicy {
    /// How unpaid invoices are followed up.
    async fn reminder_policy(&self, ctx: &Context<'_>) -> Result<ReminderPolicy> {
        let app = ctx.data::<AppData>()?;
        let policy = service::policy_for(&app.ctx.db, self.0.id)
            .await
            .map_err(domain_error)?;
        ReminderPolicy::new(policy, &self.0).map_err(domain_error)
    }
}

#[derive(InputObject)]
pub struct LateFeeSettings {
    pub fixed: Option<Amount>,
    pub percent: Option<Percent>,
    pub cap: Option<Amount>,
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
    fn into_changes(self) -> PolicyChanges {
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

#[derive(SimpleObject)]
pub struct ReminderStep {
    pub step: u32,
    pub kind: ReminderKind,
    /// Days relative to the due date.
    pub days_from_due: i32,
    /// When it is due: the window's opening hour on that local day.
    pub scheduled_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<ScheduledReminder> for ReminderStep {
    fn from(r: ScheduledReminder) -> Self {
        Self {
            step: r.step.index,
            kind: r.step.kind.into(),
            days_from_due: r.step.days_from_due,
            scheduled_at: r.step.at,
            sent_at: r.sent_at,
        }
    }
}

payload_type!(ReminderPolicyPayload, policy, ReminderPolicy);

#[derive(Default)]
pub struct RemindersMutation;

#[Object]
impl RemindersMutation {
    /// When unpaid invoices are followed up: reminder days relative to the
    /// due date (the last is the final notice), the local sending window,
    /// the late fee, and when an invoice becomes uncollectible. Invoices
    /// already being followed up use the new policy from their next step.
    async fn update_reminder_policy(
        &self,
        ctx: &Context<'_>,
        input: UpdateReminderPolicyInput,
    ) -> Result<ReminderPolicyPayload> {
        let caller = Caller::of(ctx)?;
        let result = service::update_policy(
            caller.db(),
            caller.studio,
            input.into_changes(),
            caller.now(),
        )
        .await
        .and_then(|policy| ReminderPolicy::new(policy, caller.studio));
        ReminderPolicyPayload::from_result(result)
    }
}
