//! Photo sessions: scheduling, cancelling, completing (which starts the
//! billing), and reading them with their items, invoice and gallery.

use super::amount::Amount;
use super::catalog::Package;
use super::clients::Client;
use super::common::{AppData, Caller, domain_error, id, load_error, loaders, parse_id};
use super::common::{parse_ids, payload_type, studio};
use super::gallery::{GalleryAccess, GalleryPhoto};
use super::invoices::Invoice;
use super::money::Money;
use super::paging::{connection, id_filter, page};
use super::percent::Percent;
use super::steps::FailingStep;
use async_graphql::connection::Connection;
use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use domain::DomainResult;
use domain::kernel::ids::{SessionId, StudioId};
use domain::kernel::money::Currency;
use domain::read::queries;
use domain::studio::catalog;
use domain::studio::sessions::{self, AdjustmentSpec, FeeSpec, ItemInput, ScheduleSession};
use entity::{session, session_item};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::SessionStatus")]
pub enum SessionStatus {
    Scheduled,
    Completed,
    Cancelled,
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Session {
    pub id: ID,
    #[graphql(flatten)]
    pub follow_up: SessionFollowUp,
    pub title: String,
    pub status: SessionStatus,
    pub scheduled_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    model: session::Model,
}

impl From<session::Model> for Session {
    fn from(s: session::Model) -> Self {
        Self {
            id: id(s.id),
            follow_up: SessionFollowUp {
                studio_id: s.studio_id,
                session_id: s.id,
            },
            title: s.title.clone(),
            status: s.status.into(),
            scheduled_at: s.scheduled_at,
            completed_at: s.completed_at,
            cancelled_at: s.cancelled_at,
            model: s,
        }
    }
}

// What follows the session: its gallery and its failing steps.
pub struct SessionFollowUp {
    studio_id: i64,
    session_id: i64,
}

#[Object]
impl SessionFollowUp {
    /// The photos registered for the session's gallery, in order.
    async fn gallery_photos(&self, ctx: &Context<'_>) -> Result<Vec<GalleryPhoto>> {
        let app = ctx.data::<AppData>()?;
        Ok(domain::followup::gallery::photos(
            &app.ctx.db,
            StudioId::new(self.studio_id),
            SessionId::new(self.session_id),
        )
        .await
        .map_err(domain_error)?
        .iter()
        .map(GalleryPhoto::from)
        .collect())
    }
    /// Steps about this session (its invoice, emails, charges) that failed
    /// and are not done yet.
    async fn failing_steps(&self, ctx: &Context<'_>) -> Result<Vec<FailingStep>> {
        super::steps::list(ctx, Some(self.session_id)).await
    }
    /// The gallery's log, newest first: every login, page view and
    /// full-resolution download, with its address and user agent (at most
    /// 500 lines; kept for the studio's `logDays`).
    async fn gallery_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 100)] first: i32,
    ) -> Result<Vec<super::gallery::GalleryEvent>> {
        super::gallery::log_of(ctx, self.studio_id, self.session_id, first).await
    }
    /// The client's gallery access, once the session was invoiced.
    async fn gallery_access(&self, ctx: &Context<'_>) -> Result<Option<GalleryAccess>> {
        let app = ctx.data::<AppData>()?;
        let access = domain::followup::gallery::access_for_session(
            &app.ctx.db,
            StudioId::new(self.studio_id),
            SessionId::new(self.session_id),
        )
        .await
        .map_err(domain_error)?;
        Ok(access.map(Into::into))
    }
}

#[ComplexObject]
impl Session {
    /// The booking's payers (`setSessionPayers`): who shares every invoice
    /// of the session issued from then on, by percent.
    async fn payers(&self, ctx: &Context<'_>) -> Result<Vec<crate::graphql::payers::SessionPayer>> {
        crate::graphql::payers::session_payers_of(ctx, self.model.id).await
    }
    /// What the session's package included and what extra picks cost, as
    /// sold when it was booked; `null`: it sells no picks.
    async fn image_pricing(&self, ctx: &Context<'_>) -> Result<Option<super::picks::ImagePricing>> {
        let studio = studio(ctx)?;
        Ok(super::picks::ImagePricing::stored(
            self.model.image_pricing.as_deref(),
            studio.currency,
        ))
    }
    /// The photos the client picked (in the gallery, or the studio for them
    /// with `submitGallerySelection`) and what their extras come to.
    async fn gallery_selection(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<super::picks::GallerySelection>> {
        let caller = Caller::of(ctx)?;
        super::picks::of_session(&caller, &self.model).await
    }
    /// Every invoice of the session, oldest first (final, installments,
    /// supplementary invoices for gallery picks, void ones included).
    async fn invoices(&self, ctx: &Context<'_>) -> Result<Vec<Invoice>> {
        super::picks::invoices_of(&Caller::of(ctx)?, self.model.id).await
    }
    async fn retainer_paid(&self, ctx: &Context<'_>) -> Result<Money> {
        let studio = studio(ctx)?;
        Ok(Money::of(self.model.retainer_paid_minor, studio.currency))
    }
    /// The booking's payment plan (retainer and installments), if one is set.
    async fn payment_plan(&self, ctx: &Context<'_>) -> Result<Option<super::plans::PaymentPlan>> {
        let caller = Caller::of(ctx)?;
        super::plans::of_session(&caller, SessionId::new(self.model.id)).await
    }
    async fn client(&self, ctx: &Context<'_>) -> Result<Option<Client>> {
        let loaders = loaders(ctx)?;
        Ok(loaders
            .clients
            .load_one(self.model.client_id)
            .await
            .map_err(load_error)?
            .as_ref()
            .map(Client::from))
    }
    async fn package(&self, ctx: &Context<'_>) -> Result<Option<Package>> {
        let Some(package_id) = self.model.package_id else {
            return Ok(None);
        };
        let app = ctx.data::<AppData>()?;
        let studio = studio(ctx)?;
        let cur = studio.currency;
        Ok(
            catalog::find_package(&app.ctx.db, self.model.studio_id, package_id)
                .await
                .map_err(domain_error)?
                .map(|p| Package::new(&p, cur)),
        )
    }
    async fn items(&self, ctx: &Context<'_>) -> Result<Vec<SessionItem>> {
        let cur = studio(ctx)?.currency;
        let items = loaders(ctx)?
            .items_by_session
            .load_one(self.model.id)
            .await
            .map_err(load_error)?;
        Ok(items
            .unwrap_or_default()
            .iter()
            .map(|i| SessionItem::new(i, cur))
            .collect())
    }
    /// The invoice this session bills, once the worker has created it: the
    /// one that is not `VOID` (possibly a `DRAFT`), else the latest void one
    /// (older void invoices are reached through `reissuedFrom`).
    async fn invoice(&self, ctx: &Context<'_>) -> Result<Option<Invoice>> {
        let loaders = loaders(ctx)?;
        Ok(loaders
            .invoices_by_session
            .load_one(self.model.id)
            .await
            .map_err(load_error)?
            .map(Invoice::from))
    }
}

#[derive(SimpleObject)]
pub struct SessionItem {
    pub id: ID,
    pub description: String,
    pub quantity: i32,
    pub unit_price: Money,
    pub taxable: bool,
    pub add_on_service_id: Option<ID>,
}

impl SessionItem {
    fn new(i: &session_item::Model, currency: Currency) -> Self {
        Self {
            id: id(i.id),
            description: i.description.clone(),
            quantity: i.quantity,
            unit_price: Money::of(i.unit_price_minor, currency),
            taxable: i.taxable,
            add_on_service_id: i.add_on_service_id.map(id),
        }
    }
}

#[derive(InputObject)]
pub struct SessionItemInput {
    /// Take name, price and taxability from this add-on service.
    pub add_on_service_id: Option<ID>,
    pub description: Option<String>,
    #[graphql(default = 1)]
    pub quantity: i32,
    /// Required without an add-on service; overrides its price otherwise.
    pub unit_price: Option<Amount>,
    pub taxable: Option<bool>,
}

#[derive(InputObject)]
pub struct ScheduleSessionInput {
    pub client_id: ID,
    pub package_id: Option<ID>,
    pub title: String,
    pub scheduled_at: DateTime<Utc>,
    #[graphql(default)]
    pub items: Vec<SessionItemInput>,
    /// Retainer or deposit the client already paid, credited on the invoice.
    pub retainer_paid: Option<Amount>,
    /// Tax rates for this session; omitted means the studio's default rates.
    pub tax_rate_ids: Option<Vec<ID>>,
    /// Invoice-wide discount, spread over the lines before tax.
    pub discount: Option<AdjustmentInput>,
    /// Travel, rush or other fees, added as their own invoice lines.
    #[graphql(default)]
    pub fees: Vec<FeeInput>,
}

impl ScheduleSessionInput {
    fn into_schedule(self) -> DomainResult<ScheduleSession> {
        let client_id = parse_id(&self.client_id, "clientId", "client")?;
        let package_id = self
            .package_id
            .as_ref()
            .map(|id| parse_id(id, "packageId", "package"))
            .transpose()?;
        let tax_rate_ids = self
            .tax_rate_ids
            .as_deref()
            .map(|list| parse_ids(list, "taxRateIds", "tax rate"))
            .transpose()?;
        let mut items = Vec::with_capacity(self.items.len());
        for (i, item) in self.items.into_iter().enumerate() {
            items.push(ItemInput {
                add_on_service_id: item
                    .add_on_service_id
                    .as_ref()
                    .map(|id| parse_id(id, &format!("items.{i}.addOnServiceId"), "add-on service"))
                    .transpose()?,
                description: item.description,
                quantity: item.quantity,
                unit_price: item.unit_price.map(Into::into),
                taxable: item.taxable,
            });
        }
        Ok(ScheduleSession {
            client_id,
            package_id,
            title: self.title,
            scheduled_at: self.scheduled_at,
            items,
            retainer_paid: self.retainer_paid.map(Into::into),
            tax_rate_ids,
            discount: self.discount.map(AdjustmentInput::into_spec),
            fees: self.fees.into_iter().map(FeeInput::into_spec).collect(),
        })
    }
}

/// Exactly one of `percent` (e.g. `"10"`) or `amount` (studio currency).
#[derive(InputObject)]
pub struct AdjustmentInput {
    pub percent: Option<Percent>,
    pub amount: Option<Amount>,
}

impl AdjustmentInput {
    pub fn into_spec(self) -> AdjustmentSpec {
        AdjustmentSpec {
            percent: self.percent.map(Into::into),
            amount: self.amount.map(Into::into),
        }
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum FeeKind {
    Travel,
    Rush,
    /// Only on sessions scheduled before the studio's `cardSurchargePercent`
    /// replaced it: a new fee of this kind is refused with
    /// `SURCHARGE_NOT_ALLOWED` (a fee falls on every way of paying, and a
    /// surcharge may fall on credit cards only).
    CardSurcharge,
    Other,
}

#[derive(InputObject)]
pub struct FeeInput {
    pub name: String,
    #[graphql(default_with = "FeeKind::Other")]
    pub kind: FeeKind,
    /// A fixed amount or a percentage of the discounted lines.
    pub charge: AdjustmentInput,
    #[graphql(default = false)]
    pub taxable: bool,
}

impl FeeInput {
    pub fn into_spec(self) -> FeeSpec {
        FeeSpec {
            name: self.name,
            kind: match self.kind {
                FeeKind::Travel => "TRAVEL",
                FeeKind::Rush => "RUSH",
                FeeKind::CardSurcharge => "CARD_SURCHARGE",
                FeeKind::Other => "OTHER",
            }
            .to_string(),
            charge: self.charge.into_spec(),
            taxable: self.taxable,
        }
    }
}

#[derive(InputObject)]
pub struct SessionFilter {
    pub status: Option<SessionStatus>,
    pub client_id: Option<ID>,
    /// Scheduled at or after.
    pub from: Option<DateTime<Utc>>,
    /// Scheduled before.
    pub to: Option<DateTime<Utc>>,
}

payload_type!(SessionPayload, session, Session);

#[derive(Default)]
pub struct SessionsQuery;

#[Object]
impl SessionsQuery {
    async fn session(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Session>> {
        let caller = Caller::of(ctx)?;
        let Ok(id) = id.parse::<i64>() else {
            return Ok(None);
        };
        Ok(sessions::find_session(caller.db(), caller.studio.id, id)
            .await
            .map_err(domain_error)?
            .map(Session::from))
    }

    /// Sessions, oldest first, with Relay cursor pagination (at most 100 per page).
    #[graphql(complexity = "super::limits::page_cost(first, last, child_complexity)")]
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        filter: Option<SessionFilter>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<Connection<i64, Session>> {
        let caller = Caller::of(ctx)?;
        let filter = filter
            .map(|f| queries::SessionFilter {
                status: f.status.map(Into::into),
                client_id: id_filter(&f.client_id),
                scheduled_from: f.from,
                scheduled_to: f.to,
            })
            .unwrap_or_default();
        let page = page(after, before, first, last)?;
        let rows = queries::sessions(caller.db(), caller.studio.id, &filter, page)
            .await
            .map_err(domain_error)?;
        Ok(connection(rows, |m| m.id, Session::from))
    }
}

#[derive(Default)]
pub struct SessionsMutation;

#[Object]
impl SessionsMutation {
    async fn schedule_session(
        &self,
        ctx: &Context<'_>,
        input: ScheduleSessionInput,
    ) -> Result<SessionPayload> {
        let caller = Caller::of(ctx)?;
        let result = async {
            let schedule = input.into_schedule()?;
            sessions::schedule_session(caller.db(), caller.studio, schedule, caller.now())
                .await
                .map(|(s, _)| Session::from(s))
        }
        .await;
        SessionPayload::from_result(result)
    }

    async fn cancel_session(&self, ctx: &Context<'_>, id: ID) -> Result<SessionPayload> {
        let caller = Caller::of(ctx)?;
        let result = async {
            let id = parse_id(&id, "id", "session")?;
            sessions::cancel_session(caller.db(), caller.studio, id, caller.now()).await
        }
        .await;
        SessionPayload::from_result(result.map(Session::from))
    }

    /// Marks the session completed and starts billing: pricing, invoice,
    /// charge or invoice email, receipt, gallery access. Idempotent: calling
    /// it again returns the same session and starts nothing new.
    async fn complete_session(&self, ctx: &Context<'_>, id: ID) -> Result<SessionPayload> {
        let caller = Caller::of(ctx)?;
        let result = async {
            let id = parse_id(&id, "id", "session")?;
            sessions::complete_session(caller.app, caller.studio, id, caller.request_id()).await
        }
        .await;
        SessionPayload::from_result(result.map(Session::from))
    }
}
