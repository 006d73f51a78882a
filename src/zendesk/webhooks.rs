//! Receiving Zendesk webhooks: checking their signature and reading their
//! event payloads.
//!
//! Zendesk signs each request of a webhook with the webhook's signing secret
//! (get_webhook_signing_secret): `X-Zendesk-Webhook-Signature` is
//! `base64(HMAC-SHA256(secret, timestamp + body))`, where `timestamp` is the
//! `X-Zendesk-Webhook-Signature-Timestamp` header as sent (an ISO 8601 time
//! such as `2021-07-25T10:00:00Z`) and `body` the raw request body, empty for
//! a request without one ([verifying webhooks]). Check the bytes as they
//! arrived, before parsing them; a [`max_age`](WebhookVerifier::max_age)
//! also refuses a signed request replayed later.
//!
//! Event webhooks (user, organization, article... events) carry the
//! envelope [`WebhookEvent`]; webhooks connected to triggers or automations
//! carry whatever body the trigger builds, so read those with
//! [`WebhookVerifier::verify`] and your own type.
//!
//! [verifying webhooks]: https://developer.zendesk.com/documentation/webhooks/verifying/

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use crate::runtime::Secret;
use crate::runtime::signature::hmac_sha256_matches;
use crate::{Error, Result};

/// The header holding the signature.
pub const SIGNATURE_HEADER: &str = "X-Zendesk-Webhook-Signature";

/// The header holding the signed timestamp.
pub const TIMESTAMP_HEADER: &str = "X-Zendesk-Webhook-Signature-Timestamp";

/// Checks the signature of webhook requests with one webhook's signing
/// secret.
///
/// ```
/// use std::time::Duration;
/// use specbound::zendesk::webhooks::WebhookVerifier;
/// let verifier = WebhookVerifier::new("my-signing-secret").max_age(Duration::from_secs(300));
/// // In the handler, with the raw body and the two headers:
/// let (signature, timestamp, body) = ("AAAA", "2024-04-17T17:18:10Z", b"{}");
/// if verifier.verify(signature, timestamp, body).is_err() {
///     // answer 401 and drop the request
/// }
/// ```
#[derive(Clone)]
pub struct WebhookVerifier {
    secret: Secret,
    max_age: Option<Duration>,
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

impl WebhookVerifier {
    /// A verifier for the webhook whose signing secret is `secret`; without
    /// [`max_age`](Self::max_age), any timestamp is accepted.
    pub fn new(secret: impl Into<Secret>) -> Self {
        WebhookVerifier {
            secret: secret.into(),
            max_age: None,
        }
    }

    /// Refuses requests whose signed timestamp is further than `window`
    /// from now (in the past, or in the future for clocks that drift), so
    /// that a captured request cannot be replayed later. Zendesk retries a
    /// failed delivery with a new timestamp, so a few minutes are enough.
    pub fn max_age(mut self, window: Duration) -> Self {
        self.max_age = Some(window);
        self
    }

    /// Checks `signature` and `timestamp` (the two headers' values) against
    /// the raw `body`, now. The error is [`Error::Invalid`] naming the header
    /// at fault.
    pub fn verify(&self, signature: &str, timestamp: &str, body: &[u8]) -> Result<()> {
        self.verify_at(signature, timestamp, body, Utc::now())
    }

    /// [`verify`](Self::verify) as if the time were `now`.
    pub fn verify_at(
        &self,
        signature: &str,
        timestamp: &str,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let key = self.secret.expose().as_bytes();
        if !hmac_sha256_matches(key, &[timestamp.as_bytes(), body], signature) {
            return Err(Error::invalid(
                SIGNATURE_HEADER,
                "is not the HMAC-SHA256 of the timestamp and body with this secret",
            ));
        }
        let Some(window) = self.max_age else {
            return Ok(());
        };
        let sent = DateTime::parse_from_rfc3339(timestamp.trim())
            .map_err(|_| Error::invalid(TIMESTAMP_HEADER, "is not an ISO 8601 time"))?
            .with_timezone(&Utc);
        let apart = (now - sent).abs().to_std().unwrap_or(Duration::MAX);
        if apart > window {
            return Err(Error::invalid(
                TIMESTAMP_HEADER,
                format!(
                    "is {}s away from now, more than the {}s allowed (a replay?)",
                    apart.as_secs(),
                    window.as_secs()
                ),
            ));
        }
        Ok(())
    }

    /// Reads both headers from `headers` and checks them against `body`.
    pub fn verify_headers(&self, headers: &http::HeaderMap, body: &[u8]) -> Result<()> {
        let header = |name: &'static str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| Error::invalid(name, "is missing"))
        };
        self.verify(header(SIGNATURE_HEADER)?, header(TIMESTAMP_HEADER)?, body)
    }

    /// Checks the request, then reads its body as an event.
    pub fn verify_event(&self, headers: &http::HeaderMap, body: &[u8]) -> Result<WebhookEvent> {
        self.verify_headers(headers, body)?;
        WebhookEvent::from_slice(body)
    }
}

/// The envelope of every event webhook request ([webhook event types]).
///
/// ```
/// use specbound::zendesk::webhooks::{EventDetail, WebhookEvent};
/// let body = br#"{"type":"zen:event-type:organization.created","account_id":1,
///   "id":"a540ab78","subject":"zen:organization:66","detail":{"id":"66","name":"Acme"},"event":{}}"#;
/// let event = WebhookEvent::from_slice(body)?;
/// assert_eq!(event.action(), Some("created"));
/// let EventDetail::Organization(org) = event.detail()? else { unreachable!() };
/// assert_eq!((org.id, org.name.as_deref()), (Some(66), Some("Acme")));
/// # Ok::<(), specbound::Error>(())
/// ```
///
/// [webhook event types]: https://developer.zendesk.com/api-reference/webhooks/event-types/webhook-event-types/
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WebhookEvent {
    /// What happened: `zen:event-type:user.active_changed`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The account's id.
    pub account_id: i64,
    /// The event's unique id: deliveries of one event share it, so it
    /// serves to drop duplicates.
    pub id: String,
    /// When the event happened.
    #[serde(default)]
    pub time: Option<DateTime<Utc>>,
    /// The payload schema's version (`2022-06-20`).
    #[serde(default)]
    pub zendesk_event_version: String,
    /// The domain and id of the record concerned: `zen:user:6596848315901`.
    #[serde(default)]
    pub subject: String,
    /// The record created or changed; its shape depends on the domain
    /// (see [`WebhookEvent::detail`]).
    #[serde(default)]
    pub detail: serde_json::Value,
    /// What changed; its shape depends on the event type (often
    /// `{current, previous}`, see [`WebhookEvent::change`]).
    #[serde(default)]
    pub event: serde_json::Value,
}

impl WebhookEvent {
    /// Reads an event from a request body.
    pub fn from_slice(body: &[u8]) -> Result<Self> {
        Error::decode_json("webhook_event", body)
    }

    /// The event type's domain: `user` for `zen:event-type:user.created`.
    pub fn domain(&self) -> Option<&str> {
        self.type_parts().map(|(domain, _)| domain)
    }

    /// The event type's action: `created` for `zen:event-type:user.created`.
    pub fn action(&self) -> Option<&str> {
        self.type_parts().map(|(_, action)| action)
    }

    fn type_parts(&self) -> Option<(&str, &str)> {
        // The docs write both `zen:event-type:user.created` and
        // `zen:event-type/user.created`.
        let rest = self.event_type.strip_prefix("zen:event-type")?;
        let rest = rest.strip_prefix(':').or_else(|| rest.strip_prefix('/'))?;
        rest.split_once('.')
    }

    /// The subject's kind and id: `("user", "6596848315901")` for
    /// `zen:user:6596848315901`.
    pub fn subject_id(&self) -> Option<(&str, &str)> {
        let rest = self.subject.strip_prefix("zen:")?;
        rest.split_once(':')
    }

    /// The detail, typed by the domain.
    pub fn detail(&self) -> Result<EventDetail> {
        fn typed<T: DeserializeOwned>(value: &serde_json::Value) -> Result<T> {
            serde_json::from_value(value.clone()).map_err(|e| {
                Error::invalid("detail", format!("does not have the documented shape: {e}"))
            })
        }
        Ok(match self.domain() {
            Some("user") => EventDetail::User(typed(&self.detail)?),
            Some("organization") => EventDetail::Organization(typed(&self.detail)?),
            _ => EventDetail::Other(self.detail.clone()),
        })
    }

    /// The event object as a change from `previous` to `current`, each of
    /// type `T` (`bool` for `user.active_changed`, `String` for
    /// `user.name_changed`...).
    pub fn change<T: DeserializeOwned>(&self) -> Result<Change<T>> {
        serde_json::from_value(self.event.clone()).map_err(|e| {
            Error::invalid(
                "event",
                format!("is not a change of the type asked for: {e}"),
            )
        })
    }
}

/// An event's [`detail`](WebhookEvent::detail), by domain.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum EventDetail {
    /// A user event's detail.
    User(UserDetail),
    /// An organization event's detail.
    Organization(OrganizationDetail),
    /// Another domain's detail (articles, posts, agent availability...),
    /// as sent.
    Other(serde_json::Value),
}

/// The detail of a user event. Zendesk sends ids as strings and `"0"` for
/// "none"; here they are numbers, and `None` for none.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct UserDetail {
    /// The user's id.
    #[serde(default, deserialize_with = "id_text")]
    pub id: Option<i64>,
    /// The primary email.
    #[serde(default)]
    pub email: Option<String>,
    /// The external id (empty when unset).
    #[serde(default)]
    pub external_id: Option<String>,
    /// The default group.
    #[serde(default, deserialize_with = "id_text")]
    pub default_group_id: Option<i64>,
    /// The organization.
    #[serde(default, deserialize_with = "id_text")]
    pub organization_id: Option<i64>,
    /// `end-user`, `agent` or `admin`.
    #[serde(default)]
    pub role: Option<String>,
    /// When the user was created.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// When the user was last changed.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

/// The detail of an organization event (ids as numbers; see [`UserDetail`]).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct OrganizationDetail {
    /// The organization's id.
    #[serde(default, deserialize_with = "id_text")]
    pub id: Option<i64>,
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
    /// The external id.
    #[serde(default)]
    pub external_id: Option<String>,
    /// The group its new tickets go to.
    #[serde(default, deserialize_with = "id_text")]
    pub group_id: Option<i64>,
    /// Whether its members see each other's comments.
    #[serde(default)]
    pub shared_comments: Option<bool>,
    /// Whether its members see each other's tickets.
    #[serde(default)]
    pub shared_tickets: Option<bool>,
    /// When it was created.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// When it was last changed.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

/// A change carried by an event object: the value before and after.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Change<T> {
    /// The value now (absent for a removal).
    #[serde(default = "none")]
    pub current: Option<T>,
    /// The value before (absent for a creation).
    #[serde(default = "none")]
    pub previous: Option<T>,
}

fn none<T>() -> Option<T> {
    None
}

/// An id sent as text (`"6596848315901"`) or a number; `""`, `"0"` and null
/// are none.
fn id_text<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(i64),
        Text(String),
    }
    let id = match Option::<Raw>::deserialize(d)? {
        None => None,
        Some(Raw::Number(n)) => Some(n),
        Some(Raw::Text(t)) if t.trim().is_empty() => None,
        Some(Raw::Text(t)) => Some(
            t.trim()
                .parse::<i64>()
                .map_err(|_| serde::de::Error::custom(format!("`{t}` is not an id")))?,
        ),
    };
    Ok(id.filter(|n| *n != 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_type_and_subject_split_into_their_parts() {
        let event: WebhookEvent = serde_json::from_value(serde_json::json!({
            "type": "zen:event-type/user.identity_changed",
            "account_id": 1, "id": "e", "subject": "zen:user:42",
        }))
        .unwrap();
        assert_eq!(event.domain(), Some("user"));
        assert_eq!(event.action(), Some("identity_changed"));
        assert_eq!(event.subject_id(), Some(("user", "42")));
        assert_eq!(event.time, None);
    }

    #[test]
    fn ids_sent_as_text_are_numbers_and_zero_is_none() {
        let detail: UserDetail = serde_json::from_value(serde_json::json!({
            "id": "6596848315901", "organization_id": "0", "default_group_id": 7
        }))
        .unwrap();
        assert_eq!(detail.id, Some(6_596_848_315_901));
        assert_eq!(detail.organization_id, None);
        assert_eq!(detail.default_group_id, Some(7));
        let bad = serde_json::from_value::<UserDetail>(serde_json::json!({"id": "12x"}));
        assert!(bad.is_err());
    }
}
