//! A studio's clients: who they are, how they prefer to pay, where they
//! live and are reached, and the card on file the gateway vouched for.

use crate::infra::context::AppContext;
use crate::infra::error::{DomainError, DomainResult, UserError};
use crate::kernel::validate::Problems;
use crate::ports::gateway::GatewayError;
use crate::studio::places::{self, PlaceChange};
use chrono::{DateTime, Utc};
use entity::enums::PaymentPreference;
use entity::{client, studio};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
};

#[derive(Debug, Clone, Default)]
pub struct ClientChanges {
    pub name: Option<String>,
    pub email: Option<String>,
    pub payment_preference: Option<PaymentPreference>,
    /// IANA zone for the client's reminder window; empty clears it.
    pub time_zone: Option<String>,
    /// The name the client is greeted by; empty clears it (the first word
    /// of their name again).
    pub display_name: Option<String>,
    /// ISO 3166-1 alpha-2 of where the client lives; empty clears it.
    pub country: Option<String>,
    /// Their US state or Canadian province; empty clears it.
    pub region: Option<String>,
}

/// An optional IANA time zone from input: empty means none.
fn time_zone(problems: &mut Problems, raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    match raw.parse::<chrono_tz::Tz>() {
        Ok(tz) => Some(tz.name().to_string()),
        Err(_) => {
            problems.push(UserError::invalid(
                "timeZone",
                format!("`{raw}` is not an IANA time zone, e.g. `America/Toronto`"),
            ));
            None
        }
    }
}

pub async fn create_client(
    db: &DatabaseConnection,
    studio: &studio::Model,
    name: &str,
    email: &str,
    payment_preference: PaymentPreference,
    zone: Option<&str>,
    now: DateTime<Utc>,
) -> DomainResult<client::Model> {
    let new = NewClient {
        name,
        email,
        payment_preference,
        zone,
        greeted_as: None,
        country: None,
        region: None,
    };
    create_client_greeted(db, studio, new, now).await
}

/// A client as the studio enters it.
#[derive(Debug, Clone)]
pub struct NewClient<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub payment_preference: PaymentPreference,
    /// IANA zone for the reminder window (`None`: the studio's).
    pub zone: Option<&'a str>,
    /// The name the client is greeted by (`None`: the first word of `name`).
    pub greeted_as: Option<&'a str>,
    /// ISO 3166-1 alpha-2 of where the client lives.
    pub country: Option<&'a str>,
    /// Their US state or Canadian province.
    pub region: Option<&'a str>,
}

/// An optional display name from input: empty (or blank) means none.
fn display_name(problems: &mut Problems, raw: &str) -> Option<String> {
    (!raw.trim().is_empty()).then(|| problems.name("displayName", raw))
}

/// [`create_client`] with everything the studio may enter.
pub async fn create_client_greeted(
    db: &DatabaseConnection,
    studio: &studio::Model,
    new: NewClient<'_>,
    now: DateTime<Utc>,
) -> DomainResult<client::Model> {
    let mut problems = Problems::new();
    let name = problems.name("name", new.name);
    let email = problems.email("email", new.email);
    let zone = new.zone.and_then(|z| time_zone(&mut problems, z));
    let greeted_as = new.greeted_as.and_then(|d| display_name(&mut problems, d));
    let place = PlaceChange {
        country: new.country,
        region: new.region,
    };
    let (lives_in, region) = places::apply(&mut problems, place, (None, None));
    let payment_preference = new.payment_preference;
    problems.finish()?;
    client::ActiveModel {
        studio_id: Set(studio.id),
        name: Set(name),
        email: Set(email),
        payment_preference: Set(payment_preference),
        pm_token: Set(None),
        pm_brand: Set(None),
        pm_funding: Set(None),
        pm_last4: Set(None),
        pm_exp_month: Set(None),
        pm_exp_year: Set(None),
        time_zone: Set(zone),
        display_name: Set(greeted_as),
        country: Set(lives_in),
        region: Set(region),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| {
        DomainError::unique_as(
            e,
            UserError::duplicate("email", "a client with this email already exists"),
        )
    })
}

pub async fn find_client(
    db: &DatabaseConnection,
    studio_id: i64,
    id: i64,
) -> DomainResult<Option<client::Model>> {
    Ok(client::Entity::find_by_id(id)
        .filter(client::Column::StudioId.eq(studio_id))
        .one(db)
        .await?)
}

async fn client_or_not_found(
    db: &DatabaseConnection,
    studio_id: i64,
    id: i64,
    field: &str,
) -> DomainResult<client::Model> {
    find_client(db, studio_id, id)
        .await?
        .ok_or_else(|| UserError::not_found(field, "client").into())
}

pub async fn update_client(
    db: &DatabaseConnection,
    studio: &studio::Model,
    id: i64,
    changes: ClientChanges,
    now: DateTime<Utc>,
) -> DomainResult<client::Model> {
    let existing = client_or_not_found(db, studio.id, id, "id").await?;
    let mut problems = Problems::new();
    let name = changes.name.as_deref().map(|n| problems.name("name", n));
    let email = changes.email.as_deref().map(|e| problems.email("email", e));
    let zone = changes
        .time_zone
        .as_deref()
        .map(|z| time_zone(&mut problems, z));
    let greeted_as = changes
        .display_name
        .as_deref()
        .map(|d| display_name(&mut problems, d));
    let place = PlaceChange {
        country: changes.country.as_deref(),
        region: changes.region.as_deref(),
    };
    let current = (existing.country.clone(), existing.region.clone());
    let (lives_in, region) = places::apply(&mut problems, place, current);
    problems.finish()?;
    let mut active: client::ActiveModel = existing.into();
    active.country = Set(lives_in);
    active.region = Set(region);
    if let Some(greeted_as) = greeted_as {
        active.display_name = Set(greeted_as);
    }
    if let Some(zone) = zone {
        active.time_zone = Set(zone);
    }
    if let Some(name) = name {
        active.name = Set(name);
    }
    if let Some(email) = email {
        active.email = Set(email);
    }
    if let Some(preference) = changes.payment_preference {
        active.payment_preference = Set(preference);
    }
    active.updated_at = Set(now);
    active.update(db).await.map_err(|e| {
        DomainError::unique_as(
            e,
            UserError::duplicate("email", "a client with this email already exists"),
        )
    })
}

/// Stores a tokenized payment method on the client after the gateway vouches for it.
pub async fn attach_payment_method(
    ctx: &AppContext,
    studio: &studio::Model,
    client_id: i64,
    token: &str,
) -> DomainResult<client::Model> {
    let existing = client_or_not_found(&ctx.db, studio.id, client_id, "clientId").await?;
    let details = match ctx.gateway.payment_method(token.trim()).await {
        Ok(details) => details,
        Err(GatewayError::InvalidPaymentMethod(_)) => {
            return Err(UserError::invalid(
                "token",
                "the payment gateway does not know this payment-method token",
            )
            .into());
        }
        Err(other) => return Err(other.into()),
    };
    keep_card(&ctx.db, existing, details, ctx.clock.now()).await
}

/// Keeps a card the gateway validated on the client: what auto-pay charges
/// from now on (brand, last 4 and expiry are all this server ever sees).
async fn keep_card(
    db: &DatabaseConnection,
    client: client::Model,
    details: crate::ports::gateway::PaymentMethodDetails,
    now: DateTime<Utc>,
) -> DomainResult<client::Model> {
    let mut active: client::ActiveModel = client.into();
    active.pm_token = Set(Some(details.token));
    active.pm_brand = Set(Some(details.brand));
    active.pm_last4 = Set(Some(details.last4));
    active.pm_exp_month = Set(Some(details.exp_month));
    active.pm_exp_year = Set(Some(details.exp_year));
    active.pm_funding = Set(Some(details.funding.as_str().to_string()));
    active.updated_at = Set(now);
    Ok(active.update(db).await?)
}
