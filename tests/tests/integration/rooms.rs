//! Rooms stay small: a file over `FILE_LIMIT` lines or a function over
//! `FN_LIMIT` lines is a room nobody can hold in their head. The ones that
//! exist are listed with their size and may only shrink; a new one fails.
//! Cut along the seams (a function per case, a module per concern) rather
//! than raising a number.

use crate::architecture::{root, rust_files};
use crate::layers::is_test_only;
use std::collections::BTreeMap;
use syn::visit::{self, Visit};

const FILE_LIMIT: usize = 500;
const FN_LIMIT: usize = 100;

/// Files over the limit today, with their lines before `#[cfg(test)]` (may
/// only go down).
const BIG_FILES: &[(&str, usize)] = &[
    ("api/src/dashboard/view.rs", 637),
    ("api/src/graphql/limits.rs", 539),
    ("domain/src/adapters/sim_checkout.rs", 550),
    ("domain/src/adapters/sim_gateway.rs", 502),
    ("domain/src/adapters/stripe/mod.rs", 942),
    ("domain/src/billing/checkout.rs", 517),
    ("domain/src/billing/invoicing.rs", 589),
    ("domain/src/billing/webhooks.rs", 705),
    ("domain/src/followup/gallery.rs", 517),
    ("domain/src/infra/settings.rs", 601),
    ("domain/src/kernel/pricing.rs", 636),
];

/// Functions over the limit today (`file::fn`, or `file::Type::fn`), with
/// their lines (may only go down).
const BIG_FNS: &[(&str, usize)] = &[
    ("api/src/dashboard/view.rs::dashboard_page", 147),
    ("api/src/main.rs::run", 221),
    ("domain/src/app/seed.rs::seed_demo", 173),
    (
        "domain/src/billing/documents.rs::InvoiceDocument::pdf_view",
        119,
    ),
    ("domain/src/billing/invoicing.rs::insert_draft", 108),
    ("domain/src/billing/invoicing.rs::reissue_invoice", 104),
    (
        "domain/src/billing/payments/manual.rs::record_manual_payment",
        142,
    ),
    ("domain/src/billing/pdf.rs::render", 141),
    ("domain/src/billing/refunds.rs::settle", 109),
    ("domain/src/billing/webhooks.rs::apply_refund", 105),
    ("domain/src/followup/reminders.rs::run_step", 102),
    ("domain/src/followup/reminders.rs::update_policy", 108),
    ("domain/src/kernel/pricing.rs::price", 157),
    ("domain/src/read/dashboard.rs::load", 105),
    ("domain/src/read/metrics.rs::compute", 170),
    ("domain/src/studio/sessions.rs::schedule_session", 162),
    // `after`, 271 lines, became a writer and this table of one arm per change.
];

/// Where the rooms are (migrations are history: they never change).
const CRATES: &[&str] = &["api/src", "worker/src", "domain/src", "entity/src"];

/// Lines of each function outside test code, from `fn` to its closing brace.
struct Functions {
    file: String,
    owner: Vec<String>,
    found: Vec<(String, usize)>,
}

impl Functions {
    fn record(&mut self, name: &syn::Ident, sig: &syn::Signature, block: &syn::Block) {
        let start = sig.fn_token.span.start().line;
        let end = block.brace_token.span.close().end().line;
        let mut path = vec![self.file.clone()];
        path.extend(self.owner.iter().cloned());
        path.push(name.to_string());
        self.found.push((path.join("::"), end + 1 - start));
    }
}

fn type_name(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(p) => p
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default(),
        _ => "_".into(),
    }
}

impl<'ast> Visit<'ast> for Functions {
    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if !is_test_only(&item.attrs) {
            self.owner.push(item.ident.to_string());
            visit::visit_item_mod(self, item);
            self.owner.pop();
        }
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        if !is_test_only(&item.attrs) {
            self.owner.push(type_name(&item.self_ty));
            visit::visit_item_impl(self, item);
            self.owner.pop();
        }
    }

    fn visit_item_trait(&mut self, item: &'ast syn::ItemTrait) {
        self.owner.push(item.ident.to_string());
        visit::visit_item_trait(self, item);
        self.owner.pop();
    }

    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        if !is_test_only(&item.attrs) {
            self.record(&item.sig.ident, &item.sig, &item.block);
            visit::visit_item_fn(self, item);
        }
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        if !is_test_only(&item.attrs) {
            self.record(&item.sig.ident, &item.sig, &item.block);
            visit::visit_impl_item_fn(self, item);
        }
    }

    fn visit_trait_item_fn(&mut self, item: &'ast syn::TraitItemFn) {
        if let Some(block) = &item.default {
            self.record(&item.sig.ident, &item.sig, block);
        }
        visit::visit_trait_item_fn(self, item);
    }
}

/// (file or function, lines) of everything over its limit today.
fn measure() -> (BTreeMap<String, usize>, BTreeMap<String, usize>) {
    let root = root();
    let mut files = BTreeMap::new();
    let mut fns = BTreeMap::new();
    for dir in CRATES {
        for path in rust_files(&root.join(dir)) {
            let shown = path
                .strip_prefix(&root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&path).expect("read a source file");
            // The code, up to its unit tests (they may grow with it).
            let lines = text
                .lines()
                .take_while(|l| l.trim() != "#[cfg(test)]")
                .count();
            if lines > FILE_LIMIT {
                files.insert(shown.clone(), lines);
            }
            let parsed =
                syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let mut functions = Functions {
                file: shown,
                owner: Vec::new(),
                found: Vec::new(),
            };
            functions.visit_file(&parsed);
            for (name, lines) in functions.found {
                if lines > FN_LIMIT {
                    fns.insert(name, lines);
                }
            }
        }
    }
    (files, fns)
}

/// What is wrong with `measured` against `listed`: a new room over the
/// limit, a listed one grown, a listed one shrunk (lower its number, so the
/// gain is kept) or gone (remove it).
fn ratchet(
    kind: &str,
    limit: usize,
    listed: &[(&str, usize)],
    measured: &BTreeMap<String, usize>,
) -> Vec<String> {
    let listed: BTreeMap<&str, usize> = listed.iter().copied().collect();
    let mut problems = Vec::new();
    for (name, lines) in measured {
        match listed.get(name.as_str()) {
            None => problems.push(format!(
                "new {kind} over {limit} lines: (\"{name}\", {lines}),"
            )),
            Some(max) if lines > max => problems.push(format!(
                "{kind} grew past its ratchet: {name} is {lines} lines, listed {max}"
            )),
            Some(max) if lines < max => problems.push(format!(
                "{kind} shrank, lower its number: (\"{name}\", {lines}), (was {max})"
            )),
            Some(_) => {}
        }
    }
    for name in listed.keys() {
        if !measured.contains_key(*name) {
            problems.push(format!(
                "{kind} is no longer over {limit} lines, remove it: {name}"
            ));
        }
    }
    problems
}

#[test]
fn files_and_functions_over_the_limit_only_shrink() {
    let (files, fns) = measure();
    let mut problems = ratchet("file", FILE_LIMIT, BIG_FILES, &files);
    problems.extend(ratchet("function", FN_LIMIT, BIG_FNS, &fns));
    assert!(
        problems.is_empty(),
        "the size ratchet (tests/tests/integration/rooms.rs):\n{}",
        problems.join("\n")
    );
}
