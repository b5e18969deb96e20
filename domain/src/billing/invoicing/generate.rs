//! Step 2 of the workflow, one session at a time or a batch of them in one
//! transaction (issue 20: steps in batches).
//!
//! A batch locks and reads all its sessions first, in id order, with one
//! statement, reads their invoices, studios and clients with one statement
//! each (`Read`), then generates their invoices ordered by studio and
//! session. Every other
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
    Generated, Origin, announce_issued, insert_draft, pick_current, record_number, route_unnumbered,
};
use crate::billing::lifecycle::Actor;
use crate::billing::numbering;
use crate::infra::context::AppContext;
use crate::infra::db::{begin_write, ids_among};
use crate::infra::error::DomainResult;
use crate::workflow::outbox;
use entity::enums::{InvoiceKind, SessionStatus};
use entity::{client, invoice, session, studio};
use sea_orm::{
    ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
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
    let read = Read::all(&tx, &ids).await?;
    let mut order: Vec<usize> = (0..due.len()).collect();
    order.sort_by_key(|&i| (read.sessions.get(&due[i].0).map(|s| s.studio_id), due[i].0));
    let mut answers: Vec<Option<Generated>> = due.iter().map(|_| None).collect();
    let (mut unnumbered, mut waiting) = (Vec::new(), Vec::new());
    // A session asked twice in one batch (a duplicate delivery) is generated
    // once: the second finds the first's invoice, as a later run would.
    let mut made: HashMap<i64, Option<i64>> = HashMap::new();
    for i in order {
        let (session_id, request_id) = due[i];
        if let Some(invoice) = made.get(&session_id) {
            answers[i] = Some(match invoice {
                Some(invoice_id) => Generated::AlreadyIssued {
                    invoice_id: *invoice_id,
                },
                None => Generated::NotBillable,
            });
            continue;
        }
        match generate_in(ctx, &tx, &read, session_id, request_id).await? {
            Step::Done(generated) => {
                made.insert(session_id, invoice_of(&generated));
                answers[i] = Some(generated);
            }
            Step::ToNumber(invoice) => {
                made.insert(session_id, Some(invoice.invoice.id));
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

/// The invoice a step came to, if any.
fn invoice_of(generated: &Generated) -> Option<i64> {
    match generated {
        Generated::Issued { invoice_id, .. }
        | Generated::AlreadyIssued { invoice_id }
        | Generated::Drafted { invoice_id } => Some(*invoice_id),
        Generated::NotBillable => None,
    }
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

/// What a batch reads once for all its sessions, before it writes: the
/// sessions (locked, in id order), their invoices, studios and clients.
struct Read {
    sessions: HashMap<i64, session::Model>,
    /// Each session's invoices of kind `FINAL`.
    invoices: HashMap<i64, Vec<invoice::Model>>,
    studios: HashMap<i64, studio::Model>,
    clients: HashMap<i64, client::Model>,
}

impl Read {
    async fn all(tx: &DatabaseTransaction, ids: &[i64]) -> DomainResult<Self> {
        let sessions: HashMap<i64, session::Model> = session::Entity::find()
            .filter(ids_among(tx, session::Column::Id, ids))
            .order_by_asc(session::Column::Id)
            .lock_exclusive()
            .all(tx)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
        let mut invoices: HashMap<i64, Vec<invoice::Model>> = HashMap::new();
        for invoice in invoice::Entity::find()
            .filter(ids_among(tx, invoice::Column::SessionId, ids))
            .filter(invoice::Column::Kind.eq(InvoiceKind::Final))
            .all(tx)
            .await?
        {
            invoices
                .entry(invoice.session_id)
                .or_default()
                .push(invoice);
        }
        let of = |pick: fn(&session::Model) -> i64| -> Vec<i64> {
            let mut ids: Vec<i64> = sessions.values().map(pick).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let studios = studio::Entity::find()
            .filter(ids_among(tx, studio::Column::Id, &of(|s| s.studio_id)))
            .all(tx)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
        let clients = client::Entity::find()
            .filter(ids_among(tx, client::Column::Id, &of(|s| s.client_id)))
            .all(tx)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        Ok(Self {
            sessions,
            invoices,
            studios,
            clients,
        })
    }
}

/// The step inside the caller's transaction, but for the number, from what
/// the batch read.
async fn generate_in(
    ctx: &AppContext,
    tx: &DatabaseTransaction,
    read: &Read,
    session_id: i64,
    request_id: Option<&str>,
) -> DomainResult<Step> {
    let existing = read.invoices.get(&session_id).cloned().unwrap_or_default();
    if let Some(existing) = pick_current(existing) {
        let invoice_id = existing.id;
        return Ok(Step::Done(Generated::AlreadyIssued { invoice_id }));
    }
    let Some(session) = read.sessions.get(&session_id) else {
        return Ok(Step::Done(Generated::NotBillable));
    };
    if session.status != SessionStatus::Completed {
        return Ok(Step::Done(Generated::NotBillable));
    }
    let studio = read
        .studios
        .get(&session.studio_id)
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("studio of session {session_id} missing"))?;
    let client = read
        .clients
        .get(&session.client_id)
        .ok_or_else(|| anyhow::anyhow!("client of session {session_id} missing"))?;
    let system = Actor::system();
    let origin = Origin {
        reissued_from: None,
        actor: &system,
        request_id,
    };
    let draft = insert_draft(ctx, tx, &studio, session, client, origin).await?;
    if studio.review_drafts {
        tracing::info!(invoice_id = draft.id, "invoice drafted for review");
        let invoice_id = draft.id;
        return Ok(Step::Done(Generated::Drafted { invoice_id }));
    }
    let now = ctx.clock.now();
    let invoice = route_unnumbered(ctx, tx, (&studio, client), draft, request_id, now).await?;
    Ok(Step::ToNumber(Box::new(Unnumbered { studio, invoice })))
}
