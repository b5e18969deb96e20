//! Gallery policy: the photos a studio registers for a session (shown as
//! previews or offered for download by access level), the level for a
//! partially paid invoice, the notice before access expires, and the URL
//! that receives signed `gallery.access_changed` webhooks.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum GalleryPhotos {
    Table,
    Id,
    StudioId,
    SessionId,
    Url,
    PreviewUrl,
    Title,
    Position,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Studios {
    Table,
    GalleryPartialLevel,
    GalleryExpiryNoticeDays,
    GalleryWebhookUrl,
}

const INDEX: &str = "ix_gallery_photos_session";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(GalleryPhotos::Table)
                .col(big_pk_auto(GalleryPhotos::Id))
                .col(big_integer(GalleryPhotos::StudioId))
                .col(big_integer(GalleryPhotos::SessionId))
                .col(text(GalleryPhotos::Url))
                .col(text_null(GalleryPhotos::PreviewUrl))
                .col(string_null(GalleryPhotos::Title))
                .col(integer(GalleryPhotos::Position))
                .col(timestamp_with_time_zone(GalleryPhotos::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(GalleryPhotos::Table, GalleryPhotos::SessionId)
                        .to(Sessions::Table, Sessions::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name(INDEX)
                .table(GalleryPhotos::Table)
                .col(GalleryPhotos::SessionId)
                .col(GalleryPhotos::Position)
                .to_owned(),
        )
        .await?;
        // SQLite adds one column per ALTER TABLE.
        for col in [
            string(Studios::GalleryPartialLevel)
                .default("PREVIEW")
                .to_owned(),
            integer(Studios::GalleryExpiryNoticeDays)
                .default(7)
                .to_owned(),
            string_null(Studios::GalleryWebhookUrl).to_owned(),
        ] {
            let mut col = col;
            m.alter_table(
                Table::alter()
                    .table(Studios::Table)
                    .add_column(&mut col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            Studios::GalleryWebhookUrl,
            Studios::GalleryExpiryNoticeDays,
            Studios::GalleryPartialLevel,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Studios::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.drop_index(
            Index::drop()
                .name(INDEX)
                .table(GalleryPhotos::Table)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(GalleryPhotos::Table).to_owned())
            .await
    }
}
