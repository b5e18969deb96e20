//! The studio's card surcharge at payment time (`kernel::surcharge` has the
//! rules): what a card payment carries on top of the invoice's money, and
//! how much of it a refund returns.
//!
//! A surcharge is decided when a charge starts, from the card's funding
//! type as the gateway reported it (credit only), where the client is
//! (else the studio) and the studio's setting; it is written on the
//! `PENDING` payment (`surcharge_minor`) before anything is sent, so a
//! retried attempt charges the same sum. The invoice receives
//! `amount_minor` only: the surcharge is outside its tax base and never
//! makes it overpaid. A declined attempt leaves it behind with nothing
//! charged. An invoice whose session still carries the old
//! `CARD_SURCHARGE` fee is never surcharged again.

use crate::infra::error::DomainResult;
use crate::kernel::money::Minor;
use crate::kernel::pricing::TaxRateInput;
use crate::kernel::surcharge::{self, Funding, Place};
use entity::{client, invoice, session, studio};
use rust_decimal::Decimal;
use sea_orm::ConnectionTrait;

/// The studio's setting as a percentage (`None`: off, or unreadable).
pub fn setting(studio: &studio::Model) -> Option<Decimal> {
    surcharge::setting_of(studio.card_surcharge_percent.as_deref())
}

/// The percentage a credit card of `client` pays with `studio`'s setting,
/// where the law allows (`None`: no surcharge for this client).
pub fn percent_for_client(studio: &studio::Model, client: &client::Model) -> Option<Decimal> {
    let studio_place = Place::new(studio.country.as_deref(), studio.region.as_deref());
    let client_place = Place::new(client.country.as_deref(), client.region.as_deref());
    surcharge::percent_for(
        setting(studio),
        studio_place,
        Place::of_consumer(client_place, studio_place),
    )
}

/// How a studio that taxes its surcharge taxes it: the session's rates,
/// as its taxable items are taxed, and whether its prices include tax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taxed {
    rates: Vec<TaxRateInput>,
    inclusive: bool,
}

/// The studio's way of taxing its surcharge on `session` (`None`: the
/// surcharge is outside the tax base, the default).
pub async fn taxed_by(
    conn: &impl ConnectionTrait,
    studio: &studio::Model,
    session: &session::Model,
) -> DomainResult<Option<Taxed>> {
    if !studio.surcharge_taxable || setting(studio).is_none() {
        return Ok(None);
    }
    Ok(Some(Taxed {
        rates: crate::studio::quote::tax_rates_of(conn, session).await?,
        inclusive: studio.prices_include_tax,
    }))
}

/// What a card pays for a surcharge, and the tax in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    pub total: Minor,
    pub tax: Minor,
}

impl Charge {
    pub const NONE: Charge = Charge {
        total: Minor::ZERO,
        tax: Minor::ZERO,
    };

    /// The surcharge `net`, taxed when the studio taxes it (a tax that
    /// cannot be computed makes no surcharge rather than an untaxed one).
    pub fn of(net: Minor, taxed: Option<&Taxed>) -> Charge {
        match taxed {
            None => Charge {
                total: net,
                tax: Minor::ZERO,
            },
            Some(t) => surcharge::taxed(net, &t.rates, t.inclusive)
                .map_or(Charge::NONE, |(total, tax)| Charge { total, tax }),
        }
    }
}

/// The surcharge a card of `funding` pays on top of `base` toward
/// `invoice`, taxed when the studio taxes it (read inside the caller's
/// transaction).
pub(crate) async fn for_card_payment(
    conn: &impl ConnectionTrait,
    invoice: &invoice::Model,
    funding: Funding,
    base: Minor,
) -> DomainResult<Charge> {
    if funding != Funding::Credit {
        return Ok(Charge::NONE);
    }
    let (_, parties) = crate::billing::documents::with_parties(conn, invoice.id).await?;
    for_parties(conn, &parties, funding, base).await
}

/// [`for_card_payment`] with the invoice's studio, client and session
/// already read in the caller's transaction.
pub(crate) async fn for_parties(
    conn: &impl ConnectionTrait,
    parties: &crate::billing::documents::Parties,
    funding: Funding,
    base: Minor,
) -> DomainResult<Charge> {
    let crate::billing::documents::Parties {
        studio,
        client,
        session,
    } = parties;
    if funding != Funding::Credit || setting(studio).is_none() {
        return Ok(Charge::NONE);
    }
    let net = amount_for(studio, client, session, funding, base);
    let taxed = taxed_by(conn, studio, session).await?;
    Ok(Charge::of(net, taxed.as_ref()))
}

/// The surcharge a card of `funding` of `client` pays on top of `base`
/// toward an invoice of `session`: the one rule for a charge and for
/// what is said of it beforehand.
pub fn amount_for(
    studio: &studio::Model,
    client: &client::Model,
    session: &session::Model,
    funding: Funding,
    base: Minor,
) -> Minor {
    if carries_old_fee(session) {
        return Minor::ZERO;
    }
    let percent = percent_for_client(studio, client);
    surcharge::amount(base, percent, funding).unwrap_or(Minor::ZERO)
}

/// What a credit card adds to `base` paid through the portal by the
/// invoice's client (a payer's card is never surcharged: where they live
/// is not known).
pub fn at_portal(doc: &crate::billing::documents::InvoiceDocument, base: Minor) -> Charge {
    let net = match doc.payer {
        Some(_) => return Charge::NONE,
        None => amount_for(
            &doc.studio,
            &doc.client,
            &doc.session,
            Funding::Credit,
            base,
        ),
    };
    Charge::of(net, doc.surcharge_taxed.as_ref())
}

/// What the portal discloses before the hosted page opens, when a credit
/// card paying what the invoice owes now carries a surcharge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AtPortal {
    pub percent: Decimal,
    /// What the invoice owes now: what a debit or prepaid card pays.
    pub base: Minor,
    /// What a credit card adds (with its tax, when the studio taxes it).
    pub surcharge: Charge,
}

/// The surcharge a credit card paying what `doc`'s invoice owes now
/// through the client's own link carries, if any.
pub fn disclosed_at_portal(doc: &crate::billing::documents::InvoiceDocument) -> Option<AtPortal> {
    let base = doc.invoice.amount_due_minor;
    let surcharge = at_portal(doc, base);
    let percent = percent_for_client(&doc.studio, &doc.client)?;
    (base.is_positive() && surcharge.total.is_positive()).then_some(AtPortal {
        percent,
        base,
        surcharge,
    })
}

/// What a client saving a card for automatic payments is told of the
/// studio's surcharge, when there is one for them.
pub fn auto_pay_terms(studio: &studio::Model, client: &client::Model) -> Option<String> {
    percent_for_client(studio, client).map(|percent| {
        format!(
            "Automatic payments charged to a credit card carry a card surcharge of {percent} % of \
             the amount; debit and prepaid cards are never surcharged."
        )
    })
}

/// What an auto-pay client is told before their card on file is charged
/// `base` (a plan part's notice), when a surcharge will go with it.
pub fn disclosure(
    doc: &crate::billing::documents::InvoiceDocument,
    client: &client::Model,
    base: Minor,
) -> Option<String> {
    let (studio, session) = (&doc.studio, &doc.session);
    let funding = Funding::parse(client.pm_funding.as_deref());
    let net = amount_for(studio, client, session, funding, base);
    let added = Charge::of(net, doc.surcharge_taxed.as_ref());
    let percent = percent_for_client(studio, client)?;
    added.total.is_positive().then(|| {
        format!(
            "As it is a credit card, a card surcharge of {} ({percent} %{}) is added to that \
             charge, {} in all; debit and prepaid cards are never surcharged.",
            added.total.of(studio.currency),
            added.tax_said(studio.currency),
            (base + added.total).of(studio.currency),
        )
    })
}

impl Charge {
    /// ", of which USD 8.76 tax" when the surcharge carries tax.
    pub fn tax_said(&self, currency: crate::kernel::money::Currency) -> String {
        match self.tax.is_positive() {
            true => format!(", of which {} tax", self.tax.of(currency)),
            false => String::new(),
        }
    }
}

/// Whether a session still carries the flat `CARD_SURCHARGE` fee of old.
fn carries_old_fee(session: &session::Model) -> bool {
    crate::kernel::adjustments::parse_fees(&session.fees).is_ok_and(|fees| {
        fees.iter().any(|f| {
            crate::kernel::adjustments::fee_kind(&f.kind)
                == Some(crate::kernel::pricing::FeeKind::CardSurcharge)
        })
    })
}
