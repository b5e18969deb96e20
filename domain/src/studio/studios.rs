//! Studios and their API keys.

pub mod tipping;

use crate::infra::db::begin_write;
use crate::infra::error::{DomainResult, UserError};
use crate::infra::secrets::generate_api_key;
use crate::kernel::money::{Currency, Minor};
use crate::kernel::validate::Problems;
use chrono::{DateTime, Utc};
use entity::enums::GalleryLevel;
use entity::{api_key, invoice_number_counter, studio};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
};

#[derive(Debug, Clone)]
pub struct NewStudio {
    pub name: String,
    pub currency: String,
    pub time_zone: String,
    pub payment_terms_days: i32,
    pub invoice_prefix: String,
    /// How clients reach the studio, printed on every page, document and
    /// email: postal address (one line per line), email, phone, logo
    /// (`https` URL). Empty or `None`: not shown.
    pub contact: Contact,
}

/// A studio's contact details as entered (validated by `contact_changes`).
#[derive(Debug, Clone, Default)]
pub struct Contact {
    pub address: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub logo_url: Option<String>,
}

/// Checks contact details and writes the given ones to `active`.
fn set_contact(problems: &mut Problems, active: &mut studio::ActiveModel, contact: &Contact) {
    if let Some(address) = &contact.address {
        if address.lines().count() > 6 || address.chars().count() > 400 {
            problems.push(UserError::invalid(
                "address",
                "at most 6 lines and 400 characters",
            ));
        }
        active.address = Set(problems.text("address", address));
    }
    if let Some(email) = &contact.email {
        let email = email.trim();
        active.email = Set(if email.is_empty() {
            None
        } else {
            Some(problems.email("email", email))
        });
    }
    if let Some(phone) = &contact.phone {
        active.phone = Set(problems.phone("phone", phone));
    }
    if let Some(url) = &contact.logo_url {
        active.logo_url = Set(problems.https_url("logoUrl", url));
    }
}

impl NewStudio {
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_string(),
            currency: "USD".into(),
            time_zone: "UTC".into(),
            payment_terms_days: 14,
            invoice_prefix: "INV".into(),
            contact: Contact::default(),
        }
    }
}

/// Creates a studio with its invoice counter and first API key. Returns the
/// key in clear: this is the only time it exists outside the client's hands.
pub async fn create_studio(
    db: &DatabaseConnection,
    input: NewStudio,
    now: DateTime<Utc>,
) -> DomainResult<(studio::Model, String)> {
    let mut problems = Problems::new();
    let name = problems.name("name", &input.name);
    let currency = match Currency::parse(&input.currency) {
        Ok(c) => Some(c),
        Err(e) => {
            problems.push(UserError::invalid("currency", e.to_string()));
            None
        }
    };
    if input.time_zone.parse::<chrono_tz::Tz>().is_err() {
        problems.push(UserError::invalid(
            "timeZone",
            format!("`{}` is not an IANA time zone", input.time_zone),
        ));
    }
    if !(0..=365).contains(&input.payment_terms_days) {
        problems.push(UserError::invalid(
            "paymentTermsDays",
            "must be between 0 and 365",
        ));
    }
    let prefix = input.invoice_prefix.trim().to_ascii_uppercase();
    if prefix.is_empty()
        || prefix.len() > 12
        || !prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        problems.push(UserError::invalid(
            "invoicePrefix",
            "must be 1 to 12 letters, digits or dashes",
        ));
    }
    let mut contact = studio::ActiveModel {
        address: Set(String::new()),
        ..Default::default()
    };
    set_contact(&mut problems, &mut contact, &input.contact);
    problems.finish()?;

    let tx = begin_write(db).await?;
    let studio = studio::ActiveModel {
        address: contact.address,
        email: contact.email,
        phone: contact.phone,
        logo_url: contact.logo_url,
        name: Set(name),
        currency: currency.map_or(sea_orm::ActiveValue::NotSet, Set),
        time_zone: Set(input.time_zone),
        payment_terms_days: Set(input.payment_terms_days),
        invoice_prefix: Set(prefix),
        prices_include_tax: Set(false),
        gallery_full_days: Set(365),
        gallery_unpaid_level: Set(GalleryLevel::Preview),
        gallery_unpaid_days: Set(30),
        gallery_partial_level: Set(GalleryLevel::Preview),
        gallery_expiry_notice_days: Set(7),
        gallery_webhook_url: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    invoice_number_counter::ActiveModel {
        studio_id: Set(studio.id),
        last_value: Set(0),
    }
    .insert(&tx)
    .await?;
    let (key, hash) = generate_api_key();
    api_key::ActiveModel {
        studio_id: Set(studio.id),
        label: Set("default".into()),
        key_hash: Set(hash),
        key_prefix: Set(key.chars().take(14).collect()),
        created_at: Set(now),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    tx.commit().await?;
    tracing::info!(studio_id = studio.id, "studio created");
    Ok((studio, key))
}

/// The studio an API key belongs to, if the key is valid and not revoked
/// (see `api_keys::authenticate`, which also names the key).
pub async fn authenticate(
    db: &DatabaseConnection,
    key: &str,
    now: DateTime<Utc>,
) -> DomainResult<Option<studio::Model>> {
    Ok(crate::studio::api_keys::authenticate(db, key, now)
        .await?
        .map(|found| found.studio))
}

/// Studio settings to change; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct SettingsChanges {
    pub name: Option<String>,
    pub currency: Option<String>,
    pub time_zone: Option<String>,
    pub payment_terms_days: Option<i32>,
    pub invoice_prefix: Option<String>,
    pub invoice_number_format: Option<String>,
    pub rounding: Option<entity::enums::Rounding>,
    pub prices_include_tax: Option<bool>,
    pub tax_id: Option<String>,
    pub address: Option<String>,
    pub email: Option<String>,
    pub portal_link_days: Option<i32>,
    pub review_drafts: Option<bool>,
    /// Empty string clears it.
    pub phone: Option<String>,
    /// An `https` URL; empty string clears it.
    pub logo_url: Option<String>,
    pub retainer_excess: Option<entity::enums::RetainerExcess>,
    /// The local hour (0-23) at which payment-plan parts are billed.
    pub plan_charge_hour: Option<i32>,
    /// Days (0-30) before a plan part's auto-charge that its notice goes.
    pub plan_notice_days: Option<i32>,
    /// ISO 3166-1 alpha-2; empty string clears it.
    pub country: Option<String>,
    /// A US state or Canadian province; empty string clears it.
    pub region: Option<String>,
    /// The card surcharge in percent of a credit-card payment; 0 turns it
    /// off. Checked where the studio is (`kernel::surcharge`).
    pub card_surcharge_percent: Option<rust_decimal::Decimal>,
    /// Tax the surcharge like a taxable item of the session.
    pub surcharge_taxable: Option<bool>,
    /// The amount above which an auto-pay part's card is checked with its
    /// notice; 0 turns the check off.
    pub plan_card_check_above: Option<rust_decimal::Decimal>,
    /// Parts not billed at completion: folded into the final invoice or kept.
    pub plan_parts_at_completion: Option<entity::enums::PlanPartsAtCompletion>,
    /// Tips on the portal.
    pub tipping: Option<tipping::TippingChanges>,
}

/// Changes a studio's settings. They shape invoices finalized from now on;
/// a finalized invoice is never edited. The currency can only change while
/// the studio has no prices or invoices in the old one.
pub async fn update_settings(
    db: &DatabaseConnection,
    studio: &studio::Model,
    changes: SettingsChanges,
) -> DomainResult<studio::Model> {
    use entity::{invoice, package};
    use sea_orm::PaginatorTrait;
    let mut problems = Problems::new();
    let mut active: studio::ActiveModel = studio.clone().into();
    if let Some(name) = &changes.name {
        active.name = Set(problems.name("name", name));
    }
    if let Some(code) = &changes.currency {
        match Currency::parse(code) {
            Ok(c) if c != studio.currency => {
                let priced = package::Entity::find()
                    .filter(package::Column::StudioId.eq(studio.id))
                    .count(db)
                    .await?
                    + invoice::Entity::find()
                        .filter(invoice::Column::StudioId.eq(studio.id))
                        .count(db)
                        .await?;
                if priced > 0 {
                    problems.push(UserError::state(
                        "currency",
                        "the currency cannot change once packages or invoices exist in the current one",
                    ));
                }
                active.currency = Set(c);
            }
            Ok(_) => {}
            Err(e) => problems.push(UserError::invalid("currency", e.to_string())),
        }
    }
    if let Some(tz) = &changes.time_zone {
        if tz.parse::<chrono_tz::Tz>().is_err() {
            problems.push(UserError::invalid(
                "timeZone",
                format!("`{tz}` is not an IANA time zone"),
            ));
        }
        active.time_zone = Set(tz.clone());
    }
    payment_settings(studio, &changes, &mut active, &mut problems);
    if let Some(days) = changes.payment_terms_days {
        active.payment_terms_days = Set(problems.within("paymentTermsDays", days, 0..=365));
    }
    if let Some(prefix) = &changes.invoice_prefix {
        let prefix = prefix.trim().to_ascii_uppercase();
        if prefix.is_empty()
            || prefix.len() > 12
            || !prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            problems.push(UserError::invalid(
                "invoicePrefix",
                "must be 1 to 12 letters, digits or dashes",
            ));
        }
        active.invoice_prefix = Set(prefix);
    }
    if let Some(format) = &changes.invoice_number_format {
        if let Err(e) = crate::kernel::numbering::validate(format.trim()) {
            problems.push(UserError::invalid("invoiceNumberFormat", e));
        }
        active.invoice_number_format = Set(format.trim().to_string());
    }
    if let Some(rounding) = changes.rounding {
        active.rounding = Set(rounding);
    }
    if let Some(inclusive) = changes.prices_include_tax {
        active.prices_include_tax = Set(inclusive);
    }
    if let Some(tax_id) = &changes.tax_id {
        active.tax_id = Set(problems.short_text("taxId", tax_id, 60));
    }
    set_contact(
        &mut problems,
        &mut active,
        &Contact {
            address: changes.address.clone(),
            email: changes.email.clone(),
            phone: changes.phone.clone(),
            logo_url: changes.logo_url.clone(),
        },
    );
    if let Some(excess) = changes.retainer_excess {
        active.retainer_excess = Set(excess);
    }
    if let Some(days) = changes.portal_link_days {
        active.portal_link_days = Set(problems.within("portalLinkDays", days, 1..=3650));
    }
    if let Some(review) = changes.review_drafts {
        active.review_drafts = Set(review);
    }
    problems.finish()?;
    Ok(active.update(db).await?)
}

/// How clients pay: the payment-plan settings (the hour parts are billed,
/// the notice days, the card-check amount), the place (EU/EEA guardrail,
/// card surcharge) and tipping.
fn payment_settings(
    studio: &studio::Model,
    changes: &SettingsChanges,
    active: &mut studio::ActiveModel,
    problems: &mut Problems,
) {
    if let Some(kept) = changes.plan_parts_at_completion {
        active.plan_parts_at_completion = Set(kept);
    }
    if let Some(hour) = changes.plan_charge_hour {
        active.plan_charge_hour = Set(problems.within("planChargeHour", hour, 0..=23));
    }
    if let Some(days) = changes.plan_notice_days {
        active.plan_notice_days = Set(problems.within("planNoticeDays", days, 0..=30));
    }
    place_and_surcharge(studio, changes, active, problems);
    tipping::apply(studio, changes.tipping.as_ref(), active, problems);
    if let Some(above) = changes.plan_card_check_above {
        let currency = currency_after(studio, active);
        let minor = match above.is_sign_negative() {
            true => {
                problems.push(UserError::invalid(
                    "planCardCheckAbove",
                    "must be 0 (off) or more",
                ));
                Minor::ZERO
            }
            false => problems.amount("planCardCheckAbove", currency, above),
        };
        active.plan_card_check_minor = Set(minor.is_positive().then_some(minor));
    }
}

/// The studio's currency as the change leaves it.
fn currency_after(studio: &studio::Model, active: &studio::ActiveModel) -> Currency {
    match &active.currency {
        sea_orm::ActiveValue::Set(c) | sea_orm::ActiveValue::Unchanged(c) => *c,
        sea_orm::ActiveValue::NotSet => studio.currency,
    }
}

/// Where the studio is, and its card surcharge, checked against the
/// place it ends up in (`SURCHARGE_NOT_ALLOWED` under
/// `cardSurchargePercent`): a studio that moves where surcharges are banned
/// must turn its surcharge off in the same change.
fn place_and_surcharge(
    studio: &studio::Model,
    changes: &SettingsChanges,
    active: &mut studio::ActiveModel,
    problems: &mut Problems,
) {
    use crate::kernel::surcharge::{Place, setting_malformed, setting_refused};
    let change = crate::studio::places::PlaceChange {
        country: changes.country.as_deref(),
        region: changes.region.as_deref(),
    };
    let current = (studio.country.clone(), studio.region.clone());
    let (country, region) = crate::studio::places::apply(problems, change, current);
    let percent = match changes.card_surcharge_percent {
        Some(p) => Some(p.normalize()),
        None => crate::kernel::surcharge::setting_of(studio.card_surcharge_percent.as_deref()),
    };
    if let Some(percent) = percent {
        let place = Place::new(country.as_deref(), region.as_deref());
        if let Some(why) = setting_malformed(percent) {
            problems.push(UserError::invalid("cardSurchargePercent", why));
        } else if let Some(why) = setting_refused(place, percent) {
            problems.push(UserError::surcharge("cardSurchargePercent", why));
        }
    }
    if changes.card_surcharge_percent.is_some() {
        active.card_surcharge_percent =
            Set(percent.filter(|p| !p.is_zero()).map(|p| p.to_string()));
    }
    if let Some(taxable) = changes.surcharge_taxable {
        active.surcharge_taxable = Set(taxable);
    }
    active.country = Set(country);
    active.region = Set(region);
}

/// `tel:` link target of a phone number as printed: its digits, with a
/// leading `+` kept.
pub fn tel_href(phone: &str) -> String {
    let trimmed = phone.trim();
    let mut href = String::from("tel:");
    if trimmed.starts_with('+') {
        href.push('+');
    }
    href.extend(trimmed.chars().filter(char::is_ascii_digit));
    href
}

/// The studio's logo for the top of a page or an email (nothing without
/// one). Inline styles, so it works in email clients too.
pub fn logo_html(studio: &studio::Model) -> maud::Markup {
    maud::html! {
        @if let Some(url) = &studio.logo_url {
            img.studio-logo src=(url) alt=(studio.name) style="display:block;max-width:180px;max-height:64px;width:auto;height:auto;margin-bottom:10px;border:0";
        }
    }
}

/// How a client reaches the studio: name, postal address, a `mailto:` and
/// a `tel:` link. Printed at the foot of the portal, the return page, the
/// gallery and every client email, so "contact the studio" points somewhere.
/// Inline styles (email clients drop `<style>`); long addresses wrap instead
/// of widening a phone's screen.
pub fn contact_html(studio: &studio::Model) -> maud::Markup {
    let lines: Vec<&str> = studio
        .address
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    maud::html! {
        div.studio-contact id="studio-contact" style="font-size:13px;line-height:1.6;color:#666;overflow-wrap:anywhere;word-break:break-word" {
            strong style="color:#2b2b2b" { (studio.name) }
            @for line in &lines { br; (line) }
            @if let Some(email) = &studio.email {
                br; a href=(format!("mailto:{email}")) style="color:#8a5a2b" { (email) }
            }
            @if let Some(phone) = &studio.phone {
                br; a href=(tel_href(phone)) style="color:#8a5a2b;white-space:nowrap" { (phone) }
            }
        }
    }
}

/// The same contact details as plain text, for text emails.
pub fn contact_text(studio: &studio::Model) -> String {
    let mut out = studio.name.clone();
    for line in studio
        .address
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        out.push('\n');
        out.push_str(line);
    }
    if let Some(email) = &studio.email {
        out.push_str(&format!("\n{email}"));
    }
    if let Some(phone) = &studio.phone {
        out.push_str(&format!("\nTel. {phone}"));
    }
    out
}
