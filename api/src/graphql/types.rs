//! GraphQL object types. They wrap persistence models and convert; entities
//! never derive GraphQL traits themselves.

use super::{AppData, internal};
use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use domain::kernel::money::{Currency, Money as DomainMoney};
use domain::{read::queries, studio::catalog};
use entity::{
    add_on_service, client, credit_note, invoice, invoice_event, invoice_line, package, payment,
    refund, session, session_item, studio, tax_rate,
};
use rust_decimal::Decimal;

macro_rules! remote_enum {
    ($name:ident, $remote:literal, [$($variant:ident),+]) => {
        #[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
        #[graphql(remote = $remote)]
        pub enum $name { $($variant),+ }
    };
}

remote_enum!(
    PaymentPreference,
    "entity::enums::PaymentPreference",
    [AutoPay, Invoice]
);
remote_enum!(
    SessionStatus,
    "entity::enums::SessionStatus",
    [Scheduled, Completed, Cancelled]
);
remote_enum!(
    InvoiceStatus,
    "entity::enums::InvoiceStatus",
    [Draft, Open, PartiallyPaid, Paid, Void, Uncollectible]
);
remote_enum!(
    PaymentStatus,
    "entity::enums::PaymentStatus",
    [Pending, Succeeded, Failed]
);
remote_enum!(
    PaymentSource,
    "entity::enums::PaymentSource",
    [AutoPay, Portal, Manual, Webhook]
);
remote_enum!(
    LineKind,
    "entity::enums::LineKind",
    [Package, AddOn, Custom, Fee, LateFee]
);
remote_enum!(
    PaymentMethodKind,
    "entity::enums::PaymentMethod",
    [Card, Cash, Check, BankTransfer, Other]
);
remote_enum!(
    RefundStatus,
    "entity::enums::RefundStatus",
    [Pending, Succeeded, Failed]
);
remote_enum!(
    AuditEventKind,
    "entity::enums::InvoiceEventKind",
    [
        Created,
        Finalized,
        PaymentSucceeded,
        PaymentFailed,
        ManualPaymentRecorded,
        RefundSucceeded,
        RefundFailed,
        DisputeOpened,
        DisputeClosed,
        Voided,
        CreditNoteIssued,
        Resent,
        LateFeeAdded,
        Reissued,
        MarkedUncollectible,
        CreditRepaid
    ]
);

/// An amount of money: exact minor units plus the ISO 4217 currency.
pub struct Money(pub DomainMoney);

impl Money {
    pub fn of(minor: i64, currency: Currency) -> Self {
        Self(DomainMoney::new(minor, currency))
    }
}

#[Object]
impl Money {
    /// Decimal amount as a string, e.g. `"1234.56"` (exact, never a float).
    async fn amount(&self) -> Decimal {
        self.0.amount()
    }
    /// Integer minor units (cents): what is stored and charged.
    async fn minor_units(&self) -> i64 {
        self.0.minor
    }
    async fn currency(&self) -> &'static str {
        self.0.currency.code()
    }
    /// Display text, identical to the email and the portal (`USD 1,234.56`).
    async fn formatted(&self) -> String {
        self.0.to_string()
    }
}

fn currency(code: &str) -> Result<Currency> {
    Currency::parse(code).map_err(|e| internal(anyhow::anyhow!("stored currency: {e}")))
}

pub struct Studio(pub studio::Model);

#[Object]
impl Studio {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    async fn time_zone(&self) -> &str {
        &self.0.time_zone
    }
    async fn payment_terms_days(&self) -> i32 {
        self.0.payment_terms_days
    }
    async fn invoice_prefix(&self) -> &str {
        &self.0.invoice_prefix
    }
    /// How gallery access follows payment.
    async fn gallery_policy(&self) -> super::gallery::GalleryPolicy {
        super::gallery::GalleryPolicy(self.0.clone())
    }
    /// How unpaid invoices are followed up.
    async fn reminder_policy(&self, ctx: &Context<'_>) -> Result<super::reminders::ReminderPolicy> {
        let app = ctx.data::<AppData>()?;
        let policy = domain::followup::reminders::policy_for(&app.ctx.db, self.0.id)
            .await
            .map_err(super::domain_error)?;
        super::reminders::ReminderPolicy::new(policy, &self.0).map_err(super::domain_error)
    }
    /// e.g. `{PREFIX}-{YYYY}-{SEQ:4}`; the sequence is gap-free per studio.
    async fn invoice_number_format(&self) -> &str {
        &self.0.invoice_number_format
    }
    async fn rounding(&self) -> super::inputs::Rounding {
        self.0.rounding.into()
    }
    async fn prices_include_tax(&self) -> bool {
        self.0.prices_include_tax
    }
    async fn tax_id(&self) -> Option<&str> {
        self.0.tax_id.as_deref()
    }
    async fn address(&self) -> &str {
        &self.0.address
    }
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    async fn portal_link_days(&self) -> i32 {
        self.0.portal_link_days
    }
    /// New invoices stop at `DRAFT` until `finalizeInvoice`.
    async fn review_drafts(&self) -> bool {
        self.0.review_drafts
    }
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    async fn logo_url(&self) -> Option<&str> {
        self.0.logo_url.as_deref()
    }
    /// What becomes of a retainer above an invoice's total.
    async fn retainer_excess(&self) -> super::inputs::RetainerExcess {
        self.0.retainer_excess.into()
    }
}

#[derive(SimpleObject)]
pub struct PaymentMethod {
    pub brand: String,
    pub last4: String,
    pub exp_month: i32,
    pub exp_year: i32,
}

pub struct Client(pub client::Model);

#[Object]
impl Client {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn payment_preference(&self) -> PaymentPreference {
        self.0.payment_preference.into()
    }
    /// The client's own zone for reminders; `null` = the studio's.
    async fn time_zone(&self) -> Option<&str> {
        self.0.time_zone.as_deref()
    }
    /// The name the studio set to greet the client by; `null`: the first
    /// word of `name`.
    async fn display_name(&self) -> Option<&str> {
        self.0.display_name.as_deref()
    }
    /// The name emails and pages greet the client by ("Hi Noah,").
    async fn greeting_name(&self) -> String {
        domain::billing::documents::greeting_name(&self.0)
    }
    /// The stored card, for display only (the gateway holds the card itself).
    async fn payment_method(&self) -> Option<PaymentMethod> {
        let c = &self.0;
        Some(PaymentMethod {
            brand: c.pm_brand.clone()?,
            last4: c.pm_last4.clone()?,
            exp_month: c.pm_exp_month?,
            exp_year: c.pm_exp_year?,
        })
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Credit carried from earlier invoices (a retainer above an invoice's
    /// total, with the studio's `CARRY_FORWARD`), applied once to the
    /// client's next invoice; zero when none is waiting.
    async fn carried_credit(&self, ctx: &Context<'_>) -> Result<Money> {
        let app = ctx.data::<AppData>()?;
        let studio = super::studio(ctx)?;
        let minor = domain::billing::credits::balance_of_client(&app.ctx.db, studio.id, self.0.id)
            .await
            .map_err(super::domain_error)?;
        Ok(Money::of(minor, currency(&studio.currency)?))
    }
}

pub struct Package(pub package::Model, pub Currency);

#[Object]
impl Package {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn price(&self) -> Money {
        Money::of(self.0.price_minor, self.1)
    }
    async fn taxable(&self) -> bool {
        self.0.taxable
    }
    async fn active(&self) -> bool {
        self.0.active
    }
}

pub struct AddOnService(pub add_on_service::Model, pub Currency);

#[Object]
impl AddOnService {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn unit_price(&self) -> Money {
        Money::of(self.0.unit_price_minor, self.1)
    }
    async fn taxable(&self) -> bool {
        self.0.taxable
    }
    async fn active(&self) -> bool {
        self.0.active
    }
}

pub struct TaxRate(pub tax_rate::Model);

#[Object]
impl TaxRate {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Percentage, e.g. `"9.975"`.
    async fn percent(&self) -> Result<Decimal> {
        catalog::percent_of(&self.0).map_err(super::domain_error)
    }
    /// Applied to sessions that do not choose their own rates.
    async fn is_default(&self) -> bool {
        self.0.is_default
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    async fn compound(&self) -> bool {
        self.0.compound
    }
}

pub struct SessionItem(pub session_item::Model, pub Currency);

#[Object]
impl SessionItem {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn quantity(&self) -> i32 {
        self.0.quantity
    }
    async fn unit_price(&self) -> Money {
        Money::of(self.0.unit_price_minor, self.1)
    }
    async fn taxable(&self) -> bool {
        self.0.taxable
    }
    async fn add_on_service_id(&self) -> Option<ID> {
        self.0.add_on_service_id.map(|id| ID(id.to_string()))
    }
}

pub struct Session(pub session::Model);

#[Object]
impl Session {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The photos registered for the session's gallery, in order.
    async fn gallery_photos(&self, ctx: &Context<'_>) -> Result<Vec<super::gallery::GalleryPhoto>> {
        let app = ctx.data::<AppData>()?;
        Ok(
            domain::followup::gallery::photos(&app.ctx.db, self.0.studio_id, self.0.id)
                .await
                .map_err(super::domain_error)?
                .into_iter()
                .map(super::gallery::GalleryPhoto)
                .collect(),
        )
    }
    /// Steps about this session (its invoice, emails, charges) that failed
    /// and are not done yet.
    async fn failing_steps(&self, ctx: &Context<'_>) -> Result<Vec<super::steps::FailingStep>> {
        super::steps::list(ctx, Some(self.0.id)).await
    }
    /// The client's gallery access, once the session was invoiced.
    async fn gallery_access(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<super::gallery::GalleryAccess>> {
        let app = ctx.data::<AppData>()?;
        Ok(
            domain::followup::gallery::access_for_session(&app.ctx.db, self.0.studio_id, self.0.id)
                .await
                .map_err(super::domain_error)?
                .map(Into::into),
        )
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn status(&self) -> SessionStatus {
        self.0.status.into()
    }
    async fn scheduled_at(&self) -> DateTime<Utc> {
        self.0.scheduled_at
    }
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
    async fn cancelled_at(&self) -> Option<DateTime<Utc>> {
        self.0.cancelled_at
    }
    async fn retainer_paid(&self, ctx: &Context<'_>) -> Result<Money> {
        let studio = super::studio(ctx)?;
        Ok(Money::of(
            self.0.retainer_paid_minor,
            currency(&studio.currency)?,
        ))
    }
    async fn client(&self, ctx: &Context<'_>) -> Result<Option<Client>> {
        let loaders = super::loaders(ctx)?;
        Ok(loaders
            .clients
            .load_one(self.0.client_id)
            .await
            .map_err(super::load_error)?
            .map(Client))
    }
    async fn package(&self, ctx: &Context<'_>) -> Result<Option<Package>> {
        let Some(package_id) = self.0.package_id else {
            return Ok(None);
        };
        let app = ctx.data::<AppData>()?;
        let studio = super::studio(ctx)?;
        let cur = currency(&studio.currency)?;
        Ok(
            catalog::find_package(&app.ctx.db, self.0.studio_id, package_id)
                .await
                .map_err(super::domain_error)?
                .map(|p| Package(p, cur)),
        )
    }
    async fn items(&self, ctx: &Context<'_>) -> Result<Vec<SessionItem>> {
        let cur = currency(&super::studio(ctx)?.currency)?;
        let items = super::loaders(ctx)?
            .items_by_session
            .load_one(self.0.id)
            .await
            .map_err(super::load_error)?;
        Ok(items
            .unwrap_or_default()
            .into_iter()
            .map(|i| SessionItem(i, cur))
            .collect())
    }
    /// The invoice this session bills, once the worker has created it: the
    /// one that is not `VOID` (possibly a `DRAFT`), else the latest void one
    /// (older void invoices are reached through `reissuedFrom`).
    async fn invoice(&self, ctx: &Context<'_>) -> Result<Option<Invoice>> {
        let loaders = super::loaders(ctx)?;
        Ok(loaders
            .invoices_by_session
            .load_one(self.0.id)
            .await
            .map_err(super::load_error)?
            .map(Invoice))
    }
}

pub struct InvoiceLine(pub invoice_line::Model, pub Currency);

#[Object]
impl InvoiceLine {
    async fn position(&self) -> i32 {
        self.0.position
    }
    async fn kind(&self) -> LineKind {
        self.0.kind.into()
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn quantity(&self) -> i32 {
        self.0.quantity
    }
    async fn unit_price(&self) -> Money {
        Money::of(self.0.unit_price_minor, self.1)
    }
    async fn amount(&self) -> Money {
        Money::of(self.0.amount_minor, self.1)
    }
    async fn taxable(&self) -> bool {
        self.0.taxable
    }
    async fn tax(&self) -> Money {
        Money::of(self.0.tax_minor, self.1)
    }
}

pub struct Invoice(pub invoice::Model);

impl Invoice {
    fn money(&self, minor: i64) -> Result<Money> {
        Ok(Money::of(minor, currency(&self.0.currency)?))
    }
}

#[Object]
impl Invoice {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Gap-free per studio, e.g. `INV-2026-0001`; `null` while the invoice
    /// is a `DRAFT` (numbers are assigned at finalization).
    async fn number(&self) -> Option<&str> {
        self.0.number.as_deref()
    }
    async fn status(&self) -> InvoiceStatus {
        self.0.status.into()
    }
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    /// Sum of the lines, net of tax.
    async fn subtotal(&self) -> Result<Money> {
        self.money(self.0.subtotal_minor)
    }
    async fn tax(&self) -> Result<Money> {
        self.money(self.0.tax_minor)
    }
    /// Credits applied against the total: the retainer or deposit already
    /// paid, then any `carriedCredit` from earlier invoices.
    async fn retainer_credit(&self) -> Result<Money> {
        self.money(self.0.credit_minor)
    }
    /// The part of `retainerCredit` carried from the client's earlier
    /// invoices (shown as its own row under the retainer).
    async fn carried_credit(&self) -> Result<Money> {
        self.money(self.0.carried_credit_minor)
    }
    /// The credit (retainer plus carried credits) above the invoice's gross
    /// total, which this invoice could not use; zero when none.
    async fn excess_credit(&self) -> Result<Money> {
        self.money(self.0.excess_credit_minor)
    }
    /// What `excessCredit` became (the studio's setting when the invoice was
    /// priced); `null` when there is no excess.
    async fn excess_credit_disposition(&self) -> Option<super::inputs::RetainerExcess> {
        self.0.excess_disposition.map(Into::into)
    }
    /// Owed back to the client (`excessCredit` under `REFUND_DUE`) and not
    /// yet repaid (`markCreditRepaid`); zero otherwise.
    async fn credit_due_to_client(&self) -> Result<Money> {
        self.money(domain::billing::credits::due_to_client(&self.0))
    }
    /// What the studio paid back of the credit owed to the client
    /// (`markCreditRepaid`); zero until then.
    async fn credit_repaid(&self) -> Result<Money> {
        self.money(
            domain::billing::credits::repaid_to_client(&self.0)
                .map(|(amount, _, _)| amount)
                .unwrap_or_default(),
        )
    }
    /// When the credit owed to the client was marked repaid; `null` while
    /// it is still owed (or nothing is).
    async fn credit_repaid_at(&self) -> Option<DateTime<Utc>> {
        self.0.credit_repaid_at
    }
    /// The studio's reference for that repayment.
    async fn credit_repaid_reference(&self) -> Option<&str> {
        self.0.credit_repaid_reference.as_deref()
    }
    /// `subtotal + tax - retainerCredit`.
    async fn total(&self) -> Result<Money> {
        self.money(self.0.total_minor)
    }
    async fn amount_paid(&self) -> Result<Money> {
        self.money(self.0.amount_paid_minor)
    }
    async fn amount_due(&self) -> Result<Money> {
        self.money(self.0.amount_due_minor)
    }
    /// When it was finalized (for a `DRAFT`: when it was drafted).
    async fn issued_at(&self) -> DateTime<Utc> {
        self.0.issued_at
    }
    /// In the studio's time zone (for a `DRAFT`: as if issued when drafted;
    /// finalizing sets it again from the finalization date).
    async fn due_date(&self) -> NaiveDate {
        self.0.due_date
    }
    async fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.0.paid_at
    }
    /// Discounts included in the subtotal (line discounts and the invoice discount).
    async fn discount(&self) -> Result<Money> {
        self.money(self.0.discount_minor)
    }
    /// Fees included in the subtotal (they are also lines of kind `FEE`).
    async fn fees(&self) -> Result<Money> {
        self.money(self.0.fee_minor)
    }
    async fn amount_refunded(&self) -> Result<Money> {
        self.money(self.0.amount_refunded_minor)
    }
    /// Tax per rate, as priced; sums to `tax`.
    async fn tax_breakdown(&self) -> Result<Vec<TaxShare>> {
        let cur = currency(&self.0.currency)?;
        Ok(
            domain::kernel::adjustments::parse_tax_breakdown(&self.0.tax_breakdown)
                .into_iter()
                .map(|t| TaxShare {
                    name: t.name,
                    percent: t.percent,
                    amount: Money::of(t.amount_minor, cur),
                })
                .collect(),
        )
    }
    async fn finalized_at(&self) -> Option<DateTime<Utc>> {
        self.0.finalized_at
    }
    async fn voided_at(&self) -> Option<DateTime<Utc>> {
        self.0.voided_at
    }
    async fn void_reason(&self) -> Option<&str> {
        self.0.void_reason.as_deref()
    }
    /// The invoice as a PDF, through its portal link (share it only with the client).
    async fn pdf_url(&self, ctx: &Context<'_>) -> Result<String> {
        let portal = ctx.data::<AppData>()?.ctx.portal_url(&self.0.portal_salt);
        Ok(format!("{portal}/invoice.pdf"))
    }
    async fn refunds(&self, ctx: &Context<'_>) -> Result<Vec<Refund>> {
        let refunds = super::loaders(ctx)?
            .refunds_by_invoice
            .load_one(self.0.id)
            .await
            .map_err(super::load_error)?;
        Ok(refunds
            .unwrap_or_default()
            .into_iter()
            .map(Refund)
            .collect())
    }
    /// The credit note that cancelled this invoice, if it was voided.
    async fn credit_note(&self, ctx: &Context<'_>) -> Result<Option<CreditNote>> {
        Ok(credit_notes_of(ctx, self.0.id)
            .await?
            .into_iter()
            .find(|n| n.refund_id.is_none())
            .map(CreditNote))
    }
    /// Every credit note, oldest first: one per refund (`CN-<number>-2`,
    /// `-3`...) and the void's (`CN-<number>`).
    async fn credit_notes(&self, ctx: &Context<'_>) -> Result<Vec<CreditNote>> {
        Ok(credit_notes_of(ctx, self.0.id)
            .await?
            .into_iter()
            .map(CreditNote)
            .collect())
    }
    /// What the refunds' credit notes took off the invoice:
    /// `amountDue == total - amountCredited - amountPaid + amountRefunded`.
    async fn amount_credited(&self) -> Result<Money> {
        self.money(self.0.amount_credited_minor)
    }
    /// The follow-up plan while the invoice is unpaid: each reminder with
    /// when it is due and when it was sent.
    async fn reminders(&self, ctx: &Context<'_>) -> Result<Vec<super::reminders::ReminderStep>> {
        let app = ctx.data::<AppData>()?;
        Ok(
            domain::followup::reminders::schedule_of(&app.ctx.db, &self.0)
                .await
                .map_err(super::domain_error)?
                .into_iter()
                .map(super::reminders::ReminderStep)
                .collect(),
        )
    }
    /// Every change, oldest first; append-only.
    async fn audit_trail(&self, ctx: &Context<'_>) -> Result<Vec<AuditEvent>> {
        let events = super::loaders(ctx)?
            .events_by_invoice
            .load_one(self.0.id)
            .await
            .map_err(super::load_error)?;
        Ok(events
            .unwrap_or_default()
            .into_iter()
            .map(AuditEvent)
            .collect())
    }
    /// The client's payment-portal link (share it only with the client).
    async fn portal_url(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(ctx.data::<AppData>()?.ctx.portal_url(&self.0.portal_salt))
    }
    async fn lines(&self, ctx: &Context<'_>) -> Result<Vec<InvoiceLine>> {
        let cur = currency(&self.0.currency)?;
        let lines = super::loaders(ctx)?
            .lines_by_invoice
            .load_one(self.0.id)
            .await
            .map_err(super::load_error)?;
        Ok(lines
            .unwrap_or_default()
            .into_iter()
            .map(|l| InvoiceLine(l, cur))
            .collect())
    }
    async fn payments(&self, ctx: &Context<'_>) -> Result<Vec<Payment>> {
        let payments = super::loaders(ctx)?
            .payments_by_invoice
            .load_one(self.0.id)
            .await
            .map_err(super::load_error)?;
        Ok(payments
            .unwrap_or_default()
            .into_iter()
            .map(Payment)
            .collect())
    }
    async fn client(&self, ctx: &Context<'_>) -> Result<Option<Client>> {
        let loaders = super::loaders(ctx)?;
        Ok(loaders
            .clients
            .load_one(self.0.client_id)
            .await
            .map_err(super::load_error)?
            .map(Client))
    }
    async fn session(&self, ctx: &Context<'_>) -> Result<Option<Session>> {
        let loaders = super::loaders(ctx)?;
        Ok(loaders
            .sessions
            .load_one(self.0.session_id)
            .await
            .map_err(super::load_error)?
            .map(Session))
    }
    /// The void invoice this one replaces (`reissueInvoice`).
    async fn reissued_from(&self, ctx: &Context<'_>) -> Result<Option<Invoice>> {
        let Some(id) = self.0.reissued_from_id else {
            return Ok(None);
        };
        let app = ctx.data::<AppData>()?;
        Ok(queries::invoice(&app.ctx.db, self.0.studio_id, id)
            .await
            .map_err(super::domain_error)?
            .map(Invoice))
    }
    /// The invoice that replaced this void one, if it was reissued.
    async fn reissued_by(&self, ctx: &Context<'_>) -> Result<Option<Invoice>> {
        let app = ctx.data::<AppData>()?;
        Ok(
            queries::invoice_reissuing(&app.ctx.db, self.0.studio_id, self.0.id)
                .await
                .map_err(super::domain_error)?
                .map(Invoice),
        )
    }
}

pub struct Payment(pub payment::Model);

#[Object]
impl Payment {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn amount(&self) -> Result<Money> {
        Ok(Money::of(self.0.amount_minor, currency(&self.0.currency)?))
    }
    async fn status(&self) -> PaymentStatus {
        self.0.status.into()
    }
    async fn source(&self) -> PaymentSource {
        self.0.source.into()
    }
    async fn card_brand(&self) -> Option<&str> {
        self.0.card_brand.as_deref()
    }
    async fn card_last4(&self) -> Option<&str> {
        self.0.card_last4.as_deref()
    }
    /// Gateway decline code, e.g. `insufficient_funds`.
    async fn failure_code(&self) -> Option<&str> {
        self.0.failure_code.as_deref()
    }
    async fn failure_message(&self) -> Option<&str> {
        self.0.failure_message.as_deref()
    }
    async fn gateway_reference(&self) -> Option<&str> {
        self.0.gateway_reference.as_deref()
    }
    async fn method(&self) -> PaymentMethodKind {
        self.0.method.into()
    }
    /// Check number or transfer reference of a manual payment.
    async fn reference(&self) -> Option<&str> {
        self.0.reference.as_deref()
    }
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    async fn amount_refunded(&self) -> Result<Money> {
        Ok(Money::of(
            self.0.amount_refunded_minor,
            currency(&self.0.currency)?,
        ))
    }
    async fn disputed_at(&self) -> Option<DateTime<Utc>> {
        self.0.disputed_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn invoice(&self, ctx: &Context<'_>) -> Result<Option<Invoice>> {
        let app = ctx.data::<AppData>()?;
        Ok(
            queries::invoice(&app.ctx.db, self.0.studio_id, self.0.invoice_id)
                .await
                .map_err(super::domain_error)?
                .map(Invoice),
        )
    }
}

/// One tax rate's share of an invoice's tax.
#[derive(SimpleObject)]
pub struct TaxShare {
    pub name: String,
    pub percent: Decimal,
    pub amount: Money,
}

pub struct Refund(pub refund::Model);

#[Object]
impl Refund {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn payment_id(&self) -> ID {
        ID(self.0.payment_id.to_string())
    }
    async fn amount(&self) -> Result<Money> {
        Ok(Money::of(self.0.amount_minor, currency(&self.0.currency)?))
    }
    async fn status(&self) -> RefundStatus {
        self.0.status.into()
    }
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    async fn failure_message(&self) -> Option<&str> {
        self.0.failure_message.as_deref()
    }
    async fn gateway_reference(&self) -> Option<&str> {
        self.0.gateway_reference.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The credit note for the refunded amount; `null` for a chargeback
    /// (a lost dispute), which makes the money owed again instead.
    async fn credit_note(&self, ctx: &Context<'_>) -> Result<Option<CreditNote>> {
        Ok(credit_notes_of(ctx, self.0.invoice_id)
            .await?
            .into_iter()
            .find(|n| n.refund_id == Some(self.0.id))
            .map(CreditNote))
    }
}

async fn credit_notes_of(ctx: &Context<'_>, invoice_id: i64) -> Result<Vec<credit_note::Model>> {
    Ok(super::loaders(ctx)?
        .credit_note_by_invoice
        .load_one(invoice_id)
        .await
        .map_err(super::load_error)?
        .unwrap_or_default())
}

pub struct CreditNote(pub credit_note::Model);

#[Object]
impl CreditNote {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// `CN-` followed by the invoice's number (a void's), then `-2`, `-3`...
    /// for the credit notes that come with refunds.
    async fn number(&self) -> &str {
        &self.0.number
    }
    async fn amount(&self) -> Result<Money> {
        Ok(Money::of(self.0.amount_minor, currency(&self.0.currency)?))
    }
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// One line of an invoice's audit trail.
pub struct AuditEvent(pub invoice_event::Model);

#[Object]
impl AuditEvent {
    async fn event(&self) -> AuditEventKind {
        self.0.event.into()
    }
    async fn from_status(&self) -> Option<InvoiceStatus> {
        self.0.from_status.map(Into::into)
    }
    async fn to_status(&self) -> Option<InvoiceStatus> {
        self.0.to_status.map(Into::into)
    }
    /// Minor units of the invoice's currency moved by this event, if any.
    async fn amount_minor(&self) -> Option<i64> {
        self.0.amount_minor
    }
    /// `system`, `portal`, `api-key:<prefix>` or `webhook:<provider>`.
    async fn actor(&self) -> &str {
        &self.0.actor
    }
    async fn detail(&self) -> Option<&str> {
        self.0.detail.as_deref()
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Invoice processing time: session completed -> invoice sent or paid.
#[derive(async_graphql::SimpleObject)]
pub struct ProcessingTime {
    /// Invoices measured.
    pub count: i64,
    /// Median, in milliseconds.
    pub p50_milliseconds: Option<i64>,
    /// 90th percentile, in milliseconds.
    pub p90_milliseconds: Option<i64>,
    #[graphql(deprecation = "Whole seconds hide sub-second times: use `p50Milliseconds`.")]
    pub p50_seconds: Option<i64>,
    #[graphql(deprecation = "Whole seconds hide sub-second times: use `p90Milliseconds`.")]
    pub p90_seconds: Option<i64>,
}

/// Issued -> paid, for invoices paid in the range.
#[derive(async_graphql::SimpleObject)]
pub struct DaysToCollection {
    pub count: i64,
    pub average: Option<Decimal>,
    pub median: Option<Decimal>,
}

#[derive(async_graphql::SimpleObject)]
pub struct AgingBucket {
    /// `current`, `1-30`, `31-60`, `61-90` or `90+` days past due.
    pub bucket: String,
    pub count: i64,
    pub amount: Money,
}

#[derive(async_graphql::SimpleObject)]
pub struct MonthRevenue {
    /// `YYYY-MM` (UTC).
    pub month: String,
    pub amount: Money,
}

#[derive(async_graphql::SimpleObject)]
pub struct PackageRevenue {
    pub package: String,
    pub amount: Money,
}

/// The studio's key metrics for a period, computed in the database.
#[derive(async_graphql::SimpleObject)]
pub struct Metrics {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Invoices issued in the period (void ones excluded).
    pub invoices_issued: i64,
    /// Of those, paid in full.
    pub invoices_paid: i64,
    /// `invoicesPaid / invoicesIssued` (0 to 1), null when nothing was issued.
    pub payment_completion_rate: Option<Decimal>,
    pub invoice_processing_time: ProcessingTime,
    pub days_to_collection: DaysToCollection,
    /// What open invoices issued before `to` still owe.
    pub outstanding: Money,
    /// Open invoices by days past due on the date of `to` (studio time zone).
    pub aging: Vec<AgingBucket>,
    pub revenue_by_month: Vec<MonthRevenue>,
    pub revenue_by_package: Vec<PackageRevenue>,
}

impl Metrics {
    pub fn new(
        m: domain::read::metrics::Metrics,
        currency: Currency,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Self {
        Self {
            from,
            to,
            invoices_issued: m.invoices_issued,
            invoices_paid: m.invoices_paid,
            payment_completion_rate: m.payment_completion_rate,
            invoice_processing_time: ProcessingTime {
                count: m.processing.count,
                p50_milliseconds: m.processing.p50_ms,
                p90_milliseconds: m.processing.p90_ms,
                p50_seconds: m.processing.p50_seconds(),
                p90_seconds: m.processing.p90_seconds(),
            },
            days_to_collection: DaysToCollection {
                count: m.collection.count,
                average: m.collection.average_days,
                median: m.collection.median_days,
            },
            outstanding: Money::of(m.outstanding_minor, currency),
            aging: m
                .aging
                .into_iter()
                .map(|b| AgingBucket {
                    bucket: b.label.to_string(),
                    count: b.count,
                    amount: Money::of(b.amount_minor, currency),
                })
                .collect(),
            revenue_by_month: m
                .revenue_by_month
                .into_iter()
                .map(|r| MonthRevenue {
                    month: r.key,
                    amount: Money::of(r.amount_minor, currency),
                })
                .collect(),
            revenue_by_package: m
                .revenue_by_package
                .into_iter()
                .map(|r| PackageRevenue {
                    package: r.key,
                    amount: Money::of(r.amount_minor, currency),
                })
                .collect(),
        }
    }
}
