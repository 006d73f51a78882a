//! Change notifications: the subscriber's endpoint (validation, clientState,
//! batches, a full channel), lifecycle events, and subscriptions kept alive.

use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, TimeDelta, Utc};
use futures::{FutureExt as _, StreamExt as _};
use serde_json::{Value, json};
use specbound::graph::delta::{DeltaItem, DeltaOutcome, DeltaSync};
use specbound::graph::notifications::{
    ChangeType, LifecycleEvent, Notification, NotificationHandler, Notifications,
};
use specbound::graph::{LifecycleAction, Mailbox, SubscriptionKeeper, prelude::*, types};
use wiremock::matchers::{body_partial_json, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::{AnswerOnce as _, received};

const STATE: &str = "secretClientValue";

fn post(uri: &str, body: &Value) -> http::Request<Bytes> {
    http::Request::post(uri)
        .header("content-type", "application/json")
        .body(Bytes::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

/// A change notification of the docs' shape for subscription `sub`.
fn change(sub: &str, change_type: &str, id: &str, state: &str) -> Value {
    json!({
        "id": "lsgTZMr9KwAAA",
        "subscriptionId": sub,
        "subscriptionExpirationDateTime": "2016-03-19T22:11:09.952Z",
        "clientState": state,
        "changeType": change_type,
        "resource": format!("users/u1@t1/messages/{id}"),
        "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.Message",
            "@odata.id": format!("Users/u1@t1/Messages/{id}"),
            "@odata.etag": "W/\"CQAAABYAAADkrWGo7bouTKlsgTZMr9KwAAAUWRHf\"",
            "id": id
        }
    })
}

/// Nothing is waiting in the stream.
fn assert_nothing_waiting(stream: &mut Notifications) {
    assert_eq!(
        stream.next().now_or_never(),
        None,
        "a notification got through"
    );
}

#[tokio::test]
async fn the_validation_request_is_answered_with_the_url_decoded_token_as_plain_text() {
    let (handler, mut stream) = NotificationHandler::new(STATE, 10).unwrap();
    let request = http::Request::post(
        "/api/notify?validationToken=Validation%3a+Testing%3a+client+validation+token%3a+a%26b",
    )
    .header("content-type", "text/plain; charset=utf-8")
    .body(Bytes::new())
    .unwrap();
    let answer = handler.handle(request).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "text/plain");
    assert_eq!(answer.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        answer.body(),
        "Validation: Testing: client validation token: a&b"
    );
    assert_nothing_waiting(&mut stream);

    let get = http::Request::get("/api/notify?validationToken=x")
        .body(Bytes::new())
        .unwrap();
    let answer = handler.handle(get).await;
    assert_eq!(answer.status(), 405);
    assert_eq!(answer.headers()["allow"], "POST");
}

#[tokio::test]
async fn a_client_state_that_does_not_match_is_refused_and_reaches_no_one() {
    let (handler, mut stream) = NotificationHandler::new(STATE, 10).unwrap();
    for wrong in ["secretClientValue2", "secretClientValu", ""] {
        let body = json!({"value": [change("s1", "created", "m1", wrong)]});
        let answer = handler.handle(post("/notify", &body)).await;
        assert_eq!(answer.status(), 403, "{wrong:?}");
        assert!(!answer.body().contains(STATE));
    }
    let mut missing = change("s1", "created", "m1", "");
    missing.as_object_mut().unwrap().remove("clientState");
    let answer = handler
        .handle(post("/notify", &json!({"value": [missing]})))
        .await;
    assert_eq!(answer.status(), 403);
    assert_nothing_waiting(&mut stream);

    // Right and wrong in one POST: only the right one goes on.
    let body = json!({"value": [
        change("s1", "created", "forged", "guess"),
        change("s1", "created", "m2", STATE),
    ]});
    assert_eq!(handler.handle(post("/notify", &body)).await.status(), 202);
    match stream.next().await {
        Some(Notification::Change(c)) => {
            assert_eq!(c.resource_data.and_then(|d| d.id).as_deref(), Some("m2"))
        }
        other => panic!("{other:?}"),
    }
    assert_nothing_waiting(&mut stream);
}

#[tokio::test]
async fn several_notifications_in_one_post_reach_the_stream_typed_and_in_order() {
    let (handler, mut stream) = NotificationHandler::new(STATE, 10).unwrap();
    let body = json!({"value": [
        change("s1", "created", "m1", STATE),
        change("s2", "updated", "m2", STATE),
        change("s1", "deleted", "m3", STATE),
    ]});
    let answer = handler.handle(post("/notify", &body)).await;
    assert_eq!(answer.status(), 202);
    assert_eq!(answer.body(), "");

    let mut got = Vec::new();
    for _ in 0..3 {
        match stream.next().await {
            Some(Notification::Change(c)) => got.push(c),
            other => panic!("{other:?}"),
        }
    }
    let summary: Vec<(&str, ChangeType, &str)> = got
        .iter()
        .map(|c| {
            let id = c.resource_data.as_ref().and_then(|d| d.id.as_deref());
            (
                c.subscription_id.as_str(),
                c.change_type.clone(),
                id.unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("s1", ChangeType::Created, "m1"),
            ("s2", ChangeType::Updated, "m2"),
            ("s1", ChangeType::Deleted, "m3"),
        ]
    );
    let first = &got[0];
    assert_eq!(first.resource, "users/u1@t1/messages/m1");
    assert_eq!(
        first.tenant_id.as_deref(),
        Some("84bd8158-6d4d-4958-8b9f-9d6445542f95")
    );
    assert_eq!(
        first.subscription_expiration,
        Some("2016-03-19T22:11:09.952Z".parse::<DateTime<Utc>>().unwrap())
    );
    let data = first.resource_data.as_ref().unwrap();
    assert_eq!(data.odata_type.as_deref(), Some("#Microsoft.Graph.Message"));
    assert_eq!(data.odata_id.as_deref(), Some("Users/u1@t1/Messages/m1"));
    assert!(
        !format!("{first:?}").contains(STATE),
        "the client state is not kept"
    );
    assert_nothing_waiting(&mut stream);
}

#[tokio::test]
async fn bodies_that_are_not_notifications_are_refused_naming_what_is_wrong() {
    let (handler, mut stream) = NotificationHandler::new(STATE, 10).unwrap();
    let handler = handler.max_body_size(1024);
    let answer = handler
        .handle(post(
            "/n",
            &json!({"value": [{"subscriptionId": "s1", "clientState": STATE}]}),
        ))
        .await;
    assert_eq!(answer.status(), 400);
    assert_eq!(answer.body(), "notification 0 has no changeType");
    let answer = handler.handle(post("/n", &json!({"values": []}))).await;
    assert_eq!(answer.status(), 400);
    assert!(answer.body().contains("value"), "{}", answer.body());
    let big = json!({"value": [change("s1", "created", &"x".repeat(2000), STATE)]});
    assert_eq!(handler.handle(post("/n", &big)).await.status(), 413);
    assert_nothing_waiting(&mut stream);
}

#[tokio::test(start_paused = true)]
async fn a_full_channel_is_answered_503_within_three_seconds_so_that_graph_delivers_again() {
    let (handler, mut stream) = NotificationHandler::new(STATE, 2).unwrap();
    let two = json!({"value": [
        change("s1", "created", "m1", STATE),
        change("s1", "created", "m2", STATE),
    ]});
    assert_eq!(handler.handle(post("/n", &two)).await.status(), 202);
    let one = json!({"value": [change("s1", "created", "m3", STATE)]});
    let started = tokio::time::Instant::now();
    let answer = handler.handle(post("/n", &one)).await;
    assert_eq!(answer.status(), 503);
    assert_eq!(answer.headers()["retry-after"], "5");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(3),
        "{took:?}"
    );
    // Nothing of the refused POST went in: the stream holds the first two.
    assert!(matches!(stream.next().await, Some(Notification::Change(_))));
    // With room again, Graph's retry is accepted.
    assert_eq!(handler.handle(post("/n", &one)).await.status(), 202);
    // A POST larger than the channel is handed over in parts as it is read.
    let five = json!({"value": (4..9).map(|i| change("s1", "created", &format!("m{i}"), STATE)).collect::<Vec<_>>()});
    let reader = tokio::spawn(async move {
        let mut ids = Vec::new();
        while ids.len() < 7 {
            if let Some(Notification::Change(c)) = stream.next().await {
                ids.push(c.resource_data.and_then(|d| d.id).unwrap());
            }
        }
        ids
    });
    assert_eq!(handler.handle(post("/n", &five)).await.status(), 202);
    assert_eq!(
        reader.await.unwrap(),
        ["m2", "m3", "m4", "m5", "m6", "m7", "m8"]
    );
}

/// Answers a subscription POST or PATCH with its body, an id and `expires`.
fn echo(id: &'static str) -> impl Fn(&Request) -> ResponseTemplate {
    move |request: &Request| {
        let mut body: Value = serde_json::from_slice(&request.body).unwrap();
        body["id"] = json!(id);
        let status = if request.method == http::Method::POST {
            201
        } else {
            200
        };
        ResponseTemplate::new(status).set_body_json(body)
    }
}

fn expiry_sent(request: &Request) -> DateTime<Utc> {
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    body["expirationDateTime"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// `a` and `b` are within a minute of each other.
#[track_caller]
fn about(a: TimeDelta, b: TimeDelta) {
    assert!(
        (a - b).abs() < TimeDelta::minutes(1),
        "{a} is not about {b}"
    );
}

fn mail_subscription() -> types::Subscription {
    types::Subscription {
        change_type: Some("created,updated".into()),
        notification_url: Some("https://app.example/notify".into()),
        lifecycle_notification_url: Some("https://app.example/lifecycle".into()),
        resource: Some("me/mailFolders('inbox')/messages".into()),
        client_state: Some(STATE.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn subscriptions_get_the_longest_lifetime_of_their_resource_and_are_renewed_before_they_expire()
 {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/subscriptions"))
        .and(body_partial_json(
            json!({"resource": "me/mailFolders('inbox')/messages"}),
        ))
        .respond_with(echo("sub-mail"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/subscriptions"))
        .and(body_partial_json(json!({"resource": "me/drive/root"})))
        .respond_with(echo("sub-drive"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/v1.0/subscriptions/sub-mail"))
        .respond_with(echo("sub-mail"))
        .expect(1)
        .mount(&server)
        .await;
    let (graph, waits) = super::client_with(&server, Some(super::token("at-1", None, 3600)));
    let keeper = SubscriptionKeeper::new(&graph);
    let mail = keeper.subscribe(mail_subscription()).await.unwrap();
    assert_eq!(mail.id.as_deref(), Some("sub-mail"));
    let drive = types::Subscription {
        change_type: Some("updated".into()),
        resource: Some("me/drive/root".into()),
        ..mail_subscription()
    };
    keeper.subscribe(drive).await.unwrap();

    let sent = received(&server).await;
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(body["clientState"], STATE);
    assert_eq!(body["changeType"], "created,updated");
    assert_eq!(body["notificationUrl"], "https://app.example/notify");
    assert_eq!(
        body["lifecycleNotificationUrl"],
        "https://app.example/lifecycle"
    );
    // Subscriptions ask for immutable ids in their notifications.
    assert_eq!(sent[0].headers["prefer"], r#"IdType="ImmutableId""#);
    // Outlook messages: 10,080 minutes, less five of slack; drive items: 42,300.
    let now = Utc::now();
    about(expiry_sent(&sent[0]) - now, TimeDelta::minutes(10_080 - 5));
    about(expiry_sent(&sent[1]) - now, TimeDelta::minutes(42_300 - 5));
    let kept = keeper.kept();
    assert_eq!(
        kept.iter()
            .map(|k| (k.id.as_str(), k.lifetime.as_secs() / 60))
            .collect::<Vec<_>>(),
        [("sub-mail", 10_080), ("sub-drive", 42_300)]
    );

    // The mail subscription is due first: a day before it expires.
    match keeper.renew_next().await.unwrap() {
        Some(specbound::graph::Renewal::Renewed { id, expires }) => {
            assert_eq!(id, "sub-mail");
            about(expires - Utc::now(), TimeDelta::minutes(10_080 - 5));
        }
        other => panic!("{other:?}"),
    }
    let waited = waits.recorded();
    assert_eq!(waited.len(), 1, "{waited:?}");
    about(
        TimeDelta::from_std(waited[0]).unwrap(),
        TimeDelta::minutes(10_080 - 5 - 24 * 60),
    );
    let sent = received(&server).await;
    assert_eq!(sent[2].method, http::Method::PATCH);
    let body: Value = serde_json::from_slice(&sent[2].body).unwrap();
    assert_eq!(
        body.as_object().unwrap().len(),
        1,
        "only the expiry changes: {body}"
    );
    about(
        expiry_sent(&sent[2]) - Utc::now(),
        TimeDelta::minutes(10_080 - 5),
    );
}

fn lifecycle(sub: &str, event: &str) -> Value {
    json!({
        "subscriptionId": sub,
        "subscriptionExpirationDateTime": "2019-03-20T11:00:00.0000000Z",
        "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
        "clientState": STATE,
        "lifecycleEvent": event
    })
}

#[tokio::test]
async fn lifecycle_notifications_are_typed_and_missed_leads_to_a_delta_run() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/subscriptions"))
        .answer_once(
            ResponseTemplate::new(201)
                .set_body_json(json!({"id": "sub-1", "resource": "me/messages"})),
            &server,
        )
        .await;
    let delta_link = format!(
        "{}/v1.0/me/mailFolders/inbox/messages/delta?$deltatoken=saved",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(query_param("$deltatoken", "saved"))
        .answer_once(
            ResponseTemplate::new(200).set_body_json(json!({
                "value": [{"id": "m9", "subject": "while we were away"}],
                "@odata.deltaLink": format!("{}/v1.0/me/mailFolders/inbox/messages/delta?$deltatoken=next", server.uri())
            })),
            &server,
        )
        .await;
    let graph = super::client(&server);
    let keeper = SubscriptionKeeper::new(&graph);
    keeper.subscribe(mail_subscription()).await.unwrap();
    let (handler, mut stream) = NotificationHandler::new(STATE, 10).unwrap();

    let body = json!({"value": [
        lifecycle("sub-1", "missed"),
        lifecycle("sub-1", "reauthorizationRequired"),
        lifecycle("sub-1", "subscriptionRemoved"),
        lifecycle("sub-1", "somethingNew"),
    ]});
    assert_eq!(
        handler.handle(post("/lifecycle", &body)).await.status(),
        202
    );
    let mut events = Vec::new();
    for _ in 0..4 {
        match stream.next().await {
            Some(Notification::Lifecycle(l)) => {
                assert_eq!(l.subscription_id, "sub-1");
                events.push(l);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        events.iter().map(|e| e.event.clone()).collect::<Vec<_>>(),
        [
            LifecycleEvent::Missed,
            LifecycleEvent::ReauthorizationRequired,
            LifecycleEvent::SubscriptionRemoved,
            LifecycleEvent::Other("somethingNew".into()),
        ]
    );

    // missed: the keeper says catch up, and the app runs its delta round.
    let action = keeper.handle(&events[0]).await.unwrap();
    assert_eq!(
        action,
        LifecycleAction::CatchUp {
            subscription_id: "sub-1".into(),
            resource: "me/mailFolders('inbox')/messages".into(),
        }
    );
    let client = graph.clone();
    let mut sync = DeltaSync::new(move |position| {
        client
            .message_delta()
            .mailbox(Mailbox::me())
            .mail_folder_id("inbox")
            .stream_from(position)
    })
    .resume_from(Some(delta_link.clone()));
    let changes = sync.run().await.unwrap();
    assert!(matches!(&changes.items[..], [DeltaItem::Changed(m)] if m.id == "m9"));
    assert!(matches!(changes.outcome, DeltaOutcome::Complete { .. }));
    let sent = received(&server).await;
    assert_eq!(sent.len(), 2, "the subscription and the delta round");
    // wiremock names its host `localhost`: the path and query are the link's.
    let link = url::Url::parse(&delta_link).unwrap();
    assert_eq!(
        (sent[1].url.path(), sent[1].url.query()),
        (link.path(), link.query())
    );
    // An unknown event asks for nothing.
    assert_eq!(
        keeper.handle(&events[3]).await.unwrap(),
        LifecycleAction::Ignored
    );
}

/// The next notification of `stream`, a lifecycle one.
async fn next(
    stream: &mut Notifications,
) -> specbound::graph::notifications::LifecycleNotification {
    match stream.next().await {
        Some(Notification::Lifecycle(l)) => l,
        other => panic!("{other:?}"),
    }
}

/// One subscription creation (of the mail subscription, its client state
/// sent) answered with `id`; later ones go to the mocks mounted after.
async fn created_once(server: &MockServer, id: &str) {
    Mock::given(method("POST"))
        .and(path("/v1.0/subscriptions"))
        .and(body_partial_json(
            json!({"clientState": STATE, "resource": "me/mailFolders('inbox')/messages"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": id})))
        .up_to_n_times(1)
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn reauthorization_renews_and_a_removed_or_forgotten_subscription_is_created_again() {
    let server = MockServer::start().await;
    created_once(&server, "sub-1").await;
    Mock::given(method("PATCH"))
        .and(path("/v1.0/subscriptions/sub-1"))
        .respond_with(echo("sub-1"))
        .expect(1)
        .mount(&server)
        .await;
    let graph = super::client(&server);
    let keeper = SubscriptionKeeper::new(&graph);
    keeper.subscribe(mail_subscription()).await.unwrap();
    let (handler, mut stream) = NotificationHandler::new(STATE, 10).unwrap();
    let body = json!({"value": [
        lifecycle("sub-1", "reauthorizationRequired"),
        lifecycle("sub-1", "subscriptionRemoved"),
        lifecycle("unknown", "missed"),
    ]});
    assert_eq!(
        handler.handle(post("/lifecycle", &body)).await.status(),
        202
    );
    match keeper.handle(&next(&mut stream).await).await.unwrap() {
        LifecycleAction::Reauthorized { id, expires } => {
            assert_eq!(id, "sub-1");
            about(expires - Utc::now(), TimeDelta::minutes(10_080 - 5));
        }
        other => panic!("{other:?}"),
    }
    created_once(&server, "sub-2").await;
    assert_eq!(
        keeper.handle(&next(&mut stream).await).await.unwrap(),
        LifecycleAction::CatchUp {
            subscription_id: "sub-2".into(),
            resource: "me/mailFolders('inbox')/messages".into(),
        }
    );
    assert_eq!(
        keeper
            .kept()
            .iter()
            .map(|k| k.id.as_str())
            .collect::<Vec<_>>(),
        ["sub-2"]
    );
    // A subscription this keeper does not keep is left alone.
    assert_eq!(
        keeper.handle(&next(&mut stream).await).await.unwrap(),
        LifecycleAction::Ignored
    );

    // A renewal Graph answers 404 to: the subscription is created again.
    Mock::given(method("PATCH"))
        .and(path("/v1.0/subscriptions/sub-2"))
        .answer_once(
            ResponseTemplate::new(404).set_body_json(json!({"error": {
                "code": "ResourceNotFound", "message": "The object was not found."
            }})),
            &server,
        )
        .await;
    created_once(&server, "sub-3").await;
    match keeper.renew("sub-2").await.unwrap() {
        specbound::graph::Renewal::Recreated {
            previous_id,
            subscription,
        } => {
            assert_eq!(previous_id, "sub-2");
            assert_eq!(subscription.id.as_deref(), Some("sub-3"));
        }
        other => panic!("{other:?}"),
    }
}
