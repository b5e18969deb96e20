//! The studio's catalog: packages, add-on services and tax rates.

use super::amount::Amount;
use super::common::{Caller, domain_error, id, parse_id, payload_type};
use super::money::Money;
use super::paging::{connection, page};
use super::percent::Percent;
use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use domain::DomainError;
use domain::kernel::money::Currency;
use domain::read::queries;
use domain::studio::catalog::{self, PackageFields, TaxRateFields};
use entity::{add_on_service, package, tax_rate};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

#[derive(SimpleObject)]
pub struct Package {
    pub id: ID,
    pub name: String,
    pub description: String,
    pub price: Money,
    pub taxable: bool,
    pub active: bool,
    /// The default payment plan of its sessions (`setPackagePaymentPlan`);
    /// empty when it has none.
    pub payment_plan: Vec<super::plans::PlanPartTemplate>,
    /// What the package includes and what extra picks cost
    /// (`setPackageImagePricing`); `null`: it sells no picks.
    pub image_pricing: Option<super::picks::ImagePricing>,
}

impl Package {
    pub fn new(p: &package::Model, currency: Currency) -> Self {
        Self {
            id: id(p.id),
            name: p.name.clone(),
            description: p.description.clone(),
            price: Money::of(p.price_minor, currency),
            taxable: p.taxable,
            active: p.active,
            payment_plan: super::plans::PlanPartTemplate::of(p, currency),
            image_pricing: super::picks::ImagePricing::stored(p.image_pricing.as_deref(), currency),
        }
    }
}

#[derive(SimpleObject)]
pub struct AddOnService {
    pub id: ID,
    pub name: String,
    pub unit_price: Money,
    pub taxable: bool,
    pub active: bool,
}

impl AddOnService {
    fn new(a: &add_on_service::Model, currency: Currency) -> Self {
        Self {
            id: id(a.id),
            name: a.name.clone(),
            unit_price: Money::of(a.unit_price_minor, currency),
            taxable: a.taxable,
            active: a.active,
        }
    }
}

#[derive(SimpleObject)]
pub struct TaxRate {
    pub id: ID,
    pub name: String,
    /// Percentage, e.g. `"9.975"`.
    pub percent: Result<Decimal>,
    /// Applied to sessions that do not choose their own rates.
    pub is_default: bool,
    pub active: bool,
    pub compound: bool,
}

impl From<&tax_rate::Model> for TaxRate {
    fn from(t: &tax_rate::Model) -> Self {
        Self {
            id: id(t.id),
            name: t.name.clone(),
            percent: catalog::percent_of(t).map_err(domain_error),
            is_default: t.is_default,
            active: t.active,
            compound: t.compound,
        }
    }
}

#[derive(InputObject)]
pub struct CreatePackageInput {
    pub name: String,
    #[graphql(default)]
    pub description: String,
    /// In the studio's currency, e.g. `"3200.00"`.
    pub price: Amount,
    #[graphql(default = true)]
    pub taxable: bool,
}

#[derive(InputObject)]
pub struct UpdatePackageInput {
    pub id: ID,
    pub name: Option<String>,
    pub description: Option<String>,
    pub price: Option<Amount>,
    pub taxable: Option<bool>,
    pub active: Option<bool>,
}

#[derive(InputObject)]
pub struct CreateAddOnServiceInput {
    pub name: String,
    pub unit_price: Amount,
    #[graphql(default = true)]
    pub taxable: bool,
}

#[derive(InputObject)]
pub struct UpdateAddOnServiceInput {
    pub id: ID,
    pub name: Option<String>,
    pub unit_price: Option<Amount>,
    pub taxable: Option<bool>,
    pub active: Option<bool>,
}

#[derive(InputObject)]
pub struct CreateTaxRateInput {
    pub name: String,
    /// Percentage, e.g. `"8.875"`.
    pub percent: Percent,
    /// Default rates apply to every session that names no rates of its own.
    #[graphql(default = true)]
    pub is_default: bool,
    /// Compound: applies to the amount plus the other rates' tax.
    #[graphql(default = false)]
    pub compound: bool,
}

#[derive(InputObject)]
pub struct UpdateTaxRateInput {
    pub id: ID,
    pub name: Option<String>,
    pub percent: Option<Percent>,
    pub is_default: Option<bool>,
    pub active: Option<bool>,
    pub compound: Option<bool>,
}

payload_type!(PackagePayload, package, Package);
payload_type!(AddOnServicePayload, add_on_service, AddOnService);
payload_type!(TaxRatePayload, tax_rate, TaxRate);

#[derive(Default)]
pub struct CatalogQuery;

#[Object]
impl CatalogQuery {
    /// Packages, oldest first, with Relay cursor pagination (at most 100 per page).
    #[graphql(complexity = "super::limits::page_cost(first, last, child_complexity)")]
    async fn packages(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Connection<i64, Package>> {
        let caller = Caller::of(ctx)?;
        let cur = caller.studio.currency;
        let page = page(after, before, first, last)?;
        let rows = queries::packages(caller.db(), caller.studio.id, page)
            .await
            .map_err(domain_error)?;
        Ok(connection(rows, |m| m.id, |m| Package::new(&m, cur)))
    }

    async fn add_on_services(&self, ctx: &Context<'_>) -> Result<Vec<AddOnService>> {
        let caller = Caller::of(ctx)?;
        let cur = caller.studio.currency;
        let rows = add_on_service::Entity::find()
            .filter(add_on_service::Column::StudioId.eq(caller.studio.id))
            .order_by_asc(add_on_service::Column::Id)
            .all(caller.db())
            .await
            .map_err(|e| domain_error(e.into()))?;
        Ok(rows.iter().map(|a| AddOnService::new(a, cur)).collect())
    }

    async fn tax_rates(&self, ctx: &Context<'_>) -> Result<Vec<TaxRate>> {
        let caller = Caller::of(ctx)?;
        let rows = tax_rate::Entity::find()
            .filter(tax_rate::Column::StudioId.eq(caller.studio.id))
            .order_by_asc(tax_rate::Column::Id)
            .all(caller.db())
            .await
            .map_err(|e| domain_error(e.into()))?;
        Ok(rows.iter().map(TaxRate::from).collect())
    }
}

#[derive(Default)]
pub struct CatalogMutation;

#[Object]
impl CatalogMutation {
    async fn create_package(
        &self,
        ctx: &Context<'_>,
        input: CreatePackageInput,
    ) -> Result<PackagePayload> {
        let caller = Caller::of(ctx)?;
        let fields = PackageFields {
            name: Some(input.name),
            description: Some(input.description),
            price: Some(input.price.into()),
            taxable: Some(input.taxable),
            active: Some(true),
        };
        let result = async {
            let created =
                catalog::create_package(caller.db(), caller.studio, fields, caller.now()).await?;
            Ok::<_, DomainError>(Package::new(&created, caller.studio.currency))
        }
        .await;
        PackagePayload::from_result(result)
    }

    async fn update_package(
        &self,
        ctx: &Context<'_>,
        input: UpdatePackageInput,
    ) -> Result<PackagePayload> {
        let caller = Caller::of(ctx)?;
        let result = async {
            let id = parse_id(&input.id, "id", "package")?;
            let fields = PackageFields {
                name: input.name,
                description: input.description,
                price: input.price.map(Into::into),
                taxable: input.taxable,
                active: input.active,
            };
            let updated = catalog::update_package(caller.db(), caller.studio, id, fields).await?;
            Ok::<_, DomainError>(Package::new(&updated, caller.studio.currency))
        }
        .await;
        PackagePayload::from_result(result)
    }

    async fn create_add_on_service(
        &self,
        ctx: &Context<'_>,
        input: CreateAddOnServiceInput,
    ) -> Result<AddOnServicePayload> {
        let caller = Caller::of(ctx)?;
        let fields = PackageFields {
            name: Some(input.name),
            price: Some(input.unit_price.into()),
            taxable: Some(input.taxable),
            ..Default::default()
        };
        let result = async {
            let created =
                catalog::create_add_on(caller.db(), caller.studio, fields, caller.now()).await?;
            Ok::<_, DomainError>(AddOnService::new(&created, caller.studio.currency))
        }
        .await;
        AddOnServicePayload::from_result(result)
    }

    async fn update_add_on_service(
        &self,
        ctx: &Context<'_>,
        input: UpdateAddOnServiceInput,
    ) -> Result<AddOnServicePayload> {
        let caller = Caller::of(ctx)?;
        let result = async {
            let id = parse_id(&input.id, "id", "add-on service")?;
            let fields = PackageFields {
                name: input.name,
                price: input.unit_price.map(Into::into),
                taxable: input.taxable,
                active: input.active,
                ..Default::default()
            };
            let updated = catalog::update_add_on(caller.db(), caller.studio, id, fields).await?;
            Ok::<_, DomainError>(AddOnService::new(&updated, caller.studio.currency))
        }
        .await;
        AddOnServicePayload::from_result(result)
    }

    async fn create_tax_rate(
        &self,
        ctx: &Context<'_>,
        input: CreateTaxRateInput,
    ) -> Result<TaxRatePayload> {
        let caller = Caller::of(ctx)?;
        let fields = TaxRateFields {
            name: Some(input.name),
            percent: Some(input.percent.into()),
            is_default: Some(input.is_default),
            active: Some(true),
            compound: Some(input.compound),
        };
        let result =
            catalog::create_tax_rate(caller.db(), caller.studio, fields, caller.now()).await;
        TaxRatePayload::from_result(result.map(|t| (&t).into()))
    }

    async fn update_tax_rate(
        &self,
        ctx: &Context<'_>,
        input: UpdateTaxRateInput,
    ) -> Result<TaxRatePayload> {
        let caller = Caller::of(ctx)?;
        let result = async {
            let id = parse_id(&input.id, "id", "tax rate")?;
            let fields = TaxRateFields {
                name: input.name,
                percent: input.percent.map(Into::into),
                is_default: input.is_default,
                active: input.active,
                compound: input.compound,
            };
            catalog::update_tax_rate(caller.db(), caller.studio, id, fields).await
        }
        .await;
        TaxRatePayload::from_result(result.map(|t| (&t).into()))
    }
}
