//! A package's default payment plan (issue 19): `packages.plan_template`,
//! JSON `[{"amount_minor", "percent", "days_before_session"}]`
//! (`kernel::plan::TemplatePart`), `NULL` when the package has none.
//! `setPaymentPlan` without parts applies it to a session of the package.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("ALTER TABLE packages ADD COLUMN plan_template text NULL")
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("ALTER TABLE packages DROP COLUMN plan_template")
            .await?;
        Ok(())
    }
}
