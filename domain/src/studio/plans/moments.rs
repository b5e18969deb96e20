//! When a plan's parts are billed: each on its day at the studio's hour in
//! the client's zone, the part due at booking at once, and an auto-pay
//! client's part `plan_notice_days` ahead, as the notice of its charge.

use chrono::{DateTime, NaiveDate, Utc};
use entity::{client, payment_plan, studio};

/// The moment a part due on `due_date` is billed: the studio's
/// `plan_charge_hour` on that day in the client's zone, else the studio's
/// (a skipped hour moves to the next that exists; see
/// `kernel::reminder_plan::local_time`).
pub fn due_at(
    studio: &studio::Model,
    client: &client::Model,
    due_date: NaiveDate,
) -> DateTime<Utc> {
    let zone = crate::workflow::follow_up_plan::zone_for(studio, client);
    let hour = u32::try_from(studio.plan_charge_hour.clamp(0, 23)).unwrap_or(0);
    crate::kernel::reminder_plan::local_time(zone, due_date, hour)
}

/// The moment a part of `plan` is billed: a part due on or before the day
/// the plan was set (the retainer at booking) as soon as the plan is set;
/// any other on its day at the studio's hour (`due_at`). The same answer
/// whenever it is asked, so the step scheduled for it and the step that
/// bills it agree.
pub fn billing_moment(
    studio: &studio::Model,
    client: &client::Model,
    plan: &payment_plan::Model,
    due_date: NaiveDate,
) -> DateTime<Utc> {
    let zone = crate::kernel::clock::zone(&studio.time_zone);
    let set_on = plan.created_at.with_timezone(&zone).date_naive();
    match due_date <= set_on {
        true => plan.created_at,
        false => due_at(studio, client, due_date).max(plan.created_at),
    }
}

/// The moment a part's installment invoice is issued: its billing moment,
/// or, for an auto-pay client with a card on file, `plan_notice_days`
/// before it (never before the plan was set), so that the invoice is the
/// notice of the charge that follows at the billing moment.
pub fn issue_moment(
    studio: &studio::Model,
    client: &client::Model,
    plan: &payment_plan::Model,
    due_date: NaiveDate,
) -> DateTime<Utc> {
    let due = billing_moment(studio, client, plan, due_date);
    match client.auto_pays() {
        true => {
            let notice = chrono::Duration::days(i64::from(studio.plan_notice_days.clamp(0, 30)));
            (due - notice).max(plan.created_at)
        }
        false => due,
    }
}
