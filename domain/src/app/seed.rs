//! Demo data: a studio, its catalogue, two clients with a session each, so
//! a newcomer can complete sessions and watch the workflow run, and a third
//! client's wedding booked on a payment plan, its retainer billed at once.

use crate::infra::context::AppContext;
use crate::infra::error::DomainResult;
use crate::studio::catalog::{self, PackageFields, TaxRateFields};
use crate::studio::sessions::{self, ItemInput, ScheduleSession};
use crate::studio::studios::{self, NewStudio};
use chrono::Duration;
use entity::enums::PaymentPreference;
use rust_decimal::Decimal;

pub struct Demo {
    pub api_key: String,
    pub studio_id: i64,
    pub auto_pay_session_id: i64,
    pub invoice_session_id: i64,
    /// Mia's wedding, four months ahead, on the package's default plan.
    pub plan_session_id: i64,
    /// The dashboard login: email and a generated password (shown once).
    pub staff_email: String,
    pub staff_password: String,
    /// An earlier demo studio on the same database, if `seed-demo` ran before
    /// (the command then says how to start over).
    pub earlier_demo_studio_id: Option<i64>,
}

pub async fn seed_demo(ctx: &AppContext) -> DomainResult<Demo> {
    let db = &ctx.db;
    let earlier_demo_studio_id = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
        entity::studio::Entity::find()
            .filter(entity::studio::Column::Name.eq(DEMO_STUDIO_NAME))
            .order_by_asc(entity::studio::Column::Id)
            .select_only()
            .column(entity::studio::Column::Id)
            .into_tuple::<i64>()
            .one(db)
            .await?
    };
    let (studio, api_key) = studios::create_studio(
        db,
        NewStudio {
            name: DEMO_STUDIO_NAME.into(),
            currency: "USD".into(),
            time_zone: "America/New_York".into(),
            payment_terms_days: 14,
            invoice_prefix: "GHP".into(),
            contact: studios::Contact {
                address: Some("12 Orchard Street\nBrooklyn, NY 11201".into()),
                email: Some("hello@goldenhour.example".into()),
                phone: Some("+1 718 555 0142".into()),
                logo_url: None,
            },
        },
        ctx.clock.now(),
    )
    .await?;
    catalog::create_tax_rate(
        db,
        &studio,
        TaxRateFields {
            name: Some("NY sales tax".into()),
            percent: Some(Decimal::new(8875, 3)),
            is_default: Some(true),
            active: Some(true),
            compound: None,
        },
        ctx.clock.now(),
    )
    .await?;
    let wedding = catalog::create_package(
        db,
        &studio,
        PackageFields {
            name: Some("Wedding Collection".into()),
            description: Some("8 hours, two photographers, 500 edited images".into()),
            price: Some(Decimal::new(320000, 2)),
            taxable: Some(true),
            active: Some(true),
        },
        ctx.clock.now(),
    )
    .await?;
    let portrait = portrait_package(ctx, &studio).await?;
    let extra_hour = catalog::create_add_on(
        db,
        &studio,
        PackageFields {
            name: Some("Extra hour of coverage".into()),
            price: Some(Decimal::new(25000, 2)),
            taxable: Some(true),
            ..Default::default()
        },
        ctx.clock.now(),
    )
    .await?;
    let prints = catalog::create_add_on(
        db,
        &studio,
        PackageFields {
            name: Some("Fine-art print 8x10".into()),
            price: Some(Decimal::new(4500, 2)),
            taxable: Some(true),
            ..Default::default()
        },
        ctx.clock.now(),
    )
    .await?;

    let ava = catalog::create_client(
        db,
        &studio,
        "Ava Martinez",
        "ava@example.com",
        PaymentPreference::AutoPay,
        None,
        ctx.clock.now(),
    )
    .await?;
    catalog::attach_payment_method(ctx, &studio, ava.id, "pm_card_visa").await?;
    let noah = catalog::create_client(
        db,
        &studio,
        "Noah Chen",
        "noah@example.com",
        PaymentPreference::Invoice,
        None,
        ctx.clock.now(),
    )
    .await?;

    let (wedding_session, _) = sessions::schedule_session(
        db,
        &studio,
        ScheduleSession {
            client_id: ava.id,
            package_id: Some(wedding.id),
            title: "Ava & Sam's wedding".into(),
            scheduled_at: ctx.clock.now() - Duration::days(2),
            items: vec![ItemInput {
                add_on_service_id: Some(extra_hour.id),
                description: None,
                quantity: 2,
                unit_price: None,
                taxable: None,
            }],
            retainer_paid: Some(Decimal::new(50000, 2)),
            tax_rate_ids: None,
            discount: None,
            fees: Vec::new(),
        },
        ctx.clock.now(),
    )
    .await?;
    let (portrait_session, _) = sessions::schedule_session(
        db,
        &studio,
        ScheduleSession {
            client_id: noah.id,
            package_id: Some(portrait.id),
            title: "Chen family portraits".into(),
            scheduled_at: ctx.clock.now() - Duration::days(1),
            items: vec![ItemInput {
                add_on_service_id: Some(prints.id),
                description: None,
                quantity: 3,
                unit_price: None,
                taxable: None,
            }],
            retainer_paid: None,
            tax_rate_ids: None,
            discount: None,
            fees: Vec::new(),
        },
        ctx.clock.now(),
    )
    .await?;
    add_demo_photos(ctx, &studio, &[&wedding_session, &portrait_session]).await?;
    let plan_session_id = book_on_a_plan(ctx, &studio, &wedding).await?;
    let staff_password = crate::infra::secrets::generate_password();
    let staff = crate::studio::staff::create_staff(
        db,
        studio.id,
        &demo_staff_email(studio.id),
        &staff_password,
        ctx.clock.now(),
    )
    .await?;
    Ok(Demo {
        api_key,
        staff_email: staff.email,
        staff_password,
        studio_id: studio.id,
        auto_pay_session_id: wedding_session.id,
        invoice_session_id: portrait_session.id,
        plan_session_id,
        earlier_demo_studio_id,
    })
}

impl Demo {
    /// What was loaded, in a sentence.
    pub fn summary(&self) -> String {
        format!(
            "Demo studio #{} loaded: session {} (Ava, auto-pay card), session {} (Noah, pays by \
             invoice) and session {} (Mia's wedding in four months, on a payment plan: 35 % billed \
             now, 35 % 60 days before, the rest 14 days before).",
            self.studio_id, self.auto_pay_session_id, self.invoice_session_id, self.plan_session_id
        )
    }
}

/// The Family Portrait package. It includes 3 images; the client picks
/// extras in the gallery (15.00 each up to 5 extras, 12.00 beyond, 50.00
/// for every photo).
async fn portrait_package(
    ctx: &AppContext,
    studio: &entity::studio::Model,
) -> DomainResult<entity::package::Model> {
    let portrait = catalog::create_package(
        &ctx.db,
        studio,
        PackageFields {
            name: Some("Family Portrait".into()),
            description: Some("1 hour on location, 40 edited images".into()),
            price: Some(Decimal::new(45000, 2)),
            taxable: Some(true),
            active: Some(true),
        },
        ctx.clock.now(),
    )
    .await?;
    let tier = |up_to, cents| catalog::TierInput {
        up_to,
        unit_price: Decimal::new(cents, 2),
    };
    let pricing = catalog::ImagePricingInput {
        included: 3,
        tiers: vec![tier(Some(5), 1500), tier(None, 1200)],
        full_gallery_price: Some(Decimal::new(5000, 2)),
    };
    catalog::set_package_image_pricing(&ctx.db, studio, portrait.id, Some(pricing)).await
}

/// Generated pictures the app serves itself, so the PREVIEW gallery of the
/// demo shows photos without any network.
async fn add_demo_photos(
    ctx: &AppContext,
    studio: &entity::studio::Model,
    sessions: &[&entity::session::Model],
) -> DomainResult<()> {
    use crate::followup::gallery::{DEMO_PHOTOS, NewPhoto, add_photos};
    for session in sessions {
        let photos: Vec<NewPhoto> = (1..=DEMO_PHOTOS.len())
            .map(|n| {
                let url = format!("{}/demo-photos/{n}.svg", ctx.settings.public_url());
                NewPhoto {
                    preview_url: Some(url.clone()),
                    url,
                    title: DEMO_PHOTOS
                        .get(n - 1)
                        .map(|(title, _, _)| (*title).to_string()),
                }
            })
            .collect();
        add_photos(&ctx.db, studio, session.id, &photos, ctx.clock.now()).await?;
    }
    Ok(())
}

/// Mia (pays by invoice) books the Wedding Collection four months ahead on
/// the package's default plan, "35 % at booking, 35 % 60 days before, the
/// rest 14 days before": the retainer is billed as soon as the plan is set
/// (emailed once the worker runs), the installments on their days.
async fn book_on_a_plan(
    ctx: &AppContext,
    studio: &entity::studio::Model,
    wedding: &entity::package::Model,
) -> DomainResult<i64> {
    use crate::studio::plans::{self, TemplateInput};
    let part = |percent: Option<i64>, days_before_session: Option<i32>| TemplateInput {
        amount: None,
        percent: percent.map(|p| Decimal::new(p, 0)),
        days_before_session,
    };
    let template = [
        part(Some(35), None),
        part(Some(35), Some(60)),
        part(None, Some(14)),
    ];
    plans::set_package_plan(&ctx.db, studio, wedding.id, &template).await?;
    let mia = catalog::create_client(
        &ctx.db,
        studio,
        "Mia Rossi",
        "mia@example.com",
        PaymentPreference::Invoice,
        None,
        ctx.clock.now(),
    )
    .await?;
    let (session, _) = sessions::schedule_session(
        &ctx.db,
        studio,
        ScheduleSession {
            client_id: mia.id,
            package_id: Some(wedding.id),
            title: "Mia & Leo's wedding".into(),
            scheduled_at: ctx.clock.now() + Duration::days(120),
            items: Vec::new(),
            retainer_paid: None,
            tax_rate_ids: None,
            discount: None,
            fees: Vec::new(),
        },
        ctx.clock.now(),
    )
    .await?;
    let id = crate::kernel::ids::SessionId::new(session.id);
    plans::set_plan(ctx, studio, id, None, None).await?;
    Ok(session.id)
}

const DEMO_STUDIO_NAME: &str = "Golden Hour Photography";

/// Staff emails are unique across studios: the first demo studio gets the
/// plain address, a second `seed-demo` on the same database a numbered one.
fn demo_staff_email(studio_id: i64) -> String {
    if studio_id == 1 {
        "owner@goldenhour.example".into()
    } else {
        format!("owner+{studio_id}@goldenhour.example")
    }
}
