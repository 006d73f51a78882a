//! Idempotency keys: a request that carries the `Idempotency-Key` header its
//! operation declares may be sent again, since the server answers a repeat
//! with the first answer instead of acting twice (the IETF draft
//! `draft-ietf-httpapi-idempotency-key-header`). [`DefaultKeys`] gives each
//! such request a random key unless the caller set one.

use futures::future::BoxFuture;

use super::Prepare;
use super::spec::{Location, Operation};
use crate::Result;

/// The header's name.
pub(crate) const HEADER: &str = "Idempotency-Key";

/// The operation's declared idempotency key header, if it has one.
fn declared(op: &Operation) -> Option<&'static str> {
    op.parameters
        .iter()
        .find(|p| p.location == Location::Header && p.name.eq_ignore_ascii_case(HEADER))
        .map(|p| p.name)
}

/// Whether `request` of `op` carries a non-empty key in the header `op`
/// declares: then it may be retried like an idempotent request.
pub(crate) fn carries_key(op: &Operation, request: &reqwest::Request) -> bool {
    declared(op)
        .and_then(|name| request.headers().get(name))
        .is_some_and(|v| !v.is_empty())
}

/// Puts a random key (a UUID v4) into every request whose operation declares
/// the header and which has none. It runs once per call, before the first
/// attempt, so that every retry of the call sends the same key.
#[cfg_attr(not(feature = "zendesk"), allow(dead_code))] // APIs opt in
pub(crate) struct DefaultKeys;

impl Prepare for DefaultKeys {
    fn prepare<'a>(
        &'a self,
        op: &'static Operation,
        request: &'a mut reqwest::Request,
    ) -> BoxFuture<'a, Result<()>> {
        if let Some(name) = declared(op)
            && !request.headers().contains_key(name)
        {
            let key = uuid::Uuid::new_v4().to_string();
            if let Ok(value) = http::HeaderValue::from_str(&key) {
                request
                    .headers_mut()
                    .insert(http::HeaderName::from_static("idempotency-key"), value);
            }
        }
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::spec::Parameter;

    static OP: Operation = Operation {
        method: "POST",
        parameters: &[Parameter {
            name: "Idempotency-Key",
            location: Location::Header,
            required: false,
            schema: 0,
            default: None,
            segments_pattern: None,
        }],
        ..Operation::get_for_tests("create_thing", "/things")
    };
    static PLAIN: Operation = Operation {
        method: "POST",
        ..Operation::get_for_tests("create_other", "/others")
    };

    fn request() -> reqwest::Request {
        reqwest::Request::new(
            http::Method::POST,
            url::Url::parse("http://127.0.0.1/things").unwrap(),
        )
    }

    #[tokio::test]
    async fn a_key_is_added_once_and_a_callers_key_is_kept() {
        let mut r = request();
        assert!(!carries_key(&OP, &r));
        DefaultKeys.prepare(&OP, &mut r).await.unwrap();
        let key = r.headers()["idempotency-key"].clone();
        assert_eq!(key.len(), 36);
        assert!(carries_key(&OP, &r));
        DefaultKeys.prepare(&OP, &mut r).await.unwrap();
        assert_eq!(r.headers()["idempotency-key"], key);

        let mut mine = request();
        mine.headers_mut()
            .insert("idempotency-key", http::HeaderValue::from_static("k-1"));
        DefaultKeys.prepare(&OP, &mut mine).await.unwrap();
        assert_eq!(mine.headers()["idempotency-key"], "k-1");
    }

    #[tokio::test]
    async fn an_operation_without_the_header_gets_none_and_is_not_made_retryable() {
        let mut r = request();
        DefaultKeys.prepare(&PLAIN, &mut r).await.unwrap();
        assert!(r.headers().is_empty());
        r.headers_mut()
            .insert("idempotency-key", http::HeaderValue::from_static("k-1"));
        assert!(!carries_key(&PLAIN, &r));
    }
}
