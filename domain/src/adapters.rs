pub mod sim_checkout;
pub mod stripe;
pub mod webhooks;
