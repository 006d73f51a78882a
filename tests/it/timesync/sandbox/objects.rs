//! Projects, activities and users in the sandbox: revisions, roles, soft
//! deletion, and passwords sent as bcrypt hashes.

use std::collections::BTreeMap;

use chrono::Utc;
use specbound::runtime::Patch;
use specbound::timesync::{AuthType, prelude::*, types};

use super::super::{strings, update_activity, update_project, update_user};
use super::{
    auth_failure, bad_object, create_time, log_in, logged_in, not_allowed, not_found, refused,
    roles, team, time, today,
};

#[tokio::test]
async fn projects_are_created_revised_listed_and_soft_deleted() {
    let server = team().await;
    let admin = logged_in(&server, "admin", "admin-pw").await;
    let mut new = types::ProjectCreate::new("Project A", &["pa", "project-a"]);
    new.uri = Some("https://github.com/osuosl/pa".into());
    new.default_activity = Some("dev".into());
    new.users = BTreeMap::from([
        ("alice".to_string(), roles(true, true, true)),
        ("ghost".to_string(), roles(true, false, false)),
    ]);
    let created = admin.create_project().body(new).send().await.unwrap();
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
            ("alice".to_string(), roles(true, false, true)),
            ("bob".to_string(), roles(true, false, false)),
        ])),
        default_activity: Patch::Null,
        ..Default::default()
    };
    let updated = update_project(&alice, "pa", update).await.unwrap();
    assert_eq!(updated.name, "Project Alpha");
    assert_eq!(updated.revision, 2);
    assert_eq!(updated.slugs, ["alpha", "pa"]);
    assert_eq!(updated.uri.as_deref(), Some("https://github.com/osuosl/pa"));
    assert_eq!(updated.default_activity, None);
    assert_eq!(updated.updated_at, Some(today()));
    assert!(updated.users["bob"].member);
    assert_eq!(
        refused(alice.get_project().slug("project-a").send().await),
        not_found("project")
    );

    let with_parents = alice
        .get_project()
        .slug("alpha")
        .include_revisions(true)
        .send()
        .await
        .unwrap();
    assert_eq!(with_parents.parents.len(), 1);
    assert_eq!(with_parents.parents[0].name, "Project A");
    assert_eq!(
        with_parents.parents[0].default_activity.as_deref(),
        Some("dev")
    );
    let listed = alice
        .list_projects()
        .include_revisions(true)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.len(), 3);
    let of_bob = alice
        .list_projects()
        .user(strings(&["bob"]))
        .send()
        .await
        .unwrap();
    let mut names: Vec<&str> = of_bob.iter().map(|p| p.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Ganeti Web Manager", "Project Alpha", "TimeSync"]);
    assert_eq!(alice.project_users("alpha").await.unwrap().len(), 2);

    // A project with current entries cannot be deleted.
    let bob = logged_in(&server, "bob", "bob-pw").await;
    let t = create_time(&bob, time(60, "alpha", "bob", "2026-01-05", &["docs"]))
        .await
        .unwrap();
    assert_eq!(
        refused(alice.delete_project().slug("alpha").send().await),
        not_allowed("project")
    );
    bob.delete_time().uuid(t.uuid).send().await.unwrap();
    alice.delete_project().slug("alpha").send().await.unwrap();
    assert_eq!(
        refused(alice.get_project().slug("alpha").send().await),
        not_found("project")
    );
    let all = alice
        .list_projects()
        .include_deleted(true)
        .send()
        .await
        .unwrap();
    let gone = all.iter().find(|p| p.name == "Project Alpha").unwrap();
    assert!(gone.slugs.is_empty());
    assert!(gone.users.is_empty());
    assert_eq!(gone.deleted_at, Some(today()));
    assert_eq!(alice.list_projects().send().await.unwrap().len(), 2);
    // Its slugs are free again; its name is not.
    let again = types::ProjectCreate::new("Project Again", &["alpha"]);
    assert_eq!(
        admin
            .create_project()
            .body(again)
            .send()
            .await
            .unwrap()
            .slugs,
        ["alpha"]
    );
    assert_eq!(
        refused(
            admin
                .create_project()
                .body(types::ProjectCreate::new("Project Alpha", &["other"]))
                .send()
                .await
        ),
        bad_object(
            "Field name of project should be unique name but was sent as name which already exists"
        )
    );
}

#[tokio::test]
async fn activities_are_created_revised_and_soft_deleted() {
    let server = team().await;
    let mgr = logged_in(&server, "mgr", "mgr-pw").await;
    let created = mgr
        .create_activity()
        .body(types::ActivityCreate::new("Code Review", "review"))
        .send()
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

    let update = |name: Option<&str>, slug: Option<&str>| types::ActivityUpdate {
        name: name.map(Into::into),
        slug: slug.map(Into::into),
    };
    let renamed = update_activity(&mgr, "review", update(Some("Reviews"), None))
        .await
        .unwrap();
    assert_eq!((renamed.revision, renamed.name.as_str()), (2, "Reviews"));
    assert_eq!(renamed.updated_at, today());
    let reslugged = update_activity(&mgr, "review", update(None, Some("rev")))
        .await
        .unwrap();
    assert_eq!((reslugged.revision, reslugged.slug.as_str()), (3, "rev"));
    assert_eq!(
        refused(mgr.get_activity().slug("review").send().await),
        not_found("activity")
    );
    let one = mgr
        .get_activity()
        .slug("rev")
        .include_revisions(true)
        .send()
        .await
        .unwrap();
    let revisions: Vec<i64> = one.parents.iter().map(|p| p.revision).collect();
    assert_eq!(revisions, [1, 2]);
    assert_eq!(
        mgr.list_activities()
            .include_revisions(true)
            .send()
            .await
            .unwrap()
            .len(),
        3
    );

    // In use by a current entry: 405.
    let bob = logged_in(&server, "bob", "bob-pw").await;
    let t = create_time(&bob, time(60, "gwm", "bob", "2026-01-05", &["rev"]))
        .await
        .unwrap();
    assert_eq!(
        refused(mgr.delete_activity().slug("rev").send().await),
        not_allowed("activity")
    );
    bob.delete_time().uuid(t.uuid).send().await.unwrap();
    mgr.delete_activity().slug("rev").send().await.unwrap();
    assert_eq!(mgr.list_activities().send().await.unwrap().len(), 2);
    let all = mgr
        .list_activities()
        .include_deleted(true)
        .send()
        .await
        .unwrap();
    let gone = all.iter().find(|a| a.name == "Reviews").unwrap();
    assert_eq!(
        (gone.slug.as_deref(), gone.deleted_at),
        (None, Some(today()))
    );
    assert_eq!(
        refused(mgr.delete_activity().slug("rev").send().await),
        not_found("slug")
    );
}

#[tokio::test]
async fn create_user_sends_a_bcrypt_hash_the_sandbox_accepts_at_login() {
    let server = team().await;
    let admin = logged_in(&server, "admin", "admin-pw").await;
    let mut new = types::UserCreate::new("guyn", "correct horse");
    new.display_name = Some("New Guy".into());
    new.email = Some("guyn@example.com".into());
    new.meta = Some("Just arrived".into());
    let before = Utc::now().timestamp_millis();
    let created = admin.create_user().body(new).send().await.unwrap();
    assert_eq!(created.username, "guyn");
    assert_eq!(created.display_name.as_deref(), Some("New Guy"));
    assert!((before..=Utc::now().timestamp_millis()).contains(&created.created_at));
    assert!(created.active);
    assert!(!created.site_admin && !created.site_manager && !created.site_spectator);
    assert_eq!((created.updated_at, created.deleted_at), (None, None));

    // The sandbox compares the login password with what the client stored:
    // only a bcrypt hash of it matches.
    let guyn = logged_in(&server, "guyn", "correct horse").await;
    let me = guyn.get_user().username("guyn").send().await.unwrap();
    assert_eq!(me.email.as_deref(), Some("guyn@example.com"));
    assert_eq!(me.created_at, today());
    assert_eq!(
        refused(log_in(&server, "guyn", "wrong horse", AuthType::Password).await),
        auth_failure("Incorrect username or password")
    );

    // A new password through update_user is hashed as well.
    let update = types::UserUpdate {
        password: Some("battery staple".into()),
        ..Default::default()
    };
    update_user(&guyn, "guyn", update).await.unwrap();
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
    let me = update_user(&alice, "alice", update).await.unwrap();
    assert_eq!(me.display_name.as_deref(), Some("Alice A."));
    assert_eq!(me.email.as_deref(), Some("alice@example.com"));
    assert!(me.site_spectator);
    assert_eq!(me.updated_at, Some(today()));
    let clear_email = types::UserUpdate {
        email: Patch::Null,
        ..Default::default()
    };
    let cleared = update_user(&alice, "alice", clear_email).await.unwrap();
    assert_eq!(cleared.email, None);

    let mgr = logged_in(&server, "mgr", "mgr-pw").await;
    mgr.delete_user().username("bob").send().await.unwrap();
    let users = mgr.list_users().send().await.unwrap();
    assert!(users.iter().all(|u| u.username != "bob"));
    assert_eq!(users.len(), 4);
    let with_deleted = mgr.list_users().include_deleted(true).send().await.unwrap();
    let bob = with_deleted.iter().find(|u| u.username == "bob").unwrap();
    assert_eq!(bob.deleted_at, Some(today()));
    assert_eq!(
        refused(mgr.get_user().username("bob").send().await),
        not_found("user")
    );
    let deleted = mgr
        .get_user()
        .username("bob")
        .include_deleted(true)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.deleted_at, Some(today()));
    // A deleted user can still log in (as on the server) and an update undeletes.
    let bob = logged_in(&server, "bob", "bob-pw").await;
    let meta = types::UserUpdate {
        meta: Some("back".into()),
        ..Default::default()
    };
    let back = update_user(&bob, "bob", meta).await.unwrap();
    assert_eq!(
        (back.deleted_at, back.meta.as_deref()),
        (None, Some("back"))
    );
}
