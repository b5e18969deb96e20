//! Money: integer minor units plus an ISO 4217 currency. No floats anywhere.
//!
//! The value types live in `entity::money` because they are the column types
//! (`Minor` for every `*_minor` column, `Currency` for every `currency`
//! column): a row read from the database already holds checked values, and the
//! billing core takes and returns them, never a bare `i64` or a currency code
//! string. This module is where the rest of the domain imports them from.

pub use entity::money::{Currency, Minor, Money, MoneyError, checked_sum, parse_plain_decimal};
