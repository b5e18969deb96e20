//! Mutations. Each one parses its input, calls one domain service and maps
//! the result; domain input errors come back as `userErrors`.

use super::inputs::*;
use super::types::{
    AddOnService, Client, Invoice, Package, Payment, Refund, Session, Studio, TaxRate,
};
use super::{AppData, UserError, parse_id, payload, request_id, studio};
use async_graphql::{Context, ID, Object, Result, SimpleObject};
use domain::billing::lifecycle::Actor;
use domain::billing::payments::ManualPayment;
use domain::billing::refunds::RefundInput;
use domain::kernel::money::Currency;
use domain::studio::catalog::{self, ClientChanges, PackageFields, TaxRateFields};
use domain::studio::sessions::{self, AdjustmentSpec, FeeSpec, ItemInput, ScheduleSession};
use domain::{DomainError, DomainResult};

macro_rules! payload_type {
    ($name:ident, $field:ident, $ty:ty) => {
        #[derive(SimpleObject)]
        pub struct $name {
            pub $field: Option<$ty>,
            pub user_errors: Vec<UserError>,
        }

        impl $name {
            fn from_result(result: DomainResult<$ty>) -> Result<Self> {
                let ($field, user_errors) = payload(result)?;
                Ok(Self {
                    $field,
                    user_errors,
                })
            }
        }
    };
}

payload_type!(ClientPayload, client, Client);
payload_type!(PackagePayload, package, Package);
payload_type!(AddOnServicePayload, add_on_service, AddOnService);
payload_type!(TaxRatePayload, tax_rate, TaxRate);
payload_type!(SessionPayload, session, Session);
payload_type!(InvoicePayload, invoice, Invoice);
payload_type!(PaymentPayload, payment, Payment);
payload_type!(RefundPayload, refund, Refund);
payload_type!(StudioPayload, studio, Studio);
payload_type!(GalleryPolicyPayload, policy, super::gallery::GalleryPolicy);
payload_type!(
    RequestCardSetupPayload,
    card_setup,
    super::card_setup::CardSetup
);
payload_type!(
    GalleryPhotosPayload,
    photos,
    Vec<super::gallery::GalleryPhoto>
);
payload_type!(GalleryPhotoPayload, photo, super::gallery::GalleryPhoto);
payload_type!(
    ReminderPolicyPayload,
    policy,
    super::reminders::ReminderPolicy
);

pub struct Mutation;

fn studio_currency(studio: &entity::studio::Model) -> DomainResult<Currency> {
    domain::studio::studios::currency_of(studio)
}

fn adjustment(input: AdjustmentInput) -> AdjustmentSpec {
    AdjustmentSpec {
        percent: input.percent.map(Into::into),
        amount: input.amount.map(Into::into),
    }
}

fn fee_spec(f: FeeInput) -> FeeSpec {
    FeeSpec {
        name: f.name,
        kind: match f.kind {
            FeeKind::Travel => "TRAVEL",
            FeeKind::Rush => "RUSH",
            FeeKind::CardSurcharge => "CARD_SURCHARGE",
            FeeKind::Other => "OTHER",
        }
        .to_string(),
        charge: adjustment(f.charge),
        taxable: f.taxable,
    }
}

/// The audit-trail actor for the calling API key.
fn actor(ctx: &Context<'_>) -> Actor {
    match ctx.data::<super::Auth>() {
        Ok(super::Auth(Some(studio))) => Actor(format!("api-key:studio-{}", studio.id)),
        _ => Actor::system(),
    }
}

fn amount_in(
    invoice_currency: &str,
    field: &str,
    amount: rust_decimal::Decimal,
) -> DomainResult<i64> {
    let currency =
        Currency::parse(invoice_currency).map_err(|e| anyhow::anyhow!("stored currency: {e}"))?;
    currency
        .parse_amount(amount)
        .map_err(|e| domain::UserError::invalid(field, e.to_string()).into())
}

fn ids(list: &[ID], field: &str, what: &str) -> DomainResult<Vec<i64>> {
    list.iter()
        .enumerate()
        .map(|(i, id)| parse_id(id, &format!("{field}.{i}"), what))
        .collect()
}

#[Object]
impl Mutation {
    async fn create_client(
        &self,
        ctx: &Context<'_>,
        input: CreateClientInput,
    ) -> Result<ClientPayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let result = catalog::create_client_greeted(
            &app.ctx.db,
            studio,
            &input.name,
            &input.email,
            input.payment_preference.into(),
            input.time_zone.as_deref(),
            input.display_name.as_deref(),
            app.ctx.clock.now(),
        )
        .await;
        ClientPayload::from_result(result.map(Client))
    }

    async fn update_client(
        &self,
        ctx: &Context<'_>,
        input: UpdateClientInput,
    ) -> Result<ClientPayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let result = async {
            let id = parse_id(&input.id, "id", "client")?;
            let changes = ClientChanges {
                name: input.name,
                email: input.email,
                payment_preference: input.payment_preference.map(Into::into),
                time_zone: input.time_zone,
                display_name: input.display_name,
            };
            catalog::update_client(&app.ctx.db, studio, id, changes, app.ctx.clock.now()).await
        }
        .await;
        ClientPayload::from_result(result.map(Client))
    }

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
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let result = async {
            let id = parse_id(&client_id, "clientId", "client")?;
            domain::billing::card_setup::request(&app.ctx, studio, id, request_id(ctx).as_deref())
                .await
        }
        .await;
        RequestCardSetupPayload::from_result(result.map(super::card_setup::CardSetup))
    }

    async fn attach_payment_method(
        &self,
        ctx: &Context<'_>,
        input: AttachPaymentMethodInput,
    ) -> Result<ClientPayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let result = async {
            let id = parse_id(&input.client_id, "clientId", "client")?;
            catalog::attach_payment_method(&app.ctx, studio, id, &input.token).await
        }
        .await;
        ClientPayload::from_result(result.map(Client))
    }

    async fn create_package(
        &self,
        ctx: &Context<'_>,
        input: CreatePackageInput,
    ) -> Result<PackagePayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let result = async {
            let fields = PackageFields {
                name: Some(input.name),
                description: Some(input.description),
                price: Some(input.price.into()),
                taxable: Some(input.taxable),
                active: Some(true),
            };
            let created =
                catalog::create_package(&app.ctx.db, studio, fields, app.ctx.clock.now()).await?;
            Ok::<_, DomainError>(Package(created, studio_currency(studio)?))
        }
        .await;
        PackagePayload::from_result(result)
    }

    async fn update_package(
        &self,
        ctx: &Context<'_>,
        input: UpdatePackageInput,
    ) -> Result<PackagePayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let result = async {
            let id = parse_id(&input.id, "id", "package")?;
            let fields = PackageFields {
                name: input.name,
                description: input.description,
                price: input.price.map(Into::into),
                taxable: input.taxable,
                active: input.active,
            };
            let updated = catalog::update_package(&app.ctx.db, studio, id, fields).await?;
            Ok::<_, DomainError>(Package(updated, studio_currency(studio)?))
        }
        .await;
        PackagePayload::from_result(result)
    }

    async fn create_add_on_service(
        &self,
        ctx: &Context<'_>,
        input: CreateAddOnServiceInput,
    ) -> Result<AddOnServicePayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let result = async {
            let fields = PackageFields {
                name: Some(input.name),
                price: Some(input.unit_price.into()),
                taxable: Some(input.taxable),
                ..Default::default()
            };
            let created =
                catalog::create_add_on(&app.ctx.db, studio, fields, app.ctx.clock.now()).await?;
            Ok::<_, DomainError>(AddOnService(created, studio_currency(studio)?))
        }
        .await;
        AddOnServicePayload::from_result(result)
    }

    async fn update_add_on_service(
        &self,
        ctx: &Context<'_>,
        input: UpdateAddOnServiceInput,
    ) -> Result<AddOnServicePayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let result = async {
            let id = parse_id(&input.id, "id", "add-on service")?;
            let fields = PackageFields {
                name: input.name,
                price: input.unit_price.map(Into::into),
                taxable: input.taxable,
                active: input.active,
                ..Default::default()
            };
            let updated = catalog::update_add_on(&app.ctx.db, studio, id, fields).await?;
            Ok::<_, DomainError>(AddOnService(updated, studio_currency(studio)?))
        }
        .await;
        AddOnServicePayload::from_result(result)
    }

    async fn create_tax_rate(
        &self,
        ctx: &Context<'_>,
        input: CreateTaxRateInput,
    ) -> Result<TaxRatePayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let fields = TaxRateFields {
            name: Some(input.name),
            percent: Some(input.percent.into()),
            is_default: Some(input.is_default),
            active: Some(true),
            compound: Some(input.compound),
        };
        let result =
            catalog::create_tax_rate(&app.ctx.db, studio, fields, app.ctx.clock.now()).await;
        TaxRatePayload::from_result(result.map(TaxRate))
    }

    async fn update_tax_rate(
        &self,
        ctx: &Context<'_>,
        input: UpdateTaxRateInput,
    ) -> Result<TaxRatePayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let result = async {
            let id = parse_id(&input.id, "id", "tax rate")?;
            let fields = TaxRateFields {
                name: input.name,
                percent: input.percent.map(Into::into),
                is_default: input.is_default,
                active: input.active,
                compound: input.compound,
            };
            catalog::update_tax_rate(&app.ctx.db, studio, id, fields).await
        }
        .await;
        TaxRatePayload::from_result(result.map(TaxRate))
    }

    async fn schedule_session(
        &self,
        ctx: &Context<'_>,
        input: ScheduleSessionInput,
    ) -> Result<SessionPayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let result = async {
            let client_id = parse_id(&input.client_id, "clientId", "client")?;
            let package_id = input
                .package_id
                .as_ref()
                .map(|id| parse_id(id, "packageId", "package"))
                .transpose()?;
            let tax_rate_ids = input
                .tax_rate_ids
                .as_deref()
                .map(|list| ids(list, "taxRateIds", "tax rate"))
                .transpose()?;
            let mut items = Vec::with_capacity(input.items.len());
            for (i, item) in input.items.into_iter().enumerate() {
                items.push(ItemInput {
                    add_on_service_id: item
                        .add_on_service_id
                        .as_ref()
                        .map(|id| {
                            parse_id(id, &format!("items.{i}.addOnServiceId"), "add-on service")
                        })
                        .transpose()?,
                    description: item.description,
                    quantity: item.quantity,
                    unit_price: item.unit_price.map(Into::into),
                    taxable: item.taxable,
                });
            }
            let schedule = ScheduleSession {
                client_id,
                package_id,
                title: input.title,
                scheduled_at: input.scheduled_at,
                items,
                retainer_paid: input.retainer_paid.map(Into::into),
                tax_rate_ids,
                discount: input.discount.map(adjustment),
                fees: input.fees.into_iter().map(fee_spec).collect(),
            };
            sessions::schedule_session(&app.ctx.db, studio, schedule, app.ctx.clock.now())
                .await
                .map(|(s, _)| Session(s))
        }
        .await;
        SessionPayload::from_result(result)
    }

    async fn cancel_session(&self, ctx: &Context<'_>, id: ID) -> Result<SessionPayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let result = async {
            let id = parse_id(&id, "id", "session")?;
            sessions::cancel_session(&app.ctx.db, studio, id, app.ctx.clock.now()).await
        }
        .await;
        SessionPayload::from_result(result.map(Session))
    }

    /// Marks the session completed and starts billing: pricing, invoice,
    /// charge or invoice email, receipt, gallery access. Idempotent: calling
    /// it again returns the same session and starts nothing new.
    async fn complete_session(&self, ctx: &Context<'_>, id: ID) -> Result<SessionPayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let request_id = request_id(ctx);
        let result = async {
            let id = parse_id(&id, "id", "session")?;
            sessions::complete_session(&app.ctx, studio, id, request_id.as_deref()).await
        }
        .await;
        SessionPayload::from_result(result.map(Session))
    }

    /// Records money received outside the gateway (cash, check, bank
    /// transfer). Partial payments are fine; more than the amount due is
    /// refused. Replaying `idempotencyKey` returns the first payment.
    async fn record_manual_payment(
        &self,
        ctx: &Context<'_>,
        input: RecordManualPaymentInput,
    ) -> Result<PaymentPayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let request_id = request_id(ctx);
        let result = async {
            let invoice_id = parse_id(&input.invoice_id, "invoiceId", "invoice")?;
            let invoice = domain::read::queries::invoice(&app.ctx.db, studio.id, invoice_id)
                .await?
                .ok_or_else(|| domain::UserError::not_found("invoiceId", "invoice"))?;
            let manual = ManualPayment {
                invoice_id,
                amount_minor: amount_in(&invoice.currency, "amount", input.amount.into())?,
                method: match input.method {
                    ManualPaymentMethod::Cash => entity::enums::PaymentMethod::Cash,
                    ManualPaymentMethod::Check => entity::enums::PaymentMethod::Check,
                    ManualPaymentMethod::BankTransfer => entity::enums::PaymentMethod::BankTransfer,
                    ManualPaymentMethod::Other => entity::enums::PaymentMethod::Other,
                },
                reference: input.reference,
                note: input.note,
                idempotency_key: input.idempotency_key,
            };
            domain::billing::payments::record_manual_payment(
                &app.ctx,
                studio.id,
                &manual,
                &actor(ctx),
                request_id.as_deref(),
            )
            .await
        }
        .await;
        PaymentPayload::from_result(result.map(Payment))
    }

    /// Refunds a successful payment, fully (no `amount`) or in part, through
    /// the gateway for card payments. Replaying `idempotencyKey` returns the
    /// first refund; the gateway receives the same key.
    async fn refund_payment(
        &self,
        ctx: &Context<'_>,
        input: RefundPaymentInput,
    ) -> Result<RefundPayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let request_id = request_id(ctx);
        let result = async {
            let payment_id = parse_id(&input.payment_id, "paymentId", "payment")?;
            let payment = domain::read::queries::payment(&app.ctx.db, studio.id, payment_id)
                .await?
                .ok_or_else(|| domain::UserError::not_found("paymentId", "payment"))?;
            let amount_minor = input
                .amount
                .map(|a| amount_in(&payment.currency, "amount", a.into()))
                .transpose()?;
            let refund = RefundInput {
                payment_id,
                amount_minor,
                reason: input.reason,
                idempotency_key: input.idempotency_key,
            };
            domain::billing::refunds::refund_payment(
                &app.ctx,
                studio.id,
                &refund,
                &actor(ctx),
                request_id.as_deref(),
            )
            .await
        }
        .await;
        RefundPayload::from_result(result.map(Refund))
    }

    /// Voids an invoice with no payments left on it (refund them first) and
    /// issues its credit note. Voiding a void invoice returns it unchanged.
    async fn void_invoice(
        &self,
        ctx: &Context<'_>,
        input: VoidInvoiceInput,
    ) -> Result<InvoicePayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let request_id = request_id(ctx);
        let result = async {
            let invoice_id = parse_id(&input.invoice_id, "invoiceId", "invoice")?;
            domain::billing::closing::void_invoice(
                &app.ctx,
                studio.id,
                invoice_id,
                &input.reason,
                &actor(ctx),
                request_id.as_deref(),
            )
            .await
        }
        .await;
        InvoicePayload::from_result(result.map(Invoice))
    }

    /// Finalizes a `DRAFT` (studios with `reviewDrafts`): assigns the next
    /// number, moves it to `OPEN` and sends it on (auto-pay charge, or the
    /// invoice email and gallery access). Finalizing an invoice that is
    /// already finalized returns it unchanged; a `VOID` one is refused.
    async fn finalize_invoice(
        &self,
        ctx: &Context<'_>,
        input: FinalizeInvoiceInput,
    ) -> Result<InvoicePayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let request_id = request_id(ctx);
        let result = async {
            let invoice_id = parse_id(&input.invoice_id, "invoiceId", "invoice")?;
            domain::billing::invoicing::finalize_invoice(
                &app.ctx,
                studio.id,
                invoice_id,
                &actor(ctx),
                request_id.as_deref(),
            )
            .await
        }
        .await;
        InvoicePayload::from_result(result.map(Invoice))
    }

    /// Replaces a `VOID` invoice with a new one: the session (with the
    /// corrected `discount` / `fees`, if given) priced as it is now, the next
    /// number, then the usual charge or invoice email. The
    /// invoices link through `reissuedFrom` / `reissuedBy`. Replaying
    /// `idempotencyKey` returns the same new invoice.
    async fn reissue_invoice(
        &self,
        ctx: &Context<'_>,
        input: ReissueInvoiceInput,
    ) -> Result<InvoicePayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let request_id = request_id(ctx);
        let result = async {
            let invoice_id = parse_id(&input.invoice_id, "invoiceId", "invoice")?;
            let changes = sessions::AdjustmentChanges {
                discount: input.discount.map(adjustment),
                fees: input
                    .fees
                    .map(|fees| fees.into_iter().map(fee_spec).collect()),
            };
            domain::billing::invoicing::reissue_invoice(
                &app.ctx,
                studio.id,
                invoice_id,
                &input.idempotency_key,
                &changes,
                &actor(ctx),
                request_id.as_deref(),
            )
            .await
        }
        .await;
        InvoicePayload::from_result(result.map(Invoice))
    }

    /// Marks an `OPEN` or `PARTIALLY_PAID` invoice uncollectible: automatic
    /// collection stops and gallery access is locked; a manual payment later
    /// still settles it. Marking it again returns it unchanged.
    async fn mark_invoice_uncollectible(
        &self,
        ctx: &Context<'_>,
        input: MarkInvoiceUncollectibleInput,
    ) -> Result<InvoicePayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let request_id = request_id(ctx);
        let result = async {
            let invoice_id = parse_id(&input.invoice_id, "invoiceId", "invoice")?;
            domain::billing::invoicing::mark_uncollectible(
                &app.ctx,
                studio.id,
                invoice_id,
                &input.reason,
                &actor(ctx),
                request_id.as_deref(),
            )
            .await
        }
        .await;
        InvoicePayload::from_result(result.map(Invoice))
    }

    /// Records that the studio paid back the credit an invoice owes its
    /// client (a retainer above the total under `REFUND_DUE`): when, and
    /// the studio's reference; audited as `CREDIT_REPAID`. Idempotent for
    /// the same reference; `ALREADY_REPAID` for another one, `NOTHING_OWED`
    /// when the invoice owes no credit, `NOT_FOUND` for another studio's.
    async fn mark_credit_repaid(
        &self,
        ctx: &Context<'_>,
        input: MarkCreditRepaidInput,
    ) -> Result<InvoicePayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let result = async {
            let invoice_id = parse_id(&input.invoice_id, "invoiceId", "invoice")?;
            domain::billing::credits::mark_repaid(
                &app.ctx,
                studio.id,
                invoice_id,
                &input.reference,
                &actor(ctx),
            )
            .await
        }
        .await;
        InvoicePayload::from_result(result.map(Invoice))
    }

    /// Emails the invoice again, with its PDF and portal link.
    async fn resend_invoice(
        &self,
        ctx: &Context<'_>,
        input: ResendInvoiceInput,
    ) -> Result<InvoicePayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let request_id = request_id(ctx);
        let result = async {
            let invoice_id = parse_id(&input.invoice_id, "invoiceId", "invoice")?;
            domain::billing::invoicing::resend_invoice(
                &app.ctx,
                studio.id,
                invoice_id,
                &input.idempotency_key,
                &actor(ctx),
                request_id.as_deref(),
            )
            .await
        }
        .await;
        InvoicePayload::from_result(result.map(Invoice))
    }

    /// Currency, taxes, rounding, number format, payment terms, and what
    /// invoices print about the studio. Applies to invoices finalized later.
    async fn update_studio_settings(
        &self,
        ctx: &Context<'_>,
        input: UpdateStudioSettingsInput,
    ) -> Result<StudioPayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let changes = domain::studio::studios::SettingsChanges {
            name: input.name,
            currency: input.currency,
            time_zone: input.time_zone,
            payment_terms_days: input.payment_terms_days,
            invoice_prefix: input.invoice_prefix,
            invoice_number_format: input.invoice_number_format,
            rounding: input.rounding.map(Into::into),
            prices_include_tax: input.prices_include_tax,
            tax_id: input.tax_id,
            address: input.address,
            email: input.email,
            portal_link_days: input.portal_link_days,
            review_drafts: input.review_drafts,
            phone: input.phone,
            logo_url: input.logo_url,
            retainer_excess: input.retainer_excess.map(Into::into),
        };
        let result = domain::studio::studios::update_settings(&app.ctx.db, studio, changes).await;
        StudioPayload::from_result(result.map(Studio))
    }

    /// When unpaid invoices are followed up: reminder days relative to the
    /// due date (the last is the final notice), the local sending window,
    /// the late fee, and when an invoice becomes uncollectible. Invoices
    /// already being followed up use the new policy from their next step.
    async fn update_reminder_policy(
        &self,
        ctx: &Context<'_>,
        input: super::reminders::UpdateReminderPolicyInput,
    ) -> Result<ReminderPolicyPayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let result = domain::followup::reminders::update_policy(
            &app.ctx.db,
            studio,
            input.into_changes(),
            app.ctx.clock.now(),
        )
        .await
        .and_then(|policy| super::reminders::ReminderPolicy::new(policy, studio));
        ReminderPolicyPayload::from_result(result)
    }

    /// Which level each payment state gives and for how long, the notice
    /// before access ends, and the `gallery.access_changed` webhook URL.
    /// Applies from each gallery's next change.
    async fn update_gallery_policy(
        &self,
        ctx: &Context<'_>,
        input: super::gallery::UpdateGalleryPolicyInput,
    ) -> Result<GalleryPolicyPayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let result =
            domain::followup::gallery::update_policy(&app.ctx.db, studio, input.into_changes())
                .await;
        GalleryPolicyPayload::from_result(result.map(super::gallery::GalleryPolicy))
    }

    /// Registers photos (hosted by the studio) in a session's gallery; returns
    /// all of the session's photos.
    async fn add_gallery_photos(
        &self,
        ctx: &Context<'_>,
        input: super::gallery::AddGalleryPhotosInput,
    ) -> Result<GalleryPhotosPayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let result = async {
            let session_id = parse_id(&input.session_id, "sessionId", "session")?;
            let photos: Vec<domain::followup::gallery::NewPhoto> = input
                .photos
                .into_iter()
                .map(|p| domain::followup::gallery::NewPhoto {
                    url: p.url,
                    preview_url: p.preview_url,
                    title: p.title,
                })
                .collect();
            domain::followup::gallery::add_photos(
                &app.ctx.db,
                studio,
                session_id,
                &photos,
                app.ctx.clock.now(),
            )
            .await
        }
        .await;
        GalleryPhotosPayload::from_result(
            result.map(|all| all.into_iter().map(super::gallery::GalleryPhoto).collect()),
        )
    }

    async fn remove_gallery_photo(&self, ctx: &Context<'_>, id: ID) -> Result<GalleryPhotoPayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let result = async {
            let id = parse_id(&id, "id", "photo")?;
            domain::followup::gallery::remove_photo(&app.ctx.db, studio, id).await
        }
        .await;
        GalleryPhotoPayload::from_result(result.map(super::gallery::GalleryPhoto))
    }

    /// A new API key for the studio. The key is in the payload this once.
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        input: super::api_keys::CreateApiKeyInput,
    ) -> Result<super::api_keys::CreateApiKeyPayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let current = super::api_keys::current_key(ctx);
        let result = domain::studio::api_keys::create(
            &app.ctx.db,
            studio.id,
            &input.label,
            app.ctx.clock.now(),
        )
        .await;
        let (created, user_errors) = payload(result)?;
        let (api_key, key) = match created {
            Some((model, key)) => (
                Some(super::api_keys::ApiKey::new(model, current)),
                Some(key),
            ),
            None => (None, None),
        };
        Ok(super::api_keys::CreateApiKeyPayload {
            api_key,
            key,
            user_errors,
        })
    }

    /// Revokes one of the studio's keys at once. The key making the request
    /// may revoke itself only while the studio has another active key.
    async fn revoke_api_key(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<super::api_keys::RevokeApiKeyPayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let current = super::api_keys::current_key(ctx);
        let result = async {
            let id = parse_id(&id, "id", "API key")?;
            domain::studio::api_keys::revoke(
                &app.ctx.db,
                studio.id,
                id,
                current,
                app.ctx.clock.now(),
            )
            .await
        }
        .await;
        let (revoked, user_errors) = payload(result)?;
        Ok(super::api_keys::RevokeApiKeyPayload {
            api_key: revoked.map(|m| super::api_keys::ApiKey::new(m, current)),
            user_errors,
        })
    }

    /// Runs a failing step (see `failingSteps`) now instead of at its next
    /// retry; one that gave up gets another attempt. `INVALID_STATE` while it
    /// runs or once it is done; another studio's step is `NOT_FOUND`.
    async fn retry_step(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<super::steps::RetryStepPayload> {
        let studio = studio(ctx)?;
        let app = ctx.data::<AppData>()?;
        let result = async {
            let id = parse_id(&id, "id", "step")?;
            domain::workflow::failing_steps::retry(&app.ctx, studio.id, id).await
        }
        .await;
        let (step, user_errors) = payload(result)?;
        Ok(super::steps::RetryStepPayload {
            step: step.map(super::steps::FailingStep),
            user_errors,
        })
    }
}
