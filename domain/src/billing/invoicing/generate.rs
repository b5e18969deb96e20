//! Step 2 of the workflow, one session at a time or a batch of them in one
//! transaction (issue 20: steps in batches).
//!
//! A batch locks all its sessions first, in id order, with one statement,
//! then generates their invoices ordered by studio and session. Every other
//! writer that numbers an invoice locks its session before the studio's
//! counter, and two batches take sessions, then counters, each in the same
//! order, so a batch adds no deadlock. The invoices are numbered last, with
//! one write of each studio's counter just before the commit, so the
//! counter is locked for that moment, not from the batch's first invoice
//! (nor once per invoice). A batch commits as a
//! whole or not at all: when any of its sessions fails, nothing of it is
//! kept and the caller generates each session alone (a batch of one,
//! [`generate_invoice`]), so one session's failure never fails the others.

use super::{
    Generated, Origin, announce_issued, current_invoice_of_session, insert_draft, lock_session,
    record_number, route_unnumbered,
};
use crate::billing::lifecycle::Actor;
use crate::billing::numbering;
use crate::infra::context::AppContext;
use crate::infra::db::{begin_write, ids_among};
use crate::infra::error::DomainResult;
use crate::workflow::outbox;
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
    let mut answers = generate_invoices(ctx, &[(session_id, request_id)], &[]).await?;
    Ok(answers.pop().unwrap_or(Generated::NotBillable))
}

/// [`generate_invoice`] for several sessions, `(session, request id)`, in
/// one transaction; the answers in the order asked. `jobs` are the outbox
/// rows of the jobs asking, marked `DONE` in the same transaction (the
/// worker's bookkeeping folded into the batch). `Err` means nothing was
/// written: generate each alone then.
pub async fn generate_invoices(
    ctx: &AppContext,
    due: &[(i64, Option<&str>)],
    jobs: &[i64],
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
    let (mut unnumbered, mut waiting) = (Vec::new(), Vec::new());
    for i in order {
        let (session_id, request_id) = due[i];
        match generate_in(ctx, &tx, session_id, request_id).await? {
            Step::Done(generated) => answers[i] = Some(generated),
            Step::ToNumber(invoice) => {
                unnumbered.push(*invoice);
                waiting.push(i);
            }
        }
    }
    let issued = number_last(ctx, &tx, unnumbered).await?;
    outbox::mark_done_many(&tx, jobs, ctx.clock.now()).await?;
    tx.commit().await?;
    for (i, (generated, invoice)) in waiting.into_iter().zip(issued) {
        announce_issued(ctx, &invoice).await;
        answers[i] = Some(generated);
    }
    Ok(answers
        .into_iter()
        .map(|a| a.unwrap_or(Generated::NotBillable))
        .collect())
}

/// What the step came to inside its transaction.
enum Step {
    /// Nothing more to write.
    Done(Generated),
    /// An invoice finalized and routed, waiting for its number.
    ToNumber(Box<Unnumbered>),
}

struct Unnumbered {
    studio: studio::Model,
    invoice: invoice::Model,
}

/// Numbers the invoices, in the order given (a batch's is by studio, then
/// session), with one write of each studio's counter, just before the
/// commit: the counter's lock, which every finalization of the studio
/// waits for, is held from here to the commit instead of from a batch's
/// first invoice.
async fn number_last(
    ctx: &AppContext,
    tx: &DatabaseTransaction,
    unnumbered: Vec<Unnumbered>,
) -> DomainResult<Vec<(Generated, invoice::Model)>> {
    let now = ctx.clock.now();
    let system = Actor::system();
    let mut issued = Vec::with_capacity(unnumbered.len());
    let mut rest = unnumbered.into_iter().peekable();
    while let Some(first) = rest.next() {
        let studio = first.studio;
        let mut invoices = vec![first.invoice];
        while let Some(next) = rest.next_if(|u| u.studio.id == studio.id) {
            invoices.push(next.invoice);
        }
        let numbers = numbering::next_invoice_numbers(tx, &studio, invoices.len(), now).await?;
        for (invoice, number) in invoices.into_iter().zip(numbers) {
            let invoice = record_number(tx, invoice, number, &system, now).await?;
            let number = invoice.display_number().to_string();
            let invoice_id = invoice.id;
            issued.push((Generated::Issued { invoice_id, number }, invoice));
        }
    }
    Ok(issued)
}

/// The step inside the caller's transaction, but for the number.
async fn generate_in(
    ctx: &AppContext,
    tx: &DatabaseTransaction,
    session_id: i64,
    request_id: Option<&str>,
) -> DomainResult<Step> {
    if let Some(existing) = current_invoice_of_session(tx, session_id).await? {
        let invoice_id = existing.id;
        return Ok(Step::Done(Generated::AlreadyIssued { invoice_id }));
    }
    let Some(session) = lock_session(tx, session_id).await? else {
        return Ok(Step::Done(Generated::NotBillable));
    };
    if session.status != SessionStatus::Completed {
        return Ok(Step::Done(Generated::NotBillable));
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
        return Ok(Step::Done(Generated::Drafted { invoice_id }));
    }
    let now = ctx.clock.now();
    let invoice = route_unnumbered(ctx, tx, &studio, draft, request_id, now).await?;
    Ok(Step::ToNumber(Box::new(Unnumbered { studio, invoice })))
}
