//! App: the top floor. The composition root (`compose`: settings in, an
//! `AppContext` with its adapters out), the webhook entry (`webhooks`: the
//! adapter's typed event into `billing`) and the demo data (`seed`), which
//! goes through the services like any caller.
//!
//! May depend on every other layer; no layer depends on it.

pub mod compose;
pub mod seed;
pub mod webhooks;
