//! The client's picks (issue 21): for a session whose package includes a
//! number of images (`kernel::extras`), the client picks photos in the
//! gallery (or the studio submits the picks for them), the extras beyond
//! the included ones are billed (`billing::extras`), and full-resolution
//! downloads open for exactly the picks that are paid for.
//!
//! - A submission is checked whole (the session's photos, no repeats, at
//!   most `kernel::extras::MAX_IMAGES`) and stored in gallery order; the
//!   same picks again change nothing and bill nothing.
//! - Downloads, at `FULL` access: every pick once what the extras cost is
//!   paid (on the final invoice's line or supplementary invoices, none of
//!   them refunded), else the first `included` picks in gallery order.
//!   Photos not picked stay previews. A package that sells no picks keeps
//!   the gallery's rule: every photo at `FULL`.

use crate::billing::extras::{self, Billed};
use crate::billing::lifecycle::Actor;
use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::{DomainResult, UserError};
use crate::kernel::extras::{ImagePricing, MAX_IMAGES};
use crate::kernel::ids::{SessionId, StudioId};
use crate::kernel::money::Minor;
use crate::studio::catalog::image_pricing_of;
use entity::enums::{InvoiceKind, InvoiceStatus, PickedBy, SessionStatus};
use entity::{gallery_selection, invoice, session, studio};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QuerySelect,
};
use std::collections::HashSet;

/// What a submission did.
pub struct Submitted {
    pub selection: gallery_selection::Model,
    /// `false`: the same picks were submitted again.
    pub changed: bool,
    pub billed: Billed,
}

/// Stores `photo_ids` as the session's picks and bills their extras, in one
/// transaction (the session row locked). Refused with nothing written: a
/// session of another studio or unknown (`NOT_FOUND`), cancelled or whose
/// package sells no picks (`INVALID_STATE`), photos not in its gallery,
/// repeated, or none (`INVALID_INPUT`).
pub async fn submit(
    ctx: &AppContext,
    studio_id: StudioId,
    session_id: SessionId,
    photo_ids: &[i64],
    by: PickedBy,
    actor: &Actor,
    request_id: Option<&str>,
) -> DomainResult<Submitted> {
    let now = ctx.clock.now();
    let tx = begin_write(&ctx.db).await?;
    let session = session::Entity::find_by_id(session_id.get())
        .filter(session::Column::StudioId.eq(studio_id.get()))
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or_else(|| UserError::not_found("sessionId", "session"))?;
    if session.status == SessionStatus::Cancelled {
        return Err(UserError::state("sessionId", "this session was cancelled").into());
    }
    let Some(pricing) = image_pricing_of(session.image_pricing.as_deref())? else {
        return Err(UserError::state(
            "sessionId",
            "this session's package sells no picks: every photo follows the gallery's access",
        )
        .into());
    };
    let ordered = in_gallery_order(&tx, &session, photo_ids).await?;
    let picked = u32::try_from(ordered.len()).unwrap_or(u32::MAX);
    let extras = pricing.extras(picked);
    let extras_minor = pricing.price(extras).ok_or_else(|| {
        UserError::too_large("photoIds", "the extras cost more than can be invoiced")
    })?;
    let stored = serde_json::to_string(&ordered).map_err(|e| anyhow::anyhow!("picks: {e}"))?;
    let existing = gallery_selection::Entity::find()
        .filter(gallery_selection::Column::SessionId.eq(session.id))
        .one(&tx)
        .await?;
    // The default pick never replaces the client's own (checked under the
    // session's lock, so a client saving at the deadline wins).
    if let (PickedBy::Default, Some(selection)) = (by, &existing) {
        return Ok(Submitted {
            selection: selection.clone(),
            changed: false,
            billed: Billed::Nothing,
        });
    }
    let changed = existing.as_ref().is_none_or(|e| e.photo_ids != stored);
    let selection = match existing {
        Some(same) if !changed => same,
        existing => {
            let mut row: gallery_selection::ActiveModel = match &existing {
                Some(old) => old.clone().into(),
                None => gallery_selection::ActiveModel {
                    studio_id: Set(session.studio_id),
                    session_id: Set(session.id),
                    ..Default::default()
                },
            };
            row.photo_ids = Set(stored);
            row.picked = Set(ordered.len() as i32);
            row.extras = Set(extras as i32);
            row.extras_minor = Set(extras_minor);
            row.submitted_by = Set(by);
            row.submitted_at = Set(now);
            match existing {
                Some(_) => row.update(&tx).await?,
                None => row.insert(&tx).await?,
            }
        }
    };
    let studio = studio::Entity::find_by_id(session.studio_id)
        .one(&tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("studio {} missing", session.studio_id))?;
    let billed = extras::bill_in(ctx, &tx, &studio, &session, actor, request_id, now).await?;
    crate::workflow::next::commit(ctx, tx).await?;
    if let Billed::Supplementary { invoice, .. } = &billed {
        crate::billing::invoicing::announce_issued(ctx, invoice).await;
    }
    tracing::info!(
        session_id = session.id,
        picked,
        extras,
        changed,
        "gallery picks submitted"
    );
    Ok(Submitted {
        selection,
        changed,
        billed,
    })
}

/// `photo_ids` checked against the session's gallery and put in its order.
async fn in_gallery_order(
    conn: &impl ConnectionTrait,
    session: &session::Model,
    photo_ids: &[i64],
) -> DomainResult<Vec<i64>> {
    if photo_ids.is_empty() {
        return Err(UserError::invalid("photoIds", "pick at least one photo").into());
    }
    if photo_ids.len() > MAX_IMAGES as usize {
        return Err(UserError::invalid("photoIds", format!("at most {MAX_IMAGES} photos")).into());
    }
    let mut seen = HashSet::new();
    if let Some(repeated) = photo_ids.iter().find(|id| !seen.insert(**id)) {
        return Err(
            UserError::invalid("photoIds", format!("photo {repeated} is picked twice")).into(),
        );
    }
    let gallery = super::photos(
        conn,
        StudioId::new(session.studio_id),
        SessionId::new(session.id),
    )
    .await?;
    let known: HashSet<i64> = gallery.iter().map(|p| p.id).collect();
    if let Some(stranger) = photo_ids.iter().find(|id| !known.contains(id)) {
        return Err(UserError::invalid(
            "photoIds",
            format!("photo {stranger} is not in this session's gallery"),
        )
        .into());
    }
    Ok(gallery
        .into_iter()
        .map(|p| p.id)
        .filter(|id| seen.contains(id))
        .collect())
}

/// Records that the client asked for the download of their paid picks to
/// start within the withdrawal period (once: the first consent stands).
/// `false` when the session has no picks to consent for.
pub async fn consent(
    ctx: &AppContext,
    session_id: SessionId,
    address: Option<String>,
) -> DomainResult<bool> {
    let found = gallery_selection::Entity::find()
        .filter(gallery_selection::Column::SessionId.eq(session_id.get()))
        .one(&ctx.db)
        .await?;
    let Some(selection) = found else {
        return Ok(false);
    };
    if selection.consent_at.is_none() {
        let mut row: gallery_selection::ActiveModel = selection.into();
        row.consent_at = Set(Some(ctx.clock.now()));
        row.consent_address = Set(address);
        row.update(&ctx.db).await?;
    }
    Ok(true)
}

/// A session's picks as the gallery shows them.
#[derive(Debug, Clone)]
pub struct Picks {
    pub pricing: ImagePricing,
    pub selection: Option<gallery_selection::Model>,
    /// The picks, in gallery order.
    pub photos: Vec<i64>,
    /// Whether what the extras cost is paid.
    pub extras_paid: bool,
    /// The studio is in the EU/EEA or the UK: paid extras download only
    /// once the client asked for the supply to start (`consent`).
    pub needs_consent: bool,
}

impl Picks {
    /// The picks a `FULL` gallery lets the client download.
    pub fn unlocked(&self) -> HashSet<i64> {
        let consented = self
            .selection
            .as_ref()
            .is_some_and(|s| s.consent_at.is_some());
        let open = match self.extras_paid && (consented || !self.needs_consent) {
            true => self.photos.len(),
            false => self.pricing.included as usize,
        };
        self.photos.iter().take(open).copied().collect()
    }
}

/// The session's picks (`None`: its package sells none).
pub async fn of_session(
    conn: &impl ConnectionTrait,
    session: &session::Model,
) -> DomainResult<Option<Picks>> {
    let Some(pricing) = image_pricing_of(session.image_pricing.as_deref())? else {
        return Ok(None);
    };
    let selection = gallery_selection::Entity::find()
        .filter(gallery_selection::Column::SessionId.eq(session.id))
        .one(conn)
        .await?;
    let photos: Vec<i64> = match &selection {
        Some(s) => serde_json::from_str(&s.photo_ids)
            .map_err(|e| anyhow::anyhow!("picks of session {}: {e}", session.id))?,
        None => Vec::new(),
    };
    let owed = selection.as_ref().map_or(Minor::ZERO, |s| s.extras_minor);
    let extras_paid = !owed.is_positive() || paid_for_extras(conn, session).await? >= owed;
    let studio = studio::Entity::find_by_id(session.studio_id)
        .one(conn)
        .await?;
    let needs_consent = crate::kernel::country::digital_withdrawal_right(
        studio.as_ref().and_then(|s| s.country.as_deref()),
    );
    Ok(Some(Picks {
        needs_consent,
        pricing,
        selection,
        photos,
        extras_paid,
    }))
}

/// What the session's paid invoices have collected for extras: a paid
/// supplementary invoice with no refund, the final invoice's line while the
/// final invoice is paid and not refunded in full.
async fn paid_for_extras(
    conn: &impl ConnectionTrait,
    session: &session::Model,
) -> DomainResult<Minor> {
    let paid = invoice::Entity::find()
        .filter(invoice::Column::SessionId.eq(session.id))
        .filter(invoice::Column::Status.eq(InvoiceStatus::Paid))
        .filter(invoice::Column::ExtraImagesMinor.gt(0))
        .all(conn)
        .await?;
    let mut sum = Minor::ZERO;
    for invoice in paid {
        let kept = match invoice.kind {
            InvoiceKind::Extras => invoice.amount_refunded_minor.is_zero(),
            _ => invoice.amount_refunded_minor < invoice.amount_paid_minor,
        };
        if kept {
            sum = sum
                .checked_add(invoice.extra_images_minor)
                .ok_or_else(|| anyhow::anyhow!("paid extras overflow"))?;
        }
    }
    Ok(sum)
}

/// What a receipt for a supplementary invoice (picks) says of the right of
/// withdrawal, for a studio in the EU/EEA or the UK: the client's request
/// to start the downloads at once, with its time, or that the downloads
/// wait for it. `None` elsewhere, and for other invoices.
pub async fn withdrawal_note(
    conn: &impl ConnectionTrait,
    studio: &studio::Model,
    invoice: &invoice::Model,
) -> DomainResult<Option<String>> {
    if invoice.kind != InvoiceKind::Extras
        || !crate::kernel::country::digital_withdrawal_right(studio.country.as_deref())
    {
        return Ok(None);
    }
    let consent = gallery_selection::Entity::find()
        .filter(gallery_selection::Column::SessionId.eq(invoice.session_id))
        .one(conn)
        .await?
        .and_then(|s| s.consent_at);
    Ok(Some(match consent {
        Some(at) => format!(
            "On {} (UTC) you asked for the download of your extra photos to start at once, \
             before the 14-day withdrawal period ends, and acknowledged that you then lose \
             your right to withdraw from this purchase.",
            at.format("%B %-d, %Y at %H:%M")
        ),
        None => "Your extra photos open for download once you ask for it in your gallery. \
                 Until then you may withdraw from this purchase within 14 days."
            .to_string(),
    }))
}

/// When a new gallery's default pick applies: `picks_deadline_days` after
/// it opens, for a session whose package sells picks (`None` otherwise, or
/// when the studio sets no deadline).
pub async fn deadline(
    conn: &impl ConnectionTrait,
    studio: &studio::Model,
    session_id: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> DomainResult<Option<chrono::DateTime<chrono::Utc>>> {
    if studio.picks_deadline_days <= 0 {
        return Ok(None);
    }
    let sells = session::Entity::find_by_id(session_id)
        .one(conn)
        .await?
        .is_some_and(|s| s.image_pricing.is_some());
    Ok(sells.then(|| now + chrono::Duration::days(i64::from(studio.picks_deadline_days))))
}

/// The default pick, at the studio's deadline, for a client who picked
/// nothing: the first included photos in gallery order (no extras, so
/// nothing is billed). A client's own picks are never replaced.
pub async fn apply_default(
    ctx: &AppContext,
    invoice_id: i64,
    request_id: Option<&str>,
) -> DomainResult<()> {
    let Some(invoice) = invoice::Entity::find_by_id(invoice_id).one(&ctx.db).await? else {
        return Ok(());
    };
    let Some(session) = session::Entity::find_by_id(invoice.session_id)
        .one(&ctx.db)
        .await?
    else {
        return Ok(());
    };
    let Some(pricing) = image_pricing_of(session.image_pricing.as_deref())? else {
        return Ok(());
    };
    let studio_id = StudioId::new(session.studio_id);
    let photos: Vec<i64> = super::photos(&ctx.db, studio_id, SessionId::new(session.id))
        .await?
        .into_iter()
        .take(pricing.included as usize)
        .map(|p| p.id)
        .collect();
    if photos.is_empty() {
        return Ok(());
    }
    let done = submit(
        ctx,
        studio_id,
        SessionId::new(session.id),
        &photos,
        PickedBy::Default,
        &Actor::system(),
        request_id,
    )
    .await?;
    tracing::info!(
        session_id = session.id,
        applied = done.changed,
        "default picks"
    );
    Ok(())
}
