//! Where a studio or a client is: an ISO 3166-1 alpha-2 code, and what the
//! product's rules take from it. A payment plan of a client in the EU/EEA
//! ends at most [`crate::kernel::plan::EU_DEFERRAL_DAYS`] days after the
//! session, since a later deferred payment is consumer credit (Directive
//! (EU) 2023/2225, art. 2(2)(h)); the card surcharge's rules are in
//! `kernel::surcharge`.

use isocountry::CountryCode;

/// The members of the European Economic Area: the 27 of the EU, Iceland,
/// Liechtenstein and Norway.
const EEA: [&str; 30] = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
];

/// `code` as stored: upper-case alpha-2 (`"fr"` → `"FR"`), or why it is not
/// a country.
pub fn parse(code: &str) -> Result<String, String> {
    let upper = code.trim().to_ascii_uppercase();
    match CountryCode::for_alpha2(&upper) {
        Ok(_) => Ok(upper),
        Err(_) => Err(format!(
            "`{}` is not an ISO 3166-1 alpha-2 country code (e.g. US, FR, GB)",
            code.trim()
        )),
    }
}

/// Whether a stored country code is in the EU/EEA.
pub fn in_eea(code: Option<&str>) -> bool {
    code.is_some_and(|c| EEA.contains(&c))
}

/// Whether a consumer buying from a studio in `code` may withdraw from a
/// purchase of digital content for 14 days, unless they ask for its supply
/// to start at once (the EU/EEA: Directive 2011/83/EU, art. 16(m); the UK:
/// the Consumer Contracts Regulations 2013, reg. 37).
pub fn digital_withdrawal_right(code: Option<&str>) -> bool {
    in_eea(code) || code == Some("GB")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_checked_and_stored_upper_case() {
        assert_eq!(parse(" fr "), Ok("FR".to_string()));
        assert_eq!(parse("US"), Ok("US".to_string()));
        assert!(parse("XX").is_err());
        assert!(parse("FRA").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn the_eea_is_the_eu_and_three_more() {
        assert!(in_eea(Some("DE")));
        assert!(in_eea(Some("NO")));
        assert!(!in_eea(Some("GB")));
        assert!(!in_eea(Some("CH")));
        assert!(!in_eea(Some("US")));
        assert!(!in_eea(None));
        assert!(digital_withdrawal_right(Some("GB")) && digital_withdrawal_right(Some("FR")));
        assert!(!digital_withdrawal_right(Some("US")) && !digital_withdrawal_right(None));
        for code in EEA {
            assert_eq!(parse(code).as_deref(), Ok(code));
        }
    }
}
