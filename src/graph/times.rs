//! Graph's `dateTimeTimeZone`: a local date and time without offset
//! (`2017-08-29T04:00:00.0000000`) and the name of its time zone, Windows
//! (`Pacific Standard Time`, as mailbox settings name them) or IANA
//! (`America/Los_Angeles`). The spec's `DateTimeTimeZone` is
//! [`DateTimeTimeZone`] (its `x-specbound-replace`), so every event, flag
//! and schedule carries typed times.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;
use serde::Deserialize as _;
use serde::de::{self, Visitor};

use super::generated::types::Event;
use super::windows_zones::{IANA_TO_WINDOWS, WINDOWS_TO_IANA};
use crate::{Error, Result};

/// A Windows time zone of CLDR's mapping, such as `Pacific Standard Time`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct WindowsZone(u16);

impl WindowsZone {
    /// The zone named `name`, ignoring ASCII case.
    fn named(name: &str) -> Option<Self> {
        WINDOWS_TO_IANA
            .binary_search_by(|(n, _)| cmp_ignore_ascii_case(n, name))
            .ok()
            .and_then(|i| u16::try_from(i).ok())
            .map(WindowsZone)
    }

    /// The Windows zone CLDR gives for the IANA zone `tz`, if any.
    pub fn for_iana(tz: Tz) -> Option<Self> {
        let name = tz.name();
        IANA_TO_WINDOWS
            .binary_search_by(|(n, _)| n.cmp(&name))
            .ok()
            .and_then(|i| WindowsZone::named(IANA_TO_WINDOWS[i].1))
    }

    /// Its name as Windows spells it (`Pacific Standard Time`).
    pub fn name(self) -> &'static str {
        WINDOWS_TO_IANA[usize::from(self.0)].0
    }

    /// Its IANA zone for the world (CLDR territory `001`):
    /// `Pacific Standard Time` is `America/Los_Angeles`.
    pub fn iana(self) -> Tz {
        WINDOWS_TO_IANA[usize::from(self.0)].1
    }
}

impl fmt::Debug for WindowsZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WindowsZone").field(&self.name()).finish()
    }
}

impl fmt::Display for WindowsZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `a` and `b` compared byte by byte, ASCII letters in lower case.
fn cmp_ignore_ascii_case(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

/// A time zone name as Graph reads and writes it: a Windows name
/// (`Pacific Standard Time`, what mailbox settings answer) or an IANA name
/// (`America/Los_Angeles`). Windows names are matched ignoring ASCII case
/// and written as Windows spells them; `UTC` is the Windows name `UTC`.
///
/// The two kinds convert both ways through CLDR's mapping; two values are
/// equal only when they carry the same name.
///
/// ```
/// use specbound::graph::TimeZoneName;
/// let pacific: TimeZoneName = "Pacific Standard Time".parse()?;
/// assert_eq!(pacific.to_iana().as_str(), "America/Los_Angeles");
/// let vancouver: TimeZoneName = "America/Vancouver".parse()?;
/// assert_eq!(vancouver.to_windows(), Some(pacific));
/// assert!("Mars/Olympus_Mons".parse::<TimeZoneName>().is_err());
/// # Ok::<(), specbound::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeZoneName {
    /// A Windows time zone, `Pacific Standard Time`.
    Windows(WindowsZone),
    /// An IANA time zone, `America/Los_Angeles`.
    Iana(Tz),
}

impl TimeZoneName {
    /// `UTC`, Graph's zone when a request names none.
    pub fn utc() -> Self {
        WindowsZone::named("UTC").map_or(TimeZoneName::Iana(Tz::UTC), TimeZoneName::Windows)
    }

    /// The name as Graph carries it.
    pub fn as_str(&self) -> &'static str {
        match self {
            TimeZoneName::Windows(w) => w.name(),
            TimeZoneName::Iana(tz) => tz.name(),
        }
    }

    /// The IANA zone whose rules give this zone's offsets.
    pub fn tz(&self) -> Tz {
        match self {
            TimeZoneName::Windows(w) => w.iana(),
            TimeZoneName::Iana(tz) => *tz,
        }
    }

    /// The same zone by its IANA name (a Windows zone becomes CLDR's zone
    /// for the world: `Pacific Standard Time` is `America/Los_Angeles`).
    pub fn to_iana(&self) -> Self {
        TimeZoneName::Iana(self.tz())
    }

    /// The same zone by its Windows name, or `None` for an IANA zone CLDR
    /// maps to no Windows zone.
    pub fn to_windows(&self) -> Option<Self> {
        match self {
            TimeZoneName::Windows(_) => Some(*self),
            TimeZoneName::Iana(tz) => WindowsZone::for_iana(*tz).map(TimeZoneName::Windows),
        }
    }
}

impl Default for TimeZoneName {
    /// [`TimeZoneName::utc`].
    fn default() -> Self {
        TimeZoneName::utc()
    }
}

impl From<Tz> for TimeZoneName {
    fn from(tz: Tz) -> Self {
        TimeZoneName::Iana(tz)
    }
}

impl From<WindowsZone> for TimeZoneName {
    fn from(w: WindowsZone) -> Self {
        TimeZoneName::Windows(w)
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TimeZoneName {
    type Err = Error;

    /// A Windows name (any ASCII case), else an IANA name; anything else is
    /// [`Error::Invalid`] naming the value.
    fn from_str(s: &str) -> Result<Self> {
        if let Some(w) = WindowsZone::named(s) {
            return Ok(TimeZoneName::Windows(w));
        }
        s.parse::<Tz>().map(TimeZoneName::Iana).map_err(|_| {
            Error::invalid(
                "timeZone",
                format!(
                    "`{}` is neither a Windows (`Pacific Standard Time`) nor an IANA \
                     (`America/Los_Angeles`) time zone name",
                    shown(s)
                ),
            )
        })
    }
}

/// `s`, cut to its first 100 characters for an error message.
fn shown(s: &str) -> &str {
    s.char_indices().nth(100).map_or(s, |(i, _)| &s[..i])
}

impl serde::Serialize for TimeZoneName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for TimeZoneName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = TimeZoneName;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Windows or IANA time zone name")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<TimeZoneName, E> {
                s.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// A local date and time in a named time zone, Graph's `dateTimeTimeZone`:
/// `{"dateTime": "2017-08-29T04:00:00.0000000", "timeZone": "Pacific Standard Time"}`.
///
/// `dateTime` is read with 0 to 7 fractional digits (or as a date alone,
/// meaning its midnight) and written with 7, as Graph writes it; digits
/// below 100 ns are dropped, and a year outside 0000-9999 cannot be
/// written. A missing or null `timeZone` is `UTC`, Graph's default.
///
/// ```
/// use chrono::NaiveDate;
/// use specbound::graph::{DateTimeTimeZone, TimeZoneName};
/// let start: DateTimeTimeZone = serde_json::from_str(
///     r#"{"dateTime": "2017-04-21T10:00:00.0000000", "timeZone": "Pacific Standard Time"}"#,
/// )?;
/// assert_eq!(start.to_utc()?.to_rfc3339(), "2017-04-21T17:00:00+00:00");
/// let christmas_eve = DateTimeTimeZone::all_day(
///     NaiveDate::from_ymd_opt(2026, 12, 24).unwrap(),
///     "Europe/Berlin".parse::<TimeZoneName>()?,
/// );
/// assert_eq!(
///     serde_json::to_string(&christmas_eve)?,
///     r#"{"dateTime":"2026-12-24T00:00:00.0000000","timeZone":"Europe/Berlin"}"#
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct DateTimeTimeZone {
    /// The local date and time, without offset.
    #[serde(rename = "dateTime", with = "wire")]
    pub date_time: NaiveDateTime,
    /// The zone `date_time` is in.
    #[serde(rename = "timeZone", default, deserialize_with = "zone_or_utc")]
    pub time_zone: TimeZoneName,
}

impl DateTimeTimeZone {
    /// `date_time` in `zone`.
    pub fn new(date_time: NaiveDateTime, zone: impl Into<TimeZoneName>) -> Self {
        DateTimeTimeZone {
            date_time,
            time_zone: zone.into(),
        }
    }

    /// The instant `t` as a local time of `zone`.
    ///
    /// Instants within hours of chrono's limits (year ±262143) give the
    /// limit itself.
    pub fn from_utc(t: DateTime<Utc>, zone: impl Into<TimeZoneName>) -> Self {
        let zone = zone.into();
        let utc = t.naive_utc();
        let offset = zone.tz().offset_from_utc_datetime(&utc).fix();
        let local = utc
            .checked_add_offset(offset)
            .unwrap_or(if offset.local_minus_utc() > 0 {
                NaiveDateTime::MAX
            } else {
                NaiveDateTime::MIN
            });
        DateTimeTimeZone::new(local, zone)
    }

    /// The midnight that starts `date` in `zone`, for all-day events.
    ///
    /// An all-day event (`isAllDay: true`) starts and ends at midnight in
    /// one and the same zone, and its end is the midnight *after* its last
    /// day: an event on 24 December only has start
    /// `all_day(2026-12-24, zone)` and end `all_day(2026-12-25, zone)`.
    pub fn all_day(date: NaiveDate, zone: impl Into<TimeZoneName>) -> Self {
        DateTimeTimeZone::new(date.and_time(NaiveTime::MIN), zone)
    }

    /// The instant this local time names.
    ///
    /// A local time that occurs twice (when clocks go back) is its first
    /// occurrence; one that does not occur (when clocks go forward) is read
    /// with the offset in force before the gap, so `02:30` on a night that
    /// skips from `02:00` to `03:00` is `03:30` after it. Both choices are
    /// iCalendar's (RFC 5545, 3.3.5). The only error is a time so near
    /// chrono's limits that the instant cannot be represented.
    pub fn to_utc(&self) -> Result<DateTime<Utc>> {
        let tz = self.time_zone.tz();
        let local = self.date_time;
        let out_of_range = || {
            Error::invalid(
                "dateTime",
                format!("{self} is out of the range of representable instants"),
            )
        };
        let offset = match tz.offset_from_local_datetime(&local) {
            LocalResult::Single(o) => o.fix(),
            // The larger offset gives the earlier instant.
            LocalResult::Ambiguous(a, b) => {
                let (a, b) = (a.fix(), b.fix());
                if b.local_minus_utc() > a.local_minus_utc() {
                    b
                } else {
                    a
                }
            }
            // Offsets lie within ±15 hours, so 15 hours before `local`
            // (read as UTC) is an instant before the transition.
            LocalResult::None => {
                let before = local
                    .checked_sub_signed(TimeDelta::hours(15))
                    .ok_or_else(out_of_range)?;
                tz.offset_from_utc_datetime(&before).fix()
            }
        };
        local
            .checked_sub_offset(offset)
            .map(|t| t.and_utc())
            .ok_or_else(out_of_range)
    }

    /// The same instant as a local time of `zone`.
    pub fn to_zone(&self, zone: impl Into<TimeZoneName>) -> Result<Self> {
        Ok(DateTimeTimeZone::from_utc(self.to_utc()?, zone))
    }
}

impl fmt::Display for DateTimeTimeZone {
    /// `2017-08-29T04:00:00.0000000 (Pacific Standard Time)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_local(&self.date_time, f)?;
        write!(f, " ({})", self.time_zone)
    }
}

/// A null `timeZone` is UTC, as a missing one is.
fn zone_or_utc<'de, D: serde::Deserializer<'de>>(d: D) -> Result<TimeZoneName, D::Error> {
    Ok(Option::<TimeZoneName>::deserialize(d)?.unwrap_or_default())
}

/// Graph's local date-time text: `YYYY-MM-DD`, optionally followed by
/// `Thh:mm:ss` and `.` with 1 to 7 fractional digits; no offset.
fn parse_local(s: &str) -> Option<NaiveDateTime> {
    fn num(b: &[u8]) -> Option<u32> {
        b.iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    }
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = i32::try_from(num(&b[..4])?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, num(&b[5..7])?, num(&b[8..10])?)?;
    if b.len() == 10 {
        return Some(date.and_time(NaiveTime::MIN));
    }
    if b.len() < 19 || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', frac @ ..] if (1..=7).contains(&frac.len()) => {
            const SCALE: [u32; 8] = [
                0,
                100_000_000,
                10_000_000,
                1_000_000,
                100_000,
                10_000,
                1_000,
                100,
            ];
            num(frac)? * SCALE[frac.len()]
        }
        _ => return None,
    };
    date.and_hms_nano_opt(num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?, nanos)
}

/// `t` as Graph writes it, `2017-08-29T04:00:00.0000000`; a year outside
/// 0000-9999 is written as chrono writes it (and refused when serialising).
fn write_local(t: &NaiveDateTime, f: &mut impl fmt::Write) -> fmt::Result {
    let year = t.year();
    if (0..=9999).contains(&year) {
        write!(f, "{year:04}")?;
    } else {
        write!(f, "{year:+}")?;
    }
    // A leap second (nanoseconds past 1e9) is written as 59.9999999.
    let ticks = t.nanosecond().min(999_999_999) / 100;
    write!(
        f,
        "-{:02}-{:02}T{:02}:{:02}:{:02}.{ticks:07}",
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `dateTime` on the wire (`#[serde(with)]`).
mod wire {
    use super::*;

    pub(super) fn serialize<S: serde::Serializer>(
        t: &NaiveDateTime,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        if !(0..=9999).contains(&t.year()) {
            return Err(serde::ser::Error::custom(format!(
                "dateTime {t}: Graph's form has a four-digit year"
            )));
        }
        let mut text = String::with_capacity(27);
        write_local(t, &mut text).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<NaiveDateTime, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = NaiveDateTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a local date and time without offset, such as 2017-08-29T04:00:00.0000000",
                )
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<NaiveDateTime, E> {
                parse_local(s).ok_or_else(|| E::invalid_value(de::Unexpected::Str(shown(s)), &self))
            }
        }
        d.deserialize_str(V)
    }
}

/// Typed times of a generated [`Event`](super::types::Event).
///
/// ```no_run
/// # async fn run(graph: specbound::graph::Client) -> specbound::Result<()> {
/// use specbound::graph::{CalendarOwner, EventTimes, prelude::*};
/// let event = graph
///     .get_event()
///     .calendar_owner(CalendarOwner::me())
///     .event_id("AAMkAGI1AAAt9AHjAAA=")
///     .send()
///     .await?
///     .into_inner();
/// match event.all_day_dates() {
///     Some((first, last)) => println!("all day, {first} to {last}"),
///     None => println!("from {:?}", event.start_utc()?),
/// }
/// # Ok(()) }
/// ```
pub trait EventTimes {
    /// When the event starts, as an instant (see [`DateTimeTimeZone::to_utc`]);
    /// `None` when the answer has no `start` (not in `$select`).
    fn start_utc(&self) -> Result<Option<DateTime<Utc>>>;

    /// When the event ends, as an instant; `None` without `end`.
    fn end_utc(&self) -> Result<Option<DateTime<Utc>>>;

    /// For an all-day event (`isAllDay: true`), its first and last day, both
    /// included, read from the dates of `start` and `end` as written (the
    /// end is the midnight after the last day); `None` for a timed event or
    /// when `isAllDay`, `start` or `end` is missing.
    fn all_day_dates(&self) -> Option<(NaiveDate, NaiveDate)>;
}

impl EventTimes for Event {
    fn start_utc(&self) -> Result<Option<DateTime<Utc>>> {
        self.start
            .as_ref()
            .map(DateTimeTimeZone::to_utc)
            .transpose()
    }

    fn end_utc(&self) -> Result<Option<DateTime<Utc>>> {
        self.end.as_ref().map(DateTimeTimeZone::to_utc).transpose()
    }

    fn all_day_dates(&self) -> Option<(NaiveDate, NaiveDate)> {
        if self.is_all_day != Some(true) {
            return None;
        }
        let first = self.start.as_ref()?.date_time.date();
        let end = self.end.as_ref()?.date_time.date();
        let last = end.pred_opt().filter(|d| *d >= first).unwrap_or(first);
        Some((first, last))
    }
}

#[cfg(test)]
#[path = "times_tests.rs"]
mod tests;
