//! What Graph says about throttling beyond its spec: Outlook's limits per
//! application and mailbox, kept by the client ([`outlook_limits`]), the
//! `x-ms-throttle-*` headers of an answer ([`Throttle`]), and the parts of
//! an error answer Graph support asks for ([`GraphErrorExt`]).
//!
//! Outlook runs at most 4 requests of one application on one mailbox at a
//! time, 10,000 requests in any 10 minutes and 150 MB of uploads (POST,
//! PATCH, PUT) in any 5 minutes
//! (<https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits>).
//! A request is an Outlook one when its operation is tagged `mail`,
//! `calendar` or `contacts` in the spec and addresses a resource of a
//! mailbox (its `mailbox` or `calendar_owner` path value, followed by more
//! path, or the mailbox a `calendar` value names first): `/me/messages`,
//! `/users/{id}/events`, `/groups/{id}/calendar`, and
//! `/users/{id}/calendars/{calendar id}/events` in `users/{id}`.
//! The client knows a mailbox by how it is written: `me` and
//! `users/{my id}` are kept apart, and requests to other hosts (upload
//! session URLs) are not counted.

use std::collections::BTreeMap;
use std::time::Duration;

use http::HeaderMap;

use super::generated::{spec::API, types};
use crate::runtime::spec::Operation;
use crate::runtime::{Admission, KeyedLimits, Share};
use crate::{ApiError, Error};

/// Outlook requests of one mailbox in flight at once.
pub(crate) const OUTLOOK_IN_FLIGHT: u32 = 4;

/// The spec's tags of the Outlook service's operations.
const OUTLOOK_TAGS: [&str; 3] = ["mail", "calendar", "contacts"];

/// The path parameters that name a mailbox (`me`, `users/{id}`,
/// `groups/{id}`), or a resource of one it names first (`calendar`:
/// `me/calendars/{id}` is in `me`).
const MAILBOX_PARAMETERS: [&str; 3] = ["mailbox", "calendar_owner", "calendar"];

/// The operation that carries a JSON batch (`x-specbound-batch-limit`).
pub(crate) const BATCH: &str = "batch";

/// Outlook's limits per mailbox, as [`ClientBuilder`](super::ClientBuilder)
/// installs them by default (see
/// [`outlook_limits`](super::ClientBuilder::outlook_limits)): 4 requests
/// in flight, 10,000 requests in any 10 minutes, 150 MB of uploads in any
/// 5 minutes. A JSON batch counts each Outlook request it carries in its
/// mailbox, and holds as many slots as it may run at once.
///
/// ```no_run
/// # fn run() -> specbound::Result<()> {
/// use std::time::Duration;
/// use specbound::graph::{Client, outlook_limits};
/// // Leave room for another program working on the same mailboxes.
/// let graph = Client::builder()
///     .keyed_limits(outlook_limits().in_flight(2))
///     .build()?;
/// # let _ = graph; Ok(()) }
/// ```
pub fn outlook_limits() -> KeyedLimits {
    KeyedLimits::new(outlook_shares)
        .in_flight(OUTLOOK_IN_FLIGHT)
        .requests_per(10_000, Duration::from_secs(10 * 60))
        .upload_bytes_per(150_000_000, Duration::from_secs(5 * 60))
}

/// The mailbox an Outlook request of `method` to `path` (below the version
/// root, without its query) addresses, lower case and percent-decoded so
/// that one mailbox has one key; with the operation it routes to.
pub(crate) fn route(method: &str, path: &str) -> Option<(&'static Operation, Option<String>)> {
    let (op, values) = API.route(method, path)?;
    Some((op, outlook_mailbox(op, &values)))
}

fn outlook_mailbox(op: &Operation, values: &[(&str, String)]) -> Option<String> {
    if !OUTLOOK_TAGS.contains(&op.tag) {
        return None;
    }
    let (name, value) = values
        .iter()
        .find(|(n, _)| MAILBOX_PARAMETERS.contains(n))?;
    // `/{mailbox}` alone is the user's directory entry, not Outlook.
    if op.path.trim_start_matches('/') == format!("{{{name}}}") {
        return None;
    }
    let decoded = percent_encoding::percent_decode_str(mailbox_part(value)).decode_utf8_lossy();
    Some(decoded.to_lowercase())
}

/// The mailbox a path value names first: `me`, or `users/{id}` and
/// `groups/{id}` (ids are percent-encoded, so they hold no `/`).
fn mailbox_part(value: &str) -> &str {
    let segments = if value.split('/').next() == Some("me") {
        1
    } else {
        2
    };
    match value.match_indices('/').nth(segments - 1) {
        Some((end, _)) => &value[..end],
        None => value,
    }
}

/// Whether a request of `method` uploads its body (Outlook counts POST,
/// PATCH and PUT).
pub(crate) fn uploads(method: &str) -> bool {
    ["POST", "PATCH", "PUT"]
        .iter()
        .any(|m| m.eq_ignore_ascii_case(method))
}

/// The partition function of [`outlook_limits`].
fn outlook_shares(request: &Admission<'_>) -> Vec<Share> {
    let Some(path) = request.path else {
        return Vec::new();
    };
    if request.spec.is_some_and(|op| op.id == BATCH) {
        return request.body.map(batch_shares).unwrap_or_default();
    }
    // The operation the request was built for, else the one its path is.
    let routed = match request.spec.and_then(|op| Some((op, op.match_path(path)?))) {
        Some((op, values)) => outlook_mailbox(op, &values),
        None => route(request.method.as_str(), path).and_then(|(_, m)| m),
    };
    let Some(mailbox) = routed else {
        return Vec::new();
    };
    let upload_bytes = match request.body {
        Some(body) if uploads(request.method.as_str()) => body.len() as u64,
        _ => 0,
    };
    vec![Share {
        key: mailbox,
        requests: 1,
        in_flight: 1,
        upload_bytes,
    }]
}

/// The shares of a JSON batch's body: per mailbox, its Outlook requests,
/// how many of them may run at once (their `dependsOn` order considered),
/// and their uploaded bytes.
fn batch_shares(body: &[u8]) -> Vec<Share> {
    let Ok(batch) = serde_json::from_slice::<types::BatchRequest>(body) else {
        return Vec::new();
    };
    let items = &batch.requests;
    let index: BTreeMap<&str, usize> = items
        .iter()
        .enumerate()
        .map(|(i, item)| (item.id.as_str(), i))
        .collect();
    let depends_on: Vec<Vec<usize>> = items
        .iter()
        .map(|item| {
            item.depends_on
                .iter()
                .filter_map(|id| index.get(id.as_str()).copied())
                .collect()
        })
        .collect();
    let mut shares: BTreeMap<String, (Vec<usize>, u64)> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let path = item.url.split('?').next().unwrap_or_default();
        let path = format!("/{}", path.trim_start_matches('/'));
        let Some((_, Some(mailbox))) = route(&item.method, &path) else {
            continue;
        };
        let entry = shares.entry(mailbox).or_default();
        entry.0.push(i);
        if uploads(&item.method) {
            let size = item.body.as_ref().map_or(0, |b| b.to_string().len());
            entry.1 = entry.1.saturating_add(size as u64);
        }
    }
    shares
        .into_iter()
        .map(|(key, (members, upload_bytes))| Share {
            key,
            requests: members.len() as u32,
            in_flight: super::batch_plan::parallel_width(&members, &depends_on) as u32,
            upload_bytes,
        })
        .collect()
}

/// Graph's throttling headers of an answer.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Throttle {
    /// `x-ms-throttle-limit-percentage`: the share of a limit used (0.8 to
    /// 1.8), sent once more than 80% of it is.
    pub limit_percentage: Option<f64>,
    /// `x-ms-throttle-scope`: which limit (`Tenant_Application/ReadWrite/{app}/{tenant}`).
    pub scope: Option<String>,
    /// `x-ms-throttle-information`: why (`ResourceUnitLimitExceeded`).
    pub information: Option<String>,
    /// `x-ms-resource-unit`: what the request cost.
    pub resource_unit: Option<u32>,
}

impl Throttle {
    /// The throttling headers among `headers`, if there are any. Values
    /// that do not read as what they should be are left out.
    pub fn from_headers(headers: &HeaderMap) -> Option<Throttle> {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| crate::error::excerpt(v, 200))
                .filter(|v| !v.is_empty())
        };
        let throttle = Throttle {
            limit_percentage: text("x-ms-throttle-limit-percentage")
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|p| p.is_finite() && *p >= 0.0),
            scope: text("x-ms-throttle-scope"),
            information: text("x-ms-throttle-information"),
            resource_unit: text("x-ms-resource-unit").and_then(|v| v.parse().ok()),
        };
        (throttle != Throttle::default()).then_some(throttle)
    }
}

/// Graph's parts of an error ([`crate::Error`] or [`ApiError`]): its
/// throttling headers and `innerError` (`use specbound::graph::prelude::*`).
///
/// ```no_run
/// # async fn run(graph: specbound::graph::Client) -> specbound::Result<()> {
/// use specbound::graph::{Mailbox, prelude::*};
/// if let Err(e) = graph.list_messages().mailbox(Mailbox::me()).send().await {
///     eprintln!(
///         "{e}; request-id {:?}, client-request-id {:?}, date {:?}, throttle {:?}",
///         e.request_id(),
///         e.client_request_id(),
///         e.error_date(),
///         e.throttle(),
///     );
/// }
/// # Ok(()) }
/// ```
pub trait GraphErrorExt {
    /// The answer's `x-ms-throttle-*` headers, when it had any.
    fn throttle(&self) -> Option<Throttle>;
    /// The error body's `innerError`.
    fn inner_error(&self) -> Option<&types::InnerError>;
    /// The `client-request-id` the answer echoed (header, else `innerError`).
    fn client_request_id(&self) -> Option<&str>;
    /// When Graph says the error happened (`innerError.date`, else the
    /// `Date` header).
    fn error_date(&self) -> Option<&str>;
}

impl GraphErrorExt for ApiError {
    fn throttle(&self) -> Option<Throttle> {
        Throttle::from_headers(&self.headers)
    }

    fn inner_error(&self) -> Option<&types::InnerError> {
        match &self.body::<types::Error>()?.error {
            Some(types::ErrorValue::MainError(e)) => e.inner_error.as_ref(),
            _ => None,
        }
    }

    fn client_request_id(&self) -> Option<&str> {
        self.header("client-request-id").or_else(|| {
            self.inner_error()
                .and_then(|i| i.client_request_id.as_deref())
        })
    }

    fn error_date(&self) -> Option<&str> {
        self.inner_error()
            .and_then(|i| i.date.as_deref())
            .or_else(|| self.header("date"))
    }
}

impl GraphErrorExt for Error {
    fn throttle(&self) -> Option<Throttle> {
        self.api()?.throttle()
    }

    fn inner_error(&self) -> Option<&types::InnerError> {
        self.api()?.inner_error()
    }

    fn client_request_id(&self) -> Option<&str> {
        self.api()?.client_request_id()
    }

    fn error_date(&self) -> Option<&str> {
        self.api()?.error_date()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outlook_requests_are_keyed_by_their_mailbox_and_others_are_not_limited() {
        let mailbox = |method: &str, path: &str| route(method, path).and_then(|(_, m)| m);
        assert_eq!(mailbox("GET", "/me/messages").as_deref(), Some("me"));
        assert_eq!(
            mailbox(
                "GET",
                "/users/AdeleV%40Contoso.com/mailFolders/inbox/messages"
            )
            .as_deref(),
            Some("users/adelev@contoso.com")
        );
        assert_eq!(
            mailbox("POST", "/users/AdeleV@contoso.com/sendMail").as_deref(),
            Some("users/adelev@contoso.com")
        );
        assert_eq!(
            mailbox("GET", "/groups/g1/events").as_deref(),
            Some("groups/g1")
        );
        assert_eq!(mailbox("GET", "/me/contacts").as_deref(), Some("me"));
        // The directory entry, drives and the batch itself are not Outlook.
        assert_eq!(mailbox("GET", "/me"), None);
        assert_eq!(mailbox("GET", "/me/drive/root/children"), None);
        assert_eq!(mailbox("POST", "/$batch"), None);
    }

    #[test]
    fn a_request_through_a_calendar_counts_in_the_mailbox_it_names() {
        let mailbox =
            |method: &str, path: &str| route(method, path).and_then(|(op, m)| Some((op.id, m?)));
        for (method, path, id, key) in [
            ("GET", "/me/calendar/events", "list_calendar_events", "me"),
            (
                "POST",
                "/me/calendars/AAMk%2Fx=/events",
                "create_calendar_event",
                "me",
            ),
            (
                "GET",
                "/users/AdeleV%40Contoso.com/calendars/c1/events/e1",
                "get_calendar_event",
                "users/adelev@contoso.com",
            ),
            (
                "DELETE",
                "/users/AdeleV@contoso.com/calendarGroups/g1/calendars/c1/events/e1",
                "delete_calendar_event",
                "users/adelev@contoso.com",
            ),
            (
                "GET",
                "/users/u1/calendar/calendarView",
                "list_calendar_view_of_calendar",
                "users/u1",
            ),
            (
                "PATCH",
                "/groups/g1/calendar/events/e1",
                "update_calendar_event",
                "groups/g1",
            ),
        ] {
            assert_eq!(
                mailbox(method, path),
                Some((id, key.to_string())),
                "{method} {path}"
            );
        }
        // One mailbox, one key: its calendars share the mailbox's limits.
        assert_eq!(
            mailbox("GET", "/users/u1/calendars/c1/events").map(|(_, k)| k),
            mailbox("GET", "/users/u1/events").map(|(_, k)| k)
        );
    }

    #[test]
    fn a_batch_counts_its_outlook_requests_per_mailbox_with_the_parallel_width() {
        let body = serde_json::json!({"requests": [
            {"id": "1", "method": "GET", "url": "/me/messages?$top=5"},
            {"id": "2", "method": "GET", "url": "me/events", "dependsOn": ["1"]},
            {"id": "3", "method": "POST", "url": "/users/b/messages",
             "body": {"subject": "x"}, "headers": {"Content-Type": "application/json"}},
            {"id": "4", "method": "GET", "url": "/me/drive/root"},
        ]});
        let shares = batch_shares(body.to_string().as_bytes());
        assert_eq!(
            shares,
            [
                Share {
                    key: "me".into(),
                    requests: 2,
                    in_flight: 1,
                    upload_bytes: 0
                },
                Share {
                    key: "users/b".into(),
                    requests: 1,
                    in_flight: 1,
                    upload_bytes: r#"{"subject":"x"}"#.len() as u64
                },
            ]
        );
        assert!(batch_shares(b"not json").is_empty());
    }

    #[test]
    fn throttle_headers_are_read_and_bad_values_left_out() {
        let mut h = HeaderMap::new();
        assert_eq!(Throttle::from_headers(&h), None);
        h.insert("x-ms-throttle-limit-percentage", "1.2".parse().unwrap());
        h.insert(
            "x-ms-throttle-scope",
            "Tenant/ReadWrite/a/b".parse().unwrap(),
        );
        h.insert("x-ms-resource-unit", "NaN".parse().unwrap());
        let t = Throttle::from_headers(&h).unwrap();
        assert_eq!(t.limit_percentage, Some(1.2));
        assert_eq!(t.scope.as_deref(), Some("Tenant/ReadWrite/a/b"));
        assert_eq!(t.resource_unit, None);
        h.insert("x-ms-throttle-limit-percentage", "inf".parse().unwrap());
        assert_eq!(Throttle::from_headers(&h).unwrap().limit_percentage, None);
    }
}
