//! Mutations. Each one parses its input, calls one domain service and maps
//! the result; domain input errors come back as `userErrors`.

use super::inputs::*;
use super::types::{AddOnService, Client, Package, Session, TaxRate};
use super::{AppData, UserError, parse_id, payload, request_id, studio};
use async_graphql::{Context, ID, Object, Result, SimpleObject};
use domain::catalog::{self, ClientChanges, PackageFields, TaxRateFields};
use domain::money::Currency;
use domain::sessions::{self, ItemInput, ScheduleSession};
use domain::{DomainError, DomainResult};

macro_rules! payload_type {
    ($name:ident, $field:ident, $ty:ty) => {
        #[derive(SimpleObject)]
        pub struct $name {
            pub $field: Option<$ty>,
            pub user_errors: Vec<UserError>,
        }

        impl $name {
            fn from_result(result: DomainResult<$ty>) -> Result<Self> {
                let ($field, user_errors) = payload(result)?;
                Ok(Self {
                    $field,
                    user_errors,
                })
            }
        }
    };
}

payload_type!(ClientPayload, client, Client);
payload_type!(PackagePayload, package, Package);
payload_type!(AddOnServicePayload, add_on_service, AddOnService);
payload_type!(TaxRatePayload, tax_rate, TaxRate);
payload_type!(SessionPayload, session, Session);

pub struct Mutation;

fn studio_currency(studio: &entity::studio::Model) -> DomainResult<Currency> {
    domain::studios::currency_of(studio)
}

fn ids(list: &[ID], field: &str, what: &str) -> DomainResult<Vec<i64>> {
    list.iter()
        .enumerate()
        .map(|(i, id)| parse_id(id, &format!("{field}.{i}"), what))
        .collect()
}

#[Object]
impl Mutation {
    async fn create_client(
        &self,
        ctx: &Context<'_>,
        input: CreateClientInput,
    ) -> Result<ClientPayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let result = catalog::create_client(
            &app.ctx.db,
            studio,
            &input.name,
            &input.email,
            input.payment_preference.into(),
        )
        .await;
        ClientPayload::from_result(result.map(Client))
    }

    async fn update_client(
        &self,
        ctx: &Context<'_>,
        input: UpdateClientInput,
    ) -> Result<ClientPayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let result = async {
            let id = parse_id(&input.id, "id", "client")?;
            let changes = ClientChanges {
                name: input.name,
                email: input.email,
                payment_preference: input.payment_preference.map(Into::into),
            };
            catalog::update_client(&app.ctx.db, studio, id, changes).await
        }
        .await;
        ClientPayload::from_result(result.map(Client))
    }

    /// Stores a tokenized card on the client (test tokens: `pm_card_visa`,
    /// `pm_card_chargeDeclined`, `pm_card_chargeDeclinedInsufficientFunds`...).
    async fn attach_payment_method(
        &self,
        ctx: &Context<'_>,
        input: AttachPaymentMethodInput,
    ) -> Result<ClientPayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let result = async {
            let id = parse_id(&input.client_id, "clientId", "client")?;
            catalog::attach_payment_method(&app.ctx, studio, id, &input.token).await
        }
        .await;
        ClientPayload::from_result(result.map(Client))
    }

    async fn create_package(
        &self,
        ctx: &Context<'_>,
        input: CreatePackageInput,
    ) -> Result<PackagePayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let result = async {
            let fields = PackageFields {
                name: Some(input.name),
                description: Some(input.description),
                price: Some(input.price),
                taxable: Some(input.taxable),
                active: Some(true),
            };
            let created = catalog::create_package(&app.ctx.db, studio, fields).await?;
            Ok::<_, DomainError>(Package(created, studio_currency(studio)?))
        }
        .await;
        PackagePayload::from_result(result)
    }

    async fn update_package(
        &self,
        ctx: &Context<'_>,
        input: UpdatePackageInput,
    ) -> Result<PackagePayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let result = async {
            let id = parse_id(&input.id, "id", "package")?;
            let fields = PackageFields {
                name: input.name,
                description: input.description,
                price: input.price,
                taxable: input.taxable,
                active: input.active,
            };
            let updated = catalog::update_package(&app.ctx.db, studio, id, fields).await?;
            Ok::<_, DomainError>(Package(updated, studio_currency(studio)?))
        }
        .await;
        PackagePayload::from_result(result)
    }

    async fn create_add_on_service(
        &self,
        ctx: &Context<'_>,
        input: CreateAddOnServiceInput,
    ) -> Result<AddOnServicePayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let result = async {
            let fields = PackageFields {
                name: Some(input.name),
                price: Some(input.unit_price),
                taxable: Some(input.taxable),
                ..Default::default()
            };
            let created = catalog::create_add_on(&app.ctx.db, studio, fields).await?;
            Ok::<_, DomainError>(AddOnService(created, studio_currency(studio)?))
        }
        .await;
        AddOnServicePayload::from_result(result)
    }

    async fn update_add_on_service(
        &self,
        ctx: &Context<'_>,
        input: UpdateAddOnServiceInput,
    ) -> Result<AddOnServicePayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let result = async {
            let id = parse_id(&input.id, "id", "add-on service")?;
            let fields = PackageFields {
                name: input.name,
                price: input.unit_price,
                taxable: input.taxable,
                active: input.active,
                ..Default::default()
            };
            let updated = catalog::update_add_on(&app.ctx.db, studio, id, fields).await?;
            Ok::<_, DomainError>(AddOnService(updated, studio_currency(studio)?))
        }
        .await;
        AddOnServicePayload::from_result(result)
    }

    async fn create_tax_rate(
        &self,
        ctx: &Context<'_>,
        input: CreateTaxRateInput,
    ) -> Result<TaxRatePayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let fields = TaxRateFields {
            name: Some(input.name),
            percent: Some(input.percent),
            is_default: Some(input.is_default),
            active: Some(true),
        };
        let result = catalog::create_tax_rate(&app.ctx.db, studio, fields).await;
        TaxRatePayload::from_result(result.map(TaxRate))
    }

    async fn update_tax_rate(
        &self,
        ctx: &Context<'_>,
        input: UpdateTaxRateInput,
    ) -> Result<TaxRatePayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let result = async {
            let id = parse_id(&input.id, "id", "tax rate")?;
            let fields = TaxRateFields {
                name: input.name,
                percent: input.percent,
                is_default: input.is_default,
                active: input.active,
            };
            catalog::update_tax_rate(&app.ctx.db, studio, id, fields).await
        }
        .await;
        TaxRatePayload::from_result(result.map(TaxRate))
    }

    async fn schedule_session(
        &self,
        ctx: &Context<'_>,
        input: ScheduleSessionInput,
    ) -> Result<SessionPayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let result = async {
            let client_id = parse_id(&input.client_id, "clientId", "client")?;
            let package_id = input
                .package_id
                .as_ref()
                .map(|id| parse_id(id, "packageId", "package"))
                .transpose()?;
            let tax_rate_ids = input
                .tax_rate_ids
                .as_deref()
                .map(|list| ids(list, "taxRateIds", "tax rate"))
                .transpose()?;
            let mut items = Vec::with_capacity(input.items.len());
            for (i, item) in input.items.into_iter().enumerate() {
                items.push(ItemInput {
                    add_on_service_id: item
                        .add_on_service_id
                        .as_ref()
                        .map(|id| {
                            parse_id(id, &format!("items.{i}.addOnServiceId"), "add-on service")
                        })
                        .transpose()?,
                    description: item.description,
                    quantity: item.quantity,
                    unit_price: item.unit_price,
                    taxable: item.taxable,
                });
            }
            let schedule = ScheduleSession {
                client_id,
                package_id,
                title: input.title,
                scheduled_at: input.scheduled_at,
                items,
                retainer_paid: input.retainer_paid,
                tax_rate_ids,
            };
            sessions::schedule_session(&app.ctx.db, studio, schedule)
                .await
                .map(|(s, _)| Session(s))
        }
        .await;
        SessionPayload::from_result(result)
    }

    async fn cancel_session(&self, ctx: &Context<'_>, id: ID) -> Result<SessionPayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let result = async {
            let id = parse_id(&id, "id", "session")?;
            sessions::cancel_session(&app.ctx.db, studio, id).await
        }
        .await;
        SessionPayload::from_result(result.map(Session))
    }

    /// Marks the session completed and starts billing: pricing, invoice,
    /// charge or invoice email, receipt, gallery access. Idempotent: calling
    /// it again returns the same session and starts nothing new.
    async fn complete_session(&self, ctx: &Context<'_>, id: ID) -> Result<SessionPayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let request_id = request_id(ctx);
        let result = async {
            let id = parse_id(&id, "id", "session")?;
            sessions::complete_session(&app.ctx, studio, id, request_id.as_deref()).await
        }
        .await;
        SessionPayload::from_result(result.map(Session))
    }
}
