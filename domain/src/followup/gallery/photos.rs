//! A session's gallery photos: registered by the studio (hosted by them),
//! listed in order, and the demo gallery's generated pictures.

use crate::infra::db::begin_write;
use crate::infra::error::DomainResult;
use crate::kernel::ids::{SessionId, StudioId};
use chrono::{DateTime, Utc};
use entity::{gallery_photo, studio};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

/// The photos of a session's gallery, in order.
pub async fn photos<C: sea_orm::ConnectionTrait>(
    conn: &C,
    studio_id: StudioId,
    session_id: SessionId,
) -> DomainResult<Vec<gallery_photo::Model>> {
    let (studio_id, session_id) = (studio_id.get(), session_id.get());
    use sea_orm::QueryOrder;
    Ok(gallery_photo::Entity::find()
        .filter(gallery_photo::Column::StudioId.eq(studio_id))
        .filter(gallery_photo::Column::SessionId.eq(session_id))
        .order_by_asc(gallery_photo::Column::Position)
        .order_by_asc(gallery_photo::Column::Id)
        .all(conn)
        .await?)
}

/// The demo gallery's photos (`seed-demo`): titles and colours of generated
/// placeholder pictures the app serves itself (`/demo-photos/{n}.svg`), so a
/// newcomer sees a PREVIEW gallery without any network or photo files.
pub const DEMO_PHOTOS: [(&str, &str, &str); 6] = [
    ("Golden hour", "#f6c177", "#c4705a"),
    ("First look", "#9ccfd8", "#31748f"),
    ("Vows", "#ebbcba", "#907aa9"),
    ("Portrait by the lake", "#a3be8c", "#3b6b5a"),
    ("Family", "#e9d8a6", "#ae8a4e"),
    ("Evening light", "#c4a7e7", "#403d52"),
];

/// Demo photo `n` (1-based) as an SVG picture: a sky, hills and a sun in
/// its colours, with its title; `None` for a number outside the demo set.
pub fn demo_photo_svg(n: usize) -> Option<String> {
    let (title, sky, hills) = DEMO_PHOTOS.get(n.checked_sub(1)?)?;
    let sun_x = 120 + 70 * n;
    Some(format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="600" height="400" viewBox="0 0 600 400" role="img" aria-label="{title}"><defs><linearGradient id="s" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="{sky}"/><stop offset="1" stop-color="#fff8ee"/></linearGradient></defs><rect width="600" height="400" fill="url(#s)"/><circle cx="{sun_x}" cy="130" r="46" fill="#fffbe6" opacity=".85"/><path d="M0 300 Q150 210 300 280 T600 250 V400 H0Z" fill="{hills}" opacity=".75"/><path d="M0 340 Q200 280 380 330 T600 320 V400 H0Z" fill="{hills}"/><text x="24" y="378" font-family="Georgia,serif" font-size="24" fill="#fff">{title}</text></svg>"##
    ))
}

#[derive(Debug, Clone)]
pub struct NewPhoto {
    pub url: String,
    pub preview_url: Option<String>,
    pub title: Option<String>,
}

pub(super) fn web_url(
    problems: &mut crate::kernel::validate::Problems,
    field: &str,
    raw: &str,
) -> String {
    let raw = raw.trim();
    let ok = reqwest::Url::parse(raw)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
    if !ok || raw.len() > 2000 {
        problems.push(crate::infra::error::UserError::invalid(
            field,
            "must be an http(s) URL of at most 2000 characters",
        ));
    }
    raw.to_string()
}

/// Registers photos (hosted by the studio) for a session's gallery, after
/// those already there. All or nothing.
pub async fn add_photos(
    db: &sea_orm::DatabaseConnection,
    studio: &studio::Model,
    session_id: i64,
    new: &[NewPhoto],
    now: DateTime<Utc>,
) -> DomainResult<Vec<gallery_photo::Model>> {
    use crate::infra::error::UserError;
    let mut problems = crate::kernel::validate::Problems::new();
    if new.is_empty() || new.len() > 500 {
        problems.push(UserError::invalid("photos", "give 1 to 500 photos"));
    }
    let mut checked = Vec::with_capacity(new.len());
    for (i, photo) in new.iter().enumerate() {
        let url = web_url(&mut problems, &format!("photos.{i}.url"), &photo.url);
        let preview = photo
            .preview_url
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .map(|p| web_url(&mut problems, &format!("photos.{i}.previewUrl"), p));
        let title = photo
            .title
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| t.chars().take(200).collect::<String>());
        checked.push((url, preview, title));
    }
    problems.finish()?;
    let tx = begin_write(db).await?;
    entity::session::Entity::find_by_id(session_id)
        .filter(entity::session::Column::StudioId.eq(studio.id))
        .one(&tx)
        .await?
        .ok_or_else(|| UserError::not_found("sessionId", "session"))?;
    let start = photos(&tx, StudioId::new(studio.id), SessionId::new(session_id))
        .await?
        .last()
        .map(|p| p.position + 1)
        .unwrap_or(1);
    for (offset, (url, preview_url, title)) in checked.into_iter().enumerate() {
        gallery_photo::ActiveModel {
            studio_id: Set(studio.id),
            session_id: Set(session_id),
            url: Set(url),
            preview_url: Set(preview_url),
            title: Set(title),
            position: Set(start + i32::try_from(offset).unwrap_or(0)),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
    }
    let all = photos(&tx, StudioId::new(studio.id), SessionId::new(session_id)).await?;
    tx.commit().await?;
    Ok(all)
}

/// Removes one photo; a foreign or missing id is `NOT_FOUND`.
pub async fn remove_photo(
    db: &sea_orm::DatabaseConnection,
    studio: &studio::Model,
    photo_id: i64,
) -> DomainResult<gallery_photo::Model> {
    let photo = gallery_photo::Entity::find_by_id(photo_id)
        .filter(gallery_photo::Column::StudioId.eq(studio.id))
        .one(db)
        .await?
        .ok_or_else(|| crate::infra::error::UserError::not_found("id", "photo"))?;
    let picked = entity::gallery_selection::Entity::find()
        .filter(entity::gallery_selection::Column::SessionId.eq(photo.session_id))
        .one(db)
        .await?
        .and_then(|s| serde_json::from_str::<Vec<i64>>(&s.photo_ids).ok())
        .is_some_and(|ids| ids.contains(&photo.id));
    if picked {
        return Err(crate::infra::error::UserError::state(
            "id",
            "the client picked this photo: it stays in the gallery",
        )
        .into());
    }
    gallery_photo::Entity::delete_by_id(photo.id)
        .exec(db)
        .await?;
    Ok(photo)
}
