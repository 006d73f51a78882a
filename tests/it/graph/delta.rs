//! Delta rounds on the wire: next links followed unchanged, the delta link
//! as the resume token, `@removed` typed, a 410 as a resync outcome, loops
//! refused, and immutable ids asked for.

use serde_json::{Value, json};
use specbound::graph::delta::{DeltaItem, DeltaOutcome, DeltaSync, RemovedReason};
use specbound::graph::{CalendarOwner, Client, Mailbox, prelude::*, types};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{AnswerOnce as _, Fixture, received};

const FOLDER: &str = "AQMkADNkNAAAgEMAAAA";
const FIRST: &str = "/v1.0/me/mailFolders/AQMkADNkNAAAgEMAAAA/messages/delta";
const IMMUTABLE: &str = r#"IdType="ImmutableId""#;

/// A recorded delta page whose links point at `server`: its answer and body.
fn page(server: &MockServer, name: &str) -> (ResponseTemplate, Value) {
    let fixture = Fixture::load(&format!("graph/{name}.json"));
    let text = serde_json::to_string(fixture.body())
        .unwrap()
        .replace("https://graph.microsoft.com", &server.uri());
    let body: Value = serde_json::from_str(&text).unwrap();
    let answer = ResponseTemplate::new(fixture.status()).set_body_raw(text, "application/json");
    (answer, body)
}

fn link(body: &Value, name: &str) -> String {
    body[name].as_str().unwrap().to_string()
}

fn ids(body: &Value) -> Vec<String> {
    body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

/// The sync of the recorded folder, with the recording's `$select` and page size.
fn inbox_sync(graph: &Client) -> DeltaSync<types::MessageDeltaPage> {
    let graph = graph.clone();
    DeltaSync::new(move |position| {
        graph
            .message_delta()
            .mailbox(Mailbox::me())
            .mail_folder_id(FOLDER)
            .select("subject,sender,isRead")
            .prefer("odata.maxpagesize=2")
            .stream_from(position)
    })
}

fn changed_ids(items: &[DeltaItem<types::Message>]) -> Vec<String> {
    items
        .iter()
        .map(|i| match i {
            DeltaItem::Changed(m) => m.id.clone(),
            DeltaItem::Removed { id, .. } => panic!("{id} was not removed in this round"),
        })
        .collect()
}

/// The path and query of a request or link (wiremock names its host `localhost`).
fn target(url: &str) -> String {
    let url = url::Url::parse(url).unwrap();
    format!("{}?{}", url.path(), url.query().unwrap_or_default())
}

fn prefer(request: &wiremock::Request) -> Vec<String> {
    request
        .headers
        .get_all("prefer")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_full_round_follows_the_next_links_and_ends_with_the_delta_link_to_resume_from() {
    let server = MockServer::start().await;
    let (first, page1) = page(&server, "messages_delta_page1");
    let (second, page2) = page(&server, "messages_delta_page2");
    let (last, final_page) = page(&server, "messages_delta_final_deltalink");
    Mock::given(method("GET"))
        .and(path(FIRST))
        .and(query_param("$select", "subject,sender,isRead"))
        .and(query_param_is_missing("$skiptoken"))
        .answer_once(first, &server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("$skiptoken", "GwcBoTmPuoTQWfcsAbkYM"))
        .answer_once(second, &server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("$skiptoken", "GwcBoTmPKILK4jLH7mAd1lLU"))
        .answer_once(last, &server)
        .await;
    let mut sync = inbox_sync(&super::client(&server));
    let changes = sync.run().await.unwrap();

    let expected: Vec<String> = [&page1, &page2, &final_page]
        .iter()
        .flat_map(|p| ids(p))
        .collect();
    assert_eq!(changed_ids(&changes.items), expected);
    let delta_link = link(&final_page, "@odata.deltaLink");
    assert_eq!(
        changes.outcome,
        DeltaOutcome::Complete {
            delta_link: delta_link.clone()
        }
    );
    assert_eq!(sync.delta_link(), Some(delta_link.as_str()));
    let sent = received(&server).await;
    assert_eq!(sent.len(), 3);
    // The next links are followed as Graph wrote them.
    assert_eq!(
        target(sent[1].url.as_str()),
        target(&link(&page1, "@odata.nextLink"))
    );
    assert_eq!(
        target(sent[2].url.as_str()),
        target(&link(&page2, "@odata.nextLink"))
    );
    // Every page asks for the page size and for immutable ids, in one header.
    for request in &sent {
        assert_eq!(
            prefer(request),
            [format!("odata.maxpagesize=2, {IMMUTABLE}")]
        );
    }
}

#[tokio::test]
async fn the_next_round_from_the_saved_link_yields_the_removed_item_typed() {
    let server = MockServer::start().await;
    let (answer, body) = page(&server, "messages_delta_next_round_removed");
    Mock::given(method("GET"))
        .and(query_param("$deltatoken", "GwcBoTmPuoGNlgXgF1nyUNMXY"))
        .answer_once(answer, &server)
        .await;
    let saved = link(&body, "@odata.deltaLink");
    let mut sync = inbox_sync(&super::client(&server)).resume_from(Some(saved.clone()));
    let changes = sync.run().await.unwrap();

    assert_eq!(changes.items.len(), 2);
    assert_eq!(
        changes.items[0],
        DeltaItem::Removed {
            id: body["value"][0]["id"].as_str().unwrap().to_string(),
            reason: RemovedReason::Deleted,
        }
    );
    match &changes.items[1] {
        DeltaItem::Changed(m) => {
            assert_eq!(m.id, body["value"][1]["id"].as_str().unwrap());
            assert_eq!(m.subject.as_deref(), Some("Holiday hours update"));
            assert_eq!(m.is_read, Some(true));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sync.delta_link(), Some(saved.as_str()));
    let sent = received(&server).await;
    assert_eq!(sent.len(), 1, "only the saved link is asked for");
    assert_eq!(target(sent[0].url.as_str()), target(&saved));
    assert_eq!(
        prefer(&sent[0]),
        [format!("odata.maxpagesize=2, {IMMUTABLE}")]
    );
}

fn gone(location: &str) -> ResponseTemplate {
    ResponseTemplate::new(410)
        .insert_header("Location", location)
        .set_body_json(json!({"error": {
            "code": "syncStateNotFound",
            "message": "The sync state generation is not found."
        }}))
}

#[tokio::test]
async fn a_410_sync_state_not_found_is_a_resync_outcome_that_restarts_at_its_location() {
    let server = MockServer::start().await;
    let restart = format!("{}{FIRST}?$select=subject", server.uri());
    Mock::given(method("GET"))
        .and(query_param("$deltatoken", "expired"))
        .answer_once(gone(&restart), &server)
        .await;
    let (last, final_page) = page(&server, "messages_delta_final_deltalink");
    Mock::given(method("GET"))
        .and(path(FIRST))
        .and(query_param("$select", "subject"))
        .answer_once(last, &server)
        .await;
    let saved = format!("{}{FIRST}?$deltatoken=expired", server.uri());
    let mut sync = inbox_sync(&super::client(&server)).resume_from(Some(saved));

    let changes = sync.run().await.unwrap();
    assert!(changes.items.is_empty());
    assert_eq!(
        changes.outcome,
        DeltaOutcome::ResyncNeeded {
            location: Some(restart.clone()),
            code: Some("syncStateNotFound".into()),
        }
    );
    assert_eq!(sync.delta_link(), Some(restart.as_str()));
    // The next run starts where Graph said.
    let again = sync.run().await.unwrap();
    assert_eq!(changed_ids(&again.items), ids(&final_page));
    assert!(matches!(again.outcome, DeltaOutcome::Complete { .. }));
}

#[tokio::test]
async fn a_410_location_on_another_host_is_not_followed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(query_param("$deltatoken", "expired"))
        .answer_once(gone("https://elsewhere.example/v1.0/steal"), &server)
        .await;
    let saved = format!("{}{FIRST}?$deltatoken=expired", server.uri());
    let mut sync = inbox_sync(&super::client(&server)).resume_from(Some(saved));
    let changes = sync.run().await.unwrap();
    assert_eq!(
        changes.outcome,
        DeltaOutcome::ResyncNeeded {
            location: None,
            code: Some("syncStateNotFound".into())
        }
    );
    assert_eq!(sync.delta_link(), None, "the next round is a full one");
}

#[tokio::test]
async fn a_repeated_next_link_ends_the_round_with_an_error() {
    let server = MockServer::start().await;
    let (first, page1) = page(&server, "messages_delta_page1");
    let (_, mut page2) = page(&server, "messages_delta_page2");
    let next = link(&page1, "@odata.nextLink");
    page2["@odata.nextLink"] = Value::String(next.clone());
    Mock::given(method("GET"))
        .and(path(FIRST))
        .answer_once(first, &server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("$skiptoken", "GwcBoTmPuoTQWfcsAbkYM"))
        .answer_once(ResponseTemplate::new(200).set_body_json(&page2), &server)
        .await;
    let mut sync = inbox_sync(&super::client(&server));
    match sync.run().await {
        Err(specbound::Error::Protocol(m)) => assert!(m.contains("already"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        sync.delta_link(),
        None,
        "no link is saved from a failed round"
    );
}

#[tokio::test]
async fn a_page_served_again_under_a_new_next_link_ends_the_round_with_an_error() {
    let server = MockServer::start().await;
    let (first, page1) = page(&server, "messages_delta_page1");
    let mut again = page1.clone();
    again["@odata.nextLink"] = Value::String(format!("{}{FIRST}?$skiptoken=fresh", server.uri()));
    Mock::given(method("GET"))
        .and(path(FIRST))
        .and(query_param_is_missing("$skiptoken"))
        .answer_once(first, &server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("$skiptoken", "GwcBoTmPuoTQWfcsAbkYM"))
        .answer_once(ResponseTemplate::new(200).set_body_json(&again), &server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("$skiptoken", "fresh"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let graph = super::client(&server);
    let mut round = inbox_sync(&graph).round();
    let mut got = Vec::new();
    let err = loop {
        match futures::TryStreamExt::try_next(&mut round).await {
            Ok(Some(item)) => got.push(item),
            Ok(None) => panic!("the round ended without an error"),
            Err(e) => break e,
        }
    };
    assert_eq!(
        changed_ids(&got),
        ids(&page1),
        "the repeated items come once"
    );
    match err {
        specbound::Error::Protocol(m) => assert!(m.contains("repeats"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(round.outcome(), None);
}

/// A signed-in client of `server` with `immutable_ids` set as given.
fn client_ids(server: &MockServer, immutable_ids: Option<bool>) -> Client {
    super::client_configured(server, |builder| match immutable_ids {
        Some(on) => builder.immutable_ids(on),
        None => builder,
    })
}

#[tokio::test]
async fn immutable_ids_go_on_delta_by_default_on_every_request_when_enabled_and_join_outlook_timezone()
 {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/me/events/e1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "e1"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/me/calendarView/delta"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [], "@odata.deltaLink": format!("{}/v1.0/me/calendarView/delta?$deltatoken=z", server.uri())
        })))
        .mount(&server)
        .await;
    let zone = r#"outlook.timezone="Pacific Standard Time""#;
    for setting in [None, Some(true), Some(false)] {
        let graph = client_ids(&server, setting);
        graph
            .get_event()
            .calendar_owner(CalendarOwner::me())
            .event_id("e1")
            .prefer(zone)
            .send()
            .await
            .unwrap();
        let mut round = graph
            .event_delta()
            .mailbox(Mailbox::me())
            .start_date_time("2016-12-01T00:00:00Z")
            .end_date_time("2016-12-31T00:00:00Z")
            .prefer(zone)
            .stream();
        assert_eq!(
            futures::TryStreamExt::try_next(&mut round).await.unwrap(),
            None
        );
    }
    let sent = received(&server).await;
    let merged = format!("{zone}, {IMMUTABLE}");
    let seen: Vec<(String, Vec<String>)> = sent
        .iter()
        .map(|r| (r.url.path().to_string(), prefer(r)))
        .collect();
    let (event, delta) = ("/v1.0/me/events/e1", "/v1.0/me/calendarView/delta");
    assert_eq!(
        seen,
        [
            // Default: the delta query only.
            (event.to_string(), vec![zone.to_string()]),
            (delta.to_string(), vec![merged.clone()]),
            // immutable_ids(true): every request.
            (event.to_string(), vec![merged.clone()]),
            (delta.to_string(), vec![merged.clone()]),
            // immutable_ids(false): none.
            (event.to_string(), vec![zone.to_string()]),
            (delta.to_string(), vec![zone.to_string()]),
        ]
    );
}
