//! The Graph client against the sandbox: OneDrive files, upload sessions
//! (by raw requests that follow the session's rules) and copy monitors.

use specbound::graph::Drive;

use super::sandbox_support::*;

/// 320 KiB, the unit of upload fragments.
const UNIT: usize = 320 * 1024;

async fn download(client: &Client, item: Item) -> Vec<u8> {
    let stream = client
        .download_item()
        .drive(Drive::me())
        .item(item)
        .send()
        .await
        .unwrap()
        .into_inner()
        .into_inner();
    stream
        .try_fold(Vec::new(), |mut all, chunk| async move {
            all.extend_from_slice(&chunk);
            Ok(all)
        })
        .await
        .unwrap()
}

async fn upload_small(client: &Client, path: &str, bytes: &[u8]) -> types::DriveItem {
    client
        .upload_small()
        .drive(Drive::me())
        .item(Item::path(path).unwrap())
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap()
        .into_inner()
}

fn quick_xor(item: &types::DriveItem) -> String {
    item.file
        .clone()
        .unwrap()
        .hashes
        .unwrap()
        .quick_xor_hash
        .unwrap()
}

/// A fragment PUT to an upload URL, as the docs say: no Authorization.
async fn put(url: &str, start: usize, bytes: &[u8], total: usize) -> (u16, Value) {
    let range = format!("bytes {start}-{}/{total}", start + bytes.len() - 1);
    let answer = reqwest::Client::new()
        .put(url)
        .header("content-range", range)
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    let (status, _, body) = parts(answer).await;
    (status, body)
}

#[tokio::test]
async fn a_small_upload_reads_back_with_its_quick_xor_hash_and_a_range() {
    let server = sandbox().start().await.unwrap();
    let adele = signed_in(&server, ADELE);
    // rclone's QuickXorHash vector: "/aNzzCFPS/A=" hashes to "/RjFHJgRgicsAR4ACAAAAAAAAAA=".
    let bytes = [0xfd, 0xa3, 0x73, 0xcc, 0x21, 0x4f, 0x4b, 0xf0];
    let made = upload_small(&adele, "Documents/eight.bin", &bytes).await;
    assert_eq!(made.name.as_deref(), Some("eight.bin"));
    assert_eq!(made.size, Some(8));
    assert_eq!(quick_xor(&made), "/RjFHJgRgicsAR4ACAAAAAAAAAA=");
    assert_eq!(
        download(&adele, Item::path("Documents/eight.bin").unwrap()).await,
        bytes
    );
    assert_eq!(server.file(ADELE, "Documents/eight.bin").unwrap(), bytes);
    let tail = adele
        .download_item()
        .drive(Drive::me())
        .item(Item::id(made.id.as_deref().unwrap()).unwrap())
        .range("bytes=6-")
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status().as_u16(), 206);
    let children: Vec<types::DriveItem> = adele
        .list_children()
        .drive(Drive::me())
        .item(Item::path("Documents").unwrap())
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        children
            .iter()
            .filter_map(|c| c.name.as_deref())
            .collect::<Vec<_>>(),
        ["eight.bin"]
    );
}

#[tokio::test]
async fn a_chunked_upload_follows_the_session_rules() {
    let server = sandbox().start().await.unwrap();
    let adele = signed_in(&server, ADELE);
    let content: Vec<u8> = (0..2 * UNIT + 100).map(|i| (i * 7 % 251) as u8).collect();
    let total = content.len();
    let session = adele
        .create_upload_session()
        .drive(Drive::me())
        .item(Item::path("Documents/big.bin").unwrap())
        .body(
            serde_json::from_value::<types::CreateUploadSessionBody>(json!({
                "item": {"@microsoft.graph.conflictBehavior": "fail", "name": "big.bin"},
            }))
            .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .into_inner();
    let url = session.upload_url.unwrap();
    assert!(
        url.starts_with(&format!("{}/_upload/", server.base_url())),
        "{url}"
    );
    assert_eq!(session.next_expected_ranges.unwrap(), ["0-"]);
    // The upload URL is pre-authenticated: an Authorization header is refused.
    let token = server.issue_token(ADELE).unwrap();
    let with_auth = reqwest::Client::new()
        .put(&url)
        .bearer_auth(token.access_token.expose())
        .header("content-range", format!("bytes 0-{}/{total}", UNIT - 1))
        .body(content[..UNIT].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(with_auth.status().as_u16(), 401);
    // A fragment that is not a multiple of 320 KiB (and not the last) is refused.
    let (status, body) = put(&url, 0, &content[..UNIT - 1], total).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalidRequest"))
    );
    let (status, body) = put(&url, 0, &content[..UNIT], total).await;
    assert_eq!(
        (status, &body["nextExpectedRanges"]),
        (202, &json!([format!("{UNIT}-")]))
    );
    // The same bytes again overlap what was received: 416.
    let (status, body) = put(&url, 0, &content[..UNIT], total).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (416, Some("invalidRange"))
    );
    // A gap is refused too, and the status shows where to go on.
    let (status, _) = put(&url, 2 * UNIT, &content[2 * UNIT..], total).await;
    assert_eq!(status, 416);
    let (status, _, body) = parts(reqwest::Client::new().get(&url).send().await.unwrap()).await;
    assert_eq!(
        (status, &body["nextExpectedRanges"]),
        (200, &json!([format!("{UNIT}-")]))
    );
    let (status, _) = put(&url, UNIT, &content[UNIT..2 * UNIT], total).await;
    assert_eq!(status, 202);
    let (status, item) = put(&url, 2 * UNIT, &content[2 * UNIT..], total).await;
    assert_eq!(status, 201, "{item}");
    let item: types::DriveItem = serde_json::from_value(item).unwrap();
    assert_eq!(item.size, Some(total as i64));
    assert_eq!(server.file(ADELE, "Documents/big.bin").unwrap(), content);
    // The hash is the one the same bytes get from a small upload.
    let same = upload_small(&adele, "Documents/same.bin", &content).await;
    assert_eq!(quick_xor(&item), quick_xor(&same));
    // The committed session is gone.
    let (status, _, _) = parts(reqwest::Client::new().get(&url).send().await.unwrap()).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn an_expired_upload_session_answers_404() {
    let server = sandbox()
        .upload_session_ttl(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let adele = signed_in(&server, ADELE);
    let session = adele
        .create_upload_session()
        .drive(Drive::me())
        .item(Item::path("late.bin").unwrap())
        .body(serde_json::from_value::<types::CreateUploadSessionBody>(json!({})).unwrap())
        .send()
        .await
        .unwrap()
        .into_inner();
    let (status, body) = put(&session.upload_url.unwrap(), 0, b"late", 4).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("itemNotFound"))
    );
    // The same through the handle, for a session that had time left.
    let server = sandbox().start().await.unwrap();
    let adele = signed_in(&server, ADELE);
    let session = adele
        .create_upload_session()
        .drive(Drive::me())
        .item(Item::path("later.bin").unwrap())
        .body(serde_json::from_value::<types::CreateUploadSessionBody>(json!({})).unwrap())
        .send()
        .await
        .unwrap()
        .into_inner();
    server.expire_upload_sessions();
    let (status, _) = put(&session.upload_url.unwrap(), 0, b"late", 4).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_copy_answers_a_monitor_that_completes_with_the_new_item() {
    let server = sandbox().copy_polls(1).start().await.unwrap();
    let adele = signed_in(&server, ADELE);
    let documents = adele
        .get_item()
        .drive(Drive::me())
        .item(Item::path("Documents").unwrap())
        .send()
        .await
        .unwrap()
        .into_inner();
    let accepted = adele
        .copy_item()
        .drive(Drive::me())
        .item(Item::path("Welcome.txt").unwrap())
        .body(
            serde_json::from_value::<types::CopyItemBody>(json!({
                "parentReference": {"driveId": server.drive_id(ADELE), "id": documents.id},
                "name": "Welcome (copy).txt",
            }))
            .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status().as_u16(), 202);
    let monitor = accepted.headers()["location"].to_str().unwrap().to_string();
    assert!(
        monitor.starts_with(&format!("{}/_monitor/", server.base_url())),
        "{monitor}"
    );
    let poll = || async {
        let answer = adele
            .raw_request(http::Method::GET, &monitor)
            .without_credentials()
            .send()
            .await
            .unwrap();
        (answer.status.as_u16(), answer.json::<Value>().unwrap())
    };
    let (status, body) = poll().await;
    assert_eq!((status, body["status"].as_str()), (202, Some("inProgress")));
    assert!(
        server.file(ADELE, "Documents/Welcome (copy).txt").is_none(),
        "not copied yet"
    );
    let (status, body) = poll().await;
    assert_eq!((status, body["status"].as_str()), (200, Some("completed")));
    let copy = body["resourceId"].as_str().unwrap();
    let item = adele
        .get_item()
        .drive(Drive::me())
        .item(Item::id(copy).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        item.into_inner().name.as_deref(),
        Some("Welcome (copy).txt")
    );
    assert_eq!(
        server.file(ADELE, "Documents/Welcome (copy).txt"),
        server.file(ADELE, "Welcome.txt")
    );
}

#[tokio::test]
async fn names_conflict_unless_told_to_replace_or_rename() {
    let server = sandbox().start().await.unwrap();
    let adele = signed_in(&server, ADELE);
    let folder = |behavior: &str| {
        serde_json::from_value::<types::DriveItem>(json!({
            "name": "Reports", "folder": {}, "@microsoft.graph.conflictBehavior": behavior,
        }))
        .unwrap()
    };
    let create = |body: types::DriveItem| {
        adele
            .create_folder()
            .drive(Drive::me())
            .item(Item::root())
            .body(body)
            .send()
    };
    create(folder("fail")).await.unwrap();
    let (status, code) = refusal(create(folder("fail")).await);
    assert_eq!((status, code.as_str()), (409, "nameAlreadyExists"));
    let renamed = create(folder("rename")).await.unwrap().into_inner();
    assert_eq!(renamed.name.as_deref(), Some("Reports 1"));
}
