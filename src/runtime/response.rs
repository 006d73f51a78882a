//! Decoding the answer of a generated `send()`: the success shapes
//! progenitor knows (a JSON body, which may be absent where the success
//! schema is nullable; no body; a byte stream), with errors that name the
//! operation.

use progenitor_client::{ByteStream, ResponseValue};
use serde::de::DeserializeOwned;

use super::spec::Operation;
use crate::{Error, Result};

/// The JSON body of `response` as `T` (read whole within the size limit
/// and the idle timeout, unless the runtime already did).
pub(crate) async fn json<T: DeserializeOwned>(
    response: reqwest::Response,
    op: &'static Operation,
    runtime: &super::Runtime,
) -> Result<ResponseValue<T>> {
    let status = response.status();
    let headers = response.headers().clone();
    let body = runtime.read_answer(response, op.id).await?;
    let inner = match absent(&body) {
        Some(nothing) => nothing,
        None => Error::decode_json(op.id, &body)?,
    };
    Ok(ResponseValue::new(inner, status, headers))
}

/// An empty body read as JSON `null`, when `T` takes `null`: the success
/// schema is nullable, so the spec lets the answer have no body (Cronofy's
/// delete_event without `include_userinfo`). Otherwise `None`, and an empty
/// body stays a decoding error.
fn absent<T: DeserializeOwned>(body: &[u8]) -> Option<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::from_slice(b"null").ok()
    } else {
        None
    }
}

/// An answer without a body.
pub(crate) fn empty(response: reqwest::Response) -> ResponseValue<()> {
    ResponseValue::new((), response.status(), response.headers().clone())
}

/// An answer whose body is read as it arrives.
#[allow(dead_code)] // called by generated code, when a spec has a byte-stream answer
pub(crate) fn stream(response: reqwest::Response) -> ResponseValue<ByteStream> {
    let status = response.status();
    let headers = response.headers().clone();
    ResponseValue::new(
        ByteStream::new(Box::pin(response.bytes_stream())),
        status,
        headers,
    )
}

/// A success or redirect status the spec does not declare for `op`.
pub(crate) fn unexpected(response: reqwest::Response, op: &'static Operation) -> Error {
    Error::Protocol(format!(
        "{} answered {}, which its spec does not declare (it declares {})",
        op.id,
        response.status(),
        op.success
    ))
}

#[cfg(test)]
mod tests {
    use super::absent;

    #[test]
    fn an_empty_body_is_null_only_for_a_type_that_takes_null() {
        assert_eq!(absent::<Option<serde_json::Value>>(b""), Some(None));
        assert_eq!(absent::<Option<u32>>(b" \n"), Some(None));
        // A struct (or any type without null) keeps the decoding error.
        assert_eq!(absent::<std::collections::HashMap<String, u32>>(b""), None);
        assert_eq!(absent::<u32>(b""), None);
        // A body is never read as absent.
        assert_eq!(absent::<Option<u32>>(b"7"), None);
    }
}
