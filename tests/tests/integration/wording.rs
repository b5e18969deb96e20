//! One spelling per thing (issue 17 item 11): a negative amount is
//! `-USD 500.00` and a card `Visa •••• 4242` in the emails (text and HTML),
//! the PDFs and the portal; the retainer row comes after the tax on the PDF;
//! the client is greeted by first name or the studio's display name; the
//! gallery's login page names the studio, a PREVIEW gallery links to the
//! invoice to pay, and the portal keeps the gallery link on every visit.

use serde_json::json;
use tests::{AUTO_PAY_EMAIL, Backend, INVOICE_EMAIL, SentEmail, spawn_app};

on_both_backends!(
    amounts_cards_and_greetings_are_spelled_one_way_everywhere,
    the_gallery_names_the_studio_links_to_payment_and_stays_linked_from_the_portal,
    the_demo_galleries_have_photos_the_app_draws_itself,
);

fn pdf_text(bytes: &[u8]) -> String {
    let text = pdf_extract::extract_text_from_mem(bytes).expect("extract PDF text");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn flat(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn email_with(emails: Vec<SentEmail>, subject_start: &str) -> SentEmail {
    let subjects: Vec<String> = emails.iter().map(|e| e.subject.clone()).collect();
    emails
        .into_iter()
        .find(|e| e.subject.starts_with(subject_start))
        .unwrap_or_else(|| {
            panic!("no email whose subject starts with {subject_start:?}: {subjects:?}")
        })
}

async fn amounts_cards_and_greetings_are_spelled_one_way_everywhere(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    // Noah is greeted by the name the studio set, Ava by her first name.
    let set = app
        .gql(
            &f.key,
            "mutation($i: UpdateClientInput!) { updateClient(input: $i) { client { displayName greetingName } userErrors { field message } } }",
            json!({ "i": { "id": f.invoice_client, "displayName": "Noah & Mia" } }),
        )
        .await;
    assert_eq!(set["updateClient"]["userErrors"], json!([]), "{set}");
    assert_eq!(set["updateClient"]["client"]["greetingName"], "Noah & Mia");
    app.complete_session(&f.key, &f.auto_pay_session).await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;

    // Ava: retainer 500.00 taken off after the 8.875% tax, charged to her
    // Visa (auto-pay: her receipt carries the lines and the PDF).
    let receipt = email_with(app.emails_to(AUTO_PAY_EMAIL), "Receipt");
    assert!(
        opening(&receipt.text).starts_with("Hi Ava,"),
        "{}",
        receipt.text
    );
    assert!(receipt.html.contains("Hi Ava,"), "{}", receipt.html);
    assert!(
        receipt.says("Retainer paid: -USD 500.00"),
        "{}",
        receipt.text
    );
    assert!(receipt.html.contains("-USD 500.00"), "{}", receipt.html);
    assert!(
        receipt.says("charged to Visa •••• 4242"),
        "{}",
        receipt.text
    );
    assert!(receipt.html.contains("Visa •••• 4242"), "{}", receipt.html);
    let pdf = pdf_text(&receipt.attachments[0].1);
    let at = |s: &str| {
        pdf.find(s)
            .unwrap_or_else(|| panic!("{s:?} missing from the PDF: {pdf}"))
    };
    assert!(
        at("Subtotal USD 3,030.00") < at("Sales tax 8.875%")
            && at("Sales tax 8.875%") < at("Retainer paid -USD 500.00")
            && at("Retainer paid -USD 500.00") < at("Total USD 2,791.82"),
        "subtotal, tax, retainer, total in that order: {pdf}"
    );
    assert!(pdf.contains("Visa •••• 4242"), "{pdf}");
    let credentials = email_with(app.emails_to(AUTO_PAY_EMAIL), "Your photos");
    assert!(credentials.says("Hi Ava,"), "{}", credentials.text);

    // Noah: greeted by the display name, pays by card through the portal.
    let invoice = email_with(app.emails_to(INVOICE_EMAIL), "Invoice");
    assert!(
        opening(&invoice.text).starts_with("Hi Noah & Mia,"),
        "{}",
        invoice.text
    );
    assert!(
        invoice.html.contains("Hi Noah &amp; Mia,"),
        "{}",
        invoice.html
    );
    let link = invoice.portal_link().expect("portal link");
    let paid = app.open_and_pay(&link, "4242424242424242").await;
    assert_eq!(paid.status(), 303);
    app.drain().await;
    let page = flat(&app.portal_page(&link).await);
    assert!(page.contains("with Visa •••• 4242"), "{page}");
    assert!(page.contains("-USD 3,291.82"), "the Paid row: {page}");
    for other in ["ending in", "−USD", "USD -", "USD −"] {
        assert!(!page.contains(other), "{other:?} on the portal: {page}");
    }
    let receipt = email_with(app.emails_to(INVOICE_EMAIL), "Receipt");
    assert!(receipt.says("Hi Noah & Mia,"), "{}", receipt.text);
    assert!(
        receipt.says("charged to Visa •••• 4242"),
        "{}",
        receipt.text
    );
    for email in app.emails() {
        for other in ["ending in", "USD -", "−"] {
            assert!(
                !email.text.contains(other) && !email.html.contains(other),
                "{other:?} in {:?}: {}",
                email.subject,
                email.text
            );
        }
    }
}

async fn the_gallery_names_the_studio_links_to_payment_and_stays_linked_from_the_portal(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    app.complete_session(&f.key, &f.invoice_session).await;
    app.drain().await;
    let portal = email_with(app.emails_to(INVOICE_EMAIL), "Invoice")
        .portal_link()
        .expect("portal link");
    let visit = app.gallery_login(INVOICE_EMAIL, "WordingTest/1.0").await;
    let (browser, gallery, page) = (visit.browser, visit.link, visit.page);

    // The login page says whose gallery this is.
    let login_page = app.portal_page(&gallery).await;
    assert!(login_page.contains("Golden Hour"), "{login_page}");
    // At PREVIEW, the gallery links to the invoice to pay.
    assert!(page.contains("PREVIEW"), "{page}");
    assert!(
        page.contains(&format!("id=\"gallery-pay\" href=\"{portal}\"")),
        "a link to pay {portal}: {page}"
    );
    // Before paying, the portal already links to the gallery.
    let before = app.portal_page(&portal).await;
    assert!(before.contains(&format!("href=\"{gallery}\"")), "{before}");
    // Paid: back from checkout, then every later visit keeps the link.
    assert_eq!(
        app.open_and_pay(&portal, "4242424242424242").await.status(),
        303
    );
    app.drain().await;
    let later = app.portal_page(&portal).await;
    assert!(
        later.contains("id=\"gallery-link\"") && later.contains(&format!("href=\"{gallery}\"")),
        "{later}"
    );
    // Paid in full: no more link to pay on the gallery.
    let page = browser
        .get(&gallery)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("gallery-pay"), "{page}");
}

async fn the_demo_galleries_have_photos_the_app_draws_itself(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let demo = domain::app::seed::seed_demo(&app.ctx)
        .await
        .expect("seed the demo");
    for session in [demo.auto_pay_session_id, demo.invoice_session_id] {
        let photos = domain::followup::gallery::photos(
            &app.ctx.db,
            domain::kernel::ids::StudioId::new(demo.studio_id),
            domain::kernel::ids::SessionId::new(session),
        )
        .await
        .expect("photos");
        assert_eq!(photos.len(), 6, "session {session}");
        for (i, photo) in photos.iter().enumerate() {
            let file = format!("/demo-photos/{}.svg", i + 1);
            assert!(photo.url.ends_with(&file), "{}", photo.url);
            assert_eq!(photo.preview_url.as_deref(), Some(photo.url.as_str()));
            let served = app
                .http
                .get(format!("{}{file}", app.address))
                .send()
                .await
                .unwrap();
            assert_eq!(served.status(), 200, "{file}");
            assert_eq!(served.headers()["content-type"], "image/svg+xml");
            let svg = served.text().await.unwrap();
            let title = photo.title.as_deref().expect("a title");
            assert!(svg.starts_with("<svg") && svg.contains(title), "{svg}");
        }
    }
    let missing = app
        .http
        .get(format!("{}/demo-photos/7.svg", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

/// The text an email opens with, after the "test mode" paragraph that the
/// simulated gateway puts on top of every client email.
fn opening(text: &str) -> String {
    text.replace("\r\n", "\n")
        .trim_start()
        .split("\n\n")
        .find(|paragraph| !paragraph.starts_with("TEST MODE"))
        .unwrap_or("")
        .trim_start()
        .to_string()
}
