//! One gateway Customer per client (`cus_...`), created once and reused, so
//! a card saved in Checkout can be charged later off-session.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    GatewayCustomerId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Clients::Table)
                .add_column(string_null(Clients::GatewayCustomerId))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Clients::Table)
                .drop_column(Clients::GatewayCustomerId)
                .to_owned(),
        )
        .await
    }
}
