//! Requests that no generated operation builds: a next link, a delta link,
//! an upload chunk, a monitor URL, a batch. They take the same path as
//! generated ones (credentials, rate limits, retries, tracing, typed
//! errors), and credentials go only to the hosts the client trusts: a URL
//! a server handed out that points elsewhere never receives them.

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Runtime;
use super::send::{Call, Mode};
use super::spec::Operation;
use crate::{Error, Result};

/// The runtime of a generated client, and raw requests through it. In
/// scope with each API's `prelude`.
pub trait RawRequests {
    /// The client's runtime.
    fn runtime(&self) -> &Runtime;

    /// A request to `url`: absolute, or a path below the base URL.
    ///
    /// ```no_run
    /// # // Generic, so that the example builds with any API's feature alone.
    /// # async fn run(cronofy: impl specbound::runtime::RawRequests) -> specbound::Result<()> {
    /// // `cronofy`: a `specbound::cronofy::Client`, with `specbound::cronofy::prelude::*` in scope.
    /// let answer = cronofy
    ///     .raw_request(http::Method::GET, "/v1/account")
    ///     .operation("get_account")
    ///     .send()
    ///     .await?;
    /// let account: serde_json::Value = answer.json()?;
    /// # let _ = account;
    /// # Ok(()) }
    /// ```
    fn raw_request(&self, method: http::Method, url: &str) -> RawRequest {
        self.runtime().request(method, url)
    }
}

impl<C: progenitor_client::ClientInfo<Runtime>> RawRequests for C {
    fn runtime(&self) -> &Runtime {
        self.inner()
    }
}

/// A request built by hand, sent through the runtime's one path.
#[derive(Debug)]
pub struct RawRequest {
    runtime: Runtime,
    request: Result<reqwest::Request>,
    operation: Option<&'static Operation>,
    idempotent: Option<bool>,
    credentials: bool,
}

impl Runtime {
    /// A request to `url`: absolute, or a path below the base URL.
    pub fn request(&self, method: http::Method, url: &str) -> RawRequest {
        let target = if url.starts_with("http://") || url.starts_with("https://") {
            url::Url::parse(url)
        } else {
            url::Url::parse(&format!("{}{url}", self.base_url()))
        };
        let request = target
            .map_err(|e| Error::invalid("url", format!("`{url}` is not a URL: {e}")))
            .map(|u| reqwest::Request::new(method, u));
        RawRequest {
            runtime: self.clone(),
            request,
            operation: None,
            idempotent: None,
            credentials: true,
        }
    }
}

impl RawRequest {
    /// Counts the request as one of operation `id` of the spec (for its
    /// idempotency, rate limits and tracing), without checking it against
    /// the operation's parameters. An id the spec lacks fails `send`.
    pub fn operation(mut self, id: &str) -> Self {
        match self.runtime.spec().operation(id) {
            Some(op) => self.operation = Some(op),
            None => {
                self.request = Err(Error::invalid(
                    "operation",
                    format!(
                        "`{id}` is not an operation of the {} spec",
                        self.runtime.api()
                    ),
                ))
            }
        }
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: http::HeaderName, value: http::HeaderValue) -> Self {
        if let Ok(r) = &mut self.request {
            r.headers_mut().append(name, value);
        }
        self
    }

    /// Adds query pairs.
    pub fn query(mut self, pairs: &[(&str, &str)]) -> Self {
        if let Ok(r) = &mut self.request {
            r.url_mut().query_pairs_mut().extend_pairs(pairs);
        }
        self
    }

    /// Sends `body` as JSON.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        let bytes = serde_json::to_vec(body).map_err(|e| Error::invalid("body", e.to_string()));
        self.request = self.request.and_then(|mut r| {
            *r.body_mut() = Some(bytes?.into());
            r.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            Ok(r)
        });
        self
    }

    /// Sends these bytes (or a stream: then the request is sent once, never
    /// retried, since it cannot be replayed).
    pub fn body(mut self, body: impl Into<reqwest::Body>) -> Self {
        if let Ok(r) = &mut self.request {
            *r.body_mut() = Some(body.into());
        }
        self
    }

    /// Sends it without credentials even to a trusted host (an upload URL
    /// that carries its own authorization).
    pub fn without_credentials(mut self) -> Self {
        self.credentials = false;
        self
    }

    /// Whether it may be sent twice (default: the operation's, else the
    /// method's rule: GET, HEAD, PUT, DELETE, OPTIONS and TRACE may).
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = Some(idempotent);
        self
    }

    /// How the runtime sends `request` for this raw request.
    fn plan(&self, request: &reqwest::Request, mode: Mode) -> Call {
        let idempotent = self.idempotent.unwrap_or_else(|| match self.operation {
            Some(op) => op.idempotent,
            None => super::retry::is_idempotent(request.method()),
        });
        Call {
            operation: self.operation.map_or("raw", |op| op.id),
            spec: self.operation,
            idempotent,
            credentials: self.credentials,
            check: false,
            prepare: false,
            mode,
        }
    }

    /// Sends it; the body of a success is read whole (within the size
    /// limit), an error status is a typed error.
    pub async fn send(mut self) -> Result<RawResponse> {
        let request = std::mem::replace(&mut self.request, Err(Error::Config(String::new())))?;
        let call = self.plan(&request, Mode::Whole);
        let response = self.runtime.call(request, call).await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = self.runtime.read_answer(response, call.operation).await?;
        Ok(RawResponse {
            operation: call.operation,
            status,
            headers,
            body,
        })
    }

    /// Sends it and hands the successful answer over unread, for a caller
    /// that reads the body as it arrives (a download).
    pub async fn send_streaming(mut self) -> Result<reqwest::Response> {
        let request = std::mem::replace(&mut self.request, Err(Error::Config(String::new())))?;
        let call = self.plan(&request, Mode::Stream);
        self.runtime.call(request, call).await
    }
}

/// A successful answer to a [`RawRequest`], read whole.
#[derive(Debug, Clone)]
pub struct RawResponse {
    operation: &'static str,
    /// The status (2xx or 3xx: error statuses are errors).
    pub status: http::StatusCode,
    /// The headers.
    pub headers: http::HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl RawResponse {
    /// The body decoded as JSON, naming the path that failed.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        Error::decode_json(self.operation, &self.body)
    }
}
