//! Delta rounds: what changed since the last round, and where the next one
//! starts.
//!
//! Every delta operation of the spec (`message_delta`, `mail_folder_delta`,
//! `event_delta`, `contact_delta`, `item_delta`) has a generated `.stream()`
//! that follows `@odata.nextLink` and, after the last page, gives the
//! `@odata.deltaLink` as its [`resume_token`](Paginated::resume_token). This
//! module adds what a sync loop needs on top, for any of them:
//!
//! - [`DeltaItem`]: an item is changed, or removed (`@removed` with its
//!   reason; a drive item's `deleted` facet), typed;
//! - [`DeltaRound`]: a round as a stream of those, ending with a
//!   [`DeltaOutcome`]: the delta link to save, or
//!   [`ResyncNeeded`](DeltaOutcome::ResyncNeeded) when Graph can no longer
//!   serve the saved state (410 Gone, `syncStateNotFound`, the drive's
//!   `resync*` codes), with the `Location` Graph gave to start again from;
//! - [`DeltaSync`]: the saved link and the query together, one round per
//!   [`run`](DeltaSync::run).
//!
//! The runtime ends a round with [`Error::Protocol`] when Graph repeats a
//! next link or serves the items of a page again under a new one, instead of
//! looping. Delta requests ask for immutable ids by default (see
//! [`ClientBuilder::immutable_ids`](super::ClientBuilder::immutable_ids)).

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::{Stream, StreamExt as _};

use super::types;
use crate::runtime::{Page, Paginated, Position};
use crate::{Error, Result};

/// Why an item left the delta's scope (`@removed.reason`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RemovedReason {
    /// Deleted for good.
    Deleted,
    /// Moved out of the tracked scope, or deleted softly; it may come back.
    Changed,
    /// A reason this client does not know, as Graph spelled it.
    Other(String),
}

impl RemovedReason {
    fn parse(reason: Option<&str>) -> Self {
        match reason {
            None | Some("deleted") => RemovedReason::Deleted,
            Some("changed") => RemovedReason::Changed,
            Some(other) => RemovedReason::Other(other.to_string()),
        }
    }
}

/// One item of a delta round.
#[derive(Clone, Debug, PartialEq)]
pub enum DeltaItem<T> {
    /// Created or changed: its current state (only the properties the
    /// query selected).
    Changed(T),
    /// Removed: only its id is known.
    Removed {
        /// The item's id.
        id: String,
        /// Why it was removed.
        reason: RemovedReason,
    },
}

/// An item type of a delta answer: says whether an item is a removal.
pub trait DeltaEntry {
    /// The id and reason when the item is a removal, `None` when it is a
    /// changed item.
    fn removal(&self) -> Option<(String, RemovedReason)>;
}

/// Outlook items: a removal is `{"id", "@removed": {"reason"}}`.
macro_rules! removed_by_annotation {
    ($($ty:ident),+) => {$(
        impl DeltaEntry for types::$ty {
            fn removal(&self) -> Option<(String, RemovedReason)> {
                let removed = self.removed.as_ref()?;
                Some((self.id.clone(), RemovedReason::parse(removed.reason.as_deref())))
            }
        }
    )+};
}
removed_by_annotation!(Message, MailFolder, Event, Contact);

/// Drive items: OneDrive marks removals with the `deleted` facet (and
/// declares `@removed` without using it).
impl DeltaEntry for types::DriveItem {
    fn removal(&self) -> Option<(String, RemovedReason)> {
        let id = self.id.clone().unwrap_or_default();
        if let Some(removed) = &self.removed {
            return Some((id, RemovedReason::parse(removed.reason.as_deref())));
        }
        self.deleted.as_ref().map(|_| (id, RemovedReason::Deleted))
    }
}

impl<T: DeltaEntry> DeltaItem<T> {
    /// The typed form of `item`.
    pub fn from_entry(item: T) -> Self {
        match item.removal() {
            Some((id, reason)) => DeltaItem::Removed { id, reason },
            None => DeltaItem::Changed(item),
        }
    }
}

/// How a delta round ended.
#[derive(Clone, PartialEq, Eq)]
pub enum DeltaOutcome {
    /// Every page was read: save `delta_link` and start the next round
    /// from it.
    Complete {
        /// The `@odata.deltaLink` of the last page.
        delta_link: String,
    },
    /// Graph cannot serve the saved state any more: start a full round
    /// again, from `location` when Graph named one on a host the client
    /// trusts, else from the query's start.
    ResyncNeeded {
        /// Graph's `Location` for the new round.
        location: Option<String>,
        /// Graph's error code (`syncStateNotFound`,
        /// `resyncChangesApplyDifferences`, ...), when it gave one.
        code: Option<String>,
    },
}

// Links carry delta tokens: they are shown without their query string.
impl fmt::Debug for DeltaOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = |link: &str| link.split('?').next().unwrap_or_default().to_string();
        match self {
            DeltaOutcome::Complete { delta_link } => f
                .debug_struct("Complete")
                .field("delta_link", &path(delta_link))
                .finish(),
            DeltaOutcome::ResyncNeeded { location, code } => f
                .debug_struct("ResyncNeeded")
                .field("location", &location.as_deref().map(path))
                .field("code", code)
                .finish(),
        }
    }
}

/// Error codes of a delta link Graph no longer serves.
const RESYNC_CODES: &[&str] = &[
    "syncStateNotFound",
    "syncStateInvalid",
    "resyncRequired",
    "resyncChangesApplyDifferences",
    "resyncChangesUploadDifferences",
];

/// One delta round as a stream of typed items; after its last item,
/// [`outcome`](Self::outcome) says how it ended.
///
/// ```no_run
/// # async fn run(graph: specbound::graph::Client, saved: Option<String>) -> specbound::Result<()> {
/// use futures::TryStreamExt as _;
/// use specbound::graph::delta::{DeltaItem, DeltaOutcome, DeltaRound};
/// use specbound::graph::{Mailbox, prelude::*};
/// use specbound::runtime::Position;
/// let mut round = DeltaRound::new(
///     graph
///         .message_delta()
///         .mailbox(Mailbox::me())
///         .mail_folder_id("inbox")
///         .select("subject,isRead")
///         .stream_from(Position::resume(saved.as_deref())),
/// );
/// while let Some(item) = round.try_next().await? {
///     match item {
///         DeltaItem::Changed(message) => println!("{:?}", message.subject),
///         DeltaItem::Removed { id, reason } => println!("{id} removed ({reason:?})"),
///     }
/// }
/// match round.outcome() {
///     Some(DeltaOutcome::Complete { delta_link }) => { /* save it */ }
///     Some(DeltaOutcome::ResyncNeeded { location, .. }) => { /* start again */ }
///     None => unreachable!("the round ended with an error instead"),
/// }
/// # Ok(()) }
/// ```
pub struct DeltaRound<P: Page> {
    stream: Paginated<P>,
    outcome: Option<DeltaOutcome>,
    done: bool,
}

impl<P: Page> DeltaRound<P> {
    /// The round that `stream`, the generated `stream()` or
    /// `stream_from(Position::resume(saved_link))` of a delta operation, reads.
    pub fn new(stream: Paginated<P>) -> Self {
        DeltaRound {
            stream,
            outcome: None,
            done: false,
        }
    }

    /// How the round ended, once the stream has: `None` before, or when it
    /// ended with an error.
    pub fn outcome(&self) -> Option<&DeltaOutcome> {
        self.outcome.as_ref()
    }

    /// Whether `e` says the saved state is gone; the outcome that says so.
    fn resync(&self, e: &Error) -> Option<DeltaOutcome> {
        let api = e.api()?;
        let code = api.code.clone();
        let by_code = code
            .as_deref()
            .is_some_and(|c| RESYNC_CODES.iter().any(|r| r.eq_ignore_ascii_case(c)));
        if api.status != reqwest::StatusCode::GONE && !by_code {
            return None;
        }
        let runtime = self.stream.runtime();
        let location = api
            .location
            .as_deref()
            .and_then(|l| url::Url::parse(l).ok())
            .filter(|u| runtime.is_some_and(|rt| rt.is_trusted(u)))
            .map(String::from);
        Some(DeltaOutcome::ResyncNeeded { location, code })
    }
}

impl<P: Page> fmt::Debug for DeltaRound<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeltaRound")
            .field("stream", &self.stream)
            .field("outcome", &self.outcome)
            .finish()
    }
}

impl<P: Page> Stream for DeltaRound<P>
where
    P::Item: DeltaEntry,
{
    type Item = Result<DeltaItem<P::Item>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let polled = self.stream.poll_next_unpin(cx);
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(item))) => Poll::Ready(Some(Ok(DeltaItem::from_entry(item)))),
            Poll::Ready(Some(Err(e))) => {
                self.done = true;
                match self.resync(&e) {
                    Some(outcome) => {
                        tracing::info!(?outcome, "the delta state is gone; a new round is needed");
                        self.outcome = Some(outcome);
                        Poll::Ready(None)
                    }
                    None => Poll::Ready(Some(Err(e))),
                }
            }
            Poll::Ready(None) => {
                self.done = true;
                match self.stream.resume_token() {
                    Some(link) => {
                        self.outcome = Some(DeltaOutcome::Complete {
                            delta_link: link.to_string(),
                        });
                        Poll::Ready(None)
                    }
                    None => Poll::Ready(Some(Err(Error::Protocol(
                        "the delta round ended without an @odata.deltaLink to resume from".into(),
                    )))),
                }
            }
        }
    }
}

/// What one [`DeltaSync::run`] brought.
#[derive(Clone, Debug, PartialEq)]
pub struct DeltaChanges<T> {
    /// The changed and removed items, in Graph's order (empty when a
    /// resync is needed: the new round brings every item again).
    pub items: Vec<DeltaItem<T>>,
    /// How the round ended.
    pub outcome: DeltaOutcome,
}

/// A delta query and the link its next round starts from.
///
/// ```no_run
/// # async fn run(graph: specbound::graph::Client, saved: Option<String>) -> specbound::Result<()> {
/// use specbound::graph::delta::{DeltaOutcome, DeltaSync};
/// use specbound::graph::{Mailbox, prelude::*};
/// let client = graph.clone();
/// let mut sync = DeltaSync::new(move |position| {
///     client
///         .message_delta()
///         .mailbox(Mailbox::me())
///         .mail_folder_id("inbox")
///         .stream_from(position)
/// })
/// .resume_from(saved);
/// let changes = sync.run().await?;
/// println!("{} changes", changes.items.len());
/// if let Some(link) = sync.delta_link() { /* save it for the next run */ }
/// # Ok(()) }
/// ```
pub struct DeltaSync<P: Page> {
    start: Arc<dyn Fn(Position) -> Paginated<P> + Send + Sync>,
    link: Option<String>,
}

impl<P: Page> DeltaSync<P>
where
    P::Item: DeltaEntry,
{
    /// A sync whose rounds `start` begins: a delta operation's generated
    /// `stream_from(position)`. The first round is a full one.
    pub fn new(start: impl Fn(Position) -> Paginated<P> + Send + Sync + 'static) -> Self {
        DeltaSync {
            start: Arc::new(start),
            link: None,
        }
    }

    /// Starts the next round from `link`, a delta link saved from an
    /// earlier round (`None`: a full round).
    pub fn resume_from(mut self, link: Option<String>) -> Self {
        self.link = link;
        self
    }

    /// Where the next round starts: the last delta link (or a resync
    /// location), `None` for a full round.
    pub fn delta_link(&self) -> Option<&str> {
        self.link.as_deref()
    }

    /// The next round, as a stream (for rounds too large to hold).
    /// Unlike [`run`](Self::run), it does not move the saved link on: take
    /// it from the round's [`outcome`](DeltaRound::outcome).
    pub fn round(&self) -> DeltaRound<P> {
        DeltaRound::new((self.start)(Position::resume(self.link.as_deref())))
    }

    /// Runs the next round whole and moves the saved link on: to the new
    /// delta link, or, when Graph asks for a resync, to the location it
    /// named (or back to a full round).
    pub async fn run(&mut self) -> Result<DeltaChanges<P::Item>> {
        let mut round = self.round();
        let mut items = Vec::new();
        while let Some(item) = round.next().await {
            items.push(item?);
        }
        let outcome = round
            .outcome
            .take()
            .ok_or_else(|| Error::Protocol("the delta round ended without an outcome".into()))?;
        match &outcome {
            DeltaOutcome::Complete { delta_link } => self.link = Some(delta_link.clone()),
            DeltaOutcome::ResyncNeeded { location, .. } => {
                items.clear();
                self.link = location.clone();
            }
        }
        Ok(DeltaChanges { items, outcome })
    }
}

impl<P: Page> fmt::Debug for DeltaSync<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeltaSync")
            .field("resumes", &self.link.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(json: serde_json::Value) -> types::Message {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn removals_are_typed_by_their_reason() {
        let removed = message(serde_json::json!({"id": "m1", "@removed": {"reason": "changed"}}));
        assert_eq!(
            DeltaItem::from_entry(removed),
            DeltaItem::Removed {
                id: "m1".into(),
                reason: RemovedReason::Changed
            }
        );
        let odd = message(serde_json::json!({"id": "m2", "@removed": {"reason": "archived"}}));
        assert!(matches!(
            DeltaItem::from_entry(odd),
            DeltaItem::Removed { reason: RemovedReason::Other(r), .. } if r == "archived"
        ));
        let changed = message(serde_json::json!({"id": "m3", "subject": "hi"}));
        assert!(matches!(DeltaItem::from_entry(changed), DeltaItem::Changed(m) if m.id == "m3"));
        let file: types::DriveItem =
            serde_json::from_value(serde_json::json!({"id": "d1", "deleted": {}})).unwrap();
        assert_eq!(
            DeltaItem::from_entry(file),
            DeltaItem::Removed {
                id: "d1".into(),
                reason: RemovedReason::Deleted
            }
        );
    }

    #[test]
    fn outcomes_show_no_delta_token() {
        let outcome = DeltaOutcome::Complete {
            delta_link: "https://graph.microsoft.com/v1.0/me/messages/delta?$deltatoken=secret"
                .into(),
        };
        assert!(!format!("{outcome:?}").contains("secret"));
    }
}
