//! What a completed session does with the parts of its plan not billed yet
//! (issue 19, item 7): `studios.plan_parts_at_completion`, `FOLD` (the
//! default: its final invoice bills them) or `KEEP` (they stay dated parts,
//! billed on their days, and the final invoice credits them).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared(
                "ALTER TABLE studios ADD COLUMN plan_parts_at_completion text NOT NULL \
                 DEFAULT 'FOLD'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("ALTER TABLE studios DROP COLUMN plan_parts_at_completion")
            .await?;
        Ok(())
    }
}
