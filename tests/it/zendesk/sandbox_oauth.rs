//! OAuth against the sandbox: the code with PKCE, refresh rotation, client
//! credentials, scopes, and the API token.

use serde_json::{Value, json};
use specbound::sandbox::zendesk::Zendesk;
use specbound::zendesk::{Client, prelude::*};

use super::sandbox_setup::{CLIENT_ID, CLIENT_SECRET, EMAIL, sandbox, status_of};

const REDIRECT: &str = "https://app.example/zendesk/callback";

fn oauth_client(server: &Zendesk) -> Client {
    Client::builder()
        .base_url(server.base_url())
        .oauth(CLIENT_ID, CLIENT_SECRET)
        .build()
        .unwrap()
}

/// Follows the authorization URL as a browser would, up to the redirect:
/// the `code` and `state` it carries.
async fn authorize(url: &url::Url) -> (String, String) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = http.get(url.as_str()).send().await.unwrap();
    assert_eq!(answer.status(), 302);
    let location = answer.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(REDIRECT), "{location}");
    let back = url::Url::parse(&location).unwrap();
    let get = |k: &str| {
        back.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    (get("code"), get("state"))
}

/// `POST /oauth/tokens` without the client: (status, body).
async fn token_request(server: &Zendesk, body: Value) -> (u16, Value) {
    let answer = reqwest::Client::new()
        .post(format!("{}/oauth/tokens", server.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    (answer.status().as_u16(), answer.json().await.unwrap())
}

#[tokio::test]
async fn the_code_is_redeemed_with_its_pkce_verifier_only() {
    let server = sandbox().redirect_uri(REDIRECT).start().await.unwrap();
    let zd = oauth_client(&server);
    let request = zd.authorization_url(REDIRECT).unwrap();
    assert!(
        request
            .url
            .as_str()
            .starts_with(&format!("{}/oauth/authorizations/new?", server.base_url()))
    );
    let (code, state) = authorize(&request.url).await;
    assert_eq!(state, request.state);
    let token = zd.exchange_code(&code, &request).await.unwrap();
    assert!(token.refresh_token.is_some());
    assert!(token.expires_at.is_some());
    assert_eq!(token.scope.as_deref(), Some("read write"));
    let me = zd
        .get_current_user()
        .send()
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(me.email.as_deref(), Some(EMAIL));
    // A code is single use.
    let again = zd.exchange_code(&code, &request).await.unwrap_err();
    assert_eq!(status_of(&again), 400);

    // Another code: a wrong verifier, or none from a public client, is refused.
    let second = zd.authorization_url(REDIRECT).unwrap();
    let (code, _) = authorize(&second.url).await;
    let grant = json!({"grant_type": "authorization_code", "code": code, "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT, "code_verifier": "not-the-verifier"});
    let (status, body) = token_request(&server, grant).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let third = zd.authorization_url(REDIRECT).unwrap();
    let (code, _) = authorize(&third.url).await;
    let (status, body) = token_request(
        &server,
        json!({"grant_type": "authorization_code", "code": code,
        "client_id": CLIENT_ID, "redirect_uri": REDIRECT}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // An unregistered redirect URI gets no code at all.
    let stranger = zd.authorization_url("https://evil.example/").unwrap();
    let answer = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(stranger.url.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
}

#[tokio::test]
async fn a_refresh_rotates_and_the_old_refresh_token_is_refused() {
    let server = sandbox().start().await.unwrap();
    let zd = oauth_client(&server);
    let request = zd.authorization_url(REDIRECT).unwrap();
    let (code, _) = authorize(&request.url).await;
    let first = zd.exchange_code(&code, &request).await.unwrap();
    let old_refresh = first.refresh_token.clone().unwrap().expose().to_string();
    server.expire_access_tokens();
    // The expired token is refused, the client refreshes once and replays.
    let me = zd
        .get_current_user()
        .send()
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(me.email.as_deref(), Some(EMAIL));
    assert_eq!(server.token_requests(), 2, "the code, then one refresh");
    let second = zd.token().await.unwrap().unwrap();
    assert_ne!(second.access_token.expose(), first.access_token.expose());
    let new_refresh = second.refresh_token.clone().unwrap().expose().to_string();
    assert_ne!(new_refresh, old_refresh, "rotated");
    let refresh = |token: &str| {
        json!({"grant_type": "refresh_token", "refresh_token": token,
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    };
    let (status, body) = token_request(&server, refresh(&old_refresh)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // The new one works once; then it too is spent, and the access token it
    // was issued with is revoked with it.
    let (status, body) = token_request(&server, refresh(&new_refresh)).await;
    assert_eq!(status, 200);
    assert!(
        body["refresh_token"]
            .as_str()
            .is_some_and(|t| t != new_refresh)
    );
    assert_eq!(body["token_type"], "bearer");
    let err = reqwest::Client::new()
        .get(format!("{}/api/v2/users/me.json", server.base_url()))
        .bearer_auth(second.access_token.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(err.status(), 401);
    assert_eq!(
        err.json::<Value>().await.unwrap(),
        json!({"error": "Couldn't authenticate you"})
    );
}

#[tokio::test]
async fn client_credentials_act_as_the_owner_without_a_refresh_token() {
    let server = sandbox().start().await.unwrap();
    let zd = Client::builder()
        .base_url(server.base_url())
        .oauth(CLIENT_ID, CLIENT_SECRET)
        .client_credentials()
        .scope("read")
        .build()
        .unwrap();
    let me = zd
        .get_current_user()
        .send()
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(me.role.as_deref(), Some("admin"));
    let token = zd.token().await.unwrap().unwrap();
    assert!(token.refresh_token.is_none());
    // `read` cannot write.
    let body: specbound::zendesk::types::UserRequest =
        serde_json::from_value(json!({"user": {"name": "New"}})).unwrap();
    let err = zd.create_user().body(body).send().await.unwrap_err();
    assert_eq!(status_of(&err), 403);
    let (status, body) = token_request(
        &server,
        json!({"grant_type": "client_credentials",
        "client_id": CLIENT_ID, "client_secret": "wrong", "scope": "read"}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
}

#[tokio::test]
async fn an_api_token_works_and_a_wrong_one_or_a_password_does_not() {
    let server = sandbox().start().await.unwrap();
    let wrong = Client::builder()
        .base_url(server.base_url())
        .api_token(EMAIL, "not-the-token")
        .build()
        .unwrap();
    let err = wrong.get_current_user().send().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    let answer = reqwest::Client::new()
        .get(format!("{}/api/v2/users/me.json", server.base_url()))
        .basic_auth(EMAIL, Some(super::sandbox_setup::API_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401, "email + password is refused");
    assert!(answer.headers().contains_key("x-zendesk-request-id"));
}
