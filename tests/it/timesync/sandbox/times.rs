//! Time entries in the sandbox: revisions, deletion, default activities,
//! filters, visibility and streaming.

use std::collections::BTreeMap;

use futures::TryStreamExt;
use specbound::sandbox::timesync::{ProjectRole, Role, TimeSync};
use specbound::timesync::{prelude::*, types};

use super::super::{strings, update_project, update_time};
use super::{
    bad_object, bad_query, create_time, date, durations, logged_in, not_found, raw_get, raw_token,
    refused, roles, team, time, time_with_revisions, today, urlencode, whole,
};

#[tokio::test]
async fn time_entries_are_created_and_updated_with_revisions_and_parents() {
    let server = team().await;
    let ts = logged_in(&server, "alice", "alice-pw").await;
    let mut new = time(3600, "gwm", "alice", "2026-01-05", &["dev"]);
    new.notes = Some("first".into());
    new.issue_uri = Some("https://github.com/osuosl/ganeti_webmgr/issues/1".into());
    let created = create_time(&ts, new).await.unwrap();
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
        duration: Some(7200.0),
        activities: vec!["docs".into()],
        notes: Some("second".into()),
        ..Default::default()
    };
    let second = update_time(&ts, created.uuid, update).await.unwrap();
    assert_eq!((second.revision, second.duration), (2, 7200.0));
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
    let third = update_time(&ts, created.uuid, moved).await.unwrap();
    assert_eq!((third.revision, third.duration), (3, 7200.0));
    assert_eq!(third.activities, ["docs"]);
    assert_eq!(third.project, ["tsync"]);
    assert_eq!(third.date_worked, date("2026-01-06"));
    assert_eq!(third.issue_uri, created.issue_uri);

    // One entry: parents oldest first, each with its own project and activities.
    let one = time_with_revisions(&ts, created.uuid).await.unwrap();
    assert_eq!(one.revision, 3);
    let revisions: Vec<i64> = one.parents.iter().map(|p| p.revision).collect();
    assert_eq!(revisions, [1, 2]);
    assert_eq!(one.parents[0].activities, ["dev"]);
    assert_eq!(one.parents[0].project, ["gwm"]);
    assert_eq!(one.parents[0].duration, 3600.0);
    assert_eq!(one.parents[1].activities, ["docs"]);

    // The list: parents newest first, with the union of all revisions.
    let listed = ts
        .list_times()
        .include_revisions(true)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let revisions: Vec<i64> = listed[0].parents.iter().map(|p| p.revision).collect();
    assert_eq!(revisions, [2, 1]);
    assert_eq!(listed[0].activities, ["dev", "docs"]);
    assert_eq!(listed[0].project, ["gwm", "tsync"]);

    // Without include_revisions: the newest revision and no parents.
    let plain = ts.list_times().send().await.unwrap();
    assert_eq!(plain.len(), 1);
    assert_eq!(plain[0].revision, 3);
    assert!(plain[0].parents.is_empty());
}

#[tokio::test]
async fn a_single_revision_entry_has_empty_parents_where_the_server_process_dies() {
    // The server throws on this request and, on today's Node.js, exits (see
    // the spec's get_time); the sandbox answers what the code meant.
    let server = team().await;
    let ts = logged_in(&server, "bob", "bob-pw").await;
    let created = create_time(&ts, time(60, "tsync", "bob", "2026-01-05", &["dev"]))
        .await
        .unwrap();
    let one = time_with_revisions(&ts, created.uuid).await.unwrap();
    assert_eq!(one.revision, 1);
    assert!(one.parents.is_empty());
}

#[tokio::test]
async fn deleted_times_are_hidden_unless_include_deleted_and_an_update_undeletes_them() {
    let server = team().await;
    let ts = logged_in(&server, "alice", "alice-pw").await;
    let created = create_time(&ts, time(60, "gwm", "alice", "2026-01-05", &["dev"]))
        .await
        .unwrap();
    ts.delete_time().uuid(created.uuid).send().await.unwrap();
    assert!(ts.list_times().send().await.unwrap().is_empty());
    assert_eq!(
        refused(ts.get_time().uuid(created.uuid).send().await),
        not_found("time")
    );
    let deleted = ts.list_times().include_deleted(true).send().await.unwrap();
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0].deleted_at, Some(today()));
    let one = ts
        .get_time()
        .uuid(created.uuid)
        .include_deleted(true)
        .send()
        .await
        .unwrap();
    assert_eq!(one.deleted_at, Some(today()));
    // Deleting again succeeds, as on the server.
    ts.delete_time().uuid(created.uuid).send().await.unwrap();

    let back = types::TimeUpdate {
        notes: Some("back".into()),
        ..Default::default()
    };
    let revived = update_time(&ts, created.uuid, back).await.unwrap();
    assert_eq!((revived.revision, revived.deleted_at), (2, None));
    assert_eq!(ts.list_times().send().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_time_without_activities_gets_the_projects_default_activity() {
    let server = team().await;
    let admin = logged_in(&server, "admin", "admin-pw").await;
    let mut project = types::ProjectCreate::new("Default Activity", &["dflt"]);
    project.default_activity = Some("docs".into());
    project.users = BTreeMap::from([("alice".to_string(), roles(true, false, false))]);
    admin.create_project().body(project).send().await.unwrap();

    let alice = logged_in(&server, "alice", "alice-pw").await;
    let created = create_time(&alice, time(60, "dflt", "alice", "2026-01-05", &[]))
        .await
        .unwrap();
    assert!(
        created.activities.is_empty(),
        "absent from the echo, as on the server"
    );
    let got = alice.get_time().uuid(created.uuid).send().await.unwrap();
    assert_eq!(got.activities, ["docs"]);
    // gwm has no default activity.
    assert_eq!(
        refused(create_time(&alice, time(60, "gwm", "alice", "2026-01-05", &[])).await),
        bad_object("The time is missing a activities")
    );
}

#[tokio::test]
async fn time_filters_combine_with_and_across_parameters_and_or_within_one() {
    let server = team().await;
    let admin = logged_in(&server, "admin", "admin-pw").await;
    // tsync gets a second slug: either one finds its entries.
    let second_slug = types::ProjectUpdate {
        slugs: vec!["tsync".into(), "timesync".into()],
        ..Default::default()
    };
    update_project(&admin, "tsync", second_slug).await.unwrap();
    let alice = logged_in(&server, "alice", "alice-pw").await;
    let bob = logged_in(&server, "bob", "bob-pw").await;
    for (ts, t) in [
        (&alice, time(1, "gwm", "alice", "2026-01-01", &["dev"])),
        (&alice, time(2, "tsync", "alice", "2026-01-02", &["docs"])),
        (&bob, time(3, "gwm", "bob", "2026-01-03", &["docs"])),
        (
            &bob,
            time(4, "timesync", "bob", "2026-01-04", &["dev", "docs"]),
        ),
    ] {
        create_time(ts, t).await.unwrap();
    }

    let carol = logged_in(&server, "carol", "carol-pw").await;
    let all = carol.list_times().send().await.unwrap();
    assert_eq!(durations(&all), [1, 2, 3, 4]);
    let four = all.iter().find(|t| t.duration == 4.0).unwrap();
    assert_eq!(four.project, ["timesync", "tsync"]);
    assert_eq!(four.activities, ["dev", "docs"]);

    let q = || carol.list_times();
    assert_eq!(got(q().user(strings(&["alice"])).send().await), [1, 2]);
    assert_eq!(
        got(q().user(strings(&["alice", "bob"])).send().await),
        [1, 2, 3, 4]
    );
    // Unknown values are ignored as long as one exists.
    assert_eq!(
        got(q().user(strings(&["alice", "nobody"])).send().await),
        [1, 2]
    );
    assert_eq!(
        got(q()
            .project(strings(&["gwm"]))
            .activity(strings(&["docs"]))
            .send()
            .await),
        [3]
    );
    assert_eq!(
        got(q()
            .user(strings(&["bob"]))
            .activity(strings(&["dev"]))
            .send()
            .await),
        [4]
    );
    assert_eq!(
        got(q().project(strings(&["timesync"])).send().await),
        [2, 4]
    );
    assert_eq!(
        got(q()
            .project(strings(&["tsync"]))
            .activity(strings(&["dev", "docs"]))
            .send()
            .await),
        [2, 4]
    );
    assert_eq!(
        got(q()
            .project(strings(&["gwm", "tsync"]))
            .user(strings(&["bob"]))
            .send()
            .await),
        [3, 4]
    );
    assert_eq!(
        got(q()
            .start(date("2026-01-02"))
            .end(date("2026-01-03"))
            .send()
            .await),
        [2, 3]
    );
    assert_eq!(got(q().start(date("2026-01-03")).send().await), [3, 4]);
    assert_eq!(
        got(q()
            .end(date("2026-01-01"))
            .user(strings(&["alice"]))
            .send()
            .await),
        [1]
    );

    assert_eq!(
        refused(q().user(strings(&["nobody"])).send().await),
        bad_query("user", "nobody")
    );
    assert_eq!(
        refused(q().project(strings(&["nope", "nada"])).send().await),
        bad_query("project", "nope,nada")
    );
    assert_eq!(
        refused(q().activity(strings(&["falsch"])).send().await),
        bad_query("activity", "falsch")
    );
}

#[tokio::test]
async fn start_and_end_errors_use_the_servers_texts() {
    let server = team().await;
    let ts = logged_in(&server, "carol", "carol-pw").await;
    let future = today() + chrono::Days::new(400);
    assert_eq!(
        refused(ts.list_times().start(future).send().await),
        bad_query("start", &future.to_string())
    );
    // The client refuses start after end itself; a raw request of the
    // operation sends it.
    let requests = server.request_count();
    assert!(
        ts.list_times()
            .start(date("2026-01-03"))
            .end(date("2026-01-01"))
            .send()
            .await
            .unwrap_err()
            .is_invalid()
    );
    assert_eq!(server.request_count(), requests);
    let sent = ts
        .raw_request(http::Method::GET, "/times")
        .operation("list_times")
        .query(&[("start", "2026-01-03"), ("end", "2026-01-01")])
        .send()
        .await;
    assert_eq!(refused(sent), bad_query("start", "2026-01-03"));
    let token = urlencode(&raw_token(&server, "carol", "carol-pw").await);
    let (status, body) = raw_get(&server, &format!("/times?start=faux&token={token}")).await;
    assert_eq!(status, 400);
    assert_eq!(body["text"], "Parameter start contained invalid value faux");
    let (status, body) = raw_get(&server, &format!("/times?end=namaak&token={token}")).await;
    assert_eq!(status, 400);
    assert_eq!(body["text"], "Parameter end contained invalid value namaak");
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
    let a = create_time(&alice, time(1, "gwm", "alice", "2026-01-01", &["dev"]))
        .await
        .unwrap();
    create_time(&bob, time(2, "gwm", "bob", "2026-01-01", &["dev"]))
        .await
        .unwrap();
    create_time(&bob, time(3, "tsync", "bob", "2026-01-01", &["dev"]))
        .await
        .unwrap();

    assert_eq!(durations(&alice.list_times().send().await.unwrap()), [1]);
    assert_eq!(durations(&bob.list_times().send().await.unwrap()), [2, 3]);
    let watcher = logged_in(&server, "watcher", "watcher-pw").await;
    assert_eq!(
        durations(&watcher.list_times().send().await.unwrap()),
        [1, 2]
    );
    // Site managers see only their own entries.
    let mgr = logged_in(&server, "mgr", "mgr-pw").await;
    assert!(mgr.list_times().send().await.unwrap().is_empty());
    assert_eq!(
        refused(mgr.get_time().uuid(a.uuid).send().await),
        not_found("time")
    );
    // ... but may delete anyone's.
    mgr.delete_time().uuid(a.uuid).send().await.unwrap();
}

#[tokio::test]
async fn a_hundred_entries_stream_through_list_times_stream() {
    let server = team().await;
    let ts = logged_in(&server, "bob", "bob-pw").await;
    for i in 1..=100u64 {
        let project = if i % 2 == 0 { "gwm" } else { "tsync" };
        create_time(&ts, time(i, project, "bob", "2026-02-01", &["dev"]))
            .await
            .unwrap();
    }
    let requests = server.request_count();
    let mut stream = ts.list_times().user(strings(&["bob"])).stream();
    let mut seen = Vec::new();
    while let Some(t) = stream.try_next().await.unwrap() {
        assert_eq!(t.user, "bob");
        seen.push(whole(t.duration));
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=100).collect::<Vec<u64>>());
    // One answer, one array: no paging.
    assert_eq!(server.request_count(), requests + 1);
    let gwm: Vec<types::Time> = ts
        .list_times()
        .project(strings(&["gwm"]))
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(gwm.len(), 50);
}

/// The sorted durations of a list answer.
#[track_caller]
fn got<T: std::ops::Deref<Target = Vec<types::Time>>>(answer: specbound::Result<T>) -> Vec<u64> {
    durations(&answer.unwrap())
}
