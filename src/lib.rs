#![doc = include_str!("docs/crate.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

// With no API enabled the runtime serves nothing.
#[cfg_attr(
    not(any(
        feature = "timesync",
        feature = "cronofy",
        feature = "graph",
        feature = "zendesk"
    )),
    allow(dead_code)
)]
mod error;
// With no API enabled the runtime serves nothing.
#[cfg_attr(
    not(any(
        feature = "timesync",
        feature = "cronofy",
        feature = "graph",
        feature = "zendesk"
    )),
    allow(dead_code, unused_imports, unused_macros)
)]
pub mod runtime;

pub use error::{ApiError, AuthErrorKind, Error, ErrorBody, FieldError, PagingErrorKind, Result};

#[cfg(feature = "timesync")]
#[cfg_attr(docsrs, doc(cfg(feature = "timesync")))]
pub mod timesync;

#[cfg(feature = "cronofy")]
#[cfg_attr(docsrs, doc(cfg(feature = "cronofy")))]
pub mod cronofy;

#[cfg(feature = "graph")]
#[cfg_attr(docsrs, doc(cfg(feature = "graph")))]
pub mod graph;

#[cfg(feature = "zendesk")]
#[cfg_attr(docsrs, doc(cfg(feature = "zendesk")))]
pub mod zendesk;

#[cfg(feature = "sandbox")]
#[cfg_attr(docsrs, doc(cfg(feature = "sandbox")))]
pub mod sandbox;
