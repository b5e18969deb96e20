//! The credit note a refund by agreement comes with.

use crate::billing::lifecycle::{self, Audit};
use crate::infra::error::DomainResult;
use crate::kernel::ids::{InvoiceId, StudioId};
use chrono::{DateTime, Utc};
use entity::enums::InvoiceEventKind;
use entity::{credit_note, refund};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter,
};

/// The credit note that comes with a refund by agreement: the refunded
/// amount, numbered `CN-<invoice number>-<n>` (n from 2; a void's note is
/// `CN-<invoice number>`), unique per studio. The invoice is locked first so
/// two refunds settling at once count the notes one after the other.
async fn issue_credit_note(
    tx: &DatabaseTransaction,
    refund: &refund::Model,
    now: DateTime<Utc>,
) -> DomainResult<credit_note::Model> {
    use sea_orm::PaginatorTrait;
    let invoice = lifecycle::lock_invoice(
        tx,
        StudioId::new(refund.studio_id),
        InvoiceId::new(refund.invoice_id),
    )
    .await?;
    let earlier = credit_note::Entity::find()
        .filter(credit_note::Column::InvoiceId.eq(invoice.id))
        .filter(credit_note::Column::RefundId.is_not_null())
        .count(tx)
        .await?;
    let n = earlier
        .checked_add(2)
        .ok_or_else(|| anyhow::anyhow!("credit note count overflow"))?;
    Ok(credit_note::ActiveModel {
        studio_id: Set(refund.studio_id),
        invoice_id: Set(invoice.id),
        refund_id: Set(Some(refund.id)),
        number: Set(format!("CN-{}-{n}", invoice.display_number())),
        amount_minor: Set(refund.amount_minor),
        currency: Set(refund.currency),
        reason: Set(refund
            .reason
            .clone()
            .filter(|r| !r.trim().is_empty())
            .unwrap_or_else(|| "refund".to_string())),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(tx)
    .await?)
}

/// The credit note issued with a refund, if it was a refund by agreement.
pub async fn credit_note_of<C: sea_orm::ConnectionTrait>(
    db: &C,
    refund_id: i64,
) -> DomainResult<Option<credit_note::Model>> {
    Ok(credit_note::Entity::find()
        .filter(credit_note::Column::RefundId.eq(refund_id))
        .one(db)
        .await?)
}

/// A refund by agreement settled: its credit note and the money it takes
/// off the invoice, with `audit` for the trail; `true`: the client is told.
/// A tip paid alone is refunded with no invoice money, so with no credit
/// note (the client is told all the same).
pub(super) async fn agreed(
    tx: &DatabaseTransaction,
    pending: &refund::Model,
    audit: Audit<'_>,
    now: DateTime<Utc>,
) -> DomainResult<bool> {
    let actor = audit.actor;
    let money = lifecycle::Movement::refund_with_credit_note(pending.amount_minor);
    if pending.amount_minor.is_zero() {
        lifecycle::apply_money(tx, pending.invoice_id, money, audit, now).await?;
        return Ok(pending.tip_minor.is_positive());
    }
    let note = issue_credit_note(tx, pending, now).await?;
    let invoice = lifecycle::apply_money(tx, pending.invoice_id, money, audit, now).await?;
    let issued = Audit {
        event: InvoiceEventKind::CreditNoteIssued,
        from: None,
        to: None,
        amount_minor: Some(note.amount_minor),
        actor,
        detail: Some(note.number.clone()),
    };
    lifecycle::record(tx, &invoice, issued, now).await?;
    Ok(true)
}
