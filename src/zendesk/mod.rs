#![doc = include_str!("../docs/zendesk.md")]
#![doc = include_str!("../docs/zendesk_operations.md")]
#![doc = include_str!("../docs/zendesk_peers.md")]

pub mod bulk;
pub mod cache;
mod credentials;
mod extras;
mod rate_limits;
mod search;
mod search_all;
pub mod sideloads;
pub mod webhooks;

/// The code progenitor generates from `spec/zendesk.yaml` (see build.rs).
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
    include!(concat!(env!("OUT_DIR"), "/zendesk.rs"));
}

/// The Zendesk Support client: every operation of `spec/zendesk.yaml` as a
/// builder (`use specbound::zendesk::prelude::*`), plus [`ZendeskExt`] for
/// OAuth.
pub use generated::Client;
#[cfg(feature = "sandbox")]
#[doc(hidden)]
pub use generated::examples;
pub use generated::{builder, spec};

/// The spec's schemas as Rust types.
pub mod types {
    pub use super::generated::types::*;
}

/// Everything a caller needs in scope: the operation traits, [`ZendeskExt`],
/// bulk runs, the cache, side-loads and raw requests.
pub mod prelude {
    pub use super::bulk::BulkOperation;
    pub use super::cache::ZendeskCacheExt;
    pub use super::extras::ZendeskExt;
    pub use super::generated::prelude::*;
    pub use super::sideloads::SideLoads;
    pub use crate::runtime::raw::RawRequests;
}

pub use self::cache::{CacheConfig, ZendeskCacheExt};
pub use self::extras::{ClientBuilder, ZendeskExt};
pub use self::rate_limits::RateLimit;
pub use self::search::{Search, SearchTime, SearchType};
pub use self::search_all::{SearchAll, SearchStream};
pub use crate::runtime::oauth::AuthorizationRequest;

use crate::runtime::{ApiProfile, retry};

/// What the runtime needs to know about Zendesk beyond its spec.
pub(crate) static PROFILE: ApiProfile = ApiProfile {
    spec: &spec::API,
    error_body: crate::error::error_details::<types::Error>,
    formats: &[],
    check: sideloads::check_includes,
    classify: retry::standard,
};

/// Zendesk's error body: `error` (a name such as `RecordInvalid`, or an
/// object with `title` and `message`), `description`, and per-field
/// `details`; or the `errors: [{code, title, detail}]` form of the paging
/// checks, whose first error is the one reported.
impl crate::ErrorBody for types::Error {
    fn code(&self) -> Option<String> {
        match &self.error {
            Some(types::ErrorError::String(code)) => Some(code.clone()),
            Some(types::ErrorError::ErrorObject(e)) => e.title.clone(),
            None => self.errors.first().and_then(|e| e.code.clone()),
        }
    }

    fn message(&self) -> String {
        if let Some(d) = &self.description {
            return d.clone();
        }
        match (&self.error, self.errors.first()) {
            (Some(types::ErrorError::ErrorObject(e)), _) => e.message.clone().unwrap_or_default(),
            (Some(types::ErrorError::String(code)), _) => code.clone(),
            (None, Some(first)) => first
                .title
                .iter()
                .chain(&first.detail)
                .map(|s| s.trim())
                .collect::<Vec<_>>()
                .join(": "),
            (None, None) => String::new(),
        }
    }

    fn fields(&self) -> Vec<crate::FieldError> {
        self.details
            .iter()
            .flat_map(|(field, problems)| {
                problems.iter().map(move |p| crate::FieldError {
                    field: field.clone(),
                    message: p
                        .description
                        .clone()
                        .or_else(|| p.error.clone())
                        .unwrap_or_default(),
                })
            })
            .collect()
    }
}
