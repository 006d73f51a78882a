use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Value, json};

use super::*;
use crate::graph::Prefer;

fn local(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").unwrap()
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn zone(name: &str) -> TimeZoneName {
    name.parse().unwrap()
}

fn read(v: Value) -> serde_json::Result<DateTimeTimeZone> {
    serde_json::from_value(v)
}

#[test]
fn date_times_are_read_with_zero_to_seven_fractional_digits() {
    let cases = [
        ("2017-08-29T04:00:00", 0),
        ("2017-08-29T04:00:00.1", 100_000_000),
        ("2017-08-29T04:00:00.12", 120_000_000),
        ("2017-08-29T04:00:00.123", 123_000_000),
        ("2017-08-29T04:00:00.1234", 123_400_000),
        ("2017-08-29T04:00:00.12345", 123_450_000),
        ("2017-08-29T04:00:00.123456", 123_456_000),
        ("2017-08-29T04:00:00.1234567", 123_456_700),
        ("2017-08-29T04:00:00.0000000", 0),
    ];
    for (text, nanos) in cases {
        let t = parse_local(text).unwrap_or_else(|| panic!("{text}"));
        let want = NaiveDate::from_ymd_opt(2017, 8, 29)
            .unwrap()
            .and_hms_nano_opt(4, 0, 0, nanos)
            .unwrap();
        assert_eq!(t, want, "{text}");
    }
}

#[test]
fn a_date_alone_is_its_midnight() {
    assert_eq!(
        parse_local("2017-08-29"),
        Some(local("2017-08-29T00:00:00"))
    );
    let v = read(json!({"dateTime": "2026-12-24", "timeZone": "Europe/Berlin"})).unwrap();
    assert_eq!(
        v,
        DateTimeTimeZone::all_day(v.date_time.date(), zone("Europe/Berlin"))
    );
}

#[test]
fn other_forms_are_refused_naming_the_value() {
    for bad in [
        "",
        "2017-08-29T04:00:00.12345678",
        "2017-08-29T04:00:00.",
        "2017-08-29T04:00:00Z",
        "2017-08-29T04:00:00+02:00",
        "2017-08-29T04:00",
        "2017-08-29 04:00:00",
        "2017-8-29T04:00:00",
        "2017-02-30T04:00:00",
        "2017-08-29T24:00:00",
        "2017-08-29T23:59:60",
        "+2017-08-29T04:00:00",
        "2017-08-29T04:00:00.12a",
        "dateTime-value",
    ] {
        assert_eq!(parse_local(bad), None, "{bad}");
        let err = read(json!({"dateTime": bad, "timeZone": "UTC"})).unwrap_err();
        assert!(err.to_string().contains(&format!("\"{bad}\"")), "{err}");
    }
}

#[test]
fn date_times_are_written_with_seven_digits() {
    let cases = [
        ("2017-08-29T04:00:00", "2017-08-29T04:00:00.0000000"),
        ("2017-08-29T04:00:00.5", "2017-08-29T04:00:00.5000000"),
        ("2017-08-29T04:00:00.1234567", "2017-08-29T04:00:00.1234567"),
        // Below 100 ns is dropped.
        (
            "2017-08-29T04:00:00.123456789",
            "2017-08-29T04:00:00.1234567",
        ),
        ("0001-01-01T00:00:00", "0001-01-01T00:00:00.0000000"),
    ];
    for (t, want) in cases {
        let v = DateTimeTimeZone::new(local(t), TimeZoneName::utc());
        assert_eq!(
            serde_json::to_value(v).unwrap(),
            json!({"dateTime": want, "timeZone": "UTC"})
        );
    }
}

#[test]
fn a_year_graph_cannot_write_is_refused_when_serialising() {
    let far = NaiveDate::from_ymd_opt(10_000, 1, 1)
        .unwrap()
        .and_time(NaiveTime::MIN);
    let err = serde_json::to_value(DateTimeTimeZone::new(far, TimeZoneName::utc())).unwrap_err();
    assert!(err.to_string().contains("four-digit year"), "{err}");
    // Display still shows it.
    let shown = DateTimeTimeZone::new(far, TimeZoneName::utc()).to_string();
    assert_eq!(shown, "+10000-01-01T00:00:00.0000000 (UTC)");
}

/// Every `{dateTime, timeZone}` object in `v`.
fn date_time_objects(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(map) => {
            if map.contains_key("dateTime") {
                out.push(v.clone());
            }
            map.values().for_each(|v| date_time_objects(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| date_time_objects(v, out)),
        _ => {}
    }
}

#[test]
fn the_recorded_events_times_round_trip() {
    let fixtures = [
        include_str!("../../tests/fixtures/graph/events_list_select.json"),
        include_str!("../../tests/fixtures/graph/event_get.json"),
        include_str!("../../tests/fixtures/graph/events_calendarview_delta_page1.json"),
        include_str!("../../tests/fixtures/graph/events_calendarview_delta_page2.json"),
        include_str!(
            "../../tests/fixtures/graph/events_calendarview_delta_next_round_removed.json"
        ),
        include_str!("../../tests/fixtures/graph/events_create_recurring.json"),
    ];
    let mut seen = Vec::new();
    for text in fixtures {
        date_time_objects(&serde_json::from_str(text).unwrap(), &mut seen);
    }
    assert!(seen.len() >= 18, "{} times", seen.len());
    for original in seen {
        let typed = read(original.clone()).unwrap();
        let written = serde_json::to_value(typed).unwrap();
        assert_eq!(written["timeZone"], original["timeZone"]);
        let (got, sent) = (
            written["dateTime"].as_str().unwrap(),
            original["dateTime"].as_str().unwrap(),
        );
        if sent.len() == 27 {
            assert_eq!(got, sent);
        } else {
            // The documentation's requests write no fraction.
            assert_eq!(got, format!("{sent}.0000000"));
        }
        assert_eq!(read(written).unwrap(), typed);
    }
}

#[test]
fn the_fixtures_pacific_times_are_instants() {
    let start = read(
        json!({"dateTime": "2017-04-21T10:00:00.0000000", "timeZone": "Pacific Standard Time"}),
    )
    .unwrap();
    assert!(
        matches!(start.time_zone, TimeZoneName::Windows(w) if w.name() == "Pacific Standard Time")
    );
    assert_eq!(start.to_utc().unwrap(), utc("2017-04-21T17:00:00Z"));
    let winter =
        read(json!({"dateTime": "2017-12-04T12:00:00", "timeZone": "Pacific Standard Time"}))
            .unwrap();
    assert_eq!(winter.to_utc().unwrap(), utc("2017-12-04T20:00:00Z"));
}

#[test]
fn a_missing_or_null_zone_is_utc() {
    for v in [
        json!({"dateTime": "2017-04-21T10:00:00"}),
        json!({"dateTime": "2017-04-21T10:00:00", "timeZone": null}),
    ] {
        let t = read(v).unwrap();
        assert_eq!(t.time_zone, TimeZoneName::utc());
        assert_eq!(t.to_utc().unwrap(), utc("2017-04-21T10:00:00Z"));
    }
    assert!(read(json!({"timeZone": "UTC"})).is_err());
    // Annotations Graph adds are ignored.
    let annotated = json!({"@odata.type": "#microsoft.graph.dateTimeTimeZone", "dateTime": "2017-04-21T10:00:00", "timeZone": "UTC"});
    assert!(read(annotated).is_ok());
}

#[test]
fn windows_and_iana_names_convert_both_ways() {
    // Windows name, its IANA zone for the world, and another IANA zone CLDR
    // maps to the same Windows zone.
    let cases = [
        (
            "Pacific Standard Time",
            "America/Los_Angeles",
            "America/Vancouver",
        ),
        (
            "Eastern Standard Time",
            "America/New_York",
            "America/Detroit",
        ),
        (
            "Central Standard Time",
            "America/Chicago",
            "America/Winnipeg",
        ),
        (
            "W. Europe Standard Time",
            "Europe/Berlin",
            "Europe/Amsterdam",
        ),
        ("Romance Standard Time", "Europe/Paris", "Europe/Madrid"),
        ("GMT Standard Time", "Europe/London", "Europe/Dublin"),
        ("FLE Standard Time", "Europe/Kyiv", "Europe/Kiev"),
        ("India Standard Time", "Asia/Kolkata", "Asia/Calcutta"),
        ("China Standard Time", "Asia/Shanghai", "Asia/Hong_Kong"),
        ("Tokyo Standard Time", "Asia/Tokyo", "Asia/Jayapura"),
        (
            "AUS Eastern Standard Time",
            "Australia/Sydney",
            "Australia/Melbourne",
        ),
        (
            "E. South America Standard Time",
            "America/Sao_Paulo",
            "America/Sao_Paulo",
        ),
        (
            "New Zealand Standard Time",
            "Pacific/Auckland",
            "Antarctica/McMurdo",
        ),
        ("UTC", "Etc/UTC", "Etc/GMT"),
        (
            "SA Western Standard Time",
            "America/La_Paz",
            "America/Puerto_Rico",
        ),
    ];
    for (windows, iana, other) in cases {
        let w = zone(windows);
        assert!(matches!(w, TimeZoneName::Windows(_)), "{windows}");
        assert_eq!(w.as_str(), windows);
        assert_eq!(w.to_iana().as_str(), iana, "{windows}");
        assert_eq!(zone(iana).to_windows(), Some(w), "{iana}");
        assert_eq!(zone(other).to_windows(), Some(w), "{other}");
        assert_eq!(w.to_windows(), Some(w));
    }
    // tzdb links reach their zone's Windows name.
    assert_eq!(
        zone("US/Pacific").to_windows(),
        Some(zone("Pacific Standard Time"))
    );
    // Fixed offsets map through CLDR's `ZZ` entries.
    assert_eq!(
        zone("Etc/GMT+3").to_windows(),
        Some(zone("SA Eastern Standard Time"))
    );
}

#[test]
fn every_windows_zone_comes_back_from_its_iana_zone() {
    for (name, tz) in WINDOWS_TO_IANA {
        let w = zone(name);
        assert_eq!(
            WindowsZone::for_iana(*tz).map(WindowsZone::name),
            Some(*name)
        );
        assert_eq!(w.tz(), *tz);
    }
    assert!(WINDOWS_TO_IANA.len() > 130 && WINDOWS_TO_IANA.len() < usize::from(u16::MAX));
}

#[test]
fn the_tables_are_sorted_for_binary_search() {
    assert!(
        WINDOWS_TO_IANA
            .windows(2)
            .all(|p| cmp_ignore_ascii_case(p[0].0, p[1].0) == Ordering::Less)
    );
    assert!(IANA_TO_WINDOWS.windows(2).all(|p| p[0].0 < p[1].0));
    // Every IANA name of the tables is one chrono-tz knows.
    for (iana, windows) in IANA_TO_WINDOWS {
        assert!(iana.parse::<Tz>().is_ok(), "{iana}");
        assert!(WindowsZone::named(windows).is_some(), "{windows}");
    }
}

#[test]
fn windows_names_are_matched_ignoring_case_and_written_as_windows_spells_them() {
    let z = zone("pacific STANDARD time");
    assert_eq!(z, zone("Pacific Standard Time"));
    assert_eq!(
        serde_json::to_value(z).unwrap(),
        json!("Pacific Standard Time")
    );
    assert_eq!(zone("utc"), TimeZoneName::utc());
    // IANA names are exact, as chrono-tz reads them.
    assert!("america/los_angeles".parse::<TimeZoneName>().is_err());
}

#[test]
fn unknown_zone_names_are_a_typed_error_naming_the_value() {
    for bad in [
        "Mars/Olympus_Mons",
        "",
        "Pacific Standard",
        "tzone://Microsoft/Custom",
        "timeZone-value",
    ] {
        let err = bad.parse::<TimeZoneName>().unwrap_err();
        match &err {
            Error::Invalid { field, reason } => {
                assert_eq!(field, "timeZone");
                assert!(reason.contains(&format!("`{bad}`")), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        let err = read(json!({"dateTime": "2017-04-21T10:00:00", "timeZone": bad})).unwrap_err();
        assert!(err.to_string().contains(&format!("`{bad}`")), "{err}");
    }
    // A long value is cut in the message.
    let long = "x".repeat(10_000);
    let err = long.parse::<TimeZoneName>().unwrap_err().to_string();
    assert!(err.len() < 400, "{}", err.len());
}

#[test]
fn a_repeated_local_time_is_its_first_occurrence() {
    // New York falls back at 02:00 EDT on 2007-11-04: 01:30 happens twice.
    let t = DateTimeTimeZone::new(local("2007-11-04T01:30:00"), zone("America/New_York"));
    assert_eq!(t.to_utc().unwrap(), utc("2007-11-04T05:30:00Z"));
    // The same through a Windows name, in 2026.
    let t = DateTimeTimeZone::new(local("2026-11-01T01:30:00"), zone("Pacific Standard Time"));
    assert_eq!(t.to_utc().unwrap(), utc("2026-11-01T08:30:00Z"));
    // Just after the repeated hour there is one reading again.
    let t = DateTimeTimeZone::new(local("2026-11-01T02:00:00"), zone("Pacific Standard Time"));
    assert_eq!(t.to_utc().unwrap(), utc("2026-11-01T10:00:00Z"));
}

#[test]
fn a_skipped_local_time_is_read_with_the_offset_before_the_gap() {
    // RFC 5545's example: 02:30 on 2007-03-11 in New York is 03:30 EDT.
    let t = DateTimeTimeZone::new(local("2007-03-11T02:30:00"), zone("Eastern Standard Time"));
    assert_eq!(t.to_utc().unwrap(), utc("2007-03-11T07:30:00Z"));
    let t = DateTimeTimeZone::new(
        local("2026-03-29T02:15:00"),
        zone("W. Europe Standard Time"),
    );
    assert_eq!(t.to_utc().unwrap(), utc("2026-03-29T01:15:00Z"));
    // Samoa skipped all of 2011-12-30 (from UTC-10 to UTC+14).
    let t = DateTimeTimeZone::new(local("2011-12-30T12:00:00"), zone("Pacific/Apia"));
    assert_eq!(t.to_utc().unwrap(), utc("2011-12-30T22:00:00Z"));
}

#[test]
fn instants_convert_to_local_times_and_back() {
    let instant = utc("2026-07-01T12:00:00Z");
    for name in [
        "Pacific Standard Time",
        "Asia/Kolkata",
        "UTC",
        "Pacific/Chatham",
        "Etc/GMT-14",
    ] {
        let t = DateTimeTimeZone::from_utc(instant, zone(name));
        assert_eq!(t.to_utc().unwrap(), instant, "{name}");
    }
    let berlin = DateTimeTimeZone::from_utc(instant, zone("Europe/Berlin"));
    assert_eq!(berlin.date_time, local("2026-07-01T14:00:00"));
    let tokyo = berlin.to_zone(zone("Tokyo Standard Time")).unwrap();
    assert_eq!(tokyo.date_time, local("2026-07-01T21:00:00"));
    assert_eq!(
        tokyo.to_string(),
        "2026-07-01T21:00:00.0000000 (Tokyo Standard Time)"
    );
}

#[test]
fn times_at_chronos_limits_are_errors_not_panics() {
    let late = DateTimeTimeZone::new(NaiveDateTime::MAX, zone("Pacific Standard Time"));
    assert!(matches!(late.to_utc(), Err(Error::Invalid { .. })));
    let early = DateTimeTimeZone::new(NaiveDateTime::MIN, zone("Tokyo Standard Time"));
    assert!(matches!(early.to_utc(), Err(Error::Invalid { .. })));
    let t = DateTimeTimeZone::from_utc(DateTime::<Utc>::MAX_UTC, zone("Tokyo Standard Time"));
    assert_eq!(t.date_time, NaiveDateTime::MAX);
    let t = DateTimeTimeZone::from_utc(DateTime::<Utc>::MIN_UTC, zone("Pacific Standard Time"));
    assert_eq!(t.date_time, NaiveDateTime::MIN);
}

#[test]
fn all_day_values_are_midnights_in_their_zone() {
    let day = NaiveDate::from_ymd_opt(2026, 12, 24).unwrap();
    let start = DateTimeTimeZone::all_day(day, zone("Europe/Berlin"));
    assert_eq!(
        serde_json::to_value(start).unwrap(),
        json!({"dateTime": "2026-12-24T00:00:00.0000000", "timeZone": "Europe/Berlin"})
    );
    assert_eq!(start.to_utc().unwrap(), utc("2026-12-23T23:00:00Z"));
}

fn event(v: Value) -> Event {
    serde_json::from_value(v).unwrap()
}

#[test]
fn an_all_day_events_days_are_its_start_to_the_day_before_its_end() {
    let one_day = event(json!({
        "id": "AAMk1",
        "isAllDay": true,
        "start": {"dateTime": "2026-12-24T00:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-25T00:00:00.0000000", "timeZone": "UTC"},
    }));
    let d = |s: &str| s.parse::<NaiveDate>().unwrap();
    assert_eq!(
        one_day.all_day_dates(),
        Some((d("2026-12-24"), d("2026-12-24")))
    );
    assert_eq!(
        one_day.start_utc().unwrap(),
        Some(utc("2026-12-24T00:00:00Z"))
    );
    let three_days = event(json!({
        "id": "AAMk2",
        "isAllDay": true,
        "start": {"dateTime": "2026-12-24T00:00:00.0000000", "timeZone": "Pacific Standard Time"},
        "end": {"dateTime": "2026-12-27T00:00:00.0000000", "timeZone": "Pacific Standard Time"},
    }));
    assert_eq!(
        three_days.all_day_dates(),
        Some((d("2026-12-24"), d("2026-12-26")))
    );
    assert_eq!(
        three_days.end_utc().unwrap(),
        Some(utc("2026-12-27T08:00:00Z"))
    );
    // An end not after the start still gives the start's day.
    let odd = event(json!({
        "id": "AAMk3",
        "isAllDay": true,
        "start": {"dateTime": "2026-12-24T00:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-24T00:00:00", "timeZone": "UTC"},
    }));
    assert_eq!(
        odd.all_day_dates(),
        Some((d("2026-12-24"), d("2026-12-24")))
    );
}

#[test]
fn timed_or_partial_events_have_no_all_day_dates() {
    let timed = event(json!({
        "id": "AAMk4",
        "isAllDay": false,
        "start": {"dateTime": "2026-12-24T10:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-24T11:00:00", "timeZone": "UTC"},
    }));
    assert_eq!(timed.all_day_dates(), None);
    let selected = event(json!({"id": "AAMk", "subject": "no times selected"}));
    assert_eq!(selected.all_day_dates(), None);
    assert_eq!(selected.start_utc().unwrap(), None);
    assert_eq!(selected.end_utc().unwrap(), None);
}

#[test]
fn prefer_joins_the_chosen_preferences_with_commas() {
    assert_eq!(Prefer::new().to_string(), "");
    assert_eq!(
        Prefer::new()
            .time_zone(zone("Pacific Standard Time"))
            .to_string(),
        r#"outlook.timezone="Pacific Standard Time""#
    );
    assert_eq!(
        Prefer::new().time_zone(Tz::Europe__Berlin).to_string(),
        r#"outlook.timezone="Europe/Berlin""#
    );
    assert_eq!(
        Prefer::new().text_body().to_string(),
        r#"outlook.body-content-type="text""#
    );
    assert_eq!(
        Prefer::new().immutable_ids().to_string(),
        r#"IdType="ImmutableId""#
    );
    assert_eq!(
        Prefer::new().max_page_size(2).to_string(),
        "odata.maxpagesize=2"
    );
    assert_eq!(Prefer::new().max_page_size(0).to_string(), "");
    let all = Prefer::new()
        .other("odata.track-changes")
        .max_page_size(50)
        .immutable_ids()
        .text_body()
        .time_zone(zone("UTC"));
    assert_eq!(
        String::from(&all),
        r#"outlook.timezone="UTC", outlook.body-content-type="text", IdType="ImmutableId", odata.maxpagesize=50, odata.track-changes"#
    );
}
