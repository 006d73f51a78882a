//! What the reference server does, checked on a local run of
//! osuosl/timesync-node (be26956, on its SQLite database), that the sandbox
//! does too: fractional durations, durations read with JavaScript's
//! `Number`, projects whose `users` name no existing user, updates that
//! clear a project's default activity, the seeded administrator, a site
//! manager's rights on users, and which error comes first.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use specbound::timesync::{Duration, prelude::*, types};

use super::super::{update_project, update_time, update_user};
use super::{
    bad_object, create_time, date, denied, envelope, error, logged_in, raw_get, raw_post,
    raw_token, refused, roles, team, time, time_with_revisions, urlencode,
};

/// The sandbox's answer to a request that makes the server fail.
fn server_error() -> types::Error {
    error(500, "Server error", "Unexpected server error.")
}

#[tokio::test]
async fn fractional_durations_are_kept_and_every_list_with_one_decodes() {
    let server = team().await;
    let ts = logged_in(&server, "alice", "alice-pw").await;
    let mut short = types::TimeCreate::new(
        Duration::try_from(1.5).unwrap(),
        "gwm",
        "alice",
        date("2026-01-05"),
    );
    short.activities = vec!["dev".into()];
    let created = create_time(&ts, short).await.unwrap();
    assert_eq!(created.duration, 1.5);
    create_time(&ts, time(5400, "gwm", "alice", "2026-01-06", &["docs"]))
        .await
        .unwrap();

    // The list holding the fraction decodes, the fraction intact.
    let mut listed: Vec<f64> = ts
        .list_times()
        .send()
        .await
        .unwrap()
        .iter()
        .map(|t| t.duration)
        .collect();
    listed.sort_by(f64::total_cmp);
    assert_eq!(listed, [1.5, 5400.0]);
    let one = ts.get_time().uuid(created.uuid).send().await.unwrap();
    assert_eq!(Duration::try_from(one.duration).unwrap().to_string(), "1.5");

    // On the wire, as the server writes numbers: 1.5 and 5400, not 5400.0.
    let token = raw_token(&server, "alice", "alice-pw").await;
    let response = super::http()
        .get(format!(
            "{}/times?token={}",
            server.base_url(),
            urlencode(&token)
        ))
        .send()
        .await
        .unwrap();
    let text = response.text().await.unwrap();
    assert!(
        text.contains(r#""duration":1.5,"#) && text.contains(r#""duration":5400,"#),
        "{text}"
    );

    // An update to another fraction keeps the older one among the parents.
    let update = types::TimeUpdate {
        duration: Some(Duration::try_from(0.25).unwrap().into()),
        ..Default::default()
    };
    let updated = update_time(&ts, created.uuid, update).await.unwrap();
    assert_eq!((updated.revision, updated.duration), (2, 0.25));
    let history = time_with_revisions(&ts, created.uuid).await.unwrap();
    assert_eq!(history.duration, 0.25);
    assert_eq!(
        history
            .parents
            .iter()
            .map(|p| p.duration)
            .collect::<Vec<_>>(),
        [1.5]
    );
}

#[tokio::test]
async fn an_update_reads_its_duration_as_javascripts_number_does() {
    let server = team().await;
    let token = raw_token(&server, "bob", "bob-pw").await;
    let ts = logged_in(&server, "bob", "bob-pw").await;
    let created = create_time(&ts, time(100, "tsync", "bob", "2026-01-05", &["dev"]))
        .await
        .unwrap();
    let path = format!("/times/{}", created.uuid);
    // What the server answered on each, in turn: `Number(..)` of the value,
    // and the old duration kept when that is 0 or NaN.
    let steps = [
        (json!("2.5"), json!(2.5)),
        (json!(7.25), json!(7.25)),
        (json!("abc"), json!(7.25)),
        (json!(""), json!(7.25)),
        (json!(true), json!(1)),
        (json!(null), json!(1)),
        (json!([]), json!(1)),
        (json!(["4"]), json!(4)),
        (json!(" 12 "), json!(12)),
        (json!("1e1"), json!(10)),
        (json!("0x10"), json!(16)),
    ];
    for (revision, (sent, kept)) in (2..).zip(steps) {
        let (status, answer) =
            raw_post(&server, &path, envelope(&token, json!({"duration": sent}))).await;
        assert_eq!(
            (status, &answer["duration"], &answer["revision"]),
            (200, &kept, &json!(revision)),
            "{sent}: {answer}"
        );
    }
}

#[tokio::test]
async fn a_project_whose_users_name_no_existing_user_fails_with_500_and_stores_nothing() {
    let server = team().await;
    let mgr = logged_in(&server, "mgr", "mgr-pw").await;
    let member = roles(true, false, false);
    let ghost_only = BTreeMap::from([("ghost".to_string(), member.clone())]);

    let mut project = types::ProjectCreate::new("Ghosts", &["ghosts"]);
    project.users = ghost_only.clone();
    assert_eq!(
        refused(mgr.create_project().body(project).send().await),
        server_error()
    );
    let token = raw_token(&server, "mgr", "mgr-pw").await;
    let (status, body) = raw_post(
        &server,
        "/projects",
        envelope(
            &token,
            json!({"name": "Ghosts", "slugs": ["ghosts"], "users": {}}),
        ),
    )
    .await;
    assert_eq!(
        (status, &body["text"]),
        (500, &json!("Unexpected server error."))
    );
    // Nothing was stored: the slug and the name are free.
    assert_eq!(mgr.list_projects().send().await.unwrap().len(), 2);
    let (status, _) = raw_get(
        &server,
        &format!("/projects/ghosts?token={}", urlencode(&token)),
    )
    .await;
    assert_eq!(status, 404);

    // With one user that exists, the unknown one is skipped.
    let mut project = types::ProjectCreate::new("Ghosts", &["ghosts"]);
    project.users = BTreeMap::from([
        ("ghost".to_string(), member.clone()),
        ("bob".to_string(), member.clone()),
    ]);
    let created = mgr.create_project().body(project).send().await.unwrap();
    assert_eq!(created.users.keys().collect::<Vec<_>>(), ["bob"]);

    // An update naming only unknown users (or none) changes nothing.
    for users in [ghost_only, BTreeMap::new()] {
        let update = types::ProjectUpdate {
            name: Some("Renamed".into()),
            users: Some(users),
            ..Default::default()
        };
        assert_eq!(
            refused(update_project(&mgr, "ghosts", update).await),
            server_error()
        );
    }
    let kept = mgr.get_project().slug("ghosts").send().await.unwrap();
    assert_eq!((kept.name.as_str(), kept.revision), ("Ghosts", 1));
    assert_eq!(kept.users.keys().collect::<Vec<_>>(), ["bob"]);
}

#[tokio::test]
async fn updating_a_project_without_its_default_activity_clears_it() {
    let server = team().await;
    let mgr = logged_in(&server, "mgr", "mgr-pw").await;
    let mut project = types::ProjectCreate::new("Defaults", &["defaults"]);
    project.default_activity = Some("dev".into());
    project.users = BTreeMap::from([("bob".to_string(), roles(true, false, false))]);
    mgr.create_project().body(project).send().await.unwrap();

    let rename = types::ProjectUpdate {
        name: Some("Defaults 2".into()),
        ..Default::default()
    };
    let renamed = update_project(&mgr, "defaults", rename).await.unwrap();
    assert_eq!(
        (renamed.revision, renamed.default_activity.as_deref()),
        (2, None)
    );
    let got = mgr.get_project().slug("defaults").send().await.unwrap();
    assert_eq!(got.default_activity, None);

    // So a time entry without activities has none to fall back on.
    let bob = logged_in(&server, "bob", "bob-pw").await;
    let plain =
        types::TimeCreate::new("1h".parse().unwrap(), "defaults", "bob", date("2026-01-05"));
    assert_eq!(
        refused(create_time(&bob, plain.clone()).await),
        bad_object("The time is missing a activities")
    );

    // Naming it with the update keeps it.
    let keep = types::ProjectUpdate {
        name: Some("Defaults 3".into()),
        default_activity: specbound::runtime::Patch::Value("docs".into()),
        ..Default::default()
    };
    let kept = update_project(&mgr, "defaults", keep).await.unwrap();
    assert_eq!(kept.default_activity.as_deref(), Some("docs"));
    let created = create_time(&bob, plain).await.unwrap();
    assert_eq!(created.revision, 1);
    let listed = bob.list_times().send().await.unwrap();
    assert_eq!(listed[0].activities, ["docs"]);
}

#[tokio::test]
async fn the_seeded_administrator_looks_like_the_servers_root_user() {
    let server = team().await;
    let ts = logged_in(&server, "bob", "bob-pw").await;
    let admin = ts.get_user().username("admin").send().await.unwrap();
    assert_eq!(
        (
            admin.site_admin,
            admin.site_manager,
            admin.site_spectator,
            admin.active
        ),
        (true, true, true, true)
    );
    assert_eq!(admin.display_name.as_deref(), Some("root"));
    assert_eq!(
        admin.meta.as_deref(),
        Some("Root user. Created automatically. Use to create other users.")
    );
    // The other roles are as they were.
    let mgr = ts.get_user().username("mgr").send().await.unwrap();
    assert_eq!(
        (
            mgr.site_admin,
            mgr.site_manager,
            mgr.site_spectator,
            mgr.display_name.as_deref(),
            mgr.meta.as_deref()
        ),
        (false, true, false, None, None)
    );
}

#[tokio::test]
async fn a_site_manager_changes_site_spectator_and_email_of_any_user_and_nothing_else() {
    let server = team().await;
    let mgr = logged_in(&server, "mgr", "mgr-pw").await;
    let email = |address: &str| types::UserUpdate {
        email: specbound::runtime::Patch::Value(address.into()),
        site_spectator: Some(true),
        ..Default::default()
    };
    for (username, address) in [("bob", "bob@example.com"), ("mgr", "mgr@example.com")] {
        let updated = update_user(&mgr, username, email(address)).await.unwrap();
        assert_eq!(
            (updated.email.as_deref(), updated.site_spectator),
            (Some(address), true)
        );
    }
    // A false flag is never refused; anything else is, themselves included.
    let demote = types::UserUpdate {
        active: Some(false),
        ..Default::default()
    };
    let demoted = update_user(&mgr, "bob", demote).await.unwrap();
    assert!(!demoted.active);
    let rename = types::UserUpdate {
        display_name: Some("M".into()),
        ..Default::default()
    };
    assert_eq!(
        refused(update_user(&mgr, "mgr", rename).await),
        denied("mgr is not authorized to modify fields of user mgr other than site_spectator")
    );
}

#[tokio::test]
async fn when_several_fields_are_wrong_the_first_error_is_the_servers() {
    let server = team().await;
    let token = raw_token(&server, "admin", "admin-pw").await;
    let text = |body: Value| body["text"].as_str().unwrap_or_default().to_string();
    let post =
        |path: &'static str, object: Value| raw_post(&server, path, envelope(&token, object));

    // helpers.validateFields walks duration, project, user, ...: a present
    // duration (whole or not) is fine, the missing project comes first.
    for duration in [json!(60), json!(1.5)] {
        let (status, body) = post("/times", json!({ "duration": duration })).await;
        assert_eq!(
            (status, text(body)),
            (400, "The time is missing a project".into())
        );
    }
    let (_, body) = post(
        "/times",
        json!({"duration": 60, "user": 5, "date_worked": 1}),
    )
    .await;
    assert_eq!(text(body), "The time is missing a project");

    // Unknown user fields fail last on the server (its insert or update),
    // so every other problem is reported before them.
    let (status, body) = post(
        "/users",
        json!({"username": "neo", "password": "$2a$04$x", "bogus": 1, "site_admin": "yes"}),
    )
    .await;
    assert_eq!(
        (status, text(body)),
        (
            400,
            "Field site_admin of user should be boolean but was sent as string".into()
        )
    );
    let (status, body) = post(
        "/users",
        json!({"username": "bob", "password": "$2a$04$x", "bogus": 1}),
    )
    .await;
    assert_eq!(
        (status, text(body)),
        (409, "username bob already exists".into())
    );
    let (status, body) = post("/users/nobody", json!({"bogus": 1})).await;
    assert_eq!((status, text(body)), (404, "Nonexistent user".into()));
    let (status, body) = post("/users/bob", json!({"bogus": 1})).await;
    assert_eq!(
        (status, text(body)),
        (400, "user does not have a bogus field".into())
    );
}
