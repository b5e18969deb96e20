//! How cards and payments are named to people, the same on every surface
//! (portal, emails, PDFs, card-setup page, dashboard), never by a gateway id.

use entity::enums::PaymentMethod;
use entity::payment;

/// A card brand as people write it (`visa` → `Visa`, `amex` → `American Express`).
pub fn card_brand(brand: &str) -> String {
    match brand.to_ascii_lowercase().as_str() {
        "amex" | "american_express" => "American Express".into(),
        "mastercard" => "Mastercard".into(),
        "diners" => "Diners Club".into(),
        "jcb" => "JCB".into(),
        "unionpay" => "UnionPay".into(),
        _ => {
            let mut chars = brand.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
                .unwrap_or_default()
        }
    }
}

/// A card as every surface names it (portal, emails, PDFs, card-setup page,
/// dashboard): `Visa •••• 4242`; `card •••• 4242` when the brand is unknown;
/// `None` without the last four digits (say "your card" then).
pub fn card_display(brand: Option<&str>, last4: Option<&str>) -> Option<String> {
    let last4 = last4.map(str::trim).filter(|l| !l.is_empty())?;
    let brand = brand
        .map(str::trim)
        .filter(|b| !b.is_empty() && !b.eq_ignore_ascii_case("unknown"))
        .map(card_brand)
        .unwrap_or_else(|| "card".to_string());
    Some(format!("{brand} •••• {last4}"))
}

/// The card of a payment ([`card_display`]), if it was paid by card.
pub fn payment_card(p: &payment::Model) -> Option<String> {
    card_display(p.card_brand.as_deref(), p.card_last4.as_deref())
}

/// How a payment is named to the client (`Visa •••• 4242`, `Check #1042`),
/// never by a gateway id.
pub fn payment_label(p: &payment::Model) -> String {
    match p.method {
        PaymentMethod::Card => payment_card(p).unwrap_or_else(|| "Card".into()),
        PaymentMethod::Cash => "Cash".into(),
        PaymentMethod::Check => format!(
            "Check{}",
            p.reference
                .as_deref()
                .map(|r| format!(" {r}"))
                .unwrap_or_default()
        ),
        PaymentMethod::BankTransfer => "Bank transfer".into(),
        PaymentMethod::Other => "Payment".into(),
    }
}

/// How a payment came in, as a receipt's sentence ends: `charged to Visa
/// •••• 4242`, `paid by check`, `received`.
pub fn payment_way(p: &payment::Model) -> String {
    match p.method {
        PaymentMethod::Card => match payment_card(p) {
            Some(card) => format!("charged to {card}"),
            None => "charged to your card".into(),
        },
        PaymentMethod::Cash => "paid in cash".into(),
        PaymentMethod::Check => "paid by check".into(),
        PaymentMethod::BankTransfer => "paid by bank transfer".into(),
        PaymentMethod::Other => "received".into(),
    }
}

/// The name a client is greeted by ("Hi Noah,"): the display name the
/// studio set on the client, or else the first word of their name (the whole
/// name when it has one word), so every email and page greets alike.
pub fn greeting_name(client: &entity::client::Model) -> String {
    if let Some(display) = client
        .display_name
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        return display.to_string();
    }
    first_word(&client.name)
}

/// The first word of a name (the whole name when it has one word).
pub fn first_word(name: &str) -> String {
    let name = name.trim();
    name.split_whitespace()
        .next()
        .unwrap_or(name)
        .trim_end_matches(',')
        .to_string()
}
