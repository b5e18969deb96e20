//! The pricing engine: pure, no I/O.
//!
//! All money is `i64` minor units of the invoice currency (so the engine does
//! not care whether the exponent is 0, 2 or 3); rates and percentages are
//! `Decimal`. Every operation is checked and reports [`PricingError::Overflow`]
//! instead of wrapping or panicking.
//!
//! # Order of operations
//!
//! 1. **Lines.** `amount = quantity * unit_price` (the gross figure printed on
//!    the line). A line discount (fixed, or a percentage of the amount rounded
//!    to the minor unit) is clamped to the amount.
//! 2. **Invoice discount.** Computed on the sum of the line amounts after line
//!    discounts (clamped to it) and allocated across the lines in proportion to
//!    those amounts by largest remainder, so the allocated minor units sum
//!    exactly to the discount and no line goes below zero. A line's
//!    `discount_minor` is its own discount plus its share; `net_minor` is
//!    `amount_minor - discount_minor`.
//! 3. **Fees.** Fixed, or a percentage of the discounted line total (Σ
//!    `net_minor`). Fees are not discounted. A fee is a price like a line: it
//!    includes tax when `prices_include_tax`, and is taxed only if `taxable`.
//! 4. **Taxes** on the discounted amount of every taxable line and fee (an
//!    "item"). A non-compound rate applies to the item's net-of-tax amount; a
//!    `compound` rate applies to that amount plus the item's non-compound taxes
//!    (Québec QST before 2013). With tax-exclusive prices the non-compound
//!    taxes are computed first and the compound ones on top. With tax-inclusive
//!    prices the layers are peeled off in the reverse order: the compound taxes
//!    out of the price (`price * c / (100 + Σ compound)`), then the
//!    non-compound ones out of what is left (`rest * r / (100 + Σ
//!    non-compound)`); the net is the remainder, so net + tax == price exactly.
//! 5. **Credit.** The retainer or deposit already paid (plus credits carried
//!    from earlier invoices), clamped so the total is never negative; what is
//!    left over is `excess_credit_minor`, never dropped.
//!
//! # Rounding policy (the only one in the system)
//!
//! Half away from zero to a whole minor unit ([`round_minor`]), in one of two
//! modes:
//!
//! * [`RoundingMode::PerLine`] (default): the tax of each item for each rate is
//!   rounded, and the rate's total is the sum of those rounded figures.
//! * [`RoundingMode::PerInvoice`]: the exact taxes of each rate are summed over
//!   the items and rounded once; that total is then allocated back to the
//!   items by largest remainder (each item gets the floor of its exact tax,
//!   the leftover units go to the largest fractional parts, ties to the
//!   earlier item) so the per-line figures still sum to the invoice tax.
//!
//! In both modes the compound layer uses the item's non-compound taxes *as
//! charged* (the rounded or allocated minor units), because that is the base
//! printed on the invoice.
//!
//! With tax-inclusive prices an item's taxes are never allowed to exceed its
//! price (which would make its net negative). Per line, and for a rate's
//! total per invoice, that bound can only bite when the non-compound or the
//! compound rates add up to more than 100 %, which no real jurisdiction does.
//! Per invoice it can also send a leftover unit of the allocation to the next
//! item when a tiny item has no room left for it; the rate's total is
//! unchanged.
//!
//! # Invariants (exact, in minor units)
//!
//! * `subtotal + tax - credit == total` (both kinds of price);
//! * tax-exclusive prices: `lines - discount + fees + tax - credit == total`
//!   and `subtotal == lines - discount + fees`;
//! * tax-inclusive prices (the tax is inside the amounts):
//!   `lines - discount + fees - credit == total`;
//! * `tax == Σ taxes[r].amount == Σ lines[i].tax + Σ fees[f].tax`, and each
//!   item's `tax_minor` is the sum of its `tax_by_rate_minor`;
//! * `discount == Σ lines[i].discount`, and the invoice discount's shares sum
//!   exactly to `invoice_discount_minor`;
//! * every amount (line nets, fees, taxes, subtotal, credit, total) is `>= 0`.

use rust_decimal::{Decimal, RoundingStrategy};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("line {0}: quantity must be at least 1")]
    BadQuantity(usize),
    #[error("line {0}: unit price must not be negative")]
    NegativePrice(usize),
    #[error("tax rate `{0}` must be between 0 and 100 percent")]
    BadTaxRate(String),
    #[error("credit must not be negative")]
    NegativeCredit,
    #[error("line {0}: a discount is a non-negative amount or a percentage between 0 and 100")]
    BadLineDiscount(usize),
    #[error("the invoice discount is a non-negative amount or a percentage between 0 and 100")]
    BadInvoiceDiscount,
    #[error("fee {0}: a fee is a non-negative amount or a non-negative percentage")]
    BadFee(usize),
    #[error("amounts are too large")]
    Overflow,
}

/// How tax is rounded to minor units (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RoundingMode {
    /// Round the tax of every item for every rate, then sum.
    #[default]
    PerLine,
    /// Sum the exact tax of every rate over the items, round once per rate,
    /// then allocate back to the items by largest remainder.
    PerInvoice,
}

/// A fixed amount or a percentage, used for discounts and fees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adjustment {
    /// Minor units of the invoice currency (tax-inclusive when prices are).
    Fixed(i64),
    /// Percent of what the adjustment applies to (`10` is 10 %).
    Percent(Decimal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FeeKind {
    Travel,
    Rush,
    CardSurcharge,
    #[default]
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInput {
    pub description: String,
    pub quantity: i32,
    pub unit_price_minor: i64,
    pub taxable: bool,
    /// Applies to `quantity * unit_price`; clamped to it.
    pub discount: Option<Adjustment>,
}

// Not derived: a derived default would have quantity 0, which `price`
// rejects, and items are taxable unless marked otherwise.
impl Default for LineInput {
    fn default() -> Self {
        Self {
            description: String::new(),
            quantity: 1,
            unit_price_minor: 0,
            taxable: true,
            discount: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaxRateInput {
    pub name: String,
    pub percent: Decimal,
    /// Applies to the item's amount plus its non-compound taxes.
    pub compound: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FeeInput {
    pub name: String,
    pub kind: FeeKind,
    /// Fixed, or a percentage of the discounted line total.
    pub charge: Adjustment,
    pub taxable: bool,
}

impl Default for Adjustment {
    fn default() -> Self {
        Adjustment::Fixed(0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PricingInput {
    pub lines: Vec<LineInput>,
    pub tax_rates: Vec<TaxRateInput>,
    pub prices_include_tax: bool,
    /// Retainer or deposit already paid, credited against the total.
    pub credit_minor: i64,
    /// Invoice-wide discount on the lines (after their own discounts).
    pub discount: Option<Adjustment>,
    pub fees: Vec<FeeInput>,
    pub rounding: RoundingMode,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    pub description: String,
    pub quantity: i32,
    pub unit_price_minor: i64,
    /// `quantity * unit_price`, as printed on the invoice (gross when prices include tax).
    pub amount_minor: i64,
    /// The line's own discount plus its share of the invoice discount.
    pub discount_minor: i64,
    /// `amount - discount`: what is taxed (still tax-inclusive when prices are).
    pub net_minor: i64,
    pub taxable: bool,
    pub tax_minor: i64,
    /// This line's tax for each rate, in the order of `PricingInput::tax_rates`.
    pub tax_by_rate_minor: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedFee {
    pub name: String,
    pub kind: FeeKind,
    /// Tax-inclusive when prices are.
    pub amount_minor: i64,
    pub taxable: bool,
    pub tax_minor: i64,
    /// This fee's tax for each rate, in the order of `PricingInput::tax_rates`.
    pub tax_by_rate_minor: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxLine {
    pub name: String,
    pub percent: Decimal,
    pub compound: bool,
    /// Net-of-tax amount of the taxable items the rate applies to, plus
    /// their non-compound taxes for a compound rate.
    pub base_minor: i64,
    pub amount_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedInvoice {
    pub lines: Vec<PricedLine>,
    pub fees: Vec<PricedFee>,
    pub taxes: Vec<TaxLine>,
    /// Σ line `amount_minor` (before discounts).
    pub lines_minor: i64,
    /// All discounts: line discounts plus the invoice discount.
    pub discount_minor: i64,
    /// The invoice-wide part of `discount_minor` (already included in it).
    pub invoice_discount_minor: i64,
    pub fees_minor: i64,
    /// Net of tax and of discounts, fees included.
    pub subtotal_minor: i64,
    pub tax_minor: i64,
    /// The part of the credit actually applied (never more than the gross).
    pub credit_minor: i64,
    /// The part of the credit above the gross, which this invoice cannot
    /// use (`input.credit_minor - credit_minor`): owed back to the client or
    /// carried to the next invoice, as the studio chooses.
    pub excess_credit_minor: i64,
    pub total_minor: i64,
}

/// Rounds a decimal number of minor units half away from zero.
pub fn round_minor(value: Decimal) -> Result<i64, PricingError> {
    let rounded = value.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    i64::try_from(rounded).map_err(|_| PricingError::Overflow)
}

fn add(a: i64, b: i64) -> Result<i64, PricingError> {
    a.checked_add(b).ok_or(PricingError::Overflow)
}

fn sub(a: i64, b: i64) -> Result<i64, PricingError> {
    a.checked_sub(b).ok_or(PricingError::Overflow)
}

fn sum(values: impl IntoIterator<Item = i64>) -> Result<i64, PricingError> {
    values.into_iter().try_fold(0_i64, add)
}

fn dsum(values: impl IntoIterator<Item = Decimal>) -> Result<Decimal, PricingError> {
    values.into_iter().try_fold(Decimal::ZERO, |acc, v| {
        acc.checked_add(v).ok_or(PricingError::Overflow)
    })
}

/// `amount * percent / divisor`, exact up to `Decimal`'s 28 digits. The
/// operators on `Decimal` panic on overflow, hence the checked forms.
fn share(amount: i64, percent: Decimal, divisor: Decimal) -> Result<Decimal, PricingError> {
    Decimal::from(amount)
        .checked_mul(percent)
        .and_then(|v| v.checked_div(divisor))
        .ok_or(PricingError::Overflow)
}

fn valid_percent(p: Decimal) -> bool {
    !p.is_sign_negative() && p <= Decimal::ONE_HUNDRED
}

/// A discount on `base`, rounded and clamped so it never exceeds `base`.
/// `None` when the adjustment itself is invalid (the caller knows which error).
fn discount_on(adjustment: &Adjustment, base: i64) -> Option<Result<i64, PricingError>> {
    match *adjustment {
        Adjustment::Fixed(minor) if minor >= 0 => Some(Ok(minor.min(base))),
        Adjustment::Percent(p) if valid_percent(p) => Some(
            share(base, p, Decimal::ONE_HUNDRED)
                .and_then(round_minor)
                .map(|d| d.min(base)),
        ),
        _ => None,
    }
}

/// Splits `total` (`0 <= total <= Σ weights`) across `weights` in proportion,
/// by largest remainder: floors first, then one more unit to the largest
/// remainders (ties to the earlier index). Integer arithmetic in `i128`, so
/// the proportions are exact and the shares sum to `total` exactly; since
/// `total <= Σ weights` no share exceeds its weight.
fn allocate_proportionally(total: i64, weights: &[i64]) -> Result<Vec<i64>, PricingError> {
    let whole: i128 = weights.iter().map(|w| i128::from(*w)).sum();
    if whole == 0 {
        return Ok(vec![0; weights.len()]);
    }
    let mut shares = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    for (index, weight) in weights.iter().enumerate() {
        let scaled = i128::from(total) * i128::from(*weight);
        let floor = i64::try_from(scaled / whole).map_err(|_| PricingError::Overflow)?;
        shares.push(floor);
        remainders.push((scaled % whole, index));
    }
    let mut left = sub(total, sum(shares.iter().copied())?)?;
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, index) in remainders {
        if left <= 0 {
            break;
        }
        shares[index] += 1;
        left -= 1;
    }
    Ok(shares)
}

/// Allocates a rounded `total` back to items whose exact (non-negative)
/// amounts are `exact`, by largest remainder, never giving item `i` more than
/// `caps[i]`. When `total == round(Σ exact)` and no cap binds, every item gets
/// the floor or the ceiling of its exact amount. The caller guarantees
/// `total <= Σ caps`, so the shares always sum to `total`.
fn allocate_rounded(total: i64, exact: &[Decimal], caps: &[i64]) -> Result<Vec<i64>, PricingError> {
    let mut shares = Vec::with_capacity(exact.len());
    let mut order = Vec::with_capacity(exact.len());
    for (index, (value, cap)) in exact.iter().zip(caps).enumerate() {
        let floor = value.floor();
        let whole = i64::try_from(floor).map_err(|_| PricingError::Overflow)?;
        shares.push(whole.min(*cap).max(0));
        order.push((*value - floor, index));
    }
    order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut left = sub(total, sum(shares.iter().copied())?)?;
    // Too much handed out (only possible if a rounded total is below the sum
    // of floors, which `round` rules out): take back from the smallest
    // fractions first.
    for (_, index) in order.iter().rev() {
        if left >= 0 {
            break;
        }
        let back = shares[*index].min(-left);
        shares[*index] -= back;
        left += back;
    }
    // The usual case: one more unit to each of the largest fractions.
    for (_, index) in &order {
        if left <= 0 {
            break;
        }
        if shares[*index] < caps[*index] {
            shares[*index] += 1;
            left -= 1;
        }
    }
    // Only when caps bound above: fill whatever room is left, same order.
    for (_, index) in &order {
        if left <= 0 {
            break;
        }
        let room = sub(caps[*index], shares[*index])?.min(left);
        shares[*index] += room;
        left -= room;
    }
    if left != 0 {
        return Err(PricingError::Overflow);
    }
    Ok(shares)
}

/// Taxes of one layer of rates (`group`: all non-compound or all compound) on
/// the items' `bases`, written into `taxes[item][rate]`. `divisor` is 100 for
/// tax-exclusive bases and 100 + the layer's percentages for tax-inclusive
/// ones, where each item's taxes in the layer are capped at its base.
fn tax_layer(
    bases: &[i64],
    rates: &[TaxRateInput],
    group: &[usize],
    divisor: Decimal,
    inclusive: bool,
    mode: RoundingMode,
    taxes: &mut [Vec<i64>],
) -> Result<(), PricingError> {
    let mut room: Vec<i64> = if inclusive {
        bases.to_vec()
    } else {
        vec![i64::MAX; bases.len()]
    };
    for &r in group {
        let exact = bases
            .iter()
            .map(|b| share(*b, rates[r].percent, divisor))
            .collect::<Result<Vec<_>, _>>()?;
        let amounts = match mode {
            RoundingMode::PerLine => exact
                .iter()
                .zip(&room)
                .map(|(e, cap)| round_minor(*e).map(|t| t.min(*cap)))
                .collect::<Result<Vec<_>, _>>()?,
            RoundingMode::PerInvoice => {
                let capacity = room.iter().fold(0_i64, |acc, c| acc.saturating_add(*c));
                let total = round_minor(dsum(exact.iter().copied())?)?.min(capacity);
                allocate_rounded(total, &exact, &room)?
            }
        };
        for (item, amount) in amounts.into_iter().enumerate() {
            taxes[item][r] = amount;
            if inclusive {
                room[item] = sub(room[item], amount)?;
            }
        }
    }
    Ok(())
}

/// The per-rate taxes of each item (`amounts`: discounted prices of the
/// taxable items) and each rate's taxable base.
fn compute_taxes(
    amounts: &[i64],
    rates: &[TaxRateInput],
    inclusive: bool,
    mode: RoundingMode,
) -> Result<(Vec<Vec<i64>>, Vec<i64>), PricingError> {
    let simple: Vec<usize> = (0..rates.len()).filter(|r| !rates[*r].compound).collect();
    let compound: Vec<usize> = (0..rates.len()).filter(|r| rates[*r].compound).collect();
    let simple_sum = dsum(simple.iter().map(|r| rates[*r].percent))?;
    let compound_sum = dsum(compound.iter().map(|r| rates[*r].percent))?;
    let mut taxes = vec![vec![0_i64; rates.len()]; amounts.len()];
    let layer_total = |taxes: &[Vec<i64>], item: usize, group: &[usize]| {
        sum(group.iter().map(|r| taxes[item][*r]))
    };

    // `inner[i]` is the item's net-of-tax amount, `outer[i]` that plus its
    // non-compound taxes: the bases of the two layers.
    let (inner, outer) = if inclusive {
        let divisor = Decimal::ONE_HUNDRED
            .checked_add(compound_sum)
            .ok_or(PricingError::Overflow)?;
        tax_layer(amounts, rates, &compound, divisor, true, mode, &mut taxes)?;
        let outer = (0..amounts.len())
            .map(|i| sub(amounts[i], layer_total(&taxes, i, &compound)?))
            .collect::<Result<Vec<_>, _>>()?;
        let divisor = Decimal::ONE_HUNDRED
            .checked_add(simple_sum)
            .ok_or(PricingError::Overflow)?;
        tax_layer(&outer, rates, &simple, divisor, true, mode, &mut taxes)?;
        let inner = (0..amounts.len())
            .map(|i| sub(outer[i], layer_total(&taxes, i, &simple)?))
            .collect::<Result<Vec<_>, _>>()?;
        (inner, outer)
    } else {
        let hundred = Decimal::ONE_HUNDRED;
        tax_layer(amounts, rates, &simple, hundred, false, mode, &mut taxes)?;
        let outer = (0..amounts.len())
            .map(|i| add(amounts[i], layer_total(&taxes, i, &simple)?))
            .collect::<Result<Vec<_>, _>>()?;
        tax_layer(&outer, rates, &compound, hundred, false, mode, &mut taxes)?;
        (amounts.to_vec(), outer)
    };
    let inner_sum = sum(inner)?;
    let outer_sum = sum(outer)?;
    let bases = rates
        .iter()
        .map(|r| if r.compound { outer_sum } else { inner_sum })
        .collect();
    Ok((taxes, bases))
}

pub fn price(input: &PricingInput) -> Result<PricedInvoice, PricingError> {
    for rate in &input.tax_rates {
        if !valid_percent(rate.percent) {
            return Err(PricingError::BadTaxRate(rate.name.clone()));
        }
    }
    if input.credit_minor < 0 {
        return Err(PricingError::NegativeCredit);
    }

    // 1. Line amounts and line discounts.
    let mut amounts = Vec::with_capacity(input.lines.len());
    let mut own_discounts = Vec::with_capacity(input.lines.len());
    let mut after_own = Vec::with_capacity(input.lines.len());
    for (index, line) in input.lines.iter().enumerate() {
        if line.quantity < 1 {
            return Err(PricingError::BadQuantity(index));
        }
        if line.unit_price_minor < 0 {
            return Err(PricingError::NegativePrice(index));
        }
        let amount = line
            .unit_price_minor
            .checked_mul(i64::from(line.quantity))
            .ok_or(PricingError::Overflow)?;
        let discount = match &line.discount {
            None => 0,
            Some(d) => discount_on(d, amount).ok_or(PricingError::BadLineDiscount(index))??,
        };
        amounts.push(amount);
        own_discounts.push(discount);
        after_own.push(sub(amount, discount)?);
    }

    // 2. The invoice discount, shared in proportion to the discounted lines.
    let discountable = sum(after_own.iter().copied())?;
    let invoice_discount = match &input.discount {
        None => 0,
        Some(d) => discount_on(d, discountable).ok_or(PricingError::BadInvoiceDiscount)??,
    };
    let shares = allocate_proportionally(invoice_discount, &after_own)?;
    let mut discounts = Vec::with_capacity(input.lines.len());
    let mut nets = Vec::with_capacity(input.lines.len());
    for ((amount, own), share) in amounts.iter().zip(&own_discounts).zip(&shares) {
        let discount = add(*own, *share)?;
        discounts.push(discount);
        nets.push(sub(*amount, discount)?);
    }

    // 3. Fees, percentages taken on the discounted line total.
    let line_total = sum(nets.iter().copied())?;
    let mut fee_amounts = Vec::with_capacity(input.fees.len());
    for (index, fee) in input.fees.iter().enumerate() {
        let amount = match fee.charge {
            Adjustment::Fixed(minor) if minor >= 0 => minor,
            Adjustment::Percent(p) if !p.is_sign_negative() => {
                round_minor(share(line_total, p, Decimal::ONE_HUNDRED)?)?
            }
            _ => return Err(PricingError::BadFee(index)),
        };
        fee_amounts.push(amount);
    }

    // 4. Taxes on every taxable item: lines first, then fees.
    let items: Vec<(i64, bool)> = nets
        .iter()
        .zip(&input.lines)
        .map(|(net, line)| (*net, line.taxable))
        .chain(
            fee_amounts
                .iter()
                .zip(&input.fees)
                .map(|(amount, fee)| (*amount, fee.taxable)),
        )
        .collect();
    let taxable: Vec<usize> = (0..items.len()).filter(|i| items[*i].1).collect();
    let taxable_amounts: Vec<i64> = taxable.iter().map(|i| items[*i].0).collect();
    let (taxable_taxes, bases) = compute_taxes(
        &taxable_amounts,
        &input.tax_rates,
        input.prices_include_tax,
        input.rounding,
    )?;
    let mut item_taxes = vec![vec![0_i64; input.tax_rates.len()]; items.len()];
    for (item, taxes) in taxable.iter().zip(taxable_taxes) {
        item_taxes[*item] = taxes;
    }

    let mut taxes = Vec::with_capacity(input.tax_rates.len());
    for (r, (rate, base)) in input.tax_rates.iter().zip(bases).enumerate() {
        taxes.push(TaxLine {
            name: rate.name.clone(),
            percent: rate.percent,
            compound: rate.compound,
            base_minor: base,
            amount_minor: sum(item_taxes.iter().map(|t| t[r]))?,
        });
    }
    let mut item_taxes = item_taxes.into_iter();

    let mut lines = Vec::with_capacity(input.lines.len());
    for (index, line) in input.lines.iter().enumerate() {
        let by_rate = item_taxes.next().unwrap_or_default();
        lines.push(PricedLine {
            description: line.description.clone(),
            quantity: line.quantity,
            unit_price_minor: line.unit_price_minor,
            amount_minor: amounts[index],
            discount_minor: discounts[index],
            net_minor: nets[index],
            taxable: line.taxable,
            tax_minor: sum(by_rate.iter().copied())?,
            tax_by_rate_minor: by_rate,
        });
    }
    let mut fees = Vec::with_capacity(input.fees.len());
    for (fee, amount) in input.fees.iter().zip(&fee_amounts) {
        let by_rate = item_taxes.next().unwrap_or_default();
        fees.push(PricedFee {
            name: fee.name.clone(),
            kind: fee.kind,
            amount_minor: *amount,
            taxable: fee.taxable,
            tax_minor: sum(by_rate.iter().copied())?,
            tax_by_rate_minor: by_rate,
        });
    }

    // 5. Totals and the credit.
    let lines_minor = sum(amounts.iter().copied())?;
    let discount_minor = sum(discounts.iter().copied())?;
    let fees_minor = sum(fee_amounts.iter().copied())?;
    let tax_minor = sum(taxes.iter().map(|t| t.amount_minor))?;
    let priced = add(sub(lines_minor, discount_minor)?, fees_minor)?;
    // With inclusive prices the tax is already inside `priced`; the caps in
    // `tax_layer` keep it from exceeding it, so the subtotal is never negative.
    let (subtotal_minor, gross) = if input.prices_include_tax {
        (sub(priced, tax_minor)?, priced)
    } else {
        (priced, add(priced, tax_minor)?)
    };
    let credit_minor = input.credit_minor.min(gross);
    Ok(PricedInvoice {
        lines,
        fees,
        taxes,
        lines_minor,
        discount_minor,
        invoice_discount_minor: invoice_discount,
        fees_minor,
        subtotal_minor,
        tax_minor,
        credit_minor,
        excess_credit_minor: sub(input.credit_minor, credit_minor)?,
        total_minor: sub(gross, credit_minor)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn line(description: &str, quantity: i32, unit: i64, taxable: bool) -> LineInput {
        LineInput {
            description: description.into(),
            quantity,
            unit_price_minor: unit,
            taxable,
            discount: None,
        }
    }

    fn discounted(mut line: LineInput, discount: Adjustment) -> LineInput {
        line.discount = Some(discount);
        line
    }

    fn rate(name: &str, percent: Decimal) -> TaxRateInput {
        TaxRateInput {
            name: name.into(),
            percent,
            compound: false,
        }
    }

    fn compound(name: &str, percent: Decimal) -> TaxRateInput {
        TaxRateInput {
            compound: true,
            ..rate(name, percent)
        }
    }

    fn fee(name: &str, kind: FeeKind, charge: Adjustment, taxable: bool) -> FeeInput {
        FeeInput {
            name: name.into(),
            kind,
            charge,
            taxable,
        }
    }

    fn invoice(lines: Vec<LineInput>, tax_rates: Vec<TaxRateInput>) -> PricingInput {
        PricingInput {
            lines,
            tax_rates,
            ..Default::default()
        }
    }

    /// Prices and checks every documented invariant before handing back.
    fn priced(input: &PricingInput) -> PricedInvoice {
        let priced = price(input).unwrap();
        assert_invariants(input, &priced);
        priced
    }

    fn exact(amount: i64, percent: Decimal, divisor: Decimal) -> Decimal {
        Decimal::from(amount) * percent / divisor
    }

    fn discount_of(adjustment: &Adjustment, base: i64) -> i64 {
        match adjustment {
            Adjustment::Fixed(f) => (*f).min(base),
            Adjustment::Percent(p) => round_minor(exact(base, *p, dec!(100))).unwrap().min(base),
        }
    }

    /// The module documentation's invariants, recomputed independently.
    fn assert_invariants(input: &PricingInput, p: &PricedInvoice) {
        let inclusive = input.prices_include_tax;
        let half = dec!(0.5);

        // Totals.
        assert_eq!(
            p.subtotal_minor + p.tax_minor - p.credit_minor,
            p.total_minor
        );
        if inclusive {
            let lhs = p.lines_minor - p.discount_minor + p.fees_minor - p.credit_minor;
            assert_eq!(lhs, p.total_minor);
        } else {
            let lhs = p.lines_minor - p.discount_minor + p.fees_minor + p.tax_minor;
            assert_eq!(lhs - p.credit_minor, p.total_minor);
            assert_eq!(
                p.subtotal_minor,
                p.lines_minor - p.discount_minor + p.fees_minor
            );
        }
        assert!(p.total_minor >= 0 && p.subtotal_minor >= 0 && p.tax_minor >= 0);
        let gross = p.subtotal_minor + p.tax_minor;
        assert_eq!(p.credit_minor, input.credit_minor.min(gross));

        // Lines and discounts: the invoice discount's shares sum exactly and
        // each is the floor or the ceiling of its exact proportional share.
        assert_eq!(p.lines.len(), input.lines.len());
        let mut afters = Vec::new();
        let mut shares = Vec::new();
        for (l, i) in p.lines.iter().zip(&input.lines) {
            assert_eq!(l.amount_minor, i.unit_price_minor * i64::from(i.quantity));
            let own = i
                .discount
                .as_ref()
                .map_or(0, |d| discount_of(d, l.amount_minor));
            let after = l.amount_minor - own;
            let share = l.discount_minor - own;
            assert!((0..=after).contains(&share), "share {share} of {after}");
            assert_eq!(l.net_minor, l.amount_minor - l.discount_minor);
            afters.push(after);
            shares.push(share);
        }
        let sum = |v: &[i64]| v.iter().sum::<i64>();
        let amounts: Vec<i64> = p.lines.iter().map(|l| l.amount_minor).collect();
        let discounts: Vec<i64> = p.lines.iter().map(|l| l.discount_minor).collect();
        assert_eq!(sum(&amounts), p.lines_minor);
        assert_eq!(sum(&discounts), p.discount_minor);
        assert_eq!(sum(&shares), p.invoice_discount_minor);
        let whole = sum(&afters);
        let expected = input.discount.as_ref().map_or(0, |d| discount_of(d, whole));
        assert_eq!(p.invoice_discount_minor, expected);
        for (s, w) in shares.iter().zip(&afters).filter(|_| whole > 0) {
            let scaled = i128::from(p.invoice_discount_minor) * i128::from(*w);
            assert!((i128::from(*s) * i128::from(whole) - scaled).abs() < i128::from(whole));
        }

        // Fees.
        let line_total: i64 = p.lines.iter().map(|l| l.net_minor).sum();
        assert_eq!(p.fees.len(), input.fees.len());
        for (f, i) in p.fees.iter().zip(&input.fees) {
            let expected = match i.charge {
                Adjustment::Fixed(m) => m,
                Adjustment::Percent(q) => round_minor(exact(line_total, q, dec!(100))).unwrap(),
            };
            assert_eq!(f.amount_minor, expected);
        }
        assert_eq!(
            p.fees.iter().map(|f| f.amount_minor).sum::<i64>(),
            p.fees_minor
        );

        // Taxes: per item, per rate, in total.
        let items: Vec<(i64, bool, &Vec<i64>, i64)> = p
            .lines
            .iter()
            .map(|l| (l.net_minor, l.taxable, &l.tax_by_rate_minor, l.tax_minor))
            .chain(
                p.fees
                    .iter()
                    .map(|f| (f.amount_minor, f.taxable, &f.tax_by_rate_minor, f.tax_minor)),
            )
            .collect();
        let rates = &input.tax_rates;
        for (amount, taxable, by_rate, tax) in &items {
            assert_eq!(by_rate.len(), rates.len());
            assert_eq!(*tax, sum(by_rate));
            if !taxable {
                assert!(by_rate.iter().all(|t| *t == 0));
            }
            if inclusive {
                assert!(tax <= amount, "tax {tax} inside {amount}");
            }
        }
        assert_eq!(p.taxes.len(), rates.len());
        for (r, (t, i)) in p.taxes.iter().zip(rates).enumerate() {
            assert_eq!(
                (&t.name, t.percent, t.compound),
                (&i.name, i.percent, i.compound)
            );
            assert_eq!(t.amount_minor, items.iter().map(|x| x.2[r]).sum::<i64>());
        }
        assert_eq!(
            p.taxes.iter().map(|t| t.amount_minor).sum::<i64>(),
            p.tax_minor
        );
        assert_eq!(items.iter().map(|x| x.3).sum::<i64>(), p.tax_minor);

        // Exact values: per item (net-of-tax `inner`, plus non-compound
        // taxes `outer`) and per rate, following the documented formulas.
        let simple: Decimal = rates
            .iter()
            .filter(|r| !r.compound)
            .map(|r| r.percent)
            .sum();
        let compound: Decimal = rates.iter().filter(|r| r.compound).map(|r| r.percent).sum();
        let layer = |by_rate: &[i64], c: bool| -> i64 {
            rates
                .iter()
                .zip(by_rate)
                .filter(|(r, _)| r.compound == c)
                .map(|(_, t)| *t)
                .sum()
        };
        let mut exact_sums = vec![Decimal::ZERO; rates.len()];
        let (mut inner_sum, mut outer_sum) = (0_i64, 0_i64);
        for (amount, _, by_rate, _) in items.iter().filter(|x| x.1) {
            let (inner, outer) = if inclusive {
                let outer = amount - layer(by_rate, true);
                (outer - layer(by_rate, false), outer)
            } else {
                (*amount, amount + layer(by_rate, false))
            };
            inner_sum += inner;
            outer_sum += outer;
            for (r, rate) in rates.iter().enumerate() {
                let e = match (inclusive, rate.compound) {
                    (false, false) => exact(inner, rate.percent, dec!(100)),
                    (false, true) => exact(outer, rate.percent, dec!(100)),
                    (true, true) => exact(*amount, rate.percent, dec!(100) + compound),
                    (true, false) => exact(outer, rate.percent, dec!(100) + simple),
                };
                exact_sums[r] += e;
                let off = (Decimal::from(by_rate[r]) - e).abs();
                let sane = simple <= dec!(100) && compound <= dec!(100);
                match input.rounding {
                    RoundingMode::PerLine if sane => assert!(off <= half, "{off} off {e}"),
                    // Without caps an allocated share is the floor or the
                    // ceiling of the exact amount.
                    RoundingMode::PerInvoice if !inclusive => assert!(off < Decimal::ONE),
                    _ => {}
                }
            }
        }
        for (t, e) in p.taxes.iter().zip(&exact_sums) {
            let base = if t.compound { outer_sum } else { inner_sum };
            assert_eq!(t.base_minor, base);
            let sane = simple <= dec!(100) && compound <= dec!(100);
            if input.rounding == RoundingMode::PerInvoice && sane {
                let off = (Decimal::from(t.amount_minor) - e).abs();
                assert!(off <= half, "rate total {} off {e}", t.amount_minor);
            }
        }
    }

    #[test]
    fn wedding_with_add_ons_tax_and_retainer() {
        // Checked by hand: 2500.00 + 3 x 150.00 = 2950.00 taxable at 8.875%
        // -> 261.8125 -> 261.81 on the package line? No: per line.
        // package 2500.00 * 8.875% = 221.875 -> 221.88
        // hours    450.00 * 8.875% =  39.9375 -> 39.94
        // prints    80.00 non-taxable
        // subtotal 3030.00, tax 261.82, retainer 500.00, total 2791.82
        let priced = price(&PricingInput {
            lines: vec![
                line("Wedding package", 1, 250_000, true),
                line("Extra hour", 3, 15_000, true),
                line("Album prints", 1, 8_000, false),
            ],
            tax_rates: vec![rate("NY sales tax", dec!(8.875))],
            prices_include_tax: false,
            credit_minor: 50_000,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(priced.lines[0].tax_minor, 22_188);
        assert_eq!(priced.lines[1].tax_minor, 3_994);
        assert_eq!(priced.lines[2].tax_minor, 0);
        assert_eq!(priced.subtotal_minor, 303_000);
        assert_eq!(priced.tax_minor, 26_182);
        assert_eq!(priced.credit_minor, 50_000);
        assert_eq!(priced.total_minor, 279_182);
    }

    #[test]
    fn canadian_gst_and_qst_are_separate_lines() {
        // 1000.00 at GST 5% = 50.00 and QST 9.975% = 99.75 -> 1149.75
        let priced = price(&PricingInput {
            lines: vec![line("Portrait session", 1, 100_000, true)],
            tax_rates: vec![rate("GST", dec!(5)), rate("QST", dec!(9.975))],
            prices_include_tax: false,
            credit_minor: 0,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(priced.taxes[0].amount_minor, 5_000);
        assert_eq!(priced.taxes[1].amount_minor, 9_975);
        assert_eq!(priced.total_minor, 114_975);
    }

    #[test]
    fn tax_inclusive_vat() {
        // 120.00 incl. 20% VAT -> tax 20.00, net 100.00
        let priced = price(&PricingInput {
            lines: vec![line("Headshots", 1, 12_000, true)],
            tax_rates: vec![rate("VAT", dec!(20))],
            prices_include_tax: true,
            credit_minor: 0,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(priced.tax_minor, 2_000);
        assert_eq!(priced.subtotal_minor, 10_000);
        assert_eq!(priced.total_minor, 12_000);
    }

    #[test]
    fn half_rounds_away_from_zero() {
        assert_eq!(round_minor(dec!(2.5)).unwrap(), 3);
        assert_eq!(round_minor(dec!(-2.5)).unwrap(), -3);
        assert_eq!(round_minor(dec!(2.4999)).unwrap(), 2);
    }

    #[test]
    fn credit_never_makes_total_negative() {
        let priced = price(&PricingInput {
            lines: vec![line("Mini session", 1, 10_000, false)],
            tax_rates: vec![],
            prices_include_tax: false,
            credit_minor: 50_000,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(priced.credit_minor, 10_000);
        assert_eq!(priced.total_minor, 0);
        // Nothing of the credit is lost: what the invoice cannot use is its excess.
        assert_eq!(priced.excess_credit_minor, 40_000);
    }

    #[test]
    fn bad_input_is_rejected() {
        let base = PricingInput {
            lines: vec![line("x", 1, 100, true)],
            tax_rates: vec![],
            prices_include_tax: false,
            credit_minor: 0,
            ..Default::default()
        };
        let mut negative = base.clone();
        negative.lines[0].unit_price_minor = -1;
        assert_eq!(price(&negative), Err(PricingError::NegativePrice(0)));
        let mut zero_qty = base.clone();
        zero_qty.lines[0].quantity = 0;
        assert_eq!(price(&zero_qty), Err(PricingError::BadQuantity(0)));
        let mut bad_rate = base;
        bad_rate.tax_rates.push(rate("silly", dec!(101)));
        assert!(matches!(price(&bad_rate), Err(PricingError::BadTaxRate(_))));
    }

    #[test]
    fn gst_and_qst_non_compound_table() {
        // 1000.00, both rates on the same base:
        // GST   100000 * 5%     =  5000     -> 50.00
        // QST   100000 * 9.975% =  9975     -> 99.75
        // total 1000.00 + 149.75 = 1149.75
        let p = priced(&invoice(
            vec![line("Portrait session", 1, 100_000, true)],
            vec![rate("GST", dec!(5)), rate("QST", dec!(9.975))],
        ));
        assert_eq!(
            (p.taxes[0].base_minor, p.taxes[0].amount_minor),
            (100_000, 5_000)
        );
        assert_eq!(
            (p.taxes[1].base_minor, p.taxes[1].amount_minor),
            (100_000, 9_975)
        );
        assert_eq!(p.lines[0].tax_by_rate_minor, vec![5_000, 9_975]);
        assert_eq!((p.subtotal_minor, p.tax_minor), (100_000, 14_975));
        assert_eq!(p.total_minor, 114_975);
    }

    #[test]
    fn compound_rate_applies_to_amount_plus_other_taxes() {
        // 100.00 exclusive, GST 5% then a 9.5% compound rate:
        // GST   10000 * 5%               = 500            -> 5.00
        // base  10000 + 500              = 10500 (105.00)
        // QST   10500 * 9.5% = 997.5     half away        -> 9.98
        // total 100.00 + 5.00 + 9.98     = 114.98
        for rounding in [RoundingMode::PerLine, RoundingMode::PerInvoice] {
            let p = priced(&PricingInput {
                rounding,
                ..invoice(
                    vec![line("Session", 1, 10_000, true)],
                    vec![rate("GST", dec!(5)), compound("QST", dec!(9.5))],
                )
            });
            assert_eq!(
                (p.taxes[0].base_minor, p.taxes[0].amount_minor),
                (10_000, 500)
            );
            assert_eq!(
                (p.taxes[1].base_minor, p.taxes[1].amount_minor),
                (10_500, 998)
            );
            assert!(p.taxes[1].compound);
            assert_eq!((p.tax_minor, p.total_minor), (1_498, 11_498));
        }
    }

    #[test]
    fn compound_rate_with_inclusive_prices() {
        // 115.50 including GST 5% and a 10% compound rate:
        // compound 11550 * 10 / (100 + 10) = 1050 -> 10.50, leaves 105.00
        // GST      10500 *  5 / (100 + 5)  =  500 ->  5.00, leaves 100.00 net
        let p = priced(&PricingInput {
            prices_include_tax: true,
            ..invoice(
                vec![line("Session", 1, 11_550, true)],
                vec![rate("GST", dec!(5)), compound("PST", dec!(10))],
            )
        });
        assert_eq!(
            (p.taxes[0].base_minor, p.taxes[0].amount_minor),
            (10_000, 500)
        );
        assert_eq!(
            (p.taxes[1].base_minor, p.taxes[1].amount_minor),
            (10_500, 1_050)
        );
        assert_eq!(
            (p.subtotal_minor, p.tax_minor, p.total_minor),
            (10_000, 1_550, 11_550)
        );
    }

    #[test]
    fn yen_have_no_minor_unit() {
        // JPY exponent 0: amounts are yen.
        // 3 x 12,345 = 37,035; 10% = 3,703.5 -> 3,704 (half away from zero)
        // total 37,035 + 3,704 = 40,739; deposit 10,000 -> 30,739 due
        let p = priced(&PricingInput {
            credit_minor: 10_000,
            ..invoice(
                vec![line("Family portraits", 3, 12_345, true)],
                vec![rate("Consumption tax", dec!(10))],
            )
        });
        assert_eq!(p.lines[0].amount_minor, 37_035);
        assert_eq!(p.tax_minor, 3_704);
        assert_eq!(p.credit_minor, 10_000);
        assert_eq!(p.total_minor, 30_739);
    }

    #[test]
    fn inclusive_vat_with_a_line_discount() {
        // Prices include 20% VAT; the discount comes off the inclusive price.
        // A: 2 x 60.00 = 120.00, 10% off = 12.00 -> 108.00
        //    VAT 10800 * 20 / 120 = 1800 -> 18.00, net 90.00
        // B: 50.00, VAT 5000 * 20 / 120 = 833.33 -> 8.33, net 41.67
        // lines 170.00 - discount 12.00 = total 158.00
        // tax 26.33, subtotal 158.00 - 26.33 = 131.67
        let p = priced(&PricingInput {
            prices_include_tax: true,
            ..invoice(
                vec![
                    discounted(
                        line("Prints", 2, 6_000, true),
                        Adjustment::Percent(dec!(10)),
                    ),
                    line("Retouching", 1, 5_000, true),
                ],
                vec![rate("VAT", dec!(20))],
            )
        });
        assert_eq!(
            (p.lines[0].discount_minor, p.lines[0].net_minor),
            (1_200, 10_800)
        );
        assert_eq!((p.lines[0].tax_minor, p.lines[1].tax_minor), (1_800, 833));
        assert_eq!((p.lines_minor, p.discount_minor), (17_000, 1_200));
        assert_eq!((p.subtotal_minor, p.tax_minor), (13_167, 2_633));
        assert_eq!(p.taxes[0].base_minor, 13_167);
        assert_eq!(p.total_minor, 15_800);
    }

    #[test]
    fn three_decimal_currency_rounds_to_the_fils() {
        // KWD exponent 3: 1.250 KWD = 1250 fils, 5% tax.
        // Print   1 x 1250 = 1250 * 5% =  62.5 -> 63 fils
        // Frames  2 x 1250 = 2500 * 5% = 125   -> 125 fils
        // Delivery fee 0.500 KWD, not taxable
        // subtotal 3.750 + 0.500 = 4.250, tax 0.188, total 4.438 KWD
        let p = priced(&PricingInput {
            fees: vec![fee(
                "Delivery",
                FeeKind::Travel,
                Adjustment::Fixed(500),
                false,
            )],
            ..invoice(
                vec![line("Print", 1, 1_250, true), line("Frame", 2, 1_250, true)],
                vec![rate("VAT", dec!(5))],
            )
        });
        assert_eq!((p.lines[0].tax_minor, p.lines[1].tax_minor), (63, 125));
        assert_eq!((p.subtotal_minor, p.tax_minor), (4_250, 188));
        assert_eq!(p.total_minor, 4_438);
    }

    #[test]
    fn per_invoice_rounding_differs_from_per_line() {
        // Three lines of 0.05 at 10%: each exact 0.5 minor unit.
        // per line:    round(0.5) = 1 each -> 3 (0.03)
        // per invoice: round(0.5 * 3 = 1.5) = 2 (0.02), allocated back by
        //              largest remainder: floors 0,0,0, equal fractions, so
        //              the two units go to the first two lines -> 1,1,0
        let lines = vec![
            line("a", 1, 5, true),
            line("b", 1, 5, true),
            line("c", 1, 5, true),
        ];
        let per_line = priced(&invoice(lines.clone(), vec![rate("T", dec!(10))]));
        let taxes: Vec<i64> = per_line.lines.iter().map(|l| l.tax_minor).collect();
        assert_eq!(taxes, vec![1, 1, 1]);
        assert_eq!((per_line.tax_minor, per_line.total_minor), (3, 18));

        let per_invoice = priced(&PricingInput {
            rounding: RoundingMode::PerInvoice,
            ..invoice(lines, vec![rate("T", dec!(10))])
        });
        let taxes: Vec<i64> = per_invoice.lines.iter().map(|l| l.tax_minor).collect();
        assert_eq!(taxes, vec![1, 1, 0]);
        assert_eq!(taxes.iter().sum::<i64>(), per_invoice.tax_minor);
        assert_eq!((per_invoice.tax_minor, per_invoice.total_minor), (2, 17));
    }

    #[test]
    fn invoice_discount_is_allocated_by_largest_remainder() {
        // Lines 50.00, 30.00, 20.00 (total 100.00), invoice discount 0.07:
        // exact shares 7*5000/10000 = 3.5, 7*3000/10000 = 2.1, 7*2000/10000 = 1.4
        // floors 3 + 2 + 1 = 6; the last unit goes to the largest remainder
        // (0.5, line 1) -> 4, 2, 1 = 7. Nets 49.96, 29.98, 19.99.
        // Tax 10% on the nets: 499.6 -> 500, 299.8 -> 300, 199.9 -> 200
        let p = priced(&PricingInput {
            discount: Some(Adjustment::Fixed(7)),
            ..invoice(
                vec![
                    line("a", 1, 5_000, true),
                    line("b", 1, 3_000, true),
                    line("c", 1, 2_000, true),
                ],
                vec![rate("T", dec!(10))],
            )
        });
        let shares: Vec<i64> = p.lines.iter().map(|l| l.discount_minor).collect();
        assert_eq!(shares, vec![4, 2, 1]);
        assert_eq!((p.discount_minor, p.invoice_discount_minor), (7, 7));
        let taxes: Vec<i64> = p.lines.iter().map(|l| l.tax_minor).collect();
        assert_eq!(taxes, vec![500, 300, 200]);
        assert_eq!(
            (p.subtotal_minor, p.tax_minor, p.total_minor),
            (9_993, 1_000, 10_993)
        );
    }

    #[test]
    fn invoice_discount_follows_the_discounted_amounts() {
        // A 100.00 with 50% off -> 50.00; B 50.00. Invoice 10% of 100.00 =
        // 10.00, shared 50:50 on the discounted amounts (not 100:50): 5.00 each.
        let p = priced(&PricingInput {
            discount: Some(Adjustment::Percent(dec!(10))),
            ..invoice(
                vec![
                    discounted(line("a", 1, 10_000, false), Adjustment::Percent(dec!(50))),
                    line("b", 1, 5_000, false),
                ],
                vec![],
            )
        });
        assert_eq!(
            (p.lines[0].discount_minor, p.lines[1].discount_minor),
            (5_500, 500)
        );
        assert_eq!((p.discount_minor, p.invoice_discount_minor), (6_000, 1_000));
        assert_eq!(p.total_minor, 9_000);
    }

    #[test]
    fn fixed_and_percentage_fees() {
        // Line 200.00 at 10%, invoice discount 10% = 20.00 -> 180.00
        // travel fixed 25.00 taxable   -> tax 2.50
        // rush 10% of 180.00 = 18.00, taxable -> tax 1.80
        // card surcharge 3% of 180.00 = 5.40, not taxable
        // tax 18.00 + 2.50 + 1.80 = 22.30 on a base of 223.00
        // subtotal 200.00 - 20.00 + 48.40 = 228.40, total 250.70
        let p = priced(&PricingInput {
            discount: Some(Adjustment::Percent(dec!(10))),
            fees: vec![
                fee("Travel", FeeKind::Travel, Adjustment::Fixed(2_500), true),
                fee("Rush", FeeKind::Rush, Adjustment::Percent(dec!(10)), true),
                fee(
                    "Card",
                    FeeKind::CardSurcharge,
                    Adjustment::Percent(dec!(3)),
                    false,
                ),
            ],
            ..invoice(
                vec![line("Event", 1, 20_000, true)],
                vec![rate("T", dec!(10))],
            )
        });
        let fees: Vec<(i64, i64)> = p
            .fees
            .iter()
            .map(|f| (f.amount_minor, f.tax_minor))
            .collect();
        assert_eq!(fees, vec![(2_500, 250), (1_800, 180), (540, 0)]);
        assert_eq!(p.fees[2].kind, FeeKind::CardSurcharge);
        assert_eq!(p.lines[0].tax_minor, 1_800);
        assert_eq!((p.taxes[0].base_minor, p.tax_minor), (22_300, 2_230));
        assert_eq!((p.discount_minor, p.fees_minor), (2_000, 4_840));
        assert_eq!((p.subtotal_minor, p.total_minor), (22_840, 25_070));
    }

    #[test]
    fn discounts_larger_than_their_base_are_clamped() {
        // A 30.00 with 50.00 off -> 30.00 off, net 0, no tax.
        // Invoice discount 100.00 on what is left (B 20.00) -> 20.00.
        let p = priced(&PricingInput {
            discount: Some(Adjustment::Fixed(10_000)),
            ..invoice(
                vec![
                    discounted(line("a", 1, 3_000, true), Adjustment::Fixed(5_000)),
                    line("b", 1, 2_000, true),
                ],
                vec![rate("T", dec!(10))],
            )
        });
        assert_eq!(
            (p.lines[0].discount_minor, p.lines[0].net_minor),
            (3_000, 0)
        );
        assert_eq!(
            (p.lines[1].discount_minor, p.lines[1].net_minor),
            (2_000, 0)
        );
        assert_eq!((p.discount_minor, p.invoice_discount_minor), (5_000, 2_000));
        assert_eq!((p.tax_minor, p.subtotal_minor, p.total_minor), (0, 0, 0));
    }

    #[test]
    fn inclusive_taxes_never_exceed_the_price() {
        // 0.02 including three 100% rates: each exact 2 * 100 / 400 = 0.5,
        // which rounds to 1, but 1 + 1 + 1 > 2: the third is capped at 0 so
        // the net stays at 0 instead of -1. (Needs rates summing past 100%.)
        let mut absurd = invoice(
            vec![line("x", 1, 2, true)],
            vec![
                rate("a", dec!(100)),
                rate("b", dec!(100)),
                rate("c", dec!(100)),
            ],
        );
        absurd.prices_include_tax = true;
        let p = priced(&absurd);
        assert_eq!(p.lines[0].tax_by_rate_minor, vec![1, 1, 0]);
        assert_eq!((p.subtotal_minor, p.tax_minor, p.total_minor), (0, 2, 2));

        // Per invoice, realistic rates: ten lines of 0.01 including 12.5% +
        // 12.5%; each exact 1 * 12.5 / 125 = 0.1 per rate, each rate's total
        // 1.0 -> 1. Rate a goes to line 1 (ties to the earlier line); line 1
        // has no room left for rate b, so that unit goes to line 2.
        let p = priced(&PricingInput {
            prices_include_tax: true,
            rounding: RoundingMode::PerInvoice,
            ..invoice(
                vec![line("x", 1, 1, true); 10],
                vec![rate("a", dec!(12.5)), rate("b", dec!(12.5))],
            )
        });
        assert_eq!(p.lines[0].tax_by_rate_minor, vec![1, 0]);
        assert_eq!(p.lines[1].tax_by_rate_minor, vec![0, 1]);
        assert_eq!((p.subtotal_minor, p.tax_minor, p.total_minor), (8, 2, 10));
    }

    #[test]
    fn bad_discounts_and_fees_are_rejected() {
        let base = invoice(vec![line("x", 1, 100, true)], vec![]);
        let mut over = base.clone();
        over.lines[0].discount = Some(Adjustment::Percent(dec!(100.01)));
        assert_eq!(price(&over), Err(PricingError::BadLineDiscount(0)));
        let mut negative = base.clone();
        negative.discount = Some(Adjustment::Fixed(-1));
        assert_eq!(price(&negative), Err(PricingError::BadInvoiceDiscount));
        let mut fee_input = base;
        fee_input.fees = vec![
            fee("ok", FeeKind::Other, Adjustment::Fixed(1), true),
            fee("bad", FeeKind::Other, Adjustment::Percent(dec!(-1)), true),
        ];
        assert_eq!(price(&fee_input), Err(PricingError::BadFee(1)));
    }

    #[test]
    fn overflow_is_reported_not_a_panic() {
        let huge = invoice(vec![line("x", 2, i64::MAX, true)], vec![]);
        assert_eq!(price(&huge), Err(PricingError::Overflow));
        // Fits, but the tax on top does not.
        let taxed = invoice(
            vec![line("x", 1, i64::MAX, true)],
            vec![rate("T", dec!(50))],
        );
        assert_eq!(price(&taxed), Err(PricingError::Overflow));
        let mut fee_input = invoice(vec![line("x", 1, i64::MAX, true)], vec![]);
        fee_input.fees = vec![fee(
            "f",
            FeeKind::Rush,
            Adjustment::Percent(Decimal::MAX),
            false,
        )];
        assert_eq!(price(&fee_input), Err(PricingError::Overflow));
    }

    #[test]
    fn defaults_keep_old_call_sites_meaning() {
        let input = PricingInput {
            lines: vec![LineInput {
                description: "x".into(),
                unit_price_minor: 1_000,
                ..Default::default()
            }],
            tax_rates: vec![TaxRateInput {
                name: "T".into(),
                percent: dec!(10),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(input.rounding, RoundingMode::PerLine);
        assert!(!input.tax_rates[0].compound);
        let p = priced(&input);
        assert_eq!((p.lines[0].quantity, p.lines[0].taxable), (1, true));
        assert_eq!(
            (p.discount_minor, p.fees_minor, p.total_minor),
            (0, 0, 1_100)
        );
    }

    fn adjustment(max_fixed: i64, max_hundredths: i64) -> impl Strategy<Value = Adjustment> {
        prop_oneof![
            (0..=max_fixed).prop_map(Adjustment::Fixed),
            (0..=max_hundredths).prop_map(|p| Adjustment::Percent(Decimal::new(p, 2))),
        ]
    }

    fn rounding() -> impl Strategy<Value = RoundingMode> {
        prop_oneof![Just(RoundingMode::PerLine), Just(RoundingMode::PerInvoice)]
    }

    fn fee_kind() -> impl Strategy<Value = FeeKind> {
        prop_oneof![
            Just(FeeKind::Travel),
            Just(FeeKind::Rush),
            Just(FeeKind::CardSurcharge),
            Just(FeeKind::Other),
        ]
    }

    /// Random invoices; `max_rate` is in thousandths of a percent.
    fn invoices(max_rate: i64, max_unit: i64) -> impl Strategy<Value = PricingInput> {
        let unit = prop_oneof![0i64..200, 0i64..=max_unit];
        let lines = prop::collection::vec(
            (
                1i32..20,
                unit,
                any::<bool>(),
                prop::option::of(adjustment(6_000_000, 10_000)),
            ),
            0..8,
        );
        let rates = prop::collection::vec((0i64..=max_rate, any::<bool>()), 0..5);
        let fees = prop::collection::vec(
            (fee_kind(), adjustment(1_000_000, 5_000), any::<bool>()),
            0..4,
        );
        let discount = prop::option::of(adjustment(10_000_000, 10_000));
        let flags = (0i64..20_000_000, any::<bool>(), rounding());
        (lines, rates, fees, discount, flags).prop_map(
            |(lines, rates, fees, discount, (credit, inclusive, rounding))| PricingInput {
                lines: lines
                    .into_iter()
                    .map(|(q, u, t, d)| LineInput {
                        discount: d,
                        ..line("l", q, u, t)
                    })
                    .collect(),
                tax_rates: rates
                    .into_iter()
                    .map(|(p, c)| TaxRateInput {
                        compound: c,
                        ..rate("r", Decimal::new(p, 3))
                    })
                    .collect(),
                prices_include_tax: inclusive,
                credit_minor: credit,
                discount,
                fees: fees
                    .into_iter()
                    .map(|(k, a, t)| fee("f", k, a, t))
                    .collect(),
                rounding,
            },
        )
    }

    proptest! {
        #[test]
        fn totals_always_reconcile(
            lines in prop::collection::vec((1i32..20, 0i64..5_000_000, any::<bool>()), 0..8),
            percents in prop::collection::vec(0u32..=25_000u32, 0..3),
            credit in 0i64..10_000_000,
            inclusive in any::<bool>(),
        ) {
            let input = PricingInput {
                lines: lines.iter().map(|(q, p, t)| line("l", *q, *p, *t)).collect(),
                tax_rates: percents.iter().map(|p| rate("r", Decimal::new(i64::from(*p), 3))).collect(),
                prices_include_tax: inclusive,
                credit_minor: credit,
                ..Default::default()
            };
            let priced = price(&input).unwrap();
            let line_sum: i64 = priced.lines.iter().map(|l| l.amount_minor).sum();
            let line_tax: i64 = priced.lines.iter().map(|l| l.tax_minor).sum();
            let rate_tax: i64 = priced.taxes.iter().map(|t| t.amount_minor).sum();
            prop_assert_eq!(line_tax, priced.tax_minor);
            prop_assert_eq!(rate_tax, priced.tax_minor);
            prop_assert_eq!(priced.subtotal_minor + priced.tax_minor - priced.credit_minor, priced.total_minor);
            if inclusive {
                prop_assert_eq!(line_sum, priced.subtotal_minor + priced.tax_minor);
            } else {
                prop_assert_eq!(line_sum, priced.subtotal_minor);
            }
            prop_assert!(priced.total_minor >= 0);
            prop_assert!(priced.credit_minor <= credit);
            prop_assert_eq!(priced.credit_minor + priced.excess_credit_minor, credit);
            // Each rounded tax is within half a minor unit of the exact value.
            for (l, input_line) in priced.lines.iter().zip(input.lines.iter()) {
                if !input_line.taxable { prop_assert_eq!(l.tax_minor, 0); continue; }
                let rate_sum: Decimal = input.tax_rates.iter().map(|r| r.percent).sum();
                let denom = if inclusive { Decimal::ONE_HUNDRED + rate_sum } else { Decimal::ONE_HUNDRED };
                let exact: Decimal = input.tax_rates.iter()
                    .map(|r| Decimal::from(l.amount_minor) * r.percent / denom).sum();
                let bound = Decimal::new(5, 1) * Decimal::from(input.tax_rates.len().max(1) as i64);
                prop_assert!((Decimal::from(l.tax_minor) - exact).abs() <= bound);
            }
        }

        /// Realistic rates (each layer at most 100 %): every invariant,
        /// including the half-unit bounds, holds exactly.
        #[test]
        fn invariants_hold_exactly(input in invoices(25_000, 5_000_000)) {
            assert_invariants(&input, &price(&input).unwrap());
        }

        /// Absurd rates (layers above 100 %) must still reconcile and never
        /// produce a negative amount, even where a tax has to be capped.
        #[test]
        fn absurd_rates_still_reconcile(input in invoices(100_000, 50_000)) {
            assert_invariants(&input, &price(&input).unwrap());
        }

        /// Huge amounts either price (and reconcile) or report overflow;
        /// they never panic.
        #[test]
        fn huge_amounts_overflow_cleanly(input in invoices(100_000, i64::MAX / 2)) {
            match price(&input) {
                Ok(p) => assert_invariants(&input, &p),
                Err(e) => prop_assert_eq!(e, PricingError::Overflow),
            }
        }
    }
}
