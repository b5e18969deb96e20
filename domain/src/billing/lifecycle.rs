//! The invoice lifecycle: explicit transitions, the append-only audit trail,
//! and the balance arithmetic every money movement goes through.
//!
//! ```text
//! DRAFT ──finalize──> OPEN <──> PARTIALLY_PAID ──> PAID
//!   │                  │  \________________________/ │ (a lost dispute reopens)
//!   └──────void────────┴──void──> VOID               └─> (chargeback) PARTIALLY_PAID / OPEN
//!                      OPEN / PARTIALLY_PAID ──> UNCOLLECTIBLE ──(payment)──> PAID
//! ```
//!
//! Balance invariant, for every invoice that is not `VOID`:
//! `amount_due == total - amount_credited - amount_paid + amount_refunded`.
//! A refund by agreement comes with a credit note for the same amount, so it
//! adds to both `refunded` and `credited` and the client owes nothing more:
//! a fully refunded invoice stays `PAID` with `amount_refunded == total`.
//! Only a chargeback (a lost dispute) adds to `refunded` alone and makes
//! money owed again. A void invoice owes nothing: its credit note cancels
//! what was left.
//!
//! Every change of a balance goes through `apply_money` with a `Movement`
//! (SQL increments, then the status derived from the balance, then an audit
//! line); the trail (`invoice_events`) is only ever appended to. Voiding and
//! writing off are in `closing`: a draft is voided without a credit note; a
//! void's credit note (`refund_id IS NULL`, one per invoice) credits only
//! what refunds have not already credited.

use crate::infra::error::{DomainResult, UserError};
use crate::kernel::ids::{InvoiceId, StudioId};
use crate::kernel::money::Minor;
use chrono::{DateTime, Utc};
use entity::enums::{InvoiceEventKind, InvoiceStatus};
use entity::{invoice, invoice_event};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter,
};

/// Whether `from -> to` is a transition the lifecycle allows.
pub fn can_transition(from: InvoiceStatus, to: InvoiceStatus) -> bool {
    use InvoiceStatus::*;
    matches!(
        (from, to),
        (Draft, Open | Paid | Void)
            | (Open, PartiallyPaid | Paid | Void | Uncollectible)
            | (PartiallyPaid, Open | Paid | Void | Uncollectible)
            | (Paid, PartiallyPaid | Open)
            | (Uncollectible, PartiallyPaid | Paid | Void)
    )
}

/// Who caused a change, for the audit trail.
#[derive(Debug, Clone)]
pub struct Actor(pub String);

impl Actor {
    pub fn system() -> Self {
        Self("system".into())
    }
    pub fn api_key(prefix: &str) -> Self {
        Self(format!("api-key:{prefix}"))
    }
    pub fn portal() -> Self {
        Self("portal".into())
    }
    pub fn webhook(provider: &str) -> Self {
        Self(format!("webhook:{provider}"))
    }
}

/// One line of the audit trail.
pub struct Audit<'a> {
    pub event: InvoiceEventKind,
    pub from: Option<InvoiceStatus>,
    pub to: Option<InvoiceStatus>,
    pub amount_minor: Option<Minor>,
    pub actor: &'a Actor,
    pub detail: Option<String>,
}

/// Appends to the audit trail inside the caller's transaction.
pub async fn record(
    tx: &DatabaseTransaction,
    invoice: &invoice::Model,
    audit: Audit<'_>,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    invoice_event::ActiveModel {
        studio_id: Set(invoice.studio_id),
        invoice_id: Set(invoice.id),
        event: Set(audit.event),
        from_status: Set(audit.from),
        to_status: Set(audit.to),
        amount_minor: Set(audit.amount_minor),
        actor: Set(audit.actor.0.clone()),
        detail: Set(audit.detail),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    Ok(())
}

/// A payment attempt that failed (a decline, a delayed payment that failed,
/// a checkout paid for the wrong amount): one `PAYMENT_FAILED` line in the
/// invoice's trail; the invoice's status does not move.
pub async fn record_payment_failed(
    tx: &DatabaseTransaction,
    invoice_id: i64,
    amount_minor: Minor,
    actor: &Actor,
    detail: String,
    now: DateTime<Utc>,
) -> DomainResult<invoice::Model> {
    let invoice = invoice::Entity::find_by_id(invoice_id)
        .one(tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("invoice {invoice_id} vanished"))?;
    record(
        tx,
        &invoice,
        Audit {
            event: InvoiceEventKind::PaymentFailed,
            from: Some(invoice.status),
            to: Some(invoice.status),
            amount_minor: Some(amount_minor),
            actor,
            detail: Some(detail),
        },
        now,
    )
    .await?;
    Ok(invoice)
}

/// One movement of money on an invoice, in minor units (each ≥ 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Movement {
    /// Money received (a payment).
    pub paid: Minor,
    /// Money returned (a refund or a chargeback).
    pub refunded: Minor,
    /// Lowered by a post-payment credit note (a refund by agreement).
    pub credited: Minor,
}

impl Movement {
    pub fn payment(amount: Minor) -> Self {
        Self {
            paid: amount,
            ..Self::default()
        }
    }
    /// A refund by agreement: the money goes back and a credit note lowers
    /// what the invoice asks for by the same amount.
    pub fn refund_with_credit_note(amount: Minor) -> Self {
        Self {
            refunded: amount,
            credited: amount,
            ..Self::default()
        }
    }
    /// A chargeback: the money went back without agreement; it is owed again.
    pub fn chargeback(amount: Minor) -> Self {
        Self {
            refunded: amount,
            ..Self::default()
        }
    }
}

/// The balance of an invoice: what it asks for and what moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Balance {
    pub total: Minor,
    pub credited: Minor,
    pub paid: Minor,
    pub refunded: Minor,
}

impl Balance {
    pub fn of(invoice: &invoice::Model) -> Self {
        Self {
            total: invoice.total_minor,
            credited: invoice.amount_credited_minor,
            paid: invoice.amount_paid_minor,
            refunded: invoice.amount_refunded_minor,
        }
    }
    /// `total - credited - paid + refunded`, or `None` on overflow.
    pub fn due(&self) -> Option<Minor> {
        self.total
            .checked_sub(self.credited)?
            .checked_sub(self.paid)?
            .checked_add(self.refunded)
    }
}

/// The status an invoice's balance implies. `VOID` stays void; an
/// `UNCOLLECTIBLE` invoice stays so until it is paid in full.
pub fn status_for(current: InvoiceStatus, balance: Balance) -> InvoiceStatus {
    let net_paid = balance.paid.get().saturating_sub(balance.refunded.get());
    // An overflowing balance is owed, never settled.
    let settled = balance.due().is_some_and(|due| !due.is_positive());
    match current {
        InvoiceStatus::Void | InvoiceStatus::Draft => current,
        _ if settled => InvoiceStatus::Paid,
        InvoiceStatus::Uncollectible => InvoiceStatus::Uncollectible,
        _ if net_paid > 0 => InvoiceStatus::PartiallyPaid,
        _ => InvoiceStatus::Open,
    }
}

/// Moves money on an invoice: adds the movement's amounts in SQL so
/// concurrent writers add up, then derives the status, stamps
/// `paid_at`/`settled_at` and writes the audit line(s). Returns the invoice
/// as it is afterwards.
pub async fn apply_money(
    tx: &DatabaseTransaction,
    invoice_id: i64,
    movement: Movement,
    audit: Audit<'_>,
    now: DateTime<Utc>,
) -> DomainResult<invoice::Model> {
    let Movement {
        paid,
        refunded,
        credited,
    } = movement;
    // The invoice as it is afterwards comes back with the update.
    let updated = invoice::Entity::update_many()
        .col_expr(
            invoice::Column::AmountPaidMinor,
            Expr::col(invoice::Column::AmountPaidMinor).add(paid),
        )
        .col_expr(
            invoice::Column::AmountRefundedMinor,
            Expr::col(invoice::Column::AmountRefundedMinor).add(refunded),
        )
        .col_expr(
            invoice::Column::AmountCreditedMinor,
            Expr::col(invoice::Column::AmountCreditedMinor).add(credited),
        )
        .col_expr(
            invoice::Column::AmountDueMinor,
            Expr::col(invoice::Column::AmountDueMinor)
                .sub(paid)
                .add(refunded)
                .sub(credited),
        )
        .col_expr(invoice::Column::UpdatedAt, Expr::value(now))
        .filter(invoice::Column::Id.eq(invoice_id))
        .exec_with_returning(tx)
        .await?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("invoice {invoice_id} vanished"))?;
    if updated.amount_due_minor.is_negative() {
        // Cannot happen while attempts are one at a time and manual payments
        // are capped at the amount due; if it ever does, the money was
        // received and must show, and the studio must refund it.
        tracing::error!(
            invoice_id,
            amount_due = updated.amount_due_minor.get(),
            "invoice overpaid; refund the difference"
        );
    }
    let from = updated.status;
    let to = status_for(from, Balance::of(&updated));
    record(
        tx,
        &updated,
        Audit {
            from: Some(from),
            to: Some(to),
            ..audit
        },
        now,
    )
    .await?;
    let updated = if to == from {
        updated
    } else {
        set_status(tx, updated, to, now).await?
    };
    crate::billing::installments::follow_invoice(tx, &updated, now).await?;
    // Open Checkout Sessions for the old amount must not be paid any more.
    crate::billing::checkout::retire_stale_in(tx, &updated, now).await?;
    Ok(updated)
}

/// Writes a new status with its timestamps (the caller wrote the audit line).
pub async fn set_status(
    tx: &DatabaseTransaction,
    invoice: invoice::Model,
    to: InvoiceStatus,
    now: DateTime<Utc>,
) -> DomainResult<invoice::Model> {
    if !can_transition(invoice.status, to) {
        return Err(anyhow::anyhow!(
            "invoice {}: illegal transition {} -> {}",
            invoice.id,
            invoice.status.as_str(),
            to.as_str()
        )
        .into());
    }
    let settled = matches!(to, InvoiceStatus::Paid | InvoiceStatus::Void);
    let mut active: invoice::ActiveModel = invoice.clone().into();
    active.status = Set(to);
    active.updated_at = Set(now);
    active.settled_at = Set(settled.then_some(now));
    if to == InvoiceStatus::Paid {
        active.paid_at = Set(Some(now));
    }
    Ok(active.update(tx).await?)
}

/// The studio's invoice `invoice_id`, locked for the rest of the
/// transaction (row lock on PostgreSQL; SQLite's write lock is already
/// held). Another studio's invoice is `NOT_FOUND` on `invoiceId`, exactly like
/// a missing one.
pub async fn lock_invoice(
    tx: &DatabaseTransaction,
    studio_id: StudioId,
    invoice_id: InvoiceId,
) -> DomainResult<invoice::Model> {
    let (studio_id, invoice_id) = (studio_id.get(), invoice_id.get());
    use sea_orm::QuerySelect;
    Ok(invoice::Entity::find_by_id(invoice_id)
        .filter(invoice::Column::StudioId.eq(studio_id))
        .lock_exclusive()
        .one(tx)
        .await?
        .ok_or_else(|| UserError::not_found("invoiceId", "invoice"))?)
}

/// A reason a person gives for a transition (void, uncollectible): trimmed,
/// 1 to 500 characters.
pub fn parse_reason(raw: &str) -> DomainResult<&str> {
    let reason = raw.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(UserError::invalid("reason", "give a reason of 1 to 500 characters").into());
    }
    // A reason is shown on the credit note and in the trail: one line of text.
    crate::kernel::validate::plain_text(reason, false)
        .map_err(|m| UserError::invalid("reason", m))?;
    Ok(reason)
}

/// Refuses a transition the lifecycle does not allow, as a user error.
pub fn ensure_transition(invoice: &invoice::Model, to: InvoiceStatus) -> DomainResult<()> {
    if can_transition(invoice.status, to) {
        Ok(())
    } else {
        Err(UserError::state(
            "invoiceId",
            format!(
                "invoice {} is {} and cannot become {}",
                invoice.display_number(),
                invoice.status.as_str(),
                to.as_str()
            ),
        )
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use InvoiceStatus::*;

    #[test]
    fn balance_decides_the_status() {
        let b = |total, credited, paid, refunded| Balance {
            total: Minor::new(total),
            credited: Minor::new(credited),
            paid: Minor::new(paid),
            refunded: Minor::new(refunded),
        };
        assert_eq!(status_for(Open, b(1000, 0, 0, 0)), Open);
        assert_eq!(status_for(Open, b(1000, 0, 400, 0)), PartiallyPaid);
        assert_eq!(status_for(PartiallyPaid, b(1000, 0, 1000, 0)), Paid);
        // A refund by agreement credits what it returns: still paid.
        assert_eq!(status_for(Paid, b(1000, 300, 1000, 300)), Paid);
        assert_eq!(status_for(Paid, b(1000, 1000, 1000, 1000)), Paid);
        // A chargeback returns money without a credit: owed again.
        assert_eq!(status_for(Paid, b(1000, 0, 1000, 300)), PartiallyPaid);
        assert_eq!(status_for(Paid, b(1000, 0, 1000, 1000)), Open);
        // Refunding a partial payment leaves the rest owed.
        assert_eq!(status_for(PartiallyPaid, b(1000, 400, 400, 400)), Open);
        assert_eq!(status_for(Uncollectible, b(1000, 0, 500, 0)), Uncollectible);
        assert_eq!(status_for(Uncollectible, b(1000, 0, 1000, 0)), Paid);
        assert_eq!(status_for(Void, b(1000, 0, 0, 0)), Void);
        assert_eq!(status_for(Open, b(0, 0, 0, 0)), Paid);
    }

    #[test]
    fn a_refund_with_its_credit_note_leaves_nothing_owed() {
        let thousand = Minor::new(1000);
        let mut b = Balance {
            total: thousand,
            credited: Minor::ZERO,
            paid: thousand,
            refunded: Minor::ZERO,
        };
        let m = Movement::refund_with_credit_note(thousand);
        b.refunded += m.refunded;
        b.credited += m.credited;
        assert_eq!(b.due(), Some(Minor::ZERO));
        let c = Movement::chargeback(thousand);
        b.refunded += c.refunded;
        assert_eq!(b.due(), Some(thousand));
    }

    #[test]
    fn illegal_transitions_are_refused() {
        assert!(can_transition(Draft, Open));
        assert!(can_transition(Open, Void));
        assert!(!can_transition(Void, Open));
        assert!(!can_transition(Paid, Void));
        assert!(!can_transition(Open, Draft));
        assert!(!can_transition(Void, Paid));
        assert!(!can_transition(Paid, Uncollectible));
    }
}
