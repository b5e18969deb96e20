//! Refunds across a plan's parts (issue 19, item 8): one request of the
//! studio may become several refunds, one per payment, newest first.
//! `refunds.group_key` holds the request's key on each of them, so a replay
//! finds the whole group and the client gets one email listing it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("ALTER TABLE refunds ADD COLUMN group_key varchar(160)")
            .await?;
        db.execute_unprepared("CREATE INDEX idx_refunds_group_key ON refunds (group_key)")
            .await
            .map(|_| ())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("DROP INDEX idx_refunds_group_key")
            .await?;
        db.execute_unprepared("ALTER TABLE refunds DROP COLUMN group_key")
            .await
            .map(|_| ())
    }
}
