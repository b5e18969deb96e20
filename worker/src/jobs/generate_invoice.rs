use domain::billing::invoicing::{self, Generated};
use domain::{AppContext, DomainResult};

/// Price the completed session, number the invoice, route it.
pub async fn run(ctx: &AppContext, session_id: i64, request_id: Option<&str>) -> DomainResult<()> {
    match invoicing::generate_invoice(ctx, session_id, request_id).await? {
        Generated::Issued { .. } | Generated::AlreadyIssued { .. } | Generated::Drafted { .. } => {}
        Generated::NotBillable => {
            tracing::warn!(session_id, "session is not completed; no invoice")
        }
    }
    Ok(())
}
