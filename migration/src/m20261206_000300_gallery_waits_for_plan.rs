//! Whether a booking on a payment plan waits for its last installment before
//! its gallery opens in full (issue 19, item 9): `studios.gallery_waits_for_plan`,
//! on by default (what every studio had until now).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared(
                "ALTER TABLE studios ADD COLUMN gallery_waits_for_plan boolean NOT NULL DEFAULT true",
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("ALTER TABLE studios DROP COLUMN gallery_waits_for_plan")
            .await
            .map(|_| ())
    }
}
