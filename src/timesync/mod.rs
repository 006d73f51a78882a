#![doc = include_str!("../docs/timesync.md")]
#![doc = include_str!("../docs/timesync_operations.md")]

mod client;
mod duration;
mod query;
mod session;
mod validate;

/// The code progenitor generates from `spec/timesync.yaml` (see build.rs).
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
    include!(concat!(env!("OUT_DIR"), "/timesync.rs"));
}

/// The generated client: every operation of the spec, with no local
/// validation. Most users want [`Client`], which wraps it.
pub use generated::Client as Api;
/// The spec's operations as builders, one per `operationId` (`login`,
/// `list_times`, ..., `delete_user`), on [`Api`]; [`Client::api`] gives it.
pub use generated::{builder, prelude, types};

pub use self::client::{Client, ClientBuilder};
pub use self::duration::Duration;
pub use self::query::{ActivitiesQuery, ProjectsQuery, TimesQuery, UsersQuery};
pub use self::session::AuthType;
pub use self::validate::IntoUuid;
pub use crate::runtime::IntoDate;

crate::runtime::hooks::impl_client_hooks!(generated::Client);

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
