//! Request objects the sandbox refuses as the server does, checked against
//! the spec's schemas and answered in the server's words and order.

use serde_json::{Value, json};

use super::{envelope, raw_post, raw_token, team};

/// Posts `object` to `path` as `token` and asserts a 400 Bad object `text`.
async fn assert_bad(
    server: &specbound::sandbox::timesync::TimeSync,
    token: &str,
    path: &str,
    object: Value,
    text: &str,
) {
    let (status, body) = raw_post(server, path, envelope(token, object.clone())).await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"status": 400, "error": "Bad object", "text": text})
        ),
        "{path} {object}"
    );
}

#[tokio::test]
async fn time_entries_are_checked_in_the_servers_order_and_words() {
    let server = team().await;
    let token = raw_token(&server, "alice", "alice-pw").await;
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
            with("activities", json!(["dev", 1])),
            "Field activities of time should be slugs but was sent as array containing at least 1 number",
        ),
        (
            with("activities", json!(["Not-Valid"])),
            "Field activities of time should be slugs but was sent as array containing at least 1 invalid slug",
        ),
        (
            with("activities", json!([])),
            "Field activities of time should be array of slugs but was sent as empty array",
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
            with(
                "issue_uri",
                json!("https://github.com/osuosl/gwm/issues/1 2"),
            ),
            "Field issue_uri of time should be URI but was sent as invalid URI https://github.com/osuosl/gwm/issues/1 2",
        ),
        (
            with("date_worked", json!("April 29, 1995")),
            "Field date_worked of time should be ISO-8601 date but was sent as April 29, 1995",
        ),
        // The server's order: types before values, the duration before the project.
        (
            json!({"duration": -1, "project": "Not_A_Slug", "user": 5, "date_worked": "x"}),
            "Field user of time should be string but was sent as number",
        ),
        (
            json!({"duration": -1, "project": "Not_A_Slug", "user": "alice", "date_worked": "x"}),
            "Field duration of time should be positive number but was sent as negative number",
        ),
        (
            json!({"duration": 1, "project": "Not_A_Slug", "user": "alice", "date_worked": "x", "activities": [1]}),
            "Field project of time should be slug but was sent as invalid slug Not_A_Slug",
        ),
    ];
    for (object, text) in cases {
        assert_bad(&server, &token, "/times", object, text).await;
    }
    // What the server takes though the spec is stricter: a date inside a
    // longer text, an empty issue URI, unknown fields (echoed back).
    let mut loose = with("date_worked", json!("2026-01-05T10:00:00Z"));
    loose["issue_uri"] = json!("");
    loose["key"] = json!(1);
    let (status, created) = raw_post(&server, "/times", envelope(&token, loose)).await;
    assert_eq!((status, &created["key"]), (200, &json!(1)), "{created}");

    let uuid = created["uuid"].as_str().unwrap();
    let updates = [
        (
            json!({"duration": {}}),
            "Field duration of time should be number but was sent as object",
        ),
        (json!({"key": 1}), "time does not have a key field"),
        (
            json!({"duration": -1}),
            "Field duration of time should be positive integer but was sent as negative integer",
        ),
        (
            json!({"duration": "-1"}),
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
        (
            json!({"activities": []}),
            "Field activities of time should be array of slugs but was sent as empty array",
        ),
    ];
    for (object, text) in updates {
        assert_bad(&server, &token, &format!("/times/{uuid}"), object, text).await;
    }
    // The server reads an update's duration with `Number(..)`: "90" is 90
    // seconds; null (0) keeps the old duration.
    let (status, updated) = raw_post(
        &server,
        &format!("/times/{uuid}"),
        envelope(&token, json!({"duration": "90"})),
    )
    .await;
    assert_eq!(
        (status, &updated["duration"]),
        (200, &json!(90)),
        "{updated}"
    );
    let (status, updated) = raw_post(
        &server,
        &format!("/times/{uuid}"),
        envelope(&token, json!({"duration": null})),
    )
    .await;
    assert_eq!(
        (status, &updated["duration"], &updated["revision"]),
        (200, &json!(90), &json!(3)),
        "{updated}"
    );
}

#[tokio::test]
async fn projects_activities_and_users_are_checked_in_the_servers_words() {
    let server = team().await;
    let admin = raw_token(&server, "admin", "admin-pw").await;
    let cases = [
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
            "/projects",
            json!({"name": "P", "slugs": []}),
            "Field slugs of project should be array of slugs but was sent as empty array",
        ),
        (
            "/projects",
            json!({"name": "P", "slugs": ["p"], "users": {"alice": {"member": 1, "spectator": true, "manager": true}}}),
            "Field users.alice.member of project should be boolean but was sent as number",
        ),
        (
            "/projects",
            json!({"name": "P", "slugs": ["p"], "users": {"alice": {"member": true}}}),
            "The project is missing a users.alice.spectator",
        ),
        (
            "/projects/gwm",
            json!({"slugs": []}),
            "Field slugs of project should be array of slugs but was sent as empty array",
        ),
        (
            "/projects/gwm",
            json!({"uri": "github.com/osuosl/gwm"}),
            "Field uri of project should be uri but was sent as string",
        ),
        (
            "/projects/gwm",
            json!({"default_activity": 5}),
            "Field default_activity of project should be string but was sent as number",
        ),
        (
            "/activities",
            json!({"slug": "x"}),
            "The activity is missing a name",
        ),
        (
            "/activities",
            json!({"name": "X", "slug": ""}),
            "The activity is missing a slug",
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
            "/activities",
            json!({"name": "X", "slug": "x", "key": 1}),
            "activity does not have a key field",
        ),
        (
            "/activities/dev",
            json!({"name": ""}),
            "Field name of activity should be string but was sent as empty string",
        ),
        (
            "/activities/dev",
            json!({"slug": ""}),
            "Field slug of activity should be slug but was sent as empty string",
        ),
        (
            "/activities/dev",
            json!({"slug": "activity--!@#$"}),
            "Field slug of activity should be valid slug but was sent as invalid slug activity--!@#$",
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
        (
            "/users/alice",
            json!({"email": 5}),
            "Field email of user should be valid email but was sent as number",
        ),
        (
            "/users/alice",
            json!({"active": "yes"}),
            "Field active of user should be boolean but was sent as string",
        ),
    ];
    for (path, object, text) in cases {
        assert_bad(&server, &admin, path, object, text).await;
    }
}
