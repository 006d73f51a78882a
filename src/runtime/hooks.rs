//! What every generated client does around each request. Each API's
//! `impl ClientHooks<Runtime> for Client` is one line per hook calling these.
//!
//! - [`pre`]: removes progenitor's `api-version` header and adds credentials.
//! - [`exec`]: paces, sends, renews credentials once after a 401, retries
//!   per the [`RetryPolicy`](super::RetryPolicy), and traces one span per call.
//! - [`post`]: turns what `exec` found (an error body that is not JSON, a
//!   failed renewal) into an error, since progenitor's hooks can only return
//!   `Error::Custom(String)`: [`HookError`] travels encoded in that string and
//!   becomes a typed [`Error`](crate::Error) again in `From`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use progenitor_client::OperationInfo;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use tracing::Instrument as _;

use super::Runtime;
use super::retry::{Decision, Outcome, decide, is_idempotent, retry_after};
use crate::error::{AuthErrorKind, Error};

/// Before sending: drop `api-version`, add credentials.
pub(crate) async fn pre<E>(
    rt: &Runtime,
    request: &mut reqwest::Request,
    info: &OperationInfo,
) -> Result<(), progenitor_client::Error<E>> {
    // progenitor adds `api-version: <info.version>` to every request; none of
    // our APIs knows it.
    request.headers_mut().remove("api-version");
    if let Some(auth) = rt.authorizer() {
        auth.authorize(request, info.operation_id)
            .await
            .map_err(|e| progenitor_client::Error::Custom(HookError::from(e).encode()))?;
    }
    Ok(())
}

/// Sends the request with retries, inside a tracing span.
pub(crate) async fn exec(
    rt: &Runtime,
    http: &reqwest::Client,
    request: reqwest::Request,
    info: &OperationInfo,
) -> reqwest::Result<reqwest::Response> {
    let span = tracing::info_span!(
        "specbound.request",
        api = rt.api(),
        operation = info.operation_id,
        method = %request.method(),
        // The path only: TimeSync carries its token in the query string.
        path = request.url().path(),
        status = tracing::field::Empty,
        attempts = tracing::field::Empty,
        elapsed_ms = tracing::field::Empty,
    );
    send_with_retries(rt, http, request, info.operation_id)
        .instrument(span)
        .await
}

/// After sending: raise what `exec` left in the response's extensions.
pub(crate) async fn post<E>(
    result: &reqwest::Result<reqwest::Response>,
) -> Result<(), progenitor_client::Error<E>> {
    if let Ok(response) = result
        && let Some(e) = response.extensions().get::<HookError>()
    {
        return Err(progenitor_client::Error::Custom(e.encode()));
    }
    Ok(())
}

async fn send_with_retries(
    rt: &Runtime,
    http: &reqwest::Client,
    mut request: reqwest::Request,
    operation_id: &'static str,
) -> reqwest::Result<reqwest::Response> {
    let started = Instant::now();
    let idempotent = is_idempotent(request.method());
    let mut attempt = 1;
    let mut waited = Duration::ZERO;
    let mut renewal_failed = None;
    let mut renewed = false;
    let result = loop {
        let Some(this_try) = request.try_clone() else {
            // A streamed body cannot be sent twice: one attempt only.
            break send_once(rt, http, request).await;
        };
        let mut result = send_once(rt, http, this_try).await;
        if let (Ok(r), Some(auth), false) = (&result, rt.authorizer(), renewed)
            && r.status() == StatusCode::UNAUTHORIZED
        {
            renewed = true;
            let (response, body) = buffered(result?).await?;
            result = Ok(response);
            let renewal = match auth.renew_after_unauthorized(operation_id, &body).await {
                Ok(true) => auth
                    .authorize(&mut request, operation_id)
                    .await
                    .map(|()| true),
                other => other,
            };
            match renewal {
                Ok(true) => {
                    tracing::debug!("credentials renewed after 401; sending once more");
                    continue;
                }
                Ok(false) => {}
                Err(e) => renewal_failed = Some(HookError::from(e)),
            }
        }
        // A successful answer to an idempotent request is read here, so
        // that a connection lost in the middle of its body is retried like
        // one lost before the answer (unless a stream reads it as it comes).
        result = match result {
            Ok(r) if idempotent && r.status().is_success() && reads_whole_body(operation_id) => {
                buffered(r).await.map(|(r, _)| r)
            }
            other => other,
        };
        let outcome = match &result {
            Ok(r) => Outcome::Status(r.status()),
            Err(e) if e.is_connect() => Outcome::ConnectFailed,
            Err(_) => Outcome::Interrupted,
        };
        let asked = result.as_ref().ok().and_then(|r| retry_after(r.headers()));
        match decide(
            rt.retry_policy(),
            attempt,
            outcome,
            asked,
            idempotent,
            waited,
            fastrand::f64(),
        ) {
            Decision::Done => break result,
            Decision::GiveUp => {
                tracing::warn!(
                    attempt,
                    ?outcome,
                    "giving up: retry attempts or wait budget spent"
                );
                break result;
            }
            Decision::Retry(wait) => {
                tracing::debug!(
                    attempt,
                    ?outcome,
                    wait_ms = wait.as_millis() as u64,
                    "retrying"
                );
                rt.sleep().sleep(wait).await;
                waited += wait;
                attempt += 1;
            }
        }
    };
    let span = tracing::Span::current();
    span.record("attempts", attempt);
    span.record("elapsed_ms", started.elapsed().as_millis() as u64);
    match &result {
        Ok(r) => {
            span.record("status", r.status().as_u16());
            tracing::debug!(status = r.status().as_u16(), "response");
        }
        Err(e) => tracing::debug!(error = %e.without_url_ref(), "request failed"),
    }
    let mut response = finish(result?, operation_id).await?;
    if let Some(e) = renewal_failed {
        response.extensions_mut().insert(e);
    }
    Ok(response)
}

async fn send_once(
    rt: &Runtime,
    http: &reqwest::Client,
    request: reqwest::Request,
) -> reqwest::Result<reqwest::Response> {
    if let Some(limiter) = rt.rate_limiter() {
        limiter.acquire(rt.sleep()).await;
    }
    let result = http.execute(request).await;
    if let (Some(limiter), Ok(r)) = (rt.rate_limiter(), &result) {
        limiter.observe(r.status(), r.headers());
    }
    result
}

/// Reads a response body and rebuilds the response around it.
async fn buffered(
    response: reqwest::Response,
) -> reqwest::Result<(reqwest::Response, bytes::Bytes)> {
    let status = response.status();
    let version = response.version();
    let headers = response.headers().clone();
    let body = response.bytes().await?;
    let mut rebuilt = http::Response::new(body.clone());
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    Ok((reqwest::Response::from(rebuilt), body))
}

/// Hands a successful body to a waiting stream, and makes sure an error
/// status whose body is not JSON keeps its status and text.
async fn finish(
    response: reqwest::Response,
    operation_id: &'static str,
) -> reqwest::Result<reqwest::Response> {
    let status = response.status();
    if status.is_success() {
        return Ok(hand_over_body(response, operation_id));
    }
    if !(status.is_client_error() || status.is_server_error()) {
        return Ok(response);
    }
    let (mut rebuilt, body) = buffered(response).await?;
    if serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_err() {
        let text = String::from_utf8_lossy(&body);
        let mut message: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if message.len() > 200 {
            let cut = (0..=200)
                .rev()
                .find(|i| message.is_char_boundary(*i))
                .unwrap_or(0);
            message.truncate(cut);
            message.push('…');
        }
        let retry_after_ms = retry_after(rebuilt.headers()).map(|d| d.as_millis() as u64);
        rebuilt.extensions_mut().insert(HookError::Api {
            status: status.as_u16(),
            message,
            retry_after_ms,
        });
    }
    Ok(rebuilt)
}

/// The slot a call leaves open for the raw response of one operation, and
/// whether it reads the body as it arrives (so it must not be read first).
type BodySlot = (&'static str, Arc<Mutex<Option<reqwest::Response>>>, bool);

tokio::task_local! {
    static TAKE_BODY: BodySlot;
}

/// False when a stream takes this operation's body to decode it as it arrives.
fn reads_whole_body(operation_id: &'static str) -> bool {
    TAKE_BODY
        .try_with(|(op, _, streams)| !(*op == operation_id && *streams))
        .unwrap_or(true)
}

fn hand_over_body(response: reqwest::Response, operation_id: &'static str) -> reqwest::Response {
    let Ok(Some(slot)) =
        TAKE_BODY.try_with(|(op, slot, _)| (*op == operation_id).then(|| slot.clone()))
    else {
        return response;
    };
    let status = response.status();
    *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(response);
    // What the generated code decodes instead: an empty array.
    let mut stand_in = http::Response::new(bytes::Bytes::from_static(b"[]"));
    *stand_in.status_mut() = status;
    reqwest::Response::from(stand_in)
}

/// Runs a generated `send()` of `operation_id` and returns its raw successful
/// response, body unread, so that a stream can decode a JSON array item by
/// item as it arrives. Errors come back typed as usual.
///
/// progenitor's `send()` reads a body whole; the generated request building,
/// credentials, retries and error typing are still what we want, so we run
/// it and take the body over in `exec`. The generated code decodes a stand-in
/// `[]`, so use this only for operations that answer a JSON array.
pub(crate) async fn send_for_body<F, T, E>(
    operation_id: &'static str,
    send: F,
) -> crate::Result<reqwest::Response>
where
    F: Future<Output = Result<progenitor_client::ResponseValue<T>, progenitor_client::Error<E>>>,
    E: crate::error::ErrorBody,
{
    take_body(operation_id, true, send).await
}

/// Like [`send_for_body`], for a caller that reads the body whole: the body
/// is read inside the retries, so a connection lost in the middle of it is
/// retried, and comes back in memory.
pub(crate) async fn send_for_bytes<F, T, E>(
    operation_id: &'static str,
    send: F,
) -> crate::Result<bytes::Bytes>
where
    F: Future<Output = Result<progenitor_client::ResponseValue<T>, progenitor_client::Error<E>>>,
    E: crate::error::ErrorBody,
{
    let response = take_body(operation_id, false, send).await?;
    response.bytes().await.map_err(Error::transport)
}

async fn take_body<F, T, E>(
    operation_id: &'static str,
    streams: bool,
    send: F,
) -> crate::Result<reqwest::Response>
where
    F: Future<Output = Result<progenitor_client::ResponseValue<T>, progenitor_client::Error<E>>>,
    E: crate::error::ErrorBody,
{
    let slot = Arc::new(Mutex::new(None));
    let result = TAKE_BODY
        .scope((operation_id, slot.clone(), streams), send)
        .await;
    let taken = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
    match (taken, result) {
        (Some(response), _) => Ok(response),
        (None, Err(e)) => Err(e.into()),
        (None, Ok(_)) => Err(Error::Config(format!(
            "internal: {operation_id} answered without handing its body over"
        ))),
    }
}

/// An error found by a hook, carried through progenitor's
/// `Error::Custom(String)` and turned back into [`Error`] by `From`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum HookError {
    Auth {
        failure: AuthFailure,
        reason: String,
    },
    Api {
        status: u16,
        message: String,
        retry_after_ms: Option<u64>,
    },
    RateLimited {
        retry_after_ms: Option<u64>,
    },
    Invalid {
        field: String,
        reason: String,
    },
    Config {
        reason: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AuthFailure {
    Missing,
    Expired,
    RefreshFailed,
}

const PREFIX: &str = "specbound hook error: ";

impl HookError {
    /// The text carried in `Error::Custom`.
    pub(crate) fn encode(&self) -> String {
        format!(
            "{PREFIX}{}",
            serde_json::to_string(self).unwrap_or_default()
        )
    }

    /// Reads back [`encode`](Self::encode); other text (from hooks that are
    /// not ours) becomes a configuration error carrying it.
    pub(crate) fn decode(text: &str) -> Self {
        text.strip_prefix(PREFIX)
            .and_then(|json| serde_json::from_str(json).ok())
            .unwrap_or_else(|| HookError::Config {
                reason: text.to_string(),
            })
    }
}

impl From<Error> for HookError {
    fn from(e: Error) -> Self {
        let ms = |d: Option<Duration>| d.map(|d| d.as_millis() as u64);
        match e {
            Error::Auth { kind, reason } => HookError::Auth {
                failure: match kind {
                    AuthErrorKind::Missing => AuthFailure::Missing,
                    AuthErrorKind::Expired => AuthFailure::Expired,
                    AuthErrorKind::RefreshFailed => AuthFailure::RefreshFailed,
                },
                reason,
            },
            Error::RateLimited { retry_after } => HookError::RateLimited {
                retry_after_ms: ms(retry_after),
            },
            Error::Invalid { field, reason } => HookError::Invalid { field, reason },
            Error::Config(reason) => HookError::Config { reason },
            // A failure while renewing credentials (transport, API or decode
            // error of the login or token call) is an authentication failure.
            other => HookError::Auth {
                failure: AuthFailure::RefreshFailed,
                reason: format!("renewing the credentials failed: {other}"),
            },
        }
    }
}

impl From<HookError> for Error {
    fn from(e: HookError) -> Self {
        let dur = |ms: Option<u64>| ms.map(Duration::from_millis);
        match e {
            HookError::Auth { failure, reason } => Error::auth(
                match failure {
                    AuthFailure::Missing => AuthErrorKind::Missing,
                    AuthFailure::Expired => AuthErrorKind::Expired,
                    AuthFailure::RefreshFailed => AuthErrorKind::RefreshFailed,
                },
                reason,
            ),
            HookError::Api {
                status: 429,
                retry_after_ms,
                ..
            } => Error::RateLimited {
                retry_after: dur(retry_after_ms),
            },
            HookError::Api {
                status,
                message,
                retry_after_ms,
            } => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let mut api = crate::error::ApiError::new(status, message);
                api.retry_after = dur(retry_after_ms);
                Error::Api(Box::new(api))
            }
            HookError::RateLimited { retry_after_ms } => Error::RateLimited {
                retry_after: dur(retry_after_ms),
            },
            HookError::Invalid { field, reason } => Error::Invalid { field, reason },
            HookError::Config { reason } => Error::Config(reason),
        }
    }
}

/// `reqwest::Error` without its URL, by reference (for logging).
trait WithoutUrlRef {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrlRef for reqwest::Error {
    fn without_url_ref(&self) -> String {
        // Display of reqwest::Error appends " for url (...)": cut it, since
        // the URL may hold a token in its query string.
        let text = self.to_string();
        match text.find(" for url (") {
            Some(i) => text[..i].to_string(),
            None => text,
        }
    }
}

/// `impl ClientHooks<Runtime>` for a generated client: one line per hook,
/// delegating to [`pre`], [`exec`] and [`post`]. Each API module invokes it
/// once for its generated `Client`.
macro_rules! impl_client_hooks {
    ($client:ty) => {
        impl progenitor_client::ClientHooks<crate::runtime::Runtime> for $client {
            async fn pre<E>(
                &self,
                request: &mut reqwest::Request,
                info: &progenitor_client::OperationInfo,
            ) -> Result<(), progenitor_client::Error<E>> {
                crate::runtime::hooks::pre(
                    progenitor_client::ClientInfo::inner(self),
                    request,
                    info,
                )
                .await
            }

            async fn exec(
                &self,
                request: reqwest::Request,
                info: &progenitor_client::OperationInfo,
            ) -> reqwest::Result<reqwest::Response> {
                use progenitor_client::ClientInfo as _;
                crate::runtime::hooks::exec(self.inner(), self.client(), request, info).await
            }

            async fn post<E>(
                &self,
                result: &reqwest::Result<reqwest::Response>,
                _info: &progenitor_client::OperationInfo,
            ) -> Result<(), progenitor_client::Error<E>> {
                crate::runtime::hooks::post(result).await
            }
        }
    };
}
pub(crate) use impl_client_hooks;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_errors_survive_the_trip_through_a_string() {
        for e in [
            HookError::Auth {
                failure: AuthFailure::Expired,
                reason: "token expired at 12:00".into(),
            },
            HookError::Api {
                status: 502,
                message: "<html>Bad gateway</html>".into(),
                retry_after_ms: Some(1500),
            },
            HookError::Invalid {
                field: "duration".into(),
                reason: "negative".into(),
            },
        ] {
            assert_eq!(HookError::decode(&e.encode()), e);
        }
        assert_eq!(
            HookError::decode("some other hook"),
            HookError::Config {
                reason: "some other hook".into()
            }
        );
    }

    #[test]
    fn an_html_429_becomes_rate_limited_with_its_retry_after() {
        let e: Error = HookError::Api {
            status: 429,
            message: "<html>slow down</html>".into(),
            retry_after_ms: Some(93_000),
        }
        .into();
        assert!(
            matches!(e, Error::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(93))
        );
    }
}
