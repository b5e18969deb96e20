//! The one percentage input scalar: tax rates, discount and fee percentages,
//! the late fee's percentage. Like `Amount`, it accepts plain decimal
//! notation only, and refuses everything else with a stable code.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use domain::ErrorCode;
use rust_decimal::Decimal;

/// At most this many decimal places (`"8.8750"`).
const MAX_SCALE: u32 = 4;

/// A percentage of a price in plain decimal notation, sent as a string:
/// `"8.875"`, `"10"`, `"0"`, `"100"`. Between 0 and 100 inclusive, at most 4
/// decimal places (trailing zeros do not count). Exponents (`"1e1"`),
/// signs (`"-1"`), spaces (`" 10"`), `"NaN"`, `"Infinity"`, empty strings,
/// too many digits, values above 100 (`"100.0001"`) and JSON floats are
/// refused with `extensions.code` `INVALID_PERCENT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Percent(pub Decimal);

impl From<Percent> for Decimal {
    fn from(percent: Percent) -> Self {
        percent.0
    }
}

fn refused(message: impl std::fmt::Display) -> InputValueError<Percent> {
    InputValueError::custom(message).with_extension("code", ErrorCode::InvalidPercent.as_str())
}

/// Parses a percentage as the scalar does (see [`Percent`]).
pub fn parse_percent(raw: &str) -> Result<Decimal, String> {
    if raw.starts_with('-') {
        return Err("a percentage is between 0 and 100".into());
    }
    let percent = domain::kernel::money::parse_plain_decimal(raw).map_err(|e| e.to_string())?;
    if percent > Decimal::ONE_HUNDRED {
        return Err("a percentage is between 0 and 100".into());
    }
    let percent = percent.normalize();
    if percent.scale() > MAX_SCALE {
        return Err(format!(
            "a percentage has at most {MAX_SCALE} decimal places"
        ));
    }
    Ok(percent)
}

#[Scalar(name = "Percent")]
impl ScalarType for Percent {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Some(raw) = super::amount::decimal_text(&value) else {
            return Err(refused(
                "a percentage is a string in plain decimal notation, e.g. \"8.875\"",
            ));
        };
        parse_percent(&raw).map(Percent).map_err(refused)
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_percentages_between_0_and_100_pass() {
        for ok in ["0", "10", "8.875", "100", "100.0000", "0.0001", "12.50000"] {
            assert!(parse_percent(ok).is_ok(), "{ok}");
        }
        for bad in [
            "NaN",
            "Infinity",
            "",
            " 10",
            "10 ",
            "1e1",
            "-1",
            "-0",
            "100.0001",
            "0.00001",
            "+5",
            "1,5",
            "99999999999999999999999999999999",
        ] {
            assert!(parse_percent(bad).is_err(), "{bad}");
        }
    }
}
