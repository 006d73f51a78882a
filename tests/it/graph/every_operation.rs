//! Every Graph operation, sent with the examples of `spec/graph.yaml`
//! (Microsoft's docs) through its generated builder: the wire and the
//! typed answer are checked by `spec_examples`.

use serde_json::Value;
use specbound::graph::prelude::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::spec_examples::{Case, cases, check_wire, kept, load};

async fn answer(server: &MockServer, case: &Case, prefix: &str) {
    let mut response = ResponseTemplate::new(case.status);
    match &case.answer {
        Some(Value::String(text)) if case.binary_answer => {
            response = response.set_body_raw(text.clone().into_bytes(), "application/octet-stream");
        }
        Some(body) => response = response.set_body_json(body),
        None => {}
    }
    if case.id == "copy_item" {
        response = response.insert_header("location", "https://api.onedrive.com/monitor/4A3407B5");
    }
    Mock::given(method(case.method.as_str()))
        .and(path(format!("{prefix}{}", case.path)))
        .respond_with(response)
        .mount(server)
        .await;
}

#[tokio::test]
async fn every_operation_sends_what_the_spec_says_and_reads_its_example_answer() {
    let spec = load("graph");
    let all = cases(&spec);
    assert!(all.len() >= 80, "{} operations", all.len());
    let server = MockServer::start().await;
    // The wire as the examples write it: no preference of the client's own
    // (delta queries would otherwise ask for immutable ids).
    let graph = super::client_configured(&server, |b| b.immutable_ids(false));
    let login = graph.login_client().unwrap();
    let mut failures = Vec::new();
    for case in &all {
        server.reset().await;
        let prefix = if case.host.as_deref() == Some("login") {
            ""
        } else {
            "/v1.0"
        };
        answer(&server, case, prefix).await;
        let client = if prefix.is_empty() { &login } else { &graph };
        let sent =
            specbound::graph::examples::send(client, &case.id, &case.params, case.body.as_ref())
                .await;
        let got = match sent {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{}: {e}", case.id));
                continue;
            }
        };
        if let Err(e) = check_wire(&server, case, prefix).await {
            failures.push(format!("{}: {e}", case.id));
            continue;
        }
        match &case.answer {
            Some(want) if !case.binary_answer => {
                if let Err(e) = kept(&got, want) {
                    failures.push(format!("{}: answer {e}", case.id));
                } else if want.as_object().is_some_and(|o| !o.is_empty())
                    && got.as_object().is_none_or(|o| o.is_empty())
                {
                    failures.push(format!("{}: the typed answer is empty", case.id));
                }
            }
            Some(Value::String(text)) if got != Value::String(text.clone()) => {
                failures.push(format!("{}: binary answer differs", case.id));
            }
            _ => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}
