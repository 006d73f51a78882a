//! Availability rules (weekly periods in a time zone) and available
//! periods of an account: what managed availability is made of.

use serde_json::{Value, json};

use super::dispatch::Req;
use super::errors::{Answer, ApiErr, Outcome, invalid, ok};
use super::store::{Caller, Ctx, PeriodRow, Store};
use super::times::{check_period, day_start, hh_mm, tz, when_of};
use crate::cronofy::types;

impl Store {
    /// `GET /v1/availability_rules`.
    pub(super) fn list_rules(&self, caller: &Caller) -> Outcome {
        let account_id = caller.account()?;
        let rules: Vec<&types::AvailabilityRule> = self
            .rules
            .iter()
            .filter(|(a, _)| a == account_id)
            .map(|(_, r)| r)
            .collect();
        ok(json!({ "availability_rules": rules }))
    }

    /// `POST /v1/availability_rules`: creates or replaces the rule.
    pub(super) fn upsert_rule(&mut self, req: &Req<'_>) -> Outcome {
        let account_id = req.caller.account()?.to_string();
        let rule: types::AvailabilityRule = req.decode("AvailabilityRule")?;
        let id = &rule.availability_rule_id;
        if id.is_empty() || id.len() > 64 || !id.is_ascii() {
            return Err(invalid(
                "availability_rule_id",
                "availability_rule_id must be 1 to 64 ASCII characters",
            ));
        }
        tz("tzid", &rule.tzid)?;
        for (i, id) in rule.calendar_ids.iter().enumerate() {
            if self.own_calendar(&account_id, id).is_err() {
                return Err(invalid(
                    &format!("calendar_ids.{i}"),
                    format!("{id} is not a calendar of this account"),
                ));
            }
        }
        for (i, p) in rule.weekly_periods.iter().enumerate() {
            let field = format!("weekly_periods.{i}");
            let start = hh_mm(&p.start_time).ok_or_else(|| {
                invalid(&format!("{field}.start_time"), "start_time must be HH:MM")
            })?;
            let end = hh_mm(&p.end_time)
                .ok_or_else(|| invalid(&format!("{field}.end_time"), "end_time must be HH:MM"))?;
            if end <= start {
                return Err(invalid(
                    &format!("{field}.end_time"),
                    "end_time must be after start_time",
                ));
            }
        }
        self.rules.retain(|(a, r)| {
            !(a == &account_id && r.availability_rule_id == rule.availability_rule_id)
        });
        let answer = json!({ "availability_rule": rule });
        self.rules.push((account_id, rule));
        ok(answer)
    }

    /// `GET /v1/availability_rules/{availability_rule_id}`.
    pub(super) fn get_rule(&self, caller: &Caller, id: &str) -> Outcome {
        let account_id = caller.account()?;
        let rule = self
            .rules
            .iter()
            .find(|(a, r)| a == account_id && r.availability_rule_id == id)
            .ok_or_else(ApiErr::not_found)?;
        ok(json!({ "availability_rule": rule.1 }))
    }

    /// `DELETE /v1/availability_rules/{availability_rule_id}`.
    pub(super) fn delete_rule(&mut self, caller: &Caller, id: &str) -> Outcome {
        let account_id = caller.account()?.to_string();
        let before = self.rules.len();
        self.rules
            .retain(|(a, r)| !(a == &account_id && r.availability_rule_id == id));
        if self.rules.len() == before {
            return Err(ApiErr::not_found());
        }
        Ok(Answer::Accepted)
    }

    /// `POST /v1/available_periods`: creates or replaces the period.
    pub(super) fn upsert_period(&mut self, req: &Req<'_>) -> Outcome {
        let account_id = req.caller.account()?.to_string();
        let period: types::AvailablePeriodUpsert = req.decode("AvailablePeriodUpsert")?;
        let id = &period.available_period_id;
        if id.is_empty() || id.len() > 64 || !id.is_ascii() {
            return Err(invalid(
                "available_period_id",
                "available_period_id must be 1 to 64 ASCII characters",
            ));
        }
        let (start, start_tz) = when_of("start", &period.start)?;
        let (end, end_tz) = when_of("end", &period.end)?;
        check_period(start, end)?;
        let tzid = start_tz.or(end_tz).unwrap_or_else(|| "Etc/UTC".into());
        self.periods
            .retain(|p| !(p.account_id == account_id && &p.available_period_id == id));
        self.periods.push(PeriodRow {
            account_id,
            available_period_id: id.clone(),
            start,
            end,
            tzid,
        });
        Ok(Answer::Accepted)
    }

    /// `GET /v1/available_periods`, paged.
    pub(super) fn list_periods(&mut self, ctx: &Ctx<'_>, req: &Req<'_>) -> Outcome {
        let account_id = req.caller.account()?.to_string();
        let tzid = req
            .query
            .get("tzid")
            .map(|raw| tz("tzid", raw))
            .transpose()?
            .unwrap_or(chrono_tz::UTC);
        let from = req.date("from")?.map(|d| day_start(d, tzid));
        let to = req.date("to")?.map(|d| day_start(d, tzid));
        let localized = req.flag("localized_times")?;
        req.check_params()?;
        let mut periods: Vec<&PeriodRow> = self
            .periods
            .iter()
            .filter(|p| {
                p.account_id == account_id
                    && from.is_none_or(|f| p.end.instant(&p.tzid) > f)
                    && to.is_none_or(|t| p.start.instant(&p.tzid) < t)
            })
            .collect();
        periods.sort_by_key(|p| (p.start.instant(&p.tzid), p.available_period_id.clone()));
        let items: Vec<Value> = periods
            .into_iter()
            .map(|p| {
                json!({
                    "available_period_id": p.available_period_id,
                    "start": p.start.to_json(&p.tzid, localized),
                    "end": p.end.to_json(&p.tzid, localized),
                })
            })
            .collect();
        ok(self.first_page(ctx, &account_id, "available_periods", items))
    }

    /// `DELETE /v1/available_periods`: one by id, or all.
    pub(super) fn delete_period(&mut self, req: &Req<'_>) -> Outcome {
        let account_id = req.caller.account()?.to_string();
        if req.body.get("delete_all").is_some() {
            let all: types::AvailablePeriodDeleteAll = req.decode("AvailablePeriodDeleteAll")?;
            if !all.delete_all {
                return Err(invalid("delete_all", "delete_all must be true"));
            }
            self.periods.retain(|p| p.account_id != account_id);
            return Ok(Answer::Accepted);
        }
        let one: types::AvailablePeriodDeleteOne = req.decode("AvailablePeriodDeleteOne")?;
        self.periods.retain(|p| {
            !(p.account_id == account_id && p.available_period_id == one.available_period_id)
        });
        Ok(Answer::Accepted)
    }
}
