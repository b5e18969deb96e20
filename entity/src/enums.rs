//! Every status is an enum, stored as its SCREAMING_SNAKE_CASE name.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $value:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
        #[sea_orm(rs_type = "String", db_type = "Text")]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name {
            $(#[sea_orm(string_value = $value)] $variant,)+
        }

        impl $name {
            pub fn as_str(&self) -> &'static str {
                match self { $(Self::$variant => $value,)+ }
            }
        }
    };
}

text_enum!(
    /// How a client prefers to settle an invoice.
    PaymentPreference { AutoPay = "AUTO_PAY", Invoice = "INVOICE" }
);
text_enum!(
    /// What becomes of the part of a retainer an invoice does not use.
    RetainerExcess { RefundDue = "REFUND_DUE", CarryForward = "CARRY_FORWARD" }
);
text_enum!(
    /// What a completed session does with its plan's parts not billed yet:
    /// its final invoice bills them, or they stay dated parts, billed on
    /// their days, that the final invoice credits.
    PlanPartsAtCompletion { Fold = "FOLD", Keep = "KEEP" }
);
text_enum!(
    /// A payment plan: `ACTIVE` while it applies to its session,
    /// `COMPLETED` once the session's final invoice netted it.
    PlanStatus { Active = "ACTIVE", Completed = "COMPLETED", Cancelled = "CANCELLED" }
);
text_enum!(
    /// One part of a payment plan: `SCHEDULED` until its day, `ISSUED` once
    /// billed as an installment invoice, `PAID` when that is paid;
    /// `FOLDED` when the session was completed first and its final invoice
    /// bills the part; `CANCELLED` with its plan.
    PlanPartStatus {
        Scheduled = "SCHEDULED",
        Issued = "ISSUED",
        Paid = "PAID",
        Folded = "FOLDED",
        Cancelled = "CANCELLED",
    }
);
text_enum!(
    /// What an invoice bills: the session (`FINAL`, issued when it is
    /// completed) or one part of its payment plan (`INSTALLMENT`).
    InvoiceKind { Final = "FINAL", Installment = "INSTALLMENT", Extras = "EXTRAS" }
);
text_enum!(
    /// Who submitted a gallery selection: the client in the gallery, the
    /// studio for them, or the default pick at the studio's deadline.
    PickedBy { Client = "CLIENT", Studio = "STUDIO", Default = "DEFAULT" }
);
text_enum!(
    /// What the gallery's log records: a login, a page view, a
    /// full-resolution download.
    GalleryEventKind { Login = "LOGIN", View = "VIEW", Download = "DOWNLOAD" }
);
text_enum!(
    /// Which payments a studio's tipping is offered on: every one, or only
    /// those of the session's final invoice.
    TipOffer { EveryPayment = "EVERY_PAYMENT", FinalPayment = "FINAL_PAYMENT" }
);
text_enum!(
    SessionStatus { Scheduled = "SCHEDULED", Completed = "COMPLETED", Cancelled = "CANCELLED" }
);
text_enum!(
    InvoiceStatus {
        Draft = "DRAFT",
        Open = "OPEN",
        PartiallyPaid = "PARTIALLY_PAID",
        Paid = "PAID",
        Void = "VOID",
        Uncollectible = "UNCOLLECTIBLE",
    }
);
text_enum!(
    PaymentStatus { Pending = "PENDING", Succeeded = "SUCCEEDED", Failed = "FAILED" }
);
text_enum!(
    /// Where a payment attempt came from.
    PaymentSource { AutoPay = "AUTO_PAY", Portal = "PORTAL", Manual = "MANUAL", Webhook = "WEBHOOK" }
);
text_enum!(
    GalleryLevel { Locked = "LOCKED", Preview = "PREVIEW", Full = "FULL" }
);
text_enum!(
    /// `CARD_SETUP` (the link to put a card on file) is about no invoice:
    /// its rows have `invoice_id` 0 and the setup request's id as `step`;
    /// so is `PLAN_UPDATED` (step `{plan_id}:{revision}`).
    NotificationKind {
        Invoice = "INVOICE",
        Receipt = "RECEIPT",
        GalleryCredentials = "GALLERY_CREDENTIALS",
        GalleryUpgraded = "GALLERY_UPGRADED",
        DeclineNotice = "DECLINE_NOTICE",
        Reminder = "REMINDER",
        GalleryExpiring = "GALLERY_EXPIRING",
        RefundConfirmation = "REFUND_CONFIRMATION",
        CardSetup = "CARD_SETUP",
        PlanUpdated = "PLAN_UPDATED",
    }
);
text_enum!(
    /// `FAILED`: the email can never be sent as it is (e.g. the mail library
    /// refused a header); its `error` says why.
    NotificationStatus { Pending = "PENDING", Sending = "SENDING", Sent = "SENT", Failed = "FAILED" }
);
text_enum!(
    OutboxStatus { Pending = "PENDING", Enqueued = "ENQUEUED", Done = "DONE", Failed = "FAILED" }
);
text_enum!(
    /// How money arrived: a card through the gateway, or recorded by hand.
    PaymentMethod { Card = "CARD", Cash = "CASH", Check = "CHECK", BankTransfer = "BANK_TRANSFER", Other = "OTHER" }
);
text_enum!(
    RefundStatus { Pending = "PENDING", Succeeded = "SUCCEEDED", Failed = "FAILED" }
);
text_enum!(
    /// Where tax is rounded to minor units: on each line, or once on the invoice total.
    Rounding { PerLine = "PER_LINE", PerInvoice = "PER_INVOICE" }
);
text_enum!(
    /// What happened to an invoice; the audit trail is append-only.
    InvoiceEventKind {
        Created = "CREATED",
        Finalized = "FINALIZED",
        PaymentSucceeded = "PAYMENT_SUCCEEDED",
        PaymentFailed = "PAYMENT_FAILED",
        ManualPaymentRecorded = "MANUAL_PAYMENT_RECORDED",
        RefundSucceeded = "REFUND_SUCCEEDED",
        RefundFailed = "REFUND_FAILED",
        DisputeOpened = "DISPUTE_OPENED",
        DisputeClosed = "DISPUTE_CLOSED",
        Voided = "VOIDED",
        CreditNoteIssued = "CREDIT_NOTE_ISSUED",
        Resent = "RESENT",
        LateFeeAdded = "LATE_FEE_ADDED",
        Reissued = "REISSUED",
        MarkedUncollectible = "MARKED_UNCOLLECTIBLE",
        CreditRepaid = "CREDIT_REPAID",
        CardChecked = "CARD_CHECKED",
        CardCheckFailed = "CARD_CHECK_FAILED",
        PayersSet = "PAYERS_SET",
        Repriced = "REPRICED",
    }
);
text_enum!(
    WebhookStatus { Processed = "PROCESSED", Ignored = "IGNORED" }
);
text_enum!(
    /// The line kinds an invoice carries.
    LineKind { Package = "PACKAGE", AddOn = "ADD_ON", Custom = "CUSTOM", Fee = "FEE", LateFee = "LATE_FEE", Installment = "INSTALLMENT" }
);

impl GalleryLevel {
    /// Ordering used to decide whether a change is an upgrade.
    pub fn rank(&self) -> u8 {
        match self {
            Self::Locked => 0,
            Self::Preview => 1,
            Self::Full => 2,
        }
    }
}
text_enum!(
    /// A hosted Checkout Session of the portal, as this system knows it.
    CheckoutStatus {
        Creating = "CREATING",
        Open = "OPEN",
        Processing = "PROCESSING",
        Complete = "COMPLETE",
        Expired = "EXPIRED",
        Failed = "FAILED",
        Mismatch = "MISMATCH",
    }
);
