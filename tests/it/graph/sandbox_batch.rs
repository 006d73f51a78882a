//! The Graph client against the sandbox: `$batch`, injected 429s and the
//! error shape.

use super::sandbox_support::*;

#[tokio::test]
async fn a_batch_answers_a_throttled_item_and_a_failed_dependency_beside_successes() {
    let server = sandbox().inbox_messages(2).start().await.unwrap();
    let adele = signed_in(&server, ADELE);
    let inbox = adele
        .list_folder_messages()
        .mailbox(Mailbox::me())
        .mail_folder_id("inbox")
        .send()
        .await
        .unwrap()
        .into_inner();
    let unread = inbox
        .value
        .iter()
        .find(|m| m.is_read == Some(false))
        .unwrap()
        .id
        .clone();
    server.faults().inject(
        Some("get_message"),
        Fault::RateLimited { retry_after: 7 },
        1,
    );
    let batch: types::BatchRequest = serde_json::from_value(json!({"requests": [
        {"id": "1", "method": "GET", "url": "/me/mailFolders/inbox/messages?$top=1&$select=subject"},
        {"id": "2", "method": "GET", "url": format!("/me/messages/{unread}")},
        {"id": "3", "method": "PATCH", "url": format!("/me/messages/{unread}"), "dependsOn": ["2"],
         "headers": {"Content-Type": "application/json"}, "body": {"isRead": true}},
        {"id": "4", "method": "GET", "url": "/me"},
    ]}))
    .unwrap();
    let answer = adele.batch().body(batch).send().await.unwrap().into_inner();
    let items = answer.responses;
    let statuses: Vec<(&str, i32)> = items.iter().map(|i| (i.id.as_str(), i.status)).collect();
    assert_eq!(statuses, [("1", 200), ("2", 429), ("3", 424), ("4", 200)]);
    let body = |i: usize| items[i].body.clone().unwrap_or(Value::Null);
    assert_eq!(body(0)["value"].as_array().unwrap().len(), 1);
    assert!(
        body(0)["value"][0].get("body").is_none(),
        "$select applies inside a batch"
    );
    assert_eq!(
        items[1].headers.get("Retry-After").map(String::as_str),
        Some("7")
    );
    assert_eq!(body(1)["error"]["code"], "TooManyRequests");
    assert_eq!(body(2)["error"]["code"], "FailedDependency");
    assert_eq!(body(3)["userPrincipalName"], ADELE);
    // The failed dependency kept item 3 from running.
    let still = adele
        .get_message()
        .mailbox(Mailbox::me())
        .message_id(unread)
        .send()
        .await
        .unwrap();
    assert_eq!(still.into_inner().is_read, Some(false));
    assert_eq!(
        server
            .operations_served()
            .iter()
            .filter(|o| **o == "batch")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_batch_refuses_repeated_ids_and_unknown_dependencies() {
    let server = sandbox().start().await.unwrap();
    let adele = signed_in(&server, ADELE);
    let twice: types::BatchRequest = serde_json::from_value(json!({"requests": [
        {"id": "1", "method": "GET", "url": "/me"},
        {"id": "1", "method": "GET", "url": "/me"},
    ]}))
    .unwrap();
    assert_eq!(refusal(adele.batch().body(twice).send().await).0, 400);
    let dangling: types::BatchRequest = serde_json::from_value(json!({"requests": [
        {"id": "1", "method": "GET", "url": "/me", "dependsOn": ["9"]},
    ]}))
    .unwrap();
    assert_eq!(refusal(adele.batch().body(dangling).send().await).0, 400);
}

#[tokio::test]
async fn an_injected_429_carries_retry_after_and_the_client_waits_it_out() {
    let server = sandbox().start().await.unwrap();
    let (adele, waits) = signed_in_with_waits(&server, ADELE);
    server
        .faults()
        .inject(Some("get_user"), Fault::RateLimited { retry_after: 3 }, 1);
    let me = adele
        .get_user()
        .mailbox(Mailbox::me())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(me.user_principal_name.as_deref(), Some(ADELE));
    assert_eq!(waits.recorded(), [Duration::from_secs(3)]);
    // On the wire: Graph's error shape, Retry-After and a request id.
    server
        .faults()
        .inject(Some("get_user"), Fault::RateLimited { retry_after: 5 }, 1);
    let token = server.issue_token(ADELE).unwrap();
    let answer = reqwest::Client::new()
        .get(format!("{}/v1.0/me", server.base_url()))
        .bearer_auth(token.access_token.expose())
        .send()
        .await
        .unwrap();
    let (status, headers, body) = parts(answer).await;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "5");
    assert_eq!(body["error"]["code"], "TooManyRequests");
    assert_eq!(
        body["error"]["innerError"]["request-id"],
        headers["request-id"].to_str().unwrap()
    );
}

#[tokio::test]
async fn calls_without_a_valid_token_are_401_in_graphs_shape() {
    let server = sandbox().start().await.unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/v1.0/me/messages", server.base_url());
    let (status, headers, body) = parts(
        http.get(&url)
            .header("client-request-id", "c-1")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    assert_eq!(body["error"]["message"], "Access token is empty.");
    assert_eq!(body["error"]["innerError"]["client-request-id"], "c-1");
    assert_eq!(headers["client-request-id"], "c-1");
    assert!(headers.contains_key("www-authenticate"));
    let (status, _, body) =
        parts(http.get(&url).bearer_auth("made-up").send().await.unwrap()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("InvalidAuthenticationToken"))
    );
    let (status, _, body) = parts(
        http.get(format!("{}/v1.0/me/nothingHere", server.base_url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("BadRequest"))
    );
}
