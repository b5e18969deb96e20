//! Tips: the studio's tipping policy and the one rule for what a client's
//! choice on the portal comes to. Pure.
//!
//! A tip is computed on the **pre-tax** share of what is paid now (the
//! amount due, less the tax it carries in proportion), rounded half away
//! from zero like every percentage. "No tip" is the default; a preset is
//! one of the studio's percentages (anything else is refused: a tampered
//! form); a custom amount is a plain decimal in the invoice's currency,
//! never negative, at most the studio's maximum (without one: at most the
//! pre-tax amount paid, so a slip of the finger cannot double a payment).

use crate::kernel::money::{Currency, Minor, MoneyError};
use crate::kernel::pricing::round_minor;
use rust_decimal::Decimal;

/// At most this many preset percentages.
pub const MAX_PRESETS: usize = 4;

/// What the studio offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub presets: Vec<Decimal>,
    pub custom: bool,
    pub maximum: Option<Minor>,
}

/// What the client picked on the portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    NoTip,
    Preset(Decimal),
    /// The amount as typed.
    Custom(String),
}

impl Choice {
    /// The portal form's fields: `tip` (`none`, a preset percentage, or
    /// `custom`) and `tip_custom` (the typed amount).
    pub fn from_form(tip: Option<&str>, custom: Option<&str>) -> Result<Choice, String> {
        match tip.map(str::trim) {
            None | Some("" | "none") => Ok(Choice::NoTip),
            Some("custom") => Ok(Choice::Custom(
                custom.unwrap_or_default().trim().to_string(),
            )),
            Some(percent) => crate::kernel::money::parse_plain_decimal(percent)
                .map(Choice::Preset)
                .map_err(|_| format!("`{percent}` is not a tip this studio offers")),
        }
    }
}

/// The stored presets (`"10,15,20"`), unreadable entries skipped.
pub fn parse_presets(stored: &str) -> Vec<Decimal> {
    stored
        .split(',')
        .filter_map(|p| crate::kernel::money::parse_plain_decimal(p.trim()).ok())
        .filter(|p| preset_malformed(*p).is_none())
        .collect()
}

/// Presets as stored.
pub fn format_presets(presets: &[Decimal]) -> String {
    presets
        .iter()
        .map(|p| p.normalize().to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// A preset's shape: above 0, at most 100, at most 2 decimals.
pub fn preset_malformed(percent: Decimal) -> Option<&'static str> {
    if percent <= Decimal::ZERO || percent > Decimal::ONE_HUNDRED {
        Some("a tip preset is a percentage above 0 and at most 100")
    } else if percent.normalize().scale() > 2 {
        Some("a tip preset has at most 2 decimal places")
    } else {
        None
    }
}

/// The pre-tax share of `due` on an invoice whose gross (before credits)
/// is `gross`, of which `tax` is tax.
pub fn base(due: Minor, gross: Minor, tax: Minor) -> Minor {
    if !due.is_positive() || !gross.is_positive() || !tax.is_positive() {
        return due.at_least_zero();
    }
    let pre_tax = (gross - tax).at_least_zero();
    let exact =
        Decimal::from(due.get()) * Decimal::from(pre_tax.get()) / Decimal::from(gross.get());
    Minor::new(round_minor(exact).unwrap_or(due.get()).clamp(0, due.get()))
}

/// `percent` of `base`, rounded half away from zero.
pub fn of_percent(base: Minor, percent: Decimal) -> Minor {
    let exact = Decimal::from(base.get())
        .checked_mul(percent)
        .and_then(|v| v.checked_div(Decimal::ONE_HUNDRED));
    Minor::new(exact.and_then(|v| round_minor(v).ok()).unwrap_or(0).max(0))
}

/// The largest tip taken on a payment of pre-tax `base`.
pub fn ceiling(policy: &Policy, base: Minor) -> Minor {
    policy.maximum.unwrap_or(base)
}

/// What `choice` comes to, or why it is refused (a sentence for the page).
pub fn amount(
    policy: &Policy,
    base: Minor,
    currency: Currency,
    choice: &Choice,
) -> Result<Minor, String> {
    let tip = match choice {
        Choice::NoTip => return Ok(Minor::ZERO),
        Choice::Preset(percent) => match policy.presets.iter().any(|p| p == percent) {
            true => of_percent(base, *percent),
            false => return Err(format!("{percent} % is not a tip this studio offers")),
        },
        Choice::Custom(_) if !policy.custom => {
            return Err("this studio does not take a custom tip amount".into());
        }
        Choice::Custom(typed) if typed.is_empty() => {
            return Err("type the tip amount, or choose another tip".into());
        }
        Choice::Custom(typed) => currency.parse_amount_str(typed).map_err(|e| match e {
            MoneyError::Negative => "a tip cannot be negative".to_string(),
            MoneyError::NotANumber(_) => {
                format!("`{typed}` is not an amount: write it like 25 or 25.50")
            }
            other => format!("`{typed}`: {other}"),
        })?,
    };
    let most = ceiling(policy, base);
    if tip > most {
        return Err(format!(
            "a tip is at most {} on this payment",
            most.of(currency)
        ));
    }
    Ok(tip)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn usd() -> Currency {
        Currency::parse("USD").expect("USD")
    }

    fn policy() -> Policy {
        Policy {
            presets: vec![dec!(10), dec!(15), dec!(20)],
            custom: true,
            maximum: Some(Minor::new(50_000)),
        }
    }

    #[test]
    fn presets_are_computed_on_the_pre_tax_share_of_what_is_due() {
        // 1,000.00 + 8.75 % tax = 1,087.50; all of it due.
        let base = base(Minor::new(108_750), Minor::new(108_750), Minor::new(8_750));
        assert_eq!(base, Minor::new(100_000));
        assert_eq!(of_percent(base, dec!(15)), Minor::new(15_000));
        // Half of it due (a retainer paid): half the pre-tax amount.
        assert_eq!(
            super::base(Minor::new(54_375), Minor::new(108_750), Minor::new(8_750)),
            Minor::new(50_000)
        );
        // No tax: the amount due itself.
        assert_eq!(
            super::base(Minor::new(33_333), Minor::new(40_000), Minor::ZERO),
            Minor::new(33_333)
        );
        // 17.5 % of 123.45 = 21.60375 -> 21.60; 12.5 % of 0.20 = 0.025 -> 0.03.
        assert_eq!(
            of_percent(Minor::new(12_345), dec!(17.5)),
            Minor::new(2_160)
        );
        assert_eq!(of_percent(Minor::new(20), dec!(12.5)), Minor::new(3));
    }

    #[test]
    fn a_choice_is_a_preset_offered_or_a_sane_custom_amount() {
        let (p, base) = (policy(), Minor::new(100_000));
        let pick = |tip: &str, custom: &str| {
            let choice = Choice::from_form(Some(tip), Some(custom))?;
            amount(&p, base, usd(), &choice)
        };
        assert_eq!(pick("none", ""), Ok(Minor::ZERO));
        assert_eq!(pick("15", ""), Ok(Minor::new(15_000)));
        assert_eq!(pick("custom", "42.50"), Ok(Minor::new(4_250)));
        assert_eq!(pick("custom", "0"), Ok(Minor::ZERO));
        for (tip, custom, says) in [
            ("12", "", "not a tip this studio offers"),
            ("ten", "", "not a tip this studio offers"),
            ("custom", "-5", "cannot be negative"),
            ("custom", "abc", "is not an amount"),
            ("custom", "1e3", "is not an amount"),
            ("custom", "5.001", "decimal"),
            ("custom", "500.01", "at most USD 500.00"),
            ("custom", "", "type the tip amount"),
        ] {
            let refused = pick(tip, custom).expect_err(tip);
            assert!(refused.contains(says), "{tip}/{custom}: {refused}");
        }
        // Without a maximum, at most the pre-tax amount paid.
        let open = Policy {
            maximum: None,
            ..policy()
        };
        let too_much = Choice::Custom("1000.01".into());
        assert!(amount(&open, base, usd(), &too_much).is_err());
        let no_custom = Policy {
            custom: false,
            ..policy()
        };
        assert!(amount(&no_custom, base, usd(), &Choice::Custom("5".into())).is_err());
    }

    #[test]
    fn presets_round_trip_and_are_checked() {
        let stored = format_presets(&[dec!(10), dec!(12.50), dec!(20)]);
        assert_eq!(stored, "10,12.5,20");
        assert_eq!(parse_presets(&stored), vec![dec!(10), dec!(12.5), dec!(20)]);
        assert_eq!(parse_presets(""), Vec::<Decimal>::new());
        assert!(preset_malformed(dec!(0)).is_some());
        assert!(preset_malformed(dec!(101)).is_some());
        assert!(preset_malformed(dec!(12.345)).is_some());
        assert!(preset_malformed(dec!(18)).is_none());
    }
}
