//! Incoming webhooks may arrive out of order: each stored event remembers the
//! gateway object it is about and when the gateway created the event, so an
//! event older than one already applied to the same object is recognised as
//! stale and skipped.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebhookEvents {
    Table,
    ObjectId,
    EventCreatedAt,
}

const INDEX: &str = "ix_webhook_events_object";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        m.alter_table(
            Table::alter()
                .table(WebhookEvents::Table)
                .add_column(string_null(WebhookEvents::ObjectId))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(WebhookEvents::Table)
                .add_column(timestamp_with_time_zone_null(WebhookEvents::EventCreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name(INDEX)
                .table(WebhookEvents::Table)
                .col(WebhookEvents::ObjectId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name(INDEX)
                .table(WebhookEvents::Table)
                .to_owned(),
        )
        .await?;
        for col in [WebhookEvents::EventCreatedAt, WebhookEvents::ObjectId] {
            m.alter_table(
                Table::alter()
                    .table(WebhookEvents::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
