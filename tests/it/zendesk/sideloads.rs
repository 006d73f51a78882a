//! Side-loads checked against each operation before sending, resolved by id
//! without another request, and the cache of shown and side-loaded records.

use serde_json::{Value, json};
use specbound::zendesk::cache::{CacheConfig, CacheKind};
use specbound::zendesk::prelude::*;
use specbound::zendesk::sideloads::{Includes, SideLoad};
use specbound::zendesk::{Client, types};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::client;
use crate::support::{AnswerOnce, Fixture, received, traces};

/// The recorded ticket (`tickets_show.json`) with its requester side-loaded:
/// the recorded user of `users_show.json`, given the requester's id.
fn ticket_with_requester() -> (Value, i64) {
    let mut body = Fixture::load("zendesk/tickets_show.json").body().clone();
    let requester = body["ticket"]["requester_id"].as_i64().unwrap();
    let mut user = Fixture::load("zendesk/users_show.json").body()["user"].clone();
    user["id"] = json!(requester);
    body["users"] = json!([user]);
    (body, requester)
}

/// The recorded user (`users_show.json`) and its id.
fn recorded_user() -> (Fixture, i64) {
    let user = Fixture::load("zendesk/users_show.json");
    let id = user.body()["user"]["id"].as_i64().unwrap();
    (user, id)
}

async fn mount_user(server: &MockServer, user: &Fixture, id: i64, times: u64) {
    Mock::given(method("GET"))
        .and(path(format!("/api/v2/users/{id}.json")))
        .respond_with(user.response())
        .expect(times)
        .mount(server)
        .await;
}

#[tokio::test]
async fn an_include_the_endpoint_does_not_allow_is_refused_before_sending() {
    let server = MockServer::start().await;
    let zd = client(&server);

    let typed = zd
        .get_user()
        .user_id(1)
        .include(Includes::of([SideLoad::Identities, SideLoad::Users]))
        .send()
        .await
        .unwrap_err();
    let by_hand = zd
        .get_ticket()
        .ticket_id(1)
        .include("users,abilities")
        .send()
        .await
        .unwrap_err();

    for (err, text) in [
        (typed, "get_user does not side-load `users`"),
        (by_hand, "get_ticket does not side-load `abilities`"),
    ] {
        assert!(err.is_invalid(), "{err:?}");
        assert!(err.to_string().contains(text), "{err}");
    }
    assert!(received(&server).await.is_empty(), "nothing may be sent");
    assert!(
        Includes::of([SideLoad::Slas])
            .for_operation("list_users")
            .is_err()
    );
}

#[tokio::test]
async fn side_loaded_users_are_resolved_by_id_without_another_request() {
    let server = MockServer::start().await;
    let zd = client(&server);
    let (body, requester) = ticket_with_requester();
    let ticket_id = body["ticket"]["id"].as_i64().unwrap();
    Mock::given(method("GET"))
        .and(path(format!("/api/v2/tickets/{ticket_id}.json")))
        .and(query_param("include", "users,groups"))
        .answer_once(ResponseTemplate::new(200).set_body_json(&body), &server)
        .await;

    let page = zd
        .get_ticket()
        .ticket_id(ticket_id)
        .include(Includes::of([SideLoad::Users]).and(SideLoad::Groups))
        .send()
        .await
        .unwrap()
        .into_inner();

    let asked_by = page
        .ticket
        .as_ref()
        .and_then(|t| t.requester_id)
        .and_then(|id| page.user(id))
        .expect("the requester is side-loaded");
    assert_eq!(asked_by.id, Some(requester));
    assert_eq!(asked_by.name.as_deref(), body["users"][0]["name"].as_str());
    assert_eq!(page.user(requester + 1), None);
    assert_eq!(page.group(1), None);
    assert_eq!(received(&server).await.len(), 1);
}

#[tokio::test]
async fn the_cache_serves_a_second_show_without_a_request_and_traces_hit_and_miss() {
    traces(); // installs the capturing subscriber before anything is traced
    let server = MockServer::start().await;
    let zd = client(&server);
    let (user, id) = recorded_user();
    mount_user(&server, &user, id, 1).await;

    let first = zd.cached_user(id).await.unwrap();
    let second = zd.cached_user(id).await.unwrap();

    assert_eq!(first, second);
    assert_eq!(first.name.as_deref(), user.body()["user"]["name"].as_str());
    let logged = traces();
    let lines: Vec<&str> = logged
        .lines()
        .filter(|l| l.contains(&format!("id={id}")) && l.contains("kind=\"user\""))
        .collect();
    assert!(lines.iter().any(|l| l.contains("cache miss")), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("cache hit")), "{lines:?}");
}

#[tokio::test]
async fn a_partial_side_load_never_overwrites_a_complete_entry_but_fills_an_empty_one() {
    let server = MockServer::start().await;
    let zd = client(&server);
    let (user, id) = recorded_user();
    mount_user(&server, &user, id, 1).await;
    let complete = zd.cached_user(id).await.unwrap();

    // A side-load of the same user, with fewer fields and another name, and
    // of a user never shown.
    let page: types::TicketsResponse = serde_json::from_value(json!({
        "tickets": [],
        "users": [{"id": id, "name": "Partial"}, {"id": 777, "name": "Side-loaded only"}]
    }))
    .unwrap();
    zd.cache_side_loads(&page).await;

    assert_eq!(zd.cached_user(id).await.unwrap(), complete);
    let filled = zd.cached_user(777).await.unwrap();
    assert_eq!(filled.name.as_deref(), Some("Side-loaded only"));
    assert_eq!(
        received(&server).await.len(),
        1,
        "only the first show is sent"
    );

    // Forgetting a record sends the show again.
    zd.forget_cached(CacheKind::User, 777).await;
    let answer = json!({"user": {"id": 777, "name": "Shown"}});
    Mock::given(method("GET"))
        .and(path("/api/v2/users/777.json"))
        .answer_once(ResponseTemplate::new(200).set_body_json(answer), &server)
        .await;
    assert_eq!(
        zd.cached_user(777).await.unwrap().name.as_deref(),
        Some("Shown")
    );
}

#[tokio::test]
async fn with_the_cache_off_every_show_is_sent() {
    let server = MockServer::start().await;
    let (user, id) = recorded_user();
    mount_user(&server, &user, id, 2).await;
    let zd = Client::builder()
        .base_url(server.uri())
        .oauth_token("tok-1")
        .cache(CacheConfig::off())
        .build()
        .unwrap();
    let page: types::UsersResponse =
        serde_json::from_value(json!({"users": [user.body()["user"].clone()]})).unwrap();
    zd.cache_side_loads(&page).await;

    zd.cached_user(id).await.unwrap();
    zd.cached_user(id).await.unwrap();

    assert_eq!(received(&server).await.len(), 2);
}

#[tokio::test]
async fn one_kind_can_be_switched_off_while_the_others_cache() {
    let server = MockServer::start().await;
    let (user, id) = recorded_user();
    mount_user(&server, &user, id, 2).await;
    let group = Fixture::load("zendesk/groups_show.json");
    let group_id = group.body()["group"]["id"].as_i64().unwrap();
    Mock::given(method("GET"))
        .and(path(format!("/api/v2/groups/{group_id}.json")))
        .answer_once(group.response(), &server)
        .await;
    let zd = Client::builder()
        .base_url(server.uri())
        .oauth_token("tok-1")
        .cache(CacheConfig::standard().capacity(CacheKind::User, 0))
        .build()
        .unwrap();

    for _ in 0..2 {
        zd.cached_user(id).await.unwrap();
        let g = zd.cached_group(group_id).await.unwrap();
        assert_eq!(g.name.as_deref(), group.body()["group"]["name"].as_str());
    }
}
