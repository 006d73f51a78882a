//! Times, identifiers and signatures: event boundaries as Cronofy writes
//! them, durations in minutes, random ids, HMAC signatures.

use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};

use super::errors::{ApiErr, invalid};
use crate::cronofy::types;
use crate::runtime::Secret;

/// Now plus `d`, at the latest the end of time.
pub(super) fn from_now(d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| Utc::now().checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `n` minutes.
pub(super) fn minutes(n: u64) -> chrono::Duration {
    chrono::Duration::minutes(i64::try_from(n).unwrap_or(i64::MAX / 60_000))
}

/// `2014-09-08T15:30:00Z`.
pub(super) fn fmt_utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Midnight of `date` in `tz`, as a UTC instant.
pub(super) fn day_start(date: NaiveDate, tz: chrono_tz::Tz) -> DateTime<Utc> {
    let midnight = date.and_time(NaiveTime::MIN);
    tz.from_local_datetime(&midnight)
        .earliest()
        .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
}

/// A stored time zone (checked when it was stored), UTC if it is not one.
pub(super) fn parse_tz(raw: &str) -> chrono_tz::Tz {
    raw.parse().unwrap_or(chrono_tz::UTC)
}

/// An IANA time zone, else 422 on `field`.
pub(super) fn tz(field: &str, raw: &str) -> Result<chrono_tz::Tz, ApiErr> {
    raw.parse::<chrono_tz::Tz>()
        .map_err(|_| invalid(field, format!("{field} is not a known time zone")))
}

/// An event's start, end and time zone (its own, else its start's or its
/// end's, else UTC), checked as the server checks them. Fields are named
/// below `at` (`event.start`), or at the top when `at` is empty.
pub(super) fn event_span(
    at: &str,
    tzid: Option<&String>,
    start: &types::EventTime,
    end: &types::EventTime,
) -> Result<(When, When, String), ApiErr> {
    let field = |name: &str| match at {
        "" => name.to_string(),
        _ => format!("{at}.{name}"),
    };
    if let Some(t) = tzid {
        tz(&field("tzid"), t)?;
    }
    let (start, start_tz) = when_of(&field("start"), start)?;
    let (end, end_tz) = when_of(&field("end"), end)?;
    check_period(start, end).map_err(|e| match at {
        "" => e,
        _ => super::errors::prefix_errors(e, at),
    })?;
    let tzid = tzid.cloned().or(start_tz).or(end_tz);
    Ok((start, end, tzid.unwrap_or_else(|| "Etc/UTC".into())))
}

/// `09:30` as 09:30:00.
pub(super) fn hh_mm(raw: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(raw, "%H:%M").ok()
}

/// An event boundary: a UTC instant, or a date (all-day).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum When {
    /// A time.
    Instant(DateTime<Utc>),
    /// A date.
    Day(NaiveDate),
}

impl When {
    /// The instant this boundary stands for in `tzid` (midnight for dates).
    pub(super) fn instant(self, tzid: &str) -> DateTime<Utc> {
        match self {
            When::Instant(t) => t,
            When::Day(d) => day_start(d, parse_tz(tzid)),
        }
    }

    /// As Cronofy answers it: a UTC string, a date, or with `localized`
    /// a `{time, tzid}` object in the event's zone.
    pub(super) fn to_json(self, tzid: &str, localized: bool) -> Value {
        match (self, localized) {
            (When::Instant(t), false) => json!(fmt_utc(t)),
            (When::Day(d), false) => json!(d.to_string()),
            (When::Instant(t), true) => json!({
                "time": t.with_timezone(&parse_tz(tzid)).format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
                "tzid": tzid,
            }),
            (When::Day(d), true) => json!({"time": d.to_string(), "tzid": tzid}),
        }
    }
}

/// A request's event time with the zone it names, if it names one.
pub(super) fn when_of(
    field: &str,
    time: &types::EventTime,
) -> Result<(When, Option<String>), ApiErr> {
    Ok(match time {
        types::EventTime::UtcDateTime(t) => (When::Instant(t.0), None),
        types::EventTime::CalendarDate(d) => (When::Day(d.0), None),
        types::EventTime::LocalizedTime(l) => {
            tz(&format!("{field}.tzid"), &l.tzid)?;
            let when = match &l.time {
                types::DateOrDateTime::UtcDateTime(t) => When::Instant(t.0),
                types::DateOrDateTime::CalendarDate(d) => When::Day(d.0),
            };
            (when, Some(l.tzid.clone()))
        }
    })
}

/// Start and end of one kind, end after start.
pub(super) fn check_period(start: When, end: When) -> Result<(), ApiErr> {
    match (start, end) {
        (When::Instant(s), When::Instant(e)) if e > s => Ok(()),
        (When::Day(s), When::Day(e)) if e > s => Ok(()),
        (When::Instant(_), When::Instant(_)) | (When::Day(_), When::Day(_)) => {
            Err(invalid("end", "end must be after start"))
        }
        _ => Err(invalid(
            "end",
            "start and end must both be times or both be dates",
        )),
    }
}

/// Minutes of a `{minutes, hours}` duration.
pub(super) fn duration_minutes(d: &types::Duration) -> u64 {
    d.hours
        .unwrap_or(0)
        .saturating_mul(60)
        .saturating_add(d.minutes.unwrap_or(0))
}

/// Minutes of a buffer side (the `minimum` of a range).
pub(super) fn buffer_minutes(side: Option<&types::BufferSide>) -> u64 {
    side.map_or(0, |s| match &s.minimum {
        Some(min) => duration_minutes(min),
        None => s
            .hours
            .unwrap_or(0)
            .saturating_mul(60)
            .saturating_add(s.minutes.unwrap_or(0)),
    })
}

/// `len` random lower-case hex digits.
pub(super) fn hex_id(len: usize) -> String {
    (0..len)
        .map(|_| char::from_digit(u32::from(fastrand::u8(0..16)), 16).unwrap_or('0'))
        .collect()
}

/// `len` random ASCII letters and digits.
pub(super) fn alnum_id(len: usize) -> String {
    (0..len).map(|_| fastrand::alphanumeric()).collect()
}

/// `Base64(HMAC-SHA256(client secret, body))`.
pub(super) fn sign(secret: &Secret, body: &[u8]) -> String {
    match hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.expose().as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// Whether `raw` is an http or https URL with a host (the client's check).
pub(super) fn web_url(raw: &str) -> bool {
    crate::cronofy::checks::web_url(raw).is_ok()
}

/// 422 on `field` unless `raw` is an http(s) URL.
pub(super) fn check_web_url(field: &str, raw: &str) -> Result<(), ApiErr> {
    if web_url(raw) {
        return Ok(());
    }
    let name = field.rsplit('.').next().unwrap_or(field);
    Err(invalid(
        field,
        format!("{name} must be an http or https URL"),
    ))
}

/// Roughly an email address: `user@host.tld`, no spaces.
pub(super) fn plausible_email(s: &str) -> bool {
    s.split_once('@')
        .is_some_and(|(user, host)| !user.is_empty() && host.contains('.') && !s.contains(' '))
}

/// The domain of an email address, lower-cased.
pub(super) fn domain_of(email: &str) -> String {
    email
        .rsplit('@')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_those_cronofy_documents() {
        let secret = Secret::new("opposable thumbs");
        assert_eq!(
            sign(&secret, br#"{"example":"well-known"}"#),
            "38ArsN7+J/O8joGsgirVEdV16a/+eb+5QgHGIiuv4hk="
        );
    }

    #[test]
    fn boundaries_read_back_as_cronofy_writes_them() {
        let t = DateTime::parse_from_rfc3339("2026-11-25T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            When::Instant(t).to_json("Etc/UTC", false),
            json!("2026-11-25T09:00:00Z")
        );
        assert_eq!(
            When::Instant(t).to_json("Europe/Paris", true),
            json!({"time": "2026-11-25T10:00:00+01:00", "tzid": "Europe/Paris"})
        );
        let d = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        // Midnight in Chicago (UTC-6 in November) is 06:00 UTC.
        assert_eq!(
            When::Day(d).instant("America/Chicago"),
            t - chrono::Duration::hours(3)
        );
        assert!(check_period(When::Day(d), When::Instant(t)).is_err());
        assert!(check_web_url("oauth.redirect_uri", "ftp://x").is_err());
        assert_eq!(domain_of("Alice@Example.COM"), "example.com");
    }
}
