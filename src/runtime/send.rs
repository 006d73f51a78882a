//! The one path every request takes, generated or raw: checks against the
//! spec, the API's preparation, credentials (only to trusted hosts), rate
//! limits, retries with backoff, one renewal after a 401, a deadline, one
//! tracing span, and error statuses turned into typed errors.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tracing::Instrument as _;

use super::Runtime;
use super::keyed_limits::{Admission, Admitted};
use super::rate_limit::Pace;
use super::retry::{Decision, Outcome, decide, retry_after};
use super::spec::Operation;
use crate::Result;
use crate::error::{ApiError, Error, MESSAGE_EXCERPT, excerpt};

/// How much of an error answer is read for its message; the rest is dropped.
pub(crate) const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// The longest `Location` of an error answer that is kept.
const LOCATION_LIMIT: usize = 8 * 1024;

/// How a successful answer's body is handed over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Read whole inside the retries (an idempotent request whose answer is
    /// cut off midway is sent again), within the size limit.
    Whole,
    /// Left unread, for a caller that reads it as it arrives.
    Stream,
}

/// One call: what the runtime needs to know besides the request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Call {
    /// The operation's id, for tracing, rate limits and errors.
    pub(crate) operation: &'static str,
    /// The spec's operation, when the request is one (checked against it).
    pub(crate) spec: Option<&'static Operation>,
    /// Whether it may be sent twice.
    pub(crate) idempotent: bool,
    /// Whether credentials are added (to trusted hosts only, in any case).
    pub(crate) credentials: bool,
    /// Whether the request is checked against the spec first.
    pub(crate) check: bool,
    /// Whether the API's preparation runs on it (requests the operation's
    /// builder made, and the pages of its list; not raw requests).
    pub(crate) prepare: bool,
    pub(crate) mode: Mode,
}

impl Call {
    /// A request built by operation `op`'s builder.
    pub(crate) fn of(op: &'static Operation, mode: Mode) -> Self {
        Call {
            operation: op.id,
            spec: Some(op),
            idempotent: op.idempotent,
            credentials: true,
            check: true,
            prepare: true,
            mode,
        }
    }
}

impl Runtime {
    /// Sends `request`, built by the builder of `op`, through every step;
    /// the answer is a success (2xx or 3xx), anything else is an `Error`.
    pub(crate) async fn execute(
        &self,
        request: reqwest::Request,
        op: &'static Operation,
        mode: Mode,
    ) -> Result<reqwest::Response> {
        self.call(request, Call::of(op, mode)).await
    }

    /// Sends `request` as `call` says.
    pub(crate) async fn call(
        &self,
        mut request: reqwest::Request,
        mut call: Call,
    ) -> Result<reqwest::Response> {
        if let Some(op) = call.spec {
            if call.check {
                self.check(op, &request)?;
            }
            // The pages after the first are prepared too: they carry the
            // first request's headers as they were before preparation.
            if call.prepare
                && let Some(prepare) = self.prepare()
            {
                prepare.prepare(op, &mut request).await?;
            }
        }
        // A repeat with the same idempotency key is answered, not acted on.
        if let Some(op) = call.spec
            && super::idempotency::carries_key(op, &request)
        {
            call.idempotent = true;
        }
        let span = tracing::info_span!(
            "specbound.request",
            api = self.api(),
            operation = call.operation,
            method = %request.method(),
            // The path only: TimeSync carries its token in the query string.
            path = request.url().path(),
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        );
        record_operation(self.api(), call.operation);
        let attempts = self.attempts(request, call).instrument(span);
        let result = match self.config().deadline {
            Some(deadline) => tokio::time::timeout(deadline, attempts)
                .await
                .unwrap_or(Err(Error::Timeout {
                    operation: call.operation,
                    deadline,
                })),
            None => attempts.await,
        };
        let Attempted {
            response,
            admitted,
            refused,
            read,
        } = result?;
        let status = response.status();
        if status.is_client_error() || status.is_server_error() {
            let error = self.error_answer(response, call.operation).await;
            return Err(match error {
                // The wait the budget refused, when the API did not say.
                Error::RateLimited {
                    retry_after: None,
                    code,
                    request_id,
                    answer,
                } => Error::RateLimited {
                    retry_after: refused,
                    code,
                    request_id,
                    answer,
                },
                other => other,
            });
        }
        // A request holding slots in flight keeps them until its answer has
        // been read (a streamed answer: until its head has come).
        if !admitted.is_empty() && !read && call.mode == Mode::Whole {
            return self
                .read_whole(response)
                .await
                .map_err(|e| e.into_error(call.operation, self));
        }
        Ok(response)
    }

    /// Checks a request of `op` against the spec's constraints and the
    /// API's own checks.
    pub(crate) fn check(&self, op: &'static Operation, request: &reqwest::Request) -> Result<()> {
        let profile = self.profile();
        let path = request.url().path().strip_prefix(self.base_path());
        let query: Vec<(String, String)> = request
            .url()
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let body = match (op.body, request.body().and_then(|b| b.as_bytes())) {
            (Some(b), Some(bytes)) if b.media.contains("json") => {
                serde_json::from_slice(bytes).ok()
            }
            _ => None,
        };
        super::validate::request(
            profile.spec,
            op,
            path,
            &query,
            body.as_ref(),
            profile.formats,
        )?;
        super::past::check(op, &query, super::past::now())?;
        (profile.check)(op, &query, body.as_ref())
    }

    /// Every attempt of one call: credentials, pacing, sending, one renewal
    /// after a 401, and retries as the policy and the API's classifier say.
    async fn attempts(&self, mut request: reqwest::Request, call: Call) -> Result<Attempted> {
        let started = Instant::now();
        let with_credentials = call.credentials && self.is_trusted(request.url());
        let mut attempt = 1;
        let mut waited = Duration::ZERO;
        let mut renewed = false;
        let mut admitted = Admitted::default();
        let mut refused = None;
        let mut read = false;
        let mut clock = CallClock::default();
        let result = loop {
            // The slots of the attempt before are given back first.
            drop(std::mem::take(&mut admitted));
            let Some(mut this_try) = request.try_clone() else {
                // A streamed body cannot be sent twice: one attempt only.
                self.authorize(&mut request, call, with_credentials).await?;
                admitted = self.admit(&request, call, &mut waited, clock.now()).await?;
                break self.send_once(request, call).await;
            };
            let stamp = self
                .authorize(&mut this_try, call, with_credentials)
                .await?;
            admitted = self
                .admit(&this_try, call, &mut waited, clock.now())
                .await?;
            let mut result = self.send_once(this_try, call).await;
            clock.answered();
            if let (Ok(r), Some(auth), true, false) =
                (&result, self.authorizer(), with_credentials, renewed)
                && r.status() == StatusCode::UNAUTHORIZED
            {
                renewed = true;
                let response = result.map_err(|e| e.into_error(call.operation, self.idle()))?;
                let (response, body) = self
                    .read_limited(response, ERROR_BODY_LIMIT, call.operation)
                    .await?;
                result = Ok(response);
                if auth
                    .renew_after_unauthorized(call.operation, &body, stamp)
                    .await?
                {
                    tracing::debug!("credentials renewed after 401; sending once more");
                    continue;
                }
            }
            // A successful answer to an idempotent request is read here, so
            // that a connection lost in the middle of its body is retried like
            // one lost before the answer (unless the caller reads it as it comes).
            result = match result {
                Ok(r) if call.idempotent && call.mode == Mode::Whole && r.status().is_success() => {
                    match self.read_whole(r).await {
                        Ok(r) => {
                            read = true;
                            Ok(r)
                        }
                        Err(ReadError::TooLarge) => {
                            return Err(ReadError::TooLarge.into_error(call.operation, self));
                        }
                        Err(ReadError::Transport(e)) => Err(Failure::Transport(e)),
                        Err(ReadError::Idle) => Err(Failure::Idle),
                    }
                }
                other => other,
            };
            let outcome = match &result {
                Ok(r) => Outcome::Status(r.status()),
                Err(Failure::Transport(e)) if e.is_connect() => Outcome::ConnectFailed,
                Err(_) => Outcome::Interrupted,
            };
            let asked = result.as_ref().ok().and_then(|r| retry_after(r.headers()));
            let class = (self.profile().classify)(outcome);
            match decide(
                self.retry_policy(),
                attempt,
                class,
                asked,
                call.idempotent,
                waited,
                fastrand::f64(),
            ) {
                Decision::Done => break result,
                Decision::GiveUp(wait) => {
                    tracing::warn!(
                        attempt,
                        ?outcome,
                        refused_wait_ms = wait.map(|w| w.as_millis() as u64),
                        "giving up: retry attempts or wait budget spent"
                    );
                    refused = wait;
                    break result;
                }
                Decision::Retry(wait) => {
                    tracing::debug!(
                        attempt,
                        ?outcome,
                        wait_ms = wait.as_millis() as u64,
                        "retrying"
                    );
                    read = false;
                    drop(std::mem::take(&mut admitted));
                    self.sleep().sleep(wait).await;
                    clock.slept(wait);
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
            Err(Failure::Transport(e)) => {
                tracing::debug!(error = %without_url(e), "request failed")
            }
            Err(Failure::Idle) => tracing::debug!("no answer within the idle timeout"),
        }
        let response = result.map_err(|e| e.into_error(call.operation, self.idle()))?;
        Ok(Attempted {
            response,
            admitted,
            refused,
            read,
        })
    }

    /// Waits for the client's rate limiter and keyed limits (within what
    /// is left of the call's wait budget, which their waits are added to);
    /// the slots in flight the request takes.
    async fn admit(
        &self,
        request: &reqwest::Request,
        call: Call,
        waited: &mut Duration,
        now: tokio::time::Instant,
    ) -> Result<Admitted> {
        let (limiter, limits) = (self.rate_limiter(), self.keyed_limits());
        if limiter.is_none() && limits.is_none() {
            return Ok(Admitted::default());
        }
        let same_origin = request.url().origin() == self.base_url_parsed().origin();
        let admission = Admission {
            operation: call.operation,
            spec: call.spec,
            method: request.method(),
            path: same_origin
                .then(|| request.url().path().strip_prefix(self.base_path()))
                .flatten(),
            body: request.body().and_then(|b| b.as_bytes()),
        };
        let budget = |waited: Duration| self.retry_policy().wait_budget().saturating_sub(waited);
        if let Some(limiter) = limiter {
            let pace = Pace {
                request: &admission,
                budget: budget(*waited),
                now,
                sleep: self.sleep(),
            };
            *waited += limiter.acquire(pace).await?;
        }
        let Some(limits) = limits else {
            return Ok(Admitted::default());
        };
        let (admitted, slept) = limits
            .admit(&admission, self.sleep(), budget(*waited))
            .await?;
        *waited += slept;
        Ok(admitted)
    }

    /// How long the client waits for the server's next bytes.
    pub(crate) fn idle(&self) -> Duration {
        self.config().timeout
    }

    /// The whole body of a successful answer, within the size limit and
    /// the idle timeout, as an error of `operation` otherwise.
    pub(crate) async fn read_answer(
        &self,
        response: reqwest::Response,
        operation: &'static str,
    ) -> Result<bytes::Bytes> {
        read_body(response, self.max_response_size(), self.idle())
            .await
            .map_err(|e| e.into_error(operation, self))
    }

    /// Adds credentials when the call takes them and the host is trusted.
    async fn authorize(
        &self,
        request: &mut reqwest::Request,
        call: Call,
        with_credentials: bool,
    ) -> Result<super::Stamp> {
        match (self.authorizer(), with_credentials) {
            (Some(auth), true) => auth.authorize(request, call.operation).await,
            _ => Ok(super::Stamp::NONE),
        }
    }

    /// Sends once; the answer's head must come within the idle timeout.
    async fn send_once(
        &self,
        request: reqwest::Request,
        call: Call,
    ) -> std::result::Result<reqwest::Response, Failure> {
        let result = match tokio::time::timeout(self.idle(), self.http().execute(request)).await {
            Ok(r) => r.map_err(Failure::Transport),
            Err(_) => Err(Failure::Idle),
        };
        if let Ok(r) = &result {
            trace_throttling(r.status(), r.headers());
            if let Some(limiter) = self.rate_limiter() {
                limiter.observe(call.operation, r.status(), r.headers());
            }
        }
        result
    }

    /// Reads a successful body whole (within the size limit and the idle
    /// timeout) and rebuilds the response around it.
    async fn read_whole(
        &self,
        response: reqwest::Response,
    ) -> std::result::Result<reqwest::Response, ReadError> {
        let (head, response) = split(response);
        let body = read_body(response, self.max_response_size(), self.idle()).await?;
        Ok(rebuild(head, body))
    }

    /// Reads at most `limit` bytes of a body (the rest is dropped) and
    /// rebuilds the response around them.
    async fn read_limited(
        &self,
        response: reqwest::Response,
        limit: usize,
        operation: &'static str,
    ) -> Result<(reqwest::Response, bytes::Bytes)> {
        let (head, response) = split(response);
        let bytes = read_prefix(response, limit, self.idle())
            .await
            .map_err(|e| e.into_error(operation, self))?;
        Ok((rebuild(head, bytes.clone()), bytes))
    }

    /// A typed error for an error status: the API's own error body when it
    /// is one, else the status and an excerpt of the text; 429 is always
    /// [`Error::RateLimited`].
    pub(super) async fn error_answer(
        &self,
        response: reqwest::Response,
        operation: &'static str,
    ) -> Error {
        let status = response.status();
        let headers = response.headers().clone();
        match read_prefix(response, ERROR_BODY_LIMIT, self.idle()).await {
            Ok(body) => self.error_of(status, &headers, &body, operation),
            Err(e) => e.into_error(operation, self),
        }
    }

    /// The typed error of an error answer's status, headers and body (at
    /// most [`ERROR_BODY_LIMIT`] of it is read): an answer of a call, or
    /// one answer inside a batch. 429 is [`Error::RateLimited`] carrying
    /// the answer; the request id comes from the spec's header, else from
    /// the API's error body.
    pub(crate) fn error_of(
        &self,
        status: StatusCode,
        headers: &http::HeaderMap,
        body: &[u8],
        operation: &'static str,
    ) -> Error {
        let body = &body[..body.len().min(ERROR_BODY_LIMIT)];
        let mut api = ApiError::new(status, operation, "");
        api.retry_after = retry_after(headers);
        api.request_id = self
            .spec()
            .request_id_header
            .and_then(|h| headers.get(h))
            .and_then(|v| v.to_str().ok())
            .map(|v| excerpt(v, 100));
        api.headers = headers.clone();
        api.location = headers
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.len() <= LOCATION_LIMIT)
            .map(str::to_string);
        api = match (self.profile().error_body)(body) {
            Some(d) => api.with_details(d),
            None => {
                api.message = excerpt(&String::from_utf8_lossy(body), MESSAGE_EXCERPT);
                api
            }
        };
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Error::RateLimited {
                retry_after: api.retry_after,
                code: api.code.clone(),
                request_id: api.request_id.clone(),
                answer: Some(Box::new(api)),
            };
        }
        Error::Api(Box::new(api))
    }
}

/// What the attempts of one call ended with.
struct Attempted {
    /// The last answer.
    response: reqwest::Response,
    /// Slots in flight, held until the answer has been read.
    admitted: Admitted,
    /// The wait the budget refused, when that ended the retries.
    refused: Option<Duration>,
    /// Whether a successful answer's body was read whole already.
    read: bool,
}

/// Names in which an answer's throttling headers are recognised
/// (`x-ms-throttle-scope`, `x-rate-limit-remaining`, `ratelimit-reset`).
const THROTTLING_HEADER_MARKS: [&str; 3] = ["throttle", "ratelimit", "rate-limit"];

/// A tracing event with an answer's throttling headers, when it has any:
/// at `info` for 429 and 503, at `debug` otherwise (Graph sends
/// `x-ms-throttle-limit-percentage` on successes past 80% of a limit).
fn trace_throttling(status: StatusCode, headers: &http::HeaderMap) {
    let throttled = matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    );
    // Every answer passes here: nothing is gathered for a level no one reads.
    let wanted = if throttled {
        tracing::enabled!(tracing::Level::INFO)
    } else {
        tracing::enabled!(tracing::Level::DEBUG)
    };
    if !wanted {
        return;
    }
    let found: Vec<String> = headers
        .iter()
        .filter(|(name, _)| {
            THROTTLING_HEADER_MARKS
                .iter()
                .any(|mark| name.as_str().contains(mark))
        })
        .take(8)
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes());
            format!("{name}={}", excerpt(&value, 100))
        })
        .collect();
    if found.is_empty() {
        return;
    }
    let throttling = found.join("; ");
    if throttled {
        tracing::info!(status = status.as_u16(), %throttling, "throttled");
    } else {
        tracing::debug!(status = status.as_u16(), %throttling, "throttling headers");
    }
}

/// Why an attempt got no answer.
enum Failure {
    /// The connection failed.
    Transport(reqwest::Error),
    /// The server sent nothing for the idle timeout.
    Idle,
}

impl Failure {
    fn into_error(self, operation: &'static str, idle: Duration) -> Error {
        match self {
            Failure::Transport(e) => Error::transport(operation, e),
            Failure::Idle => Error::Timeout {
                operation,
                deadline: idle,
            },
        }
    }
}

/// Why a body could not be read.
pub(crate) enum ReadError {
    /// The connection failed.
    Transport(reqwest::Error),
    /// The server sent nothing for the idle timeout.
    Idle,
    /// It passed the size limit.
    TooLarge,
}

impl ReadError {
    /// The error of `operation` this is.
    pub(crate) fn into_error(self, operation: &'static str, runtime: &Runtime) -> Error {
        match self {
            ReadError::Transport(e) => Error::transport(operation, e),
            ReadError::Idle => Error::Timeout {
                operation,
                deadline: runtime.idle(),
            },
            ReadError::TooLarge => Error::TooLarge {
                operation,
                limit: runtime.max_response_size(),
            },
        }
    }
}

/// The next chunk of a body, waiting at most `idle` for the server (the
/// time is the server's silence: the clock runs only while we wait).
async fn next_chunk(
    response: &mut reqwest::Response,
    idle: Duration,
) -> std::result::Result<Option<bytes::Bytes>, ReadError> {
    match tokio::time::timeout(idle, response.chunk()).await {
        Ok(chunk) => chunk.map_err(ReadError::Transport),
        Err(_) => Err(ReadError::Idle),
    }
}

/// A response's status, version and headers, to rebuild it around its body.
pub(crate) struct Head {
    status: StatusCode,
    version: http::Version,
    headers: http::HeaderMap,
}

fn split(response: reqwest::Response) -> (Head, reqwest::Response) {
    let head = Head {
        status: response.status(),
        version: response.version(),
        headers: response.headers().clone(),
    };
    (head, response)
}

fn rebuild(head: Head, body: bytes::Bytes) -> reqwest::Response {
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = head.status;
    *rebuilt.version_mut() = head.version;
    *rebuilt.headers_mut() = head.headers;
    reqwest::Response::from(rebuilt)
}

/// The whole body, or `TooLarge` as soon as it passes `limit`.
pub(crate) async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
    idle: Duration,
) -> std::result::Result<bytes::Bytes, ReadError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(ReadError::TooLarge);
    }
    let mut first: Option<bytes::Bytes> = None;
    let mut out = bytes::BytesMut::new();
    while let Some(chunk) = next_chunk(&mut response, idle).await? {
        let len = first.as_ref().map_or(0, |f| f.len()) + out.len() + chunk.len();
        if len > limit {
            return Err(ReadError::TooLarge);
        }
        // One chunk is passed on without a copy; more are joined.
        match first.take() {
            None if out.is_empty() => first = Some(chunk),
            Some(f) => {
                out.extend_from_slice(&f);
                out.extend_from_slice(&chunk);
            }
            None => out.extend_from_slice(&chunk),
        }
    }
    Ok(first.unwrap_or_else(|| out.freeze()))
}

/// At most `limit` bytes of the body; the rest is not read.
async fn read_prefix(
    mut response: reqwest::Response,
    limit: usize,
    idle: Duration,
) -> std::result::Result<bytes::Bytes, ReadError> {
    let mut out = bytes::BytesMut::new();
    while out.len() < limit {
        let Some(chunk) = next_chunk(&mut response, idle).await? else {
            break;
        };
        let room = limit - out.len();
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    Ok(out.freeze())
}

/// `reqwest::Error`'s text without its URL (which may carry a token).
fn without_url(e: &reqwest::Error) -> String {
    let text = e.to_string();
    match text.find(" for url (") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// The error of a builder that could not build its request (a missing
/// required parameter, a value that does not convert), naming the
/// parameter at fault when progenitor's message names it (for example
/// "conversion to .. for slug failed", "uuid was not initialized"), else
/// the operation.
pub(crate) fn build_error(e: progenitor_client::Error<()>, op: &'static Operation) -> Error {
    match e {
        progenitor_client::Error::InvalidRequest(reason) => {
            let parameter = reason
                .strip_prefix("conversion to `")
                .and_then(|rest| rest.split_once("` for "))
                .and_then(|(_, rest)| rest.split_once(" failed"))
                .map(|(name, _)| name)
                .or_else(|| reason.strip_suffix(" was not initialized"))
                .filter(|name| !name.is_empty() && !name.contains(' '))
                .unwrap_or(op.id)
                .to_string();
            Error::invalid(parameter, reason)
        }
        other => Error::invalid(op.id, format!("the request cannot be built: {other}")),
    }
}

/// Writes `api operation` to the operation log when `SPECBOUND_OPERATION_LOG`
/// names a folder (the test suite uses it to measure which operations its
/// tests send); otherwise does nothing.
fn record_operation(api: &str, operation: &str) {
    use std::io::Write as _;
    use std::sync::{Mutex, OnceLock};
    static LOG: OnceLock<Option<Mutex<std::fs::File>>> = OnceLock::new();
    let log = LOG.get_or_init(|| {
        let dir = std::env::var_os("SPECBOUND_OPERATION_LOG")?;
        let _ = std::fs::create_dir_all(&dir);
        let path =
            std::path::Path::new(&dir).join(format!("operations-{}.log", std::process::id()));
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()
            .map(Mutex::new)
    });
    if let Some(file) = log {
        let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(file, "{api} {operation}");
    }
}

#[cfg(test)]
mod build_error_tests {
    use super::*;

    #[test]
    fn a_builder_error_names_its_parameter() {
        static OP: Operation = Operation {
            method: "DELETE",
            ..Operation::get_for_tests("delete_project", "/projects/{slug}")
        };
        let field = |reason: &str| match build_error(
            progenitor_client::Error::InvalidRequest(reason.to_string()),
            &OP,
        ) {
            Error::Invalid { field, .. } => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field("conversion to `Slug` for slug failed"), "slug");
        assert_eq!(
            field("conversion to `:: uuid :: Uuid` for uuid failed"),
            "uuid"
        );
        assert_eq!(field("uuid was not initialized"), "uuid");
        assert_eq!(
            field("conversion to `TimeCreateRequest` for body failed: no value"),
            "body"
        );
        assert_eq!(field("something else"), "delete_project");
    }
}

/// The moment a call has reached: now, or the moment of its last answer
/// plus the waits since, when that is later (a [`Sleep`](super::Sleep) that
/// records waits instead of sleeping, as tests use, leaves the clock
/// behind), so that a limiter never makes a call wait twice for one reset.
#[derive(Default)]
struct CallClock {
    answered: Option<tokio::time::Instant>,
    slept: Duration,
}

impl CallClock {
    fn answered(&mut self) {
        self.answered = Some(tokio::time::Instant::now());
        self.slept = Duration::ZERO;
    }

    fn slept(&mut self, wait: Duration) {
        self.slept = self.slept.saturating_add(wait);
    }

    fn now(&self) -> tokio::time::Instant {
        let now = tokio::time::Instant::now();
        self.answered
            .and_then(|at| at.checked_add(self.slept))
            .map_or(now, |at| at.max(now))
    }
}
