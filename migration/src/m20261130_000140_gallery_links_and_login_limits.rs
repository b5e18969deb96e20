//! Gallery links that cannot be enumerated, and failed-login counters that
//! every api process sees.
//!
//! - `gallery_access.link_salt` / `link_token_hash`: the gallery link is
//!   `/gallery/<HMAC(secret, salt)>` (as portal links are); the database keeps
//!   the salt and the token's SHA-256. Galleries created before this
//!   migration get theirs the first time a link to them is made (the
//!   migration does not know the application secret).
//! - `login_failures`: failed logins counted per scope (source address,
//!   gallery, staff account) and subject in fixed one-minute buckets
//!   (`window_start`, unix seconds); old buckets are deleted as new failures
//!   are recorded.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum GalleryAccess {
    Table,
    LinkSalt,
    LinkTokenHash,
}

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    Id,
    Scope,
    Subject,
    WindowStart,
    Failures,
}

const LINK_INDEX: &str = "ux_gallery_access_link_token_hash";
const BUCKET_INDEX: &str = "ux_login_failures_bucket";
const WINDOW_INDEX: &str = "ix_login_failures_window_start";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        m.alter_table(
            Table::alter()
                .table(GalleryAccess::Table)
                .add_column(string_null(GalleryAccess::LinkSalt))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(GalleryAccess::Table)
                .add_column(string_null(GalleryAccess::LinkTokenHash))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name(LINK_INDEX)
                .table(GalleryAccess::Table)
                .col(GalleryAccess::LinkTokenHash)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(LoginFailures::Table)
                .col(big_pk_auto(LoginFailures::Id))
                .col(string(LoginFailures::Scope))
                .col(string(LoginFailures::Subject))
                .col(big_integer(LoginFailures::WindowStart))
                .col(integer(LoginFailures::Failures))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name(BUCKET_INDEX)
                .table(LoginFailures::Table)
                .col(LoginFailures::Scope)
                .col(LoginFailures::Subject)
                .col(LoginFailures::WindowStart)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name(WINDOW_INDEX)
                .table(LoginFailures::Table)
                .col(LoginFailures::WindowStart)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(LoginFailures::Table).to_owned())
            .await?;
        m.drop_index(
            Index::drop()
                .name(LINK_INDEX)
                .table(GalleryAccess::Table)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(GalleryAccess::Table)
                .drop_column(GalleryAccess::LinkTokenHash)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(GalleryAccess::Table)
                .drop_column(GalleryAccess::LinkSalt)
                .to_owned(),
        )
        .await
    }
}
