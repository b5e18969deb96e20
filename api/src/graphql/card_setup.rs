//! A card on file for automatic payments: the emailed card-setup request
//! (`requestCardSetup`, `domain::billing::card_setup`) and a gateway token
//! stored directly (`attachPaymentMethod`).

use super::clients::{Client, ClientPayload};
use super::common::{AppData, Caller, id, parse_id, payload_type};
use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use domain::studio::catalog;

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

// A request that a client put a card on file: the client got an email with
// a link to a page that opens the gateway's hosted card setup.
#[derive(SimpleObject)]
pub struct CardSetup {
    pub id: ID,
    pub client_id: ID,
    #[graphql(flatten)]
    pub status: SetupStatus,
    /// The emailed link stops working then.
    pub expires_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Brand and last 4 of the card stored through it.
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
}

impl From<entity::card_setup::Model> for CardSetup {
    fn from(s: entity::card_setup::Model) -> Self {
        Self {
            id: id(s.id),
            client_id: id(s.client_id),
            status: SetupStatus {
                completed: s.completed_at.is_some(),
                expires_at: s.expires_at,
            },
            expires_at: s.expires_at,
            completed_at: s.completed_at,
            card_brand: s.card_brand,
            card_last4: s.card_last4,
        }
    }
}

// `CardSetup.status`, as of the request's clock.
pub struct SetupStatus {
    completed: bool,
    expires_at: DateTime<Utc>,
}

#[Object]
impl SetupStatus {
    async fn status(&self, ctx: &Context<'_>) -> Result<CardSetupStatus> {
        let now = ctx.data::<AppData>()?.ctx.clock.now();
        Ok(if self.completed {
            CardSetupStatus::Completed
        } else if now > self.expires_at {
            CardSetupStatus::Expired
        } else {
            CardSetupStatus::Requested
        })
    }
}

#[derive(InputObject)]
pub struct AttachPaymentMethodInput {
    pub client_id: ID,
    /// A gateway token, e.g. the test token `pm_card_visa`.
    pub token: String,
}

payload_type!(RequestCardSetupPayload, card_setup, CardSetup);

#[derive(Default)]
pub struct CardSetupMutation;

#[Object]
impl CardSetupMutation {
    /// Stores a tokenized card on the client (test tokens: `pm_card_visa`,
    /// `pm_card_chargeDeclined`, `pm_card_chargeDeclinedInsufficientFunds`...).
    /// Emails the client a link to put a card on file for automatic
    /// payments (the gateway's hosted card setup; nothing is charged). Each
    /// call is a new request with its own link and email; the link expires
    /// after 7 days.
    async fn request_card_setup(
        &self,
        ctx: &Context<'_>,
        client_id: ID,
    ) -> Result<RequestCardSetupPayload> {
        let caller = Caller::of(ctx)?;
        let result = async {
            let id = parse_id(&client_id, "clientId", "client")?;
            domain::billing::card_setup::request(caller.app, caller.studio, id, caller.request_id())
                .await
        }
        .await;
        RequestCardSetupPayload::from_result(result.map(CardSetup::from))
    }

    async fn attach_payment_method(
        &self,
        ctx: &Context<'_>,
        input: AttachPaymentMethodInput,
    ) -> Result<ClientPayload> {
        let caller = Caller::of(ctx)?;
        let result = async {
            let id = parse_id(&input.client_id, "clientId", "client")?;
            catalog::attach_payment_method(caller.app, caller.studio, id, &input.token).await
        }
        .await;
        ClientPayload::from_result(result.map(|c| Client::from(&c)))
    }
}
