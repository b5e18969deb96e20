//! Ids as types where they cross a function boundary. Every id is an `i64`
//! in the database, so `lock_invoice(tx, invoice_id, studio_id)` (swapped)
//! would compile and find nothing, or worse, the wrong row; with a type per
//! id it does not compile. An id is made from a number on purpose
//! (`InvoiceId::new(id)`), never converted silently (no `From<i64>`).
//!
//! ```compile_fail
//! use domain::kernel::ids::{InvoiceId, StudioId};
//! fn lock_invoice(_studio: StudioId, _invoice: InvoiceId) {}
//! // Swapped: does not compile.
//! lock_invoice(InvoiceId::new(7), StudioId::new(1));
//! ```
//!
//! ```
//! use domain::kernel::ids::{InvoiceId, StudioId};
//! fn lock_invoice(_studio: StudioId, _invoice: InvoiceId) {}
//! lock_invoice(StudioId::new(1), InvoiceId::new(7));
//! ```

use std::fmt;

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(i64);

        impl $name {
            pub const fn new(id: i64) -> Self {
                Self(id)
            }

            /// The number stored in the database.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

ids! {
    /// A studio (the tenant: every other row belongs to one).
    StudioId;
    /// A client of a studio.
    ClientId;
    /// A photo session.
    SessionId;
    /// An invoice.
    InvoiceId;
    /// A payment on an invoice.
    PaymentId;
    /// A photo in a session's gallery.
    PhotoId;
    /// A studio's API key.
    ApiKeyId;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_its_number_and_prints_as_it() {
        let id = InvoiceId::new(42);
        assert_eq!(id.get(), 42);
        assert_eq!(id.to_string(), "42");
        assert!(StudioId::new(1) < StudioId::new(2));
    }
}
