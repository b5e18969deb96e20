//! The client's gallery: `GET /gallery/{token}` asks for the emailed
//! credentials, `POST` checks them (rate-limited per source address and per
//! gallery, counted in the database: `domain::studio::login_limits`) and shows the
//! access level, its expiry and the photos: watermarked previews at
//! `PREVIEW`, downloads at `FULL` (`GET /gallery/{token}/photos/{id}`). The
//! token is the gallery's unguessable link (`domain::followup::gallery::link`); an
//! unknown one (an old `/gallery/{session id}` link included) is a 404. A
//! signed cookie scoped to the link keeps the client logged in for a few hours.

pub mod picks;

use crate::portal::page;
use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use chrono::{DateTime, Utc};
use domain::AppContext;
use domain::followup::gallery::{self, Download, GalleryView, LoginOutcome, effective_level};
use domain::kernel::ids::{PhotoId, SessionId};
use entity::enums::{GalleryEventKind, GalleryLevel};
use entity::gallery_access;
use maud::{Markup, html};
use serde::Deserialize;

/// The login page, under the studio's logo and name (when the link is one
/// of a studio's galleries), so the client knows whose gallery this is.
fn login_form(studio: Option<&entity::studio::Model>, message: Option<&str>) -> Markup {
    let title = match studio {
        Some(studio) => format!("Your gallery — {}", studio.name),
        None => "Your gallery".to_string(),
    };
    page(
        &title,
        html! {
            div.card {
                @if let Some(studio) = studio {
                    (domain::studio::studios::logo_html(studio))
                    div.studio { (studio.name) }
                }
                h1 { "Your gallery" }
                p.meta { "Log in with the username and password from your email"
                    @if let Some(studio) = studio { " from " (studio.name) } "." }
                @if let Some(m) = message { div.alert.error role="alert" { (m) } }
                form method="post" {
                    label for="username" { "Username" }
                    input id="username" name="username" autocomplete="username" required;
                    label for="password" { "Password" }
                    input id="password" name="password" type="password" autocomplete="current-password" required;
                    button type="submit" { "Open gallery" }
                }
            }
        },
    )
}

/// The gallery's routes: the login page and form, the photos' downloads,
/// the picks form, and the demo gallery's pictures.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/demo-photos/{file}", web::get().to(demo_photo))
        .route("/gallery/{token}", web::get().to(show))
        .route("/gallery/{token}", web::post().to(login))
        .route("/gallery/{token}/picks", web::post().to(picks::submit))
        .route("/gallery/{token}/photos/{photo}", web::get().to(download));
}

/// Writes one line of the gallery's log; a failure is logged, never shown.
async fn log_event(
    app: &AppContext,
    request: &HttpRequest,
    access: &gallery_access::Model,
    kind: GalleryEventKind,
    photo_id: Option<i64>,
) {
    let seen = gallery::log::Seen {
        kind,
        photo_id,
        address: crate::source::client_address(request, app),
        user_agent: request
            .headers()
            .get("user-agent")
            .and_then(|v| v.to_str().ok()),
    };
    if let Err(err) = gallery::log::record(&app.db, access, seen, app.clock.now()).await {
        tracing::warn!(error = ?err, "gallery log write failed");
    }
}

fn respond(status: StatusCode, body: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body.into_string())
}

/// How long a gallery login lasts.
const LOGIN_HOURS: i64 = 12;

const COOKIE_NAME: &str = "gallery_login";

/// `<expiry unix>.<HMAC(secret, "gallery-login", "<access id>:<expiry>")>`,
/// sent back only under this gallery's link.
fn login_cookie(app: &AppContext, token: &str, access_id: i64) -> Cookie<'static> {
    let expires = app.clock.now().timestamp() + LOGIN_HOURS * 3600;
    let signature = app
        .secret
        .sign("gallery-login", &format!("{access_id}:{expires}"));
    Cookie::build(COOKIE_NAME, format!("{expires}.{signature}"))
        .path(format!("/gallery/{token}"))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(app.settings.public_url().starts_with("https://"))
        .max_age(time::Duration::hours(LOGIN_HOURS))
        .finish()
}

fn logged_in(app: &AppContext, request: &HttpRequest, access_id: i64) -> bool {
    let Some(cookie) = request.cookie(COOKIE_NAME) else {
        return false;
    };
    let Some((expires, signature)) = cookie.value().split_once('.') else {
        return false;
    };
    let fresh = expires
        .parse::<i64>()
        .is_ok_and(|e| e > app.clock.now().timestamp());
    fresh
        && app.secret.verify(
            "gallery-login",
            &format!("{access_id}:{expires}"),
            signature,
        )
}

fn not_found() -> HttpResponse {
    respond(
        StatusCode::NOT_FOUND,
        page(
            "Gallery not found",
            html! { div.card { h1 { "This gallery link does not work" } p { "Please use the link in the email from your studio." } } },
        ),
    )
}

fn server_error(err: domain::DomainError) -> HttpResponse {
    tracing::error!(error = ?err, "gallery request failed");
    respond(
        StatusCode::INTERNAL_SERVER_ERROR,
        page(
            "Something went wrong",
            html! { div.card { h1 { "Something went wrong" } p { "Please try again." } } },
        ),
    )
}

/// The gallery a link opens, or the page to answer with.
async fn open(app: &AppContext, token: &str) -> Result<gallery_access::Model, HttpResponse> {
    match gallery::find_by_token(&app.db, token).await {
        Ok(Some(access)) => Ok(access),
        Ok(None) => Err(not_found()),
        Err(err) => Err(server_error(err)),
    }
}

pub async fn show(
    app: web::Data<AppContext>,
    request: HttpRequest,
    token: web::Path<String>,
) -> HttpResponse {
    let access = match open(&app, &token).await {
        Ok(access) => access,
        Err(page) => return page,
    };
    if let Some(cookie) = request
        .cookie(COOKIE_NAME)
        .filter(|_| logged_in(&app, &request, access.id))
    {
        match gallery::view(&app, access.session_id).await {
            Ok(Some(view)) => {
                log_event(&app, &request, &access, GalleryEventKind::View, None).await;
                let body = picks::page_with(&app, &token, &view, cookie.value(), None);
                return respond(StatusCode::OK, body);
            }
            Ok(None) => {}
            Err(err) => tracing::error!(error = ?err, "gallery view failed"),
        }
    }
    match gallery::studio_of_link(&app, &token).await {
        Ok(studio) => respond(StatusCode::OK, login_form(studio.as_ref(), None)),
        Err(err) => server_error(err),
    }
}

/// A photo's full-resolution file, for a logged-in client with `FULL` access.
pub async fn download(
    app: web::Data<AppContext>,
    request: HttpRequest,
    path: web::Path<(String, i64)>,
) -> HttpResponse {
    let (token, photo) = path.into_inner();
    let access = match open(&app, &token).await {
        Ok(access) => access,
        Err(page) => return page,
    };
    if !logged_in(&app, &request, access.id) {
        return HttpResponse::SeeOther()
            .insert_header(("location", format!("/gallery/{token}")))
            .finish();
    }
    match gallery::download(
        &app,
        SessionId::new(access.session_id),
        PhotoId::new(photo),
        app.clock.now(),
    )
    .await
    {
        Ok(Download::Allowed(url)) => {
            log_event(
                &app,
                &request,
                &access,
                GalleryEventKind::Download,
                Some(photo),
            )
            .await;
            HttpResponse::SeeOther()
                .insert_header(("location", url))
                .finish()
        }
        Ok(Download::NotAllowed(level)) => respond(
            StatusCode::FORBIDDEN,
            page(
                "Download not available",
                html! {
                    div.card {
                        h1 { "Downloads open with full access" }
                        p { "This gallery is at " strong { (level.as_str()) } " level. Full-resolution downloads open as soon as the invoice is paid." }
                        p { a href=(format!("/gallery/{token}")) { "Back to the gallery" } }
                    }
                },
            ),
        ),
        Ok(Download::NotUnlocked) => respond(
            StatusCode::FORBIDDEN,
            page(
                "Download not available",
                html! {
                    div.card {
                        h1 { "This photo is not among your paid picks" }
                        p { "Your package includes a number of photos: pick the ones you want in the gallery. Extra picks open as soon as they are paid." }
                        p { a href=(format!("/gallery/{token}")) { "Back to the gallery" } }
                    }
                },
            ),
        ),
        Ok(Download::NotFound) => respond(
            StatusCode::NOT_FOUND,
            page(
                "Photo not found",
                html! { div.card { h1 { "This photo is not in the gallery" } } },
            ),
        ),
        Err(err) => server_error(err),
    }
}

/// `GET /demo-photos/{n}.svg`: the demo gallery's generated pictures
/// (`seed-demo`), served by the app so the demo needs no network.
pub async fn demo_photo(file: web::Path<String>) -> HttpResponse {
    match file
        .strip_suffix(".svg")
        .and_then(|n| n.parse::<usize>().ok())
        .and_then(gallery::demo_photo_svg)
    {
        Some(svg) => HttpResponse::Ok()
            .content_type("image/svg+xml")
            .insert_header(("cache-control", "public, max-age=86400"))
            .body(svg),
        None => not_found(),
    }
}

#[derive(Deserialize)]
pub struct Login {
    username: String,
    password: String,
}

/// The login page again with `message`. A refused login answers the same
/// page whether the link exists or not (no studio named), so a POST tells
/// nothing about the link.
fn refused(status: StatusCode, message: &str) -> HttpResponse {
    respond(status, login_form(None, Some(message)))
}

/// `POST /gallery/{token}`. An unknown link answers exactly like wrong
/// credentials (same work, same page), so a POST tells nothing either.
pub async fn login(
    app: web::Data<AppContext>,
    request: HttpRequest,
    token: web::Path<String>,
    form: web::Form<Login>,
) -> HttpResponse {
    let source = crate::source::login_source(&request, &app);
    let outcome =
        gallery::attempt_login(&app, &token, &source, &form.username, &form.password).await;
    let view = match outcome {
        Ok(LoginOutcome::LoggedIn(view)) => {
            log_event(&app, &request, &view.access, GalleryEventKind::Login, None).await;
            view
        }
        Ok(LoginOutcome::Refused) => {
            return refused(
                StatusCode::UNAUTHORIZED,
                "That username and password do not match.",
            );
        }
        Ok(LoginOutcome::TooManyAttempts) => {
            return refused(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts. Please wait 15 minutes and try again.",
            );
        }
        Err(err) => {
            tracing::error!(error = ?err, "gallery login failed");
            return refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong. Please try again.",
            );
        }
    };
    let cookie = login_cookie(&app, &token, view.access.id);
    let body = picks::page_with(&app, &token, &view, cookie.value(), None);
    let mut response = respond(StatusCode::OK, body);
    if let Err(err) = response.add_cookie(&cookie) {
        tracing::warn!(error = %err, "could not set the gallery cookie");
    }
    response
}

fn gallery_page(
    token: &str,
    view: &GalleryView,
    now: DateTime<Utc>,
    csrf: &str,
    notice: Option<&str>,
) -> Markup {
    let level = effective_level(&view.access, now);
    let unlocked = view
        .picks
        .as_ref()
        .map(domain::followup::gallery::picks::Picks::unlocked);
    let downloads = |photo: i64| unlocked.as_ref().is_none_or(|u| u.contains(&photo));
    let expiry = view
        .access
        .expires_at
        .map(|e| e.format("%B %-d, %Y").to_string());
    page(
        &format!("{} — {}", view.session_title, view.studio_name),
        html! {
            style { (maud::PreEscaped(GALLERY_STYLE)) }
            div.card {
                (domain::studio::studios::logo_html(&view.studio))
                div.studio { (view.studio_name) }
                h1 { (view.session_title) }
                @if let Some(n) = notice { div.alert role="status" id="gallery-notice" { (n) } }
                @match level {
                    GalleryLevel::Full => {
                        p { span class="badge PAID" { "FULL ACCESS" } }
                        p { @if view.picks.is_some() { "You can download your paid picks in full resolution" } @else { "You can view and download every photo in full resolution" }
                            @if let Some(e) = &expiry { " until " strong { (e) } } "." }
                    }
                    GalleryLevel::Preview => {
                        p { span class="badge OPEN" { "PREVIEW" } }
                        p { "You can view watermarked previews"
                            @if let Some(e) = &expiry { " until " strong { (e) } }
                            ". Full-resolution downloads open as soon as your invoice is paid." }
                        @if let Some(pay) = &view.pay_url {
                            a.button id="gallery-pay" href=(pay) { "Pay your invoice to open full access" }
                        }
                    }
                    GalleryLevel::Locked => {
                        p { span class="badge VOID" { "LOCKED" } }
                        p { "This gallery is not available at the moment. Please contact the studio." }
                    }
                }
                @if level == GalleryLevel::Locked {
                } @else if view.photos.is_empty() {
                    p.meta { "The studio will publish your photos here." }
                } @else {
                    @if let Some(picks) = &view.picks { (picks::intro(picks, view.studio.currency, view.pay_url.as_deref())) }
                    form method="post" action=(format!("/gallery/{token}/picks")) id="picks-form" {
                    input type="hidden" name="csrf" value=(csrf);
                    div.grid {
                        @for photo in &view.photos {
                            @let title = photo.title.clone().unwrap_or_else(|| format!("Photo {}", photo.position));
                            figure {
                                @if level == GalleryLevel::Full && downloads(photo.id) {
                                    img src=(photo.preview_url.as_deref().unwrap_or(&photo.url)) alt=(title) loading="lazy";
                                    figcaption { (title) " · " a.download href=(format!("/gallery/{token}/photos/{}", photo.id)) { "Download" } }
                                } @else {
                                    // Below FULL only a preview is ever shown: a photo
                                    // without one gets a placeholder, never the original.
                                    div.watermarked {
                                        @if let Some(preview) = &photo.preview_url {
                                            img src=(preview) alt=(title) loading="lazy";
                                        } @else {
                                            div.nopreview role="img" aria-label=(title) { "Preview coming soon" }
                                        }
                                        span.mark { "PREVIEW" }
                                    }
                                    figcaption { (title) }
                                }
                                @if let Some(picks) = &view.picks { (picks::checkbox(picks, photo.id)) }
                            }
                        }
                    }
                    @if let Some(picks) = &view.picks {
                        (picks::consent(picks))
                        button type="submit" id="save-picks" { "Save my picks" }
                    }
                    }
                }
            }
            div.card { (domain::studio::studios::contact_html(&view.studio)) }
        },
    )
}

const GALLERY_STYLE: &str = ".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));gap:12px;margin-top:16px}\
figure{margin:0}figure img{width:100%;aspect-ratio:3/2;object-fit:cover;border-radius:4px;background:#eee;display:block}\
figcaption{font-size:13px;color:#555;margin-top:4px}\
.watermarked{position:relative;overflow:hidden;border-radius:4px}\
.watermarked img{filter:blur(1px)}\
.nopreview{aspect-ratio:3/2;background:#eee;color:#777;display:flex;align-items:center;justify-content:center;font-size:13px}\
.mark{position:absolute;inset:0;display:flex;align-items:center;justify-content:center;color:rgba(255,255,255,.8);font:700 22px/1 sans-serif;letter-spacing:4px;transform:rotate(-20deg);text-shadow:0 1px 3px rgba(0,0,0,.5);pointer-events:none}";
