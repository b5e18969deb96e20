//! The email that tells a client their payment schedule changed
//! (`plans::edit::edit_plan`): one per edit (kind `PLAN_UPDATED`, keyed by
//! the plan and its revision; it is about no invoice, so its `invoice_id`
//! is 0). An edit superseded by a later one before its email went out sends
//! nothing: the later email tells the schedule as it is.

use crate::billing::documents::greeting_name;
use crate::followup::email_body::{Body, Tone, text};
use crate::infra::context::AppContext;
use crate::infra::error::DomainResult;
use crate::workflow::notify::{self, EmailKey, Sent};
use entity::enums::{NotificationKind, PlanPartStatus};
use entity::{client, payment_plan, payment_plan_part, session, studio};
use sea_orm::EntityTrait;

/// "March 1, 2027".
fn day(date: chrono::NaiveDate) -> String {
    date.format("%B %-d, %Y").to_string()
}

/// One row of the schedule: "Part 2 of 3", its amount, where it stands.
fn row(
    part: &payment_plan_part::Model,
    of: usize,
    client: &client::Model,
) -> (String, String, String) {
    let amount = part.amount_minor.of(part.currency).to_string();
    let card = crate::billing::labels::card_display(
        client.pm_brand.as_deref(),
        client.pm_last4.as_deref(),
    );
    let stands = match (part.status, client.auto_pays()) {
        (PlanPartStatus::Paid, _) => "paid".to_string(),
        (PlanPartStatus::Issued, _) => format!("invoiced, due {}", day(part.due_date)),
        (_, true) => format!(
            "due {}, charged to {}",
            day(part.due_date),
            card.unwrap_or_else(|| "your card on file".into())
        ),
        (_, false) => format!("due {}, invoiced by email", day(part.due_date)),
    };
    (format!("Part {} of {of}", part.seq), amount, stands)
}

/// Sends the "schedule updated" email for revision `revision` of plan
/// `plan_id`, unless a later edit superseded it.
pub async fn send_plan_update(ctx: &AppContext, plan_id: i64, revision: i32) -> DomainResult<Sent> {
    let Some(plan) = payment_plan::Entity::find_by_id(plan_id)
        .one(&ctx.db)
        .await?
    else {
        return Ok(Sent::Already);
    };
    if plan.revision != revision {
        return Ok(Sent::Already);
    }
    let booked = session::Entity::find_by_id(plan.session_id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("session of plan {plan_id} missing"))?;
    let studio = studio::Entity::find_by_id(plan.studio_id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("studio of plan {plan_id} missing"))?;
    let client = client::Entity::find_by_id(booked.client_id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("client of session {} missing", booked.id))?;
    let parts = crate::studio::plans::with_parts(&ctx.db, plan).await?.parts;
    let subject = format!("Your payment schedule for “{}” was updated", booked.title);
    let mut body = Body::greeting(&greeting_name(&client));
    body.para(vec![text(format!(
        "{} updated the payment schedule of your booking “{}”. This is how it stands now:",
        studio.name, booked.title
    ))]);
    let rows: Vec<_> = parts.iter().map(|p| row(p, parts.len(), &client)).collect();
    body.schedule(&rows);
    let how = match client.auto_pays() {
        true => {
            "As before, each part is charged automatically on its day, and we email you a notice before each charge."
        }
        false => "As before, each part is emailed to you on its day with a link to pay it online.",
    };
    body.para(vec![text(how)]);
    body.styled(
        Tone::Small,
        vec![text(format!(
            "If something looks wrong, just reply to this email and {} will sort it out.",
            studio.name
        ))],
    );
    let title = "Your payment schedule was updated";
    let email = super::emails::from_studio(&studio, &client, subject, title, &body);
    let key = EmailKey {
        studio_id: studio.id,
        invoice_id: 0,
        kind: NotificationKind::PlanUpdated,
        step: format!("{plan_id}:{revision}"),
    };
    notify::send_once(ctx, &key, &email).await
}
