//! A draft priced again: while the session's final invoice is a `DRAFT` (a
//! studio that reviews drafts), the client's picks become its "Additional
//! images × n" line instead of a supplementary invoice. The draft keeps its
//! id, its credits and its trail; its lines and totals are written anew,
//! priced as the session is now, and the trail says so (`REPRICED`).
//!
//! Only a draft whose credits all apply is priced again: one that carries
//! credit forward (a retainer above its total) would change what it
//! carried, so its picks go on a supplementary invoice instead.

use super::{PricedSession, insert_lines, price_session};
use crate::billing::lifecycle::{self, Actor, Audit};
use crate::infra::error::DomainResult;
use chrono::{DateTime, Utc};
use entity::enums::{InvoiceEventKind, InvoiceKind, InvoiceStatus, LineKind};
use entity::{invoice, invoice_line, session, studio};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter,
};

/// Prices `draft`, the session's final invoice, again with the session's
/// picks as they are now; `None` (nothing changed) when it is not such a
/// draft or its credits would not all apply any more.
pub(crate) async fn reprice_draft(
    tx: &DatabaseTransaction,
    studio: &studio::Model,
    session: &session::Model,
    draft: &invoice::Model,
    actor: &Actor,
    now: DateTime<Utc>,
) -> DomainResult<Option<invoice::Model>> {
    let repriceable = draft.status == InvoiceStatus::Draft
        && draft.kind == InvoiceKind::Final
        && draft.excess_credit_minor.is_zero();
    let Some(beyond) = draft
        .credit_minor
        .checked_sub(session.retainer_paid_minor)
        .filter(|b| repriceable && !b.is_negative())
    else {
        return Ok(None);
    };
    // The draft's own extras are priced again, not counted as billed.
    set_extras(tx, draft.id, 0, crate::kernel::money::Minor::ZERO).await?;
    let PricedSession {
        lines,
        priced,
        tax_breakdown,
    } = price_session(tx, studio, session, beyond).await?;
    let typed = crate::kernel::money::Minor::new;
    if priced.excess_credit_minor != 0 || typed(priced.credit_minor) != draft.credit_minor {
        set_extras(tx, draft.id, draft.extra_images, draft.extra_images_minor).await?;
        return Ok(None);
    }
    let extras = crate::studio::quote::extras_due(tx, session).await?;
    let mut active: invoice::ActiveModel = draft.clone().into();
    active.subtotal_minor = Set(typed(priced.subtotal_minor));
    active.tax_minor = Set(typed(priced.tax_minor));
    active.total_minor = Set(typed(priced.total_minor));
    active.amount_due_minor = Set(typed(priced.total_minor));
    active.discount_minor = Set(typed(priced.discount_minor));
    active.fee_minor = Set(typed(priced.fees_minor));
    active.tax_breakdown =
        Set(serde_json::to_string(&tax_breakdown)
            .map_err(|e| anyhow::anyhow!("tax breakdown: {e}"))?);
    active.extra_images = Set(extras.map_or(0, |e| e.count));
    active.extra_images_minor = Set(extras.map_or(crate::kernel::money::Minor::ZERO, |e| e.amount));
    active.updated_at = Set(now);
    let repriced = active.update(tx).await?;
    invoice_line::Entity::delete_many()
        .filter(invoice_line::Column::InvoiceId.eq(draft.id))
        .exec(tx)
        .await?;
    let kinds: Vec<LineKind> = lines.iter().map(|(kind, _)| *kind).collect();
    insert_lines(tx, draft.id, &kinds, &priced).await?;
    let audit = Audit {
        event: InvoiceEventKind::Repriced,
        from: Some(InvoiceStatus::Draft),
        to: Some(InvoiceStatus::Draft),
        amount_minor: Some(repriced.total_minor),
        actor,
        detail: Some(format!(
            "priced again with the gallery picks: {} extra image(s)",
            repriced.extra_images
        )),
    };
    lifecycle::record(tx, &repriced, audit, now).await?;
    Ok(Some(repriced))
}

async fn set_extras(
    tx: &DatabaseTransaction,
    invoice_id: i64,
    count: i32,
    amount: crate::kernel::money::Minor,
) -> DomainResult<()> {
    invoice::Entity::update_many()
        .col_expr(invoice::Column::ExtraImages, Expr::value(count))
        .col_expr(invoice::Column::ExtraImagesMinor, Expr::value(amount))
        .filter(invoice::Column::Id.eq(invoice_id))
        .exec(tx)
        .await?;
    Ok(())
}
