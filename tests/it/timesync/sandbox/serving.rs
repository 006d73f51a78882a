//! How the sandbox serves what clients other than ours send: form-encoded
//! bodies, tokens left unencoded in the query (as pymesync sends them),
//! Express's routing quirks, and faults injected for tests.

use std::time::Duration;

use serde_json::{Value, json};
use specbound::sandbox::Fault;
use specbound::timesync::{Client, prelude::*};

use super::{create_time, decode, http, logged_in, raw_get, raw_token, team, time, urlencode};
use crate::support::Waits;

/// Posts form fields to `path`.
async fn form_post(
    server: &specbound::sandbox::timesync::TimeSync,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, Value) {
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let response = http()
        .post(format!("{}{path}", server.base_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    decode(response).await
}

#[tokio::test]
async fn form_encoded_bodies_are_read_like_json_as_express_reads_them() {
    let server = team().await;
    let (status, body) = form_post(
        &server,
        "/login",
        &[
            ("auth[type]", "password"),
            ("auth[username]", "admin"),
            ("auth[password]", "admin-pw"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap();
    let (status, created) = form_post(
        &server,
        "/activities",
        &[
            ("auth[type]", "token"),
            ("auth[token]", token),
            ("object[name]", "Code Review"),
            ("object[slug]", "review"),
        ],
    )
    .await;
    assert_eq!(
        (status, &created["slug"], &created["revision"]),
        (200, &json!("review"), &json!(1)),
        "{created}"
    );
    // Every form value is a string, so a duration is refused as the server refuses it.
    let (status, refused) = form_post(
        &server,
        "/times",
        &[
            ("auth[type]", "token"),
            ("auth[token]", token),
            ("object[duration]", "60"),
            ("object[project]", "gwm"),
            ("object[user]", "admin"),
            ("object[date_worked]", "2026-01-05"),
        ],
    )
    .await;
    assert_eq!(
        (status, refused["text"].as_str()),
        (
            400,
            Some("Field duration of time should be number but was sent as string")
        )
    );
}

#[tokio::test]
async fn form_fields_make_arrays_as_qs_does_and_other_bodies_read_as_empty() {
    let server = team().await;
    let token = raw_token(&server, "alice", "alice-pw").await;
    let ts = logged_in(&server, "alice", "alice-pw").await;
    let created = create_time(&ts, time(60, "gwm", "alice", "2026-01-05", &["dev"]))
        .await
        .unwrap();
    let path = format!("/times/{}", created.uuid);
    let auth = [("auth[type]", "token"), ("auth[token]", token.as_str())];
    let update = |fields: &'static [(&'static str, &'static str)]| {
        let all: Vec<(&str, &str)> = auth.iter().chain(fields).copied().collect();
        let server = &server;
        let path = path.clone();
        async move { form_post(server, &path, &all).await }
    };
    // An update reads its duration with `Number(..)`, so a form's string works.
    let (status, answer) =
        update(&[("object[duration]", "45.5"), ("object[notes]", "formed")]).await;
    assert_eq!(
        (status, &answer["duration"], &answer["notes"]),
        (200, &json!(45.5), &json!("formed")),
        "{answer}"
    );
    // Indices, `[]` and a repeated key all make arrays, as the server reads them.
    let forms: [&'static [(&'static str, &'static str)]; 3] = [
        &[
            ("object[activities][1]", "dev"),
            ("object[activities][0]", "docs"),
        ],
        &[
            ("object[activities][]", "docs"),
            ("object[activities][]", "dev"),
        ],
        &[
            ("object[activities]", "docs"),
            ("object[activities]", "dev"),
        ],
    ];
    for fields in forms {
        let (status, answer) = update(fields).await;
        assert_eq!(
            (status, &answer["activities"]),
            (200, &json!(["dev", "docs"])),
            "{fields:?}: {answer}"
        );
    }
    let (status, answer) = update(&[("object[activities]", "docs")]).await;
    assert_eq!(
        (status, answer["text"].as_str()),
        (
            400,
            Some("Field activities of time should be array but was sent as string")
        )
    );

    // JSON the server's parsers do not read (another content type) is no body.
    let login = r#"{"auth": {"type": "password", "username": "alice", "password": "alice-pw"}}"#;
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let response = http()
            .post(format!("{}/login", server.base_url()))
            .header("content-type", content_type)
            .body(login)
            .send()
            .await
            .unwrap();
        let (status, body) = decode(response).await;
        assert_eq!(
            (status, body["text"].as_str()),
            (401, Some("Missing credentials")),
            "{content_type}"
        );
    }
}

#[tokio::test]
async fn a_token_left_unencoded_in_the_query_still_works() {
    let server = team().await;
    // Find a token with a `+`, which an unencoded query turns into a space.
    let mut token = raw_token(&server, "carol", "carol-pw").await;
    while !token.contains('+') {
        token = raw_token(&server, "carol", "carol-pw").await;
    }
    let (status, users) = raw_get(&server, &format!("/users?token={token}")).await;
    assert_eq!(
        (status, users.as_array().map(Vec::len)),
        (200, Some(5)),
        "{users}"
    );
    // Repeated, the token is an array to Express: refused.
    let (status, body) = raw_get(&server, &format!("/users?token={token}&token={token}")).await;
    assert_eq!(
        (status, body["text"].as_str()),
        (401, Some("Bad API token"))
    );
}

#[tokio::test]
async fn routes_follow_express_a_trailing_slash_matches_and_an_unknown_method_is_a_404_page() {
    let server = team().await;
    let token = urlencode(&raw_token(&server, "carol", "carol-pw").await);
    let (status, _) = raw_get(&server, &format!("/users/?token={token}")).await;
    assert_eq!(status, 200);
    let response = http()
        .put(format!("{}/times", server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("<pre>Cannot PUT /v0/times</pre>")
    );
}

#[tokio::test]
async fn injected_faults_reach_the_client_a_503_is_retried_and_a_429_is_rate_limited() {
    let server = team().await;
    let waits = Waits::default();
    let ts = Client::builder()
        .base_url(server.base_url())
        .sleep(waits.sleep())
        .build()
        .unwrap();
    ts.authenticate("carol", "carol-pw", specbound::timesync::AuthType::Password)
        .await
        .unwrap();
    server
        .faults()
        .inject(Some("list_users"), Fault::Status(503), 1);
    assert_eq!(ts.list_users().send().await.unwrap().len(), 5);
    assert_eq!(waits.recorded().len(), 1, "one retry after the 503");
    server.faults().inject(
        Some("list_projects"),
        Fault::RateLimited { retry_after: 120 },
        3,
    );
    let err = ts.list_projects().send().await.unwrap_err();
    assert!(
        matches!(err, specbound::Error::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(120)),
        "{err:?}"
    );
    // The faults answered before the sandbox: only the 200 was served.
    assert_eq!(server.operations_served(), ["login", "list_users"]);
    // Another operation is untouched by a fault queued for one.
    server
        .faults()
        .inject(Some("get_user"), Fault::Status(500), 1);
    let admin = logged_in(&server, "admin", "admin-pw").await;
    assert_eq!(admin.list_activities().send().await.unwrap().len(), 2);
    server.faults().clear();
    assert_eq!(
        admin
            .get_user()
            .username("bob")
            .send()
            .await
            .unwrap()
            .username,
        "bob"
    );
}
