use crate::batches::Batches;
use domain::DomainResult;
use domain::billing::invoicing::Generated;

/// Price the completed session, number the invoice, route it (in a batch
/// with the other sessions due now, which also marks `job` `DONE`).
pub async fn run(
    batches: &Batches,
    session_id: i64,
    request_id: Option<&str>,
    job: i64,
) -> DomainResult<()> {
    match batches
        .generate_invoice(session_id, request_id, Some(job))
        .await?
    {
        Generated::Issued { .. } | Generated::AlreadyIssued { .. } | Generated::Drafted { .. } => {}
        Generated::NotBillable => {
            tracing::warn!(session_id, "session is not completed; no invoice")
        }
    }
    Ok(())
}
