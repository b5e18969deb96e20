//! Adapters: the implementations of the ports. Stripe (its API, and its
//! events read into typed `GatewayEvent`s) and the simulated gateway (with
//! its hosted checkout page, its fault injection and its signed webhooks),
//! the file and SMTP mailers, the in-process and Redis event publishers.
//!
//! Depends on `ports`, `kernel`, `infra` and `workflow`: the simulated
//! gateway and its checkout report what their webhook announces as
//! `next::Change::SimulatedEvent` through `workflow::next`. Never on the
//! services: applying an event is `billing::webhooks`' work.

pub mod events;
pub mod mailer;
pub mod probes;
mod sim_cards;
pub mod sim_checkout;
pub mod sim_disputes;
pub mod sim_gateway;
pub mod sim_webhooks;
pub mod stripe;
