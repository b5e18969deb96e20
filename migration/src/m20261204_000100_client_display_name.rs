//! The name a client is greeted by (issue 17 item 11): `clients.display_name`,
//! set by the studio (`createClient`/`updateClient` `displayName`). `NULL`
//! greets the client by the first word of their name.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: [&str; 1] = ["ALTER TABLE clients ADD COLUMN display_name varchar NULL"];

const DOWN: [&str; 1] = ["ALTER TABLE clients DROP COLUMN display_name"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for sql in UP {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for sql in DOWN {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
