//! Several payers on one invoice: each payer's share of the amount due,
//! exact to the minor unit, and what each still owes. Pure.
//!
//! **Split** ([`split`]): every payer gives a percentage or an amount, all
//! of one kind. Percentages add up to exactly 100 and are rounded half away
//! from zero like every percentage; amounts add up to exactly the amount
//! due. The rounding remainder goes to the first payer, so the shares
//! always add up to the amount due. Each share is at least the gateway's
//! minimum charge.
//!
//! **Owed** ([`owed`]): a payer owes their share less what they paid. The
//! invoice's amount due decides in the end: what it owes beyond the shares
//! left (a late fee added since) is the first payer's; what someone else
//! covered (any payer, or the client, may pay more) is taken off the last
//! payers first, so the amounts owed never add up to more than is due.

use crate::kernel::error::{ErrorCode, UserError};
use crate::kernel::money::{Currency, Minor};
use crate::kernel::pricing::round_minor;
use rust_decimal::Decimal;

/// At most this many payers share an invoice.
pub const MAX_PAYERS: usize = 10;

/// What one payer takes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Share {
    Percent(Decimal),
    Amount(Minor),
}

fn refuse(field: String, code: ErrorCode, message: impl Into<String>) -> UserError {
    UserError {
        field: field.split('.').map(str::to_string).collect(),
        message: message.into(),
        code,
    }
}

/// Each payer's share of `due`, in order, adding up to exactly `due`, or
/// the first problem found (field `payers`, `payers.{i}.percent`,
/// `payers.{i}.amount`).
pub fn split(due: Minor, currency: Currency, shares: &[Share]) -> Result<Vec<Minor>, UserError> {
    if !(2..=MAX_PAYERS).contains(&shares.len()) {
        return Err(refuse(
            "payers".into(),
            ErrorCode::InvalidInput,
            format!("an invoice is shared by 2 to {MAX_PAYERS} payers"),
        ));
    }
    let does_not_add_up =
        |message: String| refuse("payers".into(), ErrorCode::SharesDoNotAddUp, message);
    let percents = shares.iter().all(|s| matches!(s, Share::Percent(_)));
    let amounts = shares.iter().all(|s| matches!(s, Share::Amount(_)));
    if !percents && !amounts {
        return Err(refuse(
            "payers".into(),
            ErrorCode::InvalidInput,
            "give every payer a percent, or every payer an amount",
        ));
    }
    let mut parts = Vec::with_capacity(shares.len());
    for (index, share) in shares.iter().enumerate() {
        parts.push(match *share {
            Share::Percent(p) if p > Decimal::ZERO && p <= Decimal::ONE_HUNDRED => {
                let exact = Decimal::from(due.get())
                    .checked_mul(p)
                    .map(|v| v / Decimal::ONE_HUNDRED)
                    .ok_or_else(|| does_not_add_up("the amount due is too large".into()))?;
                Minor::new(
                    round_minor(exact)
                        .map_err(|_| does_not_add_up("the amount due is too large".into()))?,
                )
            }
            Share::Percent(_) => {
                return Err(refuse(
                    format!("payers.{index}.percent"),
                    ErrorCode::InvalidPercent,
                    "must be more than 0 and at most 100",
                ));
            }
            Share::Amount(amount) => amount,
        });
    }
    let given = crate::kernel::money::checked_sum(parts.iter().copied())
        .ok_or_else(|| does_not_add_up("the shares are too large".into()))?;
    let left = due
        .checked_sub(given)
        .ok_or_else(|| does_not_add_up("the shares are too large".into()))?;
    if percents {
        let each: Vec<Decimal> = shares
            .iter()
            .map(|s| match s {
                Share::Percent(p) => *p,
                Share::Amount(_) => Decimal::ZERO,
            })
            .collect();
        check_percents(&each)?;
        // Only a rounding difference is left: the first payer's.
        parts[0] += left;
    } else if !left.is_zero() {
        return Err(does_not_add_up(format!(
            "the shares add up to {}; the amount due is {}",
            given.of(currency),
            due.of(currency)
        )));
    }
    let minimum = crate::kernel::plan::minimum_part(currency);
    if let Some(index) = parts.iter().position(|p| *p < minimum) {
        return Err(refuse(
            format!(
                "payers.{index}.{}",
                if percents { "percent" } else { "amount" }
            ),
            ErrorCode::BelowMinimum,
            format!(
                "each share must be at least {} (the payment processor's minimum charge)",
                minimum.of(currency)
            ),
        ));
    }
    Ok(parts)
}

/// A booking's payers by percentage (each invoice of the session split
/// by them later): 2 to [`MAX_PAYERS`], each above 0 and at most 100,
/// adding up to exactly 100.
pub fn check_percents(percents: &[Decimal]) -> Result<(), UserError> {
    if !(2..=MAX_PAYERS).contains(&percents.len()) {
        return Err(refuse(
            "payers".into(),
            ErrorCode::InvalidInput,
            format!("an invoice is shared by 2 to {MAX_PAYERS} payers"),
        ));
    }
    if let Some(index) = percents
        .iter()
        .position(|p| *p <= Decimal::ZERO || *p > Decimal::ONE_HUNDRED)
    {
        return Err(refuse(
            format!("payers.{index}.percent"),
            ErrorCode::InvalidPercent,
            "must be more than 0 and at most 100",
        ));
    }
    let sum: Decimal = percents.iter().sum();
    if sum != Decimal::ONE_HUNDRED {
        return Err(refuse(
            "payers".into(),
            ErrorCode::SharesDoNotAddUp,
            format!(
                "the percentages add up to {} %; they must make exactly 100 %",
                sum.normalize()
            ),
        ));
    }
    Ok(())
}

/// One payer as far as [`owed`] is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub share: Minor,
    /// What this payer paid toward the invoice and kept paid (a refund by
    /// agreement is not deducted: the invoice was credited for it).
    pub paid: Minor,
}

/// What each payer owes now, in order, given the invoice's amount `due`:
/// their share less what they paid, the first payer taking what is due
/// beyond the shares, the last payers relieved first of what others covered.
pub fn owed(due: Minor, payers: &[Standing]) -> Vec<Minor> {
    let mut left: Vec<Minor> = payers
        .iter()
        .map(|p| (p.share - p.paid).at_least_zero())
        .collect();
    let due = due.at_least_zero();
    let total = crate::kernel::money::checked_sum(left.iter().copied()).unwrap_or(Minor::ZERO);
    if due > total {
        if let Some(first) = left.first_mut() {
            *first += due - total;
        }
        return left;
    }
    let mut excess = total - due;
    for owe in left.iter_mut().rev() {
        let off = if *owe < excess { *owe } else { excess };
        *owe -= off;
        excess -= off;
    }
    left
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn usd() -> Currency {
        Currency::parse("USD").expect("USD")
    }

    fn m(v: i64) -> Minor {
        Minor::new(v)
    }

    #[test]
    fn percentages_round_and_the_first_payer_takes_the_remainder() {
        let thirds = [
            Share::Percent(dec!(33.34)),
            Share::Percent(dec!(33.33)),
            Share::Percent(dec!(33.33)),
        ];
        // 1000.01 × 33.33 % = 333.303333 → 333.30; the first takes the rest.
        let parts = split(m(100_001), usd(), &thirds).expect("splits");
        assert_eq!(parts, vec![m(33_341), m(33_330), m(33_330)]);
        assert_eq!(parts.iter().map(|p| p.get()).sum::<i64>(), 100_001);
        let halves = [Share::Percent(dec!(60)), Share::Percent(dec!(40))];
        assert_eq!(
            split(m(250_000), usd(), &halves).expect("splits"),
            vec![m(150_000), m(100_000)]
        );
    }

    #[test]
    fn shares_that_do_not_add_up_are_refused() {
        let short = [Share::Percent(dec!(50)), Share::Percent(dec!(49.99))];
        let err = split(m(10_000), usd(), &short).expect_err("99.99 %");
        assert_eq!(err.code, ErrorCode::SharesDoNotAddUp);
        assert!(err.message.contains("99.99 %"), "{}", err.message);
        let amounts = [Share::Amount(m(5_000)), Share::Amount(m(4_999))];
        let err = split(m(10_000), usd(), &amounts).expect_err("a cent short");
        assert_eq!(err.code, ErrorCode::SharesDoNotAddUp);
        assert_eq!(
            err.message,
            "the shares add up to USD 99.99; the amount due is USD 100.00"
        );
        let mixed = [Share::Amount(m(5_000)), Share::Percent(dec!(50))];
        assert_eq!(
            split(m(10_000), usd(), &mixed).expect_err("mixed").code,
            ErrorCode::InvalidInput
        );
        let alone = [Share::Percent(dec!(100))];
        assert_eq!(
            split(m(10_000), usd(), &alone)
                .expect_err("one payer")
                .field,
            vec!["payers"]
        );
        let zero = [Share::Percent(dec!(100)), Share::Percent(dec!(0))];
        assert_eq!(
            split(m(10_000), usd(), &zero).expect_err("0 %").field,
            vec!["payers", "1", "percent"]
        );
        let tiny = [Share::Amount(m(9_990)), Share::Amount(m(10))];
        let err = split(m(10_000), usd(), &tiny).expect_err("below the minimum");
        assert_eq!(err.code, ErrorCode::BelowMinimum);
        assert_eq!(err.field, vec!["payers", "1", "amount"]);
    }

    #[test]
    fn what_each_owes_follows_the_amount_due() {
        let s = |share, paid| Standing {
            share: m(share),
            paid: m(paid),
        };
        // Nobody paid yet.
        assert_eq!(
            owed(m(1_000), &[s(600, 0), s(400, 0)]),
            vec![m(600), m(400)]
        );
        // The second paid; the first still owes theirs.
        assert_eq!(owed(m(600), &[s(600, 0), s(400, 400)]), vec![m(600), m(0)]);
        // A late fee of 25 since: the first payer's.
        assert_eq!(owed(m(625), &[s(600, 0), s(400, 400)]), vec![m(625), m(0)]);
        // The client paid 300 directly: the last payer is relieved first.
        assert_eq!(owed(m(700), &[s(600, 0), s(400, 0)]), vec![m(600), m(100)]);
        // The first covered everything.
        assert_eq!(owed(m(0), &[s(600, 1_000), s(400, 0)]), vec![m(0), m(0)]);
    }
}
