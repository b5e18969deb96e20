use crate::batches::Batches;
use domain::workflow::outcome::Outcome;
use domain::{AppContext, followup::emails};

/// Bring gallery access in line with what has been paid (in a batch with
/// the other invoices due now, which also marks `job` `DONE`).
pub async fn sync(
    batches: &Batches,
    invoice_id: i64,
    request_id: Option<&str>,
    job: i64,
) -> Outcome {
    Outcome::recorded(
        batches
            .sync_gallery(invoice_id, request_id, Some(job))
            .await,
    )
}

/// Email the gallery credentials (a fresh password, once).
pub async fn send_credentials(ctx: &AppContext, invoice_id: i64) -> Outcome {
    Outcome::of_sent(emails::send_gallery_credentials(ctx, invoice_id).await)
}

/// Email that access went up (for example to `FULL` after payment).
pub async fn send_upgrade(
    ctx: &AppContext,
    invoice_id: i64,
    level: entity::enums::GalleryLevel,
) -> Outcome {
    Outcome::of_sent(emails::send_gallery_upgrade(ctx, invoice_id, level).await)
}
