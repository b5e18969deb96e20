//! The tip choice on the portal's Pay card: "No tip" chosen by default,
//! the studio's presets with what they come to on the pre-tax amount due,
//! and a custom amount when the studio takes one. The choice travels with
//! the Pay form; the server computes the tip again (`billing::tips`).
//! "Add a tip" on a paid invoice (the link of an automatic charge's
//! receipt) is a page of its own, whose tip is paid alone.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use domain::AppContext;
use domain::billing::documents::InvoiceDocument;
use domain::billing::tips::Offer;
use domain::infra::error::DomainError;
use domain::kernel::tips::Choice;
use maud::{Markup, html};
use serde::Deserialize;

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

/// The page of "Add a tip" on a paid invoice (`GET /pay/{token}/tip`, the
/// link of an automatic charge's receipt), with `problem` when a choice was
/// refused.
fn tip_page(app: &AppContext, doc: &InvoiceDocument, token: &str, problem: Option<&str>) -> Markup {
    let offer = domain::billing::tips::offered_after(doc);
    super::page(
        &format!("Add a tip — {}", doc.studio.name),
        html! {
            div.card {
                (domain::studio::studios::logo_html(&doc.studio))
                div.studio { (doc.studio.name) }
                h1 { "Add a tip" }
                div.meta { "Invoice " (doc.invoice.display_number()) " · " (doc.session.title) " · paid in full" }
                @if let Some(message) = problem { div.alert.error role="alert" { (message) } }
                @match &offer {
                    Some(offer) => form method="post" action=(format!("/pay/{token}/tip")) {
                        input type="hidden" name="csrf" value=(domain::billing::portal::csrf_token(app, token));
                        (fieldset(doc, offer))
                        button type="submit" { "Continue to the payment page" }
                        p.hint { "You pay the tip alone on our payment provider's secure page; nothing else is charged." }
                    },
                    None => p #no-tip { "This invoice takes no tip now. Thank you!" },
                }
                p.meta { a href=(format!("/pay/{token}")) { "Back to the invoice" } }
            }
        },
    )
}

/// `GET /pay/{token}/tip`.
pub async fn page(app: web::Data<AppContext>, token: web::Path<String>) -> HttpResponse {
    match super::open(&app, &token).await {
        Ok(doc) => super::html_response(StatusCode::OK, tip_page(&app, &doc, &token, None)),
        Err(page) => page,
    }
}

/// A form's tip fields: `tip` (`none`, one of the studio's preset
/// percentages, or `custom`) and `tip_custom` (the amount typed).
#[derive(Deserialize)]
pub struct TipFields {
    tip: Option<String>,
    tip_custom: Option<String>,
}

impl TipFields {
    /// The choice they make, or a `userError` on `tip` saying why not.
    pub fn choice(&self) -> Result<Choice, DomainError> {
        Choice::from_form(self.tip.as_deref(), self.tip_custom.as_deref())
            .map_err(|why| domain::UserError::invalid("tip", why).into())
    }
}

#[derive(Deserialize)]
pub struct TipForm {
    csrf: String,
    #[serde(flatten)]
    tip: TipFields,
}

/// `POST /pay/{token}/tip`: the tip chosen, a tip-only hosted checkout
/// opened; a refused choice shows the page again (422) and opens nothing.
pub async fn add(
    app: web::Data<AppContext>,
    token: web::Path<String>,
    form: web::Form<TipForm>,
) -> HttpResponse {
    let doc = match super::open(&app, &token).await {
        Ok(doc) => doc,
        Err(page) => return page,
    };
    let opened = match form.tip.choice() {
        Ok(choice) => {
            domain::billing::portal::tip_after(&app, &doc, &token, &form.csrf, &choice).await
        }
        Err(refused) => Err(refused),
    };
    match opened {
        Ok(url) => super::redirect_to(url),
        Err(DomainError::User(errors)) => {
            let (status, message) = super::refusal(&errors, StatusCode::CONFLICT);
            let problem = super::sentence(&message);
            super::html_response(status, tip_page(&app, &doc, &token, Some(&problem)))
        }
        Err(err) => super::server_error(err),
    }
}
