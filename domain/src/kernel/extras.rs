//! Extra images: a package includes `included` images; the client's picks
//! beyond them are priced per image by volume tiers, and the whole is capped
//! by the full-gallery price when there is one.
//!
//! - Tiers count extras from 1: `[{up_to: 10, 25.00}, {up_to: 30, 20.00},
//!   {up_to: None, 15.00}]` prices extras 1–10 at 25.00, 11–30 at 20.00 and
//!   every one after at 15.00. Each tier's bound is above the one before,
//!   and the last has none, so every count has a price.
//! - Prices are exact minor units: a count times a unit price, summed over
//!   the tiers, never rounded. Overflow is an error, not a wrap.
//! - Stored as JSON on the package (`packages.image_pricing`) and copied to
//!   the session when it is scheduled, like the package's price: a later
//!   change of the package does not re-price a booked session.

use crate::kernel::error::UserError;
use crate::kernel::money::Minor;
use serde::{Deserialize, Serialize};

/// At most this many tiers.
pub const MAX_TIERS: usize = 10;
/// At most this many images included, or picked.
pub const MAX_IMAGES: u32 = 10_000;

/// One volume tier: extras up to `up_to` (counted from the first extra)
/// cost `unit_price_minor` each; `None`: every extra after the tier before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    pub up_to: Option<u32>,
    pub unit_price_minor: Minor,
}

/// What a package includes and what extra images cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImagePricing {
    pub included: u32,
    pub tiers: Vec<Tier>,
    /// Caps the extras' price: every image for this amount.
    pub full_gallery_minor: Option<Minor>,
}

impl ImagePricing {
    /// Checks the tiers and the cap; every problem at once.
    pub fn check(&self) -> Result<(), Vec<UserError>> {
        let mut problems = Vec::new();
        if self.included > MAX_IMAGES {
            problems.push(UserError::invalid(
                "includedImages",
                format!("must be at most {MAX_IMAGES}"),
            ));
        }
        if self.tiers.is_empty() || self.tiers.len() > MAX_TIERS {
            problems.push(UserError::invalid(
                "extraImageTiers",
                format!("needs between 1 and {MAX_TIERS} tiers"),
            ));
        }
        let mut floor = 0u32;
        for (i, tier) in self.tiers.iter().enumerate() {
            let last = i + 1 == self.tiers.len();
            match (tier.up_to, last) {
                (None, true) => {}
                (None, false) => problems.push(UserError::invalid(
                    &format!("extraImageTiers.{i}.upTo"),
                    "only the last tier may be open-ended",
                )),
                (Some(_), true) => problems.push(UserError::invalid(
                    &format!("extraImageTiers.{i}.upTo"),
                    "the last tier must be open-ended (no upTo), so every extra has a price",
                )),
                (Some(up_to), false) if up_to <= floor || up_to > MAX_IMAGES => {
                    problems.push(UserError::invalid(
                        &format!("extraImageTiers.{i}.upTo"),
                        format!("must be above the tier before ({floor}) and at most {MAX_IMAGES}"),
                    ))
                }
                (Some(up_to), false) => floor = up_to,
            }
            if !tier.unit_price_minor.is_positive() {
                problems.push(UserError::invalid(
                    &format!("extraImageTiers.{i}.unitPrice"),
                    "must be above zero",
                ));
            }
        }
        if self
            .full_gallery_minor
            .is_some_and(|cap| !cap.is_positive())
        {
            problems.push(UserError::invalid("fullGalleryPrice", "must be above zero"));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// The extras among `picked` images: those beyond the included ones.
    pub fn extras(&self, picked: u32) -> u32 {
        picked.saturating_sub(self.included)
    }

    /// What `extras` extra images cost: tier by tier, capped by the
    /// full-gallery price. `None` on overflow.
    pub fn price(&self, extras: u32) -> Option<Minor> {
        let mut total = Minor::ZERO;
        let mut priced = 0u32;
        for tier in &self.tiers {
            if priced >= extras {
                break;
            }
            let ceiling = tier.up_to.map_or(extras, |up_to| up_to.min(extras));
            let count = ceiling.saturating_sub(priced);
            let amount = tier.unit_price_minor.get().checked_mul(i64::from(count))?;
            total = total.checked_add(Minor::new(amount))?;
            priced = ceiling;
        }
        Some(match self.full_gallery_minor {
            Some(cap) if extras > 0 => Ord::min(total, cap),
            _ => total,
        })
    }

    pub fn to_json(&self) -> String {
        // A struct of integers and options always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The stored JSON; `None` for a column without pricing.
    pub fn from_json(stored: Option<&str>) -> Result<Option<Self>, serde_json::Error> {
        stored.map(serde_json::from_str).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(cents: i64) -> Minor {
        Minor::new(cents)
    }

    fn wedding(cap: Option<i64>) -> ImagePricing {
        ImagePricing {
            included: 25,
            tiers: vec![
                Tier {
                    up_to: Some(10),
                    unit_price_minor: usd(2500),
                },
                Tier {
                    up_to: Some(30),
                    unit_price_minor: usd(2000),
                },
                Tier {
                    up_to: None,
                    unit_price_minor: usd(1500),
                },
            ],
            full_gallery_minor: cap.map(usd),
        }
    }

    #[test]
    fn thirty_two_picked_of_twenty_five_included_is_seven_at_the_first_tier() {
        let pricing = wedding(None);
        assert_eq!(pricing.extras(32), 7);
        assert_eq!(pricing.price(7), Some(usd(17_500)));
        assert_eq!(pricing.extras(20), 0);
        assert_eq!(pricing.price(0), Some(Minor::ZERO));
    }

    #[test]
    fn each_tier_prices_only_its_own_extras() {
        let pricing = wedding(None);
        // 10 × 25.00 + 5 × 20.00
        assert_eq!(pricing.price(15), Some(usd(35_000)));
        // 10 × 25.00 + 20 × 20.00
        assert_eq!(pricing.price(30), Some(usd(65_000)));
        // 10 × 25.00 + 20 × 20.00 + 12 × 15.00
        assert_eq!(pricing.price(42), Some(usd(83_000)));
        // The boundary belongs to its tier.
        assert_eq!(pricing.price(10), Some(usd(25_000)));
        assert_eq!(pricing.price(11), Some(usd(27_000)));
    }

    #[test]
    fn the_full_gallery_price_caps_the_extras() {
        let pricing = wedding(Some(50_000));
        assert_eq!(pricing.price(15), Some(usd(35_000)));
        assert_eq!(pricing.price(30), Some(usd(50_000)));
        assert_eq!(pricing.price(400), Some(usd(50_000)));
        assert_eq!(pricing.price(0), Some(Minor::ZERO));
    }

    #[test]
    fn overflow_is_none_not_a_wrap() {
        let pricing = ImagePricing {
            included: 0,
            tiers: vec![Tier {
                up_to: None,
                unit_price_minor: usd(i64::MAX / 2),
            }],
            full_gallery_minor: None,
        };
        assert_eq!(pricing.price(3), None);
    }

    #[test]
    fn tiers_must_rise_end_open_and_cost_something() {
        assert!(wedding(Some(1)).check().is_ok());
        let mut bad = wedding(Some(0));
        bad.tiers[1].up_to = Some(10);
        bad.tiers[2].up_to = Some(99);
        bad.tiers[0].unit_price_minor = Minor::ZERO;
        let fields: Vec<String> = bad
            .check()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field.join("."))
            .collect();
        assert_eq!(
            fields,
            [
                "extraImageTiers.0.unitPrice",
                "extraImageTiers.1.upTo",
                "extraImageTiers.2.upTo",
                "fullGalleryPrice"
            ]
        );
        let none = ImagePricing {
            included: 5,
            tiers: vec![],
            full_gallery_minor: None,
        };
        assert_eq!(none.check().unwrap_err()[0].field, ["extraImageTiers"]);
    }

    #[test]
    fn the_stored_form_round_trips() {
        let pricing = wedding(Some(50_000));
        let json = pricing.to_json();
        assert_eq!(ImagePricing::from_json(Some(&json)).unwrap(), Some(pricing));
        assert_eq!(ImagePricing::from_json(None).unwrap(), None);
    }
}
