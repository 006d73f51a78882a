//! Logging in to the sandbox: tokens, strategies, their lifetime.

use std::time::Duration;

use base64::Engine as _;
use chrono::Utc;
use serde_json::{Value, json};
use specbound::sandbox::timesync::{Role, TimeSync};
use specbound::timesync::{AuthType, Client, prelude::*, types};

use super::{auth_failure, client, error, http, log_in, logged_in, raw_get, refused, team};

#[tokio::test]
async fn password_login_answers_a_padded_base64_token_that_expires_after_the_ttl() {
    let server = team().await;
    let response = http()
        .post(format!("{}/login", server.base_url()))
        .json(&json!({"auth": {"type": "password", "username": "alice", "password": "alice-pw"}}))
        .send()
        .await
        .unwrap();
    // As the reference server, JSON sent as text/html, and never cached.
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    assert_eq!(response.headers()["pragma"], "no-cache");
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    let token = body["token"].as_str().unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let b64 = base64::engine::general_purpose::STANDARD;
    let header: Value = serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header, json!({"typ": "JWT", "alg": "HMAC-SHA512"}));
    let payload: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(payload["sub"], "alice");
    assert!(payload["iss"].is_string());
    let (iat, exp) = (
        payload["iat"].as_i64().unwrap(),
        payload["exp"].as_i64().unwrap(),
    );
    assert_eq!(exp - iat, 30 * 60 * 1000);
    assert!(b64.decode(parts[2]).is_ok());

    let ts = logged_in(&server, "alice", "alice-pw").await;
    let expires = ts.token_expiration_time().unwrap();
    let left = (expires - Utc::now()).num_seconds();
    assert!((29 * 60..=30 * 60).contains(&left), "{left}");
    assert_eq!(server.login_count(), 2);
}

#[tokio::test]
async fn a_wrong_password_or_unknown_user_is_refused_with_the_servers_401_text() {
    let server = team().await;
    let ts = client(&server);
    let wrong = auth_failure("Incorrect username or password");
    assert_eq!(
        refused(ts.authenticate("alice", "nope", AuthType::Password).await),
        wrong
    );
    assert_eq!(
        refused(
            ts.authenticate("nobody", "alice-pw", AuthType::Password)
                .await
        ),
        wrong
    );
    // Usernames match exactly.
    assert_eq!(
        refused(
            ts.authenticate("Alice", "alice-pw", AuthType::Password)
                .await
        ),
        wrong
    );
    assert_eq!(server.login_count(), 0);
    // Without a session the client refuses locally, before any request.
    let requests = server.request_count();
    let err = ts.list_users().send().await.unwrap_err();
    assert!(matches!(err, specbound::Error::Auth { .. }), "{err:?}");
    assert_eq!(server.request_count(), requests);
}

#[tokio::test]
async fn ldap_users_log_in_with_the_ldap_strategy_only() {
    let server = TimeSync::builder()
        .user("alice", "alice-pw", Role::Admin)
        .ldap_user("bob", "ldap-pw", Role::Member)
        .start()
        .await
        .unwrap();
    let bob = client(&server);
    bob.authenticate("bob", "ldap-pw", AuthType::Ldap)
        .await
        .unwrap();
    let me = bob.get_user().username("bob").send().await.unwrap();
    assert_eq!(me.username, "bob");
    assert!(!me.site_admin);
    // bob has no local password.
    assert_eq!(
        refused(log_in(&server, "bob", "ldap-pw", AuthType::Password).await),
        auth_failure("Incorrect username or password")
    );
    // alice is not in the directory: passport-ldapauth's own message.
    assert_eq!(
        refused(log_in(&server, "alice", "alice-pw", AuthType::Ldap).await),
        auth_failure("Invalid username/password")
    );
    assert_eq!(server.login_count(), 1);
}

#[tokio::test]
async fn ldap_login_is_a_bad_query_value_when_no_ldap_user_enabled_the_strategy() {
    let server = team().await;
    assert_eq!(
        refused(log_in(&server, "alice", "alice-pw", AuthType::Ldap).await),
        error(
            401,
            "Bad query value",
            "ldap is not a valid authentication type"
        )
    );
}

#[tokio::test]
async fn a_short_token_ttl_makes_the_client_log_in_again_before_each_request() {
    let server = TimeSync::builder()
        .user("alice", "alice-pw", Role::Member)
        .token_ttl(Duration::from_secs(30))
        .start()
        .await
        .unwrap();
    let ts = logged_in(&server, "alice", "alice-pw").await;
    assert_eq!(server.login_count(), 1);
    // 30 s is inside the client's renewal margin: every call logs in first.
    assert_eq!(ts.list_users().send().await.unwrap().len(), 1);
    assert_eq!(server.login_count(), 2);
    assert_eq!(ts.list_projects().send().await.unwrap().len(), 0);
    assert_eq!(server.login_count(), 3);
    let left = (ts.token_expiration_time().unwrap() - Utc::now()).num_seconds();
    assert!((0..=30).contains(&left), "{left}");
}

#[tokio::test]
async fn a_token_the_sandbox_did_not_issue_is_a_bad_api_token() {
    let server = team().await;
    let b64 = base64::engine::general_purpose::STANDARD;
    let exp = Utc::now().timestamp_millis() + 3_600_000;
    let forged = format!(
        "{}.{}.Zm9v+/ba==",
        b64.encode(r#"{"typ":"JWT","alg":"HMAC-SHA512"}"#),
        b64.encode(format!(
            r#"{{"iss":"ts","sub":"admin","exp":{exp},"iat":0}}"#
        ))
    );
    let ts = Client::builder()
        .base_url(server.base_url())
        .token(forged.as_str())
        .build()
        .unwrap();
    assert_eq!(
        refused(ts.list_users().send().await),
        auth_failure("Bad API token")
    );
    // In a POST body too.
    assert_eq!(
        refused(
            ts.create_activity()
                .body(types::ActivityCreate::new("Review", "review"))
                .send()
                .await
        ),
        auth_failure("Bad API token")
    );
    // No token at all.
    let (status, body) = raw_get(&server, "/users").await;
    assert_eq!(
        (status, body),
        (
            401,
            json!({"status": 401, "error": "Authentication failure", "text": "Missing credentials"})
        )
    );
}
