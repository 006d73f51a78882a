//! Uploads to a drive and to a message: a small file in one PUT
//! (`upload_small`), a larger one through an upload session
//! (`create_upload_session`, `create_attachment_upload_session`) whose
//! chunks go to the session's `uploadUrl` without `Authorization`.
//!
//! The source is read one chunk at a time (memory stays at one chunk), and
//! its QuickXorHash is computed on the way and checked against the one
//! Graph reports for the new file. The chunk loop is in `upload_session`.

use std::fmt;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncSeek, AsyncSeekExt as _};
use tokio::sync::mpsc::Sender;

use super::generated::types::{self, ConflictBehavior};
use super::generated::{Client, prelude::*};
use super::quickxor::QuickXorHash;
use super::upload_session::{self, Session, Target};
use super::{Drive, Item, Mailbox};
use crate::runtime::Secret;
use crate::{Error, Result};

/// One mebibyte (1,048,576 bytes), for chunk sizes and limits.
pub const MIB: u64 = 1024 * 1024;

/// Every chunk of a drive upload session but the last is a multiple of
/// this (320 KiB, 327,680 bytes), as Graph requires.
pub const CHUNK_UNIT: u64 = 327_680;

/// The largest chunk size a drive upload session takes: the largest
/// multiple of [`CHUNK_UNIT`] under 60 MiB.
pub const MAX_CHUNK_SIZE: u64 = (60 * MIB - 1) / CHUNK_UNIT * CHUNK_UNIT;

/// The default chunk size of a drive upload session (10 MiB, as Graph
/// recommends for a stable connection).
pub const DEFAULT_CHUNK_SIZE: u64 = 10 * MIB;

/// Files up to this size go in one PUT by default (4 MiB); larger ones
/// through an upload session.
pub const DEFAULT_SMALL_UPLOAD_LIMIT: u64 = 4 * MIB;

/// The largest chunk of an attachment upload session: Graph asks for
/// chunks under 4 MB; this is the largest multiple of [`CHUNK_UNIT`] under
/// 4,000,000 bytes.
pub const MAX_ATTACHMENT_CHUNK_SIZE: u64 = 4_000_000 / CHUNK_UNIT * CHUNK_UNIT;

/// What an upload reads: any seekable async reader, such as a
/// `tokio::fs::File` or a `std::io::Cursor<Vec<u8>>`. Its size is found by
/// seeking to its end; it is read one chunk at a time, and read again from
/// an earlier offset when the server lost a chunk.
pub trait UploadSource: AsyncRead + AsyncSeek + Unpin + Send {}

impl<T: AsyncRead + AsyncSeek + Unpin + Send + ?Sized> UploadSource for T {}

/// How far an upload or download has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Bytes the server has confirmed (upload) or written to the writer
    /// (download). It goes back to 0 when an upload session is started
    /// again.
    pub bytes: u64,
    /// The size of the file, when known.
    pub total: Option<u64>,
}

/// Why an upload failed. Graph's answers that a caller handles on their
/// own are variants of their own; anything else is
/// [`Other`](UploadError::Other).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UploadError {
    /// 507 `insufficientStorage`: the drive has no room for the file (for
    /// an upload session, Graph says so before any byte is sent).
    #[error("upload: the drive has not enough free space (507)")]
    InsufficientStorage(#[source] Error),
    /// 412 `preconditionFailed`: the file changed since the eTag given to
    /// [`UploadBuilder::if_match`].
    #[error("upload: the file changed since the eTag it was to match (412)")]
    PreconditionFailed(#[source] Error),
    /// 409: a file of that name exists and the conflict behaviour is
    /// `fail` (or a file took the name during the upload session).
    #[error("upload: a file of that name exists (409)")]
    NameConflict(#[source] Error),
    /// The QuickXorHash Graph reports for the new file is not the one of
    /// the bytes read from the source: the file may be corrupt.
    #[error("upload: Graph reports quickXorHash {reported}, the source has {computed}")]
    HashMismatch {
        /// What Graph reported.
        reported: String,
        /// The hash of the source.
        computed: String,
        /// The item Graph created, to inspect or delete.
        item: Box<types::DriveItem>,
    },
    /// The source could not be read (or was shorter than its size).
    #[error("upload: cannot read the source")]
    Source(#[source] std::io::Error),
    /// Any other failure of a request (see [`Error`]).
    #[error(transparent)]
    Other(Error),
}

impl UploadError {
    /// The HTTP status of an error answer.
    pub fn status(&self) -> Option<http::StatusCode> {
        match self {
            UploadError::InsufficientStorage(e)
            | UploadError::PreconditionFailed(e)
            | UploadError::NameConflict(e)
            | UploadError::Other(e) => e.status(),
            _ => None,
        }
    }

    /// The drive is full (507).
    pub fn is_insufficient_storage(&self) -> bool {
        matches!(self, UploadError::InsufficientStorage(_))
    }

    /// The eTag precondition failed (412).
    pub fn is_precondition_failed(&self) -> bool {
        matches!(self, UploadError::PreconditionFailed(_))
    }

    /// The name is taken (409).
    pub fn is_name_conflict(&self) -> bool {
        matches!(self, UploadError::NameConflict(_))
    }

    /// Graph's hash of the file differs from the source's.
    pub fn is_hash_mismatch(&self) -> bool {
        matches!(self, UploadError::HashMismatch { .. })
    }
}

impl From<Error> for UploadError {
    fn from(e: Error) -> Self {
        match e.status().map(|s| s.as_u16()) {
            Some(507) => UploadError::InsufficientStorage(e),
            Some(412) => UploadError::PreconditionFailed(e),
            Some(409) => UploadError::NameConflict(e),
            _ => UploadError::Other(e),
        }
    }
}

/// For `?` in functions returning [`crate::Result`]: the answers keep
/// their [`Error`]; a hash mismatch becomes [`Error::Protocol`] and a
/// source that cannot be read [`Error::Invalid`] (field `source`).
impl From<UploadError> for Error {
    fn from(e: UploadError) -> Self {
        match e {
            UploadError::InsufficientStorage(e)
            | UploadError::PreconditionFailed(e)
            | UploadError::NameConflict(e)
            | UploadError::Other(e) => e,
            mismatch @ UploadError::HashMismatch { .. } => Error::Protocol(mismatch.to_string()),
            UploadError::Source(io) => Error::invalid("source", format!("cannot be read: {io}")),
        }
    }
}

/// What a finished upload made.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Uploaded {
    /// The file in the drive.
    File(Box<types::DriveItem>),
    /// The attachment of the message.
    Attachment(UploadedAttachment),
}

impl Uploaded {
    /// The file in the drive, for a drive upload.
    pub fn into_file(self) -> Option<types::DriveItem> {
        match self {
            Uploaded::File(item) => Some(*item),
            Uploaded::Attachment(_) => None,
        }
    }
}

/// A file attached through an upload session: Graph answers the last
/// chunk with the attachment's URL in `Location`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadedAttachment {
    /// The attachment's URL (`.../Attachments('{id}')`), if Graph sent it.
    pub location: Option<String>,
    /// The attachment's id, read from that URL.
    pub id: Option<String>,
}

/// An upload session as it can be saved (it is `serde`) and resumed by
/// another process with [`GraphFiles::resume`](super::GraphFiles::resume):
/// where the chunks go, the file's size and chunk size, and what the
/// session uploads to (so that a session Graph dropped can be made again).
///
/// The upload URL is a credential of its own (whoever has it can write the
/// file): `Debug` hides it, and a saved state should be kept like a token.
#[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UploadSessionState {
    pub(super) upload_url: Secret,
    pub(super) expires: Option<chrono::DateTime<chrono::Utc>>,
    pub(super) size: u64,
    pub(super) chunk_size: u64,
    #[serde(default)]
    pub(super) defer_commit: bool,
    pub(super) target: Target,
}

impl UploadSessionState {
    /// The size of the file, in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The size of each chunk but the last.
    pub fn chunk_size(&self) -> u64 {
        self.chunk_size
    }

    /// When Graph drops the session unless more bytes arrive.
    pub fn expires(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.expires
    }
}

impl fmt::Debug for UploadSessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadSessionState")
            .field("upload_url", &self.upload_url)
            .field("expires", &self.expires)
            .field("size", &self.size)
            .field("chunk_size", &self.chunk_size)
            .field("defer_commit", &self.defer_commit)
            .field("target", &self.target)
            .finish()
    }
}

/// `size` as a chunk size of a session to `target`, or why not.
pub(super) fn check_chunk_size(size: u64, attachment: bool) -> Result<u64> {
    let max = if attachment {
        MAX_ATTACHMENT_CHUNK_SIZE
    } else {
        MAX_CHUNK_SIZE
    };
    if size == 0 || !size.is_multiple_of(CHUNK_UNIT) || size > max {
        return Err(Error::invalid(
            "chunk_size",
            format!(
                "{size} bytes: a chunk is a multiple of 327,680 bytes (320 KiB), at most {max}"
            ),
        ));
    }
    Ok(size)
}

/// The size of `source` (it is read from its start afterwards).
pub(super) async fn source_len<S: UploadSource>(source: &mut S) -> Result<u64, UploadError> {
    let len = source
        .seek(std::io::SeekFrom::End(0))
        .await
        .map_err(UploadError::Source)?;
    source
        .seek(std::io::SeekFrom::Start(0))
        .await
        .map_err(UploadError::Source)?;
    Ok(len)
}

/// An upload of a file into a drive folder, made by
/// [`GraphFiles::upload`](super::GraphFiles::upload).
///
/// ```no_run
/// # async fn run(graph: specbound::graph::Client) -> specbound::Result<()> {
/// use specbound::graph::{Drive, GraphFiles, Item, MIB, Progress, types::ConflictBehavior};
/// let file = tokio::fs::File::open("big.iso").await.expect("big.iso");
/// let (tx, mut rx) = tokio::sync::mpsc::channel::<Progress>(64);
/// tokio::spawn(async move {
///     while let Some(p) = rx.recv().await {
///         println!("{} of {:?} bytes", p.bytes, p.total);
///     }
/// });
/// let item = graph
///     .upload(&Drive::me(), &Item::root(), "big.iso", file)
///     .chunk_size(10 * MIB)
///     .conflict(ConflictBehavior::Rename)
///     .progress(tx)
///     .start()
///     .await?;
/// println!("uploaded {:?}", item.id);
/// # Ok(()) }
/// ```
pub struct UploadBuilder<'a, S> {
    client: &'a Client,
    drive: Drive,
    item: Result<Item>,
    name: String,
    source: S,
    chunk_size: Result<u64>,
    small_limit: Result<u64>,
    conflict: ConflictBehavior,
    if_match: Option<String>,
    defer_commit: bool,
    progress: Option<Sender<Progress>>,
}

impl<'a, S: UploadSource> UploadBuilder<'a, S> {
    pub(super) fn new(
        client: &'a Client,
        drive: &Drive,
        parent: &Item,
        name: &str,
        source: S,
    ) -> Self {
        UploadBuilder {
            client,
            drive: drive.clone(),
            item: parent.join(name),
            name: name.to_string(),
            source,
            chunk_size: Ok(DEFAULT_CHUNK_SIZE),
            small_limit: Ok(DEFAULT_SMALL_UPLOAD_LIMIT),
            conflict: ConflictBehavior::Fail,
            if_match: None,
            defer_commit: false,
            progress: None,
        }
    }

    /// Bytes per chunk of an upload session (default 10 MiB): a multiple
    /// of [`CHUNK_UNIT`] up to [`MAX_CHUNK_SIZE`], else the upload fails
    /// with [`Error::Invalid`] before anything is sent. Each chunk must
    /// reach Graph within the client's `timeout` and `deadline`.
    pub fn chunk_size(mut self, bytes: u64) -> Self {
        self.chunk_size = check_chunk_size(bytes, false);
        self
    }

    /// Files up to this size go in one PUT (default 4 MiB; at most
    /// [`MAX_CHUNK_SIZE`], which bounds the memory of that PUT); larger
    /// ones through an upload session. 0 sends every file but an empty one
    /// through a session.
    pub fn small_upload_limit(mut self, bytes: u64) -> Self {
        self.small_limit = if bytes > MAX_CHUNK_SIZE {
            Err(Error::invalid(
                "small_upload_limit",
                format!("{bytes} bytes: at most {MAX_CHUNK_SIZE}"),
            ))
        } else {
            Ok(bytes)
        };
        self
    }

    /// What Graph does when the name is taken (default `fail`, for the
    /// one PUT and the upload session alike).
    pub fn conflict(mut self, behaviour: ConflictBehavior) -> Self {
        self.conflict = behaviour;
        self
    }

    /// Replaces the file only if its eTag (or cTag) is still `etag`;
    /// otherwise [`UploadError::PreconditionFailed`].
    pub fn if_match(mut self, etag: impl Into<String>) -> Self {
        self.if_match = Some(etag.into());
        self
    }

    /// `true`: the file is created only by an explicit commit after the
    /// last byte (`deferCommit`). [`start`](Self::start) then sends every
    /// byte and commits at once; [`open`](Self::open) and
    /// [`Upload::send_all`] leave the commit to [`Upload::finish`], which
    /// may run in another process after [`GraphFiles::resume`](super::GraphFiles::resume).
    /// Any size goes through an upload session.
    pub fn defer_commit(mut self, defer: bool) -> Self {
        self.defer_commit = defer;
        self
    }

    /// Where progress goes: one event per confirmed chunk and one at the
    /// end. The upload never waits for the reader: an event that finds
    /// the channel full is dropped (a channel with room for
    /// `size / chunk_size + 2` events gets them all).
    pub fn progress(mut self, events: Sender<Progress>) -> Self {
        self.progress = Some(events);
        self
    }

    /// Uploads the file: in one PUT up to the small upload limit, else
    /// through an upload session; checks the QuickXorHash Graph reports.
    pub async fn start(mut self) -> Result<types::DriveItem, UploadError> {
        let size = source_len(&mut self.source).await?;
        let small_limit = std::mem::replace(&mut self.small_limit, Ok(0))?;
        if size <= small_limit && !self.defer_commit {
            take_chunk_size(&mut self.chunk_size)?;
            return self.put_whole(size).await;
        }
        let upload = self.open().await?;
        match upload.finish().await? {
            Uploaded::File(item) => Ok(*item),
            Uploaded::Attachment(_) => Err(UploadError::Other(Error::Protocol(
                "a drive upload ended as an attachment".into(),
            ))),
        }
    }

    /// Creates the upload session (whatever the size) and hands it over
    /// unsent: save its [`state`](Upload::state), then
    /// [`finish`](Upload::finish) it.
    pub async fn open(mut self) -> Result<Upload<'a, S>, UploadError> {
        let chunk_size = take_chunk_size(&mut self.chunk_size)?;
        std::mem::replace(&mut self.small_limit, Ok(0))?;
        let item = std::mem::replace(&mut self.item, Ok(Item::root()))?;
        let size = source_len(&mut self.source).await?;
        let target = Target::File {
            drive: self.drive.as_str().to_string(),
            item: item.as_str().to_string(),
            name: self.name,
            conflict: self.conflict,
            if_match: self.if_match,
        };
        let session = Session::create(
            self.client,
            self.source,
            target,
            size,
            chunk_size,
            self.defer_commit,
            self.progress,
        )
        .await?;
        Ok(Upload { session })
    }

    /// The one PUT of a small file (read whole: at most the small upload
    /// limit), its hash checked.
    async fn put_whole(mut self, size: u64) -> Result<types::DriveItem, UploadError> {
        let item = std::mem::replace(&mut self.item, Ok(Item::root()))?;
        let mut bytes = Vec::with_capacity(size as usize);
        (&mut self.source)
            .take(size)
            .read_to_end(&mut bytes)
            .await
            .map_err(UploadError::Source)?;
        if bytes.len() as u64 != size {
            return Err(UploadError::Source(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("the source ended after {} of {size} bytes", bytes.len()),
            )));
        }
        let computed = QuickXorHash::of(&bytes);
        let request = self
            .client
            .upload_small()
            .drive(&self.drive)
            .item(&item)
            .microsoft_graph_conflict_behavior(self.conflict)
            .body(Bytes::from(bytes))
            .build_request()?;
        let file: types::DriveItem =
            upload_session::send_with_if_match(request, "upload_small", self.if_match.as_deref())
                .await?;
        if let Some(events) = &self.progress {
            let _ = events.try_send(Progress {
                bytes: size,
                total: Some(size),
            });
        }
        upload_session::check_hash(file, computed)
    }
}

/// The chunk size set on a builder, or its error (taken once).
fn take_chunk_size(chunk_size: &mut Result<u64>) -> Result<u64> {
    std::mem::replace(chunk_size, Ok(DEFAULT_CHUNK_SIZE))
}

/// An upload of a file attached to a message (3 MB to 150 MB; smaller
/// files go through `add_attachment`), made by
/// [`GraphFiles::upload_attachment`](super::GraphFiles::upload_attachment).
/// Graph reports no hash of attachments.
///
/// ```no_run
/// # async fn run(graph: specbound::graph::Client) -> specbound::Result<()> {
/// use specbound::graph::{GraphFiles, Mailbox};
/// let pdf = tokio::fs::File::open("report.pdf").await.expect("report.pdf");
/// let attached = graph
///     .upload_attachment(&Mailbox::me(), "AAMkADI5MAAIT3drCAAA=", "report.pdf", pdf)
///     .content_type("application/pdf")
///     .start()
///     .await?;
/// println!("attachment {:?}", attached.id);
/// # Ok(()) }
/// ```
pub struct AttachmentUploadBuilder<'a, S> {
    client: &'a Client,
    mailbox: Mailbox,
    message_id: String,
    name: String,
    source: S,
    chunk_size: Result<u64>,
    content_type: Option<String>,
    is_inline: Option<bool>,
    progress: Option<Sender<Progress>>,
}

impl<'a, S: UploadSource> AttachmentUploadBuilder<'a, S> {
    pub(super) fn new(
        client: &'a Client,
        mailbox: &Mailbox,
        message_id: &str,
        name: &str,
        source: S,
    ) -> Self {
        AttachmentUploadBuilder {
            client,
            mailbox: mailbox.clone(),
            message_id: message_id.to_string(),
            name: name.to_string(),
            source,
            chunk_size: Ok(MAX_ATTACHMENT_CHUNK_SIZE),
            content_type: None,
            is_inline: None,
            progress: None,
        }
    }

    /// Bytes per chunk (default and most [`MAX_ATTACHMENT_CHUNK_SIZE`]),
    /// a multiple of [`CHUNK_UNIT`]; else [`Error::Invalid`] before
    /// anything is sent.
    pub fn chunk_size(mut self, bytes: u64) -> Self {
        self.chunk_size = check_chunk_size(bytes, true);
        self
    }

    /// The attachment's MIME type.
    pub fn content_type(mut self, mime: impl Into<String>) -> Self {
        self.content_type = Some(mime.into());
        self
    }

    /// Whether the attachment is shown inline.
    pub fn inline(mut self, inline: bool) -> Self {
        self.is_inline = Some(inline);
        self
    }

    /// Where progress goes (see [`UploadBuilder::progress`]).
    pub fn progress(mut self, events: Sender<Progress>) -> Self {
        self.progress = Some(events);
        self
    }

    /// Uploads the file and answers where the attachment is.
    pub async fn start(self) -> Result<UploadedAttachment, UploadError> {
        match self.open().await?.finish().await? {
            Uploaded::Attachment(a) => Ok(a),
            Uploaded::File(_) => Err(UploadError::Other(Error::Protocol(
                "an attachment upload ended as a drive item".into(),
            ))),
        }
    }

    /// Creates the upload session and hands it over unsent.
    pub async fn open(mut self) -> Result<Upload<'a, S>, UploadError> {
        let chunk_size = take_chunk_size(&mut self.chunk_size)?;
        let size = source_len(&mut self.source).await?;
        let target = Target::Attachment {
            mailbox: self.mailbox.as_str().to_string(),
            message_id: self.message_id,
            name: self.name,
            content_type: self.content_type,
            is_inline: self.is_inline,
        };
        let session = Session::create(
            self.client,
            self.source,
            target,
            size,
            chunk_size,
            false,
            self.progress,
        )
        .await?;
        Ok(Upload { session })
    }
}

/// An open upload session: its state can be saved, its bytes sent, and
/// the upload finished (here or, after [`GraphFiles::resume`](super::GraphFiles::resume),
/// in another process).
///
/// ```no_run
/// # async fn run(graph: specbound::graph::Client) -> specbound::Result<()> {
/// use specbound::graph::{Drive, GraphFiles, Item};
/// let file = tokio::fs::File::open("big.iso").await.expect("big.iso");
/// let upload = graph.upload(&Drive::me(), &Item::root(), "big.iso", file).open().await?;
/// let saved = serde_json::to_string(&upload.state()).expect("state");
/// std::fs::write("upload.json", saved).expect("saved");
/// let item = upload.finish().await?.into_file();
/// # let _ = item;
/// # Ok(()) }
/// ```
pub struct Upload<'a, S> {
    pub(super) session: Session<'a, S>,
}

impl<S> fmt::Debug for Upload<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upload")
            .field("state", &self.session.state)
            .finish_non_exhaustive()
    }
}

impl<'a, S: UploadSource> Upload<'a, S> {
    /// The session as it can be saved and resumed.
    pub fn state(&self) -> UploadSessionState {
        self.session.state.clone()
    }

    /// Where progress goes (see [`UploadBuilder::progress`]).
    pub fn progress(mut self, events: Sender<Progress>) -> Self {
        self.session.progress = Some(events);
        self
    }

    /// Sends every byte Graph still expects, in order, resuming from the
    /// session's status after a failed chunk. Without `deferCommit` the
    /// last chunk completes the file; with it, the file waits for
    /// [`finish`](Self::finish).
    pub async fn send_all(&mut self) -> Result<(), UploadError> {
        self.session.send_all().await
    }

    /// Sends what is left, commits a deferred file, and checks the
    /// QuickXorHash Graph reports against the source's.
    pub async fn finish(mut self) -> Result<Uploaded, UploadError> {
        self.session.finish().await
    }

    /// Cancels the session: Graph drops the bytes it holds.
    pub async fn cancel(self) -> Result<(), UploadError> {
        self.session.cancel().await
    }
}
