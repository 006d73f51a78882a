//! Smart Invites: created, updated, cancelled and their recipients
//! removed, each answered with the invite as iCalendar text; replies are
//! played with `Cronofy::reply_to_smart_invite`.

use serde_json::{Value, json};

use super::dispatch::{Req, decode};
use super::errors::{ApiErr, Outcome, invalid, ok, required};
use super::store::Store;
use super::times::{When, check_web_url, event_span, plausible_email};
use super::{config, unknown};
use crate::Result;
use crate::cronofy::types;

/// A Smart Invite and its recipients' replies.
pub(super) struct SmartInviteRow {
    pub(super) id: String,
    /// `request`, or `cancel` once cancelled.
    pub(super) method: &'static str,
    pub(super) callback_url: Option<String>,
    /// The event as answered: times as `{time, tzid}`.
    pub(super) event: Value,
    pub(super) start: When,
    pub(super) end: When,
    pub(super) summary: String,
    pub(super) organizer: Option<Value>,
    /// Recipient email and reply status, in the order given.
    pub(super) recipients: Vec<(String, String)>,
    /// Sent as `recipients` (a list) rather than one `recipient`.
    pub(super) many: bool,
    /// Raised by every update, as the ICS `SEQUENCE`.
    pub(super) sequence: u32,
}

impl SmartInviteRow {
    /// As Cronofy answers it; `recipient` picks one recipient (Get Smart
    /// Invite), `ics` adds `attachments.icalendar`.
    fn to_json(&self, recipient: Option<&str>, ics: bool) -> Value {
        let reply = |(email, status): &(String, String)| json!({"email": email, "status": status});
        let mut out = json!({
            "smart_invite_id": self.id,
            "method": self.method,
            "event": self.event,
        });
        if let Some(url) = &self.callback_url {
            out["callback_url"] = json!(url);
        }
        match recipient {
            Some(email) => {
                if let Some(r) = self.recipients.iter().find(|(e, _)| e == email) {
                    out["recipient"] = reply(r);
                }
                if self.many {
                    out["replies"] = self.recipients.iter().map(reply).collect();
                }
            }
            None if self.many => out["recipients"] = self.recipients.iter().map(reply).collect(),
            None => {
                if let Some(r) = self.recipients.first() {
                    out["recipient"] = reply(r);
                }
            }
        }
        if ics {
            out["attachments"] = json!({"icalendar": self.ics()});
        }
        out
    }

    /// The invite as an iCalendar text (RFC 5545), as attached to the email.
    fn ics(&self) -> String {
        let when = |name: &str, w: When| match w {
            When::Instant(t) => format!("{name}:{}", t.format("%Y%m%dT%H%M%SZ")),
            When::Day(d) => format!("{name};VALUE=DATE:{}", d.format("%Y%m%d")),
        };
        let cancelled = self.method == "cancel";
        let mut lines = vec![
            "BEGIN:VCALENDAR".to_string(),
            "VERSION:2.0".into(),
            "PRODID:-//specbound//Cronofy sandbox//EN".into(),
            format!("METHOD:{}", if cancelled { "CANCEL" } else { "REQUEST" }),
            "BEGIN:VEVENT".into(),
            format!("UID:{}", ics_text(&self.id)),
            format!("SEQUENCE:{}", self.sequence),
            when("DTSTART", self.start),
            when("DTEND", self.end),
            format!("SUMMARY:{}", ics_text(&self.summary)),
            format!(
                "STATUS:{}",
                if cancelled { "CANCELLED" } else { "CONFIRMED" }
            ),
        ];
        if let Some(email) = self
            .organizer
            .as_ref()
            .and_then(|o| o.get("email"))
            .and_then(Value::as_str)
        {
            lines.push(format!("ORGANIZER:mailto:{email}"));
        }
        for (email, status) in &self.recipients {
            let partstat = match status.as_str() {
                "accepted" => "ACCEPTED",
                "declined" => "DECLINED",
                "tentative" => "TENTATIVE",
                _ => "NEEDS-ACTION",
            };
            lines.push(format!("ATTENDEE;PARTSTAT={partstat}:mailto:{email}"));
        }
        lines.extend(["END:VEVENT".to_string(), "END:VCALENDAR".into()]);
        lines.join("\r\n") + "\r\n"
    }
}

/// RFC 5545 TEXT escaping.
fn ics_text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}

impl Store {
    /// `POST /v1/smart_invites`: create or update, or (`method` `cancel` /
    /// `remove`) cancel the invite or remove recipients.
    pub(super) fn upsert_smart_invite(&mut self, req: &Req<'_>) -> Outcome {
        let body = &req.body;
        if matches!(
            body.get("method").and_then(Value::as_str),
            Some("cancel" | "remove")
        ) {
            return self.cancel_smart_invite(body);
        }
        let request: types::SmartInviteUpsert = decode("SmartInviteUpsert", body)?;
        let id = request.smart_invite_id.clone();
        if id.trim().is_empty() {
            return Err(invalid(
                "smart_invite_id",
                "smart_invite_id must not be blank",
            ));
        }
        if let Some(url) = &request.callback_url {
            check_web_url("callback_url", url)?;
        }
        let (emails, many) = match (&request.recipient, request.recipients.is_empty()) {
            (Some(r), true) => (vec![r.email.clone()], false),
            (None, false) => (
                request.recipients.iter().map(|r| r.email.clone()).collect(),
                true,
            ),
            (None, true) => return Err(required("recipient")),
            (Some(_), false) => {
                return Err(invalid(
                    "recipients",
                    "give either recipient or recipients, not both",
                ));
            }
        };
        for (i, email) in emails.iter().enumerate() {
            if !plausible_email(email) {
                let field = if many {
                    format!("recipients.{i}.email")
                } else {
                    "recipient.email".into()
                };
                return Err(invalid(&field, format!("{email} is not an email address")));
            }
        }
        let event = &request.event;
        let (start, end, tzid) =
            event_span("event", event.tzid.as_ref(), &event.start, &event.end)?;
        let mut answered = body.get("event").cloned().unwrap_or_else(|| json!({}));
        answered["start"] = start.to_json(&tzid, true);
        answered["end"] = end.to_json(&tzid, true);
        if let Some(map) = answered.as_object_mut() {
            map.remove("tzid");
        }
        let old = self.smart_invites.iter().position(|r| r.id == id);
        // Replies already given are kept; a new recipient is pending.
        let recipients = emails
            .into_iter()
            .map(|email| {
                let status = old
                    .and_then(|i| {
                        self.smart_invites[i]
                            .recipients
                            .iter()
                            .find(|(e, _)| *e == email)
                    })
                    .map_or_else(|| "pending".to_string(), |(_, s)| s.clone());
                (email, status)
            })
            .collect();
        let row = SmartInviteRow {
            id,
            method: "request",
            callback_url: request.callback_url.clone(),
            event: answered,
            start,
            end,
            summary: event.summary.clone(),
            organizer: body.get("organizer").cloned(),
            recipients,
            many,
            sequence: old.map_or(0, |i| self.smart_invites[i].sequence + 1),
        };
        let answer = row.to_json(None, true);
        match old {
            Some(i) => self.smart_invites[i] = row,
            None => self.smart_invites.push(row),
        }
        ok(answer)
    }

    fn cancel_smart_invite(&mut self, body: &Value) -> Outcome {
        let request: types::SmartInviteCancel = decode("SmartInviteCancel", body)?;
        let emails: Vec<String> = request
            .recipient
            .iter()
            .chain(&request.recipients)
            .map(|r| r.email.clone())
            .collect();
        let row = self
            .smart_invites
            .iter_mut()
            .find(|r| r.id == request.smart_invite_id)
            .ok_or_else(ApiErr::not_found)?;
        match request.method {
            types::SmartInviteCancelMethod::Cancel => row.method = "cancel",
            types::SmartInviteCancelMethod::Remove => {
                if emails.is_empty() {
                    return Err(required("recipients"));
                }
                row.recipients.retain(|(e, _)| !emails.contains(e));
            }
        }
        row.sequence += 1;
        ok(row.to_json(None, true))
    }

    /// `GET /v1/smart_invites?smart_invite_id=&recipient_email=`.
    pub(super) fn get_smart_invite(&self, req: &Req<'_>) -> Outcome {
        let id = req
            .query
            .get("smart_invite_id")
            .ok_or_else(|| required("smart_invite_id"))?;
        let email = req
            .query
            .get("recipient_email")
            .ok_or_else(|| required("recipient_email"))?;
        let ics = req.flag("include_ics")?;
        req.check_params()?;
        let row = self
            .smart_invites
            .iter()
            .find(|r| r.id == id && r.recipients.iter().any(|(e, _)| e == email))
            .ok_or_else(ApiErr::not_found)?;
        ok(row.to_json(Some(email), ics))
    }

    /// The test hook behind [`Cronofy::reply_to_smart_invite`].
    pub(super) fn reply_to_smart_invite(
        &mut self,
        id: &str,
        email: &str,
        status: &str,
    ) -> Result<()> {
        if !matches!(status, "accepted" | "declined" | "tentative") {
            return Err(config(&format!(
                "a Smart Invite reply is accepted, declined or tentative, not `{status}`"
            )));
        }
        let row = self
            .smart_invites
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or_else(|| unknown("smart invite", id))?;
        let recipient = row
            .recipients
            .iter_mut()
            .find(|(e, _)| e == email)
            .ok_or_else(|| unknown("smart invite recipient", email))?;
        recipient.1 = status.to_string();
        Ok(())
    }
}
