//! Serving an [`Api`] over HTTP/1.1 with hyper, faults applied around it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::future::Either;
use http::StatusCode;
use http_body_util::BodyExt as _;
use tokio::sync::watch;

use super::{Api, Fault, Faults, Query, Request, Response, dispatch, route};
use crate::{Error, Result};

/// A running sandbox server; it stops when dropped.
pub struct Server {
    addr: SocketAddr,
    faults: Arc<Faults>,
    served: Arc<Mutex<Vec<&'static str>>>,
    shutdown: watch::Sender<bool>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Serves `api` on a free port of 127.0.0.1 on the current tokio runtime.
    pub(crate) async fn start(api: Arc<dyn Api>) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| Error::Config(format!("sandbox cannot listen on 127.0.0.1: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::Config(format!("sandbox has no local address: {e}")))?;
        let (shutdown, mut stop) = watch::channel(false);
        let faults = Arc::new(Faults::default());
        let served = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            api,
            faults: faults.clone(),
            served: served.clone(),
        };
        tokio::spawn(async move {
            loop {
                let mut stop_connection = stop.clone();
                let accept = std::pin::pin!(listener.accept());
                let stopped = std::pin::pin!(stop.changed());
                let stream = match futures::future::select(accept, stopped).await {
                    Either::Left((Ok((stream, _)), _)) => stream,
                    Either::Left((Err(e), _)) => {
                        tracing::warn!(error = %e, "sandbox accept failed");
                        continue;
                    }
                    Either::Right(_) => return,
                };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |r| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(shared.answer(r).await) }
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                    // Serve until the connection ends or the server stops.
                    let _ =
                        futures::future::select(conn, std::pin::pin!(stop_connection.changed()))
                            .await;
                });
            }
        });
        Ok(Server {
            addr,
            faults,
            served,
            shutdown,
        })
    }

    /// `http://127.0.0.1:<port>`, with no path.
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The faults to inject into the next requests.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The faults, shared with an API that applies them itself to the
    /// requests a request carries (the items of a batch).
    pub(crate) fn shared_faults(&self) -> Arc<Faults> {
        self.faults.clone()
    }

    /// The operations answered so far, in order (requests that matched no
    /// operation are not listed).
    pub fn operations_served(&self) -> Vec<&'static str> {
        self.served
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

#[derive(Clone)]
struct Shared {
    api: Arc<dyn Api>,
    faults: Arc<Faults>,
    served: Arc<Mutex<Vec<&'static str>>>,
}

impl Shared {
    async fn answer(&self, request: http::Request<hyper::body::Incoming>) -> http::Response<Body> {
        let (parts, body) = request.into_parts();
        let body = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => Bytes::new(),
        };
        let request = Request {
            method: parts.method,
            path: parts.uri.path().to_string(),
            query: Query::parse(parts.uri.query().unwrap_or_default()),
            headers: parts.headers,
            body,
        };
        let route = route(self.api.as_ref(), &request).map(|(op, _)| op.id);
        let mut cut = None;
        match self.faults.take(route) {
            Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
            Some(Fault::Status(code)) => {
                let status =
                    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return respond(self.api.fault_answer(status, None), None);
            }
            Some(Fault::RateLimited { retry_after }) => {
                let r = self
                    .api
                    .fault_answer(StatusCode::TOO_MANY_REQUESTS, Some(retry_after));
                return respond(r, None);
            }
            Some(Fault::CutBody { keep }) => cut = Some(keep),
            None => {}
        }
        let api = self.api.clone();
        let (op, answer) =
            match tokio::task::spawn_blocking(move || dispatch(api.as_ref(), request)).await {
                Ok(done) => done,
                Err(_) => (
                    None,
                    Response::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "text/plain",
                        "sandbox handler panicked",
                    ),
                ),
            };
        if let Some(op) = op {
            self.served
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(op);
        }
        respond(answer, cut)
    }
}

fn respond(answer: Response, cut: Option<usize>) -> http::Response<Body> {
    let full_len = answer.body.len();
    let body = match cut {
        Some(keep) => Body::Cut(Some(answer.body.slice(..keep.min(full_len)))),
        None => Body::Full(Some(answer.body)),
    };
    let mut response = http::Response::new(body);
    *response.status_mut() = answer.status;
    *response.headers_mut() = answer.headers;
    if cut.is_some() {
        // Announce the whole length, then stop short, as a reset connection leaves it.
        response.headers_mut().insert(
            http::header::CONTENT_LENGTH,
            http::HeaderValue::from(full_len),
        );
    }
    response
}

/// A whole body, or one cut off after its first bytes.
pub(crate) enum Body {
    Full(Option<Bytes>),
    Cut(Option<Bytes>),
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
        match self.get_mut() {
            Body::Full(data) => Poll::Ready(data.take().map(|d| Ok(hyper::body::Frame::data(d)))),
            Body::Cut(data) => Poll::Ready(Some(match data.take() {
                Some(d) => Ok(hyper::body::Frame::data(d)),
                None => Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "injected cut",
                )),
            })),
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            Body::Full(Some(d)) => hyper::body::SizeHint::with_exact(d.len() as u64),
            _ => hyper::body::SizeHint::default(),
        }
    }
}
