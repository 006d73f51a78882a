//! The engine on a one-operation API: routing by the operation table, the
//! credential of the spec's scheme, parameter checks, and each fault.

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;

use super::{Api, Call, Fault, Response};
use crate::runtime::spec::{ApiSpec, Kind, Location, Operation, Parameter, Schema, Scheme, Text};
use crate::runtime::{ApiProfile, Config, Runtime};

static SCHEMAS: &[Schema] = &[Schema {
    name: "Id",
    nullable: false,
    kind: Kind::String(Text {
        min_length: None,
        max_length: Some(4),
        pattern: None,
        format: None,
        values: &[],
    }),
}];

static OPERATIONS: &[Operation] = &[Operation {
    security: &["key"],
    parameters: &[Parameter {
        name: "id",
        location: Location::Path,
        required: true,
        schema: 0,
        default: None,
        segments_pattern: None,
    }],
    ..Operation::get_for_tests("get_thing", "/things/{id}")
}];

static SPEC: ApiSpec = ApiSpec {
    security_schemes: &[("key", Scheme::QueryKey("key"))],
    ..ApiSpec::for_tests("engine", OPERATIONS, SCHEMAS)
};

static PROFILE: ApiProfile = ApiProfile::for_tests(&SPEC);

/// Answers with what it was given: the parameter, the credential, the check.
struct Echo;

impl Api for Echo {
    fn spec(&self) -> &'static ApiSpec {
        &SPEC
    }

    fn base_path(&self) -> &str {
        "/v9"
    }

    fn other_base_paths_of(&self, _op: &'static Operation) -> &[&str] {
        &["/preview"]
    }

    fn handle(&self, call: Call) -> Response {
        Response::json(
            StatusCode::OK,
            &serde_json::json!({
                "op": call.op.id,
                "id": call.param("id"),
                "credential": call.credential.map(|(scheme, value)| format!("{scheme}={value}")),
                "check": call.check.map(|v| v.reason()),
                "padding": "x".repeat(4096),
            }),
        )
    }
}

fn client(root: &str) -> Runtime {
    let config = Config {
        sleep: crate::runtime::Sleep::new(|_| Box::pin(async {})),
        retry: crate::runtime::RetryPolicy::standard().max_attempts(5),
        ..Config::default()
    };
    Runtime::new(&PROFILE, &format!("{root}/v9"), &config).unwrap()
}

#[tokio::test]
async fn requests_are_routed_by_the_table_with_their_credential_and_checks() {
    let server = super::start(Arc::new(Echo)).await.unwrap();
    let rt = client(&server.root_url());
    let answer: serde_json::Value = rt
        .request(http::Method::GET, "/things/ab%20c?key=k1")
        .send()
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(answer["op"], "get_thing");
    assert_eq!(answer["id"], "ab c");
    assert_eq!(answer["credential"], "key=k1");
    assert_eq!(answer["check"], serde_json::Value::Null);
    let too_long: serde_json::Value = rt
        .request(http::Method::GET, "/things/abcdef")
        .send()
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(too_long["credential"], serde_json::Value::Null);
    assert!(
        too_long["check"].as_str().unwrap().contains("at most 4"),
        "{too_long}"
    );
    let unrouted = rt
        .request(http::Method::GET, "/nothing")
        .send()
        .await
        .unwrap_err();
    assert!(unrouted.is_not_found(), "{unrouted:?}");
    assert_eq!(server.operations_served(), ["get_thing", "get_thing"]);
}

#[test]
fn an_operation_is_routed_below_each_of_its_roots_and_nowhere_else() {
    let request = |path: &str| super::Request {
        method: http::Method::GET,
        path: path.to_string(),
        query: Default::default(),
        headers: Default::default(),
        body: Default::default(),
    };
    for path in ["/v9/things/a1", "/preview/things/a1"] {
        let routed = super::route(&Echo, &request(path));
        assert_eq!(
            routed.map(|(op, values)| (op.id, values)),
            Some(("get_thing", vec![("id", "a1".to_string())])),
            "{path}"
        );
    }
    for path in ["/things/a1", "/v8/things/a1", "/previewthings/a1"] {
        assert!(super::route(&Echo, &request(path)).is_none(), "{path}");
    }
}

#[tokio::test]
async fn injected_faults_hit_the_operation_they_name_and_the_client_recovers() {
    let server = super::start(Arc::new(Echo)).await.unwrap();
    let rt = client(&server.root_url());
    server
        .faults()
        .inject(Some("get_thing"), Fault::CutBody { keep: 100 }, 1);
    server
        .faults()
        .inject(Some("get_thing"), Fault::Status(503), 1);
    server
        .faults()
        .inject(None, Fault::RateLimited { retry_after: 0 }, 1);
    server.faults().inject(Some("other"), Fault::Status(500), 5);
    // Cut off, then 503, then 429: a GET is sent again each time.
    let answer: serde_json::Value = rt
        .request(http::Method::GET, "/things/a")
        .operation("get_thing")
        .send()
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(answer["id"], "a");
    // One fault per request, in the order queued.
    server
        .faults()
        .inject(None, Fault::Delay(Duration::from_millis(1)), 1);
    server.faults().inject(None, Fault::Status(418), 1);
    assert!(
        rt.request(http::Method::GET, "/things/b")
            .send()
            .await
            .is_ok()
    );
    let teapot = rt
        .request(http::Method::GET, "/things/c")
        .send()
        .await
        .unwrap_err();
    assert_eq!(teapot.status(), Some(StatusCode::IM_A_TEAPOT));
    server.faults().clear();
    assert!(
        rt.request(http::Method::GET, "/things/d")
            .send()
            .await
            .is_ok()
    );
}
