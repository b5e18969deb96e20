//! Step 2 of the workflow, one session at a time or a batch of them in one
//! transaction (issue 20: steps in batches).
//!
//! A batch locks all its sessions first, in id order, with one statement,
//! then generates their invoices ordered by studio and session. Every other
//! writer that numbers an invoice locks its session before the studio's
//! counter, and two batches take sessions, then counters, each in the same
//! order, so a batch adds no deadlock. The studio's counter is then locked
//! once for the whole batch, not once per invoice. A batch commits as a
//! whole or not at all: when any of its sessions fails, nothing of it is
//! kept and the caller generates each session alone
//! ([`generate_invoice`]), so one session's failure never fails the others
//! and every guarantee is the single path's.

use super::{
    Generated, Origin, announce_issued, current_invoice_of_session, finalize_and_route,
    insert_draft, lock_session,
};
use crate::billing::lifecycle::Actor;
use crate::infra::context::AppContext;
use crate::infra::db::{begin_write, ids_among};
use crate::infra::error::DomainResult;
use entity::enums::SessionStatus;
use entity::{client, invoice, session, studio};
use sea_orm::{DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;

/// Step 2-4 of the workflow for a completed session. A session that already
/// has an invoice (even a void one) gets nothing new: only an explicit
/// `reissue_invoice` replaces a void invoice, so a replayed job never does.
/// Studios that review drafts get a `DRAFT` (no number, nothing sent).
pub async fn generate_invoice(
    ctx: &AppContext,
    session_id: i64,
    request_id: Option<&str>,
) -> DomainResult<Generated> {
    let tx = begin_write(&ctx.db).await?;
    let (generated, issued) = generate_in(ctx, &tx, session_id, request_id).await?;
    tx.commit().await?;
    if let Some(invoice) = issued {
        announce_issued(ctx, &invoice).await;
    }
    Ok(generated)
}

/// [`generate_invoice`] for several sessions, `(session, request id)`, in
/// one transaction; the answers in the order asked. `Err` means nothing was
/// written: generate each alone then.
pub async fn generate_invoices(
    ctx: &AppContext,
    due: &[(i64, Option<&str>)],
) -> DomainResult<Vec<Generated>> {
    let tx = begin_write(&ctx.db).await?;
    let ids: Vec<i64> = due.iter().map(|(id, _)| *id).collect();
    let studio_of: HashMap<i64, i64> = session::Entity::find()
        .select_only()
        .columns([session::Column::Id, session::Column::StudioId])
        .filter(ids_among(&tx, session::Column::Id, &ids))
        .order_by_asc(session::Column::Id)
        .lock_exclusive()
        .into_tuple::<(i64, i64)>()
        .all(&tx)
        .await?
        .into_iter()
        .collect();
    let mut order: Vec<usize> = (0..due.len()).collect();
    order.sort_by_key(|&i| (studio_of.get(&due[i].0).copied(), due[i].0));
    let mut answers: Vec<Option<Generated>> = due.iter().map(|_| None).collect();
    let mut issued = Vec::new();
    for i in order {
        let (session_id, request_id) = due[i];
        let (generated, invoice) = generate_in(ctx, &tx, session_id, request_id).await?;
        answers[i] = Some(generated);
        issued.extend(invoice);
    }
    tx.commit().await?;
    for invoice in &issued {
        announce_issued(ctx, invoice).await;
    }
    Ok(answers
        .into_iter()
        .map(|a| a.unwrap_or(Generated::NotBillable))
        .collect())
}

/// The step inside the caller's transaction; the invoice to announce once
/// it commits, when one was issued.
async fn generate_in(
    ctx: &AppContext,
    tx: &DatabaseTransaction,
    session_id: i64,
    request_id: Option<&str>,
) -> DomainResult<(Generated, Option<invoice::Model>)> {
    if let Some(existing) = current_invoice_of_session(tx, session_id).await? {
        let invoice_id = existing.id;
        return Ok((Generated::AlreadyIssued { invoice_id }, None));
    }
    let Some(session) = lock_session(tx, session_id).await? else {
        return Ok((Generated::NotBillable, None));
    };
    if session.status != SessionStatus::Completed {
        return Ok((Generated::NotBillable, None));
    }
    let studio = studio::Entity::find_by_id(session.studio_id)
        .one(tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("studio of session {session_id} missing"))?;
    let client = client::Entity::find_by_id(session.client_id)
        .one(tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("client of session {session_id} missing"))?;
    let system = Actor::system();
    let origin = Origin {
        reissued_from: None,
        actor: &system,
        request_id,
    };
    let draft = insert_draft(ctx, tx, &studio, &session, &client, origin).await?;
    if studio.review_drafts {
        tracing::info!(invoice_id = draft.id, "invoice drafted for review");
        let invoice_id = draft.id;
        return Ok((Generated::Drafted { invoice_id }, None));
    }
    let now = ctx.clock.now();
    let invoice = finalize_and_route(ctx, tx, &studio, draft, &system, request_id, now).await?;
    let number = invoice.display_number().to_string();
    let invoice_id = invoice.id;
    Ok((Generated::Issued { invoice_id, number }, Some(invoice)))
}
