//! Every Graph operation, sent with the examples of `spec/graph.yaml`
//! (Microsoft's docs) through its generated builder: the wire and the
//! typed answer are checked by `spec_examples`.

use futures::FutureExt;
use serde_json::json;
use specbound::graph::{Mailbox, prelude::*};
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::spec_examples::{every_operation, load};
use crate::support::received;

#[tokio::test]
async fn every_operation_sends_what_the_spec_says_and_reads_its_example_answer() {
    let spec = load("graph");
    let server = MockServer::start().await;
    // The wire as the examples write it: no preference of the client's own
    // (delta queries would otherwise ask for immutable ids).
    let graph = super::client_configured(&server, |b| b.immutable_ids(false));
    let login = graph.login_client().unwrap();
    let on_login = |case: &crate::spec_examples::Case| case.host.as_deref() == Some("login");
    let (count, failures) = every_operation(
        &spec,
        &server,
        |case| if on_login(case) { "" } else { "/v1.0" },
        |case| {
            let client = if on_login(case) { &login } else { &graph };
            let (id, params, body) = (case.id.clone(), case.params.clone(), case.body.clone());
            async move {
                specbound::graph::examples::send(client, &id, &params, body.as_ref()).await
            }
            .boxed()
        },
    )
    .await;
    assert!(count >= 142, "{count} operations");
    assert!(
        failures.is_empty(),
        "{} of {count} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn a_required_body_never_set_is_refused_by_name_before_anything_is_sent() {
    let server = MockServer::start().await;
    let graph = super::client(&server);
    let err = graph
        .send_mail()
        .mailbox(Mailbox::me())
        .send()
        .await
        .expect_err("sendMail without a message");
    match err {
        specbound::Error::Invalid { field, reason } => {
            assert_eq!(field, "body");
            assert_eq!(reason, "body was not initialized");
        }
        other => panic!("{other:?}"),
    }
    assert!(received(&server).await.is_empty());
}

#[tokio::test]
async fn a_body_whose_fields_are_all_optional_is_sent_empty_when_never_set() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/me/calendars"))
        .and(body_json(json!({})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "c1"})))
        .expect(1)
        .mount(&server)
        .await;
    let calendar = super::client(&server)
        .create_calendar()
        .mailbox(Mailbox::me())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(calendar.id, "c1");
}

/// The operations whose paths match `method` and `path` (below the version
/// root), in the order of the spec's table.
fn matching(method: &str, path: &str) -> Vec<&'static str> {
    specbound::graph::spec::API
        .operations
        .iter()
        .filter(|op| op.method == method && op.match_path(path).is_some())
        .map(|op| op.id)
        .collect()
}

#[test]
fn each_calendar_and_folder_form_is_one_operation_and_route_finds_it() {
    let api = &specbound::graph::spec::API;
    for (method, path, id) in [
        // A calendar named in the path: default, by id, below its group.
        ("GET", "/me/calendar/events", "list_calendar_events"),
        ("GET", "/groups/g1/calendar/events", "list_calendar_events"),
        (
            "POST",
            "/users/u1/calendars/c1/events",
            "create_calendar_event",
        ),
        ("GET", "/users/u1/calendar/events/e1", "get_calendar_event"),
        (
            "PATCH",
            "/me/calendarGroups/g1/calendars/c1/events/e1",
            "update_calendar_event",
        ),
        (
            "DELETE",
            "/me/calendars/c1/events/e1",
            "delete_calendar_event",
        ),
        (
            "GET",
            "/me/calendar/calendarView",
            "list_calendar_view_of_calendar",
        ),
        (
            "GET",
            "/users/u1/calendars/c1/calendarView",
            "list_calendar_view_of_calendar",
        ),
        // A message or contact named below its folder.
        (
            "GET",
            "/me/mailFolders/inbox/messages/m1",
            "get_folder_message",
        ),
        (
            "PATCH",
            "/users/u1/mailFolders/f1/messages/m1",
            "update_folder_message",
        ),
        (
            "DELETE",
            "/me/mailFolders/f1/messages/m1",
            "delete_folder_message",
        ),
        (
            "GET",
            "/me/contactFolders/f1/contacts/c1",
            "get_folder_contact",
        ),
        (
            "PATCH",
            "/me/contactFolders/f1/contacts/c1",
            "update_folder_contact",
        ),
        (
            "DELETE",
            "/users/u1/contactFolders/f1/contacts/c1",
            "delete_folder_contact",
        ),
        // Their neighbours keep their own operations.
        ("GET", "/me/events", "list_events"),
        ("GET", "/me/events/e1", "get_event"),
        ("GET", "/me/events/e1/instances", "list_event_instances"),
        ("GET", "/me/calendarView", "list_calendar_view"),
        ("GET", "/groups/g1/calendarView", "list_calendar_view"),
        ("GET", "/me/calendar", "get_default_calendar"),
        ("GET", "/me/calendars/c1", "get_calendar"),
        (
            "GET",
            "/me/calendarGroups/g1/calendars",
            "list_group_calendars",
        ),
        ("GET", "/me/messages/m1", "get_message"),
        (
            "GET",
            "/me/mailFolders/inbox/messages",
            "list_folder_messages",
        ),
        ("GET", "/me/contacts/c1", "get_contact"),
    ] {
        assert_eq!(matching(method, path), [id], "{method} {path}");
        assert_eq!(
            api.route(method, path).map(|(op, _)| op.id),
            Some(id),
            "{method} {path}"
        );
    }
    // A calendar value with a dot segment or a group's calendar by id
    // matches no operation.
    for path in [
        "/me/calendars/../events",
        "/me/calendars/%2E%2E/events",
        "/groups/g1/calendars/c1/events",
    ] {
        assert_eq!(matching("GET", path), Vec::<&str>::new(), "{path}");
    }
    // `delta` is Graph's function, never an id. Its template and the item's
    // both match; the table lists paths in order and `{` sorts after every
    // letter, so the route takes the literal one, as OpenAPI ranks a
    // concrete segment before a template.
    for (path, id, item) in [
        (
            "/me/mailFolders/inbox/messages/delta",
            "message_delta",
            "get_folder_message",
        ),
        (
            "/me/contactFolders/f1/contacts/delta",
            "contact_delta",
            "get_folder_contact",
        ),
        (
            "/me/mailFolders/delta",
            "mail_folder_delta",
            "get_mail_folder",
        ),
    ] {
        assert_eq!(matching("GET", path), [id, item], "{path}");
        assert_eq!(api.route("GET", path).map(|(op, _)| op.id), Some(id));
    }
}
