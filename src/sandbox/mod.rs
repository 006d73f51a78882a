//! In-memory fake servers on 127.0.0.1, one per API, for tours and tests.
//!
//! Each sandbox is a real HTTP server with real state: the clients talk to it
//! through their normal code path (URL building, credentials, retries,
//! decoding), and it answers with the real API's shapes and error bodies.
//! All run on one [`engine`]: routing from the generated operation table,
//! credentials found by the spec's security schemes, requests checked
//! against the spec's schema table, page tokens, rate-limit windows and
//! injected faults. Each API's folder holds only that API's behaviour.
//!
//! ```no_run
//! # #[cfg(feature = "timesync")]
//! # async fn run() -> specbound::Result<()> {
//! use specbound::sandbox;
//! let server = sandbox::timesync::TimeSync::builder()
//!     .user("alice", "correct horse", sandbox::timesync::Role::Admin)
//!     .start()
//!     .await?;
//! let ts = specbound::timesync::Client::connect(&server.base_url())?;
//! # Ok(()) }
//! ```

// Each sandbox uses part of the engine's tools; with one API alone the
// others' parts are unused.
#[cfg_attr(
    not(all(feature = "timesync", feature = "cronofy", feature = "graph")),
    allow(dead_code, unused_imports)
)]
pub(crate) mod engine;

#[cfg(feature = "cronofy")]
pub mod cronofy;
#[cfg(feature = "graph")]
pub mod graph;
#[cfg(feature = "timesync")]
pub mod timesync;
#[cfg(feature = "zendesk")]
pub mod zendesk;

pub use self::engine::{Fault, Faults, Server};
