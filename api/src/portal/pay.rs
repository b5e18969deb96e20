//! The Pay button (`POST /pay/{token}/checkout`): the card choice and the
//! tip chosen on the portal, checked, then the hosted checkout opened.

use super::{Notice, open, redirect_to, refusal, reshow, server_error};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use domain::AppContext;
use domain::billing::portal;
use domain::infra::error::DomainError;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct CheckoutForm {
    csrf: String,
    /// Ticked: an auto-pay client keeps the card that pays for future payments.
    save_card: Option<String>,
    #[serde(flatten)]
    tip: super::tips::TipFields,
}

/// `POST /pay/{token}/checkout`: the Pay button. Sessions are created here
/// only, never on a GET (mail scanners open links).
pub async fn checkout(
    app: web::Data<AppContext>,
    token: web::Path<String>,
    form: web::Form<CheckoutForm>,
) -> HttpResponse {
    let doc = match open(&app, &token).await {
        Ok(doc) => doc,
        Err(page) => return page,
    };
    let opened = match form.tip.choice() {
        Ok(tip) => {
            let choice = portal::PayChoice {
                save_card: form.save_card.is_some(),
                tip,
            };
            portal::checkout(&app, &doc, &token, &form.csrf, &choice).await
        }
        Err(refused) => Err(refused),
    };
    match opened {
        Ok(url) => redirect_to(url),
        Err(DomainError::User(errors)) => {
            let (status, message) = refusal(&errors, StatusCode::CONFLICT);
            reshow(&app, &token, status, Notice::Problem(&sentence(&message))).await
        }
        Err(err) => server_error(err),
    }
}

/// A refusal as a sentence on the page: capitalized, one full stop.
pub(super) fn sentence(message: &str) -> String {
    let message = format!("{}.", message.trim_end_matches('.'));
    match message.get(..1) {
        Some(first) => format!(
            "{}{}",
            first.to_uppercase(),
            message.get(1..).unwrap_or_default()
        ),
        None => message,
    }
}
