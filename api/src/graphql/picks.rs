//! Gallery picks (`domain::followup::gallery::picks`): what a package
//! includes and what extra images cost, the client's selection, and the
//! studio submitting a selection for the client.

use super::amount::Amount;
use super::common::{Caller, id, parse_id, parse_ids, payload_type};
use super::gallery::GalleryPhoto;
use super::invoices::Invoice;
use super::money::Money;
use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use domain::billing::extras::Billed;
use domain::followup::gallery::picks;
use domain::kernel::extras::ImagePricing as Pricing;
use domain::kernel::ids::{SessionId, StudioId};
use domain::kernel::money::Currency;
use domain::studio::catalog::{self, ImagePricingInput as PricingInput, TierInput};
use entity::gallery_photo;

/// One volume tier of extra images.
#[derive(SimpleObject)]
pub struct ExtraImageTier {
    /// The last extra (counted from the first one beyond the included
    /// images) this tier prices; `null`: every extra after the tier before.
    pub up_to: Option<i32>,
    pub unit_price: Money,
}

/// What a package (or a session, as sold) includes and what extra picks cost.
#[derive(SimpleObject)]
pub struct ImagePricing {
    pub included_images: i32,
    pub extra_image_tiers: Vec<ExtraImageTier>,
    /// Caps what the extras cost in all.
    pub full_gallery_price: Option<Money>,
}

impl ImagePricing {
    pub fn of(pricing: &Pricing, currency: Currency) -> Self {
        Self {
            included_images: pricing.included as i32,
            extra_image_tiers: pricing
                .tiers
                .iter()
                .map(|t| ExtraImageTier {
                    up_to: t.up_to.map(|n| n as i32),
                    unit_price: Money::of(t.unit_price_minor, currency),
                })
                .collect(),
            full_gallery_price: pricing.full_gallery_minor.map(|m| Money::of(m, currency)),
        }
    }

    /// From a stored column (`None` when it holds none or does not read).
    pub fn stored(stored: Option<&str>, currency: Currency) -> Option<Self> {
        catalog::image_pricing_of(stored)
            .ok()
            .flatten()
            .map(|p| Self::of(&p, currency))
    }
}

#[derive(InputObject)]
pub struct ExtraImageTierInput {
    /// Up to which extra this tier applies; omit on the last tier.
    pub up_to: Option<i32>,
    /// In the studio's currency, e.g. `"25.00"`.
    pub unit_price: Amount,
}

#[derive(InputObject)]
pub struct ImagePricingInput {
    pub included_images: i32,
    /// Rising `upTo`, the last one open-ended.
    pub extra_image_tiers: Vec<ExtraImageTierInput>,
    pub full_gallery_price: Option<Amount>,
}

#[derive(InputObject)]
pub struct SetPackageImagePricingInput {
    pub package_id: ID,
    /// `null`: the package sells no picks any more.
    pub pricing: Option<ImagePricingInput>,
}

#[derive(InputObject)]
pub struct SubmitGallerySelectionInput {
    pub session_id: ID,
    /// The picked photos (any order; kept in gallery order).
    pub photo_ids: Vec<ID>,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::PickedBy")]
pub enum PickedBy {
    Client,
    Studio,
    /// The studio's default pick, applied at its deadline.
    Default,
}

/// The photos the client picked, and what the extras beyond the package's
/// included images come to.
#[derive(SimpleObject)]
pub struct GallerySelection {
    /// In gallery order.
    pub photos: Vec<GalleryPhoto>,
    pub submitted_at: DateTime<Utc>,
    pub submitted_by: PickedBy,
    pub included: i32,
    pub extras: i32,
    /// The extras' price before tax (tiers, capped by the full-gallery price).
    pub extras_amount: Money,
    /// Whether the extras are paid: then every pick downloads at `FULL`.
    pub extras_paid: bool,
    /// For a studio in the EU/EEA or the UK: when the client asked for the
    /// download of paid picks to start within the withdrawal period (until
    /// then the extras stay locked), and from which address.
    pub consent_given_at: Option<DateTime<Utc>>,
    pub consent_address: Option<String>,
}

impl GallerySelection {
    fn of(picks: &picks::Picks, all: &[gallery_photo::Model], currency: Currency) -> Option<Self> {
        let selection = picks.selection.as_ref()?;
        Some(Self {
            photos: picks
                .photos
                .iter()
                .filter_map(|id| all.iter().find(|p| p.id == *id))
                .map(GalleryPhoto::from)
                .collect(),
            submitted_at: selection.submitted_at,
            submitted_by: selection.submitted_by.into(),
            included: picks.pricing.included as i32,
            extras: selection.extras,
            extras_amount: Money::of(selection.extras_minor, currency),
            extras_paid: picks.extras_paid,
            consent_given_at: selection.consent_at,
            consent_address: selection.consent_address.clone(),
        })
    }
}

/// A session's selection, for `Session.gallerySelection`.
pub async fn of_session(
    caller: &Caller<'_>,
    session: &entity::session::Model,
) -> Result<Option<GallerySelection>> {
    let currency = caller.studio.currency;
    let Some(found) = picks::of_session(caller.db(), session)
        .await
        .map_err(super::common::domain_error)?
    else {
        return Ok(None);
    };
    let all = domain::followup::gallery::photos(
        caller.db(),
        StudioId::new(session.studio_id),
        SessionId::new(session.id),
    )
    .await
    .map_err(super::common::domain_error)?;
    Ok(GallerySelection::of(&found, &all, currency))
}

/// What a submission did: the selection stored, and the supplementary
/// invoice it issued (none when nothing more is owed, or when the session's
/// invoice is not finalized yet and bills the picks itself).
#[derive(SimpleObject)]
pub struct SubmittedSelection {
    pub selection: Option<GallerySelection>,
    /// `false`: the same picks again; nothing changed.
    pub changed: bool,
    pub invoice: Option<Invoice>,
    /// Unpaid supplementary invoices voided in favour of `invoice`.
    pub voided_invoice_ids: Vec<ID>,
}

payload_type!(SubmitGallerySelectionPayload, result, SubmittedSelection);
payload_type!(PackageImagePricingPayload, package, super::catalog::Package);

#[derive(Default)]
pub struct PicksMutation;

#[Object]
impl PicksMutation {
    /// What a package includes and what each extra picked image costs, by
    /// volume tier, optionally capped by a full-gallery price; `pricing:
    /// null` removes it (every photo then follows the gallery's access).
    /// Sessions booked before keep the pricing they were sold with.
    async fn set_package_image_pricing(
        &self,
        ctx: &Context<'_>,
        input: SetPackageImagePricingInput,
    ) -> Result<PackageImagePricingPayload> {
        let caller = Caller::of(ctx)?;
        let package_id = input.package_id;
        let input = input.pricing.map(|p| PricingInput {
            included: p.included_images,
            tiers: p
                .extra_image_tiers
                .into_iter()
                .map(|t| TierInput {
                    up_to: t.up_to,
                    unit_price: t.unit_price.into(),
                })
                .collect(),
            full_gallery_price: p.full_gallery_price.map(Into::into),
        });
        let result = async {
            let package = parse_id(&package_id, "packageId", "package")?;
            catalog::set_package_image_pricing(caller.db(), caller.studio, package, input).await
        }
        .await;
        PackageImagePricingPayload::from_result(
            result.map(|p| super::catalog::Package::new(&p, caller.studio.currency)),
        )
    }

    /// Submits the client's picks for them (the client picks in the
    /// gallery). The extras beyond the package's included images are billed:
    /// on the session's invoice while it is not finalized, else on a
    /// supplementary invoice with the next number (charged to an auto-pay
    /// client's card, emailed to anyone else). The same picks again bill
    /// nothing; changed picks void an unpaid supplementary invoice and bill
    /// the new total; after a payment only the difference is billed.
    async fn submit_gallery_selection(
        &self,
        ctx: &Context<'_>,
        input: SubmitGallerySelectionInput,
    ) -> Result<SubmitGallerySelectionPayload> {
        let caller = Caller::of(ctx)?;
        let result = async {
            let session = parse_id(&input.session_id, "sessionId", "session")?;
            let photos = parse_ids(&input.photo_ids, "photoIds", "photo")?;
            picks::submit(
                caller.app,
                caller.studio_id(),
                SessionId::new(session),
                &photos,
                entity::enums::PickedBy::Studio,
                &caller.actor,
                caller.request_id(),
            )
            .await
        }
        .await;
        let result = match result {
            Ok(done) => {
                let session = domain::studio::sessions::find_session(
                    caller.db(),
                    caller.studio.id,
                    done.selection.session_id,
                )
                .await
                .map_err(super::common::domain_error)?;
                let selection = match session {
                    Some(s) => of_session(&caller, &s).await?,
                    None => None,
                };
                let (invoice, voided) = match done.billed {
                    Billed::Supplementary { invoice, voided } => (Some(*invoice), voided),
                    Billed::OnDraft(draft) => (Some(*draft), Vec::new()),
                    _ => (None, Vec::new()),
                };
                Ok(SubmittedSelection {
                    selection,
                    changed: done.changed,
                    invoice: invoice.map(Invoice::from),
                    voided_invoice_ids: voided.into_iter().map(id).collect(),
                })
            }
            Err(err) => Err(err),
        };
        SubmitGallerySelectionPayload::from_result(result)
    }
}

/// Every invoice of a session, oldest first: its final invoice (and void
/// ones it replaced), its installments and its supplementary invoices.
pub async fn invoices_of(caller: &Caller<'_>, session_id: i64) -> Result<Vec<Invoice>> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    Ok(entity::invoice::Entity::find()
        .filter(entity::invoice::Column::StudioId.eq(caller.studio.id))
        .filter(entity::invoice::Column::SessionId.eq(session_id))
        .order_by_asc(entity::invoice::Column::Id)
        .all(caller.db())
        .await
        .map_err(|e| super::common::domain_error(e.into()))?
        .into_iter()
        .map(Invoice::from)
        .collect())
}
