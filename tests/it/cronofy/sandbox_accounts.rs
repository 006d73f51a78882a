//! The sandbox's Enterprise and Business Connect (its push notification
//! channels are in `sandbox_channels`).
use super::sandbox_support::*;

#[tokio::test]
async fn enterprise_and_business_connect_requests_are_checked_and_listed_by_domain() {
    let server = sandbox()
        .resource("board-room@example.com", "Board room")
        .resource("lab@elsewhere.org", "Lab")
        .start()
        .await
        .unwrap();
    let alice = signed_in(&server, ALICE).await;

    let resources = alice.list_resources().send().await.unwrap().into_inner();
    let names: Vec<_> = resources
        .resources
        .iter()
        .map(|r| r.email.as_str())
        .collect();
    assert_eq!(
        names,
        ["board-room@example.com"],
        "only the caller's domain"
    );

    let profile_id = alice
        .list_profiles()
        .send()
        .await
        .unwrap()
        .into_inner()
        .profiles[0]
        .profile_id
        .clone();
    let accessible = alice
        .list_accessible_calendars()
        .profile_id(&profile_id)
        .send()
        .await
        .unwrap()
        .into_inner()
        .accessible_calendars;
    let listed: Vec<(Option<&str>, &str)> = accessible
        .iter()
        .map(|c| (c.calendar_type.as_deref(), c.email.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            (Some("user"), "bob@example.com"),
            (Some("resource"), "board-room@example.com")
        ]
    );
    let rooms = alice
        .list_accessible_calendars()
        .profile_id(&profile_id)
        .calendar_type("resource")
        .send()
        .await
        .unwrap()
        .into_inner()
        .accessible_calendars;
    assert_eq!(rooms.len(), 1);
    assert_eq!(
        fields(
            alice
                .list_accessible_calendars()
                .profile_id("pro_not_mine")
                .send()
                .await
        )[0]
        .0,
        "profile_id"
    );

    let delegated = |email: &str| -> types::DelegatedAuthorization {
        typed(json!({
            "profile_id": profile_id,
            "email": email,
            "callback_url": "https://example.com/cronofy/delegated",
            "scope": "read_write",
            "state": "s",
        }))
    };
    alice
        .create_delegated_authorization()
        .body(delegated("bob@example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        fields(
            alice
                .create_delegated_authorization()
                .body(delegated("not-an-email"))
                .send()
                .await
        ),
        pairs(&[("email", "not-an-email is not an email address")])
    );

    alice
        .authorize_with_service_account()
        .body(typed::<types::ServiceAccountAuthorizationRequest>(json!({
            "service_account_authorizations": [
                {"email": "bob@example.com", "callback_url": "https://example.com/cb", "scope": "read_write"},
                {"email": "carol@example.com", "callback_url": "https://example.com/cb", "scope": "read_write"},
            ],
        })))
        .send()
        .await
        .unwrap();
    assert_eq!(
        // Sent raw: the client refuses it before sending (`format: uri`).
        fields(
            alice
                .raw_request(reqwest::Method::POST, "/v1/service_account_authorizations")
                .operation("authorize_with_service_account")
                .json(&json!({
                    "email": "bob@example.com", "callback_url": "ftp://example.com/cb", "scope": "read_write",
                }))
                .send()
                .await
        )[0]
        .0,
        "callback_url"
    );

    let conferencing = alice
        .create_conferencing_service_authorization()
        .body(typed::<types::ConferencingServiceAuthorizationRequest>(
            json!({"redirect_uri": REDIRECT}),
        ))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(
        conferencing
            .authorization_request
            .url
            .contains("/conferencing_service_authorizations/"),
        "{conferencing:?}"
    );
}
