//! OData queries on the wire: `query()` on the generated builders sets
//! `$filter`, `$select`, `$orderby` and friends, and refuses before sending
//! what Graph would reject or ignore.

use serde_json::json;
use specbound::graph::{Mailbox, Query, attr, prelude::*};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::received;

async fn empty_list(server: &MockServer, at: &str) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(server)
        .await;
}

fn pairs(request: &wiremock::Request) -> Vec<(String, String)> {
    request
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[tokio::test]
async fn a_message_query_goes_out_as_the_docs_write_it() {
    let server = MockServer::start().await;
    empty_list(&server, "/v1.0/me/messages").await;
    let graph = super::client(&server);
    let q = Query::new()
        .filter(
            attr("subject")
                .contains("george")
                .or(attr("subject").starts_with("quotes")),
        )
        .select(["subject", "from"])
        .top(25);
    graph
        .list_messages()
        .mailbox(Mailbox::me())
        .query(q)
        .send()
        .await
        .unwrap();
    let sent = received(&server).await;
    let mut got = pairs(&sent[0]);
    got.sort();
    assert_eq!(
        got,
        [
            (
                "$filter".to_string(),
                "contains(subject,'george') or startswith(subject,'quotes')".to_string()
            ),
            ("$select".to_string(), "subject,from".to_string()),
            ("$top".to_string(), "25".to_string()),
        ]
    );
}

#[tokio::test]
async fn a_quote_in_a_value_stays_inside_its_literal_on_the_wire() {
    let server = MockServer::start().await;
    empty_list(&server, "/v1.0/me/messages").await;
    let graph = super::client(&server);
    let q = Query::new().filter(attr("subject").eq("O'Brien') or true or ('"));
    graph
        .list_messages()
        .mailbox(Mailbox::me())
        .query(q)
        .send()
        .await
        .unwrap();
    let got = pairs(&received(&server).await[0]);
    assert_eq!(
        got,
        [(
            "$filter".to_string(),
            "subject eq 'O''Brien'') or true or ('''".to_string()
        )]
    );
}

#[tokio::test]
async fn search_with_filter_on_messages_is_refused_before_sending() {
    let server = MockServer::start().await;
    let graph = super::client(&server);
    let q = Query::new()
        .search("pizza")
        .filter(attr("is_read").eq(false));
    let err = graph
        .list_messages()
        .mailbox(Mailbox::me())
        .query(q)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_invalid(), "{err}");
    assert!(
        err.to_string().contains("$search") && err.to_string().contains("$filter"),
        "{err}"
    );
    assert!(received(&server).await.is_empty());
}

#[tokio::test]
async fn an_advanced_directory_query_adds_consistency_level_and_count() {
    let server = MockServer::start().await;
    empty_list(&server, "/v1.0/users").await;
    let graph = super::client(&server);
    let q = Query::new()
        .search("display_name:wa")
        .order_by("display_name");
    graph.list_users().query(q).send().await.unwrap();
    let sent = received(&server).await;
    assert_eq!(sent[0].headers.get("consistencylevel").unwrap(), "eventual");
    let mut got = pairs(&sent[0]);
    got.sort();
    assert_eq!(
        got,
        [
            ("$count".to_string(), "true".to_string()),
            ("$orderby".to_string(), "displayName".to_string()),
            ("$search".to_string(), "\"displayName:wa\"".to_string()),
        ]
    );
}
