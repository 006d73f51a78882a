//! Events: managed events (by the application's `event_id`) created,
//! updated and deleted; external events (by `event_uid`) edited with the
//! `unrestricted` permission level; bulk deletes and participation status.

use std::collections::BTreeSet;

use chrono::Utc;
use http::StatusCode;
use serde_json::{Value, json};

use super::dispatch::{Req, decode};
use super::errors::{Answer, ApiErr, Outcome, invalid, required, unprocessable};
use super::store::{EventRow, Store};
use super::times::{check_period, event_span, hex_id, tz, when_of};
use crate::cronofy::types;

impl EventRow {
    /// Whether the application manages it (it has an `event_id`).
    pub(super) fn managed(&self) -> bool {
        self.event_id.is_some()
    }

    pub(super) fn start_instant(&self) -> chrono::DateTime<Utc> {
        self.start.instant(&self.tzid)
    }

    pub(super) fn end_instant(&self) -> chrono::DateTime<Utc> {
        self.end.instant(&self.tzid)
    }

    /// Whether the event makes its calendar's owner busy.
    pub(super) fn busy(&self) -> bool {
        !self.deleted
            && self.transparency != "transparent"
            && self.status != "cancelled"
            && self.participation_status != "declined"
    }

    /// `free`, `tentative` or `busy`, as Free Busy answers it.
    pub(super) fn free_busy_status(&self) -> &'static str {
        if self.transparency == "transparent" {
            "free"
        } else if self.status == "tentative" || self.participation_status == "tentative" {
            "tentative"
        } else {
            "busy"
        }
    }
}

impl Store {
    /// An event as Read Events answers it.
    pub(super) fn event_json(&self, e: &EventRow, localized: bool) -> Value {
        let options = if e.managed() {
            json!({"delete": true, "update": true, "change_participation_status": false})
        } else {
            let unrestricted = self.calendars.iter().any(|c| {
                c.id == e.calendar_id && c.permission_level == "unrestricted" && !c.readonly
            });
            json!({
                "delete": unrestricted,
                "update": unrestricted,
                "change_participation_status": true,
            })
        };
        let mut event = json!({
            "calendar_id": e.calendar_id,
            "event_uid": e.event_uid,
            "summary": e.summary,
            "description": e.description,
            "start": e.start.to_json(&e.tzid, localized),
            "end": e.end.to_json(&e.tzid, localized),
            "deleted": e.deleted,
            "created": super::times::fmt_utc(e.created),
            "updated": super::times::fmt_utc(e.updated),
            "participation_status": e.participation_status,
            "attendees": e.attendees,
            "organizer": e.organizer,
            "transparency": e.transparency,
            "status": e.status,
            "categories": [],
            "recurring": e.recurrence.is_some(),
            "event_private": e.event_private,
            "options": options,
        });
        if e.recurrence.is_some() {
            event["series_identifier"] = json!(format!("ser_{}", e.event_uid));
        }
        if let Some(id) = &e.event_id {
            event["event_id"] = json!(id);
        }
        if let Some(location) = &e.location {
            event["location"] = location.clone();
        }
        if let Some(url) = &e.url {
            event["url"] = json!(url);
        }
        event
    }

    /// `POST /v1/calendars/{calendar_id}/events`.
    pub(super) fn upsert_event(&mut self, req: &Req<'_>) -> Outcome {
        let account_id = req.caller.account()?.to_string();
        req.caller.need("create_event")?;
        let calendar_id = req.param("calendar_id");
        self.writable_calendar(&account_id, calendar_id)?;
        let body = &req.body;
        if body.get("event_id").is_none() && body.get("event_uid").is_some() {
            return self.update_external_event(&account_id, calendar_id, body);
        }
        let event: types::EventUpsert = decode("EventUpsert", body)?;
        if event.event_id.trim().is_empty() {
            return Err(invalid("event_id", "event_id must not be blank"));
        }
        for (i, rule) in event
            .recurrence
            .iter()
            .flat_map(|r| r.rules.iter())
            .enumerate()
        {
            if !rule.by_day.is_empty() && rule.frequency != types::RecurrenceRuleFrequency::Weekly {
                return Err(invalid(
                    &format!("recurrence.rules.{i}.by_day"),
                    "by_day is only valid in a weekly rule",
                ));
            }
        }
        let (start, end, tzid) = event_span("", event.tzid.as_ref(), &event.start, &event.end)?;
        let now = Utc::now();
        let email = self
            .account(&account_id)
            .map(|a| a.email.clone())
            .unwrap_or_default();
        let index = self.events.iter().position(|e| {
            e.calendar_id == calendar_id && e.event_id.as_deref() == Some(event.event_id.as_str())
        });
        let index = match index {
            Some(i) => i,
            None => {
                let mut row = EventRow::new(
                    calendar_id,
                    &account_id,
                    format!("evt_{}", hex_id(24)),
                    start,
                    end,
                );
                row.event_id = Some(event.event_id.clone());
                row.organizer = json!({"email": email, "display_name": Value::Null});
                self.events.push(row);
                self.events.len() - 1
            }
        };
        let row = &mut self.events[index];
        row.summary = event.summary.to_string();
        row.start = start;
        row.end = end;
        row.tzid = tzid;
        row.deleted = false;
        row.updated = now;
        if let Some(d) = &event.description {
            row.description = d.to_string();
        }
        if let Some(l) = &event.location {
            row.location = serde_json::to_value(l).ok();
        }
        match &event.url {
            crate::runtime::Patch::Absent => {}
            crate::runtime::Patch::Null => row.url = None,
            crate::runtime::Patch::Value(u) => row.url = Some(u.clone()),
        }
        if let Some(t) = &event.transparency {
            row.transparency = t.to_string();
        }
        if let Some(p) = event.event_private {
            row.event_private = p;
        }
        if let Some(r) = &event.recurrence {
            // Empty rules remove the recurrence; omitted keeps it.
            row.recurrence = (!r.rules.is_empty()).then(|| body["recurrence"].clone());
        }
        if let Some(changes) = &event.attendees {
            apply_attendees(&mut row.attendees, changes);
        }
        Ok(Answer::Accepted)
    }

    /// The index of the external (not managed) event `event_uid` of a
    /// calendar, or Cronofy's 422 `errors.must_be_external_event_uid`.
    fn external_event(&self, calendar_id: &str, event_uid: &str) -> Result<usize, ApiErr> {
        self.events
            .iter()
            .position(|e| e.calendar_id == calendar_id && e.event_uid == event_uid && !e.managed())
            .ok_or_else(|| {
                unprocessable(
                    "event_uid",
                    "errors.must_be_external_event_uid",
                    "event uid must be a valid external event uid",
                )
            })
    }

    /// An external event edited by its `event_uid`.
    fn update_external_event(
        &mut self,
        account_id: &str,
        calendar_id: &str,
        body: &Value,
    ) -> Outcome {
        let update: types::ExternalEventUpdate = decode("ExternalEventUpdate", body)?;
        let unrestricted =
            self.own_calendar(account_id, calendar_id)?.permission_level == "unrestricted";
        let index = self.external_event(calendar_id, &update.event_uid)?;
        if !unrestricted {
            return Err(ApiErr::forbidden());
        }
        if let Some(t) = &update.tzid {
            tz("tzid", t)?;
        }
        let start = update
            .start
            .as_ref()
            .map(|s| when_of("start", s))
            .transpose()?;
        let end = update.end.as_ref().map(|e| when_of("end", e)).transpose()?;
        let row = &self.events[index];
        let (new_start, new_end) = (
            start.as_ref().map_or(row.start, |s| s.0),
            end.as_ref().map_or(row.end, |e| e.0),
        );
        check_period(new_start, new_end)?;
        let row = &mut self.events[index];
        row.start = new_start;
        row.end = new_end;
        if let Some(t) = update.tzid.clone().or(start.and_then(|s| s.1)) {
            row.tzid = t;
        }
        if let Some(s) = update.summary {
            row.summary = s;
        }
        if let Some(d) = update.description {
            row.description = d;
        }
        if let Some(l) = &update.location {
            row.location = serde_json::to_value(l).ok();
        }
        if let Some(t) = &update.transparency {
            row.transparency = t.to_string();
        }
        if let Some(changes) = &update.attendees {
            apply_attendees(&mut row.attendees, changes);
        }
        row.updated = Utc::now();
        Ok(Answer::Accepted)
    }

    /// `DELETE /v1/calendars/{calendar_id}/events`.
    pub(super) fn delete_event(&mut self, req: &Req<'_>) -> Outcome {
        let account_id = req.caller.account()?.to_string();
        req.caller.need("delete_event")?;
        let calendar_id = req.param("calendar_id");
        let calendar = self.writable_calendar(&account_id, calendar_id)?;
        let unrestricted = calendar.permission_level == "unrestricted";
        let now = Utc::now();
        let body = &req.body;
        if body.get("event_id").is_none() && body.get("event_uid").is_some() {
            let request: types::ExternalEventDelete = decode("ExternalEventDelete", body)?;
            let index = self.external_event(calendar_id, &request.event_uid)?;
            if !unrestricted {
                return Err(ApiErr::forbidden());
            }
            let event = &mut self.events[index];
            event.deleted = true;
            event.updated = now;
            return Ok(Answer::Accepted);
        }
        let request: types::EventDelete = decode("EventDelete", body)?;
        // Deleting an unknown event_id is accepted: deletes are idempotent.
        if let Some(event) = self.events.iter_mut().find(|e| {
            e.calendar_id == calendar_id && e.event_id.as_deref() == Some(&request.event_id)
        }) && !event.deleted
        {
            event.deleted = true;
            event.updated = now;
        }
        if request.include_userinfo == Some(true) {
            let userinfo = self.userinfo_json(&req.caller)?;
            return Ok(Answer::Json(
                StatusCode::ACCEPTED,
                json!({ "userinfo": userinfo }),
            ));
        }
        Ok(Answer::Accepted)
    }

    /// `DELETE /v1/events`: managed events, all or by calendar.
    pub(super) fn bulk_delete_events(&mut self, req: &Req<'_>) -> Outcome {
        let account_id = req.caller.account()?.to_string();
        req.caller.need("delete_event")?;
        // pycronofy sends `delete_all` / `calendar_ids[]` as query parameters;
        // Cronofy (Rails) reads the query and the body alike.
        let mut body = req.body.clone();
        if let Some(map) = body.as_object_mut()
            && !map.contains_key("delete_all")
            && !map.contains_key("calendar_ids")
        {
            let all = req.flag("delete_all")?;
            if req.query.get("delete_all").is_some() {
                map.insert("delete_all".into(), json!(all));
            }
            let ids = req.all("calendar_ids");
            if !ids.is_empty() {
                map.insert("calendar_ids".into(), json!(ids));
            }
        }
        let request: types::BulkDeleteEvents = decode("BulkDeleteEvents", &body)?;
        let calendars: Option<BTreeSet<String>> = match (request.delete_all, &request.calendar_ids)
        {
            (Some(_), ids) if !ids.is_empty() => {
                return Err(invalid(
                    "delete_all",
                    "delete_all and calendar_ids cannot be given together",
                ));
            }
            (Some(true), _) => None,
            (Some(false), _) => return Err(invalid("delete_all", "delete_all must be true")),
            (None, ids) if ids.is_empty() => return Err(required("delete_all")),
            (None, ids) => {
                for id in ids {
                    self.own_calendar(&account_id, id).map_err(|_| {
                        invalid(
                            "calendar_ids",
                            format!("{id} is not a calendar of this account"),
                        )
                    })?;
                }
                Some(ids.iter().cloned().collect())
            }
        };
        let now = Utc::now();
        for e in &mut self.events {
            if e.account_id == account_id
                && e.managed()
                && !e.deleted
                && calendars
                    .as_ref()
                    .is_none_or(|c| c.contains(&e.calendar_id))
            {
                e.deleted = true;
                e.updated = now;
            }
        }
        Ok(Answer::Accepted)
    }

    /// `POST /v1/calendars/{calendar_id}/events/{event_uid}/participation_status`.
    pub(super) fn participation_status(&mut self, req: &Req<'_>) -> Outcome {
        let account_id = req.caller.account()?.to_string();
        req.caller.need("change_participation_status")?;
        let (calendar_id, event_uid) = (req.param("calendar_id"), req.param("event_uid"));
        self.own_calendar(&account_id, calendar_id)?;
        let change: types::ParticipationStatusChange = req.decode("ParticipationStatusChange")?;
        let event = self
            .events
            .iter_mut()
            .find(|e| e.calendar_id == calendar_id && e.event_uid == event_uid && !e.deleted)
            .ok_or_else(ApiErr::not_found)?;
        if event.managed() {
            return Err(invalid(
                "event_uid",
                "the participation status of an event the application manages cannot be changed",
            ));
        }
        event.participation_status = change.status.to_string();
        event.updated = Utc::now();
        Ok(Answer::Accepted)
    }
}

/// Applies `invite` and `reject` to an attendee list (cronofy-csharp's
/// `remove` is no key of the docs, and is not read).
fn apply_attendees(attendees: &mut Vec<Value>, changes: &types::AttendeeChanges) {
    for gone in &changes.reject {
        attendees.retain(|a| a.get("email").and_then(Value::as_str) != Some(gone.email.as_str()));
    }
    for person in &changes.invite {
        if attendees
            .iter()
            .any(|a| a.get("email").and_then(Value::as_str) == Some(person.email.as_str()))
        {
            continue;
        }
        attendees.push(json!({
            "email": person.email,
            "display_name": person.display_name,
            "status": "needs_action",
        }));
    }
}
