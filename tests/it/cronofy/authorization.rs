//! Data centers and authorization links, and the authorization operations
//! (profile revocation, elevated permissions, link tokens, delegated access).
use super::*;

// ------------------------------------------------------------------ data centers

#[test]
fn each_data_center_has_its_api_host_and_its_app_host_in_authorization_links() {
    for (dc, id, api, app) in [
        (
            DataCenter::Us,
            "us",
            "https://api.cronofy.com",
            "https://app.cronofy.com",
        ),
        (
            DataCenter::Au,
            "au",
            "https://api-au.cronofy.com",
            "https://app-au.cronofy.com",
        ),
        (
            DataCenter::Ca,
            "ca",
            "https://api-ca.cronofy.com",
            "https://app-ca.cronofy.com",
        ),
        (
            DataCenter::De,
            "de",
            "https://api-de.cronofy.com",
            "https://app-de.cronofy.com",
        ),
        (
            DataCenter::Sg,
            "sg",
            "https://api-sg.cronofy.com",
            "https://app-sg.cronofy.com",
        ),
        (
            DataCenter::Uk,
            "uk",
            "https://api-uk.cronofy.com",
            "https://app-uk.cronofy.com",
        ),
    ] {
        assert_eq!(dc.api_url(), api);
        assert_eq!(dc.app_url(), app);
        assert_eq!(id.parse::<DataCenter>().unwrap(), dc);
        let by_id = Client::builder()
            .client_id(CLIENT_ID)
            .client_secret(CLIENT_SECRET)
            .data_center_id(id)
            .build()
            .unwrap();
        let link = by_id
            .user_auth_link("https://example.com/cronofy/callback?from=app")
            .scope(["read_events", "create_event"])
            .state("csrf 1/2")
            .avoid_linking(true)
            .build()
            .unwrap();
        assert_eq!(
            link,
            format!(
                "{app}/oauth/authorize?response_type=code&client_id=CLIENT_ID\
                 &redirect_uri=https%3A%2F%2Fexample.com%2Fcronofy%2Fcallback%3Ffrom%3Dapp\
                 &scope=read_events+create_event&state=csrf+1%2F2&avoid_linking=true"
            )
        );
        // pycronofy's default scope, and nothing optional unless asked for.
        let plain = Client::builder()
            .client_id(CLIENT_ID)
            .data_center(dc)
            .build()
            .unwrap()
            .user_auth_link(REDIRECT_URI)
            .build()
            .unwrap();
        assert_eq!(
            plain,
            format!(
                "{app}/oauth/authorize?response_type=code&client_id=CLIENT_ID\
                 &redirect_uri=https%3A%2F%2Fexample.com%2Fcronofy%2Fcallback\
                 &scope=read_account+list_calendars+read_events+create_event+delete_event"
            )
        );
        let shown = format!("{by_id:?}");
        assert!(shown.contains(&format!("base_url: \"{api}\"")), "{shown}");
    }
}

#[tokio::test]
async fn requests_go_to_the_api_host_of_the_data_center() {
    // The mock server is an HTTPS proxy here: the client asks it to CONNECT
    // to the data center's API host, which shows where the call would go.
    let proxy = MockServer::start().await;
    // A client built with its own HTTP client installs the rustls provider
    // first (as a program with its own reqwest client must, unless another
    // specbound client did already): run alone, this test would not have one.
    let _ = Client::builder()
        .access_token(ACCESS, None)
        .build()
        .unwrap();
    for dc in DataCenter::ALL {
        let http = reqwest::Client::builder()
            .proxy(reqwest::Proxy::https(proxy.uri()).unwrap())
            .build()
            .unwrap();
        let waits = Waits::default();
        let cronofy = Client::builder()
            .data_center(dc)
            .access_token(ACCESS, None)
            .http_client(http)
            .retry(RetryPolicy::disabled())
            .sleep(waits.sleep())
            .build()
            .unwrap();
        let err: Error = cronofy.list_calendars().send().await.unwrap_err();
        assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    }
    let requests = received(&proxy).await;
    let hosts: Vec<_> = requests
        .iter()
        .map(|r| {
            assert_eq!(r.method, "CONNECT");
            r.headers["host"].to_str().unwrap().to_string()
        })
        .collect();
    let want: Vec<_> = DataCenter::ALL
        .iter()
        .map(|dc| format!("{}:443", dc.api_url().trim_start_matches("https://")))
        .collect();
    assert_eq!(hosts, want);
}

#[test]
fn an_unknown_data_center_id_is_invalid_naming_data_center() {
    let err = Client::builder()
        .client_id(CLIENT_ID)
        .data_center_id("mars")
        .build()
        .unwrap_err();
    match err {
        Error::Invalid { field, reason } => {
            assert_eq!(field, "data_center");
            assert!(reason.contains("mars"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        "DE".parse::<DataCenter>().unwrap(),
        DataCenter::De,
        "ids are case-insensitive"
    );
}

#[test]
fn authorization_links_carry_the_optional_parameters_and_check_their_input() {
    let cronofy = Client::builder()
        .client_id(CLIENT_ID)
        .data_center(DataCenter::Uk)
        .build()
        .unwrap();
    let link = cronofy
        .user_auth_link(REDIRECT_URI)
        .scope(["read_write"])
        .provider_name("google")
        .link_token("LINK-TOKEN")
        .delegated_scope("free_busy")
        .locale("de")
        .build()
        .unwrap();
    let url = url::Url::parse(&link).unwrap();
    assert_eq!(url.host_str(), Some("app-uk.cronofy.com"));
    assert_eq!(url.path(), "/oauth/authorize");
    let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert_eq!(
        query,
        pairs(&[
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "read_write"),
            ("provider_name", "google"),
            ("delegated_scope", "free_busy"),
            ("locale", "de"),
            ("link_token", "LINK-TOKEN"),
        ])
    );
    let enterprise = cronofy
        .enterprise_connect_auth_link(REDIRECT_URI)
        .delegated_scope("read_only")
        .state("s")
        .build()
        .unwrap();
    assert!(
        enterprise.starts_with(
            "https://app-uk.cronofy.com/enterprise_connect/oauth/authorize?response_type=code"
        ),
        "{enterprise}"
    );
    assert!(enterprise.contains("&scope=service_account%2Faccounts%2Fmanage&"));
    assert_invalid(cronofy.user_auth_link("callback").build(), "redirect_uri");
    assert_invalid(
        cronofy
            .user_auth_link(REDIRECT_URI)
            .scope(Vec::<String>::new())
            .build(),
        "scope",
    );
    let no_id = Client::builder().build().unwrap();
    assert!(matches!(
        no_id.user_auth_link(REDIRECT_URI).build(),
        Err(Error::Config(_))
    ));
}

// ------------------------------------------------------------------ operations: authorization

#[tokio::test]
async fn profile_revocation_permissions_link_tokens_and_delegated_access_use_the_access_token() {
    let (server, cronofy) = mock_cronofy().await;
    let access = Some(ACCESS);
    let no_body = || wiremock::matchers::body_string("");
    on("POST", "/v1/profiles/pro_n23kjnwrw2/revoke", access)
        .and(no_body())
        .answer_once(example("revoke_profile").response(), &server)
        .await;
    let permissions = example("request_elevated_permissions");
    expect_exchange(&server, on("POST", "/v1/permissions", access), &permissions).await;
    let link = Fixture::load("cronofy/link_token_create.json");
    let create_link = on("POST", "/v1/link_tokens", access).and(no_body());
    create_link.answer_once(link.response(), &server).await;
    let service = example("authorize_with_service_account");
    let authorizations = "/v1/service_account_authorizations";
    expect_exchange(&server, on("POST", authorizations, access), &service).await;
    // The batch form of the same operation.
    let batch = json!({
        "service_account_authorizations": [
            {"email": "a@example.com", "callback_url": "https://example.com/cb", "scope": "read_write"},
            {"email": "b@example.com", "callback_url": "https://example.com/cb", "scope": "read_write", "state": "b"}
        ],
        "state": "all"
    });
    let batch_request = with_json(on("POST", authorizations, access), &batch);
    batch_request
        .answer_once(ResponseTemplate::new(202), &server)
        .await;
    let delegated = example("create_delegated_authorization");
    let delegate = on("POST", "/v1/delegated_authorizations", access);
    expect_exchange(&server, delegate, &delegated).await;
    let conferencing = example("create_conferencing_service_authorization");
    let conference = on("POST", "/v1/conferencing_service_authorizations", access);
    expect_exchange(&server, conference, &conferencing).await;

    let revoked = cronofy
        .revoke_profile()
        .profile_id("pro_n23kjnwrw2")
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 202);
    let asked = cronofy
        .request_elevated_permissions()
        .body(typed::<types::ElevatedPermissionsRequest>(
            permissions.request_body(),
        ))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        asked.permissions_request.url.as_deref(),
        permissions.body()["permissions_request"]["url"].as_str()
    );
    let token = cronofy
        .create_link_token()
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(token.link_token.expose(), link.body()["link_token"]);
    let accepted = cronofy
        .authorize_with_service_account()
        .body(typed::<types::ServiceAccountAuthorizationRequest>(
            &with_test_credentials(service.request_body()),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 202);
    cronofy
        .authorize_with_service_account()
        .body(typed::<types::ServiceAccountAuthorizationRequest>(&batch))
        .send()
        .await
        .unwrap();
    let accepted = cronofy
        .create_delegated_authorization()
        .body(typed::<types::DelegatedAuthorization>(
            &with_test_credentials(delegated.request_body()),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 202);
    let started = cronofy
        .create_conferencing_service_authorization()
        .body(typed::<types::ConferencingServiceAuthorizationRequest>(
            conferencing.request_body(),
        ))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        started.authorization_request.url,
        conferencing.body()["authorization_request"]["url"]
    );
    // Every mock refuses it too (`on`); said once more in words.
    let requests = received(&server).await;
    assert_eq!(requests.len(), 7);
    assert!(
        requests
            .iter()
            .all(|r| !r.headers.contains_key("api-version")),
        "progenitor's api-version header leaked"
    );
}
