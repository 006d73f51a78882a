//! In-memory fake servers on 127.0.0.1, one per API, for tours and tests.
//!
//! Each sandbox is a real HTTP server with real state: the clients talk to it
//! through their normal code path (URL building, credentials, retries,
//! decoding), and it answers with the real API's shapes and error bodies. A
//! request body that does not match the spec's schema gets the API's own
//! validation error, found with the JSON Schema of the generated type.
//!
//! ```no_run
//! # async fn run() -> specbound::Result<()> {
//! use specbound::sandbox;
//! let server = sandbox::timesync::TimeSync::builder()
//!     .user("alice", "correct horse", sandbox::timesync::Role::Admin)
//!     .start()
//!     .await?;
//! let ts = specbound::timesync::Client::new(&server.base_url())?;
//! # Ok(()) }
//! ```

#[cfg(feature = "cronofy")]
pub mod cronofy;
#[cfg(feature = "timesync")]
pub mod timesync;

use std::net::SocketAddr;

use tokio::sync::oneshot;

use crate::{Error, Result};

/// A running sandbox server; it stops when dropped.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Server {
    /// Serves `router` on a free port of 127.0.0.1 on the current tokio runtime.
    pub(crate) async fn start(router: axum::Router) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| Error::Config(format!("sandbox cannot listen on 127.0.0.1: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::Config(format!("sandbox has no local address: {e}")))?;
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let serve = axum::serve(listener, router).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "sandbox server stopped");
            }
        });
        Ok(Server {
            addr,
            shutdown: Some(tx),
        })
    }

    /// `http://127.0.0.1:<port>`, with no path.
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Checks `body` against the JSON Schema of `T` (the generated type, through
/// its `schemars::JsonSchema` derive). Returns the instance path and message
/// of the first violation.
pub(crate) fn schema_violation<T: schemars::JsonSchema>(
    body: &serde_json::Value,
) -> Option<(String, String)> {
    let schema = schemars::schema_for!(T);
    let schema = serde_json::to_value(&schema).ok()?;
    let validator = jsonschema::validator_for(&schema).ok()?;
    validator.iter_errors(body).next().map(|e| {
        let path = e.instance_path().to_string();
        (path, e.to_string())
    })
}
