//! PostgreSQL only: committed outbox rows are announced on the `outbox`
//! channel (`NOTIFY`, delivered at commit and folded into one per
//! transaction), so worker relays in other processes wake within
//! milliseconds instead of at their next poll. SQLite has no such thing and
//! needs none: the embedded worker shares the api's process and its
//! in-process signal.

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

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
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
}
