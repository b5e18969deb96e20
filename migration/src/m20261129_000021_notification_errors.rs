//! An email that can never be sent (its message cannot even be built, e.g.
//! a header that the mail library refuses) is marked `FAILED` with the
//! reason, instead of staying claimed in `SENDING` forever.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Notifications {
    Table,
    /// Why the email failed for good (`status = 'FAILED'`).
    Error,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Notifications::Table)
                .add_column(text_null(Notifications::Error))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Notifications::Table)
                .drop_column(Notifications::Error)
                .to_owned(),
        )
        .await
    }
}
