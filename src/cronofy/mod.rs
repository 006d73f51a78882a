#![doc = include_str!("../docs/cronofy.md")]
#![doc = include_str!("../docs/cronofy_operations.md")]
#![doc = include_str!("../docs/cronofy_peers.md")]

mod batch;
pub(crate) mod checks;
mod credentials;
mod data_center;
mod extras;
mod notification;
mod times;

/// The code progenitor generates from `spec/cronofy.yaml` (see build.rs).
mod generated {
    #![allow(
        clippy::all,
        clippy::pedantic,
        missing_docs,
        unreachable_pub,
        unreachable_patterns,
        unused_imports,
        unused_mut,
        dead_code
    )]
    include!(concat!(env!("OUT_DIR"), "/cronofy.rs"));
}

/// The Cronofy client: every operation of `spec/cronofy.yaml` as a builder
/// (`use specbound::cronofy::prelude::*`), plus [`CronofyExt`] for OAuth,
/// batches and notifications.
pub use generated::Client;
pub use generated::{builder, spec};

/// The spec's schemas as Rust types. Three are hand-written (see their
/// `x-specbound-replace` in the spec): [`EventTime`],
/// [`DateOrDateTime`] and
/// [`UtcDateTime`](types::UtcDateTime).
pub mod types {
    pub use super::generated::types::*;
    pub use super::times::{DateOrDateTime, EventTime};
    pub use crate::runtime::UtcDateTime;
}

/// Everything a caller needs in scope: the operation traits, [`CronofyExt`]
/// and raw requests.
pub mod prelude {
    pub use super::extras::CronofyExt;
    pub use super::generated::prelude::*;
    pub use crate::runtime::raw::RawRequests;
}

pub use self::data_center::DataCenter;
pub use self::extras::{AuthLink, ClientBuilder, CronofyExt};
pub use self::notification::{HMAC_HEADER, verify_hmac};
pub use self::times::{DateOrDateTime, EventTime};

use crate::runtime::{ApiProfile, retry};

/// What the runtime needs to know about Cronofy beyond its spec.
pub(crate) static PROFILE: ApiProfile = ApiProfile {
    spec: &spec::API,
    error_body: crate::error::error_details::<types::Error>,
    formats: &[("tzid", checks::tzid), ("uri", checks::web_url)],
    check: checks::check,
    classify: retry::standard,
};

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
