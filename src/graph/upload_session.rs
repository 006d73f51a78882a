//! The chunk loop of an upload session: read a chunk of the source, PUT it
//! to the session's `uploadUrl` (without credentials, through the runtime),
//! and go on from the server's `nextExpectedRanges`. A failed chunk is
//! retried after the backoff of the client's retry policy, from the
//! session's status; 416 (the server has those bytes) asks the status; 404
//! (the session is gone) starts a new session.

use std::io::SeekFrom;
use std::time::Duration;

use bytes::Bytes;
use progenitor_client::ClientInfo as _;
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};
use tokio::sync::mpsc::Sender;

use super::generated::types::{self, ConflictBehavior};
use super::generated::{Client, prelude::*};
use super::quickxor::QuickXorHash;
use super::upload::{
    Progress, UploadError, UploadSessionState, UploadSource, Uploaded, UploadedAttachment,
    check_chunk_size,
};
use crate::error::excerpt;
use crate::runtime::retry::{Decision, Outcome, decide};
use crate::runtime::{Runtime, Secret};
use crate::{Error, Result};

/// How often a session may be started again after Graph dropped it.
const MAX_RESTARTS: u32 = 2;
/// How many chunks in a row may leave the server's position where it was
/// (416, or an accepted chunk that moved nothing) before the upload stops.
const MAX_STALLS: u32 = 4;

/// What an upload session writes to, saved with its state so that a
/// dropped session can be made again.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(super) enum Target {
    /// A file in a drive: `item` is the new file's path item.
    File {
        drive: String,
        item: String,
        name: String,
        conflict: ConflictBehavior,
        if_match: Option<String>,
    },
    /// An attachment of a message.
    Attachment {
        mailbox: String,
        message_id: String,
        name: String,
        content_type: Option<String>,
        is_inline: Option<bool>,
    },
}

/// A byte range the server still expects: `start..=end`, or from `start`
/// to the end of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Span {
    pub(super) start: u64,
    pub(super) end: Option<u64>,
}

/// `nextExpectedRanges` (`"26-"`, `"12345-55232"`, or Outlook's bare
/// `"2097152"`) of a file of `size` bytes, sorted by start. Anything else
/// is an [`Error::Protocol`] quoting the value.
pub(super) fn parse_ranges(ranges: &[String], size: u64) -> Result<Vec<Span>> {
    let mut spans = Vec::with_capacity(ranges.len().min(64));
    for raw in ranges {
        let bad = || {
            Error::Protocol(format!(
                "the upload session expects `{}`, which is not a byte range of a {size}-byte file",
                excerpt(raw, 40)
            ))
        };
        let (start, end) = raw.trim().split_once('-').unwrap_or((raw.trim(), ""));
        let start: u64 = start.parse().map_err(|_| bad())?;
        let end = match end {
            "" => None,
            end => Some(end.parse::<u64>().map_err(|_| bad())?),
        };
        if start >= size || end.is_some_and(|e| e < start) {
            return Err(bad());
        }
        spans.push(Span {
            start,
            end: end.map(|e| e.min(size - 1)),
        });
    }
    spans.sort_by_key(|s| s.start);
    Ok(spans)
}

/// How a chunk was answered.
enum Answer {
    /// Accepted; the server expects more.
    More(types::UploadSession),
    /// The upload is complete.
    Done(Uploaded),
}

/// An upload session being sent.
pub(super) struct Session<'a, S> {
    client: &'a Client,
    source: S,
    pub(super) state: UploadSessionState,
    pub(super) progress: Option<Sender<Progress>>,
    /// The hash of the source's first `hash.len()` bytes.
    hash: QuickXorHash,
    /// What the server still expects, from its last answer.
    expected: Vec<Span>,
    /// The end of the bytes sent so far (or the size, for a resumed
    /// session): the server cannot expect bytes beyond what it was sent.
    sent_upto: u64,
    restarts: u32,
    finished: Option<Uploaded>,
}

impl<'a, S: UploadSource> Session<'a, S> {
    /// Creates a session for `target` and readies its first chunk.
    pub(super) async fn create(
        client: &'a Client,
        source: S,
        target: Target,
        size: u64,
        chunk_size: u64,
        defer_commit: bool,
        progress: Option<Sender<Progress>>,
    ) -> Result<Self, UploadError> {
        if size == 0 {
            return Err(Error::invalid(
                "source",
                "is empty: an upload session needs at least one byte",
            )
            .into());
        }
        let created = create(client, &target, size, defer_commit).await?;
        let mut session = Session {
            client,
            source,
            state: UploadSessionState {
                upload_url: Secret::new(String::new()),
                expires: None,
                size,
                chunk_size,
                defer_commit,
                target,
            },
            progress,
            hash: QuickXorHash::new(),
            expected: Vec::new(),
            sent_upto: 0,
            restarts: 0,
            finished: None,
        };
        session.adopt(created)?;
        Ok(session)
    }

    /// A saved session over `source` (of the saved size), at the point the
    /// server's status says.
    pub(super) async fn resume(
        client: &'a Client,
        mut source: S,
        saved: UploadSessionState,
    ) -> Result<Self, UploadError> {
        let size = super::upload::source_len(&mut source).await?;
        if size != saved.size {
            return Err(Error::invalid(
                "source",
                format!(
                    "is {size} bytes; the saved session is for {} bytes",
                    saved.size
                ),
            )
            .into());
        }
        let attachment = matches!(saved.target, Target::Attachment { .. });
        check_chunk_size(saved.chunk_size, attachment)?;
        let mut session = Session {
            client,
            source,
            state: saved,
            progress: None,
            hash: QuickXorHash::new(),
            expected: Vec::new(),
            // Another process sent what it sent.
            sent_upto: size,
            restarts: 0,
            finished: None,
        };
        session.refresh().await?;
        Ok(session)
    }

    fn runtime(&self) -> &Runtime {
        self.client.inner()
    }

    /// Takes a new session Graph made: its URL, expiry and first range.
    fn adopt(&mut self, created: types::UploadSession) -> Result<(), UploadError> {
        let url = created
            .upload_url
            .clone()
            .filter(|u| !u.is_empty())
            .ok_or_else(|| Error::Protocol("the upload session has no uploadUrl".into()))?;
        self.state.upload_url = Secret::new(url);
        self.sent_upto = 0;
        self.expected = vec![Span {
            start: 0,
            end: None,
        }];
        if created.next_expected_ranges.is_some() {
            self.accept(created)?;
        } else {
            self.state.expires = created.expiration_date_time.map(Into::into);
        }
        Ok(())
    }

    /// Takes the server's account of what it still expects.
    fn accept(&mut self, answer: types::UploadSession) -> Result<(), UploadError> {
        let spans = parse_ranges(
            answer.next_expected_ranges.as_deref().unwrap_or_default(),
            self.state.size,
        )?;
        if let Some(first) = spans.first()
            && first.start > self.sent_upto
        {
            return Err(Error::Protocol(format!(
                "the upload session expects bytes from {} on, but only {} were sent",
                first.start, self.sent_upto
            ))
            .into());
        }
        self.expected = spans;
        if answer.expiration_date_time.is_some() {
            self.state.expires = answer.expiration_date_time.map(Into::into);
        }
        Ok(())
    }

    /// Where the server is: the first byte it expects, or the size.
    fn position(&self) -> u64 {
        match (&self.finished, self.expected.first()) {
            (None, Some(span)) => span.start,
            _ => self.state.size,
        }
    }

    fn report(&self) {
        if let Some(events) = &self.progress {
            let _ = events.try_send(Progress {
                bytes: self.position(),
                total: Some(self.state.size),
            });
        }
    }

    /// Sends chunks until the server expects nothing more.
    pub(super) async fn send_all(&mut self) -> Result<(), UploadError> {
        let policy = self.runtime().retry_policy().clone();
        let (mut failures, mut stalls, mut waited) = (0u32, 0u32, Duration::ZERO);
        while self.finished.is_none() {
            let Some(span) = self.expected.first().copied() else {
                if self.state.defer_commit {
                    return Ok(());
                }
                return Err(Error::Protocol(
                    "the upload session expects no more bytes, yet answered no file".into(),
                )
                .into());
            };
            let before = span.start;
            let end = span
                .end
                .map_or(self.state.size, |e| e + 1)
                .min(span.start.saturating_add(self.state.chunk_size))
                .min(self.state.size);
            let body = self.read(span.start, end - span.start).await?;
            let answer = self.put(span.start, body).await;
            self.sent_upto = self.sent_upto.max(end);
            match answer {
                Ok(Answer::More(session)) => self.accept(session)?,
                Ok(Answer::Done(done)) => {
                    self.finished = Some(done);
                    self.report();
                    return Ok(());
                }
                Err(e) if e.status().map(|s| s.as_u16()) == Some(416) => {
                    tracing::debug!(start = span.start, "chunk already received; asking status");
                    self.refresh().await?;
                }
                Err(e) if e.is_not_found() => {
                    self.restart(e).await?;
                    (failures, stalls, waited) = (0, 0, Duration::ZERO);
                    continue;
                }
                Err(e) => {
                    failures += 1;
                    let wait = self.backoff(&policy, e, failures, waited)?;
                    self.runtime().sleep().sleep(wait).await;
                    waited += wait;
                    self.refresh().await?;
                    continue;
                }
            }
            if self.position() > before {
                (failures, stalls, waited) = (0, 0, Duration::ZERO);
                self.report();
            } else {
                stalls += 1;
                if stalls >= MAX_STALLS {
                    return Err(Error::Protocol(format!(
                        "the upload session still expects byte {} after {stalls} chunks",
                        self.position()
                    ))
                    .into());
                }
            }
        }
        Ok(())
    }

    /// How long to wait before going on after `error`, or `error` itself
    /// when it is not worth another try (or the policy's budget is spent).
    fn backoff(
        &self,
        policy: &crate::runtime::RetryPolicy,
        error: Error,
        attempt: u32,
        waited: Duration,
    ) -> Result<Duration, UploadError> {
        let outcome = match &error {
            Error::Api(api) => Outcome::Status(api.status),
            Error::Transport { source, .. } if source.is_connect() => Outcome::ConnectFailed,
            Error::Transport { .. } | Error::Timeout { .. } => Outcome::Interrupted,
            _ => return Err(error.into()),
        };
        let retry_after = error.api().and_then(|a| a.retry_after);
        let class = (self.runtime().profile().classify)(outcome);
        // Resending from the server's status is safe: a chunk it already
        // has is refused with 416, never written twice.
        match decide(
            policy,
            attempt,
            class,
            retry_after,
            true,
            waited,
            fastrand::f64(),
        ) {
            Decision::Retry(wait) => {
                tracing::debug!(attempt, ?outcome, "chunk failed; resuming from status");
                Ok(wait)
            }
            Decision::Done | Decision::GiveUp(_) => Err(error.into()),
        }
    }

    /// PUTs `body` at `start`, without credentials.
    async fn put(&self, start: u64, body: Bytes) -> Result<Answer> {
        let end = start + body.len() as u64 - 1;
        let range = format!("bytes {start}-{end}/{}", self.state.size);
        let answer = self
            .runtime()
            .request(http::Method::PUT, self.state.upload_url.expose())
            .without_credentials()
            // Its recovery is this loop's: from the status, never blind.
            .idempotent(false)
            .header(
                http::header::CONTENT_RANGE,
                http::HeaderValue::from_str(&range)
                    .map_err(|e| Error::invalid("range", e.to_string()))?,
            )
            .header(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/octet-stream"),
            )
            .body(body)
            .send()
            .await?;
        let status = answer.status.as_u16();
        match (&self.state.target, status) {
            (Target::File { .. }, 202) | (Target::Attachment { .. }, 200 | 202) => {
                Ok(Answer::More(answer.json()?))
            }
            (Target::File { .. }, 200 | 201) => {
                Ok(Answer::Done(Uploaded::File(Box::new(answer.json()?))))
            }
            (Target::Attachment { .. }, 201) => {
                let location = answer
                    .headers
                    .get(http::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(|v| excerpt(v, 2048));
                let id = location.as_deref().and_then(attachment_id);
                Ok(Answer::Done(Uploaded::Attachment(UploadedAttachment {
                    location,
                    id,
                })))
            }
            _ => Err(Error::Protocol(format!(
                "a chunk of the upload session was answered {status}"
            ))),
        }
    }

    /// Asks the session's status and goes on from it; a session that is
    /// gone is started again.
    async fn refresh(&mut self) -> Result<(), UploadError> {
        let status = self
            .runtime()
            .request(http::Method::GET, self.state.upload_url.expose())
            .without_credentials()
            .send()
            .await;
        match status {
            Ok(answer) => self.accept(answer.json()?),
            Err(e) if e.is_not_found() => self.restart(e).await,
            Err(e) => Err(e.into()),
        }
    }

    /// Starts a new session after Graph dropped this one (`gone` is its
    /// 404, the error if the restarts are spent).
    async fn restart(&mut self, gone: Error) -> Result<(), UploadError> {
        if self.restarts >= MAX_RESTARTS {
            return Err(gone.into());
        }
        self.restarts += 1;
        tracing::debug!(
            restarts = self.restarts,
            "upload session gone; starting again"
        );
        let created = create(
            self.client,
            &self.state.target,
            self.state.size,
            self.state.defer_commit,
        )
        .await?;
        self.adopt(created)?;
        self.report();
        Ok(())
    }

    /// `len` bytes of the source at `start`, hashing those not hashed yet.
    async fn read(&mut self, start: u64, len: u64) -> Result<Bytes, UploadError> {
        self.hash_upto(start).await?;
        let bytes = self.read_at(start, len).await?;
        let hashed = self.hash.len();
        if hashed >= start && hashed < start + len {
            self.hash.update(&bytes[(hashed - start) as usize..]);
        }
        Ok(bytes)
    }

    async fn read_at(&mut self, start: u64, len: u64) -> Result<Bytes, UploadError> {
        let io = |e| UploadError::Source(e);
        self.source.seek(SeekFrom::Start(start)).await.map_err(io)?;
        let mut buf = vec![0u8; len as usize];
        self.source.read_exact(&mut buf).await.map_err(io)?;
        Ok(Bytes::from(buf))
    }

    /// Hashes the source up to `offset` (bytes a chunk skipped: those a
    /// resumed session's other process sent), a chunk at a time.
    async fn hash_upto(&mut self, offset: u64) -> Result<(), UploadError> {
        while self.hash.len() < offset {
            let at = self.hash.len();
            let len = (offset - at).min(self.state.chunk_size);
            let bytes = self.read_at(at, len).await?;
            self.hash.update(&bytes);
        }
        Ok(())
    }

    /// Sends what is left, commits a deferred file, checks the hash.
    pub(super) async fn finish(&mut self) -> Result<Uploaded, UploadError> {
        self.send_all().await?;
        let done = match self.finished.take() {
            Some(done) => done,
            None => self.commit().await?,
        };
        match done {
            Uploaded::File(item) => {
                self.hash_upto(self.state.size).await?;
                let computed = self.hash.base64();
                check_hash(*item, computed).map(|item| Uploaded::File(Box::new(item)))
            }
            attachment => Ok(attachment),
        }
    }

    /// The explicit commit of a deferred file: an empty POST to the upload
    /// URL (OneDrive for Business and SharePoint).
    async fn commit(&self) -> Result<Uploaded, UploadError> {
        let answer = self
            .runtime()
            .request(http::Method::POST, self.state.upload_url.expose())
            .without_credentials()
            .body(Bytes::new())
            .send()
            .await?;
        self.report();
        Ok(Uploaded::File(Box::new(answer.json()?)))
    }

    /// DELETE on the upload URL.
    pub(super) async fn cancel(self) -> Result<(), UploadError> {
        self.runtime()
            .request(http::Method::DELETE, self.state.upload_url.expose())
            .without_credentials()
            .send()
            .await?;
        Ok(())
    }
}

/// The item, if Graph's QuickXorHash of it (when it reports one: OneDrive
/// personal may not) is `computed`.
pub(super) fn check_hash(
    item: types::DriveItem,
    computed: String,
) -> Result<types::DriveItem, UploadError> {
    let reported = item
        .file
        .as_ref()
        .and_then(|f| f.hashes.as_ref())
        .and_then(|h| h.quick_xor_hash.as_deref());
    match reported {
        Some(reported) if reported != computed => Err(UploadError::HashMismatch {
            reported: excerpt(reported, 64),
            computed,
            item: Box::new(item),
        }),
        _ => Ok(item),
    }
}

/// The id in an attachment URL: `...Attachments('{id}')`.
fn attachment_id(location: &str) -> Option<String> {
    let (_, rest) = location.rsplit_once("Attachments('")?;
    let (id, _) = rest.split_once("')")?;
    (!id.is_empty()).then(|| id.to_string())
}

/// Creates an upload session for `target` with the generated builders.
async fn create(
    client: &Client,
    target: &Target,
    size: u64,
    defer_commit: bool,
) -> Result<types::UploadSession, UploadError> {
    let file_size = i64::try_from(size).map_err(|_| Error::invalid("source", "is too large"))?;
    match target {
        Target::File {
            drive,
            item,
            name,
            conflict,
            if_match,
        } => {
            let body = types::CreateUploadSessionBody {
                defer_commit: defer_commit.then_some(true),
                item: Some(types::DriveItemUploadableProperties {
                    microsoft_graph_conflict_behavior: Some(*conflict),
                    name: Some(name.clone()),
                    file_size: Some(file_size),
                    ..Default::default()
                }),
            };
            let request = client
                .create_upload_session()
                .drive(drive.as_str())
                .item(item.as_str())
                .body(body)
                .build_request()?;
            Ok(send_with_if_match(request, "create_upload_session", if_match.as_deref()).await?)
        }
        Target::Attachment {
            mailbox,
            message_id,
            name,
            content_type,
            is_inline,
        } => {
            let body = types::CreateAttachmentUploadSessionBody {
                attachment_item: types::AttachmentItem {
                    attachment_type: Some("file".into()),
                    name: Some(name.clone()),
                    size: Some(file_size),
                    content_type: content_type.clone(),
                    is_inline: *is_inline,
                    ..Default::default()
                },
            };
            Ok(client
                .create_attachment_upload_session()
                .mailbox(mailbox.as_str())
                .message_id(message_id.as_str())
                .body(body)
                .send()
                .await?
                .into_inner())
        }
    }
}

/// Sends a request a generated builder of operation `id` built, with an
/// `If-Match` header when given (the spec does not declare it), through
/// the runtime's one path; decodes its JSON answer.
pub(super) async fn send_with_if_match<T: serde::de::DeserializeOwned>(
    (client, mut request): (&Client, reqwest::Request),
    id: &str,
    if_match: Option<&str>,
) -> Result<T> {
    let op = super::spec::API
        .operation(id)
        .ok_or_else(|| Error::Config(format!("the Graph spec has no operation {id}")))?;
    if let Some(tag) = if_match {
        let value = http::HeaderValue::from_str(tag)
            .map_err(|_| Error::invalid("if_match", "is not a header value"))?;
        request.headers_mut().insert(http::header::IF_MATCH, value);
    }
    let runtime = client.inner();
    let response = runtime
        .execute(request, op, crate::runtime::send::Mode::Whole)
        .await?;
    Ok(crate::runtime::response::json::<T>(response, op, runtime)
        .await?
        .into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(list: &[&str], size: u64) -> Result<Vec<Span>> {
        let owned: Vec<String> = list.iter().map(|s| s.to_string()).collect();
        parse_ranges(&owned, size)
    }

    fn span(start: u64, end: Option<u64>) -> Span {
        Span { start, end }
    }

    #[test]
    fn expected_ranges_are_read_in_graphs_and_outlooks_forms() {
        assert_eq!(ranges(&["26-"], 128).unwrap(), [span(26, None)]);
        assert_eq!(
            ranges(&["77829-99375", "12345-55232"], 100_000).unwrap(),
            [span(12345, Some(55232)), span(77829, Some(99375))]
        );
        // Outlook's attachment sessions give the start alone.
        assert_eq!(
            ranges(&["2097152"], 3_483_322).unwrap(),
            [span(2_097_152, None)]
        );
        // An end past the file is cut to its last byte.
        assert_eq!(ranges(&["5-999"], 10).unwrap(), [span(5, Some(9))]);
        assert_eq!(ranges(&[], 10).unwrap(), []);
    }

    #[test]
    fn ranges_a_file_cannot_have_are_protocol_errors() {
        for bad in [
            "",
            "-5",
            "x-",
            "10-",
            "7-3",
            "18446744073709551616-",
            "1-2-3",
        ] {
            match ranges(&[bad], 10) {
                Err(Error::Protocol(message)) => assert!(message.contains("byte range"), "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn an_attachment_id_is_read_from_its_location() {
        assert_eq!(
            attachment_id(
                "https://outlook.office.com/api/v2.0/Users('a@b')/Messages('M=')/Attachments('AAMkADI5=')"
            )
            .as_deref(),
            Some("AAMkADI5=")
        );
        assert_eq!(attachment_id("https://example.test/none"), None);
    }
}
