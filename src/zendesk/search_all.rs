//! Every result of a search, past the 1,000 that Zendesk's search pages
//! to: the search first (offset paging, 100 a page); when its `count` says
//! there are more than it can page, the same query through the search
//! export (`export_search_results`), before any result is yielded.
//!
//! The export takes the record type as `filter[type]` (never `type:` in the
//! query), orders by `created_at` only, newest first (its recorded cursors
//! say `"field":"created_at","desc":true`), has no `count`, and its cursor
//! expires after an hour. So the stream:
//!
//! - rewrites the query (type out, `filter[type]` in), and refuses, before
//!   sending the export, a query without a record type or with a sort the
//!   export cannot keep (anything but `created_at`, newest first);
//! - when a later page of the export is refused (400 or 422: Zendesk does
//!   not document the answer to an expired cursor), starts the export again
//!   from the last `created_at` it yielded (`created<=T`, or `created>=T`
//!   if the results came oldest first), passing over the results at `T` it
//!   already yielded; it does so only after new results, so it never loops;
//! - never ends early in silence: every stop is the end or an error.

use std::collections::HashSet;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use chrono::{DateTime, SecondsFormat, Utc};
use futures::stream::BoxStream;
use futures::{Stream, StreamExt as _, TryStreamExt as _};
use progenitor_client::ClientInfo as _;

use super::generated::prelude::*;
use super::generated::{Client, types};
use super::search::{Search, SearchType};
use crate::runtime::Paginated;
use crate::{Error, Result};

/// Results Zendesk's search pages to; past them, the export.
const SEARCH_LIMIT: i64 = 1000;

/// A search run through [`ZendeskExt::search_all`](super::ZendeskExt::search_all).
#[derive(Debug)]
pub struct SearchAll {
    client: Client,
    query: Search,
}

impl SearchAll {
    pub(crate) fn new(client: &Client, query: Search) -> Self {
        let client = Client::new_with_client(
            client.baseurl(),
            client.client().clone(),
            client.inner().clone(),
        );
        SearchAll { client, query }
    }

    /// Every result, one page held at a time.
    pub fn stream(self) -> SearchStream {
        let run = Run {
            client: self.client,
            query: self.query,
            phase: Phase::Start,
            count: None,
            first_created: None,
            last_created: None,
            at_last: HashSet::new(),
            since_restart: 0,
        };
        let inner = futures::stream::try_unfold(run, |mut run| async move {
            let item = run.next().await?;
            Ok(item.map(|i| (i, run)))
        })
        .boxed();
        SearchStream { inner }
    }
}

/// The results of a [`SearchAll`], as a `Stream`.
pub struct SearchStream {
    inner: BoxStream<'static, Result<types::SearchResult>>,
}

impl fmt::Debug for SearchStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SearchStream").finish_non_exhaustive()
    }
}

impl Stream for SearchStream {
    type Item = Result<types::SearchResult>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

enum Phase {
    Start,
    Search(Paginated<types::SearchResponse>),
    Export(Paginated<types::SearchExportResponse>),
    Done,
}

struct Run {
    client: Client,
    query: Search,
    phase: Phase,
    /// The search's `count`.
    count: Option<i64>,
    first_created: Option<DateTime<Utc>>,
    last_created: Option<DateTime<Utc>>,
    /// Ids of the results yielded with `created_at` = `last_created`.
    at_last: HashSet<i64>,
    /// Results yielded by the export since it last started.
    since_restart: u64,
}

impl Run {
    async fn next(&mut self) -> Result<Option<types::SearchResult>> {
        loop {
            match &mut self.phase {
                Phase::Done => return Ok(None),
                Phase::Start => {
                    let text = self.fail_on(self.query.query())?;
                    let mut search = self.client.search().query(text).per_page(100u32);
                    if let Some(by) = self.query.sort_field() {
                        search = search.sort_by(by);
                    }
                    if let Some(order) = self.query.order() {
                        search = search.sort_order(order);
                    }
                    self.phase = Phase::Search(search.stream());
                }
                Phase::Search(results) => {
                    let item = match results.try_next().await {
                        Ok(item) => item,
                        Err(e) => return self.fail(e),
                    };
                    if self.count.is_none() {
                        self.count = Some(
                            results
                                .current_page()
                                .and_then(|p| p.count)
                                .unwrap_or_default(),
                        );
                        if self.count > Some(SEARCH_LIMIT) {
                            let export = self.export(None);
                            let export = self.fail_on(export)?;
                            self.phase = Phase::Export(export);
                            continue;
                        }
                    }
                    if item.is_none() {
                        self.phase = Phase::Done;
                    }
                    return Ok(item);
                }
                Phase::Export(results) => match results.try_next().await {
                    Ok(Some(result)) => {
                        if self.seen(&result) {
                            continue;
                        }
                        self.since_restart += 1;
                        self.remember(&result);
                        return Ok(Some(result));
                    }
                    Ok(None) => {
                        self.phase = Phase::Done;
                        return Ok(None);
                    }
                    Err(e) if self.expired(&e) => {
                        let restart = self.export(self.last_created);
                        self.phase = Phase::Export(self.fail_on(restart)?);
                        self.since_restart = 0;
                    }
                    Err(e) => return self.fail(e),
                },
            }
        }
    }

    /// The export of the query, from `from` on when restarting.
    fn export(
        &self,
        from: Option<DateTime<Utc>>,
    ) -> Result<Paginated<types::SearchExportResponse>> {
        let record = self.exportable()?;
        let mut text = self.query.export_query()?;
        if let Some(at) = from {
            let op = if self.oldest_first() { ">=" } else { "<=" };
            let at = at.to_rfc3339_opts(SecondsFormat::Secs, true);
            text = if text.is_empty() {
                format!("created{op}{at}")
            } else {
                format!("{text} created{op}{at}")
            };
        }
        Ok(self
            .client
            .export_search_results()
            .query(text)
            .filter_type(record.filter())
            .stream())
    }

    /// The record type, when the export can keep the query's order.
    fn exportable(&self) -> Result<SearchType> {
        let count = self.count.unwrap_or_default();
        let Some(record) = self.query.record_type() else {
            return Err(Error::invalid(
                "search query",
                format!(
                    "{count} results are more than the {SEARCH_LIMIT} search pages to, and the \
                     export that goes past them takes one record type: start from \
                     Search::tickets(), users(), organizations() or groups()"
                ),
            ));
        };
        let by_created = self
            .query
            .sort_field()
            .is_none_or(|f| matches!(f, "created_at" | "created"));
        let newest_first = self.query.order() != Some(types::SearchSortOrder::Asc);
        if !by_created || !newest_first {
            let asked = format!(
                "{} {}",
                self.query.sort_field().unwrap_or("relevance"),
                self.query
                    .order()
                    .map_or("desc".to_string(), |o| o.to_string())
            );
            return Err(Error::invalid(
                "search sort",
                format!(
                    "{count} results are more than the {SEARCH_LIMIT} search pages to, and the \
                     export that goes past them orders by created_at only, newest first: it \
                     cannot keep `{asked}`; sort by created_at desc, or narrow the query"
                ),
            ));
        }
        Ok(record)
    }

    /// Whether the export's refusal looks like its cursor expired: a
    /// refused later page, after new results (else it would loop).
    fn expired(&self, e: &Error) -> bool {
        self.since_restart > 0
            && self.last_created.is_some()
            && e.status()
                .is_some_and(|s| s.as_u16() == 400 || s.as_u16() == 422)
    }

    /// A result yielded before a restart.
    fn seen(&self, r: &types::SearchResult) -> bool {
        r.created_at.is_some()
            && r.created_at.map(|t| t.0) == self.last_created
            && r.id.is_some_and(|id| self.at_last.contains(&id))
    }

    fn remember(&mut self, r: &types::SearchResult) {
        let Some(at) = r.created_at.map(|t| t.0) else {
            return;
        };
        self.first_created.get_or_insert(at);
        if self.last_created != Some(at) {
            self.last_created = Some(at);
            self.at_last.clear();
        }
        if let Some(id) = r.id {
            self.at_last.insert(id);
        }
    }

    /// Whether the export came oldest first (newest first until seen).
    fn oldest_first(&self) -> bool {
        matches!((self.first_created, self.last_created), (Some(a), Some(b)) if a < b)
    }

    fn fail<T>(&mut self, e: Error) -> Result<T> {
        self.phase = Phase::Done;
        Err(e)
    }

    fn fail_on<T>(&mut self, r: Result<T>) -> Result<T> {
        r.or_else(|e| self.fail(e))
    }
}
