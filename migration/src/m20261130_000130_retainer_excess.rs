//! Retainers above the invoice total (issue 10, item 21).
//!
//! - `studios.retainer_excess`: what happens to the part of a retainer the
//!   invoice does not use: `REFUND_DUE` (a credit owed back to the client,
//!   listed on the dashboard) or `CARRY_FORWARD` (a client credit applied to
//!   the client's next invoice).
//! - `invoices.excess_credit_minor` / `excess_disposition`: that excess as
//!   priced, and which of the two it became (`NULL` when there is none).
//! - `invoices.carried_credit_minor`: the part of `credit_minor` that came
//!   from earlier invoices' carried credits (the rest is the retainer).
//! - `client_credits`: carried credits, one per invoice that left one
//!   (`ux_client_credits_source`), consumed whole by exactly one later
//!   invoice (`applied_invoice_id`, written only while `NULL`).

use sea_orm_migration::sea_orm::ConnectionTrait;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ClientCredits {
    Table,
    Id,
    StudioId,
    ClientId,
    Currency,
    AmountMinor,
    SourceInvoiceId,
    AppliedInvoiceId,
    CreatedAt,
    AppliedAt,
}

const UP_COLUMNS: [&str; 4] = [
    "ALTER TABLE studios ADD COLUMN retainer_excess varchar NOT NULL DEFAULT 'REFUND_DUE'",
    "ALTER TABLE invoices ADD COLUMN excess_credit_minor bigint NOT NULL DEFAULT 0",
    "ALTER TABLE invoices ADD COLUMN excess_disposition varchar NULL",
    "ALTER TABLE invoices ADD COLUMN carried_credit_minor bigint NOT NULL DEFAULT 0",
];
const UP_INDEXES: [&str; 2] = [
    "CREATE UNIQUE INDEX ux_client_credits_source ON client_credits (source_invoice_id)",
    "CREATE INDEX ix_client_credits_client ON client_credits (client_id, applied_invoice_id)",
];

const DOWN: [&str; 5] = [
    "DROP TABLE client_credits",
    "ALTER TABLE invoices DROP COLUMN carried_credit_minor",
    "ALTER TABLE invoices DROP COLUMN excess_disposition",
    "ALTER TABLE invoices DROP COLUMN excess_credit_minor",
    "ALTER TABLE studios DROP COLUMN retainer_excess",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for sql in UP_COLUMNS {
            db.execute_unprepared(sql).await?;
        }
        m.create_table(
            Table::create()
                .table(ClientCredits::Table)
                .col(big_pk_auto(ClientCredits::Id))
                .col(big_integer(ClientCredits::StudioId))
                .col(big_integer(ClientCredits::ClientId))
                .col(string(ClientCredits::Currency))
                .col(
                    big_integer(ClientCredits::AmountMinor)
                        .check(Expr::col(ClientCredits::AmountMinor).gt(0)),
                )
                .col(big_integer(ClientCredits::SourceInvoiceId))
                .col(big_integer_null(ClientCredits::AppliedInvoiceId))
                .col(timestamp_with_time_zone(ClientCredits::CreatedAt))
                .col(timestamp_with_time_zone_null(ClientCredits::AppliedAt))
                .to_owned(),
        )
        .await?;
        for sql in UP_INDEXES {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for sql in DOWN {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
