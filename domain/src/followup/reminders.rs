//! Step 7: the follow-up of unpaid invoices.
//!
//! A studio's policy lists reminder days relative to the due date (default
//! 3 days before, on the day, 3, 7 and 14 days after; the last one is the
//! final notice), a sending window in local time (default 9:00 to 17:00, in
//! the client's time zone if it has one, else the studio's), an optional late
//! fee, and whether the invoice becomes `UNCOLLECTIBLE` some days after the
//! final notice.
//!
//! # How a step runs exactly once
//!
//! When an invoice is emailed, the first step of its plan is written as a
//! delayed outbox row due at its local time (`outbox::enqueue_at`). Each step
//! re-reads the invoice under its lock and stops the moment it is paid,
//! void or uncollectible; otherwise it writes, in one transaction, the late
//! fee if this is the first overdue step, the email job (`SendReminder`,
//! whose notification row `(invoice, REMINDER, step)` makes the email go out
//! once) and the next step. Each step has one outbox row (its dedup key), so
//! one tick happens however many workers run, and a step delivered twice
//! finds its follow-ups already written.
//!
//! # Time
//!
//! Times are computed from local dates: "9:00 on the due date + 3 days" in
//! the zone, converted to UTC for that date's offset, so a step after a
//! daylight-saving change still goes out at 9:00 local. A local time that
//! does not exist (spring forward) moves to the next hour that does; an
//! ambiguous one (fall back) takes the first. A step that runs outside the
//! window (a queue that was down) waits for the window to open, and a step
//! overtaken by a later one that is already due is skipped, so a client never
//! gets a burst of stale reminders.
//!
//! Each step's row is keyed `reminder_step:invoice:{id}:step:{n}` and due
//! at the window's opening hour on the step's local date. The late fee is
//! one `LATE_FEE` line per invoice and goes with the first overdue reminder
//! that actually goes out (a skipped step does not lose it). A step outside
//! the window returns `StepOutcome::NotYet`, which the worker turns into
//! `Outcome::Postpone` (`outbox::postpone`), not a failure.

use crate::billing::lifecycle::{self, Actor, Audit};
use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::{DomainResult, UserError};
use crate::kernel::money::Minor;
use crate::kernel::validate::Problems;
use crate::workflow::next::{self, Change};
use chrono::{DateTime, Utc};
use entity::enums::{InvoiceEventKind, LineKind};
use entity::{invoice, invoice_line, reminder_policy, studio};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

pub use crate::kernel::reminder_plan::{
    LateFee, Policy, Step, StepKind, late_fee_step, local_time, plan,
};

pub use crate::workflow::follow_up_plan::{
    InvoicePlan, follows_up, plan_for, policy_for, zone_for,
};

/// What a step did.
#[derive(Debug, PartialEq, Eq)]
pub enum StepOutcome {
    /// The invoice no longer needs following up (paid, void...), or the
    /// policy no longer has this step: nothing more is scheduled.
    Stopped,
    /// A later step is already due; this one was skipped.
    Skipped,
    Reminded,
    MarkedUncollectible,
    /// The step was asked to run before its time (outside the sending
    /// window): it waits until the window opens (`Outcome::Postpone`).
    NotYet(DateTime<Utc>),
}

/// Runs step `index` of an invoice's follow-up at the context's clock.
pub async fn run_step(
    ctx: &AppContext,
    invoice_id: i64,
    index: u32,
    request_id: Option<&str>,
) -> DomainResult<StepOutcome> {
    let now = ctx.clock.now();
    let tx = begin_write(&ctx.db).await?;
    let Some(invoice) = invoice::Entity::find_by_id(invoice_id)
        .lock_exclusive()
        .one(&tx)
        .await?
    else {
        return Ok(StepOutcome::Stopped);
    };
    if !follows_up(&invoice) {
        return Ok(StepOutcome::Stopped);
    }
    let planned = plan_for(&tx, &invoice).await?;
    let Some(step) = planned.steps.iter().find(|s| s.index == index).copied() else {
        return Ok(StepOutcome::Stopped);
    };
    if !planned.policy.enabled {
        return Ok(StepOutcome::Stopped);
    }
    if step.kind != StepKind::MarkUncollectible
        && let Some(opens) = planned.policy.next_window_opening(planned.zone, now)
    {
        return Ok(StepOutcome::NotYet(opens));
    }
    let studio_id = invoice.studio_id;
    let next = planned.steps.iter().find(|s| s.index > index);
    let overtaken = next.is_some_and(|n| n.at <= now);
    let outcome = if overtaken {
        tracing::info!(
            invoice_id,
            step = index,
            "a later reminder is already due; skipping this one"
        );
        StepOutcome::Skipped
    } else {
        match step.kind {
            StepKind::Reminder | StepKind::FinalNotice => {
                // The fee belongs to the first overdue step that actually
                // goes out: if that step was skipped (an outage made a later
                // one due), the later one carries it. `add_late_fee` adds it
                // at most once per invoice.
                if late_fee_step(&planned.steps).is_some_and(|fee_step| index >= fee_step)
                    && let Some(fee) = &planned.policy.late_fee
                {
                    add_late_fee(
                        &tx,
                        &invoice,
                        fee.amount_for(invoice.amount_due_minor),
                        ctx.clock.now(),
                    )
                    .await?;
                }
                next::after(
                    &tx,
                    Change::Reminded {
                        studio_id,
                        invoice_id,
                        step: index,
                    },
                    request_id,
                    ctx.clock.now(),
                )
                .await?;
                StepOutcome::Reminded
            }
            StepKind::MarkUncollectible => {
                crate::billing::closing::write_off_in(
                    &tx,
                    invoice.clone(),
                    format!("unpaid {} days after the due date", step.days_from_due),
                    &Actor::system(),
                    request_id,
                    ctx.clock.now(),
                )
                .await?;
                StepOutcome::MarkedUncollectible
            }
        }
    };
    if let Some(following) = next {
        next::after(
            &tx,
            Change::ReminderPlanned {
                studio_id,
                invoice_id,
                step: following.index,
                at: following.at,
            },
            request_id,
            ctx.clock.now(),
        )
        .await?;
    }
    crate::workflow::next::commit(ctx, tx).await?;
    Ok(outcome)
}

/// Adds the late fee as its own line, once per invoice: the total and the
/// amount due grow by the fee (it is not taxed), and the trail says so.
async fn add_late_fee(
    tx: &DatabaseTransaction,
    invoice: &invoice::Model,
    amount_minor: Minor,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    if !amount_minor.is_positive() {
        return Ok(());
    }
    let lines = invoice_line::Entity::find()
        .filter(invoice_line::Column::InvoiceId.eq(invoice.id))
        .order_by_desc(invoice_line::Column::Position)
        .all(tx)
        .await?;
    if lines.iter().any(|l| l.kind == LineKind::LateFee) {
        return Ok(());
    }
    let position = lines.first().map(|l| l.position + 1).unwrap_or(1);
    invoice_line::ActiveModel {
        invoice_id: Set(invoice.id),
        position: Set(position),
        kind: Set(LineKind::LateFee),
        description: Set("Late fee".into()),
        quantity: Set(1),
        unit_price_minor: Set(amount_minor),
        amount_minor: Set(amount_minor),
        taxable: Set(false),
        tax_minor: Set(Minor::ZERO),
        discount_minor: Set(Minor::ZERO),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    let grow = |col: invoice::Column| (col, Expr::col(col).add(amount_minor));
    let mut update = invoice::Entity::update_many()
        .col_expr(invoice::Column::UpdatedAt, Expr::value(now))
        .filter(invoice::Column::Id.eq(invoice.id));
    for column in [
        invoice::Column::SubtotalMinor,
        invoice::Column::FeeMinor,
        invoice::Column::TotalMinor,
        invoice::Column::AmountDueMinor,
    ] {
        let (col, expr) = grow(column);
        update = update.col_expr(col, expr);
    }
    update.exec(tx).await?;
    // The fee changes what is due: a Checkout Session open for the old
    // amount is expired (after this commits).
    let grown = invoice::Entity::find_by_id(invoice.id)
        .one(tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("invoice {} vanished", invoice.id))?;
    crate::billing::checkout::retire_stale_in(tx, &grown, now).await?;
    lifecycle::record(
        tx,
        invoice,
        Audit {
            event: InvoiceEventKind::LateFeeAdded,
            from: Some(invoice.status),
            to: Some(invoice.status),
            amount_minor: Some(amount_minor),
            actor: &Actor::system(),
            detail: Some("late fee after the due date".into()),
        },
        now,
    )
    .await?;
    Ok(())
}

/// A step of an invoice's plan and, once its email went out, when.
#[derive(Debug, Clone)]
pub struct ScheduledReminder {
    pub step: Step,
    pub sent_at: Option<DateTime<Utc>>,
}

/// The invoice's follow-up plan as it stands, with what was already sent;
/// for an invoice no longer owed, only the reminders that went out.
pub async fn schedule_of<C: ConnectionTrait>(
    conn: &C,
    invoice: &invoice::Model,
) -> DomainResult<Vec<ScheduledReminder>> {
    use entity::enums::{NotificationKind, NotificationStatus};
    use entity::notification;
    let planned = plan_for(conn, invoice).await?;
    let live = follows_up(invoice) && planned.policy.enabled;
    let sent = notification::Entity::find()
        .filter(notification::Column::InvoiceId.eq(invoice.id))
        .filter(notification::Column::Kind.eq(NotificationKind::Reminder))
        .filter(notification::Column::Status.eq(NotificationStatus::Sent))
        .all(conn)
        .await?;
    // While the invoice is owed: the whole plan. Once it is settled (or
    // never followed up): only what was actually sent.
    Ok(planned
        .steps
        .into_iter()
        .map(|step| ScheduledReminder {
            step,
            sent_at: sent
                .iter()
                .find(|n| n.step == step.index.to_string())
                .and_then(|n| n.sent_at),
        })
        .filter(|r| live || r.sent_at.is_some())
        .collect())
}

/// The changes of `updateReminderPolicy`; `None` leaves a setting as it is.
#[derive(Debug, Default, Clone)]
pub struct PolicyChanges {
    pub enabled: Option<bool>,
    pub offsets_days: Option<Vec<i32>>,
    pub window_start_hour: Option<i32>,
    pub window_end_hour: Option<i32>,
    /// `Some(None)` removes the late fee.
    pub late_fee: Option<Option<LateFeeInput>>,
    /// `Some(None)` never marks invoices uncollectible.
    pub uncollectible_after_days: Option<Option<i32>>,
}

#[derive(Debug, Clone)]
pub struct LateFeeInput {
    pub fixed: Option<Decimal>,
    pub percent: Option<Decimal>,
    pub cap: Option<Decimal>,
}

/// Validates and saves a studio's reminder policy; invoices already
/// following up pick up the change at their next step.
pub async fn update_policy(
    db: &DatabaseConnection,
    studio: &studio::Model,
    changes: PolicyChanges,
    now: DateTime<Utc>,
) -> DomainResult<Policy> {
    let mut problems = Problems::new();
    let current = policy_for(db, studio.id).await?;
    let currency = studio.currency;
    let mut offsets = changes.offsets_days.unwrap_or(current.offsets_days.clone());
    offsets.sort_unstable();
    offsets.dedup();
    if offsets.is_empty() || offsets.len() > 10 {
        problems.push(UserError::invalid(
            "offsetsDays",
            "give 1 to 10 reminder days",
        ));
    }
    if offsets.iter().any(|d| !(-60..=365).contains(d)) {
        problems.push(UserError::invalid(
            "offsetsDays",
            "reminder days must be between -60 (before the due date) and 365 (after)",
        ));
    }
    let start = changes
        .window_start_hour
        .unwrap_or(i32::try_from(current.window_start_hour).unwrap_or(9));
    let end = changes
        .window_end_hour
        .unwrap_or(i32::try_from(current.window_end_hour).unwrap_or(17));
    if !(0..=23).contains(&start) || !(1..=24).contains(&end) || start >= end {
        problems.push(UserError::invalid(
            "windowStartHour",
            "the sending window needs 0 <= start < end <= 24 (local hours)",
        ));
    }
    let late_fee = match changes.late_fee {
        None => current.late_fee.clone(),
        Some(None) => None,
        Some(Some(input)) => {
            let fixed = input
                .fixed
                .map(|a| problems.amount("lateFee.fixed", currency, a));
            let cap = input
                .cap
                .map(|a| problems.amount("lateFee.cap", currency, a));
            let percent = input
                .percent
                .map(|p| problems.percent("lateFee.percent", p));
            if fixed.is_none() && percent.is_none() {
                problems.push(UserError::invalid(
                    "lateFee",
                    "a late fee needs a fixed amount, a percentage, or both",
                ));
            }
            if fixed.is_some_and(|f| !f.is_positive()) || cap.is_some_and(|c| !c.is_positive()) {
                problems.push(UserError::invalid(
                    "lateFee",
                    "late fee amounts must be positive",
                ));
            }
            Some(LateFee {
                fixed_minor: fixed,
                percent,
                cap_minor: cap,
            })
        }
    };
    let uncollectible = match changes.uncollectible_after_days {
        None => current.uncollectible_after_days,
        Some(days) => days,
    };
    if uncollectible.is_some_and(|d| !(0..=365).contains(&d)) {
        problems.push(UserError::invalid(
            "uncollectibleAfterDays",
            "must be between 0 and 365 days after the final notice",
        ));
    }
    problems.finish()?;
    let enabled = changes.enabled.unwrap_or(current.enabled);
    let row = reminder_policy::ActiveModel {
        studio_id: Set(studio.id),
        enabled: Set(enabled),
        offsets_days: Set(serde_json::to_string(&offsets).map_err(anyhow::Error::from)?),
        window_start_hour: Set(start),
        window_end_hour: Set(end),
        late_fee_fixed_minor: Set(late_fee.as_ref().and_then(|f| f.fixed_minor)),
        late_fee_percent: Set(late_fee
            .as_ref()
            .and_then(|f| f.percent)
            .map(|p| p.normalize().to_string())),
        late_fee_cap_minor: Set(late_fee.as_ref().and_then(|f| f.cap_minor)),
        uncollectible_after_days: Set(uncollectible),
        updated_at: Set(now),
    };
    let tx = begin_write(db).await?;
    let exists = reminder_policy::Entity::find_by_id(studio.id)
        .one(&tx)
        .await?
        .is_some();
    if exists {
        row.update(&tx).await?;
    } else {
        row.insert(&tx).await?;
    }
    tx.commit().await?;
    policy_for(db, studio.id).await
}
