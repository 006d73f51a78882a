//! `Prefer: IdType="ImmutableId"`: Outlook ids that stay the same when an
//! item moves to another folder. A delta round saved today and a change
//! notification received tomorrow then name an item by the same id.
//!
//! Which requests ask for them is read from the spec's tables, never from a
//! list of operations: by default the delta queries (operations whose
//! `x-specbound-pagination` has a `resume` pointer, the `@odata.deltaLink`)
//! and the creation of subscriptions (the POST of the spec's
//! `notifications` tag, whose notifications then carry immutable ids);
//! [`ClientBuilder::immutable_ids`](super::ClientBuilder::immutable_ids)
//! turns them on for every request or off for all.

use futures::future::BoxFuture;
use http::header::{HeaderMap, HeaderName, HeaderValue};

use crate::Result;
use crate::runtime::Prepare;
use crate::runtime::spec::Operation;

/// The preference Graph reads.
const IMMUTABLE_ID: &str = r#"IdType="ImmutableId""#;

const PREFER: HeaderName = HeaderName::from_static("prefer");

/// Which requests ask for immutable ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ImmutableIds {
    /// None: Graph's default ids.
    Off,
    /// Delta queries and subscription creation (the default).
    DeltaAndSubscriptions,
    /// Every request.
    Always,
}

impl ImmutableIds {
    /// The mode `ClientBuilder::immutable_ids` set, if it was called.
    pub(crate) fn from_setting(setting: Option<bool>) -> Self {
        match setting {
            None => ImmutableIds::DeltaAndSubscriptions,
            Some(true) => ImmutableIds::Always,
            Some(false) => ImmutableIds::Off,
        }
    }

    /// Whether a request of `op` asks for immutable ids.
    fn applies_to(self, op: &Operation) -> bool {
        match self {
            ImmutableIds::Off => false,
            ImmutableIds::Always => true,
            ImmutableIds::DeltaAndSubscriptions => is_delta(op) || creates_subscription(op),
        }
    }
}

/// A delta query: its pages end with a token to resume from.
fn is_delta(op: &Operation) -> bool {
    op.pagination.is_some_and(|p| !p.resume.is_empty())
}

/// The creation of a change notification subscription.
fn creates_subscription(op: &Operation) -> bool {
    op.tag == "notifications" && op.method == "POST"
}

impl Prepare for ImmutableIds {
    fn prepare<'a>(
        &'a self,
        op: &'static Operation,
        request: &'a mut reqwest::Request,
    ) -> BoxFuture<'a, Result<()>> {
        if self.applies_to(op) {
            merge_prefer(request.headers_mut(), IMMUTABLE_ID);
        }
        Box::pin(std::future::ready(Ok(())))
    }
}

/// Adds `preference` to the request's `Prefer` preferences (one header,
/// comma-separated, after those the caller set), unless the caller already
/// chose an `IdType` of their own.
fn merge_prefer(headers: &mut HeaderMap, preference: &str) {
    let name = preference
        .split('=')
        .next()
        .unwrap_or(preference)
        .to_ascii_lowercase();
    let mut texts = Vec::new();
    for value in headers.get_all(&PREFER) {
        let Ok(text) = value.to_str() else {
            // Not text: leave it as it is and send ours beside it.
            headers.append(PREFER, HeaderValue::from_static(IMMUTABLE_ID));
            return;
        };
        texts.push(text.trim().to_string());
    }
    let chosen = texts.iter().flat_map(|t| t.split(',')).any(|p| {
        p.split('=')
            .next()
            .is_some_and(|n| n.trim().eq_ignore_ascii_case(&name))
    });
    if chosen {
        return;
    }
    texts.retain(|t| !t.is_empty());
    texts.push(preference.to_string());
    match HeaderValue::from_str(&texts.join(", ")) {
        Ok(merged) => {
            headers.insert(PREFER, merged);
        }
        Err(_) => {
            headers.append(PREFER, HeaderValue::from_static(IMMUTABLE_ID));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefer(values: &[&str]) -> Vec<String> {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(PREFER, HeaderValue::from_str(v).unwrap());
        }
        merge_prefer(&mut headers, IMMUTABLE_ID);
        headers
            .get_all(PREFER)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn the_preference_joins_those_the_caller_set_unless_it_chose_an_id_type() {
        assert_eq!(prefer(&[]), [r#"IdType="ImmutableId""#]);
        assert_eq!(
            prefer(&[r#"outlook.timezone="Pacific Standard Time""#]),
            [r#"outlook.timezone="Pacific Standard Time", IdType="ImmutableId""#]
        );
        assert_eq!(
            prefer(&["odata.maxpagesize=2", r#"outlook.body-content-type="text""#]),
            [r#"odata.maxpagesize=2, outlook.body-content-type="text", IdType="ImmutableId""#]
        );
        assert_eq!(
            prefer(&[r#"odata.maxpagesize=2, idtype="RestId""#]),
            [r#"odata.maxpagesize=2, idtype="RestId""#]
        );
    }
}
