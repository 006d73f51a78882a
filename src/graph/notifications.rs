//! Change notifications by webhook: the subscriber's endpoint.
//!
//! [`NotificationHandler`] answers what Graph POSTs to a subscription's
//! `notificationUrl` and `lifecycleNotificationUrl`, whatever the web
//! framework: give it the method, URI and body (an `http::Request<Bytes>`)
//! and send back the `http::Response<String>` it returns.
//!
//! - **Validation**: `?validationToken=...` is answered at once with the
//!   URL-decoded token, `200`, `text/plain` (Graph waits 10 s at most).
//! - **Notifications**: the `clientState` of each is compared, in constant
//!   time, with the one the handler was made with; those that match are
//!   typed ([`ChangeNotification`], [`LifecycleNotification`]) and handed
//!   to a bounded channel, read as the [`Notifications`] stream, and the
//!   answer is `202 Accepted`. Several notifications in one POST, for
//!   several subscriptions, are usual.
//! - **Within 3 s**: Graph wants an answer within 3 seconds and retries
//!   what gets none or a 5xx, for up to 4 hours. The handler waits at most
//!   [`accept_within`](NotificationHandler::accept_within) (2 s) for room
//!   in the channel. If the channel is still full (or its reader is gone)
//!   it answers `503 Service Unavailable`, so that Graph delivers again
//!   later: `202` is only ever answered once every notification of the POST
//!   is in the channel, so nothing acknowledged is lost. A POST with more
//!   notifications than the channel holds is handed over in parts; should
//!   the time run out in between, Graph's retry brings the delivered part
//!   a second time (notifications are at least once, as Graph's are).
//! - **Refusals**: a POST whose notifications all carry the wrong
//!   `clientState` gets `403` and reaches no one; one that mixes right and
//!   wrong ones delivers the right ones. Bodies over
//!   [`max_body_size`](NotificationHandler::max_body_size) get `413`,
//!   bodies that are not Graph's notification collection `400` (naming what
//!   was wrong), other methods `405`.
//!
//! The handler does not decrypt rich notifications (`encryptedContent` is
//! passed on as it came) nor check their `validationTokens`.
//!
//! Lifecycle notifications ask for action: [`SubscriptionKeeper::handle`](super::SubscriptionKeeper::handle)
//! renews or recreates the subscription, and a `missed` (or a removed
//! subscription) calls for a delta round ([`DeltaSync`](super::delta::DeltaSync)).
//!
//! ```no_run
//! # async fn run(request: http::Request<bytes::Bytes>) -> specbound::Result<()> {
//! use futures::StreamExt as _;
//! use specbound::graph::notifications::{Notification, NotificationHandler};
//! let (handler, mut notifications) = NotificationHandler::new("client-state-secret", 1000)?;
//! // In the web framework's route for the notification URL:
//! let answer: http::Response<String> = handler.handle(request).await;
//! // Elsewhere, at the app's pace:
//! while let Some(notification) = notifications.next().await {
//!     match notification {
//!         Notification::Change(change) => println!("{:?} {}", change.change_type, change.resource),
//!         Notification::Lifecycle(event) => println!("{:?}", event.event),
//!     }
//! }
//! # Ok(()) }
//! ```

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::Stream;
use http::{HeaderValue, Method, Response, StatusCode, Uri, header};
use serde::Deserialize;
use sha2::Digest as _;
use subtle::ConstantTimeEq as _;
use tokio::sync::mpsc;

use crate::runtime::Secret;
use crate::{Error, Result};

/// What a change notification says changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeType {
    /// `created`.
    Created,
    /// `updated`.
    Updated,
    /// `deleted`.
    Deleted,
    /// A value this client does not know, as Graph spelled it.
    Other(String),
}

impl ChangeType {
    fn parse(s: &str) -> Self {
        match s {
            "created" => ChangeType::Created,
            "updated" => ChangeType::Updated,
            "deleted" => ChangeType::Deleted,
            other => ChangeType::Other(other.to_string()),
        }
    }
}

/// What a lifecycle notification asks for (`lifecycleEvent`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LifecycleEvent {
    /// Renew (or reauthorize) the subscription, or notifications pause.
    ReauthorizationRequired,
    /// Graph removed the subscription: create it again, then catch up.
    SubscriptionRemoved,
    /// Some notifications were not delivered: catch up with a delta round.
    Missed,
    /// An event this client does not know, as Graph spelled it.
    Other(String),
}

impl LifecycleEvent {
    fn parse(s: &str) -> Self {
        match s {
            "reauthorizationRequired" => LifecycleEvent::ReauthorizationRequired,
            "subscriptionRemoved" => LifecycleEvent::SubscriptionRemoved,
            "missed" => LifecycleEvent::Missed,
            other => LifecycleEvent::Other(other.to_string()),
        }
    }

    /// Whether changes may have gone unnotified, so that a delta round
    /// should catch up (`missed`, `subscriptionRemoved`).
    pub fn needs_catch_up(&self) -> bool {
        matches!(
            self,
            LifecycleEvent::Missed | LifecycleEvent::SubscriptionRemoved
        )
    }
}

/// The changed resource, as far as the notification names it
/// (`resourceData`: its id, type and etag for Outlook items).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ResourceData {
    /// The resource's id.
    #[serde(default)]
    pub id: Option<String>,
    /// Its OData type (`#Microsoft.Graph.Message`).
    #[serde(default, rename = "@odata.type")]
    pub odata_type: Option<String>,
    /// Its OData id (the path to read it at).
    #[serde(default, rename = "@odata.id")]
    pub odata_id: Option<String>,
    /// Its etag.
    #[serde(default, rename = "@odata.etag")]
    pub odata_etag: Option<String>,
    /// Any other property (resource data is an open type).
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// The encrypted resource of a rich notification, as Graph sent it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EncryptedContent {
    /// The resource, encrypted with `data_key` (base64).
    pub data: String,
    /// The symmetric key, encrypted with the app's public key (base64).
    pub data_key: String,
    /// The HMAC-SHA256 of `data` (base64).
    pub data_signature: String,
    /// The app's certificate id given at subscription.
    pub encryption_certificate_id: String,
    /// The thumbprint of that certificate.
    pub encryption_certificate_thumbprint: String,
}

/// A change to a subscribed resource (`changeNotification`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ChangeNotification {
    /// The subscription it belongs to.
    pub subscription_id: String,
    /// What happened.
    pub change_type: ChangeType,
    /// The changed resource, relative to the version root.
    pub resource: String,
    /// The resource's id, type and etag (and, for some resources, more).
    pub resource_data: Option<ResourceData>,
    /// When the subscription expires.
    pub subscription_expiration: Option<DateTime<Utc>>,
    /// The tenant of the resource.
    pub tenant_id: Option<String>,
    /// The notification's own id, when Graph gives one.
    pub id: Option<String>,
    /// The resource itself, encrypted, in a rich notification.
    pub encrypted_content: Option<EncryptedContent>,
}

/// A notification about the subscription itself (a `changeNotification`
/// with a `lifecycleEvent`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct LifecycleNotification {
    /// The subscription it is about.
    pub subscription_id: String,
    /// What it asks for.
    pub event: LifecycleEvent,
    /// When the subscription expires.
    pub subscription_expiration: Option<DateTime<Utc>>,
    /// The tenant.
    pub tenant_id: Option<String>,
    /// The subscribed resource, when Graph names it.
    pub resource: Option<String>,
}

/// One notification, as the stream hands them on. Its `clientState` was
/// checked and is not kept.
#[derive(Clone, Debug, PartialEq)]
pub enum Notification {
    /// A resource changed (boxed: it is the larger kind).
    Change(Box<ChangeNotification>),
    /// The subscription needs attention.
    Lifecycle(LifecycleNotification),
}

impl Notification {
    /// The subscription it belongs to.
    pub fn subscription_id(&self) -> &str {
        match self {
            Notification::Change(c) => &c.subscription_id,
            Notification::Lifecycle(l) => &l.subscription_id,
        }
    }
}

/// `changeNotificationCollection` as Graph sends it.
#[derive(Deserialize)]
struct Collection {
    value: Vec<Raw>,
}

/// One `changeNotification`, every property optional: lifecycle
/// notifications have no `changeType` or `resource`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    subscription_id: Option<String>,
    #[serde(default)]
    subscription_expiration_date_time: Option<DateTime<Utc>>,
    #[serde(default)]
    client_state: Option<String>,
    #[serde(default)]
    change_type: Option<String>,
    #[serde(default)]
    resource: Option<String>,
    #[serde(default)]
    tenant_id: Option<String>,
    #[serde(default)]
    resource_data: Option<ResourceData>,
    #[serde(default)]
    encrypted_content: Option<EncryptedContent>,
    #[serde(default)]
    lifecycle_event: Option<String>,
}

impl Raw {
    /// The typed notification, or what it lacks.
    fn typed(self, at: usize) -> std::result::Result<Notification, String> {
        let missing = |field: &str| format!("notification {at} has no {field}");
        let subscription_id = self
            .subscription_id
            .filter(|s| !s.is_empty())
            .ok_or_else(|| missing("subscriptionId"))?;
        if let Some(event) = self.lifecycle_event {
            return Ok(Notification::Lifecycle(LifecycleNotification {
                subscription_id,
                event: LifecycleEvent::parse(&event),
                subscription_expiration: self.subscription_expiration_date_time,
                tenant_id: self.tenant_id,
                resource: self.resource,
            }));
        }
        Ok(Notification::Change(Box::new(ChangeNotification {
            subscription_id,
            change_type: ChangeType::parse(&self.change_type.ok_or_else(|| missing("changeType"))?),
            resource: self.resource.ok_or_else(|| missing("resource"))?,
            resource_data: self.resource_data,
            subscription_expiration: self.subscription_expiration_date_time,
            tenant_id: self.tenant_id,
            id: self.id,
            encrypted_content: self.encrypted_content,
        })))
    }
}

/// The longest validation token echoed back.
const MAX_VALIDATION_TOKEN: usize = 4096;

/// The longest [`NotificationHandler::accept_within`]: Graph counts an
/// answer after 2.9 s as slow, and gives up waiting at 3 s.
const MAX_ACCEPT_WITHIN: Duration = Duration::from_millis(2500);

/// The subscriber's endpoint for Graph's change and lifecycle
/// notifications (see the [module docs](self)). Cheap to clone: clones
/// feed the same stream.
#[derive(Clone)]
pub struct NotificationHandler {
    tx: mpsc::Sender<Notification>,
    client_state: Arc<Secret>,
    max_body: usize,
    accept_within: Duration,
}

impl fmt::Debug for NotificationHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotificationHandler")
            .field("capacity", &self.tx.max_capacity())
            .field("max_body", &self.max_body)
            .field("accept_within", &self.accept_within)
            .finish_non_exhaustive()
    }
}

impl NotificationHandler {
    /// A handler that accepts notifications carrying `client_state` (the
    /// subscriptions' `clientState`, at most 128 characters) and the stream
    /// they reach, holding at most `capacity` notifications not yet read.
    pub fn new(
        client_state: impl Into<Secret>,
        capacity: usize,
    ) -> Result<(NotificationHandler, Notifications)> {
        let client_state = client_state.into();
        if client_state.expose().is_empty() {
            return Err(Error::invalid(
                "client_state",
                "is empty; Graph's notifications could not be told from anyone's",
            ));
        }
        if capacity == 0 {
            return Err(Error::invalid(
                "capacity",
                "must hold at least one notification",
            ));
        }
        let (tx, rx) = mpsc::channel(capacity);
        let handler = NotificationHandler {
            tx,
            client_state: Arc::new(client_state),
            max_body: 4 * 1024 * 1024,
            accept_within: Duration::from_secs(2),
        };
        Ok((handler, Notifications { rx }))
    }

    /// The largest body accepted (default 4 MiB); larger ones get `413`.
    pub fn max_body_size(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// How long a POST waits for room in a full channel before it is
    /// answered `503` (default 2 s, at most 2.5 s: Graph waits 3 s).
    pub fn accept_within(mut self, wait: Duration) -> Self {
        self.accept_within = wait.min(MAX_ACCEPT_WITHIN);
        self
    }

    /// The answer to `request`.
    pub async fn handle(&self, request: http::Request<Bytes>) -> Response<String> {
        let (parts, body) = request.into_parts();
        self.answer(&parts.method, &parts.uri, &body).await
    }

    /// The answer to a request of `method` to `uri` with `body`.
    pub async fn answer(&self, method: &Method, uri: &Uri, body: &[u8]) -> Response<String> {
        if method != Method::POST {
            let mut answer = text(StatusCode::METHOD_NOT_ALLOWED, "only POST is accepted");
            answer
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return answer;
        }
        if let Some(token) = validation_token(uri) {
            return validate(token);
        }
        if body.len() > self.max_body {
            tracing::warn!(bytes = body.len(), "notification body over the size limit");
            return text(StatusCode::PAYLOAD_TOO_LARGE, "the body is too large");
        }
        let batch = match parse(body) {
            Ok(batch) => batch,
            Err(reason) => {
                tracing::warn!(%reason, "not a notification collection");
                return text(StatusCode::BAD_REQUEST, &reason);
            }
        };
        let received = batch.len();
        let accepted: Vec<Notification> = batch
            .into_iter()
            .filter(|(state, _)| self.is_ours(state.as_deref()))
            .map(|(_, n)| n)
            .collect();
        let refused = received - accepted.len();
        if refused > 0 {
            tracing::warn!(
                refused,
                received,
                "notifications with a clientState that does not match were dropped"
            );
        }
        if accepted.is_empty() && received > 0 {
            return text(StatusCode::FORBIDDEN, "the clientState does not match");
        }
        match self.deliver(accepted).await {
            Ok(()) => empty(StatusCode::ACCEPTED),
            Err(why) => {
                tracing::warn!(why, "notifications not accepted; Graph will deliver again");
                let mut answer = text(StatusCode::SERVICE_UNAVAILABLE, why);
                answer
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                answer
            }
        }
    }

    /// Whether `state` is this handler's client state. Both sides are
    /// hashed first (SHA-256) and the digests compared with `subtle`: the
    /// time taken says nothing of where they differ, nor of the length.
    fn is_ours(&self, state: Option<&str>) -> bool {
        let expected = sha2::Sha256::digest(self.client_state.expose().as_bytes());
        let got = sha2::Sha256::digest(state.unwrap_or_default().as_bytes());
        bool::from(expected.as_slice().ct_eq(got.as_slice())) && state.is_some()
    }

    /// Puts `batch` in the channel, waiting at most `accept_within` for
    /// room; all of it at once when it fits in the channel.
    async fn deliver(&self, batch: Vec<Notification>) -> std::result::Result<(), &'static str> {
        let deadline = tokio::time::Instant::now() + self.accept_within;
        let capacity = self.tx.max_capacity();
        let mut left = batch.len();
        let mut batch = batch.into_iter();
        while left > 0 {
            let n = left.min(capacity);
            let permits = tokio::time::timeout_at(deadline, self.tx.reserve_many(n))
                .await
                .map_err(|_| "the notification channel is full")?
                .map_err(|_| "the notification stream was dropped")?;
            for (permit, notification) in permits.zip(&mut batch) {
                permit.send(notification);
            }
            left -= n;
        }
        Ok(())
    }
}

/// The URL-decoded `validationToken` of `uri`'s query, if it has one.
fn validation_token(uri: &Uri) -> Option<String> {
    url::form_urlencoded::parse(uri.query()?.as_bytes())
        .find(|(k, _)| k == "validationToken")
        .map(|(_, v)| v.into_owned())
}

/// The answer to Graph's validation request: the token, as plain text.
fn validate(token: String) -> Response<String> {
    if token.is_empty() || token.len() > MAX_VALIDATION_TOKEN {
        return text(
            StatusCode::BAD_REQUEST,
            "the validation token is empty or too long",
        );
    }
    let mut answer = Response::new(token);
    answer
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    nosniff(&mut answer);
    answer
}

/// The notifications of `body` with the client state each carried.
fn parse(body: &[u8]) -> std::result::Result<Vec<(Option<String>, Notification)>, String> {
    let collection: Collection =
        Error::decode_json("change notification", body).map_err(|e| e.to_string())?;
    collection
        .value
        .into_iter()
        .enumerate()
        .map(|(at, mut raw)| {
            let state = raw.client_state.take();
            raw.typed(at).map(|n| (state, n))
        })
        .collect()
}

fn text(status: StatusCode, message: &str) -> Response<String> {
    let mut answer = Response::new(message.to_string());
    *answer.status_mut() = status;
    answer.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    nosniff(&mut answer);
    answer
}

fn empty(status: StatusCode) -> Response<String> {
    let mut answer = Response::new(String::new());
    *answer.status_mut() = status;
    answer
}

/// Echoed text is never read as HTML by a browser.
fn nosniff(answer: &mut Response<String>) {
    answer.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// The notifications a [`NotificationHandler`] accepted, in the order they
/// came. Ends when every handler clone is dropped.
pub struct Notifications {
    rx: mpsc::Receiver<Notification>,
}

impl Notifications {
    /// The next notification; `None` once every handler is gone.
    pub async fn recv(&mut self) -> Option<Notification> {
        self.rx.recv().await
    }
}

impl fmt::Debug for Notifications {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifications")
            .field("waiting", &self.rx.len())
            .finish()
    }
}

impl Stream for Notifications {
    type Item = Notification;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Notification>> {
        self.rx.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_state_must_be_there_and_equal() {
        let (handler, _rx) = NotificationHandler::new("s3cret", 1).unwrap();
        assert!(handler.is_ours(Some("s3cret")));
        assert!(!handler.is_ours(Some("s3cre")));
        assert!(!handler.is_ours(Some("s3cret ")));
        assert!(!handler.is_ours(None));
        assert!(NotificationHandler::new("", 1).is_err());
        assert!(NotificationHandler::new("x", 0).is_err());
    }

    #[test]
    fn a_lifecycle_notification_needs_no_resource() {
        let body = br#"{"value": [{"subscriptionId": "s1", "lifecycleEvent": "missed",
            "clientState": "c", "subscriptionExpirationDateTime": "2019-03-20T11:00:00.0000000Z"}]}"#;
        let parsed = parse(body).unwrap();
        assert_eq!(parsed[0].0.as_deref(), Some("c"));
        match &parsed[0].1 {
            Notification::Lifecycle(l) => {
                assert_eq!(l.event, LifecycleEvent::Missed);
                assert!(l.event.needs_catch_up());
                assert_eq!(
                    l.subscription_expiration.map(|t| t.to_rfc3339()),
                    Some("2019-03-20T11:00:00+00:00".into())
                );
            }
            other => panic!("{other:?}"),
        }
        let without = br#"{"value": [{"subscriptionId": "s1", "changeType": "created"}]}"#;
        assert_eq!(
            parse(without).unwrap_err(),
            "notification 0 has no resource"
        );
    }
}
