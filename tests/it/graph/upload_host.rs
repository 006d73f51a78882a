//! The server side of upload sessions for the upload tests: it keeps the
//! bytes each session received (so a test compares them with the source),
//! answers `nextExpectedRanges` from what it has, and ends a drive session
//! with a DriveItem carrying the QuickXorHash of what it received. Faults
//! are injected by chunk number. It answers through wiremock (`Respond`)
//! or through `RawHost`, a TCP server that can cut an answer midway.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use specbound::graph::QuickXorHash;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use wiremock::{Request, Respond, ResponseTemplate};

/// Pseudo-random bytes, the same for the same length.
pub(super) fn data(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 24) as u8
        })
        .collect()
}

/// What the host does to one chunk PUT (counted from 1 over all sessions).
#[derive(Clone, Copy, Debug)]
pub(super) enum Fault {
    /// Answer this status and keep nothing.
    Status(u16),
    /// Keep the bytes, but answer 416 as if they had come before.
    Refuse416,
    /// Drop the session and answer 404.
    Gone,
    /// Keep the bytes, then cut the answer midway (`RawHost` only).
    Cut,
}

/// One upload session at the host.
struct Stored {
    size: u64,
    bytes: Vec<u8>,
    /// Received ranges, half-open, merged and sorted.
    have: Vec<(u64, u64)>,
    deferred: bool,
    attachment: bool,
}

impl Stored {
    fn store(&mut self, start: u64, body: &[u8]) {
        let end = start + body.len() as u64;
        self.bytes[start as usize..end as usize].copy_from_slice(body);
        self.have.push((start, end));
        self.have.sort();
        let mut merged: Vec<(u64, u64)> = Vec::new();
        for (s, e) in self.have.drain(..) {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.have = merged;
    }

    /// The gaps, as Graph writes them (`"a-b"`, and `"a-"` for the last).
    fn missing(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut at = 0;
        for &(s, e) in &self.have {
            if s > at {
                out.push(format!("{at}-{}", s - 1));
            }
            at = e;
        }
        if at < self.size {
            // Outlook writes the start alone.
            out.push(if self.attachment {
                format!("{at}")
            } else {
                format!("{at}-")
            });
        }
        out
    }

    fn complete(&self) -> bool {
        self.have == [(0, self.size)]
    }
}

/// An answer of the host.
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Option<Value>,
    pub(super) cut: bool,
}

impl Reply {
    fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: Some(body),
            cut: false,
        }
    }

    fn error(status: u16, code: &str) -> Self {
        Reply::json(status, json!({"error": {"code": code, "message": code}}))
    }
}

#[derive(Default)]
struct State {
    sessions: HashMap<String, Stored>,
    created: usize,
    puts: usize,
    faults: HashMap<usize, Fault>,
    wrong_hash: bool,
}

/// The host: clone it into responders; the test reads what it kept.
#[derive(Clone, Default)]
pub(super) struct Host(Arc<Mutex<State>>);

impl Host {
    /// Applies `fault` to chunk PUT number `n` (from 1).
    pub(super) fn fault(&self, n: usize, fault: Fault) {
        self.0.lock().unwrap().faults.insert(n, fault);
    }

    /// Reports a wrong QuickXorHash for finished files.
    pub(super) fn wrong_hash(&self) {
        self.0.lock().unwrap().wrong_hash = true;
    }

    /// A new session of `size` bytes at `{base}/up/s{n}` (`/att/a{n}` for
    /// an attachment, with an `authtoken` query as Outlook's have).
    pub(super) fn create(&self, base: &str, size: u64, deferred: bool, attachment: bool) -> String {
        let mut state = self.0.lock().unwrap();
        state.created += 1;
        let path = if attachment {
            format!("/att/a{}", state.created)
        } else {
            format!("/up/s{}", state.created)
        };
        state.sessions.insert(
            path.clone(),
            Stored {
                size,
                bytes: vec![0; size as usize],
                have: Vec::new(),
                deferred,
                attachment,
            },
        );
        if attachment {
            format!("{base}{path}?authtoken=secret-token")
        } else {
            format!("{base}{path}")
        }
    }

    /// The bytes session `path` holds, if it still exists.
    pub(super) fn bytes(&self, path: &str) -> Option<Vec<u8>> {
        let state = self.0.lock().unwrap();
        state.sessions.get(path).map(|s| s.bytes.clone())
    }

    /// Whether session `path` has every byte.
    pub(super) fn complete(&self, path: &str) -> bool {
        let state = self.0.lock().unwrap();
        state.sessions.get(path).is_some_and(Stored::complete)
    }

    /// Answers one request to an upload URL.
    pub(super) fn handle(
        &self,
        method: &str,
        path: &str,
        range: Option<&str>,
        body: &[u8],
    ) -> Reply {
        let mut state = self.0.lock().unwrap();
        let wrong_hash = state.wrong_hash;
        let fault = if method == "PUT" {
            state.puts += 1;
            let n = state.puts;
            state.faults.remove(&n)
        } else {
            None
        };
        if let Some(Fault::Gone) = fault {
            state.sessions.remove(path);
        }
        if method == "DELETE" {
            return match state.sessions.remove(path) {
                Some(_) => Reply {
                    status: 204,
                    headers: Vec::new(),
                    body: None,
                    cut: false,
                },
                None => Reply::error(404, "itemNotFound"),
            };
        }
        let Some(session) = state.sessions.get_mut(path) else {
            return Reply::error(404, "itemNotFound");
        };
        match method {
            "GET" => Reply::json(
                200,
                json!({"expirationDateTime": "2030-01-29T09:21:55.523Z",
                       "nextExpectedRanges": session.missing()}),
            ),
            "POST" if session.deferred && session.complete() => {
                Reply::json(201, drive_item(session, wrong_hash))
            }
            "PUT" => {
                let (start, end, total) = parse_range(range.expect("Content-Range on a chunk"));
                assert_eq!(total, session.size, "Content-Range total");
                assert_eq!(end - start + 1, body.len() as u64, "Content-Range length");
                if let Some(Fault::Status(code)) = fault {
                    return Reply::error(code, "serviceNotAvailable");
                }
                session.store(start, body);
                if let Some(Fault::Refuse416) = fault {
                    return Reply::error(416, "invalidRange");
                }
                let mut reply = match (session.complete(), session.attachment, session.deferred) {
                    (true, true, _) => Reply {
                        status: 201,
                        headers: vec![(
                            "Location".into(),
                            "https://outlook.office.com/api/v2.0/Users('u')/Messages('M1')/Attachments('ATT-1')"
                                .into(),
                        )],
                        body: None,
                        cut: false,
                    },
                    (true, false, false) => Reply::json(201, drive_item(session, wrong_hash)),
                    (_, attachment, _) => Reply::json(
                        if attachment { 200 } else { 202 },
                        json!({"expirationDateTime": "2030-01-29T09:21:55.523Z",
                               "nextExpectedRanges": session.missing()}),
                    ),
                };
                reply.cut = matches!(fault, Some(Fault::Cut));
                reply
            }
            other => panic!("unexpected {other} on an upload URL"),
        }
    }
}

fn drive_item(session: &Stored, wrong_hash: bool) -> Value {
    let hash = if wrong_hash {
        QuickXorHash::of(b"something else")
    } else {
        QuickXorHash::of(&session.bytes)
    };
    json!({"id": "912310013A123", "name": "big.bin", "size": session.size,
           "file": {"hashes": {"quickXorHash": hash}}})
}

/// `bytes a-b/t`.
fn parse_range(raw: &str) -> (u64, u64, u64) {
    let rest = raw.strip_prefix("bytes ").expect("bytes unit");
    let (range, total) = rest.split_once('/').unwrap();
    let (a, b) = range.split_once('-').unwrap();
    (
        a.parse().unwrap(),
        b.parse().unwrap(),
        total.parse().unwrap(),
    )
}

impl Respond for Host {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let range = request
            .headers
            .get("content-range")
            .and_then(|v| v.to_str().ok());
        let reply = self.handle(
            request.method.as_str(),
            request.url.path(),
            range,
            &request.body,
        );
        let mut template = ResponseTemplate::new(reply.status);
        for (k, v) in reply.headers {
            template = template.insert_header(k.as_str(), v.as_str());
        }
        match reply.body {
            Some(body) => template.set_body_json(body),
            None => template,
        }
    }
}

/// The answer to `createUploadSession`: a new session of the host at
/// `base` (the wiremock server, or a `RawHost`), sized by the request.
pub(super) struct CreateSession {
    pub(super) host: Host,
    pub(super) base: String,
}

impl Respond for CreateSession {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = request.body_json().unwrap();
        let (size, deferred, attachment) = match body.get("AttachmentItem") {
            Some(item) => (item["size"].as_u64().unwrap(), false, true),
            None => (
                body["item"]["fileSize"].as_u64().unwrap(),
                body["deferCommit"] == json!(true),
                false,
            ),
        };
        let url = self.host.create(&self.base, size, deferred, attachment);
        let mut answer =
            json!({"uploadUrl": url, "expirationDateTime": "2030-01-29T09:21:55.523Z"});
        if attachment {
            answer["nextExpectedRanges"] = json!(["0-"]);
        }
        ResponseTemplate::new(if attachment { 201 } else { 200 }).set_body_json(answer)
    }
}

/// One request as the raw host saw it.
#[derive(Clone, Debug)]
pub(super) struct Seen {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) headers: HashMap<String, String>,
}

/// A TCP server on 127.0.0.1 that answers with a handler, one request per
/// connection (`connection: close`), and can cut an answer: the head
/// announces the whole body, half of it is sent, and the socket closes.
pub(super) struct RawHost {
    pub(super) uri: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// What a `RawHost` handler gets: method, path, headers, body.
pub(super) type Handler = Arc<dyn Fn(&Seen, &[u8]) -> RawReply + Send + Sync>;

/// A raw answer: status, headers, body bytes, and whether to cut it.
pub(super) struct RawReply {
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
    pub(super) cut: bool,
}

impl From<Reply> for RawReply {
    fn from(r: Reply) -> Self {
        let mut headers = r.headers;
        if r.body.is_some() {
            headers.push(("content-type".into(), "application/json".into()));
        }
        RawReply {
            status: r.status,
            headers,
            body: r
                .body
                .map(|b| serde_json::to_vec(&b).unwrap())
                .unwrap_or_default(),
            cut: r.cut,
        }
    }
}

impl RawHost {
    pub(super) async fn start(handler: Handler) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let Some((request, body)) = read_request(&mut socket).await else {
                    continue;
                };
                record.lock().unwrap().push(request.clone());
                let reply = handler(&request, &body);
                let mut head = format!("HTTP/1.1 {} X\r\nconnection: close\r\n", reply.status);
                for (k, v) in &reply.headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str(&format!("content-length: {}\r\n\r\n", reply.body.len()));
                let keep = if reply.cut {
                    reply.body.len() * 2 / 5
                } else {
                    reply.body.len()
                };
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&reply.body[..keep]).await;
                let _ = socket.shutdown().await;
            }
        });
        RawHost { uri, seen }
    }

    /// The requests received, in order.
    pub(super) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Reads a request head and its `content-length` body.
async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<(Seen, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = data[head_end..].to_vec();
    while body.len() < length {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => body.extend_from_slice(&buf[..n]),
        }
    }
    Some((
        Seen {
            method,
            path,
            headers,
        },
        body,
    ))
}

/// A handler that serves the host's upload sessions.
pub(super) fn upload_handler(host: Host) -> Handler {
    Arc::new(move |seen: &Seen, body: &[u8]| {
        let path = seen.path.split('?').next().unwrap_or_default();
        let range = seen.headers.get("content-range").map(String::as_str);
        host.handle(&seen.method, path, range, body).into()
    })
}
