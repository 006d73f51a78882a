//! Graph lists on the wire: a 504 on a large page halves `$top` and the
//! stream goes on; the first page's headers go again on each next link.

use futures::TryStreamExt;
use serde_json::json;
use specbound::graph::{Mailbox, prelude::*};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::received;

fn message(i: u32) -> serde_json::Value {
    json!({"id": format!("m{i}"), "subject": format!("s{i}")})
}

#[tokio::test]
async fn a_gateway_timeout_on_a_large_top_halves_the_page_and_goes_on() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/me/messages"))
        .and(query_param("$top", "40"))
        .respond_with(ResponseTemplate::new(504).set_body_json(
            json!({"error": {"code": "UnknownError", "message": "gateway timeout"}}),
        ))
        .mount(&server)
        .await;
    let next = format!("{}/v1.0/me/messages?$top=20&$skip=20", server.uri());
    Mock::given(method("GET"))
        .and(path("/v1.0/me/messages"))
        .and(query_param("$top", "20"))
        .and(wiremock::matchers::query_param_is_missing("$skip"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"value": (0..20).map(message).collect::<Vec<_>>(), "@odata.nextLink": next}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/me/messages"))
        .and(query_param("$skip", "20"))
        .and(header("prefer", "outlook.body-content-type=\"text\""))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"value": (20..25).map(message).collect::<Vec<_>>()})),
        )
        .mount(&server)
        .await;
    let (graph, waits) = super::client_with(&server, Some(super::token("at-1", None, 3600)));
    let all: Vec<_> = graph
        .list_messages()
        .mailbox(Mailbox::me())
        .top(std::num::NonZeroU32::new(40).unwrap())
        .prefer("outlook.body-content-type=\"text\"")
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 25);
    assert_eq!(all[24].id, "m24");
    let tops: Vec<String> = received(&server)
        .await
        .iter()
        .filter_map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "$top")
                .map(|(_, v)| v.into_owned())
        })
        .collect();
    // The 504 is retried as the retry policy says, then the page is asked
    // again with half the size; the next link keeps it.
    assert_eq!(tops.last().map(String::as_str), Some("20"));
    assert_eq!(
        tops.iter().filter(|t| *t == "40").count(),
        waits.recorded().len() + 1
    );
    assert!(tops.contains(&"20".to_string()));
}
