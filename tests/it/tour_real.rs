//! The tour's Graph and Zendesk parts as they run against a real tenant
//! or account (the flags of `examples/tour`), pointed at sandboxes started
//! here: without `--write` no operation that writes is served; with it the
//! writing steps run and clean up after themselves.

#[path = "../../examples/tour/graph.rs"]
mod graph_part;
#[path = "../../examples/tour/zendesk.rs"]
mod zendesk_part;

use specbound::runtime::spec::ApiSpec;
use specbound::sandbox::graph::Graph;
use specbound::sandbox::zendesk::Zendesk;
use specbound::zendesk::prelude::*;

use crate::support::Waits;

/// The tour's `setting(flag, env)` over `pairs` of flag and value.
fn settings<'a>(pairs: &'a [(&'a str, String)]) -> impl Fn(&str, &str) -> Option<String> + 'a {
    |flag, _env| {
        pairs
            .iter()
            .find(|(f, _)| *f == flag)
            .map(|(_, v)| v.clone())
    }
}

/// The operations in `served` that change something: any method but GET,
/// except `allowed` (a sign-in, a `$batch` of GETs).
fn writing(api: &ApiSpec, served: &[&'static str], allowed: &[&str]) -> Vec<&'static str> {
    served
        .iter()
        .copied()
        .filter(|id| !allowed.contains(id))
        .filter(|id| api.operation(id).is_none_or(|op| op.method != "GET"))
        .collect()
}

async fn graph_sandbox() -> Graph {
    Graph::builder()
        .user("adele@contoso.com", "Adele Vance")
        .user("megan@contoso.com", "Megan Bowen")
        .inbox_messages(30)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn graph_with_a_token_reads_only_without_write() {
    let server = graph_sandbox().await;
    let token = server.issue_token("adele@contoso.com").unwrap();
    let flags = [
        ("--graph-url", server.base_url()),
        ("--graph-token", token.access_token.expose().to_string()),
    ];
    let tenant = graph_part::tenant(settings(&flags), false)
        .unwrap()
        .expect("a real tenant");
    let waits = Waits::default();
    graph_part::graph_tour(Some(tenant), waits.sleep())
        .await
        .unwrap();

    let served = server.operations_served();
    for read in [
        "list_folder_messages",
        "list_messages",
        "list_calendar_view",
        "list_children",
        "batch",
        "message_delta",
    ] {
        assert!(served.contains(&read), "{read} not in {served:?}");
    }
    let api = &specbound::graph::spec::API;
    assert_eq!(writing(api, &served, &["batch"]), Vec::<&str>::new());
    // The token was used as it is: no sign-in.
    assert!(!served.contains(&"request_token"));
}

#[tokio::test]
async fn graph_with_client_credentials_and_write_works_on_the_user_and_cleans_up() {
    let server = graph_sandbox().await;
    let flags = [
        ("--graph-url", server.base_url()),
        ("--graph-login-url", server.login_url()),
        ("--graph-tenant", "contoso".to_string()),
        ("--graph-client-id", "tour".to_string()),
        ("--graph-client-secret", "tour-secret".to_string()),
        ("--graph-user", "adele@contoso.com".to_string()),
    ];
    let tenant = graph_part::tenant(settings(&flags), true)
        .unwrap()
        .expect("a real tenant");
    let waits = Waits::default();
    // The sandbox answers `me` with 400 to an application token: this
    // passes only on `users/adele@contoso.com`.
    graph_part::graph_tour(Some(tenant), waits.sleep())
        .await
        .unwrap();

    let served = server.operations_served();
    let api = &specbound::graph::spec::API;
    assert_eq!(
        writing(api, &served, &["batch"]),
        [
            "request_token",
            "send_mail",
            "create_event",
            "delete_event",
            "create_upload_session",
            "copy_item",
            "delete_item",
            "delete_item",
        ]
    );
}

async fn zendesk_sandbox() -> Zendesk {
    Zendesk::builder()
        .agent("admin@example.com", "sandbox-api-token")
        .oauth_client("sandbox-client-id", "sandbox-client-secret")
        .tickets(1_100)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn zendesk_with_an_oauth_token_reads_only_without_write() {
    let server = zendesk_sandbox().await;
    // A token the sandbox issues, as `examples/sandbox.rs zendesk` prints it.
    let issuer = specbound::zendesk::Client::builder()
        .base_url(server.base_url())
        .oauth("sandbox-client-id", "sandbox-client-secret")
        .client_credentials()
        .build()
        .unwrap();
    issuer.get_current_user().send().await.unwrap();
    let token = issuer.token().await.unwrap().expect("a token");
    let before = server.operations_served().len();
    let flags = [
        ("--zendesk-url", server.base_url()),
        (
            "--zendesk-oauth-token",
            token.access_token.expose().to_string(),
        ),
    ];
    let account = zendesk_part::account(settings(&flags), false)
        .unwrap()
        .expect("a real account");
    let waits = Waits::default();
    zendesk_part::zendesk_tour(Some(account), waits.sleep())
        .await
        .unwrap();

    let served = server.operations_served().split_off(before);
    for read in [
        "get_current_user",
        "search",
        "export_search_results",
        "list_tickets",
        "incremental_tickets_cursor",
    ] {
        assert!(served.contains(&read), "{read} not in {served:?}");
    }
    let api = &specbound::zendesk::spec::API;
    assert_eq!(writing(api, &served, &[]), Vec::<&str>::new());
}

#[tokio::test]
async fn zendesk_with_an_api_token_and_write_runs_the_bulk_job_and_deletes_its_tickets() {
    let server = zendesk_sandbox().await;
    let flags = [
        ("--zendesk-url", server.base_url()),
        ("--zendesk-email", "admin@example.com".to_string()),
        ("--zendesk-api-token", "sandbox-api-token".to_string()),
    ];
    let account = zendesk_part::account(settings(&flags), true)
        .unwrap()
        .expect("a real account");
    let waits = Waits::default();
    zendesk_part::zendesk_tour(Some(account), waits.sleep())
        .await
        .unwrap();

    let served = server.operations_served();
    let api = &specbound::zendesk::spec::API;
    assert_eq!(
        writing(api, &served, &[]),
        ["create_many_tickets", "destroy_many_tickets"]
    );
    // The jobs were followed to their end through the client's sleep.
    assert!(served.contains(&"get_job_status"));
    assert!(!waits.recorded().is_empty());
}

#[test]
fn half_given_credentials_are_refused_and_none_means_the_sandbox() {
    let none: [(&str, String); 0] = [];
    assert!(
        graph_part::tenant(settings(&none), false)
            .unwrap()
            .is_none()
    );
    assert!(
        zendesk_part::account(settings(&none), false)
            .unwrap()
            .is_none()
    );
    // Half-given settings, and what the refusal names.
    let graph_refusals: [(&[(&str, &str)], &str); 3] = [
        (
            &[
                ("--graph-client-secret", "s"),
                ("--graph-tenant", "contoso"),
                ("--graph-client-id", "tour"),
            ],
            "--graph-user",
        ),
        (
            &[("--graph-tenant", "contoso")],
            "--graph-tenant needs --graph-token or --graph-client-secret",
        ),
        (
            &[("--graph-token", "t"), ("--graph-cloud", "mars")],
            "`mars`",
        ),
    ];
    let owned = |given: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
        given.iter().map(|(f, v)| (*f, v.to_string())).collect()
    };
    for (given, named) in graph_refusals {
        let given = owned(given);
        let e = graph_part::tenant(settings(&given), false)
            .err()
            .expect("refused")
            .to_string();
        assert!(e.contains(named), "{e}");
    }
    let zendesk_refusals: [(&[(&str, &str)], &str); 2] = [
        (
            &[
                ("--zendesk-subdomain", "acme"),
                ("--zendesk-email", "a@acme.test"),
            ],
            "--zendesk-api-token",
        ),
        (
            &[("--zendesk-oauth-token", "t")],
            "--zendesk-oauth-token needs --zendesk-subdomain or --zendesk-url",
        ),
    ];
    for (given, named) in zendesk_refusals {
        let given = owned(given);
        let e = zendesk_part::account(settings(&given), false)
            .err()
            .expect("refused")
            .to_string();
        assert!(e.contains(named), "{e}");
    }
}
