//! Unknown outcomes are settled by looking, not by replaying: a card payment
//! remembers its gateway PaymentIntent (created before it is confirmed) and
//! when each idempotency key was first sent, with the attempt number that is
//! part of the key, so that no key is sent after the gateway forgot it
//! (Stripe keeps keys 24 hours). A refund remembers the same about its key.
//! The simulated gateway keeps its PaymentIntents in a table of its own.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Payments {
    Table,
    GatewayIntentId,
    CreateAttempt,
    CreateSentAt,
    ConfirmAttempt,
    ConfirmSentAt,
}

#[derive(DeriveIden)]
enum Refunds {
    Table,
    KeyAttempt,
    KeySentAt,
}

#[derive(DeriveIden)]
enum SimulatedPaymentIntents {
    Table,
    Id,
    CreateKey,
    PaymentKey,
    Token,
    AmountMinor,
    Currency,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [
            string_null(Payments::GatewayIntentId),
            integer(Payments::CreateAttempt).default(1).to_owned(),
            timestamp_with_time_zone_null(Payments::CreateSentAt),
            integer(Payments::ConfirmAttempt).default(1).to_owned(),
            timestamp_with_time_zone_null(Payments::ConfirmSentAt),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Payments::Table)
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        for column in [
            integer(Refunds::KeyAttempt).default(1).to_owned(),
            timestamp_with_time_zone_null(Refunds::KeySentAt),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Refunds::Table)
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table(SimulatedPaymentIntents::Table)
                .col(string(SimulatedPaymentIntents::Id).primary_key())
                .col(string_uniq(SimulatedPaymentIntents::CreateKey))
                .col(string(SimulatedPaymentIntents::PaymentKey))
                .col(string(SimulatedPaymentIntents::Token))
                .col(big_integer(SimulatedPaymentIntents::AmountMinor))
                .col(string(SimulatedPaymentIntents::Currency))
                .col(timestamp_with_time_zone(SimulatedPaymentIntents::CreatedAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(SimulatedPaymentIntents::Table)
                .to_owned(),
        )
        .await?;
        for column in [Refunds::KeyAttempt, Refunds::KeySentAt] {
            m.alter_table(
                Table::alter()
                    .table(Refunds::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        for column in [
            Payments::GatewayIntentId,
            Payments::CreateAttempt,
            Payments::CreateSentAt,
            Payments::ConfirmAttempt,
            Payments::ConfirmSentAt,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Payments::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
