//! Several payers on one invoice (`setInvoicePayers`): the split, checked
//! and stored, and where each payer stands.
//!
//! The invoice keeps its one number and its one contracting client. Each
//! payer gets their own portal link (own unguessable token), their own
//! invoice email for their share, their own gateway Customer on the hosted
//! page, and their own receipts and reminders; a payer's page shows their
//! share and the invoice, never another payer's email, card or payments.
//! What each owes is [`crate::kernel::payers::owed`]: any payer, or the
//! client through the invoice's own link, may pay more and cover the rest.
//!
//! A split is set on a draft or an unpaid invoice and may be replaced until
//! a payer has paid (the replaced payers' links stop; their open checkouts
//! are expired). On an issued invoice each payer is emailed at once; a draft
//! emails them when it is finalized.

use crate::billing::lifecycle::{self, Actor, Audit};
use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::{DomainResult, UserError};
use crate::infra::secrets::{hash_token, random_token};
use crate::kernel::ids::{InvoiceId, StudioId};
use crate::kernel::money::Minor;
use crate::kernel::payers::{Share, Standing};
use crate::workflow::next::{self, Change};
use entity::enums::{InvoiceEventKind, InvoiceStatus, PaymentStatus};
use entity::{checkout_session, invoice, invoice_payer, payment};
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

pub mod booking;
pub mod charge;

/// One payer as the studio gives them: a percent or an amount of the
/// amount due.
#[derive(Debug, Clone)]
pub struct PayerInput {
    pub name: String,
    pub email: String,
    pub percent: Option<Decimal>,
    pub amount: Option<Decimal>,
    /// A booking's payer only: their share of each invoice is charged to
    /// the card they save when paying one.
    pub auto_pay: bool,
}

/// The payers sharing `invoice_id` now, first payer first.
pub async fn payers_of(
    conn: &impl ConnectionTrait,
    invoice_id: i64,
) -> DomainResult<Vec<invoice_payer::Model>> {
    Ok(invoice_payer::Entity::find()
        .filter(invoice_payer::Column::InvoiceId.eq(invoice_id))
        .filter(invoice_payer::Column::RemovedAt.is_null())
        .order_by_asc(invoice_payer::Column::Position)
        .all(conn)
        .await?)
}

/// A payer by their link's token (a split replaced since: none).
pub async fn by_token(
    conn: &impl ConnectionTrait,
    token: &str,
) -> DomainResult<Option<invoice_payer::Model>> {
    Ok(invoice_payer::Entity::find()
        .filter(invoice_payer::Column::PortalTokenHash.eq(hash_token(token)))
        .filter(invoice_payer::Column::RemovedAt.is_null())
        .one(conn)
        .await?)
}

/// What a payer paid toward the invoice: their successful payments' money
/// (a tip is not toward the invoice). A refund by agreement lowers the
/// invoice with a credit note and is not asked for again; money taken back
/// by a chargeback (a disputed payment's refunds) is owed again, by them.
pub fn paid_by(payer_id: i64, payments: &[payment::Model]) -> Minor {
    payments
        .iter()
        .filter(|p| p.payer_id == Some(payer_id) && p.status == PaymentStatus::Succeeded)
        .fold(Minor::ZERO, |sum, p| {
            let taken_back = match p.disputed_at {
                Some(_) => p.amount_refunded_minor,
                None => Minor::ZERO,
            };
            sum + p.amount_minor - taken_back
        })
}

/// What each payer owes now, in the payers' order.
pub fn owed(
    invoice: &invoice::Model,
    payers: &[invoice_payer::Model],
    payments: &[payment::Model],
) -> Vec<Minor> {
    let standing: Vec<Standing> = payers
        .iter()
        .map(|p| Standing {
            share: p.share_minor,
            paid: paid_by(p.id, payments),
        })
        .collect();
    crate::kernel::payers::owed(invoice.amount_due_minor, &standing)
}

/// One payer and where they stand: what they paid, what they owe now.
#[derive(Debug, Clone)]
pub struct PayerStanding {
    pub payer: invoice_payer::Model,
    pub paid: Minor,
    pub owed: Minor,
}

/// Where each payer of `invoice` stands, first first (none: not shared).
pub async fn standing_of(
    conn: &impl ConnectionTrait,
    invoice: &invoice::Model,
) -> DomainResult<Vec<PayerStanding>> {
    let payers = payers_of(conn, invoice.id).await?;
    if payers.is_empty() {
        return Ok(Vec::new());
    }
    let payments = payment::Entity::find()
        .filter(payment::Column::InvoiceId.eq(invoice.id))
        .all(conn)
        .await?;
    let owed = owed(invoice, &payers, &payments);
    Ok(payers
        .into_iter()
        .zip(owed)
        .map(|(payer, owed)| PayerStanding {
            paid: paid_by(payer.id, &payments),
            payer,
            owed,
        })
        .collect())
}

/// What `payer_id` owes now, read inside the caller's transaction (the
/// checkout's reservation, under the invoice's lock).
pub async fn owed_by_in(
    conn: &impl ConnectionTrait,
    invoice: &invoice::Model,
    payer_id: i64,
) -> DomainResult<Option<Minor>> {
    Ok(standing_of(conn, invoice)
        .await?
        .into_iter()
        .find(|s| s.payer.id == payer_id)
        .map(|s| s.owed))
}

fn shares_of(
    inputs: &[PayerInput],
    currency: crate::kernel::money::Currency,
) -> Result<Vec<Share>, UserError> {
    inputs
        .iter()
        .enumerate()
        .map(|(i, p)| match (p.percent, p.amount) {
            (Some(percent), None) => Ok(Share::Percent(percent)),
            (None, Some(amount)) => currency
                .parse_amount(amount)
                .map(Share::Amount)
                .map_err(|e| UserError::invalid(&format!("payers.{i}.amount"), e.to_string())),
            _ => Err(UserError::invalid(
                &format!("payers.{i}"),
                "give either a percent or an amount",
            )),
        })
        .collect()
}

/// Names and emails checked, an email given to one payer only.
pub(crate) fn check_people(inputs: &[PayerInput]) -> Result<Vec<(String, String)>, Vec<UserError>> {
    let mut problems = crate::kernel::validate::Problems::new();
    let mut people: Vec<(String, String)> = Vec::with_capacity(inputs.len());
    for (i, p) in inputs.iter().enumerate() {
        let name = problems.name(&format!("payers.{i}.name"), &p.name);
        let email = problems.email(&format!("payers.{i}.email"), &p.email);
        if !email.is_empty()
            && people
                .iter()
                .any(|(_, other)| other.eq_ignore_ascii_case(&email))
        {
            problems.push(UserError::duplicate(
                &format!("payers.{i}.email"),
                "two payers cannot share one email: each gets their own link",
            ));
        }
        people.push((name, email));
    }
    problems.finish().map(|()| people)
}

/// `setInvoicePayers`: splits the invoice's amount due between `inputs`,
/// replacing an earlier split nobody paid on. Refused with nothing written:
/// shares that do not add up (`SHARES_DO_NOT_ADD_UP`), a bad name, email,
/// percent or amount, an invoice that is paid, void or written off, or a
/// split a payer already paid on (`INVALID_STATE`).
pub async fn set_invoice_payers(
    ctx: &AppContext,
    studio_id: StudioId,
    invoice_id: InvoiceId,
    inputs: &[PayerInput],
    actor: &Actor,
    request_id: Option<&str>,
) -> DomainResult<invoice::Model> {
    let (studio_id, invoice_id) = (studio_id.get(), invoice_id.get());
    let people = check_people(inputs)?;
    let now = ctx.clock.now();
    let tx = begin_write(&ctx.db).await?;
    let invoice = invoice::Entity::find_by_id(invoice_id)
        .filter(invoice::Column::StudioId.eq(studio_id))
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or_else(|| UserError::not_found("invoiceId", "invoice"))?;
    let splittable =
        invoice.status == InvoiceStatus::Draft || crate::billing::payments::payable(&invoice);
    if !splittable {
        return Err(UserError::state(
            "invoiceId",
            format!(
                "invoice {} is {} with nothing due: there is nothing to share",
                invoice.display_number(),
                invoice.status.as_str()
            ),
        )
        .into());
    }
    let shares = shares_of(inputs, invoice.currency)?;
    let amounts =
        crate::kernel::payers::split(invoice.amount_due_minor, invoice.currency, &shares)?;
    let earlier = payers_of(&tx, invoice_id).await?;
    ensure_nobody_paid(&tx, invoice_id).await?;
    if !earlier.is_empty() {
        invoice_payer::Entity::update_many()
            .col_expr(invoice_payer::Column::RemovedAt, Expr::value(now))
            .filter(invoice_payer::Column::InvoiceId.eq(invoice_id))
            .filter(invoice_payer::Column::RemovedAt.is_null())
            .exec(&tx)
            .await?;
    }
    let people = people
        .into_iter()
        .zip(amounts)
        .map(|((name, email), share)| NewPayer {
            auto_pay: false,
            charged: false,
            name,
            email,
            share,
            session_payer_id: None,
        })
        .collect();
    let payers = insert_payers(ctx, &tx, &invoice, people, now).await?;
    retire_replaced(&tx, &invoice, &earlier, now).await?;
    let detail = payers
        .iter()
        .map(|p| format!("{} {}", p.name, p.share_minor.of(invoice.currency)))
        .collect::<Vec<_>>()
        .join(", ");
    lifecycle::record(
        &tx,
        &invoice,
        Audit {
            event: InvoiceEventKind::PayersSet,
            from: None,
            to: None,
            amount_minor: Some(invoice.amount_due_minor),
            actor,
            detail: Some(format!("shared by {detail}")),
        },
        now,
    )
    .await?;
    // An issued invoice goes to its payers now (a draft, when finalized).
    if invoice.status != InvoiceStatus::Draft
        && let Some(first) = payers.first()
    {
        next::after(
            &tx,
            Change::InvoiceResent {
                studio_id,
                invoice_id,
                key: format!("payers-{}", first.id),
            },
            request_id,
            now,
        )
        .await?;
    }
    next::commit(ctx, tx).await?;
    Ok(invoice)
}

/// A split stays once a payer paid (or is paying) toward the invoice.
async fn ensure_nobody_paid(tx: &impl ConnectionTrait, invoice_id: i64) -> DomainResult<()> {
    let paying = payment::Entity::find()
        .filter(payment::Column::InvoiceId.eq(invoice_id))
        .filter(payment::Column::PayerId.is_not_null())
        .filter(payment::Column::Status.ne(PaymentStatus::Failed))
        .count(tx)
        .await?;
    if paying > 0 {
        return Err(UserError::state(
            "invoiceId",
            "a payer has already paid toward this invoice: its split cannot change",
        )
        .into());
    }
    Ok(())
}

/// A payer about to be written: who, their share, and the booking's payer
/// they come from, if any.
pub(crate) struct NewPayer {
    /// A booking's auto-pay payer, and whether they have a card to charge.
    pub auto_pay: bool,
    pub charged: bool,
    pub name: String,
    pub email: String,
    pub share: Minor,
    pub session_payer_id: Option<i64>,
}

/// The payers written in order, each with their own link.
pub(crate) async fn insert_payers(
    ctx: &AppContext,
    tx: &impl ConnectionTrait,
    invoice: &invoice::Model,
    people: Vec<NewPayer>,
    now: chrono::DateTime<chrono::Utc>,
) -> DomainResult<Vec<invoice_payer::Model>> {
    let mut payers = Vec::with_capacity(people.len());
    for (position, person) in people.into_iter().enumerate() {
        let salt = random_token();
        payers.push(
            invoice_payer::ActiveModel {
                studio_id: Set(invoice.studio_id),
                invoice_id: Set(invoice.id),
                position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
                name: Set(person.name),
                email: Set(person.email),
                share_minor: Set(person.share),
                currency: Set(invoice.currency),
                auto_pay: Set(person.auto_pay),
                charged: Set(person.charged),
                portal_token_hash: Set(hash_token(&ctx.secret.portal_token(&salt))),
                portal_salt: Set(salt),
                gateway_customer_id: Set(None),
                created_at: Set(now),
                removed_at: Set(None),
                session_payer_id: Set(person.session_payer_id),
                ..Default::default()
            }
            .insert(tx)
            .await?,
        );
    }
    Ok(payers)
}

/// Open checkouts of payers replaced by a new split are expired (by the
/// `ExpireStaleCheckouts` job): nobody pays a share that is gone.
async fn retire_replaced(
    tx: &sea_orm::DatabaseTransaction,
    invoice: &invoice::Model,
    earlier: &[invoice_payer::Model],
    now: chrono::DateTime<chrono::Utc>,
) -> DomainResult<()> {
    if earlier.is_empty() {
        return Ok(());
    }
    let live = checkout_session::Entity::find()
        .filter(checkout_session::Column::InvoiceId.eq(invoice.id))
        .filter(checkout_session::Column::Status.is_in(crate::billing::checkout::LIVE))
        .filter(checkout_session::Column::PayerId.is_in(earlier.iter().map(|p| p.id)))
        .all(tx)
        .await?;
    if let Some(attempt) = live.iter().map(|r| r.attempt).max() {
        next::after(
            tx,
            Change::AmountDueChanged {
                studio_id: invoice.studio_id,
                invoice_id: invoice.id,
                amount_due: invoice.amount_due_minor,
                attempt,
            },
            None,
            now,
        )
        .await?;
    }
    Ok(())
}

/// The payers a new split replaced on `invoice_id`: their live checkouts
/// are expired (`checkout::expire_stale`).
pub async fn replaced_payer_ids(
    conn: &impl ConnectionTrait,
    invoice_id: i64,
) -> DomainResult<Vec<i64>> {
    Ok(invoice_payer::Entity::find()
        .select_only()
        .column(invoice_payer::Column::Id)
        .filter(invoice_payer::Column::InvoiceId.eq(invoice_id))
        .filter(invoice_payer::Column::RemovedAt.is_not_null())
        .into_tuple::<i64>()
        .all(conn)
        .await?)
}

/// What an attempt charges: a payer's share owed now (`payer`), or what
/// the invoice owes; nothing for an automatic charge of the client's card on
/// an invoice shared between payers (theirs to pay).
pub(crate) async fn charged_amount(
    tx: &impl ConnectionTrait,
    invoice: &invoice::Model,
    source: entity::enums::PaymentSource,
    payer: Option<i64>,
) -> DomainResult<Minor> {
    if let Some(payer) = payer {
        return Ok(owed_by_in(tx, invoice, payer).await?.unwrap_or(Minor::ZERO));
    }
    let shared = source == entity::enums::PaymentSource::AutoPay
        && !payers_of(tx, invoice.id).await?.is_empty();
    if shared {
        tracing::info!(
            invoice_id = invoice.id,
            "shared between payers: no automatic charge"
        );
        return Ok(Minor::ZERO);
    }
    Ok(invoice.amount_due_minor)
}
