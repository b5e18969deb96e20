//! Where a client lives (issue 19, item 1): `clients.country`, ISO 3166-1
//! alpha-2, unset by default. The EU/EEA limit on how long after the
//! session a plan may run follows it, else the studio's country.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("ALTER TABLE clients ADD COLUMN country text NULL")
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("ALTER TABLE clients DROP COLUMN country")
            .await?;
        Ok(())
    }
}
