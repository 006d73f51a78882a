//! Series and free/busy: the occurrences of a recurring event (daily,
//! weekly, absolute monthly and absolute yearly patterns; ranges ending on a
//! date, after a number of occurrences, or never), `getSchedule`'s busy
//! items and availability view, and `findMeetingTimes`' suggestions (slots
//! of the meeting's length on a half-hour grid inside the time constraint
//! where the organizer and every attendee who is a user here are free).

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde_json::{Value, json};

use super::calendar::{instant, overlaps, show_event};
use super::dispatch::Req;
use super::errors::{Outcome, bad_request, ok};
use super::store::{Row, Store};
use super::times::{dttz, local_to_utc, parse_local, read_dttz, zone};

/// The longest window of `getSchedule` and of a `findMeetingTimes` slot (Graph's 62 days).
const MAX_WINDOW_DAYS: i64 = 62;

/// The most days a series is walked (twenty years).
const MAX_DAYS: i64 = 20 * 366;

/// The occurrences of series `master` that overlap `[from, to)`, shown in
/// `zone` (a row without `recurrence` is its own only instance).
pub(super) fn instances(
    master: &Row,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    zone_name: &str,
) -> Vec<Value> {
    let recurrence = master
        .json
        .get("recurrence")
        .cloned()
        .unwrap_or(Value::Null);
    if recurrence.is_null() {
        return if overlaps(master, from, to) {
            vec![show_event(master, zone_name)]
        } else {
            Vec::new()
        };
    }
    let (Some(start), Some(end)) = (instant(master, "_startUtc"), instant(master, "_endUtc"))
    else {
        return Vec::new();
    };
    let length = end - start;
    let series_zone = master.json["start"]["timeZone"].as_str().unwrap_or("UTC");
    let tz = zone(series_zone).unwrap_or(chrono_tz::UTC);
    let local_start = master.json["start"]["dateTime"]
        .as_str()
        .and_then(parse_local);
    let Some(local_start) = local_start else {
        return Vec::new();
    };
    let pattern = &recurrence["pattern"];
    let range = &recurrence["range"];
    let first = range["startDate"]
        .as_str()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .unwrap_or(local_start.date());
    let last = match range["type"].as_str() {
        Some("endDate") => range["endDate"]
            .as_str()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
        _ => None,
    };
    let limit = match range["type"].as_str() {
        Some("numbered") => range["numberOfOccurrences"].as_u64(),
        _ => None,
    };
    let mut out = Vec::new();
    let mut count = 0u64;
    for offset in 0..MAX_DAYS {
        let day = first + Duration::days(offset);
        if last.is_some_and(|l| day > l) || limit.is_some_and(|n| count >= n) {
            break;
        }
        if !matches_pattern(pattern, first, day) {
            continue;
        }
        count += 1;
        let occurrence_start = local_to_utc(day.and_time(local_start.time()), tz);
        if occurrence_start >= to {
            break;
        }
        let occurrence_end = occurrence_start + length;
        let inside = if length.is_zero() {
            occurrence_start >= from
        } else {
            occurrence_end > from
        };
        if inside {
            let mut shown = show_event(master, zone_name);
            shown["id"] = json!(format!("{}_{}", master.id(), day.format("%Y%m%d")));
            shown["seriesMasterId"] = json!(master.id());
            shown["type"] = json!("occurrence");
            shown["recurrence"] = Value::Null;
            shown["start"] = dttz(occurrence_start, zone_name);
            shown["end"] = dttz(occurrence_end, zone_name);
            out.push(shown);
        }
    }
    out
}

/// Whether `day` is a day of recurrence `pattern` starting at `first`.
fn matches_pattern(pattern: &Value, first: NaiveDate, day: NaiveDate) -> bool {
    let interval = pattern["interval"].as_i64().unwrap_or(1).max(1);
    let days = (day - first).num_days();
    let months = (i64::from(day.year()) - i64::from(first.year())) * 12 + i64::from(day.month())
        - i64::from(first.month());
    let day_of_month = pattern["dayOfMonth"]
        .as_u64()
        .map_or(first.day(), |d| d as u32);
    match pattern["type"].as_str().unwrap_or("daily") {
        "daily" => days % interval == 0,
        "weekly" => {
            let names: Vec<&str> = pattern["daysOfWeek"]
                .as_array()
                .map(|d| d.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let weekday = weekday_name(day);
            let on_day = if names.is_empty() {
                day.weekday() == first.weekday()
            } else {
                names.iter().any(|n| n.eq_ignore_ascii_case(weekday))
            };
            let week_start =
                |d: NaiveDate| d - Duration::days(i64::from(d.weekday().num_days_from_sunday()));
            let weeks = (week_start(day) - week_start(first)).num_days() / 7;
            on_day && weeks % interval == 0
        }
        "absoluteMonthly" => day.day() == day_of_month && months % interval == 0,
        "absoluteYearly" => {
            let month = pattern["month"]
                .as_u64()
                .map_or(first.month(), |m| m as u32);
            day.month() == month && day.day() == day_of_month && (months / 12) % interval == 0
        }
        // Relative patterns are not expanded: the series shows its first day only.
        _ => day == first,
    }
}

fn weekday_name(day: NaiveDate) -> &'static str {
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ][day.weekday().num_days_from_monday() as usize]
}

/// `PT1H30M`, `PT30M`, `P1D` as a duration.
pub(super) fn iso_duration(text: &str) -> Option<Duration> {
    let rest = text.strip_prefix('P')?;
    let (date, time) = rest.split_once('T').unwrap_or((rest, ""));
    let mut total = Duration::zero();
    let mut add = |part: &str, units: &[(char, i64)]| -> Option<()> {
        let mut number = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() {
                number.push(c);
            } else {
                let secs = units.iter().find(|(u, _)| *u == c)?.1;
                total += Duration::seconds(number.parse::<i64>().ok()? * secs);
                number.clear();
            }
        }
        number.is_empty().then_some(())
    };
    add(date, &[('W', 604_800), ('D', 86_400)])?;
    add(time, &[('H', 3600), ('M', 60), ('S', 1)])?;
    Some(total)
}

/// The status of `showAs` as `getSchedule`'s availability view writes it.
fn busy_code(show_as: &str) -> u8 {
    match show_as {
        "free" => 0,
        "tentative" => 1,
        "oof" => 3,
        "workingElsewhere" => 4,
        _ => 2,
    }
}

impl Store {
    /// The busy events of user `id` in `[from, to)`: (start, end, event).
    fn busy(
        &self,
        id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>, Value)> {
        let mut out = Vec::new();
        for row in self.events.of(id) {
            if row.json.get("isCancelled") == Some(&json!(true)) {
                continue;
            }
            for shown in instances(row, from, to, "UTC") {
                let read = |k: &str| {
                    shown[k]["dateTime"]
                        .as_str()
                        .and_then(parse_local)
                        .map(|l| l.and_utc())
                };
                if let (Some(s), Some(e)) = (read("start"), read("end")) {
                    out.push((s, e, shown));
                }
            }
        }
        out
    }

    /// `getSchedule`.
    pub(super) fn get_schedule(&self, req: &Req) -> Outcome {
        let (_, zone_name, from) = read_dttz("startTime", req.field("startTime"))?;
        let (_, _, to) = read_dttz("endTime", req.field("endTime"))?;
        if to <= from || to - from > Duration::days(MAX_WINDOW_DAYS) {
            return Err(bad_request(
                "ErrorInvalidTimeInterval",
                "The end time must be after the start time, at most 62 days later.",
            ));
        }
        let step = req.field("availabilityViewInterval").as_i64().unwrap_or(30);
        if !(5..=1440).contains(&step) {
            return Err(bad_request(
                "ErrorInvalidParameter",
                "availabilityViewInterval must be between 5 and 1440.",
            ));
        }
        let step = Duration::minutes(step);
        let mut value = Vec::new();
        for address in req
            .field("schedules")
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let Some(user) = self.user(address) else {
                value.push(json!({"scheduleId": address, "availabilityView": "",
                    "error": {"message": format!("The user '{address}' was not found."), "responseCode": "ErrorMailRecipientNotFound"}}));
                continue;
            };
            let busy = self.busy(&user.id, from, to);
            let mut view = String::new();
            let mut t = from;
            while t < to {
                let code = busy
                    .iter()
                    .filter(|(s, e, _)| *s < t + step && *e > t)
                    .map(|(_, _, ev)| busy_code(ev["showAs"].as_str().unwrap_or("busy")))
                    .max()
                    .unwrap_or(0);
                view.push(char::from(b'0' + code));
                t += step;
            }
            let items: Vec<Value> = busy
                .iter()
                .map(|(s, e, ev)| {
                    json!({
                        "isPrivate": ev["sensitivity"] == "private",
                        "status": ev["showAs"].as_str().unwrap_or("busy"),
                        "subject": ev["subject"],
                        "location": ev["location"]["displayName"],
                        "start": dttz(*s, &zone_name),
                        "end": dttz(*e, &zone_name),
                    })
                })
                .collect();
            let working = self
                .settings
                .get(&user.id)
                .map(|s| s["workingHours"].clone())
                .unwrap_or(Value::Null);
            value.push(json!({"scheduleId": address, "availabilityView": view, "scheduleItems": items, "workingHours": working}));
        }
        ok(
            json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(microsoft.graph.scheduleInformation)", "value": value}),
        )
    }

    /// `findMeetingTimes` for organizer `user`.
    pub(super) fn find_meeting_times(&self, req: &Req, user: &str) -> Outcome {
        let length = match req.field("meetingDuration").as_str() {
            Some(text) => iso_duration(text)
                .filter(|d| *d > Duration::zero())
                .ok_or_else(|| {
                    bad_request(
                        "ErrorInvalidParameter",
                        format!("'{text}' is not a duration such as PT1H."),
                    )
                })?,
            None => Duration::minutes(30),
        };
        let max = req.field("maxCandidates").as_u64().unwrap_or(20) as usize;
        let mut slots: Vec<(DateTime<Utc>, DateTime<Utc>, String)> = Vec::new();
        for slot in req.field("timeConstraint")["timeSlots"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let (_, zone_name, from) = read_dttz("timeSlots.start", &slot["start"])?;
            let (_, _, to) = read_dttz("timeSlots.end", &slot["end"])?;
            let to = to.min(from + Duration::days(MAX_WINDOW_DAYS));
            slots.push((from, to, zone_name));
        }
        if slots.is_empty() {
            let now = Utc::now();
            slots.push((now, now + Duration::days(2), "UTC".into()));
        }
        let attendees: Vec<Value> = req
            .field("attendees")
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut people: Vec<String> = vec![user.to_string()];
        people.extend(
            attendees
                .iter()
                .filter_map(|a| a["emailAddress"]["address"].as_str())
                .filter_map(|a| self.user(a).map(|u| u.id.clone())),
        );
        let mut suggestions = Vec::new();
        for (from, to, zone_name) in slots {
            let busy: Vec<(DateTime<Utc>, DateTime<Utc>)> = people
                .iter()
                .flat_map(|p| self.busy(p, from, to))
                .map(|(s, e, _)| (s, e))
                .collect();
            let mut t = align(from);
            while t + length <= to && suggestions.len() < max {
                if !busy.iter().any(|(s, e)| *s < t + length && *e > t) {
                    let availability: Vec<Value> = attendees.iter().map(|a| json!({
                        "attendee": {"type": a["type"].as_str().unwrap_or("required"), "emailAddress": a["emailAddress"]},
                        "availability": "free",
                    })).collect();
                    suggestions.push(json!({
                        "confidence": 100.0,
                        "order": suggestions.len() + 1,
                        "organizerAvailability": "free",
                        "attendeeAvailability": availability,
                        "locations": [],
                        "suggestionReason": "Suggested because it is one of the nearest times when all attendees are available.",
                        "meetingTimeSlot": {"start": dttz(t, &zone_name), "end": dttz(t + length, &zone_name)},
                    }));
                }
                t += Duration::minutes(30);
            }
        }
        let reason = if suggestions.is_empty() {
            "attendeesUnavailable"
        } else {
            ""
        };
        ok(json!({"emptySuggestionsReason": reason, "meetingTimeSuggestions": suggestions}))
    }
}

/// `t` rounded up to the next half hour.
fn align(t: DateTime<Utc>) -> DateTime<Utc> {
    let secs = t.timestamp();
    let step = 1800;
    let up = (secs + step - 1).div_euclid(step) * step;
    DateTime::from_timestamp(up, 0).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn row(json: Value) -> Row {
        Row {
            owner: "u".into(),
            parent: "c".into(),
            json: json.as_object().cloned().unwrap_or_else(Map::new),
            seq: 1,
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn weekly_series_expand_in_their_own_zone() {
        let master = row(json!({
            "id": "M", "subject": "Standup",
            "start": {"dateTime": "2024-03-04T09:00:00.0000000", "timeZone": "Pacific Standard Time"},
            "end": {"dateTime": "2024-03-04T09:15:00.0000000", "timeZone": "Pacific Standard Time"},
            "_startUtc": "2024-03-04T17:00:00Z", "_endUtc": "2024-03-04T17:15:00Z",
            "recurrence": {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday", "wednesday"]},
                "range": {"type": "numbered", "startDate": "2024-03-04", "numberOfOccurrences": 4}},
        }));
        let all = instances(
            &master,
            utc("2024-03-01T00:00:00Z"),
            utc("2024-04-01T00:00:00Z"),
            "UTC",
        );
        let starts: Vec<&str> = all
            .iter()
            .map(|o| o["start"]["dateTime"].as_str().unwrap())
            .collect();
        // 09:00 in Los Angeles: 17:00 UTC, 16:00 once daylight saving starts (March 10).
        assert_eq!(
            starts,
            [
                "2024-03-04T17:00:00.0000000",
                "2024-03-06T17:00:00.0000000",
                "2024-03-11T16:00:00.0000000",
                "2024-03-13T16:00:00.0000000"
            ]
        );
        assert_eq!(all[1]["id"], "M_20240306");
        assert_eq!(all[1]["seriesMasterId"], "M");
        assert_eq!(all[1]["type"], "occurrence");
        assert_eq!(iso_duration("PT1H30M"), Some(Duration::minutes(90)));
        assert_eq!(iso_duration("P1D"), Some(Duration::days(1)));
        assert_eq!(iso_duration("1H"), None);
        assert_eq!(
            align(utc("2024-03-04T17:01:00Z")),
            utc("2024-03-04T17:30:00Z")
        );
    }
}
