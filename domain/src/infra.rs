//! Infra: the plumbing every service stands on. Database pools and the
//! write transaction, settings, the `AppContext` (which wires the adapters
//! the settings select), telemetry, secrets, the domain error type.
//!
//! Depends on `kernel`, `ports` and, in `context` alone, `adapters` (to
//! build them).

pub mod context;
pub mod db;
pub mod error;
pub mod rounds;
pub mod secrets;
pub mod settings;
pub mod signature;
pub mod startup;
pub mod telemetry;
