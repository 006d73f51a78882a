//! Secrets never in `Debug`, `Display` or traces; a 401 to a call made
//! with the client secret.
use super::*;

// ------------------------------------------------------------------ secrets

#[tokio::test]
async fn no_access_token_refresh_token_client_secret_or_code_in_debug_display_or_traces() {
    crate::support::traces(); // installs the capturing subscriber
    let server = MockServer::start().await;
    let access = "acc-tok-9f8e7d6c5b4a39281706";
    let refresh = "ref-tok-0a1b2c3d4e5f60718293";
    let client_secret = "cli-sec-5e4d3c2b1a09f8e7d6c5";
    let code = "code-1122334455667788aabbccdd";
    let link_token = "lnk-tok-ffeeddccbbaa99887766";
    let secrets = [access, refresh, client_secret, code, link_token];
    let grant = |grant_type: &str| {
        on("POST", "/oauth/token", None).and(wiremock::matchers::body_partial_json(
            json!({ "grant_type": grant_type }),
        ))
    };
    grant("authorization_code")
        .answer_once(
            ResponseTemplate::new(200).set_body_json(json!({
                "token_type": "bearer", "access_token": access, "expires_in": 3600,
                "refresh_token": refresh, "scope": "read_write", "sub": "acc_1"
            })),
            &server,
        )
        .await;
    // The access token is refused, and so is the refresh token.
    let calendars = on("GET", "/v1/calendars", Some(access));
    calendars
        .answer_once(ResponseTemplate::new(401), &server)
        .await;
    grant("refresh_token")
        .answer_once(
            Fixture::load("cronofy/oauth_token_error_invalid_grant.json").response(),
            &server,
        )
        .await;
    let dir = TempDir::new("secrets");
    let file_store = FileTokenStore::new(dir.0.join("token.json"));
    let waits = Waits::default();
    let cronofy = Client::builder()
        .client_id(CLIENT_ID)
        .client_secret(client_secret)
        .base_url(server.uri())
        .app_url(server.uri())
        .token_store(file_store.clone())
        .sleep(waits.sleep())
        .build()
        .unwrap();

    let token = cronofy
        .get_authorization_from_code(code, REDIRECT_URI)
        .await
        .unwrap();
    let err: Error = cronofy.list_calendars().send().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    let link = cronofy.user_auth_link(REDIRECT_URI).link_token(link_token);
    let link_debug = format!("{link:?}");
    let refused_exchange = cronofy
        .get_authorization_from_code(" ", REDIRECT_URI)
        .await
        .unwrap_err();
    let revocation = types::TokenRevocation {
        client_id: CLIENT_ID.into(),
        client_secret: client_secret.into(),
        sub: None,
        token: Some(refresh.into()),
    };
    let grant: types::TokenRequest = typed(&json!({
        "client_id": CLIENT_ID, "client_secret": client_secret,
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI
    }));
    let shown = format!(
        "{cronofy:?} {err} {err:?} {token:?} {link_debug} {refused_exchange} {refused_exchange:?} \
         {file_store:?} {:?} {revocation:?} {grant:?}",
        MemoryTokenStore::with(token.clone()),
    );
    let logged = crate::support::traces();
    assert!(
        logged.contains("specbound.request"),
        "no request span was traced: {logged}"
    );
    for secret in secrets {
        assert!(
            !shown.contains(secret),
            "{secret} in Debug/Display: {shown}"
        );
        assert!(!logged.contains(secret), "{secret} in traces");
    }
    // ... while the token file does hold them, for the next run.
    let saved = std::fs::read_to_string(dir.0.join("token.json")).unwrap();
    assert!(saved.contains(access) && saved.contains(refresh));
}

#[tokio::test]
async fn a_401_to_a_call_made_with_the_client_secret_does_not_refresh_the_access_token() {
    let server = MockServer::start().await;
    let (cronofy, _) = crate::support::cronofy(&server);
    on(
        "GET",
        "/v1/real_time_scheduling/sch_x",
        Some("CLIENT_SECRET"),
    )
    .answer_once(ResponseTemplate::new(401), &server)
    .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let err = cronofy
        .get_real_time_scheduling()
        .real_time_scheduling_id("sch_x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.status(),
        Some(reqwest::StatusCode::UNAUTHORIZED),
        "{err:?}"
    );
}
