//! What the sandbox refuses, with the reference server's statuses and
//! texts: permissions (401), unknown objects (404), conflicts (409),
//! unreadable bodies and bad auth blocks.

use serde_json::{Value, json};
use specbound::timesync::{prelude::*, types};

use super::super::{update_activity, update_project, update_time, update_user};
use super::{
    create_time, denied, error, error_with, http, logged_in, not_found, raw_get, raw_post,
    raw_token, refused, team, time, urlencode,
};

#[tokio::test]
async fn permission_failures_are_401_authorization_failures_with_the_servers_texts() {
    let server = team().await;
    let alice = logged_in(&server, "alice", "alice-pw").await;
    let bob = logged_in(&server, "bob", "bob-pw").await;
    let carol = logged_in(&server, "carol", "carol-pw").await;
    let mgr = logged_in(&server, "mgr", "mgr-pw").await;
    let bobs = create_time(&bob, time(60, "gwm", "bob", "2026-01-05", &["dev"]))
        .await
        .unwrap();

    assert_eq!(
        refused(create_time(&alice, time(60, "gwm", "bob", "2026-01-05", &["dev"])).await),
        denied("alice is not authorized to create time entries for bob")
    );
    assert_eq!(
        refused(create_time(&carol, time(60, "gwm", "carol", "2026-01-05", &["dev"])).await),
        denied("carol is not authorized to create time entries for project gwm.")
    );
    let one_second = types::TimeUpdate {
        duration: Some(1.0),
        ..Default::default()
    };
    assert_eq!(
        refused(update_time(&alice, bobs.uuid, one_second).await),
        denied("alice is not authorized to create objects for bob")
    );
    assert_eq!(
        refused(alice.delete_time().uuid(bobs.uuid).send().await),
        denied(&format!(
            "alice is not authorized to delete time {}",
            bobs.uuid
        ))
    );
    assert_eq!(
        refused(
            alice
                .create_project()
                .body(types::ProjectCreate::new("Mine", &["mine"]))
                .send()
                .await
        ),
        denied("alice is not authorized to create projects")
    );
    let rename_project = types::ProjectUpdate {
        name: Some("Mine".into()),
        ..Default::default()
    };
    assert_eq!(
        refused(update_project(&bob, "gwm", rename_project).await),
        denied("bob is not authorized to make changes to Ganeti Web Manager")
    );
    assert_eq!(
        refused(bob.delete_project().slug("gwm").send().await),
        denied("bob is not authorized to delete project gwm")
    );
    assert_eq!(
        refused(
            alice
                .create_activity()
                .body(types::ActivityCreate::new("Mine", "mine"))
                .send()
                .await
        ),
        denied("alice is not authorized to create activities")
    );
    let rename_activity = types::ActivityUpdate {
        name: Some("X".into()),
        slug: None,
    };
    assert_eq!(
        refused(update_activity(&alice, "dev", rename_activity).await),
        denied("alice is not authorized to update activities")
    );
    assert_eq!(
        refused(alice.delete_activity().slug("dev").send().await),
        denied("alice is not authorized to delete activities")
    );
    // Creating users needs site admin and site manager.
    assert_eq!(
        refused(
            mgr.create_user()
                .body(types::UserCreate::new("eve", "pw"))
                .send()
                .await
        ),
        denied("mgr is not authorized to create users")
    );
    assert_eq!(
        refused(alice.delete_user().username("bob").send().await),
        denied("alice is not authorized to delete users")
    );
    let rename = types::UserUpdate {
        display_name: Some("B".into()),
        ..Default::default()
    };
    assert_eq!(
        refused(update_user(&alice, "bob", rename.clone()).await),
        denied("alice is not authorized to modify user bob")
    );
    assert_eq!(
        refused(update_user(&mgr, "bob", rename).await),
        denied("mgr is not authorized to modify fields of user bob other than site_spectator")
    );
    let promote = types::UserUpdate {
        site_admin: Some(true),
        ..Default::default()
    };
    assert_eq!(
        refused(update_user(&alice, "alice", promote).await),
        denied("alice is not authorized to set permissions of user alice")
    );
    // What a site manager may do to others: site_spectator.
    let spectate = types::UserUpdate {
        site_spectator: Some(true),
        ..Default::default()
    };
    assert!(
        update_user(&mgr, "bob", spectate)
            .await
            .unwrap()
            .site_spectator
    );
}

#[tokio::test]
async fn unknown_objects_are_404s_with_the_servers_texts() {
    let server = team().await;
    let admin = logged_in(&server, "admin", "admin-pw").await;
    let uuid = uuid::Uuid::new_v4();
    assert_eq!(
        refused(admin.get_time().uuid(uuid).send().await),
        not_found("time")
    );
    let one_second = types::TimeUpdate {
        duration: Some(1.0),
        ..Default::default()
    };
    assert_eq!(
        refused(update_time(&admin, uuid, one_second).await),
        not_found("time")
    );
    assert_eq!(
        refused(admin.delete_time().uuid(uuid).send().await),
        not_found("uuid")
    );
    assert_eq!(
        refused(admin.get_project().slug("nope").send().await),
        not_found("project")
    );
    let rename = types::ProjectUpdate {
        name: Some("N".into()),
        ..Default::default()
    };
    assert_eq!(
        refused(update_project(&admin, "nope", rename).await),
        not_found("project")
    );
    assert_eq!(
        refused(admin.delete_project().slug("nope").send().await),
        not_found("slug")
    );
    assert_eq!(
        refused(admin.get_activity().slug("nope").send().await),
        not_found("activity")
    );
    let rename = types::ActivityUpdate {
        name: Some("N".into()),
        slug: None,
    };
    assert_eq!(
        refused(update_activity(&admin, "nope", rename).await),
        not_found("activity")
    );
    assert_eq!(
        refused(admin.delete_activity().slug("nope").send().await),
        not_found("slug")
    );
    assert_eq!(
        refused(admin.get_user().username("nobody").send().await),
        not_found("user")
    );
    let meta = types::UserUpdate {
        meta: Some("m".into()),
        ..Default::default()
    };
    assert_eq!(
        refused(update_user(&admin, "nobody", meta).await),
        not_found("user")
    );
    assert_eq!(
        refused(admin.delete_user().username("nobody").send().await),
        not_found("user")
    );

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
    // The server wants the hyphenated form, which the spec's `uuid` format
    // does not insist on.
    let simple = uuid.simple().to_string();
    let (status, body) = raw_get(&server, &format!("/times/{simple}?token={token}")).await;
    assert_eq!(
        (status, body["text"].as_str()),
        (
            400,
            Some(format!("Expected UUID but received {simple}").as_str())
        )
    );
    let (status, body) = raw_get(&server, &format!("/users/!nv4l%7Cd?token={token}")).await;
    assert_eq!(
        (status, body["text"].as_str()),
        (400, Some("Expected username but received !nv4l|d"))
    );
    // The slug GETs check less than the slug rule: an upper-case slug is
    // only unknown, a character outside letters, digits, `-` and `_` is refused.
    let (status, body) = raw_get(&server, &format!("/projects/GWM?token={token}")).await;
    assert_eq!(
        (status, body["text"].as_str()),
        (404, Some("Nonexistent project"))
    );
    let (status, body) = raw_get(&server, &format!("/activities/test-!*@?token={token}")).await;
    assert_eq!(
        (status, body["text"].as_str()),
        (400, Some("Expected slug but received test-!*@"))
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
    let create_project = |p: types::ProjectCreate| admin.create_project().body(p).send();
    let taken = |text: &str, values: &[&str]| {
        error_with(409, "The slug provided already exists", text, values)
    };
    assert_eq!(
        refused(create_project(types::ProjectCreate::new("Other", &["gwm", "new"])).await),
        taken("slug gwm already exists", &["gwm"])
    );
    assert_eq!(
        refused(create_project(types::ProjectCreate::new("Other", &["tsync", "gwm"])).await),
        taken("slugs gwm, tsync already exist", &["gwm", "tsync"])
    );
    let reslug = types::ProjectUpdate {
        slugs: vec!["tsync".into()],
        ..Default::default()
    };
    assert_eq!(
        refused(update_project(&admin, "gwm", reslug).await),
        taken("slug tsync already exists", &["tsync"])
    );
    assert_eq!(
        refused(
            admin
                .create_activity()
                .body(types::ActivityCreate::new("Dev again", "dev"))
                .send()
                .await
        ),
        taken("slug dev already exists", &["dev"])
    );
    assert_eq!(
        refused(
            admin
                .create_user()
                .body(types::UserCreate::new("alice", "pw"))
                .send()
                .await
        ),
        error_with(
            409,
            "Username already exists",
            "username alice already exists",
            &["alice"]
        )
    );
    let foreign = |object: &str, key: &str| {
        error(
            409,
            "Invalid foreign key",
            &format!("The {object} does not contain a valid {key} reference."),
        )
    };
    let mut with_default = types::ProjectCreate::new("Other", &["other"]);
    with_default.default_activity = Some("nope".into());
    assert_eq!(
        refused(create_project(with_default).await),
        foreign("project", "activity")
    );
    let alice = logged_in(&server, "alice", "alice-pw").await;
    assert_eq!(
        refused(create_time(&alice, time(60, "nope", "alice", "2026-01-05", &["dev"])).await),
        foreign("time", "project")
    );
    assert_eq!(
        refused(
            create_time(
                &alice,
                time(60, "gwm", "alice", "2026-01-05", &["dev", "nope"])
            )
            .await
        ),
        foreign("time", "activities")
    );
    let mine = create_time(&alice, time(60, "gwm", "alice", "2026-01-05", &["dev"]))
        .await
        .unwrap();
    let update = |update: types::TimeUpdate| update_time(&alice, mine.uuid, update);
    let to_user = types::TimeUpdate {
        user: Some("nobody".into()),
        ..Default::default()
    };
    assert_eq!(refused(update(to_user).await), foreign("time", "user"));
    let to_project = types::TimeUpdate {
        project: Some("nope".into()),
        ..Default::default()
    };
    assert_eq!(
        refused(update(to_project).await),
        foreign("time", "project")
    );
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
    assert_eq!(
        post(json!({"auth": {"type": "token", "token": token}})).await,
        (
            400,
            json!({"status": 400, "error": "Bad object", "text": "The request is missing a object"})
        )
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
