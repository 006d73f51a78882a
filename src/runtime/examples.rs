//! Helpers of the generated `<api>::examples::send` dispatcher: parameters
//! and bodies from JSON, answers to JSON. Tests and sandbox tours send any
//! operation by its id through it.

use futures::TryStreamExt;
use progenitor_client::{ByteStream, ResponseValue};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Error, Result};

/// `v` as the setter's type, or an error naming `name`.
pub fn value<T: DeserializeOwned>(name: &str, v: &serde_json::Value) -> Result<T> {
    serde_json::from_value(v.clone()).map_err(|e| Error::invalid(name, e.to_string()))
}

/// A binary body given as a JSON string (its UTF-8 bytes).
pub fn binary(name: &str, v: &serde_json::Value) -> Result<Vec<u8>> {
    v.as_str()
        .map(|s| s.as_bytes().to_vec())
        .ok_or_else(|| Error::invalid(name, "a binary body is given as a string"))
}

/// A decoded answer as JSON.
pub fn json_answer<T: Serialize>(answer: ResponseValue<T>) -> Result<serde_json::Value> {
    serde_json::to_value(answer.into_inner()).map_err(|e| Error::invalid("answer", e.to_string()))
}

/// A binary answer, read whole, as (lossy UTF-8) text.
pub async fn bytes_answer(answer: ResponseValue<ByteStream>) -> Result<serde_json::Value> {
    let mut stream = answer.into_inner();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream
        .try_next()
        .await
        .map_err(|e| Error::invalid("answer", e.to_string()))?
    {
        bytes.extend_from_slice(&chunk);
    }
    Ok(serde_json::Value::String(
        String::from_utf8_lossy(&bytes).into_owned(),
    ))
}
