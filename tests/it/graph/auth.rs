//! Sign-in and tokens: the login host of the cloud, form-encoded grants,
//! refresh with rotation, tokens stored under their cloud's key.

use std::sync::Arc;

use serde_json::json;
use specbound::graph::{Client, Cloud, Scopes, prelude::*};
use specbound::runtime::{MemoryTokenStore, TokenStore};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{client_with, cloud, token};
use specbound::AuthErrorKind;

use crate::support::{Fixture, assert_auth_error, received};

fn form(request: &wiremock::Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&request.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

async fn subscriptions_answer(server: &MockServer, bearer: &str) {
    Mock::given(method("GET"))
        .and(path("/v1.0/subscriptions"))
        .and(header("authorization", format!("Bearer {bearer}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(server)
        .await;
}

#[tokio::test]
async fn an_expired_token_is_refreshed_at_the_login_host_with_its_scopes_and_rotated() {
    let server = MockServer::start().await;
    let fixture = Fixture::load("graph/identity_token_refresh.json");
    Mock::given(method("POST"))
        .and(path("/contoso/oauth2/v2.0/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(fixture.response())
        .expect(1)
        .mount(&server)
        .await;
    let new_access = fixture.body()["access_token"].as_str().unwrap().to_string();
    subscriptions_answer(&server, &new_access).await;
    let (graph, _) = client_with(&server, Some(token("old", Some("rt-1"), 0)));

    let page = graph.list_subscriptions().send().await.unwrap();
    assert!(page.value.is_empty());

    let sent = received(&server).await;
    assert!(
        sent[0].headers.get("authorization").is_none(),
        "no bearer to the login host"
    );
    let pairs = form(&sent[0]);
    assert_eq!(value(&pairs, "grant_type"), Some("refresh_token"));
    assert_eq!(value(&pairs, "refresh_token"), Some("rt-1"));
    assert_eq!(value(&pairs, "client_id"), Some("app-1"));
    let scope = format!(
        "{0}/User.Read {0}/Mail.ReadWrite {0}/Mail.Send offline_access",
        server.uri()
    );
    assert_eq!(value(&pairs, "scope"), Some(scope.as_str()));
    let stored = graph.token().await.unwrap().unwrap();
    assert_eq!(
        stored.refresh_token.unwrap().expose(),
        fixture.body()["refresh_token"].as_str().unwrap(),
        "the rotated refresh token replaces the old one"
    );
}

#[tokio::test]
async fn client_credentials_ask_for_the_default_scope_of_the_clouds_graph_host() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/contoso/oauth2/v2.0/token"))
        .and(body_string_contains("grant_type=client_credentials"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": "app-token"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    subscriptions_answer(&server, "app-token").await;
    let graph = Client::builder()
        .cloud(cloud(&server))
        .tenant("contoso")
        .client_id("app-1")
        .client_secret("s3cret")
        .client_credentials()
        .build()
        .unwrap();
    graph.list_subscriptions().send().await.unwrap();
    let pairs = form(&received(&server).await[0]);
    let scope = format!("{}/.default", server.uri());
    assert_eq!(value(&pairs, "scope"), Some(scope.as_str()));
    assert_eq!(value(&pairs, "client_secret"), Some("s3cret"));
    assert!(
        !format!("{graph:?}").contains("s3cret"),
        "no secret in Debug"
    );
}

#[tokio::test]
async fn a_refused_refresh_is_a_typed_error_with_the_identity_platforms_code() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/contoso/oauth2/v2.0/token"))
        .respond_with(Fixture::load("graph/identity_token_error_invalid_grant.json").response())
        .mount(&server)
        .await;
    let (graph, _) = client_with(&server, Some(token("old", Some("rt-1"), 0)));
    let err = graph.list_subscriptions().send().await.unwrap_err();
    let reason = assert_auth_error(&err, AuthErrorKind::RefreshFailed);
    assert!(
        reason.contains("400") && reason.contains("invalid_grant"),
        "{reason}"
    );
    assert!(reason.contains("AADSTS70008"), "{reason}");
    assert_eq!(
        received(&server).await.len(),
        1,
        "nothing sent to Graph without a token"
    );
    assert!(!err.to_string().contains("rt-1"));
}

#[tokio::test]
async fn a_token_of_another_cloud_or_scope_set_in_the_same_store_is_never_used() {
    let server = MockServer::start().await;
    subscriptions_answer(&server, "mail-token").await;
    let store = Arc::new(MemoryTokenStore::new());
    let build = |scopes: Scopes, cloud: Cloud| {
        Client::builder()
            .cloud(cloud)
            .tenant("contoso")
            .client_id("app-1")
            .scopes(scopes)
            .token_store(store.clone())
            .build()
            .unwrap()
    };
    let mail = build(Scopes::helper(["message_all"]), cloud(&server));
    // Signed in with the mail scopes: the token is saved under their key.
    let request = mail.authorization_url("http://localhost/cb").unwrap();
    Mock::given(method("POST"))
        .and(path("/contoso/oauth2/v2.0/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"token_type": "Bearer", "expires_in": 3599, "access_token": "mail-token", "refresh_token": "rt"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    mail.exchange_code("the-code", &request).await.unwrap();
    mail.list_subscriptions().send().await.unwrap();
    assert!(
        store
            .load()
            .await
            .unwrap()
            .unwrap()
            .token
            .key
            .unwrap()
            .contains("Mail.ReadWrite")
    );

    // The same store seen with other scopes, or from another cloud: no token.
    let files = build(Scopes::helper(["onedrive_all"]), cloud(&server));
    assert!(files.token().await.unwrap().is_none());
    let china = build(Scopes::helper(["message_all"]), Cloud::China);
    assert!(china.token().await.unwrap().is_none());
    assert_eq!(
        received(&server).await.len(),
        2,
        "nothing was sent with the mail token"
    );
}

#[tokio::test]
async fn the_authorization_url_carries_a_pkce_challenge_that_the_code_exchange_proves() {
    let server = MockServer::start().await;
    let (graph, _) = client_with(&server, None);
    let request = graph.authorization_url("http://localhost/cb").unwrap();
    assert_eq!(request.url.path(), "/contoso/oauth2/v2.0/authorize");
    let q: Vec<(String, String)> = request
        .url
        .query_pairs()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    assert_eq!(value(&q, "code_challenge_method"), Some("S256"));
    assert_eq!(value(&q, "response_type"), Some("code"));
    assert_eq!(value(&q, "state"), Some(request.state.as_str()));
    let challenge = value(&q, "code_challenge").unwrap().to_string();
    Mock::given(method("POST"))
        .and(path("/contoso/oauth2/v2.0/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"token_type": "Bearer", "expires_in": 3599, "access_token": "at", "refresh_token": "rt"}),
        ))
        .mount(&server)
        .await;
    graph.exchange_code("the-code", &request).await.unwrap();
    let pairs = form(&received(&server).await[0]);
    let verifier = value(&pairs, "code_verifier").unwrap();
    use base64::Engine as _;
    use sha2::Digest as _;
    let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    assert_eq!(expected, challenge);
    assert_eq!(value(&pairs, "code"), Some("the-code"));
    assert_eq!(value(&pairs, "redirect_uri"), Some("http://localhost/cb"));
    assert!(
        !format!("{request:?}").contains(verifier),
        "the verifier stays out of Debug"
    );
}

#[tokio::test]
async fn the_device_code_flow_polls_through_pending_and_slow_down_until_tokens_come() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/contoso/oauth2/v2.0/devicecode"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "device_code": "dc-1", "user_code": "FA5EQZ4RB", "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": 900, "interval": 5, "message": "To sign in, enter FA5EQZ4RB"})))
        .mount(&server)
        .await;
    for (code, times) in [("authorization_pending", 2), ("slow_down", 1)] {
        Mock::given(method("POST"))
            .and(path("/contoso/oauth2/v2.0/token"))
            .respond_with(ResponseTemplate::new(400).set_body_json(
                json!({"error": code, "error_description": "AADSTS70016: pending", "error_codes": [70016]}),
            ))
            .up_to_n_times(times)
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/contoso/oauth2/v2.0/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"token_type": "Bearer", "expires_in": 3599, "access_token": "at", "refresh_token": "rt"}),
        ))
        .mount(&server)
        .await;
    let (graph, waits) = client_with(&server, None);
    let device = graph.start_device_code().await.unwrap();
    assert_eq!(device.user_code, "FA5EQZ4RB");
    graph.finish_device_code(&device).await.unwrap();
    // The interval, again, then 5 s more after slow_down.
    let secs: Vec<u64> = waits.recorded().iter().map(|d| d.as_secs()).collect();
    assert_eq!(secs, [5, 5, 10]);
    let sent = received(&server).await;
    assert_eq!(sent.len(), 5);
    let last = form(&sent[4]);
    assert_eq!(
        value(&last, "grant_type"),
        Some("urn:ietf:params:oauth:grant-type:device_code")
    );
    assert_eq!(value(&last, "device_code"), Some("dc-1"));
    assert_eq!(
        graph.token().await.unwrap().unwrap().access_token.expose(),
        "at"
    );
}

#[tokio::test]
async fn fifty_concurrent_calls_with_an_expired_token_refresh_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/contoso/oauth2/v2.0/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3599, "access_token": "fresh", "refresh_token": "rt-2"})))
        .expect(1)
        .mount(&server)
        .await;
    subscriptions_answer(&server, "fresh").await;
    let (graph, _) = client_with(&server, Some(token("old", Some("rt-1"), 0)));
    let calls = (0..50).map(|_| graph.list_subscriptions().send());
    for answer in futures::future::join_all(calls).await {
        answer.unwrap();
    }
    let sent = received(&server).await;
    let refreshes = sent
        .iter()
        .filter(|r| r.url.path().ends_with("/token"))
        .count();
    assert_eq!((refreshes, sent.len()), (1, 51));
    let stored = graph.token().await.unwrap().unwrap();
    assert_eq!(stored.refresh_token.unwrap().expose(), "rt-2");
}
