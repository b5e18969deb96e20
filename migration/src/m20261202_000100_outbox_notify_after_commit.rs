//! PostgreSQL only: drops the `outbox` trigger that sent `NOTIFY outbox`
//! from inside every transaction writing an outbox row. PostgreSQL serialises
//! the commits of notifying transactions behind one cluster-wide lock held
//! through the commit's flush, so the trigger capped the whole workflow's
//! commit rate. The api now sends the `NOTIFY` on its own after its commits
//! (`workflow::next::forward_wakes`); workers wake their own relay in
//! process.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm_migration::sea_orm::DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared("DROP TRIGGER IF EXISTS outbox_notify ON outbox")
            .await?;
        db.execute_unprepared("DROP FUNCTION IF EXISTS outbox_notify()")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm_migration::sea_orm::DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger \
             LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('outbox', ''); RETURN NULL; END $$",
        )
        .await?;
        db.execute_unprepared(
            "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox \
             FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()",
        )
        .await?;
        Ok(())
    }
}
