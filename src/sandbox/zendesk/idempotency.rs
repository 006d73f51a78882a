//! `Idempotency-Key` on ticket creation: for two hours a repeated request
//! with the same key and the same body answers the first answer again with
//! `x-idempotency-lookup: hit` (the first is a `miss`); the same key with
//! another body is 400 `IdempotentRequestError`. Only successful answers
//! are remembered.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use http::StatusCode;

use super::errors::ZdErr;
use crate::sandbox::engine::{Call, Response};

/// How long a key is remembered.
const KEPT: Duration = Duration::from_secs(2 * 3600);

/// The header that carries the key.
const HEADER: &str = "idempotency-key";

/// A remembered request: its body, when it came, and its answer.
type Remembered = (Vec<u8>, Instant, Response);

/// The answers remembered by (operation, key).
#[derive(Default)]
pub(super) struct Replays {
    seen: Mutex<HashMap<(&'static str, String), Remembered>>,
}

/// What a request with a key gets.
pub(super) enum Lookup {
    /// No key, or a key not seen: run the operation.
    Run(Option<String>),
    /// The same request again: the first answer.
    Replay(Response),
    /// The key with another body.
    Conflict(ZdErr),
}

impl Replays {
    /// Looks `call`'s key up (only for operations that take one).
    pub(super) fn lookup(&self, call: &Call) -> Lookup {
        let takes_key = call
            .op
            .parameters
            .iter()
            .any(|p| p.name.eq_ignore_ascii_case(HEADER));
        let Some(key) = call
            .request
            .header(HEADER)
            .filter(|_| takes_key)
            .map(str::to_string)
        else {
            return Lookup::Run(None);
        };
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.retain(|_, (_, at, _)| at.elapsed() < KEPT);
        match seen.get(&(call.op.id, key.clone())) {
            None => Lookup::Run(Some(key)),
            Some((body, _, answer)) if *body == call.request.body.as_ref() => {
                Lookup::Replay(answer.clone().with_header("x-idempotency-lookup", "hit"))
            }
            Some(_) => Lookup::Conflict(ZdErr::new(
                StatusCode::BAD_REQUEST,
                "IdempotentRequestError",
                "Request parameters don't match the given idempotency key",
            )),
        }
    }

    /// Remembers a successful `answer` of `op` under `key`; the answer as sent.
    pub(super) fn remember(
        &self,
        op: &'static str,
        key: String,
        body: Vec<u8>,
        answer: Response,
    ) -> Response {
        if !answer.status.is_success() {
            return answer;
        }
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((op, key), (body, Instant::now(), answer.clone()));
        answer.with_header("x-idempotency-lookup", "miss")
    }
}
