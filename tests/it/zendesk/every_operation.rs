//! Every Zendesk operation, sent with the examples of `spec/zendesk.yaml`
//! (Zendesk's docs and recorded traffic) through its generated builder.

use futures::FutureExt;
use wiremock::MockServer;

use crate::spec_examples::{every_operation, load};

#[tokio::test]
async fn every_operation_sends_what_the_spec_says_and_reads_its_example_answer() {
    let spec = load("zendesk");
    let server = MockServer::start().await;
    let zd = super::client(&server);
    let (count, failures) = every_operation(
        &spec,
        &server,
        |_| "",
        |case| {
            let (id, params, body) = (case.id.clone(), case.params.clone(), case.body.clone());
            let zd = &zd;
            async move { specbound::zendesk::examples::send(zd, &id, &params, body.as_ref()).await }
                .boxed()
        },
    )
    .await;
    assert!(count >= 150, "{count} operations");
    assert!(
        failures.is_empty(),
        "{} of {count} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
