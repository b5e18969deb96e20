//! A session priced exactly as its invoice will be: the package as sold,
//! its items, its tax rates, discount, fees and retainer. Scheduling prices
//! with it to refuse what could never be invoiced; invoicing prices the
//! invoice with it, so the two can never disagree.

use crate::infra::error::DomainResult;
use crate::kernel::adjustments;
use crate::kernel::money::Minor;
use crate::kernel::pricing::{self, LineInput, PricingInput, RoundingMode, TaxRateInput};
use crate::studio::catalog::percent_of;
use entity::enums::InvoiceStatus;
use entity::enums::{LineKind, Rounding};
use entity::{gallery_selection, invoice, session, session_item, studio, tax_rate};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

/// Prices a session exactly as its invoice will be priced (package as sold,
/// items, tax rates, discount, fees, retainer, plus `carried` credits from
/// the client's earlier invoices). The pricing engine computes in bare
/// `i64` minor units (its rounding and allocation arithmetic); this is where
/// typed amounts go in, and `billing::invoicing` where they come out. Scheduling calls it
/// to refuse what could never be invoiced; the pricing error is returned as
/// a value.
pub async fn quote_session(
    tx: &impl ConnectionTrait,
    studio: &studio::Model,
    session: &session::Model,
    carried: Minor,
) -> DomainResult<(
    Vec<(LineKind, LineInput)>,
    Result<pricing::PricedInvoice, pricing::PricingError>,
)> {
    let mut lines: Vec<(LineKind, LineInput)> = Vec::new();
    // The package as sold when the session was scheduled.
    if let (Some(name), Some(price)) = (&session.package_name, session.package_price_minor) {
        lines.push((
            LineKind::Package,
            LineInput {
                description: name.clone(),
                quantity: 1,
                unit_price_minor: price.get(),
                taxable: session.package_taxable.unwrap_or(true),
                discount: None,
            },
        ));
    }
    for item in session_item::Entity::find()
        .filter(session_item::Column::SessionId.eq(session.id))
        .order_by_asc(session_item::Column::Id)
        .all(tx)
        .await?
    {
        let kind = if item.add_on_service_id.is_some() {
            LineKind::AddOn
        } else {
            LineKind::Custom
        };
        lines.push((
            kind,
            LineInput {
                description: item.description,
                quantity: item.quantity,
                unit_price_minor: item.unit_price_minor.get(),
                taxable: item.taxable,
                discount: None,
            },
        ));
    }
    if let Some(due) = extras_due(tx, session).await? {
        lines.push((LineKind::AddOn, due.line(session)));
    }
    let rate_inputs = tax_rates_of(tx, session).await?;
    let discount = adjustments::parse_discount(session.discount.as_deref())?;
    let fees = adjustments::parse_fees(&session.fees)?;
    let priced = pricing::price(&PricingInput {
        lines: lines.iter().map(|(_, l)| l.clone()).collect(),
        tax_rates: rate_inputs,
        prices_include_tax: studio.prices_include_tax,
        credit_minor: session
            .retainer_paid_minor
            .checked_add(carried)
            .ok_or(pricing::PricingError::Overflow)
            .map_err(|e| anyhow::anyhow!("session {}: credit {e}", session.id))?
            .get(),
        discount: discount.as_ref().map(Into::into),
        fees: fees.iter().map(Into::into).collect(),
        rounding: match studio.rounding {
            Rounding::PerLine => RoundingMode::PerLine,
            Rounding::PerInvoice => RoundingMode::PerInvoice,
        },
    });
    Ok((lines, priced))
}

/// The session's tax rates as the pricing engine takes them (what its
/// taxable items, and a surcharge the studio taxes, are taxed at).
pub async fn tax_rates_of(
    tx: &impl ConnectionTrait,
    session: &session::Model,
) -> DomainResult<Vec<TaxRateInput>> {
    let rates = tax_rates_for(tx, session).await?;
    let mut inputs = Vec::with_capacity(rates.len());
    for rate in &rates {
        inputs.push(TaxRateInput {
            name: rate.name.clone(),
            percent: percent_of(rate)?,
            compound: rate.compound,
        });
    }
    Ok(inputs)
}

async fn tax_rates_for(
    tx: &impl ConnectionTrait,
    session: &session::Model,
) -> DomainResult<Vec<tax_rate::Model>> {
    let select = tax_rate::Entity::find().filter(tax_rate::Column::StudioId.eq(session.studio_id));
    let rates = match &session.tax_rate_ids {
        Some(ids) => {
            let ids: Vec<i64> = ids
                .split(',')
                .filter_map(|s| s.trim().parse().ok())
                .collect();
            select
                .filter(tax_rate::Column::Id.is_in(ids))
                .order_by_asc(tax_rate::Column::Id)
                .all(tx)
                .await?
        }
        None => {
            select
                .filter(tax_rate::Column::IsDefault.eq(true))
                .filter(tax_rate::Column::Active.eq(true))
                .order_by_asc(tax_rate::Column::Id)
                .all(tx)
                .await?
        }
    };
    Ok(rates)
}

/// The gallery picks of a session not billed yet: their count and price
/// (before tax), beyond what its invoices that are not `VOID` bill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtrasDue {
    pub count: i32,
    pub amount: Minor,
}

impl ExtrasDue {
    /// "Additional images × 7", one line of the whole price (tiers make
    /// the unit price uneven), taxed as the package is.
    pub fn line(&self, session: &session::Model) -> LineInput {
        LineInput {
            description: format!("Additional images × {}", self.count),
            quantity: 1,
            unit_price_minor: self.amount.get(),
            taxable: session.package_taxable.unwrap_or(true),
            discount: None,
        }
    }
}

/// What a session's gallery selection owes beyond what is billed already
/// (`None`: nothing, or its package sells no picks). Reads nothing for a
/// session without image pricing.
pub async fn extras_due(
    tx: &impl ConnectionTrait,
    session: &session::Model,
) -> DomainResult<Option<ExtrasDue>> {
    if session.image_pricing.is_none() {
        return Ok(None);
    }
    let Some(selection) = selection_of(tx, session).await? else {
        return Ok(None);
    };
    let billed = invoice::Entity::find()
        .filter(invoice::Column::SessionId.eq(session.id))
        .filter(invoice::Column::Status.ne(InvoiceStatus::Void))
        .all(tx)
        .await?;
    let (mut count, mut amount) = (0i32, Minor::ZERO);
    for invoice in &billed {
        count = count.saturating_add(invoice.extra_images);
        amount = amount
            .checked_add(invoice.extra_images_minor)
            .ok_or_else(|| anyhow::anyhow!("session {}: billed extras overflow", session.id))?;
    }
    let owed = selection.extras_minor - amount;
    Ok(owed.is_positive().then(|| ExtrasDue {
        count: Ord::max(selection.extras - count, 1),
        amount: owed,
    }))
}

async fn selection_of(
    tx: &impl ConnectionTrait,
    session: &session::Model,
) -> DomainResult<Option<gallery_selection::Model>> {
    Ok(gallery_selection::Entity::find()
        .filter(gallery_selection::Column::SessionId.eq(session.id))
        .one(tx)
        .await?)
}

/// What the session's current selection owes for its extras in all,
/// before tax (zero without a selection).
pub async fn extras_owed(
    tx: &impl ConnectionTrait,
    session: &session::Model,
) -> DomainResult<Minor> {
    Ok(selection_of(tx, session)
        .await?
        .map_or(Minor::ZERO, |s| s.extras_minor))
}
