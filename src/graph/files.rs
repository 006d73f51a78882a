//! [`GraphFiles`]: uploads, downloads and copies of drive items, and large
//! mail attachments, on the generated Graph [`Client`].

use std::future::Future;

use tokio::io::AsyncWrite;

use super::copy::CopyBuilder;
use super::download::DownloadBuilder;
use super::generated::{Client, types};
use super::upload::{
    AttachmentUploadBuilder, Upload, UploadBuilder, UploadError, UploadSessionState, UploadSource,
};
use super::upload_session::Session;
use super::{Drive, Item, Mailbox};

/// File transfers of a Graph [`Client`] (`use specbound::graph::GraphFiles`
/// or the prelude): what the spec's operations cannot say alone (chunking,
/// resuming, hashing, monitoring). Each builds on the generated builders
/// (`upload_small`, `create_upload_session`, `download_item`, `copy_item`,
/// `get_item`, `create_attachment_upload_session`) and sends the requests
/// to URLs Graph hands out without credentials.
pub trait GraphFiles {
    /// Uploads `source` as the file `name` in the folder `parent`: in one
    /// PUT when small, else through an upload session in chunks.
    fn upload<S: UploadSource>(
        &self,
        drive: &Drive,
        parent: &Item,
        name: &str,
        source: S,
    ) -> UploadBuilder<'_, S>;

    /// Attaches `source` to message `message_id` as `name` through an
    /// upload session (files of 3 MB to 150 MB).
    fn upload_attachment<S: UploadSource>(
        &self,
        mailbox: &Mailbox,
        message_id: &str,
        name: &str,
        source: S,
    ) -> AttachmentUploadBuilder<'_, S>;

    /// Picks up a saved upload session (perhaps of another process) over
    /// the same source: asks the session's status and goes on from the
    /// bytes Graph still expects (a session Graph dropped is made again).
    ///
    /// ```no_run
    /// # async fn run(graph: specbound::graph::Client) -> specbound::Result<()> {
    /// use specbound::graph::{GraphFiles, UploadSessionState};
    /// let saved: UploadSessionState =
    ///     serde_json::from_str(&std::fs::read_to_string("upload.json").expect("saved"))
    ///         .expect("a saved session");
    /// let file = tokio::fs::File::open("big.iso").await.expect("big.iso");
    /// let done = graph.resume(saved, file).await?.finish().await?;
    /// # let _ = done;
    /// # Ok(()) }
    /// ```
    fn resume<S: UploadSource>(
        &self,
        saved: UploadSessionState,
        source: S,
    ) -> impl Future<Output = Result<Upload<'_, S>, UploadError>> + Send;

    /// Downloads the content of `item` into `writer`.
    fn download<W: AsyncWrite + Unpin + Send>(
        &self,
        drive: &Drive,
        item: &Item,
        writer: W,
    ) -> DownloadBuilder<'_, W>;

    /// Copies `item` where `to` says (`parentReference`, `name`); `start`
    /// answers a [`CopyMonitor`](super::CopyMonitor).
    fn copy(&self, drive: &Drive, item: &Item, to: types::CopyItemBody) -> CopyBuilder<'_>;
}

impl GraphFiles for Client {
    fn upload<S: UploadSource>(
        &self,
        drive: &Drive,
        parent: &Item,
        name: &str,
        source: S,
    ) -> UploadBuilder<'_, S> {
        UploadBuilder::new(self, drive, parent, name, source)
    }

    fn upload_attachment<S: UploadSource>(
        &self,
        mailbox: &Mailbox,
        message_id: &str,
        name: &str,
        source: S,
    ) -> AttachmentUploadBuilder<'_, S> {
        AttachmentUploadBuilder::new(self, mailbox, message_id, name, source)
    }

    async fn resume<S: UploadSource>(
        &self,
        saved: UploadSessionState,
        source: S,
    ) -> Result<Upload<'_, S>, UploadError> {
        Ok(Upload {
            session: Session::resume(self, source, saved).await?,
        })
    }

    fn download<W: AsyncWrite + Unpin + Send>(
        &self,
        drive: &Drive,
        item: &Item,
        writer: W,
    ) -> DownloadBuilder<'_, W> {
        DownloadBuilder::new(self, drive, item, writer)
    }

    fn copy(&self, drive: &Drive, item: &Item, to: types::CopyItemBody) -> CopyBuilder<'_> {
        CopyBuilder::new(self, drive, item, to)
    }
}
