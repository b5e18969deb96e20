//! SeaORM entities: the persistence model, one module per table.
//!
//! These types never leave `domain`/`worker`/`api` internals as API types: the
//! GraphQL layer defines its own objects. Money columns are [`money::Minor`]
//! amounts next to a [`money::Currency`] column (value types over `BIGINT`
//! and text); statuses are enums stored as text.

pub mod add_on_service;
pub mod api_key;
pub mod card_setup;
pub mod card_setup_session;
pub mod checkout_session;
pub mod client;
pub mod client_credit;
pub mod credit_note;
pub mod dispute;
pub mod enums;
pub mod gallery_access;
pub mod gallery_event;
pub mod gallery_photo;
pub mod gallery_selection;
pub mod invoice;
pub mod invoice_event;
pub mod invoice_line;
pub mod invoice_number_counter;
pub mod invoice_payer;
pub mod login_failure;
pub mod money;
pub mod notification;
pub mod outbox;
pub mod package;
pub mod payment;
pub mod payment_plan;
pub mod payment_plan_part;
pub mod refund;
pub mod reminder_policy;
pub mod session;
pub mod session_item;
pub mod session_payer;
pub mod simulated_charge;
pub mod simulated_checkout;
pub mod simulated_dispute;
pub mod simulated_intent;
pub mod staff_session;
pub mod staff_user;
pub mod studio;
pub mod tax_rate;
pub mod webhook_event;

pub mod prelude {
    pub use super::add_on_service::Entity as AddOnService;
    pub use super::api_key::Entity as ApiKey;
    pub use super::client::Entity as Client;
    pub use super::credit_note::Entity as CreditNote;
    pub use super::gallery_access::Entity as GalleryAccess;
    pub use super::invoice::Entity as Invoice;
    pub use super::invoice_event::Entity as InvoiceEvent;
    pub use super::invoice_line::Entity as InvoiceLine;
    pub use super::invoice_number_counter::Entity as InvoiceNumberCounter;
    pub use super::notification::Entity as Notification;
    pub use super::outbox::Entity as Outbox;
    pub use super::package::Entity as Package;
    pub use super::payment::Entity as Payment;
    pub use super::refund::Entity as Refund;
    pub use super::session::Entity as Session;
    pub use super::session_item::Entity as SessionItem;
    pub use super::simulated_charge::Entity as SimulatedCharge;
    pub use super::staff_session::Entity as StaffSession;
    pub use super::staff_user::Entity as StaffUser;
    pub use super::studio::Entity as Studio;
    pub use super::tax_rate::Entity as TaxRate;
    pub use super::webhook_event::Entity as WebhookEvent;
}
