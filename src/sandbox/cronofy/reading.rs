//! Read Events and Free Busy: which events a query selects (calendars, the
//! window, managed and deleted ones, `last_modified`) and how each list
//! shows them.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::dispatch::Req;
use super::errors::{Outcome, invalid, ok, required};
use super::store::{Ctx, EventRow, Store};
use super::times::{day_start, tz};

/// Where the default read_events window starts and ends, in days from today,
/// for events the application does not manage (Cronofy's documented defaults).
const DEFAULT_FROM_DAYS: u64 = 16;
const DEFAULT_TO_DAYS: u64 = 201;

/// What Read Events and Free Busy select.
struct Selection {
    calendars: BTreeSet<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    /// From and to of unmanaged events when none were given.
    default_from: DateTime<Utc>,
    default_to: DateTime<Utc>,
    include_managed: bool,
    only_managed: bool,
    include_deleted: bool,
    last_modified: Option<DateTime<Utc>>,
}

impl Selection {
    fn wants(&self, e: &EventRow) -> bool {
        if !self.calendars.contains(&e.calendar_id) || (e.deleted && !self.include_deleted) {
            return false;
        }
        if self.last_modified.is_some_and(|t| e.updated < t) {
            return false;
        }
        if self.only_managed {
            return e.managed();
        }
        if e.managed() && !self.include_managed {
            return false;
        }
        let (from, to) = if e.managed() {
            (self.from, self.to)
        } else {
            (
                Some(self.from.unwrap_or(self.default_from)),
                Some(self.to.unwrap_or(self.default_to)),
            )
        };
        from.is_none_or(|f| e.end_instant() > f) && to.is_none_or(|t| e.start_instant() < t)
    }
}

impl Store {
    /// The Read Events / Free Busy filters of a query.
    fn selection(
        &self,
        account_id: &str,
        req: &Req<'_>,
    ) -> Result<Selection, super::errors::ApiErr> {
        let tzid = match req.query.get("tzid") {
            Some(raw) => tz("tzid", raw)?,
            None => return Err(required("tzid")),
        };
        let mut calendars: BTreeSet<String> = self
            .visible_calendars(account_id)
            .into_iter()
            .map(|c| c.id.clone())
            .collect();
        let wanted = req.all("calendar_ids");
        if !wanted.is_empty() {
            if let Some(bad) = wanted.iter().find(|id| !calendars.contains(*id)) {
                return Err(invalid(
                    "calendar_ids",
                    format!("{bad} is not a calendar of this account"),
                ));
            }
            calendars = wanted.into_iter().collect();
        }
        let from = req.date("from")?.map(|d| day_start(d, tzid));
        let to = req.date("to")?.map(|d| day_start(d, tzid));
        if let (Some(f), Some(t)) = (from, to)
            && t <= f
        {
            return Err(invalid("to", "to must be after from"));
        }
        let last_modified = match req.query.get("last_modified") {
            None => None,
            Some(raw) => Some(
                DateTime::parse_from_rfc3339(raw)
                    .map_err(|_| invalid("last_modified", "last_modified must be a UTC time"))?
                    .with_timezone(&Utc),
            ),
        };
        let selection = Selection {
            calendars,
            from,
            to,
            default_from: {
                let today = Utc::now().with_timezone(&tzid).date_naive();
                day_start(today - chrono::Days::new(DEFAULT_FROM_DAYS), tzid)
            },
            default_to: {
                let today = Utc::now().with_timezone(&tzid).date_naive();
                day_start(today + chrono::Days::new(DEFAULT_TO_DAYS), tzid)
            },
            include_managed: req.flag("include_managed")?,
            only_managed: req.flag("only_managed")?,
            include_deleted: req.flag("include_deleted")?,
            last_modified,
        };
        req.check_params()?;
        Ok(selection)
    }

    fn selected(&self, account_id: &str, selection: &Selection) -> Vec<&EventRow> {
        let mut events: Vec<&EventRow> = self
            .events
            .iter()
            .filter(|e| e.account_id == account_id && selection.wants(e))
            .collect();
        events.sort_by(|a, b| {
            (a.start_instant(), &a.event_uid).cmp(&(b.start_instant(), &b.event_uid))
        });
        events
    }

    /// `GET /v1/events`.
    pub(super) fn read_events(&mut self, ctx: &Ctx<'_>, req: &Req<'_>) -> Outcome {
        let account_id = req.caller.account()?.to_string();
        let selection = self.selection(&account_id, req)?;
        if !selection.only_managed {
            req.caller.need("read_events")?;
        }
        let localized = req.flag("localized_times")?;
        for flag in ["include_moved", "include_geo", "google_event_ids"] {
            req.flag(flag)?;
        }
        let items: Vec<Value> = self
            .selected(&account_id, &selection)
            .into_iter()
            .map(|e| self.event_json(e, localized))
            .collect();
        ok(self.first_page(ctx, &account_id, "events", items))
    }

    /// `GET /v1/free_busy`.
    pub(super) fn read_free_busy(&mut self, ctx: &Ctx<'_>, req: &Req<'_>) -> Outcome {
        let account_id = req.caller.account()?.to_string();
        req.caller.need("read_free_busy")?;
        let selection = self.selection(&account_id, req)?;
        let localized = req.flag("localized_times")?;
        let include_free = req.flag("include_free")?;
        let include_ids = req.flag("include_ids")?;
        let items: Vec<Value> = self
            .selected(&account_id, &selection)
            .into_iter()
            .filter(|e| {
                e.status != "cancelled" && (include_free || e.transparency != "transparent")
            })
            .map(|e| {
                let mut block = json!({
                    "calendar_id": e.calendar_id,
                    "start": e.start.to_json(&e.tzid, localized),
                    "end": e.end.to_json(&e.tzid, localized),
                    "free_busy_status": e.free_busy_status(),
                });
                if include_ids {
                    block["event_uid"] = json!(e.event_uid);
                    if let Some(id) = &e.event_id {
                        block["event_id"] = json!(id);
                    }
                }
                if selection.include_deleted {
                    block["deleted"] = json!(e.deleted);
                }
                block
            })
            .collect();
        ok(self.first_page(ctx, &account_id, "free_busy", items))
    }
}
