//! An invoice's reminder plan as stored: the studio's policy (or the
//! default), the zone of its sending window (the client's, else the
//! studio's) and the steps `kernel::reminder_plan` computes from them.
//! `workflow::next` schedules the first step when an invoice is emailed;
//! `followup::reminders` runs the steps.

use crate::infra::error::DomainResult;
use crate::kernel::reminder_plan::{LateFee, Policy, Step, plan};
use chrono_tz::Tz;
use entity::enums::InvoiceStatus;
use entity::{client, invoice, reminder_policy, studio};
use sea_orm::{ConnectionTrait, DatabaseTransaction, EntityTrait};

/// A studio's stored policy, or the default without one.
fn policy_from_row(row: Option<reminder_policy::Model>) -> Policy {
    let Some(row) = row else {
        return Policy::default();
    };
    let offsets_days = serde_json::from_str::<Vec<i32>>(&row.offsets_days).unwrap_or_else(|e| {
        tracing::error!(studio_id = row.studio_id, error = %e, "unreadable reminder offsets; using the default");
        Policy::default().offsets_days
    });
    let percent = row.late_fee_percent.as_deref().and_then(|p| p.parse().ok());
    let late_fee = (row.late_fee_fixed_minor.is_some() || percent.is_some()).then_some(LateFee {
        fixed_minor: row.late_fee_fixed_minor,
        percent,
        cap_minor: row.late_fee_cap_minor,
    });
    Policy {
        enabled: row.enabled,
        offsets_days,
        window_start_hour: u32::try_from(row.window_start_hour).unwrap_or(9),
        window_end_hour: u32::try_from(row.window_end_hour).unwrap_or(17),
        late_fee,
        uncollectible_after_days: row.uncollectible_after_days,
    }
}

pub async fn policy_for<C: ConnectionTrait>(conn: &C, studio_id: i64) -> DomainResult<Policy> {
    Ok(policy_from_row(
        reminder_policy::Entity::find_by_id(studio_id)
            .one(conn)
            .await?,
    ))
}

/// The zone of an invoice's sending window: the client's, else the studio's.
pub fn zone_for(studio: &studio::Model, client: &client::Model) -> Tz {
    client
        .time_zone
        .as_deref()
        .and_then(|z| z.parse().ok())
        .unwrap_or_else(|| crate::kernel::clock::zone(&studio.time_zone))
}

/// An invoice's plan with everything it depends on.
pub struct InvoicePlan {
    pub policy: Policy,
    pub zone: Tz,
    pub steps: Vec<Step>,
}

pub async fn plan_for<C: ConnectionTrait>(
    conn: &C,
    invoice: &invoice::Model,
) -> DomainResult<InvoicePlan> {
    let studio = studio::Entity::find_by_id(invoice.studio_id)
        .one(conn)
        .await?
        .ok_or_else(|| anyhow::anyhow!("studio {} missing", invoice.studio_id))?;
    let client = client::Entity::find_by_id(invoice.client_id)
        .one(conn)
        .await?
        .ok_or_else(|| anyhow::anyhow!("client {} missing", invoice.client_id))?;
    let policy = policy_for(conn, invoice.studio_id).await?;
    let zone = zone_for(&studio, &client);
    let steps = plan(&policy, invoice.due_date, zone, invoice.issued_at);
    Ok(InvoicePlan {
        policy,
        zone,
        steps,
    })
}

pub fn follows_up(invoice: &invoice::Model) -> bool {
    matches!(
        invoice.status,
        InvoiceStatus::Open | InvoiceStatus::PartiallyPaid
    ) && invoice.amount_due_minor.is_positive()
}

/// The first step of a newly emailed invoice's follow-up, if it has one
/// (`workflow::next` schedules it).
pub async fn first_step(tx: &DatabaseTransaction, invoice_id: i64) -> DomainResult<Option<Step>> {
    let Some(invoice) = invoice::Entity::find_by_id(invoice_id).one(tx).await? else {
        return Ok(None);
    };
    if !follows_up(&invoice) {
        return Ok(None);
    }
    let planned = plan_for(tx, &invoice).await?;
    if !planned.policy.enabled {
        return Ok(None);
    }
    Ok(planned.steps.first().copied())
}
