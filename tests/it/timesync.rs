//! The TimeSync client on the wire: every operation's method, path, query,
//! headers and body, and the typed result, against recorded fixtures.

use std::time::Duration;

use chrono::NaiveDate;
use futures::TryStreamExt;
use serde_json::{Value, json};
use specbound::runtime::Patch;
use specbound::timesync::{AuthType, prelude::*, types};
use specbound::{AuthErrorKind, Error};
use wiremock::matchers::{body_json, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::{Fixture, fresh_token, timesync, timesync_token, timesync_with};

const UUID: &str = "aa800862-e852-4a40-8882-9b4a79aa3015";

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// The JSON body of the `n`th request the server received.
async fn sent_body(server: &MockServer, n: usize) -> Value {
    let requests = server.received_requests().await.unwrap();
    serde_json::from_slice(&requests[n].body).unwrap()
}

/// The query pairs of the `n`th request, in order.
async fn sent_query(server: &MockServer, n: usize) -> Vec<(String, String)> {
    let requests = server.received_requests().await.unwrap();
    requests[n]
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The body a POST carries: the payload in `object`, the session token in `auth`.
fn envelope(object: &Value, token: &str) -> Value {
    json!({ "auth": { "type": "token", "token": token }, "object": object })
}

// ------------------------------------------------------------------ login

#[tokio::test]
async fn authenticate_posts_the_login_block_and_later_calls_carry_the_token() {
    let server = MockServer::start().await;
    let login = Fixture::load("timesync/login_password.json");
    // The recorded token expired in 2015; answer the same shape with a live one.
    let token = fresh_token();
    Mock::given(method("POST"))
        .and(path("/v0/login"))
        .and(header("content-type", "application/json"))
        .and(body_json(login.request_body()))
        .respond_with(
            ResponseTemplate::new(200)
                // The reference server sends this JSON as text/html.
                .set_body_raw(
                    serde_json::to_vec(&json!({ "token": token })).unwrap(),
                    "text/html; charset=utf-8",
                ),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v0/users"))
        .and(query_param("token", token.as_str()))
        .respond_with(Fixture::load("timesync/users_list.json").response())
        .expect(1)
        .mount(&server)
        .await;

    let (ts, _) = timesync_with(&server, None);
    ts.authenticate("example-user", "pass", AuthType::Password)
        .await
        .unwrap();
    let users = ts.users().send().await.unwrap();
    assert_eq!(users[0].username, "user1");
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests[0].headers.get("api-version").is_none(),
        "progenitor's api-version header leaked"
    );
    assert!(requests[1].headers.get("authorization").is_none());
}

#[tokio::test]
async fn ldap_login_sends_type_ldap_and_a_refused_login_is_a_typed_401() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v0/login"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"auth": {"type": "ldap", "username": "bob", "password": "wrong"}})))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "status": 401, "error": "Authentication failure", "text": "Incorrect username or password"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (ts, _) = timesync_with(&server, None);
    let err = ts
        .authenticate("bob", "wrong", AuthType::Ldap)
        .await
        .unwrap_err();
    let api = err.api().expect("an API error");
    assert_eq!(api.status, 401);
    assert_eq!(api.code.as_deref(), Some("Authentication failure"));
    assert_eq!(api.message, "Incorrect username or password");
    assert_eq!(api.body::<types::Error>().unwrap().status, 401);
    assert!(err.is_unauthorized());
    assert!(matches!(
        ts.token_expiration_time(),
        Err(Error::Auth {
            kind: AuthErrorKind::Missing,
            ..
        })
    ));
}

#[tokio::test]
async fn token_expiration_time_reads_exp_in_milliseconds() {
    let server = MockServer::start().await;
    let login = Fixture::load("timesync/login_password.json");
    let (ts, _) = timesync_with(&server, Some(login.body()["token"].as_str().unwrap()));
    // The documented token's payload: {"exp":1446497427133, ...}
    assert_eq!(
        ts.token_expiration_time().unwrap().timestamp_millis(),
        1_446_497_427_133
    );
}

// ------------------------------------------------------------------ times

#[tokio::test]
async fn list_times_sends_every_filter_and_streams_typed_times() {
    let server = MockServer::start().await;
    let (ts, _, token) = timesync(&server);
    let fixture = Fixture::load("timesync/times_list.json");
    Mock::given(method("GET"))
        .and(path("/v0/times"))
        .and(query_param("token", token.as_str()))
        .and(query_param("start", "2014-04-01"))
        .and(query_param("end", "2014-04-30"))
        .and(query_param("include_revisions", "false"))
        .and(query_param("include_deleted", "true"))
        .respond_with(fixture.response())
        .expect(1)
        .mount(&server)
        .await;

    let times: Vec<types::Time> = ts
        .times()
        .user("example-user")
        .user("example-2")
        .project("gwm")
        .activity("docs")
        .activity("planning")
        .start("2014-04-01")
        .end(date("2014-04-30"))
        .include_revisions(false)
        .include_deleted(true)
        .stream()
        .try_collect()
        .await
        .unwrap();

    let query = sent_query(&server, 0).await;
    let values = |k: &str| {
        query
            .iter()
            .filter(|(q, _)| q == k)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(values("user"), ["example-user", "example-2"]);
    assert_eq!(values("project"), ["gwm"]);
    assert_eq!(values("activity"), ["docs", "planning"]);
    assert_eq!(values("token"), [token.as_str()]);
    let want = &fixture.body()[0];
    assert_eq!(times.len(), 1);
    assert_eq!(times[0].uuid.to_string(), want["uuid"]);
    assert_eq!(times[0].duration, 12_000);
    assert_eq!(times[0].project, ["ganeti", "gwm"]);
    assert_eq!(times[0].activities, ["docs", "planning"]);
    assert_eq!(times[0].date_worked, date("2014-04-17"));
    assert_eq!(times[0].updated_at, None);
}

#[tokio::test]
async fn list_times_with_revisions_decodes_parents() {
    let server = MockServer::start().await;
    let (ts, _, _) = timesync(&server);
    let fixture = Fixture::load("timesync/times_list_include_revisions.json");
    Mock::given(method("GET"))
        .and(path("/v0/times"))
        .and(query_param("include_revisions", "true"))
        .respond_with(fixture.response())
        .expect(1)
        .mount(&server)
        .await;
    let times = ts.times().include_revisions(true).send().await.unwrap();
    assert_eq!(times.len(), fixture.body().as_array().unwrap().len());
    assert_eq!(
        times[0].parents.len(),
        fixture.body()[0]["parents"].as_array().unwrap().len()
    );
    assert_eq!(
        times[0].parents[0].revision,
        fixture.body()[0]["parents"][0]["revision"]
            .as_i64()
            .unwrap()
    );
    assert!(
        times[1].parents.is_empty(),
        "the second entry has no parents key"
    );
}

#[tokio::test]
async fn list_times_decodes_the_servers_empty_strings_and_deleted_entries() {
    let server = MockServer::start().await;
    let (ts, _, _) = timesync(&server);
    let fixture = Fixture::load("timesync/times_list_include_deleted_server.json");
    Mock::given(method("GET"))
        .and(path("/v0/times"))
        .respond_with(fixture.response())
        .mount(&server)
        .await;
    let times = ts.times().include_deleted(true).send().await.unwrap();
    assert_eq!(times.len(), fixture.body().as_array().unwrap().len());
    assert!(times.iter().any(|t| t.deleted_at.is_some()));
    assert!(times.iter().any(|t| t.notes.as_deref() == Some("")));
}

#[tokio::test]
async fn times_uuid_gets_one_entry_with_include_deleted() {
    let server = MockServer::start().await;
    let (ts, _, token) = timesync(&server);
    let fixture = Fixture::load("timesync/times_get_include_deleted.json");
    let uuid = fixture.body()["uuid"].as_str().unwrap().to_string();
    Mock::given(method("GET"))
        .and(path(format!("/v0/times/{uuid}")))
        .and(query_param("include_deleted", "true"))
        .and(query_param("token", token.as_str()))
        .and(query_param_is_missing("user"))
        .respond_with(fixture.response())
        .expect(1)
        .mount(&server)
        .await;
    let times = ts
        .times()
        .uuid(uuid.as_str())
        .include_deleted(true)
        .send()
        .await
        .unwrap();
    assert_eq!(times.len(), 1);
    assert_eq!(times[0].uuid.to_string(), uuid);
    assert_eq!(
        times[0].deleted_at,
        Some(date(fixture.body()["deleted_at"].as_str().unwrap()))
    );
}

#[tokio::test]
async fn create_time_sends_seconds_in_the_auth_envelope_and_returns_the_created_entry() {
    let server = MockServer::start().await;
    let (ts, _, token) = timesync(&server);
    let fixture = Fixture::load("timesync/times_create.json");
    let sent = fixture.request_body();
    Mock::given(method("POST"))
        .and(path("/v0/times"))
        .and(header("content-type", "application/json"))
        .and(query_param_is_missing("token"))
        .and(body_json(envelope(sent, &token)))
        .respond_with(fixture.response())
        .expect(1)
        .mount(&server)
        .await;

    // The documented slug `ganeti_web_manager` breaks the server's slug rule
    // (no `_`), so `Client::create_time` would refuse it; the raw builder
    // sends what the recording sent.
    let mut time = types::TimeCreate::new(
        specbound::timesync::Duration::from_secs(12),
        sent["project"].as_str().unwrap(),
        "example-2",
        date("2014-04-17"),
    );
    time.activities = vec!["docs".into()];
    time.notes = Some(sent["notes"].as_str().unwrap().into());
    time.issue_uri = Some(sent["issue_uri"].as_str().unwrap().into());
    let created = ts
        .api()
        .create_time()
        .body(types::TimeCreateRequest {
            auth: None,
            object: time,
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.uuid.to_string(), fixture.body()["uuid"]);
    assert_eq!(created.project, "ganeti_web_manager");
    assert_eq!(created.revision, 1);
    assert_eq!(created.created_at, date("2014-04-17"));
}

#[tokio::test]
async fn create_time_turns_3h30m_into_12600_seconds() {
    let server = MockServer::start().await;
    let (ts, _, token) = timesync(&server);
    let fixture = Fixture::load("timesync/times_create.json");
    let mut answer = fixture.body().clone();
    answer["duration"] = json!(12_600);
    answer["project"] = json!("gwm");
    let object = json!({
        "duration": 12_600, "project": "gwm", "user": "example-2", "date_worked": "2014-04-17",
        "activities": ["docs"], "issue_uri": "https://github.com/osuosl/ganeti_webmgr/issues/56"
    });
    Mock::given(method("POST"))
        .and(path("/v0/times"))
        .and(header("content-type", "application/json"))
        .and(body_json(envelope(&object, &token)))
        .respond_with(ResponseTemplate::new(200).set_body_json(&answer))
        .expect(1)
        .mount(&server)
        .await;
    let mut time = types::TimeCreate::new(
        "3h30m".parse().unwrap(),
        "gwm",
        "example-2",
        date("2014-04-17"),
    );
    time.activities = vec!["docs".into()];
    time.issue_uri = Some("https://github.com/osuosl/ganeti_webmgr/issues/56".into());
    let created = ts.create_time(&time).await.unwrap();
    assert_eq!(created.duration, 12_600);
}

#[tokio::test]
async fn update_time_sends_only_the_fields_set() {
    let server = MockServer::start().await;
    let (ts, _, token) = timesync(&server);
    let fixture = Fixture::load("timesync/times_update.json");
    Mock::given(method("POST"))
        .and(path(format!("/v0/times/{UUID}")))
        .and(header("content-type", "application/json"))
        .and(body_json(envelope(fixture.request_body(), &token)))
        .respond_with(fixture.response())
        .expect(1)
        .mount(&server)
        .await;
    let update = types::TimeUpdate {
        duration: Some(
            "5h".parse::<specbound::timesync::Duration>()
                .unwrap()
                .as_secs(),
        ),
        notes: Some(fixture.request_body()["notes"].as_str().unwrap().into()),
        date_worked: Some(date("2014-06-07")),
        ..Default::default()
    };
    let updated = ts.update_time(UUID, &update).await.unwrap();
    assert_eq!(updated.revision, 2);
    assert_eq!(updated.duration, 18_000);
    assert_eq!(updated.updated_at, Some(date("2014-07-02")));
}

#[tokio::test]
async fn delete_time_sends_delete_with_the_token_and_accepts_an_empty_200() {
    let server = MockServer::start().await;
    let (ts, _, token) = timesync(&server);
    Mock::given(method("DELETE"))
        .and(path(format!("/v0/times/{UUID}")))
        .and(query_param("token", token.as_str()))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    ts.delete_time(UUID).await.unwrap();
}

// ------------------------------------------------------------------ projects

#[tokio::test]
async fn list_projects_filters_by_user_and_decodes_roles() {
    let server = MockServer::start().await;
    let (ts, _, token) = timesync(&server);
    // The documented projects lack `default_activity`, which the server always sends.
    let fixture =
        Fixture::load("timesync/projects_list.json").fill_missing("default_activity", Value::Null);
    Mock::given(method("GET"))
        .and(path("/v0/projects"))
        .and(query_param("user", "user2"))
        .and(query_param("token", token.as_str()))
        .and(query_param_is_missing("include_deleted"))
        .respond_with(fixture.response())
        .expect(1)
        .mount(&server)
        .await;
    let projects = ts.projects().user("user2").send().await.unwrap();
    let want = &fixture.body()[0];
    assert_eq!(projects[0].name, want["name"]);
    assert_eq!(
        projects[0].slugs,
        serde_json::from_value::<Vec<String>>(want["slugs"].clone()).unwrap()
    );
    let (user, roles) = projects[0].users.iter().next().unwrap();
    assert_eq!(roles.manager, want["users"][user]["manager"]);
}

#[tokio::test]
async fn get_project_with_revisions_and_project_users() {
    let server = MockServer::start().await;
    let (ts, _, _) = timesync(&server);
    let fixture =
        Fixture::load("timesync/projects_get.json").fill_missing("default_activity", Value::Null);
    Mock::given(method("GET"))
        .and(path("/v0/projects/gwm"))
        .and(query_param("include_revisions", "true"))
        .respond_with(fixture.response())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v0/projects/gwm"))
        .and(query_param_is_missing("include_revisions"))
        .respond_with(fixture.response())
        .expect(1)
        .mount(&server)
        .await;
    let projects = ts
        .projects()
        .slug("gwm")
        .include_revisions(true)
        .send()
        .await
        .unwrap();
    assert_eq!(projects.len(), 1);
    assert_eq!(projects[0].uuid.to_string(), fixture.body()["uuid"]);
    let users = ts.project_users("gwm").await.unwrap();
    let want = fixture.body()["users"].as_object().unwrap();
    assert_eq!(
        users.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (name, roles) in &users {
        assert_eq!(roles.member, want[name]["member"]);
        assert_eq!(roles.spectator, want[name]["spectator"]);
        assert_eq!(roles.manager, want[name]["manager"]);
    }
}

#[tokio::test]
async fn create_project_sends_the_envelope_and_decodes_the_echo() {
    let server = MockServer::start().await;
    let (ts, _, token) = timesync(&server);
    let fixture = Fixture::load("timesync/projects_create.json");
    Mock::given(method("POST"))
        .and(path("/v0/projects"))
        .and(header("content-type", "application/json"))
        .and(body_json(envelope(fixture.request_body(), &token)))
        .respond_with(fixture.response())
        .expect(1)
        .mount(&server)
        .await;
    let project: types::ProjectCreate =
        serde_json::from_value(fixture.request_body().clone()).unwrap();
    let created = ts.create_project(&project).await.unwrap();
    assert_eq!(created.uuid.to_string(), fixture.body()["uuid"]);
    assert_eq!(created.slugs, ["timesync", "time"]);
    assert!(created.users["user2"].manager);
}

#[tokio::test]
async fn update_project_sends_null_to_clear_the_default_activity_and_omits_untouched_fields() {
    let server = MockServer::start().await;
    let (ts, _, token) = timesync(&server);
    let fixture = Fixture::load("timesync/projects_update.json");
    let mut sent = fixture.request_body().clone();
    sent["default_activity"] = Value::Null;
    // The documented answer lacks `default_activity`, which the server always sends.
    let mut answer = fixture.body().clone();
    answer["default_activity"] = Value::Null;
    Mock::given(method("POST"))
        .and(path("/v0/projects/timesync"))
        .and(header("content-type", "application/json"))
        .and(body_json(envelope(&sent, &token)))
        .respond_with(ResponseTemplate::new(200).set_body_json(&answer))
        .expect(1)
        .mount(&server)
        .await;
    let update = types::ProjectUpdate {
        name: Some("TimeSync API".into()),
        uri: Some("https://code.osuosl.org/projects/timesync".into()),
        slugs: vec!["timesync".into(), "ts".into()],
        default_activity: Patch::Null,
        ..Default::default()
    };
    let updated = ts.update_project("timesync", &update).await.unwrap();
    assert_eq!(updated.revision, 2);
    assert_eq!(updated.default_activity, None);
    assert!(
        sent_body(&server, 0).await["object"].get("users").is_none(),
        "untouched users were sent"
    );
}

#[tokio::test]
async fn delete_project_sends_delete_and_a_405_keeps_its_text() {
    let server = MockServer::start().await;
    let (ts, _, token) = timesync(&server);
    let fixture = Fixture::load("timesync/error_method_not_allowed_delete_project.json");
    Mock::given(method("DELETE"))
        .and(path("/v0/projects/gwm"))
        .and(query_param("token", token.as_str()))
        .respond_with(fixture.response())
        .expect(1)
        .mount(&server)
        .await;
    let err = ts.delete_project("gwm").await.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.status, 405);
    assert_eq!(api.message, fixture.body()["text"]);
}

// ------------------------------------------------------------------ activities

#[tokio::test]
async fn activities_list_get_create_update_and_delete() {
    let server = MockServer::start().await;
    let (ts, _, token) = timesync(&server);
    // activities_list.json and activities_list_include_deleted.json hold other
    // shapes (a `slugs` array; a time entry), so the list is the revisions one.
    let list = Fixture::load("timesync/activities_list_include_revisions.json");
    let create = Fixture::load("timesync/activities_create.json");
    let update = Fixture::load("timesync/activities_update.json");
    Mock::given(method("GET"))
        .and(path("/v0/activities"))
        .and(query_param("include_deleted", "true"))
        .and(query_param("include_revisions", "true"))
        .respond_with(list.response())
        .expect(1)
        .mount(&server)
        .await;
    // activities_get.json documents a `slugs` array the server never sends;
    // answer the first recorded activity instead.
    let one = list.body()[0].clone();
    Mock::given(method("GET"))
        .and(path("/v0/activities/test"))
        .and(query_param_is_missing("include_deleted"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&one))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v0/activities"))
        .and(header("content-type", "application/json"))
        .and(body_json(envelope(create.request_body(), &token)))
        .respond_with(create.response())
        .expect(1)
        .mount(&server)
        .await;
    // The documented update answer has `deleted_at`, which this answer never
    // carries on the server; the type ignores unknown keys.
    Mock::given(method("POST"))
        .and(path("/v0/activities/test"))
        .and(header("content-type", "application/json"))
        .and(body_json(envelope(update.request_body(), &token)))
        .respond_with(update.response())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v0/activities/qa"))
        .and(query_param("token", token.as_str()))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;

    let all = ts
        .activities()
        .include_deleted(true)
        .include_revisions(true)
        .send()
        .await
        .unwrap();
    assert_eq!(all.len(), list.body().as_array().unwrap().len());
    assert_eq!(all[0].parents[0].name, list.body()[0]["parents"][0]["name"]);
    let got = ts.activities().slug("test").send().await.unwrap();
    assert_eq!(
        (got[0].name.as_str(), got[0].revision),
        ("Testing Infra", 2)
    );
    let created = ts
        .create_activity(&types::ActivityCreate::new(
            "Quality Assurance/Testing",
            "qa",
        ))
        .await
        .unwrap();
    assert_eq!(created.uuid.to_string(), create.body()["uuid"]);
    let renamed = ts
        .update_activity(
            "test",
            &types::ActivityUpdate {
                slug: Some("testing".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((renamed.slug.as_str(), renamed.revision), ("testing", 2));
    ts.delete_activity("qa").await.unwrap();
}

// ------------------------------------------------------------------ users

#[tokio::test]
async fn users_get_and_list_with_include_deleted() {
    let server = MockServer::start().await;
    let (ts, _, token) = timesync(&server);
    let get = Fixture::load("timesync/users_get_include_deleted.json");
    Mock::given(method("GET"))
        .and(path(format!(
            "/v0/users/{}",
            get.body()["username"].as_str().unwrap()
        )))
        .and(query_param("include_deleted", "true"))
        .and(query_param("token", token.as_str()))
        .respond_with(get.response())
        .expect(1)
        .mount(&server)
        .await;
    let users = ts
        .users()
        .username(get.body()["username"].as_str().unwrap())
        .include_deleted(true)
        .send()
        .await
        .unwrap();
    assert!(!users[0].active);
    assert!(users[0].deleted_at.is_some());
}

#[tokio::test]
async fn create_user_sends_a_bcrypt_hash_never_the_password() {
    let server = MockServer::start().await;
    let (ts, _, token) = timesync(&server);
    // The server's answer (timesync-node tests/users.js): created_at in epoch ms.
    let answer = json!({
        "username": "guyn", "display_name": "New Guy", "email": "guyn@example.com",
        "site_spectator": false, "site_manager": false, "site_admin": false, "active": true,
        "meta": "Just arrived", "created_at": 1_455_494_400_000_i64, "updated_at": null, "deleted_at": null
    });
    Mock::given(method("POST"))
        .and(path("/v0/users"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&answer))
        .expect(1)
        .mount(&server)
        .await;
    let mut user = types::UserCreate::new("guyn", "correct horse");
    user.display_name = Some("New Guy".into());
    user.email = Some("guyn@example.com".into());
    user.meta = Some("Just arrived".into());
    let created = ts.create_user(&user).await.unwrap();
    assert_eq!(created.created_at, 1_455_494_400_000);

    let body = sent_body(&server, 0).await;
    assert_eq!(body["auth"], json!({"type": "token", "token": token}));
    let hash = body["object"]["password"].as_str().unwrap();
    assert!(hash.starts_with("$2a$04$"), "{hash}");
    assert!(bcrypt::verify("correct horse", hash).unwrap());
    let mut object = body["object"].clone();
    object.as_object_mut().unwrap().remove("password");
    assert_eq!(
        object,
        json!({"username": "guyn", "display_name": "New Guy", "email": "guyn@example.com", "meta": "Just arrived"})
    );
}

#[tokio::test]
async fn update_user_clears_the_email_with_null_and_hashes_a_new_password() {
    let server = MockServer::start().await;
    let (ts, _, _) = timesync(&server);
    let fixture = Fixture::load("timesync/users_update.json");
    // The documented answer lacks `active`, which the server always sends.
    let mut answer = fixture.body().clone();
    answer["active"] = json!(true);
    answer["email"] = Value::Null;
    Mock::given(method("POST"))
        .and(path("/v0/users/user1"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&answer))
        .expect(1)
        .mount(&server)
        .await;
    let update = types::UserUpdate {
        display_name: Some("New Displayname".into()),
        email: Patch::Null,
        password: Some("Battery Staple".into()),
        ..Default::default()
    };
    let updated = ts.update_user("user1", &update).await.unwrap();
    assert_eq!(updated.email, None);
    let object = sent_body(&server, 0).await["object"].clone();
    assert_eq!(object["email"], Value::Null);
    assert_eq!(object["display_name"], "New Displayname");
    assert!(bcrypt::verify("Battery Staple", object["password"].as_str().unwrap()).unwrap());
    assert!(
        object.get("meta").is_none() && object.get("site_admin").is_none(),
        "untouched fields were sent: {object}"
    );
}

#[tokio::test]
async fn delete_user_sends_delete_with_the_token() {
    let server = MockServer::start().await;
    let (ts, _, token) = timesync(&server);
    Mock::given(method("DELETE"))
        .and(path("/v0/users/user1"))
        .and(query_param("token", token.as_str()))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    ts.delete_user("user1").await.unwrap();
}

// ------------------------------------------------------------------ errors

#[tokio::test]
async fn a_401_404_and_500_are_typed_api_errors() {
    let server = MockServer::start().await;
    let (ts, _, _) = timesync(&server);
    for (slug, file) in [
        ("a", "timesync/error_authentication_bad_token.json"),
        ("b", "timesync/error_object_not_found.json"),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/v0/activities/{slug}")))
            .respond_with(Fixture::load(file).response())
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/v0/activities/c"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({
            "status": 500, "error": "Server error", "text": "Unexpected server error."
        })))
        .mount(&server)
        .await;

    let unauthorized = ts.activities().slug("a").send().await.unwrap_err();
    assert!(unauthorized.is_unauthorized());
    assert_eq!(unauthorized.api().unwrap().message, "Bad API token");
    let missing = ts.activities().slug("b").send().await.unwrap_err();
    assert!(missing.is_not_found());
    assert_eq!(
        missing.to_string(),
        "the API answered 404 Not Found (Object not found): Nonexistent time"
    );
    let broken = ts.activities().slug("c").send().await.unwrap_err();
    assert_eq!(
        broken.status(),
        Some(reqwest::StatusCode::INTERNAL_SERVER_ERROR)
    );
    assert_eq!(
        broken.api().unwrap().body::<types::Error>().unwrap().text,
        "Unexpected server error."
    );
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        3,
        "a 500 is not retried"
    );
}

#[tokio::test]
async fn a_bad_object_error_names_its_field() {
    let server = MockServer::start().await;
    let (ts, _, _) = timesync(&server);
    let fixture = Fixture::load("timesync/error_bad_object_missing_field.json");
    Mock::given(method("POST"))
        .and(path("/v0/activities"))
        .and(header("content-type", "application/json"))
        .respond_with(fixture.response())
        .mount(&server)
        .await;
    let err = ts
        .create_activity(&types::ActivityCreate::new("QA", "qa"))
        .await
        .unwrap_err();
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
    Mock::given(method("GET"))
        .and(path("/v0/times"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&bad))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v0/times/{UUID}")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(r#"{"duration": 1, "user": "#, "application/json"),
        )
        .mount(&server)
        .await;

    match ts.times().send().await.unwrap_err() {
        Error::Decode { path, .. } => assert_eq!(path, "$[0].duration"),
        other => panic!("{other:?}"),
    }
    match ts.times().uuid(UUID).send().await.unwrap_err() {
        Error::Decode { path, source } => {
            assert_eq!(path, "$");
            assert!(source.is_eof());
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_html_error_page_keeps_its_status_and_text() {
    let server = MockServer::start().await;
    let (ts, _, _) = timesync(&server);
    Mock::given(method("POST"))
        .and(path("/v0/activities"))
        .and(header("content-type", "application/json"))
        .respond_with(
            ResponseTemplate::new(502)
                .set_body_raw("<html><body>Bad gateway</body></html>", "text/html"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = ts
        .create_activity(&types::ActivityCreate::new("QA", "qa"))
        .await
        .unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.status, 502);
    assert_eq!(api.message, "<html><body>Bad gateway</body></html>");
}

// ------------------------------------------------------------------ retries

#[tokio::test]
async fn a_503_then_200_succeeds_after_one_retry() {
    let server = MockServer::start().await;
    let (ts, waits, _) = timesync(&server);
    Mock::given(method("GET"))
        .and(path("/v0/users"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "2"))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v0/users"))
        .respond_with(Fixture::load("timesync/users_list.json").response())
        .expect(1)
        .mount(&server)
        .await;
    let users = ts.users().send().await.unwrap();
    assert_eq!(users[0].username, "user1");
    assert_eq!(waits.recorded(), [Duration::from_secs(2)]);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests[0].url, requests[1].url,
        "the retry is the same request"
    );
}

#[tokio::test]
async fn a_post_is_not_retried_after_a_503() {
    let server = MockServer::start().await;
    let (ts, waits, _) = timesync(&server);
    Mock::given(method("POST"))
        .and(path("/v0/activities"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({
            "status": 503, "error": "Service unavailable", "text": "try later"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let err = ts
        .create_activity(&types::ActivityCreate::new("QA", "qa"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(reqwest::StatusCode::SERVICE_UNAVAILABLE));
    assert!(waits.recorded().is_empty());
}

#[tokio::test]
async fn a_429_over_the_wait_budget_is_rate_limited_at_once() {
    let server = MockServer::start().await;
    let waits = crate::support::Waits::default();
    let ts = specbound::timesync::Client::builder()
        .base_url(format!("{}/v0", server.uri()))
        .token(fresh_token())
        .sleep(waits.sleep())
        .retry(specbound::runtime::RetryPolicy::standard().max_wait(Duration::from_secs(30)))
        .build()
        .unwrap();
    Mock::given(method("GET"))
        .and(path("/v0/users"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "93")
                .set_body_raw("slow down", "text/plain"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = ts.users().send().await.unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(93)),
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
    let waits = crate::support::Waits::default();
    let token = fresh_token();
    let ts = specbound::timesync::Client::builder()
        .base_url(format!("http://{unused}/v0"))
        .token(token.as_str())
        .sleep(waits.sleep())
        .build()
        .unwrap();
    let err = ts.times().send().await.unwrap_err();
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
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    Mock::given(method("POST"))
        .and(path("/v0/login"))
        .and(header("content-type", "application/json"))
        .and(body_json(
            json!({"auth": {"type": "password", "username": "alice", "password": "pw"}}),
        ))
        .respond_with(move |_: &Request| {
            let i = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            ResponseTemplate::new(200).set_body_json(json!({ "token": logins[i.min(1)] }))
        })
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v0/users"))
        .and(query_param("token", new.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    let (ts, _) = timesync_with(&server, Some(&old));
    // The first login answers a token with 20 s left: under the 60 s margin,
    // so the next call logs in again first.
    ts.authenticate("alice", "pw", AuthType::Password)
        .await
        .unwrap();
    ts.users().send().await.unwrap();
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_401_logs_in_again_once_and_replays_the_request() {
    let server = MockServer::start().await;
    let first = fresh_token();
    let second = timesync_token("alice", 7_200_000);
    let answers = [first.clone(), second.clone()];
    let logins = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = logins.clone();
    Mock::given(method("POST"))
        .and(path("/v0/login"))
        .and(header("content-type", "application/json"))
        .respond_with(move |_: &Request| {
            let i = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            ResponseTemplate::new(200).set_body_json(json!({ "token": answers[i.min(1)] }))
        })
        .mount(&server)
        .await;
    // The server restarted and forgot the first token.
    Mock::given(method("POST"))
        .and(path("/v0/activities"))
        .and(header("content-type", "application/json"))
        .and(body_json(envelope(
            &json!({"name": "QA", "slug": "qa"}),
            &first,
        )))
        .respond_with(Fixture::load("timesync/error_authentication_bad_token.json").response())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v0/activities"))
        .and(header("content-type", "application/json"))
        .and(body_json(envelope(
            &json!({"name": "QA", "slug": "qa"}),
            &second,
        )))
        .respond_with(Fixture::load("timesync/activities_create.json").response())
        .expect(1)
        .mount(&server)
        .await;
    let (ts, _) = timesync_with(&server, None);
    ts.authenticate("alice", "pw", AuthType::Password)
        .await
        .unwrap();
    let created = ts
        .create_activity(&types::ActivityCreate::new("QA", "qa"))
        .await
        .unwrap();
    assert_eq!(created.slug.as_deref(), Some("qa"));
    assert_eq!(logins.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_401_authorization_failure_is_not_replayed_and_does_not_log_in_again() {
    let server = MockServer::start().await;
    let token = fresh_token();
    Mock::given(method("POST"))
        .and(path("/v0/login"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "token": token })))
        .expect(1)
        .mount(&server)
        .await;
    let refused = Fixture::load("timesync/error_authorization_failure.json");
    Mock::given(method("POST"))
        .and(path("/v0/activities"))
        .respond_with(refused.response())
        .expect(1)
        .mount(&server)
        .await;
    let (ts, _) = timesync_with(&server, None);
    ts.authenticate("alice", "pw", AuthType::Password)
        .await
        .unwrap();
    let err = ts
        .create_activity(&types::ActivityCreate::new("QA", "qa"))
        .await
        .unwrap_err();
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
    let err = ts.times().send().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Auth {
                kind: AuthErrorKind::Expired,
                ..
            }
        ),
        "{err:?}"
    );
    let (fresh, _) = timesync_with(&server, None);
    let err = fresh.delete_time(UUID).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Auth {
                kind: AuthErrorKind::Missing,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("call authenticate() first"));
    assert!(server.received_requests().await.unwrap().is_empty());
}

// ------------------------------------------------------------------ local validation

/// Asserts that `result` is `Error::Invalid` for `field`.
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

    // durations
    assert_invalid("3.5h".parse::<specbound::timesync::Duration>(), "duration");
    // slugs, usernames, uuids, dates, URIs
    assert_invalid(
        ts.create_time(&time("Not_A_Slug", "alice")).await,
        "project",
    );
    assert_invalid(ts.create_time(&time("gwm", "no spaces")).await, "user");
    let mut bad_activity = time("gwm", "alice");
    bad_activity.activities = vec!["dev".into(), "--".into()];
    assert_invalid(ts.create_time(&bad_activity).await, "activities");
    let mut bad_uri = time("gwm", "alice");
    bad_uri.issue_uri = Some("github.com/osuosl/gwm/issues/1".into());
    assert_invalid(ts.create_time(&bad_uri).await, "issue_uri");
    assert_invalid(
        ts.update_time("not-a-uuid", &types::TimeUpdate::default())
            .await,
        "uuid",
    );
    assert_invalid(
        ts.delete_time("12345678123442348234123456789abc").await,
        "uuid",
    );
    assert_invalid(ts.times().start("2026-13-01").send().await, "start");
    assert_invalid(ts.times().end("23/11/2026").send().await, "end");
    assert_invalid(
        ts.times()
            .start("2026-11-02")
            .end("2026-11-01")
            .send()
            .await,
        "start",
    );
    assert_invalid(ts.times().uuid(UUID).user("alice").send().await, "uuid");
    assert_invalid(ts.times().user("Bad User").send().await, "user");
    // pymesync's refusal of slug with include_deleted
    assert_invalid(
        ts.projects().slug("gwm").include_deleted(true).send().await,
        "include_deleted",
    );
    assert_invalid(
        ts.activities()
            .slug("dev")
            .include_deleted(false)
            .send()
            .await,
        "include_deleted",
    );
    // required and non-empty fields
    assert_invalid(
        ts.create_project(&types::ProjectCreate::new("GWM", &[]))
            .await,
        "slugs",
    );
    assert_invalid(
        ts.create_project(&types::ProjectCreate::new(" ", &["gwm"]))
            .await,
        "name",
    );
    assert_invalid(
        ts.create_activity(&types::ActivityCreate::new("", "dev"))
            .await,
        "name",
    );
    assert_invalid(
        ts.create_activity(&types::ActivityCreate::new("Dev", "Dev"))
            .await,
        "slug",
    );
    assert_invalid(
        ts.create_user(&types::UserCreate::new("guyn", "")).await,
        "password",
    );
    assert_invalid(
        ts.create_user(&types::UserCreate::new("guy n", "pw")).await,
        "username",
    );
    assert_invalid(
        ts.update_user("guy!", &types::UserUpdate::default()).await,
        "username",
    );
    assert_invalid(ts.delete_project("GWM").await, "slug");
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
        server.received_requests().await.unwrap().is_empty(),
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
        let err = specbound::timesync::Client::new(bad).unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{bad}: {err:?}");
    }
    assert!(specbound::timesync::Client::new("https://timesync.example.edu/v0/").is_ok());
}

// ------------------------------------------------------------------ secrets

#[tokio::test]
async fn no_token_or_password_in_debug_display_errors_or_traces() {
    crate::support::traces(); // installs the capturing subscriber
    let server = MockServer::start().await;
    let token = fresh_token();
    let password = "hunter2-is-the-password";
    Mock::given(method("POST"))
        .and(path("/v0/login"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "token": token })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v0/times"))
        .respond_with(Fixture::load("timesync/error_authentication_bad_token.json").response())
        .mount(&server)
        .await;
    let (ts, _) = timesync_with(&server, None);
    ts.authenticate("alice", password, AuthType::Password)
        .await
        .unwrap();
    let err = ts.times().send().await.unwrap_err();

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
