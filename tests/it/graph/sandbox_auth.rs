//! The Graph client against the sandbox's identity platform: codes with
//! PKCE, refresh with rotation, client credentials and device codes.

use super::sandbox_support::*;

/// A token request of `grant` for the registered client, with `fields`.
fn token_request(grant: &str, fields: Value) -> types::TokenRequest {
    let mut body = json!({"client_id": CLIENT_ID, "grant_type": grant});
    for (k, v) in fields.as_object().unwrap() {
        body[k] = v.clone();
    }
    serde_json::from_value(body).unwrap()
}

#[tokio::test]
async fn a_refresh_rotates_the_refresh_token_and_the_old_one_is_refused() {
    let server = sandbox().start().await.unwrap();
    let first = server.issue_token(ADELE).unwrap();
    let old_refresh = first.refresh_token.clone().unwrap();
    let waits = Waits::default();
    let adele = builder(&server, &waits).token(first).build().unwrap();
    server.expire_access_tokens();
    // The call meets a 401, refreshes once and goes on.
    let me = adele
        .get_user()
        .mailbox(Mailbox::me())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(me.user_principal_name.as_deref(), Some(ADELE));
    assert_eq!(server.refreshes(), 1);
    let held = adele.token().await.unwrap().unwrap();
    let new_refresh = held.refresh_token.unwrap();
    assert_ne!(new_refresh.expose(), old_refresh.expose());
    // The old refresh token is spent.
    let login = adele.login_client().unwrap();
    let again = login
        .request_token()
        .tenant("contoso")
        .body(token_request(
            "refresh_token",
            json!({"refresh_token": old_refresh.expose()}),
        ))
        .send()
        .await;
    let err = again.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(
        (api.status.as_u16(), api.code.as_deref()),
        (400, Some("invalid_grant"))
    );
    assert!(api.message.starts_with("AADSTS70000"), "{}", api.message);
    // The new one works once.
    let fresh = login
        .request_token()
        .tenant("contoso")
        .body(token_request(
            "refresh_token",
            json!({"refresh_token": new_refresh.expose()}),
        ))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(fresh.refresh_token.is_some());
    assert_eq!(server.refreshes(), 2);
}

#[tokio::test]
async fn the_authorization_page_and_a_pkce_code_sign_the_user_in_once() {
    let server = sandbox().start().await.unwrap();
    let waits = Waits::default();
    let client = builder(&server, &waits).build().unwrap();
    let request = client.authorization_url(REDIRECT).unwrap();
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = browser.get(request.url.as_str()).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 302);
    let back = url::Url::parse(page.headers()["location"].to_str().unwrap()).unwrap();
    assert!(back.as_str().starts_with(REDIRECT), "{back}");
    let query: std::collections::HashMap<String, String> =
        back.query_pairs().into_owned().collect();
    assert_eq!(query["state"], request.state);
    let code = &query["code"];
    client.exchange_code(code, &request).await.unwrap();
    let me = client
        .get_user()
        .mailbox(Mailbox::me())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        me.user_principal_name.as_deref(),
        Some(ADELE),
        "the first user is signed in"
    );
    let (status, code_name) = refusal(client.exchange_code(code, &request).await);
    assert_eq!((status, code_name.as_str()), (400, "invalid_grant"));
    // A code bound to a challenge wants its verifier.
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let bound = server
        .authorization_code_for(MEGAN, REDIRECT, Some(challenge))
        .unwrap();
    let login = client.login_client().unwrap();
    let exchange = |verifier: &str, code: &str| {
        login
            .request_token()
            .tenant("contoso")
            .body(token_request(
                "authorization_code",
                json!({
                    "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier,
                    "scope": "User.Read offline_access",
                }),
            ))
            .send()
    };
    let err = exchange("not-the-verifier", &bound).await.unwrap_err();
    assert!(
        err.api().unwrap().message.starts_with("AADSTS501481"),
        "{err}"
    );
    let bound = server
        .authorization_code_for(MEGAN, REDIRECT, Some(challenge))
        .unwrap();
    let token = exchange("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", &bound)
        .await
        .unwrap();
    assert!(token.into_inner().refresh_token.is_some());
}

#[tokio::test]
async fn client_credentials_reach_every_mailbox_but_not_me() {
    let server = sandbox().start().await.unwrap();
    let waits = Waits::default();
    let app = builder(&server, &waits)
        .client_secret(CLIENT_SECRET)
        .client_credentials()
        .build()
        .unwrap();
    let megan = app
        .get_user()
        .mailbox(Mailbox::user(MEGAN).unwrap())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(megan.display_name.as_deref(), Some("Megan Bowen"));
    let (status, code) = refusal(app.get_user().mailbox(Mailbox::me()).send().await);
    assert_eq!((status, code.as_str()), (400, "BadRequest"));
    let wrong = builder(&server, &waits)
        .client_secret("wrong-secret")
        .client_credentials()
        .build()
        .unwrap();
    let err = wrong
        .get_user()
        .mailbox(Mailbox::user(MEGAN).unwrap())
        .send()
        .await
        .unwrap_err();
    assert!(format!("{err}").contains("7000215"), "{err}");
    assert!(!format!("{err:?}").contains("wrong-secret"));
}

#[tokio::test]
async fn a_device_code_signs_in_once_its_user_has_entered_it() {
    let server = sandbox().start().await.unwrap();
    let waits = Waits::default();
    let client = builder(&server, &waits).build().unwrap();
    let device = client.start_device_code().await.unwrap();
    assert_eq!(device.verification_uri, "https://microsoft.com/devicelogin");
    server
        .approve_device_code(&device.user_code, MEGAN)
        .unwrap();
    client.finish_device_code(&device).await.unwrap();
    let me = client
        .get_user()
        .mailbox(Mailbox::me())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(me.user_principal_name.as_deref(), Some(MEGAN));
    assert!(
        waits.recorded().is_empty(),
        "approved before the first poll"
    );
}
