//! Tips on the portal (`kernel::tips` has the rules): whether an invoice
//! offers one, the presets it shows, and what a client's choice comes to.
//!
//! A tip is offered when the studio has tipping on, something is payable
//! now, and the studio offers it on every payment or this is the session's
//! final invoice. It rides on the hosted checkout as its own "Gratuity"
//! line and is recorded on the payment (`tip_minor`): never applied to the
//! invoice (which ends `PAID`, not overpaid), outside its tax base, its late
//! fees and its card surcharge, returned with the payment's refunds
//! (`refunds::on_top`).

use crate::billing::documents::InvoiceDocument;
use crate::infra::error::{DomainResult, UserError};
use crate::kernel::money::Minor;
use crate::kernel::tips::{self, Choice, Policy};
use entity::enums::{InvoiceKind, InvoiceStatus, TipOffer};
use entity::studio;
use rust_decimal::Decimal;

/// The studio's tipping, when it is on.
pub fn policy(studio: &studio::Model) -> Option<Policy> {
    studio.tip_enabled.then(|| Policy {
        presets: tips::parse_presets(&studio.tip_presets),
        custom: studio.tip_custom,
        maximum: studio.tip_max_minor,
    })
}

/// What the portal offers on an invoice: the presets with their amounts on
/// the pre-tax amount due, and whether a custom amount may be typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub policy: Policy,
    /// The pre-tax share of what is due now, that presets are computed on.
    pub base: Minor,
    pub presets: Vec<(Decimal, Minor)>,
    /// The largest tip taken on this payment.
    pub ceiling: Minor,
}

/// The tip this invoice offers with its payment now, if any.
pub fn offered(doc: &InvoiceDocument) -> Option<Offer> {
    let inv = &doc.invoice;
    if !crate::billing::payments::payable(inv) {
        return None;
    }
    // A payer tips on their own share.
    offer_on(doc, doc.due_now())
}

/// The tip a paid invoice offers on its own ("Add a tip" on an automatic
/// charge's receipt): on the pre-tax share of what was paid, while no
/// payment of the invoice carries a tip yet.
pub fn offered_after(doc: &InvoiceDocument) -> Option<Offer> {
    let inv = &doc.invoice;
    let tipped = doc.receipts().iter().any(|p| p.tip_minor.is_positive());
    if inv.status != InvoiceStatus::Paid || tipped || doc.payer.is_some() {
        return None;
    }
    offer_on(doc, inv.amount_paid_minor)
}

/// What the studio offers on a payment of `amount` of the invoice.
fn offer_on(doc: &InvoiceDocument, amount: Minor) -> Option<Offer> {
    let policy = policy(&doc.studio)?;
    let inv = &doc.invoice;
    let final_only = doc.studio.tip_offer == TipOffer::FinalPayment;
    if final_only && inv.kind != InvoiceKind::Final {
        return None;
    }
    let gross = inv.total_minor + inv.credit_minor;
    let base = tips::base(amount, gross, inv.tax_minor);
    if !base.is_positive() {
        return None;
    }
    let presets = policy
        .presets
        .iter()
        .map(|p| (*p, tips::of_percent(base, *p)))
        .collect();
    Some(Offer {
        ceiling: tips::ceiling(&policy, base),
        policy,
        base,
        presets,
    })
}

/// What the client's choice comes to on this invoice, or a `userError` on
/// `tip` saying why it is refused (nothing is opened then).
pub fn chosen(doc: &InvoiceDocument, choice: &Choice) -> DomainResult<Minor> {
    if *choice == Choice::NoTip {
        return Ok(Minor::ZERO);
    }
    amount_of(offered(doc), doc, choice)
}

/// What a tip alone on a paid invoice comes to (no tip is refused: there
/// would be nothing to pay).
pub fn chosen_after(doc: &InvoiceDocument, choice: &Choice) -> DomainResult<Minor> {
    if *choice == Choice::NoTip {
        return Err(UserError::invalid("tip", "choose a tip, or close this page").into());
    }
    amount_of(offered_after(doc), doc, choice)
}

fn amount_of(offer: Option<Offer>, doc: &InvoiceDocument, choice: &Choice) -> DomainResult<Minor> {
    let Some(offer) = offer else {
        return Err(UserError::invalid("tip", "this payment does not take a tip").into());
    };
    tips::amount(&offer.policy, offer.base, doc.currency, choice)
        .map_err(|why| UserError::invalid("tip", why).into())
}
