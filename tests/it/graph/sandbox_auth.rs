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

mod certificates {
    use base64::Engine as _;
    use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
    use specbound::graph::ClientCertificate;

    use super::super::certificate::{CERT, KEY, OTHER_CERT, OTHER_KEY, THUMBPRINT, certificate};
    use super::*;
    use crate::support::assert_auth_error;

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    /// A JWT of `header` and `claims` signed RS256 with `key_pem` (PKCS#8).
    fn rs256(key_pem: &[u8], header: Value, claims: Value) -> String {
        let der = PrivatePkcs8KeyDer::from_pem_slice(key_pem).unwrap();
        let key = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).unwrap();
        let signed = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let mut signature = vec![0; key.public().modulus_len()];
        let rng = ring::rand::SystemRandom::new();
        key.sign(&RSA_PKCS1_SHA256, &rng, signed.as_bytes(), &mut signature)
            .unwrap();
        format!("{signed}.{}", b64(&signature))
    }

    #[tokio::test]
    async fn a_certificate_client_gets_an_application_token_and_reads_any_users_mail() {
        let server = sandbox()
            .app_certificate(CLIENT_ID, CERT)
            .start()
            .await
            .unwrap();
        let waits = Waits::default();
        let app = builder(&server, &waits)
            .client_certificate(certificate())
            .client_credentials()
            .build()
            .unwrap();
        let megan = Mailbox::user(MEGAN).unwrap();
        let messages = app
            .list_messages()
            .mailbox(megan.clone())
            .send()
            .await
            .unwrap()
            .into_inner();
        assert!(!messages.value.is_empty());
        let adele = app
            .get_user()
            .mailbox(Mailbox::user(ADELE).unwrap())
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!(adele.display_name.as_deref(), Some("Adele Vance"));
        let (status, code) = refusal(app.get_user().mailbox(Mailbox::me()).send().await);
        assert_eq!(
            (status, code.as_str()),
            (400, "BadRequest"),
            "no /me for an app"
        );
        let served = server.operations_served();
        assert_eq!(
            served.iter().filter(|op| **op == "request_token").count(),
            1,
            "{served:?}"
        );
    }

    #[tokio::test]
    async fn a_certificate_the_application_lacks_is_refused_as_entra_refuses_it() {
        let server = sandbox()
            .app_certificate(CLIENT_ID, CERT)
            .start()
            .await
            .unwrap();
        let waits = Waits::default();
        let wrong = builder(&server, &waits)
            .client_certificate(ClientCertificate::from_pem(OTHER_CERT, OTHER_KEY).unwrap())
            .client_credentials()
            .build()
            .unwrap();
        let err = wrong
            .get_user()
            .mailbox(Mailbox::user(MEGAN).unwrap())
            .send()
            .await
            .unwrap_err();
        let reason = assert_auth_error(&err, specbound::AuthErrorKind::RefreshFailed);
        assert!(reason.contains("401"), "{reason}");
        assert!(reason.contains("invalid_client"), "{reason}");
        assert!(reason.contains("AADSTS700027"), "{reason}");
        // Entra names the thumbprint the client used (other_cert.pem's).
        assert!(
            reason.contains("7hdbrdK7iUH7jLG3bblwYM0AuntZq6PVHHOwOOLFgQE"),
            "{reason}"
        );
        assert_eq!(server.operations_served(), ["request_token"]);
    }

    #[tokio::test]
    async fn the_token_endpoint_checks_every_part_of_an_assertion() {
        let server = sandbox()
            .app_certificate(CLIENT_ID, CERT)
            .start()
            .await
            .unwrap();
        let waits = Waits::default();
        let login = builder(&server, &waits)
            .build()
            .unwrap()
            .login_client()
            .unwrap();
        let token_url = format!("{}/contoso/oauth2/v2.0/token", server.login_url());
        let now = chrono::Utc::now().timestamp();
        let claims = |changes: Value| {
            let mut c = json!({
                "aud": token_url, "iss": CLIENT_ID, "sub": CLIENT_ID,
                "jti": "00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
                "nbf": now, "iat": now, "exp": now + 600,
            });
            for (k, v) in changes.as_object().unwrap() {
                c[k] = v.clone();
            }
            c
        };
        let header = json!({"alg": "RS256", "typ": "JWT", "x5t#S256": THUMBPRINT});
        let good = rs256(KEY, header.clone(), claims(json!({})));
        // Older clients send x5t, the SHA-1 thumbprint: found too.
        let der = CertificateDer::from_pem_slice(CERT).unwrap();
        let sha1 = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &der);
        let with_x5t = rs256(
            KEY,
            json!({"alg": "RS256", "typ": "JWT", "x5t": b64(sha1.as_ref())}),
            claims(json!({})),
        );
        let mut tampered = good.clone();
        tampered.replace_range(tampered.len() - 8.., "AAAAAAAA");
        /// Status, `error` and the start of `error_description`; `None`: a token.
        type Refusal = Option<(u16, &'static str, &'static str)>;
        let cases: Vec<(&str, Value, Refusal)> = vec![
            (
                "RS256 with x5t#S256",
                json!({"client_assertion": good}),
                None,
            ),
            (
                "RS256 with x5t",
                json!({"client_assertion": with_x5t}),
                None,
            ),
            (
                "HS256",
                json!({"client_assertion": rs256(KEY, json!({"alg": "HS256", "x5t#S256": THUMBPRINT}), claims(json!({})))}),
                Some((401, "invalid_client", "AADSTS5002738")),
            ),
            (
                "another issuer",
                json!({"client_assertion": rs256(KEY, header.clone(), claims(json!({"iss": "app-2"})))}),
                Some((401, "invalid_client", "AADSTS700021")),
            ),
            (
                "the global cloud's audience",
                json!({"client_assertion": rs256(KEY, header.clone(), claims(json!({
                    "aud": "https://login.microsoftonline.com/contoso/oauth2/v2.0/token"})))}),
                Some((401, "invalid_client", "AADSTS700023")),
            ),
            (
                "expired an hour ago",
                json!({"client_assertion": rs256(KEY, header.clone(), claims(json!({
                    "nbf": now - 4200, "iat": now - 4200, "exp": now - 3600})))}),
                Some((401, "invalid_client", "AADSTS700024")),
            ),
            (
                "valid from in an hour",
                json!({"client_assertion": rs256(KEY, header.clone(), claims(json!({"nbf": now + 3600})))}),
                Some((401, "invalid_client", "AADSTS700024")),
            ),
            (
                "signed by another key",
                json!({"client_assertion": rs256(OTHER_KEY, header.clone(), claims(json!({})))}),
                Some((401, "invalid_client", "AADSTS700027")),
            ),
            (
                "a tampered signature",
                json!({"client_assertion": tampered}),
                Some((401, "invalid_client", "AADSTS700027")),
            ),
            (
                "not a JWT",
                json!({"client_assertion": "a.b"}),
                Some((401, "invalid_client", "AADSTS50027")),
            ),
            (
                "another assertion type",
                json!({"client_assertion": good, "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"}),
                Some((400, "invalid_request", "AADSTS90011")),
            ),
            (
                "a secret too",
                json!({"client_assertion": good, "client_secret": CLIENT_SECRET}),
                Some((400, "invalid_request", "AADSTS90023")),
            ),
        ];
        for (case, fields, refused) in cases {
            let mut fields = fields;
            fields["scope"] = json!(format!("{}/.default", server.base_url()));
            if fields.get("client_assertion_type").is_none() {
                fields["client_assertion_type"] =
                    json!("urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
            }
            let answer = login
                .request_token()
                .tenant("contoso")
                .body(token_request("client_credentials", fields))
                .send()
                .await;
            match (answer, refused) {
                (Ok(token), None) => assert!(!token.into_inner().access_token.expose().is_empty()),
                (Err(err), Some((status, code, aadsts))) => {
                    let api = err.api().unwrap_or_else(|| panic!("{case}: {err:?}"));
                    assert_eq!(
                        (api.status.as_u16(), api.code.as_deref()),
                        (status, Some(code)),
                        "{case}"
                    );
                    assert!(api.message.starts_with(aadsts), "{case}: {}", api.message);
                }
                (answer, expected) => panic!("{case}: {answer:?}, expected {expected:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_sandbox_certificate_that_is_not_pem_stops_the_start_with_a_config_error() {
        let started = Graph::builder()
            .user(ADELE, "Adele Vance")
            .app_certificate(CLIENT_ID, b"not a certificate")
            .start()
            .await;
        match started {
            Err(specbound::Error::Config(reason)) => {
                assert!(reason.contains(CLIENT_ID), "{reason}")
            }
            other => panic!("expected Error::Config, got {other:?}"),
        }
    }
}
