//! The client's gallery access page: `GET /gallery/{session}` asks for the
//! emailed credentials, `POST` checks them and shows the access level and its
//! expiry. (Photo listings arrive with the gallery-policy work.)

use crate::portal::page;
use actix_web::{HttpResponse, http::StatusCode, web};
use chrono::Utc;
use domain::AppContext;
use domain::gallery::{self, effective_level};
use entity::enums::GalleryLevel;
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed logins allowed per gallery in a window, in this process.
const MAX_FAILURES: usize = 10;
const WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Default)]
pub struct LoginLimiter(Mutex<HashMap<i64, Vec<Instant>>>);

impl LoginLimiter {
    fn blocked(&self, gallery: i64) -> bool {
        let Ok(mut map) = self.0.lock() else {
            return true;
        };
        let failures = map.entry(gallery).or_default();
        failures.retain(|t| t.elapsed() < WINDOW);
        failures.len() >= MAX_FAILURES
    }

    fn failed(&self, gallery: i64) {
        if let Ok(mut map) = self.0.lock() {
            map.entry(gallery).or_default().push(Instant::now());
        }
    }
}

fn login_form(message: Option<&str>) -> Markup {
    page(
        "Your gallery",
        html! {
            div.card {
                h1 { "Your gallery" }
                p.meta { "Log in with the username and password from your email." }
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

fn respond(status: StatusCode, body: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body.into_string())
}

pub async fn show(_session: web::Path<i64>) -> HttpResponse {
    respond(StatusCode::OK, login_form(None))
}

#[derive(Deserialize)]
pub struct Login {
    username: String,
    password: String,
}

pub async fn login(
    app: web::Data<AppContext>,
    limiter: web::Data<LoginLimiter>,
    session: web::Path<i64>,
    form: web::Form<Login>,
) -> HttpResponse {
    let session = session.into_inner();
    if limiter.blocked(session) {
        return respond(
            StatusCode::TOO_MANY_REQUESTS,
            login_form(Some(
                "Too many attempts. Please wait 15 minutes and try again.",
            )),
        );
    }
    let view = match gallery::login(&app, session, &form.username, &form.password).await {
        Ok(Some(view)) => view,
        Ok(None) => {
            limiter.failed(session);
            return respond(
                StatusCode::UNAUTHORIZED,
                login_form(Some("That username and password do not match.")),
            );
        }
        Err(err) => {
            tracing::error!(error = ?err, "gallery login failed");
            return respond(
                StatusCode::INTERNAL_SERVER_ERROR,
                login_form(Some("Something went wrong. Please try again.")),
            );
        }
    };
    let level = effective_level(&view.access, Utc::now());
    let expiry = view
        .access
        .expires_at
        .map(|e| e.format("%B %-d, %Y").to_string());
    respond(
        StatusCode::OK,
        page(
            &format!("{} — {}", view.session_title, view.studio_name),
            html! {
                div.card {
                    div.studio { (view.studio_name) }
                    h1 { (view.session_title) }
                    @match level {
                        GalleryLevel::Full => {
                            p { span class="badge PAID" { "FULL ACCESS" } }
                            p { "You can view and download every photo in full resolution"
                                @if let Some(e) = &expiry { " until " strong { (e) } } "." }
                        }
                        GalleryLevel::Preview => {
                            p { span class="badge OPEN" { "PREVIEW" } }
                            p { "You can view watermarked previews"
                                @if let Some(e) = &expiry { " until " strong { (e) } }
                                ". Full-resolution downloads open as soon as your invoice is paid." }
                        }
                        GalleryLevel::Locked => {
                            p { span class="badge VOID" { "LOCKED" } }
                            p { "This gallery is not available at the moment. Please contact the studio." }
                        }
                    }
                    p.meta { "The studio will publish your photos here." }
                }
            },
        ),
    )
}
