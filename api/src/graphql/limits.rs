//! Limits on what a GraphQL document may cost, checked as early as possible:
//! its length and token count before the parser sees it, its aliases right
//! after parsing (before validation, whose overlapping-fields rule is
//! quadratic in the number of fields), its depth right after parsing too
//! (introspection left out where it is allowed: [`depth`]), and its
//! complexity in validation. Each refusal carries a stable `extensions.code`.
//!
//! The body size itself is limited earlier still, for every route, by
//! [`crate::limits::body_limit`].
//!
//! A connection field costs `page size × selection`, so the complexity
//! budget bounds the rows a query can load. `DocumentGate`: in production no
//! document is parsed without a key; each fragment's expansion is counted
//! once and bounded before async-graphql parses or validates.

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest,
    NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{
    ErrorExtensionValues, IntrospectionMode, Pos, Request, ServerError, ServerResult,
    ValidationResult, Value, Variables,
};
use std::collections::HashMap;
use std::sync::Arc;

/// The longest document accepted, in bytes (the studio's real queries are a few KiB).
pub const MAX_QUERY_BYTES: usize = 16 * 1024;
/// The most lexical tokens a document may have.
pub const MAX_QUERY_TOKENS: usize = 2_000;
/// The most aliased fields a document may have.
pub const MAX_ALIASES: usize = 30;
/// Complexity budget: one per field, list fields multiplied by their page size.
pub const MAX_COMPLEXITY: usize = 5_000;
/// The deepest nesting of fields allowed, introspection aside ([`depth`]).
pub const MAX_DEPTH: usize = 12;

pub const QUERY_TOO_LARGE: &str = "QUERY_TOO_LARGE";
pub const TOO_MANY_ALIASES: &str = "TOO_MANY_ALIASES";
pub const QUERY_TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
pub const QUERY_TOO_DEEP: &str = "QUERY_TOO_DEEP";

/// The cost of a connection field: its page size (as the resolver will clamp
/// it) times the cost of what is selected on each item, plus the field itself.
pub fn page_cost(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let size = first
        .or(last)
        .map(|n| n.clamp(1, domain::read::queries::MAX_PAGE as i32) as usize)
        .unwrap_or(domain::read::queries::DEFAULT_PAGE as usize);
    size.saturating_mul(child_complexity).saturating_add(1)
}

/// Where a refusal of the whole document points: its start (line and column
/// count from 1, as GraphQL clients expect).
const DOCUMENT_START: Pos = Pos { line: 1, column: 1 };

fn refusal(message: impl Into<String>, code: &str) -> ServerError {
    let mut error = ServerError::new(message, Some(DOCUMENT_START));
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", Value::from(code));
    error.extensions = Some(extensions);
    error
}

/// Counts GraphQL lexical tokens without building anything; stops counting
/// once past `limit`.
pub fn count_tokens(source: &str, limit: usize) -> usize {
    let bytes = source.as_bytes();
    let mut i = 0;
    let mut count = 0;
    while i < bytes.len() && count <= limit {
        let b = bytes[i];
        match b {
            // Insignificant: white space, line ends, commas, the BOM's bytes.
            b' ' | b'\t' | b'\n' | b'\r' | b',' | 0xEF | 0xBB | 0xBF => i += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' => {
                count += 1;
                if bytes[i..].starts_with(b"\"\"\"") {
                    i += 3;
                    while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    i += 3;
                } else {
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    i += 1;
                }
            }
            b'.' if bytes[i..].starts_with(b"...") => {
                count += 1;
                i += 3;
            }
            b if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' => {
                // A name or a number (with its sign, fraction and exponent).
                count += 1;
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || bytes[i] == b'_'
                        || bytes[i] == b'.'
                        || bytes[i] == b'+'
                        || bytes[i] == b'-')
                {
                    i += 1;
                }
            }
            // Punctuators, and anything else counts as one token each.
            _ => {
                count += 1;
                i += 1;
            }
        }
    }
    count
}

fn aliases_in(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => {
                usize::from(field.node.alias.is_some()) + aliases_in(&field.node.selection_set.node)
            }
            Selection::InlineFragment(fragment) => aliases_in(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

/// Aliases written in the document (operations and fragment definitions).
pub fn count_aliases(document: &ExecutableDocument) -> usize {
    let operations: usize = document
        .operations
        .iter()
        .map(|(_, op)| aliases_in(&op.node.selection_set.node))
        .sum();
    let fragments: usize = document
        .fragments
        .values()
        .map(|f| aliases_in(&f.node.selection_set.node))
        .sum();
    operations + fragments
}

/// The introspection fields: what they select is exempt from [`MAX_DEPTH`]
/// where introspection is allowed (GraphiQL's standard introspection query
/// is 13 levels deep, for `ofType` chains).
const INTROSPECTION_ROOTS: [&str; 2] = ["__schema", "__type"];

/// How deeply the document's fields nest, counted as async-graphql counts
/// it (each field one level, `__typename` none, a fragment where it is
/// spread). With `skip_introspection`, the `__schema` and `__type`
/// selections are left out, and only they: the real fields of a document
/// that also introspects are measured as usual. Each fragment is measured
/// once (spreads are looked up, not re-walked); a cycle counts as nothing
/// here (validation refuses it).
pub fn depth(document: &ExecutableDocument, skip_introspection: bool) -> usize {
    let mut walk = DepthWalk {
        document,
        skip_introspection,
        measured: HashMap::new(),
        open: Vec::new(),
    };
    document
        .operations
        .iter()
        .map(|(_, op)| walk.of(&op.node.selection_set.node))
        .max()
        .unwrap_or(0)
}

struct DepthWalk<'a> {
    document: &'a ExecutableDocument,
    skip_introspection: bool,
    measured: HashMap<&'a str, usize>,
    open: Vec<&'a str>,
}

impl<'a> DepthWalk<'a> {
    fn of(&mut self, set: &'a SelectionSet) -> usize {
        let mut deepest = 0;
        for item in &set.items {
            let d = match &item.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    if name == "__typename"
                        || (self.skip_introspection && INTROSPECTION_ROOTS.contains(&name))
                    {
                        0
                    } else {
                        1 + self.of(&field.node.selection_set.node)
                    }
                }
                Selection::InlineFragment(fragment) => self.of(&fragment.node.selection_set.node),
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if let Some(d) = self.measured.get(name) {
                        *d
                    } else if self.open.contains(&name) {
                        0
                    } else if let Some(fragment) = self.document.fragments.get(name) {
                        self.open.push(name);
                        let d = self.of(&fragment.node.selection_set.node);
                        self.open.pop();
                        self.measured.insert(name, d);
                        d
                    } else {
                        0
                    }
                }
            };
            deepest = deepest.max(d);
        }
        deepest
    }
}

/// The schema extension that enforces the limits above.
pub struct QueryLimits;

impl ExtensionFactory for QueryLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(QueryLimitsExtension)
    }
}

struct QueryLimitsExtension;

#[async_trait::async_trait]
impl Extension for QueryLimitsExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        if request.query.len() > MAX_QUERY_BYTES {
            return Err(refusal(
                format!("the query is longer than {MAX_QUERY_BYTES} bytes"),
                QUERY_TOO_LARGE,
            ));
        }
        if count_tokens(&request.query, MAX_QUERY_TOKENS) > MAX_QUERY_TOKENS {
            return Err(refusal(
                format!("the query has more than {MAX_QUERY_TOKENS} tokens"),
                QUERY_TOO_LARGE,
            ));
        }
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let aliases = count_aliases(&document);
        if aliases > MAX_ALIASES {
            return Err(refusal(
                format!("the query has {aliases} aliases; at most {MAX_ALIASES} are allowed"),
                TOO_MANY_ALIASES,
            ));
        }
        let introspection =
            ctx.schema_env.registry.introspection_mode == IntrospectionMode::Enabled;
        if depth(&document, introspection) > MAX_DEPTH {
            return Err(refusal(
                format!("the query is nested deeper than {MAX_DEPTH} levels"),
                QUERY_TOO_DEEP,
            ));
        }
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        // async-graphql reports its own limits as bare messages; give them codes.
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|error| match error.message.as_str() {
                    "Query is too complex." => refusal(
                        format!(
                            "the query is too expensive (budget {MAX_COMPLEXITY}; a list costs its page size times its fields)"
                        ),
                        QUERY_TOO_COMPLEX,
                    ),
                    _ => error,
                })
                .collect()
        })
    }
}

/// The most fields a document may select once every fragment spread is
/// replaced by its fragment (the most a document without fragments can
/// have under [`MAX_QUERY_TOKENS`]). Checked right after parsing, before
/// validation, whose rules walk the document with its fragments spread.
pub const MAX_EXPANDED_FIELDS: usize = 2_000;
/// A document that does not parse.
pub const GRAPHQL_PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
/// A document that parses but does not fit the schema (unknown field,
/// wrong argument, unused fragment, fragment cycle...).
pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";

/// Why a document's expansion was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expansion {
    /// More than the limit once fragments are spread.
    TooLarge,
    /// A fragment spreads itself (directly or through others).
    Cycle(String),
}

struct Expander<'a> {
    document: &'a ExecutableDocument,
    limit: usize,
    /// Each fragment's expanded field count, computed once.
    memo: std::collections::HashMap<&'a str, usize>,
    visiting: std::collections::HashSet<&'a str>,
}

impl<'a> Expander<'a> {
    fn set(&mut self, set: &'a SelectionSet) -> Result<usize, Expansion> {
        let mut total = 0usize;
        for item in &set.items {
            let cost = match &item.node {
                Selection::Field(field) => 1 + self.set(&field.node.selection_set.node)?,
                Selection::InlineFragment(fragment) => {
                    self.set(&fragment.node.selection_set.node)?
                }
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.node.fragment_name.node.as_str())?
                }
            };
            total = total.saturating_add(cost);
            if total > self.limit {
                return Err(Expansion::TooLarge);
            }
        }
        Ok(total)
    }

    fn fragment(&mut self, name: &'a str) -> Result<usize, Expansion> {
        if let Some(cost) = self.memo.get(name) {
            return Ok(*cost);
        }
        // An unknown fragment costs nothing here; validation names it.
        let Some((key, definition)) = self.document.fragments.get_key_value(name) else {
            return Ok(0);
        };
        let name = key.as_str();
        if !self.visiting.insert(name) {
            return Err(Expansion::Cycle(name.to_string()));
        }
        let cost = self.set(&definition.node.selection_set.node);
        self.visiting.remove(name);
        let cost = cost?;
        self.memo.insert(name, cost);
        Ok(cost)
    }
}

/// The fields the document's operations select with every fragment spread
/// expanded, without expanding anything: each fragment's count is computed
/// once and reused wherever it is spread, so the walk is linear in the
/// document however often fragments spread each other. Also refuses a
/// fragment definition (used or not) over the limit, and fragment cycles.
pub fn expanded_fields(document: &ExecutableDocument, limit: usize) -> Result<usize, Expansion> {
    let mut expander = Expander {
        document,
        limit,
        memo: Default::default(),
        visiting: Default::default(),
    };
    let mut names: Vec<&str> = document.fragments.keys().map(|n| n.as_str()).collect();
    names.sort_unstable();
    for name in names {
        expander.fragment(name)?;
    }
    let mut total = 0usize;
    for (_, operation) in document.operations.iter() {
        total = total.saturating_add(expander.set(&operation.node.selection_set.node)?);
        if total > limit {
            return Err(Expansion::TooLarge);
        }
    }
    Ok(total)
}

/// Whether every operation of the document only asks the schema about
/// itself (`__schema`, `__type`, `__typename` at its root): what may run
/// without an API key where introspection is allowed.
pub fn only_introspection(document: &ExecutableDocument) -> bool {
    document.operations.iter().all(|(_, operation)| {
        operation.node.ty == async_graphql::parser::types::OperationType::Query
            && operation.node.selection_set.node.items.iter().all(|item| {
                matches!(&item.node, Selection::Field(field)
                    if matches!(field.node.name.node.as_str(), "__schema" | "__type" | "__typename"))
            })
    })
}

/// Gives an error without a code the given one.
fn with_code(mut error: ServerError, code: &str) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", Value::from(code));
    }
    error
}

fn unauthenticated() -> ServerError {
    refusal(
        "a valid studio API key is required: send `Authorization: Bearer <key>`",
        domain::ErrorCode::Unauthenticated.as_str(),
    )
}

/// What a document must pass before async-graphql validates it (issue 17,
/// item 7): a request without a studio is refused before its document is
/// parsed (where introspection is allowed, it is parsed, bounded by the
/// token limit, and only an introspection query goes on); every document's
/// expansion is bounded by [`MAX_EXPANDED_FIELDS`]. Also gives parse and
/// validation errors a code. Register it after [`QueryLimits`] (whose size
/// checks come first).
pub struct DocumentGate {
    /// Whether the schema answers introspection (development).
    pub introspection: bool,
}

impl ExtensionFactory for DocumentGate {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(DocumentGateExtension {
            introspection: self.introspection,
        })
    }
}

struct DocumentGateExtension {
    introspection: bool,
}

fn authenticated(ctx: &ExtensionContext<'_>, request: Option<&Request>) -> bool {
    let in_request = request.and_then(|r| {
        r.data
            .get(&std::any::TypeId::of::<super::Auth>())
            .and_then(|d| d.downcast_ref::<super::Auth>())
    });
    matches!(
        in_request.or_else(|| ctx.data_opt::<super::Auth>()),
        Some(super::Auth(Some(_)))
    )
}

/// Refuses what must not reach async-graphql's own parsing step, whose
/// recursion check already walks every fragment spread (exponential in a
/// fragment bomb), let alone validation.
fn check_document(document: &ExecutableDocument, authenticated: bool) -> ServerResult<()> {
    if !authenticated && !only_introspection(document) {
        return Err(unauthenticated());
    }
    match expanded_fields(document, MAX_EXPANDED_FIELDS) {
        Ok(_) => Ok(()),
        Err(Expansion::TooLarge) => Err(refusal(
            format!(
                "the query selects more than {MAX_EXPANDED_FIELDS} fields once its fragments are spread"
            ),
            QUERY_TOO_LARGE,
        )),
        Err(Expansion::Cycle(name)) => Err(refusal(
            format!("fragment `{name}` spreads itself"),
            GRAPHQL_VALIDATION_FAILED,
        )),
    }
}

#[async_trait::async_trait]
impl Extension for DocumentGateExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let authenticated = authenticated(ctx, Some(&request));
        if !self.introspection && !authenticated {
            return Err(unauthenticated());
        }
        // Parsed here (bounded by the token limit) and kept: async-graphql
        // uses this document instead of parsing again.
        let document = request
            .parsed_query()
            .map_err(|e| with_code(e, GRAPHQL_PARSE_FAILED))?;
        check_document(document, authenticated)?;
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables)
            .await
            .map_err(|e| with_code(e, GRAPHQL_PARSE_FAILED))
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|e| with_code(e, GRAPHQL_VALIDATION_FAILED))
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_counted_without_parsing() {
        assert_eq!(count_tokens("{ a }", 100), 3);
        assert_eq!(
            count_tokens("query Q($n: Int = -1.5e3) { x: f(s: \"a b\", n: $n) }", 100),
            24
        );
        assert_eq!(count_tokens("# only a comment\n", 100), 0);
        assert_eq!(count_tokens("{ \"\"\" block \"\"\" ...F }", 100), 5);
        // Stops early on huge input.
        assert!(count_tokens(&"a ".repeat(1_000_000), 10) <= 11);
    }

    fn depth_of(query: &str, skip_introspection: bool) -> usize {
        let document = async_graphql::parser::parse_query(query).expect("a document");
        depth(&document, skip_introspection)
    }

    #[test]
    fn depth_counts_fields_through_fragments() {
        assert_eq!(depth_of("{ a { b { c __typename } } d }", false), 3);
        assert_eq!(
            depth_of(
                "query { a { ...F ... on X { y { z { w } } } } } fragment F on A { b { c } }",
                false
            ),
            4
        );
        // The deepest operation counts; a fragment spread twice is measured once.
        assert_eq!(
            depth_of(
                "query A { a { ...F ...F } } query B { b } fragment F on A { b { ...G ...G } } fragment G on B { c { d } }",
                false
            ),
            4
        );
        // A cycle ends the walk (validation refuses it later).
        assert_eq!(
            depth_of("{ a { ...F } } fragment F on A { b { ...F } }", false),
            2
        );
    }

    #[test]
    fn only_the_introspection_selections_are_exempt_and_only_when_allowed() {
        let introspection = "query IntrospectionQuery { __schema { types { ...FullType } } } fragment FullType on __Type { fields { type { ...TypeRef } } } fragment TypeRef on __Type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } }";
        assert_eq!(depth_of(introspection, false), 13);
        assert_eq!(depth_of(introspection, true), 0);
        assert_eq!(
            depth_of("{ __type(name: \"Invoice\") { fields { name } } }", true),
            0
        );
        // Real fields next to introspection are still measured.
        let mixed = "{ __schema { types { name } } a { b { c { d } } } }";
        assert_eq!(depth_of(mixed, true), 4);
        assert_eq!(depth_of(mixed, false), 4);
        let mixed_fragment =
            "{ __schema { types { ...T } } a { ...T } } fragment T on X { b { c } }";
        assert_eq!(depth_of(mixed_fragment, true), 3);
    }

    #[test]
    fn page_cost_multiplies_by_the_clamped_page_size() {
        assert_eq!(page_cost(Some(100), None, 3), 301);
        assert_eq!(page_cost(Some(10_000), None, 3), 301);
        assert_eq!(page_cost(None, None, 3), 61);
        assert_eq!(page_cost(None, Some(5), 2), 11);
    }
}
