//! An invoice closed without being paid in full: voided (with the credit
//! note that cancels it) or written off as uncollectible. Both go through
//! the lifecycle's transitions and trail, and gallery access follows
//! (`next::Change::Voided` / `Uncollectible`).

use crate::billing::lifecycle::{
    Actor, Audit, ensure_transition, lock_invoice, parse_reason, record, set_status,
};
use crate::infra::error::{DomainResult, UserError};
use crate::kernel::ids::{InvoiceId, StudioId};
use crate::kernel::money::Minor;
use chrono::{DateTime, Utc};
use entity::enums::{InvoiceEventKind, InvoiceStatus};
use entity::invoice;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter,
};

/// **The** writer of `UNCOLLECTIBLE` (the studio gives up, or the last
/// reminder step does): the status, one `MARKED_UNCOLLECTIBLE` line with
/// `detail` (the reason) and what follows (gallery access), in the caller's
/// transaction. The caller has checked the invoice may be written off.
pub async fn write_off_in(
    tx: &DatabaseTransaction,
    invoice: invoice::Model,
    detail: String,
    actor: &Actor,
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> DomainResult<invoice::Model> {
    let from = invoice.status;
    let marked = set_status(tx, invoice, InvoiceStatus::Uncollectible, now).await?;
    record(
        tx,
        &marked,
        Audit {
            event: InvoiceEventKind::MarkedUncollectible,
            from: Some(from),
            to: Some(InvoiceStatus::Uncollectible),
            amount_minor: Some(marked.amount_due_minor),
            actor,
            detail: Some(detail),
        },
        now,
    )
    .await?;
    crate::workflow::next::after(
        tx,
        crate::workflow::next::Change::Uncollectible {
            studio_id: marked.studio_id,
            invoice_id: marked.id,
        },
        request_id,
        now,
    )
    .await?;
    Ok(marked)
}

/// The credit note that cancels a voided invoice: what its refunds' credit
/// notes have not already credited.
fn void_credit_note(
    invoice: &invoice::Model,
    reason: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> DomainResult<entity::credit_note::ActiveModel> {
    let uncredited = invoice
        .total_minor
        .checked_sub(invoice.amount_credited_minor)
        .ok_or_else(|| anyhow::anyhow!("credit note amount overflow"))?;
    Ok(entity::credit_note::ActiveModel {
        studio_id: Set(invoice.studio_id),
        invoice_id: Set(invoice.id),
        number: Set(format!("CN-{}", invoice.display_number())),
        amount_minor: Set(Ord::max(uncredited, Minor::ZERO)),
        currency: Set(invoice.currency),
        reason: Set(reason.to_string()),
        created_at: Set(now),
        ..Default::default()
    })
}

/// Voids an invoice that has no money on it (refund payments first): the
/// invoice becomes `VOID`, a credit note `CN-<number>` cancels what the
/// refunds' credit notes have not already credited,
/// gallery access follows, and the trail records both. A draft (never
/// issued, no number) is voided without a credit note. Voiding a void
/// invoice returns it unchanged. A void invoice can be replaced with
/// `invoicing::reissue_invoice`.
pub async fn void_invoice(
    ctx: &crate::AppContext,
    studio_id: StudioId,
    invoice_id: InvoiceId,
    reason: &str,
    actor: &Actor,
    request_id: Option<&str>,
) -> DomainResult<invoice::Model> {
    use entity::enums::PaymentStatus;
    use entity::payment;
    let reason = parse_reason(reason)?;
    let tx = crate::infra::db::begin_write(&ctx.db).await?;
    let invoice = lock_invoice(&tx, studio_id, invoice_id).await?;
    if invoice.status == InvoiceStatus::Void {
        return Ok(invoice);
    }
    // A fully refunded invoice is `PAID` (its refunds' credit notes settled
    // it) and may still be voided, e.g. to reissue it.
    let refunded_in_full = invoice.status == InvoiceStatus::Paid
        && invoice.amount_paid_minor == invoice.amount_refunded_minor;
    if !refunded_in_full {
        ensure_transition(&invoice, InvoiceStatus::Void)?;
    }
    if invoice.amount_paid_minor != invoice.amount_refunded_minor {
        return Err(UserError::state(
            "invoiceId",
            format!(
                "invoice {} has payments that are not refunded; refund them before voiding",
                invoice.display_number()
            ),
        )
        .into());
    }
    let pending = payment::Entity::find()
        .filter(payment::Column::InvoiceId.eq(invoice.id))
        .filter(payment::Column::Status.eq(PaymentStatus::Pending))
        .one(&tx)
        .await?;
    if pending.is_some() {
        return Err(UserError::state(
            "invoiceId",
            "a payment for this invoice is being processed; try again once it has settled",
        )
        .into());
    }
    let voided = void_in(&tx, invoice, reason, actor, request_id, ctx.clock.now()).await?;
    crate::workflow::next::commit(ctx, tx).await?;
    ctx.events
        .publish(crate::billing::events::for_invoice(
            crate::ports::events::EventKind::InvoiceVoided,
            &voided,
            None,
            ctx.clock.now(),
        ))
        .await;
    Ok(voided)
}

/// **The** writer of `VOID`, in the caller's transaction, for an invoice
/// the caller locked and checked (no money on it, nothing pending): its
/// plan part given back, the credit note, stale checkouts retired, credit
/// released, the trail and what follows (gallery access). The caller
/// publishes `InvoiceVoided` after its commit.
pub(crate) async fn void_in(
    tx: &DatabaseTransaction,
    invoice: invoice::Model,
    reason: &str,
    actor: &Actor,
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> DomainResult<invoice::Model> {
    let studio_id = invoice.studio_id;
    let invoice_id = invoice.id;
    crate::billing::installments::release_on_void(tx, &invoice, now).await?;
    // A draft was never issued: it has no number, nothing to cancel and no
    // gallery access, so it is voided without a credit note or follow-up.
    let issued = invoice.status != InvoiceStatus::Draft;
    let note = match issued {
        true => Some(void_credit_note(&invoice, reason, now)?.insert(tx).await?),
        false => None,
    };
    let from = invoice.status;
    let mut active: invoice::ActiveModel = invoice.clone().into();
    active.status = Set(InvoiceStatus::Void);
    active.voided_at = Set(Some(now));
    active.void_reason = Set(Some(reason.to_string()));
    active.settled_at = Set(Some(now));
    active.amount_due_minor = Set(Minor::ZERO);
    active.updated_at = Set(now);
    let voided = active.update(tx).await?;
    crate::billing::checkout::retire_stale_in(tx, &voided, now).await?;
    crate::billing::credits::release_on_void(tx, voided.id).await?;
    record(
        tx,
        &voided,
        Audit {
            event: InvoiceEventKind::Voided,
            from: Some(from),
            to: Some(InvoiceStatus::Void),
            amount_minor: None,
            actor,
            detail: Some(reason.to_string()),
        },
        now,
    )
    .await?;
    if let Some(note) = note {
        record(
            tx,
            &voided,
            Audit {
                event: InvoiceEventKind::CreditNoteIssued,
                from: None,
                to: None,
                amount_minor: Some(note.amount_minor),
                actor,
                detail: Some(note.number.clone()),
            },
            now,
        )
        .await?;
        crate::workflow::next::after(
            tx,
            crate::workflow::next::Change::Voided {
                studio_id,
                invoice_id,
            },
            request_id,
            now,
        )
        .await?;
    }
    Ok(voided)
}
