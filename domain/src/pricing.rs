//! The pricing engine: pure, no I/O.
//!
//! # Rounding policy (the only one in the system)
//!
//! Tax is computed **per line and per rate** on the line's amount in minor
//! units and rounded **half away from zero** to a whole minor unit. Totals are
//! sums of already-rounded amounts, so the API, the email, the portal and the
//! charge all show the same minor units. With tax-inclusive prices the tax of
//! a line is the rounded `amount * rate / (100 + sum of rates)` and the net is
//! the remainder.
//!
//! Invariant: `subtotal + tax - credit == total`, `total >= 0`.

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
    #[error("amounts are too large")]
    Overflow,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInput {
    pub description: String,
    pub quantity: i32,
    pub unit_price_minor: i64,
    pub taxable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxRateInput {
    pub name: String,
    pub percent: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricingInput {
    pub lines: Vec<LineInput>,
    pub tax_rates: Vec<TaxRateInput>,
    pub prices_include_tax: bool,
    /// Retainer or deposit already paid, credited against the total.
    pub credit_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    pub description: String,
    pub quantity: i32,
    pub unit_price_minor: i64,
    /// `quantity * unit_price`, as printed on the invoice (gross when prices include tax).
    pub amount_minor: i64,
    pub taxable: bool,
    pub tax_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxLine {
    pub name: String,
    pub percent: Decimal,
    pub amount_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedInvoice {
    pub lines: Vec<PricedLine>,
    /// Net of tax.
    pub subtotal_minor: i64,
    pub taxes: Vec<TaxLine>,
    pub tax_minor: i64,
    /// The part of the credit actually applied (never more than the gross).
    pub credit_minor: i64,
    pub total_minor: i64,
}

/// Rounds a decimal number of minor units half away from zero.
pub fn round_minor(value: Decimal) -> Result<i64, PricingError> {
    let rounded = value.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    i64::try_from(rounded).map_err(|_| PricingError::Overflow)
}

pub fn price(input: &PricingInput) -> Result<PricedInvoice, PricingError> {
    for rate in &input.tax_rates {
        if rate.percent.is_sign_negative() || rate.percent > Decimal::ONE_HUNDRED {
            return Err(PricingError::BadTaxRate(rate.name.clone()));
        }
    }
    if input.credit_minor < 0 {
        return Err(PricingError::NegativeCredit);
    }
    let rate_sum: Decimal = input.tax_rates.iter().map(|r| r.percent).sum();
    let mut taxes: Vec<TaxLine> = input
        .tax_rates
        .iter()
        .map(|r| TaxLine {
            name: r.name.clone(),
            percent: r.percent,
            amount_minor: 0,
        })
        .collect();

    let mut lines = Vec::with_capacity(input.lines.len());
    let mut gross_sum: i64 = 0;
    let mut tax_sum: i64 = 0;
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
        let mut line_tax: i64 = 0;
        if line.taxable {
            for (rate, tax) in input.tax_rates.iter().zip(taxes.iter_mut()) {
                let base = Decimal::from(amount);
                let exact = if input.prices_include_tax {
                    base * rate.percent / (Decimal::ONE_HUNDRED + rate_sum)
                } else {
                    base * rate.percent / Decimal::ONE_HUNDRED
                };
                let rounded = round_minor(exact)?;
                tax.amount_minor = tax
                    .amount_minor
                    .checked_add(rounded)
                    .ok_or(PricingError::Overflow)?;
                line_tax = line_tax
                    .checked_add(rounded)
                    .ok_or(PricingError::Overflow)?;
            }
        }
        gross_sum = gross_sum
            .checked_add(amount)
            .ok_or(PricingError::Overflow)?;
        tax_sum = tax_sum
            .checked_add(line_tax)
            .ok_or(PricingError::Overflow)?;
        lines.push(PricedLine {
            description: line.description.clone(),
            quantity: line.quantity,
            unit_price_minor: line.unit_price_minor,
            amount_minor: amount,
            taxable: line.taxable,
            tax_minor: line_tax,
        });
    }

    let (subtotal, gross) = if input.prices_include_tax {
        (gross_sum - tax_sum, gross_sum)
    } else {
        (
            gross_sum,
            gross_sum
                .checked_add(tax_sum)
                .ok_or(PricingError::Overflow)?,
        )
    };
    let credit = input.credit_minor.min(gross);
    Ok(PricedInvoice {
        lines,
        subtotal_minor: subtotal,
        taxes,
        tax_minor: tax_sum,
        credit_minor: credit,
        total_minor: gross - credit,
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
        }
    }

    fn rate(name: &str, percent: Decimal) -> TaxRateInput {
        TaxRateInput {
            name: name.into(),
            percent,
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
        })
        .unwrap();
        assert_eq!(priced.credit_minor, 10_000);
        assert_eq!(priced.total_minor, 0);
    }

    #[test]
    fn bad_input_is_rejected() {
        let base = PricingInput {
            lines: vec![line("x", 1, 100, true)],
            tax_rates: vec![],
            prices_include_tax: false,
            credit_minor: 0,
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
    }
}
