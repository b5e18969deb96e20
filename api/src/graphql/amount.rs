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

#[Scalar(name = "Amount")]
impl ScalarType for Amount {
    fn parse(value: Value) -> InputValueResult<Self> {
        let raw = match &value {
            Value::String(s) => s.clone(),
            // A JSON integer is exact; a JSON float is not, so it is refused.
            Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
            _ => {
                return Err(refused(
                    "an amount is a string in plain decimal notation, e.g. \"2500.00\"",
                ));
            }
        };
        domain::kernel::money::parse_plain_decimal(&raw)
            .map(Amount)
            .map_err(refused)
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}
