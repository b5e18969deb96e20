//! Billing depth: the invoice lifecycle (audit trail, void and credit notes),
//! partial and manual payments, refunds, incoming webhooks, and the studio
//! settings that shape invoices (number format, rounding, tax id, address).
//!
//! SQLite adds one column per `ALTER TABLE`, so each column is its own
//! statement; every new column has a default so existing rows stay valid.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Studios {
    Table,
    InvoiceNumberFormat,
    Rounding,
    TaxId,
    Address,
    Email,
    PortalLinkDays,
}

#[derive(DeriveIden)]
enum Invoices {
    Table,
    Id,
    AmountRefundedMinor,
    DiscountMinor,
    FeeMinor,
    FinalizedAt,
    VoidedAt,
    VoidReason,
    SettledAt,
    TaxBreakdown,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    /// JSON of an invoice-wide discount: `{"percent": "10"}` or `{"fixed_minor": 5000}`.
    Discount,
    /// JSON list of fees: `[{"name", "kind", "percent" | "fixed_minor", "taxable"}]`.
    Fees,
}

#[derive(DeriveIden)]
enum TaxRates {
    Table,
    Compound,
}

#[derive(DeriveIden)]
enum InvoiceLines {
    Table,
    DiscountMinor,
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    Id,
    Method,
    Reference,
    AmountRefundedMinor,
    DisputedAt,
    Note,
}

#[derive(DeriveIden)]
enum SimulatedGatewayCharges {
    Table,
    RefundOf,
}

#[derive(DeriveIden)]
enum Refunds {
    Table,
    Id,
    StudioId,
    InvoiceId,
    PaymentId,
    AmountMinor,
    Currency,
    Status,
    IdempotencyKey,
    GatewayReference,
    Reason,
    FailureMessage,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CreditNotes {
    Table,
    Id,
    StudioId,
    InvoiceId,
    Number,
    AmountMinor,
    Currency,
    Reason,
    CreatedAt,
}

#[derive(DeriveIden)]
enum InvoiceEvents {
    Table,
    Id,
    StudioId,
    InvoiceId,
    Event,
    FromStatus,
    ToStatus,
    AmountMinor,
    Actor,
    Detail,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookEvents {
    Table,
    Id,
    Provider,
    EventId,
    EventType,
    Payload,
    Status,
    Detail,
    ReceivedAt,
    ProcessedAt,
}

fn fk(
    from: impl IntoIden,
    from_col: impl IntoIden,
    to: impl IntoIden,
    to_col: impl IntoIden,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from, from_col)
        .to(to, to_col)
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

async fn add(m: &SchemaManager<'_>, table: impl IntoIden, col: ColumnDef) -> Result<(), DbErr> {
    let mut col = col;
    m.alter_table(Table::alter().table(table).add_column(&mut col).to_owned())
        .await
}

async fn drop_col(
    m: &SchemaManager<'_>,
    table: impl IntoIden,
    col: impl IntoIden,
) -> Result<(), DbErr> {
    m.alter_table(Table::alter().table(table).drop_column(col).to_owned())
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        add(
            m,
            Studios::Table,
            string(Studios::InvoiceNumberFormat)
                .default("{PREFIX}-{YYYY}-{SEQ:4}")
                .to_owned(),
        )
        .await?;
        add(
            m,
            Studios::Table,
            string(Studios::Rounding).default("PER_LINE").to_owned(),
        )
        .await?;
        add(m, Studios::Table, string_null(Studios::TaxId)).await?;
        add(
            m,
            Studios::Table,
            text(Studios::Address).default("").to_owned(),
        )
        .await?;
        add(m, Studios::Table, string_null(Studios::Email)).await?;
        add(
            m,
            Studios::Table,
            integer(Studios::PortalLinkDays).default(30).to_owned(),
        )
        .await?;

        for col in [
            Invoices::AmountRefundedMinor,
            Invoices::DiscountMinor,
            Invoices::FeeMinor,
        ] {
            add(m, Invoices::Table, big_integer(col).default(0).to_owned()).await?;
        }
        for col in [
            Invoices::FinalizedAt,
            Invoices::VoidedAt,
            Invoices::SettledAt,
        ] {
            add(m, Invoices::Table, timestamp_with_time_zone_null(col)).await?;
        }
        add(m, Invoices::Table, string_null(Invoices::VoidReason)).await?;
        add(
            m,
            Invoices::Table,
            text(Invoices::TaxBreakdown).default("[]").to_owned(),
        )
        .await?;

        add(m, Sessions::Table, text_null(Sessions::Discount)).await?;
        add(
            m,
            Sessions::Table,
            text(Sessions::Fees).default("[]").to_owned(),
        )
        .await?;
        add(
            m,
            TaxRates::Table,
            boolean(TaxRates::Compound).default(false).to_owned(),
        )
        .await?;
        add(
            m,
            InvoiceLines::Table,
            big_integer(InvoiceLines::DiscountMinor)
                .default(0)
                .to_owned(),
        )
        .await?;

        add(
            m,
            Payments::Table,
            string(Payments::Method).default("CARD").to_owned(),
        )
        .await?;
        add(m, Payments::Table, string_null(Payments::Reference)).await?;
        add(
            m,
            Payments::Table,
            big_integer(Payments::AmountRefundedMinor)
                .default(0)
                .to_owned(),
        )
        .await?;
        add(
            m,
            Payments::Table,
            timestamp_with_time_zone_null(Payments::DisputedAt),
        )
        .await?;
        add(m, Payments::Table, string_null(Payments::Note)).await?;
        add(
            m,
            SimulatedGatewayCharges::Table,
            string_null(SimulatedGatewayCharges::RefundOf),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Refunds::Table)
                .col(big_pk_auto(Refunds::Id))
                .col(big_integer(Refunds::StudioId))
                .col(big_integer(Refunds::InvoiceId))
                .col(big_integer(Refunds::PaymentId))
                .col(big_integer(Refunds::AmountMinor))
                .col(string_len(Refunds::Currency, 3))
                .col(string(Refunds::Status))
                .col(string_uniq(Refunds::IdempotencyKey))
                .col(string_null(Refunds::GatewayReference))
                .col(string_null(Refunds::Reason))
                .col(string_null(Refunds::FailureMessage))
                .col(timestamp_with_time_zone(Refunds::CreatedAt))
                .col(timestamp_with_time_zone(Refunds::UpdatedAt))
                .foreign_key(&mut fk(
                    Refunds::Table,
                    Refunds::InvoiceId,
                    Invoices::Table,
                    Invoices::Id,
                ))
                .foreign_key(&mut fk(
                    Refunds::Table,
                    Refunds::PaymentId,
                    Payments::Table,
                    Payments::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_refunds_invoice")
                .table(Refunds::Table)
                .col(Refunds::InvoiceId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(CreditNotes::Table)
                .col(big_pk_auto(CreditNotes::Id))
                .col(big_integer(CreditNotes::StudioId))
                .col(big_integer_uniq(CreditNotes::InvoiceId))
                .col(string(CreditNotes::Number))
                .col(big_integer(CreditNotes::AmountMinor))
                .col(string_len(CreditNotes::Currency, 3))
                .col(string(CreditNotes::Reason))
                .col(timestamp_with_time_zone(CreditNotes::CreatedAt))
                .foreign_key(&mut fk(
                    CreditNotes::Table,
                    CreditNotes::InvoiceId,
                    Invoices::Table,
                    Invoices::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_credit_notes_studio_number")
                .table(CreditNotes::Table)
                .col(CreditNotes::StudioId)
                .col(CreditNotes::Number)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(InvoiceEvents::Table)
                .col(big_pk_auto(InvoiceEvents::Id))
                .col(big_integer(InvoiceEvents::StudioId))
                .col(big_integer(InvoiceEvents::InvoiceId))
                .col(string(InvoiceEvents::Event))
                .col(string_null(InvoiceEvents::FromStatus))
                .col(string_null(InvoiceEvents::ToStatus))
                .col(big_integer_null(InvoiceEvents::AmountMinor))
                .col(string(InvoiceEvents::Actor))
                .col(text_null(InvoiceEvents::Detail))
                .col(timestamp_with_time_zone(InvoiceEvents::CreatedAt))
                .foreign_key(&mut fk(
                    InvoiceEvents::Table,
                    InvoiceEvents::InvoiceId,
                    Invoices::Table,
                    Invoices::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_invoice_events_invoice")
                .table(InvoiceEvents::Table)
                .col(InvoiceEvents::InvoiceId)
                .col(InvoiceEvents::Id)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(WebhookEvents::Table)
                .col(big_pk_auto(WebhookEvents::Id))
                .col(string(WebhookEvents::Provider))
                .col(string(WebhookEvents::EventId))
                .col(string(WebhookEvents::EventType))
                .col(text(WebhookEvents::Payload))
                .col(string(WebhookEvents::Status))
                .col(text_null(WebhookEvents::Detail))
                .col(timestamp_with_time_zone(WebhookEvents::ReceivedAt))
                .col(timestamp_with_time_zone_null(WebhookEvents::ProcessedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_webhook_events_provider_event")
                .table(WebhookEvents::Table)
                .col(WebhookEvents::Provider)
                .col(WebhookEvents::EventId)
                .unique()
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let tables: [DynIden; 4] = [
            WebhookEvents::Table.into_iden(),
            InvoiceEvents::Table.into_iden(),
            CreditNotes::Table.into_iden(),
            Refunds::Table.into_iden(),
        ];
        for table in tables {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        drop_col(
            m,
            SimulatedGatewayCharges::Table,
            SimulatedGatewayCharges::RefundOf,
        )
        .await?;
        drop_col(m, InvoiceLines::Table, InvoiceLines::DiscountMinor).await?;
        drop_col(m, TaxRates::Table, TaxRates::Compound).await?;
        drop_col(m, Sessions::Table, Sessions::Discount).await?;
        drop_col(m, Sessions::Table, Sessions::Fees).await?;
        for col in [
            Payments::Method,
            Payments::Reference,
            Payments::AmountRefundedMinor,
            Payments::DisputedAt,
            Payments::Note,
        ] {
            drop_col(m, Payments::Table, col).await?;
        }
        for col in [
            Invoices::AmountRefundedMinor,
            Invoices::DiscountMinor,
            Invoices::FeeMinor,
            Invoices::FinalizedAt,
            Invoices::VoidedAt,
            Invoices::SettledAt,
            Invoices::VoidReason,
            Invoices::TaxBreakdown,
        ] {
            drop_col(m, Invoices::Table, col).await?;
        }
        for col in [
            Studios::InvoiceNumberFormat,
            Studios::Rounding,
            Studios::TaxId,
            Studios::Address,
            Studios::Email,
            Studios::PortalLinkDays,
        ] {
            drop_col(m, Studios::Table, col).await?;
        }
        Ok(())
    }
}
