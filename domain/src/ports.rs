//! Ports: the traits through which the domain reaches the outside world (the
//! payment gateway, the mailer, the event publisher) and the types in their
//! signatures. No implementation lives here (see `adapters`).
//!
//! Depends on `kernel` only (and std, serde, chrono, async-trait; the mailer
//! takes lettre's built `Message`). Checked by the `architecture` tests.

pub mod disputes;
pub mod events;
pub mod gateway;
pub mod gateway_events;
pub mod mailer;
