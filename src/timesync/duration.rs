//! Durations as TimeSync users write them: `"3h30m"`, `"45m"`, `"2h"`, or
//! seconds (`"5400"`, `"1.5"`).

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// Time worked, sent to TimeSync as a number of seconds.
///
/// TimeSync stores a duration as the JSON number it was sent, fraction
/// included (`1.5`), so this type keeps fractions of a second (to the
/// nanosecond). Parses `"3h30m"`, `"2h"`, `"45m"` (minutes under 60 after
/// hours) and seconds, whole or with a decimal fraction (`"5400"`, `"1.5"`);
/// anything else is an [`Error::Invalid`] naming `duration`. The generated
/// types carry durations as `f64` seconds: [`Duration::as_secs_f64`] gives
/// that number and [`Duration::try_from`] reads one back.
///
/// ```
/// use specbound::timesync::Duration;
/// let d: Duration = "3h30m".parse()?;
/// assert_eq!(d.as_secs(), 12_600);
/// assert_eq!(d.to_string(), "3h30m");
/// assert_eq!("45m".parse::<Duration>()?.as_secs(), 2_700);
/// assert!("3.5h".parse::<Duration>().is_err());
///
/// let short = Duration::try_from(1.5)?;
/// assert_eq!((short.as_secs(), short.as_secs_f64()), (1, 1.5));
/// assert_eq!(short.to_string(), "1.5");
/// assert_eq!("1.5".parse::<Duration>()?, short);
/// # Ok::<(), specbound::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(std::time::Duration);

impl Duration {
    /// A duration of `secs` whole seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Duration(std::time::Duration::from_secs(secs))
    }

    /// A duration of `hours` hours and `minutes` minutes.
    pub const fn from_hours_minutes(hours: u64, minutes: u64) -> Self {
        Duration::from_secs(hours * 3600 + minutes * 60)
    }

    /// A duration of `secs` seconds, fraction included; [`Error::Invalid`]
    /// naming `duration` for a negative, infinite or NaN number, or one too
    /// large for [`std::time::Duration`].
    pub fn from_secs_f64(secs: f64) -> Result<Self, Error> {
        std::time::Duration::try_from_secs_f64(secs)
            .map(Duration)
            .map_err(|e| {
                Error::invalid("duration", format!("{secs} seconds is not a duration: {e}"))
            })
    }

    /// Whole seconds; a fraction of a second is dropped.
    pub const fn as_secs(self) -> u64 {
        self.0.as_secs()
    }

    /// Seconds with their fraction: the number TimeSync stores and answers.
    pub fn as_secs_f64(self) -> f64 {
        self.0.as_secs_f64()
    }

    /// The nanoseconds after the whole seconds (0 for a whole number of seconds).
    const fn subsec_nanos(self) -> u32 {
        self.0.subsec_nanos()
    }
}

impl From<u64> for Duration {
    /// `secs` whole seconds.
    fn from(secs: u64) -> Self {
        Duration::from_secs(secs)
    }
}

impl From<Duration> for u64 {
    /// Whole seconds; a fraction of a second is dropped.
    fn from(d: Duration) -> Self {
        d.as_secs()
    }
}

impl From<Duration> for f64 {
    /// Seconds with their fraction, as the generated types carry them.
    fn from(d: Duration) -> Self {
        d.as_secs_f64()
    }
}

impl TryFrom<f64> for Duration {
    type Error = Error;

    /// Seconds as the generated types carry them (`Time::duration`); see
    /// [`Duration::from_secs_f64`].
    fn try_from(secs: f64) -> Result<Self, Error> {
        Duration::from_secs_f64(secs)
    }
}

impl From<std::time::Duration> for Duration {
    fn from(d: std::time::Duration) -> Self {
        Duration(d)
    }
}

impl From<Duration> for std::time::Duration {
    fn from(d: Duration) -> Self {
        d.0
    }
}

/// Whether `s` is ASCII digits, at least one.
fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

impl FromStr for Duration {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = || {
            Error::invalid(
                "duration",
                format!(
                    "`{s}` is not a duration: use seconds (\"5400\", \"1.5\") or hours and minutes (\"3h30m\", \"2h\", \"45m\")"
                ),
            )
        };
        let s = s.trim();
        if digits(s) {
            return s.parse().map(Duration::from_secs).map_err(|_| invalid());
        }
        if let Some((whole, fraction)) = s.split_once('.') {
            if !(digits(whole) && digits(fraction)) {
                return Err(invalid());
            }
            let secs: f64 = s.parse().map_err(|_| invalid())?;
            return Duration::from_secs_f64(secs).map_err(|_| invalid());
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
                Some(p) if digits(p) => p.parse().map_err(|_| invalid()),
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
            .map(Duration::from_secs)
            .ok_or_else(invalid)
    }
}

impl fmt::Display for Duration {
    /// `3h30m`, `2h`, `45m`, or plain seconds (`90`, `1.5`) when not a whole
    /// number of minutes; the text parses back to the same duration.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.subsec_nanos() != 0 {
            return write!(f, "{}", self.as_secs_f64());
        }
        let secs = self.as_secs();
        let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
        match (h, m, s) {
            (_, _, s) if s != 0 => write!(f, "{secs}"),
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
            ("3h30m", 12_600.0),
            ("2h", 7_200.0),
            ("45m", 2_700.0),
            ("0h5m", 300.0),
            ("25h", 90_000.0),
            ("5400", 5_400.0),
            (" 1h1m ", 3_660.0),
            ("0", 0.0),
            ("1.5", 1.5),
            ("0.25", 0.25),
            ("5400.75", 5_400.75),
        ] {
            assert_eq!(
                text.parse::<Duration>().unwrap().as_secs_f64(),
                secs,
                "{text}"
            );
        }
    }

    #[test]
    fn rejected_forms_name_the_field() {
        for text in [
            "", "h", "m", "3h30", "3.5h", "-1", "1h-5m", "30m2h", "3h 30m", "1d", "2h75m", "abc",
            "1.", ".5", "1.5.5", "-1.5", "1e3", "NaN", "inf", "1,5",
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
        for text in ["3h30m", "2h", "45m", "90", "1.5", "0.1", "3600.5"] {
            assert_eq!(text.parse::<Duration>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn fractional_seconds_survive_the_numbers_the_types_carry() {
        for secs in [0.0, 1.5, 0.1, 1.3, 4.35, 12_600.7, 90.0] {
            let d = Duration::try_from(secs).unwrap();
            assert_eq!(f64::from(d), secs, "{secs}");
            assert_eq!(d.to_string().parse::<Duration>().unwrap(), d);
        }
        let d = Duration::from_secs_f64(1.5).unwrap();
        assert_eq!(
            (d.as_secs(), d.subsec_nanos(), u64::from(d)),
            (1, 500_000_000, 1)
        );
        assert_eq!(
            std::time::Duration::from(d),
            std::time::Duration::from_millis(1500)
        );
        for bad in [-1.0, f64::NAN, f64::INFINITY, 1e30] {
            match Duration::try_from(bad) {
                Err(Error::Invalid { field, .. }) => assert_eq!(field, "duration"),
                other => panic!("{bad} gave {other:?}"),
            }
        }
    }
}
