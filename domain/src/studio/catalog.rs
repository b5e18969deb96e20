//! What a studio sells and to whom: clients, packages, add-on services, tax rates.
//! Every function takes the authenticated studio and never touches another's rows.

use crate::infra::error::{DomainResult, UserError};
use crate::kernel::money::Minor;
use crate::kernel::validate::Problems;
use chrono::{DateTime, Utc};
use entity::{add_on_service, package, studio, tax_rate};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
};

mod clients;
mod images;
pub use clients::{
    ClientChanges, NewClient, attach_payment_method, create_client, create_client_greeted,
    find_client, update_client,
};
pub use images::{ImagePricingInput, TierInput, image_pricing_of, set_package_image_pricing};

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
