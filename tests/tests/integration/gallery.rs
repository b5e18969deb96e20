//! Gallery policy: the studio decides which payment state gives which level
//! for how long; the client logs in with the emailed credentials and sees
//! watermarked previews until the invoice is paid, then downloads; the client
//! is told before access ends; a studio whose galleries live elsewhere gets a
//! signed `gallery.access_changed` webhook for every change.

use serde_json::{Value, json};
use tests::{Backend, INVOICE_EMAIL, SentEmail, TestApp, spawn_app};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

on_both_backends!(
    gallery_access_follows_the_policy_with_previews_downloads_notices_and_webhooks,
    bad_gallery_input_is_refused_and_other_studios_photos_are_invisible,
);

fn password_in(email: &SentEmail) -> String {
    email
        .text
        .lines()
        .find_map(|l| l.strip_prefix("Password: "))
        .expect("password line")
        .trim()
        .to_string()
}

async fn gallery_policy(app: &TestApp, key: &str, input: Value) -> Value {
    app.gql(
        key,
        "mutation($i: UpdateGalleryPolicyInput!) { updateGalleryPolicy(input: $i) {
            policy { fullAccessDays unpaidLevel partiallyPaidLevel unpaidDays expiryNoticeDays webhookUrl webhookSecret }
            userErrors { field message code } } }",
        json!({ "i": input }),
    )
    .await["updateGalleryPolicy"]
        .clone()
}

async fn add_photos(app: &TestApp, key: &str, session: &str, photos: Value) -> Value {
    app.gql(
        key,
        "mutation($i: AddGalleryPhotosInput!) { addGalleryPhotos(input: $i) {
            photos { id url previewUrl title position } userErrors { field message code } } }",
        json!({ "i": { "sessionId": session, "photos": photos } }),
    )
    .await["addGalleryPhotos"]
        .clone()
}

async fn access(app: &TestApp, key: &str, session: &str) -> Value {
    app.gql(
        key,
        "query($id: ID!) { session(id: $id) { galleryAccess { level expiresAt } invoice { id } } }",
        json!({ "id": session }),
    )
    .await["session"]
        .clone()
}

async fn gallery_policy_and_photos_then_invoice(
    app: &TestApp,
    key: &str,
    session: &str,
    hook: &str,
) -> String {
    let set = gallery_policy(
        app,
        key,
        json!({ "fullAccessDays": 90, "unpaidLevel": "PREVIEW", "partiallyPaidLevel": "PREVIEW",
                "unpaidDays": 14, "expiryNoticeDays": 7, "webhookUrl": hook }),
    )
    .await;
    assert_eq!(set["userErrors"], json!([]), "{set}");
    let secret = set["policy"]["webhookSecret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    let added = add_photos(
        app,
        key,
        session,
        json!([
            { "url": "https://cdn.example.com/wedding/001.jpg", "previewUrl": "https://cdn.example.com/wedding/001-preview.jpg", "title": "First look" },
            { "url": "https://cdn.example.com/wedding/002.jpg" }
        ]),
    )
    .await;
    assert_eq!(added["userErrors"], json!([]), "{added}");
    assert_eq!(added["photos"].as_array().map(Vec::len), Some(2));
    secret
}

async fn gallery_access_follows_the_policy_with_previews_downloads_notices_and_webhooks(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let hooks = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks/gallery"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&hooks)
        .await;
    let f = app.seed_studio("Golden Hour").await;
    let secret = gallery_policy_and_photos_then_invoice(
        &app,
        &f.key,
        &f.invoice_session,
        &format!("{}/hooks/gallery", hooks.uri()),
    )
    .await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let unpaid = access(&app, &f.key, &f.invoice_session).await;
    assert_eq!(unpaid["galleryAccess"]["level"], "PREVIEW", "{unpaid}");
    let invoice_id = unpaid["invoice"]["id"].as_str().unwrap().to_string();

    // The client logs in with the emailed credentials: previews, no downloads.
    let credentials = app
        .emails_to(INVOICE_EMAIL)
        .into_iter()
        .find(|e| e.text.contains("Password: "))
        .expect("credentials email");
    let link = credentials
        .text
        .split_whitespace()
        .find(|w| w.starts_with("http") && w.contains("/gallery/"))
        .expect("gallery link")
        .to_string();
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = browser
        .post(&link)
        .form(&[
            ("username", INVOICE_EMAIL),
            ("password", &password_in(&credentials)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let set_cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    let page = login.text().await.unwrap();
    assert!(page.contains("001-preview.jpg"), "{page}");
    // Never an original below FULL, even for a photo without a preview.
    assert!(
        !page.contains("wedding/001.jpg") && !page.contains("wedding/002.jpg"),
        "an original on the PREVIEW page: {page}"
    );
    assert!(page.contains("PREVIEW"), "{page}");
    assert!(
        !page.contains("Download"),
        "no downloads at PREVIEW: {page}"
    );
    let photos = app
        .gql(
            &f.key,
            "query($id: ID!) { session(id: $id) { galleryPhotos { id } } }",
            json!({ "id": f.invoice_session }),
        )
        .await;
    let photo = photos["session"]["galleryPhotos"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let download = format!("{link}/photos/{photo}");
    assert_eq!(browser.get(&download).send().await.unwrap().status(), 403);
    // Without the login cookie the download leads to the login page.
    assert_eq!(app.http.get(&download).send().await.unwrap().status(), 303);

    // The notice before the preview ends is scheduled 7 days before it.
    let expires: chrono::DateTime<chrono::Utc> = unpaid["galleryAccess"]["expiresAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let notice_key = format!(
        "gallery_expiry:invoice:{invoice_id}:{}",
        expires.timestamp()
    );
    let scheduled = app.scheduled().await;
    let notice = scheduled.iter().find(|(k, _)| *k == notice_key);
    assert_eq!(
        notice.map(|(_, at)| *at),
        Some(expires - chrono::Duration::days(7)),
        "{scheduled:?}"
    );

    // Paid in the portal: full access for 90 days, downloads open.
    let portal = app.invoice_of(&f.key, &f.invoice_session).await["portalUrl"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.open_and_pay(&portal, "4242424242424242").await.status(),
        303
    );
    app.drain().await;
    let paid = access(&app, &f.key, &f.invoice_session).await;
    assert_eq!(paid["galleryAccess"]["level"], "FULL", "{paid}");
    let page = browser
        .get(&link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("FULL ACCESS") && page.contains("Download"),
        "{page}"
    );
    let redirect = browser.get(&download).send().await.unwrap();
    assert_eq!(redirect.status(), 303);
    assert_eq!(
        redirect
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some("https://cdn.example.com/wedding/001.jpg")
    );

    // Time passes: the preview's notice is obsolete (access changed), the
    // full access's notice goes out once.
    app.advance_scheduled().await;
    app.drain().await;
    let notices: Vec<_> = app
        .emails_to(INVOICE_EMAIL)
        .into_iter()
        .filter(|e| e.subject.contains("closes on"))
        .collect();
    assert_eq!(notices.len(), 1, "{notices:#?}");
    assert!(
        notices[0].says("download the photos"),
        "{}",
        notices[0].text
    );

    // Every change reached the studio's webhook, signed with its secret.
    let received = hooks.received_requests().await.unwrap_or_default();
    let levels: Vec<String> = received
        .iter()
        .map(|r| {
            let signature = r
                .headers
                .get("studio-signature")
                .and_then(|v| v.to_str().ok());
            domain::infra::signature::verify(
                &secret,
                signature,
                &r.body,
                chrono::Utc::now().timestamp(),
                300,
            )
            .expect("a valid signature");
            let event: Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(event["type"], "gallery.access_changed");
            assert_eq!(event["data"]["client"]["email"], INVOICE_EMAIL);
            event["data"]["level"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(levels, ["PREVIEW", "FULL"], "{levels:?}");
}

async fn bad_gallery_input_is_refused_and_other_studios_photos_are_invisible(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let bad = gallery_policy(
        &app,
        &f.key,
        json!({ "fullAccessDays": 0, "webhookUrl": "ftp://x" }),
    )
    .await;
    let fields: Vec<Value> = bad["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].clone())
        .collect();
    assert_eq!(
        fields,
        [
            json!(["input", "fullAccessDays"]),
            json!(["input", "webhookUrl"])
        ],
        "{bad}"
    );
    let bad = add_photos(
        &app,
        &f.key,
        &f.invoice_session,
        json!([{ "url": "not a url" }]),
    )
    .await;
    assert_eq!(
        bad["userErrors"][0]["field"],
        json!(["input", "photos", "0", "url"]),
        "{bad}"
    );
    assert_eq!(app.count("gallery_photos").await, 0, "nothing half-written");

    let other = app.seed_studio("Other Studio").await;
    let foreign = add_photos(
        &app,
        &other.key,
        &f.invoice_session,
        json!([{ "url": "https://x.example/1.jpg" }]),
    )
    .await;
    assert_eq!(foreign["userErrors"][0]["code"], "NOT_FOUND", "{foreign}");
    let added = add_photos(
        &app,
        &f.key,
        &f.invoice_session,
        json!([{ "url": "https://x.example/1.jpg" }]),
    )
    .await;
    let id = added["photos"][0]["id"].as_str().unwrap().to_string();
    let removed = app
        .gql(
            &other.key,
            "mutation($id: ID!) { removeGalleryPhoto(id: $id) { userErrors { code } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        removed["removeGalleryPhoto"]["userErrors"][0]["code"],
        "NOT_FOUND"
    );
    let removed = app
        .gql(&f.key, "mutation($id: ID!) { removeGalleryPhoto(id: $id) { photo { id } userErrors { code } } }", json!({ "id": id }))
        .await;
    assert_eq!(removed["removeGalleryPhoto"]["photo"]["id"], id.as_str());
    assert_eq!(app.count("gallery_photos").await, 0);
}
