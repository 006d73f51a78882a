//! The TimeSync sandbox driven by the real client over real HTTP: typed
//! results, typed errors with the reference server's exact texts, roles,
//! revisions, soft deletion and token renewal.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use chrono::{NaiveDate, Utc};
use futures::TryStreamExt;
use serde_json::{Value, json};
use specbound::runtime::Patch;
use specbound::sandbox::timesync::{ProjectRole, Role, TimeSync};
use specbound::timesync::{AuthType, Client, prelude::*, types};

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// A client on the sandbox with fast password hashing, not logged in.
fn client(server: &TimeSync) -> Client {
    Client::builder()
        .base_url(server.base_url())
        .bcrypt_cost(4)
        .build()
        .unwrap()
}

/// A client logged in as `username`.
async fn logged_in(server: &TimeSync, username: &str, password: &str) -> Client {
    let ts = client(server);
    ts.authenticate(username, password, AuthType::Password)
        .await
        .unwrap();
    ts
}

/// The typed TimeSync error of a refused call, after checking that the
/// normalised `ApiError` agrees with it.
#[track_caller]
fn refused<T: std::fmt::Debug>(result: specbound::Result<T>) -> types::Error {
    let err = result.expect_err("the sandbox should refuse this call");
    let api = err
        .api()
        .unwrap_or_else(|| panic!("not an API error: {err:?}"));
    let body = api
        .body::<types::Error>()
        .expect("a typed TimeSync error body")
        .clone();
    assert_eq!(i64::from(api.status.as_u16()), body.status);
    assert_eq!(api.code.as_deref(), Some(body.error.as_str()));
    assert_eq!(api.message, body.text);
    body
}

fn error(status: i64, kind: &str, text: &str) -> types::Error {
    types::Error {
        status,
        error: kind.to_string(),
        text: text.to_string(),
        values: Vec::new(),
    }
}

fn error_with(status: i64, kind: &str, text: &str, values: &[&str]) -> types::Error {
    types::Error {
        values: values.iter().map(|v| v.to_string()).collect(),
        ..error(status, kind, text)
    }
}

/// A time entry of `seconds` on `project` with `activities`.
fn time(
    seconds: u64,
    project: &str,
    user: &str,
    worked: &str,
    activities: &[&str],
) -> types::TimeCreate {
    let mut t = types::TimeCreate::new(seconds.into(), project, user, date(worked));
    t.activities = activities.iter().map(|a| a.to_string()).collect();
    t
}

/// The sorted durations of `times`, which the tests use as ids.
fn durations(times: &[types::Time]) -> Vec<u64> {
    let mut d: Vec<u64> = times.iter().map(|t| t.duration).collect();
    d.sort_unstable();
    d
}

// ------------------------------------------------------------------ raw HTTP

thread_local! {
    /// One plain HTTP client per test (each test runs on its own thread).
    static HTTP: reqwest::Client = reqwest::Client::new();
}

fn http() -> reqwest::Client {
    HTTP.with(Clone::clone)
}

/// A token from `POST /login`, without the client.
async fn raw_token(server: &TimeSync, username: &str, password: &str) -> String {
    let (status, body) = raw_post(
        server,
        "/login",
        json!({"auth": {"type": "password", "username": username, "password": password}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().unwrap().to_string()
}

async fn raw_post(server: &TimeSync, path: &str, body: Value) -> (u16, Value) {
    let response = http()
        .post(format!("{}{path}", server.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    decode(response).await
}

async fn raw_get(server: &TimeSync, path_and_query: &str) -> (u16, Value) {
    let response = http()
        .get(format!("{}{path_and_query}", server.base_url()))
        .send()
        .await
        .unwrap();
    decode(response).await
}

async fn decode(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A POST body with the token block.
fn envelope(token: &str, object: Value) -> Value {
    json!({"auth": {"type": "token", "token": token}, "object": object})
}

/// alice (member and manager of gwm), bob (member of gwm and tsync), carol
/// (site spectator), mgr (site manager), admin; activities dev and docs.
async fn team() -> TimeSync {
    TimeSync::builder()
        .user("admin", "admin-pw", Role::Admin)
        .user("mgr", "mgr-pw", Role::Manager)
        .user("carol", "carol-pw", Role::Spectator)
        .user("alice", "alice-pw", Role::Member)
        .user("bob", "bob-pw", Role::Member)
        .activity("dev", "Development")
        .activity("docs", "Documentation")
        .project(
            "gwm",
            "Ganeti Web Manager",
            &[
                ("alice", ProjectRole::Manager),
                ("bob", ProjectRole::Member),
            ],
        )
        .project(
            "tsync",
            "TimeSync",
            &[("alice", ProjectRole::Member), ("bob", ProjectRole::Member)],
        )
        .start()
        .await
        .unwrap()
}

// ------------------------------------------------------------------ login and tokens

#[tokio::test]
async fn password_login_answers_a_padded_base64_token_that_expires_after_the_ttl() {
    let server = team().await;
    let response = http()
        .post(format!("{}/login", server.base_url()))
        .json(&json!({"auth": {"type": "password", "username": "alice", "password": "alice-pw"}}))
        .send()
        .await
        .unwrap();
    // As the reference server, JSON sent as text/html.
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    let token = body["token"].as_str().unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let b64 = base64::engine::general_purpose::STANDARD;
    let header: Value = serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header, json!({"typ": "JWT", "alg": "HMAC-SHA512"}));
    let payload: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(payload["sub"], "alice");
    assert!(payload["iss"].is_string());
    let (iat, exp) = (
        payload["iat"].as_i64().unwrap(),
        payload["exp"].as_i64().unwrap(),
    );
    assert_eq!(exp - iat, 30 * 60 * 1000);
    assert!(b64.decode(parts[2]).is_ok());

    let ts = logged_in(&server, "alice", "alice-pw").await;
    let expires = ts.token_expiration_time().unwrap();
    let left = (expires - Utc::now()).num_seconds();
    assert!((29 * 60..=30 * 60).contains(&left), "{left}");
    assert_eq!(server.login_count(), 2);
}

#[tokio::test]
async fn a_wrong_password_or_unknown_user_is_refused_with_the_servers_401_text() {
    let server = team().await;
    let ts = client(&server);
    let wrong = error(
        401,
        "Authentication failure",
        "Incorrect username or password",
    );
    assert_eq!(
        refused(ts.authenticate("alice", "nope", AuthType::Password).await),
        wrong
    );
    assert_eq!(
        refused(
            ts.authenticate("nobody", "alice-pw", AuthType::Password)
                .await
        ),
        wrong
    );
    // Usernames match exactly.
    assert_eq!(
        refused(
            ts.authenticate("Alice", "alice-pw", AuthType::Password)
                .await
        ),
        wrong
    );
    assert_eq!(server.login_count(), 0);
    // Without a session the client refuses locally, before any request.
    let err = ts.users().send().await.unwrap_err();
    assert!(matches!(err, specbound::Error::Auth { .. }), "{err:?}");
}

#[tokio::test]
async fn ldap_users_log_in_with_the_ldap_strategy_only() {
    let server = TimeSync::builder()
        .user("alice", "alice-pw", Role::Admin)
        .ldap_user("bob", "ldap-pw", Role::Member)
        .start()
        .await
        .unwrap();
    let bob = client(&server);
    bob.authenticate("bob", "ldap-pw", AuthType::Ldap)
        .await
        .unwrap();
    let me = bob.users().username("bob").send().await.unwrap();
    assert_eq!(me[0].username, "bob");
    assert!(!me[0].site_admin);
    // bob has no local password.
    assert_eq!(
        refused(
            client(&server)
                .authenticate("bob", "ldap-pw", AuthType::Password)
                .await
        ),
        error(
            401,
            "Authentication failure",
            "Incorrect username or password"
        )
    );
    // alice is not in the directory: passport-ldapauth's own message.
    assert_eq!(
        refused(
            client(&server)
                .authenticate("alice", "alice-pw", AuthType::Ldap)
                .await
        ),
        error(401, "Authentication failure", "Invalid username/password")
    );
    assert_eq!(server.login_count(), 1);
}

#[tokio::test]
async fn ldap_login_is_a_bad_query_value_when_no_ldap_user_enabled_the_strategy() {
    let server = team().await;
    assert_eq!(
        refused(
            client(&server)
                .authenticate("alice", "alice-pw", AuthType::Ldap)
                .await
        ),
        error(
            401,
            "Bad query value",
            "ldap is not a valid authentication type"
        )
    );
}

#[tokio::test]
async fn a_short_token_ttl_makes_the_client_log_in_again_before_each_request() {
    let server = TimeSync::builder()
        .user("alice", "alice-pw", Role::Member)
        .token_ttl(Duration::from_secs(30))
        .start()
        .await
        .unwrap();
    let ts = logged_in(&server, "alice", "alice-pw").await;
    assert_eq!(server.login_count(), 1);
    // 30 s is inside the client's renewal margin: every call logs in first.
    assert_eq!(ts.users().send().await.unwrap().len(), 1);
    assert_eq!(server.login_count(), 2);
    assert_eq!(ts.projects().send().await.unwrap().len(), 0);
    assert_eq!(server.login_count(), 3);
    let left = (ts.token_expiration_time().unwrap() - Utc::now()).num_seconds();
    assert!((0..=30).contains(&left), "{left}");
}

#[tokio::test]
async fn a_token_the_sandbox_did_not_issue_is_a_bad_api_token() {
    let server = team().await;
    let b64 = base64::engine::general_purpose::STANDARD;
    let exp = Utc::now().timestamp_millis() + 3_600_000;
    let forged = format!(
        "{}.{}.Zm9v+/ba==",
        b64.encode(r#"{"typ":"JWT","alg":"HMAC-SHA512"}"#),
        b64.encode(format!(
            r#"{{"iss":"ts","sub":"admin","exp":{exp},"iat":0}}"#
        ))
    );
    let ts = Client::builder()
        .base_url(server.base_url())
        .token(forged.as_str())
        .build()
        .unwrap();
    assert_eq!(
        refused(ts.users().send().await),
        error(401, "Authentication failure", "Bad API token")
    );
    // In a POST body too.
    assert_eq!(
        refused(
            ts.create_activity(&types::ActivityCreate::new("Review", "review"))
                .await
        ),
        error(401, "Authentication failure", "Bad API token")
    );
    // No token at all.
    let (status, body) = raw_get(&server, "/users").await;
    assert_eq!(
        (status, body),
        (
            401,
            json!({"status": 401, "error": "Authentication failure", "text": "Missing credentials"})
        )
    );
}

// ------------------------------------------------------------------ times

#[tokio::test]
async fn time_entries_are_created_and_updated_with_revisions_and_parents() {
    let server = team().await;
    let ts = logged_in(&server, "alice", "alice-pw").await;
    let mut new = time(3600, "gwm", "alice", "2026-01-05", &["dev"]);
    new.notes = Some("first".into());
    new.issue_uri = Some("https://github.com/osuosl/ganeti_webmgr/issues/1".into());
    let created = ts.create_time(&new).await.unwrap();
    assert_eq!(created.revision, 1);
    assert_eq!(created.project, "gwm");
    assert_eq!(created.activities, ["dev"]);
    assert_eq!(created.notes.as_deref(), Some("first"));
    assert_eq!(created.date_worked, date("2026-01-05"));
    assert_eq!(
        (created.created_at, created.updated_at, created.deleted_at),
        (today(), None, None)
    );

    let update = types::TimeUpdate {
        duration: Some(7200),
        activities: vec!["docs".into()],
        notes: Some("second".into()),
        ..Default::default()
    };
    let second = ts.update_time(created.uuid, &update).await.unwrap();
    assert_eq!((second.revision, second.duration), (2, 7200));
    assert_eq!(second.activities, ["docs"]);
    assert_eq!(second.project, ["gwm"]);
    assert_eq!(second.user, "alice");
    assert_eq!(second.notes.as_deref(), Some("second"));
    assert_eq!(second.updated_at, Some(today()));
    assert_eq!(second.created_at, today());

    // Without `activities` the entry keeps its activities.
    let moved = types::TimeUpdate {
        project: Some("tsync".into()),
        date_worked: Some(date("2026-01-06")),
        ..Default::default()
    };
    let third = ts.update_time(created.uuid, &moved).await.unwrap();
    assert_eq!((third.revision, third.duration), (3, 7200));
    assert_eq!(third.activities, ["docs"]);
    assert_eq!(third.project, ["tsync"]);
    assert_eq!(third.date_worked, date("2026-01-06"));
    assert_eq!(third.issue_uri, created.issue_uri);

    // One entry: parents oldest first, each with its own project and activities.
    let one = ts
        .times()
        .uuid(created.uuid)
        .include_revisions(true)
        .send()
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].revision, 3);
    let revisions: Vec<i64> = one[0].parents.iter().map(|p| p.revision).collect();
    assert_eq!(revisions, [1, 2]);
    assert_eq!(one[0].parents[0].activities, ["dev"]);
    assert_eq!(one[0].parents[0].project, ["gwm"]);
    assert_eq!(one[0].parents[0].duration, 3600);
    assert_eq!(one[0].parents[1].activities, ["docs"]);

    // The list: parents newest first, with the union of all revisions.
    let listed = ts.times().include_revisions(true).send().await.unwrap();
    assert_eq!(listed.len(), 1);
    let revisions: Vec<i64> = listed[0].parents.iter().map(|p| p.revision).collect();
    assert_eq!(revisions, [2, 1]);
    assert_eq!(listed[0].activities, ["dev", "docs"]);
    assert_eq!(listed[0].project, ["gwm", "tsync"]);

    // Without include_revisions: the newest revision and no parents.
    let plain = ts.times().send().await.unwrap();
    assert_eq!(plain.len(), 1);
    assert_eq!(plain[0].revision, 3);
    assert!(plain[0].parents.is_empty());
}

#[tokio::test]
async fn a_single_revision_entry_has_empty_parents_instead_of_hanging() {
    let server = team().await;
    let ts = logged_in(&server, "bob", "bob-pw").await;
    let created = ts
        .create_time(&time(60, "tsync", "bob", "2026-01-05", &["dev"]))
        .await
        .unwrap();
    let one = ts
        .times()
        .uuid(created.uuid)
        .include_revisions(true)
        .send()
        .await
        .unwrap();
    assert_eq!(one[0].revision, 1);
    assert!(one[0].parents.is_empty());
}

#[tokio::test]
async fn deleted_times_are_hidden_unless_include_deleted_and_an_update_undeletes_them() {
    let server = team().await;
    let ts = logged_in(&server, "alice", "alice-pw").await;
    let created = ts
        .create_time(&time(60, "gwm", "alice", "2026-01-05", &["dev"]))
        .await
        .unwrap();
    ts.delete_time(created.uuid).await.unwrap();
    assert!(ts.times().send().await.unwrap().is_empty());
    assert_eq!(
        refused(ts.times().uuid(created.uuid).send().await),
        error(404, "Object not found", "Nonexistent time")
    );
    let deleted = ts.times().include_deleted(true).send().await.unwrap();
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0].deleted_at, Some(today()));
    let one = ts
        .times()
        .uuid(created.uuid)
        .include_deleted(true)
        .send()
        .await
        .unwrap();
    assert_eq!(one[0].deleted_at, Some(today()));
    // Deleting again succeeds, as on the server.
    ts.delete_time(created.uuid).await.unwrap();

    let revived = ts
        .update_time(
            created.uuid,
            &types::TimeUpdate {
                notes: Some("back".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((revived.revision, revived.deleted_at), (2, None));
    assert_eq!(ts.times().send().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_time_without_activities_gets_the_projects_default_activity() {
    let server = team().await;
    let admin = logged_in(&server, "admin", "admin-pw").await;
    let mut project = types::ProjectCreate::new("Default Activity", &["dflt"]);
    project.default_activity = Some("docs".into());
    project.users = BTreeMap::from([(
        "alice".to_string(),
        types::ProjectUserRoles {
            member: true,
            spectator: false,
            manager: false,
        },
    )]);
    admin.create_project(&project).await.unwrap();

    let alice = logged_in(&server, "alice", "alice-pw").await;
    let created = alice
        .create_time(&time(60, "dflt", "alice", "2026-01-05", &[]))
        .await
        .unwrap();
    assert!(
        created.activities.is_empty(),
        "absent from the echo, as on the server"
    );
    let got = alice.times().uuid(created.uuid).send().await.unwrap();
    assert_eq!(got[0].activities, ["docs"]);
    // gwm has no default activity.
    assert_eq!(
        refused(
            alice
                .create_time(&time(60, "gwm", "alice", "2026-01-05", &[]))
                .await
        ),
        error(400, "Bad object", "The time is missing a activities")
    );
}

#[tokio::test]
async fn time_filters_combine_with_and_across_parameters_and_or_within_one() {
    let server = team().await;
    let admin = logged_in(&server, "admin", "admin-pw").await;
    // tsync gets a second slug: either one finds its entries.
    admin
        .update_project(
            "tsync",
            &types::ProjectUpdate {
                slugs: vec!["tsync".into(), "timesync".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let alice = logged_in(&server, "alice", "alice-pw").await;
    let bob = logged_in(&server, "bob", "bob-pw").await;
    alice
        .create_time(&time(1, "gwm", "alice", "2026-01-01", &["dev"]))
        .await
        .unwrap();
    alice
        .create_time(&time(2, "tsync", "alice", "2026-01-02", &["docs"]))
        .await
        .unwrap();
    bob.create_time(&time(3, "gwm", "bob", "2026-01-03", &["docs"]))
        .await
        .unwrap();
    bob.create_time(&time(4, "timesync", "bob", "2026-01-04", &["dev", "docs"]))
        .await
        .unwrap();

    let carol = logged_in(&server, "carol", "carol-pw").await;
    let all = carol.times().send().await.unwrap();
    assert_eq!(durations(&all), [1, 2, 3, 4]);
    let four = all.iter().find(|t| t.duration == 4).unwrap();
    assert_eq!(four.project, ["timesync", "tsync"]);
    assert_eq!(four.activities, ["dev", "docs"]);

    let q = || carol.times();
    assert_eq!(durations(&q().user("alice").send().await.unwrap()), [1, 2]);
    assert_eq!(
        durations(&q().user("alice").user("bob").send().await.unwrap()),
        [1, 2, 3, 4]
    );
    // Unknown values are ignored as long as one exists.
    assert_eq!(
        durations(&q().user("alice").user("nobody").send().await.unwrap()),
        [1, 2]
    );
    assert_eq!(
        durations(&q().project("gwm").activity("docs").send().await.unwrap()),
        [3]
    );
    assert_eq!(
        durations(&q().user("bob").activity("dev").send().await.unwrap()),
        [4]
    );
    assert_eq!(
        durations(&q().project("timesync").send().await.unwrap()),
        [2, 4]
    );
    assert_eq!(
        durations(
            &q().project("tsync")
                .activity("dev")
                .activity("docs")
                .send()
                .await
                .unwrap()
        ),
        [2, 4]
    );
    assert_eq!(
        durations(
            &q().project("gwm")
                .project("tsync")
                .user("bob")
                .send()
                .await
                .unwrap()
        ),
        [3, 4]
    );
    assert_eq!(
        durations(
            &q().start("2026-01-02")
                .end("2026-01-03")
                .send()
                .await
                .unwrap()
        ),
        [2, 3]
    );
    assert_eq!(
        durations(&q().start("2026-01-03").send().await.unwrap()),
        [3, 4]
    );
    assert_eq!(
        durations(&q().end("2026-01-01").user("alice").send().await.unwrap()),
        [1]
    );

    assert_eq!(
        refused(q().user("nobody").send().await),
        error(
            400,
            "Bad query value",
            "Parameter user contained invalid value nobody"
        )
    );
    assert_eq!(
        refused(q().project("nope").project("nada").send().await),
        error(
            400,
            "Bad query value",
            "Parameter project contained invalid value nope,nada"
        )
    );
    assert_eq!(
        refused(q().activity("falsch").send().await),
        error(
            400,
            "Bad query value",
            "Parameter activity contained invalid value falsch"
        )
    );
}

#[tokio::test]
async fn start_and_end_errors_use_the_servers_texts() {
    let server = team().await;
    let ts = logged_in(&server, "carol", "carol-pw").await;
    let future = today() + chrono::Days::new(400);
    assert_eq!(
        refused(ts.times().start(future).send().await),
        error(
            400,
            "Bad query value",
            &format!("Parameter start contained invalid value {future}")
        )
    );
    // The client refuses start after end itself; the generated builder sends it.
    assert!(
        ts.times()
            .start("2026-01-03")
            .end("2026-01-01")
            .send()
            .await
            .unwrap_err()
            .is_invalid()
    );
    let sent = ts
        .api()
        .list_times()
        .start(date("2026-01-03"))
        .end(date("2026-01-01"))
        .send()
        .await
        .map_err(specbound::Error::from);
    assert_eq!(
        refused(sent),
        error(
            400,
            "Bad query value",
            "Parameter start contained invalid value 2026-01-03"
        )
    );
    let token = raw_token(&server, "carol", "carol-pw").await;
    let (status, body) = raw_get(
        &server,
        &format!("/times?start=faux&token={}", urlencode(&token)),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["text"], "Parameter start contained invalid value faux");
    let (status, body) = raw_get(
        &server,
        &format!("/times?end=namaak&token={}", urlencode(&token)),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["text"], "Parameter end contained invalid value namaak");
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn visibility_follows_site_spectators_and_project_spectators() {
    let server = TimeSync::builder()
        .user("alice", "alice-pw", Role::Member)
        .user("bob", "bob-pw", Role::Member)
        .user("mgr", "mgr-pw", Role::Manager)
        .user("watcher", "watcher-pw", Role::Member)
        .activity("dev", "Development")
        .project(
            "gwm",
            "Ganeti Web Manager",
            &[
                ("alice", ProjectRole::Member),
                ("bob", ProjectRole::Member),
                ("watcher", ProjectRole::Spectator),
            ],
        )
        .project("tsync", "TimeSync", &[("bob", ProjectRole::Member)])
        .start()
        .await
        .unwrap();
    let alice = logged_in(&server, "alice", "alice-pw").await;
    let bob = logged_in(&server, "bob", "bob-pw").await;
    let a = alice
        .create_time(&time(1, "gwm", "alice", "2026-01-01", &["dev"]))
        .await
        .unwrap();
    bob.create_time(&time(2, "gwm", "bob", "2026-01-01", &["dev"]))
        .await
        .unwrap();
    bob.create_time(&time(3, "tsync", "bob", "2026-01-01", &["dev"]))
        .await
        .unwrap();

    assert_eq!(durations(&alice.times().send().await.unwrap()), [1]);
    assert_eq!(durations(&bob.times().send().await.unwrap()), [2, 3]);
    let watcher = logged_in(&server, "watcher", "watcher-pw").await;
    assert_eq!(durations(&watcher.times().send().await.unwrap()), [1, 2]);
    // Site managers see only their own entries.
    let mgr = logged_in(&server, "mgr", "mgr-pw").await;
    assert!(mgr.times().send().await.unwrap().is_empty());
    assert_eq!(
        refused(mgr.times().uuid(a.uuid).send().await),
        error(404, "Object not found", "Nonexistent time")
    );
    // ... but may delete anyone's.
    mgr.delete_time(a.uuid).await.unwrap();
}

#[tokio::test]
async fn a_hundred_entries_stream_through_times_stream() {
    let server = team().await;
    let ts = logged_in(&server, "bob", "bob-pw").await;
    for i in 1..=100u64 {
        let project = if i % 2 == 0 { "gwm" } else { "tsync" };
        ts.create_time(&time(i, project, "bob", "2026-02-01", &["dev"]))
            .await
            .unwrap();
    }
    let requests = server.request_count();
    let mut stream = ts.times().user("bob").stream();
    let mut seen = Vec::new();
    while let Some(t) = stream.try_next().await.unwrap() {
        assert_eq!(t.user, "bob");
        seen.push(t.duration);
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=100).collect::<Vec<u64>>());
    // One answer, one array: no paging.
    assert_eq!(server.request_count(), requests + 1);
    let gwm: Vec<types::Time> = ts
        .times()
        .project("gwm")
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(gwm.len(), 50);
}

// ------------------------------------------------------------------ projects

#[tokio::test]
async fn projects_are_created_revised_listed_and_soft_deleted() {
    let server = team().await;
    let admin = logged_in(&server, "admin", "admin-pw").await;
    let mut new = types::ProjectCreate::new("Project A", &["pa", "project-a"]);
    new.uri = Some("https://github.com/osuosl/pa".into());
    new.default_activity = Some("dev".into());
    new.users = BTreeMap::from([
        (
            "alice".to_string(),
            types::ProjectUserRoles {
                member: true,
                spectator: true,
                manager: true,
            },
        ),
        (
            "ghost".to_string(),
            types::ProjectUserRoles {
                member: true,
                spectator: false,
                manager: false,
            },
        ),
    ]);
    let created = admin.create_project(&new).await.unwrap();
    assert_eq!(created.name, "Project A");
    assert_eq!(created.slugs, ["pa", "project-a"]);
    assert_eq!(created.revision, 1);
    assert_eq!(created.default_activity.as_deref(), Some("dev"));
    assert_eq!(
        (created.created_at, created.updated_at, created.deleted_at),
        (today(), None, None)
    );
    // Unknown usernames are skipped.
    assert_eq!(created.users.keys().collect::<Vec<_>>(), ["alice"]);

    // alice manages it: she may rename it and change its slugs and roles.
    let alice = logged_in(&server, "alice", "alice-pw").await;
    let update = types::ProjectUpdate {
        name: Some("Project Alpha".into()),
        slugs: vec!["alpha".into(), "pa".into()],
        users: Some(BTreeMap::from([
            (
                "alice".to_string(),
                types::ProjectUserRoles {
                    member: true,
                    spectator: false,
                    manager: true,
                },
            ),
            (
                "bob".to_string(),
                types::ProjectUserRoles {
                    member: true,
                    spectator: false,
                    manager: false,
                },
            ),
        ])),
        default_activity: Patch::Null,
        ..Default::default()
    };
    let updated = alice.update_project("pa", &update).await.unwrap();
    assert_eq!(updated.name, "Project Alpha");
    assert_eq!(updated.revision, 2);
    assert_eq!(updated.slugs, ["alpha", "pa"]);
    assert_eq!(updated.uri.as_deref(), Some("https://github.com/osuosl/pa"));
    assert_eq!(updated.default_activity, None);
    assert_eq!(updated.updated_at, Some(today()));
    assert!(updated.users["bob"].member);
    assert_eq!(
        refused(alice.projects().slug("project-a").send().await),
        error(404, "Object not found", "Nonexistent project")
    );

    let with_parents = alice
        .projects()
        .slug("alpha")
        .include_revisions(true)
        .send()
        .await
        .unwrap();
    assert_eq!(with_parents[0].parents.len(), 1);
    assert_eq!(with_parents[0].parents[0].name, "Project A");
    assert_eq!(
        with_parents[0].parents[0].default_activity.as_deref(),
        Some("dev")
    );
    let listed = alice
        .projects()
        .include_revisions(true)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.len(), 3);
    let of_bob = alice.projects().user("bob").send().await.unwrap();
    let mut names: Vec<&str> = of_bob.iter().map(|p| p.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Ganeti Web Manager", "Project Alpha", "TimeSync"]);
    assert_eq!(alice.project_users("alpha").await.unwrap().len(), 2);

    // A project with current entries cannot be deleted.
    let bob = logged_in(&server, "bob", "bob-pw").await;
    let t = bob
        .create_time(&time(60, "alpha", "bob", "2026-01-05", &["docs"]))
        .await
        .unwrap();
    assert_eq!(
        refused(alice.delete_project("alpha").await),
        error(
            405,
            "Method not allowed",
            "The method specified is not allowed for the project identified"
        )
    );
    bob.delete_time(t.uuid).await.unwrap();
    alice.delete_project("alpha").await.unwrap();
    assert_eq!(
        refused(alice.projects().slug("alpha").send().await),
        error(404, "Object not found", "Nonexistent project")
    );
    let all = alice.projects().include_deleted(true).send().await.unwrap();
    let gone = all.iter().find(|p| p.name == "Project Alpha").unwrap();
    assert!(gone.slugs.is_empty());
    assert!(gone.users.is_empty());
    assert_eq!(gone.deleted_at, Some(today()));
    assert_eq!(alice.projects().send().await.unwrap().len(), 2);
    // Its slugs are free again; its name is not.
    let again = types::ProjectCreate::new("Project Again", &["alpha"]);
    assert_eq!(admin.create_project(&again).await.unwrap().slugs, ["alpha"]);
    assert_eq!(
        refused(
            admin
                .create_project(&types::ProjectCreate::new("Project Alpha", &["other"]))
                .await
        ),
        error(
            400,
            "Bad object",
            "Field name of project should be unique name but was sent as name which already exists"
        )
    );
}

// ------------------------------------------------------------------ activities

#[tokio::test]
async fn activities_are_created_revised_and_soft_deleted() {
    let server = team().await;
    let mgr = logged_in(&server, "mgr", "mgr-pw").await;
    let created = mgr
        .create_activity(&types::ActivityCreate::new("Code Review", "review"))
        .await
        .unwrap();
    assert_eq!(
        (created.revision, created.slug.as_deref()),
        (1, Some("review"))
    );
    assert_eq!(
        (created.created_at, created.updated_at, created.deleted_at),
        (today(), None, None)
    );

    let renamed = mgr
        .update_activity(
            "review",
            &types::ActivityUpdate {
                name: Some("Reviews".into()),
                slug: None,
            },
        )
        .await
        .unwrap();
    assert_eq!((renamed.revision, renamed.name.as_str()), (2, "Reviews"));
    assert_eq!(renamed.updated_at, today());
    let reslugged = mgr
        .update_activity(
            "review",
            &types::ActivityUpdate {
                name: None,
                slug: Some("rev".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!((reslugged.revision, reslugged.slug.as_str()), (3, "rev"));
    assert_eq!(
        refused(mgr.activities().slug("review").send().await),
        error(404, "Object not found", "Nonexistent activity")
    );
    let one = mgr
        .activities()
        .slug("rev")
        .include_revisions(true)
        .send()
        .await
        .unwrap();
    let revisions: Vec<i64> = one[0].parents.iter().map(|p| p.revision).collect();
    assert_eq!(revisions, [1, 2]);
    assert_eq!(
        mgr.activities()
            .include_revisions(true)
            .send()
            .await
            .unwrap()
            .len(),
        3
    );

    // In use by a current entry: 405.
    let bob = logged_in(&server, "bob", "bob-pw").await;
    let t = bob
        .create_time(&time(60, "gwm", "bob", "2026-01-05", &["rev"]))
        .await
        .unwrap();
    assert_eq!(
        refused(mgr.delete_activity("rev").await),
        error(
            405,
            "Method not allowed",
            "The method specified is not allowed for the activity identified"
        )
    );
    bob.delete_time(t.uuid).await.unwrap();
    mgr.delete_activity("rev").await.unwrap();
    assert_eq!(mgr.activities().send().await.unwrap().len(), 2);
    let all = mgr.activities().include_deleted(true).send().await.unwrap();
    let gone = all.iter().find(|a| a.name == "Reviews").unwrap();
    assert_eq!(
        (gone.slug.as_deref(), gone.deleted_at),
        (None, Some(today()))
    );
    assert_eq!(
        refused(mgr.delete_activity("rev").await),
        error(404, "Object not found", "Nonexistent slug")
    );
}

// ------------------------------------------------------------------ users

#[tokio::test]
async fn create_user_sends_a_bcrypt_hash_the_sandbox_accepts_at_login() {
    let server = team().await;
    let admin = logged_in(&server, "admin", "admin-pw").await;
    let mut new = types::UserCreate::new("guyn", "correct horse");
    new.display_name = Some("New Guy".into());
    new.email = Some("guyn@example.com".into());
    new.meta = Some("Just arrived".into());
    let before = Utc::now().timestamp_millis();
    let created = admin.create_user(&new).await.unwrap();
    assert_eq!(created.username, "guyn");
    assert_eq!(created.display_name.as_deref(), Some("New Guy"));
    assert!((before..=Utc::now().timestamp_millis()).contains(&created.created_at));
    assert!(created.active);
    assert!(!created.site_admin && !created.site_manager && !created.site_spectator);
    assert_eq!((created.updated_at, created.deleted_at), (None, None));

    // The sandbox compares the login password with what the client stored:
    // only a bcrypt hash of it matches.
    let guyn = logged_in(&server, "guyn", "correct horse").await;
    let me = guyn.users().username("guyn").send().await.unwrap();
    assert_eq!(me[0].email.as_deref(), Some("guyn@example.com"));
    assert_eq!(me[0].created_at, today());
    assert_eq!(
        refused(
            client(&server)
                .authenticate("guyn", "wrong horse", AuthType::Password)
                .await
        ),
        error(
            401,
            "Authentication failure",
            "Incorrect username or password"
        )
    );

    // A new password through update_user is hashed as well.
    let update = types::UserUpdate {
        password: Some("battery staple".into()),
        ..Default::default()
    };
    guyn.update_user("guyn", &update).await.unwrap();
    logged_in(&server, "guyn", "battery staple").await;
}

#[tokio::test]
async fn users_are_updated_in_place_soft_deleted_and_undeleted() {
    let server = team().await;
    let alice = logged_in(&server, "alice", "alice-pw").await;
    let update = types::UserUpdate {
        display_name: Some("Alice A.".into()),
        email: Patch::Value("alice@example.com".into()),
        site_spectator: Some(true),
        ..Default::default()
    };
    let me = alice.update_user("alice", &update).await.unwrap();
    assert_eq!(me.display_name.as_deref(), Some("Alice A."));
    assert_eq!(me.email.as_deref(), Some("alice@example.com"));
    assert!(me.site_spectator);
    assert_eq!(me.updated_at, Some(today()));
    let cleared = alice
        .update_user(
            "alice",
            &types::UserUpdate {
                email: Patch::Null,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cleared.email, None);

    let mgr = logged_in(&server, "mgr", "mgr-pw").await;
    mgr.delete_user("bob").await.unwrap();
    let users = mgr.users().send().await.unwrap();
    assert!(users.iter().all(|u| u.username != "bob"));
    assert_eq!(users.len(), 4);
    let with_deleted = mgr.users().include_deleted(true).send().await.unwrap();
    let bob = with_deleted.iter().find(|u| u.username == "bob").unwrap();
    assert_eq!(bob.deleted_at, Some(today()));
    assert_eq!(
        refused(mgr.users().username("bob").send().await),
        error(404, "Object not found", "Nonexistent user")
    );
    assert_eq!(
        mgr.users()
            .username("bob")
            .include_deleted(true)
            .send()
            .await
            .unwrap()
            .len(),
        1
    );
    // A deleted user can still log in (as on the server) and an update undeletes.
    let bob = logged_in(&server, "bob", "bob-pw").await;
    let back = bob
        .update_user(
            "bob",
            &types::UserUpdate {
                meta: Some("back".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (back.deleted_at, back.meta.as_deref()),
        (None, Some("back"))
    );
}

// ------------------------------------------------------------------ permissions

#[tokio::test]
async fn permission_failures_are_401_authorization_failures_with_the_servers_texts() {
    let server = team().await;
    let denied = |text: &str| error(401, "Authorization failure", text);
    let alice = logged_in(&server, "alice", "alice-pw").await;
    let bob = logged_in(&server, "bob", "bob-pw").await;
    let carol = logged_in(&server, "carol", "carol-pw").await;
    let mgr = logged_in(&server, "mgr", "mgr-pw").await;
    let bobs = bob
        .create_time(&time(60, "gwm", "bob", "2026-01-05", &["dev"]))
        .await
        .unwrap();

    assert_eq!(
        refused(
            alice
                .create_time(&time(60, "gwm", "bob", "2026-01-05", &["dev"]))
                .await
        ),
        denied("alice is not authorized to create time entries for bob")
    );
    assert_eq!(
        refused(
            carol
                .create_time(&time(60, "gwm", "carol", "2026-01-05", &["dev"]))
                .await
        ),
        denied("carol is not authorized to create time entries for project gwm.")
    );
    assert_eq!(
        refused(
            alice
                .update_time(
                    bobs.uuid,
                    &types::TimeUpdate {
                        duration: Some(1),
                        ..Default::default()
                    }
                )
                .await
        ),
        denied("alice is not authorized to create objects for bob")
    );
    assert_eq!(
        refused(alice.delete_time(bobs.uuid).await),
        denied(&format!(
            "alice is not authorized to delete time {}",
            bobs.uuid
        ))
    );
    assert_eq!(
        refused(
            alice
                .create_project(&types::ProjectCreate::new("Mine", &["mine"]))
                .await
        ),
        denied("alice is not authorized to create projects")
    );
    assert_eq!(
        refused(
            bob.update_project(
                "gwm",
                &types::ProjectUpdate {
                    name: Some("Mine".into()),
                    ..Default::default()
                }
            )
            .await
        ),
        denied("bob is not authorized to make changes to Ganeti Web Manager")
    );
    assert_eq!(
        refused(bob.delete_project("gwm").await),
        denied("bob is not authorized to delete project gwm")
    );
    assert_eq!(
        refused(
            alice
                .create_activity(&types::ActivityCreate::new("Mine", "mine"))
                .await
        ),
        denied("alice is not authorized to create activities")
    );
    assert_eq!(
        refused(
            alice
                .update_activity(
                    "dev",
                    &types::ActivityUpdate {
                        name: Some("X".into()),
                        slug: None
                    }
                )
                .await
        ),
        denied("alice is not authorized to update activities")
    );
    assert_eq!(
        refused(alice.delete_activity("dev").await),
        denied("alice is not authorized to delete activities")
    );
    // Creating users needs site admin and site manager.
    assert_eq!(
        refused(mgr.create_user(&types::UserCreate::new("eve", "pw")).await),
        denied("mgr is not authorized to create users")
    );
    assert_eq!(
        refused(alice.delete_user("bob").await),
        denied("alice is not authorized to delete users")
    );
    let rename = types::UserUpdate {
        display_name: Some("B".into()),
        ..Default::default()
    };
    assert_eq!(
        refused(alice.update_user("bob", &rename).await),
        denied("alice is not authorized to modify user bob")
    );
    assert_eq!(
        refused(mgr.update_user("bob", &rename).await),
        denied("mgr is not authorized to modify fields of user bob other than site_spectator")
    );
    let promote = types::UserUpdate {
        site_admin: Some(true),
        ..Default::default()
    };
    assert_eq!(
        refused(alice.update_user("alice", &promote).await),
        denied("alice is not authorized to set permissions of user alice")
    );
    // What a site manager may do to others: site_spectator.
    let spectate = types::UserUpdate {
        site_spectator: Some(true),
        ..Default::default()
    };
    assert!(
        mgr.update_user("bob", &spectate)
            .await
            .unwrap()
            .site_spectator
    );
}

// ------------------------------------------------------------------ not found and conflicts

#[tokio::test]
async fn unknown_objects_are_404s_with_the_servers_texts() {
    let server = team().await;
    let admin = logged_in(&server, "admin", "admin-pw").await;
    let missing = |what: &str| error(404, "Object not found", &format!("Nonexistent {what}"));
    let uuid = uuid::Uuid::new_v4();
    assert_eq!(
        refused(admin.times().uuid(uuid).send().await),
        missing("time")
    );
    assert_eq!(
        refused(
            admin
                .update_time(
                    uuid,
                    &types::TimeUpdate {
                        duration: Some(1),
                        ..Default::default()
                    }
                )
                .await
        ),
        missing("time")
    );
    assert_eq!(refused(admin.delete_time(uuid).await), missing("uuid"));
    assert_eq!(
        refused(admin.projects().slug("nope").send().await),
        missing("project")
    );
    assert_eq!(
        refused(
            admin
                .update_project(
                    "nope",
                    &types::ProjectUpdate {
                        name: Some("N".into()),
                        ..Default::default()
                    }
                )
                .await
        ),
        missing("project")
    );
    assert_eq!(refused(admin.delete_project("nope").await), missing("slug"));
    assert_eq!(
        refused(admin.activities().slug("nope").send().await),
        missing("activity")
    );
    assert_eq!(
        refused(
            admin
                .update_activity(
                    "nope",
                    &types::ActivityUpdate {
                        name: Some("N".into()),
                        slug: None
                    }
                )
                .await
        ),
        missing("activity")
    );
    assert_eq!(
        refused(admin.delete_activity("nope").await),
        missing("slug")
    );
    assert_eq!(
        refused(admin.users().username("nobody").send().await),
        missing("user")
    );
    assert_eq!(
        refused(
            admin
                .update_user(
                    "nobody",
                    &types::UserUpdate {
                        meta: Some("m".into()),
                        ..Default::default()
                    }
                )
                .await
        ),
        missing("user")
    );
    assert_eq!(refused(admin.delete_user("nobody").await), missing("user"));

    // Malformed identifiers, which the client refuses locally, sent raw.
    let token = urlencode(&raw_token(&server, "admin", "admin-pw").await);
    let (status, body) = raw_get(&server, &format!("/times/cat?token={token}")).await;
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_value::<types::Error>(body).unwrap(),
        error_with(
            400,
            "The provided identifier was invalid",
            "Expected UUID but received cat",
            &["cat"]
        )
    );
    let (status, body) = raw_get(&server, &format!("/users/!nv4l%7Cd?token={token}")).await;
    assert_eq!(
        (status, body["text"].as_str()),
        (400, Some("Expected username but received !nv4l|d"))
    );
    // Routes the server does not have: Express's 404 page.
    let response = http()
        .get(format!("{}/nothing", server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Cannot GET /v0/nothing")
    );
    let response = http()
        .get(format!("{}/../times", server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn conflicts_are_409s_for_taken_slugs_usernames_and_invalid_foreign_keys() {
    let server = team().await;
    let admin = logged_in(&server, "admin", "admin-pw").await;
    assert_eq!(
        refused(
            admin
                .create_project(&types::ProjectCreate::new("Other", &["gwm", "new"]))
                .await
        ),
        error_with(
            409,
            "The slug provided already exists",
            "slug gwm already exists",
            &["gwm"]
        )
    );
    assert_eq!(
        refused(
            admin
                .create_project(&types::ProjectCreate::new("Other", &["tsync", "gwm"]))
                .await
        ),
        error_with(
            409,
            "The slug provided already exists",
            "slugs gwm, tsync already exist",
            &["gwm", "tsync"]
        )
    );
    assert_eq!(
        refused(
            admin
                .update_project(
                    "gwm",
                    &types::ProjectUpdate {
                        slugs: vec!["tsync".into()],
                        ..Default::default()
                    }
                )
                .await
        ),
        error_with(
            409,
            "The slug provided already exists",
            "slug tsync already exists",
            &["tsync"]
        )
    );
    assert_eq!(
        refused(
            admin
                .create_activity(&types::ActivityCreate::new("Dev again", "dev"))
                .await
        ),
        error_with(
            409,
            "The slug provided already exists",
            "slug dev already exists",
            &["dev"]
        )
    );
    assert_eq!(
        refused(
            admin
                .create_user(&types::UserCreate::new("alice", "pw"))
                .await
        ),
        error_with(
            409,
            "Username already exists",
            "username alice already exists",
            &["alice"]
        )
    );
    let mut with_default = types::ProjectCreate::new("Other", &["other"]);
    with_default.default_activity = Some("nope".into());
    assert_eq!(
        refused(admin.create_project(&with_default).await),
        error(
            409,
            "Invalid foreign key",
            "The project does not contain a valid activity reference."
        )
    );
    let alice = logged_in(&server, "alice", "alice-pw").await;
    assert_eq!(
        refused(
            alice
                .create_time(&time(60, "nope", "alice", "2026-01-05", &["dev"]))
                .await
        ),
        error(
            409,
            "Invalid foreign key",
            "The time does not contain a valid project reference."
        )
    );
    assert_eq!(
        refused(
            alice
                .create_time(&time(60, "gwm", "alice", "2026-01-05", &["dev", "nope"]))
                .await
        ),
        error(
            409,
            "Invalid foreign key",
            "The time does not contain a valid activities reference."
        )
    );
    let mine = alice
        .create_time(&time(60, "gwm", "alice", "2026-01-05", &["dev"]))
        .await
        .unwrap();
    assert_eq!(
        refused(
            alice
                .update_time(
                    mine.uuid,
                    &types::TimeUpdate {
                        user: Some("nobody".into()),
                        ..Default::default()
                    }
                )
                .await
        ),
        error(
            409,
            "Invalid foreign key",
            "The time does not contain a valid user reference."
        )
    );
    assert_eq!(
        refused(
            alice
                .update_time(
                    mine.uuid,
                    &types::TimeUpdate {
                        project: Some("nope".into()),
                        ..Default::default()
                    }
                )
                .await
        ),
        error(
            409,
            "Invalid foreign key",
            "The time does not contain a valid project reference."
        )
    );
}

// ------------------------------------------------------------------ bad objects

#[tokio::test]
async fn malformed_objects_get_the_schema_driven_bad_object_errors() {
    let server = team().await;
    let token = raw_token(&server, "alice", "alice-pw").await;
    let admin = raw_token(&server, "admin", "admin-pw").await;
    let base = json!({"duration": 60, "project": "gwm", "user": "alice", "date_worked": "2026-01-05", "activities": ["dev"]});
    let with = |key: &str, value: Value| {
        let mut object = base.clone();
        object[key] = value;
        object
    };
    let without = |key: &str| {
        let mut object = base.clone();
        object.as_object_mut().unwrap().remove(key);
        object
    };
    let cases = [
        (without("duration"), "The time is missing a duration"),
        (without("date_worked"), "The time is missing a date_worked"),
        (
            with("duration", json!("3h")),
            "Field duration of time should be number but was sent as string",
        ),
        (
            with("duration", json!(-5)),
            "Field duration of time should be positive number but was sent as negative number",
        ),
        (
            with("project", json!(["gwm"])),
            "Field project of time should be string but was sent as array",
        ),
        (
            with("user", json!({})),
            "Field user of time should be string but was sent as object",
        ),
        (
            with("activities", json!(7)),
            "Field activities of time should be array but was sent as number",
        ),
        (
            with("activities", json!([1])),
            "Field activities of time should be slugs but was sent as array containing at least 1 number",
        ),
        (
            with("activities", json!(["Not-Valid"])),
            "Field activities of time should be slugs but was sent as array containing at least 1 invalid slug",
        ),
        (
            with("date_worked", json!(20260105)),
            "Field date_worked of time should be string but was sent as number",
        ),
        (
            with("issue_uri", json!(null)),
            "Field issue_uri of time should be string but was sent as null",
        ),
        (
            with("project", json!("Not_A_Slug")),
            "Field project of time should be slug but was sent as invalid slug Not_A_Slug",
        ),
        (
            with("issue_uri", json!("not a uri")),
            "Field issue_uri of time should be URI but was sent as invalid URI not a uri",
        ),
        (
            with("date_worked", json!("April 29, 1995")),
            "Field date_worked of time should be ISO-8601 date but was sent as April 29, 1995",
        ),
    ];
    for (object, text) in cases {
        let (status, body) = raw_post(&server, "/times", envelope(&token, object)).await;
        assert_eq!(
            (status, body),
            (
                400,
                json!({"status": 400, "error": "Bad object", "text": text})
            )
        );
    }

    let mine = raw_post(&server, "/times", envelope(&token, base.clone()))
        .await
        .1;
    let uuid = mine["uuid"].as_str().unwrap();
    let updates = [
        (json!({"key": 1}), "time does not have a key field"),
        (
            json!({"duration": -1}),
            "Field duration of time should be positive integer but was sent as negative integer",
        ),
        (
            json!({"notes": null}),
            "Field notes of time should be string but was sent as null",
        ),
        (
            json!({"issue_uri": ""}),
            "Field issue_uri of time should be URI but was sent as invalid URI ",
        ),
    ];
    for (object, text) in updates {
        let (status, body) =
            raw_post(&server, &format!("/times/{uuid}"), envelope(&token, object)).await;
        assert_eq!((status, body["text"].as_str()), (400, Some(text)));
    }

    let others = [
        (
            "/projects",
            json!({"name": "P", "slugs": ["p"], "owner": "alice"}),
            "project does not have a owner field",
        ),
        (
            "/projects",
            json!({"name": "P"}),
            "The project is missing a slugs",
        ),
        (
            "/projects",
            json!({"name": "P", "slugs": {}}),
            "Field slugs of project should be array but was sent as object",
        ),
        (
            "/projects",
            json!({"name": "P", "slugs": ["p"], "uri": "ftp://x"}),
            "Field uri of project should be uri but was sent as non-uri string",
        ),
        (
            "/projects",
            json!({"name": "P", "slugs": ["P!"]}),
            "Field slugs of project should be slugs but was sent as non-slug strings",
        ),
        (
            "/projects/gwm",
            json!({"slugs": []}),
            "Field slugs of project should be array of slugs but was sent as empty array",
        ),
        (
            "/activities",
            json!({"slug": "x"}),
            "The activity is missing a name",
        ),
        (
            "/activities",
            json!({"name": "X", "slug": 5}),
            "Field slug of activity should be string but was sent as number",
        ),
        (
            "/activities",
            json!({"name": "X", "slug": "X_X"}),
            "Field slug of activity should be slug but was sent as non-slug string",
        ),
        (
            "/activities/dev",
            json!({"name": ""}),
            "Field name of activity should be string but was sent as empty string",
        ),
        (
            "/users",
            json!({"username": "eve"}),
            "The user is missing a password",
        ),
        (
            "/users",
            json!({"username": "eve", "password": "h", "created_at": 5}),
            "user does not have a created_at field",
        ),
        (
            "/users",
            json!({"username": "eve", "password": "h", "site_admin": "yes"}),
            "Field site_admin of user should be boolean but was sent as string",
        ),
        (
            "/users",
            json!({"username": "e v e", "password": "h"}),
            "Field username of user should be valid username but was sent as string",
        ),
        (
            "/users",
            json!({"username": "eve", "password": "h", "email": "a@b.co"}),
            "Field email of user should be valid email but was sent as string",
        ),
        (
            "/users/alice",
            json!({"username": "alicia"}),
            "user does not have a username field",
        ),
    ];
    for (path, object, text) in others {
        let (status, body) = raw_post(&server, path, envelope(&admin, object)).await;
        assert_eq!(
            (status, body["error"].as_str(), body["text"].as_str()),
            (400, Some("Bad object"), Some(text)),
            "{path}"
        );
    }
}

#[tokio::test]
async fn malformed_json_and_bad_auth_blocks_get_the_servers_errors() {
    let server = team().await;
    let response = http()
        .post(format!("{}/times", server.base_url()))
        .header("content-type", "application/json")
        .body(r#"{"auth": {"type": "token""#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: types::Error = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(
        body,
        error(
            400,
            "Bad object",
            "The request body could not be parsed as valid JSON"
        )
    );

    let login = |auth: Value| raw_post(&server, "/login", json!({ "auth": auth }));
    assert_eq!(login(json!(null)).await.1["text"], "Missing credentials");
    assert_eq!(
        login(json!({"username": "alice"})).await.1["text"],
        "Authentication type required"
    );
    assert_eq!(
        login(json!({"type": "token", "username": "alice", "password": "alice-pw"})).await,
        (
            401,
            json!({"status": 401, "error": "Bad query value", "text": "token is not a valid authentication type"})
        )
    );
    assert_eq!(
        login(json!({"type": "password", "username": "alice"}))
            .await
            .1["text"],
        "Missing credentials"
    );

    let token = raw_token(&server, "alice", "alice-pw").await;
    let object = json!({"name": "X", "slug": "x"});
    let post = |body: Value| raw_post(&server, "/activities", body);
    assert_eq!(
        post(json!({"object": object})).await.1["text"],
        "Missing credentials"
    );
    assert_eq!(
        post(json!({"auth": {"token": token}, "object": object}))
            .await
            .1["text"],
        "Authentication type required"
    );
    assert_eq!(
        post(json!({"auth": {"type": "password", "token": token}, "object": object})).await,
        (
            401,
            json!({"status": 401, "error": "Bad query value", "text": "password is not a valid authentication type"})
        )
    );
    assert_eq!(
        post(json!({"auth": {"type": "token"}, "object": object}))
            .await
            .1["text"],
        "Missing credentials"
    );
    // An Authorization header is ignored.
    let response = http()
        .get(format!("{}/users", server.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}
