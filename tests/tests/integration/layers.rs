//! The layers on the wall are the import graph, and the rooms stay small:
//! both read the code as Rust (`syn`), so a grouped `use crate::{…}`, a
//! `super::` path, a path inside a macro or a one-off `crate::x::f()` call
//! counts like any `use`.

use crate::architecture::{root, rust_files};
use proc_macro2::{TokenStream, TokenTree};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

/// The layers of `domain/src`, bottom first, and what each may use besides
/// itself. Each layer uses only layers listed before it, so no circle can
/// run between files of different layers.
const LAYERS: &[(&str, &[&str])] = &[
    ("kernel", &[]),
    ("ports", &["kernel"]),
    ("infra", &["kernel", "ports"]),
    ("workflow", &["kernel", "ports", "infra"]),
    // The simulated gateway reports its events through `workflow::next`.
    ("adapters", &["kernel", "ports", "infra", "workflow"]),
    ("studio", &["kernel", "ports", "infra", "workflow"]),
    (
        "billing",
        &["kernel", "ports", "infra", "workflow", "studio"],
    ),
    (
        "followup",
        &["kernel", "ports", "infra", "workflow", "studio", "billing"],
    ),
    (
        "read",
        &[
            "kernel", "ports", "infra", "workflow", "studio", "billing", "followup",
        ],
    ),
    // The composition root, the webhook entry and the demo data.
    (
        "app",
        &[
            "kernel", "ports", "infra", "workflow", "adapters", "studio", "billing", "followup",
            "read",
        ],
    ),
];

/// Uses the table does not allow, known and on their way out: a file, the
/// layer it uses, and why. This list may only shrink.
const EXCEPTIONS: &[(&str, &str, &str)] = &[];

fn parse(file: &Path) -> syn::File {
    let text = std::fs::read_to_string(file).expect("read a source file");
    syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// The module a file of `domain/src` is (`billing/payments.rs` →
/// `[billing, payments]`, `adapters/webhooks/mod.rs` → `[adapters,
/// webhooks]`, `lib.rs` → `[]`).
fn module_of(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

pub(crate) fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Meta>()
                .is_ok_and(|m| m.path().is_ident("test"))
    })
}

/// Every path into this crate a file names, resolved to absolute module
/// paths (`crate::…`, `super::…`, `self::…`), with its line.
struct CratePaths {
    module: Vec<String>,
    found: Vec<(Vec<String>, usize)>,
}

impl CratePaths {
    /// `segments` as written, from the current module; `None` if it does not
    /// start in this crate.
    fn resolve(&self, segments: &[String]) -> Option<Vec<String>> {
        let mut module = self.module.clone();
        let mut rest = segments;
        match rest.first().map(String::as_str) {
            Some("crate") => {
                module.clear();
                rest = &rest[1..];
            }
            Some("super" | "self") => {
                while let Some(first) = rest.first() {
                    match first.as_str() {
                        "super" => {
                            module.pop();
                        }
                        "self" => {}
                        _ => break,
                    }
                    rest = &rest[1..];
                }
            }
            _ => return None,
        }
        module.extend(rest.iter().cloned());
        Some(module)
    }

    fn note(&mut self, segments: &[String], line: usize) {
        if let Some(path) = self.resolve(segments) {
            self.found.push((path, line));
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree, line: usize) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree, line);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let name = n.ident.to_string();
                if name == "self" {
                    self.note(&prefix.clone(), line);
                } else {
                    prefix.push(name);
                    self.note(&prefix.clone(), line);
                    prefix.pop();
                }
            }
            syn::UseTree::Rename(r) => {
                prefix.push(r.ident.to_string());
                self.note(&prefix.clone(), line);
                prefix.pop();
            }
            syn::UseTree::Glob(_) => self.note(&prefix.clone(), line),
            syn::UseTree::Group(g) => {
                for item in &g.items {
                    self.use_tree(prefix, item, line);
                }
            }
        }
    }

    /// Paths inside a macro's tokens (`format!`, `tracing::info!`...).
    fn tokens(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < trees.len() {
            match &trees[i] {
                TokenTree::Group(g) => self.tokens(g.stream()),
                TokenTree::Ident(id) if matches!(id.to_string().as_str(), "crate" | "super") => {
                    let line = id.span().start().line;
                    let mut segments = vec![id.to_string()];
                    let mut j = i + 1;
                    while let (
                        Some(TokenTree::Punct(a)),
                        Some(TokenTree::Punct(b)),
                        Some(TokenTree::Ident(next)),
                    ) = (trees.get(j), trees.get(j + 1), trees.get(j + 2))
                    {
                        if a.as_char() != ':' || b.as_char() != ':' {
                            break;
                        }
                        segments.push(next.to_string());
                        j += 3;
                    }
                    self.note(&segments, line);
                    i = j;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
    }
}

impl<'ast> Visit<'ast> for CratePaths {
    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if is_test_only(&item.attrs) {
            return;
        }
        self.module.push(item.ident.to_string());
        visit::visit_item_mod(self, item);
        self.module.pop();
    }

    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        if !is_test_only(&item.attrs) {
            visit::visit_item_fn(self, item);
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let line = item.span().start().line;
        self.use_tree(&mut Vec::new(), &item.tree, line);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.note(&segments, path.span().start().line);
        visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.tokens(mac.tokens.clone());
        visit::visit_macro(self, mac);
    }
}

/// The layer a crate root re-export stands for (`crate::AppContext` is
/// `infra`), read from `lib.rs`'s `pub use`s.
fn root_reexports(src: &Path) -> BTreeMap<String, String> {
    let mut paths = CratePaths {
        module: Vec::new(),
        found: Vec::new(),
    };
    for item in parse(&src.join("lib.rs")).items {
        if let syn::Item::Use(u) = item {
            paths.use_tree(&mut vec!["crate".to_string()], &u.tree, 0);
        }
    }
    paths
        .found
        .into_iter()
        .filter_map(|(path, _)| Some((path.last()?.clone(), path.first()?.clone())))
        .collect()
}

/// Each use of another layer in `domain/src`: (file, line, layer used).
fn cross_layer_uses() -> Vec<(String, usize, String, String)> {
    let src = root().join("domain/src");
    let reexports = root_reexports(&src);
    let layers: BTreeSet<&str> = LAYERS.iter().map(|(l, _)| *l).collect();
    let mut uses = Vec::new();
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).expect("under src").to_path_buf();
        let module = module_of(&relative);
        let Some(own) = module.first().cloned() else {
            continue; // lib.rs declares the layers.
        };
        let mut paths = CratePaths {
            module,
            found: Vec::new(),
        };
        paths.visit_file(&parse(&file));
        let shown = relative.to_string_lossy().replace('\\', "/");
        for (path, line) in paths.found {
            let Some(first) = path.first() else { continue };
            let layer = match reexports.get(first) {
                Some(layer) if !layers.contains(first.as_str()) => layer.clone(),
                _ => first.clone(),
            };
            if layer != own {
                uses.push((shown.clone(), line, layer, path.join("::")));
            }
        }
    }
    uses
}

/// Every `use` of another layer (grouped, `super::`, inline paths, paths in
/// macros) is in the table of allowed dependencies, or a listed exception.
#[test]
fn every_cross_layer_use_is_in_the_table() {
    let allowed: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let mut bad = Vec::new();
    let mut excepted = BTreeSet::new();
    for (file, line, layer, path) in cross_layer_uses() {
        let own = file.split(['/', '.']).next().unwrap_or_default();
        let Some(may) = allowed.get(own) else {
            bad.push(format!("domain/src/{file}: not in a layer of the table"));
            continue;
        };
        if may.contains(&layer.as_str()) {
            continue;
        }
        if let Some(exception) = EXCEPTIONS
            .iter()
            .find(|(f, l, _)| *f == file && *l == layer)
        {
            excepted.insert(*exception);
            continue;
        }
        bad.push(format!(
            "domain/src/{file}:{line}: `{own}` uses `crate::{path}` ({layer}); {own} may use {may:?}"
        ));
    }
    let stale: Vec<_> = EXCEPTIONS
        .iter()
        .filter(|e| !excepted.contains(*e))
        .map(|(f, l, _)| format!("{f} → {l}"))
        .collect();
    assert!(
        stale.is_empty(),
        "these exceptions are gone from the code; remove them from EXCEPTIONS: {stale:?}"
    );
    bad.sort();
    bad.dedup();
    assert!(
        bad.is_empty(),
        "imports the layer table does not allow (move the code, or the dependency, \
         instead of widening the table):\n{}",
        bad.join("\n")
    );
}

/// The table is a ladder: a layer uses only layers listed before it (so no
/// circle can run between layers), and every folder of `domain/src` is in it.
#[test]
fn the_layer_table_is_a_ladder_over_every_folder() {
    for (i, (layer, may)) in LAYERS.iter().enumerate() {
        for used in *may {
            assert!(
                LAYERS[..i].iter().any(|(l, _)| l == used),
                "{layer} may use {used}, which is not below it"
            );
        }
    }
    let src = root().join("domain/src");
    let folders: BTreeSet<String> = std::fs::read_dir(&src)
        .expect("read domain/src")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let table: BTreeSet<String> = LAYERS.iter().map(|(l, _)| l.to_string()).collect();
    assert_eq!(folders, table, "every layer folder is in the table");
}

/// The grouped and inline forms are read: a test of the reader itself.
#[test]
fn the_reader_sees_grouped_super_inline_and_macro_paths() {
    let file: syn::File = syn::parse_str(
        "use crate::{billing::payments, kernel::{money::Money, keys}};
         use super::super::read::queries;
         fn f() { crate::followup::emails::send(); tracing::info!(x = %crate::adapters::x()); }
         #[cfg(test)] mod tests { use crate::app::seed; }",
    )
    .expect("parse");
    let mut paths = CratePaths {
        module: vec!["studio".into(), "sessions".into()],
        found: Vec::new(),
    };
    paths.visit_file(&file);
    let mut seen: Vec<String> = paths.found.iter().map(|(p, _)| p.join("::")).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(
        seen,
        [
            "adapters::x",
            "billing::payments",
            "followup::emails::send",
            "kernel::keys",
            "kernel::money::Money",
            "read::queries",
        ]
    );
}
