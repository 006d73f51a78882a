//! Cronofy's rules that no schema states, checked before a request is
//! sent (the spec's own constraints are checked by the runtime): time
//! zones against the IANA database, periods that end after they start,
//! `by_day` only in weekly rules. Each failure is an [`Error::Invalid`]
//! naming the field.

use chrono::{DateTime, NaiveDate, Utc};

use super::types;
use crate::runtime::spec::Operation;
use crate::runtime::validate::query_date;
use crate::{Error, Result};

/// The spec's `format: tzid`: an IANA time zone id, in the tz database.
pub(crate) fn tzid(value: &str) -> std::result::Result<(), String> {
    value
        .parse::<chrono_tz::Tz>()
        .map(drop)
        .map_err(|_| format!("`{value}` is not an IANA time zone (like `Europe/London`)"))
}

/// The spec's `format: uri`: an http or https URL.
pub(crate) fn web_url(value: &str) -> std::result::Result<(), String> {
    url::Url::parse(value)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .map(drop)
        .ok_or_else(|| format!("`{value}` is not an http or https URL"))
}

/// The checks of one request of `op`, on its query pairs and JSON body.
pub(crate) fn check(
    op: &Operation,
    query: &[(String, String)],
    body: Option<&serde_json::Value>,
) -> Result<()> {
    let date = |key| query_date(query, key);
    if let (Some(f), Some(t)) = (date("from"), date("to"))
        && t <= f
    {
        return Err(Error::invalid("to", format!("{t} is not after from {f}")));
    }
    let Some(body) = body else { return Ok(()) };
    match op.id {
        "upsert_event" => match serde_json::from_value::<types::EventUpsertRequest>(body.clone()) {
            Ok(types::EventUpsertRequest::EventUpsert(e)) => event(&e),
            Ok(types::EventUpsertRequest::ExternalEventUpdate(e)) => external_event(&e),
            // The schema check already named what is wrong.
            Err(_) => Ok(()),
        },
        _ => Ok(()),
    }
}

fn check_tzid(field: &str, value: &str) -> Result<()> {
    tzid(value).map_err(|reason| Error::invalid(field, reason))
}

/// An event time reduced to something comparable.
enum When {
    Instant(DateTime<Utc>),
    Day(NaiveDate),
}

fn when(field: &str, time: &types::EventTime) -> Result<When> {
    Ok(match time {
        types::EventTime::UtcDateTime(t) => When::Instant(t.0),
        types::EventTime::CalendarDate(d) => When::Day(d.0),
        types::EventTime::LocalizedTime(l) => {
            check_tzid(&format!("body.{field}.tzid"), &l.tzid)?;
            match &l.time {
                types::DateOrDateTime::UtcDateTime(t) => When::Instant(t.0),
                types::DateOrDateTime::CalendarDate(d) => When::Day(d.0),
            }
        }
    })
}

/// Start and end of one kind (both dates or both times), end after start.
fn period(start: &types::EventTime, end: &types::EventTime) -> Result<()> {
    match (when("start", start)?, when("end", end)?) {
        (When::Instant(s), When::Instant(e)) if e <= s => Err(Error::invalid(
            "body.end",
            format!("{e} is not after start {s}"),
        )),
        // All-day end dates are exclusive: a one-day event ends the next day.
        (When::Day(s), When::Day(e)) if e <= s => Err(Error::invalid(
            "body.end",
            format!("{e} is not after start {s} (all-day end dates are exclusive)"),
        )),
        (When::Instant(_), When::Day(_)) | (When::Day(_), When::Instant(_)) => Err(Error::invalid(
            "body.end",
            "start and end must both be dates (all-day) or both be times",
        )),
        _ => Ok(()),
    }
}

/// A managed event: its period and recurrence.
pub(crate) fn event(e: &types::EventUpsert) -> Result<()> {
    period(&e.start, &e.end)?;
    if let Some(r) = &e.recurrence {
        recurrence(r)?;
    }
    Ok(())
}

/// `by_day` only in a `weekly` rule, as the docs say.
fn recurrence(r: &types::EventRecurrence) -> Result<()> {
    for (i, rule) in r.rules.iter().enumerate() {
        if !rule.by_day.is_empty() && rule.frequency != types::RecurrenceRuleFrequency::Weekly {
            return Err(Error::invalid(
                format!("body.recurrence.rules[{i}].by_day"),
                format!(
                    "by_day is only valid in a weekly rule, not a {} one",
                    rule.frequency
                ),
            ));
        }
    }
    Ok(())
}

/// An external event update: the period when both ends change.
pub(crate) fn external_event(e: &types::ExternalEventUpdate) -> Result<()> {
    match (&e.start, &e.end) {
        (Some(s), Some(en)) => period(s, en),
        (Some(s), None) => when("start", s).map(drop),
        (None, Some(en)) => when("end", en).map(drop),
        (None, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> types::EventTime {
        serde_json::from_value(serde_json::json!(s)).unwrap()
    }

    #[test]
    fn by_day_is_only_valid_in_a_weekly_rule() {
        let rule = |json: serde_json::Value| -> types::EventRecurrence {
            serde_json::from_value(serde_json::json!({ "rules": [json] })).unwrap()
        };
        assert!(
            recurrence(&rule(
                serde_json::json!({"frequency": "weekly", "by_day": ["monday"]})
            ))
            .is_ok()
        );
        assert!(
            recurrence(&rule(
                serde_json::json!({"frequency": "daily", "interval": 3})
            ))
            .is_ok()
        );
        match recurrence(&rule(
            serde_json::json!({"frequency": "monthly", "by_day": ["friday"]}),
        )) {
            Err(Error::Invalid { field, reason }) => {
                assert_eq!(field, "body.recurrence.rules[0].by_day");
                assert!(reason.contains("monthly"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn periods_need_one_kind_and_end_after_start() {
        assert!(period(&t("2026-11-23T10:00:00Z"), &t("2026-11-23T11:00:00Z")).is_ok());
        assert!(period(&t("2026-11-23"), &t("2026-11-24")).is_ok());
        for (s, e) in [
            ("2026-11-23T11:00:00Z", "2026-11-23T10:00:00Z"),
            ("2026-11-23T10:00:00Z", "2026-11-23T10:00:00Z"),
            ("2026-11-23", "2026-11-23"),
            ("2026-11-23", "2026-11-23T10:00:00Z"),
        ] {
            match period(&t(s), &t(e)) {
                Err(Error::Invalid { field, .. }) => assert_eq!(field, "body.end"),
                other => panic!("{s} {e}: {other:?}"),
            }
        }
        let localized: types::EventTime = serde_json::from_value(
            serde_json::json!({"time": "2026-11-23T10:00:00Z", "tzid": "Mars/Olympus"}),
        )
        .unwrap();
        assert!(
            matches!(period(&localized, &t("2026-11-23T11:00:00Z")), Err(Error::Invalid { field, .. }) if field == "body.start.tzid")
        );
    }

    #[test]
    fn urls_and_time_zones() {
        assert!(tzid("Europe/London").is_ok());
        assert!(tzid("Europe/Londres").is_err());
        assert!(web_url("https://example.com/notifications").is_ok());
        assert!(web_url("ftp://example.com").is_err());
        assert!(web_url("not a url").is_err());
    }
}
