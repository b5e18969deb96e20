//! GraphQL view of a card-setup request (`requestCardSetup`, `domain::billing::card_setup`).

use super::AppData;
use async_graphql::{Context, Enum, ID, Object, Result};
use chrono::{DateTime, Utc};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum CardSetupStatus {
    /// The link is out; no card stored through it yet.
    Requested,
    /// A card was stored through it (it is the client's card unless a later
    /// setup or `attachPaymentMethod` replaced it).
    Completed,
    /// The link expired before a card was stored.
    Expired,
}

/// A request that a client put a card on file: the client got an email with
/// a link to a page that opens the gateway's hosted card setup.
pub struct CardSetup(pub entity::card_setup::Model);

#[Object]
impl CardSetup {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn client_id(&self) -> ID {
        ID(self.0.client_id.to_string())
    }
    async fn status(&self, ctx: &Context<'_>) -> Result<CardSetupStatus> {
        let now = ctx.data::<AppData>()?.ctx.clock.now();
        Ok(if self.0.completed_at.is_some() {
            CardSetupStatus::Completed
        } else if now > self.0.expires_at {
            CardSetupStatus::Expired
        } else {
            CardSetupStatus::Requested
        })
    }
    /// The emailed link stops working then.
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
    /// Brand and last 4 of the card stored through it.
    async fn card_brand(&self) -> Option<&str> {
        self.0.card_brand.as_deref()
    }
    async fn card_last4(&self) -> Option<&str> {
        self.0.card_last4.as_deref()
    }
}
