//! Smart Invites with the client secret.
use super::*;

// ------------------------------------------------------------------ operations: smart invites

#[tokio::test]
async fn smart_invites_are_upserted_cancelled_and_read_with_the_client_secret() {
    let (server, cronofy) = mock_cronofy().await;
    let upsert = example("upsert_smart_invite");
    let get = example("get_smart_invite");
    let id = upsert.request_body()["smart_invite_id"].as_str().unwrap();
    let secret = Some(CLIENT_SECRET);
    expect_exchange(&server, on("POST", "/v1/smart_invites", secret), &upsert).await;
    let cancel = json!({
        "method": "cancel",
        "smart_invite_id": id,
        "recipient": {"email": "cronofy@example.com"}
    });
    let mut cancelled = upsert.body().clone();
    cancelled["recipient"]["status"] = json!("declined");
    with_json(on("POST", "/v1/smart_invites", secret), &cancel)
        .answer_once(
            ResponseTemplate::new(200).set_body_json(&cancelled),
            &server,
        )
        .await;
    on("GET", "/v1/smart_invites", secret)
        .answer_once(get.response(), &server)
        .await;

    let invite = cronofy
        .upsert_smart_invite()
        .body(typed::<types::SmartInviteRequest>(upsert.request_body()))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(invite.smart_invite_id, id);
    assert!(
        invite
            .attachments
            .as_ref()
            .and_then(|a| a.icalendar.as_deref())
            .unwrap()
            .starts_with("BEGIN:VCALENDAR")
    );
    assert!(matches!(
        invite.event.as_ref().unwrap().start,
        types::EventTime::LocalizedTime(_)
    ));
    assert_keeps(&invite, upsert.body());
    let gone = cronofy
        .upsert_smart_invite()
        .body(types::SmartInviteRequest::Cancel(typed(&cancel)))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(gone.recipient.unwrap().status.as_deref(), Some("declined"));
    let state = cronofy
        .get_smart_invite()
        .smart_invite_id(id)
        .recipient_email("cronofy@example.com")
        .include_ics(true)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(state.replies.len(), 2);
    assert_eq!(state.replies[1].status.as_deref(), Some("declined"));
    assert!(state.recipient.as_ref().unwrap().proposal.is_some());
    assert_keeps(&state, get.body());
    assert_eq!(
        sent_query(&server, 2).await,
        pairs(&[
            ("include_ics", "true"),
            ("recipient_email", "cronofy@example.com"),
            ("smart_invite_id", id),
        ])
    );
}
