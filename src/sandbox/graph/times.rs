//! Times as Graph writes them: UTC instants (`2024-05-01T10:00:00Z`),
//! `dateTimeTimeZone` values (a local time with seven fractional digits and
//! no offset, and a Windows or IANA time zone name), and the time zone of
//! `Prefer: outlook.timezone="..."`.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use super::errors::{GraphErr, bad_request};

/// `2024-05-01T10:00:00Z`.
pub(super) fn fmt_utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Windows time zone names Outlook uses, with the IANA zone each stands for
/// (CLDR's `windowsZones`, the zones clients send most).
const WINDOWS_ZONES: &[(&str, &str)] = &[
    ("UTC", "Etc/UTC"),
    ("Coordinated Universal Time", "Etc/UTC"),
    ("Dateline Standard Time", "Etc/GMT+12"),
    ("Hawaiian Standard Time", "Pacific/Honolulu"),
    ("Alaskan Standard Time", "America/Anchorage"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("US Mountain Standard Time", "America/Phoenix"),
    ("Mountain Standard Time", "America/Denver"),
    ("Central Standard Time", "America/Chicago"),
    ("Central America Standard Time", "America/Guatemala"),
    ("Central Standard Time (Mexico)", "America/Mexico_City"),
    ("Eastern Standard Time", "America/New_York"),
    ("Atlantic Standard Time", "America/Halifax"),
    ("Newfoundland Standard Time", "America/St_Johns"),
    ("E. South America Standard Time", "America/Sao_Paulo"),
    ("Argentina Standard Time", "America/Argentina/Buenos_Aires"),
    ("GMT Standard Time", "Europe/London"),
    ("Greenwich Standard Time", "Atlantic/Reykjavik"),
    ("W. Europe Standard Time", "Europe/Berlin"),
    ("Central Europe Standard Time", "Europe/Budapest"),
    ("Romance Standard Time", "Europe/Paris"),
    ("Central European Standard Time", "Europe/Warsaw"),
    ("GTB Standard Time", "Europe/Bucharest"),
    ("FLE Standard Time", "Europe/Kiev"),
    ("E. Europe Standard Time", "Europe/Chisinau"),
    ("Turkey Standard Time", "Europe/Istanbul"),
    ("Israel Standard Time", "Asia/Jerusalem"),
    ("Egypt Standard Time", "Africa/Cairo"),
    ("South Africa Standard Time", "Africa/Johannesburg"),
    ("Russian Standard Time", "Europe/Moscow"),
    ("Arabian Standard Time", "Asia/Dubai"),
    ("Pakistan Standard Time", "Asia/Karachi"),
    ("India Standard Time", "Asia/Kolkata"),
    ("SE Asia Standard Time", "Asia/Bangkok"),
    ("China Standard Time", "Asia/Shanghai"),
    ("Singapore Standard Time", "Asia/Singapore"),
    ("Taipei Standard Time", "Asia/Taipei"),
    ("Tokyo Standard Time", "Asia/Tokyo"),
    ("Korea Standard Time", "Asia/Seoul"),
    ("W. Australia Standard Time", "Australia/Perth"),
    ("E. Australia Standard Time", "Australia/Brisbane"),
    ("AUS Eastern Standard Time", "Australia/Sydney"),
    ("New Zealand Standard Time", "Pacific/Auckland"),
];

/// The zone a Windows or IANA time zone name stands for.
pub(super) fn zone(name: &str) -> Option<Tz> {
    let name = name.trim();
    if let Some((_, iana)) = WINDOWS_ZONES
        .iter()
        .find(|(w, _)| w.eq_ignore_ascii_case(name))
    {
        return iana.parse().ok();
    }
    name.parse().ok()
}

/// The zone `name`, or Graph's 400 `TimeZoneNotSupportedException`.
pub(super) fn zone_or_400(name: &str) -> Result<Tz, GraphErr> {
    zone(name).ok_or_else(|| {
        bad_request(
            "TimeZoneNotSupportedException",
            format!(
                "A valid TimeZone value must be specified. The following TimeZone value is not supported: '{name}'."
            ),
        )
    })
}

/// A local time without offset: `2024-05-01T10:00:00`, with up to seven
/// fractional digits.
pub(super) fn parse_local(raw: &str) -> Option<NaiveDateTime> {
    let raw = raw.trim();
    let (main, fraction) = raw.split_once('.').unwrap_or((raw, ""));
    if fraction.len() > 7 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDateTime::parse_from_str(main, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(main, "%Y-%m-%dT%H:%M"))
        .ok()
}

/// `local` in `tz` as a UTC instant (the earlier one when the clocks go
/// back, the time after the gap when they go forward).
pub(super) fn local_to_utc(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    tz.from_local_datetime(&local)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(local + chrono::Duration::hours(1)))
                .earliest()
        })
        .map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc))
}

/// An instant of a query (`startDateTime`): with an offset or `Z`, or a
/// local time read in `tz`.
pub(super) fn parse_instant(raw: &str, tz: Tz) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw.trim()) {
        return Some(t.with_timezone(&Utc));
    }
    if let Some(local) = parse_local(raw) {
        return Some(local_to_utc(local, tz));
    }
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .ok()
        .map(|d| local_to_utc(d.and_time(NaiveTime::MIN), tz))
}

/// A `dateTimeTimeZone` body value read: its local time, its zone's name
/// (`UTC` when it names none) and the instant. 400 naming `field` when it
/// is not one.
pub(super) fn read_dttz(
    field: &str,
    value: &Value,
) -> Result<(NaiveDateTime, String, DateTime<Utc>), GraphErr> {
    let raw = value
        .get("dateTime")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            bad_request(
                "ErrorInvalidRequest",
                format!("The property '{field}' needs a dateTime."),
            )
        })?;
    let zone_name = value
        .get("timeZone")
        .and_then(Value::as_str)
        .filter(|z| !z.is_empty())
        .unwrap_or("UTC")
        .to_string();
    let tz = zone_or_400(&zone_name)?;
    let local = parse_local(raw).or_else(|| {
        DateTime::parse_from_rfc3339(raw)
            .ok()
            .map(|t| t.with_timezone(&tz).naive_local())
    });
    let local = local.ok_or_else(|| {
        bad_request(
            "ErrorInvalidRequest",
            format!("Cannot convert the literal '{raw}' of '{field}.dateTime' to a date and time."),
        )
    })?;
    Ok((local, zone_name.clone(), local_to_utc(local, tz)))
}

/// `t` as a `dateTimeTimeZone` in zone `name` (read by [`zone`]).
pub(super) fn dttz(t: DateTime<Utc>, name: &str) -> Value {
    let local = zone(name).map_or_else(|| t.naive_utc(), |tz| t.with_timezone(&tz).naive_local());
    json!({"dateTime": fmt_local(local), "timeZone": name})
}

/// `2024-05-01T10:00:00.0000000`.
pub(super) fn fmt_local(local: NaiveDateTime) -> String {
    format!("{}.0000000", local.format("%Y-%m-%dT%H:%M:%S"))
}

/// The time zone of `Prefer: outlook.timezone="..."`, if the header names one.
pub(super) fn preferred_zone(prefer: Option<&str>) -> Option<String> {
    prefer?.split(',').find_map(|part| {
        let (key, value) = part.trim().split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("outlook.timezone")
            .then(|| value.trim().trim_matches('"').to_string())
    })
}

/// The page size of `Prefer: odata.maxpagesize=N`, if the header names one.
pub(super) fn preferred_page_size(prefer: Option<&str>) -> Option<usize> {
    prefer?.split(',').find_map(|part| {
        let (key, value) = part.trim().split_once('=')?;
        if key.trim().eq_ignore_ascii_case("odata.maxpagesize") {
            value.trim().parse().ok()
        } else {
            None
        }
    })
}

/// Whether `t` is midnight.
pub(super) fn is_midnight(t: NaiveDateTime) -> bool {
    t.time() == NaiveTime::MIN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_iana_zones_read_the_same_and_local_times_convert() {
        assert_eq!(zone("Pacific Standard Time"), zone("America/Los_Angeles"));
        assert!(zone("Mars Standard Time").is_none());
        let (local, name, utc) = read_dttz(
            "start",
            &json!({"dateTime": "2024-07-01T09:30:00.0000000", "timeZone": "Pacific Standard Time"}),
        )
        .unwrap();
        assert_eq!(name, "Pacific Standard Time");
        assert_eq!(fmt_local(local), "2024-07-01T09:30:00.0000000");
        assert_eq!(fmt_utc(utc), "2024-07-01T16:30:00Z");
        assert_eq!(
            dttz(utc, "Pacific Standard Time")["dateTime"],
            "2024-07-01T09:30:00.0000000"
        );
        assert_eq!(dttz(utc, "UTC")["dateTime"], "2024-07-01T16:30:00.0000000");
        let e = read_dttz(
            "start",
            &json!({"dateTime": "2024-07-01T09:30:00", "timeZone": "Nowhere"}),
        )
        .unwrap_err();
        assert_eq!(e.code, "TimeZoneNotSupportedException");
        assert!(read_dttz("end", &json!({"dateTime": "soon"})).is_err());
        assert_eq!(
            preferred_zone(Some(
                "odata.maxpagesize=5, outlook.timezone=\"Eastern Standard Time\""
            )),
            Some("Eastern Standard Time".into())
        );
        assert_eq!(preferred_page_size(Some("odata.maxpagesize=5")), Some(5));
        let tz = zone("UTC").unwrap();
        assert_eq!(
            parse_instant("2024-07-01T00:00:00-07:00", tz).map(fmt_utc),
            Some("2024-07-01T07:00:00Z".into())
        );
        assert_eq!(
            parse_instant("2024-07-01T00:00:00.0000000", tz).map(fmt_utc),
            Some("2024-07-01T00:00:00Z".into())
        );
    }
}
