//! What both processes share, in layers (ARCHITECTURE.md): `kernel` pure values and rules,
//! `studio` and `billing` and `followup` the services, `workflow` the jobs and what happens next,
//! `ports` the traits of the outside world and `adapters` their implementations, `infra` the
//! plumbing, `read` the queries and reports.
//!
//! Architecture invariant: nothing here knows HTTP or GraphQL.

pub mod adapters;
pub mod app;
pub mod billing;
pub mod followup;
pub mod infra;
pub mod kernel;
pub mod ports;
pub mod read;
pub mod studio;
pub mod workflow;

pub use app::compose::Built;
pub use infra::context::AppContext;
pub use infra::error::{DomainError, DomainResult, ErrorCode, UserError};
