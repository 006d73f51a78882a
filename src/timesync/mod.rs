#![doc = include_str!("../docs/timesync.md")]
#![doc = include_str!("../docs/timesync_operations.md")]

mod duration;
mod extras;
mod session;

/// The code progenitor generates from `spec/timesync.yaml` (see build.rs).
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
    include!(concat!(env!("OUT_DIR"), "/timesync.rs"));
}

/// The TimeSync client: every operation of `spec/timesync.yaml` as a
/// builder (`use specbound::timesync::prelude::*`), plus [`TimeSyncExt`].
pub use generated::Client;
pub use generated::{builder, spec, types};

/// Everything a caller needs in scope: the operation traits, [`TimeSyncExt`]
/// and raw requests.
pub mod prelude {
    pub use super::extras::TimeSyncExt;
    pub use super::generated::prelude::*;
    pub use crate::runtime::raw::RawRequests;
}

pub use self::duration::Duration;
pub use self::extras::{ClientBuilder, TimeSyncExt};
pub use self::session::AuthType;

use crate::runtime::{ApiProfile, retry};

/// What the runtime needs to know about TimeSync beyond its spec.
pub(crate) static PROFILE: ApiProfile = ApiProfile {
    spec: &spec::API,
    error_body: crate::error::error_details::<types::Error>,
    formats: &[("uri", web_uri)],
    check: extras::check,
    classify: retry::standard,
};

/// An `http` or `https` URI, as the server's `valid-url.isWebUri` wants.
fn web_uri(value: &str) -> Result<(), String> {
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        _ => Err(format!("`{value}` is not an http or https URI")),
    }
}

/// TimeSync's error body `{"status", "error", "text", "values"}`.
impl crate::ErrorBody for types::Error {
    fn code(&self) -> Option<String> {
        Some(self.error.clone())
    }

    fn message(&self) -> String {
        self.text.clone()
    }

    fn fields(&self) -> Vec<crate::FieldError> {
        // "Bad object" texts name the field: "Field duration of time should be ..."
        // or "The time is missing a duration".
        let field = self
            .text
            .strip_prefix("Field ")
            .and_then(|t| t.split_whitespace().next())
            .or_else(|| {
                self.text
                    .strip_prefix("The ")
                    .and_then(|t| t.split(" is missing a ").nth(1))
            });
        match field {
            Some(f) if self.error == "Bad object" => vec![crate::FieldError {
                field: f.to_string(),
                message: self.text.clone(),
            }],
            _ => Vec::new(),
        }
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
