//! Push notification channels and the signatures of notifications.
use super::*;

// ------------------------------------------------------------------ operations: push notifications

#[tokio::test]
async fn channels_are_created_listed_and_closed() {
    let (server, cronofy) = mock_cronofy().await;
    let create = Fixture::load("cronofy/channels_create.json");
    let list = Fixture::load("cronofy/channels_list_ruby_spec.json");
    // The documented exchange, with a real URL for the docs' `{CALLBACK_URL}`
    // placeholder (the spec's `format: uri` refuses the placeholder locally).
    let callback = "https://example.com/cronofy/notifications";
    let sent = filled(create.request_body(), &[("{CALLBACK_URL}", callback)]);
    let answer = filled(create.body(), &[("{CALLBACK_URL}", callback)]);
    with_json(on("POST", "/v1/channels", Some(ACCESS)), &sent)
        .answer_once(ResponseTemplate::new(200).set_body_json(&answer), &server)
        .await;
    on("GET", "/v1/channels", Some(ACCESS))
        .answer_once(list.response(), &server)
        .await;
    let channel_id = create.body()["channel"]["channel_id"].as_str().unwrap();
    on(
        "DELETE",
        &format!("/v1/channels/{channel_id}"),
        Some(ACCESS),
    )
    .and(wiremock::matchers::body_string(""))
    .answer_once(example("close_channel").response(), &server)
    .await;

    let channel = cronofy
        .create_channel()
        .body(typed::<types::ChannelCreate>(&sent))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(channel.channel.channel_id, channel_id);
    assert_keeps(&channel, &answer);
    let channel = channel.channel;
    assert_eq!(channel.callback_url, callback);
    assert_eq!(
        channel.filters.unwrap().calendar_ids,
        ["cal_n23kjnwrw2_sakdnawerd3"]
    );
    let channels = cronofy.list_channels().send().await.unwrap().into_inner();
    assert_eq!(
        channels
            .channels
            .iter()
            .map(|c| c.channel_id.as_str())
            .collect::<Vec<_>>(),
        ["channel_id_123", "channel_id_456"]
    );
    assert_keeps(&channels, list.body());
    let closed = cronofy
        .close_channel()
        .channel_id(channel_id)
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), 202);
}

// ------------------------------------------------------------------ notifications

#[test]
fn hmac_accepts_pycronofys_test_vector_and_any_of_several_values_and_refuses_a_changed_body() {
    // pycronofy tests/test_client.py: test_hmac_valid.
    let body = br#"{"example":"well-known"}"#;
    let signature = "38ArsN7+J/O8joGsgirVEdV16a/+eb+5QgHGIiuv4hk=";
    let cronofy = Client::builder()
        .client_id(CLIENT_ID)
        .client_secret("opposable thumbs")
        .build()
        .unwrap();

    assert!(cronofy.hmac_valid(signature, body).unwrap());
    // One value per active client secret, comma-separated.
    assert!(
        cronofy
            .hmac_valid(&format!("c29tZXRoaW5nIGVsc2U=,{signature}"), body)
            .unwrap()
    );
    assert!(
        cronofy
            .hmac_valid(&format!("{signature}, c29tZXRoaW5nIGVsc2U="), body)
            .unwrap()
    );
    assert!(
        cronofy
            .hmac_valid(&format!("not base64!,{signature}"), body)
            .unwrap()
    );
    // Another body, another signature, an empty header.
    assert!(
        !cronofy
            .hmac_valid(signature, br#"{"example":"well-known" }"#)
            .unwrap()
    );
    assert!(!cronofy.hmac_valid("c29tZXRoaW5nIGVsc2U=", body).unwrap());
    assert!(!cronofy.hmac_valid("", body).unwrap());
    // With several secrets of our own (during a rotation).
    let old = Secret::new("old secret");
    let current = Secret::new("opposable thumbs");
    assert!(verify_hmac(&[&old, &current], signature, body));
    assert!(!verify_hmac(&[&old], signature, body));
    assert_eq!(specbound::cronofy::HMAC_HEADER, "Cronofy-HMAC-SHA256");
    // Without a client secret there is nothing to check against.
    let no_secret = Client::builder().build().unwrap();
    assert!(matches!(
        no_secret.hmac_valid(signature, body),
        Err(Error::Config(_))
    ));
}

#[test]
fn push_notifications_decode_the_documented_example() {
    // The spec's push_notification callback example (docs push-notifications),
    // with the channel of channels_create.json.
    let channel = Fixture::load("cronofy/channels_create.json");
    let notification = json!({
        "notification": {"type": "change", "changes_since": "2025-01-17T09:24:16Z"},
        "channel": channel.body()["channel"]
    });
    let decoded: types::PushNotification = typed(&notification);
    assert_eq!(decoded.notification.type_, "change");
    assert_keeps(&decoded, &notification);
}
