//! The kernel: pure values and rules. Money and currencies, pricing and its
//! rounding, numbering, validation of user input and its errors, the
//! reminder plan, stored adjustments, the clock.
//!
//! Depends on nothing else in this crate, and on no database, network, mail
//! or async-runtime crate (std, chrono, rust_decimal, serde and pure parsers
//! only). Functions that need the time take `now` as a parameter; `clock` is
//! the one reader of the system time. Checked by the `architecture` tests.

pub mod adjustments;
pub mod clock;
pub mod country;
pub mod error;
pub mod extras;
pub mod ids;
pub mod keys;
pub mod money;
pub mod numbering;
pub mod on_top;
pub mod payers;
pub mod plan;
pub mod pricing;
pub mod reminder_plan;
pub mod shares;
pub mod surcharge;
pub mod tips;
pub mod validate;
