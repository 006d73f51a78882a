//! Event times: a UTC time, a date (all-day) or a `{time, tzid}` object.
//!
//! The spec's `EventTime` and `DateOrDateTime` are `oneOf`s, which progenitor
//! turns into untagged enums: serde then buffers every value and tries each
//! variant, which was the main cost of reading events. These hand-written
//! enums have the same variants and decide by the value's JSON type and form
//! (`x-specbound-replace` in the spec).

use std::fmt;

use serde::Deserialize as _;
use serde::de::{self, MapAccess, Visitor};

use super::generated::types::{CalendarDate, LocalizedTime};
use crate::runtime::{UtcDateTime, parse_date, parse_utc};

/// An event boundary: a UTC time, a date (all-day events, end exclusive),
/// or a time with its IANA time zone.
///
/// ```
/// use specbound::cronofy::types::EventTime;
/// let timed: EventTime = serde_json::from_str(r#""2014-09-08T15:30:00Z""#)?;
/// let all_day: EventTime = serde_json::from_str(r#""2014-09-08""#)?;
/// let local: EventTime = serde_json::from_str(r#"{"time": "2014-09-08T16:30:00+01:00", "tzid": "Europe/London"}"#)?;
/// assert!(matches!(timed, EventTime::UtcDateTime(_)));
/// assert!(matches!(all_day, EventTime::CalendarDate(_)));
/// assert!(matches!(local, EventTime::LocalizedTime(_)));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum EventTime {
    /// A UTC time, `2014-09-08T15:30:00Z`.
    UtcDateTime(UtcDateTime),
    /// A date, `2014-09-08`.
    CalendarDate(CalendarDate),
    /// A time and its time zone, `{"time": .., "tzid": "Europe/London"}`.
    LocalizedTime(LocalizedTime),
}

/// A UTC time or, for all-day values, a date.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum DateOrDateTime {
    /// A UTC time.
    UtcDateTime(UtcDateTime),
    /// A date.
    CalendarDate(CalendarDate),
}

/// The string forms shared by both enums.
fn from_str<E: de::Error>(s: &str, expecting: &dyn de::Expected) -> Result<DateOrDateTime, E> {
    if let Some(d) = parse_date(s) {
        return Ok(DateOrDateTime::CalendarDate(CalendarDate(d)));
    }
    parse_utc(s)
        .map(|t| DateOrDateTime::UtcDateTime(UtcDateTime(t)))
        .ok_or_else(|| E::invalid_value(de::Unexpected::Str(s), expecting))
}

impl fmt::Display for DateOrDateTime {
    /// `2014-09-08T15:30:00Z` or `2014-09-08`, as on the wire.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DateOrDateTime::UtcDateTime(t) => t.fmt(f),
            DateOrDateTime::CalendarDate(d) => d.0.fmt(f),
        }
    }
}

impl fmt::Display for EventTime {
    /// `2014-09-08T15:30:00Z`, `2014-09-08`, or `2014-09-08T15:30:00Z (Europe/London)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventTime::UtcDateTime(t) => t.fmt(f),
            EventTime::CalendarDate(d) => d.0.fmt(f),
            EventTime::LocalizedTime(l) => write!(f, "{} ({})", l.time, l.tzid),
        }
    }
}

impl From<DateOrDateTime> for EventTime {
    fn from(v: DateOrDateTime) -> Self {
        match v {
            DateOrDateTime::UtcDateTime(t) => EventTime::UtcDateTime(t),
            DateOrDateTime::CalendarDate(d) => EventTime::CalendarDate(d),
        }
    }
}

impl From<UtcDateTime> for EventTime {
    fn from(t: UtcDateTime) -> Self {
        EventTime::UtcDateTime(t)
    }
}

impl From<chrono::DateTime<chrono::Utc>> for EventTime {
    fn from(t: chrono::DateTime<chrono::Utc>) -> Self {
        EventTime::UtcDateTime(UtcDateTime(t))
    }
}

impl From<chrono::NaiveDate> for EventTime {
    fn from(d: chrono::NaiveDate) -> Self {
        EventTime::CalendarDate(CalendarDate(d))
    }
}

impl From<LocalizedTime> for EventTime {
    fn from(l: LocalizedTime) -> Self {
        EventTime::LocalizedTime(l)
    }
}

impl<'de> serde::Deserialize<'de> for EventTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = EventTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a UTC time (2014-09-08T15:30:00Z), a date (2014-09-08) or a {time, tzid} object")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<EventTime, E> {
                from_str(s, &self).map(EventTime::from)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<EventTime, A::Error> {
                LocalizedTime::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(EventTime::LocalizedTime)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> serde::Deserialize<'de> for DateOrDateTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DateOrDateTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a UTC time (2014-09-08T15:30:00Z) or a date (2014-09-08)")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<DateOrDateTime, E> {
                from_str(s, &self)
            }
        }
        d.deserialize_str(V)
    }
}
