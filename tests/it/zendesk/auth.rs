//! Credentials: OAuth first (refresh with rotation, once under many
//! concurrent calls), the legacy API token, and no password.

use std::sync::Arc;

use serde_json::json;
use specbound::AuthErrorKind;
use specbound::runtime::{MemoryTokenStore, OAuthToken, Secret, TokenStore};
use specbound::zendesk::{Client, prelude::*};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{assert_auth_error, received};

async fn me_answers(server: &MockServer, auth: &str) {
    Mock::given(method("GET"))
        .and(path("/api/v2/users/me.json"))
        .and(header("authorization", auth))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"user": {"id": 1, "name": "Agent"}})),
        )
        .mount(server)
        .await;
}

#[test]
fn email_and_password_are_refused_before_anything_is_sent() {
    let err = Client::builder()
        .subdomain("acme")
        .password("agent@acme.test", "hunter2")
        .build()
        .unwrap_err();
    let reason = assert_auth_error(&err, AuthErrorKind::Missing);
    assert!(reason.contains("January 2026"), "{reason}");
    assert!(!format!("{err:?}").contains("hunter2"));
}

#[test]
fn a_subdomain_must_be_one_and_no_client_goes_without_credentials() {
    let bad = Client::builder()
        .subdomain("acme.evil.com/x")
        .oauth_token("t")
        .build();
    assert!(bad.unwrap_err().is_invalid());
    let none = Client::builder().subdomain("acme").build().unwrap_err();
    assert_auth_error(&none, AuthErrorKind::Missing);
}

#[tokio::test]
async fn the_legacy_api_token_is_sent_as_basic_email_slash_token() {
    let server = MockServer::start().await;
    // base64("agent@acme.test/token:abc123")
    me_answers(&server, "Basic YWdlbnRAYWNtZS50ZXN0L3Rva2VuOmFiYzEyMw==").await;
    let zd = Client::builder()
        .base_url(server.uri())
        .api_token("agent@acme.test", "abc123")
        .build()
        .unwrap();
    let me = zd.get_current_user().send().await.unwrap();
    assert_eq!(me.user.as_ref().and_then(|u| u.id), Some(1));
    assert!(!format!("{zd:?}").contains("abc123"));
}

#[tokio::test]
async fn zenpys_netloc_and_scheme_overrides_send_every_request_there() {
    let server = MockServer::start().await;
    me_answers(&server, "Bearer tok").await;
    let netloc = server.address().to_string();
    let zd = Client::builder()
        .subdomain("acme")
        .force_netloc(netloc)
        .force_scheme("http")
        .oauth_token("tok")
        .build()
        .unwrap();
    zd.get_current_user().send().await.unwrap();
    assert_eq!(received(&server).await.len(), 1);
}

#[tokio::test]
async fn fifty_concurrent_calls_with_an_expired_token_refresh_once_and_rotate() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/tokens"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "new-access", "token_type": "bearer", "scope": "read write",
            "expires_in": 1800, "refresh_token": "rt-2", "refresh_token_expires_in": 2592000})))
        .expect(1)
        .mount(&server)
        .await;
    me_answers(&server, "Bearer new-access").await;
    let store = Arc::new(MemoryTokenStore::new());
    let expired = OAuthToken::new(
        "old-access",
        Some(Secret::from("rt-1".to_string())),
        Some(std::time::Duration::ZERO),
    );
    let zd = Client::builder()
        .base_url(server.uri())
        .oauth("client-1", "s3cret")
        .token(expired)
        .token_store(store.clone())
        .build()
        .unwrap();
    let calls = (0..50).map(|_| zd.get_current_user().send());
    for answer in futures::future::join_all(calls).await {
        answer.unwrap();
    }
    let sent = received(&server).await;
    let refreshes: Vec<_> = sent
        .iter()
        .filter(|r| r.url.path() == "/oauth/tokens")
        .collect();
    assert_eq!(refreshes.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&refreshes[0].body).unwrap();
    assert_eq!(body["grant_type"], "refresh_token");
    assert_eq!(body["refresh_token"], "rt-1");
    assert_eq!(body["client_id"], "client-1");
    assert!(refreshes[0].headers.get("authorization").is_none());
    let stored = store.load().await.unwrap().unwrap().token;
    assert_eq!(
        stored.refresh_token.unwrap().expose(),
        "rt-2",
        "rotated and stored"
    );
    assert_eq!(
        zd.token().await.unwrap().unwrap().access_token.expose(),
        "new-access"
    );
}
