//! Follow-up services: reminders and late fees, gallery access, the emails.
//!
//! Services depend on `kernel`, `ports`, `workflow` and `infra`, and on
//! `billing` and `studio` for what they follow up (the gallery posts its
//! signed events through `infra::signature`).

pub mod disputes;
pub mod email_body;
pub mod emails;
pub mod gallery;
pub mod payer_emails;
pub mod plan_emails;
pub mod receipts;
pub mod refund_emails;
pub mod reminders;
