use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Studios {
    Table,
    Id,
    Name,
    Currency,
    TimeZone,
    PaymentTermsDays,
    InvoicePrefix,
    PricesIncludeTax,
    GalleryFullDays,
    GalleryUnpaidLevel,
    GalleryUnpaidDays,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    StudioId,
    Label,
    KeyHash,
    KeyPrefix,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    Id,
    StudioId,
    Name,
    Email,
    PaymentPreference,
    PmToken,
    PmBrand,
    PmLast4,
    PmExpMonth,
    PmExpYear,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Packages {
    Table,
    Id,
    StudioId,
    Name,
    Description,
    PriceMinor,
    Taxable,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AddOnServices {
    Table,
    Id,
    StudioId,
    Name,
    UnitPriceMinor,
    Taxable,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TaxRates {
    Table,
    Id,
    StudioId,
    Name,
    Percent,
    IsDefault,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    StudioId,
    ClientId,
    PackageId,
    PackageName,
    PackagePriceMinor,
    PackageTaxable,
    Title,
    ScheduledAt,
    Status,
    RetainerPaidMinor,
    TaxRateIds,
    CompletedAt,
    CancelledAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SessionItems {
    Table,
    Id,
    SessionId,
    AddOnServiceId,
    Description,
    Quantity,
    UnitPriceMinor,
    Taxable,
}

#[derive(DeriveIden)]
enum Invoices {
    Table,
    Id,
    StudioId,
    SessionId,
    ClientId,
    Number,
    Status,
    Currency,
    SubtotalMinor,
    TaxMinor,
    CreditMinor,
    TotalMinor,
    AmountPaidMinor,
    AmountDueMinor,
    IssuedAt,
    DueDate,
    PaidAt,
    PortalSalt,
    PortalTokenHash,
    RequestId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum InvoiceLines {
    Table,
    Id,
    InvoiceId,
    Position,
    Kind,
    Description,
    Quantity,
    UnitPriceMinor,
    AmountMinor,
    Taxable,
    TaxMinor,
}

#[derive(DeriveIden)]
enum InvoiceNumberCounters {
    Table,
    StudioId,
    LastValue,
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    Id,
    StudioId,
    InvoiceId,
    AmountMinor,
    Currency,
    Status,
    Source,
    IdempotencyKey,
    PaymentMethodToken,
    GatewayReference,
    FailureCode,
    FailureMessage,
    CardBrand,
    CardLast4,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum GalleryAccess {
    Table,
    Id,
    StudioId,
    SessionId,
    ClientId,
    InvoiceId,
    Level,
    ExpiresAt,
    Username,
    PasswordHash,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    StudioId,
    InvoiceId,
    Kind,
    Step,
    Recipient,
    Subject,
    Status,
    MessageId,
    ClaimedUntil,
    CreatedAt,
    SentAt,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    StudioId,
    Payload,
    DedupKey,
    Status,
    Attempts,
    ClaimedUntil,
    EnqueuedAt,
    DoneAt,
    LastError,
    RequestId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SimulatedGatewayCharges {
    Table,
    IdempotencyKey,
    Reference,
    Token,
    AmountMinor,
    Currency,
    Succeeded,
    DeclineCode,
    CreatedAt,
}

fn fk(
    from_table: impl IntoIden,
    from_col: impl IntoIden,
    to_table: impl IntoIden,
    to_col: impl IntoIden,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from_table, from_col)
        .to(to_table, to_col)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn studio_fk(table: impl IntoIden) -> ForeignKeyCreateStatement {
    fk(table, Alias::new("studio_id"), Studios::Table, Studios::Id)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Studios::Table)
                .col(big_pk_auto(Studios::Id))
                .col(string(Studios::Name))
                .col(string_len(Studios::Currency, 3))
                .col(string(Studios::TimeZone))
                .col(integer(Studios::PaymentTermsDays))
                .col(string(Studios::InvoicePrefix))
                .col(boolean(Studios::PricesIncludeTax))
                .col(integer(Studios::GalleryFullDays))
                .col(string(Studios::GalleryUnpaidLevel))
                .col(integer(Studios::GalleryUnpaidDays))
                .col(timestamp_with_time_zone(Studios::CreatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ApiKeys::Table)
                .col(big_pk_auto(ApiKeys::Id))
                .col(big_integer(ApiKeys::StudioId))
                .col(string(ApiKeys::Label))
                .col(string_uniq(ApiKeys::KeyHash))
                .col(string(ApiKeys::KeyPrefix))
                .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                .foreign_key(&mut studio_fk(ApiKeys::Table))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Clients::Table)
                .col(big_pk_auto(Clients::Id))
                .col(big_integer(Clients::StudioId))
                .col(string(Clients::Name))
                .col(string(Clients::Email))
                .col(string(Clients::PaymentPreference))
                .col(string_null(Clients::PmToken))
                .col(string_null(Clients::PmBrand))
                .col(string_len_null(Clients::PmLast4, 4))
                .col(integer_null(Clients::PmExpMonth))
                .col(integer_null(Clients::PmExpYear))
                .col(timestamp_with_time_zone(Clients::CreatedAt))
                .col(timestamp_with_time_zone(Clients::UpdatedAt))
                .foreign_key(&mut studio_fk(Clients::Table))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_clients_studio_email")
                .table(Clients::Table)
                .col(Clients::StudioId)
                .col(Clients::Email)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Packages::Table)
                .col(big_pk_auto(Packages::Id))
                .col(big_integer(Packages::StudioId))
                .col(string(Packages::Name))
                .col(text(Packages::Description))
                .col(big_integer(Packages::PriceMinor))
                .col(boolean(Packages::Taxable))
                .col(boolean(Packages::Active))
                .col(timestamp_with_time_zone(Packages::CreatedAt))
                .foreign_key(&mut studio_fk(Packages::Table))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AddOnServices::Table)
                .col(big_pk_auto(AddOnServices::Id))
                .col(big_integer(AddOnServices::StudioId))
                .col(string(AddOnServices::Name))
                .col(big_integer(AddOnServices::UnitPriceMinor))
                .col(boolean(AddOnServices::Taxable))
                .col(boolean(AddOnServices::Active))
                .col(timestamp_with_time_zone(AddOnServices::CreatedAt))
                .foreign_key(&mut studio_fk(AddOnServices::Table))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(TaxRates::Table)
                .col(big_pk_auto(TaxRates::Id))
                .col(big_integer(TaxRates::StudioId))
                .col(string(TaxRates::Name))
                .col(string(TaxRates::Percent))
                .col(boolean(TaxRates::IsDefault))
                .col(boolean(TaxRates::Active))
                .col(timestamp_with_time_zone(TaxRates::CreatedAt))
                .foreign_key(&mut studio_fk(TaxRates::Table))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Sessions::Table)
                .col(big_pk_auto(Sessions::Id))
                .col(big_integer(Sessions::StudioId))
                .col(big_integer(Sessions::ClientId))
                .col(big_integer_null(Sessions::PackageId))
                .col(string_null(Sessions::PackageName))
                .col(big_integer_null(Sessions::PackagePriceMinor))
                .col(boolean_null(Sessions::PackageTaxable))
                .col(string(Sessions::Title))
                .col(timestamp_with_time_zone(Sessions::ScheduledAt))
                .col(string(Sessions::Status))
                .col(big_integer(Sessions::RetainerPaidMinor))
                .col(string_null(Sessions::TaxRateIds))
                .col(timestamp_with_time_zone_null(Sessions::CompletedAt))
                .col(timestamp_with_time_zone_null(Sessions::CancelledAt))
                .col(timestamp_with_time_zone(Sessions::CreatedAt))
                .col(timestamp_with_time_zone(Sessions::UpdatedAt))
                .foreign_key(&mut studio_fk(Sessions::Table))
                .foreign_key(&mut fk(
                    Sessions::Table,
                    Sessions::ClientId,
                    Clients::Table,
                    Clients::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_sessions_studio_status")
                .table(Sessions::Table)
                .col(Sessions::StudioId)
                .col(Sessions::Status)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(SessionItems::Table)
                .col(big_pk_auto(SessionItems::Id))
                .col(big_integer(SessionItems::SessionId))
                .col(big_integer_null(SessionItems::AddOnServiceId))
                .col(string(SessionItems::Description))
                .col(integer(SessionItems::Quantity))
                .col(big_integer(SessionItems::UnitPriceMinor))
                .col(boolean(SessionItems::Taxable))
                .foreign_key(&mut fk(
                    SessionItems::Table,
                    SessionItems::SessionId,
                    Sessions::Table,
                    Sessions::Id,
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Invoices::Table)
                .col(big_pk_auto(Invoices::Id))
                .col(big_integer(Invoices::StudioId))
                .col(big_integer_uniq(Invoices::SessionId))
                .col(big_integer(Invoices::ClientId))
                .col(string(Invoices::Number))
                .col(string(Invoices::Status))
                .col(string_len(Invoices::Currency, 3))
                .col(big_integer(Invoices::SubtotalMinor))
                .col(big_integer(Invoices::TaxMinor))
                .col(big_integer(Invoices::CreditMinor))
                .col(big_integer(Invoices::TotalMinor))
                .col(big_integer(Invoices::AmountPaidMinor))
                .col(big_integer(Invoices::AmountDueMinor))
                .col(timestamp_with_time_zone(Invoices::IssuedAt))
                .col(date(Invoices::DueDate))
                .col(timestamp_with_time_zone_null(Invoices::PaidAt))
                .col(string(Invoices::PortalSalt))
                .col(string_uniq(Invoices::PortalTokenHash))
                .col(string_null(Invoices::RequestId))
                .col(timestamp_with_time_zone(Invoices::CreatedAt))
                .col(timestamp_with_time_zone(Invoices::UpdatedAt))
                .foreign_key(&mut studio_fk(Invoices::Table))
                .foreign_key(&mut fk(
                    Invoices::Table,
                    Invoices::SessionId,
                    Sessions::Table,
                    Sessions::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_invoices_studio_number")
                .table(Invoices::Table)
                .col(Invoices::StudioId)
                .col(Invoices::Number)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(InvoiceLines::Table)
                .col(big_pk_auto(InvoiceLines::Id))
                .col(big_integer(InvoiceLines::InvoiceId))
                .col(integer(InvoiceLines::Position))
                .col(string(InvoiceLines::Kind))
                .col(string(InvoiceLines::Description))
                .col(integer(InvoiceLines::Quantity))
                .col(big_integer(InvoiceLines::UnitPriceMinor))
                .col(big_integer(InvoiceLines::AmountMinor))
                .col(boolean(InvoiceLines::Taxable))
                .col(big_integer(InvoiceLines::TaxMinor))
                .foreign_key(&mut fk(
                    InvoiceLines::Table,
                    InvoiceLines::InvoiceId,
                    Invoices::Table,
                    Invoices::Id,
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(InvoiceNumberCounters::Table)
                .col(
                    big_integer(InvoiceNumberCounters::StudioId)
                        .primary_key()
                        .to_owned(),
                )
                .col(big_integer(InvoiceNumberCounters::LastValue))
                .foreign_key(&mut studio_fk(InvoiceNumberCounters::Table))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Payments::Table)
                .col(big_pk_auto(Payments::Id))
                .col(big_integer(Payments::StudioId))
                .col(big_integer(Payments::InvoiceId))
                .col(big_integer(Payments::AmountMinor))
                .col(string_len(Payments::Currency, 3))
                .col(string(Payments::Status))
                .col(string(Payments::Source))
                .col(string_uniq(Payments::IdempotencyKey))
                .col(string_null(Payments::PaymentMethodToken))
                .col(string_null(Payments::GatewayReference))
                .col(string_null(Payments::FailureCode))
                .col(text_null(Payments::FailureMessage))
                .col(string_null(Payments::CardBrand))
                .col(string_len_null(Payments::CardLast4, 4))
                .col(timestamp_with_time_zone(Payments::CreatedAt))
                .col(timestamp_with_time_zone(Payments::UpdatedAt))
                .foreign_key(&mut studio_fk(Payments::Table))
                .foreign_key(&mut fk(
                    Payments::Table,
                    Payments::InvoiceId,
                    Invoices::Table,
                    Invoices::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_payments_invoice")
                .table(Payments::Table)
                .col(Payments::InvoiceId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(GalleryAccess::Table)
                .col(big_pk_auto(GalleryAccess::Id))
                .col(big_integer(GalleryAccess::StudioId))
                .col(big_integer_uniq(GalleryAccess::SessionId))
                .col(big_integer(GalleryAccess::ClientId))
                .col(big_integer(GalleryAccess::InvoiceId))
                .col(string(GalleryAccess::Level))
                .col(timestamp_with_time_zone_null(GalleryAccess::ExpiresAt))
                .col(string(GalleryAccess::Username))
                .col(string_null(GalleryAccess::PasswordHash))
                .col(timestamp_with_time_zone(GalleryAccess::CreatedAt))
                .col(timestamp_with_time_zone(GalleryAccess::UpdatedAt))
                .foreign_key(&mut studio_fk(GalleryAccess::Table))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Notifications::Table)
                .col(big_pk_auto(Notifications::Id))
                .col(big_integer(Notifications::StudioId))
                .col(big_integer(Notifications::InvoiceId))
                .col(string(Notifications::Kind))
                .col(string(Notifications::Step))
                .col(string(Notifications::Recipient))
                .col(string(Notifications::Subject))
                .col(string(Notifications::Status))
                .col(string(Notifications::MessageId))
                .col(timestamp_with_time_zone_null(Notifications::ClaimedUntil))
                .col(timestamp_with_time_zone(Notifications::CreatedAt))
                .col(timestamp_with_time_zone_null(Notifications::SentAt))
                .foreign_key(&mut studio_fk(Notifications::Table))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_notifications_invoice_kind_step")
                .table(Notifications::Table)
                .col(Notifications::InvoiceId)
                .col(Notifications::Kind)
                .col(Notifications::Step)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Outbox::Table)
                .col(big_pk_auto(Outbox::Id))
                .col(big_integer_null(Outbox::StudioId))
                .col(text(Outbox::Payload))
                .col(string_uniq(Outbox::DedupKey))
                .col(string(Outbox::Status))
                .col(integer(Outbox::Attempts))
                .col(timestamp_with_time_zone_null(Outbox::ClaimedUntil))
                .col(timestamp_with_time_zone_null(Outbox::EnqueuedAt))
                .col(timestamp_with_time_zone_null(Outbox::DoneAt))
                .col(text_null(Outbox::LastError))
                .col(string_null(Outbox::RequestId))
                .col(timestamp_with_time_zone(Outbox::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_outbox_status")
                .table(Outbox::Table)
                .col(Outbox::Status)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(SimulatedGatewayCharges::Table)
                .col(
                    string(SimulatedGatewayCharges::IdempotencyKey)
                        .primary_key()
                        .to_owned(),
                )
                .col(string(SimulatedGatewayCharges::Reference))
                .col(string(SimulatedGatewayCharges::Token))
                .col(big_integer(SimulatedGatewayCharges::AmountMinor))
                .col(string_len(SimulatedGatewayCharges::Currency, 3))
                .col(boolean(SimulatedGatewayCharges::Succeeded))
                .col(string_null(SimulatedGatewayCharges::DeclineCode))
                .col(timestamp_with_time_zone(SimulatedGatewayCharges::CreatedAt))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Children before parents so foreign keys never block a drop.
        let tables: [DynIden; 16] = [
            SimulatedGatewayCharges::Table.into_iden(),
            Outbox::Table.into_iden(),
            Notifications::Table.into_iden(),
            GalleryAccess::Table.into_iden(),
            Payments::Table.into_iden(),
            InvoiceNumberCounters::Table.into_iden(),
            InvoiceLines::Table.into_iden(),
            Invoices::Table.into_iden(),
            SessionItems::Table.into_iden(),
            Sessions::Table.into_iden(),
            TaxRates::Table.into_iden(),
            AddOnServices::Table.into_iden(),
            Packages::Table.into_iden(),
            Clients::Table.into_iden(),
            ApiKeys::Table.into_iden(),
            Studios::Table.into_iden(),
        ];
        for table in tables {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
