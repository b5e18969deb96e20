pub mod events;
pub mod gateway;
pub mod mailer;
