//! Staff accounts for the studio's dashboard, and their login sessions.
//!
//! A staff email is unique across all studios: the login form asks for an
//! email and a password only, so the email alone must name one account (and
//! through it one studio). Passwords are stored as argon2id PHC strings;
//! session tokens only as their SHA-256.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Studios {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum StaffUsers {
    Table,
    Id,
    StudioId,
    Email,
    PasswordHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum StaffSessions {
    Table,
    Id,
    StaffUserId,
    StudioId,
    TokenHash,
    CsrfSecret,
    CreatedAt,
    ExpiresAt,
}

const USERS_STUDIO_INDEX: &str = "ix_staff_users_studio";
const SESSIONS_USER_INDEX: &str = "ix_staff_sessions_user";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(StaffUsers::Table)
                .col(big_pk_auto(StaffUsers::Id))
                .col(big_integer(StaffUsers::StudioId))
                // Stored lower-cased; unique across studios (see above).
                .col(string_uniq(StaffUsers::Email))
                .col(string(StaffUsers::PasswordHash))
                .col(timestamp_with_time_zone(StaffUsers::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(StaffUsers::Table, StaffUsers::StudioId)
                        .to(Studios::Table, Studios::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name(USERS_STUDIO_INDEX)
                .table(StaffUsers::Table)
                .col(StaffUsers::StudioId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(StaffSessions::Table)
                .col(big_pk_auto(StaffSessions::Id))
                .col(big_integer(StaffSessions::StaffUserId))
                .col(big_integer(StaffSessions::StudioId))
                .col(string_uniq(StaffSessions::TokenHash))
                .col(string(StaffSessions::CsrfSecret))
                .col(timestamp_with_time_zone(StaffSessions::CreatedAt))
                .col(timestamp_with_time_zone(StaffSessions::ExpiresAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(StaffSessions::Table, StaffSessions::StaffUserId)
                        .to(StaffUsers::Table, StaffUsers::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(StaffSessions::Table, StaffSessions::StudioId)
                        .to(Studios::Table, Studios::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name(SESSIONS_USER_INDEX)
                .table(StaffSessions::Table)
                .col(StaffSessions::StaffUserId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(StaffSessions::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(StaffUsers::Table).to_owned())
            .await
    }
}
