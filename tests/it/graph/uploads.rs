//! Uploads, downloads and copies (`GraphFiles`) on the wire: what each
//! request carries, what the server ends up holding, and how failures are
//! recovered from.

use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt as _;
use serde_json::{Value, json};
use specbound::graph::types::ConflictBehavior;
use specbound::graph::{
    CHUNK_UNIT, CopyEvent, Drive, GraphFiles, Item, JobStatus, MIB, Mailbox, Progress,
    QuickXorHash, UploadError, UploadSessionState, types,
};
use tokio::sync::mpsc;
use wiremock::matchers::{header, method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::upload_host::{
    CreateSession, Fault, Handler, Host, RawHost, RawReply, data, upload_handler,
};
use crate::support::{Fixture, received};

const U: u64 = CHUNK_UNIT;

/// A Graph server whose `createUploadSession` (by the signed-in user)
/// opens sessions of `host` at `sessions` (the server itself by default),
/// and whose `/up/` and `/att/` paths are `host`'s upload URLs.
async fn graph_server(host: &Host, sessions: Option<String>) -> MockServer {
    let server = MockServer::start().await;
    let base = sessions.unwrap_or_else(|| server.uri());
    Mock::given(method("POST"))
        .and(path_regex(r"/createUploadSession$"))
        .and(header("authorization", "Bearer at-1"))
        .respond_with(CreateSession {
            host: host.clone(),
            base,
        })
        .mount(&server)
        .await;
    Mock::given(path_regex("^/(up|att)/"))
        .respond_with(host.clone())
        .mount(&server)
        .await;
    server
}

/// `METHOD Content-Range` of each request after the first (the create).
fn chunk_lines(requests: &[wiremock::Request]) -> Vec<String> {
    requests
        .iter()
        .map(|r| {
            let range = r
                .headers
                .get("content-range")
                .map_or("-", |v| v.to_str().unwrap());
            format!("{} {} {range}", r.method, r.url.path())
        })
        .collect()
}

/// The Content-Range of bytes `start..end` of a `total`-byte file.
fn put(session: &str, start: u64, end: u64, total: u64) -> String {
    format!("PUT {session} bytes {start}-{}/{total}", end - 1)
}

fn reported_hash(item: &types::DriveItem) -> Option<&str> {
    item.file
        .as_ref()?
        .hashes
        .as_ref()?
        .quick_xor_hash
        .as_deref()
}

fn drain(rx: &mut mpsc::Receiver<Progress>) -> Vec<u64> {
    let mut seen = Vec::new();
    while let Ok(p) = rx.try_recv() {
        seen.push(p.bytes);
    }
    seen
}

#[tokio::test]
async fn a_10_mib_upload_with_a_failed_chunk_reaches_the_server_whole_and_unauthorized() {
    let host = Host::default();
    host.fault(2, Fault::Status(500));
    let server = graph_server(&host, None).await;
    let (graph, waits) = super::client_with(&server, Some(super::token("at-1", None, 3600)));
    let total = 10 * MIB + 4321;
    let source = data(total as usize);
    let (tx, mut rx) = mpsc::channel(64);

    let item = graph
        .upload(
            &Drive::me(),
            &Item::root(),
            "big.bin",
            Cursor::new(source.clone()),
        )
        .chunk_size(8 * U)
        .progress(tx)
        .start()
        .await
        .unwrap();

    assert!(host.complete("/up/s1"));
    assert!(
        host.bytes("/up/s1").unwrap() == source,
        "the server holds other bytes"
    );
    assert_eq!(
        reported_hash(&item),
        Some(QuickXorHash::of(&source).as_str())
    );
    let sent = received(&server).await;
    assert_eq!(
        sent[0].url.path(),
        "/v1.0/me/drive/root:/big.bin:/createUploadSession"
    );
    assert_eq!(
        sent[0].body_json::<Value>().unwrap(),
        json!({"item": {"@microsoft.graph.conflictBehavior": "fail", "name": "big.bin", "fileSize": total}})
    );
    let c = 8 * U;
    assert_eq!(
        chunk_lines(&sent[1..]),
        [
            put("/up/s1", 0, c, total),
            put("/up/s1", c, 2 * c, total), // 500
            "GET /up/s1 -".to_string(),     // the status says: from c on
            put("/up/s1", c, 2 * c, total),
            put("/up/s1", 2 * c, 3 * c, total),
            put("/up/s1", 3 * c, 4 * c, total),
            put("/up/s1", 4 * c, total, total),
        ]
    );
    assert!(
        sent[1..]
            .iter()
            .all(|r| !r.headers.contains_key("authorization"))
    );
    let recorded = waits.recorded();
    assert_eq!(recorded.len(), 1, "one backoff: {recorded:?}");
    assert!(recorded[0] >= Duration::from_millis(125) && recorded[0] <= Duration::from_millis(250));
    assert_eq!(drain(&mut rx), [c, 2 * c, 3 * c, 4 * c, total]);
}

#[tokio::test]
async fn a_416_on_a_chunk_asks_the_status_and_goes_on() {
    let host = Host::default();
    host.fault(2, Fault::Refuse416);
    let server = graph_server(&host, None).await;
    let (graph, waits) = super::client_with(&server, Some(super::token("at-1", None, 3600)));
    let total = 3 * U + 17;
    let source = data(total as usize);

    let item = graph
        .upload(
            &Drive::me(),
            &Item::root(),
            "big.bin",
            Cursor::new(source.clone()),
        )
        .chunk_size(U)
        .small_upload_limit(0)
        .start()
        .await
        .unwrap();

    assert!(host.bytes("/up/s1").unwrap() == source);
    assert_eq!(
        reported_hash(&item),
        Some(QuickXorHash::of(&source).as_str())
    );
    assert_eq!(
        chunk_lines(&received(&server).await[1..]),
        [
            put("/up/s1", 0, U, total),
            put("/up/s1", U, 2 * U, total), // 416: it had them
            "GET /up/s1 -".to_string(),
            put("/up/s1", 2 * U, 3 * U, total),
            put("/up/s1", 3 * U, total, total),
        ]
    );
    assert!(
        waits.recorded().is_empty(),
        "416 is no failure to back off from"
    );
}

#[tokio::test]
async fn a_chunk_whose_answer_is_cut_off_is_resumed_from_the_status() {
    let host = Host::default();
    host.fault(2, Fault::Cut);
    let raw = RawHost::start(upload_handler(host.clone())).await;
    let server = graph_server(&host, Some(raw.uri.clone())).await;
    let (graph, waits) = super::client_with(&server, Some(super::token("at-1", None, 3600)));
    let total = 4 * U + 99;
    let source = data(total as usize);

    let item = graph
        .upload(
            &Drive::me(),
            &Item::root(),
            "big.bin",
            Cursor::new(source.clone()),
        )
        .chunk_size(U)
        .small_upload_limit(0)
        .start()
        .await
        .unwrap();

    assert!(host.bytes("/up/s1").unwrap() == source);
    assert_eq!(
        reported_hash(&item),
        Some(QuickXorHash::of(&source).as_str())
    );
    let seen = raw.seen();
    let lines: Vec<String> = seen
        .iter()
        .map(|s| {
            let range = s.headers.get("content-range").map_or("-", String::as_str);
            format!("{} {} {range}", s.method, s.path)
        })
        .collect();
    assert_eq!(
        lines,
        [
            put("/up/s1", 0, U, total),
            put("/up/s1", U, 2 * U, total), // kept, answer cut midway
            "GET /up/s1 -".to_string(),
            put("/up/s1", 2 * U, 3 * U, total),
            put("/up/s1", 3 * U, 4 * U, total),
            put("/up/s1", 4 * U, total, total),
        ]
    );
    assert!(
        seen.iter()
            .all(|s| !s.headers.contains_key("authorization"))
    );
    assert_eq!(waits.recorded().len(), 1);
}

#[tokio::test]
async fn a_hash_that_does_not_match_the_source_is_a_hash_mismatch() {
    let host = Host::default();
    host.wrong_hash();
    let server = graph_server(&host, None).await;
    let graph = super::client(&server);
    let source = data((2 * U + 1) as usize);

    let err = graph
        .upload(
            &Drive::me(),
            &Item::root(),
            "big.bin",
            Cursor::new(source.clone()),
        )
        .chunk_size(U)
        .small_upload_limit(0)
        .start()
        .await
        .unwrap_err();

    match &err {
        UploadError::HashMismatch {
            reported,
            computed,
            item,
        } => {
            assert_eq!(*reported, QuickXorHash::of(b"something else"));
            assert_eq!(*computed, QuickXorHash::of(&source));
            assert_eq!(item.id.as_deref(), Some("912310013A123"));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.is_hash_mismatch());
    assert!(matches!(
        specbound::Error::from(err),
        specbound::Error::Protocol(_)
    ));
}

#[tokio::test]
async fn a_404_on_a_chunk_starts_a_new_session_and_sends_every_byte_to_it() {
    let host = Host::default();
    host.fault(2, Fault::Gone);
    let server = graph_server(&host, None).await;
    let graph = super::client(&server);
    let total = 2 * U + 3;
    let source = data(total as usize);

    let item = graph
        .upload(
            &Drive::me(),
            &Item::root(),
            "big.bin",
            Cursor::new(source.clone()),
        )
        .chunk_size(U)
        .small_upload_limit(0)
        .start()
        .await
        .unwrap();

    assert!(host.bytes("/up/s1").is_none(), "the first session is gone");
    assert!(host.bytes("/up/s2").unwrap() == source);
    assert_eq!(
        reported_hash(&item),
        Some(QuickXorHash::of(&source).as_str())
    );
    let sent = received(&server).await;
    let creates = sent
        .iter()
        .filter(|r| r.url.path().ends_with("/createUploadSession"))
        .count();
    assert_eq!(creates, 2);
    let lines = chunk_lines(&sent);
    assert_eq!(
        lines[1..]
            .iter()
            .filter(|l| l.starts_with("PUT"))
            .collect::<Vec<_>>(),
        [
            &put("/up/s1", 0, U, total),
            &put("/up/s1", U, 2 * U, total), // 404
            &put("/up/s2", 0, U, total),
            &put("/up/s2", U, 2 * U, total),
            &put("/up/s2", 2 * U, total, total),
        ]
    );
}

#[tokio::test]
async fn a_saved_session_resumed_by_a_new_client_goes_on_from_next_expected_ranges() {
    let host = Host::default();
    host.fault(3, Fault::Status(400)); // the first process stops there
    let server = graph_server(&host, None).await;
    let first = super::client(&server);
    let total = 5 * U - 100;
    let source = data(total as usize);

    let upload = first
        .upload(
            &Drive::me(),
            &Item::root(),
            "big.bin",
            Cursor::new(source.clone()),
        )
        .chunk_size(U)
        .open()
        .await
        .unwrap();
    let saved = serde_json::to_string(&upload.state()).unwrap();
    let err = upload.finish().await.unwrap_err();
    assert_eq!(err.status(), Some(http::StatusCode::BAD_REQUEST));
    let before = received(&server).await.len();

    let (second, _) = super::client_with(&server, Some(super::token("at-2", None, 3600)));
    let state: UploadSessionState = serde_json::from_str(&saved).unwrap();
    let done = second
        .resume(state, Cursor::new(source.clone()))
        .await
        .unwrap()
        .finish()
        .await
        .unwrap();

    let item = done.into_file().unwrap();
    assert_eq!(
        reported_hash(&item),
        Some(QuickXorHash::of(&source).as_str())
    );
    assert!(host.bytes("/up/s1").unwrap() == source);
    let sent = received(&server).await;
    assert_eq!(
        chunk_lines(&sent[before..]),
        [
            "GET /up/s1 -".to_string(), // nextExpectedRanges: 2U-
            put("/up/s1", 2 * U, 3 * U, total),
            put("/up/s1", 3 * U, 4 * U, total),
            put("/up/s1", 4 * U, total, total),
        ]
    );
    assert!(
        sent[before..]
            .iter()
            .all(|r| !r.headers.contains_key("authorization"))
    );
}

#[tokio::test]
async fn progress_events_count_up_to_the_size() {
    let host = Host::default();
    let server = graph_server(&host, None).await;
    let graph = super::client(&server);
    let total = 3 * U + 1;
    let (tx, mut rx) = mpsc::channel(16);

    graph
        .upload(
            &Drive::me(),
            &Item::root(),
            "big.bin",
            Cursor::new(data(total as usize)),
        )
        .chunk_size(U)
        .small_upload_limit(0)
        .progress(tx)
        .start()
        .await
        .unwrap();

    let mut events = Vec::new();
    while let Ok(p) = rx.try_recv() {
        events.push(p);
    }
    assert_eq!(
        events.iter().map(|p| p.bytes).collect::<Vec<_>>(),
        [U, 2 * U, 3 * U, total]
    );
    assert!(events.iter().all(|p| p.total == Some(total)));
}

#[tokio::test]
async fn a_small_file_goes_in_one_put_with_its_conflict_behaviour() {
    let server = MockServer::start().await;
    let source = b"The contents of the file goes here.".to_vec();
    let answer = json!({"id": "0123456789abc", "name": "FileB.txt", "size": 35,
                        "file": {"hashes": {"quickXorHash": QuickXorHash::of(&source)}}});
    Mock::given(method("PUT"))
        .and(path("/v1.0/me/drive/root:/FolderA/FileB.txt:/content"))
        .and(header("authorization", "Bearer at-1"))
        .and(header("content-type", "application/octet-stream"))
        .respond_with(ResponseTemplate::new(201).set_body_json(answer))
        .expect(1)
        .mount(&server)
        .await;
    let graph = super::client(&server);

    let item = graph
        .upload(
            &Drive::me(),
            &Item::path("FolderA").unwrap(),
            "FileB.txt",
            Cursor::new(source.clone()),
        )
        .conflict(ConflictBehavior::Rename)
        .start()
        .await
        .unwrap();

    assert_eq!(item.id.as_deref(), Some("0123456789abc"));
    let sent = received(&server).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body, source);
    assert_eq!(
        crate::support::sent_query(&server, 0).await,
        [(
            "@microsoft.graph.conflictBehavior".to_string(),
            "rename".to_string()
        )]
    );
}

#[tokio::test]
async fn a_chunk_size_graph_would_refuse_is_invalid_before_anything_is_sent() {
    let server = MockServer::start().await;
    let graph = super::client(&server);
    for bad in [1_000_000, 0, 192 * U, 60 * MIB] {
        let err = graph
            .upload(
                &Drive::me(),
                &Item::root(),
                "a.bin",
                Cursor::new(vec![1u8; 10]),
            )
            .chunk_size(bad)
            .start()
            .await
            .unwrap_err();
        match err {
            UploadError::Other(specbound::Error::Invalid { field, .. }) => {
                assert_eq!(field, "chunk_size", "{bad}")
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
    assert!(received(&server).await.is_empty());
}

#[tokio::test]
async fn quota_and_precondition_answers_are_typed_upload_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/me/drive/root:/big.bin:/createUploadSession"))
        .respond_with(ResponseTemplate::new(507).set_body_json(
            json!({"error": {"code": "insufficientStorage", "message": "Insufficient Storage"}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/v1.0/me/drive/root:/a.txt:/content"))
        .and(header("if-match", "\"etag-1\""))
        .respond_with(ResponseTemplate::new(412).set_body_json(
            json!({"error": {"code": "preconditionFailed", "message": "ETag mismatch"}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let graph = super::client(&server);

    let full = graph
        .upload(
            &Drive::me(),
            &Item::root(),
            "big.bin",
            Cursor::new(data(100)),
        )
        .small_upload_limit(0)
        .start()
        .await
        .unwrap_err();
    assert!(full.is_insufficient_storage(), "{full:?}");
    assert_eq!(full.status().map(|s| s.as_u16()), Some(507));

    let stale = graph
        .upload(&Drive::me(), &Item::root(), "a.txt", Cursor::new(data(10)))
        .if_match("\"etag-1\"")
        .start()
        .await
        .unwrap_err();
    assert!(stale.is_precondition_failed(), "{stale:?}");
    let api = specbound::Error::from(stale);
    assert_eq!(
        api.api().and_then(|a| a.code.as_deref()),
        Some("preconditionFailed")
    );
}

#[tokio::test]
async fn a_deferred_upload_is_committed_with_an_empty_post_to_the_upload_url() {
    let host = Host::default();
    let server = graph_server(&host, None).await;
    let graph = super::client(&server);
    let total = 2 * U + 10;
    let source = data(total as usize);

    let item = graph
        .upload(
            &Drive::me(),
            &Item::root(),
            "big.bin",
            Cursor::new(source.clone()),
        )
        .chunk_size(U)
        .defer_commit(true)
        .start()
        .await
        .unwrap();

    assert_eq!(
        reported_hash(&item),
        Some(QuickXorHash::of(&source).as_str())
    );
    let sent = received(&server).await;
    assert_eq!(
        sent[0].body_json::<Value>().unwrap()["deferCommit"],
        json!(true)
    );
    assert_eq!(
        chunk_lines(&sent[1..]),
        [
            put("/up/s1", 0, U, total),
            put("/up/s1", U, 2 * U, total),
            put("/up/s1", 2 * U, total, total),
            "POST /up/s1 -".to_string(),
        ]
    );
    let commit = &sent[4];
    assert!(commit.body.is_empty());
    assert!(!commit.headers.contains_key("authorization"));
}

#[tokio::test]
async fn a_large_attachment_goes_up_in_chunks_and_answers_its_location() {
    let host = Host::default();
    let server = graph_server(&host, None).await;
    let graph = super::client(&server);
    let total = 2 * U + 5;
    let source = data(total as usize);

    let attached = graph
        .upload_attachment(
            &Mailbox::me(),
            "M1",
            "report.pdf",
            Cursor::new(source.clone()),
        )
        .chunk_size(U)
        .content_type("application/pdf")
        .start()
        .await
        .unwrap();

    assert_eq!(attached.id.as_deref(), Some("ATT-1"));
    assert!(host.bytes("/att/a1").unwrap() == source);
    let sent = received(&server).await;
    assert_eq!(
        sent[0].url.path(),
        "/v1.0/me/messages/M1/attachments/createUploadSession"
    );
    assert_eq!(
        sent[0].body_json::<Value>().unwrap(),
        json!({"AttachmentItem": {"attachmentType": "file", "name": "report.pdf",
                                  "size": total, "contentType": "application/pdf"}})
    );
    assert_eq!(
        chunk_lines(&sent[1..]),
        [
            put("/att/a1", 0, U, total),
            put("/att/a1", U, 2 * U, total),
            put("/att/a1", 2 * U, total, total),
        ]
    );
    for chunk in &sent[1..] {
        assert!(!chunk.headers.contains_key("authorization"));
        assert_eq!(chunk.url.query(), Some("authtoken=secret-token"));
        assert_eq!(chunk.headers["content-type"], "application/octet-stream");
    }
}

#[tokio::test]
async fn a_saved_session_shows_no_upload_url_in_debug() {
    let host = Host::default();
    let server = graph_server(&host, None).await;
    let graph = super::client(&server);
    let upload = graph
        .upload_attachment(&Mailbox::me(), "M1", "a.bin", Cursor::new(data(10)))
        .open()
        .await
        .unwrap();
    let state = upload.state();
    for shown in [format!("{state:?}"), format!("{upload:?}")] {
        assert!(
            !shown.contains("secret-token") && !shown.contains("/att/a1"),
            "{shown}"
        );
    }
    assert!(
        serde_json::to_string(&state)
            .unwrap()
            .contains("/att/a1?authtoken=secret-token")
    );
    assert_eq!(state.size(), 10);
}

#[tokio::test]
async fn a_download_cut_midway_resumes_with_a_range_and_writes_every_byte() {
    let file = Arc::new(data(300_000));
    let served = file.clone();
    let handler: Handler = Arc::new(move |seen, _| match seen.headers.get("range") {
        None => RawReply {
            status: 200,
            headers: Vec::new(),
            body: served.to_vec(),
            cut: true,
        },
        Some(range) => {
            let from: usize = range
                .strip_prefix("bytes=")
                .and_then(|r| r.strip_suffix('-'))
                .and_then(|n| n.parse().ok())
                .expect("bytes=N-");
            RawReply {
                status: 206,
                headers: vec![(
                    "content-range".into(),
                    format!("bytes {from}-{}/{}", served.len() - 1, served.len()),
                )],
                body: served[from..].to_vec(),
                cut: false,
            }
        }
    });
    let raw = RawHost::start(handler).await;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/me/drive/items/F1/content"))
        .and(header("authorization", "Bearer at-1"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("location", format!("{}/dl/F1", raw.uri)),
        )
        .expect(2)
        .mount(&server)
        .await;
    let (graph, waits) = super::client_with(&server, Some(super::token("at-1", None, 3600)));
    let mut out = Vec::new();

    let written = graph
        .download(&Drive::me(), &Item::id("F1").unwrap(), &mut out)
        .start()
        .await
        .unwrap();

    assert_eq!(written, 300_000);
    assert!(out == *file, "the written bytes differ");
    let seen = raw.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].headers.get("range"), None);
    // The cut answer carried 2/5 of the file.
    assert_eq!(
        seen[1].headers.get("range").map(String::as_str),
        Some("bytes=120000-")
    );
    assert!(
        seen.iter()
            .all(|s| !s.headers.contains_key("authorization"))
    );
    assert_eq!(waits.recorded().len(), 1);
}

#[tokio::test]
async fn the_copy_monitor_is_polled_without_authorization_until_the_new_item() {
    let server = MockServer::start().await;
    let accepted = Fixture::load("graph/driveitem_copy_async.json");
    let running = Fixture::load("graph/driveitem_copy_monitor_in_progress.json");
    let completed = Fixture::load("graph/driveitem_copy_monitor_completed.json");
    let new_item = Fixture::load("graph/driveitem_get_root.json");
    let monitor = "/_api/v2.0/monitor/4A3407B5-88FC-4504-8B21-0AABD3412717";
    Mock::given(method("POST"))
        .and(path("/v1.0/me/drive/items/SRC-1/copy"))
        .and(header("authorization", "Bearer at-1"))
        .respond_with(
            ResponseTemplate::new(accepted.status())
                .insert_header("location", format!("{}{monitor}", server.uri())),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(monitor))
        .respond_with(running.response())
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(monitor))
        .respond_with(completed.response())
        .mount(&server)
        .await;
    let resource = completed.body()["resourceId"].as_str().unwrap();
    let drive_id = accepted.request_body()["parentReference"]["driveId"]
        .as_str()
        .unwrap();
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/drives/{drive_id}/items/{resource}")))
        .and(header("authorization", "Bearer at-1"))
        .respond_with(new_item.response())
        .expect(1)
        .mount(&server)
        .await;
    let (graph, waits) = super::client_with(&server, Some(super::token("at-1", None, 3600)));
    let to: types::CopyItemBody = serde_json::from_value(accepted.request_body().clone()).unwrap();

    let events: Vec<CopyEvent> = graph
        .copy(&Drive::me(), &Item::id("SRC-1").unwrap(), to)
        .start()
        .await
        .unwrap()
        .events()
        .try_collect()
        .await
        .unwrap();

    match &events[..] {
        [CopyEvent::Progress(status), CopyEvent::Done(item)] => {
            assert_eq!(status.status, JobStatus::InProgress);
            assert_eq!(status.percentage, Some(27.8));
            assert_eq!(item.id.as_deref(), new_item.body()["id"].as_str());
        }
        other => panic!("{other:?}"),
    }
    let sent = received(&server).await;
    assert_eq!(
        sent[0].body_json::<Value>().unwrap(),
        *accepted.request_body()
    );
    let polls: Vec<_> = sent.iter().filter(|r| r.url.path() == monitor).collect();
    assert_eq!(polls.len(), 2);
    assert!(
        polls
            .iter()
            .all(|r| !r.headers.contains_key("authorization"))
    );
    assert_eq!(waits.recorded(), [Duration::from_secs(1)]);
}
