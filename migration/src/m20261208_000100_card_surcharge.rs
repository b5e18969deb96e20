//! A lawful card surcharge (issue 22, item 3): the studio's surcharge
//! setting (`studios.card_surcharge_percent`, a decimal as text, unset =
//! off), where studio and client are within their country
//! (`studios.region`, `clients.region`: a US state or Canadian province),
//! the funding type of the client's card on file (`clients.pm_funding`:
//! `credit`, `debit`, `prepaid`, `unknown`), and on each payment and refund
//! the surcharge it carried on top of the invoice's money
//! (`payments.surcharge_minor`, `payments.card_funding`,
//! `refunds.surcharge_minor`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: [(&str, &str, &str); 7] = [
    ("studios", "card_surcharge_percent", "text NULL"),
    ("studios", "region", "text NULL"),
    ("clients", "region", "text NULL"),
    ("clients", "pm_funding", "text NULL"),
    ("payments", "surcharge_minor", "bigint NOT NULL DEFAULT 0"),
    ("payments", "card_funding", "text NULL"),
    ("refunds", "surcharge_minor", "bigint NOT NULL DEFAULT 0"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (table, column, kind) in COLUMNS {
            m.get_connection()
                .execute_unprepared(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (table, column, _) in COLUMNS.iter().rev() {
            m.get_connection()
                .execute_unprepared(&format!("ALTER TABLE {table} DROP COLUMN {column}"))
                .await?;
        }
        Ok(())
    }
}
