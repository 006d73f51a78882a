//! What goes wrong, on the wire: typed errors, retries, the session's
//! renewals, the checks made before sending, and secrets kept out of
//! `Debug`, `Display`, errors and traces.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use specbound::timesync::types::{ActivityCreate, ProjectCreate, UserCreate};
use specbound::timesync::{AuthType, Client, prelude::*, types};
use specbound::{AuthErrorKind, Error};
use wiremock::matchers::{body_json, query_param};
use wiremock::{MockServer, Request, ResponseTemplate};

use super::{AnswerOnce as _, UUID, date, enveloped_post, get, json_post, ok_json, strings};
use crate::support::{
    Fixture, Waits, assert_auth_error, fresh_token, received, timesync, timesync_token,
    timesync_with,
};

/// Creates the activity `QA` (slug `qa`) as `ts`.
async fn create_qa(ts: &Client) -> specbound::Result<types::Activity> {
    let qa = ActivityCreate::new("QA", "qa");
    let answer = ts.create_activity().body(qa).send().await?;
    Ok(answer.into_inner())
}

// ------------------------------------------------------------------ errors

#[tokio::test]
async fn a_401_404_and_500_are_typed_api_errors_and_the_500_is_retried() {
    let server = MockServer::start().await;
    let (ts, waits, _) = timesync(&server);
    for (slug, file) in [
        ("a", "timesync/error_authentication_bad_token.json"),
        ("b", "timesync/error_object_not_found.json"),
    ] {
        get(&format!("/activities/{slug}"))
            .answer_once(Fixture::load(file).response(), &server)
            .await;
    }
    get("/activities/c")
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({
            "status": 500, "error": "Server error", "text": "Unexpected server error."
        })))
        .expect(3)
        .mount(&server)
        .await;

    let unauthorized = ts.get_activity().slug("a").send().await.unwrap_err();
    assert!(unauthorized.is_unauthorized());
    assert_eq!(unauthorized.api().unwrap().message, "Bad API token");
    let missing = ts.get_activity().slug("b").send().await.unwrap_err();
    assert!(missing.is_not_found());
    assert_eq!(
        missing.to_string(),
        "get_activity: the API answered 404 Not Found (Object not found): Nonexistent time"
    );
    assert!(waits.recorded().is_empty(), "a 401 or 404 is not retried");
    let broken = ts.get_activity().slug("c").send().await.unwrap_err();
    assert_eq!(
        broken.status(),
        Some(reqwest::StatusCode::INTERNAL_SERVER_ERROR)
    );
    assert_eq!(
        broken.api().unwrap().body::<types::Error>().unwrap().text,
        "Unexpected server error."
    );
    // A GET answered 500 is sent again (3 attempts, 2 waits).
    assert_eq!(waits.recorded().len(), 2);
    assert_eq!(received(&server).await.len(), 5);
}

#[tokio::test]
async fn a_bad_object_error_names_its_field() {
    let server = MockServer::start().await;
    let (ts, _, _) = timesync(&server);
    let fixture = Fixture::load("timesync/error_bad_object_missing_field.json");
    json_post("/activities")
        .answer_once(fixture.response(), &server)
        .await;
    let err = create_qa(&ts).await.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.code.as_deref(), Some("Bad object"));
    assert_eq!(api.fields.len(), 1);
    assert_eq!(api.fields[0].message, fixture.body()["text"]);
}

#[tokio::test]
async fn malformed_json_is_a_decode_error_naming_the_path() {
    let server = MockServer::start().await;
    let (ts, _, _) = timesync(&server);
    let mut bad = Fixture::load("timesync/times_list.json").body().clone();
    bad[0]["duration"] = json!("12000");
    get("/times")
        .respond_with(ok_json(&bad))
        .mount(&server)
        .await;
    get(&format!("/times/{UUID}"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(r#"{"duration": 1, "user": "#, "application/json"),
        )
        .mount(&server)
        .await;

    match ts.list_times().send().await.unwrap_err() {
        Error::Decode {
            path, operation, ..
        } => assert_eq!((path.as_str(), operation), ("$[0].duration", "list_times")),
        other => panic!("{other:?}"),
    }
    match ts.get_time().uuid(UUID).send().await.unwrap_err() {
        Error::Decode { path, reason, .. } => {
            assert_eq!(path, "$");
            assert!(reason.contains("EOF"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_html_error_page_keeps_its_status_and_text() {
    let server = MockServer::start().await;
    let (ts, _, _) = timesync(&server);
    json_post("/activities")
        .answer_once(
            ResponseTemplate::new(502)
                .set_body_raw("<html><body>Bad gateway</body></html>", "text/html"),
            &server,
        )
        .await;
    let err = create_qa(&ts).await.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.status, 502);
    assert_eq!(api.message, "<html><body>Bad gateway</body></html>");
}

#[tokio::test]
async fn a_gateways_json_error_keeps_its_status_and_its_429_is_rate_limited() {
    // Not TimeSync's error shape: a proxy's `{"message": ...}`.
    let server = MockServer::start().await;
    let (ts, waits, _) = timesync(&server);
    // 404 is final; 502, 503 and 429 are sent three times (the standard
    // policy), the waits between recorded, not slept.
    for (status, route, attempts) in [
        (404u16, "/users/a", 1),
        (502, "/users/b", 3),
        (503, "/users/c", 3),
        (429, "/users/d", 3),
    ] {
        get(route)
            .respond_with(
                ResponseTemplate::new(status)
                    .set_body_json(json!({"message": "no healthy upstream"})),
            )
            .expect(attempts)
            .mount(&server)
            .await;
    }
    for (status, name) in [(404u16, "a"), (502, "b"), (503, "c")] {
        let err = ts
            .get_user()
            .username(name.parse::<types::Username>().unwrap())
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status), "{err:?}");
        assert!(err.to_string().contains("no healthy upstream"), "{err}");
        assert!(!matches!(err, Error::Decode { .. }));
    }
    let err = ts
        .get_user()
        .username("d".parse::<types::Username>().unwrap())
        .send()
        .await
        .unwrap_err();
    assert!(err.is_rate_limited(), "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(
        waits.recorded().len(),
        6,
        "two waits each for 502, 503, 429"
    );
}

// ------------------------------------------------------------------ retries

#[tokio::test]
async fn a_503_then_200_succeeds_after_one_retry() {
    let server = MockServer::start().await;
    let (ts, waits, _) = timesync(&server);
    get("/users")
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "2"))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    get("/users")
        .answer_once(
            Fixture::load("timesync/users_list.json").response(),
            &server,
        )
        .await;
    let users = ts.list_users().send().await.unwrap().into_inner();
    assert_eq!(users[0].username, "user1");
    assert_eq!(waits.recorded(), [Duration::from_secs(2)]);
    let requests = received(&server).await;
    assert_eq!(
        requests[0].url, requests[1].url,
        "the retry is the same request"
    );
}

#[tokio::test]
async fn a_post_is_not_retried_after_a_503() {
    let server = MockServer::start().await;
    let (ts, waits, _) = timesync(&server);
    json_post("/activities")
        .answer_once(
            ResponseTemplate::new(503).set_body_json(json!({
                "status": 503, "error": "Service unavailable", "text": "try later"
            })),
            &server,
        )
        .await;
    let err = create_qa(&ts).await.unwrap_err();
    assert_eq!(err.status(), Some(reqwest::StatusCode::SERVICE_UNAVAILABLE));
    assert!(waits.recorded().is_empty());
}

#[tokio::test]
async fn a_429_over_the_wait_budget_is_rate_limited_at_once() {
    let server = MockServer::start().await;
    let waits = Waits::default();
    let ts = specbound::timesync::Client::builder()
        .base_url(format!("{}/v0", server.uri()))
        .token(fresh_token())
        .sleep(waits.sleep())
        .retry(specbound::runtime::RetryPolicy::standard().max_wait(Duration::from_secs(30)))
        .build()
        .unwrap();
    get("/users")
        .answer_once(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "93")
                .set_body_raw("slow down", "text/plain"),
            &server,
        )
        .await;
    let err = ts.list_users().send().await.unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(93)),
        "{err:?}"
    );
    assert!(waits.recorded().is_empty());
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported_without_the_token() {
    // A port nothing listens on.
    let unused = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let waits = Waits::default();
    let token = fresh_token();
    let ts = specbound::timesync::Client::builder()
        .base_url(format!("http://{unused}/v0"))
        .token(token.as_str())
        .sleep(waits.sleep())
        .build()
        .unwrap();
    let err = ts.list_times().send().await.unwrap_err();
    assert_eq!(waits.recorded().len(), 2, "3 attempts, 2 waits");
    let text = format!("{err} {err:?}");
    assert!(text.contains("could not connect"), "{text}");
    assert!(text.contains("/v0/times"), "{text}");
    assert!(!text.contains(&token) && !text.contains("token="), "{text}");
}

// ------------------------------------------------------------------ the session

#[tokio::test]
async fn an_expiring_token_is_renewed_with_the_stored_credentials_before_the_call() {
    let server = MockServer::start().await;
    let old = timesync_token("alice", 120_000);
    let short = timesync_token("alice", 20_000);
    let new = fresh_token();
    let logins = [short.clone(), new.clone()];
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    json_post("/login")
        .and(body_json(
            json!({"auth": {"type": "password", "username": "alice", "password": "pw"}}),
        ))
        .respond_with(move |_: &Request| {
            let i = seen.fetch_add(1, Ordering::SeqCst);
            ok_json(&json!({ "token": logins[i.min(1)] }))
        })
        .expect(2)
        .mount(&server)
        .await;
    get("/users")
        .and(query_param("token", new.as_str()))
        .answer_once(ok_json(&json!([])), &server)
        .await;
    let (ts, _) = timesync_with(&server, Some(&old));
    // The first login answers a token with 20 s left: under the 60 s margin,
    // so the next call logs in again first.
    ts.authenticate("alice", "pw", AuthType::Password)
        .await
        .unwrap();
    ts.list_users().send().await.unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_401_logs_in_again_once_and_replays_the_request() {
    let server = MockServer::start().await;
    let first = fresh_token();
    let second = timesync_token("alice", 7_200_000);
    let answers = [first.clone(), second.clone()];
    let logins = Arc::new(AtomicUsize::new(0));
    let seen = logins.clone();
    json_post("/login")
        .respond_with(move |_: &Request| {
            let i = seen.fetch_add(1, Ordering::SeqCst);
            ok_json(&json!({ "token": answers[i.min(1)] }))
        })
        .mount(&server)
        .await;
    // The server restarted and forgot the first token.
    let qa = json!({"name": "QA", "slug": "qa"});
    let bad_token = Fixture::load("timesync/error_authentication_bad_token.json");
    enveloped_post("/activities", &qa, &first)
        .answer_once(bad_token.response(), &server)
        .await;
    let recorded = Fixture::load("timesync/activities_create.json");
    enveloped_post("/activities", &qa, &second)
        .answer_once(recorded.response(), &server)
        .await;
    let (ts, _) = timesync_with(&server, None);
    ts.authenticate("alice", "pw", AuthType::Password)
        .await
        .unwrap();
    let created = create_qa(&ts).await.unwrap();
    assert_eq!(created.slug.as_deref(), Some("qa"));
    assert_eq!(logins.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_401_authorization_failure_is_not_replayed_and_does_not_log_in_again() {
    let server = MockServer::start().await;
    let token = fresh_token();
    json_post("/login")
        .answer_once(ok_json(&json!({ "token": token })), &server)
        .await;
    let refused = Fixture::load("timesync/error_authorization_failure.json");
    json_post("/activities")
        .answer_once(refused.response(), &server)
        .await;
    let (ts, _) = timesync_with(&server, None);
    ts.authenticate("alice", "pw", AuthType::Password)
        .await
        .unwrap();
    let err = create_qa(&ts).await.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(
        (api.status.as_u16(), api.code.as_deref()),
        (401, Some("Authorization failure"))
    );
    assert_eq!(api.message, refused.body()["text"]);
}

#[tokio::test]
async fn without_stored_credentials_an_expired_token_is_an_auth_error_before_sending() {
    let server = MockServer::start().await;
    let (ts, _) = timesync_with(&server, Some(&timesync_token("alice", -1_000)));
    let err = ts.list_times().send().await.unwrap_err();
    assert_auth_error(&err, AuthErrorKind::Expired);
    let (fresh, _) = timesync_with(&server, None);
    let err = fresh.delete_time().uuid(UUID).send().await.unwrap_err();
    assert_auth_error(&err, AuthErrorKind::Missing);
    assert!(err.to_string().contains("call authenticate() first"));
    assert!(received(&server).await.is_empty());
}

// ------------------------------------------------------------------ local validation

/// Asserts that `result` is `Error::Invalid` for `field`.
#[track_caller]
fn assert_invalid<T: std::fmt::Debug>(result: specbound::Result<T>, field: &str) {
    match result {
        Err(Error::Invalid { field: f, reason }) => {
            assert_eq!(f, field, "reason: {reason}");
            assert!(!reason.is_empty());
        }
        other => panic!("expected invalid {field}, got {other:?}"),
    }
}

#[tokio::test]
async fn every_local_rule_refuses_before_anything_is_sent() {
    let server = MockServer::start().await;
    let (ts, _, _) = timesync(&server);
    let day = date("2026-11-23");
    let time = |project: &str, user: &str| {
        types::TimeCreate::new(
            specbound::timesync::Duration::from_secs(60),
            project,
            user,
            day,
        )
    };
    let create = |t: types::TimeCreate| ts.create_time().body(t).send();
    let create_project = |p: ProjectCreate| ts.create_project().body(p).send();
    let create_activity = |a: ActivityCreate| ts.create_activity().body(a).send();
    let create_user = |u: UserCreate| ts.create_user().body(u).send();

    // durations
    assert_invalid("3.5h".parse::<specbound::timesync::Duration>(), "duration");
    // the spec's patterns and formats, named by their path in the body
    assert_invalid(
        create(time("Not_A_Slug", "alice")).await,
        "body.object.project",
    );
    assert_invalid(create(time("gwm", "no spaces")).await, "body.object.user");
    let mut bad_activity = time("gwm", "alice");
    bad_activity.activities = vec!["dev".into(), "--".into()];
    assert_invalid(create(bad_activity).await, "body.object.activities[1]");
    let mut bad_uri = time("gwm", "alice");
    bad_uri.issue_uri = Some("github.com/osuosl/gwm/issues/1".into());
    assert_invalid(create(bad_uri).await, "body.object.issue_uri");
    let mut spaced_uri = time("gwm", "alice");
    spaced_uri.issue_uri = Some("https://github.com/osuosl/gwm/issues/1 2".into());
    assert_invalid(create(spaced_uri).await, "body.object.issue_uri");
    // path parameters of the wrong type or pattern
    assert_invalid(
        ts.update_time()
            .uuid("not-a-uuid")
            .body(types::TimeUpdate::default())
            .send()
            .await,
        "uuid",
    );
    assert_invalid(ts.delete_project().slug("GWM").send().await, "slug");
    assert_invalid(
        ts.update_user()
            .username("guy!")
            .body(types::UserUpdate::default())
            .send()
            .await,
        "username",
    );
    // query parameters: each value's pattern, and start not after end
    assert_invalid(
        ts.list_times()
            .user(strings(&["alice", "Bad User"]))
            .send()
            .await,
        "user",
    );
    assert_invalid(
        ts.list_times()
            .start(date("2026-11-02"))
            .end(date("2026-11-01"))
            .send()
            .await,
        "start",
    );
    // required and non-empty fields
    let no_slugs = ProjectCreate::new("GWM", &[]);
    assert_invalid(create_project(no_slugs).await, "body.object.slugs");
    let no_name = ProjectCreate::new("", &["gwm"]);
    assert_invalid(create_project(no_name).await, "body.object.name");
    let no_name = ActivityCreate::new("", "dev");
    assert_invalid(create_activity(no_name).await, "body.object.name");
    let upper_slug = ActivityCreate::new("Dev", "Dev");
    assert_invalid(create_activity(upper_slug).await, "body.object.slug");
    let no_password = UserCreate::new("guyn", "");
    assert_invalid(create_user(no_password).await, "body.object.password");
    let spaced_name = UserCreate::new("guy n", "pw");
    assert_invalid(create_user(spaced_name).await, "body.object.username");
    assert_invalid(ts.project_users("").await, "slug");
    assert_invalid(
        ts.authenticate("", "pw", AuthType::Password).await,
        "username",
    );
    assert_invalid(
        ts.authenticate("alice", "", AuthType::Password).await,
        "password",
    );
    assert!(
        received(&server).await.is_empty(),
        "a refused call reached the server"
    );
}

#[test]
fn a_base_url_that_is_not_http_is_a_config_error() {
    for bad in [
        "timesync.example.edu/v0",
        "ftp://x/v0",
        "http://x/v0?token=1",
    ] {
        let err = specbound::timesync::Client::connect(bad).unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{bad}: {err:?}");
    }
    assert!(specbound::timesync::Client::connect("https://timesync.example.edu/v0/").is_ok());
}

// ------------------------------------------------------------------ secrets

#[tokio::test]
async fn no_token_or_password_in_debug_display_errors_or_traces() {
    crate::support::traces(); // installs the capturing subscriber
    let server = MockServer::start().await;
    let token = fresh_token();
    let password = "hunter2-is-the-password";
    json_post("/login")
        .respond_with(ok_json(&json!({ "token": token })))
        .mount(&server)
        .await;
    get("/times")
        .respond_with(Fixture::load("timesync/error_authentication_bad_token.json").response())
        .mount(&server)
        .await;
    let (ts, _) = timesync_with(&server, None);
    ts.authenticate("alice", password, AuthType::Password)
        .await
        .unwrap();
    let err = ts.list_times().send().await.unwrap_err();

    let user = types::UserCreate::new("guyn", password);
    let shown = format!(
        "{ts:?} {err} {err:?} {user:?} {:?}",
        types::LoginAuth {
            password: password.into(),
            type_: types::LoginAuthType::Password,
            username: "a".into()
        }
    );
    let logged = crate::support::traces();
    assert!(
        logged.contains("specbound.request"),
        "no request span was traced: {logged}"
    );
    for secret in [token.as_str(), password] {
        assert!(!shown.contains(secret), "secret in Debug/Display: {shown}");
        assert!(!logged.contains(secret), "secret in traces: {logged}");
    }
    assert!(
        !logged.contains("token="),
        "a query string was traced: {logged}"
    );
}
