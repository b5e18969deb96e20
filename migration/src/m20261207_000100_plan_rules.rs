//! Two studio settings of payment plans (issue 19): `studios.country`
//! (ISO 3166-1 alpha-2, unset by default), from which the EU/EEA limit on
//! how long after the session a plan may run follows; and
//! `studios.plan_card_check_minor`, the amount above which an auto-pay
//! part's card is checked at the gateway with its notice (unset: never).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("ALTER TABLE studios ADD COLUMN country text NULL")
            .await?;
        db.execute_unprepared("ALTER TABLE studios ADD COLUMN plan_card_check_minor bigint NULL")
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("ALTER TABLE studios DROP COLUMN plan_card_check_minor")
            .await?;
        db.execute_unprepared("ALTER TABLE studios DROP COLUMN country")
            .await?;
        Ok(())
    }
}
