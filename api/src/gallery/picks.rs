//! The client picks photos in the gallery (`POST /gallery/{token}/picks`):
//! a checkbox per photo, the form's CSRF token an HMAC of the login cookie
//! (so a token is good for one login only, and another site cannot forge
//! the form), and the picks handed to `domain::followup::gallery::picks`.

use super::{COOKIE_NAME, gallery_page, logged_in, open, respond, server_error};
use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use domain::AppContext;
use domain::followup::gallery::{self, GalleryView, picks::Picks};
use domain::kernel::ids::{SessionId, StudioId};
use domain::kernel::money::{Currency, Money};
use entity::enums::PickedBy;
use maud::{Markup, html};

/// The picks form's token for the login whose cookie holds `cookie`.
pub(super) fn csrf_token(app: &AppContext, cookie: &str) -> String {
    app.secret.sign("gallery-picks", cookie)
}

/// What the gallery says above the photos when the package sells picks.
pub(super) fn intro(picks: &Picks, currency: Currency, pay_url: Option<&str>) -> Markup {
    let money = |m| Money::new(m, currency).to_string();
    let pricing = &picks.pricing;
    html! {
        div.picks id="gallery-picks" {
            p { "Your package includes " strong { (pricing.included) " photos" } ". Tick your favourites and save your picks: the photos you pick are the ones you download in full resolution." }
            p.meta {
                "Extra photos: "
                @for (i, tier) in pricing.tiers.iter().enumerate() {
                    @if i > 0 { "; " }
                    (money(tier.unit_price_minor)) " each"
                    @match tier.up_to {
                        Some(up_to) => { " up to " (up_to) " extras" }
                        None if i > 0 => { " beyond" }
                        None => {}
                    }
                }
                @if let Some(cap) = pricing.full_gallery_minor { "; never more than " (money(cap)) " for every photo" }
                "."
            }
            @if let Some(selection) = &picks.selection {
                p id="picks-status" {
                    "You picked " strong { (selection.picked) } " photos"
                    @if selection.extras > 0 {
                        ": " (selection.extras) " extra, " (money(selection.extras_minor))
                        @if picks.extras_paid { " (paid)" } @else { " (to pay)" }
                    }
                    "."
                }
                @if let (false, Some(pay)) = (picks.extras_paid || selection.extras == 0, pay_url) {
                    a.button id="pay-extras" href=(pay) { "Pay for your extra photos" }
                }
            }
        }
    }
}

/// The consent a consumer of a studio in the EU/EEA or the UK gives for the
/// download of paid picks to start within the withdrawal period.
pub(super) fn consent(picks: &Picks) -> Markup {
    let given = picks.selection.as_ref().and_then(|s| s.consent_at);
    html! {
        @if picks.needs_consent {
            @match given {
                Some(at) => p.meta id="consent-given" { "You asked for your downloads to start on " (at.format("%B %-d, %Y")) "." },
                None => label.consent id="consent" {
                    input type="checkbox" name="consent" value="yes";
                    " Start my downloads as soon as my extra photos are paid. I understand that I then lose my right to withdraw from this purchase within 14 days."
                },
            }
        }
    }
}

/// The checkbox of one photo in the picks form.
pub(super) fn checkbox(picks: &Picks, photo: i64) -> Markup {
    html! {
        label.pick {
            input type="checkbox" name="photo" value=(photo) checked[picks.photos.contains(&photo)];
            " Pick"
        }
    }
}

/// `POST /gallery/{token}/picks`: a logged-in client's picks, every ticked
/// `photo` of the form.
pub async fn submit(
    app: web::Data<AppContext>,
    request: HttpRequest,
    token: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let access = match open(&app, &token).await {
        Ok(access) => access,
        Err(page) => return page,
    };
    let cookie = request.cookie(COOKIE_NAME);
    let Some(cookie) = cookie.filter(|_| logged_in(&app, &request, access.id)) else {
        return HttpResponse::SeeOther()
            .insert_header(("location", format!("/gallery/{token}")))
            .finish();
    };
    let mut csrf = None;
    let mut consented = false;
    let mut photos = Vec::new();
    let mut malformed = false;
    for (key, value) in form_urlencoded::parse(&body) {
        match key.as_ref() {
            "csrf" => csrf = Some(value.into_owned()),
            "consent" => consented = value == "yes",
            "photo" => match value.parse::<i64>() {
                Ok(id) => photos.push(id),
                Err(_) => malformed = true,
            },
            _ => {}
        }
    }
    let csrf_ok = csrf.is_some_and(|c| app.secret.verify("gallery-picks", cookie.value(), &c));
    if !csrf_ok || malformed {
        return respond(
            StatusCode::FORBIDDEN,
            crate::portal::page(
                "Picks not saved",
                html! { div.card { h1 { "This form has expired" } p { a href=(format!("/gallery/{token}")) { "Reload the gallery" } " and pick again." } } },
            ),
        );
    }
    let outcome = gallery::picks::submit(
        &app,
        StudioId::new(access.studio_id),
        SessionId::new(access.session_id),
        &photos,
        PickedBy::Client,
        &domain::billing::lifecycle::Actor::portal(),
        None,
    )
    .await;
    if outcome.is_ok() && consented {
        let address = crate::source::client_address(&request, &app);
        if let Err(err) =
            gallery::picks::consent(&app, SessionId::new(access.session_id), address).await
        {
            return server_error(err);
        }
    }
    let (status, notice) = match outcome {
        Ok(done) if done.changed => (StatusCode::OK, "Your picks are saved.".to_string()),
        Ok(_) => (StatusCode::OK, "Your picks were already saved.".to_string()),
        Err(domain::DomainError::User(errors)) => (
            StatusCode::BAD_REQUEST,
            errors
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Err(err) => return server_error(err),
    };
    match gallery::view(&app, access.session_id).await {
        Ok(Some(view)) => respond(
            status,
            page_with(&app, &token, &view, cookie.value(), Some(&notice)),
        ),
        Ok(None) => super::not_found(),
        Err(err) => server_error(err),
    }
}

/// The gallery page for a login whose cookie holds `cookie`.
pub(super) fn page_with(
    app: &AppContext,
    token: &str,
    view: &GalleryView,
    cookie: &str,
    notice: Option<&str>,
) -> Markup {
    gallery_page(
        token,
        view,
        app.clock.now(),
        &csrf_token(app, cookie),
        notice,
    )
}
