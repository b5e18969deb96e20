//! Payment plans on a booking (issue 19): the session's balance split into
//! dated parts, a retainer at booking and installments (the arithmetic and
//! the rules are `kernel::plan`'s). Setting a plan on a session that has one
//! replaces it while nothing of it is paid; cancelling keeps the plan and
//! its parts on record, `CANCELLED`.
//!
//! Each part is billed on its day at the studio's `plan_charge_hour` in the
//! client's zone (else the studio's): setting a plan writes one
//! `IssuePlanPart` outbox row per part for that moment, and
//! `billing::installments` issues the part as an installment invoice then
//! (charged to the card on file, or emailed). Replacing a plan retires its
//! parts; their rows find them `CANCELLED` and do nothing. Editing the
//! parts not billed yet keeps the plan (`edit`).

use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::{DomainResult, UserError};
use crate::kernel::ids::SessionId;
use crate::kernel::money::{Currency, Minor};
use crate::kernel::plan::{self, Due, PartSpec, Share, TemplatePart};
use crate::kernel::validate::Problems;
use crate::workflow::next::{self, Change};
use chrono::{DateTime, NaiveDate, Utc};
use entity::enums::{PlanPartStatus, PlanStatus, SessionStatus};
use entity::{client, invoice, package, payment_plan, payment_plan_part, session, studio};
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

/// One part as the studio asks for it: an amount, a percentage of the
/// plan's total, or neither (an equal share of what the others leave); due
/// on a date, some days before the session (negative: after), or, with
/// neither, at booking.
#[derive(Debug, Clone, Default)]
pub struct PartInput {
    pub amount: Option<Decimal>,
    pub percent: Option<Decimal>,
    pub due_date: Option<NaiveDate>,
    pub days_before_session: Option<i32>,
}

/// A plan with its parts, in order.
#[derive(Debug, Clone)]
pub struct Plan {
    pub plan: payment_plan::Model,
    pub parts: Vec<payment_plan_part::Model>,
    /// The installment invoices that billed its parts (not void).
    pub invoices: Vec<invoice::Model>,
}

impl Plan {
    /// What was paid towards the plan's parts.
    pub fn paid(&self) -> Minor {
        self.parts.iter().map(|p| p.amount_paid_minor).sum()
    }

    /// What the live parts still ask for.
    pub fn remaining(&self) -> Minor {
        self.parts
            .iter()
            .filter(|p| matches!(p.status, PlanPartStatus::Scheduled | PlanPartStatus::Issued))
            .map(|p| p.amount_minor - p.amount_paid_minor)
            .sum()
    }

    /// The installment invoice that billed `part`, if any: its own, or one
    /// billing the rest of the plan from an earlier part through it.
    pub fn invoice_of(&self, part: &payment_plan_part::Model) -> Option<&invoice::Model> {
        self.invoices.iter().find(|i| {
            i.plan_part_id == Some(part.id)
                || i.plan_through_seq.is_some_and(|through| {
                    part.seq <= through
                        && self
                            .parts
                            .iter()
                            .any(|first| i.plan_part_id == Some(first.id) && first.seq < part.seq)
                })
        })
    }

    /// The parts a rest of the plan paid at once would bill: the earliest
    /// part still scheduled and the scheduled ones after it, when nothing
    /// after them is left to pay (else `None`).
    pub fn rest(&self) -> Option<Vec<&payment_plan_part::Model>> {
        let live = |p: &&payment_plan_part::Model| {
            matches!(p.status, PlanPartStatus::Scheduled | PlanPartStatus::Issued)
                && p.amount_paid_minor < p.amount_minor
        };
        let first = self
            .parts
            .iter()
            .position(|p| p.status == PlanPartStatus::Scheduled)?;
        let run: Vec<_> = self.parts[first..]
            .iter()
            .take_while(|p| p.status == PlanPartStatus::Scheduled)
            .collect();
        let after_run = &self.parts[first + run.len()..];
        (!after_run.iter().any(|p| live(&p))).then_some(run)
    }

    /// Whether any part was billed already (issued or paid).
    fn billed(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p.status, PlanPartStatus::Issued | PlanPartStatus::Paid))
    }
}

mod edit;
mod moments;
pub use edit::edit_plan;
pub use moments::{billing_moment, due_at, issue_moment};

/// The days a plan on `booked` is laid out against, in the studio's zone.
/// The consumer-credit rule follows where the client lives when the studio
/// recorded it, else where the studio is.
async fn calendar(
    db: &impl ConnectionTrait,
    studio: &studio::Model,
    booked: &session::Model,
    now: DateTime<Utc>,
) -> DomainResult<plan::Calendar> {
    let zone = crate::kernel::clock::zone(&studio.time_zone);
    let lives_in = super::sessions::where_client_lives(db, studio, booked.client_id).await?;
    Ok(plan::Calendar {
        today: now.with_timezone(&zone).date_naive(),
        session_day: booked.scheduled_at.with_timezone(&zone).date_naive(),
        eu_consumer: crate::kernel::country::in_eea(lives_in.as_deref()),
    })
}

fn specs(parts: &[PartInput], currency: Currency) -> Result<Vec<PartSpec>, Vec<UserError>> {
    let mut problems = Problems::new();
    let mut specs = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let field = |name: &str| format!("parts.{i}.{name}");
        let share = match (part.amount, part.percent) {
            (Some(a), None) => Share::Amount(problems.amount(&field("amount"), currency, a)),
            (None, Some(p)) => Share::Percent(problems.percent(&field("percent"), p)),
            (None, None) => Share::Rest,
            (Some(_), Some(_)) => {
                problems.push(UserError::invalid(
                    &field("amount"),
                    "give an amount or a percentage, not both",
                ));
                Share::Rest
            }
        };
        let due = match (part.due_date, part.days_before_session) {
            (Some(date), None) => Due::On(date),
            (None, Some(days)) => Due::DaysBeforeSession(days),
            (None, None) => Due::AtBooking,
            (Some(_), Some(_)) => {
                problems.push(UserError::invalid(
                    &field("dueDate"),
                    "give a date or days before the session, not both",
                ));
                Due::AtBooking
            }
        };
        specs.push(PartSpec { share, due });
    }
    problems.finish().map(|()| specs)
}

/// One part of a package's default plan as the studio writes it: an
/// amount, a percentage, or neither (the rest); due `days_before_session`
/// days before the session, or at booking.
#[derive(Debug, Clone, Default)]
pub struct TemplateInput {
    pub amount: Option<Decimal>,
    pub percent: Option<Decimal>,
    pub days_before_session: Option<i32>,
}

/// A package's default plan (empty when it has none).
pub fn template_of(package: &package::Model) -> DomainResult<Vec<TemplatePart>> {
    match &package.plan_template {
        None => Ok(Vec::new()),
        Some(raw) => serde_json::from_str(raw)
            .map_err(|e| anyhow::anyhow!("plan template of package {}: {e}", package.id).into()),
    }
}

/// Sets a package's default plan ("35 % at booking, 35 % 60 days before,
/// the rest 14 days before"), checked as far as it can be without a
/// session; an empty list removes it. `setPaymentPlan` without parts
/// applies it to a session of the package.
pub async fn set_package_plan(
    db: &DatabaseConnection,
    studio: &studio::Model,
    package_id: i64,
    parts: &[TemplateInput],
) -> DomainResult<package::Model> {
    let found = super::catalog::find_package(db, studio.id, package_id)
        .await?
        .ok_or_else(|| UserError::not_found("packageId", "package"))?;
    let mut problems = Problems::new();
    let template: Vec<TemplatePart> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| TemplatePart {
            amount_minor: p
                .amount
                .map(|a| problems.amount(&format!("parts.{i}.amount"), studio.currency, a)),
            percent: p
                .percent
                .map(|v| problems.percent(&format!("parts.{i}.percent"), v)),
            days_before_session: p.days_before_session,
        })
        .collect();
    problems.finish()?;
    let stored = if template.is_empty() {
        None
    } else {
        plan::check_template(studio.currency, &template)?;
        Some(serde_json::to_string(&template).map_err(|e| anyhow::anyhow!("plan template: {e}"))?)
    };
    let mut active: package::ActiveModel = found.into();
    active.plan_template = Set(stored);
    Ok(active.update(db).await?)
}

/// The plan a session gets when the studio gives no parts: its package's
/// default plan.
async fn package_default(
    tx: &impl ConnectionTrait,
    booked: &session::Model,
) -> DomainResult<Vec<PartSpec>> {
    let package = match booked.package_id {
        Some(id) => package::Entity::find_by_id(id).one(tx).await?,
        None => None,
    };
    let template = package
        .as_ref()
        .map(template_of)
        .transpose()?
        .unwrap_or_default();
    if template.is_empty() {
        return Err(UserError::invalid(
            "parts",
            "give the parts: the session's package has no default plan",
        )
        .into());
    }
    Ok(template.iter().map(TemplatePart::spec).collect())
}

/// The session's plan: the active one, or the one its completion netted.
pub async fn plan_of(
    db: &impl ConnectionTrait,
    studio_id: i64,
    session: SessionId,
) -> DomainResult<Option<Plan>> {
    let Some(plan) = payment_plan::Entity::find()
        .filter(payment_plan::Column::StudioId.eq(studio_id))
        .filter(payment_plan::Column::SessionId.eq(session.get()))
        .filter(payment_plan::Column::Status.is_in([PlanStatus::Active, PlanStatus::Completed]))
        .order_by_desc(payment_plan::Column::Id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(with_parts(db, plan).await?))
}

/// `plan` with its parts, in order.
pub(crate) async fn with_parts(
    db: &impl ConnectionTrait,
    plan: payment_plan::Model,
) -> DomainResult<Plan> {
    let parts = payment_plan_part::Entity::find()
        .filter(payment_plan_part::Column::PlanId.eq(plan.id))
        .order_by_asc(payment_plan_part::Column::Seq)
        .all(db)
        .await?;
    let invoices = invoice::Entity::find()
        .filter(invoice::Column::PlanPartId.is_in(parts.iter().map(|p| p.id)))
        .filter(invoice::Column::Status.ne(entity::enums::InvoiceStatus::Void))
        .all(db)
        .await?;
    Ok(Plan {
        plan,
        parts,
        invoices,
    })
}

/// The session, locked for the change, if it is the studio's and still
/// scheduled.
async fn scheduled_session(
    tx: &impl ConnectionTrait,
    studio_id: i64,
    session: SessionId,
) -> DomainResult<session::Model> {
    let found = session::Entity::find_by_id(session.get())
        .filter(session::Column::StudioId.eq(studio_id))
        .lock_exclusive()
        .one(tx)
        .await?
        .ok_or_else(|| UserError::not_found("sessionId", "session"))?;
    if found.status != SessionStatus::Scheduled {
        return Err(UserError::state(
            "sessionId",
            format!(
                "the session is {}; a payment plan is set on a scheduled session",
                found.status.as_str()
            ),
        )
        .into());
    }
    Ok(found)
}

/// Cancels `plan` and its unpaid parts (paid parts stay `PAID`); returns
/// the plan as it is now.
async fn retire(
    tx: &impl ConnectionTrait,
    plan: &payment_plan::Model,
    now: DateTime<Utc>,
) -> DomainResult<payment_plan::Model> {
    payment_plan_part::Entity::update_many()
        .col_expr(
            payment_plan_part::Column::Status,
            Expr::value(PlanPartStatus::Cancelled.as_str()),
        )
        .col_expr(payment_plan_part::Column::UpdatedAt, Expr::value(now))
        .filter(payment_plan_part::Column::PlanId.eq(plan.id))
        .filter(payment_plan_part::Column::Status.eq(PlanPartStatus::Scheduled))
        .exec(tx)
        .await?;
    let mut active: payment_plan::ActiveModel = plan.clone().into();
    active.status = Set(PlanStatus::Cancelled);
    active.cancelled_at = Set(Some(now));
    active.updated_at = Set(now);
    Ok(active.update(tx).await?)
}

/// Sets the session's payment plan: its balance (the session priced as its
/// invoice will be, less the retainer already recorded) split into `parts`,
/// or, without parts, as its package's default plan says. Nothing is
/// written when anything is refused. A plan already on the session is
/// replaced, unless something was paid towards it.
pub async fn set_plan(
    ctx: &AppContext,
    studio: &studio::Model,
    session: SessionId,
    parts: Option<&[PartInput]>,
    request_id: Option<&str>,
) -> DomainResult<Plan> {
    let now = ctx.clock.now();
    let currency = studio.currency;
    let given = parts.map(|p| specs(p, currency)).transpose()?;
    let tx = begin_write(&ctx.db).await?;
    let booked = scheduled_session(&tx, studio.id, session).await?;
    let specs = match given {
        Some(specs) => specs,
        None => package_default(&tx, &booked).await?,
    };
    let (_, priced) = super::quote::quote_session(&tx, studio, &booked, Minor::ZERO).await?;
    let priced = priced.map_err(|e| UserError::invalid("sessionId", e.to_string()))?;
    let total = Minor::new(priced.total_minor);
    if !total.is_positive() {
        return Err(UserError::state("sessionId", "the session leaves nothing to pay").into());
    }
    let planned = plan::plan(
        total,
        currency,
        &specs,
        &calendar(&tx, studio, &booked, now).await?,
    )?;
    if let Some(current) = plan_of(&tx, studio.id, session).await? {
        if current.paid().is_positive() || current.billed() {
            return Err(UserError::state(
                "sessionId",
                "part of the current plan is billed or paid; edit its future parts instead",
            )
            .into());
        }
        retire(&tx, &current.plan, now).await?;
    }
    let plan = payment_plan::ActiveModel {
        studio_id: Set(studio.id),
        session_id: Set(booked.id),
        currency: Set(currency),
        total_minor: Set(total),
        status: Set(PlanStatus::Active),
        revision: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        cancelled_at: Set(None),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    let mut stored = Vec::with_capacity(planned.len());
    for part in &planned {
        stored.push(insert_part(&tx, &plan, part, now).await?);
    }
    let client = client::Entity::find_by_id(booked.client_id)
        .one(&tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("client of session {} missing", booked.id))?;
    let parts = stored
        .iter()
        .map(|p| (p.id, issue_moment(studio, &client, &plan, p.due_date)))
        .collect();
    let change = Change::PlanScheduled {
        studio_id: studio.id,
        parts,
    };
    next::after(&tx, change, request_id, now).await?;
    next::commit(ctx, tx).await?;
    tracing::info!(
        studio_id = studio.id,
        session_id = booked.id,
        plan_id = plan.id,
        total = total.get(),
        parts = stored.len(),
        "payment plan set"
    );
    Ok(Plan {
        plan,
        parts: stored,
        invoices: Vec::new(),
    })
}

/// Stores `part` of `plan`, `SCHEDULED`.
async fn insert_part(
    tx: &impl ConnectionTrait,
    plan: &payment_plan::Model,
    part: &plan::PlannedPart,
    now: DateTime<Utc>,
) -> DomainResult<payment_plan_part::Model> {
    Ok(payment_plan_part::ActiveModel {
        plan_id: Set(plan.id),
        studio_id: Set(plan.studio_id),
        seq: Set(part.seq),
        amount_minor: Set(part.amount),
        currency: Set(plan.currency),
        due_date: Set(part.due_date),
        status: Set(PlanPartStatus::Scheduled),
        amount_paid_minor: Set(Minor::ZERO),
        paid_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(tx)
    .await?)
}

/// Cancels the session's payment plan: its unpaid parts will not be asked
/// for; what was paid stays recorded. Returns the cancelled plan.
pub async fn cancel_plan(
    db: &DatabaseConnection,
    studio: &studio::Model,
    session: SessionId,
    now: DateTime<Utc>,
) -> DomainResult<Plan> {
    let tx = begin_write(db).await?;
    scheduled_session(&tx, studio.id, session).await?;
    let current = plan_of(&tx, studio.id, session)
        .await?
        .ok_or_else(|| UserError::not_found("sessionId", "payment plan"))?;
    let retired = retire(&tx, &current.plan, now).await?;
    let cancelled = with_parts(&tx, retired).await?;
    tx.commit().await?;
    Ok(cancelled)
}
