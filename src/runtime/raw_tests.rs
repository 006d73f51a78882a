//! Raw requests take the generated requests' path: credentials only to the
//! hosts the client trusts, never to a host a server named, and not at all
//! when the caller says so (an upload URL that carries its own authorization).

use std::sync::Arc;

use wiremock::matchers::{header, header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::spec::ApiSpec;
use super::{ApiProfile, Bearer, Config, Runtime};

static SPEC: ApiSpec = ApiSpec::for_tests("raw", &[], &[]);

static PROFILE: ApiProfile = ApiProfile::for_tests(&SPEC);

#[tokio::test]
async fn credentials_go_only_to_the_trusted_host_and_never_when_told_not_to() {
    let api = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/next"))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"ok": 1})))
        .expect(1)
        .mount(&api)
        .await;
    // Anything with an Authorization header at the other host, or at the
    // API's upload URL, fails the test.
    for (server, verb, route) in [(&elsewhere, "GET", "/next"), (&api, "PUT", "/upload")] {
        Mock::given(header_exists("authorization"))
            .respond_with(ResponseTemplate::new(500))
            .expect(0)
            .mount(server)
            .await;
        Mock::given(method(verb))
            .and(path(route))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"ok": 2})))
            .expect(1)
            .mount(server)
            .await;
    }
    let rt = Runtime::new(&PROFILE, &api.uri(), &Config::default())
        .unwrap()
        .with_authorizer(Arc::new(Bearer::new("tok-1")));
    let ours = rt.request(http::Method::GET, "/next").send().await.unwrap();
    assert_eq!(ours.json::<serde_json::Value>().unwrap()["ok"], 1);
    let theirs = rt
        .request(http::Method::GET, &format!("{}/next", elsewhere.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(theirs.json::<serde_json::Value>().unwrap()["ok"], 2);
    let upload = rt
        .request(http::Method::PUT, "/upload")
        .without_credentials()
        .body("chunk")
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status, http::StatusCode::OK);
}
