#![doc = include_str!("docs/crate.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
pub mod runtime;

pub use error::{ApiError, AuthErrorKind, Error, ErrorBody, FieldError, Result};

#[cfg(feature = "timesync")]
#[cfg_attr(docsrs, doc(cfg(feature = "timesync")))]
pub mod timesync;

#[cfg(feature = "cronofy")]
#[cfg_attr(docsrs, doc(cfg(feature = "cronofy")))]
pub mod cronofy;

#[cfg(feature = "sandbox")]
#[cfg_attr(docsrs, doc(cfg(feature = "sandbox")))]
pub mod sandbox;
