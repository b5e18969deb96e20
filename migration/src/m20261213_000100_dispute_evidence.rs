//! A chargeback is answered with evidence (issue 21, item 8).
//!
//! - `disputes`: one row per gateway dispute (`ux_disputes_gateway`), opened
//!   by `charge.dispute.created` on one of our card payments: its amount,
//!   reason, the gateway's status (`needs_response`, `under_review`, `won`,
//!   `lost`...), the deadline for evidence (`evidence_due_by`), and the
//!   evidence: gathered once (`evidence`, JSON, `evidence_gathered_at`),
//!   approved by the studio when it reviews evidence (`approved_at`), sent
//!   once (`submission_attempts`, `evidence_submitted_at`).
//! - `studios.review_dispute_evidence`: the evidence waits for the studio's
//!   click on the dashboard instead of going out at once.
//! - `studios.refund_policy`: the studio's refund policy as its clients see
//!   it; sent with the evidence (as a document) when there is one.
//! - `simulated_gateway_disputes`: the simulated gateway's own disputes (a
//!   charge of its test card `pm_card_createDispute`), the evidence it was
//!   sent and how it closed them.

use crate::columns::{self, Column};
use sea_orm_migration::sea_orm::ConnectionTrait;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: [Column; 2] = [
    (
        "studios",
        "review_dispute_evidence",
        "boolean NOT NULL DEFAULT false",
    ),
    ("studios", "refund_policy", "text NULL"),
];

#[derive(DeriveIden)]
enum Disputes {
    Table,
    Id,
    StudioId,
    InvoiceId,
    PaymentId,
    GatewayId,
    AmountMinor,
    Currency,
    Reason,
    Status,
    EvidenceDueBy,
    OpenedAt,
    ClosedAt,
    Evidence,
    EvidenceGatheredAt,
    ApprovedAt,
    SubmissionAttempts,
    EvidenceSubmittedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SimulatedGatewayDisputes {
    Table,
    Id,
    ChargeReference,
    AmountMinor,
    Currency,
    Status,
    SubmissionCount,
    Evidence,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        columns::add(m, &COLUMNS).await?;
        m.create_table(
            Table::create()
                .table(Disputes::Table)
                .col(big_pk_auto(Disputes::Id))
                .col(big_integer(Disputes::StudioId))
                .col(big_integer(Disputes::InvoiceId))
                .col(big_integer(Disputes::PaymentId))
                .col(string(Disputes::GatewayId))
                .col(big_integer(Disputes::AmountMinor))
                .col(string(Disputes::Currency))
                .col(string_null(Disputes::Reason))
                .col(string(Disputes::Status))
                .col(timestamp_with_time_zone_null(Disputes::EvidenceDueBy))
                .col(timestamp_with_time_zone(Disputes::OpenedAt))
                .col(timestamp_with_time_zone_null(Disputes::ClosedAt))
                .col(text_null(Disputes::Evidence))
                .col(timestamp_with_time_zone_null(Disputes::EvidenceGatheredAt))
                .col(timestamp_with_time_zone_null(Disputes::ApprovedAt))
                .col(integer(Disputes::SubmissionAttempts).default(0))
                .col(timestamp_with_time_zone_null(Disputes::EvidenceSubmittedAt))
                .col(timestamp_with_time_zone(Disputes::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SimulatedGatewayDisputes::Table)
                .col(string(SimulatedGatewayDisputes::Id).primary_key())
                .col(string(SimulatedGatewayDisputes::ChargeReference))
                .col(big_integer(SimulatedGatewayDisputes::AmountMinor))
                .col(string(SimulatedGatewayDisputes::Currency))
                .col(string(SimulatedGatewayDisputes::Status))
                .col(integer(SimulatedGatewayDisputes::SubmissionCount).default(0))
                .col(text_null(SimulatedGatewayDisputes::Evidence))
                .col(timestamp_with_time_zone(
                    SimulatedGatewayDisputes::CreatedAt,
                ))
                .col(timestamp_with_time_zone(
                    SimulatedGatewayDisputes::UpdatedAt,
                ))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        for sql in [
            "CREATE UNIQUE INDEX ux_disputes_gateway ON disputes (gateway_id)",
            "CREATE INDEX ix_disputes_studio ON disputes (studio_id, opened_at)",
            "CREATE UNIQUE INDEX ux_simulated_disputes_charge ON simulated_gateway_disputes (charge_reference)",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(SimulatedGatewayDisputes::Table)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(Disputes::Table).to_owned())
            .await?;
        columns::drop(m, &COLUMNS).await
    }
}
