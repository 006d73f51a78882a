//! Copying a drive item: `copy_item` answers 202 and a monitor URL in
//! `Location`; the monitor (pre-authenticated, often on another host) is
//! polled WITHOUT credentials until the copy completes, then the new item
//! is read with `get_item`.

use std::time::Duration;

use futures::stream::{self, BoxStream, StreamExt as _, TryStreamExt as _};
use progenitor_client::ClientInfo as _;

use super::generated::types::{self, ConflictBehavior};
use super::generated::{Client, prelude::*};
use super::{Drive, Item};
use crate::error::{ApiError, excerpt};
use crate::runtime::Secret;
use crate::{Error, Result};

/// How long to wait between two polls of the monitor by default.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// A copy to start, made by [`GraphFiles::copy`](super::GraphFiles::copy).
#[derive(Debug)]
pub struct CopyBuilder<'a> {
    client: &'a Client,
    drive: Drive,
    item: Item,
    to: types::CopyItemBody,
    conflict: Option<ConflictBehavior>,
    interval: Duration,
}

impl<'a> CopyBuilder<'a> {
    pub(super) fn new(
        client: &'a Client,
        drive: &Drive,
        item: &Item,
        to: types::CopyItemBody,
    ) -> Self {
        CopyBuilder {
            client,
            drive: drive.clone(),
            item: item.clone(),
            to,
            conflict: None,
            interval: DEFAULT_POLL_INTERVAL,
        }
    }

    /// What Graph does when the name is taken in the target folder (not on
    /// OneDrive personal).
    pub fn conflict(mut self, behaviour: ConflictBehavior) -> Self {
        self.conflict = Some(behaviour);
        self
    }

    /// How long to wait between polls (default 1 s); a `Retry-After` of
    /// the monitor wins.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Sends `copy_item` and answers the monitor of the copy.
    pub async fn start(self) -> Result<CopyMonitor<'a>> {
        let mut request = self
            .client
            .copy_item()
            .drive(&self.drive)
            .item(&self.item)
            .body(self.to.clone());
        if let Some(conflict) = self.conflict {
            request = request.microsoft_graph_conflict_behavior(conflict);
        }
        let accepted = request.send().await?;
        let location = accepted
            .headers()
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::Protocol("copy_item answered no monitor URL".into()))?;
        // The copy is made where the body says (another drive, maybe).
        let target_drive = match self
            .to
            .parent_reference
            .as_ref()
            .and_then(|p| p.drive_id.as_deref())
        {
            Some(id) => Drive::id(id)?,
            None => self.drive,
        };
        Ok(CopyMonitor {
            client: self.client,
            url: Secret::new(location),
            drive: target_drive,
            interval: self.interval,
        })
    }
}

/// The state of a copy, as its monitor reports it (`asyncJobStatus`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct CopyStatus {
    /// Where the job is.
    pub status: JobStatus,
    /// How much is done, from 0 to 100.
    pub percentage: Option<f64>,
    /// The new item's id, once completed.
    pub resource_id: Option<String>,
    /// Why it failed.
    pub error_code: Option<String>,
    /// The service's description of the state.
    pub description: Option<String>,
}

/// The `status` of an asynchronous job.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobStatus {
    /// Not started yet.
    NotStarted,
    /// Running.
    InProgress,
    /// Done: the new item exists.
    Completed,
    /// Being updated.
    Updating,
    /// Failed.
    Failed,
    /// Being deleted.
    DeletePending,
    /// Its deletion failed.
    DeleteFailed,
    /// Waiting.
    Waiting,
    /// A status this client does not know (polling goes on).
    Other(String),
}

impl JobStatus {
    fn parse(raw: &str) -> Self {
        match raw {
            "notStarted" => JobStatus::NotStarted,
            "inProgress" => JobStatus::InProgress,
            "completed" => JobStatus::Completed,
            "updating" => JobStatus::Updating,
            "failed" => JobStatus::Failed,
            "deletePending" => JobStatus::DeletePending,
            "deleteFailed" => JobStatus::DeleteFailed,
            "waiting" => JobStatus::Waiting,
            other => JobStatus::Other(excerpt(other, 40)),
        }
    }
}

/// What a [`CopyMonitor`] yields.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum CopyEvent {
    /// The copy is under way.
    Progress(CopyStatus),
    /// The copy is done: the new item.
    Done(Box<types::DriveItem>),
}

/// The monitor of a copy. Its URL is pre-authenticated (a credential of
/// its own, hidden from `Debug`) and is polled without the client's token.
///
/// ```no_run
/// # async fn run(graph: specbound::graph::Client) -> specbound::Result<()> {
/// use futures::TryStreamExt as _;
/// use specbound::graph::{CopyEvent, Drive, GraphFiles, Item, types};
/// let to = types::CopyItemBody {
///     name: Some("plan (copy).txt".into()),
///     parent_reference: Some(types::ItemReference {
///         id: Some("DCD0D3AD-8989-4F23-A5A2-2C086050513F".into()),
///         ..Default::default()
///     }),
/// };
/// let monitor = graph.copy(&Drive::me(), &Item::id("01ABC")?, to).start().await?;
/// let mut events = monitor.events();
/// while let Some(event) = events.try_next().await? {
///     match event {
///         CopyEvent::Progress(s) => println!("{:?} {:?}%", s.status, s.percentage),
///         CopyEvent::Done(item) => println!("copied to {:?}", item.id),
///         _ => {}
///     }
/// }
/// # Ok(()) }
/// ```
pub struct CopyMonitor<'a> {
    client: &'a Client,
    url: Secret,
    drive: Drive,
    interval: Duration,
}

impl std::fmt::Debug for CopyMonitor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CopyMonitor")
            .field("url", &self.url)
            .field("drive", &self.drive)
            .field("interval", &self.interval)
            .finish()
    }
}

/// The monitor's body (`asyncJobStatus`, a beta resource not in the spec).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobBody {
    status: Option<String>,
    percentage_complete: Option<f64>,
    resource_id: Option<String>,
    error_code: Option<String>,
    status_description: Option<String>,
}

impl<'a> CopyMonitor<'a> {
    /// Polls the monitor once; also answers how long it asked to wait.
    async fn poll(&self) -> Result<(CopyStatus, Option<Duration>)> {
        let answer = self
            .client
            .inner()
            .request(http::Method::GET, self.url.expose())
            .without_credentials()
            .send()
            .await?;
        let body: JobBody = answer.json()?;
        let status = CopyStatus {
            status: JobStatus::parse(body.status.as_deref().unwrap_or_default()),
            percentage: body.percentage_complete.map(|p| p.clamp(0.0, 100.0)),
            resource_id: body.resource_id,
            error_code: body.error_code,
            description: body.status_description,
        };
        if status.status == JobStatus::Failed {
            let mut api = ApiError::new(
                answer.status,
                "copy_item",
                excerpt(
                    status.description.as_deref().unwrap_or("the copy failed"),
                    crate::error::MESSAGE_EXCERPT,
                ),
            );
            api.code = status.error_code.clone();
            return Err(Error::Api(Box::new(api)));
        }
        Ok((status, crate::runtime::retry::retry_after(&answer.headers)))
    }

    /// The copy's state now (one poll, no wait). A failed copy is an
    /// [`Error::Api`] with the monitor's `errorCode`.
    pub async fn status(&self) -> Result<CopyStatus> {
        Ok(self.poll().await?.0)
    }

    /// The copy's progress, polled with the interval between polls (on the
    /// client's `Sleep`), then the new item, then the end. Nothing is
    /// polled unless the stream is read.
    pub fn events(self) -> BoxStream<'a, Result<CopyEvent>> {
        stream::try_unfold(
            (self, None::<Duration>, false),
            |(monitor, wait, done)| async move {
                if done {
                    return Ok(None);
                }
                if let Some(wait) = wait {
                    monitor.client.inner().sleep().sleep(wait).await;
                }
                let (status, asked) = monitor.poll().await?;
                if status.status != JobStatus::Completed {
                    let next = asked.unwrap_or(monitor.interval);
                    return Ok(Some((
                        CopyEvent::Progress(status),
                        (monitor, Some(next), false),
                    )));
                }
                let id = status.resource_id.as_deref().ok_or_else(|| {
                    Error::Protocol(
                        "the copy monitor says completed but names no resourceId".into(),
                    )
                })?;
                let item = monitor
                    .client
                    .get_item()
                    .drive(&monitor.drive)
                    .item(Item::id(id)?)
                    .send()
                    .await?
                    .into_inner();
                Ok(Some((
                    CopyEvent::Done(Box::new(item)),
                    (monitor, None, true),
                )))
            },
        )
        .boxed()
    }

    /// Polls until the copy is done and answers the new item.
    pub async fn wait(self) -> Result<types::DriveItem> {
        let mut events = self.events();
        while let Some(event) = events.try_next().await? {
            if let CopyEvent::Done(item) = event {
                return Ok(*item);
            }
        }
        Err(Error::Protocol(
            "the copy monitor ended without an item".into(),
        ))
    }
}
