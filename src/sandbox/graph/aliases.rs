//! Graph paths the spec leaves out that clients use (O365 among them), each
//! answered as the operation it is another name for: `{mailbox}/calendar/events`
//! (the default calendar's events), `calendar/events/{id}`,
//! `calendars/{id}/events/{id}`, `calendar/calendarView` and
//! `calendars/{id}/calendarView` (one calendar's view),
//! `mailFolders/{id}/messages/{id}`, `contactFolders/{id}/contacts/{id}`,
//! and `/beta/...` as `/v1.0/...`.

use super::dispatch::Shared;
use super::store::Caller;
use crate::sandbox::engine::{self, Request, Response};

/// The header that narrows `calendarView` to one calendar (set only here).
pub(super) const VIEW_CALENDAR: &str = "x-sandbox-view-calendar";

/// The answer of an aliased path, if `request` is one.
pub(super) fn answer(shared: &Shared, request: &Request) -> Option<Response> {
    if let Some(rest) = request.path.strip_prefix("/beta/") {
        let mut moved = request.clone();
        moved.path = format!("/v1.0/{rest}");
        return Some(engine::dispatch(shared, moved).1);
    }
    let path = request.path.strip_prefix("/v1.0/")?;
    let (mailbox, rest) = if let Some(rest) = path.strip_prefix("me/") {
        ("me".to_string(), rest)
    } else {
        let after = path.strip_prefix("users/")?;
        let (user, rest) = after.split_once('/')?;
        (format!("users/{user}"), rest)
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let mut calendar = None;
    let target = match segments.as_slice() {
        ["calendar", "events"] => {
            let id = default_calendar(shared, request, &mailbox)?;
            format!("{mailbox}/calendars/{id}/events")
        }
        ["calendar", "events", tail @ ..] | ["calendars", _, "events", tail @ ..]
            if !tail.is_empty() =>
        {
            format!("{mailbox}/events/{}", tail.join("/"))
        }
        ["calendar", "calendarView"] => {
            calendar = Some(default_calendar(shared, request, &mailbox)?);
            format!("{mailbox}/calendarView")
        }
        ["calendars", id, "calendarView"] => {
            calendar = Some((*id).to_string());
            format!("{mailbox}/calendarView")
        }
        ["mailFolders", _, "messages", tail @ ..] if !tail.is_empty() && tail[0] != "delta" => {
            format!("{mailbox}/messages/{}", tail.join("/"))
        }
        ["contactFolders", _, "contacts", tail @ ..] if !tail.is_empty() && tail[0] != "delta" => {
            format!("{mailbox}/contacts/{}", tail.join("/"))
        }
        _ => return None,
    };
    let mut moved = request.clone();
    moved.path = format!("/v1.0/{target}");
    moved.headers.remove(VIEW_CALENDAR);
    if let Some(v) = calendar.and_then(|id| http::HeaderValue::from_str(&id).ok()) {
        moved.headers.insert(VIEW_CALENDAR, v);
    }
    Some(engine::dispatch(shared, moved).1)
}

/// The id of the default calendar of `mailbox` (`me` or `users/{id}`), as
/// the request's token lets the caller see it.
fn default_calendar(shared: &Shared, request: &Request, mailbox: &str) -> Option<String> {
    let token = request.header("authorization").and_then(|v| {
        v.strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
    });
    let caller = shared.authenticate(token).ok();
    shared.with_state(|store| {
        let user = match (mailbox.strip_prefix("users/"), caller) {
            (Some(key), _) => store.user(&super::dispatch::decode(key))?.id.clone(),
            (None, Some(Caller::User(id))) => id,
            // Let the operation itself refuse the caller.
            _ => return Some("unknown".to_string()),
        };
        store
            .default_calendar(&user)
            .or(Some("unknown".to_string()))
    })
}
