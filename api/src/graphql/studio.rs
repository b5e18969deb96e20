//! The studio: its settings (`studio`, `updateStudioSettings`).

use super::amount::Amount;
use super::common::{Caller, id, payload_type, studio};
use super::gallery::GalleryPolicy;
use super::money::Money;
use super::percent::Percent;
use super::reminders::StudioReminderPolicy;
use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use entity::studio as model;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::Rounding")]
pub enum Rounding {
    PerLine,
    PerInvoice,
}

/// What becomes of the part of a retainer an invoice does not use.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::RetainerExcess")]
pub enum RetainerExcess {
    /// A credit owed back to the client: shown on the invoice
    /// (`creditDueToClient`) and listed on the dashboard (the default).
    RefundDue,
    /// Carried to the client's next invoice, where it is applied once.
    CarryForward,
}

/// What a completed session does with its payment plan's parts not billed
/// yet.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::PlanPartsAtCompletion")]
pub enum PlanPartsAtCompletion {
    /// Its final invoice bills them (the default).
    Fold,
    /// They stay dated parts, billed (or charged) on their own days; the
    /// final invoice credits them as scheduled.
    Keep,
}

/// Which payments a studio's tip is offered on.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::TipOffer")]
pub enum TipOffer {
    /// Every payment made on the portal (the default).
    EveryPayment,
    /// Only payments of the session's final invoice (not its installments).
    FinalPayment,
}

/// Tips on the payment portal: offered before the hosted page opens,
/// "No tip" chosen by default, presets computed on the pre-tax amount due,
/// charged as a "Gratuity" line, recorded on the payment (`Payment.tip`),
/// outside the invoice, its tax, its late fees and its card surcharge.
#[derive(SimpleObject)]
pub struct Tipping {
    pub enabled: bool,
    /// Offered as "10 % (USD 100.00)", ... on the pre-tax amount due.
    pub preset_percents: Vec<rust_decimal::Decimal>,
    /// A custom amount may be typed.
    pub allow_custom: bool,
    /// The largest tip on one payment (`null`: the pre-tax amount paid).
    pub maximum: Option<Money>,
    pub offer: TipOffer,
}

impl From<&model::Model> for Tipping {
    fn from(s: &model::Model) -> Self {
        Self {
            enabled: s.tip_enabled,
            preset_percents: domain::kernel::tips::parse_presets(&s.tip_presets),
            allow_custom: s.tip_custom,
            maximum: s.tip_max_minor.map(|m| Money::of(m, s.currency)),
            offer: s.tip_offer.into(),
        }
    }
}

/// Omitted fields keep their value.
#[derive(InputObject)]
pub struct TippingInput {
    pub enabled: Option<bool>,
    /// At most 4 distinct percentages above 0 and at most 100 (`[]`: none).
    pub preset_percents: Option<Vec<Percent>>,
    pub allow_custom: Option<bool>,
    /// The largest tip on one payment; `"0"` clears it.
    pub maximum: Option<Amount>,
    pub offer: Option<TipOffer>,
}

impl From<TippingInput> for domain::studio::studios::tipping::TippingChanges {
    fn from(input: TippingInput) -> Self {
        Self {
            enabled: input.enabled,
            preset_percents: input
                .preset_percents
                .map(|ps| ps.into_iter().map(Into::into).collect()),
            allow_custom: input.allow_custom,
            maximum: input.maximum.map(Into::into),
            offer: input.offer.map(Into::into),
        }
    }
}

#[derive(SimpleObject)]
pub struct Studio {
    pub id: ID,
    pub name: String,
    pub currency: String,
    pub time_zone: String,
    pub payment_terms_days: i32,
    pub invoice_prefix: String,
    /// How gallery access follows payment.
    pub gallery_policy: GalleryPolicy,
    #[graphql(flatten)]
    pub reminder_policy: StudioReminderPolicy,
    /// e.g. `{PREFIX}-{YYYY}-{SEQ:4}`; the sequence is gap-free per studio.
    pub invoice_number_format: String,
    pub rounding: Rounding,
    pub prices_include_tax: bool,
    pub tax_id: Option<String>,
    pub address: String,
    pub email: Option<String>,
    pub portal_link_days: i32,
    /// New invoices stop at `DRAFT` until `finalizeInvoice`.
    pub review_drafts: bool,
    pub phone: Option<String>,
    pub logo_url: Option<String>,
    /// What becomes of a retainer above an invoice's total.
    pub retainer_excess: RetainerExcess,
    /// The local hour (0-23, in the client's time zone, else the studio's)
    /// at which a payment-plan part due on a day is charged or emailed.
    pub plan_charge_hour: i32,
    /// How many days before a payment-plan part is charged to an auto-pay
    /// client's card its invoice is emailed as the notice (0: none).
    pub plan_notice_days: i32,
    /// ISO 3166-1 alpha-2, if set. A studio in the EU/EEA bills consumers
    /// there: a payment plan's parts fall due at most 50 days after the
    /// session (`PLAN_GUARDRAIL` otherwise).
    pub country: Option<String>,
    /// The US state or Canadian province, if set (`CT`, `QC`): surcharge
    /// bans and caps differ by state and province.
    pub region: Option<String>,
    /// The card surcharge, in percent of a credit-card payment (`null`:
    /// off). Added at payment to credit cards only (never debit or prepaid
    /// cards, nor money paid by hand), where the client's place allows it
    /// and capped as it caps it; outside the tax base unless
    /// `surchargeTaxable`; recorded on the payment and returned pro rata
    /// with its refunds.
    pub card_surcharge_percent: Option<rust_decimal::Decimal>,
    /// The surcharge is taxed like a taxable item of the session (its tax
    /// on top with tax-exclusive prices, in it with tax-inclusive ones,
    /// `Payment.surchargeTax`); false: outside the tax base.
    pub surcharge_taxable: bool,
    /// An auto-pay plan part above this amount has its card checked at the
    /// payment processor when its notice goes out, so that a dead card is
    /// known (and a fresh card-setup link emailed) before the charge day;
    /// `null`: never.
    pub plan_card_check_above: Option<Money>,
    /// What completing a session does with its plan's parts not billed yet.
    pub plan_parts_at_completion: PlanPartsAtCompletion,
    /// Tips on the payment portal.
    pub tipping: Tipping,
}

impl From<&model::Model> for Studio {
    fn from(s: &model::Model) -> Self {
        Self {
            id: id(s.id),
            name: s.name.clone(),
            currency: s.currency.code().to_string(),
            time_zone: s.time_zone.clone(),
            payment_terms_days: s.payment_terms_days,
            invoice_prefix: s.invoice_prefix.clone(),
            gallery_policy: s.into(),
            reminder_policy: StudioReminderPolicy(s.clone()),
            invoice_number_format: s.invoice_number_format.clone(),
            rounding: s.rounding.into(),
            prices_include_tax: s.prices_include_tax,
            tax_id: s.tax_id.clone(),
            address: s.address.clone(),
            email: s.email.clone(),
            portal_link_days: s.portal_link_days,
            review_drafts: s.review_drafts,
            phone: s.phone.clone(),
            logo_url: s.logo_url.clone(),
            retainer_excess: s.retainer_excess.into(),
            plan_charge_hour: s.plan_charge_hour,
            plan_notice_days: s.plan_notice_days,
            country: s.country.clone(),
            region: s.region.clone(),
            card_surcharge_percent: domain::billing::surcharge::setting(s),
            surcharge_taxable: s.surcharge_taxable,
            plan_card_check_above: s.plan_card_check_minor.map(|m| Money::of(m, s.currency)),
            plan_parts_at_completion: s.plan_parts_at_completion.into(),
            tipping: s.into(),
        }
    }
}

/// Omitted fields keep their value. Changes shape invoices finalized from now on.
#[derive(InputObject)]
pub struct UpdateStudioSettingsInput {
    pub name: Option<String>,
    /// ISO 4217; only while the studio has no packages or invoices.
    pub currency: Option<String>,
    /// IANA, e.g. `America/Toronto`.
    pub time_zone: Option<String>,
    pub payment_terms_days: Option<i32>,
    pub invoice_prefix: Option<String>,
    /// e.g. `{PREFIX}-{YYYY}-{SEQ:4}` or `INV-{YYYY}-{seq:04}`.
    pub invoice_number_format: Option<String>,
    pub rounding: Option<Rounding>,
    pub prices_include_tax: Option<bool>,
    /// Empty string clears it.
    pub tax_id: Option<String>,
    /// Postal address, one line per line.
    pub address: Option<String>,
    pub email: Option<String>,
    /// How long a portal link works after the invoice is settled.
    pub portal_link_days: Option<i32>,
    /// When true, new invoices stop at `DRAFT` (no number, nothing sent)
    /// until `finalizeInvoice`.
    pub review_drafts: Option<bool>,
    /// Shown to clients as a `tel:` link; empty string clears it.
    pub phone: Option<String>,
    /// An `https` URL of the studio's logo, shown on the portal, the gallery
    /// and the emails; empty string clears it.
    pub logo_url: Option<String>,
    /// What becomes of a retainer above an invoice's total.
    pub retainer_excess: Option<RetainerExcess>,
    /// The local hour (0-23, in the client's time zone, else the studio's)
    /// at which a payment-plan part due on a day is charged or emailed.
    pub plan_charge_hour: Option<i32>,
    /// Days (0-30) before a payment-plan part's auto-charge that its notice
    /// is emailed.
    pub plan_notice_days: Option<i32>,
    /// ISO 3166-1 alpha-2 (`US`, `FR`, `GB`); empty string clears it.
    pub country: Option<String>,
    /// A US state or Canadian province (`NY`, `QC`) of `country`; empty
    /// string clears it. Changing the country clears it unless given.
    pub region: Option<String>,
    /// The card surcharge in percent of a credit-card payment; `"0"` turns
    /// it off. Refused with `SURCHARGE_NOT_ALLOWED` where the studio is if
    /// surcharging consumer cards is banned there (EU/EEA, UK, Puerto Rico,
    /// Connecticut, Massachusetts, Quebec) or above its cap there (3 %,
    /// Colorado 2 %, Canada 2.4 %).
    pub card_surcharge_percent: Option<Percent>,
    /// Tax the card surcharge like a taxable item of the session (where
    /// the law taxes it, as New York does); false: outside the tax base.
    pub surcharge_taxable: Option<bool>,
    /// Check an auto-pay plan part's card at the payment processor with
    /// its notice when the part is above this amount; `"0"` turns it off.
    pub plan_card_check_above: Option<Amount>,
    /// `FOLD` (default): a completed session's final invoice bills the
    /// plan's parts not billed yet; `KEEP`: they stay on their days.
    pub plan_parts_at_completion: Option<PlanPartsAtCompletion>,
    /// Tips on the payment portal (errors under `tipping.<field>`).
    pub tipping: Option<TippingInput>,
}

impl UpdateStudioSettingsInput {
    fn into_changes(self) -> domain::studio::studios::SettingsChanges {
        domain::studio::studios::SettingsChanges {
            name: self.name,
            currency: self.currency,
            time_zone: self.time_zone,
            payment_terms_days: self.payment_terms_days,
            invoice_prefix: self.invoice_prefix,
            invoice_number_format: self.invoice_number_format,
            rounding: self.rounding.map(Into::into),
            prices_include_tax: self.prices_include_tax,
            tax_id: self.tax_id,
            address: self.address,
            email: self.email,
            portal_link_days: self.portal_link_days,
            review_drafts: self.review_drafts,
            phone: self.phone,
            logo_url: self.logo_url,
            retainer_excess: self.retainer_excess.map(Into::into),
            plan_charge_hour: self.plan_charge_hour,
            plan_notice_days: self.plan_notice_days,
            country: self.country,
            region: self.region,
            card_surcharge_percent: self.card_surcharge_percent.map(Into::into),
            surcharge_taxable: self.surcharge_taxable,
            plan_card_check_above: self.plan_card_check_above.map(Into::into),
            plan_parts_at_completion: self.plan_parts_at_completion.map(Into::into),
            tipping: self.tipping.map(Into::into),
        }
    }
}

payload_type!(StudioPayload, studio, Studio);

#[derive(Default)]
pub struct StudioQuery;

#[Object]
impl StudioQuery {
    /// The studio the API key belongs to.
    async fn studio(&self, ctx: &Context<'_>) -> Result<Studio> {
        Ok(studio(ctx)?.into())
    }
}

#[derive(Default)]
pub struct StudioMutation;

#[Object]
impl StudioMutation {
    /// Currency, taxes, rounding, number format, payment terms, and what
    /// invoices print about the studio. Applies to invoices finalized later.
    async fn update_studio_settings(
        &self,
        ctx: &Context<'_>,
        input: UpdateStudioSettingsInput,
    ) -> Result<StudioPayload> {
        let caller = Caller::of(ctx)?;
        let result = domain::studio::studios::update_settings(
            caller.db(),
            caller.studio,
            input.into_changes(),
        )
        .await;
        StudioPayload::from_result(result.map(|s| (&s).into()))
    }
}
