//! OAuth on the wire: code exchange, refresh before expiry and after a
//! 401, rotation saved before use, revocation, application calendars.
use super::*;

// ------------------------------------------------------------------ OAuth

#[tokio::test]
async fn exchanging_a_code_posts_the_grant_without_authorization_and_saves_the_token_before_returning()
 {
    let server = MockServer::start().await;
    let fixture = Fixture::load("cronofy/oauth_token_authorization_code.json");
    let answer = fixture.body();
    let access = answer["access_token"].as_str().unwrap();
    // The documented request, with the test application's values.
    let sent = filled(
        &with_test_credentials(fixture.request_body()),
        &[("{CODE}", "CODE")],
    );
    let token_request = with_json(on("POST", "/oauth/token", None), &sent);
    token_request.answer_once(fixture.response(), &server).await;
    on("GET", "/v1/calendars", Some(access))
        .answer_once(
            Fixture::load("cronofy/calendars_list.json").response(),
            &server,
        )
        .await;
    let store = RecordingStore::default();
    let cronofy = cronofy_with_store(&server, store.clone());
    assert!(
        cronofy.is_authorization_expired().await.unwrap(),
        "no token yet"
    );

    let token = cronofy
        .get_authorization_from_code("CODE", REDIRECT_URI)
        .await
        .unwrap();

    assert_eq!(token.access_token.expose(), access);
    assert_eq!(
        token.refresh_token.as_ref().unwrap().expose(),
        answer["refresh_token"]
    );
    assert_eq!(token.scope.as_deref(), answer["scope"].as_str());
    assert_eq!(token.subject.as_deref(), answer["sub"].as_str());
    let expires_in = token.expires_at.unwrap() - chrono::Utc::now();
    assert!(
        (3590..=3600).contains(&expires_in.num_seconds()),
        "expires_in 3600 s: {expires_in}"
    );
    // Saved before get_authorization_from_code returned.
    assert_eq!(
        store.log(),
        [
            "load".to_string(),
            format!(
                "save {access} {}",
                answer["refresh_token"].as_str().unwrap()
            )
        ]
    );
    assert_eq!(store.stored().as_ref(), Some(&token));
    // The next call carries the new access token.
    let calendars = cronofy.list_calendars().send().await.unwrap().into_inner();
    assert_eq!(calendars.calendars.len(), 3);
}

#[tokio::test]
async fn a_token_expiring_in_ten_seconds_is_refreshed_before_the_call() {
    let server = MockServer::start().await;
    let refresh = Fixture::load("cronofy/oauth_token_refresh.json");
    let new_access = refresh.body()["access_token"].as_str().unwrap();
    expect_exchange(&server, on("POST", "/oauth/token", None), &refresh).await;
    on("GET", "/v1/account", Some(new_access))
        .answer_once(
            Fixture::load("cronofy/account_ruby_spec.json").response(),
            &server,
        )
        .await;
    let store = RecordingStore::default();
    let waits = Waits::default();
    let cronofy = cronofy_builder(&server, &waits)
        .token_store(store.clone())
        .token(token_expiring(ACCESS, Some(REFRESH), 10))
        .build()
        .unwrap();
    assert!(
        !cronofy.is_authorization_expired().await.unwrap(),
        "10 s left is not expired yet"
    );

    let account = cronofy.get_account().send().await.unwrap().into_inner();

    assert_eq!(account.account.account_id, "acc_id_123");
    assert_eq!(sent_paths(&server).await, ["/oauth/token", "/v1/account"]);
    // The answer echoes the documented `{REFRESH_TOKEN}` placeholder as the
    // (rotated) refresh token; that is what is stored. The store is read once
    // under the renewal lock first (another client may have renewed).
    assert_eq!(
        store.log(),
        [
            "load".to_string(),
            format!("save {new_access} {{REFRESH_TOKEN}}")
        ]
    );
    let stored = cronofy.token().await.unwrap().unwrap();
    assert!(!stored.expires_within(Duration::from_secs(3000)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_calls_with_an_expired_token_refresh_exactly_once() {
    let server = MockServer::start().await;
    let refresh = Fixture::load("cronofy/oauth_token_refresh_ruby_spec.json");
    let new_access = refresh.body()["access_token"].as_str().unwrap();
    on("POST", "/oauth/token", None)
        .and(header("content-type", "application/json"))
        .answer_once(refresh.response(), &server)
        .await;
    on("GET", "/v1/calendars", Some(new_access))
        .respond_with(Fixture::load("cronofy/calendars_list.json").response())
        .expect(50)
        .mount(&server)
        .await;
    let waits = Waits::default();
    let cronofy = cronofy_builder(&server, &waits)
        .token(token_expiring(ACCESS, Some(REFRESH), -5))
        .build()
        .unwrap();

    let calls: Vec<_> = (0..50)
        .map(|_| {
            let cronofy = cronofy.clone();
            tokio::spawn(async move { cronofy.list_calendars().send().await })
        })
        .collect();
    for call in calls {
        let calendars = call.await.unwrap().unwrap().into_inner();
        assert_eq!(calendars.calendars.len(), 3);
    }
    let token = cronofy.token().await.unwrap().unwrap();
    assert_eq!(token.access_token.expose(), new_access);
    assert_eq!(
        token.refresh_token.unwrap().expose(),
        refresh.body()["refresh_token"]
    );
}

#[tokio::test]
async fn a_rotated_refresh_token_is_in_the_token_file_before_the_new_access_token_is_used() {
    let server = MockServer::start().await;
    // cronofy-ruby's refresh answer carries a new refresh token.
    let refresh = Fixture::load("cronofy/oauth_token_refresh_ruby_spec.json");
    let new_access = refresh.body()["access_token"].as_str().unwrap().to_string();
    let new_refresh = refresh.body()["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let token_request = with_json(on("POST", "/oauth/token", None), &refresh_grant());
    token_request.answer_once(refresh.response(), &server).await;
    let dir = TempDir::new("rotation");
    let file = dir.0.join("token.json");
    let seen_in_file = Arc::new(Mutex::new(None::<Value>));
    let (reader, seen) = (file.clone(), seen_in_file.clone());
    let calendars = Fixture::load("cronofy/calendars_list.json");
    let answer = calendars.response();
    on("GET", "/v1/calendars", Some(&new_access))
        .respond_with(move |_: &Request| {
            // What the file holds while the new access token is first used.
            let text = std::fs::read_to_string(&reader).unwrap_or_default();
            *seen.lock().unwrap() = serde_json::from_str(&text).ok();
            answer.clone()
        })
        .expect(1)
        .mount(&server)
        .await;
    let store = FileTokenStore::new(&file);
    store
        .save(&token_expiring(ACCESS, Some(REFRESH), -60), None)
        .await
        .unwrap();
    let cronofy = cronofy_with_store(&server, store);
    assert!(cronofy.is_authorization_expired().await.unwrap());

    cronofy.list_calendars().send().await.unwrap();

    let in_file = seen_in_file.lock().unwrap().clone().expect("a token file");
    // The file holds the token and its version: the refresh saved version 2.
    assert_eq!(in_file["version"], 2);
    assert_eq!(in_file["token"]["access_token"], new_access);
    assert_eq!(in_file["token"]["refresh_token"], new_refresh);
    assert_eq!(in_file["token"]["scope"], refresh.body()["scope"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the token file is the owner's only");
    }
    // A new client on the same file starts from the rotated tokens.
    let again = cronofy_with_store(&server, FileTokenStore::new(&file));
    let reloaded = again.token().await.unwrap().unwrap();
    assert_eq!(reloaded.refresh_token.unwrap().expose(), new_refresh);
}

#[tokio::test]
async fn a_401_refreshes_once_and_replays_the_call_once() {
    let server = MockServer::start().await;
    let refresh = Fixture::load("cronofy/oauth_token_refresh_ruby_spec.json");
    let new_access = refresh.body()["access_token"].as_str().unwrap();
    on("GET", "/v1/calendars", Some(ACCESS))
        .answer_once(invalid_token(), &server)
        .await;
    let token_request = with_json(on("POST", "/oauth/token", None), &refresh_grant());
    token_request.answer_once(refresh.response(), &server).await;
    on("GET", "/v1/calendars", Some(new_access))
        .answer_once(
            Fixture::load("cronofy/calendars_list.json").response(),
            &server,
        )
        .await;
    let (cronofy, waits) = cronofy(&server);

    let calendars = cronofy.list_calendars().send().await.unwrap().into_inner();

    assert_eq!(calendars.calendars.len(), 3);
    assert_eq!(
        sent_paths(&server).await,
        ["/v1/calendars", "/oauth/token", "/v1/calendars"]
    );
    assert!(waits.recorded().is_empty(), "a 401 replay does not wait");
}

#[tokio::test]
async fn a_second_401_after_the_refresh_is_returned_not_looped() {
    let server = MockServer::start().await;
    let refresh = Fixture::load("cronofy/oauth_token_refresh_ruby_spec.json");
    on("POST", "/oauth/token", None)
        .answer_once(refresh.response(), &server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/channels"))
        .respond_with(ResponseTemplate::new(401))
        .expect(2)
        .mount(&server)
        .await;
    let (cronofy, _) = cronofy(&server);

    let err = cronofy
        .create_channel()
        .body(types::ChannelCreate {
            callback_url: "https://example.com/notify".into(),
            filters: None,
        })
        .send()
        .await
        .unwrap_err();

    assert!(err.is_unauthorized(), "{err:?}");
    assert_eq!(err.status(), Some(reqwest::StatusCode::UNAUTHORIZED));
    let requests = received(&server).await;
    assert_eq!(requests.len(), 3);
    assert_eq!(
        requests[2].headers["authorization"],
        format!(
            "Bearer {}",
            refresh.body()["access_token"].as_str().unwrap()
        )
        .as_str(),
        "the replay carries the refreshed token"
    );
    assert_eq!(
        requests[0].body, requests[2].body,
        "the same body is replayed"
    );
}

#[tokio::test]
async fn revoking_sends_the_refresh_token_as_token_and_clears_the_store() {
    let server = MockServer::start().await;
    let fixture = example("revoke_authorization");
    let sent = filled(
        &with_test_credentials(fixture.request_body()),
        &[("{TOKEN}", REFRESH)],
    );
    let revocation = with_json(on("POST", "/oauth/token/revoke", None), &sent);
    revocation.answer_once(fixture.response(), &server).await;
    let store = RecordingStore::holding(OAuthToken::new(ACCESS, Some(REFRESH.into()), None));
    let cronofy = cronofy_with_store(&server, store.clone());

    cronofy.revoke_stored_token().await.unwrap();

    assert_eq!(store.log(), ["load", "clear"]);
    assert_eq!(store.stored(), None);
    assert_eq!(cronofy.token().await.unwrap(), None);
    assert!(cronofy.is_authorization_expired().await.unwrap());
    // Nothing left to revoke, or to call with.
    let err = cronofy.revoke_stored_token().await.unwrap_err();
    assert_auth_error(&err, AuthErrorKind::Missing);
    let err: Error = cronofy.list_calendars().send().await.unwrap_err();
    assert_auth_error(&err, AuthErrorKind::Missing);
    assert_eq!(request_count(&server).await, 1);
}

#[tokio::test]
async fn revoking_a_token_without_refresh_token_sends_the_access_token() {
    let server = MockServer::start().await;
    let revocation = with_json(
        on("POST", "/oauth/token/revoke", None),
        &json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "token": ACCESS}),
    );
    revocation
        .answer_once(ResponseTemplate::new(200), &server)
        .await;
    let waits = Waits::default();
    let cronofy = cronofy_builder(&server, &waits)
        .access_token(ACCESS, None)
        .build()
        .unwrap();
    cronofy.revoke_stored_token().await.unwrap();
    assert_eq!(cronofy.token().await.unwrap(), None);
}

#[tokio::test]
async fn is_authorization_expired_reads_the_expiry_of_the_stored_token() {
    let server = MockServer::start().await;
    let waits = Waits::default();
    let with = |token: Option<OAuthToken>| {
        let builder = cronofy_builder(&server, &waits);
        match token {
            Some(t) => builder.token(t),
            None => builder,
        }
        .build()
        .unwrap()
    };
    for (token, expired) in [
        (None, true),
        (Some(token_expiring(ACCESS, Some(REFRESH), -1)), true),
        (Some(token_expiring(ACCESS, Some(REFRESH), 30)), false),
        (Some(token_expiring(ACCESS, None, 3600)), false),
        (Some(OAuthToken::new(ACCESS, None, None)), false),
    ] {
        let shown = format!("{token:?}");
        assert_eq!(
            with(token).is_authorization_expired().await.unwrap(),
            expired,
            "{shown}"
        );
    }
    // From a store, too.
    let stored = cronofy_with_store(
        &server,
        MemoryTokenStore::with(token_expiring(ACCESS, None, -10)),
    );
    assert!(stored.is_authorization_expired().await.unwrap());
    assert_eq!(request_count(&server).await, 0);
}

#[tokio::test]
async fn an_invalid_grant_on_refresh_is_an_auth_refresh_failed_error_and_keeps_the_stored_token() {
    let server = MockServer::start().await;
    let refused = Fixture::load("cronofy/oauth_token_error_invalid_grant.json");
    with_json(
        on("POST", "/oauth/token", None),
        &with_test_credentials(refused.request_body()),
    )
    .respond_with(refused.response())
    // Once for the call, once for the explicit refresh below.
    .expect(2)
    .mount(&server)
    .await;
    on("GET", "/v1/calendars", None)
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let expired = token_expiring(ACCESS, Some(REFRESH), -5);
    let store = RecordingStore::holding(expired.clone());
    let cronofy = cronofy_with_store(&server, store.clone());

    let err: Error = cronofy.list_calendars().send().await.unwrap_err();

    let reason = assert_auth_error(&err, AuthErrorKind::RefreshFailed);
    assert!(reason.contains("invalid_grant"), "{reason}");
    // Read at the first call, and again under the renewal lock: nothing saved.
    assert_eq!(store.log(), ["load", "load"], "nothing saved");
    assert_eq!(store.stored(), Some(expired));
    // An explicit refresh fails the same way.
    let err = cronofy.refresh_authorization().await.unwrap_err();
    assert_auth_error(&err, AuthErrorKind::RefreshFailed);
}

#[tokio::test]
async fn refresh_authorization_refreshes_now_and_saves_first() {
    let server = MockServer::start().await;
    let refresh = Fixture::load("cronofy/oauth_token_refresh_ruby_spec.json");
    on("POST", "/oauth/token", None)
        .answer_once(refresh.response(), &server)
        .await;
    let store = RecordingStore::holding(OAuthToken::new(ACCESS, Some(REFRESH.into()), None));
    let cronofy = cronofy_with_store(&server, store.clone());
    let token = cronofy.refresh_authorization().await.unwrap();
    let (access, rotated) = (
        refresh.body()["access_token"].as_str().unwrap(),
        refresh.body()["refresh_token"].as_str().unwrap(),
    );
    assert_eq!(token.access_token.expose(), access);
    // Read at first use, again under the renewal lock, then saved.
    assert_eq!(
        store.log(),
        [
            "load".into(),
            "load".into(),
            format!("save {access} {rotated}")
        ]
    );
}

#[tokio::test]
async fn application_calendar_posts_the_client_credentials_and_uses_its_tokens() {
    let server = MockServer::start().await;
    let fixture = example("create_application_calendar");
    let answer = fixture.body();
    expect_exchange(
        &server,
        on("POST", "/v1/application_calendars", None),
        &fixture,
    )
    .await;
    let store = RecordingStore::default();
    let cronofy = cronofy_with_store(&server, store.clone());
    let id = fixture.request_body()["application_calendar_id"]
        .as_str()
        .unwrap();

    let token = cronofy.application_calendar(id).await.unwrap();

    assert_eq!(token.access_token.expose(), answer["access_token"]);
    assert_eq!(token.subject.as_deref(), answer["sub"].as_str());
    assert_eq!(token.scope.as_deref(), Some("read_write"));
    assert_eq!(store.stored().as_ref(), Some(&token));
    // The generated operation decodes the whole answer.
    let raw: types::TokenResponse = typed(answer);
    assert_eq!(raw.application_calendar_id.as_deref(), Some(id));
    assert_keeps(&raw, answer);
}

#[tokio::test]
async fn a_token_answer_with_an_absurd_expires_in_is_clamped_not_a_panic() {
    // 10^13 seconds used to overflow `DateTime + TimeDelta` and panic.
    for expires_in in [10_000_000_000_000i64, i64::MAX, -5] {
        let server = MockServer::start().await;
        let mut answer = Fixture::load("cronofy/oauth_token_authorization_code.json")
            .body()
            .clone();
        answer["expires_in"] = serde_json::json!(expires_in);
        on("POST", "/oauth/token", None)
            .answer_once(ResponseTemplate::new(200).set_body_json(&answer), &server)
            .await;
        let waits = Waits::default();
        let cronofy = cronofy_builder(&server, &waits).build().unwrap();
        let token = cronofy
            .get_authorization_from_code("CODE", REDIRECT_URI)
            .await
            .unwrap();
        let at = token.expires_at.unwrap();
        let ten_years = chrono::Utc::now() + chrono::Duration::days(3651);
        assert!(at <= ten_years, "{expires_in}: {at}");
        assert_eq!(
            cronofy.is_authorization_expired().await.unwrap(),
            expires_in < 0,
            "{expires_in}"
        );
    }
}
