//! Database migrations, identical on SQLite and PostgreSQL.
//!
//! Migrations are timestamped, reversible and never edited once landed.
//! sea-orm keeps its bookkeeping in `seaql_migrations`, away from the apalis
//! tables (`Jobs`, `Workers`, `_sqlx_migrations`).
//!
//! A change SQLite cannot express with `ALTER TABLE` rebuilds the table on
//! one pooled connection with foreign keys off (copy, drop, rename, recreate
//! indexes, `foreign_key_check`) and closes that connection.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_create_schema;
mod m20261125_000002_billing_lifecycle;
mod m20261128_000003_invoice_reissue;
mod m20261128_000004_webhook_ordering;
mod m20261128_000005_staff_accounts;
mod m20261128_000006_reminders;
mod m20261128_000007_gallery_policy;
mod m20261129_000011_api_key_last_used;
mod m20261129_000021_notification_errors;
mod m20261129_000022_invoice_tax_inclusive;
mod m20261129_000041_refund_credit_notes;
mod m20261129_000050_hosted_checkout;
mod m20261129_000051_gateway_customer;
mod m20261130_000110_card_setup;
mod m20261130_000120_gateway_attempts;
mod m20261130_000130_retainer_excess;
mod m20261130_000140_gallery_links_and_login_limits;
mod m20261201_000210_credit_repaid;
mod m20261201_000300_outbox_notify;
mod m20261202_000100_outbox_notify_after_commit;
mod m20261204_000100_client_display_name;
mod m20261205_000100_payment_plans;
mod m20261205_000200_package_plan_template;
mod m20261205_000300_installments;
mod m20261205_000400_plan_notice;
mod m20261206_000100_plan_revision;
mod m20261206_000200_refund_groups;
mod m20261206_000300_gallery_waits_for_plan;
mod m20261207_000100_plan_rules;
mod m20261207_000200_rest_of_plan;
mod m20261207_000300_plan_parts_at_completion;
mod m20261207_000400_client_country;
mod m20261208_000100_card_surcharge;
mod m20261209_000100_tips;
mod m20261210_000100_invoice_payers;
mod m20261211_000100_checkout_surcharge;
mod m20261212_000100_gallery_picks;
mod m20261213_000100_dispute_evidence;

mod columns;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_schema::Migration),
            Box::new(m20261125_000002_billing_lifecycle::Migration),
            Box::new(m20261128_000003_invoice_reissue::Migration),
            Box::new(m20261128_000004_webhook_ordering::Migration),
            Box::new(m20261128_000005_staff_accounts::Migration),
            Box::new(m20261128_000006_reminders::Migration),
            Box::new(m20261128_000007_gallery_policy::Migration),
            Box::new(m20261129_000011_api_key_last_used::Migration),
            Box::new(m20261129_000021_notification_errors::Migration),
            Box::new(m20261129_000022_invoice_tax_inclusive::Migration),
            Box::new(m20261129_000041_refund_credit_notes::Migration),
            Box::new(m20261129_000050_hosted_checkout::Migration),
            Box::new(m20261129_000051_gateway_customer::Migration),
            Box::new(m20261130_000110_card_setup::Migration),
            Box::new(m20261130_000120_gateway_attempts::Migration),
            Box::new(m20261130_000130_retainer_excess::Migration),
            Box::new(m20261130_000140_gallery_links_and_login_limits::Migration),
            Box::new(m20261201_000210_credit_repaid::Migration),
            Box::new(m20261201_000300_outbox_notify::Migration),
            Box::new(m20261202_000100_outbox_notify_after_commit::Migration),
            Box::new(m20261204_000100_client_display_name::Migration),
            Box::new(m20261205_000100_payment_plans::Migration),
            Box::new(m20261205_000200_package_plan_template::Migration),
            Box::new(m20261205_000300_installments::Migration),
            Box::new(m20261205_000400_plan_notice::Migration),
            Box::new(m20261206_000100_plan_revision::Migration),
            Box::new(m20261206_000200_refund_groups::Migration),
            Box::new(m20261206_000300_gallery_waits_for_plan::Migration),
            Box::new(m20261207_000100_plan_rules::Migration),
            Box::new(m20261207_000200_rest_of_plan::Migration),
            Box::new(m20261207_000300_plan_parts_at_completion::Migration),
            Box::new(m20261207_000400_client_country::Migration),
            Box::new(m20261208_000100_card_surcharge::Migration),
            Box::new(m20261209_000100_tips::Migration),
            Box::new(m20261210_000100_invoice_payers::Migration),
            Box::new(m20261211_000100_checkout_surcharge::Migration),
            Box::new(m20261212_000100_gallery_picks::Migration),
            Box::new(m20261213_000100_dispute_evidence::Migration),
        ]
    }
}
