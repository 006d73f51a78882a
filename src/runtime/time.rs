//! UTC instants read without chrono's general parser.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

use crate::Error;

/// A UTC instant, written as RFC 3339 with `Z` (`2014-09-08T15:30:00Z`).
///
/// It is a chrono `DateTime<Utc>` (it derefs to one); the difference is
/// speed: the usual `YYYY-MM-DDTHH:MM:SSZ` form is decoded directly, and
/// only other RFC 3339 forms (fractions, offsets) go through chrono.
///
/// ```
/// use specbound::runtime::UtcDateTime;
/// let t: UtcDateTime = "2014-09-08T15:30:00Z".parse()?;
/// assert_eq!(t.to_string(), "2014-09-08T15:30:00Z");
/// let offset: UtcDateTime = "2014-09-08T17:30:00+02:00".parse()?;
/// assert_eq!(offset, t);
/// # Ok::<(), specbound::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcDateTime(pub DateTime<Utc>);

impl Deref for UtcDateTime {
    type Target = DateTime<Utc>;

    fn deref(&self) -> &DateTime<Utc> {
        &self.0
    }
}

impl From<DateTime<Utc>> for UtcDateTime {
    fn from(t: DateTime<Utc>) -> Self {
        UtcDateTime(t)
    }
}

impl From<UtcDateTime> for DateTime<Utc> {
    fn from(t: UtcDateTime) -> Self {
        t.0
    }
}

impl fmt::Display for UtcDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

impl FromStr for UtcDateTime {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        parse_utc(s).map(UtcDateTime).ok_or_else(|| {
            Error::invalid(
                "time",
                format!("`{s}` is not an RFC 3339 time like 2014-09-08T15:30:00Z"),
            )
        })
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

/// `YYYY-MM-DD` without chrono's general parser.
pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    NaiveDate::from_ymd_opt(
        digits(&b[0..4])? as i32,
        digits(&b[5..7])?,
        digits(&b[8..10])?,
    )
}

/// An RFC 3339 time as UTC: `YYYY-MM-DDTHH:MM:SSZ` directly, other forms
/// through chrono.
pub(crate) fn parse_utc(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() == 20 && b[10] == b'T' && b[13] == b':' && b[16] == b':' && b[19] == b'Z' {
        let date = parse_date(&s[..10])?;
        let time = date.and_hms_opt(
            digits(&b[11..13])?,
            digits(&b[14..16])?,
            digits(&b[17..19])?,
        )?;
        return Some(time.and_utc());
    }
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl serde::Serialize for UtcDateTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for UtcDateTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = UtcDateTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 time like 2014-09-08T15:30:00Z")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<UtcDateTime, E> {
                parse_utc(s)
                    .map(UtcDateTime)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(s), &self))
            }
        }
        d.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_path_agrees_with_chrono() {
        for s in [
            "2014-09-08T15:30:00Z",
            "2024-02-29T23:59:59Z",
            "1999-12-31T00:00:00Z",
        ] {
            let chrono: DateTime<Utc> = s.parse().unwrap();
            assert_eq!(parse_utc(s), Some(chrono), "{s}");
        }
        assert_eq!(
            parse_utc("2014-09-08T15:30:00.250Z")
                .unwrap()
                .timestamp_subsec_millis(),
            250
        );
        for bad in [
            "2014-02-30T15:30:00Z",
            "2014-09-08T25:30:00Z",
            "2014-09-08",
            "x",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
        assert_eq!(
            parse_date("2014-09-08"),
            NaiveDate::from_ymd_opt(2014, 9, 8)
        );
        assert_eq!(parse_date("2014-9-08"), None);
    }

    #[test]
    fn serde_round_trips_in_the_z_form() {
        let t: UtcDateTime = serde_json::from_str("\"2014-09-08T17:30:00+02:00\"").unwrap();
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2014-09-08T15:30:00Z\""
        );
        assert!(serde_json::from_str::<UtcDateTime>("\"tomorrow\"").is_err());
    }
}
