//! The simulated gateway's hosted checkout page (`/sim-checkout/{id}`):
//! test cards typed there, the only place a card number reaches this
//! server, absent with Stripe configured.

use super::{html_response, not_found, server_error};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use domain::AppContext;
use domain::adapters::sim_checkout::{self, HostedPayment};
use domain::adapters::sim_gateway::test_card_numbers;
use domain::infra::error::DomainError;
use maud::html;
use serde::Deserialize;

fn hosted_page(
    page: &sim_checkout::HostedPage,
    status: StatusCode,
    problem: Option<&str>,
) -> HttpResponse {
    let session = &page.session;
    let money_of = |minor: i64| {
        domain::kernel::money::Money::stored(minor, &session.currency)
            .map(|m| m.to_string())
            .unwrap_or_else(|_| format!("{} {minor}", session.currency))
    };
    let amount = money_of(session.amount_total);
    let body = html! {
        div.card {
            div.studio { "Checkout" }
            @if page.setup {
                h1 { "Save a card" }
                p.meta { "The card is saved for future automatic payments. Nothing is charged now." }
            } @else {
                h1 { span.amount { (amount) } }
                p.meta { (page.product_name) }
                @if page.lines.len() > 1 {
                    table.lines #checkout-lines { tbody { @for (name, minor) in &page.lines {
                        tr { td { (name) } td.num { (money_of(*minor)) } }
                    } } }
                }
            }
            @if let Some(message) = problem { div.alert.error role="alert" { (message) } }
            @if session.state == domain::ports::gateway::CheckoutState::Open {
                form method="post" {
                    label for="card_number" { "Card number" }
                    input id="card_number" name="card_number" inputmode="numeric" autocomplete="cc-number" placeholder="4242 4242 4242 4242" required;
                    div.row {
                        div { label for="exp" { "Expiry" } input id="exp" name="exp" placeholder="12 / 34" autocomplete="cc-exp"; }
                        div { label for="cvc" { "CVC" } input id="cvc" name="cvc" placeholder="123" autocomplete="cc-csc"; }
                    }
                    @if page.setup {
                        button type="submit" { "Save card" }
                    } @else {
                        @if page.save_card { p.hint { "This card will be saved for future automatic payments." } }
                        button type="submit" { "Pay " span.amount { (amount) } }
                    }
                }
                p.hint { "Test cards: "
                    @for (number, outcome) in test_card_numbers() { code.nowrap { (number) } " (" (outcome) ") " } }
            } @else {
                p { "This checkout session is no longer open; nothing more can be paid here." }
            }
            p.meta { a href=(page.cancel_url) { @if page.setup { "Back" } @else { "Back to the invoice" } } }
        }
    };
    html_response(status, super::page("Checkout — test mode", body))
}

/// `GET /sim-checkout/{id}`: the simulated gateway's hosted page.
pub async fn page(app: web::Data<AppContext>, id: web::Path<String>) -> HttpResponse {
    match sim_checkout::page(&app, &id).await {
        Ok(Some(page)) => hosted_page(&page, StatusCode::OK, None),
        Ok(None) => not_found(),
        Err(err) => server_error(DomainError::Internal(anyhow::Error::new(err))),
    }
}

#[derive(Deserialize)]
pub struct HostedCardForm {
    card_number: String,
}

/// `POST /sim-checkout/{id}`: a test card typed on the hosted page.
pub async fn pay(
    app: web::Data<AppContext>,
    id: web::Path<String>,
    form: web::Form<HostedCardForm>,
) -> HttpResponse {
    let outcome = match sim_checkout::pay(&app, &id, &form.card_number).await {
        Ok(Some(outcome)) => outcome,
        Ok(None) => return not_found(),
        Err(err) => return server_error(DomainError::Internal(anyhow::Error::new(err))),
    };
    let (status, problem) = match &outcome {
        HostedPayment::Paid(url) => {
            return HttpResponse::SeeOther()
                .insert_header(("location", url.as_str()))
                .finish();
        }
        HostedPayment::Declined(message) => (
            StatusCode::PAYMENT_REQUIRED,
            format!("{message} Nothing was charged; try another card."),
        ),
        HostedPayment::UnknownCard => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "This card number is not accepted in test mode; use one of the test cards listed."
                .to_string(),
        ),
        HostedPayment::Closed => (
            StatusCode::GONE,
            "This checkout session is no longer open.".to_string(),
        ),
    };
    match sim_checkout::page(&app, &id).await {
        Ok(Some(page)) => hosted_page(&page, status, Some(&problem)),
        Ok(None) => not_found(),
        Err(err) => server_error(DomainError::Internal(anyhow::Error::new(err))),
    }
}
