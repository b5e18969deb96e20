//! An invoice shared between payers as one payer sees it: what they owe
//! now, whom its emails address, and their own link.

use super::InvoiceDocument;
use crate::infra::context::AppContext;
use crate::kernel::money::Minor;
use entity::invoice_payer;

impl InvoiceDocument {
    /// The same invoice, for `payer` (their page, their emails).
    pub fn for_payer(&self, payer: &invoice_payer::Model) -> Self {
        let mut doc = self.clone();
        doc.payer = Some(payer.clone());
        doc
    }

    /// What each payer owes now, in order.
    pub fn payer_owed(&self) -> Vec<(&invoice_payer::Model, Minor)> {
        let owed = crate::billing::payers::owed(&self.invoice, &self.payers, &self.payments);
        self.payers.iter().zip(owed).collect()
    }

    /// What the reader owes now: a payer their part, the client the
    /// invoice's amount due.
    pub fn due_now(&self) -> Minor {
        match &self.payer {
            Some(me) => self
                .payer_owed()
                .into_iter()
                .find(|(p, _)| p.id == me.id)
                .map_or(Minor::ZERO, |(_, owed)| owed),
            None => self.invoice.amount_due_minor,
        }
    }

    /// The refunds the reader sees: a payer only those of their payments.
    pub fn own_refunds(&self) -> Vec<&entity::refund::Model> {
        let mine = |r: &entity::refund::Model| match &self.payer {
            Some(me) => self
                .payments
                .iter()
                .any(|p| p.id == r.payment_id && p.payer_id == Some(me.id)),
            None => true,
        };
        self.refunds.iter().filter(|r| mine(r)).collect()
    }

    /// The reader's most recent declined payment (a payer's own only).
    pub fn own_last_decline(&self) -> Option<&entity::payment::Model> {
        let mine = |p: &&entity::payment::Model| match &self.payer {
            Some(me) => p.payer_id == Some(me.id),
            None => p.payer_id.is_none(),
        };
        self.payments
            .iter()
            .rev()
            .filter(mine)
            .find(|p| p.status == entity::enums::PaymentStatus::Failed)
    }

    /// Who the document's emails go to: the payer, or the client.
    pub fn addressee(&self) -> (&str, &str) {
        match &self.payer {
            Some(p) => (&p.name, &p.email),
            None => (&self.client.name, &self.client.email),
        }
    }

    /// The name the reader is greeted by ("Hi Noah,").
    pub fn greeting_name(&self) -> String {
        match &self.payer {
            Some(p) => super::first_word(&p.name),
            None => super::greeting_name(&self.client),
        }
    }

    /// The reader's gateway Customer, if made.
    pub fn gateway_customer(&self) -> Option<String> {
        match &self.payer {
            Some(p) => p.gateway_customer_id.clone(),
            None => self.client.gateway_customer_id.clone(),
        }
    }

    /// What a payer's emails and page say of their share (nothing of the
    /// other payers); none for the client.
    pub fn share_sentence(&self) -> Option<String> {
        let me = self.payer.as_ref()?;
        let shared = self
            .payers
            .iter()
            .fold(Minor::ZERO, |sum, p| sum + p.share_minor);
        Some(format!(
            "The {} due on this invoice is shared between its payers: your share is {}.",
            self.money(shared),
            self.money(me.share_minor)
        ))
    }

    /// A payer's PDF: what they paid and owe in place of the invoice's
    /// totals paid and due, and their share said first (the payments are
    /// theirs already: `pdf_view` lists `receipts` and `own_refunds`).
    pub(super) fn as_the_payer_sees(&self, view: &mut crate::billing::pdf::PdfInvoice) {
        let Some(me) = &self.payer else {
            return;
        };
        view.amount_paid = self.money(crate::billing::payers::paid_by(me.id, &self.payments));
        view.settlement.clear();
        view.amount_due = self.money(self.due_now());
        view.notes.extend(self.share_sentence());
    }

    /// The hosted page's line for the invoice's money: "Invoice N — Studio",
    /// a payer's "Invoice N, your share — Studio".
    pub fn checkout_line(&self) -> String {
        let share = if self.payer.is_some() {
            ", your share"
        } else {
            ""
        };
        format!(
            "Invoice {}{share} — {}",
            self.invoice.display_number(),
            self.studio.name
        )
    }

    /// The reader's own portal link.
    pub fn portal_link(&self, ctx: &AppContext) -> String {
        let salt = self
            .payer
            .as_ref()
            .map_or(&self.invoice.portal_salt, |p| &p.portal_salt);
        ctx.portal_url(salt)
    }
}
