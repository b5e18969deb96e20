//! The `Money` object: exact minor units plus the ISO 4217 currency.

use async_graphql::SimpleObject;
use domain::kernel::money::{Currency, Minor, Money as DomainMoney};
use rust_decimal::Decimal;

// An amount of money: exact minor units plus the ISO 4217 currency.
#[derive(SimpleObject)]
pub struct Money {
    /// Decimal amount as a string, e.g. `"1234.56"` (exact, never a float).
    pub amount: Decimal,
    /// Integer minor units (cents): what is stored and charged.
    pub minor_units: i64,
    pub currency: String,
    /// Display text, identical to the email and the portal (`USD 1,234.56`).
    pub formatted: String,
}

impl Money {
    pub fn of(minor: Minor, currency: Currency) -> Self {
        let money = DomainMoney::new(minor, currency);
        Self {
            amount: money.amount(),
            minor_units: money.minor.get(),
            currency: money.currency.code().to_string(),
            formatted: money.to_string(),
        }
    }
}
