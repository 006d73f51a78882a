//! Durations as TimeSync users write them: `"3h30m"`, `"45m"`, `"2h"`, or seconds.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// Time worked, sent to TimeSync as whole seconds.
///
/// Parses `"3h30m"`, `"2h"`, `"45m"` (minutes under 60 after hours) and plain
/// seconds (`"5400"`); anything else is an [`Error::Invalid`] naming `duration`.
///
/// ```
/// use specbound::timesync::Duration;
/// let d: Duration = "3h30m".parse()?;
/// assert_eq!(d.as_secs(), 12_600);
/// assert_eq!(d.to_string(), "3h30m");
/// assert_eq!("45m".parse::<Duration>()?.as_secs(), 2_700);
/// assert!("3.5h".parse::<Duration>().is_err());
/// # Ok::<(), specbound::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(u64);

impl Duration {
    /// A duration of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Duration(secs)
    }

    /// A duration of `hours` hours and `minutes` minutes.
    pub const fn from_hours_minutes(hours: u64, minutes: u64) -> Self {
        Duration(hours * 3600 + minutes * 60)
    }

    /// Whole seconds, as TimeSync stores it.
    pub const fn as_secs(self) -> u64 {
        self.0
    }
}

impl From<u64> for Duration {
    fn from(secs: u64) -> Self {
        Duration(secs)
    }
}

impl From<Duration> for u64 {
    fn from(d: Duration) -> Self {
        d.0
    }
}

impl From<std::time::Duration> for Duration {
    fn from(d: std::time::Duration) -> Self {
        Duration(d.as_secs())
    }
}

impl FromStr for Duration {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = || {
            Error::invalid(
                "duration",
                format!(
                    "`{s}` is not a duration: use seconds (\"5400\") or hours and minutes (\"3h30m\", \"2h\", \"45m\")"
                ),
            )
        };
        let s = s.trim();
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            return s.parse().map(Duration).map_err(|_| invalid());
        }
        let (hours, rest) = match s.split_once('h') {
            Some((h, rest)) => (Some(h), rest),
            None => (None, s),
        };
        let minutes = match rest {
            "" => None,
            m => Some(m.strip_suffix('m').ok_or_else(invalid)?),
        };
        if hours.is_none() && minutes.is_none() {
            return Err(invalid());
        }
        let number = |part: Option<&str>| -> Result<u64, Error> {
            match part {
                None => Ok(0),
                Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                    p.parse().map_err(|_| invalid())
                }
                Some(_) => Err(invalid()),
            }
        };
        let (h, m) = (number(hours)?, number(minutes)?);
        if hours.is_some() && m >= 60 {
            return Err(Error::invalid(
                "duration",
                format!("`{s}` has {m} minutes after the hours; use fewer than 60"),
            ));
        }
        h.checked_mul(3600)
            .and_then(|h| h.checked_add(m * 60))
            .map(Duration)
            .ok_or_else(invalid)
    }
}

impl fmt::Display for Duration {
    /// `3h30m`, `2h`, `45m`, or plain seconds (`90`) when not a whole number
    /// of minutes; the text parses back to the same duration.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (h, m, s) = (self.0 / 3600, self.0 % 3600 / 60, self.0 % 60);
        match (h, m, s) {
            (_, _, s) if s != 0 => write!(f, "{}", self.0),
            (0, m, _) => write!(f, "{m}m"),
            (h, 0, _) => write!(f, "{h}h"),
            (h, m, _) => write!(f, "{h}h{m}m"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        for (text, secs) in [
            ("3h30m", 12_600),
            ("2h", 7_200),
            ("45m", 2_700),
            ("0h5m", 300),
            ("25h", 90_000),
            ("5400", 5_400),
            (" 1h1m ", 3_660),
            ("0", 0),
        ] {
            assert_eq!(text.parse::<Duration>().unwrap().as_secs(), secs, "{text}");
        }
    }

    #[test]
    fn rejected_forms_name_the_field() {
        for text in [
            "", "h", "m", "3h30", "3.5h", "-1", "1h-5m", "30m2h", "3h 30m", "1d", "2h75m", "abc",
        ] {
            match text.parse::<Duration>() {
                Err(Error::Invalid { field, reason }) => {
                    assert_eq!(field, "duration");
                    assert!(reason.contains(text.trim()), "{reason}");
                }
                other => panic!("{text:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn display_round_trips() {
        for text in ["3h30m", "2h", "45m", "90"] {
            assert_eq!(text.parse::<Duration>().unwrap().to_string(), text);
        }
    }
}
