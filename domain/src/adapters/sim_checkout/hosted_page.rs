//! What the simulated gateway's hosted page shows: the session, its lines
//! (the invoice's money, the tip as "Gratuity", the card surcharge),
//! where "Back" goes.

use super::{SETUP, find, gateway_of};
use crate::ports::gateway::{CheckoutSession, GatewayError, PaymentGateway};

/// What the hosted page shows.
#[derive(Debug, Clone)]
pub struct HostedPage {
    pub session: CheckoutSession,
    pub product_name: String,
    pub cancel_url: String,
    pub save_card: bool,
    /// `mode=setup`: no amount, the card is only saved.
    pub setup: bool,
    /// The lines paid for: the invoice's money, the tip ("Gratuity"),
    /// the card surcharge.
    pub lines: Vec<(String, i64)>,
    /// A surcharge line: paying only authorizes (captured later).
    pub held: bool,
}

/// The hosted page's session, or `None` (unknown id, or Stripe configured).
pub async fn page(ctx: &crate::AppContext, id: &str) -> Result<Option<HostedPage>, GatewayError> {
    let Some(gateway) = gateway_of(ctx) else {
        return Ok(None);
    };
    let Some(row) = find(&ctx.db, id).await? else {
        return Ok(None);
    };
    let session = gateway.retrieve_checkout(id).await?;
    Ok(Some(HostedPage {
        session,
        cancel_url: row.cancel_url,
        save_card: row.setup_future_usage,
        setup: row.mode == SETUP,
        held: row.surcharge_minor > 0,
        lines: [
            (
                row.product_name.clone(),
                row.amount_minor - row.tip_minor - row.surcharge_minor,
            ),
            (crate::ports::gateway::GRATUITY.to_string(), row.tip_minor),
            (
                crate::ports::gateway::SURCHARGE_LINE.to_string(),
                row.surcharge_minor,
            ),
        ]
        .into_iter()
        .filter(|(_, amount)| *amount > 0)
        .collect(),
        product_name: row.product_name,
    }))
}
