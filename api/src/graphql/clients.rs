//! The studio's clients: reading, creating and changing them.

use super::common::{Caller, domain_error, id, parse_id, payload_type};
use super::money::Money;
use super::paging::{connection, page};
use async_graphql::connection::Connection;
use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use domain::kernel::ids::ClientId;
use domain::read::queries;
use domain::studio::catalog::{self, ClientChanges};
use entity::client;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::PaymentPreference")]
pub enum PaymentPreference {
    AutoPay,
    Invoice,
}

#[derive(SimpleObject)]
pub struct PaymentMethod {
    pub brand: String,
    pub last4: String,
    pub exp_month: i32,
    pub exp_year: i32,
    /// `credit`, `debit`, `prepaid` or `unknown`, as the payment processor
    /// said: only a credit card carries the studio's card surcharge.
    pub funding: String,
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Client {
    pub id: ID,
    pub name: String,
    pub email: String,
    pub payment_preference: PaymentPreference,
    /// The client's own zone for reminders; `null` = the studio's.
    pub time_zone: Option<String>,
    /// The name the studio set to greet the client by; `null`: the first
    /// word of `name`.
    pub display_name: Option<String>,
    /// Where the client lives (ISO 3166-1 alpha-2), if the studio said.
    pub country: Option<String>,
    /// Their US state or Canadian province, if the studio said: card
    /// surcharge bans and caps follow it.
    pub region: Option<String>,
    /// The name emails and pages greet the client by ("Hi Noah,").
    pub greeting_name: String,
    /// The stored card, for display only (the gateway holds the card itself).
    pub payment_method: Option<PaymentMethod>,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    client_id: i64,
}

impl From<&client::Model> for Client {
    fn from(c: &client::Model) -> Self {
        let payment_method = || {
            Some(PaymentMethod {
                brand: c.pm_brand.clone()?,
                last4: c.pm_last4.clone()?,
                exp_month: c.pm_exp_month?,
                exp_year: c.pm_exp_year?,
                funding: c.pm_funding.clone().unwrap_or_else(|| "unknown".into()),
            })
        };
        Self {
            id: id(c.id),
            name: c.name.clone(),
            email: c.email.clone(),
            payment_preference: c.payment_preference.into(),
            time_zone: c.time_zone.clone(),
            display_name: c.display_name.clone(),
            country: c.country.clone(),
            region: c.region.clone(),
            greeting_name: domain::billing::documents::greeting_name(c),
            payment_method: payment_method(),
            created_at: c.created_at,
            client_id: c.id,
        }
    }
}

#[ComplexObject]
impl Client {
    /// Credit carried from earlier invoices (a retainer above an invoice's
    /// total, with the studio's `CARRY_FORWARD`), applied once to the
    /// client's next invoice; zero when none is waiting.
    async fn carried_credit(&self, ctx: &Context<'_>) -> Result<Money> {
        let caller = Caller::of(ctx)?;
        let minor = domain::billing::credits::balance_of_client(
            caller.db(),
            caller.studio_id(),
            ClientId::new(self.client_id),
        )
        .await
        .map_err(domain_error)?;
        Ok(Money::of(minor, caller.studio.currency))
    }
}

#[derive(InputObject)]
pub struct CreateClientInput {
    pub name: String,
    pub email: String,
    #[graphql(default_with = "PaymentPreference::Invoice")]
    pub payment_preference: PaymentPreference,
    /// IANA zone for the reminder window (default: the studio's).
    pub time_zone: Option<String>,
    /// The name the client is greeted by in emails and pages ("Hi Sam,");
    /// default: the first word of `name`.
    pub display_name: Option<String>,
    /// Where the client lives, ISO 3166-1 alpha-2 (`FR`, `US`): a client in
    /// the EU/EEA gets no plan part due more than 50 days after the session.
    pub country: Option<String>,
    /// Their US state or Canadian province (`CT`, `QC`), for the card
    /// surcharge's bans and caps.
    pub region: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateClientInput {
    pub id: ID,
    pub name: Option<String>,
    pub email: Option<String>,
    pub payment_preference: Option<PaymentPreference>,
    /// IANA zone for the reminder window; empty string: the studio's.
    pub time_zone: Option<String>,
    /// The name the client is greeted by; empty string: the first word of
    /// `name`.
    pub display_name: Option<String>,
    /// Where the client lives, ISO 3166-1 alpha-2; empty string clears it.
    pub country: Option<String>,
    /// Their US state or Canadian province; empty string clears it.
    /// Changing the country clears it unless given.
    pub region: Option<String>,
}

payload_type!(ClientPayload, client, Client);

#[derive(Default)]
pub struct ClientsQuery;

#[Object]
impl ClientsQuery {
    async fn client(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Client>> {
        let caller = Caller::of(ctx)?;
        let Ok(id) = id.parse::<i64>() else {
            return Ok(None);
        };
        Ok(catalog::find_client(caller.db(), caller.studio.id, id)
            .await
            .map_err(domain_error)?
            .as_ref()
            .map(Client::from))
    }

    /// Clients, oldest first, with Relay cursor pagination (at most 100 per page).
    #[graphql(complexity = "super::limits::page_cost(first, last, child_complexity)")]
    async fn clients(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Connection<i64, Client>> {
        let caller = Caller::of(ctx)?;
        let page = page(after, before, first, last)?;
        let rows = queries::clients(caller.db(), caller.studio.id, page)
            .await
            .map_err(domain_error)?;
        Ok(connection(rows, |m| m.id, |m| Client::from(&m)))
    }
}

#[derive(Default)]
pub struct ClientsMutation;

#[Object]
impl ClientsMutation {
    async fn create_client(
        &self,
        ctx: &Context<'_>,
        input: CreateClientInput,
    ) -> Result<ClientPayload> {
        let caller = Caller::of(ctx)?;
        let new = catalog::NewClient {
            name: &input.name,
            email: &input.email,
            payment_preference: input.payment_preference.into(),
            zone: input.time_zone.as_deref(),
            greeted_as: input.display_name.as_deref(),
            country: input.country.as_deref(),
            region: input.region.as_deref(),
        };
        let result =
            catalog::create_client_greeted(caller.db(), caller.studio, new, caller.now()).await;
        ClientPayload::from_result(result.map(|c| Client::from(&c)))
    }

    async fn update_client(
        &self,
        ctx: &Context<'_>,
        input: UpdateClientInput,
    ) -> Result<ClientPayload> {
        let caller = Caller::of(ctx)?;
        let result = async {
            let id = parse_id(&input.id, "id", "client")?;
            let changes = ClientChanges {
                name: input.name,
                email: input.email,
                payment_preference: input.payment_preference.map(Into::into),
                time_zone: input.time_zone,
                display_name: input.display_name,
                country: input.country,
                region: input.region,
            };
            catalog::update_client(caller.db(), caller.studio, id, changes, caller.now()).await
        }
        .await;
        ClientPayload::from_result(result.map(|c| Client::from(&c)))
    }
}
