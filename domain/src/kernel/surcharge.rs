//! The card surcharge's rules, pure: where it is banned, where it is
//! capped, which cards it may touch, and how much of it a refund returns.
//!
//! - **Banned** on consumer cards in the EU/EEA (PSD2 art. 62(4)), the UK,
//!   Puerto Rico, Connecticut, Massachusetts and Quebec.
//! - **Capped** at 2 % in Colorado, 2.4 % in the rest of Canada, and 3 %
//!   (Visa's cap, the card networks' lowest) everywhere else.
//! - **Credit cards only**: a debit or prepaid card (or one whose funding
//!   the gateway does not tell) is never surcharged, nor is money paid by
//!   hand or by bank.
//!
//! Where the consumer is decides: the client's place when the studio
//! recorded one, else the studio's; the studio's own place bounds the
//! setting itself. The amount is the payment's base times the percentage,
//! rounded half away from zero to the minor unit (the one rounding policy,
//! `pricing::round_minor`).

use crate::kernel::money::Minor;
use crate::kernel::pricing::round_minor;
use rust_decimal::Decimal;

/// Where a studio or a client is: ISO 3166-1 alpha-2 country and, in the
/// US and Canada, the state or province (`CT`, `QC`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Place<'a> {
    pub country: Option<&'a str>,
    pub region: Option<&'a str>,
}

impl<'a> Place<'a> {
    pub fn new(country: Option<&'a str>, region: Option<&'a str>) -> Self {
        Place { country, region }
    }

    /// The place consumer rules follow: the client's when it is known,
    /// else the studio's.
    pub fn of_consumer(client: Place<'a>, studio: Place<'a>) -> Place<'a> {
        match client.country {
            Some(_) => client,
            None => studio,
        }
    }

    /// `US-CT`, `FR`, or "an unrecorded place".
    pub fn label(&self) -> String {
        match (self.country, self.region) {
            (Some(c), Some(r)) => format!("{c}-{r}"),
            (Some(c), None) => c.to_string(),
            _ => "an unrecorded place".to_string(),
        }
    }
}

/// What the law (and the card networks) allow where a consumer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Banned,
    /// At most this many percent of the card payment.
    CappedAt(Decimal),
}

/// The card networks' cap (Visa's, the lowest), in percent.
pub const NETWORK_CAP_PERCENT: Decimal = Decimal::from_parts(3, 0, 0, false, 0);
/// Colorado's cap (C.R.S. 5-2-212), in percent.
const COLORADO_CAP_PERCENT: Decimal = Decimal::from_parts(2, 0, 0, false, 0);
/// Canada's cap (the 2022 class-action settlement), in percent: 2.4.
const CANADA_CAP_PERCENT: Decimal = Decimal::from_parts(24, 0, 0, false, 1);

/// Countries where surcharging consumer cards is banned outright.
const BANNED_COUNTRIES: [&str; 2] = ["GB", "PR"];
/// US states (and territories filed as states) where it is banned.
const BANNED_US: [&str; 3] = ["CT", "MA", "PR"];

const US_REGIONS: [&str; 57] = [
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY",
    "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV",
    "WI", "WY", "DC", "AS", "GU", "MP", "PR", "UM", "VI",
];
const CA_REGIONS: [&str; 13] = [
    "AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT",
];

/// The rule where `place` is.
pub fn rule(place: Place<'_>) -> Rule {
    let country = place.country.unwrap_or_default();
    if crate::kernel::country::in_eea(place.country) || BANNED_COUNTRIES.contains(&country) {
        return Rule::Banned;
    }
    match (country, place.region.unwrap_or_default()) {
        ("US", region) if BANNED_US.contains(&region) => Rule::Banned,
        ("US", "CO") => Rule::CappedAt(COLORADO_CAP_PERCENT),
        ("CA", "QC") => Rule::Banned,
        ("CA", _) => Rule::CappedAt(CANADA_CAP_PERCENT),
        _ => Rule::CappedAt(NETWORK_CAP_PERCENT),
    }
}

/// `region` as stored (upper case), given the country it is in: a US state
/// (or DC, a territory) or a Canadian province or territory; only those two
/// countries' rules differ by region.
pub fn parse_region(country: Option<&str>, region: &str) -> Result<String, String> {
    let upper = region.trim().to_ascii_uppercase();
    let known: &[&str] = match country {
        Some("US") => &US_REGIONS,
        Some("CA") => &CA_REGIONS,
        _ => {
            return Err(
                "a region is recorded for the US (a state) and Canada (a province) only: set the country to US or CA first"
                    .to_string(),
            );
        }
    };
    match known.contains(&upper.as_str()) {
        true => Ok(upper),
        false => Err(format!(
            "`{}` is not a {} code (e.g. {})",
            region.trim(),
            if country == Some("US") {
                "US state"
            } else {
                "Canadian province"
            },
            if country == Some("US") {
                "NY, CO"
            } else {
                "ON, QC"
            }
        )),
    }
}

/// A studio's stored setting (a decimal as text) as a percentage; `None`:
/// off (unset, zero or unreadable).
pub fn setting_of(stored: Option<&str>) -> Option<Decimal> {
    crate::kernel::money::parse_plain_decimal(stored?)
        .ok()
        .filter(|p| !p.is_zero())
}

/// A surcharge setting's shape: 0 (off) or positive, at most 2 decimals.
pub fn setting_malformed(percent: Decimal) -> Option<&'static str> {
    if percent.is_sign_negative() {
        Some("a surcharge is 0 (off) or a positive percentage")
    } else if percent.normalize().scale() > 2 {
        Some("a surcharge has at most 2 decimal places")
    } else {
        None
    }
}

/// Why a studio in `place` may not set `percent` as its card surcharge, if
/// the law or the card networks do not allow it.
pub fn setting_refused(place: Place<'_>, percent: Decimal) -> Option<String> {
    match rule(place) {
        _ if percent.is_zero() => None,
        Rule::Banned => Some(format!(
            "surcharging consumer cards is banned where the studio is ({})",
            place.label()
        )),
        Rule::CappedAt(cap) if percent > cap => Some(format!(
            "a card surcharge is at most {cap} % where the studio is ({})",
            place.label()
        )),
        Rule::CappedAt(_) => None,
    }
}

/// The percentage a credit-card payment of a consumer in `consumer` carries
/// under the studio's `setting` (studio in `studio`); `None`: no surcharge.
pub fn percent_for(
    setting: Option<Decimal>,
    studio: Place<'_>,
    consumer: Place<'_>,
) -> Option<Decimal> {
    let setting = setting.filter(|p| p.is_sign_positive() && !p.is_zero())?;
    let mut percent = setting;
    for place in [studio, consumer] {
        match rule(place) {
            Rule::Banned => return None,
            Rule::CappedAt(cap) => percent = percent.min(cap),
        }
    }
    Some(percent)
}

/// A card's funding type as the gateways report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Funding {
    Credit,
    Debit,
    Prepaid,
    Unknown,
}

impl Funding {
    pub fn parse(raw: Option<&str>) -> Funding {
        match raw {
            Some("credit") => Funding::Credit,
            Some("debit") => Funding::Debit,
            Some("prepaid") => Funding::Prepaid,
            _ => Funding::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Funding::Credit => "credit",
            Funding::Debit => "debit",
            Funding::Prepaid => "prepaid",
            Funding::Unknown => "unknown",
        }
    }
}

/// The surcharge on a card payment of `base`: `percent` of it for a credit
/// card, nothing for any other.
pub fn amount(base: Minor, percent: Option<Decimal>, funding: Funding) -> Option<Minor> {
    let percent = percent?;
    if funding != Funding::Credit || !base.is_positive() {
        return None;
    }
    let exact = Decimal::from(base.get())
        .checked_mul(percent)?
        .checked_div(Decimal::ONE_HUNDRED)?;
    let minor = Minor::new(round_minor(exact).ok()?);
    minor.is_positive().then_some(minor)
}

/// A surcharge the studio taxes, taxed like one taxable item at `rates`
/// (on top of it with tax-exclusive prices, out of it with tax-inclusive
/// ones, as `pricing::price` does an invoice's items): what the card pays
/// for it, and the tax in that.
pub fn taxed(
    surcharge: Minor,
    rates: &[crate::kernel::pricing::TaxRateInput],
    inclusive: bool,
) -> Option<(Minor, Minor)> {
    use crate::kernel::pricing::{LineInput, PricingInput, RoundingMode, price};
    let priced = price(&PricingInput {
        lines: vec![LineInput {
            description: "Card surcharge".into(),
            quantity: 1,
            unit_price_minor: surcharge.get(),
            taxable: true,
            discount: None,
        }],
        tax_rates: rates.to_vec(),
        prices_include_tax: inclusive,
        credit_minor: 0,
        discount: None,
        fees: Vec::new(),
        rounding: RoundingMode::PerLine,
    })
    .ok()?;
    Some((Minor::new(priced.total_minor), Minor::new(priced.tax_minor)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn at(country: &'static str, region: Option<&'static str>) -> Place<'static> {
        Place::new(Some(country), region)
    }

    /// A taxed surcharge is taxed like an item: on top at 8.875 % (98.75
    /// carries 8.76), out of it with tax-inclusive prices, and a compound
    /// rate on top of the other.
    #[test]
    fn a_taxed_surcharge_is_taxed_like_an_item() {
        use crate::kernel::pricing::TaxRateInput;
        let rate = |percent, compound| TaxRateInput {
            name: "Tax".into(),
            percent,
            compound,
        };
        let ny = [rate(dec!(8.875), false)];
        assert_eq!(
            taxed(Minor::new(9_875), &ny, false),
            Some((Minor::new(10_751), Minor::new(876)))
        );
        assert_eq!(
            taxed(Minor::new(10_751), &ny, true),
            Some((Minor::new(10_751), Minor::new(876)))
        );
        assert_eq!(
            taxed(Minor::new(10_000), &[], false),
            Some((Minor::new(10_000), Minor::ZERO))
        );
        let quebec = [rate(dec!(5), false), rate(dec!(9.5), true)];
        assert_eq!(
            taxed(Minor::new(10_000), &quebec, false),
            Some((Minor::new(11_498), Minor::new(1_498)))
        );
    }

    #[test]
    fn bans_and_caps_follow_the_place() {
        for banned in [
            at("FR", None),
            at("GB", None),
            at("PR", None),
            at("US", Some("CT")),
            at("US", Some("MA")),
            at("CA", Some("QC")),
        ] {
            assert_eq!(rule(banned), Rule::Banned, "{}", banned.label());
        }
        assert_eq!(rule(at("US", Some("CO"))), Rule::CappedAt(dec!(2)));
        assert_eq!(rule(at("CA", Some("ON"))), Rule::CappedAt(dec!(2.4)));
        assert_eq!(rule(at("CA", None)), Rule::CappedAt(dec!(2.4)));
        assert_eq!(rule(at("US", Some("NY"))), Rule::CappedAt(dec!(3)));
        assert_eq!(rule(at("AU", None)), Rule::CappedAt(dec!(3)));
        assert_eq!(rule(Place::default()), Rule::CappedAt(dec!(3)));
    }

    #[test]
    fn the_consumer_is_where_the_client_is_else_the_studio() {
        let studio = at("US", Some("NY"));
        let setting = Some(dec!(3));
        assert_eq!(percent_for(setting, studio, studio), Some(dec!(3)));
        let colorado = Place::of_consumer(at("US", Some("CO")), studio);
        assert_eq!(percent_for(setting, studio, colorado), Some(dec!(2)));
        let connecticut = Place::of_consumer(at("US", Some("CT")), studio);
        assert_eq!(percent_for(setting, studio, connecticut), None);
        let unrecorded = Place::of_consumer(Place::default(), studio);
        assert_eq!(unrecorded, studio);
        assert_eq!(percent_for(Some(dec!(0)), studio, studio), None);
        assert_eq!(percent_for(None, studio, studio), None);
    }

    #[test]
    fn the_setting_is_checked_where_the_studio_is() {
        assert!(setting_refused(at("US", Some("NY")), dec!(3)).is_none());
        assert!(setting_refused(at("US", Some("NY")), dec!(3.5)).is_some());
        assert!(setting_refused(at("US", Some("CO")), dec!(2.5)).is_some());
        assert!(setting_refused(at("CA", Some("ON")), dec!(2.4)).is_none());
        assert!(setting_refused(at("DE", None), dec!(1)).is_some());
        assert!(setting_refused(at("DE", None), dec!(0)).is_none());
        assert!(setting_malformed(dec!(2.125)).is_some());
        assert!(setting_malformed(dec!(-1)).is_some());
        assert!(setting_malformed(dec!(2.40)).is_none());
    }

    #[test]
    fn only_credit_cards_are_surcharged_rounded_half_away_from_zero() {
        let three = Some(dec!(3));
        assert_eq!(
            amount(Minor::new(10_000), three, Funding::Credit),
            Some(Minor::new(300))
        );
        // 2.5 % of 1.10 is 2.75 cents: 3.
        assert_eq!(
            amount(Minor::new(110), Some(dec!(2.5)), Funding::Credit),
            Some(Minor::new(3))
        );
        // 2.5 % of 1.00 is 2.5 cents: 3 (half away from zero).
        assert_eq!(
            amount(Minor::new(100), Some(dec!(2.5)), Funding::Credit),
            Some(Minor::new(3))
        );
        for other in [Funding::Debit, Funding::Prepaid, Funding::Unknown] {
            assert_eq!(amount(Minor::new(10_000), three, other), None);
        }
        assert_eq!(amount(Minor::new(10_000), None, Funding::Credit), None);
    }

    #[test]
    fn regions_exist_in_the_us_and_canada_only() {
        assert_eq!(parse_region(Some("US"), " ct "), Ok("CT".to_string()));
        assert_eq!(parse_region(Some("CA"), "qc"), Ok("QC".to_string()));
        assert!(parse_region(Some("US"), "QC").is_err());
        assert!(parse_region(Some("FR"), "IDF").is_err());
        assert!(parse_region(None, "NY").is_err());
    }
}
