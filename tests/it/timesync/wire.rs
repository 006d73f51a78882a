//! Every TimeSync operation on the wire: method, path, query, headers and
//! body, and the typed result, against recorded fixtures.

use futures::TryStreamExt;
use serde_json::{Value, json};
use specbound::runtime::Patch;
use specbound::timesync::{AuthType, prelude::*, types};
use wiremock::matchers::{body_json, query_param, query_param_is_missing};
use wiremock::{MockServer, ResponseTemplate};

use super::{
    AnswerOnce as _, UUID, date, delete_with_token, enveloped_post, get, json_post, ok_json,
    sent_body, strings, update_activity, update_project, update_time, update_user,
};
use crate::support::{
    Fixture, assert_auth_error, fresh_token, received, sent_query, timesync, timesync_with,
};

// ------------------------------------------------------------------ login

#[tokio::test]
async fn authenticate_posts_the_login_block_and_later_calls_carry_the_token() {
    let server = MockServer::start().await;
    let login = Fixture::load("timesync/login_password.json");
    // The recorded token expired in 2015; answer the same shape with a live one.
    let token = fresh_token();
    json_post("/login")
        .and(body_json(login.request_body()))
        .answer_once(
            ResponseTemplate::new(200)
                // The reference server sends this JSON as text/html.
                .set_body_raw(
                    serde_json::to_vec(&json!({ "token": token })).unwrap(),
                    "text/html; charset=utf-8",
                ),
            &server,
        )
        .await;
    get("/users")
        .and(query_param("token", token.as_str()))
        .answer_once(
            Fixture::load("timesync/users_list.json").response(),
            &server,
        )
        .await;

    let (ts, _) = timesync_with(&server, None);
    ts.authenticate("example-user", "pass", AuthType::Password)
        .await
        .unwrap();
    let users = ts.list_users().send().await.unwrap().into_inner();
    assert_eq!(users[0].username, "user1");
    let requests = received(&server).await;
    assert!(
        requests[0].headers.get("api-version").is_none(),
        "progenitor's api-version header leaked"
    );
    assert!(requests[1].headers.get("authorization").is_none());
}

#[tokio::test]
async fn ldap_login_sends_type_ldap_and_a_refused_login_is_a_typed_401() {
    let server = MockServer::start().await;
    json_post("/login")
        .and(body_json(json!({"auth": {"type": "ldap", "username": "bob", "password": "wrong"}})))
        .answer_once(
            ResponseTemplate::new(401).set_body_json(json!({
                "status": 401, "error": "Authentication failure", "text": "Incorrect username or password"
            })),
            &server,
        )
        .await;
    let (ts, _) = timesync_with(&server, None);
    let err = ts
        .authenticate("bob", "wrong", AuthType::Ldap)
        .await
        .unwrap_err();
    let api = err.api().expect("an API error");
    assert_eq!(api.status, 401);
    assert_eq!(api.operation, "login");
    assert_eq!(api.code.as_deref(), Some("Authentication failure"));
    assert_eq!(api.message, "Incorrect username or password");
    assert_eq!(api.body::<types::Error>().unwrap().status, 401);
    assert!(err.is_unauthorized());
    let no_token = ts.token_expiration_time().unwrap_err();
    assert_auth_error(&no_token, specbound::AuthErrorKind::Missing);
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
    get("/times")
        .and(query_param("token", token.as_str()))
        .and(query_param("start", "2014-04-01"))
        .and(query_param("end", "2014-04-30"))
        .and(query_param("include_revisions", "false"))
        .and(query_param("include_deleted", "true"))
        .answer_once(fixture.response(), &server)
        .await;

    let times: Vec<types::Time> = ts
        .list_times()
        .user(strings(&["example-user", "example-2"]))
        .project(strings(&["gwm"]))
        .activity(strings(&["docs", "planning"]))
        .start(date("2014-04-01"))
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
    assert_eq!(times[0].duration, 12_000.0);
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
    get("/times")
        .and(query_param("include_revisions", "true"))
        .answer_once(fixture.response(), &server)
        .await;
    let times = ts
        .list_times()
        .include_revisions(true)
        .send()
        .await
        .unwrap()
        .into_inner();
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
    get("/times")
        .and(query_param("include_deleted", "true"))
        .answer_once(fixture.response(), &server)
        .await;
    let times = ts
        .list_times()
        .include_deleted(true)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(times.len(), fixture.body().as_array().unwrap().len());
    assert!(times.iter().any(|t| t.deleted_at.is_some()));
    assert!(times.iter().any(|t| t.notes.as_deref() == Some("")));
}

#[tokio::test]
async fn get_time_gets_one_entry_with_include_deleted() {
    let server = MockServer::start().await;
    let (ts, _, token) = timesync(&server);
    let fixture = Fixture::load("timesync/times_get_include_deleted.json");
    let uuid = fixture.body()["uuid"].as_str().unwrap().to_string();
    get(&format!("/times/{uuid}"))
        .and(query_param("include_deleted", "true"))
        .and(query_param("token", token.as_str()))
        .and(query_param_is_missing("user"))
        .answer_once(fixture.response(), &server)
        .await;
    let time = ts
        .get_time()
        .uuid(uuid.as_str())
        .include_deleted(true)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(time.uuid.to_string(), uuid);
    assert_eq!(
        time.deleted_at,
        Some(date(fixture.body()["deleted_at"].as_str().unwrap()))
    );
}

#[tokio::test]
async fn a_raw_request_sends_the_recorded_create_time_in_the_auth_envelope() {
    let server = MockServer::start().await;
    let (ts, _, token) = timesync(&server);
    let fixture = Fixture::load("timesync/times_create.json");
    let sent = fixture.request_body();
    enveloped_post("/times", sent, &token)
        .and(query_param_is_missing("token"))
        .answer_once(fixture.response(), &server)
        .await;

    // The documented slug `ganeti_web_manager` breaks the server's slug rule
    // (no `_`), so the `create_time` builder refuses it; a raw request of
    // the operation sends what the recording sent, with the session's token.
    let answer = ts
        .raw_request(http::Method::POST, "/times")
        .operation("create_time")
        .json(&json!({ "object": sent }))
        .send()
        .await
        .unwrap();
    let created: types::TimeCreated = answer.json().unwrap();
    assert_eq!(created.uuid.to_string(), fixture.body()["uuid"]);
    assert_eq!(created.project, "ganeti_web_manager");
    assert_eq!(created.activities, ["docs"]);
    assert_eq!(created.revision, 1);
    assert_eq!(created.created_at, date("2014-04-17"));
    let refused = ts
        .create_time()
        .body(serde_json::from_value::<types::TimeCreate>(sent.clone()).unwrap())
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, specbound::Error::Invalid { field, .. } if field == "body.object.project"),
        "{refused:?}"
    );
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
    enveloped_post("/times", &object, &token)
        .answer_once(ok_json(&answer), &server)
        .await;
    let mut time = types::TimeCreate::new(
        "3h30m".parse().unwrap(),
        "gwm",
        "example-2",
        date("2014-04-17"),
    );
    time.activities = vec!["docs".into()];
    time.issue_uri = Some("https://github.com/osuosl/ganeti_webmgr/issues/56".into());
    let created = ts.create_time().body(time).send().await.unwrap();
    assert_eq!(created.duration, 12_600.0);
}

#[tokio::test]
async fn update_time_sends_only_the_fields_set() {
    let server = MockServer::start().await;
    let (ts, _, token) = timesync(&server);
    let fixture = Fixture::load("timesync/times_update.json");
    enveloped_post(&format!("/times/{UUID}"), fixture.request_body(), &token)
        .answer_once(fixture.response(), &server)
        .await;
    let update = types::TimeUpdate {
        duration: Some(
            "5h".parse::<specbound::timesync::Duration>()
                .unwrap()
                .as_secs_f64(),
        ),
        notes: Some(fixture.request_body()["notes"].as_str().unwrap().into()),
        date_worked: Some(date("2014-06-07")),
        ..Default::default()
    };
    let updated = update_time(&ts, UUID, update).await.unwrap();
    assert_eq!(updated.revision, 2);
    assert_eq!(updated.duration, 18_000.0);
    assert_eq!(updated.updated_at, Some(date("2014-07-02")));
}

#[tokio::test]
async fn delete_time_sends_delete_with_the_token_and_accepts_an_empty_200() {
    let server = MockServer::start().await;
    let (ts, _, token) = timesync(&server);
    delete_with_token(&format!("/times/{UUID}"), &token)
        .respond_with(ResponseTemplate::new(200))
        .expect(2)
        .mount(&server)
        .await;
    ts.delete_time().uuid(UUID).send().await.unwrap();
    // A UUID given without hyphens is sent in the hyphenated form the
    // server checks for.
    ts.delete_time()
        .uuid(UUID.replace('-', "").as_str())
        .send()
        .await
        .unwrap();
}

// ------------------------------------------------------------------ projects

#[tokio::test]
async fn list_projects_filters_by_user_and_decodes_roles() {
    let server = MockServer::start().await;
    let (ts, _, token) = timesync(&server);
    // The documented projects lack `default_activity`, which the server always sends.
    let fixture =
        Fixture::load("timesync/projects_list.json").fill_missing("default_activity", Value::Null);
    get("/projects")
        .and(query_param("user", "user2"))
        .and(query_param("token", token.as_str()))
        .and(query_param_is_missing("include_deleted"))
        .answer_once(fixture.response(), &server)
        .await;
    let projects = ts
        .list_projects()
        .user(strings(&["user2"]))
        .send()
        .await
        .unwrap()
        .into_inner();
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
    get("/projects/gwm")
        .and(query_param("include_revisions", "true"))
        .answer_once(fixture.response(), &server)
        .await;
    get("/projects/gwm")
        .and(query_param_is_missing("include_revisions"))
        .answer_once(fixture.response(), &server)
        .await;
    let project = ts
        .get_project()
        .slug("gwm")
        .include_revisions(true)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(project.uuid.to_string(), fixture.body()["uuid"]);
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
    enveloped_post("/projects", fixture.request_body(), &token)
        .answer_once(fixture.response(), &server)
        .await;
    let project: types::ProjectCreate =
        serde_json::from_value(fixture.request_body().clone()).unwrap();
    let created = ts
        .create_project()
        .body(project)
        .send()
        .await
        .unwrap()
        .into_inner();
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
    enveloped_post("/projects/timesync", &sent, &token)
        .answer_once(ok_json(&answer), &server)
        .await;
    let update = types::ProjectUpdate {
        name: Some("TimeSync API".into()),
        uri: Some("https://code.osuosl.org/projects/timesync".into()),
        slugs: vec!["timesync".into(), "ts".into()],
        default_activity: Patch::Null,
        ..Default::default()
    };
    let updated = update_project(&ts, "timesync", update).await.unwrap();
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
    delete_with_token("/projects/gwm", &token)
        .answer_once(fixture.response(), &server)
        .await;
    let err = ts.delete_project().slug("gwm").send().await.unwrap_err();
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
    get("/activities")
        .and(query_param("include_deleted", "true"))
        .and(query_param("include_revisions", "true"))
        .answer_once(list.response(), &server)
        .await;
    // activities_get.json documents a `slugs` array the server never sends;
    // answer the first recorded activity instead.
    let one = list.body()[0].clone();
    get("/activities/test")
        .and(query_param_is_missing("include_deleted"))
        .answer_once(ok_json(&one), &server)
        .await;
    enveloped_post("/activities", create.request_body(), &token)
        .answer_once(create.response(), &server)
        .await;
    // The documented update answer has `deleted_at`, which this answer never
    // carries on the server; the type ignores unknown keys.
    enveloped_post("/activities/test", update.request_body(), &token)
        .answer_once(update.response(), &server)
        .await;
    delete_with_token("/activities/qa", &token)
        .answer_once(ResponseTemplate::new(200), &server)
        .await;

    let all = ts
        .list_activities()
        .include_deleted(true)
        .include_revisions(true)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.len(), list.body().as_array().unwrap().len());
    assert_eq!(all[0].parents[0].name, list.body()[0]["parents"][0]["name"]);
    let got = ts
        .get_activity()
        .slug("test")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!((got.name.as_str(), got.revision), ("Testing Infra", 2));
    let created = ts
        .create_activity()
        .body(types::ActivityCreate::new(
            "Quality Assurance/Testing",
            "qa",
        ))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.uuid.to_string(), create.body()["uuid"]);
    let rename = types::ActivityUpdate {
        slug: Some("testing".into()),
        ..Default::default()
    };
    let renamed = update_activity(&ts, "test", rename).await.unwrap();
    assert_eq!((renamed.slug.as_str(), renamed.revision), ("testing", 2));
    ts.delete_activity().slug("qa").send().await.unwrap();
}

// ------------------------------------------------------------------ users

#[tokio::test]
async fn users_get_with_include_deleted() {
    let server = MockServer::start().await;
    let (ts, _, token) = timesync(&server);
    let fixture = Fixture::load("timesync/users_get_include_deleted.json");
    let username = fixture.body()["username"].as_str().unwrap();
    get(&format!("/users/{username}"))
        .and(query_param("include_deleted", "true"))
        .and(query_param("token", token.as_str()))
        .answer_once(fixture.response(), &server)
        .await;
    let user = ts
        .get_user()
        .username(username)
        .include_deleted(true)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(!user.active);
    assert!(user.deleted_at.is_some());
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
    json_post("/users")
        .answer_once(ok_json(&answer), &server)
        .await;
    let mut user = types::UserCreate::new("guyn", "correct horse");
    user.display_name = Some("New Guy".into());
    user.email = Some("guyn@example.com".into());
    user.meta = Some("Just arrived".into());
    let created = ts.create_user().body(user).send().await.unwrap();
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
    json_post("/users/user1")
        .answer_once(ok_json(&answer), &server)
        .await;
    let update = types::UserUpdate {
        display_name: Some("New Displayname".into()),
        email: Patch::Null,
        password: Some("Battery Staple".into()),
        ..Default::default()
    };
    let updated = update_user(&ts, "user1", update).await.unwrap();
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
    delete_with_token("/users/user1", &token)
        .answer_once(ResponseTemplate::new(200), &server)
        .await;
    ts.delete_user().username("user1").send().await.unwrap();
}
