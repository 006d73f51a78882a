//! The requests the sandbox makes to subscribers: the validation request a
//! new (or moved) subscription's `notificationUrl` must answer by echoing
//! its `validationToken`, and the change notifications.
//!
//! Operations run on a blocking thread with the store locked, so change
//! notifications are only queued ([`Store::outbox`](super::store::Store));
//! the server sends the queue from tasks on its runtime once the operation
//! has been answered.

use std::time::Duration;

use serde_json::Value;

/// How long a subscriber may take to answer a notification.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// A notification waiting to be sent.
#[derive(Debug, Clone)]
pub(super) struct Outgoing {
    /// The subscription's `notificationUrl`.
    pub(super) url: String,
    /// `{"value": [...]}`.
    pub(super) body: Value,
}

/// POSTs a notification; whether the subscriber answered 2xx. Failures are
/// logged (without the URL), never returned: Graph does not tell the caller
/// of the API either.
pub(super) async fn deliver(http: &reqwest::Client, note: &Outgoing) -> bool {
    let Ok(bytes) = serde_json::to_vec(&note.body) else {
        return false;
    };
    let answer = http
        .post(&note.url)
        .timeout(DELIVERY_TIMEOUT)
        .header(
            http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )
        .body(bytes)
        .send()
        .await;
    match answer {
        Ok(r) if r.status().is_success() => true,
        Ok(r) => {
            tracing::debug!(status = %r.status(), "graph sandbox: subscriber refused a notification");
            false
        }
        Err(e) => {
            tracing::debug!(error = %e.without_url(), "graph sandbox: notification failed");
            false
        }
    }
}

/// POSTs `{url}?validationToken={token}` (an empty `text/plain` body) and
/// checks that the subscriber answers 200 with the token as its body within
/// `timeout`, as Graph checks a new subscription.
pub(super) async fn validate(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    timeout: Duration,
) -> bool {
    let Ok(mut target) = url::Url::parse(url) else {
        return false;
    };
    target
        .query_pairs_mut()
        .append_pair("validationToken", token);
    let answer = http
        .post(target)
        .timeout(timeout)
        .header(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .send()
        .await;
    let Ok(mut answer) = answer else {
        return false;
    };
    if answer.status() != http::StatusCode::OK {
        return false;
    }
    // The echo is the token: read no more than a little beyond its length.
    let mut body = Vec::new();
    loop {
        match answer.chunk().await {
            Ok(Some(chunk)) => {
                body.extend_from_slice(&chunk);
                if body.len() > token.len() + 2 {
                    return false;
                }
            }
            Ok(None) => break,
            Err(_) => return false,
        }
    }
    String::from_utf8_lossy(&body).trim() == token
}
