//! Money: integer minor units plus an ISO 4217 currency. No floats anywhere.
//!
//! These are the column types: every `*_minor` column is a [`Minor`], every
//! `currency` column a [`Currency`] (sea-orm value types over the same
//! `BIGINT` and text columns, so the schema is unchanged). A row read from
//! the database therefore holds a known currency, and an amount cannot be
//! mixed up with a count or an id. `Decimal` appears only for rates and at
//! the API edge, where every amount is parsed by [`parse_plain_decimal`]
//! (plain decimal notation only). Sums of [`Money`] are checked and refuse a
//! second currency; [`checked_sum`] never wraps; release builds keep
//! `overflow-checks`, so `+` on [`Minor`] panics rather than wraps.
use rust_decimal::Decimal;
use sea_orm::DeriveValueType;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("unknown currency code `{0}`")]
    UnknownCurrency(String),
    #[error("`{0}` is not an amount in plain decimal notation (e.g. \"2500.00\")")]
    NotANumber(String),
    #[error("amount must not be negative")]
    Negative,
    #[error("{currency} amounts have at most {exponent} decimal places")]
    TooPrecise { currency: String, exponent: u32 },
    #[error("amount is too large")]
    TooLarge,
    #[error("{0} and {1} amounts do not add up")]
    CurrencyMismatch(&'static str, &'static str),
}

/// An ISO 4217 currency with its minor-unit exponent (JPY 0, USD 2, KWD 3).
/// Stored as its upper-case code; a stored code that is not a currency is a
/// read error, never a default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, DeriveValueType)]
#[sea_orm(value_type = "String")]
pub struct Currency(iso_currency::Currency);

impl Currency {
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        let upper = code.trim().to_ascii_uppercase();
        iso_currency::Currency::from_code(&upper)
            .filter(|c| c.exponent().is_some())
            .map(Currency)
            .ok_or(MoneyError::UnknownCurrency(code.to_string()))
    }

    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    /// Number of decimal places of the minor unit.
    pub fn exponent(&self) -> u32 {
        self.0.exponent().map(u32::from).unwrap_or(2)
    }

    /// Converts a decimal amount (`"149.99"`) into minor units, refusing
    /// negative amounts and more decimal places than the currency has.
    pub fn parse_amount(&self, amount: Decimal) -> Result<Minor, MoneyError> {
        if amount.is_sign_negative() && !amount.is_zero() {
            return Err(MoneyError::Negative);
        }
        let normalized = amount.normalize();
        if normalized.scale() > self.exponent() {
            return Err(MoneyError::TooPrecise {
                currency: self.code().to_string(),
                exponent: self.exponent(),
            });
        }
        let factor = Decimal::from(10_i64.pow(self.exponent()));
        let minor = normalized.checked_mul(factor).ok_or(MoneyError::TooLarge)?;
        i64::try_from(minor)
            .map(Minor)
            .map_err(|_| MoneyError::TooLarge)
    }

    pub fn parse_amount_str(&self, amount: &str) -> Result<Minor, MoneyError> {
        self.parse_amount(parse_plain_decimal(amount)?)
    }

    /// Minor units as an exact decimal (`14999` USD -> `149.99`).
    pub fn to_decimal(&self, minor: Minor) -> Decimal {
        Decimal::new(minor.0, self.exponent())
    }
}

/// Serialized as its code (`"USD"`), as the columns hold it.
impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Currency::parse(&code).map_err(serde::de::Error::custom)
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    fn from_str(code: &str) -> Result<Self, MoneyError> {
        Self::parse(code)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An amount in a currency's minor units (cents, yen, fils), without the
/// currency: the type of every `*_minor` column and of every amount the
/// billing core takes or returns. It is not an id, a count or a quantity, so
/// none of those can be passed where an amount is expected. `+` and `-` keep
/// release builds' overflow checks (a panic, never a wrapped amount); use
/// [`Minor::checked_add`] / [`checked_sum`] where the inputs come from a
/// person.
///
/// An amount is not a number of anything else, and two amounts add only as
/// amounts:
///
/// ```compile_fail
/// use entity::money::Minor;
/// let _ = Minor::new(1_500) + 1_i64; // a count, an id or a bare literal
/// ```
///
/// ```
/// use entity::money::Minor;
/// assert_eq!(Minor::new(1_500) + Minor::new(250), Minor::new(1_750));
/// ```
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    DeriveValueType,
)]
#[serde(transparent)]
pub struct Minor(i64);

impl Minor {
    pub const ZERO: Minor = Minor(0);

    pub const fn new(minor: i64) -> Self {
        Self(minor)
    }

    /// The number of minor units, for arithmetic that is not a sum (rates,
    /// shares, the pricing engine) and for the wire.
    pub const fn get(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Minor) -> Option<Minor> {
        self.0.checked_add(other.0).map(Minor)
    }

    pub fn checked_sub(self, other: Minor) -> Option<Minor> {
        self.0.checked_sub(other.0).map(Minor)
    }

    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// This amount, or zero when it is negative.
    pub fn at_least_zero(self) -> Minor {
        self.max(Minor::ZERO)
    }

    /// In `currency`, for display and for the ports.
    pub fn of(self, currency: Currency) -> Money {
        Money::new(self, currency)
    }
}

impl fmt::Display for Minor {
    /// The bare number of minor units (`1500`): for logs, keys and the wire.
    /// An amount shown to a person is a [`Money`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Add for Minor {
    type Output = Minor;
    fn add(self, other: Minor) -> Minor {
        Minor(self.0 + other.0)
    }
}

impl Sub for Minor {
    type Output = Minor;
    fn sub(self, other: Minor) -> Minor {
        Minor(self.0 - other.0)
    }
}

impl AddAssign for Minor {
    fn add_assign(&mut self, other: Minor) {
        self.0 += other.0;
    }
}

impl SubAssign for Minor {
    fn sub_assign(&mut self, other: Minor) {
        self.0 -= other.0;
    }
}

impl Neg for Minor {
    type Output = Minor;
    fn neg(self) -> Minor {
        Minor(-self.0)
    }
}

impl Sum for Minor {
    fn sum<I: Iterator<Item = Minor>>(iter: I) -> Minor {
        iter.fold(Minor::ZERO, Add::add)
    }
}

impl<'a> Sum<&'a Minor> for Minor {
    fn sum<I: Iterator<Item = &'a Minor>>(iter: I) -> Minor {
        iter.copied().sum()
    }
}

/// Parses an amount written in plain decimal notation: an optional leading
/// `-`, digits, and optionally `.` followed by digits (`"2500.00"`, `"0"`,
/// `"-5"`). Exponents (`1e3`), spaces, `+`, `NaN`, `Infinity` and empty text
/// are refused: an amount typed by a person or a program is never any of
/// those, and accepting them turned `1e3` into 1000.00.
pub fn parse_plain_decimal(raw: &str) -> Result<Decimal, MoneyError> {
    let not_plain = || MoneyError::NotANumber(raw.to_string());
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (digits, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if raw.len() > 40 || !all_digits(whole) || fraction.is_some_and(|f| !all_digits(f)) {
        return Err(not_plain());
    }
    // Plain digits can still be too long for a decimal (28 significant digits).
    Decimal::from_str_exact(raw).map_err(|_| MoneyError::TooLarge)
}

/// Sums amounts of money with checked arithmetic: `None` on overflow, never a
/// wrapped (release) or panicking (debug) sum.
pub fn checked_sum(amounts: impl IntoIterator<Item = Minor>) -> Option<Minor> {
    amounts
        .into_iter()
        .try_fold(Minor::ZERO, |acc, amount| acc.checked_add(amount))
}

/// An amount of one currency in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    pub minor: Minor,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: Minor, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// An amount written by a program (a gateway's reply, a test): minor
    /// units and a currency code (a code that is not a currency is an error,
    /// not a default).
    pub fn stored(minor: i64, code: &str) -> Result<Self, MoneyError> {
        Ok(Self::new(Minor(minor), Currency::parse(code)?))
    }

    /// The sum, in the one currency both are in; never wrapped.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::TooLarge)?;
        Ok(Self::new(minor, self.currency))
    }

    /// The difference, in the one currency both are in; never wrapped.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self
            .minor
            .checked_sub(other.minor)
            .ok_or(MoneyError::TooLarge)?;
        Ok(Self::new(minor, self.currency))
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(
                self.currency.code(),
                other.currency.code(),
            ))
        }
    }

    /// Lowercase ISO 4217, as Stripe's API writes it (`usd`).
    pub fn currency_lowercase(&self) -> String {
        self.currency.code().to_ascii_lowercase()
    }

    pub fn amount(&self) -> Decimal {
        self.currency.to_decimal(self.minor)
    }
}

impl fmt::Display for Money {
    /// `USD 1,234.56`, `JPY 12,000`, `KWD 1.250`, and `-USD 120.00` for a
    /// negative amount (an ASCII hyphen before the code: the PDF's built-in
    /// fonts cannot draw U+2212): the same text in the API, the emails, the
    /// PDFs, the portal and the dashboard. Nothing else spells money.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exp = self.currency.exponent();
        let negative = self.minor.is_negative();
        let abs = self.minor.get().unsigned_abs();
        let divisor = 10_u64.pow(exp);
        let whole = abs / divisor;
        let frac = abs % divisor;
        let digits = whole.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        let sign = if negative { "-" } else { "" };
        if exp == 0 {
            write!(f, "{sign}{} {grouped}", self.currency.code())
        } else {
            write!(
                f,
                "{sign}{} {grouped}.{frac:0width$}",
                self.currency.code(),
                width = exp as usize
            )
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn column_values_keep_their_stored_form() {
        // A currency is stored and serialized as its code, read back
        // leniently, and a code that is not a currency is an error.
        let usd: Currency = "usd".parse().expect("usd");
        assert_eq!(sea_orm::Value::from(usd), sea_orm::Value::from("USD"));
        assert_eq!(serde_json::to_string(&usd).expect("json"), "\"USD\"");
        assert_eq!(
            serde_json::from_str::<Currency>("\"JPY\"").ok(),
            Currency::parse("JPY").ok()
        );
        assert!(serde_json::from_str::<Currency>("\"XXZ\"").is_err());
        assert!("XXZ".parse::<Currency>().is_err());
        // An amount is its bare number of minor units on the wire and in
        // the column, so job payloads and stored JSON did not change.
        assert_eq!(
            sea_orm::Value::from(Minor::new(1_500)),
            sea_orm::Value::from(1_500_i64)
        );
        assert_eq!(serde_json::to_string(&Minor::new(-7)).expect("json"), "-7");
        assert_eq!(
            serde_json::from_str::<Minor>("42").expect("json"),
            Minor::new(42)
        );
        assert_eq!(Minor::new(i64::MAX).checked_add(Minor::new(1)), None);
        assert_eq!(
            checked_sum([Minor::new(1), Minor::new(2)]),
            Some(Minor::new(3))
        );
        assert_eq!(checked_sum([Minor::new(i64::MAX), Minor::new(1)]), None);
        assert_eq!(Minor::new(-5).at_least_zero(), Minor::ZERO);
    }

    #[test]
    fn money_adds_and_subtracts_in_one_currency_only_and_never_wraps() {
        let usd = |minor| Money::stored(minor, "usd").expect("USD");
        assert_eq!(usd(1_250).checked_add(usd(50)), Ok(usd(1_300)));
        assert_eq!(usd(1_250).checked_sub(usd(1_300)), Ok(usd(-50)));
        let jpy = Money::stored(100, "JPY").expect("JPY");
        assert_eq!(
            usd(1).checked_add(jpy),
            Err(MoneyError::CurrencyMismatch("USD", "JPY"))
        );
        assert_eq!(usd(i64::MAX).checked_add(usd(1)), Err(MoneyError::TooLarge));
        assert_eq!(usd(i64::MIN).checked_sub(usd(1)), Err(MoneyError::TooLarge));
        assert!(
            Money::stored(1, "XXZ").is_err(),
            "a stored code must be a currency"
        );
        assert_eq!(usd(1).currency_lowercase(), "usd");
    }

    use super::*;

    #[test]
    fn only_plain_decimal_notation_is_an_amount() {
        for (raw, expected) in [
            ("2500.00", "2500.00"),
            ("0", "0"),
            ("-5", "-5"),
            ("10.5", "10.5"),
            ("007", "7"),
        ] {
            assert_eq!(
                parse_plain_decimal(raw).unwrap().to_string(),
                expected,
                "{raw}"
            );
        }
        for bad in [
            "",
            " ",
            " 10.00",
            "10.00 ",
            "1e3",
            "1E3",
            "NaN",
            "nan",
            "Infinity",
            "-Infinity",
            "+5",
            "1.",
            ".5",
            "1,000.00",
            "1_000",
            "--5",
            "0x10",
            "١٢",
            "1.2.3",
        ] {
            assert!(
                matches!(parse_plain_decimal(bad), Err(MoneyError::NotANumber(_))),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_plain_decimal("123456789012345678901234567890"),
            Err(MoneyError::TooLarge)
        );
    }
    use rust_decimal_macros::dec;

    fn cur(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    #[test]
    fn exponents_follow_iso_4217() {
        assert_eq!(cur("JPY").exponent(), 0);
        assert_eq!(cur("usd").exponent(), 2);
        assert_eq!(cur("KWD").exponent(), 3);
    }

    #[test]
    fn unknown_currency_is_rejected() {
        assert!(matches!(
            Currency::parse("XYZ"),
            Err(MoneyError::UnknownCurrency(_))
        ));
    }

    #[test]
    fn amounts_parse_to_minor_units() {
        assert_eq!(cur("USD").parse_amount(dec!(149.99)), Ok(Minor(14999)));
        assert_eq!(cur("USD").parse_amount(dec!(149.90)), Ok(Minor(14990)));
        assert_eq!(cur("JPY").parse_amount(dec!(12000)), Ok(Minor(12000)));
        assert_eq!(cur("KWD").parse_amount(dec!(1.250)), Ok(Minor(1250)));
        assert_eq!(cur("USD").parse_amount_str("0"), Ok(Minor(0)));
    }

    #[test]
    fn bad_amounts_are_rejected() {
        assert_eq!(cur("USD").parse_amount(dec!(-1)), Err(MoneyError::Negative));
        assert!(matches!(
            cur("USD").parse_amount(dec!(1.005)),
            Err(MoneyError::TooPrecise { .. })
        ));
        assert!(matches!(
            cur("JPY").parse_amount(dec!(1.5)),
            Err(MoneyError::TooPrecise { .. })
        ));
        assert!(matches!(
            cur("USD").parse_amount_str("ten"),
            Err(MoneyError::NotANumber(_))
        ));
    }

    #[test]
    fn money_displays_with_grouping_and_exponent() {
        assert_eq!(
            Money::new(Minor(123456), cur("USD")).to_string(),
            "USD 1,234.56"
        );
        assert_eq!(Money::new(Minor(5), cur("USD")).to_string(), "USD 0.05");
        assert_eq!(
            Money::new(Minor(1200000), cur("JPY")).to_string(),
            "JPY 1,200,000"
        );
        assert_eq!(Money::new(Minor(1250), cur("KWD")).to_string(), "KWD 1.250");
        assert_eq!(Money::new(Minor(-150), cur("EUR")).to_string(), "-EUR 1.50");
        assert_eq!(
            Money::new(Minor(-12_000), cur("JPY")).to_string(),
            "-JPY 12,000"
        );
        assert_eq!(
            Money::new(Minor(-12_000_000), cur("USD")).to_string(),
            "-USD 120,000.00"
        );
    }
}
