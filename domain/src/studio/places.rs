//! Where a studio or a client is, as the studio changes it: the country
//! (ISO 3166-1 alpha-2, `kernel::country`) and, in the US and Canada, the
//! state or province (`kernel::surcharge::parse_region`). Consumer rules
//! follow them: the EU/EEA plan guardrail, the card surcharge's bans and
//! caps.

use crate::infra::error::UserError;
use crate::kernel::validate::Problems;

/// A change of place from input: `None` keeps, `""` clears.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlaceChange<'a> {
    pub country: Option<&'a str>,
    pub region: Option<&'a str>,
}

/// The place after `change` from `(country, region)`; problems under
/// `country` and `region`. A region belongs to its country: changing the
/// country without giving a region clears it.
pub(crate) fn apply(
    problems: &mut Problems,
    change: PlaceChange<'_>,
    current: (Option<String>, Option<String>),
) -> (Option<String>, Option<String>) {
    let (mut country, mut region) = current;
    if let Some(raw) = change.country {
        let next = match raw.trim() {
            "" => None,
            code => match crate::kernel::country::parse(code) {
                Ok(code) => Some(code),
                Err(e) => {
                    problems.push(UserError::invalid("country", e));
                    country.clone()
                }
            },
        };
        if next != country {
            region = None;
        }
        country = next;
    }
    if let Some(raw) = change.region {
        region = match raw.trim() {
            "" => None,
            code => match crate::kernel::surcharge::parse_region(country.as_deref(), code) {
                Ok(code) => Some(code),
                Err(e) => {
                    problems.push(UserError::invalid("region", e));
                    None
                }
            },
        };
    }
    (country, region)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        change: PlaceChange<'_>,
        current: (&str, &str),
    ) -> Result<(Option<String>, Option<String>), usize> {
        let mut problems = Problems::new();
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let out = apply(&mut problems, change, (some(current.0), some(current.1)));
        problems.finish().map(|_| out).map_err(|e| e.len())
    }

    #[test]
    fn a_region_belongs_to_its_country() {
        let us_ct = PlaceChange {
            country: Some("us"),
            region: Some("ct"),
        };
        assert_eq!(
            run(us_ct, ("", "")),
            Ok((Some("US".into()), Some("CT".into())))
        );
        // A new country without a region clears the old region.
        let to_canada = PlaceChange {
            country: Some("CA"),
            region: None,
        };
        assert_eq!(run(to_canada, ("US", "CT")), Ok((Some("CA".into()), None)));
        // The same country keeps it.
        let same = PlaceChange {
            country: Some("US"),
            region: None,
        };
        assert_eq!(
            run(same, ("US", "CT")),
            Ok((Some("US".into()), Some("CT".into())))
        );
        let region_only = PlaceChange {
            country: None,
            region: Some("QC"),
        };
        assert_eq!(
            run(region_only, ("CA", "")),
            Ok((Some("CA".into()), Some("QC".into())))
        );
        assert_eq!(run(region_only, ("US", "")), Err(1));
        assert_eq!(run(region_only, ("", "")), Err(1));
        let cleared = PlaceChange {
            country: Some(""),
            region: None,
        };
        assert_eq!(run(cleared, ("US", "NY")), Ok((None, None)));
    }
}
