//! A payment plan collected (issue 19): each part of a session's plan is
//! billed on its day as an invoice of its own, kind `INSTALLMENT`, with the
//! next gap-free number, and then goes the way every invoice goes
//! (`invoicing::finalize_and_route`): charged off-session to the card on
//! file for an auto-pay client, else emailed with its portal link; declines,
//! retries, reminders, receipts and refunds are the invoice's.
//!
//! - **Once, on its day.** `IssuePlanPart` runs at the part's moment
//!   (`studio::plans::billing_moment`). It locks the session, then the part, and
//!   bills a part that is still `SCHEDULED` of a plan still `ACTIVE` on a
//!   session still `SCHEDULED`; the part becomes `ISSUED` in the same
//!   transaction, and `ux_invoices_plan_part` allows one invoice that is not
//!   `VOID` per part. A replay, a part of a replaced or cancelled plan, or a
//!   part of a completed session does nothing; a run before the moment is
//!   postponed to it.
//! - **The part follows its invoice.** Every money movement on an
//!   installment (`lifecycle::apply_money`) writes what was paid towards the
//!   part and `PAID` / `ISSUED` back to it (`follow_invoice`).
//! - **Notice before an auto-charge.** For an auto-pay client with a card,
//!   the installment is issued `plan_notice_days` before its moment
//!   (`plans::issue_moment`) and emailed as the notice, naming the amount,
//!   the day and the card (`auto_charge_notice`); its charge is scheduled
//!   for the moment (`charge_at`) and charges what is still due then, so a
//!   part paid in between is not charged.
//! - **The card checked first.** An auto-pay part above the studio's
//!   `plan_card_check_minor` has its card checked at the gateway when its
//!   notice goes (`card_check`); a refused card gets the client a link to
//!   save another, days before the charge.
//! - **A voided installment gives its part back** to the final invoice,
//!   and may be voided only while no final invoice credits it
//!   (`release_on_void`).
//! - **Completion nets the plan** (`netting`). When the session's final
//!   invoice is drafted (`net_into_final`), parts not yet billed are `FOLDED` into it
//!   (it bills them), the plan becomes `COMPLETED`, and every installment
//!   invoice that was billed is credited on it, one row each, for what it
//!   collected or still collects itself (`total - credited`; what was
//!   collected only, for one written off). The final invoice therefore
//!   bills the session as delivered less the retainer and the installments.

use crate::billing::invoicing::announce_issued;
use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::DomainResult;
use crate::kernel::money::Minor;
use crate::studio::plans;
use chrono::{DateTime, Utc};
use entity::enums::{InvoiceKind, InvoiceStatus, PlanPartStatus, PlanStatus, SessionStatus};
use entity::{client, invoice, payment_plan, payment_plan_part, session, studio};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QuerySelect,
};

mod ahead;
mod card_check;
mod draft;
mod netting;
mod rest;
mod standing;
pub use ahead::{Ahead, bill_ahead, ensure_oldest_first};
pub use card_check::{Checked, check_card};
use draft::Billed;
pub(crate) use draft::span_label;
pub use netting::{PlanCredit, credit_rows, net_into_final};
pub use standing::{standing, unsettled};

/// What `IssuePlanPart` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issued {
    /// The part was billed as installment invoice `number`.
    Issued { invoice_id: i64, number: String },
    /// The part's moment is still ahead.
    NotYet(DateTime<Utc>),
    /// Nothing to bill (and why): already billed or paid, the plan replaced
    /// or cancelled, the session completed or cancelled.
    Nothing(&'static str),
}

/// When a part is billed: at its moment (the plan's own step), or now,
/// because someone pays it ahead ([`ahead::bill_ahead`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timing {
    OnItsMoment,
    Ahead,
    /// Now, with every later part still scheduled, as one invoice: the
    /// client pays everything that's left ([`ahead::bill_ahead`]).
    Rest,
}

/// The plan part invoice `invoice_id` bills, for the gateway's metadata
/// (`metadata[installment_id]`), if it is an installment.
pub async fn part_of(db: &impl ConnectionTrait, invoice_id: i64) -> DomainResult<Option<String>> {
    let part: Option<Option<i64>> = invoice::Entity::find_by_id(invoice_id)
        .select_only()
        .column(invoice::Column::PlanPartId)
        .into_tuple()
        .one(db)
        .await?;
    Ok(part.flatten().map(|id| id.to_string()))
}

/// Bills part `part_id` of a payment plan if it is due and still asked for.
pub async fn issue_part(
    ctx: &AppContext,
    part_id: i64,
    request_id: Option<&str>,
) -> DomainResult<Issued> {
    issue(ctx, part_id, Timing::OnItsMoment, request_id).await
}

async fn issue(
    ctx: &AppContext,
    part_id: i64,
    timing: Timing,
    request_id: Option<&str>,
) -> DomainResult<Issued> {
    let now = ctx.clock.now();
    let tx = begin_write(&ctx.db).await?;
    let Some((plan, booked, mut part)) = locked(&tx, part_id).await? else {
        return Ok(Issued::Nothing("the part or its session is gone"));
    };
    // A part billed with the rest of the plan on the client's request comes
    // back to its own day if that request was left unpaid (`rest::abandoned`).
    let mut rest = None;
    if part.status == PlanPartStatus::Issued && timing == Timing::OnItsMoment {
        rest = rest::billing(&tx, &plan, &part).await?;
    }
    if part.status != PlanPartStatus::Scheduled && rest.is_none() {
        return Ok(Issued::Nothing("the part is not scheduled any more"));
    }
    if plan.status != PlanStatus::Active {
        return Ok(Issued::Nothing("the plan was replaced or cancelled"));
    }
    // A completed session's plan is still active only when its studio keeps
    // the parts on their days (`netting`).
    if !matches!(
        booked.status,
        SessionStatus::Scheduled | SessionStatus::Completed
    ) {
        return Ok(Issued::Nothing("the session is not scheduled any more"));
    }
    let studio = studio::Entity::find_by_id(booked.studio_id)
        .one(&tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("studio of session {} missing", booked.id))?;
    let client = client::Entity::find_by_id(booked.client_id)
        .one(&tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("client of session {} missing", booked.id))?;
    let at = plans::issue_moment(&studio, &client, &plan, part.due_date);
    if timing == Timing::OnItsMoment && now < at {
        return Ok(Issued::NotYet(at));
    }
    if let Some(billed) = rest {
        match rest::release_if_abandoned(&tx, billed, at, part.seq, request_id, now).await? {
            rest::Fate::Stands => {
                return Ok(Issued::Nothing(
                    "the part is billed with the rest of the plan",
                ));
            }
            rest::Fate::Underway(until) => return Ok(Issued::NotYet(until)),
            rest::Fate::Released => {}
        }
        part = payment_plan_part::Entity::find_by_id(part_id)
            .one(&tx)
            .await?
            .ok_or_else(|| anyhow::anyhow!("part {part_id} vanished"))?;
    }
    let owed = part.amount_minor - part.amount_paid_minor;
    if !owed.is_positive() {
        mark(&tx, &part, PlanPartStatus::Paid, now).await?;
        tx.commit().await?;
        return Ok(Issued::Nothing("the part is paid"));
    }
    let later = match timing {
        Timing::Rest => rest::later_parts(&tx, &part).await?,
        Timing::OnItsMoment | Timing::Ahead => Vec::new(),
    };
    let billed = Billed {
        studio: &studio,
        session: &booked,
        client: &client,
        part: &part,
        later: &later,
    };
    let invoice = draft::bill(ctx, &tx, billed, request_id, now).await?;
    netting::complete_when_billed(&tx, &plan, &booked, now).await?;
    if later.is_empty() {
        // Paid on the portal, never charged: the rest has nothing to check.
        card_check::ahead_of_charge(
            ctx,
            &tx,
            (&studio, &client, &plan),
            &part,
            &invoice,
            request_id,
        )
        .await?;
    }
    tx.commit().await?;
    announce_issued(ctx, &invoice).await;
    let number = invoice.display_number().to_string();
    tracing::info!(part_id, invoice_id = invoice.id, %number, "plan part issued");
    Ok(Issued::Issued {
        invoice_id: invoice.id,
        number,
    })
}

type Locked = (
    payment_plan::Model,
    session::Model,
    payment_plan_part::Model,
);

/// Part `part_id` with its plan and session, the session locked first,
/// then the part; `None` if either is gone.
async fn locked(tx: &impl ConnectionTrait, part_id: i64) -> DomainResult<Option<Locked>> {
    let Some(part) = payment_plan_part::Entity::find_by_id(part_id)
        .one(tx)
        .await?
    else {
        return Ok(None);
    };
    let plan = payment_plan::Entity::find_by_id(part.plan_id)
        .one(tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("plan of part {part_id} missing"))?;
    // The session first, then the part: completing the session takes the
    // session's row too, so a part is either billed before the completion
    // or folded into the final invoice by it, never both.
    let Some(booked) = session::Entity::find_by_id(plan.session_id)
        .lock_exclusive()
        .one(tx)
        .await?
    else {
        return Ok(None);
    };
    let part = payment_plan_part::Entity::find_by_id(part_id)
        .lock_exclusive()
        .one(tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("part {part_id} vanished"))?;
    Ok(Some((plan, booked, part)))
}

async fn mark(
    tx: &impl ConnectionTrait,
    part: &payment_plan_part::Model,
    status: PlanPartStatus,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let mut active: payment_plan_part::ActiveModel = part.clone().into();
    active.status = Set(status);
    active.updated_at = Set(now);
    active.update(tx).await?;
    Ok(())
}

/// Writes an installment's money back to its part: what was paid towards
/// it (net of refunds), `PAID` once the invoice is, `ISSUED` again when a
/// refund reopens it. Other invoices are left alone.
pub async fn follow_invoice(
    tx: &impl ConnectionTrait,
    invoice: &invoice::Model,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let Some(part_id) = invoice.plan_part_id else {
        return Ok(());
    };
    let paid = invoice.amount_paid_minor - invoice.amount_refunded_minor;
    if invoice.plan_through_seq.is_some() {
        return rest::follow(tx, invoice, paid, now).await;
    }
    let status = match invoice.status {
        InvoiceStatus::Paid => PlanPartStatus::Paid,
        _ => PlanPartStatus::Issued,
    };
    payment_plan_part::Entity::update_many()
        .col_expr(
            payment_plan_part::Column::AmountPaidMinor,
            Expr::value(paid.at_least_zero()),
        )
        .col_expr(
            payment_plan_part::Column::Status,
            Expr::value(status.as_str()),
        )
        .col_expr(
            payment_plan_part::Column::PaidAt,
            Expr::value(invoice.paid_at.filter(|_| status == PlanPartStatus::Paid)),
        )
        .col_expr(payment_plan_part::Column::UpdatedAt, Expr::value(now))
        .filter(payment_plan_part::Column::Id.eq(part_id))
        .filter(
            payment_plan_part::Column::Status.is_in([PlanPartStatus::Issued, PlanPartStatus::Paid]),
        )
        .exec(tx)
        .await?;
    Ok(())
}

/// When an installment issued now is to be charged to an auto-pay client's
/// card: its part's billing moment, if that is still ahead (the invoice
/// went out as the notice); `None` for a final invoice or a part due now.
pub async fn charge_at(
    tx: &impl ConnectionTrait,
    studio: &studio::Model,
    client: &client::Model,
    invoice: &invoice::Model,
    now: DateTime<Utc>,
) -> DomainResult<Option<DateTime<Utc>>> {
    let Some(part_id) = invoice
        .plan_part_id
        .filter(|_| invoice.plan_through_seq.is_none())
    else {
        return Ok(None);
    };
    let part = payment_plan_part::Entity::find_by_id(part_id)
        .one(tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("part {part_id} of invoice {} missing", invoice.id))?;
    let plan = payment_plan::Entity::find_by_id(part.plan_id)
        .one(tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("plan of part {part_id} missing"))?;
    let due = plans::billing_moment(studio, client, &plan, part.due_date);
    Ok((due > now).then_some(due))
}

/// For an installment that is the notice of its auto-charge (open, no
/// attempt yet, an auto-pay client with a card): when and to which card
/// it will be charged, and a warning if the card expires before then.
pub fn auto_charge_notice(doc: &crate::billing::documents::InvoiceDocument) -> Option<String> {
    let (inv, client) = (&doc.invoice, &doc.client);
    let noticed = inv.kind == InvoiceKind::Installment
        && inv.plan_through_seq.is_none()
        && inv.status == InvoiceStatus::Open
        && doc.payments.is_empty()
        && client.auto_pays();
    if !noticed {
        return None;
    }
    let card = crate::billing::labels::card_display(
        client.pm_brand.as_deref(),
        client.pm_last4.as_deref(),
    )
    .unwrap_or_else(|| "your card on file".into());
    let mut notice = format!(
        "We will charge {card} {} for it on {}; there is nothing for you to do. To pay another \
         way before then, use the link below.",
        doc.money(inv.amount_due_minor),
        doc.due_date()
    );
    let surcharge = crate::billing::surcharge::disclosure(doc, client, inv.amount_due_minor);
    if let Some(surcharge) = surcharge {
        notice.push(' ');
        notice.push_str(&surcharge);
    }
    if let (true, Some(year), Some(month)) = (
        client.card_expires_before(inv.due_date),
        client.pm_exp_year,
        client.pm_exp_month,
    ) {
        notice.push_str(&format!(
            " Your card expires before then ({month:02}/{year}): we are sending you a link to \
             save a new one."
        ));
    }
    Some(notice)
}

/// An installment is not reissued: its part is what changes.
pub fn ensure_reissuable(old: &invoice::Model) -> DomainResult<()> {
    match old.kind {
        InvoiceKind::Final => Ok(()),
        InvoiceKind::Extras => Err(crate::infra::error::UserError::state(
            "invoiceId",
            format!(
                "invoice {} bills gallery picks: the client's next selection (or the studio's, \
                 submitGallerySelection) bills what is left",
                old.display_number()
            ),
        )
        .into()),
        InvoiceKind::Installment => Err(crate::infra::error::UserError::state(
            "invoiceId",
            format!(
                "invoice {} bills a part of a payment plan: change the plan instead of reissuing it",
                old.display_number()
            ),
        )
        .into()),
    }
}

/// A voided installment gives its part back: the part is billed again,
/// with the rest of the session, on the final invoice (`SCHEDULED` while
/// the plan runs, so completion folds it; `FOLDED` once it has). Refused
/// while a final invoice credits the installment: it would take off money
/// nobody collects (void that first; its reissue bills this part too).
pub async fn release_on_void(
    tx: &impl ConnectionTrait,
    invoice: &invoice::Model,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let Some(part_id) = invoice.plan_part_id else {
        return Ok(());
    };
    let crediting = invoice::Entity::find()
        .filter(invoice::Column::SessionId.eq(invoice.session_id))
        .filter(invoice::Column::Kind.eq(InvoiceKind::Final))
        .filter(invoice::Column::Status.ne(InvoiceStatus::Void))
        .one(tx)
        .await?;
    if let Some(last) = crediting {
        return Err(crate::infra::error::UserError::state(
            "invoiceId",
            format!(
                "the final invoice {} credits installment {}; void that first, and its \
                 reissue bills what this one did",
                last.display_number(),
                invoice.display_number()
            ),
        )
        .into());
    }
    let Some(part) = payment_plan_part::Entity::find_by_id(part_id)
        .one(tx)
        .await?
    else {
        return Ok(());
    };
    let plan = payment_plan::Entity::find_by_id(part.plan_id)
        .one(tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("plan of part {part_id} missing"))?;
    let completed = session::Entity::find_by_id(invoice.session_id)
        .one(tx)
        .await?
        .is_some_and(|s| s.status == SessionStatus::Completed);
    let status = match plan.status {
        // A kept part's day has passed: the final invoice's reissue bills it.
        PlanStatus::Active if completed => PlanPartStatus::Folded,
        PlanStatus::Active => PlanPartStatus::Scheduled,
        PlanStatus::Completed => PlanPartStatus::Folded,
        // A cancelled plan's parts stay cancelled.
        PlanStatus::Cancelled => return Ok(()),
    };
    payment_plan_part::Entity::update_many()
        .col_expr(
            payment_plan_part::Column::Status,
            Expr::value(status.as_str()),
        )
        .col_expr(
            payment_plan_part::Column::AmountPaidMinor,
            Expr::value(Minor::ZERO),
        )
        .col_expr(
            payment_plan_part::Column::PaidAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(payment_plan_part::Column::UpdatedAt, Expr::value(now))
        .filter(payment_plan_part::Column::PlanId.eq(part.plan_id))
        .filter(payment_plan_part::Column::Seq.gte(part.seq))
        .filter(payment_plan_part::Column::Seq.lte(invoice.plan_through_seq.unwrap_or(part.seq)))
        .exec(tx)
        .await?;
    Ok(())
}
