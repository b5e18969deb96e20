//! The gallery sells (issue 21, part 1): a package includes some images and
//! prices the extras the client picks; picks are billed on the session.
//!
//! - `packages.image_pricing`, `sessions.image_pricing`: JSON
//!   (`domain::kernel::extras::ImagePricing`: included images, volume
//!   tiers, full-gallery cap); the session keeps the package's as sold.
//!   `NULL`: the package sells no picks (every photo follows the gallery's
//!   level, as before).
//! - `gallery_selections`: a session's current picks (one row per session,
//!   `ux_gallery_selections_session`), the photo ids as a JSON list in
//!   gallery order, who submitted them and what the extras come to.
//! - `invoices.extra_images` / `invoices.extra_images_minor`: the extras an
//!   invoice bills (the final invoice's "Additional images" line, or a
//!   supplementary invoice, kind `EXTRAS`), before tax.
//! - `gallery_selections.consent_at` / `consent_address`: when (and from
//!   where) a consumer of a studio in the EU/EEA or the UK asked for the
//!   download of paid picks to start within the withdrawal period. What the session's
//!   invoices that are not `VOID` bill is what has been billed for picks.
//! - `studios.picks_deadline_days`: days after a gallery opens when a
//!   client who picked nothing gets the studio's default pick (the first
//!   included photos); 0: no deadline.
//! - `gallery_events`: the gallery's log (logins, page views, full-resolution
//!   downloads: time, photo, address, user agent), kept for
//!   `studios.gallery_log_days` (default two years, beyond the card
//!   networks' dispute windows): the evidence a chargeback is answered with.

use crate::columns::{self, Column};
use sea_orm_migration::sea_orm::ConnectionTrait;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: [Column; 6] = [
    (
        "studios",
        "picks_deadline_days",
        "integer NOT NULL DEFAULT 0",
    ),
    (
        "studios",
        "gallery_log_days",
        "integer NOT NULL DEFAULT 730",
    ),
    ("packages", "image_pricing", "text NULL"),
    ("sessions", "image_pricing", "text NULL"),
    ("invoices", "extra_images", "integer NOT NULL DEFAULT 0"),
    (
        "invoices",
        "extra_images_minor",
        "bigint NOT NULL DEFAULT 0",
    ),
];

#[derive(DeriveIden)]
enum GallerySelections {
    Table,
    Id,
    StudioId,
    SessionId,
    PhotoIds,
    Picked,
    Extras,
    ExtrasMinor,
    SubmittedBy,
    SubmittedAt,
    ConsentAt,
    ConsentAddress,
}

#[derive(DeriveIden)]
enum GalleryEvents {
    Table,
    Id,
    StudioId,
    SessionId,
    Kind,
    PhotoId,
    Address,
    UserAgent,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        columns::add(m, &COLUMNS).await?;
        m.create_table(
            Table::create()
                .table(GallerySelections::Table)
                .col(big_pk_auto(GallerySelections::Id))
                .col(big_integer(GallerySelections::StudioId))
                .col(big_integer(GallerySelections::SessionId))
                .col(text(GallerySelections::PhotoIds))
                .col(integer(GallerySelections::Picked))
                .col(integer(GallerySelections::Extras))
                .col(big_integer(GallerySelections::ExtrasMinor))
                .col(string(GallerySelections::SubmittedBy))
                .col(timestamp_with_time_zone(GallerySelections::SubmittedAt))
                .col(timestamp_with_time_zone_null(GallerySelections::ConsentAt))
                .col(string_null(GallerySelections::ConsentAddress))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(GalleryEvents::Table)
                .col(big_pk_auto(GalleryEvents::Id))
                .col(big_integer(GalleryEvents::StudioId))
                .col(big_integer(GalleryEvents::SessionId))
                .col(string(GalleryEvents::Kind))
                .col(big_integer_null(GalleryEvents::PhotoId))
                .col(string_null(GalleryEvents::Address))
                .col(string_null(GalleryEvents::UserAgent))
                .col(timestamp_with_time_zone(GalleryEvents::At))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        for sql in [
            "CREATE UNIQUE INDEX ux_gallery_selections_session ON gallery_selections (session_id)",
            "CREATE INDEX ix_gallery_events_session ON gallery_events (session_id, at)",
            "CREATE INDEX ix_gallery_events_studio ON gallery_events (studio_id, at)",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(GalleryEvents::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(GallerySelections::Table).to_owned())
            .await?;
        columns::drop(m, &COLUMNS).await
    }
}
