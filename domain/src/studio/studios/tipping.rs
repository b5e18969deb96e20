//! The studio's tipping setting as changed by `updateStudioSettings`
//! (`kernel::tips` has the rules of a tip itself).

use crate::infra::error::UserError;
use crate::kernel::tips::{self, MAX_PRESETS};
use crate::kernel::validate::Problems;
use entity::enums::TipOffer;
use entity::studio;
use rust_decimal::Decimal;
use sea_orm::ActiveValue::Set;

/// Omitted fields keep their value.
#[derive(Debug, Clone, Default)]
pub struct TippingChanges {
    pub enabled: Option<bool>,
    /// At most [`MAX_PRESETS`] distinct percentages above 0 and at most
    /// 100; empty: presets off.
    pub preset_percents: Option<Vec<Decimal>>,
    pub allow_custom: Option<bool>,
    /// The largest tip on one payment; 0 clears it (then: the pre-tax
    /// amount paid).
    pub maximum: Option<Decimal>,
    pub offer: Option<TipOffer>,
}

/// Checks and applies `changes` (errors under `tipping.<field>`); a studio
/// that turns tipping on must leave the client something to choose.
pub(super) fn apply(
    studio: &studio::Model,
    changes: Option<&TippingChanges>,
    active: &mut studio::ActiveModel,
    problems: &mut Problems,
) {
    let Some(changes) = changes else {
        return;
    };
    let currency = super::currency_after(studio, active);
    let presets = match &changes.preset_percents {
        Some(given) => checked_presets(given, problems),
        None => tips::parse_presets(&studio.tip_presets),
    };
    let enabled = changes.enabled.unwrap_or(studio.tip_enabled);
    let custom = changes.allow_custom.unwrap_or(studio.tip_custom);
    if enabled && presets.is_empty() && !custom {
        problems.push(UserError::invalid(
            "tipping.presetPercents",
            "tipping needs at least one preset percentage or a custom amount",
        ));
    }
    if let Some(maximum) = changes.maximum {
        let minor = match maximum.is_sign_negative() {
            true => {
                problems.push(UserError::invalid(
                    "tipping.maximum",
                    "must be 0 (none) or more",
                ));
                crate::kernel::money::Minor::ZERO
            }
            false => problems.amount("tipping.maximum", currency, maximum),
        };
        active.tip_max_minor = Set(minor.is_positive().then_some(minor));
    }
    if changes.preset_percents.is_some() {
        active.tip_presets = Set(tips::format_presets(&presets));
    }
    active.tip_enabled = Set(enabled);
    active.tip_custom = Set(custom);
    if let Some(offer) = changes.offer {
        active.tip_offer = Set(offer);
    }
}

fn checked_presets(given: &[Decimal], problems: &mut Problems) -> Vec<Decimal> {
    let mut presets: Vec<Decimal> = Vec::new();
    if given.len() > MAX_PRESETS {
        problems.push(UserError::invalid(
            "tipping.presetPercents",
            format!("at most {MAX_PRESETS} preset percentages"),
        ));
    }
    for percent in given.iter().map(|p| p.normalize()) {
        if let Some(why) = tips::preset_malformed(percent) {
            problems.push(UserError::invalid("tipping.presetPercents", why));
        } else if presets.contains(&percent) {
            problems.push(UserError::invalid(
                "tipping.presetPercents",
                format!("{percent} % is listed twice"),
            ));
        } else {
            presets.push(percent);
        }
    }
    presets
}
