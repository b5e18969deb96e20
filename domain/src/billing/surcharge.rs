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
use crate::kernel::surcharge::{self, Funding, Place};
use entity::{client, invoice, session, studio};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, EntityTrait};

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

/// The surcharge a card of `funding` pays on top of `base` toward
/// `invoice` (read inside the caller's transaction).
pub(crate) async fn for_card_payment(
    conn: &impl ConnectionTrait,
    invoice: &invoice::Model,
    funding: Funding,
    base: Minor,
) -> DomainResult<Minor> {
    if funding != Funding::Credit {
        return Ok(Minor::ZERO);
    }
    let Some(studio) = studio::Entity::find_by_id(invoice.studio_id)
        .one(conn)
        .await?
    else {
        return Ok(Minor::ZERO);
    };
    if setting(&studio).is_none() {
        return Ok(Minor::ZERO);
    }
    let client = client::Entity::find_by_id(invoice.client_id)
        .one(conn)
        .await?;
    let session = session::Entity::find_by_id(invoice.session_id)
        .one(conn)
        .await?;
    Ok(match (client, session) {
        (Some(client), Some(session)) => amount_for(&studio, &client, &session, funding, base),
        _ => Minor::ZERO,
    })
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
    studio: &studio::Model,
    client: &client::Model,
    session: &session::Model,
    base: Minor,
) -> Option<String> {
    let funding = Funding::parse(client.pm_funding.as_deref());
    let added = amount_for(studio, client, session, funding, base);
    let percent = percent_for_client(studio, client)?;
    added.is_positive().then(|| {
        format!(
            "As it is a credit card, a card surcharge of {} ({percent} %) is added to that charge, \
             {} in all; debit and prepaid cards are never surcharged.",
            added.of(studio.currency),
            (base + added).of(studio.currency),
        )
    })
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
