//! The dashboard's disputes: each chargeback with its deadline, its
//! evidence (what it shows, when it was sent, or the button that sends it
//! for a studio that reviews evidence) and its outcome.

use domain::billing::disputes::{EvidenceStage, sent_by_itself_at};
use domain::read::dashboard::{Dashboard, DisputeRow};
use maud::{Markup, html};

/// What a dispute's evidence stands at, in words.
fn evidence_state(row: &DisputeRow) -> Markup {
    let shows = format!(
        "{} login(s), {} download(s) after payment, {} email(s)",
        row.logins, row.downloads, row.emails
    );
    html! {
        @match row.stage {
            EvidenceStage::Gathering => "being gathered",
            EvidenceStage::AwaitingReview => {
                "ready for your review" br; span.meta { (shows) } br;
                @if let Some(due) = row.due_by {
                    span.meta { "sent by itself on " (sent_by_itself_at(due, row.opened_at).format("%b %-d, %H:%M UTC")) " if you do not" }
                }
            }
            EvidenceStage::Sending => { "being sent" br; span.meta { (shows) } }
            EvidenceStage::Submitted => {
                "sent " (row.submitted_at.map(|at| at.format("%b %-d, %H:%M UTC").to_string()).unwrap_or_default())
                br; span.meta { (shows) ", " (row.documents) " document(s)" }
            }
            EvidenceStage::NotSent => "not sent",
        }
    }
}

/// Chargebacks: deadline, evidence and outcome; evidence that waits for
/// the studio's review has a Submit button (a CSRF-checked POST). Nothing
/// when the studio has had no dispute.
pub fn section(data: &Dashboard, csrf: &str) -> Markup {
    if data.disputes.is_empty() {
        return html! {};
    }
    html! {
        div.card.section id="disputes" {
            h2 { "Disputes" }
            p.meta { "Chargebacks on card payments. The evidence (the gallery's log after payment, the emails sent, the invoice and the receipt) is gathered when a dispute opens and sent to the card network before the deadline." }
            table.list {
                thead { tr { th { "Invoice" } th { "Client" } th.num { "Amount" } th { "Reason" } th { "Opened" } th { "Evidence due" } th { "Evidence" } th { "Outcome" } } }
                tbody {
                    @for row in &data.disputes {
                        tr id=(format!("dispute-{}", row.id)) {
                            td { (row.invoice_number) }
                            td.client { (row.client_name) }
                            td.num { (row.amount) }
                            td { (row.reason.as_deref().unwrap_or("—").replace('_', " ")) }
                            td { (row.opened_at.format("%b %-d, %Y")) }
                            td { @match row.due_by { Some(at) => (at.format("%b %-d, %Y %H:%M UTC")), None => "—" } }
                            td.evidence {
                                (evidence_state(row))
                                @if row.stage == EvidenceStage::AwaitingReview {
                                    form method="post" action=(format!("/dashboard/disputes/{}/submit", row.id)) {
                                        input type="hidden" name="csrf" value=(csrf);
                                        button type="submit" { "Submit evidence" }
                                    }
                                }
                            }
                            td.outcome { @if row.closed { strong { (row.status.replace('_', " ")) } } @else { (row.status.replace('_', " ")) } }
                        }
                    }
                }
            }
        }
    }
}
