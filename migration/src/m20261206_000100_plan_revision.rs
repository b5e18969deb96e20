//! Editing a payment plan's future parts (issue 19): `payment_plans.revision`,
//! counted up by each edit, keys the one "schedule updated" email an edit
//! sends (an email of an edit superseded before it went out is not sent).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared(
                "ALTER TABLE payment_plans ADD COLUMN revision integer NOT NULL DEFAULT 0",
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("ALTER TABLE payment_plans DROP COLUMN revision")
            .await
            .map(|_| ())
    }
}
