//! The card-setup page a `requestCardSetup` email links to:
//! `GET /card-setup/{token}` shows the studio and explains; its button POSTs
//! (with the page's CSRF token) to `/card-setup/{token}/checkout`, which
//! opens the gateway's hosted Checkout in `mode=setup` and answers 303 to it
//! (a GET creates nothing: mail scanners open links); the gateway sends the
//! client back to `/card-setup/{token}/return?session_id=...`, which says
//! "card saved" once the card is stored (or "processing").

use crate::portal::{Returned, html_response, page, redirect_to, refusal};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use domain::AppContext;
use domain::billing::card_setup::{self, SetupPage};
use domain::infra::error::DomainError;
use entity::enums::CheckoutStatus;
use maud::{Markup, html};
use serde::Deserialize;

fn respond(status: StatusCode, title: &str, body: Markup) -> HttpResponse {
    let mut response = html_response(status, page(title, body));
    response.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    response
}

fn not_found() -> HttpResponse {
    respond(
        StatusCode::NOT_FOUND,
        "Link not found",
        html! { div.card { h1 { "This link is not valid" } p.meta { "Check that you opened the whole link from the email, or ask the studio to send a new one." } } },
    )
}

fn server_error(err: DomainError) -> HttpResponse {
    tracing::error!(error = ?err, "card setup page error");
    respond(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        html! { div.card { h1 { "Something went wrong" } p.meta { "Nothing was saved or charged. Please try again in a moment." } } },
    )
}

async fn open(app: &AppContext, token: &str) -> Result<SetupPage, HttpResponse> {
    match card_setup::find(app, token).await {
        Ok(Some(found)) => Ok(found),
        Ok(None) => Err(not_found()),
        Err(err) => Err(server_error(err)),
    }
}

enum Notice<'a> {
    None,
    Saved,
    Processing,
    Expired,
    Problem(&'a str),
}

fn setup_page(app: &AppContext, found: &SetupPage, token: &str, notice: Notice<'_>) -> Markup {
    let studio = &found.studio;
    let expired = found.expired(app.clock.now());
    html! {
        div.card {
            div.studio { (studio.name) }
            h1 { "Save a card for automatic payments" }
            p { "Hi " (domain::billing::documents::greeting_name(&found.client)) ". " (studio.name) " asks you to put a card on file: your next invoices are then paid with it automatically when they are issued, and you get a receipt by email each time." }
            p.meta { "Nothing is charged now. You enter the card on our payment provider's secure page; its number never reaches " (studio.name) "." }
            @if let Some(terms) = domain::billing::surcharge::auto_pay_terms(studio, &found.client) { p.meta id="surcharge-terms" { (terms) } }
            @if let Some(email) = &studio.email { p.meta { "Questions? " a href=(format!("mailto:{email}")) { (email) } } }
        }
        @match notice {
            Notice::Saved => div.alert.success role="status" id="card-saved" {
                "Card saved. "
                @if let Some(card) = domain::billing::documents::card_display(found.setup.card_brand.as_deref(), found.setup.card_last4.as_deref()) {
                    (card) " "
                }
                "will be used for your next invoices from " (studio.name) "."
            },
            Notice::Processing => div.alert.success role="status" id="card-processing" {
                "Your card is being saved. This page shows it as saved once the payment provider confirms it; there is no need to enter it again."
            },
            Notice::Expired => div.alert.error role="status" { "That page expired before the card was saved; nothing was saved." },
            Notice::Problem(message) => div.alert.error role="alert" { (message) },
            Notice::None => {},
        }
        @if expired {
            div.card { p { "This link has expired. Please ask " (studio.name) " to send a new one." } }
        } @else if !matches!(notice, Notice::Saved | Notice::Processing) {
            div.card {
                form method="post" action=(format!("/card-setup/{token}/checkout")) {
                    input type="hidden" name="csrf" value=(card_setup::csrf_token(app, token));
                    button type="submit" { @if found.setup.completed_at.is_some() { "Save another card" } @else { "Save a card" } }
                }
            }
        }
    }
}

/// On the portal's payment form of an auto-pay client: "use this card for
/// future automatic payments" (ticked), and the studio's card surcharge on
/// those payments when there is one for them.
pub fn save_card_choice(doc: &domain::billing::documents::InvoiceDocument) -> Markup {
    // A booking's auto-pay payer keeps theirs for their later shares.
    let auto_pays = match &doc.payer {
        Some(payer) => payer.auto_pay,
        None => doc.client.payment_preference == entity::enums::PaymentPreference::AutoPay,
    };
    // The surcharge terms are the client's (a payer's card is never surcharged).
    let terms = domain::billing::surcharge::auto_pay_terms(&doc.studio, &doc.client)
        .filter(|_| doc.payer.is_none());
    html! {
        @if auto_pays {
            label.check { input type="checkbox" name="save_card" value="1" checked; " Use this card for future automatic payments" }
            @if let Some(terms) = terms { p.hint id="surcharge-terms" { (terms) } }
        }
    }
}

/// `GET /card-setup/{token}`: the page; creates nothing.
pub async fn show(app: web::Data<AppContext>, token: web::Path<String>) -> HttpResponse {
    match open(&app, &token).await {
        Ok(found) => respond(
            StatusCode::OK,
            &format!("Save a card — {}", found.studio.name),
            setup_page(&app, &found, &token, Notice::None),
        ),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
pub struct SetupForm {
    csrf: String,
}

/// `POST /card-setup/{token}/checkout`: the button. Sessions are created
/// here only.
pub async fn checkout(
    app: web::Data<AppContext>,
    token: web::Path<String>,
    form: web::Form<SetupForm>,
) -> HttpResponse {
    let found = match open(&app, &token).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    match card_setup::start(&app, &found, &token, &form.csrf).await {
        Ok(url) => redirect_to(url),
        Err(DomainError::User(errors)) => {
            let (status, message) = refusal(&errors, StatusCode::GONE);
            respond(
                status,
                "Save a card",
                setup_page(&app, &found, &token, Notice::Problem(&message)),
            )
        }
        Err(err) => server_error(err),
    }
}

/// `GET /card-setup/{token}/return?session_id=...`: the gateway sent the
/// client back; the session is looked at (never trusted from the URL).
pub async fn returned(
    app: web::Data<AppContext>,
    token: web::Path<String>,
    query: web::Query<Returned>,
) -> HttpResponse {
    let found = match open(&app, &token).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(session_id) = query.session_id() else {
        return show(app, token).await;
    };
    let row = match card_setup::returned(&app, &found, session_id).await {
        Ok(row) => row,
        Err(err) => return server_error(err),
    };
    // Re-read: the card may have just been stored.
    let found = match open(&app, &token).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let notice = match row.map(|r| r.status) {
        Some(CheckoutStatus::Complete) => Notice::Saved,
        Some(CheckoutStatus::Expired) => Notice::Expired,
        Some(_) => Notice::Processing,
        None => Notice::None,
    };
    respond(
        StatusCode::OK,
        &format!("Save a card — {}", found.studio.name),
        setup_page(&app, &found, &token, notice),
    )
}
