//! Adapters: the implementations of the ports. Stripe and the simulated
//! gateway (with its hosted checkout page and its fault injection), the file
//! and SMTP mailers, the in-process and Redis event publishers, and the
//! receiver of incoming gateway webhooks.
//!
//! Depends on `ports`, `kernel` and `infra`. Two edges go further and are
//! known: the webhook receiver applies events through the `billing` writers
//! (the same ones the return pages use), and the simulated gateway and its
//! checkout report what their webhook announces as
//! `next::Change::SimulatedEvent` through `workflow::next`.

pub mod events;
pub mod mailer;
pub mod probes;
pub mod sim_checkout;
pub mod sim_gateway;
pub mod stripe;
pub mod webhooks;
