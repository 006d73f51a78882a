#![doc = include_str!("../docs/cronofy.md")]
#![doc = include_str!("../docs/cronofy_operations.md")]
#![doc = include_str!("../docs/cronofy_peers.md")]

mod batch;
mod client;
mod data_center;
mod notification;
mod paging;
mod times;
mod validate;

/// The code progenitor generates from `spec/cronofy.yaml` (see build.rs).
mod generated {
    #![allow(
        clippy::all,
        clippy::pedantic,
        missing_docs,
        unreachable_pub,
        unreachable_patterns,
        unused_imports,
        dead_code
    )]
    include!(concat!(env!("OUT_DIR"), "/cronofy.rs"));
}

pub use self::times::{DateOrDateTime, EventTime};
/// The generated client: every operation of the spec as a builder, with
/// credentials added but no local validation. [`Client`] derefs to it.
pub use generated::Client as Api;
pub use generated::{builder, prelude, spec};

/// The spec's schemas as Rust types. Three are hand-written (see their
/// `x-specbound-replace` in the spec): [`EventTime`],
/// [`DateOrDateTime`] and
/// [`UtcDateTime`](types::UtcDateTime).
pub mod types {
    pub use super::generated::types::*;
    pub use super::times::{DateOrDateTime, EventTime};
    pub use crate::runtime::UtcDateTime;
}

pub use self::client::{AuthLink, Client, ClientBuilder};
pub use self::data_center::DataCenter;
pub use self::notification::{HMAC_HEADER, verify_hmac};
pub use self::paging::{AvailablePeriodsQuery, FreeBusyQuery, Pages, ReadEventsQuery};

crate::runtime::hooks::impl_client_hooks!(generated::Client);

/// Cronofy's error body: a 422's per-field `errors`, or an OAuth `error`.
impl crate::ErrorBody for types::Error {
    fn code(&self) -> Option<String> {
        self.error
            .clone()
            .or_else(|| (!self.errors.is_empty()).then(|| "unprocessable".to_string()))
    }

    fn message(&self) -> String {
        if let Some(d) = &self.error_description {
            return d.clone();
        }
        self.fields()
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn fields(&self) -> Vec<crate::FieldError> {
        self.errors
            .iter()
            .flat_map(|(field, problems)| {
                problems.iter().map(move |p| crate::FieldError {
                    field: field.clone(),
                    message: p
                        .description
                        .clone()
                        .unwrap_or_else(|| p.key.clone().unwrap_or_default()),
                })
            })
            .collect()
    }
}

/// A value the generated builders refused (a missing required field, a
/// string over its length limit, a pattern not matched) becomes
/// [`Error::Invalid`](crate::Error::Invalid), so `?` works on `try_into()`.
impl From<types::error::ConversionError> for crate::Error {
    fn from(e: types::error::ConversionError) -> Self {
        crate::Error::Invalid {
            field: "value".into(),
            reason: e.to_string(),
        }
    }
}
