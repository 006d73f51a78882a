//! Calendars: listing an account's calendars and creating one (a name is
//! unique per profile).

use serde_json::{Value, json};

use super::dispatch::Req;
use super::errors::{Outcome, invalid, ok, server_error, unprocessable};
use super::store::{CalendarRow, Caller, Store};
use crate::cronofy::types;

impl Store {
    /// A calendar as Cronofy answers it.
    pub(super) fn calendar_json(&self, c: &CalendarRow) -> Value {
        let profile = self.profiles.iter().find(|p| p.id == c.profile_id);
        json!({
            "provider_name": profile.map(|p| p.provider_name),
            "profile_id": c.profile_id,
            "profile_name": profile.map(|p| p.name.clone()),
            "calendar_id": c.id,
            "calendar_name": c.name,
            "calendar_readonly": c.readonly,
            "calendar_deleted": c.deleted,
            "calendar_primary": c.primary,
            "calendar_integrated_conferencing_available": false,
            "calendar_attachments_available": false,
            "permission_level": c.permission_level,
        })
    }

    /// `GET /v1/calendars`.
    pub(super) fn list_calendars(&self, caller: &Caller) -> Outcome {
        let id = caller.account()?;
        let calendars: Vec<Value> = self
            .visible_calendars(id)
            .into_iter()
            .map(|c| self.calendar_json(c))
            .collect();
        ok(json!({ "sub": id, "calendars": calendars }))
    }

    /// `POST /v1/calendars`: 422 `errors.duplicate_calendar_name` for a
    /// name the profile already has.
    pub(super) fn create_calendar(&mut self, req: &Req<'_>) -> Outcome {
        let account_id = req.caller.account()?.to_string();
        req.caller.need("create_calendar")?;
        let request: types::CalendarCreate = req.decode("CalendarCreate")?;
        if request.name.trim().is_empty() {
            return Err(invalid("name", "name must not be blank"));
        }
        if !self
            .profiles
            .iter()
            .any(|p| p.id == request.profile_id && p.account_id == account_id && !p.revoked)
        {
            return Err(invalid(
                "profile_id",
                "profile_id is not a profile of this account",
            ));
        }
        if self
            .calendars
            .iter()
            .any(|c| c.profile_id == request.profile_id && c.name == request.name && !c.deleted)
        {
            return Err(unprocessable(
                "name",
                "errors.duplicate_calendar_name",
                "a calendar with this name already exists",
            ));
        }
        let id = self
            .seed_calendar(&account_id, &request.name)
            .map_err(server_error)?;
        let calendar = self
            .calendars
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(|| server_error("the new calendar is missing"))?;
        ok(json!({ "calendar": self.calendar_json(calendar) }))
    }
}
