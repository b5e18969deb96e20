//! Several payers on one invoice (issue 22, item 1).
//!
//! - `invoice_payers`: who shares an invoice, in order (`position` 0 is the
//!   first payer, who takes any rounding remainder), each with a share of
//!   the amount due when the split was set, an own portal link (salt and
//!   token hash, like an invoice's) and an own gateway Customer. A split
//!   replaced before anyone paid keeps its rows with `removed_at` set, so
//!   their links stop working and what was sent stays on record.
//! - `payments.payer_id`, `checkout_sessions.payer_id`: the payer whose link
//!   paid (none: the contracting client or the studio).
//! - `session_payers`: a booking's payers with their percentages, applied to
//!   every invoice of the session issued afterwards (each part of a payment
//!   plan, the final invoice): `invoice_payers.session_payer_id` links the
//!   payer of an invoice to the booking's. An `auto_pay` booking payer
//!   keeps the card they saved when paying a share (`pm_*`, on their own
//!   gateway Customer), and their share of every later invoice is charged
//!   to it.

use sea_orm_migration::sea_orm::ConnectionTrait;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum InvoicePayers {
    Table,
    Id,
    StudioId,
    InvoiceId,
    Position,
    Name,
    Email,
    ShareMinor,
    Currency,
    AutoPay,
    PortalSalt,
    PortalTokenHash,
    GatewayCustomerId,
    CreatedAt,
    RemovedAt,
    SessionPayerId,
    Charged,
}

#[derive(DeriveIden)]
enum SessionPayers {
    Table,
    Id,
    StudioId,
    SessionId,
    Position,
    Name,
    Email,
    Percent,
    AutoPay,
    GatewayCustomerId,
    PmToken,
    PmBrand,
    PmLast4,
    PmFunding,
    CreatedAt,
    RemovedAt,
}

const UP: [&str; 5] = [
    "CREATE UNIQUE INDEX ux_invoice_payers_token ON invoice_payers (portal_token_hash)",
    "CREATE INDEX ix_session_payers_session ON session_payers (session_id, position)",
    "CREATE INDEX ix_invoice_payers_invoice ON invoice_payers (invoice_id, position)",
    "ALTER TABLE payments ADD COLUMN payer_id bigint NULL",
    "ALTER TABLE checkout_sessions ADD COLUMN payer_id bigint NULL",
];

const DOWN: [&str; 2] = [
    "ALTER TABLE checkout_sessions DROP COLUMN payer_id",
    "ALTER TABLE payments DROP COLUMN payer_id",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(InvoicePayers::Table)
                .col(big_pk_auto(InvoicePayers::Id))
                .col(big_integer(InvoicePayers::StudioId))
                .col(big_integer(InvoicePayers::InvoiceId))
                .col(integer(InvoicePayers::Position))
                .col(string(InvoicePayers::Name))
                .col(string(InvoicePayers::Email))
                .col(
                    big_integer(InvoicePayers::ShareMinor)
                        .check(Expr::col(InvoicePayers::ShareMinor).gt(0)),
                )
                .col(string(InvoicePayers::Currency))
                .col(boolean(InvoicePayers::AutoPay).default(false))
                .col(string(InvoicePayers::PortalSalt))
                .col(string(InvoicePayers::PortalTokenHash))
                .col(string_null(InvoicePayers::GatewayCustomerId))
                .col(timestamp_with_time_zone(InvoicePayers::CreatedAt))
                .col(timestamp_with_time_zone_null(InvoicePayers::RemovedAt))
                .col(big_integer_null(InvoicePayers::SessionPayerId))
                .col(boolean(InvoicePayers::Charged).default(false))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SessionPayers::Table)
                .col(big_pk_auto(SessionPayers::Id))
                .col(big_integer(SessionPayers::StudioId))
                .col(big_integer(SessionPayers::SessionId))
                .col(integer(SessionPayers::Position))
                .col(string(SessionPayers::Name))
                .col(string(SessionPayers::Email))
                .col(string(SessionPayers::Percent))
                .col(boolean(SessionPayers::AutoPay).default(false))
                .col(string_null(SessionPayers::GatewayCustomerId))
                .col(string_null(SessionPayers::PmToken))
                .col(string_null(SessionPayers::PmBrand))
                .col(string_null(SessionPayers::PmLast4))
                .col(string_null(SessionPayers::PmFunding))
                .col(timestamp_with_time_zone(SessionPayers::CreatedAt))
                .col(timestamp_with_time_zone_null(SessionPayers::RemovedAt))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        for sql in UP {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for sql in DOWN {
            db.execute_unprepared(sql).await?;
        }
        m.drop_table(Table::drop().table(SessionPayers::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(InvoicePayers::Table).to_owned())
            .await
    }
}
