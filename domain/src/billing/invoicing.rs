//! Step 2-4 of the workflow: price a completed session, take the next
//! gap-free number, issue the invoice and route it on payment preference.
//!
//! - A session has at most one final invoice that is not `VOID` (partial unique
//!   index `ux_invoices_session_final`). `GenerateInvoice` creates one only
//!   for a session that has none at all, so a replay after a void creates
//!   nothing; only `reissue_invoice` replaces a void invoice
//!   (`reissued_from_id`, one replacement each, its key in `reissue_key`).
//! - A `DRAFT` has no number (NULLs are distinct in the `(studio_id,
//!   number)` unique index) and no follow-ups: no email, charge, gallery
//!   access or working portal link. Every path to `OPEN` goes through
//!   `finalize_and_route`.
//! - Numbers come from a per-studio counter incremented with `UPDATE ...
//!   RETURNING` in the invoice's transaction: gap-free and unique under
//!   concurrency. The number is the last thing a finalization takes before
//!   its commit: the counter row stays locked until then, and every
//!   finalization of the studio waits for it.

mod finalize;
mod generate;
pub(crate) mod reprice;
mod resend;
pub(crate) use finalize::finalize_and_route;
use finalize::{record_number, route_unnumbered};
pub use generate::{generate_invoice, generate_invoices};
pub use resend::resend_invoice;

use crate::billing::credits;
use crate::billing::lifecycle::{self, Actor, Audit};
use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::{DomainResult, UserError};
use crate::infra::secrets::{hash_token, random_token};
use crate::kernel::adjustments::TaxShare;
use crate::kernel::ids::{ClientId, InvoiceId, StudioId};
use crate::kernel::money::Minor;
use crate::kernel::pricing::{self, LineInput};
use crate::studio::quote::quote_session;
use chrono::Duration;
use entity::enums::{InvoiceEventKind, InvoiceKind, InvoiceStatus, LineKind};
use entity::{client, invoice, invoice_line, session, studio};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

#[derive(Debug, PartialEq, Eq)]
pub enum Generated {
    Issued {
        invoice_id: i64,
        number: String,
    },
    AlreadyIssued {
        invoice_id: i64,
    },
    /// The studio reviews drafts: the invoice waits at `DRAFT` for
    /// `finalize_invoice`.
    Drafted {
        invoice_id: i64,
    },
    /// The session is not completed (it was never, or the row is gone).
    NotBillable,
}

pub fn studio_tz(studio: &studio::Model) -> chrono_tz::Tz {
    crate::kernel::clock::zone(&studio.time_zone)
}

/// A session priced as it is now: the lines (with their kinds), the pricing
/// engine's result and the tax breakdown to store.
struct PricedSession {
    lines: Vec<(LineKind, LineInput)>,
    priced: pricing::PricedInvoice,
    tax_breakdown: Vec<TaxShare>,
}

async fn price_session(
    tx: &DatabaseTransaction,
    studio: &studio::Model,
    session: &session::Model,
    carried: Minor,
) -> DomainResult<PricedSession> {
    let (lines, priced) = quote_session(tx, studio, session, carried).await?;
    let priced = priced.map_err(|e| anyhow::anyhow!("pricing session {}: {e}", session.id))?;
    let tax_breakdown = priced
        .taxes
        .iter()
        .map(|t| TaxShare {
            name: t.name.clone(),
            percent: t.percent,
            amount_minor: Minor::new(t.amount_minor),
        })
        .collect();
    Ok(PricedSession {
        lines,
        priced,
        tax_breakdown,
    })
}

/// Where a new draft comes from: the session's first invoice, or the
/// reissue of a void one (with the reissue's idempotency key); who asked,
/// and the request it belongs to.
struct Origin<'a> {
    reissued_from: Option<(&'a invoice::Model, &'a str)>,
    actor: &'a Actor,
    request_id: Option<&'a str>,
}

/// What a new draft is credited beyond the session's retainer: the client's
/// open credits from earlier invoices (locked: this invoice uses them whole,
/// once), what void predecessors already passed on, and the payment plan's
/// installments.
struct DraftCredits {
    carried: Vec<entity::client_credit::Model>,
    passed_on: Minor,
    plan_minor: Minor,
    plan_rows: Vec<crate::billing::installments::PlanCredit>,
}

async fn draft_credits(
    ctx: &AppContext,
    tx: &DatabaseTransaction,
    studio: &studio::Model,
    session: &session::Model,
    client: &client::Model,
    origin: &Origin<'_>,
) -> DomainResult<DraftCredits> {
    let carried = credits::open_for_client(
        tx,
        StudioId::new(studio.id),
        ClientId::new(client.id),
        studio.currency,
    )
    .await?;
    // A reissue does not use again what its void predecessors already
    // passed on to later invoices (nor carry it a second time).
    let passed_on = match origin.reissued_from {
        Some((old, _)) => credits::passed_on_by_predecessors(tx, old).await?,
        None => Minor::ZERO,
    };
    let carried_minor = credits::total(&carried)?
        .checked_add(passed_on)
        .ok_or_else(|| anyhow::anyhow!("carried credits overflow"))?;
    if session
        .retainer_paid_minor
        .checked_add(carried_minor)
        .is_none_or(Minor::is_negative)
    {
        return Err(anyhow::anyhow!(
            "session {}: the credit left after earlier invoices is negative",
            session.id
        )
        .into());
    }
    let (plan_minor, plan_rows) =
        crate::billing::installments::net_into_final(tx, studio, session, ctx.clock.now()).await?;
    Ok(DraftCredits {
        carried,
        passed_on,
        plan_minor,
        plan_rows,
    })
}

/// Writes a `DRAFT` invoice without a number: lines, totals, portal token,
/// and `CREATED` in the trail.
async fn insert_draft(
    ctx: &AppContext,
    tx: &DatabaseTransaction,
    studio: &studio::Model,
    session: &session::Model,
    client: &client::Model,
    origin: Origin<'_>,
) -> DomainResult<invoice::Model> {
    let DraftCredits {
        carried,
        passed_on,
        plan_minor,
        plan_rows,
    } = draft_credits(ctx, tx, studio, session, client, &origin).await?;
    let credit_minor = credits::total(&carried)?
        .checked_add(passed_on)
        .and_then(|c| c.checked_add(plan_minor))
        .ok_or_else(|| anyhow::anyhow!("credits overflow"))?;
    let PricedSession {
        lines,
        priced,
        tax_breakdown,
    } = price_session(tx, studio, session, credit_minor).await?;
    let extras = crate::studio::quote::extras_due(tx, session).await?;
    // The pricing engine's bare minor units become typed amounts here.
    let typed = Minor::new;
    let applied = typed(priced.credit_minor);
    let before_carried = session.retainer_paid_minor + plan_minor;
    let carried_applied = credits::carried_part(before_carried, passed_on, applied);
    let retainer_applied = Ord::min(session.retainer_paid_minor, applied).at_least_zero();
    let plan_applied = Ord::min(plan_minor, applied - retainer_applied).at_least_zero();
    let disposition = credits::disposition(studio, typed(priced.excess_credit_minor));
    let now = ctx.clock.now();
    let due_date = now.with_timezone(&studio_tz(studio)).date_naive()
        + Duration::days(i64::from(studio.payment_terms_days));
    let salt = random_token();
    let invoice = invoice::ActiveModel {
        studio_id: Set(studio.id),
        session_id: Set(session.id),
        client_id: Set(client.id),
        number: Set(None),
        status: Set(InvoiceStatus::Draft),
        currency: Set(studio.currency),
        subtotal_minor: Set(typed(priced.subtotal_minor)),
        tax_minor: Set(typed(priced.tax_minor)),
        credit_minor: Set(typed(priced.credit_minor)),
        total_minor: Set(typed(priced.total_minor)),
        amount_paid_minor: Set(Minor::ZERO),
        amount_due_minor: Set(typed(priced.total_minor)),
        issued_at: Set(now),
        due_date: Set(due_date),
        paid_at: Set(None),
        settled_at: Set(None),
        finalized_at: Set(None),
        amount_refunded_minor: Set(Minor::ZERO),
        discount_minor: Set(typed(priced.discount_minor)),
        fee_minor: Set(typed(priced.fees_minor)),
        prices_include_tax: Set(studio.prices_include_tax),
        tax_breakdown: Set(serde_json::to_string(&tax_breakdown)
            .map_err(|e| anyhow::anyhow!("tax breakdown: {e}"))?),
        portal_token_hash: Set(hash_token(&ctx.secret.portal_token(&salt))),
        portal_salt: Set(salt),
        request_id: Set(origin.request_id.map(str::to_string)),
        created_at: Set(now),
        updated_at: Set(now),
        reissued_from_id: Set(origin.reissued_from.map(|(old, _)| old.id)),
        reissue_key: Set(origin.reissued_from.map(|(_, key)| key.to_string())),
        excess_credit_minor: Set(typed(priced.excess_credit_minor)),
        excess_disposition: Set(disposition),
        carried_credit_minor: Set(carried_applied),
        plan_credit_minor: Set(plan_applied),
        plan_credits: Set(
            serde_json::to_string(&plan_rows).map_err(|e| anyhow::anyhow!("plan credits: {e}"))?
        ),
        extra_images: Set(extras.map_or(0, |e| e.count)),
        extra_images_minor: Set(extras.map_or(Minor::ZERO, |e| e.amount)),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    credits::apply(tx, &carried, invoice.id, ctx.clock.now()).await?;
    credits::carry(tx, &invoice, ctx.clock.now()).await?;
    let kinds: Vec<LineKind> = lines.iter().map(|(kind, _)| *kind).collect();
    insert_lines(tx, invoice.id, &kinds, &priced).await?;
    let detail = match origin.reissued_from {
        Some((old, _)) => format!(
            "from session {}, reissuing {}",
            session.id,
            old.display_number()
        ),
        None => format!("from session {}", session.id),
    };
    lifecycle::record(
        tx,
        &invoice,
        Audit {
            event: InvoiceEventKind::Created,
            from: None,
            to: Some(InvoiceStatus::Draft),
            amount_minor: Some(invoice.total_minor),
            actor: origin.actor,
            detail: Some(detail),
        },
        ctx.clock.now(),
    )
    .await?;
    Ok(invoice)
}

/// Writes a priced invoice's lines, each with its kind, then its fees.
pub(crate) async fn insert_lines(
    tx: &DatabaseTransaction,
    invoice_id: i64,
    kinds: &[LineKind],
    priced: &pricing::PricedInvoice,
) -> DomainResult<()> {
    let typed = Minor::new;
    for (position, (kind, line)) in kinds.iter().zip(priced.lines.iter()).enumerate() {
        invoice_line::ActiveModel {
            invoice_id: Set(invoice_id),
            position: Set(position as i32 + 1),
            kind: Set(*kind),
            description: Set(line.description.clone()),
            quantity: Set(line.quantity),
            unit_price_minor: Set(typed(line.unit_price_minor)),
            amount_minor: Set(typed(line.amount_minor)),
            taxable: Set(line.taxable),
            tax_minor: Set(typed(line.tax_minor)),
            discount_minor: Set(typed(line.discount_minor)),
            ..Default::default()
        }
        .insert(tx)
        .await?;
    }
    for (offset, fee) in priced.fees.iter().enumerate() {
        invoice_line::ActiveModel {
            invoice_id: Set(invoice_id),
            position: Set((kinds.len() + offset) as i32 + 1),
            kind: Set(LineKind::Fee),
            description: Set(fee.name.clone()),
            quantity: Set(1),
            unit_price_minor: Set(typed(fee.amount_minor)),
            amount_minor: Set(typed(fee.amount_minor)),
            taxable: Set(fee.taxable),
            tax_minor: Set(typed(fee.tax_minor)),
            discount_minor: Set(Minor::ZERO),
            ..Default::default()
        }
        .insert(tx)
        .await?;
    }
    Ok(())
}

/// After commit: wake the relay and tell subscribers an invoice was issued.
pub(crate) async fn announce_issued(ctx: &AppContext, invoice: &invoice::Model) {
    crate::workflow::next::wake(ctx);
    ctx.events
        .publish(crate::billing::events::for_invoice(
            crate::ports::events::EventKind::InvoiceIssued,
            invoice,
            None,
            ctx.clock.now(),
        ))
        .await;
}

/// The invoice a session bills now: its final invoice that is not void,
/// else the latest (void) one. Installments of its payment plan are not it.
pub async fn current_invoice_of_session<C: ConnectionTrait>(
    db: &C,
    session_id: i64,
) -> DomainResult<Option<invoice::Model>> {
    let all = invoice::Entity::find()
        .filter(invoice::Column::SessionId.eq(session_id))
        .filter(invoice::Column::Kind.eq(InvoiceKind::Final))
        .order_by_desc(invoice::Column::Id)
        .all(db)
        .await?;
    Ok(pick_current(all))
}

/// Of a session's invoices (any order), the one that is not void, else the
/// latest.
pub fn pick_current(invoices: Vec<invoice::Model>) -> Option<invoice::Model> {
    let latest = invoices.iter().map(|i| i.id).max();
    let mut fallback = None;
    for invoice in invoices {
        if invoice.status != InvoiceStatus::Void {
            return Some(invoice);
        }
        if Some(invoice.id) == latest {
            fallback = Some(invoice);
        }
    }
    fallback
}

/// The session row, locked for the invoice priced from it: gallery picks
/// submitted meanwhile are billed either on this invoice or, after it, on a
/// supplementary one (`billing::extras`), never on both or neither.
async fn lock_session(
    tx: &DatabaseTransaction,
    session_id: i64,
) -> DomainResult<Option<session::Model>> {
    Ok(session::Entity::find_by_id(session_id)
        .lock_exclusive()
        .one(tx)
        .await?)
}

/// Finalizes a draft the studio reviewed: number, `OPEN`, and the same
/// follow-ups as the automatic path. An invoice that is already finalized is
/// returned unchanged (finalizing twice is harmless); a void one is refused.
pub async fn finalize_invoice(
    ctx: &AppContext,
    studio_id: StudioId,
    invoice_id: InvoiceId,
    actor: &Actor,
    request_id: Option<&str>,
) -> DomainResult<invoice::Model> {
    let tx = begin_write(&ctx.db).await?;
    let invoice = crate::billing::lifecycle::lock_invoice(&tx, studio_id, invoice_id).await?;
    match invoice.status {
        InvoiceStatus::Draft => {}
        InvoiceStatus::Void => {
            return Err(UserError::state(
                "invoiceId",
                format!(
                    "invoice {} is VOID and cannot be finalized",
                    invoice.display_number()
                ),
            )
            .into());
        }
        _ => return Ok(invoice),
    }
    let studio = studio::Entity::find_by_id(studio_id.get())
        .one(&tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("studio {studio_id} missing"))?;
    let now = ctx.clock.now();
    let invoice = finalize_and_route(ctx, &tx, &studio, invoice, actor, request_id, now).await?;
    tx.commit().await?;
    announce_issued(ctx, &invoice).await;
    Ok(invoice)
}

/// Replaces a void invoice: applies the corrected discount and fees (if
/// any) to the session, prices the session as it is now, takes the next
/// number, links both invoices, records `CREATED`/`FINALIZED` on the new one
/// and `REISSUED` on the old one, and continues the workflow like a fresh
/// invoice (charge or email). Replaying `idempotency_key` returns the same
/// new invoice. Reissues are finalized at once, also for studios that review
/// drafts: the reissue is the studio's own decision.
pub async fn reissue_invoice(
    ctx: &AppContext,
    studio_id: StudioId,
    invoice_id: InvoiceId,
    idempotency_key: &str,
    changes: &crate::studio::sessions::AdjustmentChanges,
    actor: &Actor,
    request_id: Option<&str>,
) -> DomainResult<invoice::Model> {
    crate::kernel::validate::idempotency_key("idempotencyKey", idempotency_key)?;
    let tx = begin_write(&ctx.db).await?;
    let old = crate::billing::lifecycle::lock_invoice(&tx, studio_id, invoice_id).await?;
    if let Some(first) = invoice::Entity::find()
        .filter(invoice::Column::StudioId.eq(studio_id.get()))
        .filter(invoice::Column::ReissueKey.eq(idempotency_key))
        .one(&tx)
        .await?
    {
        return if first.reissued_from_id == Some(old.id) {
            Ok(first)
        } else {
            Err(UserError::key_reused("idempotencyKey").into())
        };
    }
    ensure_reissuable(&old)?;
    if let Some(replacement) = invoice::Entity::find()
        .filter(invoice::Column::ReissuedFromId.eq(old.id))
        .one(&tx)
        .await?
    {
        return Err(UserError::duplicate(
            "invoiceId",
            format!(
                "invoice {} was already reissued as {}",
                old.display_number(),
                replacement.display_number()
            ),
        )
        .into());
    }
    if let Some(current) = current_invoice_of_session(&tx, old.session_id).await?
        && current.status != InvoiceStatus::Void
    {
        return Err(UserError::state(
            "invoiceId",
            format!(
                "the session already has invoice {} that is not void",
                current.display_number()
            ),
        )
        .into());
    }
    let session = lock_session(&tx, old.session_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("session of invoice {} missing", old.id))?;
    let studio = studio::Entity::find_by_id(studio_id.get())
        .one(&tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("studio {studio_id} missing"))?;
    let client = client::Entity::find_by_id(session.client_id)
        .one(&tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("client of session {} missing", session.id))?;
    let session = crate::studio::sessions::apply_adjustment_changes(
        &tx,
        &studio,
        session,
        changes,
        ctx.clock.now(),
    )
    .await?;
    let draft = insert_draft(
        ctx,
        &tx,
        &studio,
        &session,
        &client,
        Origin {
            reissued_from: Some((&old, idempotency_key)),
            actor,
            request_id,
        },
    )
    .await?;
    let invoice =
        finalize_and_route(ctx, &tx, &studio, draft, actor, request_id, ctx.clock.now()).await?;
    lifecycle::record(
        &tx,
        &old,
        Audit {
            event: InvoiceEventKind::Reissued,
            from: None,
            to: None,
            amount_minor: Some(invoice.total_minor),
            actor,
            detail: Some(format!("reissued as {}", invoice.display_number())),
        },
        ctx.clock.now(),
    )
    .await?;
    tx.commit().await?;
    announce_issued(ctx, &invoice).await;
    Ok(invoice)
}

/// Only a void final invoice is reissued (an installment is not: its part
/// is what changes).
fn ensure_reissuable(old: &invoice::Model) -> DomainResult<()> {
    crate::billing::installments::ensure_reissuable(old)?;
    if old.status != InvoiceStatus::Void {
        return Err(UserError::state(
            "invoiceId",
            format!(
                "invoice {} is {}: only a void invoice can be reissued (void it first)",
                old.display_number(),
                old.status.as_str()
            ),
        )
        .into());
    }
    Ok(())
}

/// Marks an open or partially paid invoice uncollectible (the studio gives
/// up collecting it): gallery access follows, auto-pay retries stop, and a
/// later manual payment still settles it. The reason is kept in the trail.
/// Marking an uncollectible invoice again returns it unchanged.
pub async fn mark_uncollectible(
    ctx: &AppContext,
    studio_id: StudioId,
    invoice_id: InvoiceId,
    reason: &str,
    actor: &Actor,
    request_id: Option<&str>,
) -> DomainResult<invoice::Model> {
    let reason = crate::billing::lifecycle::parse_reason(reason)?;
    let tx = begin_write(&ctx.db).await?;
    let invoice = crate::billing::lifecycle::lock_invoice(&tx, studio_id, invoice_id).await?;
    if invoice.status == InvoiceStatus::Uncollectible {
        return Ok(invoice);
    }
    if !matches!(
        invoice.status,
        InvoiceStatus::Open | InvoiceStatus::PartiallyPaid
    ) {
        return Err(UserError::state(
            "invoiceId",
            format!(
                "invoice {} is {}: only an OPEN or PARTIALLY_PAID invoice can be marked uncollectible",
                invoice.display_number(),
                invoice.status.as_str()
            ),
        )
        .into());
    }
    let marked = crate::billing::closing::write_off_in(
        &tx,
        invoice,
        reason.to_string(),
        actor,
        request_id,
        ctx.clock.now(),
    )
    .await?;
    crate::workflow::next::commit(ctx, tx).await?;
    Ok(marked)
}
