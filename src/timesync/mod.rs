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

/// An `http` or `https` URI, as the server's `valid-url.isWebUri` wants:
/// only URI characters (no spaces, nothing the `url` crate would quietly
/// percent-encode), complete `%` escapes, and a host.
fn web_uri(value: &str) -> Result<(), String> {
    let uri_chars = value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b":/?#[]@!$&'()*+,;=.-_~%".contains(&b));
    let escapes = value
        .split('%')
        .skip(1)
        .all(|rest| rest.len() >= 2 && rest.as_bytes()[..2].iter().all(u8::is_ascii_hexdigit));
    match url::Url::parse(value) {
        Ok(u) if uri_chars && escapes && matches!(u.scheme(), "http" | "https") => u
            .host()
            .map(|_| ())
            .ok_or_else(|| format!("`{value}` has no host")),
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

#[cfg(test)]
mod tests {
    #[test]
    fn web_uris_are_what_valid_url_accepts() {
        for ok in [
            "https://github.com/osuosl/gwm/issues/1",
            "http://x.org/a%20b?q=1#f",
        ] {
            assert!(super::web_uri(ok).is_ok(), "{ok}");
        }
        let bad = [
            "github.com/x",
            "ftp://x.org",
            "https://x.org/a b",
            "https://x.org/%zz",
            "https://x.org/é",
        ];
        for bad in bad {
            assert!(super::web_uri(bad).is_err(), "{bad}");
        }
    }
}
