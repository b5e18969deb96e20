//! The one money input scalar: every amount a client sends goes through it.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use domain::ErrorCode;
use rust_decimal::Decimal;

/// A money amount in plain decimal notation, sent as a string: `"2500.00"`,
/// `"0"`, `"-5"` (the currency is the studio's or the invoice's). Exponents
/// (`"1e3"`), spaces, `"NaN"`, `"Infinity"`, empty strings and JSON floats
/// are refused with `extensions.code` `INVALID_AMOUNT`; the range, sign and
/// decimal places are checked by the mutation (`userErrors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount(pub Decimal);

impl From<Amount> for Decimal {
    fn from(amount: Amount) -> Self {
        amount.0
    }
}

fn refused(message: impl std::fmt::Display) -> InputValueError<Amount> {
    InputValueError::custom(message).with_extension("code", ErrorCode::InvalidAmount.as_str())
}

/// The text of a decimal scalar's input (`Amount`, `Percent`): a string,
/// or a JSON integer (exact); a JSON float is not exact, so it is refused
/// (`None`), like any other kind of value.
pub(crate) fn decimal_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

#[Scalar(name = "Amount")]
impl ScalarType for Amount {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Some(raw) = decimal_text(&value) else {
            return Err(refused(
                "an amount is a string in plain decimal notation, e.g. \"2500.00\"",
            ));
        };
        domain::kernel::money::parse_plain_decimal(&raw)
            .map(Amount)
            .map_err(refused)
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}
