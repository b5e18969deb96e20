//! The gallery's log: every login, page view and full-resolution download
//! of a client, with the address and user agent it came from, kept for the
//! studio's `gallery_log_days`. It is what shows a disputed charge's
//! photos were delivered and used.

use crate::infra::error::DomainResult;
use chrono::{DateTime, Duration, Utc};
use entity::enums::GalleryEventKind;
use entity::{gallery_access, gallery_event, studio};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

/// User agents are kept up to this many characters.
const MAX_USER_AGENT: usize = 300;
/// A studio's log is read at most this many lines at a time.
pub const MAX_LINES: u64 = 500;

/// What a request of the client's tells the log.
pub struct Seen<'a> {
    pub kind: GalleryEventKind,
    pub photo_id: Option<i64>,
    pub address: Option<String>,
    pub user_agent: Option<&'a str>,
}

/// Records one event of `access`'s gallery. A login also drops the
/// studio's lines older than its `gallery_log_days`.
pub async fn record(
    conn: &impl ConnectionTrait,
    access: &gallery_access::Model,
    seen: Seen<'_>,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let user_agent = seen.user_agent.map(|ua| {
        ua.chars()
            .filter(|c| !c.is_control())
            .take(MAX_USER_AGENT)
            .collect()
    });
    gallery_event::ActiveModel {
        studio_id: Set(access.studio_id),
        session_id: Set(access.session_id),
        kind: Set(seen.kind),
        photo_id: Set(seen.photo_id),
        address: Set(seen.address),
        user_agent: Set(user_agent),
        at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    if seen.kind == GalleryEventKind::Login
        && let Some(studio) = studio::Entity::find_by_id(access.studio_id)
            .one(conn)
            .await?
    {
        let cutoff = now - Duration::days(i64::from(studio.gallery_log_days));
        gallery_event::Entity::delete_many()
            .filter(gallery_event::Column::StudioId.eq(studio.id))
            .filter(gallery_event::Column::At.lt(cutoff))
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// A session's log, newest first, at most `limit` lines (`MAX_LINES`).
pub async fn of_session(
    conn: &impl ConnectionTrait,
    studio_id: i64,
    session_id: i64,
    limit: u64,
) -> DomainResult<Vec<gallery_event::Model>> {
    Ok(gallery_event::Entity::find()
        .filter(gallery_event::Column::StudioId.eq(studio_id))
        .filter(gallery_event::Column::SessionId.eq(session_id))
        .order_by_desc(gallery_event::Column::At)
        .order_by_desc(gallery_event::Column::Id)
        .limit(limit.min(MAX_LINES))
        .all(conn)
        .await?)
}
