//! Helpers of the Graph sandbox tests: the sandbox with two users, clients
//! signed in as one of them, raw HTTP for what no client does, and a local
//! receiver of change notifications.

pub(super) use std::num::NonZeroU32;
pub(super) use std::time::Duration;

pub(super) use futures::TryStreamExt;
pub(super) use serde_json::{Value, json};
pub(super) use specbound::graph::{Client, Item, Mailbox, Scopes, prelude::*, types};
pub(super) use specbound::runtime::MemoryTokenStore;
pub(super) use specbound::sandbox::Fault;
pub(super) use specbound::sandbox::graph::{Graph, GraphBuilder};

pub(super) use crate::support::Waits;

pub(super) const ADELE: &str = "adele@contoso.com";
pub(super) const MEGAN: &str = "megan@contoso.com";
pub(super) const CLIENT_ID: &str = "app-1";
pub(super) const CLIENT_SECRET: &str = "app-1-secret";
pub(super) const REDIRECT: &str = "http://127.0.0.1/callback";

/// The sandbox with Adele and Megan and the registered application.
pub(super) fn sandbox() -> GraphBuilder {
    Graph::builder()
        .user(ADELE, "Adele Vance")
        .user(MEGAN, "Megan Bowen")
        .client(CLIENT_ID, CLIENT_SECRET)
        .redirect_uri(REDIRECT)
}

/// A client builder of the application on `server`.
pub(super) fn builder(server: &Graph, waits: &Waits) -> specbound::graph::ClientBuilder {
    Client::builder()
        .cloud(server.cloud())
        .tenant("contoso")
        .client_id(CLIENT_ID)
        .scopes(Scopes::helper([
            "basic",
            "message_all",
            "calendar_all",
            "onedrive_all",
        ]))
        .token_store(MemoryTokenStore::new())
        .sleep(waits.sleep())
}

/// A client holding `user`'s tokens, and its recorded waits.
pub(super) fn signed_in_with_waits(server: &Graph, user: &str) -> (Client, Waits) {
    let waits = Waits::default();
    let token = server.issue_token(user).unwrap();
    (builder(server, &waits).token(token).build().unwrap(), waits)
}

/// A client holding `user`'s tokens.
pub(super) fn signed_in(server: &Graph, user: &str) -> Client {
    signed_in_with_waits(server, user).0
}

/// `n` as a page size.
pub(super) fn top(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

/// The status and code of a refused call.
#[track_caller]
pub(super) fn refusal<T: std::fmt::Debug>(result: specbound::Result<T>) -> (u16, String) {
    let err = result.expect_err("the sandbox should refuse this call");
    let api = err
        .api()
        .unwrap_or_else(|| panic!("not an API error: {err:?}"));
    (api.status.as_u16(), api.code.clone().unwrap_or_default())
}

/// The status, headers and JSON body (`null` when empty) of an answer.
pub(super) async fn parts(answer: reqwest::Response) -> (u16, reqwest::header::HeaderMap, Value) {
    let status = answer.status().as_u16();
    let headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    (status, headers, body)
}

/// What a notification receiver got: each request's query and body.
#[derive(Debug, Clone)]
pub(super) struct Received {
    pub(super) query: Vec<(String, String)>,
    pub(super) content_type: String,
    pub(super) body: Value,
}

/// A subscriber on 127.0.0.1: it echoes validation tokens (or answers
/// `echo_with` instead, when given) and takes notifications with 202; each
/// request arrives on the channel.
pub(super) struct Receiver {
    tx: tokio::sync::mpsc::UnboundedSender<Received>,
    echo_with: Option<String>,
}

impl wiremock::Respond for Receiver {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let query: Vec<(String, String)> = request
            .url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let content_type = request
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let token = query
            .iter()
            .find(|(k, _)| k == "validationToken")
            .map(|(_, v)| v.clone());
        let _ = self.tx.send(Received {
            query,
            content_type,
            body,
        });
        match token {
            Some(t) => wiremock::ResponseTemplate::new(200)
                .set_body_raw(self.echo_with.clone().unwrap_or(t), "text/plain"),
            None => wiremock::ResponseTemplate::new(202),
        }
    }
}

/// A receiver at `{uri}/notify` and the channel of what it receives.
pub(super) async fn receiver(
    echo_with: Option<&str>,
) -> (
    wiremock::MockServer,
    tokio::sync::mpsc::UnboundedReceiver<Received>,
) {
    let server = wiremock::MockServer::start().await;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path("/notify"))
        .respond_with(Receiver {
            tx,
            echo_with: echo_with.map(str::to_string),
        })
        .mount(&server)
        .await;
    (server, rx)
}

/// The next request the receiver got (at most ten seconds away).
pub(super) async fn next(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the sandbox sent nothing within 10 s")
        .expect("the receiver stopped")
}
