//! What a card payment carries on top of the invoice's money — the card
//! surcharge and the tip — and how much of each a refund returns. Neither
//! belongs to the invoice (no tax, no fee, never an overpayment), but the
//! card was charged for them and gets them back with its money: pro rata
//! with a partial refund, all that is left with the last one.

use crate::kernel::money::Minor;

/// What a payment carried on top of the invoice's money (or what a refund
/// returns of it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OnTop {
    pub surcharge: Minor,
    pub tip: Minor,
}

impl OnTop {
    pub const ZERO: OnTop = OnTop {
        surcharge: Minor::ZERO,
        tip: Minor::ZERO,
    };

    /// Both together (amounts far below `i64`'s range: at most a charge).
    pub fn total(self) -> Minor {
        self.surcharge + self.tip
    }

    /// What is left of `self` after `returned`, never below zero.
    pub fn after(self, returned: OnTop) -> OnTop {
        OnTop {
            surcharge: (self.surcharge - returned.surcharge).at_least_zero(),
            tip: (self.tip - returned.tip).at_least_zero(),
        }
    }

    pub fn is_zero(self) -> bool {
        self.surcharge.is_zero() && self.tip.is_zero()
    }
}

/// The share of `extra` (carried on a payment of `base`) that a refund of
/// `amount` of the base returns, so that the refunds of a payment return
/// the whole extra exactly once its whole base is refunded: the share that
/// the base refunded so far (this refund included) stands for, minus what
/// earlier refunds returned. Rounded half away from zero, in integers. A
/// payment of no money (a tip paid alone) has nothing to share it with:
/// its refund returns all that is left of the extra.
pub fn pro_rata(
    base: Minor,
    extra: Minor,
    refunded_before: Minor,
    returned_before: Minor,
    amount: Minor,
) -> Minor {
    if !extra.is_positive() {
        return Minor::ZERO;
    }
    if !base.is_positive() {
        return (extra - returned_before).at_least_zero();
    }
    let through =
        i128::from(refunded_before.get().saturating_add(amount.get())).min(i128::from(base.get()));
    // (2·E·r + B) / 2B, all non-negative.
    let numerator = 2 * i128::from(extra.get()) * through + i128::from(base.get());
    let owed = numerator / (2 * i128::from(base.get()));
    let share = i64::try_from(owed).unwrap_or(extra.get()) - returned_before.get();
    Minor::new(share.clamp(0, extra.get().saturating_sub(returned_before.get()).max(0)))
}

/// What a refund of `amount` of a payment's `base` returns of what the
/// payment `carried` on top, each pro rata ([`pro_rata`]).
pub fn refund_share(
    base: Minor,
    carried: OnTop,
    refunded_before: Minor,
    returned_before: OnTop,
    amount: Minor,
) -> OnTop {
    OnTop {
        surcharge: pro_rata(
            base,
            carried.surcharge,
            refunded_before,
            returned_before.surcharge,
            amount,
        ),
        tip: pro_rata(
            base,
            carried.tip,
            refunded_before,
            returned_before.tip,
            amount,
        ),
    }
}

/// Splits an amount the gateway returned by itself (a refund in its
/// dashboard, a chargeback) into the invoice's money and what was on top,
/// in proportion to what the payment carried of each; no part on top
/// exceeds what is left of it, and the money is what remains.
pub fn split_returned(
    gross: Minor,
    base: Minor,
    carried: OnTop,
    returned_before: OnTop,
) -> (Minor, OnTop) {
    let whole = i128::from(base.get()) + i128::from(carried.total().get());
    if carried.is_zero() || whole <= 0 || !gross.is_positive() {
        return (gross, OnTop::ZERO);
    }
    let left = carried.after(returned_before);
    let part = |extra: Minor, left: Minor| {
        let numerator = 2 * i128::from(gross.get()) * i128::from(extra.get()) + whole;
        Minor::new(
            i64::try_from(numerator / (2 * whole))
                .unwrap_or(0)
                .clamp(0, left.get()),
        )
    };
    let surcharge = part(carried.surcharge, left.surcharge);
    let tip = part(carried.tip, left.tip).min((gross - surcharge).at_least_zero());
    let taken = OnTop { surcharge, tip };
    (gross - taken.total(), taken)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn surcharge(minor: i64) -> OnTop {
        OnTop {
            surcharge: Minor::new(minor),
            tip: Minor::ZERO,
        }
    }

    #[test]
    fn partial_refunds_return_the_whole_extra_exactly_once() {
        // USD 1,000.00 paid with a 30.00 surcharge, refunded in three parts.
        let (base, extra) = (Minor::new(100_000), Minor::new(3_000));
        let mut refunded = Minor::ZERO;
        let mut returned = Minor::ZERO;
        for part in [Minor::new(33_333), Minor::new(33_333), Minor::new(33_334)] {
            let share = pro_rata(base, extra, refunded, returned, part);
            refunded += part;
            returned += share;
        }
        assert_eq!(returned, extra);
        let half = Minor::new(50_000);
        assert_eq!(
            pro_rata(base, extra, Minor::ZERO, Minor::ZERO, half),
            Minor::new(1_500)
        );
        assert_eq!(
            pro_rata(base, Minor::ZERO, Minor::ZERO, Minor::ZERO, base),
            Minor::ZERO
        );
        let alone = Minor::new(2_000);
        assert_eq!(
            pro_rata(Minor::ZERO, alone, Minor::ZERO, Minor::ZERO, Minor::ZERO),
            alone
        );
    }

    #[test]
    fn a_refund_returns_surcharge_and_tip_each_pro_rata() {
        let carried = OnTop {
            surcharge: Minor::new(3_000),
            tip: Minor::new(15_000),
        };
        let base = Minor::new(100_000);
        let half = refund_share(base, carried, Minor::ZERO, OnTop::ZERO, Minor::new(50_000));
        assert_eq!(
            (half.surcharge, half.tip),
            (Minor::new(1_500), Minor::new(7_500))
        );
        let rest = refund_share(base, carried, Minor::new(50_000), half, Minor::new(50_000));
        assert_eq!(half.total() + rest.total(), carried.total());
    }

    #[test]
    fn an_amount_the_gateway_returned_is_split_in_proportion() {
        let base = Minor::new(100_000);
        assert_eq!(
            split_returned(Minor::new(103_000), base, surcharge(3_000), OnTop::ZERO),
            (base, surcharge(3_000))
        );
        assert_eq!(
            split_returned(Minor::new(51_500), base, surcharge(3_000), OnTop::ZERO),
            (Minor::new(50_000), surcharge(1_500))
        );
        assert_eq!(
            split_returned(Minor::new(5_000), base, OnTop::ZERO, OnTop::ZERO),
            (Minor::new(5_000), OnTop::ZERO)
        );
        let both = OnTop {
            surcharge: Minor::new(3_000),
            tip: Minor::new(15_000),
        };
        let (money, taken) = split_returned(Minor::new(118_000), base, both, OnTop::ZERO);
        assert_eq!((money, taken), (base, both));
        // A tip-only payment: everything returned is tip.
        let tip_only = OnTop {
            surcharge: Minor::ZERO,
            tip: Minor::new(2_000),
        };
        assert_eq!(
            split_returned(Minor::new(2_000), Minor::ZERO, tip_only, OnTop::ZERO),
            (Minor::ZERO, tip_only)
        );
    }
}
