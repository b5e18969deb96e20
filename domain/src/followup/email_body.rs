//! A client email's body, written once: each sentence, table and link is
//! pushed once onto a [`Body`], which renders it as the plain-text part and
//! as the HTML part (inside the studio's [`layout`]). The two parts cannot
//! drift apart, because there is only one copy of what they say.

use crate::billing::documents::InvoiceDocument;
use maud::{DOCTYPE, Markup, html};

/// Amounts and invoice numbers are never broken inside.
const NOWRAP: &str = "white-space:nowrap";
/// A figure in a table: right-aligned, unbroken, kept apart from its
/// neighbour so quantity and price never run together.
const NUM: &str =
    "padding:6px 0 6px 12px;border-bottom:1px solid #eee;white-space:nowrap;text-align:right";

/// A piece of a sentence: plain, in bold, or kept on one line (an amount,
/// an invoice number).
pub enum Run {
    Text(String),
    Strong(String),
    Whole(String),
}

pub fn text(s: impl Into<String>) -> Run {
    Run::Text(s.into())
}

pub fn strong(s: impl Into<String>) -> Run {
    Run::Strong(s.into())
}

pub fn whole(s: impl Into<String>) -> Run {
    Run::Whole(s.into())
}

/// How a paragraph stands out in the HTML part (the text part is plain).
#[derive(Clone, Copy)]
pub enum Tone {
    Normal,
    /// Something went wrong (a declined card).
    Alert,
    /// Something changed (a late fee).
    Notice,
    /// Small print.
    Small,
}

impl Tone {
    fn style(self) -> &'static str {
        match self {
            Tone::Normal => "",
            Tone::Alert => "background:#fdecea;padding:12px;border-radius:4px;color:#8a1f11",
            Tone::Notice => "background:#fff4e5;padding:12px;border-radius:4px",
            Tone::Small => "font-size:13px;color:#666",
        }
    }
}

/// A client email's body: the plain text and the HTML, built together.
pub struct Body {
    text: String,
    html: Vec<Markup>,
}

impl Body {
    /// Opens with "Hi {name},".
    pub fn greeting(name: &str) -> Self {
        let mut body = Self {
            text: String::new(),
            html: Vec::new(),
        };
        body.para(vec![text(format!("Hi {name},"))]);
        body
    }

    pub fn para(&mut self, runs: Vec<Run>) -> &mut Self {
        self.styled(Tone::Normal, runs)
    }

    pub fn styled(&mut self, tone: Tone, runs: Vec<Run>) -> &mut Self {
        for run in &runs {
            match run {
                Run::Text(s) | Run::Strong(s) | Run::Whole(s) => self.text.push_str(s),
            }
        }
        self.text.push_str("\n\n");
        let style = tone.style();
        self.html.push(html! {
            p style=[(!style.is_empty()).then_some(style)] {
                @for run in &runs {
                    @match run {
                        Run::Text(s) => (s),
                        Run::Strong(s) => strong style=(NOWRAP) { (s) },
                        Run::Whole(s) => span style=(NOWRAP) { (s) },
                    }
                }
            }
        });
        self
    }

    /// Labelled values (a username and password): `Label: value` lines in
    /// the text, a small table in the HTML.
    pub fn facts(&mut self, rows: &[(&str, String)]) -> &mut Self {
        for (label, value) in rows {
            self.text.push_str(&format!("{label}: {value}\n"));
        }
        self.text.push('\n');
        self.html.push(html! {
            table cellpadding="6" style="background:#f7f4ef;border-radius:4px;margin:12px 0" {
                @for (label, value) in rows { tr { td { (label) } td { code { (value) } } } }
            }
        });
        self
    }

    /// What a payment carried on top of the invoice's money (the card
    /// surcharge, the tip), said and listed, when it carried any; and after
    /// an automatic charge, "Add a tip" when the studio takes tips (its page
    /// under the invoice's `portal`).
    pub fn on_top(
        &mut self,
        doc: &InvoiceDocument,
        payment: &entity::payment::Model,
        portal: &str,
    ) -> &mut Self {
        if let Some(note) = doc.on_top_note(payment) {
            self.para(vec![text(note)]);
            let beyond = doc.beyond_rows(payment);
            let rows: Vec<(&str, String)> = beyond
                .iter()
                .map(|row| (row.label.as_str(), row.amount.clone()))
                .collect();
            self.facts(&rows);
        }
        let automatic = payment.source == entity::enums::PaymentSource::AutoPay;
        if automatic && crate::billing::tips::offered_after(doc).is_some() {
            let lead = format!(
                "Add a tip for {}, if you would like to (it is entirely up to you)",
                doc.studio.name
            );
            self.action(&lead, &format!("{portal}/tip"), "Add a tip");
        }
        self
    }

    /// A schedule: one row per `(what, amount, where it stands)`, as
    /// `what: amount, where it stands` lines in the text, a table in the
    /// HTML.
    pub fn schedule(&mut self, rows: &[(String, String, String)]) -> &mut Self {
        for (what, amount, stands) in rows {
            self.text.push_str(&format!("{what}: {amount}, {stands}\n"));
        }
        self.text.push('\n');
        self.html.push(html! {
            table cellpadding="6" style="border-collapse:collapse;margin:12px 0" {
                @for (what, amount, stands) in rows {
                    tr style="border-bottom:1px solid #eee" {
                        td { (what) }
                        td style=(format!("text-align:right;{NOWRAP}")) { (amount) }
                        td { (stands) }
                    }
                }
            }
        });
        self
    }

    /// The invoice's lines and totals, as everywhere else.
    pub fn lines(&mut self, doc: &InvoiceDocument) -> &mut Self {
        self.text.push_str(&lines_text(doc));
        self.text.push('\n');
        self.html.push(lines_table(doc));
        self
    }

    /// Where to act: `lead` and the URL in the text, a button labelled
    /// `button` in the HTML.
    pub fn action(&mut self, lead: &str, url: &str, button: &str) -> &mut Self {
        self.text.push_str(&format!("{lead}:\n{url}\n\n"));
        self.html.push(html! {
            p style="margin:24px 0" {
                a href=(url) style="background:#2b2b2b;color:#ffffff;padding:12px 22px;border-radius:4px;text-decoration:none;display:inline-block;white-space:nowrap" { (button) }
            }
        });
        self
    }

    /// The URL spelled out under a button, for mail clients that hide
    /// buttons (the text part already has it from [`Body::action`]).
    pub fn spelled_out(&mut self, url: &str) -> &mut Self {
        self.html.push(html! {
            p style="font-size:12px;color:#888" { "Or open this link: " a href=(url) { (url) } }
        });
        self
    }

    /// The text part, signed with the studio's name and its contact
    /// details, and the HTML part in the studio's layout under `title`.
    pub fn render(&self, studio: &entity::studio::Model, title: &str) -> (String, String) {
        let text = format!(
            "{}\n\n{}\n-- \n{}\n",
            self.text.trim_end(),
            studio.name,
            crate::studio::studios::contact_text(studio)
        );
        let body = html! { @for part in &self.html { (part) } };
        (text, layout(studio, title, body))
    }
}

/// The frame of every client email: fluid (100 % wide up to 600 px, so it
/// reads at 390 px on a phone), the studio's logo and name on top, its
/// contact details at the foot. Each word of the title stays whole.
fn layout(studio: &entity::studio::Model, title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
            }
            body style="margin:0;padding:0;background:#f4f1ec;font-family:Georgia,'Times New Roman',serif;color:#2b2b2b;-webkit-text-size-adjust:100%" {
                table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="width:100%;border-collapse:collapse" { tr { td align="center" style="padding:24px 8px" {
                    table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="width:100%;max-width:600px;background:#ffffff;border-radius:8px;border-collapse:separate" {
                        tr { td style="padding:24px 20px 0 20px" {
                            (crate::studio::studios::logo_html(studio))
                            div style="font-size:13px;letter-spacing:2px;text-transform:uppercase;color:#8a7560;overflow-wrap:anywhere" { (studio.name) }
                        } }
                        tr { td style="padding:8px 20px 0 20px;font-size:24px;line-height:1.25" {
                            @for (i, word) in title.split(' ').enumerate() {
                                @if i > 0 { " " }
                                span style=(NOWRAP) { (word) }
                            }
                        } }
                        tr { td style="padding:16px 20px 8px 20px;font-family:Helvetica,Arial,sans-serif;font-size:15px;line-height:1.5;overflow-wrap:anywhere" { (body) } }
                        tr { td style="padding:16px 20px 24px 20px;border-top:1px solid #eee;font-family:Helvetica,Arial,sans-serif" {
                            (crate::studio::studios::contact_html(studio))
                        } }
                    }
                } } }
            }
        }
    }
    .into_string()
}

fn lines_table(doc: &InvoiceDocument) -> Markup {
    let cell = "padding:6px 0;border-bottom:1px solid #eee;overflow-wrap:anywhere";
    let total = "padding:4px 0 4px 12px;text-align:right";
    let amount = "padding:4px 0 4px 12px;text-align:right;white-space:nowrap";
    html! {
        table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="width:100%;margin:16px 0;font-size:14px;border-collapse:collapse" {
            tr style="color:#8a7560;text-align:left" { th style="text-align:left" { "Item" } th style=(NUM) { "Qty" } th style=(NUM) { "Unit" } th style=(NUM) { "Amount" } }
            @for line in &doc.lines {
                tr { td style=(cell) { (line.description) } td style=(NUM) { (line.quantity) }
                     td style=(NUM) { (doc.money(line.unit_price_minor)) } td style=(NUM) { (doc.money(line.amount_minor)) } }
            }
            @for (label, value, bold) in summary_rows(doc) {
                tr style=[bold.then_some("font-weight:bold")] { td colspan="3" style=(total) { (label) } td style=(amount) { (value) } }
            }
        }
        @if let Some(note) = doc.tax_inclusive_note() {
            p style="font-size:13px;color:#666" { (note) }
        }
    }
}

fn lines_text(doc: &InvoiceDocument) -> String {
    let mut out = String::new();
    for line in &doc.lines {
        out.push_str(&format!(
            "  {} x {} @ {} = {}\n",
            line.quantity,
            line.description,
            doc.money(line.unit_price_minor),
            doc.money(line.amount_minor)
        ));
    }
    for (label, value, _) in summary_rows(doc) {
        out.push_str(&format!("  {label}: {value}\n"));
    }
    if let Some(note) = doc.tax_inclusive_note() {
        out.push_str(&format!("  {note}\n"));
    }
    out
}

/// The rows under the lines, in order, as (label, amount, bold): the
/// discount, subtotal, taxes, credits, total, amount due and the excess.
fn summary_rows(doc: &InvoiceDocument) -> Vec<(String, String, bool)> {
    let inv = &doc.invoice;
    let plain = |(label, value): (String, String)| (label, value, false);
    let mut rows: Vec<(String, String, bool)> = doc.discount_row().into_iter().map(plain).collect();
    rows.push(("Subtotal".into(), doc.money(inv.subtotal_minor), false));
    rows.extend(doc.tax_lines().into_iter().map(plain));
    rows.extend(doc.credit_rows().into_iter().map(plain));
    rows.push(("Total".into(), doc.money(inv.total_minor), true));
    // A payer reads their own share, not what the others still owe.
    match &doc.payer {
        Some(me) => {
            rows.push(("Your share".into(), doc.money(me.share_minor), false));
            rows.push(("You owe".into(), doc.money(doc.due_now()), true));
        }
        None => rows.push(("Amount due".into(), doc.money(inv.amount_due_minor), true)),
    }
    rows.extend(doc.excess_row().map(plain));
    rows
}
