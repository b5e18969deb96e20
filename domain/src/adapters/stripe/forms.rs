//! The form of a payment-mode Checkout Session: its lines (the invoice's
//! money, the tip as "Gratuity", the card surcharge), the references that
//! find it again, where the client returns, and the options.

use crate::ports::gateway::CheckoutRequest;

/// A Checkout Session's line items as form fields: the invoice's money,
/// the tip, the card surcharge.
const LINE_ITEM_FIELDS: [[&str; 4]; 3] = [
    [
        "line_items[0][quantity]",
        "line_items[0][price_data][currency]",
        "line_items[0][price_data][unit_amount]",
        "line_items[0][price_data][product_data][name]",
    ],
    [
        "line_items[1][quantity]",
        "line_items[1][price_data][currency]",
        "line_items[1][price_data][unit_amount]",
        "line_items[1][price_data][product_data][name]",
    ],
    [
        "line_items[2][quantity]",
        "line_items[2][price_data][currency]",
        "line_items[2][price_data][unit_amount]",
        "line_items[2][price_data][product_data][name]",
    ],
];

/// What `POST /v1/checkout/sessions` is sent for `request`.
pub(super) fn checkout_form(request: &CheckoutRequest) -> Vec<(&'static str, String)> {
    let mut form = vec![("mode", "payment".to_string())];
    // The invoice's money, then the tip and the surcharge as lines of
    // their own.
    let lines = [
        Some((request.amount, request.product_name.as_str())),
        request
            .tip
            .map(|tip| (tip, crate::ports::gateway::GRATUITY)),
        request
            .surcharge
            .map(|s| (s, crate::ports::gateway::SURCHARGE_LINE)),
    ];
    let lines = lines
        .into_iter()
        .flatten()
        .filter(|(money, _)| money.minor.is_positive());
    for ((money, name), fields) in lines.zip(LINE_ITEM_FIELDS) {
        form.extend([
            (fields[0], "1".to_string()),
            (fields[1], money.currency_lowercase()),
            (fields[2], money.minor.to_string()),
            (fields[3], name.to_string()),
        ]);
    }
    form.extend([
        ("client_reference_id", request.invoice_ref.clone()),
        ("metadata[invoice_id]", request.invoice_ref.clone()),
        ("metadata[checkout_key]", request.idempotency_key.clone()),
        (
            "payment_intent_data[metadata][invoice_id]",
            request.invoice_ref.clone(),
        ),
        ("success_url", request.success_url.clone()),
        ("cancel_url", request.cancel_url.clone()),
        ("expires_at", request.expires_at.timestamp().to_string()),
    ]);
    if let Some(customer) = &request.customer {
        form.push(("customer", customer.clone()));
    }
    if request.save_card {
        form.push((
            "payment_intent_data[setup_future_usage]",
            "off_session".to_string(),
        ));
    }
    if request.surcharge.is_some() {
        // Held, then captured with or without the surcharge as the card's
        // funding type allows; a surcharge is for cards alone.
        form.push(("payment_intent_data[capture_method]", "manual".to_string()));
        form.push(("payment_method_types[0]", "card".to_string()));
    }
    if let Some(installment) = &request.installment_ref {
        form.push(("metadata[installment_id]", installment.clone()));
        form.push((
            "payment_intent_data[metadata][installment_id]",
            installment.clone(),
        ));
    }
    form
}
