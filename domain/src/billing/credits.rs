//! Retainers above an invoice's total (issue 10, item 21).
//!
//! The pricing engine never drops a credit: what an invoice cannot use is its
//! `excess_credit_minor`. The studio's `retainer_excess` setting decides, when
//! the invoice is priced, what that excess becomes:
//!
//! - `REFUND_DUE`: a credit owed back to the client, shown on the invoice
//!   (API, PDF, email, portal) and listed on the studio's dashboard;
//! - `CARRY_FORWARD`: a `client_credits` row, applied whole to the client's
//!   next invoice (as a credit row under the retainer) exactly once: it is
//!   taken under a lock inside the invoice's transaction and marked with a
//!   conditional `UPDATE ... WHERE applied_invoice_id IS NULL`, so two
//!   invoices priced concurrently, or a replayed job, can never both use it.
//!
//! A credit owed back is marked repaid by the studio ([`mark_repaid`]:
//! when, and its reference), audited as `CREDIT_REPAID`; from then on it is
//! shown as repaid instead of due. A reissue of a void `CARRY_FORWARD`
//! invoice never carries again what a later invoice already used
//! ([`passed_on_by_predecessors`]); [`ledger_of_client`] balances.
//!
//! A void gives a carried credit back. A reissue's credit is the retainer
//! minus what its void predecessors passed on, so only a difference in the
//! excess moves; created − used = outstanding. Repaid is recorded once
//! (`invoices.credit_repaid_at`, `credit_repaid_reference`).

use crate::billing::lifecycle::{Actor, Audit};
use crate::infra::context::AppContext;
use crate::infra::error::{DomainResult, ErrorCode, UserError};
use crate::kernel::ids::{ClientId, InvoiceId, StudioId};
use crate::kernel::money::{Currency, Minor};
use chrono::{DateTime, Utc};
use entity::enums::{InvoiceEventKind, RetainerExcess};
use entity::{client_credit, invoice, studio};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

/// The client's carried credits not yet used, locked for the caller's
/// transaction (a row lock on PostgreSQL; SQLite's write transaction holds
/// every other writer back).
pub async fn open_for_client(
    tx: &impl ConnectionTrait,
    studio_id: StudioId,
    client_id: ClientId,
    currency: Currency,
) -> DomainResult<Vec<client_credit::Model>> {
    let (studio_id, client_id) = (studio_id.get(), client_id.get());
    Ok(client_credit::Entity::find()
        .filter(client_credit::Column::StudioId.eq(studio_id))
        .filter(client_credit::Column::ClientId.eq(client_id))
        .filter(client_credit::Column::Currency.eq(currency))
        .filter(client_credit::Column::AppliedInvoiceId.is_null())
        .order_by_asc(client_credit::Column::Id)
        .lock_exclusive()
        .all(tx)
        .await?)
}

/// The total of some credits, checked.
pub fn total(credits: &[client_credit::Model]) -> DomainResult<Minor> {
    crate::kernel::money::checked_sum(credits.iter().map(|c| c.amount_minor))
        .ok_or_else(|| anyhow::anyhow!("carried credits overflow").into())
}

/// Marks `credits` as used by `invoice`. Each is written only while unused;
/// if another transaction took one first, this one fails (and rolls back)
/// rather than counting it twice.
pub async fn apply(
    tx: &impl ConnectionTrait,
    credits: &[client_credit::Model],
    invoice_id: i64,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    for credit in credits {
        let updated = client_credit::Entity::update_many()
            .col_expr(
                client_credit::Column::AppliedInvoiceId,
                Expr::value(invoice_id),
            )
            .col_expr(client_credit::Column::AppliedAt, Expr::value(now))
            .filter(client_credit::Column::Id.eq(credit.id))
            .filter(client_credit::Column::AppliedInvoiceId.is_null())
            .exec(tx)
            .await?;
        if updated.rows_affected != 1 {
            return Err(anyhow::anyhow!(
                "carried credit {} was used by another invoice meanwhile",
                credit.id
            )
            .into());
        }
    }
    Ok(())
}

/// The part of the credit an invoice applied that came from carried
/// credits: the retainer is used first, then the carried credits; of a
/// reissue's retainer, only what its predecessors did not pass on.
pub fn carried_part(retainer: Minor, passed_on: Minor, applied: Minor) -> Minor {
    let retainer = retainer.get();
    let retainer_left = retainer
        .saturating_add(passed_on.get())
        .clamp(0, retainer.max(0));
    Minor::new(applied.get().saturating_sub(retainer_left).max(0))
}

/// What an invoice's excess becomes under the studio's setting: `None`
/// when there is no excess.
pub fn disposition(studio: &studio::Model, excess: Minor) -> Option<RetainerExcess> {
    excess.is_positive().then_some(studio.retainer_excess)
}

/// Writes the carried credit of a `CARRY_FORWARD` invoice (one per invoice:
/// a replay finds the row and adds nothing).
pub async fn carry(
    tx: &impl ConnectionTrait,
    invoice: &invoice::Model,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    if invoice.excess_disposition != Some(RetainerExcess::CarryForward)
        || !invoice.excess_credit_minor.is_positive()
    {
        return Ok(());
    }
    let exists = client_credit::Entity::find()
        .filter(client_credit::Column::SourceInvoiceId.eq(invoice.id))
        .one(tx)
        .await?;
    if exists.is_none() {
        client_credit::ActiveModel {
            studio_id: Set(invoice.studio_id),
            client_id: Set(invoice.client_id),
            currency: Set(invoice.currency),
            amount_minor: Set(invoice.excess_credit_minor),
            source_invoice_id: Set(invoice.id),
            applied_invoice_id: Set(None),
            created_at: Set(now),
            applied_at: Set(None),
            ..Default::default()
        }
        .insert(tx)
        .await?;
    }
    Ok(())
}

/// A voided invoice gives back what it took: the credits it used become
/// available again and its own carried credit, if nobody used it yet, is
/// withdrawn (a reissue prices the session again). When its carried credit
/// has already gone into a later invoice, the money has moved on with it and
/// nothing is released (that would count it twice).
pub async fn release_on_void(tx: &impl ConnectionTrait, invoice_id: i64) -> DomainResult<()> {
    let own = client_credit::Entity::find()
        .filter(client_credit::Column::SourceInvoiceId.eq(invoice_id))
        .lock_exclusive()
        .one(tx)
        .await?;
    if own.as_ref().is_some_and(|c| c.applied_invoice_id.is_some()) {
        return Ok(());
    }
    if let Some(own) = own {
        client_credit::Entity::delete_by_id(own.id).exec(tx).await?;
    }
    client_credit::Entity::update_many()
        .col_expr(
            client_credit::Column::AppliedInvoiceId,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(
            client_credit::Column::AppliedAt,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .filter(client_credit::Column::AppliedInvoiceId.eq(invoice_id))
        .exec(tx)
        .await?;
    Ok(())
}

/// What the void invoices a reissue replaces (its `reissued_from` chain)
/// already passed on, as a change to the credit the reissue may use:
/// the credits those invoices carried that are still on the books (used by
/// a later invoice, or released again when that one was voided) are taken
/// off, and the carried credits they used and kept (kept because their own
/// credit had already moved on) are added back. The retainer is therefore
/// counted once across the chain: a reissue never carries again what a later
/// invoice already consumed, and only a difference in the excess moves.
pub async fn passed_on_by_predecessors(
    tx: &impl ConnectionTrait,
    replaced: &invoice::Model,
) -> DomainResult<Minor> {
    let mut chain = vec![replaced.id];
    let mut next = replaced.reissued_from_id;
    while let Some(id) = next {
        if chain.contains(&id) {
            break;
        }
        chain.push(id);
        next = invoice::Entity::find_by_id(id)
            .one(tx)
            .await?
            .and_then(|i| i.reissued_from_id);
    }
    let carried = client_credit::Entity::find()
        .filter(client_credit::Column::SourceInvoiceId.is_in(chain.clone()))
        .lock_exclusive()
        .all(tx)
        .await?;
    let kept = client_credit::Entity::find()
        .filter(client_credit::Column::AppliedInvoiceId.is_in(chain))
        .all(tx)
        .await?;
    total(&kept)?
        .checked_sub(total(&carried)?)
        .ok_or_else(|| anyhow::anyhow!("carried credits overflow").into())
}

/// The client's credit ledger: created − used = outstanding, in minor
/// units (every carried credit ever written, those used, those open).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ledger {
    pub created_minor: Minor,
    pub used_minor: Minor,
    pub outstanding_minor: Minor,
}

/// A client's credit ledger (see [`Ledger`]).
pub async fn ledger_of_client(
    db: &impl ConnectionTrait,
    studio_id: StudioId,
    client_id: ClientId,
) -> DomainResult<Ledger> {
    let (studio_id, client_id) = (studio_id.get(), client_id.get());
    let all = client_credit::Entity::find()
        .filter(client_credit::Column::StudioId.eq(studio_id))
        .filter(client_credit::Column::ClientId.eq(client_id))
        .all(db)
        .await?;
    let (used, open): (Vec<_>, Vec<_>) = all
        .iter()
        .cloned()
        .partition(|c| c.applied_invoice_id.is_some());
    Ok(Ledger {
        created_minor: total(&all)?,
        used_minor: total(&used)?,
        outstanding_minor: total(&open)?,
    })
}

/// The excess an invoice owes back under `REFUND_DUE`, repaid or not (a
/// void invoice owes nothing through this field).
pub fn owed_excess(invoice: &invoice::Model) -> Minor {
    match invoice.excess_disposition {
        Some(RetainerExcess::RefundDue) if invoice.status != entity::enums::InvoiceStatus::Void => {
            invoice.excess_credit_minor
        }
        _ => Minor::ZERO,
    }
}

/// What an invoice still owes back to its client: its excess under
/// `REFUND_DUE` until the studio marks it repaid.
pub fn due_to_client(invoice: &invoice::Model) -> Minor {
    if invoice.credit_repaid_at.is_some() {
        Minor::ZERO
    } else {
        owed_excess(invoice)
    }
}

/// What the studio paid back to the client (`markCreditRepaid`), with when
/// and its reference; `None` while nothing was repaid.
pub fn repaid_to_client(invoice: &invoice::Model) -> Option<(Minor, DateTime<Utc>, &str)> {
    let at = invoice.credit_repaid_at?;
    Some((
        owed_excess(invoice),
        at,
        invoice
            .credit_repaid_reference
            .as_deref()
            .unwrap_or_default(),
    ))
}

/// Records that the studio paid back the credit an invoice owes its client
/// (`REFUND_DUE`), with the studio's `reference` (a transfer id, a check
/// number): when and the reference are kept on the invoice and the trail
/// gets `CREDIT_REPAID` with the amount. Replaying it with the same
/// reference returns the invoice unchanged; another reference is
/// `ALREADY_REPAID`; an invoice that owes nothing is `NOTHING_OWED`;
/// another studio's invoice is `NOT_FOUND`.
pub async fn mark_repaid(
    ctx: &AppContext,
    studio_id: StudioId,
    invoice_id: InvoiceId,
    reference: &str,
    actor: &Actor,
) -> DomainResult<invoice::Model> {
    let reference = reference.trim();
    if reference.is_empty() || reference.chars().count() > 200 {
        return Err(
            UserError::invalid("reference", "give a reference of 1 to 200 characters").into(),
        );
    }
    crate::kernel::validate::plain_text(reference, false)
        .map_err(|m| UserError::invalid("reference", m))?;
    let tx = crate::infra::db::begin_write(&ctx.db).await?;
    let invoice = crate::billing::lifecycle::lock_invoice(&tx, studio_id, invoice_id).await?;
    if let Some(done) = invoice.credit_repaid_reference.as_deref() {
        return if done == reference {
            Ok(invoice)
        } else {
            Err(UserError::with_code(
                "invoiceId",
                ErrorCode::AlreadyRepaid,
                format!(
                    "the credit of invoice {} was already repaid (reference {done})",
                    invoice.display_number()
                ),
            )
            .into())
        };
    }
    let owed = due_to_client(&invoice);
    if !owed.is_positive() {
        return Err(UserError::with_code(
            "invoiceId",
            ErrorCode::NothingOwed,
            format!(
                "invoice {} owes its client no credit",
                invoice.display_number()
            ),
        )
        .into());
    }
    let now = ctx.clock.now();
    let mut active: invoice::ActiveModel = invoice.into();
    active.credit_repaid_at = Set(Some(now));
    active.credit_repaid_reference = Set(Some(reference.to_string()));
    active.updated_at = Set(now);
    let repaid = active.update(&tx).await?;
    crate::billing::lifecycle::record(
        &tx,
        &repaid,
        Audit {
            event: InvoiceEventKind::CreditRepaid,
            from: None,
            to: None,
            amount_minor: Some(owed),
            actor,
            detail: Some(reference.to_string()),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(
        studio_id = studio_id.get(),
        invoice_id = invoice_id.get(),
        amount_minor = owed.get(),
        "credit owed to the client marked repaid"
    );
    Ok(repaid)
}

/// What an invoice passed on to the client's next invoice.
pub fn carried_forward(invoice: &invoice::Model) -> Minor {
    match invoice.excess_disposition {
        Some(RetainerExcess::CarryForward) => invoice.excess_credit_minor,
        _ => Minor::ZERO,
    }
}

/// A client's carried credit not yet used, in minor units.
pub async fn balance_of_client(
    db: &impl ConnectionTrait,
    studio_id: StudioId,
    client_id: ClientId,
) -> DomainResult<Minor> {
    let (studio_id, client_id) = (studio_id.get(), client_id.get());
    let open = client_credit::Entity::find()
        .filter(client_credit::Column::StudioId.eq(studio_id))
        .filter(client_credit::Column::ClientId.eq(client_id))
        .filter(client_credit::Column::AppliedInvoiceId.is_null())
        .all(db)
        .await?;
    total(&open)
}

/// The studio's invoices with a credit owed back to the client (newest
/// first): what the dashboard lists.
pub async fn owed_back(
    db: &impl ConnectionTrait,
    studio_id: i64,
    limit: u64,
) -> DomainResult<Vec<invoice::Model>> {
    Ok(invoice::Entity::find()
        .filter(invoice::Column::StudioId.eq(studio_id))
        .filter(invoice::Column::ExcessDisposition.eq(RetainerExcess::RefundDue))
        .filter(invoice::Column::ExcessCreditMinor.gt(0))
        .filter(invoice::Column::Status.ne(entity::enums::InvoiceStatus::Void))
        .order_by_desc(invoice::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}
