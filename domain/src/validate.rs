//! Parsing of user input into domain values; every problem is collected so
//! the caller hears about all of them at once.

use crate::error::{DomainError, UserError};
use crate::money::Currency;
use rust_decimal::Decimal;

/// A syntactically valid email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        let address: lettre::Address = trimmed
            .parse()
            .map_err(|_| format!("`{trimmed}` is not a valid email address"))?;
        if !address.domain().contains('.') && address.domain() != "localhost" {
            return Err(format!("`{trimmed}` is not a valid email address"));
        }
        Ok(Self(address.to_string().to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[derive(Default)]
pub struct Problems(Vec<UserError>);

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, error: UserError) {
        self.0.push(error);
    }

    /// A trimmed, non-empty name of at most 200 characters.
    pub fn name(&mut self, field: &str, raw: &str) -> String {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            self.push(UserError::invalid(field, "must not be empty"));
        } else if trimmed.chars().count() > 200 {
            self.push(UserError::invalid(field, "must be at most 200 characters"));
        }
        trimmed.to_string()
    }

    pub fn email(&mut self, field: &str, raw: &str) -> String {
        match EmailAddress::parse(raw) {
            Ok(email) => email.into_inner(),
            Err(message) => {
                self.push(UserError::invalid(field, message));
                String::new()
            }
        }
    }

    /// A non-negative amount in the studio's currency, in minor units.
    pub fn amount(&mut self, field: &str, currency: Currency, amount: Decimal) -> i64 {
        match currency.parse_amount(amount) {
            Ok(minor) => minor,
            Err(err) => {
                self.push(UserError::invalid(field, err.to_string()));
                0
            }
        }
    }

    pub fn percent(&mut self, field: &str, percent: Decimal) -> Decimal {
        if percent.is_sign_negative() || percent > Decimal::ONE_HUNDRED {
            self.push(UserError::invalid(field, "must be between 0 and 100"));
        } else if percent.normalize().scale() > 4 {
            self.push(UserError::invalid(
                field,
                "must have at most 4 decimal places",
            ));
        }
        percent.normalize()
    }

    pub fn finish(self) -> Result<(), DomainError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DomainError::User(self.0))
        }
    }
}

/// A client-chosen idempotency key: 1 to 100 printable ASCII characters.
pub fn idempotency_key(field: &str, key: &str) -> Result<(), DomainError> {
    let ok = !key.is_empty() && key.len() <= 100 && key.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(UserError::invalid(
            field,
            "an idempotency key is 1 to 100 printable ASCII characters without spaces",
        )
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_parsed_and_normalised() {
        assert_eq!(
            EmailAddress::parse(" Ava@Example.com ").unwrap().as_str(),
            "ava@example.com"
        );
        for bad in [
            "",
            "ava",
            "ava@",
            "@example.com",
            "ava@@example.com",
            "ava@example",
            "a b@example.com",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad} should be rejected"
            );
        }
    }
}
