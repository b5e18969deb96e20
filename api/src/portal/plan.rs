//! The payment plan on the portal (issue 19, items 4 and 10): every part of
//! the booking's plan with its day, amount and state, a link to pay each
//! part that is billed and unpaid, and "Pay the next part now" (`POST
//! /pay/{token}/next-part`, with the page's CSRF token), which bills the
//! next part at once and sends the client to its page; "Pay everything
//! that's left" (`POST /pay/{token}/rest`) bills every part still scheduled
//! as one invoice the same way.

use super::{Notice, open, redirect_to, refusal, reshow, sentence, server_error};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use domain::AppContext;
use domain::billing::documents::InvoiceDocument;
use domain::billing::installments::Ahead;
use domain::billing::portal;
use domain::infra::error::DomainError;
use domain::studio::plans::Plan;
use entity::enums::{InvoiceStatus, PlanPartStatus, PlanStatus};
use entity::money::Minor;
use entity::payment_plan_part;
use maud::{Markup, html};
use serde::Deserialize;

/// The plan card, for a session with an active plan.
pub(super) fn card(app: &AppContext, token: &str, doc: &InvoiceDocument, plan: &Plan) -> Markup {
    let parts: Vec<_> = plan
        .parts
        .iter()
        .filter(|p| p.status != PlanPartStatus::Cancelled)
        .collect();
    let open_invoice = |part: &payment_plan_part::Model| {
        plan.invoice_of(part)
            .filter(|i| i.status != InvoiceStatus::Paid)
    };
    let first_unpaid = parts
        .iter()
        .find(|p| matches!(p.status, PlanPartStatus::Scheduled | PlanPartStatus::Issued));
    // Paying ahead is offered only when nothing billed is waiting first.
    let ahead = first_unpaid.filter(|p| {
        p.status == PlanPartStatus::Scheduled && plan.plan.status == PlanStatus::Active
    });
    // Everything that's left at once: more than the next part, nothing
    // billed waiting.
    let rest = plan
        .rest()
        .filter(|run| ahead.is_some() && run.len() > 1)
        .map(|run| {
            let sum: Minor = run
                .iter()
                .map(|p| p.amount_minor - p.amount_paid_minor)
                .sum();
            sum.of(plan.plan.currency)
        });
    html! {
        div.card id="payment-plan" {
            h2 { "Your payment plan" }
            table {
                thead { tr { th { "Part" } th { "Due" } th.num { "Amount" } th { "Status" } } }
                tbody {
                    @for part in &parts {
                        tr {
                            td { "Installment " (part.seq) " of " (parts.len()) }
                            td.nowrap { (part.due_date.format("%B %-d, %Y")) }
                            td.num { (part.amount_minor.of(part.currency)) }
                            td {
                                @match (part.status, open_invoice(part)) {
                                    (PlanPartStatus::Paid, _) => "Paid",
                                    (PlanPartStatus::Folded, _) => "On the final invoice",
                                    (PlanPartStatus::Issued, Some(billed)) if billed.id != doc.invoice.id => {
                                        "Due · " a href=(app.portal_url(&billed.portal_salt)) { "Pay it" }
                                    },
                                    (PlanPartStatus::Issued, _) => "Due (this invoice)",
                                    _ => "Scheduled",
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(next) = ahead {
                form method="post" action=(format!("/pay/{token}/next-part")) {
                    input type="hidden" name="csrf" value=(portal::csrf_token(app, token));
                    button type="submit" id="pay-next-part" { "Pay the next part now (" (next.amount_minor.of(next.currency)) ")" }
                }
                p.hint { "Installment " (next.seq) " is due on " (next.due_date.format("%B %-d, %Y")) "; paying it now means nothing is asked for it then." }
            }
            @if let Some(rest) = rest {
                form method="post" action=(format!("/pay/{token}/rest")) {
                    input type="hidden" name="csrf" value=(portal::csrf_token(app, token));
                    button type="submit" id="pay-rest" { "Pay everything that's left (" (rest) ")" }
                }
                p.hint { "One payment for every part still scheduled; nothing is asked for them on their days once it is paid." }
            }
        }
    }
}

/// Paying ahead: the next part, or everything that's left.
pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/pay/{token}/next-part", web::post().to(next_part))
        .route("/pay/{token}/rest", web::post().to(rest));
}

#[derive(Deserialize)]
pub struct NextPartForm {
    csrf: String,
}

/// `POST /pay/{token}/rest`: bills everything that's left now and answers
/// 303 to its page.
pub async fn rest(
    app: web::Data<AppContext>,
    token: web::Path<String>,
    form: web::Form<NextPartForm>,
) -> HttpResponse {
    pay_ahead(&app, &token, &form.csrf, Ahead::Rest).await
}

/// `POST /pay/{token}/next-part`: bills the next part now and answers 303
/// to its page.
pub async fn next_part(
    app: web::Data<AppContext>,
    token: web::Path<String>,
    form: web::Form<NextPartForm>,
) -> HttpResponse {
    pay_ahead(&app, &token, &form.csrf, Ahead::NextPart).await
}

async fn pay_ahead(app: &AppContext, token: &str, csrf: &str, ahead: Ahead) -> HttpResponse {
    let doc = match open(app, token).await {
        Ok(doc) => doc,
        Err(page) => return page,
    };
    match portal::pay_ahead(app, &doc, token, csrf, ahead).await {
        Ok(url) => redirect_to(url),
        Err(DomainError::User(errors)) => {
            let (status, message) = refusal(&errors, StatusCode::CONFLICT);
            reshow(app, token, status, Notice::Problem(&sentence(&message))).await
        }
        Err(err) => server_error(err),
    }
}
