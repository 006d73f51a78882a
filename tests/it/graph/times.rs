//! Times on the wire: `Prefer: outlook.timezone` sent, `dateTimeTimeZone`
//! values read as typed local times, all-day events written as midnights.

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::json;
use specbound::graph::{
    CalendarOwner, DateTimeTimeZone, EventTimes, Prefer, TimeZoneName, prelude::*, types,
};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{AnswerOnce, Fixture, received};

fn pacific() -> TimeZoneName {
    "Pacific Standard Time".parse().unwrap()
}

fn local(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap()
}

#[tokio::test]
async fn the_calendar_view_asks_for_a_zone_and_reads_its_times_typed() {
    let server = MockServer::start().await;
    let fixture = Fixture::load("graph/events_list_select.json");
    Mock::given(method("GET"))
        .and(path("/v1.0/me/calendarView"))
        .and(query_param("startDateTime", "2017-04-16T00:00:00-07:00"))
        .and(query_param("endDateTime", "2017-04-23T00:00:00-07:00"))
        .and(header(
            "Prefer",
            r#"outlook.timezone="Pacific Standard Time""#,
        ))
        .answer_once(fixture.response(), &server)
        .await;
    let graph = super::client(&server);
    let page = graph
        .list_calendar_view()
        .calendar_owner(CalendarOwner::me())
        .start_date_time("2017-04-16T00:00:00-07:00")
        .end_date_time("2017-04-23T00:00:00-07:00")
        .prefer(Prefer::new().time_zone(pacific()))
        .send()
        .await
        .unwrap()
        .into_inner();
    let [event] = page.value.as_slice() else {
        panic!("{} events", page.value.len());
    };
    assert_eq!(
        event.start,
        Some(DateTimeTimeZone {
            date_time: local("2017-04-21T10:00:00"),
            time_zone: pacific(),
        })
    );
    assert_eq!(event.end.unwrap().date_time, local("2017-04-21T12:00:00"));
    // 10:00 PDT is 17:00 UTC.
    assert_eq!(
        event.start_utc().unwrap().map(|t| t.to_rfc3339()),
        Some("2017-04-21T17:00:00+00:00".to_string())
    );
    assert_eq!(event.all_day_dates(), None);
    // The preferences join into one header.
    let sent = received(&server).await;
    assert_eq!(sent[0].headers.get_all("Prefer").iter().count(), 1);
}

#[tokio::test]
async fn an_all_day_event_goes_out_as_midnights_with_seven_digits() {
    let server = MockServer::start().await;
    let berlin: TimeZoneName = "Europe/Berlin".parse().unwrap();
    let eve = NaiveDate::from_ymd_opt(2026, 12, 24).unwrap();
    let sent = json!({
        "subject": "Christmas Eve",
        "isAllDay": true,
        "start": {"dateTime": "2026-12-24T00:00:00.0000000", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-12-25T00:00:00.0000000", "timeZone": "Europe/Berlin"},
    });
    let mut answer = sent.clone();
    answer["id"] = json!("AAMkADAllDay=");
    Mock::given(method("POST"))
        .and(path("/v1.0/me/events"))
        .and(body_json(&sent))
        .answer_once(ResponseTemplate::new(201).set_body_json(&answer), &server)
        .await;
    let graph = super::client(&server);
    let created = graph
        .create_event()
        .calendar_owner(CalendarOwner::me())
        .body(types::EventInput {
            subject: Some("Christmas Eve".into()),
            is_all_day: Some(true),
            start: Some(DateTimeTimeZone::all_day(eve, berlin)),
            end: Some(DateTimeTimeZone::all_day(eve.succ_opt().unwrap(), berlin)),
            ..Default::default()
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.all_day_dates(), Some((eve, eve)));
    assert_eq!(created.start.unwrap().time_zone, berlin);
}

#[tokio::test]
async fn an_answer_with_an_unknown_zone_is_a_decode_error_naming_it() {
    let server = MockServer::start().await;
    let odd = json!({"value": [{
        "id": "AAMk=",
        "start": {"dateTime": "2017-04-21T10:00:00.0000000", "timeZone": "Mars/Olympus_Mons"},
    }]});
    Mock::given(method("GET"))
        .and(path("/v1.0/me/events"))
        .answer_once(ResponseTemplate::new(200).set_body_json(odd), &server)
        .await;
    let graph = super::client(&server);
    let err = graph
        .list_events()
        .calendar_owner(CalendarOwner::me())
        .send()
        .await
        .unwrap_err();
    match &err {
        specbound::Error::Decode { path, reason, .. } => {
            assert!(path.contains("value"), "{path}");
            assert!(reason.contains("Mars/Olympus_Mons"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}
