//! Every Graph operation, sent with the examples of `spec/graph.yaml`
//! (Microsoft's docs) through its generated builder: the wire and the
//! typed answer are checked by `spec_examples`.

use futures::FutureExt;
use specbound::graph::prelude::*;
use wiremock::MockServer;

use crate::spec_examples::{every_operation, load};

#[tokio::test]
async fn every_operation_sends_what_the_spec_says_and_reads_its_example_answer() {
    let spec = load("graph");
    let server = MockServer::start().await;
    // The wire as the examples write it: no preference of the client's own
    // (delta queries would otherwise ask for immutable ids).
    let graph = super::client_configured(&server, |b| b.immutable_ids(false));
    let login = graph.login_client().unwrap();
    let on_login = |case: &crate::spec_examples::Case| case.host.as_deref() == Some("login");
    let (count, failures) = every_operation(
        &spec,
        &server,
        |case| if on_login(case) { "" } else { "/v1.0" },
        |case| {
            let client = if on_login(case) { &login } else { &graph };
            let (id, params, body) = (case.id.clone(), case.params.clone(), case.body.clone());
            async move {
                specbound::graph::examples::send(client, &id, &params, body.as_ref()).await
            }
            .boxed()
        },
    )
    .await;
    assert!(count >= 130, "{count} operations");
    assert!(
        failures.is_empty(),
        "{} of {count} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
