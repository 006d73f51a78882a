//! The sandbox's OAuth driven by the client: links, codes, a file token
//! store, rotation, expiry and revocation.
use super::sandbox_support::*;

// ------------------------------------------------------------------ OAuth

#[tokio::test]
async fn the_authorization_link_leads_to_a_code_whose_token_lands_in_the_file_store() {
    let server = sandbox().start().await.unwrap();
    let dir = TempDir::new("link");
    let (cronofy, _) = client(&server, FileTokenStore::new(dir.file("token.json")));
    let link = cronofy
        .user_auth_link(REDIRECT)
        .scope(["read_account", "list_calendars", "read_events"])
        .state("csrf-123")
        .build()
        .unwrap();
    assert!(link.starts_with(&format!("{}/oauth/authorize?", server.app_url())));

    // The browser follows the link; the authorization page redirects back.
    let answer = browser().get(&link).send().await.unwrap();
    assert_eq!(answer.status(), 302);
    let location = answer.headers()["location"].to_str().unwrap().to_string();
    let back = url::Url::parse(&location).unwrap();
    assert_eq!(
        format!(
            "{}://{}{}",
            back.scheme(),
            back.host_str().unwrap(),
            back.path()
        ),
        REDIRECT
    );
    let query: Vec<(String, String)> = back.query_pairs().into_owned().collect();
    assert_eq!(query[1], ("state".to_string(), "csrf-123".to_string()));
    let code = &query[0].1;
    assert_eq!(query[0].0, "code");
    assert_eq!(code.len(), 32);

    let token = cronofy
        .get_authorization_from_code(code, REDIRECT)
        .await
        .unwrap();
    assert_eq!(token.subject.as_deref(), Some(ALICE));
    assert_eq!(
        token.scope.as_deref(),
        Some("read_account list_calendars read_events")
    );
    let stored = FileTokenStore::new(dir.file("token.json"))
        .load()
        .await
        .unwrap()
        .expect("the token is in the file");
    assert_eq!(stored.token, token);
    assert_eq!(stored.version, 1);
    assert_eq!(server.token_requests(), 1);

    // The code is single use.
    let again = cronofy.get_authorization_from_code(code, REDIRECT).await;
    let err = again.expect_err("a used code is refused");
    let api = err.api().expect("an OAuth error");
    assert_eq!(
        (api.status.as_u16(), api.code.as_deref()),
        (400, Some("invalid_grant"))
    );

    // The granted scope is what the link asked for: no calendar creation.
    let account = cronofy.get_account().send().await.unwrap().into_inner();
    assert_eq!(account.account.email.as_deref(), Some("alice@example.com"));
    let profile_id = server.profile_id(ALICE).unwrap();
    let refused = cronofy
        .create_calendar()
        .body(types::CalendarCreate {
            profile_id,
            name: "Work".into(),
            color: None,
        })
        .send()
        .await
        .expect_err("create_calendar is not in the scope");
    assert_eq!(refused.status().map(|s| s.as_u16()), Some(403));
}

#[tokio::test]
async fn a_code_for_another_redirect_uri_or_from_an_unknown_client_is_refused() {
    let server = sandbox().start().await.unwrap();
    let (cronofy, _) = client(&server, MemoryTokenStore::new());
    let code = server.issue_code(ALICE, REDIRECT);
    let err = cronofy
        .get_authorization_from_code(&code, "https://example.com/elsewhere")
        .await
        .expect_err("the redirect_uri must match");
    assert_eq!(err.api().unwrap().code.as_deref(), Some("invalid_grant"));
    // A mismatch does not use the code up.
    cronofy
        .get_authorization_from_code(&code, REDIRECT)
        .await
        .unwrap();

    let stranger = Client::builder()
        .client_id(CLIENT_ID)
        .client_secret("not-the-secret")
        .base_url(server.base_url())
        .build()
        .unwrap();
    let code = server.issue_code(ALICE, REDIRECT);
    let err = stranger
        .get_authorization_from_code(&code, REDIRECT)
        .await
        .expect_err("wrong client secret");
    assert_eq!(err.api().unwrap().code.as_deref(), Some("invalid_client"));

    // An unregistered redirect URI never gets a redirect.
    let link = cronofy
        .user_auth_link("https://evil.example.com/steal")
        .build()
        .unwrap();
    let answer = browser().get(&link).send().await.unwrap();
    assert_eq!(answer.status(), 400);
    assert!(answer.headers().get("location").is_none());
}

#[tokio::test]
async fn a_short_ttl_forces_a_refresh_that_rotates_the_refresh_token_in_the_file_store() {
    let server = sandbox()
        .access_token_ttl(Duration::from_secs(30))
        .start()
        .await
        .unwrap();
    let dir = TempDir::new("rotate");
    let (cronofy, _) = client(&server, FileTokenStore::new(dir.file("token.json")));
    let first = sign_in(&server, &cronofy, ALICE).await;
    assert_eq!(server.refreshes(), 0);

    // Under 60 s left: the client refreshes before the call.
    let calendars = cronofy.list_calendars().send().await.unwrap().into_inner();
    assert_eq!(calendars.calendars.len(), 1);
    assert_eq!(server.refreshes(), 1);
    assert_eq!(server.token_requests(), 2);

    let stored = FileTokenStore::new(dir.file("token.json"))
        .load()
        .await
        .unwrap()
        .unwrap();
    let current = cronofy.token().await.unwrap().unwrap();
    assert_eq!(stored.token, current);
    assert_eq!(
        stored.version, 2,
        "saved at the code exchange and at the refresh"
    );
    assert_ne!(stored.token.refresh_token, first.refresh_token);
    assert_ne!(stored.token.access_token, first.access_token);
}

#[tokio::test]
async fn an_old_refresh_token_is_refused_with_invalid_grant_after_rotation() {
    let server = sandbox().start().await.unwrap();
    let cronofy = signed_in(&server, ALICE).await;
    let old = refresh_token(&cronofy).await;
    let fresh = cronofy.refresh_authorization().await.unwrap();
    assert_ne!(fresh.refresh_token.as_ref(), Some(&old));

    let replay = cronofy
        .request_token()
        .body(types::TokenRequest::RefreshTokenGrant(
            types::RefreshTokenGrant {
                client_id: CLIENT_ID.into(),
                client_secret: Secret::new(CLIENT_SECRET),
                grant_type: types::RefreshTokenGrantGrantType::RefreshToken,
                refresh_token: old,
            },
        ))
        .send()
        .await;
    let err = replay.expect_err("the rotated refresh token is dead");
    let api = err.api().unwrap();
    assert_eq!(
        (api.status.as_u16(), api.code.as_deref()),
        (400, Some("invalid_grant"))
    );
    let body = api.body::<types::Error>().unwrap();
    assert_eq!(body.error.as_deref(), Some("invalid_grant"));

    // The new one still works, and without rotation the same one comes back.
    cronofy.refresh_authorization().await.unwrap();
    let steady = sandbox()
        .rotate_refresh_tokens(false)
        .start()
        .await
        .unwrap();
    let cronofy = signed_in(&steady, ALICE).await;
    let before = cronofy.token().await.unwrap().unwrap().refresh_token;
    let after = cronofy.refresh_authorization().await.unwrap().refresh_token;
    assert_eq!(before, after);
}

#[tokio::test]
async fn a_token_the_server_expired_is_refreshed_once_and_the_call_replayed() {
    let server = sandbox().start().await.unwrap();
    let cronofy = signed_in(&server, ALICE).await;
    server.expire_access_tokens();
    let before = server.requests();
    let profiles = cronofy.list_profiles().send().await.unwrap().into_inner();
    assert_eq!(
        profiles.profiles[0].profile_name.as_deref(),
        Some("alice@example.com")
    );
    // 401, refresh, replay.
    assert_eq!(server.requests() - before, 3);
    assert_eq!(server.refreshes(), 1);
}

#[tokio::test]
async fn after_revocation_calls_fail_with_an_auth_error() {
    let server = sandbox().start().await.unwrap();
    let cronofy = signed_in(&server, ALICE).await;
    let token = cronofy.token().await.unwrap().unwrap();
    // A second client holding the same tokens, as another process would.
    let (other, _) = client(&server, MemoryTokenStore::with(token));
    other.list_calendars().send().await.unwrap();

    cronofy.revoke_stored_token().await.unwrap();
    assert_eq!(cronofy.token().await.unwrap(), None);
    let err = cronofy.list_calendars().send().await.unwrap_err();
    assert_auth_error(&err, AuthErrorKind::Missing);

    // The server forgot every token: 401, and the refresh is refused too.
    let err = other.list_calendars().send().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    assert_auth_error(&err, AuthErrorKind::RefreshFailed);
}
