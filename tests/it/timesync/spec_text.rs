//! What `spec/timesync.yaml` tells a reader about the reference server, where
//! it used to be wrong (each statement checked on a local run of
//! osuosl/timesync-node be26956): durations are numbers, the descriptions of
//! hostile requests, and the examples of a login token and of an update's
//! answer.

use base64::Engine as _;
use serde_json::{Value, json};
use specbound::runtime::spec::Kind;
use specbound::timesync::{Client, prelude::*, spec::API};

const SPEC: &str = include_str!("../../../spec/timesync.yaml");

/// The text of operation `id`, up to the next operation.
fn operation(id: &str) -> &'static str {
    let marker = format!("operationId: {id}\n");
    let start = SPEC
        .find(&marker)
        .unwrap_or_else(|| panic!("no operation {id}"));
    let rest = &SPEC[start + marker.len()..];
    let end = rest.find("operationId: ").unwrap_or(rest.len());
    &SPEC[start..start + marker.len() + end]
}

/// The keys of the first `example:` after `after` in `text`, in order.
fn example_keys(text: &str, after: &str) -> Vec<String> {
    let text = &text[text.find(after).expect(after)..];
    let example = text.find("example:\n").expect("an example") + "example:\n".len();
    let mut keys = Vec::new();
    let mut indent = None;
    for line in text[example..].lines() {
        let depth = line.len() - line.trim_start().len();
        let indent = *indent.get_or_insert(depth);
        if depth < indent || line.trim().is_empty() {
            break;
        }
        if depth == indent
            && let Some((key, _)) = line.trim().split_once(':')
        {
            keys.push(key.to_string());
        }
    }
    keys
}

#[test]
fn durations_are_numbers_of_seconds_in_every_time_schema() {
    for name in [
        "Time",
        "TimeRevision",
        "TimeCreate",
        "TimeCreated",
        "TimeUpdate",
    ] {
        let schema = API
            .schemas
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no schema {name}"));
        let Kind::Object { properties, .. } = &schema.kind else {
            panic!("{name} is not an object");
        };
        let (_, duration) = properties
            .iter()
            .find(|(p, _)| *p == "duration")
            .unwrap_or_else(|| panic!("{name} has no duration"));
        assert!(
            matches!(API.schema(*duration).kind, Kind::Number(_)),
            "{name}.duration is {:?}",
            API.schema(*duration).kind
        );
    }
}

#[test]
fn the_descriptions_say_what_the_server_does_with_hostile_requests() {
    let says = |id: &str, texts: &[&str], not: &[&str]| {
        let op = operation(id);
        for text in texts {
            assert!(op.contains(text), "{id} should say {text:?}");
        }
        for text in not {
            assert!(!op.contains(text), "{id} should not say {text:?}");
        }
    };
    says(
        "get_time",
        &[
            "kills the server process",
            "a transport error, not a timeout",
        ],
        &["so the request times out", "shows up as a timeout"],
    );
    says(
        "create_time",
        &["An empty `activities` array passes every check and then makes the server fail with 500"],
        &[],
    );
    says(
        "create_project",
        &[
            "If `users` names no existing user",
            "fails with 500 (`Server error`) and stores nothing",
        ],
        &["`users` keeps only usernames that exist"],
    );
    says(
        "update_project",
        &[
            "If `users` names no existing user",
            "an update that leaves `default_activity` out",
        ],
        &[],
    );
    assert!(!SPEC.contains("an empty object removes every role"));
    says(
        "update_user",
        &[
            "themselves included",
            "`email` is not checked and is changed",
        ],
        &[],
    );
}

#[test]
fn the_login_example_is_a_token_as_the_server_issues_it() {
    let login = operation("login");
    let at = login.find("token: \"").expect("a token example") + "token: \"".len();
    let token = &login[at..][..login[at..].find('"').unwrap()];
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    let b64 = base64::engine::general_purpose::STANDARD;
    let decoded: Vec<Vec<u8>> = parts
        .iter()
        .map(|p| {
            b64.decode(p)
                .unwrap_or_else(|e| panic!("{p} is not padded standard base64: {e}"))
        })
        .collect();
    let header: Value = serde_json::from_slice(&decoded[0]).unwrap();
    assert_eq!(header, json!({"typ": "JWT", "alg": "HMAC-SHA512"}));
    let payload: Value = serde_json::from_slice(&decoded[1]).unwrap();
    assert_eq!(payload["sub"], "example-user");
    let (exp, iat) = (
        payload["exp"].as_i64().unwrap(),
        payload["iat"].as_i64().unwrap(),
    );
    assert_eq!(exp - iat, 30 * 60 * 1000, "30 minutes in milliseconds");
    assert_eq!(decoded[2].len(), 64, "an HMAC-SHA512 signature");
    // The client reads its expiry as it reads a real token's.
    let ts = Client::builder()
        .base_url("https://timesync.example.edu/v0")
        .token(token)
        .build()
        .unwrap();
    assert_eq!(ts.token_expiration_time().unwrap().timestamp_millis(), exp);
    // Every envelope in the spec carries the same token, none the old HS256 one.
    assert!(!SPEC.contains("eyJhbGciOiJIUzI1NiIs"));
    assert_eq!(SPEC.matches(token).count(), 9);
}

#[test]
fn the_update_time_example_is_what_the_server_answers() {
    let update = operation("update_time");
    // compileTime's key order; `activities` is empty because the request
    // did not send activities.
    assert_eq!(
        example_keys(update, "'200':"),
        [
            "duration",
            "user",
            "notes",
            "issue_uri",
            "uuid",
            "revision",
            "project",
            "activities",
            "created_at",
            "updated_at",
            "deleted_at",
            "date_worked"
        ]
    );
    let answer = &update[update.find("'200':").unwrap()..];
    assert!(answer.contains("                activities: []\n"));
    let request = &update[update.find("requestBody:").unwrap()..update.find("'200':").unwrap()];
    assert!(
        !request.contains("activities"),
        "the request sends no activities"
    );
}
