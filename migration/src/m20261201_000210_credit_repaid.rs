//! A credit owed back to the client (`REFUND_DUE`, issue 10 item 21) can be
//! marked repaid by the studio (`markCreditRepaid`):
//!
//! - `invoices.credit_repaid_at`: when the studio paid the excess back
//!   (`NULL` while it is still owed);
//! - `invoices.credit_repaid_reference`: the studio's reference for that
//!   repayment (a transfer id, a check number).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: [&str; 2] = [
    "ALTER TABLE invoices ADD COLUMN credit_repaid_at timestamp with time zone NULL",
    "ALTER TABLE invoices ADD COLUMN credit_repaid_reference varchar NULL",
];

const DOWN: [&str; 2] = [
    "ALTER TABLE invoices DROP COLUMN credit_repaid_reference",
    "ALTER TABLE invoices DROP COLUMN credit_repaid_at",
];

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
