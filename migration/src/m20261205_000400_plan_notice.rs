//! The notice before a payment plan's auto-charge (issue 19):
//! `studios.plan_notice_days`, how many days before a part's charge an
//! auto-pay client is sent its installment invoice, naming the amount, the
//! day and the card (0: billed and charged on the day, without notice).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared(
                "ALTER TABLE studios ADD COLUMN plan_notice_days integer NOT NULL DEFAULT 7",
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("ALTER TABLE studios DROP COLUMN plan_notice_days")
            .await
            .map(|_| ())
    }
}
