//! What both processes share: money and pricing, the billing rules and
//! services, job payloads, and the ports (gateway, mailer) with their adapters.
//!
//! Architecture invariant: nothing here knows HTTP or GraphQL.

pub mod adjustments;
pub mod api_keys;
pub mod card_setup;
pub mod catalog;
pub mod checkout;
pub mod clock;
pub mod context;
pub mod credits;
pub mod dashboard;
pub mod db;
pub mod documents;
pub mod emails;
pub mod error;
pub mod events;
pub mod failing_steps;
pub mod gallery;
pub mod gateway;
pub mod invoicing;
pub mod jobs;
pub mod lifecycle;
pub mod login_limits;
pub mod mailer;
pub mod metrics;
pub mod money;
pub mod notify;
pub mod numbering;
pub mod outbox;
pub mod payments;
pub mod pdf;
pub mod portal;
pub mod pricing;
pub mod queries;
pub mod refunds;
pub mod reminders;
pub mod secrets;
pub mod seed;
pub mod sessions;
pub mod settings;
pub mod sim_checkout;
pub mod staff;
pub mod stripe;
pub mod studios;
pub mod telemetry;
pub mod validate;
pub mod webhooks;

pub use context::AppContext;
pub use error::{DomainError, DomainResult, ErrorCode, UserError};
