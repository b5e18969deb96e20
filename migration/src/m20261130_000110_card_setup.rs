//! Cards on file through Checkout `mode=setup`: the studio's request that a
//! client put a card on file (`card_setups`, reached by an emailed,
//! expiring link whose token is stored hashed), each Checkout Session the
//! setup page opened (`card_setup_sessions`, one row per attempt with its
//! idempotency key), and the simulated gateway's hosted sessions learning
//! `mode=setup`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CardSetups {
    Table,
    Id,
    StudioId,
    ClientId,
    Salt,
    TokenHash,
    ExpiresAt,
    CompletedAt,
    CardBrand,
    CardLast4,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CardSetupSessions {
    Table,
    Id,
    CardSetupId,
    StudioId,
    ClientId,
    Attempt,
    IdempotencyKey,
    ExpiresAt,
    GatewaySessionId,
    Url,
    Status,
    PaymentMethod,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SimulatedCheckoutSessions {
    Table,
    Mode,
    SetupRef,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    Id,
}

const ATTEMPT_INDEX: &str = "ux_card_setup_sessions_setup_attempt";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(CardSetups::Table)
                .col(big_pk_auto(CardSetups::Id))
                .col(big_integer(CardSetups::StudioId))
                .col(big_integer(CardSetups::ClientId))
                .col(string(CardSetups::Salt))
                .col(string_uniq(CardSetups::TokenHash))
                .col(timestamp_with_time_zone(CardSetups::ExpiresAt))
                .col(timestamp_with_time_zone_null(CardSetups::CompletedAt))
                .col(string_null(CardSetups::CardBrand))
                .col(string_null(CardSetups::CardLast4))
                .col(timestamp_with_time_zone(CardSetups::CreatedAt))
                .col(timestamp_with_time_zone(CardSetups::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(CardSetups::Table, CardSetups::ClientId)
                        .to(Clients::Table, Clients::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(CardSetupSessions::Table)
                .col(big_pk_auto(CardSetupSessions::Id))
                .col(big_integer(CardSetupSessions::CardSetupId))
                .col(big_integer(CardSetupSessions::StudioId))
                .col(big_integer(CardSetupSessions::ClientId))
                .col(integer(CardSetupSessions::Attempt))
                .col(string_uniq(CardSetupSessions::IdempotencyKey))
                .col(timestamp_with_time_zone(CardSetupSessions::ExpiresAt))
                .col(string_null(CardSetupSessions::GatewaySessionId).unique_key())
                .col(text_null(CardSetupSessions::Url))
                .col(string(CardSetupSessions::Status))
                .col(string_null(CardSetupSessions::PaymentMethod))
                .col(timestamp_with_time_zone(CardSetupSessions::CreatedAt))
                .col(timestamp_with_time_zone(CardSetupSessions::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(CardSetupSessions::Table, CardSetupSessions::CardSetupId)
                        .to(CardSetups::Table, CardSetups::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name(ATTEMPT_INDEX)
                .table(CardSetupSessions::Table)
                .col(CardSetupSessions::CardSetupId)
                .col(CardSetupSessions::Attempt)
                .unique()
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(SimulatedCheckoutSessions::Table)
                .add_column(string(SimulatedCheckoutSessions::Mode).default("payment"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(SimulatedCheckoutSessions::Table)
                .add_column(string_null(SimulatedCheckoutSessions::SetupRef))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(SimulatedCheckoutSessions::Table)
                .drop_column(SimulatedCheckoutSessions::SetupRef)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(SimulatedCheckoutSessions::Table)
                .drop_column(SimulatedCheckoutSessions::Mode)
                .to_owned(),
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name(ATTEMPT_INDEX)
                .table(CardSetupSessions::Table)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(CardSetupSessions::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(CardSetups::Table).to_owned())
            .await
    }
}
