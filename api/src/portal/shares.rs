//! A shared invoice as one payer sees it on their own link: their share,
//! what they paid and what they owe, never another payer's payments.

use domain::billing::documents::InvoiceDocument;
use maud::{Markup, html};

/// The rows under the invoice's total on a payer's page.
pub(super) fn rows(doc: &InvoiceDocument) -> Markup {
    let Some(me) = &doc.payer else {
        return html! {};
    };
    let paid = domain::billing::payers::paid_by(me.id, &doc.payments);
    html! {
        tr { td colspan="3" { "Your share" } td.num id="your-share" { (doc.money(me.share_minor)) } }
        @if paid.is_positive() { tr { td colspan="3" { "Paid by you" } td.num { (doc.money(-paid)) } } }
        tr.total { td colspan="3" { "You owe" } td.num id="amount-due" { (doc.money(doc.due_now())) } }
    }
}
