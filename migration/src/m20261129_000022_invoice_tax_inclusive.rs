//! Whether an invoice's prices include tax, stored with the invoice: the
//! studio's setting may change later, and every surface (email, PDF, portal)
//! must say "prices include VAT" for exactly the invoices priced that way.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Invoices {
    Table,
    PricesIncludeTax,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Invoices::Table)
                .add_column(boolean(Invoices::PricesIncludeTax).default(false))
                .to_owned(),
        )
        .await?;
        // Existing invoices were priced with their studio's setting as it is
        // now (it cannot be known better). Plain SQL valid on both databases.
        m.get_connection()
            .execute_unprepared(
                "UPDATE invoices SET prices_include_tax = \
                 (SELECT s.prices_include_tax FROM studios s WHERE s.id = invoices.studio_id)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Invoices::Table)
                .drop_column(Invoices::PricesIncludeTax)
                .to_owned(),
        )
        .await
    }
}
