//! An installment that bills the rest of a payment plan at once (issue 19,
//! item 4, "pay everything that's left"): `invoices.plan_through_seq`, the
//! last part it bills from its `plan_part_id` on (NULL: that part alone).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("ALTER TABLE invoices ADD COLUMN plan_through_seq integer NULL")
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("ALTER TABLE invoices DROP COLUMN plan_through_seq")
            .await?;
        Ok(())
    }
}
