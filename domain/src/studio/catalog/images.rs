//! A package's included images and the price of extra picks
//! (`kernel::extras`), set by the studio and read back.

use crate::infra::error::{DomainResult, UserError};
use crate::kernel::extras::{ImagePricing, Tier};
use crate::kernel::validate::Problems;
use entity::{package, studio};
use rust_decimal::Decimal;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection};

/// One tier as the studio gives it: extras up to `up_to` (none: every extra
/// after the tier before) at `unit_price` each, in the studio's currency.
#[derive(Debug, Clone)]
pub struct TierInput {
    pub up_to: Option<i32>,
    pub unit_price: Decimal,
}

#[derive(Debug, Clone)]
pub struct ImagePricingInput {
    pub included: i32,
    pub tiers: Vec<TierInput>,
    pub full_gallery_price: Option<Decimal>,
}

/// Sets (or, with `None`, removes) what a package includes and what its
/// extra images cost. Every problem is reported at once and nothing is
/// written. Sessions already booked keep the pricing they were sold with.
pub async fn set_package_image_pricing(
    db: &DatabaseConnection,
    studio: &studio::Model,
    package_id: i64,
    input: Option<ImagePricingInput>,
) -> DomainResult<package::Model> {
    let found = super::find_package(db, studio.id, package_id)
        .await?
        .ok_or_else(|| UserError::not_found("packageId", "package"))?;
    let stored = match input {
        None => None,
        Some(input) => Some(parse(studio, &input)?.to_json()),
    };
    let mut active: package::ActiveModel = found.into();
    active.image_pricing = Set(stored);
    Ok(active.update(db).await?)
}

fn parse(studio: &studio::Model, input: &ImagePricingInput) -> DomainResult<ImagePricing> {
    let mut problems = Problems::new();
    let count = |problems: &mut Problems, field: &str, value: i32| {
        u32::try_from(value).unwrap_or_else(|_| {
            problems.push(UserError::invalid(field, "must not be negative"));
            0
        })
    };
    let included = count(&mut problems, "pricing.includedImages", input.included);
    let tiers = input
        .tiers
        .iter()
        .enumerate()
        .map(|(i, t)| Tier {
            up_to: t.up_to.map(|n| {
                count(
                    &mut problems,
                    &format!("pricing.extraImageTiers.{i}.upTo"),
                    n,
                )
            }),
            unit_price_minor: problems.amount(
                &format!("pricing.extraImageTiers.{i}.unitPrice"),
                studio.currency,
                t.unit_price,
            ),
        })
        .collect();
    let full_gallery_minor = input
        .full_gallery_price
        .map(|p| problems.amount("pricing.fullGalleryPrice", studio.currency, p));
    let mut all = problems.finish().err().unwrap_or_default();
    let pricing = ImagePricing {
        included,
        tiers,
        full_gallery_minor,
    };
    // Every problem at once: the rules' too (the kernel names fields within
    // the pricing), but not twice for a field that did not even parse.
    if let Err(rules) = pricing.check() {
        for mut problem in rules {
            problem.field.insert(0, "pricing".to_string());
            if !all.iter().any(|p| p.field == problem.field) {
                all.push(problem);
            }
        }
    }
    if !all.is_empty() {
        return Err(all.into());
    }
    Ok(pricing)
}

/// The image pricing stored on a package or a session (`None`: no picks
/// are sold). A stored value that does not read is an internal error.
pub fn image_pricing_of(stored: Option<&str>) -> DomainResult<Option<ImagePricing>> {
    ImagePricing::from_json(stored)
        .map_err(|e| anyhow::anyhow!("stored image pricing does not read: {e}").into())
}
