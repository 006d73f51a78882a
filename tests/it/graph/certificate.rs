//! Client credentials with a certificate: the token request's form on the
//! wire, the assertion decoded and its signature verified with the
//! certificate's public key, keys refused before any request, and no key
//! material in Debug or errors.

use base64::Engine as _;
use serde_json::{Value, json};
use specbound::graph::{Client, ClientCertificate, prelude::*};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{cloud, token};
use crate::support::{assert_auth_error, received};

pub(super) const CERT: &[u8] = include_bytes!("../../fixtures/graph/cert/cert.pem");
pub(super) const KEY: &[u8] = include_bytes!("../../fixtures/graph/cert/key.pem");
const KEY_PKCS1: &[u8] = include_bytes!("../../fixtures/graph/cert/key_pkcs1.pem");
pub(super) const OTHER_CERT: &[u8] = include_bytes!("../../fixtures/graph/cert/other_cert.pem");
pub(super) const OTHER_KEY: &[u8] = include_bytes!("../../fixtures/graph/cert/other_key.pem");
/// The certificate's public key as openssl extracted it (RSAPublicKey DER).
const PUBLIC_KEY: &[u8] = include_bytes!("../../fixtures/graph/cert/cert_public_key_pkcs1.der");
/// `x5t#S256` of `cert.pem`, computed by openssl (fixtures README).
pub(super) const THUMBPRINT: &str = "tIaBwpkq18jk-A7FxIB0zF6ttc4WAYu8mjfEu-Yf6H8";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

pub(super) fn certificate() -> ClientCertificate {
    ClientCertificate::from_pem(CERT, KEY).unwrap()
}

/// The JSON of part `n` (0 header, 1 claims) of `jwt`.
pub(super) fn jwt_part(jwt: &str, n: usize) -> Value {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(jwt.split('.').nth(n).unwrap())
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Verifies `jwt`'s PS256 signature with the certificate's public key.
fn verify_ps256(jwt: &str) -> Result<(), ring::error::Unspecified> {
    let (signed, signature) = jwt.rsplit_once('.').unwrap();
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(signature)
        .unwrap();
    ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PSS_2048_8192_SHA256, PUBLIC_KEY)
        .verify(signed.as_bytes(), &signature)
}

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

/// The token endpoint answering an application token valid `expires_in` s.
async fn token_endpoint(server: &MockServer, expires_in: u64, times: u64) {
    Mock::given(method("POST"))
        .and(path("/contoso/oauth2/v2.0/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in,
            "access_token": "app-token"})))
        .expect(times)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/subscriptions"))
        .and(header("authorization", "Bearer app-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(server)
        .await;
}

fn app(server: &MockServer, certificate: ClientCertificate) -> Client {
    Client::builder()
        .cloud(cloud(server))
        .tenant("contoso")
        .client_id("app-1")
        .client_certificate(certificate)
        .client_credentials()
        .build()
        .unwrap()
}

/// The token requests `server` received.
async fn token_requests(server: &MockServer) -> Vec<wiremock::Request> {
    received(server)
        .await
        .into_iter()
        .filter(|r| r.url.path().ends_with("/oauth2/v2.0/token"))
        .collect()
}

#[tokio::test]
async fn each_token_request_carries_a_fresh_ps256_assertion_for_the_token_url_and_no_secret() {
    let server = MockServer::start().await;
    // Valid 30 s, under the 60 s renewal margin: the second call renews.
    token_endpoint(&server, 30, 2).await;
    let graph = app(&server, certificate());
    graph.list_subscriptions().send().await.unwrap();
    graph.list_subscriptions().send().await.unwrap();

    let sent = token_requests(&server).await;
    assert_eq!(sent.len(), 2);
    let token_url = format!("{}/contoso/oauth2/v2.0/token", server.uri());
    let mut jtis = Vec::new();
    for request in &sent {
        // The URL posted to is the assertion's audience.
        assert_eq!(format!("{}{}", server.uri(), request.url.path()), token_url);
        assert!(request.headers.get("authorization").is_none());
        let pairs = form(request);
        let mut keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "client_assertion",
                "client_assertion_type",
                "client_id",
                "grant_type",
                "scope"
            ],
            "every field once, no client_secret"
        );
        assert_eq!(value(&pairs, "client_id"), Some("app-1"));
        assert_eq!(value(&pairs, "grant_type"), Some("client_credentials"));
        let scope = format!("{}/.default", server.uri());
        assert_eq!(value(&pairs, "scope"), Some(scope.as_str()));
        assert_eq!(value(&pairs, "client_assertion_type"), Some(JWT_BEARER));
        let jwt = value(&pairs, "client_assertion").unwrap();
        assert_eq!(
            jwt_part(jwt, 0),
            json!({"alg": "PS256", "typ": "JWT", "x5t#S256": THUMBPRINT})
        );
        let claims = jwt_part(jwt, 1);
        assert_eq!(claims["aud"], token_url.as_str());
        assert_eq!(claims["iss"], "app-1");
        assert_eq!(claims["sub"], "app-1");
        let (nbf, iat, exp) = (
            claims["nbf"].as_i64().unwrap(),
            claims["iat"].as_i64().unwrap(),
            claims["exp"].as_i64().unwrap(),
        );
        let now = chrono::Utc::now().timestamp();
        assert!((now - iat).abs() <= 5, "iat {iat} is now ({now})");
        assert_eq!(nbf, iat);
        assert!(exp > iat && exp - iat <= 600, "lives {} s", exp - iat);
        let jti = claims["jti"].as_str().unwrap();
        uuid::Uuid::parse_str(jti).expect("jti is a GUID");
        jtis.push(jti.to_string());
        verify_ps256(jwt).expect("signed by the certificate's key");
        // Tampered claims no longer verify: the check above can fail.
        let (_, rest) = jwt.split_once('.').unwrap();
        let forged_claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(json!({"aud": token_url, "iss": "app-2", "sub": "app-2"}).to_string());
        let forged = format!(
            "{}.{forged_claims}.{}",
            jwt.split('.').next().unwrap(),
            rest.rsplit_once('.').unwrap().1
        );
        assert!(verify_ps256(&forged).is_err());
    }
    assert_ne!(jtis[0], jtis[1], "a fresh assertion each time");
}

#[tokio::test]
async fn pkcs1_and_pkcs8_keys_of_the_certificate_both_sign_verifiable_assertions() {
    for key in [KEY, KEY_PKCS1] {
        let server = MockServer::start().await;
        token_endpoint(&server, 3600, 1).await;
        let certificate = ClientCertificate::from_pem(CERT, key).unwrap();
        assert_eq!(certificate.thumbprint_sha256(), THUMBPRINT);
        app(&server, certificate)
            .list_subscriptions()
            .send()
            .await
            .unwrap();
        let pairs = form(&token_requests(&server).await[0]);
        verify_ps256(value(&pairs, "client_assertion").unwrap()).unwrap();
    }
}

#[tokio::test]
async fn a_confidential_apps_refresh_carries_an_assertion_instead_of_a_secret() {
    let server = MockServer::start().await;
    token_endpoint(&server, 3600, 1).await;
    let graph = Client::builder()
        .cloud(cloud(&server))
        .tenant("contoso")
        .client_id("app-1")
        .client_certificate(certificate())
        .token(token("old", Some("rt-1"), 0))
        .build()
        .unwrap();
    graph.list_subscriptions().send().await.unwrap();
    let pairs = form(&token_requests(&server).await[0]);
    assert_eq!(value(&pairs, "grant_type"), Some("refresh_token"));
    assert_eq!(value(&pairs, "refresh_token"), Some("rt-1"));
    assert_eq!(value(&pairs, "client_assertion_type"), Some(JWT_BEARER));
    verify_ps256(value(&pairs, "client_assertion").unwrap()).unwrap();
    assert_eq!(value(&pairs, "client_secret"), None);
}

#[tokio::test]
async fn a_key_of_another_certificate_or_garbage_pem_is_a_config_error_before_any_request() {
    let server = MockServer::start().await;
    let refusal = |cert: &[u8], key: &[u8]| match ClientCertificate::from_pem(cert, key) {
        Err(specbound::Error::Config(reason)) => reason,
        other => panic!("expected Error::Config, got {other:?}"),
    };
    let reason = refusal(CERT, OTHER_KEY);
    assert!(
        reason.contains("does not belong to the certificate"),
        "{reason}"
    );
    assert!(refusal(OTHER_CERT, KEY).contains("does not belong"));
    let reason = refusal(b"garbage", KEY);
    assert!(reason.contains("no CERTIFICATE block"), "{reason}");
    let reason = refusal(
        CERT,
        b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
    );
    assert!(reason.contains("not a usable RSA key"), "{reason}");
    // A secret and a certificate together: refused when building.
    let both = Client::builder()
        .cloud(cloud(&server))
        .client_id("app-1")
        .client_secret("s3cret")
        .client_certificate(certificate())
        .client_credentials()
        .build();
    assert!(matches!(both, Err(specbound::Error::Config(ref r)) if r.contains("both set")));
    assert!(received(&server).await.is_empty(), "nothing was sent");
}

#[tokio::test]
async fn no_key_material_or_assertion_shows_in_debug_or_in_a_refused_token_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/contoso/oauth2/v2.0/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": "AADSTS700027: Client assertion contains an invalid signature.",
            "error_codes": [700027]})))
        .expect(1)
        .mount(&server)
        .await;
    let certificate = certificate();
    let builder = Client::builder()
        .cloud(cloud(&server))
        .tenant("contoso")
        .client_id("app-1")
        .client_certificate(certificate.clone())
        .client_credentials();
    let shown_builder = format!("{builder:?}");
    let graph = builder.build().unwrap();
    let err = graph.list_subscriptions().send().await.unwrap_err();
    let reason = assert_auth_error(&err, specbound::AuthErrorKind::RefreshFailed);
    assert!(reason.contains("AADSTS700027"), "{reason}");

    let assertion = value(&form(&token_requests(&server).await[0]), "client_assertion")
        .unwrap()
        .to_string();
    let shown = [
        format!("{certificate:?}"),
        shown_builder,
        format!("{graph:?}"),
        format!("{err}"),
        format!("{err:?}"),
    ];
    assert!(shown[0].contains(THUMBPRINT), "{}", shown[0]);
    // Any 40 characters of the keys' base64, and the signature.
    let key_text: Vec<String> = [KEY, KEY_PKCS1]
        .iter()
        .flat_map(|pem| std::str::from_utf8(pem).unwrap().lines())
        .filter(|l| !l.starts_with("-----"))
        .map(|l| l[..40.min(l.len())].to_string())
        .collect();
    let signature = assertion.rsplit_once('.').unwrap().1;
    for text in &shown {
        for line in &key_text {
            assert!(!text.contains(line.as_str()), "key material in {text}");
        }
        assert!(!text.contains(signature), "the assertion in {text}");
    }
}
