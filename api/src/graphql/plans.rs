//! Payment plans on a booking (`domain::studio::plans`): setting and
//! cancelling one, and `Session.paymentPlan`.

use super::amount::Amount;
use super::catalog::{Package, PackagePayload};
use super::common::{Caller, id, parse_id, payload_type};
use super::money::Money;
use super::percent::Percent;
use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use domain::DomainResult;
use domain::billing::installments::Ahead;
use domain::kernel::ids::SessionId;
use domain::kernel::money::Currency;
use domain::studio::plans::{self, PartInput, Plan, TemplateInput};
use entity::payment_plan_part;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::PlanStatus")]
pub enum PaymentPlanStatus {
    Active,
    /// The session was completed and its final invoice netted the plan.
    Completed,
    Cancelled,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::PlanPartStatus")]
pub enum PlanPartStatus {
    /// Waiting for its day.
    Scheduled,
    /// Billed as an installment invoice (`invoiceNumber`), not yet paid.
    Issued,
    Paid,
    /// The session was completed before its day: its final invoice bills it.
    Folded,
    Cancelled,
}

/// A booking's balance split into dated parts: a retainer at booking and
/// installments before (or after) the session.
#[derive(SimpleObject)]
pub struct PaymentPlan {
    pub id: ID,
    pub status: PaymentPlanStatus,
    /// What the parts add up to: the session's balance when the plan was set.
    pub total: Money,
    pub parts: Vec<PlanPart>,
    /// Paid towards the parts so far.
    pub total_paid: Money,
    /// What the parts still scheduled ask for.
    pub remaining: Money,
}

/// One part of a plan: a payment request of its own, due on its day.
#[derive(SimpleObject)]
pub struct PlanPart {
    /// Kept across edits; `PaymentUpdate.planPartId` names it.
    pub id: ID,
    /// 1 for the first part.
    pub seq: i32,
    pub amount: Money,
    pub due_date: NaiveDate,
    pub status: PlanPartStatus,
    pub amount_paid: Money,
    pub paid_at: Option<DateTime<Utc>>,
    /// The installment invoice that bills the part, once issued (`null`
    /// before its day, and for a part folded into the final invoice).
    pub invoice_id: Option<ID>,
    pub invoice_number: Option<String>,
}

impl PlanPart {
    fn of(p: &payment_plan_part::Model, plan: &Plan) -> Self {
        let invoice = plan.invoice_of(p);
        Self {
            id: id(p.id),
            seq: p.seq,
            amount: Money::of(p.amount_minor, p.currency),
            due_date: p.due_date,
            status: p.status.into(),
            amount_paid: Money::of(p.amount_paid_minor, p.currency),
            paid_at: p.paid_at,
            invoice_id: invoice.map(|i| id(i.id)),
            invoice_number: invoice.and_then(|i| i.number.clone()),
        }
    }
}

impl From<Plan> for PaymentPlan {
    fn from(plan: Plan) -> Self {
        let currency = plan.plan.currency;
        Self {
            id: id(plan.plan.id),
            status: plan.plan.status.into(),
            total: Money::of(plan.plan.total_minor, currency),
            total_paid: Money::of(plan.paid(), currency),
            remaining: Money::of(plan.remaining(), currency),
            parts: plan.parts.iter().map(|p| PlanPart::of(p, &plan)).collect(),
        }
    }
}

/// One part of a plan to set: `amount` or `percent` of the plan's total, or
/// neither for an equal share of what the other parts leave (the remainder
/// on the last); due on `dueDate`, `daysBeforeSession` days before the
/// session (negative: after it), or, with neither, at booking (today).
#[derive(InputObject)]
pub struct PlanPartInput {
    pub amount: Option<Amount>,
    pub percent: Option<Percent>,
    pub due_date: Option<NaiveDate>,
    pub days_before_session: Option<i32>,
}

#[derive(InputObject)]
pub struct SetPaymentPlanInput {
    pub session_id: ID,
    /// In order; each due strictly after the one before. Omitted: the
    /// session's package's default plan (`Package.paymentPlan`).
    pub parts: Option<Vec<PlanPartInput>>,
}

/// The plan's parts not billed yet, as they should be from now on. They ask
/// for what the parts they replace asked for (a `percent` is of that); the
/// first falls due after the last part billed.
#[derive(InputObject)]
pub struct EditPaymentPlanInput {
    pub session_id: ID,
    pub parts: Vec<PlanPartInput>,
}

impl PlanPartInput {
    fn into_domain(self) -> PartInput {
        PartInput {
            amount: self.amount.map(Into::into),
            percent: self.percent.map(Into::into),
            due_date: self.due_date,
            days_before_session: self.days_before_session,
        }
    }
}

/// One part of a package's default plan, as returned.
#[derive(SimpleObject)]
pub struct PlanPartTemplate {
    pub amount: Option<Money>,
    pub percent: Option<rust_decimal::Decimal>,
    /// `null`: at booking.
    pub days_before_session: Option<i32>,
}

impl PlanPartTemplate {
    pub fn of(package: &entity::package::Model, currency: Currency) -> Vec<Self> {
        plans::template_of(package)
            .unwrap_or_else(|e| {
                tracing::error!(package_id = package.id, error = %e, "unreadable default plan");
                Vec::new()
            })
            .iter()
            .map(|p| Self {
                amount: p.amount_minor.map(|m| Money::of(m, currency)),
                percent: p.percent,
                days_before_session: p.days_before_session,
            })
            .collect()
    }
}

/// One part of a package's default plan: `amount` or `percent` or neither
/// (the rest), due `daysBeforeSession` days before the session or, without
/// it, at booking.
#[derive(InputObject)]
pub struct PlanPartTemplateInput {
    pub amount: Option<Amount>,
    pub percent: Option<Percent>,
    pub days_before_session: Option<i32>,
}

#[derive(InputObject)]
pub struct SetPackagePaymentPlanInput {
    pub package_id: ID,
    /// Empty: the package has no default plan.
    pub parts: Vec<PlanPartTemplateInput>,
}

payload_type!(PaymentPlanPayload, payment_plan, PaymentPlan);

fn session_id(id: &ID) -> DomainResult<SessionId> {
    parse_id(id, "sessionId", "session").map(SessionId::new)
}

#[derive(Default)]
pub struct PlansMutation;

#[Object]
impl PlansMutation {
    /// Splits a scheduled session's balance into dated parts. Refused, with
    /// nothing written: parts that do not add up (`PARTS_DO_NOT_ADD_UP`),
    /// dates out of order or past (`DATES_OUT_OF_ORDER`, `DATE_IN_PAST`), a
    /// part below the processor's minimum (`BELOW_MINIMUM`), more than 12
    /// parts (`TOO_MANY_PARTS`), more than 4 due after the session
    /// (`PLAN_GUARDRAIL`), a session not scheduled (`INVALID_STATE`). A plan
    /// already on the session is replaced while nothing of it is paid.
    async fn set_payment_plan(
        &self,
        ctx: &Context<'_>,
        input: SetPaymentPlanInput,
    ) -> Result<PaymentPlanPayload> {
        let caller = Caller::of(ctx)?;
        let parts: Option<Vec<PartInput>> = input
            .parts
            .map(|parts| parts.into_iter().map(PlanPartInput::into_domain).collect());
        let result = async {
            let session = session_id(&input.session_id)?;
            let request_id = caller.request_id();
            plans::set_plan(
                caller.app,
                caller.studio,
                session,
                parts.as_deref(),
                request_id,
            )
            .await
        }
        .await;
        PaymentPlanPayload::from_result(result.map(Into::into))
    }

    /// Rewrites the plan's parts not billed yet: in place (the plan, its
    /// parts' numbers and the client's auto-pay stay), each part billed on
    /// its new day, one "schedule updated" email to the client. Billed and
    /// paid parts stay as they are. Refused, with nothing written, as
    /// `setPaymentPlan` is, and with `INVALID_STATE` when every part is
    /// billed already.
    async fn edit_payment_plan(
        &self,
        ctx: &Context<'_>,
        input: EditPaymentPlanInput,
    ) -> Result<PaymentPlanPayload> {
        let caller = Caller::of(ctx)?;
        let parts: Vec<PartInput> = input
            .parts
            .into_iter()
            .map(PlanPartInput::into_domain)
            .collect();
        let result = async {
            let session = session_id(&input.session_id)?;
            let request_id = caller.request_id();
            plans::edit_plan(caller.app, caller.studio, session, &parts, request_id).await
        }
        .await;
        PaymentPlanPayload::from_result(result.map(Into::into))
    }

    /// A package's default payment plan, which `setPaymentPlan` without
    /// parts applies to a session of the package; an empty list removes it.
    /// Checked as far as it can be without a session (order, percentages,
    /// minimum, a part for the rest).
    async fn set_package_payment_plan(
        &self,
        ctx: &Context<'_>,
        input: SetPackagePaymentPlanInput,
    ) -> Result<PackagePayload> {
        let caller = Caller::of(ctx)?;
        let parts: Vec<TemplateInput> = input
            .parts
            .into_iter()
            .map(|p| TemplateInput {
                amount: p.amount.map(Into::into),
                percent: p.percent.map(Into::into),
                days_before_session: p.days_before_session,
            })
            .collect();
        let result = async {
            let package = parse_id(&input.package_id, "packageId", "package")?;
            plans::set_package_plan(caller.db(), caller.studio, package, &parts).await
        }
        .await;
        PackagePayload::from_result(result.map(|p| Package::new(&p, caller.studio.currency)))
    }

    /// Bills the plan's next scheduled part now, as its installment invoice,
    /// so it can be paid ahead (a check for it, a client paying early): the
    /// earliest part first, and refused (`INVALID_STATE`) while an earlier
    /// part is billed and unpaid or when every part is billed. The part's
    /// auto-charge on its day, if any, charges only what is still due.
    async fn bill_next_plan_part(
        &self,
        ctx: &Context<'_>,
        session_id: ID,
    ) -> Result<super::invoices::InvoicePayload> {
        bill_ahead(ctx, &session_id, Ahead::NextPart).await
    }

    /// Bills everything that's left of the plan now, as one installment
    /// invoice with a line per part (a client paying the rest at once, a
    /// check for all of it): money paid on it goes to its oldest part
    /// first. It is paid by hand or on the portal, never charged to the
    /// card on file; left unpaid until its first part's day, it is voided
    /// and the plan goes on part by part. Refused (`INVALID_STATE`) as
    /// `billNextPlanPart` is, and while a later part is billed and unpaid.
    async fn bill_rest_of_plan(
        &self,
        ctx: &Context<'_>,
        session_id: ID,
    ) -> Result<super::invoices::InvoicePayload> {
        bill_ahead(ctx, &session_id, Ahead::Rest).await
    }

    /// Cancels a scheduled session's payment plan: its unpaid parts will not
    /// be asked for; what was paid stays recorded.
    async fn cancel_payment_plan(
        &self,
        ctx: &Context<'_>,
        session_id: ID,
    ) -> Result<PaymentPlanPayload> {
        let caller = Caller::of(ctx)?;
        let result = async {
            let session = self::session_id(&session_id)?;
            plans::cancel_plan(caller.db(), caller.studio, session, caller.now()).await
        }
        .await;
        PaymentPlanPayload::from_result(result.map(Into::into))
    }
}

/// `Session.paymentPlan`: the session's active plan.
pub async fn of_session(caller: &Caller<'_>, session: SessionId) -> Result<Option<PaymentPlan>> {
    let plan = plans::plan_of(caller.db(), caller.studio.id, session)
        .await
        .map_err(super::common::domain_error)?;
    Ok(plan.map(Into::into))
}

/// `billNextPlanPart` / `billRestOfPlan`.
async fn bill_ahead(
    ctx: &Context<'_>,
    session_id: &ID,
    ahead: Ahead,
) -> Result<super::invoices::InvoicePayload> {
    let caller = Caller::of(ctx)?;
    let result = async {
        let session = self::session_id(session_id)?;
        let request_id = caller.request_id();
        domain::billing::installments::bill_ahead(
            caller.app,
            caller.studio.id,
            session,
            ahead,
            request_id,
        )
        .await
    }
    .await;
    super::invoices::InvoicePayload::from_result(result.map(Into::into))
}
