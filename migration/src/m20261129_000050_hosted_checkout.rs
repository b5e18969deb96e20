//! Hosted checkout: the Checkout Sessions a portal opened for an invoice
//! (one row per attempt, so a still-open session for the same amount is
//! reused and a stale one expired), and the simulated gateway's own hosted
//! sessions (the stand-in for Stripe's side of Checkout).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CheckoutSessions {
    Table,
    Id,
    StudioId,
    InvoiceId,
    Attempt,
    IdempotencyKey,
    AmountMinor,
    Currency,
    SaveCard,
    ExpiresAt,
    GatewaySessionId,
    Url,
    Status,
    PaymentId,
    Detail,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SimulatedCheckoutSessions {
    Table,
    Id,
    IdempotencyKey,
    AmountMinor,
    Currency,
    ProductName,
    ClientReferenceId,
    InvoiceRef,
    Customer,
    SuccessUrl,
    CancelUrl,
    SetupFutureUsage,
    Status,
    PaymentStatus,
    PaymentIntent,
    CardToken,
    ExpiresAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Invoices {
    Table,
    Id,
}

const ATTEMPT_INDEX: &str = "ux_checkout_sessions_invoice_attempt";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(CheckoutSessions::Table)
                .col(big_pk_auto(CheckoutSessions::Id))
                .col(big_integer(CheckoutSessions::StudioId))
                .col(big_integer(CheckoutSessions::InvoiceId))
                .col(integer(CheckoutSessions::Attempt))
                .col(string_uniq(CheckoutSessions::IdempotencyKey))
                .col(big_integer(CheckoutSessions::AmountMinor))
                .col(string(CheckoutSessions::Currency))
                .col(boolean(CheckoutSessions::SaveCard).default(false))
                .col(timestamp_with_time_zone(CheckoutSessions::ExpiresAt))
                .col(string_null(CheckoutSessions::GatewaySessionId).unique_key())
                .col(text_null(CheckoutSessions::Url))
                .col(string(CheckoutSessions::Status))
                .col(big_integer_null(CheckoutSessions::PaymentId))
                .col(text_null(CheckoutSessions::Detail))
                .col(timestamp_with_time_zone(CheckoutSessions::CreatedAt))
                .col(timestamp_with_time_zone(CheckoutSessions::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(CheckoutSessions::Table, CheckoutSessions::InvoiceId)
                        .to(Invoices::Table, Invoices::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name(ATTEMPT_INDEX)
                .table(CheckoutSessions::Table)
                .col(CheckoutSessions::InvoiceId)
                .col(CheckoutSessions::Attempt)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SimulatedCheckoutSessions::Table)
                .col(string(SimulatedCheckoutSessions::Id).primary_key())
                .col(string_uniq(SimulatedCheckoutSessions::IdempotencyKey))
                .col(big_integer(SimulatedCheckoutSessions::AmountMinor))
                .col(string(SimulatedCheckoutSessions::Currency))
                .col(string(SimulatedCheckoutSessions::ProductName))
                .col(string_null(SimulatedCheckoutSessions::ClientReferenceId))
                .col(string_null(SimulatedCheckoutSessions::InvoiceRef))
                .col(string_null(SimulatedCheckoutSessions::Customer))
                .col(text(SimulatedCheckoutSessions::SuccessUrl))
                .col(text(SimulatedCheckoutSessions::CancelUrl))
                .col(boolean(SimulatedCheckoutSessions::SetupFutureUsage).default(false))
                .col(string(SimulatedCheckoutSessions::Status))
                .col(string(SimulatedCheckoutSessions::PaymentStatus))
                .col(string_null(SimulatedCheckoutSessions::PaymentIntent))
                .col(string_null(SimulatedCheckoutSessions::CardToken))
                .col(timestamp_with_time_zone(
                    SimulatedCheckoutSessions::ExpiresAt,
                ))
                .col(timestamp_with_time_zone(
                    SimulatedCheckoutSessions::CreatedAt,
                ))
                .col(timestamp_with_time_zone(
                    SimulatedCheckoutSessions::UpdatedAt,
                ))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(SimulatedCheckoutSessions::Table)
                .to_owned(),
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name(ATTEMPT_INDEX)
                .table(CheckoutSessions::Table)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(CheckoutSessions::Table).to_owned())
            .await
    }
}
