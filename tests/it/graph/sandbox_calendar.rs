//! The Graph client against the sandbox: events and contacts.

use specbound::graph::{Calendar, CalendarOwner};

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
async fn a_calendar_named_in_the_path_holds_its_own_events_and_view() {
    let server = sandbox().start().await.unwrap();
    let adele = signed_in(&server, ADELE);
    let default = Calendar::default_of(Mailbox::me());
    let group = adele
        .list_calendar_groups()
        .mailbox(Mailbox::me())
        .send()
        .await
        .unwrap()
        .into_inner()
        .value
        .remove(0)
        .id;
    let travel_input: types::CalendarInput =
        serde_json::from_value(json!({"name": "Travel"})).unwrap();
    let travel_id = adele
        .create_calendar()
        .mailbox(Mailbox::me())
        .body(travel_input)
        .send()
        .await
        .unwrap()
        .into_inner()
        .id;
    let travel = Calendar::by_id(Mailbox::me(), &travel_id).unwrap();
    let mut ids = Vec::new();
    for (calendar, subject) in [(&default, "Planning"), (&travel, "Flight")] {
        let made = adele
            .create_calendar_event()
            .calendar(calendar)
            .body(event(
                subject,
                "2030-07-01T09:00:00",
                "2030-07-01T10:00:00",
                "UTC",
            ))
            .send()
            .await
            .unwrap()
            .into_inner();
        ids.push(made.id);
    }
    let events_of = |calendar: Calendar| {
        let adele = adele.clone();
        async move {
            let events: Vec<types::Event> = adele
                .list_calendar_events()
                .calendar(calendar)
                .stream()
                .try_collect()
                .await
                .unwrap();
            events
                .into_iter()
                .filter_map(|e| e.subject)
                .collect::<Vec<_>>()
        }
    };
    // The seeded invitation is in the default calendar too.
    let in_default = events_of(default.clone()).await;
    assert!(
        in_default.contains(&"Planning".to_string()),
        "{in_default:?}"
    );
    assert!(
        !in_default.contains(&"Flight".to_string()),
        "{in_default:?}"
    );
    assert_eq!(events_of(travel.clone()).await, ["Flight"]);
    // The same calendar written below its calendar group.
    let grouped = Calendar::in_group(Mailbox::me(), &group, &travel_id).unwrap();
    assert_eq!(events_of(grouped).await, ["Flight"]);
    let elsewhere = Calendar::in_group(Mailbox::me(), "no-such-group", &travel_id).unwrap();
    let (status, code) = refusal(
        adele
            .list_calendar_events()
            .calendar(elsewhere)
            .send()
            .await,
    );
    assert_eq!((status, code.as_str()), (404, "ErrorItemNotFound"));
    // Each calendar's view holds its own events only; the mailbox's view both.
    for (calendar, want) in [(&default, "Planning"), (&travel, "Flight")] {
        let day: Vec<types::Event> = adele
            .list_calendar_view_of_calendar()
            .calendar(calendar)
            .start_date_time("2030-07-01T00:00:00Z")
            .end_date_time("2030-07-02T00:00:00Z")
            .stream()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(subjects(&day), [want]);
    }
    let both = view(&adele, "2030-07-01T00:00:00Z", "2030-07-02T00:00:00Z").await;
    assert_eq!(subjects(&both), ["Planning", "Flight"]);
    // An event is read, changed and deleted through its own calendar only.
    let flight = adele
        .get_calendar_event()
        .calendar(&travel)
        .event_id(ids[1].clone())
        .prefer("outlook.timezone=\"Pacific Standard Time\"")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        wire(&flight.start.unwrap()),
        (
            "2030-07-01T02:00:00.0000000".into(),
            "Pacific Standard Time".into()
        )
    );
    let (status, code) = refusal(
        adele
            .get_calendar_event()
            .calendar(&default)
            .event_id(ids[1].clone())
            .send()
            .await,
    );
    assert_eq!((status, code.as_str()), (404, "ErrorItemNotFound"));
    let change: types::EventInput =
        serde_json::from_value(json!({"subject": "Flight to Oslo"})).unwrap();
    let changed = adele
        .update_calendar_event()
        .calendar(&travel)
        .event_id(ids[1].clone())
        .body(change)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(changed.subject.as_deref(), Some("Flight to Oslo"));
    let (status, _) = refusal(
        adele
            .delete_calendar_event()
            .calendar(&travel)
            .event_id(ids[0].clone())
            .send()
            .await,
    );
    assert_eq!(status, 404);
    adele
        .delete_calendar_event()
        .calendar(&travel)
        .event_id(ids[1].clone())
        .send()
        .await
        .unwrap();
    assert!(events_of(travel).await.is_empty());
    // Another user's calendar is theirs to reach, not Adele's.
    let megan = Calendar::default_of(Mailbox::user(MEGAN).unwrap());
    let (status, _) = refusal(adele.list_calendar_events().calendar(megan).send().await);
    assert_eq!(status, 403);
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

#[tokio::test]
async fn a_contact_named_below_its_folder_is_read_changed_and_deleted_there_only() {
    let server = sandbox().start().await.unwrap();
    let adele = signed_in(&server, ADELE);
    let input: types::ContactInput =
        serde_json::from_value(json!({"givenName": "Pavel", "surname": "Bansky"})).unwrap();
    let pavel = adele
        .create_contact()
        .mailbox(Mailbox::me())
        .body(input)
        .send()
        .await
        .unwrap()
        .into_inner();
    let folder = pavel.parent_folder_id.clone().unwrap();
    let friends_input: types::ContactFolderInput =
        serde_json::from_value(json!({"displayName": "Friends"})).unwrap();
    let friends = adele
        .create_contact_folder()
        .mailbox(Mailbox::me())
        .body(friends_input)
        .send()
        .await
        .unwrap()
        .into_inner()
        .id;
    let read = adele
        .get_folder_contact()
        .mailbox(Mailbox::me())
        .contact_folder_id(folder.clone())
        .contact_id(pavel.id.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.display_name.as_deref(), Some("Pavel Bansky"));
    let (status, code) = refusal(
        adele
            .get_folder_contact()
            .mailbox(Mailbox::me())
            .contact_folder_id(friends.clone())
            .contact_id(pavel.id.clone())
            .send()
            .await,
    );
    assert_eq!((status, code.as_str()), (404, "ErrorItemNotFound"));
    let change: types::ContactInput =
        serde_json::from_value(json!({"jobTitle": "Engineer"})).unwrap();
    let changed = adele
        .update_folder_contact()
        .mailbox(Mailbox::me())
        .contact_folder_id(folder.clone())
        .contact_id(pavel.id.clone())
        .body(change)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(changed.job_title.as_deref(), Some("Engineer"));
    let (status, _) = refusal(
        adele
            .delete_folder_contact()
            .mailbox(Mailbox::me())
            .contact_folder_id(friends)
            .contact_id(pavel.id.clone())
            .send()
            .await,
    );
    assert_eq!(status, 404);
    adele
        .delete_folder_contact()
        .mailbox(Mailbox::me())
        .contact_folder_id(folder)
        .contact_id(pavel.id.clone())
        .send()
        .await
        .unwrap();
    let (status, _) = refusal(
        adele
            .get_contact()
            .mailbox(Mailbox::me())
            .contact_id(pavel.id)
            .send()
            .await,
    );
    assert_eq!(status, 404);
}

/// A `dateTimeTimeZone` as the wire writes it: (`dateTime`, `timeZone`).
fn wire(t: &specbound::graph::DateTimeTimeZone) -> (String, String) {
    let v = serde_json::to_value(t).unwrap();
    (
        v["dateTime"].as_str().unwrap().to_string(),
        v["timeZone"].as_str().unwrap().to_string(),
    )
}
