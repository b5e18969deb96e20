//! Issue 19, item 7: a studio's choice of what completing a session does
//! with the parts of its plan not billed yet: folded into the final invoice
//! (the default, `installments.rs`), or kept on their own days.

use super::installments::{
    app_at, at, bill_due_parts, book_on_plan, final_invoice, gallery_level, pay_by_check, plan,
};
use serde_json::json;
use tests::Backend;

on_both_backends!(a_kept_part_is_billed_on_its_own_day_after_the_session_is_completed);

/// Golden Hour keeps a plan's parts on their days. Noah's wedding (June 12)
/// is completed with his third part (July 1) not billed yet: the final
/// invoice credits the two parts paid and "Installment 3 of 3, due July 1,
/// 2027 (scheduled)", and asks for nothing; the gallery waits. On July 1
/// the part is billed on its own; once paid, the plan is complete and the
/// gallery opens in full.
async fn a_kept_part_is_billed_on_its_own_day_after_the_session_is_completed(backend: Backend) {
    let Some((app, clock)) = app_at(backend, at(2027, 1, 4, 15, 0)).await else {
        return;
    };
    let f = app.seed_studio("Golden Hour").await;
    let set = app
        .gql(
            &f.key,
            "mutation { updateStudioSettings(input: { planPartsAtCompletion: KEEP }) {
                studio { planPartsAtCompletion } userErrors { message } } }",
            json!({}),
        )
        .await;
    let set = &set["updateStudioSettings"];
    assert_eq!(set["studio"]["planPartsAtCompletion"], "KEEP", "{set}");
    let (session, _) = book_on_plan(
        &app,
        &f,
        &f.invoice_client,
        json!([{}, { "dueDate": "2027-03-01" }, { "dueDate": "2027-07-01" }]),
    )
    .await;
    app.drain().await;
    let first = plan(&app, &f.key, &session).await["parts"][0]["invoiceId"].clone();
    pay_by_check(&app, &f.key, &first, "1097.27", "#400").await;
    bill_due_parts(&app, &clock, at(2027, 3, 1, 10, 0)).await;
    let second = plan(&app, &f.key, &session).await["parts"][1]["invoiceId"].clone();
    pay_by_check(&app, &f.key, &second, "1097.27", "#401").await;

    clock.set(at(2027, 6, 13, 12, 0));
    let done = app.complete_session(&f.key, &session).await;
    assert!(done.get("errors").is_none(), "{done}");
    app.drain().await;
    let last = final_invoice(&app).await;
    assert!(
        last.plan_credits
            .contains("Installment 3 of 3, due July 1, 2027 (scheduled)"),
        "{}",
        last.plan_credits
    );
    assert_eq!(last.plan_credit_minor.get(), 329_182);
    let held = gallery_level(&app, &f.key, &session).await;
    assert_eq!(held["invoice"]["amountDue"]["minorUnits"], 0, "{held}");
    assert_eq!(held["galleryAccess"]["level"], "PREVIEW", "{held}");
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["status"], "ACTIVE", "{now}");
    assert_eq!(now["parts"][2]["status"], "SCHEDULED", "{now}");

    bill_due_parts(&app, &clock, at(2027, 7, 1, 10, 0)).await;
    let now = plan(&app, &f.key, &session).await;
    assert_eq!(now["parts"][2]["status"], "ISSUED", "{now}");
    assert_eq!(now["status"], "COMPLETED", "{now}");
    app.email_to_saying(tests::INVOICE_EMAIL, "Installment 3 of 3");
    let third = now["parts"][2]["invoiceId"].clone();
    pay_by_check(&app, &f.key, &third, "1097.28", "#402").await;
    let open = gallery_level(&app, &f.key, &session).await;
    assert_eq!(open["galleryAccess"]["level"], "FULL", "{open}");
    assert_eq!(
        plan(&app, &f.key, &session).await["remaining"]["minorUnits"],
        0
    );
}
