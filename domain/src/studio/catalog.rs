//! What a studio sells and to whom: clients, packages, add-on services, tax rates.
//! Every function takes the authenticated studio and never touches another's rows.

use crate::infra::context::AppContext;
use crate::infra::error::{DomainError, DomainResult, UserError};
use crate::kernel::money::Minor;
use crate::kernel::validate::Problems;
use crate::ports::gateway::GatewayError;
use chrono::{DateTime, Utc};
use entity::enums::PaymentPreference;
use entity::{add_on_service, client, package, studio, tax_rate};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
};

// ---------------------------------------------------------------- clients

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
    create_client_greeted(db, studio, name, email, payment_preference, zone, None, now).await
}

/// An optional display name from input: empty (or blank) means none.
fn display_name(problems: &mut Problems, raw: &str) -> Option<String> {
    (!raw.trim().is_empty()).then(|| problems.name("displayName", raw))
}

/// [`create_client`] with the name the client is greeted by.
#[allow(clippy::too_many_arguments)]
pub async fn create_client_greeted(
    db: &DatabaseConnection,
    studio: &studio::Model,
    name: &str,
    email: &str,
    payment_preference: PaymentPreference,
    zone: Option<&str>,
    greeted_as: Option<&str>,
    now: DateTime<Utc>,
) -> DomainResult<client::Model> {
    let mut problems = Problems::new();
    let name = problems.name("name", name);
    let email = problems.email("email", email);
    let zone = zone.and_then(|z| time_zone(&mut problems, z));
    let greeted_as = greeted_as.and_then(|d| display_name(&mut problems, d));
    problems.finish()?;
    client::ActiveModel {
        studio_id: Set(studio.id),
        name: Set(name),
        email: Set(email),
        payment_preference: Set(payment_preference),
        pm_token: Set(None),
        pm_brand: Set(None),
        pm_last4: Set(None),
        pm_exp_month: Set(None),
        pm_exp_year: Set(None),
        time_zone: Set(zone),
        display_name: Set(greeted_as),
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
    problems.finish()?;
    let mut active: client::ActiveModel = existing.into();
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
pub(crate) async fn keep_card(
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
    active.updated_at = Set(now);
    Ok(active.update(db).await?)
}

// ---------------------------------------------------------------- packages

/// Name and price of a package or add-on, parsed in the studio's currency.
/// Creating requires both; updating takes whichever is given.
fn parse_priced(
    studio: &studio::Model,
    fields: &PackageFields,
    price_field: &str,
    creating: bool,
) -> DomainResult<(Option<String>, Option<Minor>)> {
    let currency = studio.currency;
    let mut problems = Problems::new();
    let name = match (&fields.name, creating) {
        (Some(n), _) => Some(problems.name("name", n)),
        (None, true) => Some(problems.name("name", "")),
        (None, false) => None,
    };
    if let Some(description) = &fields.description {
        problems.text("description", description);
    }
    let price = match (fields.price, creating) {
        (Some(p), _) => Some(problems.amount(price_field, currency, p)),
        (None, true) => {
            problems.push(UserError::invalid(price_field, "is required"));
            None
        }
        (None, false) => None,
    };
    problems.finish()?;
    Ok((name, price))
}

#[derive(Debug, Clone, Default)]
pub struct PackageFields {
    pub name: Option<String>,
    pub description: Option<String>,
    pub price: Option<Decimal>,
    pub taxable: Option<bool>,
    pub active: Option<bool>,
}

pub async fn create_package(
    db: &DatabaseConnection,
    studio: &studio::Model,
    fields: PackageFields,
    now: DateTime<Utc>,
) -> DomainResult<package::Model> {
    let (name, price) = parse_priced(studio, &fields, "price", true)?;
    Ok(package::ActiveModel {
        studio_id: Set(studio.id),
        name: Set(name.unwrap_or_default()),
        description: Set(fields.description.unwrap_or_default().trim().to_string()),
        price_minor: Set(price.unwrap_or_default()),
        taxable: Set(fields.taxable.unwrap_or(true)),
        active: Set(fields.active.unwrap_or(true)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

pub async fn find_package(
    db: &DatabaseConnection,
    studio_id: i64,
    id: i64,
) -> DomainResult<Option<package::Model>> {
    Ok(package::Entity::find_by_id(id)
        .filter(package::Column::StudioId.eq(studio_id))
        .one(db)
        .await?)
}

pub async fn update_package(
    db: &DatabaseConnection,
    studio: &studio::Model,
    id: i64,
    fields: PackageFields,
) -> DomainResult<package::Model> {
    let existing = find_package(db, studio.id, id)
        .await?
        .ok_or_else(|| UserError::not_found("id", "package"))?;
    let (name, price) = parse_priced(studio, &fields, "price", false)?;
    let mut active: package::ActiveModel = existing.into();
    if let Some(name) = name {
        active.name = Set(name);
    }
    if let Some(description) = fields.description {
        active.description = Set(description.trim().to_string());
    }
    if let Some(price) = price {
        active.price_minor = Set(price);
    }
    if let Some(taxable) = fields.taxable {
        active.taxable = Set(taxable);
    }
    if let Some(is_active) = fields.active {
        active.active = Set(is_active);
    }
    Ok(active.update(db).await?)
}

// ---------------------------------------------------------------- add-on services

pub async fn create_add_on(
    db: &DatabaseConnection,
    studio: &studio::Model,
    fields: PackageFields,
    now: DateTime<Utc>,
) -> DomainResult<add_on_service::Model> {
    let (name, price) = parse_priced(studio, &fields, "unitPrice", true)?;
    Ok(add_on_service::ActiveModel {
        studio_id: Set(studio.id),
        name: Set(name.unwrap_or_default()),
        unit_price_minor: Set(price.unwrap_or_default()),
        taxable: Set(fields.taxable.unwrap_or(true)),
        active: Set(fields.active.unwrap_or(true)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

pub async fn find_add_on(
    db: &DatabaseConnection,
    studio_id: i64,
    id: i64,
) -> DomainResult<Option<add_on_service::Model>> {
    Ok(add_on_service::Entity::find_by_id(id)
        .filter(add_on_service::Column::StudioId.eq(studio_id))
        .one(db)
        .await?)
}

pub async fn update_add_on(
    db: &DatabaseConnection,
    studio: &studio::Model,
    id: i64,
    fields: PackageFields,
) -> DomainResult<add_on_service::Model> {
    let existing = find_add_on(db, studio.id, id)
        .await?
        .ok_or_else(|| UserError::not_found("id", "add-on service"))?;
    let (name, price) = parse_priced(studio, &fields, "unitPrice", false)?;
    let mut active: add_on_service::ActiveModel = existing.into();
    if let Some(name) = name {
        active.name = Set(name);
    }
    if let Some(price) = price {
        active.unit_price_minor = Set(price);
    }
    if let Some(taxable) = fields.taxable {
        active.taxable = Set(taxable);
    }
    if let Some(is_active) = fields.active {
        active.active = Set(is_active);
    }
    Ok(active.update(db).await?)
}

// ---------------------------------------------------------------- tax rates

#[derive(Debug, Clone, Default)]
pub struct TaxRateFields {
    pub name: Option<String>,
    pub percent: Option<Decimal>,
    pub is_default: Option<bool>,
    pub active: Option<bool>,
    /// Applies on top of the other rates' tax (compound).
    pub compound: Option<bool>,
}

pub async fn create_tax_rate(
    db: &DatabaseConnection,
    studio: &studio::Model,
    fields: TaxRateFields,
    now: DateTime<Utc>,
) -> DomainResult<tax_rate::Model> {
    let mut problems = Problems::new();
    let name = problems.name("name", fields.name.as_deref().unwrap_or(""));
    let percent = match fields.percent {
        Some(p) => problems.percent("percent", p),
        None => {
            problems.push(UserError::invalid("percent", "is required"));
            Decimal::ZERO
        }
    };
    problems.finish()?;
    Ok(tax_rate::ActiveModel {
        studio_id: Set(studio.id),
        name: Set(name),
        percent: Set(percent.to_string()),
        is_default: Set(fields.is_default.unwrap_or(true)),
        active: Set(fields.active.unwrap_or(true)),
        compound: Set(fields.compound.unwrap_or(false)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

pub async fn find_tax_rate(
    db: &DatabaseConnection,
    studio_id: i64,
    id: i64,
) -> DomainResult<Option<tax_rate::Model>> {
    Ok(tax_rate::Entity::find_by_id(id)
        .filter(tax_rate::Column::StudioId.eq(studio_id))
        .one(db)
        .await?)
}

pub async fn update_tax_rate(
    db: &DatabaseConnection,
    studio: &studio::Model,
    id: i64,
    fields: TaxRateFields,
) -> DomainResult<tax_rate::Model> {
    let existing = find_tax_rate(db, studio.id, id)
        .await?
        .ok_or_else(|| UserError::not_found("id", "tax rate"))?;
    let mut problems = Problems::new();
    let name = fields.name.as_deref().map(|n| problems.name("name", n));
    let percent = fields.percent.map(|p| problems.percent("percent", p));
    problems.finish()?;
    let mut active: tax_rate::ActiveModel = existing.into();
    if let Some(name) = name {
        active.name = Set(name);
    }
    if let Some(percent) = percent {
        active.percent = Set(percent.to_string());
    }
    if let Some(is_default) = fields.is_default {
        active.is_default = Set(is_default);
    }
    if let Some(compound) = fields.compound {
        active.compound = Set(compound);
    }
    if let Some(is_active) = fields.active {
        active.active = Set(is_active);
    }
    Ok(active.update(db).await?)
}

/// Parses a stored percentage; stored values were validated on the way in.
pub fn percent_of(rate: &tax_rate::Model) -> DomainResult<Decimal> {
    rate.percent
        .parse()
        .map_err(|e| anyhow::anyhow!("tax rate {} has a bad percent: {e}", rate.id).into())
}
