//! Periods of time as sorted lists of `[start, end)` spans: union,
//! intersection, difference, the slot grid, and weekly availability rules
//! expanded into spans.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Utc};

use super::times::{hh_mm, parse_tz};
use crate::cronofy::types;

/// `[start, end)`.
pub(super) type Span = (DateTime<Utc>, DateTime<Utc>);

/// Sorted, merged, non-empty spans.
pub(super) fn normalize(mut spans: Vec<Span>) -> Vec<Span> {
    spans.retain(|(s, e)| e > s);
    spans.sort();
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// The time in both `a` and `b`.
pub(super) fn intersect(a: &[Span], b: &[Span]) -> Vec<Span> {
    let mut out = Vec::new();
    for &(s1, e1) in a {
        for &(s2, e2) in b {
            let (s, e) = (s1.max(s2), e1.min(e2));
            if e > s {
                out.push((s, e));
            }
        }
    }
    normalize(out)
}

/// The time in `a` but not in `b` (`b` sorted).
pub(super) fn subtract(a: &[Span], b: &[Span]) -> Vec<Span> {
    let mut out = Vec::new();
    for &(mut s, e) in a {
        for &(bs, be) in b {
            if be <= s || bs >= e {
                continue;
            }
            if bs > s {
                out.push((s, bs));
            }
            s = s.max(be);
        }
        if e > s {
            out.push((s, e));
        }
    }
    normalize(out)
}

/// Whether one span holds all of `[start, end)`.
pub(super) fn covers(spans: &[Span], start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
    spans.iter().any(|&(s, e)| s <= start && end <= e)
}

/// The first multiple of `step` (from the Unix epoch) at or after `t`.
pub(super) fn align_up(t: DateTime<Utc>, step: chrono::Duration) -> DateTime<Utc> {
    let step_s = step.num_seconds().max(60);
    let secs = t.timestamp();
    let aligned = secs + (step_s - secs.rem_euclid(step_s)) % step_s;
    DateTime::from_timestamp(aligned, 0).unwrap_or(t)
}

/// A rule's weekly periods within `range` (a day either side, for zones).
pub(super) fn expand_rule(rule: &types::AvailabilityRule, range: &[Span]) -> Vec<Span> {
    let (Some(first), Some(last)) = (range.first(), range.last()) else {
        return Vec::new();
    };
    let tz = parse_tz(&rule.tzid);
    let from = first.0.with_timezone(&tz).date_naive() - chrono::Days::new(1);
    let to = last.1.with_timezone(&tz).date_naive() + chrono::Days::new(1);
    let local = |date: NaiveDate, time: NaiveTime| {
        tz.from_local_datetime(&date.and_time(time))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    };
    let mut spans = Vec::new();
    let mut day = from;
    while day <= to {
        let weekday = day.weekday().to_string().to_lowercase();
        for p in &rule.weekly_periods {
            // `Mon` (chrono's `Display`) against `monday`.
            if !p.day.to_string().starts_with(&weekday) {
                continue;
            }
            let (Some(s), Some(e)) = (hh_mm(&p.start_time), hh_mm(&p.end_time)) else {
                continue;
            };
            if let (Some(s), Some(e)) = (local(day, s), local(day, e)) {
                spans.push((s, e));
            }
        }
        day = day + chrono::Days::new(1);
    }
    normalize(spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn span(s: &str, e: &str) -> Span {
        (
            t(&format!("2026-11-25T{s}:00Z")),
            t(&format!("2026-11-25T{e}:00Z")),
        )
    }

    #[test]
    fn spans_merge_intersect_and_subtract() {
        let day = vec![span("09:00", "17:00")];
        let busy = normalize(vec![
            span("12:00", "13:00"),
            span("10:00", "11:00"),
            span("10:30", "11:30"),
        ]);
        assert_eq!(busy, [span("10:00", "11:30"), span("12:00", "13:00")]);
        assert_eq!(
            subtract(&day, &busy),
            [
                span("09:00", "10:00"),
                span("11:30", "12:00"),
                span("13:00", "17:00")
            ]
        );
        assert_eq!(
            intersect(&day, &[span("08:00", "09:30"), span("16:00", "18:00")]),
            [span("09:00", "09:30"), span("16:00", "17:00")]
        );
        assert!(covers(
            &day,
            t("2026-11-25T09:00:00Z"),
            t("2026-11-25T17:00:00Z")
        ));
        assert!(!covers(
            &busy,
            t("2026-11-25T11:00:00Z"),
            t("2026-11-25T12:30:00Z")
        ));
    }

    #[test]
    fn slot_starts_align_to_the_grid_from_the_epoch() {
        let half_hour = chrono::Duration::minutes(30);
        assert_eq!(
            align_up(t("2026-11-25T09:10:00Z"), half_hour),
            t("2026-11-25T09:30:00Z")
        );
        assert_eq!(
            align_up(t("2026-11-25T09:30:00Z"), half_hour),
            t("2026-11-25T09:30:00Z")
        );
        assert_eq!(
            align_up(t("2026-11-25T09:10:00Z"), chrono::Duration::hours(1)),
            t("2026-11-25T10:00:00Z")
        );
    }

    #[test]
    fn rules_expand_in_their_time_zone() {
        let rule: types::AvailabilityRule = serde_json::from_value(json!({
            "availability_rule_id": "r",
            "tzid": "America/Chicago",
            "weekly_periods": [{"day": "wednesday", "start_time": "09:30", "end_time": "12:30"}],
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let week = [(t("2026-11-23T00:00:00Z"), t("2026-11-30T00:00:00Z"))];
        assert_eq!(
            expand_rule(&rule, &week),
            [(t("2026-11-25T15:30:00Z"), t("2026-11-25T18:30:00Z"))]
        );
    }
}
