//! Invoice / credit-note PDF rendering.
//!
//! Uses `printpdf` with the built-in base-14 Helvetica faces: no font is embedded and the
//! text stays extractable. Built-in fonts use WinAnsi (≈ Latin-1) encoding, so any other
//! character is replaced by `?` before drawing. Money arrives preformatted as strings.

use printpdf::{
    Actions, BorderArray, BuiltinFont, Color, ColorArray, LinkAnnotation, Mm, Op, PaintMode,
    PdfDocument, PdfFontHandle, PdfPage, PdfParseErrorSeverity, PdfSaveOptions, Point, Pt, Rect,
    Rgb, TextItem,
};

mod view;
pub use view::{PdfAmount, PdfInvoice, PdfLine, PdfPayment};

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("PDF serialization failed: {0}")]
    Serialize(String),
}

// A4 portrait, in PDF points (origin bottom-left).
const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const LEFT: f32 = 50.0;
const RIGHT: f32 = PAGE_W - 50.0;
const TOP: f32 = PAGE_H - 50.0;
const BOTTOM: f32 = 72.0;
const DESC_W: f32 = 250.0;
const QTY_R: f32 = 360.0;
const UNIT_R: f32 = 450.0;
const AMT_R: f32 = RIGHT - 6.0;
const TOT_X: f32 = 318.0;
const META_X: f32 = 318.0;

type Rgb3 = (f32, f32, f32);
const INK: Rgb3 = (0.13, 0.15, 0.18);
const MUTED: Rgb3 = (0.42, 0.45, 0.50);
const RULE: Rgb3 = (0.85, 0.87, 0.90);
const BAND: Rgb3 = (0.95, 0.96, 0.97);
const ACCENT: Rgb3 = (0.12, 0.29, 0.49);
const LINK: Rgb3 = (0.10, 0.35, 0.75);
const WHITE: Rgb3 = (1.0, 1.0, 1.0);

/// Helvetica / Helvetica-Bold AFM advance widths (1/1000 em) for WinAnsi 0x20..=0x7E.
const HELV: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];
const HELV_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667,
    611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556,
    278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];
/// ASCII stand-ins (same or near advance width) for U+00C0..=U+00FF.
const LATIN1_BASE: &[u8; 64] = b"AAAAAAWCEEEEIIIIDNOOOOO+OUUUUYPbaaaaaamceeeeIIIIonooooo+ouuuuypy";

/// Keep what WinAnsi can encode; control characters become spaces, the rest `?`.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => ' ',
            ' '..='~' | '\u{A0}'..='\u{FF}' => c,
            '€' | '‚' | 'ƒ' | '„' | '…' | '†' | '‡' | 'ˆ' | '‰' | 'Š' | '‹' | 'Œ' | 'Ž' | '‘'
            | '’' | '“' | '”' | '•' | '–' | '—' | '˜' | '™' | 'š' | '›' | 'œ' | 'ž' | 'Ÿ' => {
                c
            }
            _ => '?',
        })
        .collect()
}

fn char_w(c: char, bold: bool) -> f32 {
    let table = if bold { &HELV_BOLD } else { &HELV };
    let base = match c {
        ' '..='~' => c,
        '\u{A0}' => ' ',
        '\u{C0}'..='\u{FF}' => LATIN1_BASE
            .get(c as usize - 0xC0)
            .map_or('o', |b| char::from(*b)),
        '•' => return 350.0,
        '…' | '—' | '‰' | '™' | 'Œ' | 'œ' => return 1000.0,
        '‘' | '’' | '‚' => return 278.0,
        _ => return 556.0,
    };
    table
        .get(base as usize - 32)
        .map_or(556.0, |w| f32::from(*w))
}

/// Rendered width in points of `s` (after cleaning) at `size` pt.
fn width(s: &str, bold: bool, size: f32) -> f32 {
    clean(s).chars().map(|c| char_w(c, bold)).sum::<f32>() * size / 1000.0
}

/// Greedy word wrap by real glyph widths; words longer than a line (URLs) break anywhere.
fn wrap(s: &str, bold: bool, size: f32, max_w: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for para in s.lines() {
        let mut cur = String::new();
        for word in clean(para).split_whitespace() {
            let cand = if cur.is_empty() {
                word.to_string()
            } else {
                format!("{cur} {word}")
            };
            if width(&cand, bold, size) <= max_w {
                cur = cand;
                continue;
            }
            if !cur.is_empty() {
                lines.push(std::mem::take(&mut cur));
            }
            for ch in word.chars() {
                if !cur.is_empty()
                    && width(&cur, bold, size) + char_w(ch, bold) * size / 1000.0 > max_w
                {
                    lines.push(std::mem::take(&mut cur));
                }
                cur.push(ch);
            }
        }
        lines.push(cur);
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

fn rgb((r, g, b): Rgb3) -> Color {
    Color::Rgb(Rgb::new(r, g, b, None))
}

fn badge_color(status: &str) -> Rgb3 {
    match status {
        "PAID" => (0.13, 0.55, 0.33),
        "PARTIALLY PAID" => (0.85, 0.52, 0.08),
        "VOID" => (0.55, 0.57, 0.60),
        "OPEN" => (0.16, 0.42, 0.75),
        _ => ACCENT,
    }
}

/// Page-building state: finished pages, the current page's ops and the text baseline `y`.
struct Doc {
    pages: Vec<Vec<Op>>,
    ops: Vec<Op>,
    y: f32,
    running_head: (String, String),
}

impl Doc {
    fn text(&mut self, x: f32, y: f32, s: &str, bold: bool, size: f32, color: Rgb3) {
        let font = [BuiltinFont::Helvetica, BuiltinFont::HelveticaBold][usize::from(bold)];
        self.ops.extend([
            Op::StartTextSection,
            Op::SetFillColor { col: rgb(color) },
            Op::SetFont {
                font: PdfFontHandle::Builtin(font),
                size: Pt(size),
            },
            Op::SetTextCursor {
                pos: Point { x: Pt(x), y: Pt(y) },
            },
            Op::ShowText {
                items: vec![TextItem::Text(clean(s))],
            },
            Op::EndTextSection,
        ]);
    }

    fn text_r(&mut self, right: f32, y: f32, s: &str, bold: bool, size: f32, color: Rgb3) {
        self.text(right - width(s, bold, size), y, s, bold, size, color);
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: Rgb3) {
        let mut rectangle = Rect::from_xywh(Pt(x), Pt(y), Pt(w), Pt(h));
        rectangle.mode = Some(PaintMode::Fill);
        self.ops.push(Op::SetFillColor { col: rgb(color) });
        self.ops.push(Op::DrawRectangle { rectangle });
    }

    fn rule(&mut self, y: f32, x0: f32) {
        self.rect(x0, y, RIGHT - x0, 0.6, RULE);
    }

    /// Starts a new page (with a running head) unless `h` points still fit. True if it broke.
    fn ensure(&mut self, h: f32) -> bool {
        if self.y - h >= BOTTOM {
            return false;
        }
        self.pages.push(std::mem::take(&mut self.ops));
        let (left, right) = self.running_head.clone();
        self.text(LEFT, TOP - 10.0, &left, true, 10.0, INK);
        let right = format!("{right} (continued)");
        self.text_r(RIGHT, TOP - 10.0, &right, false, 9.0, MUTED);
        self.rule(TOP - 20.0, LEFT);
        self.y = TOP - 44.0;
        true
    }

    fn table_header(&mut self) {
        let y = self.y;
        self.rect(LEFT, y - 7.0, RIGHT - LEFT, 19.0, BAND);
        self.text(LEFT + 6.0, y, "DESCRIPTION", true, 7.5, MUTED);
        self.text_r(QTY_R, y, "QTY", true, 7.5, MUTED);
        self.text_r(UNIT_R, y, "UNIT PRICE", true, 7.5, MUTED);
        self.text_r(AMT_R, y, "AMOUNT", true, 7.5, MUTED);
        self.y -= 28.0;
    }

    /// One totals row: wrapped label at TOT_X, value right-aligned on the first line.
    /// A receipt's rows outside the invoice, set apart under "Amount due".
    fn beyond(&mut self, rows: &[PdfAmount]) {
        if !rows.is_empty() {
            self.y -= 10.0;
        }
        for a in rows {
            self.total_row(&a.label, None, &a.amount, false, 9.5);
        }
    }

    fn total_row(&mut self, label: &str, sub: Option<&str>, value: &str, bold: bool, size: f32) {
        let lines = wrap(label, bold, size, AMT_R - TOT_X - 100.0);
        let h = lines.len() as f32 * (size + 3.0) + if sub.is_some() { 11.0 } else { 0.0 };
        self.ensure(h + 6.0);
        let color = if bold { INK } else { MUTED };
        // Draw in reading order (label, then value) so extracted text reads "Label VALUE".
        for (i, l) in lines.iter().enumerate() {
            self.text(TOT_X + 6.0, self.y, l, bold, size, color);
            if i == 0 {
                self.text_r(AMT_R, self.y, value, bold, size, INK);
            }
            self.y -= size + 3.0;
        }
        if let Some(s) = sub {
            self.text(TOT_X + 6.0, self.y + 1.0, s, false, 7.5, MUTED);
            self.y -= 11.0;
        }
        self.y -= 6.0;
    }

    /// A titled full-width paragraph block (terms, link, notes). Returns the drawn lines' span.
    fn block(&mut self, title: &str, paras: &[String], color: Rgb3) -> Vec<(f32, f32)> {
        let lines: Vec<String> = paras
            .iter()
            .flat_map(|p| wrap(p, false, 9.0, RIGHT - LEFT))
            .collect();
        self.ensure(14.0 + 12.0 * lines.len().min(3) as f32);
        self.text(LEFT, self.y, title, true, 8.0, MUTED);
        self.y -= 13.0;
        let mut spans = Vec::new();
        for l in &lines {
            self.ensure(12.0);
            self.text(LEFT, self.y, l, false, 9.0, color);
            spans.push((self.y, width(l, false, 9.0)));
            self.y -= 12.0;
        }
        self.y -= 10.0;
        spans
    }
}

/// Renders the invoice (or credit note) as an A4 PDF.
pub fn render(inv: &PdfInvoice) -> Result<Vec<u8>, PdfError> {
    let head = format!("{} {}", inv.title, inv.number);
    let mut d = Doc {
        pages: Vec::new(),
        ops: Vec::new(),
        y: TOP,
        running_head: (inv.studio_name.clone(), head.clone()),
    };

    // Studio block (top-left).
    let mut ly = TOP - 14.0;
    for l in wrap(&inv.studio_name, true, 16.0, 260.0) {
        d.text(LEFT, ly, &l, true, 16.0, INK);
        ly -= 19.0;
    }
    let mut studio = inv.studio_address.clone();
    studio.extend(inv.studio_tax_id.iter().map(|t| format!("Tax ID: {t}")));
    studio.extend(inv.studio_email.iter().cloned());
    studio.extend(inv.studio_phone.iter().map(|p| format!("Tel. {p}")));
    for l in studio.iter().flat_map(|s| wrap(s, false, 9.0, 260.0)) {
        d.text(LEFT, ly, &l, false, 9.0, MUTED);
        ly -= 12.0;
    }

    // Title, number and status badge (top-right).
    let mut ry = TOP - 18.0;
    d.text_r(RIGHT, ry, &inv.title, true, 24.0, ACCENT);
    ry -= 19.0;
    d.text_r(RIGHT, ry, &inv.number, false, 11.0, INK);
    ry -= 25.0;
    let status = clean(inv.status.trim()).to_uppercase();
    let bw = width(&status, true, 9.0) + 18.0;
    d.rect(RIGHT - bw, ry - 6.0, bw, 19.0, badge_color(&status));
    d.text_r(RIGHT - 9.0, ry, &status, true, 9.0, WHITE);
    d.y = ly.min(ry - 6.0) - 16.0;
    d.rule(d.y, LEFT);
    d.y -= 24.0;

    // Bill-to block (left) and dates / reference (right).
    let top = d.y;
    d.text(LEFT, top, "BILL TO", true, 8.0, MUTED);
    ly = top - 15.0;
    for l in wrap(&inv.client_name, true, 11.0, 260.0) {
        d.text(LEFT, ly, &l, true, 11.0, INK);
        ly -= 14.0;
    }
    let client = std::iter::once(&inv.client_email).chain(&inv.client_address);
    for l in client.flat_map(|s| wrap(s, false, 9.0, 260.0)) {
        d.text(LEFT, ly, &l, false, 9.0, MUTED);
        ly -= 12.0;
    }
    let mut meta = vec![("Issue date", &inv.issue_date)];
    meta.extend(inv.due_date.iter().map(|v| ("Due date", v)));
    meta.extend(inv.reference.iter().map(|v| ("Reference", v)));
    ry = top;
    for (label, value) in meta {
        d.text(META_X, ry, label, false, 9.0, MUTED);
        for l in wrap(value, false, 9.0, RIGHT - META_X - 62.0) {
            d.text_r(RIGHT, ry, &l, false, 9.0, INK);
            ry -= 12.0;
        }
        ry -= 3.0;
    }
    d.y = ly.min(ry) - 20.0;

    // Line items.
    d.table_header();
    for line in &inv.lines {
        let desc = wrap(&line.description, false, 9.5, DESC_W);
        let h = desc.len() as f32 * 12.5 + 8.5;
        if d.ensure(h) {
            d.table_header();
        }
        let y = d.y;
        for (i, l) in desc.iter().enumerate() {
            d.text(LEFT + 6.0, y - i as f32 * 12.5, l, false, 9.5, INK);
            if i == 0 {
                d.text_r(QTY_R, y, &line.quantity, false, 9.5, INK);
                d.text_r(UNIT_R, y, &line.unit_price, false, 9.5, INK);
                d.text_r(AMT_R, y, &line.amount, false, 9.5, INK);
            }
        }
        d.y -= h;
        d.rule(d.y + 14.0, LEFT);
    }

    // Totals: keep the block together when it fits on a fresh page.
    let rows = inv.total_rows();
    d.y -= 8.0;
    d.ensure((rows as f32 * 17.0 + 30.0).min(TOP - 44.0 - BOTTOM));
    d.total_row("Subtotal", None, &inv.subtotal, false, 9.5);
    // Tax first, on the subtotal it is computed from; then the credits taken
    // off the taxed amount (retainer, carried credit), as the emails and the
    // portal print them.
    for a in inv.taxes.iter().chain(&inv.adjustments) {
        d.total_row(&a.label, None, &a.amount, false, 9.5);
    }
    d.rule(d.y + 10.0, TOT_X);
    d.y -= 6.0;
    d.total_row("Total", None, &inv.total, true, 11.0);
    for p in &inv.payments {
        d.total_row(&p.description, Some(&p.date), &p.amount, false, 9.5);
    }
    d.total_row("Amount paid", None, &inv.amount_paid, false, 9.5);
    for a in &inv.settlement {
        d.total_row(&a.label, None, &a.amount, false, 9.5);
    }
    d.ensure(30.0);
    d.rect(TOT_X, d.y - 8.0, RIGHT - TOT_X, 24.0, BAND);
    d.rect(TOT_X, d.y - 8.0, 2.5, 24.0, ACCENT);
    d.total_row("Amount due", None, &inv.amount_due, true, 12.0);
    d.beyond(&inv.beyond);
    d.y -= 18.0;

    // Terms, portal link, notes.
    if let Some(terms) = &inv.payment_terms {
        d.block("PAYMENT TERMS", std::slice::from_ref(terms), INK);
    }
    if let Some(link) = &inv.portal_link {
        let page_before = d.pages.len();
        let spans = d.block("VIEW AND PAY ONLINE", std::slice::from_ref(link), LINK);
        if d.pages.len() == page_before {
            for (y, w) in spans {
                d.ops.push(Op::LinkAnnotation {
                    link: LinkAnnotation::new(
                        Rect::from_xywh(Pt(LEFT), Pt(y - 3.0), Pt(w), Pt(12.0)),
                        Actions::Uri(link.clone()),
                        Some(BorderArray::Solid([0.0, 0.0, 0.0])),
                        Some(ColorArray::Transparent),
                        None,
                    ),
                });
            }
        }
    }
    if !inv.notes.is_empty() {
        d.block("NOTES", &inv.notes, INK);
    }

    d.finish(&head)
}

impl Doc {
    /// Closes the last page, puts the footer (`head`, page numbers) on
    /// every page and serializes the document.
    fn finish(mut self, head: &str) -> Result<Vec<u8>, PdfError> {
        self.pages.push(std::mem::take(&mut self.ops));
        let count = self.pages.len();
        let mut pages = Vec::with_capacity(count);
        for (i, ops) in std::mem::take(&mut self.pages).into_iter().enumerate() {
            self.ops = ops;
            self.rule(BOTTOM - 22.0, LEFT);
            self.text(LEFT, BOTTOM - 36.0, head, false, 8.0, MUTED);
            let page_no = format!("Page {} of {count}", i + 1);
            self.text_r(RIGHT, BOTTOM - 36.0, &page_no, false, 8.0, MUTED);
            let ops = std::mem::take(&mut self.ops);
            pages.push(PdfPage::new(Mm(210.0), Mm(297.0), ops));
        }
        let mut doc = PdfDocument::new(&clean(head));
        doc.with_pages(pages);
        let mut warnings = Vec::new();
        let bytes = doc.save(&PdfSaveOptions::default(), &mut warnings);
        let errors: Vec<String> = warnings
            .into_iter()
            .filter(|w| w.severity == PdfParseErrorSeverity::Error)
            .map(|w| w.msg)
            .collect();
        if !errors.is_empty() {
            return Err(PdfError::Serialize(errors.join("; ")));
        }
        if bytes.is_empty() {
            return Err(PdfError::Serialize("empty output".into()));
        }
        Ok(bytes)
    }
}

/// A plain document of the studio's: a title, then titled sections of
/// paragraphs (a dispute's list of emails, the studio's refund policy).
pub fn render_letter(
    studio_name: &str,
    title: &str,
    sections: &[(&str, Vec<String>)],
) -> Result<Vec<u8>, PdfError> {
    let mut d = Doc {
        pages: Vec::new(),
        ops: Vec::new(),
        y: TOP,
        running_head: (studio_name.to_string(), title.to_string()),
    };
    d.text(LEFT, TOP - 14.0, studio_name, true, 16.0, INK);
    for l in wrap(title, true, 14.0, RIGHT - LEFT) {
        d.y -= 40.0;
        d.text(LEFT, d.y, &l, true, 14.0, ACCENT);
    }
    d.y -= 14.0;
    d.rule(d.y, LEFT);
    d.y -= 24.0;
    for (heading, paras) in sections {
        d.block(&heading.to_uppercase(), paras, INK);
    }
    d.finish(&format!("{studio_name}: {title}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn line(description: &str, quantity: &str, unit_price: &str, amount: &str) -> PdfLine {
        let (quantity, unit_price, amount) = (quantity.into(), unit_price.into(), amount.into());
        PdfLine {
            description: description.into(),
            quantity,
            unit_price,
            amount,
        }
    }

    fn amounts(rows: &[(&str, &str)]) -> Vec<PdfAmount> {
        let amount = |(l, a): &(&str, &str)| PdfAmount {
            label: l.to_string(),
            amount: a.to_string(),
        };
        rows.iter().map(amount).collect()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn sample() -> PdfInvoice {
        let pay = |date: &str, description: &str, amount: &str| {
            let (date, description, amount) = (date.into(), description.into(), amount.into());
            PdfPayment {
                date,
                description,
                amount,
            }
        };
        PdfInvoice {
            title: "Invoice".into(),
            number: "GHP-2026-0001".into(),
            status: "PARTIALLY PAID".into(),
            studio_name: "Golden Hour Photography".into(),
            studio_address: strings(&["1200 Rue Saint-Jean", "Québec, QC G1R 1S2"]),
            studio_tax_id: Some("GST/HST 81234 5678 RT0001".into()),
            studio_email: Some("billing@goldenhour.example".into()),
            studio_phone: Some("+1 418 555 0199".into()),
            client_name: "Amélie & Jordan Smith".into(),
            client_email: "amelie.smith@example.com".into(),
            client_address: strings(&["45 Maple Avenue", "Montréal, QC H2X 1Y4"]),
            issue_date: "November 25, 2026".into(),
            due_date: Some("December 9, 2026".into()),
            reference: Some("Session: Smith wedding, 2026-11-20".into()),
            lines: vec![
                line(
                    "Wedding coverage – full day (10 hours), two photographers, online gallery \
                     and private download link for family",
                    "1",
                    "USD 2,400.00",
                    "USD 2,400.00",
                ),
                line("Engagement session", "1", "USD 350.00", "USD 350.00"),
                line("Fine-art prints 8x10", "4", "USD 45.00", "USD 180.00"),
                line("Extra retouching (per image)", "10", "USD 10.00", "USD 100.00"),
            ],
            subtotal: "USD 3,030.00".into(),
            adjustments: amounts(&[("Retainer paid", "-USD 500.00")]),
            taxes: amounts(&[("GST 5%", "USD 142.35"), ("QST 9.975%", "USD 283.99")]),
            total: "USD 3,273.34".into(),
            payments: vec![
                pay("November 26, 2026", "Visa •••• 4242", "USD 1,000.00"),
            ],
            amount_paid: "USD 1,500.00".into(),
            settlement: Vec::new(),
            amount_due: "USD 1,773.34".into(),
            beyond: Vec::new(),
            payment_terms: Some("Due within 14 days".into()),
            portal_link: Some(
                "https://billing.goldenhour.example/portal/invoices/GHP-2026-0001?token=8f3c2a9d7e6b5a41c0d9".into(),
            ),
            notes: strings(&["Thank you for choosing Golden Hour Photography! Your online \
                              gallery stays available for 12 months after delivery."]),
        }
    }

    #[test]
    fn realistic_invoice_text_is_extractable() -> TestResult {
        let inv = sample();
        let bytes = render(&inv)?;
        std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/sample.pdf"), &bytes)?;
        let text = pdf_extract::extract_text_from_mem(&bytes)?;
        let mut expected = vec![&inv.subtotal, &inv.total, &inv.amount_due, &inv.number];
        expected.extend(inv.taxes.iter().map(|t| &t.amount));
        expected.extend(inv.portal_link.iter().chain([&inv.client_name]));
        let extra = [
            "Québec",
            "Visa •••• 4242",
            "PARTIALLY PAID",
            "Subtotal USD 3,030.00",
        ];
        for s in expected.into_iter().map(String::as_str).chain(extra) {
            assert!(
                text.contains(s),
                "{s:?} missing from extracted text:\n{text}"
            );
        }
        Ok(())
    }

    /// The retainer is taken off the taxed amount, so its row comes after
    /// the tax rows: between the subtotal and the tax it read as if the tax
    /// were computed on the subtotal less the retainer.
    #[test]
    fn credits_come_after_the_tax() -> TestResult {
        let inv = sample();
        let text = pdf_extract::extract_text_from_mem(&render(&inv)?)?;
        let at = |s: &str| {
            text.find(s)
                .ok_or_else(|| format!("{s:?} missing from extracted text:\n{text}"))
        };
        let (subtotal, gst, qst) = (at("Subtotal")?, at("GST 5%")?, at("QST 9.975%")?);
        let (retainer, total) = (at("Retainer paid -USD 500.00")?, at("Total")?);
        assert!(
            subtotal < gst && gst < qst && qst < retainer && retainer < total,
            "subtotal, taxes, retainer, total in that order:\n{text}"
        );
        Ok(())
    }

    #[test]
    fn sixty_lines_continue_on_second_page() -> TestResult {
        let mut inv = sample();
        inv.lines = (1..=60)
            .map(|i| {
                line(
                    &format!("Retouched portrait no. {i:02}"),
                    "1",
                    "USD 25.00",
                    "USD 25.00",
                )
            })
            .collect();
        let bytes = render(&inv)?;
        std::fs::write(
            concat!(env!("CARGO_MANIFEST_DIR"), "/sample-60.pdf"),
            &bytes,
        )?;
        let pages = pdf_extract::extract_text_from_mem_by_pages(&bytes)?;
        assert!(pages.len() >= 2, "expected 2+ pages, got {}", pages.len());
        let text = pages.concat();
        for d in (1..=60).map(|i| format!("Retouched portrait no. {i:02}")) {
            assert!(text.contains(&d), "{d:?} missing");
        }
        assert!(text.contains(&inv.amount_due) && text.contains("Page 2 of"));
        Ok(())
    }

    #[test]
    fn non_latin1_text_is_replaced() -> TestResult {
        let mut inv = sample();
        inv.client_name = "写真 Studio Tanaka".into();
        inv.lines[1].description = "Engagement session 写真 😀".into();
        let text = pdf_extract::extract_text_from_mem(&render(&inv)?)?;
        assert!(text.contains("?? Studio Tanaka"), "{text}");
        assert!(text.contains("Engagement session ?? ?"));
        Ok(())
    }

    #[test]
    fn wrapping_respects_width() {
        assert!((width("USD", false, 10.0) - 21.11).abs() < 0.01);
        let url = "https://example.com/".repeat(10);
        let lines = wrap(&url, false, 9.0, 200.0);
        assert!(lines.len() > 1 && lines.iter().all(|l| width(l, false, 9.0) <= 200.0));
        assert_eq!(lines.concat(), url);
        assert_eq!(wrap("", false, 9.0, 100.0), vec![String::new()]);
    }
}
