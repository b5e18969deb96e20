//! The tip choice on the portal's Pay card: "No tip" chosen by default,
//! the studio's presets with what they come to on the pre-tax amount due,
//! and a custom amount when the studio takes one. The choice travels with
//! the Pay form; the server computes the tip again (`billing::tips`).

use domain::billing::documents::InvoiceDocument;
use domain::billing::tips::Offer;
use maud::{Markup, html};

/// The tip fieldset, or nothing when this payment offers no tip.
pub fn choices(doc: &InvoiceDocument) -> Markup {
    let Some(offer) = domain::billing::tips::offered(doc) else {
        return html! {};
    };
    fieldset(doc, &offer)
}

fn fieldset(doc: &InvoiceDocument, offer: &Offer) -> Markup {
    html! {
        fieldset #tip-choices style="border:0;padding:0;margin:16px 0 0" {
            legend style="font-weight:600" { "Add a tip for " (doc.studio.name) "?" }
            label.check { input type="radio" name="tip" value="none" checked; "No tip" }
            @for (percent, amount) in &offer.presets {
                label.check {
                    input type="radio" name="tip" value=(percent.normalize());
                    (percent.normalize()) " % " span.amount { "(" (doc.money(*amount)) ")" }
                }
            }
            @if offer.policy.custom {
                label.check { input type="radio" name="tip" value="custom"; "Another amount" }
                input #tip-custom name="tip_custom" inputmode="decimal" autocomplete="off"
                    placeholder=(format!("0.00 (at most {})", doc.money(offer.ceiling)));
            }
            p.hint #tip-terms {
                "Tips are computed on " (doc.money(offer.base)) ", the amount before tax. "
                "A tip goes to the studio on top of the invoice, as its own line on the payment page; "
                "it is not taxed, and the invoice's amount does not change."
            }
        }
    }
}
