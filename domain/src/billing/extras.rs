//! Gallery picks billed on the session (issue 21): what a selection owes
//! beyond what the session's invoices bill already, as a supplementary
//! invoice (kind `EXTRAS`) with the next gap-free number.
//!
//! - The session's final invoice is never edited once issued. Before it
//!   exists, it bills the picks itself (`studio::quote::extras_due` adds the
//!   "Additional images × n" line); while it is a `DRAFT`, it is priced
//!   again with them (`invoicing::reprice::reprice_draft`); after, a supplementary invoice bills
//!   the rest, taxed as the package is at the session's rates, routed like
//!   every invoice (`finalize_and_route`: an auto-pay client's card is
//!   charged once, anyone else gets the invoice email). A studio that
//!   reviews drafts gets it as a `DRAFT`, sent when the studio finalizes
//!   it, like every draft.
//! - What is billed is the sum of `extra_images_minor` over the session's
//!   invoices that are not `VOID`, so billing is idempotent by computation:
//!   the same selection again bills nothing. A changed selection voids the
//!   supplementary invoices nobody has paid anything on (when what is owed
//!   changed) and bills the new total; after a payment only the difference
//!   is billed, and a smaller selection refunds nothing by itself.
//! - Callers hold the session row locked (`FOR UPDATE`), as
//!   `generate_invoice` does, so a selection and the final invoice never
//!   both miss, or both bill, the same picks.

use crate::billing::invoicing::reprice::reprice_draft;
use crate::billing::invoicing::{
    current_invoice_of_session, finalize_and_route, insert_lines, studio_tz,
};
use crate::billing::lifecycle::{self, Actor, Audit};
use crate::infra::context::AppContext;
use crate::infra::error::DomainResult;
use crate::infra::secrets::{hash_token, random_token};
use crate::kernel::adjustments::TaxShare;
use crate::kernel::money::Minor;
use crate::kernel::pricing::{self, PricingInput, RoundingMode};
use crate::studio::quote::{ExtrasDue, extras_due, tax_rates_of};
use chrono::{DateTime, Duration, Utc};
use entity::enums::{
    InvoiceEventKind, InvoiceKind, InvoiceStatus, LineKind, PaymentStatus, Rounding,
};
use entity::{invoice, payment, session, studio};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter,
};

/// What billing a selection did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Billed {
    /// Everything picked is billed already (or nothing is owed).
    Nothing,
    /// The session's final invoice is not issued yet: it bills the picks.
    OnFinalInvoice,
    /// The session's final invoice is a `DRAFT`: priced again, it bills
    /// the picks on its "Additional images" line.
    OnDraft(Box<invoice::Model>),
    /// A supplementary invoice, issued and routed (a `DRAFT` for a studio
    /// that reviews drafts, finalized by `finalizeInvoice`); `voided`: the
    /// unpaid ones it replaces.
    Supplementary {
        invoice: Box<invoice::Model>,
        voided: Vec<i64>,
    },
}

/// Bills the session's current selection, inside the caller's transaction
/// (the session row locked by the caller).
pub async fn bill_in(
    ctx: &AppContext,
    tx: &DatabaseTransaction,
    studio: &studio::Model,
    session: &session::Model,
    actor: &Actor,
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> DomainResult<Billed> {
    match current_invoice_of_session(tx, session.id).await? {
        // Not invoiced yet, or its void invoice awaits a reissue: that
        // invoice will bill the picks.
        None => return Ok(Billed::OnFinalInvoice),
        Some(last) if last.status == InvoiceStatus::Void => return Ok(Billed::OnFinalInvoice),
        Some(last) => {
            let repriced = reprice_draft(tx, studio, session, &last, actor, now).await?;
            if let Some(draft) = repriced {
                return Ok(Billed::OnDraft(Box::new(draft)));
            }
        }
    }
    let voided = void_unpaid_if_changed(tx, session, actor, request_id, now).await?;
    let Some(due) = extras_due(tx, session).await? else {
        return Ok(Billed::Nothing);
    };
    let draft = insert_supplementary(ctx, tx, studio, session, due, actor, request_id, now).await?;
    let invoice = match studio.review_drafts {
        true => draft,
        false => finalize_and_route(ctx, tx, studio, draft, actor, request_id, now).await?,
    };
    Ok(Billed::Supplementary {
        invoice: Box::new(invoice),
        voided,
    })
}

/// Voids the supplementary invoices nothing was paid on and no payment is
/// pending for (drafts included), when what the selection owes is not what the session's
/// invoices bill: the new total is billed in their place.
async fn void_unpaid_if_changed(
    tx: &DatabaseTransaction,
    session: &session::Model,
    actor: &Actor,
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> DomainResult<Vec<i64>> {
    let owed = crate::studio::quote::extras_owed(tx, session).await?;
    let live = invoice::Entity::find()
        .filter(invoice::Column::SessionId.eq(session.id))
        .filter(invoice::Column::Status.ne(InvoiceStatus::Void))
        .all(tx)
        .await?;
    let billed = live
        .iter()
        .try_fold(Minor::ZERO, |sum, i| sum.checked_add(i.extra_images_minor))
        .ok_or_else(|| anyhow::anyhow!("session {}: billed extras overflow", session.id))?;
    if billed == owed {
        return Ok(Vec::new());
    }
    let mut voided = Vec::new();
    for unpaid in live.into_iter().filter(|i| {
        i.kind == InvoiceKind::Extras
            && matches!(i.status, InvoiceStatus::Open | InvoiceStatus::Draft)
            && i.amount_paid_minor.is_zero()
    }) {
        let pending = payment::Entity::find()
            .filter(payment::Column::InvoiceId.eq(unpaid.id))
            .filter(payment::Column::Status.eq(PaymentStatus::Pending))
            .one(tx)
            .await?;
        if pending.is_some() {
            continue;
        }
        let id = unpaid.id;
        crate::billing::closing::void_in(
            tx,
            unpaid,
            "the client changed their gallery selection",
            actor,
            request_id,
            now,
        )
        .await?;
        voided.push(id);
    }
    Ok(voided)
}

/// Writes the supplementary invoice as a `DRAFT`: one "Additional images ×
/// n" line, taxed as the package is at the session's rates, with `CREATED`
/// in its trail.
#[allow(clippy::too_many_arguments)]
async fn insert_supplementary(
    ctx: &AppContext,
    tx: &DatabaseTransaction,
    studio: &studio::Model,
    session: &session::Model,
    due: ExtrasDue,
    actor: &Actor,
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> DomainResult<invoice::Model> {
    let line = due.line(session);
    let priced = pricing::price(&PricingInput {
        lines: vec![line],
        tax_rates: tax_rates_of(tx, session).await?,
        prices_include_tax: studio.prices_include_tax,
        credit_minor: 0,
        discount: None,
        fees: Vec::new(),
        rounding: match studio.rounding {
            Rounding::PerLine => RoundingMode::PerLine,
            Rounding::PerInvoice => RoundingMode::PerInvoice,
        },
    })
    .map_err(|e| anyhow::anyhow!("pricing the picks of session {}: {e}", session.id))?;
    let typed = Minor::new;
    let taxes: Vec<TaxShare> = priced
        .taxes
        .iter()
        .map(|t| TaxShare {
            name: t.name.clone(),
            percent: t.percent,
            amount_minor: typed(t.amount_minor),
        })
        .collect();
    let salt = random_token();
    let invoice = invoice::ActiveModel {
        studio_id: Set(studio.id),
        session_id: Set(session.id),
        client_id: Set(session.client_id),
        number: Set(None),
        status: Set(InvoiceStatus::Draft),
        currency: Set(studio.currency),
        subtotal_minor: Set(typed(priced.subtotal_minor)),
        tax_minor: Set(typed(priced.tax_minor)),
        credit_minor: Set(Minor::ZERO),
        total_minor: Set(typed(priced.total_minor)),
        amount_paid_minor: Set(Minor::ZERO),
        amount_due_minor: Set(typed(priced.total_minor)),
        issued_at: Set(now),
        due_date: Set(now.with_timezone(&studio_tz(studio)).date_naive()
            + Duration::days(i64::from(studio.payment_terms_days))),
        paid_at: Set(None),
        settled_at: Set(None),
        finalized_at: Set(None),
        amount_refunded_minor: Set(Minor::ZERO),
        discount_minor: Set(Minor::ZERO),
        fee_minor: Set(Minor::ZERO),
        prices_include_tax: Set(studio.prices_include_tax),
        tax_breakdown: Set(
            serde_json::to_string(&taxes).map_err(|e| anyhow::anyhow!("tax breakdown: {e}"))?
        ),
        portal_token_hash: Set(hash_token(&ctx.secret.portal_token(&salt))),
        portal_salt: Set(salt),
        request_id: Set(request_id.map(str::to_string)),
        created_at: Set(now),
        updated_at: Set(now),
        excess_credit_minor: Set(Minor::ZERO),
        excess_disposition: Set(None),
        carried_credit_minor: Set(Minor::ZERO),
        kind: Set(InvoiceKind::Extras),
        extra_images: Set(due.count),
        extra_images_minor: Set(due.amount),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    insert_lines(tx, invoice.id, &[LineKind::AddOn], &priced).await?;
    lifecycle::record(
        tx,
        &invoice,
        Audit {
            event: InvoiceEventKind::Created,
            from: None,
            to: Some(InvoiceStatus::Draft),
            amount_minor: Some(invoice.total_minor),
            actor,
            detail: Some(format!(
                "{} picked in the gallery of session {}",
                due.line(session).description,
                session.id
            )),
        },
        now,
    )
    .await?;
    Ok(invoice)
}
