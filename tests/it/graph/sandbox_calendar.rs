//! The Graph client against the sandbox: events and contacts.

use specbound::graph::CalendarOwner;

use super::sandbox_support::*;

fn event(subject: &str, start: &str, end: &str, zone: &str) -> types::EventInput {
    serde_json::from_value(json!({
        "subject": subject,
        "start": {"dateTime": start, "timeZone": zone},
        "end": {"dateTime": end, "timeZone": zone},
    }))
    .unwrap()
}

async fn view(client: &Client, from: &str, to: &str) -> Vec<types::Event> {
    client
        .list_calendar_view()
        .calendar_owner(CalendarOwner::me())
        .start_date_time(from)
        .end_date_time(to)
        .stream()
        .try_collect()
        .await
        .unwrap()
}

fn subjects(events: &[types::Event]) -> Vec<&str> {
    events.iter().filter_map(|e| e.subject.as_deref()).collect()
}

#[tokio::test]
async fn an_event_in_a_time_zone_reads_in_utc_or_the_preferred_zone_and_in_calendar_view() {
    let server = sandbox().start().await.unwrap();
    let adele = signed_in(&server, ADELE);
    let made = adele
        .create_event()
        .calendar_owner(CalendarOwner::me())
        .body(event(
            "Planning",
            "2030-07-01T09:30:00",
            "2030-07-01T10:30:00",
            "Pacific Standard Time",
        ))
        .send()
        .await
        .unwrap()
        .into_inner();
    let start = made.start.unwrap();
    assert_eq!(
        wire(&start),
        ("2030-07-01T16:30:00.0000000".into(), "UTC".into())
    );
    assert_eq!(
        made.original_start_time_zone.as_deref(),
        Some("Pacific Standard Time")
    );
    let eastern = adele
        .get_event()
        .calendar_owner(CalendarOwner::me())
        .event_id(made.id.clone())
        .prefer("outlook.timezone=\"Eastern Standard Time\"")
        .send()
        .await
        .unwrap()
        .into_inner();
    let start = eastern.start.unwrap();
    assert_eq!(
        wire(&start),
        (
            "2030-07-01T12:30:00.0000000".into(),
            "Eastern Standard Time".into()
        )
    );
    let day = view(&adele, "2030-07-01T00:00:00Z", "2030-07-02T00:00:00Z").await;
    assert_eq!(subjects(&day), ["Planning"]);
    // The window is half-open: the event ends at 17:30 UTC.
    let later = view(&adele, "2030-07-01T17:30:00Z", "2030-07-02T00:00:00Z").await;
    assert!(later.is_empty());
    let overlapping = view(&adele, "2030-07-01T17:29:00Z", "2030-07-02T00:00:00Z").await;
    assert_eq!(subjects(&overlapping), ["Planning"]);
    // The client cannot even write an unknown zone into an event: the
    // typed time refuses it. A raw request shows the sandbox refuses it too.
    let refused: Result<types::EventInput, _> = serde_json::from_value(json!({
        "subject": "Nowhere",
        "start": {"dateTime": "2030-07-01T09:30:00", "timeZone": "Mars Standard Time"},
        "end": {"dateTime": "2030-07-01T10:30:00", "timeZone": "Mars Standard Time"},
    }));
    assert!(
        refused
            .unwrap_err()
            .to_string()
            .contains("Mars Standard Time")
    );
    let (status, code) = refusal(
        adele
            .raw_request(http::Method::POST, "/me/events")
            .operation("create_event")
            .json(&json!({
                "subject": "Nowhere",
                "start": {"dateTime": "2030-07-01T09:30:00", "timeZone": "Mars Standard Time"},
                "end": {"dateTime": "2030-07-01T10:30:00", "timeZone": "Mars Standard Time"},
            }))
            .send()
            .await,
    );
    assert_eq!(
        (status, code.as_str()),
        (400, "TimeZoneNotSupportedException")
    );
}

#[tokio::test]
async fn all_day_events_start_and_end_at_midnight_and_series_expand_in_the_view() {
    let server = sandbox().start().await.unwrap();
    let adele = signed_in(&server, ADELE);
    let mut bad: types::EventInput = event(
        "Offsite",
        "2030-07-02T09:00:00",
        "2030-07-03T00:00:00",
        "W. Europe Standard Time",
    );
    bad.is_all_day = Some(true);
    let (status, code) = refusal(
        adele
            .create_event()
            .calendar_owner(CalendarOwner::me())
            .body(bad)
            .send()
            .await,
    );
    assert_eq!(
        (status, code.as_str()),
        (400, "ErrorPropertyValidationFailure")
    );
    let mut good = event(
        "Offsite",
        "2030-07-02T00:00:00",
        "2030-07-03T00:00:00",
        "W. Europe Standard Time",
    );
    good.is_all_day = Some(true);
    let offsite = adele
        .create_event()
        .calendar_owner(CalendarOwner::me())
        .body(good)
        .send()
        .await
        .unwrap();
    assert_eq!(offsite.into_inner().is_all_day, Some(true));
    let series: types::EventInput = serde_json::from_value(json!({
        "subject": "Standup",
        "start": {"dateTime": "2030-07-01T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2030-07-01T09:15:00", "timeZone": "UTC"},
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday", "wednesday", "friday"]},
            "range": {"type": "numbered", "startDate": "2030-07-01", "numberOfOccurrences": 4},
        },
    }))
    .unwrap();
    let master = adele
        .create_event()
        .calendar_owner(CalendarOwner::me())
        .body(series)
        .send()
        .await
        .unwrap();
    let master = master.into_inner();
    let week = view(&adele, "2030-07-01T00:00:00Z", "2030-07-15T00:00:00Z").await;
    let starts: Vec<(&str, String)> = week
        .iter()
        .map(|e| {
            (
                e.subject.as_deref().unwrap_or(""),
                wire(e.start.as_ref().unwrap()).0,
            )
        })
        .collect();
    // An all-day event keeps its dates (midnight in Berlin, 22:00 UTC the
    // day before, is where it sorts).
    assert_eq!(
        starts,
        [
            ("Standup", "2030-07-01T09:00:00.0000000".to_string()),
            ("Offsite", "2030-07-02T00:00:00.0000000".to_string()),
            ("Standup", "2030-07-03T09:00:00.0000000".to_string()),
            ("Standup", "2030-07-05T09:00:00.0000000".to_string()),
            ("Standup", "2030-07-08T09:00:00.0000000".to_string()),
        ]
    );
    let occurrence = &week[2];
    assert_eq!(
        occurrence.series_master_id.as_deref(),
        Some(master.id.as_str())
    );
    assert_eq!(occurrence.type_.as_deref(), Some("occurrence"));
    let read = adele
        .get_event()
        .calendar_owner(CalendarOwner::me())
        .event_id(occurrence.id.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(wire(&read.start.unwrap()).0, "2030-07-03T09:00:00.0000000");
}

#[tokio::test]
async fn contacts_are_created_listed_updated_and_deleted() {
    let server = sandbox().start().await.unwrap();
    let adele = signed_in(&server, ADELE);
    let input: types::ContactInput = serde_json::from_value(json!({
        "givenName": "Pavel",
        "surname": "Bansky",
        "emailAddresses": [{"address": "pavelb@fabrikam.onmicrosoft.com", "name": "Pavel Bansky"}],
        "businessPhones": ["+1 732 555 0102"],
    }))
    .unwrap();
    let made = adele
        .create_contact()
        .mailbox(Mailbox::me())
        .body(input)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(made.display_name.as_deref(), Some("Pavel Bansky"));
    let listed: Vec<types::Contact> = adele
        .list_contacts()
        .mailbox(Mailbox::me())
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        [made.id.as_str()]
    );
    let change: types::ContactInput =
        serde_json::from_value(json!({"jobTitle": "Engineer"})).unwrap();
    let updated = adele
        .update_contact()
        .mailbox(Mailbox::me())
        .contact_id(made.id.clone())
        .body(change)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.job_title.as_deref(), Some("Engineer"));
    assert_ne!(updated.change_key, made.change_key);
    adele
        .delete_contact()
        .mailbox(Mailbox::me())
        .contact_id(made.id.clone())
        .send()
        .await
        .unwrap();
    let (status, code) = refusal(
        adele
            .get_contact()
            .mailbox(Mailbox::me())
            .contact_id(made.id)
            .send()
            .await,
    );
    assert_eq!((status, code.as_str()), (404, "ErrorItemNotFound"));
    let people: Vec<types::Person> = adele
        .list_people()
        .mailbox(Mailbox::me())
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        people
            .iter()
            .filter_map(|p| p.display_name.as_deref())
            .collect::<Vec<_>>(),
        ["Megan Bowen"]
    );
}

/// A `dateTimeTimeZone` as the wire writes it: (`dateTime`, `timeZone`).
fn wire(t: &specbound::graph::DateTimeTimeZone) -> (String, String) {
    let v = serde_json::to_value(t).unwrap();
    (
        v["dateTime"].as_str().unwrap().to_string(),
        v["timeZone"].as_str().unwrap().to_string(),
    )
}
