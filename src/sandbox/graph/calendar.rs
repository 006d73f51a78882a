//! Calendars, calendar groups and events: events keep the time zone they
//! were written in (`originalStartTimeZone`) and are shown in UTC, or in the
//! zone of `Prefer: outlook.timezone`; all-day events must start and end at
//! midnight; a repeated `transactionId` answers the event made the first
//! time. `calendarView` answers the events (and the occurrences of series,
//! see [`super::schedule`]) that overlap its window, earliest first;
//! delta rounds track the events of a window. Responses to invitations,
//! cancellations (organizers only), forwards and reminders change the
//! event. Free/busy and meeting times are in [`super::schedule`].

use chrono::{DateTime, Utc};
use http::StatusCode;
use serde_json::{Map, Value, json};

use super::dispatch::{Ctx, Req, decode};
use super::errors::{GraphErr, Outcome, accepted, bad_request, created, no_content, not_found, ok};
use super::pages::{Round, outlook_removed};
use super::store::{Row, Store, UserRow, outlook_id};
use super::subscriptions::Watch;
use super::times::{
    dttz, fmt_local, fmt_utc, is_midnight, parse_instant, preferred_zone, read_dttz, zone,
};

/// Properties a client may set on an event (`EventInput`), beside its times.
const WRITABLE: &[&str] = &[
    "subject",
    "body",
    "location",
    "locations",
    "attendees",
    "recurrence",
    "categories",
    "importance",
    "sensitivity",
    "showAs",
    "isReminderOn",
    "reminderMinutesBeforeStart",
    "responseRequested",
    "allowNewTimeProposals",
    "hideAttendees",
    "isOnlineMeeting",
    "onlineMeetingProvider",
    "transactionId",
];

impl Store {
    /// The calendar operations.
    pub(super) fn calendar(&mut self, ctx: &Ctx<'_>, req: &Req) -> Outcome {
        let event_id = req.param("event_id");
        // A `calendar` path value names the user and one of their calendars;
        // an event below it must be in that calendar.
        let (user, calendar) = if req.has_param("calendar") {
            let (user, calendar) = self.named_calendar(req)?;
            if !event_id.is_empty() {
                self.event_in(&user, &calendar, event_id)?;
            }
            (user, calendar)
        } else if req.has_param("calendar_owner") {
            (req.user(self, "calendar_owner")?, String::new())
        } else {
            (req.user(self, "mailbox")?, String::new())
        };
        let zone = preferred_zone(req.header("prefer")).unwrap_or_else(|| "UTC".into());
        match req.op.id {
            "get_default_calendar" => {
                let id = self.default_calendar(&user).unwrap_or_default();
                ok(self.calendars.find(&user, &id)?.value())
            }
            "list_calendars" => {
                let items = self.calendars.of(&user).map(Row::value).collect();
                ctx.list(req, "Calendar", items)
            }
            "list_group_calendars" => {
                let group = req.param("calendar_group_id");
                self.calendar_groups.find(&user, group)?;
                let items = self
                    .calendars
                    .within(&user, group)
                    .map(Row::value)
                    .collect();
                ctx.list(req, "Calendar", items)
            }
            "create_calendar" | "create_group_calendar" => {
                let group = match req.op.id {
                    "create_group_calendar" => req.param("calendar_group_id").to_string(),
                    _ => self
                        .calendar_groups
                        .of(&user)
                        .next()
                        .map(|g| g.id().to_string())
                        .unwrap_or_default(),
                };
                self.calendar_groups.find(&user, &group)?;
                let name = req.text("name").trim().to_string();
                self.create_calendar(&user, &group, &name, req.field("color").as_str())
            }
            "get_calendar" => ok(self
                .calendars
                .find(&user, req.param("calendar_id"))?
                .value()),
            "update_calendar" => {
                let body = req.body.clone();
                ok(self
                    .calendars
                    .update(&user, req.param("calendar_id"), |r| {
                        for key in ["name", "color"] {
                            if let Some(v) = body.get(key) {
                                r.json.insert(key.into(), v.clone());
                            }
                        }
                    })?)
            }
            "delete_calendar" => {
                let id = req.param("calendar_id");
                if self
                    .calendars
                    .find(&user, id)?
                    .json
                    .get("isDefaultCalendar")
                    == Some(&json!(true))
                {
                    return Err(bad_request(
                        "ErrorInvalidRequest",
                        "Your request can't be completed. The default calendar can't be deleted.",
                    ));
                }
                self.calendars.remove(&user, id)?;
                let events: Vec<String> = self
                    .events
                    .within(&user, id)
                    .map(|r| r.id().to_string())
                    .collect();
                for e in events {
                    self.events.remove(&user, &e)?;
                }
                no_content()
            }
            "list_calendar_groups" => {
                let items = self.calendar_groups.of(&user).map(Row::value).collect();
                ctx.list(req, "CalendarGroup", items)
            }
            "create_calendar_group" => {
                let name = req.text("name").trim().to_string();
                created(self.create_group(&user, &name)?)
            }
            "get_calendar_group" => ok(self
                .calendar_groups
                .find(&user, req.param("calendar_group_id"))?
                .value()),
            "update_calendar_group" => {
                let name = req.field("name").clone();
                ok(self
                    .calendar_groups
                    .update(&user, req.param("calendar_group_id"), |r| {
                        if name.is_string() {
                            r.json.insert("name".into(), name);
                        }
                    })?)
            }
            "delete_calendar_group" => {
                let group = req.param("calendar_group_id");
                if self.calendars.within(&user, group).next().is_some() {
                    return Err(bad_request(
                        "ErrorInvalidRequest",
                        "A calendar group that still holds calendars cannot be deleted.",
                    ));
                }
                self.calendar_groups.remove(&user, group)?;
                no_content()
            }
            "list_events" => {
                let items = self
                    .events
                    .of(&user)
                    .map(|r| show_event(r, &zone))
                    .collect();
                ctx.list(req, "Event", items)
            }
            "list_calendar_events" => {
                let items = self
                    .events
                    .within(&user, &calendar)
                    .map(|r| show_event(r, &zone))
                    .collect();
                ctx.list(req, "Event", items)
            }
            "create_event" => {
                let calendar = self.default_calendar(&user).unwrap_or_default();
                self.calendars.find(&user, &calendar)?;
                self.create_event(req, &user, &calendar, &zone)
            }
            "create_calendar_event" => self.create_event(req, &user, &calendar, &zone),
            "list_calendar_view" => self.calendar_view(ctx, req, &user, None, &zone),
            "list_calendar_view_of_calendar" => {
                self.calendar_view(ctx, req, &user, Some(&calendar), &zone)
            }
            "event_delta" => {
                let (from, to) = window(req, &zone)?;
                let in_window = |r: &Row| overlaps(r, from, to);
                let show = |r: &Row| show_event(r, &zone);
                ctx.delta(
                    req,
                    &Round {
                        table: &self.events,
                        owner: &user,
                        schema: "Event",
                        token: "$deltatoken",
                        scope: &in_window,
                        left: &|_| true,
                        show: &show,
                        removed: &outlook_removed,
                    },
                )
            }
            "get_event" | "get_calendar_event" => {
                let event = match self.occurrence(&user, event_id, &zone) {
                    Some(occurrence) => occurrence,
                    None => show_event(self.events.find(&user, event_id)?, &zone),
                };
                ctx.one(req, "Event", event)
            }
            "update_event" | "update_calendar_event" => self.update_event(req, &user, &zone),
            "delete_event" | "delete_calendar_event" => {
                let row = self.events.remove(&user, event_id)?;
                self.changed(Watch::Events, &user, &row.parent, event_id, "deleted");
                no_content()
            }
            "list_event_instances" => {
                let (from, to) = window(req, &zone)?;
                let master = self.events.find(&user, event_id)?;
                let items = super::schedule::instances(master, from, to, &zone);
                ctx.list(req, "Event", items)
            }
            "accept_event" | "decline_event" | "tentatively_accept_event" => {
                let response = match req.op.id {
                    "accept_event" => "accepted",
                    "decline_event" => "declined",
                    _ => "tentativelyAccepted",
                };
                if self.events.find(&user, event_id)?.json.get("isOrganizer") == Some(&json!(true))
                {
                    return Err(bad_request(
                        "ErrorInvalidRequest",
                        "Your request can't be completed. You can't respond to this meeting because you're the meeting organizer.",
                    ));
                }
                self.touch_event(&user, event_id, |json| {
                    json.insert(
                        "responseStatus".into(),
                        json!({"response": response, "time": fmt_utc(Utc::now())}),
                    );
                })?;
                accepted()
            }
            "cancel_event" => {
                if self.events.find(&user, event_id)?.json.get("isOrganizer") != Some(&json!(true))
                {
                    return Err(bad_request(
                        "ErrorAccessDenied",
                        "Your request can't be completed. You need to be an organizer to cancel a meeting.",
                    ));
                }
                let row = self.events.remove(&user, event_id)?;
                self.changed(Watch::Events, &user, &row.parent, event_id, "deleted");
                accepted()
            }
            "forward_event" => {
                self.events.find(&user, event_id)?;
                accepted()
            }
            "dismiss_reminder" => {
                self.touch_event(&user, event_id, |json| {
                    json.insert("isReminderOn".into(), json!(false));
                })?;
                Ok(crate::sandbox::engine::Response::empty(StatusCode::OK))
            }
            "snooze_reminder" => {
                read_dttz("newReminderTime", req.field("newReminderTime"))?;
                self.touch_event(&user, event_id, |json| {
                    json.insert("isReminderOn".into(), json!(true));
                })?;
                Ok(crate::sandbox::engine::Response::empty(StatusCode::OK))
            }
            "get_schedule" => self.get_schedule(req),
            "find_meeting_times" => self.find_meeting_times(req, &user),
            other => Err(super::dispatch::not_implemented("calendar", other)),
        }
    }

    /// The user and calendar id a `calendar` path value names: a default
    /// calendar (`me/calendar`), one by id (`me/calendars/{id}`), or one by
    /// id below its calendar group (`me/calendarGroups/{group}/calendars/{id}`).
    fn named_calendar(&self, req: &Req) -> Result<(String, String), GraphErr> {
        let raw = req.param("calendar");
        let segments: Vec<&str> = raw.split('/').collect();
        let owner = if segments.first() == Some(&"me") {
            1
        } else {
            2
        };
        let user = req.user_named(self, &segments[..owner.min(segments.len())].join("/"))?;
        let calendar = match segments.get(owner..).unwrap_or_default() {
            ["calendar"] => self
                .default_calendar(&user)
                .ok_or_else(|| not_found("calendar"))?,
            ["calendars", id] => self.calendars.find(&user, &decode(id))?.id().to_string(),
            ["calendarGroups", group, "calendars", id] => {
                let row = self.calendars.find(&user, &decode(id))?;
                if row.parent != decode(group) {
                    return Err(not_found(id));
                }
                row.id().to_string()
            }
            _ => return Err(not_found(raw)),
        };
        Ok((user, calendar))
    }

    /// 404 unless event `id` of `user` (or the series an occurrence's id
    /// names) is in `calendar`.
    fn event_in(&self, user: &str, calendar: &str, id: &str) -> Result<(), GraphErr> {
        let row = self.events.get(user, id).or_else(|| {
            id.rsplit_once('_')
                .and_then(|(master, _)| self.events.get(user, master))
        });
        match row {
            Some(row) if row.parent == calendar => Ok(()),
            _ => Err(not_found(id)),
        }
    }

    /// `calendarView` of `user` (of one calendar when `calendar` is given).
    pub(super) fn calendar_view(
        &self,
        ctx: &Ctx<'_>,
        req: &Req,
        user: &str,
        calendar: Option<&str>,
        zone: &str,
    ) -> Outcome {
        let (from, to) = window(req, zone)?;
        let mut items: Vec<(DateTime<Utc>, Value)> = Vec::new();
        for row in self
            .events
            .of(user)
            .filter(|r| calendar.is_none_or(|c| r.parent == c))
        {
            if row.json.get("recurrence").is_some_and(|r| !r.is_null()) {
                for instance in super::schedule::instances(row, from, to, zone) {
                    items.push((start_of(&instance).unwrap_or(from), instance));
                }
            } else if overlaps(row, from, to) {
                items.push((
                    instant(row, "_startUtc").unwrap_or(from),
                    show_event(row, zone),
                ));
            }
        }
        items.sort_by_key(|(start, _)| *start);
        ctx.list(req, "Event", items.into_iter().map(|(_, v)| v).collect())
    }

    fn create_calendar(
        &mut self,
        user: &str,
        group: &str,
        name: &str,
        color: Option<&str>,
    ) -> Outcome {
        if name.is_empty() {
            return Err(bad_request(
                "ErrorInvalidRequest",
                "The calendar's name must not be empty.",
            ));
        }
        if self
            .calendars
            .of(user)
            .any(|c| c.text("name").eq_ignore_ascii_case(name))
        {
            return Err(GraphErr::new(
                StatusCode::CONFLICT,
                "ErrorFolderExists",
                "A folder with the specified name already exists.",
            ));
        }
        let owner = self.user_by_id(user)?.clone();
        created(self.calendars.insert(
            user,
            group,
            calendar_json(&owner, name, color.unwrap_or("auto"), false),
        ))
    }

    fn create_group(&mut self, user: &str, name: &str) -> Result<Value, GraphErr> {
        if name.is_empty() {
            return Err(bad_request(
                "ErrorInvalidRequest",
                "The calendar group's name must not be empty.",
            ));
        }
        let json = json!({"id": outlook_id(), "name": name, "classId": super::store::guid(), "changeKey": ""});
        Ok(self
            .calendar_groups
            .insert(user, "", json.as_object().cloned().unwrap_or_default()))
    }

    fn create_event(&mut self, req: &Req, user: &str, calendar: &str, zone: &str) -> Outcome {
        let input = req.body.as_object().cloned().unwrap_or_default();
        let tx = input.get("transactionId").and_then(Value::as_str);
        if let Some(row) =
            tx.and_then(|tx| self.events.of(user).find(|r| r.text("transactionId") == tx))
        {
            return created(show_event(row, zone));
        }
        let organizer = self.user_by_id(user)?.clone();
        let mut json = event_json(&organizer);
        set_times(&mut json, &input, true)?;
        for key in WRITABLE {
            if let Some(v) = input.get(*key) {
                json.insert((*key).to_string(), v.clone());
            }
        }
        json.insert(
            "bodyPreview".into(),
            json!(
                input
                    .get("body")
                    .and_then(|b| b["content"].as_str())
                    .unwrap_or("")
            ),
        );
        if let Some(Value::Array(attendees)) = input.get("attendees") {
            let with_status: Vec<Value> = attendees
                .iter()
                .map(|a| {
                    let mut a = a.clone();
                    a["status"] = json!({"response": "none", "time": "0001-01-01T00:00:00Z"});
                    a
                })
                .collect();
            json.insert("attendees".into(), json!(with_status));
        }
        if input.get("recurrence").is_some_and(|r| !r.is_null()) {
            json.insert("type".into(), json!("seriesMaster"));
        }
        let event = self.events.insert(user, calendar, json);
        let id = event["id"].as_str().unwrap_or("").to_string();
        self.changed(Watch::Events, user, calendar, &id, "created");
        created(show_event(self.events.find(user, &id)?, zone))
    }

    fn update_event(&mut self, req: &Req, user: &str, zone: &str) -> Outcome {
        let id = req.param("event_id");
        let input = req.body.as_object().cloned().unwrap_or_default();
        let mut json = self.events.find(user, id)?.json.clone();
        set_times(&mut json, &input, false)?;
        for key in WRITABLE {
            if let Some(v) = input.get(*key) {
                json.insert((*key).to_string(), v.clone());
            }
        }
        let row = self.touch_event(user, id, |stored| *stored = json)?;
        ok(show_event(&row, zone))
    }

    /// Changes event `id` of `user` with `change` and tells the subscribers.
    fn touch_event(
        &mut self,
        user: &str,
        id: &str,
        change: impl FnOnce(&mut Map<String, Value>),
    ) -> Result<Row, GraphErr> {
        self.events.update(user, id, |r| change(&mut r.json))?;
        let row = self.events.find(user, id)?.clone();
        self.changed(Watch::Events, user, &row.parent, id, "updated");
        Ok(row)
    }

    /// An occurrence of a series by its id (`{master id}_{yyyymmdd}`).
    fn occurrence(&self, user: &str, id: &str, zone: &str) -> Option<Value> {
        let (master, day) = id.rsplit_once('_')?;
        let row = self.events.get(user, master)?;
        let date = chrono::NaiveDate::parse_from_str(day, "%Y%m%d").ok()?;
        let from = date.and_hms_opt(0, 0, 0)?.and_utc() - chrono::Duration::days(1);
        super::schedule::instances(row, from, from + chrono::Duration::days(3), zone)
            .into_iter()
            .find(|o| o["id"] == id)
    }

    /// Seeds `user`'s calendar group, default calendar and one meeting they
    /// were invited to (tomorrow at 10:00 UTC, by Megan Bowen).
    pub(super) fn seed_calendar(&mut self, user: &UserRow) {
        let group = self
            .create_group(&user.id, "My Calendars")
            .unwrap_or_default();
        let group = group["id"].as_str().unwrap_or("").to_string();
        let calendar = self.calendars.insert(
            &user.id,
            &group,
            calendar_json(user, "Calendar", "auto", true),
        );
        let calendar = calendar["id"].as_str().unwrap_or("").to_string();
        let megan =
            json!({"emailAddress": {"name": "Megan Bowen", "address": "megan@contoso.com"}});
        let mut json = event_json(user);
        let start = (Utc::now() + chrono::Duration::days(1))
            .date_naive()
            .and_hms_opt(10, 0, 0)
            .unwrap_or_default();
        let times = json!({
            "start": {"dateTime": fmt_local(start), "timeZone": "UTC"},
            "end": {"dateTime": fmt_local(start + chrono::Duration::minutes(30)), "timeZone": "UTC"},
        });
        let _ = set_times(&mut json, times.as_object().unwrap_or(&Map::new()), true);
        json.insert("subject".into(), json!("Sandbox planning"));
        json.insert("isOrganizer".into(), json!(false));
        json.insert("organizer".into(), megan);
        json.insert(
            "responseStatus".into(),
            json!({"response": "notResponded", "time": "0001-01-01T00:00:00Z"}),
        );
        json.insert(
            "attendees".into(),
            json!([{"type": "required", "emailAddress": user.address(),
            "status": {"response": "none", "time": "0001-01-01T00:00:00Z"}}]),
        );
        self.events.insert(&user.id, &calendar, json);
    }
}

/// A calendar's stored JSON.
fn calendar_json(owner: &UserRow, name: &str, color: &str, default: bool) -> Map<String, Value> {
    let json = json!({
        "id": outlook_id(),
        "name": name,
        "color": color,
        "hexColor": "",
        "isDefaultCalendar": default,
        "changeKey": "",
        "canShare": true,
        "canViewPrivateItems": true,
        "canEdit": true,
        "isRemovable": !default,
        "isTallyingResponses": true,
        "allowedOnlineMeetingProviders": ["teamsForBusiness"],
        "defaultOnlineMeetingProvider": "teamsForBusiness",
        "owner": owner.address(),
    });
    json.as_object().cloned().unwrap_or_default()
}

/// A new event organized by `organizer`, without times.
fn event_json(organizer: &UserRow) -> Map<String, Value> {
    let now = fmt_utc(Utc::now());
    let id = outlook_id();
    let json = json!({
        "@odata.etag": "",
        "id": id,
        "createdDateTime": now,
        "lastModifiedDateTime": now,
        "changeKey": "",
        "categories": [],
        "transactionId": null,
        "iCalUId": format!("040000008200E00074C5B7101A82E008{}", &id[6..30]),
        "reminderMinutesBeforeStart": 15,
        "isReminderOn": true,
        "hasAttachments": false,
        "subject": "",
        "bodyPreview": "",
        "importance": "normal",
        "sensitivity": "normal",
        "isAllDay": false,
        "isCancelled": false,
        "isOrganizer": true,
        "responseRequested": true,
        "seriesMasterId": null,
        "showAs": "busy",
        "type": "singleInstance",
        "webLink": format!("https://outlook.office365.com/owa/?itemid={id}&exvsurl=1&path=/calendar/item"),
        "isOnlineMeeting": false,
        "onlineMeetingProvider": "unknown",
        "allowNewTimeProposals": true,
        "isDraft": false,
        "hideAttendees": false,
        "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
        "body": {"contentType": "html", "content": ""},
        "location": {"displayName": "", "locationType": "default", "uniqueIdType": "unknown"},
        "locations": [],
        "recurrence": null,
        "attendees": [],
        "organizer": {"emailAddress": organizer.address()},
    });
    json.as_object().cloned().unwrap_or_default()
}

/// Reads `start`, `end` and `isAllDay` of `input` into `json` (both times
/// needed when `required`), checked as Outlook checks them.
fn set_times(
    json: &mut Map<String, Value>,
    input: &Map<String, Value>,
    required: bool,
) -> Result<(), GraphErr> {
    let pick = |key: &str| {
        input
            .get(key)
            .or_else(|| json.get(key))
            .cloned()
            .filter(|v| !v.is_null())
    };
    let (Some(start), Some(end)) = (pick("start"), pick("end")) else {
        if required {
            return Err(bad_request(
                "ErrorInvalidRequest",
                "Your request can't be completed. The event needs a start and an end.",
            ));
        }
        return Ok(());
    };
    let (start_local, start_zone, start_utc) = read_dttz("start", &start)?;
    let (end_local, end_zone, end_utc) = read_dttz("end", &end)?;
    if end_utc < start_utc {
        return Err(bad_request(
            "ErrorInvalidRequest",
            "Your request can't be completed. The end of the event is before its start.",
        ));
    }
    let all_day = input
        .get("isAllDay")
        .or_else(|| json.get("isAllDay"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if all_day && (!is_midnight(start_local) || !is_midnight(end_local) || end_local <= start_local)
    {
        return Err(bad_request(
            "ErrorPropertyValidationFailure",
            "Your request can't be completed. If the event is an all-day event, start and end must be at midnight and span at least one day.",
        ));
    }
    json.insert("isAllDay".into(), json!(all_day));
    json.insert(
        "start".into(),
        json!({"dateTime": fmt_local(start_local), "timeZone": start_zone}),
    );
    json.insert(
        "end".into(),
        json!({"dateTime": fmt_local(end_local), "timeZone": end_zone}),
    );
    json.insert("originalStartTimeZone".into(), json!(start_zone));
    json.insert("originalEndTimeZone".into(), json!(end_zone));
    json.insert("_startUtc".into(), json!(fmt_utc(start_utc)));
    json.insert("_endUtc".into(), json!(fmt_utc(end_utc)));
    Ok(())
}

/// An instant the sandbox keeps on a row (`_startUtc`, `_endUtc`).
pub(super) fn instant(row: &Row, key: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(row.text(key))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The start of a shown event, as an instant.
fn start_of(event: &Value) -> Option<DateTime<Utc>> {
    let tz = zone(event["start"]["timeZone"].as_str().unwrap_or("UTC"))?;
    parse_instant(event["start"]["dateTime"].as_str()?, tz)
}

/// Whether an event overlaps `[from, to)` (an event without length counts
/// when it starts inside).
pub(super) fn overlaps(row: &Row, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
    let (Some(start), Some(end)) = (instant(row, "_startUtc"), instant(row, "_endUtc")) else {
        return false;
    };
    if start == end {
        return start >= from && start < to;
    }
    start < to && end > from
}

/// An event as Graph shows it, its times in zone `zone` (all-day events keep
/// their dates).
pub(super) fn show_event(row: &Row, zone: &str) -> Value {
    let mut event = row.value();
    if row.json.get("isAllDay") == Some(&json!(true)) {
        for key in ["start", "end"] {
            event[key]["timeZone"] = json!(zone);
        }
        return event;
    }
    if let (Some(start), Some(end)) = (instant(row, "_startUtc"), instant(row, "_endUtc")) {
        event["start"] = dttz(start, zone);
        event["end"] = dttz(end, zone);
    }
    event
}

/// The `startDateTime`..`endDateTime` window of a request (local times read
/// in `zone`); 400 when either is missing or unreadable.
pub(super) fn window(req: &Req, zone: &str) -> Result<(DateTime<Utc>, DateTime<Utc>), GraphErr> {
    let tz = super::times::zone(zone).unwrap_or(chrono_tz::UTC);
    let read = |key: &str| req.q(key).and_then(|v| parse_instant(v, tz));
    match (read("startDateTime"), read("endDateTime")) {
        (Some(from), Some(to)) => Ok((from, to)),
        _ => Err(bad_request(
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.",
        )),
    }
}
