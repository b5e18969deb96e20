//! Billing services: invoices (draft, finalize, reissue, void), the
//! lifecycle and its audit trail, payments, refunds, credits, hosted
//! checkout and card setup, documents and their PDF, the portal link, the
//! billing events.
//!
//! Services depend on `kernel`, `ports`, `workflow` and `infra`, and on each
//! other where one's step starts another's (`invoicing` schedules the first
//! `followup::reminders` step; `documents` reads through `read::queries`).

pub mod card_setup;
pub mod checkout;
pub mod closing;
pub mod credits;
pub mod disputes;
pub mod documents;
pub mod events;
pub mod extras;
pub mod hosted;
pub mod installments;
pub mod invoicing;
pub mod labels;
pub mod lifecycle;
pub mod numbering;
pub mod payers;
pub mod payments;
pub mod pdf;
pub mod portal;
pub mod refunds;
pub mod surcharge;
pub mod tips;
pub mod webhooks;
