//! Issue 21, items 1–5: the gallery sells. A package includes 25 images and
//! prices extras by tier (1–10 at 25.00, 11–30 at 20.00, more at 15.00,
//! never more than 500.00 in all); the client picks in the gallery (a form
//! with its CSRF token) or the studio submits the picks; the extras are
//! billed exactly once on the session (the final invoice's line before it
//! is issued, a supplementary invoice with the next number after), changed
//! picks void an unpaid supplementary invoice, a larger selection after
//! payment bills only the difference; downloads open for exactly the paid
//! picks, and a refund locks the extras again.

use serde_json::{Value, json};
use tests::{Backend, TestApp, spawn_app};

on_both_backends!(
    a_client_picks_extras_in_the_gallery_and_pays_the_exact_tiered_amount,
    picks_before_the_invoice_are_on_it_and_an_auto_pay_client_is_charged_once_for_more,
    bad_pricing_and_bad_picks_are_refused_and_write_nothing,
    a_studio_reviewing_drafts_gets_the_extras_on_its_draft_sent_when_finalized,
    the_demo_portrait_includes_three_images_and_sells_the_rest,
    a_client_of_a_studio_in_the_eu_downloads_paid_extras_once_they_consent,
    a_client_who_picks_nothing_gets_the_default_pick_at_the_deadline,
);

const EMAIL: &str = "mia@example.com";
const CARD: &str = "4242424242424242";

struct Booked {
    key: String,
    session: String,
    photos: Vec<String>,
}

async fn set_pricing(app: &TestApp, key: &str, package: &str, pricing: Value) -> Value {
    app.gql(
        key,
        "mutation($p: ID!, $i: ImagePricingInput) { setPackageImagePricing(input: { packageId: $p, pricing: $i }) {
            package { imagePricing { includedImages extraImageTiers { upTo unitPrice { minorUnits } } fullGalleryPrice { minorUnits } } }
            userErrors { field message code } } }",
        json!({ "p": package, "i": pricing }),
    )
    .await["setPackageImagePricing"]
        .clone()
}

fn wedding_pricing() -> Value {
    json!({ "includedImages": 25, "fullGalleryPrice": "500.00", "extraImageTiers": [
        { "upTo": 10, "unitPrice": "25.00" },
        { "upTo": 30, "unitPrice": "20.00" },
        { "unitPrice": "15.00" }
    ] })
}

/// A studio (sales tax 8.875 %) whose wedding package includes 25 images,
/// a client with `preference`, a session booked on the package and 60
/// photos in its gallery.
async fn book(app: &TestApp, name: &str, preference: &str) -> Booked {
    let key = app.create_studio(name).await;
    app.gql(
        &key,
        "mutation { createTaxRate(input: { name: \"Sales tax\", percent: \"8.875\" }) { taxRate { id } } }",
        json!({}),
    )
    .await;
    let data = app
        .gql(
            &key,
            "mutation { p: createPackage(input: { name: \"Wedding\", price: \"2500.00\" }) { package { id } }
                        a: createAddOnService(input: { name: \"Extra hour\", unitPrice: \"150.00\" }) { addOnService { id } } }",
            json!({}),
        )
        .await;
    let package = data["p"]["package"]["id"].as_str().unwrap().to_string();
    let add_on = data["a"]["addOnService"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let set = set_pricing(app, &key, &package, wedding_pricing()).await;
    assert_eq!(set["userErrors"], json!([]), "{set}");
    assert_eq!(
        set["package"]["imagePricing"]["extraImageTiers"][2],
        json!({ "upTo": null, "unitPrice": { "minorUnits": 1500 } })
    );
    let client = app
        .create_client(&key, "Mia Rossi", EMAIL, preference)
        .await;
    if preference == "AUTO_PAY" {
        app.attach_card(&key, &client, "pm_card_visa").await;
    }
    let session = app
        .schedule_wedding(&key, &client, &package, &add_on, "0")
        .await;
    let photos: Vec<Value> = (1..=60)
        .map(|n| {
            json!({ "url": format!("https://cdn.example.com/w/{n:03}.jpg"),
                         "previewUrl": format!("https://cdn.example.com/w/{n:03}-p.jpg") })
        })
        .collect();
    let added = app
        .gql(
            &key,
            "mutation($i: AddGalleryPhotosInput!) { addGalleryPhotos(input: $i) { photos { id } userErrors { message } } }",
            json!({ "i": { "sessionId": session, "photos": photos } }),
        )
        .await;
    let photos = added["addGalleryPhotos"]["photos"]
        .as_array()
        .expect("photos")
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    Booked {
        key,
        session,
        photos,
    }
}

async fn submit(app: &TestApp, b: &Booked, photos: &[String]) -> Value {
    app.gql(
        &b.key,
        "mutation($s: ID!, $p: [ID!]!) { submitGallerySelection(input: { sessionId: $s, photoIds: $p }) {
            result { changed voidedInvoiceIds
                selection { included extras extrasAmount { minorUnits } extrasPaid submittedBy photos { id } }
                invoice { id number kind status subtotal { minorUnits } tax { minorUnits } total { minorUnits } } }
            userErrors { field message code } } }",
        json!({ "s": b.session, "p": photos }),
    )
    .await
}

async fn invoices(app: &TestApp, b: &Booked) -> Vec<Value> {
    app.gql(
        &b.key,
        "query($id: ID!) { session(id: $id) { invoices { id number kind status portalUrl
            subtotal { minorUnits } tax { minorUnits } total { minorUnits } amountPaid { minorUnits }
            lines { description quantity amount { minorUnits } }
            payments { id status amount { minorUnits } } } } }",
        json!({ "id": b.session }),
    )
    .await["session"]["invoices"]
        .as_array()
        .expect("invoices")
        .clone()
}

fn n(v: &Value) -> i64 {
    v["minorUnits"].as_i64().expect("minor units")
}

/// The client's browser, logged in to the gallery with the emailed
/// credentials; the gallery's link and the page.
async fn log_in(app: &TestApp) -> (reqwest::Client, String, String) {
    let visit = app.gallery_login(EMAIL, "PicksTest/1.0").await;
    (visit.browser, visit.link, visit.page)
}

async fn download(browser: &reqwest::Client, link: &str, photo: &str) -> u16 {
    browser
        .get(format!("{link}/photos/{photo}"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn post_picks(
    browser: &reqwest::Client,
    link: &str,
    csrf: &str,
    photos: &[String],
) -> (u16, String) {
    let mut form = vec![("csrf".to_string(), csrf.to_string())];
    form.extend(photos.iter().map(|p| ("photo".to_string(), p.clone())));
    let response = browser
        .post(format!("{link}/picks"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn a_client_picks_extras_in_the_gallery_and_pays_the_exact_tiered_amount(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let b = book(&app, "Picks Studio", "INVOICE").await;
    app.complete_session(&b.key, &b.session).await;
    app.drain().await;
    let first = invoices(&app, &b).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0]["kind"], "FINAL");
    let portal = first[0]["portalUrl"].as_str().unwrap().to_string();
    assert_eq!(app.open_and_pay(&portal, CARD).await.status(), 303);
    app.drain().await;

    // Paid, FULL, but nothing picked yet: no photo downloads.
    let (browser, link, page) = log_in(&app).await;
    assert!(page.contains("Your package includes"), "{page}");
    assert!(page.contains("25 photos"), "{page}");
    assert_eq!(download(&browser, &link, &b.photos[0]).await, 403);
    // A forged form is refused and saves nothing.
    let (status, _) = post_picks(&browser, &link, "forged", &b.photos[..3]).await;
    assert_eq!(status, 403);
    assert_eq!(app.count("gallery_selections").await, 0);

    // 32 picked of 25 included: 7 extras at 25.00 = 175.00, taxed 8.875 %.
    let csrf = tests::csrf_field(&page);
    let (status, page) = post_picks(&browser, &link, &csrf, &b.photos[..32]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Your picks are saved."), "{page}");
    assert!(page.contains("7 extra"), "{page}");
    app.drain().await;
    let all = invoices(&app, &b).await;
    assert_eq!(all.len(), 2, "{all:#?}");
    let extras = &all[1];
    assert_eq!(extras["kind"], "EXTRAS");
    assert_eq!(extras["status"], "OPEN");
    assert_ne!(extras["number"], all[0]["number"]);
    assert_eq!(n(&extras["subtotal"]), 17_500);
    assert_eq!(n(&extras["tax"]), 1_553);
    assert_eq!(n(&extras["total"]), 19_053);
    assert_eq!(
        extras["lines"],
        json!([{ "description": "Additional images × 7", "quantity": 1, "amount": { "minorUnits": 17500 } }])
    );
    let number = extras["number"].as_str().unwrap().to_string();
    let emailed: Vec<_> = app
        .emails_to(EMAIL)
        .into_iter()
        .filter(|e| e.subject.contains(&number))
        .collect();
    assert_eq!(emailed.len(), 1, "one invoice email for {number}");
    assert!(
        emailed[0].text.contains("extra photos you picked"),
        "{}",
        emailed[0].text
    );

    // The included picks open; the extras wait for their invoice.
    assert_eq!(download(&browser, &link, &b.photos[0]).await, 303);
    assert_eq!(download(&browser, &link, &b.photos[24]).await, 303);
    assert_eq!(download(&browser, &link, &b.photos[31]).await, 403);
    assert_eq!(download(&browser, &link, &b.photos[35]).await, 403);

    // The same picks again: nothing new.
    let page = browser
        .get(&link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = tests::csrf_field(&page);
    let (status, page) = post_picks(&browser, &link, &csrf, &b.photos[..32]).await;
    assert_eq!(status, 200);
    assert!(page.contains("already saved"), "{page}");
    app.drain().await;
    assert_eq!(invoices(&app, &b).await.len(), 2);

    // One more before paying: the unpaid invoice is voided, 8 extras billed.
    let changed = submit(&app, &b, &b.photos[..33]).await;
    let result = &changed["submitGallerySelection"]["result"];
    assert_eq!(
        changed["submitGallerySelection"]["userErrors"],
        json!([]),
        "{changed}"
    );
    assert_eq!(result["voidedInvoiceIds"], json!([extras["id"]]));
    assert_eq!(n(&result["invoice"]["subtotal"]), 20_000);
    assert_eq!(result["selection"]["extras"], 8);
    assert_eq!(result["selection"]["submittedBy"], "STUDIO");
    app.drain().await;
    let all = invoices(&app, &b).await;
    assert_eq!(all[1]["status"], "VOID");
    let second = &all[2];
    let portal = second["portalUrl"].as_str().unwrap().to_string();
    assert_eq!(app.open_and_pay(&portal, CARD).await.status(), 303);
    app.drain().await;

    // Paid: exactly the picks download; the others stay previews.
    assert_eq!(download(&browser, &link, &b.photos[32]).await, 303);
    assert_eq!(download(&browser, &link, &b.photos[35]).await, 403);
    let selection = app
        .gql(
            &b.key,
            "query($id: ID!) { session(id: $id) { gallerySelection { included extras extrasPaid extrasAmount { minorUnits } } } }",
            json!({ "id": b.session }),
        )
        .await;
    assert_eq!(
        selection["session"]["gallerySelection"],
        json!({ "included": 25, "extras": 8, "extrasPaid": true, "extrasAmount": { "minorUnits": 20000 } })
    );

    // 40 after paying for 33: 15 extras cost 350.00; 150.00 is billed.
    let larger = submit(&app, &b, &b.photos[..40]).await;
    let result = &larger["submitGallerySelection"]["result"];
    assert_eq!(n(&result["invoice"]["subtotal"]), 15_000, "{larger}");
    assert_eq!(result["voidedInvoiceIds"], json!([]));
    // Fewer again: nothing is refunded or billed by itself.
    let smaller = submit(&app, &b, &b.photos[..30]).await;
    assert_eq!(
        smaller["submitGallerySelection"]["result"]["invoice"],
        Value::Null,
        "{smaller}"
    );
    app.drain().await;
    let all = invoices(&app, &b).await;
    assert_eq!(all.len(), 4);
    assert_eq!(all[2]["status"], "PAID");

    // A refund of the paid supplementary invoice locks the extras again.
    let payment = all[2]["payments"][0]["id"].as_str().unwrap().to_string();
    let refunded = app
        .gql(
            &b.key,
            "mutation($i: RefundPaymentInput!) { refundPayment(input: $i) { refund { status } userErrors { message } } }",
            json!({ "i": { "paymentId": payment, "idempotencyKey": "picks-refund" } }),
        )
        .await;
    assert_eq!(
        refunded["refundPayment"]["refund"]["status"], "SUCCEEDED",
        "{refunded}"
    );
    app.drain().await;
    assert_eq!(download(&browser, &link, &b.photos[0]).await, 303);
    assert_eq!(download(&browser, &link, &b.photos[27]).await, 403);

    // The gallery's log: the login, the page views and each download that
    // was served (a refused one is not), with address and user agent.
    let log = app
        .gql(
            &b.key,
            "query($id: ID!) { session(id: $id) { galleryLog(first: 500) { kind photoId address userAgent at } } }",
            json!({ "id": b.session }),
        )
        .await;
    let lines = log["session"]["galleryLog"]
        .as_array()
        .expect("log")
        .clone();
    let of = |kind: &str| lines.iter().filter(|l| l["kind"] == kind).count();
    assert_eq!(of("LOGIN"), 1, "{lines:#?}");
    assert_eq!(of("VIEW"), 1, "{lines:#?}");
    assert!(
        lines
            .iter()
            .all(|l| l["userAgent"] == "PicksTest/1.0" && l["address"] == "127.0.0.1"),
        "{lines:#?}"
    );
    let downloaded: Vec<&Value> = lines
        .iter()
        .filter(|l| l["kind"] == "DOWNLOAD")
        .map(|l| &l["photoId"])
        .collect();
    assert_eq!(
        downloaded
            .iter()
            .filter(|p| **p == &json!(b.photos[0]))
            .count(),
        2
    );
    assert!(downloaded.contains(&&json!(b.photos[32])));
    assert!(!downloaded.contains(&&json!(b.photos[35])));
    assert_eq!(lines[0]["kind"], "DOWNLOAD", "newest first");
}

async fn picks_before_the_invoice_are_on_it_and_an_auto_pay_client_is_charged_once_for_more(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let b = book(&app, "Auto Picks", "AUTO_PAY").await;
    // Picked before the session is invoiced: its invoice bills them.
    let early = submit(&app, &b, &b.photos[..30]).await;
    assert_eq!(
        early["submitGallerySelection"]["userErrors"],
        json!([]),
        "{early}"
    );
    assert_eq!(
        early["submitGallerySelection"]["result"]["invoice"],
        Value::Null
    );
    app.complete_session(&b.key, &b.session).await;
    app.drain().await;
    let all = invoices(&app, &b).await;
    assert_eq!(all.len(), 1, "{all:#?}");
    let line = all[0]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["description"] == "Additional images × 5")
        .cloned()
        .expect("the extras line");
    assert_eq!(n(&line["amount"]), 12_500);
    assert_eq!(all[0]["status"], "PAID");

    // 60 picked: 35 extras would be 725.00, capped at 500.00; 375.00 more,
    // charged to the card once, however often the picks are sent.
    let photos = &b.photos[..60];
    let more = submit(&app, &b, photos).await;
    let invoice = &more["submitGallerySelection"]["result"]["invoice"];
    assert_eq!(n(&invoice["subtotal"]), 50_000 - 12_500, "{more}");
    app.drain().await;
    let again = submit(&app, &b, photos).await;
    assert_eq!(again["submitGallerySelection"]["result"]["changed"], false);
    assert_eq!(
        again["submitGallerySelection"]["result"]["invoice"],
        Value::Null
    );
    app.drain().await;
    let all = invoices(&app, &b).await;
    assert_eq!(all.len(), 2);
    assert_eq!(all[1]["status"], "PAID", "{:#?}", all[1]);
    let payments = all[1]["payments"].as_array().unwrap();
    assert_eq!(payments.len(), 1);
    assert_eq!(n(&payments[0]["amount"]), n(&all[1]["total"]));
    assert_eq!(app.count("simulated_gateway_charges").await, 2);
}

async fn bad_pricing_and_bad_picks_are_refused_and_write_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let b = book(&app, "Strict Studio", "INVOICE").await;
    let package = app
        .gql(&b.key, "{ packages(first: 1) { nodes { id } } }", json!({}))
        .await["packages"]["nodes"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let bad = set_pricing(
        &app,
        &b.key,
        &package,
        json!({ "includedImages": -1, "fullGalleryPrice": "0", "extraImageTiers": [
            { "upTo": 10, "unitPrice": "25.00" }, { "upTo": 5, "unitPrice": "0" }, { "upTo": 40, "unitPrice": "20.00" }
        ] }),
    )
    .await;
    let fields: Vec<String> = bad["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["field"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap())
                .collect::<Vec<_>>()
                .join(".")
        })
        .collect();
    assert!(
        fields.contains(&"input.pricing.includedImages".to_string()),
        "{bad}"
    );
    assert!(
        fields.contains(&"input.pricing.extraImageTiers.1.unitPrice".to_string()),
        "{bad}"
    );
    let bad = set_pricing(
        &app,
        &b.key,
        &package,
        json!({ "includedImages": 5, "extraImageTiers": [
            { "upTo": 10, "unitPrice": "25.00" }, { "upTo": 5, "unitPrice": "20.00" }
        ] }),
    )
    .await;
    assert_eq!(
        bad["userErrors"][0]["field"],
        json!(["input", "pricing", "extraImageTiers", "1", "upTo"]),
        "{bad}"
    );
    assert_eq!(bad["userErrors"][0]["code"], "INVALID_INPUT");

    let other = book(&app, "Other Studio", "INVOICE").await;
    let refused = |v: &Value| v["submitGallerySelection"]["userErrors"][0]["code"].clone();
    let stranger = submit(&app, &b, &[b.photos[0].clone(), other.photos[0].clone()]).await;
    assert_eq!(refused(&stranger), "INVALID_INPUT", "{stranger}");
    let twice = submit(&app, &b, &[b.photos[0].clone(), b.photos[0].clone()]).await;
    assert_eq!(refused(&twice), "INVALID_INPUT", "{twice}");
    assert_eq!(refused(&submit(&app, &b, &[]).await), "INVALID_INPUT");
    let foreign = Booked {
        key: b.key.clone(),
        session: other.session.clone(),
        photos: other.photos.clone(),
    };
    assert_eq!(
        refused(&submit(&app, &foreign, &other.photos[..2]).await),
        "NOT_FOUND"
    );
    // A package that sells no picks.
    set_pricing(&app, &b.key, &package, Value::Null).await;
    let plain = book_plain(&app, &b, &package).await;
    let none = submit(&app, &plain, &plain.photos).await;
    assert_eq!(refused(&none), "INVALID_STATE", "{none}");
    assert_eq!(app.count("gallery_selections").await, 0);
}

/// A second session of `b`'s studio on `package` (which sells no picks
/// any more), with one photo.
async fn book_plain(app: &TestApp, b: &Booked, package: &str) -> Booked {
    let client = app
        .create_client(&b.key, "Leo Park", "leo@example.com", "INVOICE")
        .await;
    let scheduled = app
        .gql(
            &b.key,
            "mutation($i: ScheduleSessionInput!) { scheduleSession(input: $i) { session { id } } }",
            json!({ "i": { "clientId": client, "packageId": package, "title": "Portraits",
                           "scheduledAt": "2026-10-10T15:00:00Z", "retainerPaid": "0" } }),
        )
        .await;
    let session = scheduled["scheduleSession"]["session"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let added = app
        .gql(
            &b.key,
            "mutation($i: AddGalleryPhotosInput!) { addGalleryPhotos(input: $i) { photos { id } } }",
            json!({ "i": { "sessionId": session, "photos": [{ "url": "https://cdn.example.com/p/1.jpg" }] } }),
        )
        .await;
    Booked {
        key: b.key.clone(),
        session,
        photos: vec![
            added["addGalleryPhotos"]["photos"][0]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        ],
    }
}

async fn a_studio_reviewing_drafts_gets_the_extras_on_its_draft_sent_when_finalized(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let b = book(&app, "Careful Studio", "INVOICE").await;
    app.gql(
        &b.key,
        "mutation { updateStudioSettings(input: { reviewDrafts: true }) { studio { reviewDrafts } } }",
        json!({}),
    )
    .await;
    app.complete_session(&b.key, &b.session).await;
    app.drain().await;
    let before = invoices(&app, &b).await;
    assert_eq!(before.len(), 1);
    assert_eq!(before[0]["status"], "DRAFT");
    let (draft_id, subtotal) = (before[0]["id"].clone(), n(&before[0]["subtotal"]));
    // Picked while the final invoice is a draft: the draft gains the line.
    let picked = submit(&app, &b, &b.photos[..27]).await;
    let invoice = &picked["submitGallerySelection"]["result"]["invoice"];
    assert_eq!(
        (
            &invoice["id"],
            &invoice["kind"],
            &invoice["status"],
            &invoice["number"]
        ),
        (&draft_id, &json!("FINAL"), &json!("DRAFT"), &Value::Null),
        "{picked}"
    );
    assert_eq!(n(&invoice["subtotal"]), subtotal + 5_000);
    // Changed while a draft: the same draft, priced again.
    let changed = submit(&app, &b, &b.photos[..28]).await;
    let result = &changed["submitGallerySelection"]["result"];
    assert_eq!(result["voidedInvoiceIds"], json!([]), "{changed}");
    assert_eq!(result["invoice"]["id"], draft_id);
    assert_eq!(n(&result["invoice"]["subtotal"]), subtotal + 7_500);
    app.drain().await;
    assert!(app.emails_to(EMAIL).is_empty(), "drafts are not sent");
    let all = invoices(&app, &b).await;
    assert_eq!(all.len(), 1, "one invoice: {all:#?}");
    let lines = all[0]["lines"].as_array().expect("lines");
    let extra: Vec<&Value> = lines
        .iter()
        .filter(|l| {
            l["description"]
                .as_str()
                .is_some_and(|d| d.starts_with("Additional images"))
        })
        .collect();
    assert_eq!(extra.len(), 1, "{lines:#?}");
    assert_eq!(extra[0]["description"], "Additional images × 3");
    assert_eq!(n(&extra[0]["amount"]), 7_500);
    let trail = app
        .gql(
            &b.key,
            "query($id: ID!) { invoice(id: $id) { auditTrail { event } } }",
            json!({ "id": draft_id }),
        )
        .await;
    let repriced = trail["invoice"]["auditTrail"]
        .as_array()
        .expect("trail")
        .iter()
        .filter(|e| e["event"] == "REPRICED")
        .count();
    assert_eq!(repriced, 2, "{trail}");
    let done = app
        .gql(
            &b.key,
            "mutation($i: FinalizeInvoiceInput!) { finalizeInvoice(input: $i) { invoice { status number } userErrors { message } } }",
            json!({ "i": { "invoiceId": draft_id } }),
        )
        .await;
    assert_eq!(
        done["finalizeInvoice"]["invoice"]["status"], "OPEN",
        "{done}"
    );
    app.drain().await;
    let number = done["finalizeInvoice"]["invoice"]["number"]
        .as_str()
        .expect("numbered")
        .to_string();
    let sent: Vec<_> = app
        .emails_to(EMAIL)
        .into_iter()
        .filter(|e| e.subject.contains(&number))
        .collect();
    assert_eq!(sent.len(), 1, "one email for {number}");
    assert!(
        sent[0].text.contains("Additional images"),
        "{}",
        sent[0].text
    );
    // Once finalized, it is never edited: one more pick is a supplementary
    // invoice, itself a draft for this studio.
    let more = submit(&app, &b, &b.photos[..29]).await;
    let invoice = &more["submitGallerySelection"]["result"]["invoice"];
    assert_eq!(
        (&invoice["kind"], &invoice["status"]),
        (&json!("EXTRAS"), &json!("DRAFT")),
        "{more}"
    );
    assert_eq!(n(&invoice["subtotal"]), 2_500);
    assert_eq!(
        n(&invoices(&app, &b).await[0]["subtotal"]),
        subtotal + 7_500
    );
}

async fn the_demo_portrait_includes_three_images_and_sells_the_rest(backend: Backend) {
    use sea_orm::EntityTrait;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let demo = domain::app::seed::seed_demo(&app.ctx)
        .await
        .expect("seed the demo");
    let session = entity::session::Entity::find_by_id(demo.invoice_session_id)
        .one(&app.ctx.db)
        .await
        .unwrap()
        .expect("Noah's session");
    let pricing = domain::studio::catalog::image_pricing_of(session.image_pricing.as_deref())
        .unwrap()
        .expect("the portrait sells picks");
    assert_eq!(pricing.included, 3);
    // Noah picks all 6 demo photos: 3 extras at 15.00.
    assert_eq!(
        pricing.price(pricing.extras(6)).map(|m| m.get()),
        Some(4_500)
    );
}

/// The receipt emailed for invoice `number`.
fn receipt_for(app: &TestApp, number: &str) -> tests::SentEmail {
    let subject = format!("Receipt for invoice {number}");
    let mut receipts: Vec<_> = app
        .emails_to(EMAIL)
        .into_iter()
        .filter(|e| e.subject.starts_with(&subject))
        .collect();
    assert_eq!(receipts.len(), 1, "one receipt for {number}");
    let mut receipt = receipts.remove(0);
    // Sentences as written, whatever the line wrapping.
    receipt.text = receipt
        .text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    receipt
}

async fn a_client_of_a_studio_in_the_eu_downloads_paid_extras_once_they_consent(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let b = book(&app, "Studio de Paris", "INVOICE").await;
    let set = app
        .gql(
            &b.key,
            "mutation { updateStudioSettings(input: { country: \"FR\" }) { studio { country } userErrors { message } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        set["updateStudioSettings"]["studio"]["country"], "FR",
        "{set}"
    );
    app.complete_session(&b.key, &b.session).await;
    app.drain().await;
    let portal = invoices(&app, &b).await[0]["portalUrl"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(app.open_and_pay(&portal, CARD).await.status(), 303);
    app.drain().await;
    // 27 picked: 2 extras, billed and paid.
    let picked = submit(&app, &b, &b.photos[..27]).await;
    let extras = picked["submitGallerySelection"]["result"]["invoice"].clone();
    assert_eq!(n(&extras["subtotal"]), 5_000, "{picked}");
    let all = invoices(&app, &b).await;
    let portal = all[1]["portalUrl"].as_str().unwrap().to_string();
    assert_eq!(app.open_and_pay(&portal, CARD).await.status(), 303);
    app.drain().await;

    // Paid, but no consent yet: the extras stay locked, the receipt says why.
    let (browser, link, page) = log_in(&app).await;
    assert!(page.contains("id=\"consent\""), "{page}");
    assert_eq!(download(&browser, &link, &b.photos[0]).await, 303);
    assert_eq!(download(&browser, &link, &b.photos[26]).await, 403);
    let receipt = receipt_for(&app, extras["number"].as_str().unwrap());
    assert!(
        receipt.text.contains("once you ask for it in your gallery"),
        "{}",
        receipt.text
    );

    // The client ticks the consent: the extras open, the time and address kept.
    let csrf = tests::csrf_field(&page);
    let mut form = vec![
        ("csrf".to_string(), csrf),
        ("consent".to_string(), "yes".to_string()),
    ];
    form.extend(
        b.photos[..27]
            .iter()
            .map(|p| ("photo".to_string(), p.clone())),
    );
    let saved = browser
        .post(format!("{link}/picks"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    assert!(saved.text().await.unwrap().contains("consent-given"));
    assert_eq!(download(&browser, &link, &b.photos[26]).await, 303);
    let selection = app
        .gql(
            &b.key,
            "query($id: ID!) { session(id: $id) { gallerySelection { consentGivenAt consentAddress } } }",
            json!({ "id": b.session }),
        )
        .await;
    let given = &selection["session"]["gallerySelection"];
    assert!(given["consentGivenAt"].is_string(), "{selection}");
    assert_eq!(given["consentAddress"], "127.0.0.1");

    // A later receipt for more picks confirms the consent.
    let more = submit(&app, &b, &b.photos[..28]).await;
    let number = more["submitGallerySelection"]["result"]["invoice"]["number"]
        .as_str()
        .expect("a third invoice")
        .to_string();
    app.drain().await;
    let portal = invoices(&app, &b).await[2]["portalUrl"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(app.open_and_pay(&portal, CARD).await.status(), 303);
    app.drain().await;
    let receipt = receipt_for(&app, &number);
    assert!(
        receipt
            .text
            .contains("you asked for the download of your extra photos to start at once"),
        "{}",
        receipt.text
    );
    assert_eq!(download(&browser, &link, &b.photos[27]).await, 303);
}

async fn a_client_who_picks_nothing_gets_the_default_pick_at_the_deadline(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let quiet = book(&app, "Deadline Studio", "INVOICE").await;
    let busy = book(&app, "Other Deadline Studio", "INVOICE").await;
    for b in [&quiet, &busy] {
        let set = app
            .gql(
                &b.key,
                "mutation { updateGalleryPolicy(input: { picksDeadlineDays: 14 }) { policy { picksDeadlineDays } userErrors { message } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            set["updateGalleryPolicy"]["policy"]["picksDeadlineDays"], 14,
            "{set}"
        );
        app.complete_session(&b.key, &b.session).await;
    }
    app.drain().await;
    let due: Vec<_> = app
        .scheduled()
        .await
        .into_iter()
        .filter(|(key, _)| key.starts_with("apply_default_picks:"))
        .collect();
    assert_eq!(due.len(), 2, "{due:?}");
    let days = (due[0].1 - app.ctx.clock.now()).num_days();
    assert!((13..=14).contains(&days), "{due:?}");
    // One client picks before the deadline; the other does not.
    submit(&app, &busy, &busy.photos[..30]).await;
    app.drain().await;
    app.advance_scheduled_of("apply_default_picks:").await;
    app.drain().await;
    let selection = |b: &Booked| {
        let (key, session) = (b.key.clone(), b.session.clone());
        let app = &app;
        async move {
            app.gql(
                &key,
                "query($id: ID!) { session(id: $id) { gallerySelection { submittedBy extras photos { id } } invoices { id } } }",
                json!({ "id": session }),
            )
            .await["session"]
                .clone()
        }
    };
    let defaulted = selection(&quiet).await;
    let picks = &defaulted["gallerySelection"];
    assert_eq!(picks["submittedBy"], "DEFAULT", "{defaulted}");
    assert_eq!(picks["extras"], 0);
    let ids: Vec<&str> = picks["photos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        quiet.photos[..25]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        defaulted["invoices"].as_array().unwrap().len(),
        1,
        "nothing more is billed"
    );
    let kept = selection(&busy).await;
    assert_eq!(kept["gallerySelection"]["submittedBy"], "STUDIO", "{kept}");
    assert_eq!(
        kept["gallerySelection"]["photos"].as_array().unwrap().len(),
        30
    );
}
