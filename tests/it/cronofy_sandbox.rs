//! The Cronofy sandbox driven by the real client over real HTTP: OAuth with a
//! file token store, rotation and revocation, calendars, events over pages,
//! free busy, channels, availability, real-time scheduling and sequencing,
//! smart invites, bookable events, add to calendar, batches, typed
//! 422s and rate limits.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde_json::{Value, json};
use specbound::cronofy::{Client, prelude::*, types, verify_hmac};
use specbound::runtime::{
    FileTokenStore, MemoryTokenStore, RetryPolicy, Secret, Sleep, TokenStore,
};
use specbound::sandbox::cronofy::{Cronofy, CronofyBuilder};
use specbound::{AuthErrorKind, Error};
use wiremock::matchers::{header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::Waits;

const ALICE: &str = "acc_5ba21743f408617d1269ea1e";
const BOB: &str = "acc_64b17d868090ea21640c914c";
const CLIENT_ID: &str = "client-id";
const CLIENT_SECRET: &str = "client-secret";
const REDIRECT: &str = "https://example.com/callback";

// ------------------------------------------------------------------ helpers

/// The registered application with Alice (and Bob) seeded.
fn sandbox() -> CronofyBuilder {
    Cronofy::builder()
        .client(CLIENT_ID, CLIENT_SECRET)
        .redirect_uri(REDIRECT)
        .account(ALICE, "alice@example.com")
        .account(BOB, "bob@example.com")
        .page_size(25)
}

/// A client of the application on `server`, with recorded waits.
fn client(server: &Cronofy, store: impl TokenStore + 'static) -> (Client, Waits) {
    let waits = Waits::default();
    let client = Client::builder()
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .base_url(server.base_url())
        .app_url(server.app_url())
        .token_store(store)
        .sleep(waits.sleep())
        .build()
        .unwrap();
    (client, waits)
}

/// A client holding the tokens of a code `account` granted.
async fn signed_in(server: &Cronofy, account: &str) -> Client {
    let (client, _) = client(server, MemoryTokenStore::new());
    let code = server.issue_code(account, REDIRECT);
    client
        .get_authorization_from_code(&code, REDIRECT)
        .await
        .unwrap();
    client
}

/// A temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "specbound-cronofy-sandbox-{name}-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn event(id: &str, summary: &str, start: &str, end: &str) -> types::EventUpsert {
    serde_json::from_value(json!({
        "event_id": id,
        "summary": summary,
        "start": start,
        "end": end,
    }))
    .unwrap()
}

fn typed<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).unwrap()
}

/// The per-field errors of a refused call, as `(field, message)`.
#[track_caller]
fn fields<T: std::fmt::Debug>(result: specbound::Result<T>) -> Vec<(String, String)> {
    let err = result.expect_err("the sandbox should refuse this call");
    let api = err
        .api()
        .unwrap_or_else(|| panic!("not an API error: {err:?}"));
    assert_eq!(api.status.as_u16(), 422, "{err:?}");
    api.fields
        .iter()
        .map(|f| (f.field.clone(), f.message.clone()))
        .collect()
}

fn slots(result: &types::AvailabilityResult) -> Vec<(String, String)> {
    result
        .available_slots
        .iter()
        .map(|s| {
            (
                s.start.0.format("%H:%M").to_string(),
                s.end.0.format("%H:%M").to_string(),
            )
        })
        .collect()
}

// ------------------------------------------------------------------ OAuth

#[tokio::test]
async fn the_authorization_link_leads_to_a_code_whose_token_lands_in_the_file_store() {
    let server = sandbox().start().await.unwrap();
    let dir = TempDir::new("link");
    let (cronofy, _) = client(&server, FileTokenStore::new(dir.file("token.json")));
    let link = cronofy
        .user_auth_link(REDIRECT)
        .scope(["read_account", "list_calendars", "read_events"])
        .state("csrf-123")
        .build()
        .unwrap();
    assert!(link.starts_with(&format!("{}/oauth/authorize?", server.app_url())));

    // The browser follows the link; the authorization page redirects back.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = browser.get(&link).send().await.unwrap();
    assert_eq!(answer.status(), 302);
    let location = answer.headers()["location"].to_str().unwrap().to_string();
    let back = url::Url::parse(&location).unwrap();
    assert_eq!(
        format!(
            "{}://{}{}",
            back.scheme(),
            back.host_str().unwrap(),
            back.path()
        ),
        REDIRECT
    );
    let query: Vec<(String, String)> = back.query_pairs().into_owned().collect();
    assert_eq!(query[1], ("state".to_string(), "csrf-123".to_string()));
    let code = &query[0].1;
    assert_eq!(query[0].0, "code");
    assert_eq!(code.len(), 32);

    let token = cronofy
        .get_authorization_from_code(code, REDIRECT)
        .await
        .unwrap();
    assert_eq!(token.subject.as_deref(), Some(ALICE));
    assert_eq!(
        token.scope.as_deref(),
        Some("read_account list_calendars read_events")
    );
    let stored = FileTokenStore::new(dir.file("token.json"))
        .load()
        .await
        .unwrap()
        .expect("the token is in the file");
    assert_eq!(stored, token);
    assert_eq!(server.token_requests(), 1);

    // The code is single use.
    let again = cronofy.get_authorization_from_code(code, REDIRECT).await;
    let err = again.expect_err("a used code is refused");
    let api = err.api().expect("an OAuth error");
    assert_eq!(
        (api.status.as_u16(), api.code.as_deref()),
        (400, Some("invalid_grant"))
    );

    // The granted scope is what the link asked for: no calendar creation.
    let account = cronofy.get_account().send().await.unwrap().into_inner();
    assert_eq!(account.account.email.as_deref(), Some("alice@example.com"));
    let profile_id = server.profile_id(ALICE).unwrap();
    let refused = cronofy
        .create_calendar()
        .body(types::CalendarCreate {
            profile_id,
            name: "Work".into(),
            color: None,
        })
        .send()
        .await
        .map_err(Error::from)
        .expect_err("create_calendar is not in the scope");
    assert_eq!(refused.status().map(|s| s.as_u16()), Some(403));
}

#[tokio::test]
async fn a_code_for_another_redirect_uri_or_from_an_unknown_client_is_refused() {
    let server = sandbox().start().await.unwrap();
    let (cronofy, _) = client(&server, MemoryTokenStore::new());
    let code = server.issue_code(ALICE, REDIRECT);
    let err = cronofy
        .get_authorization_from_code(&code, "https://example.com/elsewhere")
        .await
        .expect_err("the redirect_uri must match");
    assert_eq!(err.api().unwrap().code.as_deref(), Some("invalid_grant"));
    // A mismatch does not use the code up.
    cronofy
        .get_authorization_from_code(&code, REDIRECT)
        .await
        .unwrap();

    let stranger = Client::builder()
        .client_id(CLIENT_ID)
        .client_secret("not-the-secret")
        .base_url(server.base_url())
        .build()
        .unwrap();
    let code = server.issue_code(ALICE, REDIRECT);
    let err = stranger
        .get_authorization_from_code(&code, REDIRECT)
        .await
        .expect_err("wrong client secret");
    assert_eq!(err.api().unwrap().code.as_deref(), Some("invalid_client"));

    // An unregistered redirect URI never gets a redirect.
    let link = cronofy
        .user_auth_link("https://evil.example.com/steal")
        .build()
        .unwrap();
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = browser.get(&link).send().await.unwrap();
    assert_eq!(answer.status(), 400);
    assert!(answer.headers().get("location").is_none());
}

#[tokio::test]
async fn a_short_ttl_forces_a_refresh_that_rotates_the_refresh_token_in_the_file_store() {
    let server = sandbox()
        .access_token_ttl(Duration::from_secs(30))
        .start()
        .await
        .unwrap();
    let dir = TempDir::new("rotate");
    let (cronofy, _) = client(&server, FileTokenStore::new(dir.file("token.json")));
    let code = server.issue_code(ALICE, REDIRECT);
    let first = cronofy
        .get_authorization_from_code(&code, REDIRECT)
        .await
        .unwrap();
    assert_eq!(server.refreshes(), 0);

    // Under 60 s left: the client refreshes before the call.
    let calendars = cronofy.list_calendars().send().await.unwrap().into_inner();
    assert_eq!(calendars.calendars.len(), 1);
    assert_eq!(server.refreshes(), 1);
    assert_eq!(server.token_requests(), 2);

    let stored = FileTokenStore::new(dir.file("token.json"))
        .load()
        .await
        .unwrap()
        .unwrap();
    let current = cronofy.token().await.unwrap().unwrap();
    assert_eq!(stored, current);
    assert_ne!(stored.refresh_token, first.refresh_token);
    assert_ne!(stored.access_token, first.access_token);
}

#[tokio::test]
async fn an_old_refresh_token_is_refused_with_invalid_grant_after_rotation() {
    let server = sandbox().start().await.unwrap();
    let cronofy = signed_in(&server, ALICE).await;
    let old = cronofy
        .token()
        .await
        .unwrap()
        .unwrap()
        .refresh_token
        .unwrap();
    let fresh = cronofy.refresh_authorization().await.unwrap();
    assert_ne!(fresh.refresh_token.as_ref(), Some(&old));

    let replay = cronofy
        .api()
        .request_token()
        .body(types::TokenRequest::RefreshTokenGrant(
            types::RefreshTokenGrant {
                client_id: CLIENT_ID.into(),
                client_secret: Secret::new(CLIENT_SECRET),
                grant_type: types::RefreshTokenGrantGrantType::RefreshToken,
                refresh_token: old,
            },
        ))
        .send()
        .await
        .map_err(Error::from);
    let err = replay.expect_err("the rotated refresh token is dead");
    let api = err.api().unwrap();
    assert_eq!(
        (api.status.as_u16(), api.code.as_deref()),
        (400, Some("invalid_grant"))
    );
    let body = api.body::<types::Error>().unwrap();
    assert_eq!(body.error.as_deref(), Some("invalid_grant"));

    // The new one still works, and without rotation the same one comes back.
    cronofy.refresh_authorization().await.unwrap();
    let steady = sandbox()
        .rotate_refresh_tokens(false)
        .start()
        .await
        .unwrap();
    let cronofy = signed_in(&steady, ALICE).await;
    let before = cronofy.token().await.unwrap().unwrap().refresh_token;
    let after = cronofy.refresh_authorization().await.unwrap().refresh_token;
    assert_eq!(before, after);
}

#[tokio::test]
async fn a_token_the_server_expired_is_refreshed_once_and_the_call_replayed() {
    let server = sandbox().start().await.unwrap();
    let cronofy = signed_in(&server, ALICE).await;
    server.expire_access_tokens();
    let before = server.requests();
    let profiles = cronofy.list_profiles().send().await.unwrap().into_inner();
    assert_eq!(
        profiles.profiles[0].profile_name.as_deref(),
        Some("alice@example.com")
    );
    // 401, refresh, replay.
    assert_eq!(server.requests() - before, 3);
    assert_eq!(server.refreshes(), 1);
}

#[tokio::test]
async fn after_revocation_calls_fail_with_an_auth_error() {
    let server = sandbox().start().await.unwrap();
    let cronofy = signed_in(&server, ALICE).await;
    let token = cronofy.token().await.unwrap().unwrap();
    // A second client holding the same tokens, as another process would.
    let (other, _) = client(&server, MemoryTokenStore::with(token));
    other.list_calendars().send().await.unwrap();

    cronofy.revoke_authorization().await.unwrap();
    assert_eq!(cronofy.token().await.unwrap(), None);
    let err = Error::from(cronofy.list_calendars().send().await.unwrap_err());
    assert!(
        matches!(
            err,
            Error::Auth {
                kind: AuthErrorKind::Missing,
                ..
            }
        ),
        "{err:?}"
    );

    // The server forgot every token: 401, and the refresh is refused too.
    let err = Error::from(other.list_calendars().send().await.unwrap_err());
    assert!(err.is_unauthorized(), "{err:?}");
    assert!(
        matches!(
            err,
            Error::Auth {
                kind: AuthErrorKind::RefreshFailed,
                ..
            }
        ),
        "{err:?}"
    );
}

// ------------------------------------------------------------------ calendars and events

#[tokio::test]
async fn calendars_are_listed_and_created_once_per_name() {
    let server = sandbox().start().await.unwrap();
    let cronofy = signed_in(&server, ALICE).await;
    let listed = cronofy.list_calendars().send().await.unwrap().into_inner();
    assert_eq!(listed.sub.as_deref(), Some(ALICE));
    let primary = &listed.calendars[0];
    assert_eq!(
        Some(&primary.calendar_id),
        server.primary_calendar_id(ALICE).as_ref()
    );
    assert_eq!(primary.calendar_primary, Some(true));
    assert_eq!(primary.permission_level.as_deref(), Some("sandbox"));

    let profile_id = primary.profile_id.clone().unwrap();
    let new = types::CalendarCreate {
        profile_id: profile_id.clone(),
        name: "Work".into(),
        color: Some("#49BED8".into()),
    };
    let created = cronofy
        .create_calendar()
        .body(new.clone())
        .send()
        .await
        .unwrap()
        .into_inner()
        .calendar;
    assert_eq!(created.calendar_name.as_deref(), Some("Work"));
    assert_eq!(created.profile_id.as_deref(), Some(profile_id.as_str()));
    assert_eq!(
        server.calendar_id(ALICE, "Work"),
        Some(created.calendar_id.clone())
    );
    let listed = cronofy.list_calendars().send().await.unwrap().into_inner();
    assert_eq!(listed.calendars.len(), 2);

    let duplicate = cronofy
        .create_calendar()
        .body(new)
        .send()
        .await
        .map_err(Error::from);
    let err = duplicate.expect_err("a second Work");
    let body = err.api().unwrap().body::<types::Error>().unwrap();
    assert_eq!(
        body.errors["name"][0].key.as_deref(),
        Some("errors.duplicate_calendar_name")
    );
}

#[tokio::test]
async fn a_recurring_event_reads_back_as_recurring_until_its_rules_are_removed() {
    let server = sandbox().start().await.unwrap();
    let alice = signed_in(&server, ALICE).await;
    let calendar = server.primary_calendar_id(ALICE).unwrap();
    let mut event = event(
        "weekly-sync",
        "Weekly sync",
        "2026-11-24T10:00:00Z",
        "2026-11-24T10:30:00Z",
    );
    event.recurrence = Some(typed(json!({
        "rules": [{"frequency": "weekly", "by_day": ["tuesday", "thursday"]}]
    })));
    alice.upsert_event(&calendar, &event).await.unwrap();
    let read = |alice: &Client| {
        let alice = alice.clone();
        async move {
            let events = alice
                .read_events()
                .from("2026-11-23")
                .to("2026-11-30")
                .include_managed(true)
                .stream()
                .collect_all()
                .await
                .unwrap();
            let e = events
                .into_iter()
                .find(|e| e.event_id.as_deref() == Some("weekly-sync"))
                .unwrap();
            (e.recurring, e.series_identifier.is_some())
        }
    };
    assert_eq!(read(&alice).await, (Some(true), true));

    // A bad rule is the API's 422, named by field (sent past the client's check).
    let mut bad = serde_json::to_value(&event).unwrap();
    bad["recurrence"] = json!({"rules": [{"frequency": "daily", "by_day": ["monday"]}]});
    assert_eq!(
        fields(
            alice
                .api()
                .upsert_event()
                .calendar_id(&calendar)
                .body(typed::<types::EventUpsertRequest>(bad))
                .send()
                .await
                .map_err(Error::from)
        ),
        [(
            "recurrence.rules.0.by_day".to_string(),
            "by_day is only valid in a weekly rule".to_string()
        )]
    );

    event.recurrence = Some(types::EventRecurrence { rules: vec![] });
    alice.upsert_event(&calendar, &event).await.unwrap();
    assert_eq!(read(&alice).await, (Some(false), false));
}

#[tokio::test]
async fn sixty_upserted_events_come_back_over_three_pages_of_twenty_five() {
    let server = sandbox().start().await.unwrap();
    let cronofy = signed_in(&server, ALICE).await;
    let calendar = server.primary_calendar_id(ALICE).unwrap();
    let start = utc("2026-11-24T08:00:00Z");
    for i in 0..60 {
        let s = start + chrono::Duration::minutes(30 * i);
        let e = s + chrono::Duration::minutes(30);
        let ev = event(
            &format!("e-{i:02}"),
            &format!("Event {i:02}"),
            &s.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            &e.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        );
        cronofy.upsert_event(&calendar, &ev).await.unwrap();
    }

    let before = server.requests();
    let mut events = cronofy
        .read_events()
        .from("2026-11-23")
        .to("2026-11-30")
        .tzid("Etc/UTC")
        .include_managed(true)
        .stream();
    let mut seen = Vec::new();
    while let Some(event) = events.try_next().await.unwrap() {
        let pages = events.current_page().unwrap();
        let n = seen.len();
        assert_eq!(pages.current as usize, n / 25 + 1, "item {n}");
        assert_eq!(pages.total, 3);
        assert_eq!(pages.next_page.is_some(), n < 50, "item {n}");
        if let Some(next) = &pages.next_page {
            assert!(next.starts_with(&format!("{}/v1/events/pages/", server.base_url())));
        }
        assert_eq!(
            event.event_id.as_deref(),
            Some(format!("e-{n:02}").as_str())
        );
        assert_eq!(event.calendar_id, calendar);
        assert_eq!(event.options.as_ref().and_then(|o| o.update), Some(true));
        seen.push(event.summary.unwrap_or_default());
    }
    assert_eq!(seen.len(), 60);
    assert_eq!(seen[59], "Event 59");
    assert_eq!(server.requests() - before, 3);

    // Managed events are left out unless asked for.
    let unmanaged: Vec<_> = cronofy
        .read_events()
        .from("2026-11-23")
        .to("2026-11-30")
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert!(unmanaged.is_empty());

    // Free busy pages the same way, on its own page route.
    let before = server.requests();
    let blocks = cronofy
        .read_free_busy()
        .from("2026-11-23")
        .to("2026-11-30")
        .include_managed(true)
        .stream()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(blocks.len(), 60);
    assert_eq!(server.requests() - before, 3);
}

#[tokio::test]
async fn only_managed_and_include_deleted_show_what_was_deleted() {
    let server = sandbox().start().await.unwrap();
    let cronofy = signed_in(&server, ALICE).await;
    let calendar = server.primary_calendar_id(ALICE).unwrap();
    let external = server
        .add_event(
            &calendar,
            "Dentist",
            utc("2026-11-25T09:00:00Z"),
            utc("2026-11-25T10:00:00Z"),
        )
        .unwrap();
    for (id, s, e) in [
        ("keep", "2026-11-25T11:00:00Z", "2026-11-25T12:00:00Z"),
        ("drop", "2026-11-25T13:00:00Z", "2026-11-25T14:00:00Z"),
    ] {
        cronofy
            .upsert_event(&calendar, &event(id, id, s, e))
            .await
            .unwrap();
    }
    cronofy.delete_event(&calendar, "drop").await.unwrap();

    let ids = |events: Vec<types::Event>| -> Vec<(Option<String>, bool)> {
        events
            .into_iter()
            .map(|e| (e.event_id, e.deleted.unwrap_or(false)))
            .collect()
    };
    let managed = cronofy
        .read_events()
        .only_managed(true)
        .stream()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(ids(managed), [(Some("keep".to_string()), false)]);
    let with_deleted = cronofy
        .read_events()
        .only_managed(true)
        .include_deleted(true)
        .stream()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(
        ids(with_deleted),
        [
            (Some("keep".to_string()), false),
            (Some("drop".to_string()), true)
        ]
    );
    let everything = cronofy
        .read_events()
        .from("2026-11-25")
        .to("2026-11-26")
        .include_managed(true)
        .stream()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(everything.len(), 2);
    assert_eq!(everything[0].event_uid.as_deref(), Some(external.as_str()));
    assert_eq!(everything[0].event_id, None);

    // An external event is not deleted by event_uid without elevated permissions.
    let err = cronofy
        .delete_external_event(&calendar, &external)
        .await
        .expect_err("sandbox permission level");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(403));
    // A managed event's uid is not an external uid.
    let keep_uid = cronofy
        .read_events()
        .only_managed(true)
        .stream()
        .collect_all()
        .await
        .unwrap()[0]
        .event_uid
        .clone()
        .unwrap();
    let refused = fields(cronofy.delete_external_event(&calendar, &keep_uid).await);
    assert_eq!(refused[0].0, "event_uid");

    // Bulk delete removes the remaining managed event only.
    cronofy
        .bulk_delete_events()
        .body(types::BulkDeleteEvents {
            delete_all: Some(true),
            calendar_ids: Vec::new(),
        })
        .send()
        .await
        .unwrap();
    let left = cronofy
        .read_events()
        .from("2026-11-25")
        .to("2026-11-26")
        .include_managed(true)
        .stream()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].summary.as_deref(), Some("Dentist"));
}

#[tokio::test]
async fn elevated_permissions_let_the_application_edit_external_events() {
    let server = sandbox().start().await.unwrap();
    let cronofy = signed_in(&server, ALICE).await;
    let calendar = server.primary_calendar_id(ALICE).unwrap();
    let uid = server
        .add_event(
            &calendar,
            "Standup",
            utc("2026-11-25T09:00:00Z"),
            utc("2026-11-25T09:15:00Z"),
        )
        .unwrap();
    let request = cronofy
        .request_elevated_permissions()
        .body(types::ElevatedPermissionsRequest {
            permissions: vec![types::CalendarPermission {
                calendar_id: calendar.clone(),
                permission_level: "unrestricted".into(),
            }],
            redirect_uri: Some(REDIRECT.into()),
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    let url = request.permissions_request.url.unwrap();
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = browser.get(&url).send().await.unwrap();
    assert_eq!(answer.status(), 302);
    assert_eq!(answer.headers()["location"], REDIRECT);

    let update: types::ExternalEventUpdate =
        typed(json!({"event_uid": uid, "summary": "Daily standup"}));
    cronofy
        .upsert_external_event(&calendar, &update)
        .await
        .unwrap();
    cronofy
        .change_participation_status()
        .calendar_id(&calendar)
        .event_uid(&uid)
        .body(types::ParticipationStatusChange {
            status: types::ParticipationStatusChangeStatus::Accepted,
        })
        .send()
        .await
        .unwrap();
    let events = cronofy
        .read_events()
        .from("2026-11-25")
        .to("2026-11-26")
        .stream()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(events[0].summary.as_deref(), Some("Daily standup"));
    assert_eq!(events[0].participation_status.as_deref(), Some("accepted"));
    assert_eq!(
        events[0].options.as_ref().and_then(|o| o.delete),
        Some(true)
    );
    cronofy
        .delete_external_event(&calendar, &uid)
        .await
        .unwrap();
}

#[tokio::test]
async fn free_busy_shows_busy_and_tentative_blocks_and_free_ones_when_asked() {
    let server = sandbox().start().await.unwrap();
    let cronofy = signed_in(&server, ALICE).await;
    let calendar = server.primary_calendar_id(ALICE).unwrap();
    let busy = server
        .add_event(
            &calendar,
            "Busy",
            utc("2026-11-25T09:00:00Z"),
            utc("2026-11-25T10:00:00Z"),
        )
        .unwrap();
    let maybe = server
        .add_event(
            &calendar,
            "Maybe",
            utc("2026-11-25T11:00:00Z"),
            utc("2026-11-25T12:00:00Z"),
        )
        .unwrap();
    cronofy
        .change_participation_status()
        .calendar_id(&calendar)
        .event_uid(&maybe)
        .body(types::ParticipationStatusChange {
            status: types::ParticipationStatusChangeStatus::Tentative,
        })
        .send()
        .await
        .unwrap();
    let free: types::EventUpsert = typed(json!({
        "event_id": "lunch",
        "summary": "Lunch (free)",
        "start": "2026-11-25T12:00:00Z",
        "end": "2026-11-25T13:00:00Z",
        "transparency": "transparent",
    }));
    cronofy.upsert_event(&calendar, &free).await.unwrap();

    let blocks = cronofy
        .read_free_busy()
        .from("2026-11-25")
        .to("2026-11-26")
        .tzid("Europe/London")
        .include_managed(true)
        .include_ids(true)
        .stream()
        .collect_all()
        .await
        .unwrap();
    let seen: Vec<(Option<String>, Option<String>)> = blocks
        .iter()
        .map(|b| (b.event_uid.clone(), b.free_busy_status.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (Some(busy.clone()), Some("busy".to_string())),
            (Some(maybe), Some("tentative".to_string())),
        ]
    );
    let with_free = cronofy
        .read_free_busy()
        .from("2026-11-25")
        .to("2026-11-26")
        .include_managed(true)
        .include_free(true)
        .stream()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(with_free.len(), 3);
    assert_eq!(with_free[2].free_busy_status.as_deref(), Some("free"));

    // Localized times carry the event's zone.
    let localized = cronofy
        .read_events()
        .from("2026-11-25")
        .to("2026-11-26")
        .localized_times(true)
        .stream()
        .collect_all()
        .await
        .unwrap();
    let types::EventTime::LocalizedTime(start) = &localized[0].start else {
        panic!("not localized: {:?}", localized[0].start);
    };
    assert_eq!(start.tzid, "Etc/UTC");
    assert_eq!(
        start.time,
        types::DateOrDateTime::UtcDateTime(utc("2026-11-25T09:00:00Z").into())
    );
}

// ------------------------------------------------------------------ errors

#[tokio::test]
async fn a_422_comes_back_typed_with_its_per_field_errors() {
    let server = sandbox().start().await.unwrap();
    let cronofy = signed_in(&server, ALICE).await;
    let calendar = server.primary_calendar_id(ALICE).unwrap();

    // A hand-written check: a filter on a calendar the account does not have.
    let refused = cronofy
        .create_notification_channel(
            "https://example.com/hooks/cronofy",
            Some(types::ChannelFilters {
                calendar_ids: vec!["cal_nope".into()],
                only_managed: None,
            }),
        )
        .await;
    let err = refused.expect_err("an unknown calendar");
    let api = err.api().unwrap();
    assert_eq!(api.status.as_u16(), 422);
    assert_eq!(api.code.as_deref(), Some("unprocessable"));
    assert_eq!(api.fields.len(), 1);
    assert_eq!(api.fields[0].field, "filters.calendar_ids");
    assert_eq!(
        api.fields[0].message,
        "cal_nope is not a calendar of this account"
    );
    let body = api.body::<types::Error>().unwrap();
    assert_eq!(
        body.errors["filters.calendar_ids"][0].key.as_deref(),
        Some("errors.invalid")
    );

    // A JSON Schema check: what the typed client cannot send, sent by hand.
    let token = cronofy.token().await.unwrap().unwrap();
    let raw = reqwest::Client::new()
        .post(format!(
            "{}/v1/calendars/{calendar}/events",
            server.base_url()
        ))
        .bearer_auth(token.access_token.expose())
        .json(&json!({"event_id": "x", "start": "2026-11-25T09:00:00Z", "end": 42}))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 422);
    let body: types::Error = raw.json().await.unwrap();
    assert_eq!(
        body.errors["summary"][0].key.as_deref(),
        Some("errors.required")
    );
    assert_eq!(
        body.errors["summary"][0].description.as_deref(),
        Some("summary must be specified")
    );

    // Availability: more members required than the group has.
    let query: types::AvailabilityQuery = typed(json!({
        "participants": [{"members": [{"sub": ALICE}], "required": 2}],
        "required_duration": {"minutes": 30},
        "query_periods": [{"start": "2026-11-25T09:00:00Z", "end": "2026-11-25T17:00:00Z"}],
    }));
    let refused = fields(
        cronofy
            .query_availability()
            .body(query)
            .send()
            .await
            .map_err(Error::from),
    );
    assert_eq!(
        refused,
        [(
            "participants.0.required".to_string(),
            "required is more than the number of members".to_string()
        )]
    );
}

#[tokio::test]
async fn an_unknown_page_token_is_a_404() {
    let server = sandbox().start().await.unwrap();
    let cronofy = signed_in(&server, ALICE).await;
    let err = Error::from(
        cronofy
            .read_events_page()
            .page_token("0123456789abcdef")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
async fn enterprise_and_business_connect_requests_are_checked_and_listed_by_domain() {
    let server = sandbox()
        .resource("board-room@example.com", "Board room")
        .resource("lab@elsewhere.org", "Lab")
        .start()
        .await
        .unwrap();
    let alice = signed_in(&server, ALICE).await;

    let resources = alice.list_resources().send().await.unwrap().into_inner();
    let names: Vec<_> = resources
        .resources
        .iter()
        .map(|r| r.email.as_str())
        .collect();
    assert_eq!(
        names,
        ["board-room@example.com"],
        "only the caller's domain"
    );

    let profile_id = alice
        .list_profiles()
        .send()
        .await
        .unwrap()
        .into_inner()
        .profiles[0]
        .profile_id
        .clone();
    let accessible = alice
        .list_accessible_calendars()
        .profile_id(&profile_id)
        .send()
        .await
        .unwrap()
        .into_inner()
        .accessible_calendars;
    let listed: Vec<(Option<&str>, &str)> = accessible
        .iter()
        .map(|c| (c.calendar_type.as_deref(), c.email.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            (Some("user"), "bob@example.com"),
            (Some("resource"), "board-room@example.com")
        ]
    );
    let rooms = alice
        .list_accessible_calendars()
        .profile_id(&profile_id)
        .calendar_type("resource")
        .send()
        .await
        .unwrap()
        .into_inner()
        .accessible_calendars;
    assert_eq!(rooms.len(), 1);
    assert_eq!(
        fields(
            alice
                .list_accessible_calendars()
                .profile_id("pro_not_mine")
                .send()
                .await
                .map_err(Error::from)
        )[0]
        .0,
        "profile_id"
    );

    let delegated = |email: &str| -> types::DelegatedAuthorization {
        typed(json!({
            "profile_id": profile_id,
            "email": email,
            "callback_url": "https://example.com/cronofy/delegated",
            "scope": "read_write",
            "state": "s",
        }))
    };
    alice
        .create_delegated_authorization()
        .body(delegated("bob@example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        fields(
            alice
                .create_delegated_authorization()
                .body(delegated("not-an-email"))
                .send()
                .await
                .map_err(Error::from)
        ),
        [(
            "email".to_string(),
            "not-an-email is not an email address".to_string()
        )]
    );

    alice
        .authorize_with_service_account()
        .body(typed::<types::ServiceAccountAuthorizationRequest>(json!({
            "service_account_authorizations": [
                {"email": "bob@example.com", "callback_url": "https://example.com/cb", "scope": "read_write"},
                {"email": "carol@example.com", "callback_url": "https://example.com/cb", "scope": "read_write"},
            ],
        })))
        .send()
        .await
        .unwrap();
    assert_eq!(
        fields(
            alice
                .authorize_with_service_account()
                .body(typed::<types::ServiceAccountAuthorizationRequest>(json!({
                    "email": "bob@example.com", "callback_url": "ftp://example.com/cb", "scope": "read_write",
                })))
                .send()
                .await
                .map_err(Error::from)
        )[0]
        .0,
        "callback_url"
    );

    let conferencing = alice
        .create_conferencing_service_authorization()
        .body(typed::<types::ConferencingServiceAuthorizationRequest>(
            json!({"redirect_uri": REDIRECT}),
        ))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(
        conferencing
            .authorization_request
            .url
            .contains("/conferencing_service_authorizations/"),
        "{conferencing:?}"
    );
}

#[tokio::test]
async fn channels_are_created_listed_notified_and_closed() {
    let server = sandbox().start().await.unwrap();
    let cronofy = signed_in(&server, ALICE).await;
    let calendar = server.primary_calendar_id(ALICE).unwrap();
    let hooks = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks/cronofy"))
        .and(header_exists("cronofy-hmac-sha256"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&hooks)
        .await;
    let callback = format!("{}/hooks/cronofy", hooks.uri());
    let filters = types::ChannelFilters {
        calendar_ids: vec![calendar.clone()],
        only_managed: Some(false),
    };
    let channel = cronofy
        .create_notification_channel(&callback, Some(filters.clone()))
        .await
        .unwrap();
    assert!(channel.channel_id.starts_with("chn_"));
    assert_eq!(channel.callback_url, callback);
    assert_eq!(channel.filters.as_ref(), Some(&filters));
    let listed = cronofy.list_channels().send().await.unwrap().into_inner();
    assert_eq!(listed.channels, std::slice::from_ref(&channel));

    let delivered = server
        .notify_change(ALICE, utc("2026-11-25T09:00:00Z"))
        .await
        .unwrap();
    assert_eq!(delivered, 1);
    let received = hooks.received_requests().await.unwrap();
    let signature = received[0].headers["cronofy-hmac-sha256"].to_str().unwrap();
    assert!(cronofy.hmac_valid(signature, &received[0].body).unwrap());
    assert!(verify_hmac(
        &[&Secret::new(CLIENT_SECRET)],
        signature,
        &received[0].body
    ));
    let note: types::PushNotification = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(note.notification.type_, "change");
    assert_eq!(
        note.channel.map(|c| c.channel_id),
        Some(channel.channel_id.clone())
    );

    cronofy
        .close_channel()
        .channel_id(&channel.channel_id)
        .send()
        .await
        .unwrap();
    assert!(
        cronofy
            .list_channels()
            .send()
            .await
            .unwrap()
            .into_inner()
            .channels
            .is_empty()
    );
    let again = Error::from(
        cronofy
            .close_channel()
            .channel_id(&channel.channel_id)
            .send()
            .await
            .unwrap_err(),
    );
    assert!(again.is_not_found());
}

// ------------------------------------------------------------------ availability

#[tokio::test]
async fn availability_around_two_events_yields_the_expected_slots() {
    let server = sandbox().start().await.unwrap();
    let alice = signed_in(&server, ALICE).await;
    let calendar = server.primary_calendar_id(ALICE).unwrap();
    alice
        .upsert_event(
            &calendar,
            &event(
                "a",
                "Review",
                "2026-11-25T10:00:00Z",
                "2026-11-25T11:00:00Z",
            ),
        )
        .await
        .unwrap();
    alice
        .upsert_event(
            &calendar,
            &event("b", "Lunch", "2026-11-25T12:30:00Z", "2026-11-25T13:00:00Z"),
        )
        .await
        .unwrap();
    let query = |extra: Value| -> types::AvailabilityQuery {
        let mut q = json!({
            "participants": [{"members": [{"sub": ALICE}], "required": "all"}],
            "required_duration": {"minutes": 60},
            "query_periods": [{"start": "2026-11-25T09:00:00Z", "end": "2026-11-25T17:00:00Z"}],
            "response_format": "slots",
        });
        for (k, v) in extra.as_object().unwrap() {
            q[k] = v.clone();
        }
        typed(q)
    };
    // The client sends the client secret (the spec's first scheme).
    let result = alice
        .query_availability()
        .body(query(json!({})))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        slots(&result),
        [
            ("09:00", "10:00"),
            ("11:00", "12:00"),
            ("13:00", "14:00"),
            ("14:00", "15:00"),
            ("15:00", "16:00"),
            ("16:00", "17:00")
        ]
        .map(|(s, e)| (s.to_string(), e.to_string()))
    );
    assert_eq!(result.available_slots[0].participants[0].sub, ALICE);

    // 15-minute buffers rule out 09:00, 11:00 (too close to 12:30) and 13:00;
    // the 30-minute grid offers 13:30; three results at most.
    let buffered = alice
        .query_availability()
        .body(query(json!({
            "buffer": {"before": {"minutes": 15}, "after": {"minutes": 15}},
            "start_interval": {"minutes": 30},
            "max_results": 3,
        })))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        slots(&buffered),
        [("13:30", "14:30"), ("14:30", "15:30"), ("15:30", "16:30")]
            .map(|(s, e)| (s.to_string(), e.to_string()))
    );

    // Periods: the free stretches of at least an hour.
    let periods = alice
        .query_availability()
        .body(query(json!({"response_format": "periods"})))
        .send()
        .await
        .unwrap()
        .into_inner();
    let stretches: Vec<(String, String)> = periods
        .available_periods
        .iter()
        .map(|p| {
            (
                p.start.0.format("%H:%M").to_string(),
                p.end.0.format("%H:%M").to_string(),
            )
        })
        .collect();
    assert_eq!(
        stretches,
        [("09:00", "10:00"), ("11:00", "12:30"), ("13:00", "17:00")]
            .map(|(s, e)| (s.to_string(), e.to_string()))
    );

    // Two people, both required: Bob is away in the afternoon.
    let bob_calendar = server.primary_calendar_id(BOB).unwrap();
    server
        .add_event(
            &bob_calendar,
            "Away",
            utc("2026-11-25T13:00:00Z"),
            utc("2026-11-25T17:00:00Z"),
        )
        .unwrap();
    let both = alice
        .query_availability()
        .body(query(json!({"participants": [{"members": [{"sub": ALICE}, {"sub": BOB}], "required": "all"}]})))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        slots(&both),
        [("09:00", "10:00"), ("11:00", "12:00")].map(|(s, e)| (s.to_string(), e.to_string()))
    );
    let one_of = alice
        .query_availability()
        .body(query(
            json!({"participants": [{"members": [{"sub": ALICE}, {"sub": BOB}], "required": 1}]}),
        ))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(one_of.available_slots.len(), 8);
    let subs: Vec<&str> = one_of.available_slots[1]
        .participants
        .iter()
        .map(|p| p.sub.as_str())
        .collect();
    assert_eq!(subs, [BOB], "10:00-11:00 is Bob's alone");
}

#[tokio::test]
async fn availability_rules_and_available_periods_shape_managed_availability() {
    let server = sandbox().start().await.unwrap();
    let alice = signed_in(&server, ALICE).await;
    // 2026-11-25 is a Wednesday.
    let rule: types::AvailabilityRule = typed(json!({
        "availability_rule_id": "work-hours",
        "tzid": "Europe/Paris",
        "weekly_periods": [{"day": "wednesday", "start_time": "10:00", "end_time": "12:00"}],
    }));
    let saved = alice
        .upsert_availability_rule()
        .body(rule.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(saved.availability_rule, rule);
    let listed = alice
        .list_availability_rules()
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.availability_rules, std::slice::from_ref(&rule));
    let one = alice
        .get_availability_rule()
        .availability_rule_id("work-hours")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(one.availability_rule, rule);

    let query: types::AvailabilityQuery = typed(json!({
        "participants": [{"members": [{"sub": ALICE, "managed_availability": true}]}],
        "required_duration": {"minutes": 60},
        "query_periods": [{"start": "2026-11-25T00:00:00Z", "end": "2026-11-26T00:00:00Z"}],
        "response_format": "slots",
    }));
    let result = alice
        .query_availability()
        .body(query.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    // 10:00-12:00 in Paris is 09:00-11:00 UTC.
    assert_eq!(
        slots(&result),
        [("09:00", "10:00"), ("10:00", "11:00")].map(|(s, e)| (s.to_string(), e.to_string()))
    );

    // An available period adds to the rule.
    let period: types::AvailablePeriodUpsert = typed(json!({
        "available_period_id": "evening",
        "start": "2026-11-25T18:00:00Z",
        "end": "2026-11-25T19:00:00Z",
    }));
    alice
        .upsert_available_period()
        .body(period)
        .send()
        .await
        .unwrap();
    let listed = alice
        .available_periods()
        .stream()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].available_period_id, "evening");
    // Thirty more in December make two pages.
    for day in 1..=30 {
        let period: types::AvailablePeriodUpsert = typed(json!({
            "available_period_id": format!("dec-{day:02}"),
            "start": format!("2026-12-{day:02}T09:00:00Z"),
            "end": format!("2026-12-{day:02}T10:00:00Z"),
        }));
        alice
            .upsert_available_period()
            .body(period)
            .send()
            .await
            .unwrap();
    }
    let mut pages = alice.available_periods().from("2026-12-01").stream();
    let first = pages.try_next().await.unwrap().unwrap();
    assert_eq!(first.available_period_id, "dec-01");
    assert_eq!(
        pages.current_page().map(|p| (p.current, p.total)),
        Some((1, 2))
    );
    let rest = pages.collect_all().await.unwrap();
    assert_eq!(rest.len(), 29);
    alice
        .delete_available_period()
        .body(types::AvailablePeriodDeleteOne {
            available_period_id: "dec-01".into(),
        })
        .send()
        .await
        .unwrap();
    let left = alice
        .available_periods()
        .from("2026-12-01")
        .stream()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(left.len(), 29);
    let result = alice
        .query_availability()
        .body(query.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(result.available_slots.len(), 3);

    alice
        .delete_available_period()
        .body(types::AvailablePeriodDeleteAll { delete_all: true })
        .send()
        .await
        .unwrap();
    alice
        .delete_availability_rule()
        .availability_rule_id("work-hours")
        .send()
        .await
        .unwrap();
    let err = Error::from(
        alice
            .get_availability_rule()
            .availability_rule_id("work-hours")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(err.is_not_found());
    // Without rules or periods the member is not restricted.
    let result = alice
        .query_availability()
        .body(query)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(result.available_slots.len(), 24);
}

#[tokio::test]
async fn sequenced_availability_chains_one_slot_per_step() {
    let server = sandbox().start().await.unwrap();
    let alice = signed_in(&server, ALICE).await;
    let bob_calendar = server.primary_calendar_id(BOB).unwrap();
    server
        .add_event(
            &bob_calendar,
            "Busy",
            utc("2026-11-25T10:00:00Z"),
            utc("2026-11-25T12:00:00Z"),
        )
        .unwrap();
    let query: types::SequencedAvailabilityQuery = typed(json!({
        "query_periods": [{"start": "2026-11-25T09:00:00Z", "end": "2026-11-25T14:00:00Z"}],
        "sequence": [
            {"sequence_id": "screen", "ordinal": 1, "participants": [{"members": [{"sub": ALICE}]}], "required_duration": {"minutes": 60}},
            {"sequence_id": "onsite", "ordinal": 2, "participants": [{"members": [{"sub": BOB}]}], "required_duration": {"minutes": 60}},
        ],
    }));
    let result = alice
        .query_sequenced_availability()
        .body(query)
        .send()
        .await
        .unwrap()
        .into_inner();
    let first: Vec<(String, String)> = result.sequences[0]
        .sequence
        .iter()
        .map(|s| (s.sequence_id.clone(), s.start.0.format("%H:%M").to_string()))
        .collect();
    assert_eq!(
        first,
        [("screen", "09:00"), ("onsite", "12:00")].map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(result.sequences.len(), 4);
}

// ------------------------------------------------------------------ smart invites, bookable events

#[tokio::test]
async fn a_smart_invite_is_created_replied_to_updated_and_cancelled() {
    let server = sandbox().start().await.unwrap();
    let (app, _) = client(&server, MemoryTokenStore::new());
    let invite = |summary: &str| -> types::SmartInviteRequest {
        typed(json!({
            "method": "request",
            "smart_invite_id": "board-2026-11",
            "callback_url": "https://example.com/smart_invite/notifications",
            "recipient": {"email": "cronofy@example.com"},
            "event": {
                "summary": summary,
                "start": "2026-11-25T09:30:00Z",
                "end": "2026-11-25T10:00:00Z",
                "tzid": "Europe/London",
                "location": {"description": "Board room"},
            },
            "organizer": {"name": "Smart invite application", "email": "organizer@example.com"},
        }))
    };
    let created = app
        .upsert_smart_invite()
        .body(invite("Board meeting"))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.smart_invite_id, "board-2026-11");
    let recipient = created.recipient.as_ref().unwrap();
    assert_eq!(recipient.email, "cronofy@example.com");
    assert_eq!(recipient.status.as_deref(), Some("pending"));
    let answered = serde_json::to_value(&created.event).unwrap();
    assert_eq!(
        answered["start"],
        json!({"time": "2026-11-25T09:30:00Z", "tzid": "Europe/London"})
    );
    let ics = created.attachments.unwrap().icalendar.unwrap();
    for line in [
        "METHOD:REQUEST",
        "UID:board-2026-11",
        "SEQUENCE:0",
        "DTSTART:20261125T093000Z",
        "DTEND:20261125T100000Z",
        "SUMMARY:Board meeting",
        "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:cronofy@example.com",
    ] {
        assert!(ics.contains(&format!("{line}\r\n")), "{line} not in {ics}");
    }

    server
        .reply_to_smart_invite("board-2026-11", "cronofy@example.com", "accepted")
        .unwrap();
    let got = app
        .get_smart_invite()
        .smart_invite_id("board-2026-11")
        .recipient_email("cronofy@example.com")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.recipient.unwrap().status.as_deref(), Some("accepted"));
    assert!(got.attachments.is_none(), "ICS only with include_ics");

    // An update keeps the reply and raises the sequence.
    let updated = app
        .upsert_smart_invite()
        .body(invite("Board meeting (moved room)"))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        updated.recipient.unwrap().status.as_deref(),
        Some("accepted")
    );
    let ics = updated.attachments.unwrap().icalendar.unwrap();
    assert!(ics.contains("SEQUENCE:1\r\n"), "{ics}");
    assert!(
        ics.contains("SUMMARY:Board meeting (moved room)\r\n"),
        "{ics}"
    );

    let cancelled = app
        .upsert_smart_invite()
        .body(typed::<types::SmartInviteRequest>(json!({
            "method": "cancel",
            "smart_invite_id": "board-2026-11",
            "recipient": {"email": "cronofy@example.com"},
        })))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cancelled.method.as_deref(), Some("cancel"));
    let ics = cancelled.attachments.unwrap().icalendar.unwrap();
    assert!(
        ics.contains("METHOD:CANCEL\r\n") && ics.contains("STATUS:CANCELLED\r\n"),
        "{ics}"
    );

    // Unknown invite or recipient: 404; bad input: 422 naming the field.
    let missing = app
        .get_smart_invite()
        .smart_invite_id("board-2026-11")
        .recipient_email("someone.else@example.com")
        .send()
        .await
        .map_err(Error::from)
        .unwrap_err();
    assert!(missing.is_not_found(), "{missing:?}");
    let mut backwards = serde_json::to_value(invite("x")).unwrap();
    backwards["event"]["end"] = json!("2026-11-25T09:00:00Z");
    assert_eq!(
        fields(
            app.upsert_smart_invite()
                .body(typed::<types::SmartInviteRequest>(backwards))
                .send()
                .await
                .map_err(Error::from)
        ),
        [(
            "event.end".to_string(),
            "end must be after start".to_string()
        )]
    );
    let mut no_recipient = serde_json::to_value(invite("x")).unwrap();
    no_recipient.as_object_mut().unwrap().remove("recipient");
    assert_eq!(
        fields(
            app.upsert_smart_invite()
                .body(typed::<types::SmartInviteRequest>(no_recipient))
                .send()
                .await
                .map_err(Error::from)
        ),
        [(
            "recipient".to_string(),
            "recipient must be specified".to_string()
        )]
    );
}

#[tokio::test]
async fn a_bookable_event_takes_registrations_up_to_its_capacity() {
    let server = sandbox().start().await.unwrap();
    let (app, _) = client(&server, MemoryTokenStore::new());
    let created = app
        .create_bookable_event()
        .body(typed::<types::BookableEventCreate>(json!({
            "bookable_event_id": "83hi8qhfiaif",
            "start": "2026-11-24T12:30:00Z",
            "end": "2026-11-24T17:00:00Z",
            "status": "confirmed",
            "registration": {"capacity": 2},
        })))
        .send()
        .await
        .unwrap()
        .into_inner();
    let registration = created.registration.unwrap();
    assert_eq!(
        (registration.capacity, registration.registered_count),
        (Some(2), Some(0))
    );

    let register = |id: &str, status: &str| -> types::RegistrationUpsert {
        typed(json!({
            "registration_id": id,
            "status": status,
            "metadata": {"email": format!("{id}@example.com")},
        }))
    };
    for id in ["r1", "r2"] {
        app.upsert_bookable_event_registration()
            .bookable_event_id("83hi8qhfiaif")
            .body(register(id, "accepted"))
            .send()
            .await
            .unwrap();
    }
    let full = app
        .upsert_bookable_event_registration()
        .bookable_event_id("83hi8qhfiaif")
        .body(register("r3", "accepted"))
        .send()
        .await
        .map_err(Error::from)
        .unwrap_err();
    let api = full.api().unwrap();
    assert_eq!(api.status.as_u16(), 422);
    assert_eq!(api.fields[0].field, "registration_id");
    // A pending registration does not take a place.
    let event = app
        .upsert_bookable_event_registration()
        .bookable_event_id("83hi8qhfiaif")
        .body(register("r3", "pending"))
        .send()
        .await
        .unwrap()
        .into_inner();
    let registration = event.registration.unwrap();
    assert_eq!(
        (registration.registered_count, registration.total_count),
        (Some(2), Some(3))
    );

    let event = app
        .delete_bookable_event_registration()
        .bookable_event_id("83hi8qhfiaif")
        .registration_id("r1")
        .send()
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<String> = event
        .registration
        .unwrap()
        .registrations
        .into_iter()
        .map(|r| r.registration_id)
        .collect();
    assert_eq!(ids, ["r2", "r3"]);
    let got = app
        .get_bookable_event()
        .bookable_event_id("83hi8qhfiaif")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.registration.unwrap().registered_count, Some(1));
    let unknown = app
        .get_bookable_event()
        .bookable_event_id("nope")
        .send()
        .await
        .map_err(Error::from)
        .unwrap_err();
    assert!(unknown.is_not_found(), "{unknown:?}");
}

#[tokio::test]
async fn add_to_calendar_and_real_time_sequencing_check_the_request_and_answer_a_link() {
    let server = sandbox().start().await.unwrap();
    let (app, _) = client(&server, MemoryTokenStore::new());
    let calendar = server.primary_calendar_id(ALICE).unwrap();
    let add = |secret: &str, end: &str| -> types::AddToCalendarRequest {
        typed(json!({
            "client_id": CLIENT_ID,
            "client_secret": secret,
            "oauth": {"redirect_uri": REDIRECT, "scope": "read_events create_event"},
            "event": {
                "event_id": "board", "summary": "Board meeting",
                "start": "2026-11-25T15:30:00Z", "end": end,
            },
            "target_calendars": [{"sub": ALICE, "calendar_id": calendar}],
        }))
    };
    let answer = app
        .add_to_calendar()
        .body(add(CLIENT_SECRET, "2026-11-25T17:00:00Z"))
        .send()
        .await
        .unwrap()
        .into_inner();
    let url = answer.url.unwrap();
    assert!(
        url.starts_with(&format!(
            "{}/add_to_calendar/",
            server.base_url().trim_end_matches('/')
        )),
        "{url}"
    );
    assert_eq!(
        fields(
            app.add_to_calendar()
                .body(add(CLIENT_SECRET, "2026-11-25T15:00:00Z"))
                .send()
                .await
                .map_err(Error::from)
        ),
        [(
            "event.end".to_string(),
            "end must be after start".to_string()
        )]
    );
    let refused = app
        .add_to_calendar()
        .body(add("wrong-secret", "2026-11-25T17:00:00Z"))
        .send()
        .await
        .map_err(Error::from)
        .unwrap_err();
    assert_eq!(
        refused.api().unwrap().code.as_deref(),
        Some("invalid_client")
    );

    let sequencing: types::RealTimeSequencingRequest = typed(json!({
        "oauth": {"redirect_uri": REDIRECT},
        "event": {"event_id": "interview", "summary": "Interview", "tzid": "Europe/London"},
        "availability": {
            "query_periods": [{"start": "2026-11-25T09:00:00Z", "end": "2026-11-25T14:00:00Z"}],
            "sequence": [
                {"sequence_id": "screen", "ordinal": 1, "participants": [{"members": [{"sub": ALICE}]}], "required_duration": {"minutes": 60}},
                {"sequence_id": "onsite", "ordinal": 2, "participants": [{"members": [{"sub": BOB}]}], "required_duration": {"minutes": 60}},
            ],
        },
        "target_calendars": [{"sub": ALICE, "calendar_id": calendar}],
    }));
    let link = app
        .create_real_time_sequencing()
        .body(sequencing.clone())
        .send()
        .await
        .unwrap()
        .into_inner()
        .real_time_sequencing
        .unwrap();
    assert!(link.real_time_sequencing_id.starts_with("seq_"), "{link:?}");
    let mut bad = serde_json::to_value(&sequencing).unwrap();
    bad["availability"]["sequence"][1]["required_duration"] = json!({"minutes": 0});
    assert_eq!(
        fields(
            app.create_real_time_sequencing()
                .body(typed::<types::RealTimeSequencingRequest>(bad))
                .send()
                .await
                .map_err(Error::from)
        )[0]
        .0,
        "availability.sequence.1.required_duration"
    );
}

// ------------------------------------------------------------------ scheduling

#[tokio::test]
async fn real_time_scheduling_links_are_managed_with_the_client_secret() {
    let server = sandbox().start().await.unwrap();
    // No OAuth token at all: the client secret is enough.
    let (app, _) = client(&server, MemoryTokenStore::new());
    let calendar = server.primary_calendar_id(ALICE).unwrap();
    let request: types::RealTimeSchedulingRequest = typed(json!({
        "oauth": {"redirect_uri": REDIRECT},
        "event": {"event_id": "interview", "summary": "Interview", "tzid": "Europe/London"},
        "availability": {
            "participants": [{"members": [{"sub": ALICE, "calendar_ids": [calendar]}], "required": "all"}],
            "required_duration": {"minutes": 60},
            "query_periods": [{"start": "2026-11-25T09:00:00Z", "end": "2026-11-25T18:00:00Z"}],
        },
        "target_calendars": [{"sub": ALICE, "calendar_id": calendar}],
    }));
    let created = app
        .create_real_time_scheduling()
        .body(request.clone())
        .send()
        .await
        .unwrap()
        .into_inner()
        .real_time_scheduling;
    assert!(created.real_time_scheduling_id.starts_with("sch_"));
    let token = created.url.rsplit('/').next().unwrap().to_string();
    let by_token = app
        .get_real_time_scheduling_by_token()
        .token(&token)
        .send()
        .await
        .unwrap()
        .into_inner()
        .real_time_scheduling;
    assert_eq!(by_token.status.as_deref(), Some("open"));
    assert_eq!(
        by_token.real_time_scheduling_id,
        created.real_time_scheduling_id
    );

    let (start, end) = server
        .complete_real_time_scheduling(&created.real_time_scheduling_id)
        .unwrap();
    assert_eq!(
        (start, end),
        (utc("2026-11-25T09:00:00Z"), utc("2026-11-25T10:00:00Z"))
    );
    let done = app
        .get_real_time_scheduling()
        .real_time_scheduling_id(&created.real_time_scheduling_id)
        .send()
        .await
        .unwrap()
        .into_inner()
        .real_time_scheduling;
    assert_eq!(done.status.as_deref(), Some("completed"));
    let event = done.event.unwrap();
    assert_eq!(
        event.start,
        Some(types::EventTime::UtcDateTime(start.into()))
    );
    // The event is now in Alice's calendar.
    let alice = signed_in(&server, ALICE).await;
    let events = alice
        .read_events()
        .only_managed(true)
        .stream()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(events[0].event_id.as_deref(), Some("interview"));

    // A second link is disabled with a message.
    let second = app
        .create_real_time_scheduling()
        .body(request)
        .send()
        .await
        .unwrap()
        .into_inner()
        .real_time_scheduling;
    let disabled = app
        .disable_real_time_scheduling()
        .real_time_scheduling_id(&second.real_time_scheduling_id)
        .body(types::RealTimeSchedulingDisable {
            display_message: "Let's hold off until next month.".try_into().unwrap(),
        })
        .send()
        .await
        .unwrap()
        .into_inner()
        .real_time_scheduling;
    assert_eq!(disabled.status.as_deref(), Some("disabled"));

    // An access token is not the client secret: the server refuses it.
    let token = alice.token().await.unwrap().unwrap();
    let refused = reqwest::Client::new()
        .get(format!(
            "{}/v1/real_time_scheduling/{}",
            server.base_url(),
            second.real_time_scheduling_id
        ))
        .bearer_auth(token.access_token.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );
}

// ------------------------------------------------------------------ batch and rate limits

#[tokio::test]
async fn a_batch_of_sixty_entries_goes_out_as_two_requests_with_results_in_order() {
    let server = sandbox().start().await.unwrap();
    let cronofy = signed_in(&server, ALICE).await;
    let calendar = server.primary_calendar_id(ALICE).unwrap();
    let mut entries: Vec<types::BatchEntry> = (0..60)
        .map(|i| {
            let ev = event(
                &format!("b-{i:02}"),
                &format!("Batch {i:02}"),
                &format!("2026-11-26T{:02}:{:02}:00Z", 8 + i / 6, (i % 6) * 10),
                &format!("2026-11-26T{:02}:{:02}:00Z", 8 + i / 6, (i % 6) * 10 + 5),
            );
            types::BatchEntry::upsert_event(&calendar, &ev).unwrap()
        })
        .collect();
    // Entry 55 lacks its summary; entry 57 deletes an event.
    entries[55].data.remove("summary");
    entries[57] = types::BatchEntry::delete_event(&calendar, "b-00").unwrap();

    let before = server.requests();
    let results = cronofy.send_batch(entries).await.unwrap();
    assert_eq!(server.requests() - before, 2);
    assert_eq!(results.len(), 60);
    for (i, result) in results.iter().enumerate() {
        let expected = if i == 55 { 422 } else { 202 };
        assert_eq!(result.status, expected, "entry {i}");
    }
    let errors = results[55].data.as_ref().unwrap();
    assert_eq!(
        errors.errors["summary"][0].key.as_deref(),
        Some("errors.required")
    );

    let stored = cronofy
        .read_events()
        .only_managed(true)
        .stream()
        .collect_all()
        .await
        .unwrap();
    // 60 upserts, minus the refused one, minus the deleted one, minus the
    // one entry 57 replaced.
    assert_eq!(stored.len(), 57);
    assert_eq!(stored[0].event_id.as_deref(), Some("b-01"));
}

#[tokio::test]
async fn a_rate_limited_call_waits_for_retry_after_and_then_succeeds() {
    let server = sandbox()
        .rate_limit_after(2)
        .rate_limit_window(Duration::from_secs(30))
        .start()
        .await
        .unwrap();
    let waits = Arc::new(Mutex::new(Vec::new()));
    let sleep = {
        let (server, waits) = (server.clone(), waits.clone());
        // Waiting is instant; the window passes when the client waits.
        Sleep::new(move |d| {
            waits.lock().unwrap().push(d);
            server.reset_rate_limit();
            Box::pin(async {})
        })
    };
    let cronofy = Client::builder()
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .base_url(server.base_url())
        .sleep(sleep)
        .build()
        .unwrap();
    let code = server.issue_code(ALICE, REDIRECT);
    cronofy
        .get_authorization_from_code(&code, REDIRECT)
        .await
        .unwrap();
    cronofy.list_calendars().send().await.unwrap();
    let before = server.requests();
    let profiles = cronofy.list_profiles().send().await.unwrap().into_inner();
    assert_eq!(profiles.profiles.len(), 1);
    assert_eq!(server.requests() - before, 2);
    assert_eq!(*waits.lock().unwrap(), [Duration::from_secs(30)]);
}

#[tokio::test]
async fn a_retry_after_beyond_the_wait_budget_ends_as_rate_limited() {
    let server = sandbox()
        .rate_limit_after(1)
        .rate_limit_window(Duration::from_secs(120))
        .start()
        .await
        .unwrap();
    let waits = Waits::default();
    let cronofy = Client::builder()
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .base_url(server.base_url())
        .sleep(waits.sleep())
        .retry(RetryPolicy::standard().max_wait(Duration::from_secs(60)))
        .build()
        .unwrap();
    let code = server.issue_code(ALICE, REDIRECT);
    cronofy
        .get_authorization_from_code(&code, REDIRECT)
        .await
        .unwrap();
    let err = Error::from(cronofy.list_calendars().send().await.unwrap_err());
    match err {
        Error::RateLimited { retry_after } => {
            let secs = retry_after.unwrap().as_secs();
            assert!((119..=120).contains(&secs), "{secs}");
        }
        other => panic!("not rate limited: {other:?}"),
    }
    assert!(waits.recorded().is_empty());
}

#[tokio::test]
async fn an_application_calendar_keeps_its_id_and_gets_fresh_tokens() {
    let server = sandbox().start().await.unwrap();
    let (cronofy, _) = client(&server, MemoryTokenStore::new());
    let first = cronofy.application_calendar("room-42").await.unwrap();
    let sub = first.subject.clone().unwrap();
    assert!(sub.starts_with("apc_"), "{sub}");
    let calendars = cronofy.list_calendars().send().await.unwrap().into_inner();
    assert_eq!(
        calendars.calendars[0].provider_name.as_deref(),
        Some("cronofy")
    );
    let second = cronofy.application_calendar("room-42").await.unwrap();
    assert_eq!(second.subject, Some(sub));
    assert_ne!(second.access_token, first.access_token);
}
