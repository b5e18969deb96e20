//! Everything that's left, at once (issue 19, item 4): a client who wants
//! to pay the rest of the plan in one payment (the portal's "Pay everything
//! that's left", or the studio's `billRestOfPlan`) gets one installment
//! invoice for the earliest scheduled part and every later one
//! (`plan_through_seq` names the last), with a line per part. Money paid on
//! it goes to the oldest of its parts first (`follow`); voiding it gives
//! them all back (`release_on_void`).
//!
//! It is paid on the portal, never charged to the card on file: it is not
//! the schedule the client agreed to be charged on. Left unpaid, it does
//! not take the schedule's place: when its first part's moment comes and
//! nothing was paid on it (`release_if_abandoned`), it is voided and the plan goes on
//! part by part, each charged or billed on its own day as before. A client
//! in the middle of paying it (a payment pending, a hosted checkout open)
//! is waited for.

use crate::billing::lifecycle::Actor;
use crate::infra::error::DomainResult;
use crate::kernel::money::Minor;
use chrono::{DateTime, Utc};
use entity::enums::{InvoiceKind, InvoiceStatus, PaymentStatus, PlanPartStatus};
use entity::{checkout_session, invoice, payment, payment_plan, payment_plan_part};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

/// The invoice billing `part` together with the rest of its plan, if one
/// (not void) does.
pub(super) async fn billing(
    tx: &impl ConnectionTrait,
    plan: &payment_plan::Model,
    part: &payment_plan_part::Model,
) -> DomainResult<Option<invoice::Model>> {
    let firsts = payment_plan_part::Entity::find()
        .select_only()
        .column(payment_plan_part::Column::Id)
        .filter(payment_plan_part::Column::PlanId.eq(plan.id))
        .filter(payment_plan_part::Column::Seq.lte(part.seq))
        .into_tuple::<i64>()
        .all(tx)
        .await?;
    Ok(invoice::Entity::find()
        .filter(invoice::Column::Kind.eq(InvoiceKind::Installment))
        .filter(invoice::Column::PlanPartId.is_in(firsts))
        .filter(invoice::Column::PlanThroughSeq.gte(part.seq))
        .filter(invoice::Column::Status.ne(InvoiceStatus::Void))
        .one(tx)
        .await?)
}

/// What becomes of a rest invoice when one of its parts' moments comes.
pub(super) enum Fate {
    /// It stays: something was paid on it, or it was asked for after that
    /// moment.
    Stands,
    /// The client is paying it (a payment pending, a checkout open): asked
    /// again then.
    Underway(DateTime<Utc>),
    /// Left unpaid: voided, its parts back to `SCHEDULED`.
    Released,
}

/// Locks the rest invoice `billed` and, if it was left unpaid until `at`
/// (the moment of its part `seq`), voids it: issued before that moment,
/// still open, nothing paid and nothing being paid.
pub(super) async fn release_if_abandoned(
    tx: &DatabaseTransaction,
    billed: invoice::Model,
    at: DateTime<Utc>,
    seq: i32,
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> DomainResult<Fate> {
    let billed = crate::billing::lifecycle::lock_invoice(
        tx,
        crate::kernel::ids::StudioId::new(billed.studio_id),
        crate::kernel::ids::InvoiceId::new(billed.id),
    )
    .await?;
    if billed.status != InvoiceStatus::Open
        || !billed.amount_paid_minor.is_zero()
        || billed.issued_at >= at
    {
        return Ok(Fate::Stands);
    }
    let pending = payment::Entity::find()
        .filter(payment::Column::InvoiceId.eq(billed.id))
        .filter(payment::Column::Status.eq(PaymentStatus::Pending))
        .count(tx)
        .await?;
    if pending > 0 {
        return Ok(Fate::Underway(now + chrono::Duration::minutes(30)));
    }
    let checkout = checkout_session::Entity::find()
        .filter(checkout_session::Column::InvoiceId.eq(billed.id))
        .filter(checkout_session::Column::Status.is_in(crate::billing::checkout::LIVE))
        .filter(checkout_session::Column::ExpiresAt.gt(now))
        .order_by_desc(checkout_session::Column::ExpiresAt)
        .one(tx)
        .await?;
    if let Some(open) = checkout {
        return Ok(Fate::Underway(open.expires_at));
    }
    let reason = format!(
        "The rest of the payment plan was not paid before installment {seq}'s day: the plan goes \
         on part by part"
    );
    let number = billed.display_number().to_string();
    crate::billing::closing::void_in(tx, billed, &reason, &Actor::system(), request_id, now)
        .await?;
    tracing::info!(%number, seq, "unpaid rest of a plan voided; the plan goes on part by part");
    Ok(Fate::Released)
}

/// The parts after `part`, in order, as long as they are still scheduled:
/// what a rest invoice bills with it. Locked, like `part`.
pub(super) async fn later_parts(
    tx: &impl ConnectionTrait,
    part: &payment_plan_part::Model,
) -> DomainResult<Vec<payment_plan_part::Model>> {
    let after = payment_plan_part::Entity::find()
        .filter(payment_plan_part::Column::PlanId.eq(part.plan_id))
        .filter(payment_plan_part::Column::Seq.gt(part.seq))
        .order_by_asc(payment_plan_part::Column::Seq)
        .lock_exclusive()
        .all(tx)
        .await?;
    Ok(after
        .into_iter()
        .take_while(|p| p.status == PlanPartStatus::Scheduled)
        .collect())
}

/// Writes a rest invoice's money (`paid`, net of refunds) back to its
/// parts, oldest first: each part gets up to its amount and is `PAID` once
/// covered, `ISSUED` otherwise.
pub(super) async fn follow(
    tx: &impl ConnectionTrait,
    invoice: &invoice::Model,
    paid: Minor,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let (Some(first), Some(through)) = (invoice.plan_part_id, invoice.plan_through_seq) else {
        return Ok(());
    };
    let Some(first) = payment_plan_part::Entity::find_by_id(first).one(tx).await? else {
        return Ok(());
    };
    let parts = payment_plan_part::Entity::find()
        .filter(payment_plan_part::Column::PlanId.eq(first.plan_id))
        .filter(payment_plan_part::Column::Seq.between(first.seq, through))
        .filter(
            payment_plan_part::Column::Status.is_in([PlanPartStatus::Issued, PlanPartStatus::Paid]),
        )
        .order_by_asc(payment_plan_part::Column::Seq)
        .all(tx)
        .await?;
    let mut left = paid.at_least_zero();
    for part in parts {
        let share = Ord::min(left, part.amount_minor);
        left -= share;
        let covered = share == part.amount_minor;
        let status = match covered {
            true => PlanPartStatus::Paid,
            false => PlanPartStatus::Issued,
        };
        payment_plan_part::Entity::update_many()
            .col_expr(
                payment_plan_part::Column::AmountPaidMinor,
                Expr::value(share),
            )
            .col_expr(
                payment_plan_part::Column::Status,
                Expr::value(status.as_str()),
            )
            .col_expr(
                payment_plan_part::Column::PaidAt,
                Expr::value(covered.then(|| invoice.paid_at.unwrap_or(now))),
            )
            .col_expr(payment_plan_part::Column::UpdatedAt, Expr::value(now))
            .filter(payment_plan_part::Column::Id.eq(part.id))
            .exec(tx)
            .await?;
    }
    Ok(())
}
