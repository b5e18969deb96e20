//! Relay cursor pagination and list filters shared by the list queries.

use super::common::domain_error;
use async_graphql::connection::{Connection, Edge};
use async_graphql::{ID, OutputType, Result};
use domain::read::queries::{self, PageRequest};

/// An id in a list filter; an unparsable id matches nothing rather than everything.
pub fn id_filter(id: &Option<ID>) -> Option<i64> {
    id.as_ref().map(|id| id.parse().unwrap_or(-1))
}

/// A cursor argument: the id an edge's `cursor` carries, or `INVALID_INPUT`
/// naming the argument (never the parser's own text).
fn cursor(value: Option<String>, field: &str) -> Result<Option<i64>> {
    value
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                domain_error(
                    domain::UserError::invalid(
                        field,
                        format!(
                            "`{field}` is not a cursor of this list: pass an edge's `cursor` (or `pageInfo.startCursor`/`endCursor`)"
                        ),
                    )
                    .into(),
                )
            })
        })
        .transpose()
}

/// A page size argument: 0 or more (0 returns no edge), or `INVALID_INPUT`.
fn size(value: Option<i32>, field: &str) -> Result<Option<u64>> {
    value
        .map(|n| {
            u64::try_from(n).map_err(|_| {
                domain_error(
                    domain::UserError::invalid(field, format!("`{field}` must be 0 or more"))
                        .into(),
                )
            })
        })
        .transpose()
}

/// A connection's arguments as a page request.
pub fn page(
    after: Option<String>,
    before: Option<String>,
    first: Option<i32>,
    last: Option<i32>,
) -> Result<PageRequest> {
    Ok(PageRequest {
        after: cursor(after, "after")?,
        before: cursor(before, "before")?,
        first: size(first, "first")?,
        last: size(last, "last")?,
    })
}

/// A page of rows as a Relay connection (cursors are the rows' ids).
pub fn connection<M, T: OutputType>(
    page: queries::Page<M>,
    id: impl Fn(&M) -> i64,
    node: impl Fn(M) -> T,
) -> Connection<i64, T> {
    let mut connection = Connection::new(page.has_previous, page.has_next);
    connection
        .edges
        .extend(page.items.into_iter().map(|m| Edge::new(id(&m), node(m))));
    connection
}
