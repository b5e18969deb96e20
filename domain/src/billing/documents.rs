//! An invoice with everything needed to show it (email, portal): loaded once,
//! rendered the same everywhere so every surface shows the same minor units.
//!
//! An invoice stores whether its prices include tax (`prices_include_tax`);
//! `InvoiceDocument::discount_row` and `tax_inclusive_note` are what the
//! email, the PDF and the portal print. A payment is named by
//! `payment_label` (`Visa •••• 4242`, `Check #1042`), never by a gateway id.

pub use crate::billing::labels::{
    card_brand, card_display, first_word, greeting_name, payment_card, payment_label,
};
use crate::billing::pdf::{PdfAmount, PdfInvoice, PdfLine, PdfPayment};
use crate::infra::context::AppContext;
use crate::infra::error::DomainResult;
use crate::kernel::money::{Currency, Minor, Money};
use entity::enums::{InvoiceKind, InvoiceStatus, PaymentStatus, RefundStatus};
use entity::{
    client, credit_note, invoice, invoice_line, invoice_payer, payment, refund, session, studio,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};

#[derive(Clone)]
pub struct InvoiceDocument {
    pub studio: studio::Model,
    pub client: client::Model,
    pub session: session::Model,
    pub invoice: invoice::Model,
    pub lines: Vec<invoice_line::Model>,
    pub payments: Vec<payment::Model>,
    pub refunds: Vec<refund::Model>,
    /// The void's credit note, if the invoice was voided.
    pub credit_note: Option<credit_note::Model>,
    /// Every credit note, the refunds' included, in order.
    pub credit_notes: Vec<credit_note::Model>,
    pub currency: Currency,
    /// For an installment: where the client stands on the plan
    /// (`installments::standing`), said on its receipts.
    pub standing: Option<String>,
    /// The payers sharing the invoice (`billing::payers`), first first.
    pub payers: Vec<invoice_payer::Model>,
    /// The payer this document is for (their link, their receipt), if it
    /// is for a payer rather than the contracting client.
    pub payer: Option<invoice_payer::Model>,
    /// How the studio taxes its card surcharge here (`None`: it does not).
    pub surcharge_taxed: Option<crate::billing::surcharge::Taxed>,
}

mod on_top;
mod parties;
mod payers;

pub use parties::{Parties, with_parties, with_parties_locked};

impl InvoiceDocument {
    /// Loads everything about `invoice` in one read-only transaction: one
    /// consistent view, and one transaction instead of one per table.
    pub async fn load(ctx: &AppContext, invoice: invoice::Model) -> DomainResult<Self> {
        let tx = ctx.db.begin().await?;
        let document = Self::load_in(&tx, invoice).await?;
        tx.commit().await?;
        Ok(document)
    }

    pub async fn load_by_id(ctx: &AppContext, invoice_id: i64) -> DomainResult<Self> {
        let tx = ctx.db.begin().await?;
        let document = Self::load_by_id_in(&tx, invoice_id).await?;
        tx.commit().await?;
        Ok(document)
    }

    /// [`load_by_id`](Self::load_by_id) inside the caller's transaction.
    pub async fn load_by_id_in<C: ConnectionTrait>(
        conn: &C,
        invoice_id: i64,
    ) -> DomainResult<Self> {
        let (invoice, parties) = with_parties(conn, invoice_id).await?;
        Self::load_with(conn, invoice, parties).await
    }

    async fn load_in<C: ConnectionTrait>(conn: &C, invoice: invoice::Model) -> DomainResult<Self> {
        let (_, parties) = with_parties(conn, invoice.id).await?;
        Self::load_with(conn, invoice, parties).await
    }

    async fn load_with<C: ConnectionTrait>(
        conn: &C,
        invoice: invoice::Model,
        Parties {
            studio,
            client,
            session,
        }: Parties,
    ) -> DomainResult<Self> {
        let lines = invoice_lines(conn, invoice.id).await?;
        let payments = invoice_payments(conn, invoice.id).await?;
        let refunds = refund::Entity::find()
            .filter(refund::Column::InvoiceId.eq(invoice.id))
            .order_by_asc(refund::Column::Id)
            .all(conn)
            .await?;
        let credit_notes = credit_note::Entity::find()
            .filter(credit_note::Column::InvoiceId.eq(invoice.id))
            .order_by_asc(credit_note::Column::Id)
            .all(conn)
            .await?;
        let credit_note = credit_notes.iter().find(|n| n.refund_id.is_none()).cloned();
        let standing = crate::billing::installments::standing(conn, &invoice).await?;
        let payers = crate::billing::payers::payers_of(conn, invoice.id).await?;
        let surcharge_taxed = crate::billing::surcharge::taxed_by(conn, &studio, &session).await?;
        Ok(Self {
            surcharge_taxed,
            payers,
            payer: None,
            standing,
            refunds,
            credit_note,
            credit_notes,
            studio,
            client,
            session,
            currency: invoice.currency,
            invoice,
            lines,
            payments,
        })
    }

    /// How the invoice email opens, up to the invoice's number: thanks for
    /// the session, or, for an installment, the booking's plan.
    pub fn opening(&self) -> String {
        let title = &self.session.title;
        match self.invoice.kind {
            InvoiceKind::Final => format!("Thank you for your session “{title}”. Here is invoice "),
            InvoiceKind::Installment => {
                format!("For your booking “{title}”, as your payment plan says, here is invoice ")
            }
            InvoiceKind::Extras => {
                format!("For the extra photos you picked from “{title}”, here is invoice ")
            }
        }
    }

    pub fn money(&self, minor: Minor) -> String {
        Money::new(minor, self.currency).to_string()
    }

    pub fn due_date(&self) -> String {
        self.invoice.due_date.format("%B %-d, %Y").to_string()
    }

    /// The credit note issued with refund `refund_id` (none for a chargeback).
    pub fn refund_credit_note(&self, refund_id: i64) -> Option<&credit_note::Model> {
        self.credit_notes
            .iter()
            .find(|n| n.refund_id == Some(refund_id))
    }

    /// The invoice's successful payments, oldest first: receipt `n` in the
    /// portal (`/pay/{token}/receipt/{n}.pdf`) is the n-th of these, so no
    /// internal id appears in a client's URL.
    /// A payer's document lists only that payer's payments.
    pub fn receipts(&self) -> Vec<&payment::Model> {
        self.payments
            .iter()
            .filter(|p| p.status == PaymentStatus::Succeeded)
            .filter(|p| {
                self.payer
                    .as_ref()
                    .is_none_or(|me| p.payer_id == Some(me.id))
            })
            .collect()
    }

    /// The receipt for one payment as a PDF: the invoice it paid (lines and
    /// totals as everywhere else), the payment's date, amount and card, and
    /// no link to pay. Clients keep it, so it carries no internal id.
    pub fn receipt_pdf(&self, payment: &payment::Model) -> crate::DomainResult<Vec<u8>> {
        let mut view = self.pdf_view(None);
        self.as_the_payer_sees(&mut view);
        let number = self.invoice.display_number().to_string();
        view.title = "Receipt".into();
        view.status = "PAID".into();
        view.issue_date = self.date(payment.created_at);
        view.due_date = None;
        view.reference = Some(format!("Invoice {number}"));
        view.payment_terms = None;
        view.portal_link = None;
        view.notes.insert(
            0,
            format!(
                "Payment of {} received on {} by {} for invoice {number}. Thank you!",
                self.money(self.receipt_figure(payment)),
                self.date(payment.created_at),
                payment_label(payment),
            ),
        );
        let mut at = 1;
        if let Some(note) = self.on_top_note(payment) {
            view.notes.insert(at, note);
            at += 1;
        }
        view.beyond = self.beyond_rows(payment);
        if let Some(standing) = &self.standing {
            view.notes.insert(at, standing.clone());
        }
        crate::billing::pdf::render(&view).map_err(|e| {
            anyhow::anyhow!("rendering the receipt of payment {}: {e}", payment.id).into()
        })
    }

    /// The most recent declined attempt, if the invoice is still unpaid.
    pub fn last_decline(&self) -> Option<&payment::Model> {
        self.payments
            .iter()
            .rev()
            .find(|p| p.status == entity::enums::PaymentStatus::Failed)
    }

    /// The invoice as a PDF: the same minor units, formatted the same way,
    /// as the API, the email and the portal.
    pub fn pdf(&self, portal_url: Option<String>) -> crate::DomainResult<Vec<u8>> {
        let mut view = self.pdf_view(portal_url);
        self.as_the_payer_sees(&mut view);
        crate::billing::pdf::render(&view)
            .map_err(|e| anyhow::anyhow!("rendering invoice {}: {e}", self.invoice.id).into())
    }

    fn date(&self, at: chrono::DateTime<chrono::Utc>) -> String {
        let tz = crate::billing::invoicing::studio_tz(&self.studio);
        at.with_timezone(&tz).format("%B %-d, %Y").to_string()
    }

    /// The tax shown per rate (`GST 5% $12.50`), as (label, formatted
    /// amount); one "Tax" line for invoices without a stored breakdown. The
    /// email and the PDF both print these, so they show the same cents.
    pub fn tax_lines(&self) -> Vec<(String, String)> {
        let mut taxes: Vec<(String, String)> =
            crate::kernel::adjustments::parse_tax_breakdown(&self.invoice.tax_breakdown)
                .into_iter()
                .map(|t| {
                    (
                        format!("{} {}%", t.name, t.percent.normalize()),
                        self.money(t.amount_minor),
                    )
                })
                .collect();
        if taxes.is_empty() {
            taxes.push(("Tax".into(), self.money(self.invoice.tax_minor)));
        }
        taxes
    }

    /// The discounts as a row between the lines (printed at full price) and
    /// the subtotal (which has them taken off), as (label, `-amount`); every
    /// surface prints it so that the lines visibly add up to the subtotal.
    pub fn discount_row(&self) -> Option<(String, String)> {
        let discount = self.invoice.discount_minor;
        let row = ("Discount".to_string(), self.money(-discount));
        discount.is_positive().then_some(row)
    }

    /// The credits taken off the total, as (label, `-amount`): the retainer,
    /// the payment plan's installments (one row each) and credit carried
    /// from earlier invoices. Every surface prints these.
    pub fn credit_rows(&self) -> Vec<(String, String)> {
        let inv = &self.invoice;
        let (credit, carried) = (inv.credit_minor, inv.carried_credit_minor);
        let carried = carried.clamp(Minor::ZERO, credit.at_least_zero());
        let plan = inv.plan_credit_minor.clamp(Minor::ZERO, credit - carried);
        let retainer = credit - carried - plan;
        let mut rows = Vec::new();
        if retainer.is_positive() {
            rows.push(("Retainer paid".to_string(), self.money(-retainer)));
        }
        let installments = crate::billing::installments::credit_rows(plan, &inv.plan_credits);
        rows.extend(installments.map(|(label, amount)| (label, self.money(-amount))));
        if carried.is_positive() {
            rows.push((
                "Credit from an earlier invoice".to_string(),
                self.money(-carried),
            ));
        }
        rows
    }

    /// The credit this invoice could not use (a retainer above its total),
    /// as (label, amount), so it appears wherever the invoice does: owed
    /// back to the client, or carried to their next invoice.
    pub fn excess_row(&self) -> Option<(String, String)> {
        let owed = crate::billing::credits::due_to_client(&self.invoice);
        let carried = crate::billing::credits::carried_forward(&self.invoice);
        if let Some((amount, at, reference)) =
            crate::billing::credits::repaid_to_client(&self.invoice)
        {
            let on = at
                .with_timezone(&crate::billing::invoicing::studio_tz(&self.studio))
                .format("%B %-d, %Y");
            Some((
                format!(
                    "Credit repaid to you by {} on {on} (reference {reference})",
                    self.studio.name
                ),
                self.money(amount),
            ))
        } else if owed.is_positive() {
            Some((
                format!("Credit due to you from {}", self.studio.name),
                self.money(owed),
            ))
        } else if carried.is_positive() {
            Some((
                "Credit carried to your next invoice".to_string(),
                self.money(carried),
            ))
        } else {
            None
        }
    }

    /// "Prices include VAT." (the tax's own name) on an invoice whose prices
    /// include tax, for the email, the PDF and the portal alike.
    pub fn tax_inclusive_note(&self) -> Option<String> {
        if !self.invoice.prices_include_tax {
            return None;
        }
        let mut names: Vec<String> =
            crate::kernel::adjustments::parse_tax_breakdown(&self.invoice.tax_breakdown)
                .into_iter()
                .map(|t| t.name)
                .collect();
        names.dedup();
        if names.is_empty() && self.invoice.tax_minor.is_zero() {
            return None;
        }
        let names = match names.as_slice() {
            [] => "tax".to_string(),
            [one] => one.clone(),
            [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
        };
        Some(format!("Prices include {names}."))
    }

    pub fn pdf_view(&self, portal_url: Option<String>) -> PdfInvoice {
        let inv = &self.invoice;
        let mut adjustments = Vec::new();
        let mut notes = Vec::new();
        if inv.discount_minor.is_positive() {
            notes.push(format!(
                "The subtotal includes discounts of {}.",
                self.money(inv.discount_minor)
            ));
        }
        notes.extend(self.tax_inclusive_note());
        let taxes: Vec<PdfAmount> = self
            .tax_lines()
            .into_iter()
            .map(|(label, amount)| PdfAmount { label, amount })
            .collect();
        for (label, amount) in self.credit_rows() {
            adjustments.push(PdfAmount { label, amount });
        }
        // A payer's document lists only that payer's payments and refunds.
        let mut payments: Vec<PdfPayment> = self
            .receipts()
            .into_iter()
            .map(|p| PdfPayment {
                date: self.date(p.created_at),
                description: payment_label(p),
                amount: self.money(p.amount_minor),
            })
            .collect();
        payments.extend(
            self.own_refunds()
                .into_iter()
                .filter(|r| r.status == RefundStatus::Succeeded)
                .map(|r| PdfPayment {
                    date: self.date(r.updated_at),
                    description: match self.refund_credit_note(r.id) {
                        Some(note) => format!("Refund (credit note {})", note.number),
                        None => "Chargeback".into(),
                    },
                    amount: self.money(-r.amount_minor),
                }),
        );
        // The summary rows mirror the API's fields one for one:
        // `amountPaid` (money received), `amountRefunded`, `amountCredited`
        // (refunds' credit notes), then `amountDue`.
        let mut settlement = Vec::new();
        if inv.amount_refunded_minor.is_positive() {
            settlement.push(PdfAmount {
                label: "Amount refunded".into(),
                amount: self.money(inv.amount_refunded_minor),
            });
        }
        if inv.amount_credited_minor.is_positive() {
            settlement.push(PdfAmount {
                label: "Credited (credit notes)".into(),
                amount: self.money(-inv.amount_credited_minor),
            });
        }
        if let Some((label, amount)) = self.excess_row() {
            notes.push(format!("{label}: {amount}."));
        }
        let status = match inv.status {
            InvoiceStatus::PartiallyPaid => "PARTIALLY PAID".to_string(),
            other => other.as_str().to_string(),
        };
        if let Some(note) = &self.credit_note {
            notes.push(format!(
                "Voided{}: cancelled by credit note {} for {}.",
                inv.void_reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default(),
                note.number,
                self.money(note.amount_minor)
            ));
        }
        let settled = matches!(inv.status, InvoiceStatus::Paid | InvoiceStatus::Void);
        PdfInvoice {
            title: "Invoice".into(),
            number: inv.display_number().to_string(),
            status,
            studio_name: self.studio.name.clone(),
            studio_address: address_lines(&self.studio.address),
            studio_tax_id: self.studio.tax_id.clone(),
            studio_email: self.studio.email.clone(),
            studio_phone: self.studio.phone.clone(),
            client_name: self.client.name.clone(),
            client_email: self.client.email.clone(),
            client_address: Vec::new(),
            issue_date: self.date(inv.issued_at),
            due_date: Some(self.due_date()),
            reference: Some(format!("Session: {}", self.session.title)),
            lines: self
                .lines
                .iter()
                .map(|l| PdfLine {
                    description: l.description.clone(),
                    quantity: l.quantity.to_string(),
                    unit_price: self.money(l.unit_price_minor),
                    amount: self.money(l.amount_minor),
                })
                .collect(),
            subtotal: self.money(inv.subtotal_minor),
            adjustments,
            taxes,
            total: self.money(inv.total_minor),
            payments,
            amount_paid: self.money(inv.amount_paid_minor),
            settlement,
            amount_due: self.money(inv.amount_due_minor),
            beyond: Vec::new(),
            payment_terms: Some(format!(
                "Due within {} days of issue",
                self.studio.payment_terms_days
            )),
            portal_link: portal_url.filter(|_| !settled),
            notes,
        }
    }
}

/// A postal address as printed: one trimmed line per line, blank ones
/// dropped.
fn address_lines(address: &str) -> Vec<String> {
    address
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// An invoice's lines, in their order.
pub async fn invoice_lines<C: sea_orm::ConnectionTrait>(
    db: &C,
    invoice_id: i64,
) -> DomainResult<Vec<invoice_line::Model>> {
    Ok(invoice_line::Entity::find()
        .filter(invoice_line::Column::InvoiceId.eq(invoice_id))
        .order_by_asc(invoice_line::Column::Position)
        .all(db)
        .await?)
}

/// An invoice's payments, oldest first.
pub async fn invoice_payments<C: sea_orm::ConnectionTrait>(
    db: &C,
    invoice_id: i64,
) -> DomainResult<Vec<payment::Model>> {
    Ok(payment::Entity::find()
        .filter(payment::Column::InvoiceId.eq(invoice_id))
        .order_by_asc(payment::Column::Id)
        .all(db)
        .await?)
}
