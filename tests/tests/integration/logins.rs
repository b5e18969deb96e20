//! Gallery links and failed-login limits (issue 10, item 12): a gallery is
//! reached through an unguessable link, not its session id; failed logins
//! are counted in the database per source address and (higher) per gallery
//! or staff account, so every api process sees the same counts, an
//! attacker's address is locked out first, and the real client from another
//! address still gets in.

use chrono::{Duration, Utc};
use domain::AppContext;
use domain::kernel::clock::Clock;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use tests::{Backend, INVOICE_EMAIL, SentEmail, TestApp, spawn_app, spawn_app_full};

on_both_backends!(
    gallery_links_are_unguessable_and_the_session_id_url_finds_nothing,
    gallery_passwords_are_stored_keyed_and_old_argon2_hashes_still_open_once_then_upgrade,
    gallery_logins_are_limited_per_address_then_per_gallery_in_every_process,
);

const ATTACKER: &str = "203.0.113.7";
const SECOND_ATTACKER: &str = "203.0.113.8";
const CLIENT: &str = "198.51.100.2";

fn password_in(email: &SentEmail) -> String {
    email
        .text
        .lines()
        .find_map(|l| l.strip_prefix("Password: "))
        .expect("password line")
        .trim()
        .to_string()
}

fn gallery_link_in(email: &SentEmail) -> String {
    email
        .text
        .split_whitespace()
        .find(|w| w.starts_with("http") && w.contains("/gallery/"))
        .expect("gallery link")
        .to_string()
}

fn credentials(app: &TestApp) -> SentEmail {
    app.emails_to(INVOICE_EMAIL)
        .into_iter()
        .find(|e| e.text.contains("Password: "))
        .expect("credentials email")
}

async fn gallery_row(app: &TestApp) -> entity::gallery_access::Model {
    entity::gallery_access::Entity::find()
        .one(&app.ctx.db)
        .await
        .expect("query")
        .expect("a gallery")
}

async fn gallery_links_are_unguessable_and_the_session_id_url_finds_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let email = credentials(&app);
    let link = gallery_link_in(&email);
    let token = link.rsplit('/').next().expect("token").to_string();
    // 256 bits, and nothing of the session id in it.
    assert_eq!(token.len(), 43, "{link}");
    assert!(!link.ends_with(&format!("/gallery/{}", f.invoice_session)));
    // Stored hashed, like API keys and portal tokens.
    let row = gallery_row(&app).await;
    assert_eq!(
        row.link_token_hash.as_deref(),
        Some(domain::infra::secrets::hash_token(&token).as_str())
    );
    assert_ne!(row.link_salt.as_deref(), Some(token.as_str()));
    assert_eq!(app.http.get(&link).send().await.unwrap().status(), 200);

    // Enumerating session ids finds nothing, a real gallery's included.
    let session_id: i64 = f.invoice_session.parse().unwrap();
    for id in [session_id - 1, session_id, session_id + 1, 987_654_321] {
        for path in [format!("/gallery/{id}"), format!("/gallery/{id}/photos/1")] {
            let response = app
                .http
                .get(format!("{}{path}", app.address))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 404, "{path}");
            let page = response.text().await.unwrap();
            assert!(!page.contains("Username"), "no login form at {path}");
        }
    }
    // Logging in through the id URL fails like wrong credentials, even with
    // the right ones.
    let by_id = app
        .http
        .post(format!("{}/gallery/{session_id}", app.address))
        .form(&[
            ("username", INVOICE_EMAIL),
            ("password", &password_in(&email)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(by_id.status(), 401);
    let by_link = app
        .http
        .post(&link)
        .form(&[
            ("username", INVOICE_EMAIL),
            ("password", &password_in(&email)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(by_link.status(), 200);

    // A gallery made before links had tokens gets one the first time a link
    // is made (here: the upgrade email after payment, and the return page).
    let mut legacy: entity::gallery_access::ActiveModel = gallery_row(&app).await.into();
    legacy.link_salt = Set(None);
    legacy.link_token_hash = Set(None);
    legacy.update(&app.ctx.db).await.unwrap();
    assert_eq!(app.http.get(&link).send().await.unwrap().status(), 404);
    let invoice = app.invoice_of(&f.key, &f.invoice_session).await;
    let portal = invoice["portalUrl"].as_str().expect("portal link");
    let hosted = app.checkout_url(portal, false).await;
    let paid = app.pay_on_hosted_page(&hosted, "4242424242424242").await;
    let thanks = app.follow(&paid).await.text().await.unwrap();
    app.drain().await;
    let upgrade = app
        .emails_to(INVOICE_EMAIL)
        .into_iter()
        .find(|e| e.subject.starts_with("Full access"))
        .expect("upgrade email");
    let new_link = gallery_link_in(&upgrade);
    assert_ne!(new_link, link, "a fresh token");
    assert!(
        thanks.contains(new_link.trim_start_matches(&app.address)) || thanks.contains(&new_link),
        "the return page links the same gallery: {thanks}"
    );
    let row = gallery_row(&app).await;
    let new_token = new_link.rsplit('/').next().unwrap();
    assert_eq!(
        row.link_token_hash.as_deref(),
        Some(domain::infra::secrets::hash_token(new_token).as_str())
    );
    let login = app
        .http
        .post(&new_link)
        .form(&[
            ("username", INVOICE_EMAIL),
            ("password", &password_in(&email)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
}

/// Gallery passwords are 139 random bits stored as a keyed SHA-256 (no
/// argon2id work per email); a gallery opened before that keeps its argon2id
/// hash, still opens with its password, and is rehashed at that login.
async fn gallery_passwords_are_stored_keyed_and_old_argon2_hashes_still_open_once_then_upgrade(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let email = credentials(&app);
    let link = gallery_link_in(&email);
    let password = password_in(&email);
    assert_eq!(password.len(), 29, "six groups of four: {password}");
    let stored = gallery_row(&app).await.password_hash.expect("a hash");
    assert!(
        stored.starts_with("$hmac-sha256$v=1$k=gallery$"),
        "{stored}"
    );
    assert!(!stored.contains(&password) && !stored.contains(&password.replace('-', "")));
    let login = |password: String| {
        let http = app.http.clone();
        let link = link.clone();
        async move {
            http.post(&link)
                .form(&[("username", INVOICE_EMAIL), ("password", password.as_str())])
                .send()
                .await
                .expect("login")
                .status()
        }
    };
    assert_eq!(login(password.clone()).await, 200);
    assert_eq!(
        login(password.replace('-', "")).await,
        200,
        "dashes optional"
    );
    assert_eq!(login(password.to_lowercase()).await, 401);

    // A gallery whose hash is still argon2id (opened by an older version).
    let old_password = "Older-Gallery-Password-7";
    let argon = domain::infra::secrets::hash_password(old_password).expect("argon2id");
    let mut legacy: entity::gallery_access::ActiveModel = gallery_row(&app).await.into();
    legacy.password_hash = Set(Some(argon.clone()));
    legacy.update(&app.ctx.db).await.unwrap();
    assert_eq!(login(password.clone()).await, 401, "the hash decides");
    assert_eq!(gallery_row(&app).await.password_hash, Some(argon.clone()));
    assert_eq!(login(old_password.to_string()).await, 200);
    let upgraded = gallery_row(&app).await.password_hash.expect("a hash");
    assert_eq!(
        upgraded,
        app.ctx.secret.hash_gallery_password(old_password),
        "rehashed at the login"
    );
    assert_eq!(login(old_password.to_string()).await, 200);
    assert_eq!(login("wrong".to_string()).await, 401);
}

/// A gallery login from `from` (sent through the trusted proxy's header).
async fn login_from(
    http: &reqwest::Client,
    url: &str,
    from: &str,
    password: &str,
) -> reqwest::StatusCode {
    http.post(url)
        .header("x-forwarded-for", from)
        .form(&[("username", INVOICE_EMAIL), ("password", password)])
        .send()
        .await
        .expect("gallery login")
        .status()
}

async fn gallery_logins_are_limited_per_address_then_per_gallery_in_every_process(
    backend: Backend,
) {
    let clock = Clock::manual(Utc::now());
    let shared = clock.clone();
    let Some(app) = spawn_app_full(
        backend,
        |s| {
            s.http.trusted_proxies = "127.0.0.1".into();
            s.login_limits.per_address = 3;
            s.login_limits.per_gallery = 5;
        },
        move |mut ctx: AppContext| {
            ctx.clock = shared;
            ctx
        },
    )
    .await
    else {
        return;
    };
    // A second api process on the same database (no worker, own pools).
    let mut settings = (*app.ctx.settings).clone();
    settings.http.port = 0;
    settings.worker.in_process = Some(false);
    let shared = clock.clone();
    let second = api::Application::build_with(settings, move |mut ctx| {
        ctx.clock = shared;
        ctx
    })
    .await
    .expect("second api");
    let second_address = format!("http://127.0.0.1:{}", second.port());
    tokio::spawn(second.run_until_stopped());

    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let email = credentials(&app);
    let link = gallery_link_in(&email);
    let path = link.trim_start_matches(&app.address).to_string();
    let on_second = format!("{second_address}{path}");
    let password = password_in(&email);
    let http = &app.http;

    // The attacker guesses on both processes: the third failure locks the
    // address out everywhere, even with the right password.
    assert_eq!(login_from(http, &link, ATTACKER, "guess-1").await, 401);
    assert_eq!(login_from(http, &on_second, ATTACKER, "guess-2").await, 401);
    assert_eq!(login_from(http, &link, ATTACKER, "guess-3").await, 401);
    assert_eq!(login_from(http, &on_second, ATTACKER, "guess-4").await, 429);
    assert_eq!(login_from(http, &link, ATTACKER, &password).await, 429);
    // Other galleries' links are refused to that address too.
    let made_up = format!("{}/gallery/{}", app.address, "A".repeat(43));
    assert_eq!(login_from(http, &made_up, ATTACKER, "x").await, 429);

    // The real client, from another address, still gets in (3 of 5).
    assert_eq!(login_from(http, &on_second, CLIENT, &password).await, 200);

    // A second attacker brings the gallery to its own threshold: then the
    // gallery refuses every address for the rest of the window.
    assert_eq!(
        login_from(http, &link, SECOND_ATTACKER, "guess-5").await,
        401
    );
    assert_eq!(
        login_from(http, &on_second, SECOND_ATTACKER, "guess-6").await,
        401
    );
    assert_eq!(login_from(http, &link, CLIENT, &password).await, 429);
    assert_eq!(
        login_from(http, &on_second, "192.0.2.55", &password).await,
        429
    );

    // A client cannot hide behind addresses it writes itself: only what the
    // trusted proxy appended (the right end) counts.
    let spoofed = http
        .post(&link)
        .header("x-forwarded-for", format!("192.0.2.99, {ATTACKER}"))
        .form(&[("username", INVOICE_EMAIL), ("password", "guess")])
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(spoofed, 429);

    // Counts are windowed: once the window has passed, everyone may try
    // again, and the old buckets are gone from the table.
    clock.set(clock.now() + Duration::minutes(16));
    assert_eq!(login_from(http, &link, ATTACKER, "guess-7").await, 401);
    assert_eq!(login_from(http, &on_second, CLIENT, &password).await, 200);
    let rows = entity::login_failure::Entity::find()
        .all(&app.ctx.db)
        .await
        .unwrap();
    let fresh = clock.now().timestamp() - 60;
    assert!(
        rows.iter().all(|r| r.window_start >= fresh),
        "old buckets cleaned up: {rows:?}"
    );
    assert_eq!(rows.iter().map(|r| r.failures).sum::<i32>(), 2, "{rows:?}");
}
