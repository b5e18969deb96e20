//! The card surcharge disclosed on the portal's Pay card, before the hosted
//! page opens: what the invoice owes, what a credit card adds and the
//! total, that debit and prepaid cards are not surcharged (the hosted page
//! holds the total, and only what the card's type allows is taken), and
//! how to pay another way. The rule is `billing::surcharge`.

use domain::billing::documents::InvoiceDocument;
use domain::billing::surcharge::disclosed_at_portal;
use maud::{Markup, html};

/// The disclosure, or nothing when a credit card paying here carries no
/// surcharge.
pub fn disclosure(doc: &InvoiceDocument) -> Markup {
    let Some(at) = disclosed_at_portal(doc) else {
        return html! {};
    };
    let total = at.base + at.surcharge.total;
    let tax = at.surcharge.tax_said(doc.currency);
    html! {
        div.alert #surcharge-disclosure role="note" style="background:#f7f2e8;border:1px solid #e6dccb" {
            p {
                strong { "Card surcharge. " }
                "Paying by credit card adds a card surcharge of " (at.percent.normalize()) " % ("
                span.amount { (doc.money(at.surcharge.total)) } (tax) ") to the "
                span.amount { (doc.money(at.base)) }
                " this invoice owes: " span.amount #surcharge-total { (doc.money(total)) } " in all. "
                strong { "Debit and prepaid cards are not surcharged" } ": with one you pay "
                span.amount { (doc.money(at.base)) } "."
            }
            p.hint {
                "The payment page shows the total with the surcharge and holds it on your card; once it knows "
                "the card's type, only what that card owes is taken and the rest of the hold is released at once. "
                "A tip is never surcharged."
            }
            p.hint #pay-another-way {
                "Pay another way: a bank transfer, a check or cash is never surcharged. "
                @match &doc.studio.email {
                    Some(email) => { "Write to " a href=(format!("mailto:{email}")) { (email) } " to arrange it." }
                    None => { "Contact " (doc.studio.name) " to arrange it." }
                }
            }
        }
    }
}
