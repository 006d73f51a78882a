//! Push notifications the sandbox sends: the `verification` Cronofy POSTs
//! to a channel's callback URL once the channel is created, and the
//! `change` notifications [`Cronofy::notify_change`](super::Cronofy::notify_change)
//! asks for. Each is a JSON POST signed with `Cronofy-HMAC-SHA256` (the
//! Base64 HMAC-SHA256 of the body keyed with the client secret).
//!
//! Operations run on a blocking thread with the store locked, so they only
//! queue what is to be sent ([`Store::outbox`](super::store::Store)); the
//! server sends the queue from a task on its runtime once the operation has
//! been answered.

use std::time::Duration;

use serde_json::{Value, json};

use super::store::ChannelRow;
use super::times::sign;
use crate::cronofy::HMAC_HEADER;
use crate::runtime::Secret;

/// How long a callback may take to answer.
const CALLBACK_TIMEOUT: Duration = Duration::from_secs(10);

/// A notification waiting to be sent.
#[derive(Debug, Clone)]
pub(super) struct Outgoing {
    /// Where to POST it.
    pub(super) url: String,
    /// The JSON body.
    pub(super) body: Value,
}

impl Outgoing {
    /// The `verification` notification of a new channel (the shape Cronofy
    /// sends: `{"notification": {"type": "verification"}, "channel": {...}}`).
    pub(super) fn verification(channel: &ChannelRow) -> Self {
        Outgoing {
            url: channel.callback_url.clone(),
            body: json!({
                "notification": {"type": "verification"},
                "channel": channel.to_json(),
            }),
        }
    }
}

/// POSTs `body` to `url`, signed with `secret`; whether the callback
/// answered 2xx. Failures are logged (without the URL), never returned:
/// Cronofy does not tell the caller of the API either.
pub(super) async fn deliver(
    http: &reqwest::Client,
    secret: &Secret,
    url: &str,
    body: &Value,
) -> bool {
    let Ok(bytes) = serde_json::to_vec(body) else {
        return false;
    };
    let signature = sign(secret, &bytes);
    let answer = http
        .post(url)
        .timeout(CALLBACK_TIMEOUT)
        .header(
            http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )
        .header(HMAC_HEADER, signature)
        .body(bytes)
        .send()
        .await;
    match answer {
        Ok(r) if r.status().is_success() => true,
        Ok(r) => {
            tracing::debug!(status = %r.status(), "cronofy sandbox: callback refused");
            false
        }
        Err(e) => {
            tracing::debug!(error = %e.without_url(), "cronofy sandbox: callback failed");
            false
        }
    }
}
