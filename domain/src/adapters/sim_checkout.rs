//! The simulated gateway's hosted checkout: its side of a Checkout Session
//! (`cs_sim_...`), kept in `simulated_checkout_sessions`, and the page at
//! `/sim-checkout/{id}` where test cards are typed. It answers and signs
//! events the way Stripe Checkout does (`checkout.session.completed`,
//! `checkout.session.expired`), through the same `DeliverSimulatedWebhook`
//! outbox path as its charges, so the portal, the return page and the
//! webhook receiver run exactly the code that runs against Stripe.

use crate::adapters::sim_gateway::{SimulatedGateway, db_err, tokenize_test_card};
use crate::ports::gateway::{
    CheckoutLookup, CheckoutRequest, CheckoutSession, CheckoutState, GatewayError,
    PaymentMethodDetails, SetupCheckoutRequest, SetupSession,
};
use chrono::{DateTime, Utc};
use entity::{simulated_charge, simulated_checkout};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

/// Prefix of the outbox key of a checkout event: `checkout:{id}:{kind}`.
pub const EVENT_KEY_PREFIX: &str = "checkout:";

fn url_of(public_url: &str, id: &str) -> String {
    format!("{public_url}/sim-checkout/{id}")
}

fn state_of(row: &simulated_checkout::Model) -> CheckoutState {
    match row.status.as_str() {
        "complete" => CheckoutState::Complete,
        "expired" => CheckoutState::Expired,
        _ => CheckoutState::Open,
    }
}

const SETUP: &str = "setup";

fn setup_view(row: &simulated_checkout::Model, public_url: &str) -> SetupSession {
    let state = state_of(row);
    SetupSession {
        id: row.id.clone(),
        url: (state == CheckoutState::Open).then(|| url_of(public_url, &row.id)),
        state,
        setup_ref: row.setup_ref.clone(),
        setup_intent: row.payment_intent.clone(),
        card: row
            .card_token
            .as_deref()
            .and_then(crate::adapters::sim_gateway::simulated_card_details),
    }
}

fn view(row: &simulated_checkout::Model, public_url: &str) -> CheckoutSession {
    let state = state_of(row);
    let card = row
        .card_token
        .as_deref()
        .and_then(crate::adapters::sim_gateway::simulated_card_details);
    CheckoutSession {
        id: row.id.clone(),
        url: (state == CheckoutState::Open).then(|| url_of(public_url, &row.id)),
        state,
        payment_status: row.payment_status.clone(),
        amount_total: row.amount_minor,
        currency: row.currency.to_ascii_uppercase(),
        invoice_ref: row.invoice_ref.clone(),
        payment_intent: row.payment_intent.clone(),
        card,
        // A held session's capture is told by `capture`.
        amount_captured: None,
    }
}

async fn find(
    db: &DatabaseConnection,
    id: &str,
) -> Result<Option<simulated_checkout::Model>, GatewayError> {
    simulated_checkout::Entity::find_by_id(id.to_string())
        .one(db)
        .await
        .map_err(db_err)
}

/// Moves an open session to `to` (once) and writes its event's delivery in
/// the same transaction; returns whether this call moved it.
async fn transition(
    db: &DatabaseConnection,
    webhooks: bool,
    id: &str,
    update: sea_orm::UpdateMany<simulated_checkout::Entity>,
    events: &[&str],
    charge: Option<simulated_charge::ActiveModel>,
    now: DateTime<Utc>,
) -> Result<bool, GatewayError> {
    let tx = crate::infra::db::begin_write(db).await.map_err(db_err)?;
    let moved = update
        .filter(simulated_checkout::Column::Id.eq(id))
        .filter(simulated_checkout::Column::Status.eq("open"))
        .col_expr(simulated_checkout::Column::UpdatedAt, Expr::value(now))
        .exec(&tx)
        .await
        .map_err(db_err)?
        .rows_affected
        == 1;
    if moved {
        if let Some(charge) = charge {
            let disputed = super::sim_disputes::disputed(&charge, webhooks);
            simulated_charge::Entity::insert(charge)
                .exec_without_returning(&tx)
                .await
                .map_err(db_err)?;
            super::sim_disputes::open(&tx, disputed, now).await?;
        }
        for event in events.iter().filter(|_| webhooks) {
            crate::workflow::next::after(
                &tx,
                crate::workflow::next::Change::SimulatedEvent {
                    key: format!("{EVENT_KEY_PREFIX}{id}:{event}"),
                    at: None,
                },
                None,
                now,
            )
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        }
    }
    tx.commit().await.map_err(db_err)?;
    Ok(moved)
}

/// An open session past its `expires_at` expires when next looked at, as
/// Stripe's does on its own.
async fn expire_if_due(
    db: &DatabaseConnection,
    webhooks: bool,
    row: simulated_checkout::Model,
    now: DateTime<Utc>,
) -> Result<simulated_checkout::Model, GatewayError> {
    if row.status == "open" && row.expires_at <= now {
        expire_row(db, webhooks, &row.id, now).await?;
        return find(db, &row.id)
            .await?
            .ok_or_else(|| GatewayError::Unavailable("checkout session vanished".into()));
    }
    Ok(row)
}

async fn expire_row(
    db: &DatabaseConnection,
    webhooks: bool,
    id: &str,
    now: DateTime<Utc>,
) -> Result<bool, GatewayError> {
    transition(
        db,
        webhooks,
        id,
        simulated_checkout::Entity::update_many()
            .col_expr(simulated_checkout::Column::Status, Expr::value("expired")),
        &["expired"],
        None,
        now,
    )
    .await
}

pub(crate) async fn create(
    db: &DatabaseConnection,
    public_url: &str,
    _webhooks: bool,
    request: &CheckoutRequest,
    now: DateTime<Utc>,
) -> Result<CheckoutSession, GatewayError> {
    let tip = request.tip.map_or(0, |t| t.minor.get());
    let surcharge = request.surcharge.map_or(0, |s| s.minor.get());
    let total = request.total_minor().map(|t| t.get()).unwrap_or(0);
    if request.amount.minor.is_negative() || tip < 0 || surcharge < 0 || total <= 0 {
        return Err(GatewayError::Unavailable(
            "a checkout amount must be positive".into(),
        ));
    }
    simulated_checkout::Entity::insert(simulated_checkout::ActiveModel {
        id: Set(format!("cs_sim_{}", uuid::Uuid::now_v7().simple())),
        idempotency_key: Set(request.idempotency_key.clone()),
        amount_minor: Set(total),
        currency: Set(request.amount.currency_lowercase()),
        product_name: Set(request.product_name.clone()),
        client_reference_id: Set(Some(request.invoice_ref.clone())),
        invoice_ref: Set(Some(request.invoice_ref.clone())),
        customer: Set(request.customer.clone()),
        success_url: Set(request.success_url.clone()),
        cancel_url: Set(request.cancel_url.clone()),
        setup_future_usage: Set(request.save_card),
        status: Set("open".into()),
        payment_status: Set("unpaid".into()),
        payment_intent: Set(None),
        card_token: Set(None),
        expires_at: Set(request.expires_at),
        created_at: Set(now),
        updated_at: Set(now),
        mode: Set("payment".into()),
        setup_ref: Set(None),
        tip_minor: Set(tip),
        surcharge_minor: Set(surcharge),
    })
    .on_conflict(
        OnConflict::column(simulated_checkout::Column::IdempotencyKey)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await
    .map_err(db_err)?;
    // Like Stripe, a key replays its first session, and only with the same
    // parameters.
    let stored = simulated_checkout::Entity::find()
        .filter(simulated_checkout::Column::IdempotencyKey.eq(request.idempotency_key.clone()))
        .one(db)
        .await
        .map_err(db_err)?
        .ok_or_else(|| GatewayError::Unavailable("checkout session vanished".into()))?;
    if stored.amount_minor != total
        || stored.tip_minor != tip
        || stored.surcharge_minor != surcharge
        || !stored
            .currency
            .eq_ignore_ascii_case(request.amount.currency.code())
        || stored.success_url != request.success_url
        || stored.setup_future_usage != request.save_card
        || stored.expires_at.timestamp() != request.expires_at.timestamp()
    {
        return Err(GatewayError::IdempotencyMismatch);
    }
    Ok(view(&stored, public_url))
}

/// The session of `mode` created under the lookup's key (the simulated
/// gateway keeps the key on the session, as Stripe keeps it in metadata).
async fn by_key(
    db: &DatabaseConnection,
    webhooks: bool,
    lookup: &CheckoutLookup,
    mode: &str,
    now: DateTime<Utc>,
) -> Result<Option<simulated_checkout::Model>, GatewayError> {
    let found = simulated_checkout::Entity::find()
        .filter(simulated_checkout::Column::IdempotencyKey.eq(lookup.idempotency_key.clone()))
        .filter(simulated_checkout::Column::Mode.eq(mode))
        .filter(simulated_checkout::Column::CreatedAt.gte(lookup.created_from))
        .one(db)
        .await
        .map_err(db_err)?
        .filter(|row| lookup.customer.is_none() || row.customer == lookup.customer);
    match found {
        Some(row) => Ok(Some(expire_if_due(db, webhooks, row, now).await?)),
        None => Ok(None),
    }
}

pub(crate) async fn find_by_key(
    db: &DatabaseConnection,
    public_url: &str,
    webhooks: bool,
    lookup: &CheckoutLookup,
    now: DateTime<Utc>,
) -> Result<Option<CheckoutSession>, GatewayError> {
    Ok(by_key(db, webhooks, lookup, "payment", now)
        .await?
        .map(|row| view(&row, public_url)))
}

pub(crate) async fn find_setup_by_key(
    db: &DatabaseConnection,
    public_url: &str,
    webhooks: bool,
    lookup: &CheckoutLookup,
    now: DateTime<Utc>,
) -> Result<Option<SetupSession>, GatewayError> {
    Ok(by_key(db, webhooks, lookup, SETUP, now)
        .await?
        .map(|row| setup_view(&row, public_url)))
}

pub(crate) async fn retrieve(
    db: &DatabaseConnection,
    public_url: &str,
    webhooks: bool,
    id: &str,
    now: DateTime<Utc>,
) -> Result<CheckoutSession, GatewayError> {
    let row = find(db, id)
        .await?
        .ok_or_else(|| GatewayError::InvalidPaymentMethod(format!("no checkout session {id}")))?;
    let row = expire_if_due(db, webhooks, row, now).await?;
    Ok(view(&row, public_url))
}

pub(crate) async fn expire(
    db: &DatabaseConnection,
    public_url: &str,
    webhooks: bool,
    id: &str,
    now: DateTime<Utc>,
) -> Result<CheckoutSession, GatewayError> {
    expire_row(db, webhooks, id, now).await?;
    retrieve(db, public_url, webhooks, id, now).await
}

mod hosted_page;
pub use hosted_page::{HostedPage, page};

mod events;
use events::SETUP_INTENT_SUCCEEDED;
pub use events::event_for;

mod capture;
pub(crate) use capture::capture;

fn gateway_of(ctx: &crate::AppContext) -> Option<SimulatedGateway> {
    // The hosted page belongs to the simulated gateway alone: with Stripe
    // configured, clients pay on Stripe's page and this one does not exist.
    ctx.settings.test_mode().then(|| {
        SimulatedGateway::new(ctx.db.clone())
            .with_public_url(ctx.settings.public_url())
            .with_webhooks(ctx.settings.gateway.simulated_webhooks)
            .with_clock(ctx.clock.clone())
    })
}

/// What paying on the hosted page did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostedPayment {
    /// Paid: go to this `success_url`.
    Paid(String),
    /// Declined: the session stays open, the page says why.
    Declined(String),
    /// The number is not one of the test cards.
    UnknownCard,
    /// Expired or already complete: nothing charged.
    Closed,
}

/// Pays a hosted session with a test card typed on the hosted page. The
/// session moves from `open` to `complete` once, so a second submit (or a
/// second tab) charges nothing.
pub async fn pay(
    ctx: &crate::AppContext,
    id: &str,
    card_number: &str,
) -> Result<Option<HostedPayment>, GatewayError> {
    let Some(page) = page(ctx, id).await? else {
        return Ok(None);
    };
    if page.session.state != CheckoutState::Open {
        return Ok(Some(HostedPayment::Closed));
    }
    let Ok(token) = tokenize_test_card(card_number) else {
        return Ok(Some(HostedPayment::UnknownCard));
    };
    let card = crate::adapters::sim_gateway::simulated_card(&token)
        .ok_or_else(|| GatewayError::InvalidPaymentMethod(token.clone()))?;
    if page.setup {
        return save_card(ctx, id, token, card.1.map(|d| d.1)).await;
    }
    let now = ctx.clock.now();
    let reference = format!("sim_pi_{}", uuid::Uuid::now_v7().simple());
    let charge = simulated_charge::ActiveModel {
        idempotency_key: Set(format!("checkout_{id}_{}", uuid::Uuid::now_v7().simple())),
        reference: Set(reference.clone()),
        token: Set(token.clone()),
        amount_minor: Set(page.session.amount_total),
        currency: Set(page.session.currency.clone()),
        succeeded: Set(card.1.is_none()),
        decline_code: Set(card.1.map(|d| d.0.to_string())),
        created_at: Set(now),
        refund_of: Set(None),
    };
    if let Some((_, message)) = card.1 {
        // Stripe's page shows a decline and keeps the session open; the
        // attempt is remembered like any charge.
        simulated_charge::Entity::insert(charge)
            .exec_without_returning(&ctx.db)
            .await
            .map_err(db_err)?;
        return Ok(Some(HostedPayment::Declined(message.to_string())));
    }
    // A held session (a surcharge line) only authorizes: `unpaid` and no
    // charge until `capture`.
    let held = page.held;
    let moved = transition(
        &ctx.db,
        ctx.settings.gateway.simulated_webhooks,
        id,
        simulated_checkout::Entity::update_many()
            .col_expr(simulated_checkout::Column::Status, Expr::value("complete"))
            .col_expr(
                simulated_checkout::Column::PaymentStatus,
                Expr::value(if held { "unpaid" } else { "paid" }),
            )
            .col_expr(
                simulated_checkout::Column::PaymentIntent,
                Expr::value(reference.clone()),
            )
            .col_expr(simulated_checkout::Column::CardToken, Expr::value(token)),
        &["completed"],
        (!held).then_some(charge),
        ctx.clock.now(),
    )
    .await?;
    if !moved {
        return Ok(Some(HostedPayment::Closed));
    }
    let row = find(&ctx.db, id)
        .await?
        .ok_or_else(|| GatewayError::Unavailable("checkout session vanished".into()))?;
    tracing::info!(session = %id, amount = row.amount_minor, "simulated checkout paid");
    Ok(Some(HostedPayment::Paid(
        row.success_url.replace("{CHECKOUT_SESSION_ID}", id),
    )))
}

// ------------------------------------------------------------ mode=setup

pub(crate) async fn create_setup(
    db: &DatabaseConnection,
    public_url: &str,
    request: &SetupCheckoutRequest,
    now: DateTime<Utc>,
) -> Result<SetupSession, GatewayError> {
    simulated_checkout::Entity::insert(simulated_checkout::ActiveModel {
        id: Set(format!("cs_sim_{}", uuid::Uuid::now_v7().simple())),
        idempotency_key: Set(request.idempotency_key.clone()),
        amount_minor: Set(0),
        currency: Set(request.currency.code().to_ascii_lowercase()),
        product_name: Set("Save a card for automatic payments".into()),
        client_reference_id: Set(Some(request.client_ref.clone())),
        invoice_ref: Set(None),
        customer: Set(request.customer.clone()),
        success_url: Set(request.success_url.clone()),
        cancel_url: Set(request.cancel_url.clone()),
        setup_future_usage: Set(true),
        status: Set("open".into()),
        payment_status: Set("no_payment_required".into()),
        payment_intent: Set(None),
        card_token: Set(None),
        expires_at: Set(request.expires_at),
        created_at: Set(now),
        updated_at: Set(now),
        mode: Set(SETUP.into()),
        setup_ref: Set(Some(request.setup_ref.clone())),
        tip_minor: Set(0),
        surcharge_minor: Set(0),
    })
    .on_conflict(
        OnConflict::column(simulated_checkout::Column::IdempotencyKey)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await
    .map_err(db_err)?;
    let stored = simulated_checkout::Entity::find()
        .filter(simulated_checkout::Column::IdempotencyKey.eq(request.idempotency_key.clone()))
        .one(db)
        .await
        .map_err(db_err)?
        .ok_or_else(|| GatewayError::Unavailable("checkout session vanished".into()))?;
    if stored.mode != SETUP
        || stored.setup_ref.as_deref() != Some(request.setup_ref.as_str())
        || stored.success_url != request.success_url
        || stored.customer != request.customer
        || stored.expires_at.timestamp() != request.expires_at.timestamp()
    {
        return Err(GatewayError::IdempotencyMismatch);
    }
    Ok(setup_view(&stored, public_url))
}

pub(crate) async fn retrieve_setup(
    db: &DatabaseConnection,
    public_url: &str,
    webhooks: bool,
    id: &str,
    now: DateTime<Utc>,
) -> Result<SetupSession, GatewayError> {
    let row = find(db, id)
        .await?
        .filter(|r| r.mode == SETUP)
        .ok_or_else(|| GatewayError::InvalidPaymentMethod(format!("no setup session {id}")))?;
    let row = expire_if_due(db, webhooks, row, now).await?;
    Ok(setup_view(&row, public_url))
}

/// The card behind a simulated PaymentIntent or SetupIntent.
pub(crate) async fn card_of_intent(
    db: &DatabaseConnection,
    id: &str,
) -> Result<Option<PaymentMethodDetails>, GatewayError> {
    let row = simulated_checkout::Entity::find()
        .filter(simulated_checkout::Column::PaymentIntent.eq(id))
        .one(db)
        .await
        .map_err(db_err)?
        .ok_or_else(|| GatewayError::InvalidPaymentMethod(format!("no intent {id}")))?;
    Ok(row
        .card_token
        .as_deref()
        .and_then(crate::adapters::sim_gateway::simulated_card_details))
}

/// Saves a test card on a `mode=setup` session: a declining test card is
/// refused (the session stays open); otherwise the session completes once,
/// with a SetupIntent, and signs `checkout.session.completed` and
/// `setup_intent.succeeded` (delivered independently, in either order).
async fn save_card(
    ctx: &crate::AppContext,
    id: &str,
    token: String,
    declined: Option<&str>,
) -> Result<Option<HostedPayment>, GatewayError> {
    if let Some(message) = declined {
        return Ok(Some(HostedPayment::Declined(message.to_string())));
    }
    let intent = format!("seti_sim_{}", uuid::Uuid::now_v7().simple());
    let moved = transition(
        &ctx.db,
        ctx.settings.gateway.simulated_webhooks,
        id,
        simulated_checkout::Entity::update_many()
            .col_expr(simulated_checkout::Column::Status, Expr::value("complete"))
            .col_expr(
                simulated_checkout::Column::PaymentIntent,
                Expr::value(intent),
            )
            .col_expr(simulated_checkout::Column::CardToken, Expr::value(token)),
        &["completed", SETUP_INTENT_SUCCEEDED],
        None,
        ctx.clock.now(),
    )
    .await?;
    if !moved {
        return Ok(Some(HostedPayment::Closed));
    }
    let row = find(&ctx.db, id)
        .await?
        .ok_or_else(|| GatewayError::Unavailable("checkout session vanished".into()))?;
    tracing::info!(session = %id, "simulated setup session completed");
    Ok(Some(HostedPayment::Paid(
        row.success_url.replace("{CHECKOUT_SESSION_ID}", id),
    )))
}
