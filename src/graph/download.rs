//! Downloads: a file's bytes streamed into an `AsyncWrite` as they arrive
//! (memory stays at one network chunk), resumed with `Range: bytes={n}-`
//! after the connection is cut.

use std::time::Duration;

use futures::StreamExt as _;
use progenitor_client::ClientInfo as _;
use tokio::io::{AsyncWrite, AsyncWriteExt as _};
use tokio::sync::mpsc::Sender;

use super::generated::{Client, prelude::*};
use super::upload::Progress;
use super::{Drive, Item};
use crate::error::excerpt;
use crate::runtime::retry::{Class, Decision, decide};
use crate::{Error, Result};

/// Why a download failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DownloadError {
    /// The writer refused the bytes.
    #[error("download: cannot write the file")]
    Write(#[source] std::io::Error),
    /// A request failed (see [`Error`]).
    #[error(transparent)]
    Other(#[from] Error),
}

/// For `?` in functions returning [`crate::Result`]: a writer's failure
/// becomes [`Error::Invalid`] (field `writer`).
impl From<DownloadError> for Error {
    fn from(e: DownloadError) -> Self {
        match e {
            DownloadError::Write(io) => Error::invalid("writer", format!("write failed: {io}")),
            DownloadError::Other(e) => e,
        }
    }
}

/// A download of a file into a writer, made by
/// [`GraphFiles::download`](super::GraphFiles::download).
///
/// ```no_run
/// # async fn run(graph: specbound::graph::Client) -> specbound::Result<()> {
/// use specbound::graph::{Drive, GraphFiles, Item};
/// let file = tokio::fs::File::create("report.docx").await.expect("report.docx");
/// let bytes = graph
///     .download(&Drive::me(), &Item::path("Documents/report.docx")?, file)
///     .start()
///     .await?;
/// println!("{bytes} bytes");
/// # Ok(()) }
/// ```
pub struct DownloadBuilder<'a, W> {
    client: &'a Client,
    drive: Drive,
    item: Item,
    writer: W,
    progress: Option<Sender<Progress>>,
}

impl<'a, W: AsyncWrite + Unpin + Send> DownloadBuilder<'a, W> {
    pub(super) fn new(client: &'a Client, drive: &Drive, item: &Item, writer: W) -> Self {
        DownloadBuilder {
            client,
            drive: drive.clone(),
            item: item.clone(),
            writer,
            progress: None,
        }
    }

    /// Where progress goes: one event per network chunk written (dropped
    /// when the channel is full; the download never waits for the reader).
    pub fn progress(mut self, events: Sender<Progress>) -> Self {
        self.progress = Some(events);
        self
    }

    /// Downloads the file into the writer (flushed at the end); answers the
    /// number of bytes written. A connection cut midway is resumed from
    /// the next byte, with the client's retry policy's attempts and waits
    /// (counted again after each resume that brought bytes).
    pub async fn start(mut self) -> Result<u64, DownloadError> {
        let runtime = self.client.inner().clone();
        let policy = runtime.retry_policy().clone();
        let (mut written, mut total) = (0u64, None::<u64>);
        let (mut attempt, mut waited) = (1u32, Duration::ZERO);
        loop {
            let mut request = self
                .client
                .download_item()
                .drive(&self.drive)
                .item(&self.item);
            if written > 0 {
                request = request.range(format!("bytes={written}-"));
            }
            let answer = request.send().await?;
            let (skip, size) = body_start(answer.status(), answer.headers(), written)?;
            total = size.or(total);
            let before = written;
            let cut = self
                .copy_body(
                    answer.into_inner(),
                    skip,
                    &mut written,
                    total,
                    runtime.idle(),
                )
                .await?;
            let error = match (cut, total) {
                (None, Some(t)) if written < t => Error::Protocol(format!(
                    "download_item: the connection closed after {written} of {t} bytes"
                )),
                (None, _) => {
                    self.writer.flush().await.map_err(DownloadError::Write)?;
                    return Ok(written);
                }
                (Some(e), _) => e,
            };
            if written > before {
                (attempt, waited) = (1, Duration::ZERO);
            }
            let class = Class::IfIdempotent {
                honour_retry_after: false,
            };
            match decide(&policy, attempt, class, None, true, waited, fastrand::f64()) {
                Decision::Retry(wait) => {
                    tracing::debug!(written, attempt, "download cut; resuming with a range");
                    runtime.sleep().sleep(wait).await;
                    waited += wait;
                    attempt += 1;
                }
                Decision::Done | Decision::GiveUp(_) => return Err(error.into()),
            }
        }
    }

    /// Writes the body, its first `skip` bytes left out; answers why it
    /// stopped early (`None`: it ended).
    async fn copy_body(
        &mut self,
        mut body: progenitor_client::ByteStream,
        mut skip: u64,
        written: &mut u64,
        total: Option<u64>,
        idle: Duration,
    ) -> Result<Option<Error>, DownloadError> {
        loop {
            let mut chunk = match tokio::time::timeout(idle, body.next()).await {
                Err(_) => {
                    return Ok(Some(Error::Timeout {
                        operation: "download_item",
                        deadline: idle,
                    }));
                }
                Ok(None) => return Ok(None),
                Ok(Some(Err(e))) => return Ok(Some(Error::transport("download_item", e))),
                Ok(Some(Ok(chunk))) => chunk,
            };
            let dropped = skip.min(chunk.len() as u64);
            skip -= dropped;
            let chunk = chunk.split_off(dropped as usize);
            if chunk.is_empty() {
                continue;
            }
            let after = *written + chunk.len() as u64;
            if total.is_some_and(|t| after > t) {
                return Err(Error::Protocol(format!(
                    "download_item: more bytes than the {} announced",
                    total.unwrap_or_default()
                ))
                .into());
            }
            self.writer
                .write_all(&chunk)
                .await
                .map_err(DownloadError::Write)?;
            *written = after;
            if let Some(events) = &self.progress {
                let _ = events.try_send(Progress {
                    bytes: after,
                    total,
                });
            }
        }
    }
}

/// How many bytes of an answer to skip (a host that ignored the range sent
/// the whole file again) and the file's size, when the answer says it.
fn body_start(
    status: http::StatusCode,
    headers: &http::HeaderMap,
    written: u64,
) -> Result<(u64, Option<u64>)> {
    let length = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if status == http::StatusCode::PARTIAL_CONTENT {
        let raw = headers
            .get(http::header::CONTENT_RANGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let (start, size) = content_range(raw).ok_or_else(|| {
            Error::Protocol(format!(
                "download_item: 206 with Content-Range `{}`",
                excerpt(raw, 60)
            ))
        })?;
        if start != written {
            return Err(Error::Protocol(format!(
                "download_item: asked for bytes from {written} on, got them from {start} on"
            )));
        }
        let size = size.or_else(|| length.map(|l| start.saturating_add(l)));
        return Ok((0, size));
    }
    // 200 (or another success): the whole file, from its first byte.
    Ok((written, length))
}

/// `bytes {start}-{end}/{size}` (size may be `*`): the start and size.
fn content_range(raw: &str) -> Option<(u64, Option<u64>)> {
    let rest = raw.trim().strip_prefix("bytes ")?;
    let (range, size) = rest.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let start: u64 = start.trim().parse().ok()?;
    let end: u64 = end.trim().parse().ok()?;
    let size = match size.trim() {
        "*" => None,
        n => Some(n.parse::<u64>().ok()?),
    };
    if end < start || size.is_some_and(|s| end >= s) {
        return None;
    }
    Some((start, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges_are_read_and_impossible_ones_refused() {
        assert_eq!(content_range("bytes 100-199/1000"), Some((100, Some(1000))));
        assert_eq!(content_range("bytes 0-0/*"), Some((0, None)));
        assert_eq!(content_range("bytes 5-4/10"), None);
        assert_eq!(content_range("bytes 5-10/10"), None);
        assert_eq!(content_range("items 1-2/3"), None);
        assert_eq!(content_range(""), None);
    }

    #[test]
    fn a_host_that_ignores_the_range_has_its_first_bytes_skipped() {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::CONTENT_LENGTH, "1000".parse().unwrap());
        assert_eq!(
            body_start(http::StatusCode::OK, &headers, 300).unwrap(),
            (300, Some(1000))
        );
        headers.insert(
            http::header::CONTENT_RANGE,
            "bytes 300-999/1000".parse().unwrap(),
        );
        assert_eq!(
            body_start(http::StatusCode::PARTIAL_CONTENT, &headers, 300).unwrap(),
            (0, Some(1000))
        );
        assert!(body_start(http::StatusCode::PARTIAL_CONTENT, &headers, 200).is_err());
    }
}
