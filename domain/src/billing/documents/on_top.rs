//! What a receipt says of the money a payment carried on top of the
//! invoice's: the card surcharge and the tip, each its own figure.

use super::InvoiceDocument;
use crate::billing::pdf::PdfAmount;
use entity::payment;

impl InvoiceDocument {
    /// The figure a receipt leads with: the invoice's money, or the tip
    /// when it was paid alone ("Add a tip").
    pub fn receipt_figure(&self, payment: &payment::Model) -> crate::kernel::money::Minor {
        match payment.amount_minor.is_zero() {
            true => payment.tip_minor,
            false => payment.amount_minor,
        }
    }

    /// What a payment that carried a card surcharge or a tip says of them
    /// on its receipt (email and PDF): the card's total, and each as its
    /// own figure outside the invoice.
    pub fn on_top_note(&self, payment: &payment::Model) -> Option<String> {
        let (surcharge, tip) = (payment.surcharge_minor, payment.tip_minor);
        if !surcharge.is_positive() && !tip.is_positive() {
            return None;
        }
        let total = payment
            .amount_minor
            .checked_add(surcharge)?
            .checked_add(tip)?;
        let mut parts = vec![format!(
            "{} for the invoice",
            self.money(payment.amount_minor)
        )];
        if surcharge.is_positive() {
            let taxed = match payment.surcharge_tax_minor.is_positive() {
                true => format!("of which {} tax", self.money(payment.surcharge_tax_minor)),
                false => "not taxed".to_string(),
            };
            parts.push(format!(
                "a card surcharge of {} (not part of the invoice, {taxed}; debit and prepaid \
                 cards are never surcharged)",
                self.money(surcharge)
            ));
        }
        if tip.is_positive() {
            parts.push(format!(
                "your tip of {} (not part of the invoice, not taxed), thank you",
                self.money(tip)
            ));
        }
        let last = parts.pop()?;
        let said = match parts.is_empty() {
            true => last,
            false => format!("{} and {last}", parts.join(", ")),
        };
        let paid_with = match surcharge.is_positive() {
            true => "Your credit card was charged",
            false => "You paid",
        };
        Some(format!("{paid_with} {}: {said}.", self.money(total)))
    }

    /// A receipt's rows outside the invoice: the tip, the surcharge and the
    /// card's total, when the payment carried either.
    pub fn beyond_rows(&self, payment: &payment::Model) -> Vec<PdfAmount> {
        let (surcharge, tip) = (payment.surcharge_minor, payment.tip_minor);
        let mut rows = Vec::new();
        if tip.is_positive() {
            rows.push(PdfAmount {
                label: "Tip (gratuity), not part of the invoice".into(),
                amount: self.money(tip),
            });
        }
        if surcharge.is_positive() {
            let label = match payment.surcharge_tax_minor.is_positive() {
                true => format!(
                    "Card surcharge, not part of the invoice (of which {} tax)",
                    self.money(payment.surcharge_tax_minor)
                ),
                false => "Card surcharge, not part of the invoice".into(),
            };
            rows.push(PdfAmount {
                label,
                amount: self.money(surcharge),
            });
        }
        if !rows.is_empty() {
            rows.push(PdfAmount {
                label: "Charged with this payment".into(),
                amount: self.money(payment.amount_minor + surcharge + tip),
            });
        }
        rows
    }
}
