//! Finalizing a draft: `DRAFT -> OPEN` (or `PAID`), its follow-ups, then
//! its gap-free number, the last thing taken before the commit.

use super::studio_tz;
use crate::billing::lifecycle::{self, Actor, Audit};
use crate::infra::context::AppContext;
use crate::infra::error::DomainResult;
use crate::workflow::next::{self, Change};
use chrono::{DateTime, Duration, Utc};
use entity::enums::{InvoiceEventKind, InvoiceKind, InvoiceStatus};
use entity::{client, invoice, studio};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseTransaction, EntityTrait};

/// Finalizes a draft and routes it, inside the caller's transaction: the next
/// gap-free number, `DRAFT -> OPEN` (`PAID` when nothing is due), `FINALIZED`,
/// and the follow-ups: an auto-pay client's card is charged; a shared invoice
/// goes to its payers (`payers::booking::split_in`); anyone else gets the
/// invoice email; gallery access follows. The one path of the automatic
/// workflow, `finalizeInvoice`, `reissueInvoice` and a plan's installments.
pub(crate) async fn finalize_and_route(
    ctx: &AppContext,
    tx: &DatabaseTransaction,
    studio: &studio::Model,
    draft: invoice::Model,
    actor: &Actor,
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> DomainResult<invoice::Model> {
    let client = client::Entity::find_by_id(draft.client_id)
        .one(tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("client of invoice {} missing", draft.id))?;
    let parties = (studio, &client);
    let invoice = route_unnumbered(ctx, tx, parties, draft, request_id, now).await?;
    // The number last: its counter's lock is held until the commit.
    let number = crate::billing::numbering::next_invoice_number(tx, studio, now).await?;
    record_number(tx, invoice, number, actor, now).await
}

/// [`finalize_and_route`] but for its number: the invoice is finalized and
/// routed inside the caller's transaction and must be given its number
/// ([`record_number`]) before that commits. A batch numbers all its
/// invoices last, so that a studio's counter stays locked only from then to
/// the commit. `(studio, client)` are the draft's, as the caller read them
/// in this transaction.
pub(crate) async fn route_unnumbered(
    ctx: &AppContext,
    tx: &DatabaseTransaction,
    (studio, client): (&studio::Model, &client::Model),
    draft: invoice::Model,
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> DomainResult<invoice::Model> {
    let settled = draft.total_minor.is_zero();
    let split = crate::billing::payers::booking::split_in(ctx, tx, &draft, now).await?;
    let to = match settled {
        true => InvoiceStatus::Paid,
        false => InvoiceStatus::Open,
    };
    if !lifecycle::can_transition(draft.status, to) {
        return Err(anyhow::anyhow!(
            "invoice {}: cannot finalize from {}",
            draft.id,
            draft.status.as_str()
        )
        .into());
    }
    // Payment terms run from the day the invoice is issued, not drafted; an
    // installment is due on its part's day (or today, if that has passed).
    let today = now.with_timezone(&studio_tz(studio)).date_naive();
    let due_date = match draft.kind {
        InvoiceKind::Final | InvoiceKind::Extras => {
            today + Duration::days(i64::from(studio.payment_terms_days))
        }
        InvoiceKind::Installment => Ord::max(draft.due_date, today),
    };
    let mut active: invoice::ActiveModel = draft.into();
    active.status = Set(to);
    active.issued_at = Set(now);
    active.due_date = Set(due_date);
    active.finalized_at = Set(Some(now));
    active.paid_at = Set(settled.then_some(now));
    active.settled_at = Set(settled.then_some(now));
    active.updated_at = Set(now);
    let invoice = active.update(tx).await?;
    let auto_pay = client.auto_pays() && invoice.plan_through_seq.is_none() && !split.shared;
    let charge_at = crate::billing::installments::charge_at(tx, studio, client, &invoice, now);
    next::after(
        tx,
        Change::InvoiceIssued {
            studio_id: studio.id,
            invoice_id: invoice.id,
            status: invoice.status,
            auto_pay: !settled && auto_pay,
            charge_at: charge_at.await?,
            charge_payers: split.charged,
        },
        request_id,
        now,
    )
    .await?;
    tracing::info!(
        invoice_id = invoice.id,
        total = invoice.total_minor.get(),
        auto_pay,
        "invoice finalized"
    );
    Ok(invoice)
}

/// Gives a finalized invoice its number (taken from the studio's counter
/// in the same transaction) and records `FINALIZED` in its trail.
pub(crate) async fn record_number(
    tx: &DatabaseTransaction,
    invoice: invoice::Model,
    number: String,
    actor: &Actor,
    now: DateTime<Utc>,
) -> DomainResult<invoice::Model> {
    let mut active: invoice::ActiveModel = invoice.into();
    active.number = Set(Some(number.clone()));
    let invoice = active.update(tx).await?;
    lifecycle::record(
        tx,
        &invoice,
        Audit {
            event: InvoiceEventKind::Finalized,
            from: Some(InvoiceStatus::Draft),
            to: Some(invoice.status),
            amount_minor: None,
            actor,
            detail: Some(format!("numbered {number}")),
        },
        now,
    )
    .await?;
    tracing::info!(invoice_id = invoice.id, %number, "invoice issued");
    Ok(invoice)
}
