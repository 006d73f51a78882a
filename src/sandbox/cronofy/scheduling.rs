//! Hosted scheduling: Real-Time Scheduling links (created, read by id or
//! token, disabled, and completed by `Cronofy::complete_real_time_scheduling`
//! playing the invitee), Real-Time Sequencing and Add to Calendar, which
//! check their request and answer the URL of a page the sandbox does not
//! serve.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::dispatch::Req;
use super::errors::{ApiErr, Outcome, invalid, ok, prefix_errors, required};
use super::store::{Caller, Ctx, EventRow, Store, check_client};
use super::times::{When, alnum_id, check_period, check_web_url, fmt_utc, hex_id, tz, when_of};
use super::{config, unknown};
use crate::Result;
use crate::cronofy::types;

/// A Real-Time Scheduling link.
pub(super) struct RtsRow {
    pub(super) id: String,
    /// The last segment of `url`.
    pub(super) token: String,
    pub(super) url: String,
    pub(super) status: String,
    pub(super) event: Value,
    pub(super) availability: types::AvailabilityQuery,
    pub(super) target_calendars: Vec<types::TargetCalendar>,
    pub(super) display_message: Option<String>,
}

impl RtsRow {
    fn to_json(&self) -> Value {
        let mut link = json!({
            "real_time_scheduling_id": self.id,
            "url": self.url,
            "status": self.status,
            "event": self.event,
        });
        if let Some(m) = &self.display_message {
            link["display_message"] = json!(m);
        }
        json!({ "real_time_scheduling": link })
    }
}

impl Store {
    /// `POST /v1/real_time_scheduling`: the availability must make sense now;
    /// the event template takes no `attendees` (people join through
    /// `target_calendars[].attendee`).
    pub(super) fn create_rts(&mut self, ctx: &Ctx<'_>, req: &Req<'_>) -> Outcome {
        let body = &req.body;
        if body.pointer("/event/attendees").is_some() {
            return Err(invalid(
                "event.attendees",
                "event.attendees is not supported by Real-Time Scheduling; add people with target_calendars.attendee",
            ));
        }
        let request: types::RealTimeSchedulingRequest = req.decode("RealTimeSchedulingRequest")?;
        check_web_url("oauth.redirect_uri", &request.oauth.redirect_uri)?;
        if let Some(t) = &request.event.tzid {
            tz("event.tzid", t)?;
        }
        // The availability must make sense now, as Cronofy checks it on creation.
        self.availability(&Caller::App, &request.availability)
            .map_err(|e| prefix_errors(e, "availability"))?;
        self.check_targets(&request.target_calendars)?;
        let token = alnum_id(20);
        let row = RtsRow {
            id: format!("sch_{}", hex_id(24)),
            url: format!("{}/real_time_scheduling/{token}", ctx.root),
            token,
            status: "open".into(),
            event: body.get("event").cloned().unwrap_or_else(|| json!({})),
            availability: request.availability,
            target_calendars: request.target_calendars,
            display_message: None,
        };
        let answer = json!({
            "real_time_scheduling": {"real_time_scheduling_id": row.id, "url": row.url}
        });
        self.rts.push(row);
        ok(answer)
    }

    /// `GET /v1/real_time_scheduling?token=`.
    pub(super) fn rts_by_token(&self, req: &Req<'_>) -> Outcome {
        let token = req.query.get("token").ok_or_else(|| required("token"))?;
        req.check_params()?;
        let rts = self.rts.iter().find(|r| r.token == token);
        ok(rts.ok_or_else(ApiErr::not_found)?.to_json())
    }

    /// `GET /v1/real_time_scheduling/{real_time_scheduling_id}`.
    pub(super) fn get_rts(&self, id: &str) -> Outcome {
        let rts = self.rts.iter().find(|r| r.id == id);
        ok(rts.ok_or_else(ApiErr::not_found)?.to_json())
    }

    /// `POST /v1/real_time_scheduling/{id}/disable`.
    pub(super) fn disable_rts(&mut self, req: &Req<'_>) -> Outcome {
        let id = req.param("real_time_scheduling_id");
        let request: types::RealTimeSchedulingDisable = req.decode("RealTimeSchedulingDisable")?;
        let row = self
            .rts
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or_else(ApiErr::not_found)?;
        if row.status == "completed" {
            return Err(invalid(
                "real_time_scheduling_id",
                "a completed link cannot be disabled",
            ));
        }
        row.status = "disabled".into();
        row.display_message = Some(request.display_message.to_string());
        ok(row.to_json())
    }

    /// The test hook behind [`Cronofy::complete_real_time_scheduling`].
    pub(super) fn complete_rts(&mut self, id: &str) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
        let index = self
            .rts
            .iter()
            .position(|r| r.id == id)
            .ok_or_else(|| unknown("real-time scheduling link", id))?;
        if self.rts[index].status != "open" {
            return Err(config(&format!(
                "real-time scheduling link `{id}` is not open"
            )));
        }
        let mut query = self.rts[index].availability.clone();
        query.response_format = Some(types::AvailabilityQueryResponseFormat::Slots);
        let (_, slots) = self
            .availability(&Caller::App, &query)
            .map_err(|e| config(&format!("availability of `{id}`: {:?}", e.body)))?;
        let slot = slots
            .first()
            .ok_or_else(|| config(&format!("no slot is available for `{id}`")))?;
        let parse = |key: &str| {
            slot.get(key)
                .and_then(Value::as_str)
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(|| config("a slot without times"))
        };
        let (start, end) = (parse("start")?, parse("end")?);
        let template = self.rts[index].event.clone();
        let text = |key: &str| {
            template
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let now = Utc::now();
        for target in self.rts[index].target_calendars.clone() {
            let email = self
                .account(&target.sub)
                .map(|a| a.email.clone())
                .unwrap_or_default();
            self.events.push(EventRow {
                calendar_id: target.calendar_id.clone(),
                account_id: target.sub.clone(),
                event_id: Some(text("event_id").unwrap_or_else(|| id.to_string())),
                event_uid: format!("evt_{}", hex_id(24)),
                summary: text("summary").unwrap_or_default(),
                description: text("description").unwrap_or_default(),
                start: When::Instant(start),
                end: When::Instant(end),
                tzid: text("tzid").unwrap_or_else(|| "Etc/UTC".into()),
                location: template.get("location").cloned(),
                url: text("url"),
                transparency: "opaque".into(),
                status: "confirmed".into(),
                participation_status: "accepted".into(),
                attendees: Vec::new(),
                organizer: json!({"email": email, "display_name": Value::Null}),
                deleted: false,
                created: now,
                updated: now,
                event_private: false,
                recurrence: None,
            });
        }
        let row = &mut self.rts[index];
        row.status = "completed".into();
        row.event["start"] = json!(fmt_utc(start));
        row.event["end"] = json!(fmt_utc(end));
        Ok((start, end))
    }
}

impl Store {
    /// `POST /v1/add_to_calendar`: checks the request (credentials in the
    /// body) and answers the URL to send the user to.
    pub(super) fn add_to_calendar(&mut self, ctx: &Ctx<'_>, req: &Req<'_>) -> Outcome {
        let body = &req.body;
        let request: types::AddToCalendarRequest = req.decode("AddToCalendarRequest")?;
        check_client(ctx.config, body)?;
        check_web_url("oauth.redirect_uri", &request.oauth.redirect_uri)?;
        let event = &request.event;
        if event
            .event_id
            .as_deref()
            .is_none_or(|s| s.trim().is_empty())
        {
            return Err(required("event.event_id"));
        }
        if event.summary.as_deref().is_none_or(|s| s.trim().is_empty()) {
            return Err(required("event.summary"));
        }
        if let Some(t) = &event.tzid {
            tz("event.tzid", t)?;
        }
        match (&event.start, &event.end, &request.availability) {
            (Some(start), Some(end), _) => {
                let (start, _) = when_of("event.start", start)?;
                let (end, _) = when_of("event.end", end)?;
                check_period(start, end).map_err(|e| prefix_errors(e, "event"))?;
            }
            (None, None, Some(availability)) => {
                self.availability(&Caller::App, availability)
                    .map_err(|e| prefix_errors(e, "availability"))?;
            }
            (None, _, _) => return Err(required("event.start")),
            (Some(_), None, _) => return Err(required("event.end")),
        }
        self.check_targets(&request.target_calendars)?;
        ok(json!({"url": format!("{}/add_to_calendar/{}", ctx.root, alnum_id(20))}))
    }

    /// `POST /v1/real_time_sequencing`: checks the request and its sequenced
    /// availability, and answers the link.
    pub(super) fn create_real_time_sequencing(&mut self, ctx: &Ctx<'_>, req: &Req<'_>) -> Outcome {
        let body = &req.body;
        let request: types::RealTimeSequencingRequest = req.decode("RealTimeSequencingRequest")?;
        check_web_url("oauth.redirect_uri", &request.oauth.redirect_uri)?;
        if let Some(t) = &request.event.tzid {
            tz("event.tzid", t)?;
        }
        if let Some(t) = &request.tzid {
            tz("tzid", t)?;
        }
        let availability = body.get("availability").cloned().unwrap_or_default();
        self.query_sequenced_availability(&Caller::App, &availability)
            .map_err(|e| prefix_errors(e, "availability"))?;
        self.check_targets(&request.target_calendars)?;
        ok(json!({
            "real_time_sequencing": {
                "real_time_sequencing_id": format!("seq_{}", hex_id(24)),
                "url": format!("{}/real_time_sequencing/{}", ctx.root, alnum_id(20)),
            }
        }))
    }
}
