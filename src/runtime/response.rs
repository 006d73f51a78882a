//! Decoding the answer of a generated `send()`: the success shapes
//! progenitor knows (a JSON body, no body, a byte stream), with errors that
//! name the operation.

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
    let inner = Error::decode_json(op.id, &body)?;
    Ok(ResponseValue::new(inner, status, headers))
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
