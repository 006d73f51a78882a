//! The Graph client against the sandbox: subscriptions whose validation
//! and notifications reach a receiver on 127.0.0.1.

use super::sandbox_support::*;

fn subscription(url: &str, resource: &str) -> types::Subscription {
    let expires = chrono::Utc::now() + chrono::Duration::hours(1);
    serde_json::from_value(json!({
        "changeType": "created,updated",
        "notificationUrl": url,
        "resource": resource,
        "expirationDateTime": expires.to_rfc3339(),
        "clientState": "secret-client-state",
    }))
    .unwrap()
}

#[tokio::test]
async fn a_subscription_is_validated_then_notified_of_new_mail() {
    let server = sandbox().inbox_messages(0).start().await.unwrap();
    let adele = signed_in(&server, ADELE);
    let (receiver, mut received) = receiver(None).await;
    let url = format!("{}/notify", receiver.uri());
    let made = adele
        .create_subscription()
        .body(subscription(&url, "me/mailFolders('Inbox')/messages"))
        .send()
        .await
        .unwrap()
        .into_inner();
    let validation = next(&mut received).await;
    let token = validation
        .query
        .iter()
        .find(|(k, _)| k == "validationToken")
        .unwrap();
    assert!(token.1.starts_with("Validation: "), "{token:?}");
    assert!(
        validation.content_type.starts_with("text/plain"),
        "{}",
        validation.content_type
    );
    assert_eq!(made.client_state.as_deref(), Some("secret-client-state"));
    // Mail arriving from outside, then mail Megan sends: two notifications.
    let first = server
        .deliver_mail(ADELE, "someone@fabrikam.com", "Hi", "Hello")
        .unwrap();
    let megan = signed_in(&server, MEGAN);
    megan
        .send_mail()
        .mailbox(Mailbox::me())
        .body(
            serde_json::from_value::<types::SendMailBody>(json!({"message": {
                "subject": "Status", "toRecipients": [{"emailAddress": {"address": ADELE}}],
            }}))
            .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let note = next(&mut received).await;
        assert!(note.query.is_empty());
        let item = &note.body["value"][0];
        assert_eq!(item["subscriptionId"], made.id.clone().unwrap().as_str());
        assert_eq!(item["clientState"], "secret-client-state");
        assert_eq!(item["changeType"], "created");
        seen.push(item["resourceData"]["id"].as_str().unwrap().to_string());
    }
    assert!(seen.contains(&first) && seen[0] != seen[1], "{seen:?}");
    let listed: Vec<types::Subscription> = adele
        .list_subscriptions()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    adele
        .delete_subscription()
        .subscription_id(made.id.unwrap())
        .send()
        .await
        .unwrap();
    // Without a subscription, mail is not notified: the next thing the
    // receiver gets is the validation of a contacts subscription, then the
    // contact made after it (and neither Megan's Sent Items nor this mail).
    server
        .deliver_mail(ADELE, "someone@fabrikam.com", "Again", "Hello")
        .unwrap();
    adele
        .create_subscription()
        .body(subscription(&url, "me/contacts"))
        .send()
        .await
        .unwrap();
    assert!(
        next(&mut received)
            .await
            .query
            .iter()
            .any(|(k, _)| k == "validationToken")
    );
    let contact = adele
        .create_contact()
        .mailbox(Mailbox::me())
        .body(serde_json::from_value::<types::ContactInput>(json!({"givenName": "Pavel"})).unwrap())
        .send()
        .await
        .unwrap()
        .into_inner();
    let note = next(&mut received).await;
    assert_eq!(
        note.body["value"][0]["resourceData"]["id"],
        contact.id.as_str()
    );
    assert_eq!(
        note.body["value"][0]["resourceData"]["@odata.type"],
        "#Microsoft.Graph.Contact"
    );
    // The counter moves once each subscriber has answered.
    assert!(server.notifications_delivered() >= 2);
}

#[tokio::test]
async fn a_subscriber_that_does_not_echo_the_token_is_refused() {
    let server = sandbox().start().await.unwrap();
    let adele = signed_in(&server, ADELE);
    let (receiver, mut received) = receiver(Some("something else")).await;
    let url = format!("{}/notify", receiver.uri());
    let (status, code) = refusal(
        adele
            .create_subscription()
            .body(subscription(&url, "me/messages"))
            .send()
            .await,
    );
    assert_eq!((status, code.as_str()), (400, "ValidationError"));
    assert!(
        next(&mut received)
            .await
            .query
            .iter()
            .any(|(k, _)| k == "validationToken")
    );
    let listed: Vec<types::Subscription> = adele
        .list_subscriptions()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert!(listed.is_empty());
    let (status, _) = refusal(
        adele
            .create_subscription()
            .body(subscription("http://example.com/notify", "me/messages"))
            .send()
            .await,
    );
    assert_eq!(status, 400, "http is only for the loopback host");
}
