//! A session's discount and fees as stored (JSON columns) and as the pricing
//! engine takes them. Stored amounts are minor units or decimal percentages,
//! never floats.

use crate::kernel::money::Minor;
use crate::kernel::pricing::{Adjustment, FeeInput, FeeKind};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoredAdjustment {
    Percent(Decimal),
    FixedMinor(Minor),
}

impl From<&StoredAdjustment> for Adjustment {
    fn from(a: &StoredAdjustment) -> Self {
        match a {
            StoredAdjustment::Percent(p) => Adjustment::Percent(*p),
            StoredAdjustment::FixedMinor(m) => Adjustment::Fixed(m.get()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFee {
    pub name: String,
    /// `TRAVEL`, `RUSH`, `CARD_SURCHARGE` or `OTHER`.
    pub kind: String,
    pub charge: StoredAdjustment,
    pub taxable: bool,
}

pub fn fee_kind(kind: &str) -> Option<FeeKind> {
    Some(match kind {
        "TRAVEL" => FeeKind::Travel,
        "RUSH" => FeeKind::Rush,
        "CARD_SURCHARGE" => FeeKind::CardSurcharge,
        "OTHER" => FeeKind::Other,
        _ => return None,
    })
}

impl From<&StoredFee> for FeeInput {
    fn from(f: &StoredFee) -> Self {
        FeeInput {
            name: f.name.clone(),
            kind: fee_kind(&f.kind).unwrap_or_default(),
            charge: (&f.charge).into(),
            taxable: f.taxable,
        }
    }
}

pub fn parse_discount(raw: Option<&str>) -> anyhow::Result<Option<StoredAdjustment>> {
    raw.map(serde_json::from_str)
        .transpose()
        .map_err(Into::into)
}

pub fn parse_fees(raw: &str) -> anyhow::Result<Vec<StoredFee>> {
    Ok(serde_json::from_str(raw)?)
}

/// One rate's tax on an invoice, as stored in `invoices.tax_breakdown`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxShare {
    pub name: String,
    pub percent: Decimal,
    pub amount_minor: Minor,
}

pub fn parse_tax_breakdown(raw: &str) -> Vec<TaxShare> {
    serde_json::from_str(raw).unwrap_or_default()
}
