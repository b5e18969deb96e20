//! What a PDF shows, as preformatted text: an invoice's (or a receipt's,
//! or a credit note's) parties, lines, totals and notes.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PdfInvoice {
    pub title: String,
    pub number: String,
    pub status: String,
    pub studio_name: String,
    pub studio_address: Vec<String>,
    pub studio_tax_id: Option<String>,
    pub studio_email: Option<String>,
    pub studio_phone: Option<String>,
    pub client_name: String,
    pub client_email: String,
    pub client_address: Vec<String>,
    pub issue_date: String,
    pub due_date: Option<String>,
    pub reference: Option<String>,
    pub lines: Vec<PdfLine>,
    pub subtotal: String,
    /// Credits taken off after tax (retainer paid, credit carried from an
    /// earlier invoice), printed below the tax rows.
    pub adjustments: Vec<PdfAmount>,
    pub taxes: Vec<PdfAmount>,
    pub total: String,
    pub payments: Vec<PdfPayment>,
    pub amount_paid: String,
    /// Rows between "Amount paid" and "Amount due" (refunded, credited).
    pub settlement: Vec<PdfAmount>,
    pub amount_due: String,
    /// A receipt's rows outside the invoice, under "Amount due": the tip,
    /// the card surcharge, what the card was charged in all.
    pub beyond: Vec<PdfAmount>,
    pub payment_terms: Option<String>,
    pub portal_link: Option<String>,
    pub notes: Vec<String>,
}

impl PdfInvoice {
    /// How many rows the totals block has (kept together on a page).
    pub(super) fn total_rows(&self) -> usize {
        5 + self.adjustments.len()
            + self.taxes.len()
            + 2 * self.payments.len()
            + self.settlement.len()
            + self.beyond.len()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PdfLine {
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub amount: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PdfAmount {
    pub label: String,
    pub amount: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PdfPayment {
    pub date: String,
    pub description: String,
    pub amount: String,
}
