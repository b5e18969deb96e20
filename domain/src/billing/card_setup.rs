//! Cards on file through Checkout `mode=setup` (`requestCardSetup`).
//!
//! 1. **Request** ([`request`]): the studio asks; a `card_setups` row (the
//!    link's token is `HMAC(secret, salt)`, stored hashed, expiring after
//!    [`LINK_DAYS`]) and its `SendCardSetupLink` email job commit together;
//!    the email goes through the notifications table like every other
//!    (kind `CARD_SETUP`, keyed by the request), so it is sent once.
//! 2. **Open** ([`start`]): the setup page's button POSTs (CSRF-checked;
//!    never a GET). A still-open session is reused; otherwise an attempt row
//!    is reserved under the request's lock with its parameters fixed (key
//!    `setup_{request}_checkout_{attempt}`), then the gateway creates the
//!    session for the client's one Customer.
//! 3. **Store once** ([`complete_in`]): `checkout.session.completed`
//!    (`mode=setup`, the SetupIntent retrieved with its payment method),
//!    `setup_intent.succeeded`, and the client's return to `success_url`
//!    (which retrieves the session) all end here. The attempt moves to
//!    `COMPLETE` once; only that move writes the client's card (the columns
//!    `attachPaymentMethod` writes), and never over a card a later setup
//!    already stored.

use crate::billing::hosted;
use crate::infra::context::AppContext;
use crate::infra::db::begin_write;
use crate::infra::error::{DomainResult, UserError};
use crate::infra::secrets::hash_token;
use crate::kernel::keys::Key;
use crate::ports::gateway::{CheckoutState, PaymentMethodDetails, SetupCheckoutRequest};
use chrono::{DateTime, Duration, Utc};
use entity::enums::CheckoutStatus;
use entity::{card_setup, card_setup_session, client, studio};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

/// How long the emailed link works.
pub const LINK_DAYS: i64 = 7;

const LIVE: [CheckoutStatus; 2] = [CheckoutStatus::Creating, CheckoutStatus::Open];

/// The link token of a request: every process with the secret derives it.
fn token_of(ctx: &AppContext, salt: &str) -> String {
    ctx.secret.card_setup_token(salt)
}

/// The setup page's address for a request (what the email links to).
pub fn link_of(ctx: &AppContext, setup: &card_setup::Model) -> String {
    format!(
        "{}/card-setup/{}",
        ctx.settings.public_url(),
        token_of(ctx, &setup.salt)
    )
}

/// The idempotency key of an attempt (also `metadata[card_setup]`).
pub fn idempotency_key(setup_id: i64, attempt: i32) -> String {
    Key::CardSetup { setup_id, attempt }.to_string()
}

mod requests;
pub use requests::{request, request_in};

/// A setup request with what its page shows.
#[derive(Debug, Clone)]
pub struct SetupPage {
    pub setup: card_setup::Model,
    pub client: client::Model,
    pub studio: studio::Model,
}

impl SetupPage {
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.setup.completed_at.is_none() && now > self.setup.expires_at
    }
}

pub async fn load(ctx: &AppContext, setup: card_setup::Model) -> DomainResult<SetupPage> {
    let client = client::Entity::find_by_id(setup.client_id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("client {} missing", setup.client_id))?;
    let studio = studio::Entity::find_by_id(setup.studio_id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("studio {} missing", setup.studio_id))?;
    Ok(SetupPage {
        setup,
        client,
        studio,
    })
}

/// The request behind a link token, if any.
pub async fn find(ctx: &AppContext, token: &str) -> DomainResult<Option<SetupPage>> {
    if token.len() < 32 || token.len() > 128 {
        return Ok(None);
    }
    let Some(setup) = card_setup::Entity::find()
        .filter(card_setup::Column::TokenHash.eq(hash_token(token)))
        .one(&ctx.db)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(load(ctx, setup).await?))
}

/// The CSRF token of the setup page's form (an HMAC of the link token).
pub fn csrf_token(ctx: &AppContext, token: &str) -> String {
    ctx.secret.sign("card-setup-checkout", token)
}

/// The setup page's button: opens (or reuses) the `mode=setup` Checkout
/// Session and returns where to send the browser.
pub async fn start(
    ctx: &AppContext,
    page: &SetupPage,
    token: &str,
    csrf: &str,
) -> DomainResult<String> {
    if !ctx.secret.verify("card-setup-checkout", token, csrf) {
        return Err(UserError::invalid("csrf", "the form has expired; reload the page").into());
    }
    let now = ctx.clock.now();
    if page.expired(now) {
        return Err(UserError::state(
            "token",
            "this card-setup link has expired; ask the studio for a new one",
        )
        .into());
    }
    let setup_id = page.setup.id;
    let row = reserve_attempt(ctx, page).await?;
    if row.status == CheckoutStatus::Open
        && let Some(url) = &row.url
    {
        return Ok(url.clone());
    }
    let customer = crate::billing::hosted::ensure_customer(ctx, &page.client).await?;
    let link = format!("{}/card-setup/{token}", ctx.settings.public_url());
    let session = match ctx
        .gateway
        .create_setup_checkout(&SetupCheckoutRequest {
            idempotency_key: row.idempotency_key.clone(),
            currency: page.studio.currency,
            customer: customer.clone(),
            client_ref: page.client.id.to_string(),
            setup_ref: row.idempotency_key.clone(),
            success_url: format!("{link}/return?session_id={{CHECKOUT_SESSION_ID}}"),
            cancel_url: link,
            expires_at: row.expires_at,
        })
        .await
    {
        Ok(session) => session,
        Err(crate::ports::gateway::GatewayError::Unavailable(why)) => {
            lost_setup_creation(ctx, &row, customer, &why).await?
        }
        Err(err) => return Err(err.into()),
    };
    let url = session
        .url
        .clone()
        .ok_or_else(|| anyhow::anyhow!("setup session {} has no url", session.id))?;
    card_setup_session::Entity::update_many()
        .col_expr(
            card_setup_session::Column::GatewaySessionId,
            Expr::value(session.id.clone()),
        )
        .col_expr(card_setup_session::Column::Url, Expr::value(url.clone()))
        .col_expr(
            card_setup_session::Column::Status,
            Expr::value(CheckoutStatus::Open.as_str()),
        )
        .col_expr(
            card_setup_session::Column::UpdatedAt,
            Expr::value(ctx.clock.now()),
        )
        .filter(card_setup_session::Column::Id.eq(row.id))
        .filter(card_setup_session::Column::Status.eq(CheckoutStatus::Creating))
        .exec(&ctx.db)
        .await?;
    tracing::info!(card_setup = setup_id, attempt = row.attempt, session = %session.id, "setup session opened");
    Ok(url)
}

/// Reserves the setup's next attempt (or finds the one another tab
/// reserved, still fresh) under the request's lock.
async fn reserve_attempt(
    ctx: &AppContext,
    page: &SetupPage,
) -> DomainResult<card_setup_session::Model> {
    let now = ctx.clock.now();
    let setup_id = page.setup.id;
    let fresh_until = hosted::fresh_until(now);
    let tx = begin_write(&ctx.db).await?;
    // The request's lock: two tabs reserve one attempt.
    card_setup::Entity::find_by_id(setup_id)
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("card setup {setup_id} vanished"))?;
    let reusable = card_setup_session::Entity::find()
        .filter(card_setup_session::Column::CardSetupId.eq(setup_id))
        .filter(card_setup_session::Column::Status.is_in(LIVE))
        .filter(card_setup_session::Column::ExpiresAt.gt(fresh_until))
        .order_by_desc(card_setup_session::Column::Attempt)
        .one(&tx)
        .await?;
    let row = match reusable {
        Some(row) => row,
        None => {
            use card_setup_session::Column as C;
            let attempt = hosted::next_attempt::<card_setup_session::Entity>(
                &tx,
                C::Attempt,
                C::CardSetupId,
                setup_id,
            )
            .await?;
            card_setup_session::ActiveModel {
                card_setup_id: Set(setup_id),
                studio_id: Set(page.setup.studio_id),
                client_id: Set(page.setup.client_id),
                attempt: Set(attempt),
                idempotency_key: Set(idempotency_key(setup_id, attempt)),
                expires_at: Set(hosted::expiry(now)),
                gateway_session_id: Set(None),
                url: Set(None),
                status: Set(CheckoutStatus::Creating),
                payment_method: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&tx)
            .await?
        }
    };
    tx.commit().await?;
    Ok(row)
}

/// The creation of a setup attempt's session got no answer (a timeout, a
/// 5xx): as for a payment (`checkout::start`), the session is looked for by
/// the attempt's key (`metadata[card_setup]`), never by sending the key
/// again; not found, the attempt is abandoned and the next press opens
/// attempt n+1 under a new key.
async fn lost_setup_creation(
    ctx: &AppContext,
    row: &card_setup_session::Model,
    customer: Option<String>,
    why: &str,
) -> DomainResult<crate::ports::gateway::SetupSession> {
    tracing::warn!(card_setup = row.card_setup_id, attempt = row.attempt, %why, "setup session creation's outcome unknown; looking for it");
    let lookup = crate::ports::gateway::CheckoutLookup {
        idempotency_key: row.idempotency_key.clone(),
        customer,
        created_from: row.created_at - Duration::minutes(10),
    };
    match ctx.gateway.find_setup_checkout(&lookup).await {
        Ok(Some(session)) if session.state == CheckoutState::Open && session.url.is_some() => {
            return Ok(session);
        }
        Ok(_) => {}
        Err(err) => {
            tracing::warn!(card_setup = row.card_setup_id, error = %err, "setup session lookup failed; abandoning the attempt");
        }
    }
    card_setup_session::Entity::update_many()
        .col_expr(
            card_setup_session::Column::Status,
            Expr::value(CheckoutStatus::Expired.as_str()),
        )
        .col_expr(
            card_setup_session::Column::UpdatedAt,
            Expr::value(ctx.clock.now()),
        )
        .filter(card_setup_session::Column::Id.eq(row.id))
        .filter(card_setup_session::Column::Status.eq(CheckoutStatus::Creating))
        .exec(&ctx.db)
        .await?;
    Err(UserError::state(
        "gateway",
        "the payment provider did not answer; nothing was saved; please press the button again",
    )
    .into())
}

/// What storing a card did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// No attempt here knows this session or reference.
    Unknown,
    /// This call stored the card (on the client, unless a later setup had).
    Now { client_id: i64 },
    /// The attempt was complete already: nothing changed.
    Already,
}

/// How a completed setup is named by what arrived.
#[derive(Debug, Clone, Copy)]
pub enum SetupRef<'a> {
    /// The Checkout Session id (`cs_...`): the event, the return page.
    Session(&'a str),
    /// `metadata[card_setup]` of the SetupIntent (`setup_intent.succeeded`).
    Attempt(&'a str),
}

async fn attempt_of(
    conn: &impl ConnectionTrait,
    by: SetupRef<'_>,
    lock: bool,
) -> DomainResult<Option<card_setup_session::Model>> {
    let query = card_setup_session::Entity::find();
    let query = match by {
        SetupRef::Session(id) => query.filter(card_setup_session::Column::GatewaySessionId.eq(id)),
        SetupRef::Attempt(key) => query.filter(card_setup_session::Column::IdempotencyKey.eq(key)),
    };
    let query = if lock { query.lock_exclusive() } else { query };
    Ok(query.one(conn).await?)
}

/// Whether a card for this setup is still to be stored (the webhook only
/// asks the gateway for the card then).
pub async fn wants_card(ctx: &AppContext, by: SetupRef<'_>) -> DomainResult<bool> {
    Ok(attempt_of(&ctx.db, by, false)
        .await?
        .is_some_and(|row| row.status != CheckoutStatus::Complete))
}

/// **The** writer of a completed setup, inside the caller's transaction.
pub(crate) async fn complete_in(
    tx: &DatabaseTransaction,
    by: SetupRef<'_>,
    card: &PaymentMethodDetails,
    now: DateTime<Utc>,
) -> DomainResult<Stored> {
    let Some(row) = attempt_of(tx, by, true).await? else {
        return Ok(Stored::Unknown);
    };
    let moved = card_setup_session::Entity::update_many()
        .col_expr(
            card_setup_session::Column::Status,
            Expr::value(CheckoutStatus::Complete.as_str()),
        )
        .col_expr(
            card_setup_session::Column::PaymentMethod,
            Expr::value(card.token.clone()),
        )
        .col_expr(card_setup_session::Column::UpdatedAt, Expr::value(now))
        .filter(card_setup_session::Column::Id.eq(row.id))
        .filter(card_setup_session::Column::Status.ne(CheckoutStatus::Complete))
        .exec(tx)
        .await?;
    if moved.rows_affected != 1 {
        return Ok(Stored::Already);
    }
    card_setup::Entity::update_many()
        .col_expr(card_setup::Column::CompletedAt, Expr::value(now))
        .col_expr(
            card_setup::Column::CardBrand,
            Expr::value(card.brand.clone()),
        )
        .col_expr(
            card_setup::Column::CardLast4,
            Expr::value(card.last4.clone()),
        )
        .col_expr(card_setup::Column::UpdatedAt, Expr::value(now))
        .filter(card_setup::Column::Id.eq(row.card_setup_id))
        .exec(tx)
        .await?;
    // A setup the client finished later already stored its card: this
    // (late) one does not replace it.
    let newer = card_setup_session::Entity::find()
        .filter(card_setup_session::Column::ClientId.eq(row.client_id))
        .filter(card_setup_session::Column::Status.eq(CheckoutStatus::Complete))
        .filter(card_setup_session::Column::CreatedAt.gt(row.created_at))
        .count(tx)
        .await?;
    if newer == 0 {
        crate::billing::hosted::keep_card_on(client::Entity::update_many(), card)
            .col_expr(client::Column::UpdatedAt, Expr::value(now))
            .filter(client::Column::Id.eq(row.client_id))
            .filter(client::Column::StudioId.eq(row.studio_id))
            .exec(tx)
            .await?;
    }
    tracing::info!(
        card_setup = row.card_setup_id,
        attempt = row.attempt,
        client_id = row.client_id,
        "card stored from a setup session"
    );
    Ok(Stored::Now {
        client_id: row.client_id,
    })
}

/// Marks a setup attempt expired (the gateway expired its session).
pub(crate) async fn expired_in(
    tx: &DatabaseTransaction,
    session_id: &str,
    now: DateTime<Utc>,
) -> DomainResult<bool> {
    let moved = card_setup_session::Entity::update_many()
        .col_expr(
            card_setup_session::Column::Status,
            Expr::value(CheckoutStatus::Expired.as_str()),
        )
        .col_expr(card_setup_session::Column::UpdatedAt, Expr::value(now))
        .filter(card_setup_session::Column::GatewaySessionId.eq(session_id))
        .filter(card_setup_session::Column::Status.is_in(LIVE))
        .exec(tx)
        .await?;
    Ok(moved.rows_affected == 1)
}

/// The client came back to `success_url`: look at the session (never trust
/// the browser) and store the card it saved. An unreachable gateway leaves
/// the attempt as it was; the webhook stores it.
pub async fn returned(
    ctx: &AppContext,
    page: &SetupPage,
    session_id: &str,
) -> DomainResult<Option<card_setup_session::Model>> {
    let find = || {
        card_setup_session::Entity::find()
            .filter(card_setup_session::Column::CardSetupId.eq(page.setup.id))
            .filter(card_setup_session::Column::GatewaySessionId.eq(session_id))
            .one(&ctx.db)
    };
    let Some(row) = find().await? else {
        return Ok(None);
    };
    if row.status != CheckoutStatus::Complete {
        match look(ctx, session_id).await {
            Ok(Looked::Card(card)) => {
                let tx = begin_write(&ctx.db).await?;
                complete_in(&tx, SetupRef::Session(session_id), &card, ctx.clock.now()).await?;
                tx.commit().await?;
            }
            Ok(Looked::Expired) => {
                let tx = begin_write(&ctx.db).await?;
                expired_in(&tx, session_id, ctx.clock.now()).await?;
                tx.commit().await?;
            }
            Ok(Looked::Nothing) => {}
            Err(err) => {
                tracing::warn!(error = %err, session = session_id, "setup session not readable; the webhook stores the card");
            }
        }
    }
    Ok(find().await?)
}

enum Looked {
    Card(PaymentMethodDetails),
    Expired,
    Nothing,
}

async fn look(
    ctx: &AppContext,
    session_id: &str,
) -> Result<Looked, crate::ports::gateway::GatewayError> {
    let session = ctx.gateway.retrieve_setup_checkout(session_id).await?;
    Ok(match session.state {
        CheckoutState::Expired => Looked::Expired,
        CheckoutState::Open => Looked::Nothing,
        CheckoutState::Complete => {
            let card = match (session.card, &session.setup_intent) {
                (Some(card), _) => Some(card),
                (None, Some(intent)) => ctx.gateway.setup_intent_card(intent).await?,
                (None, None) => None,
            };
            card.map_or(Looked::Nothing, Looked::Card)
        }
    })
}
