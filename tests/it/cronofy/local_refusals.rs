//! What the client refuses before sending, from the constraints of the
//! spec's schema table: times with a non-zero fraction of a second (Cronofy
//! "don't accept values that pass nonzero millisecond values", docs, data
//! types), Bookable Event capacities outside 1 to 256, and Bookable Event
//! and registration ids with other characters than letters, digits, `_` and
//! `-`. Each refusal names the field, and nothing reaches the server.
use super::*;

/// `2026-11-25T09:00:00Z` plus `millis`.
fn nine_plus(millis: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-11-25T09:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc)
        + chrono::Duration::milliseconds(millis)
}

#[tokio::test]
async fn times_with_milliseconds_are_refused_before_sending_and_whole_seconds_are_sent() {
    let (server, cronofy) = mock_cronofy().await;
    let event = |start: chrono::DateTime<chrono::Utc>| types::EventUpsert {
        start: start.into(),
        end: nine_plus(3_600_000).into(),
        ..typed(
            &json!({"event_id": "e1", "summary": "s", "start": "2026-11-25T09:00:00Z", "end": "2026-11-25T10:00:00Z"}),
        )
    };
    let upsert = |start| {
        cronofy
            .upsert_event()
            .calendar_id("cal_1")
            .body(event(start))
            .send()
    };
    assert_invalid(upsert(nine_plus(500)).await, "body.start");
    let localized = types::EventUpsert {
        start: types::EventTime::LocalizedTime(typed(
            &json!({"time": "2026-11-25T09:00:00.250Z", "tzid": "Europe/Paris"}),
        )),
        ..event(nine_plus(0))
    };
    assert_invalid(
        cronofy
            .upsert_event()
            .calendar_id("cal_1")
            .body(localized)
            .send()
            .await,
        "body.start.time",
    );
    assert_invalid(
        cronofy
            .read_events()
            .tzid("Etc/UTC")
            .last_modified(nine_plus(1))
            .stream()
            .try_next()
            .await,
        "last_modified",
    );
    assert_invalid(
        cronofy
            .read_free_busy()
            .tzid("Etc/UTC")
            .last_modified(nine_plus(999))
            .stream()
            .try_next()
            .await,
        "last_modified",
    );
    let period: types::AvailablePeriodUpsert = typed(&json!({
        "available_period_id": "p1",
        "start": "2026-11-25T09:00:00.001Z",
        "end": "2026-11-25T17:00:00Z",
    }));
    assert_invalid(
        cronofy.upsert_available_period().body(period).send().await,
        "body.start",
    );
    assert_eq!(request_count(&server).await, 0, "nothing was sent");

    // `.000Z` reads as a whole second and goes out without a fraction.
    let whole_second = with_json(
        on("POST", "/v1/calendars/cal_1/events", Some(ACCESS)),
        &json!({"event_id": "e1", "summary": "s", "start": "2026-11-25T09:00:00Z", "end": "2026-11-25T10:00:00Z"}),
    );
    whole_second
        .answer_once(ResponseTemplate::new(202), &server)
        .await;
    let zero: types::EventUpsert = typed(&json!({"event_id": "e1", "summary": "s",
        "start": "2026-11-25T09:00:00.000Z", "end": "2026-11-25T10:00:00Z"}));
    cronofy
        .upsert_event()
        .calendar_id("cal_1")
        .body(zero)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn bookable_event_capacities_and_ids_out_of_bounds_are_refused_before_sending() {
    let (server, cronofy) = mock_cronofy().await;
    let example = example("create_bookable_event");
    let bookable = |changes: Value| -> types::BookableEventCreate {
        let mut body = example.request_body().clone();
        for (k, v) in changes.as_object().unwrap() {
            body[k] = v.clone();
        }
        typed(&body)
    };
    let create = |body| cronofy.create_bookable_event().body(body).send();
    for capacity in [257, 1000] {
        assert_invalid(
            create(bookable(json!({"registration": {"capacity": capacity}}))).await,
            "body.registration.capacity",
        );
    }
    for id in ["has space", "dot.ted", "slash/ed", "ünï"] {
        assert_invalid(
            create(bookable(json!({"bookable_event_id": id}))).await,
            "body.bookable_event_id",
        );
    }
    let registration = |id: &str| -> types::RegistrationUpsert {
        typed(&json!({"registration_id": id, "status": "accepted"}))
    };
    assert_invalid(
        cronofy
            .upsert_bookable_event_registration()
            .bookable_event_id("ok_id-1")
            .body(registration("not ok"))
            .send()
            .await,
        "body.registration_id",
    );
    assert_invalid(
        cronofy
            .upsert_bookable_event_registration()
            .bookable_event_id("not ok")
            .body(registration("r1"))
            .send()
            .await,
        "bookable_event_id",
    );
    assert_invalid(
        cronofy
            .get_bookable_event()
            .bookable_event_id("a+b")
            .send()
            .await,
        "bookable_event_id",
    );
    assert_invalid(
        cronofy
            .delete_bookable_event_registration()
            .bookable_event_id("ok")
            .registration_id("r#1")
            .send()
            .await,
        "registration_id",
    );
    assert_eq!(request_count(&server).await, 0, "nothing was sent");

    // The bounds themselves and every allowed character are sent.
    on("POST", "/v1/bookable_events", Some(CLIENT_SECRET))
        .respond_with(example.response())
        .expect(2)
        .mount(&server)
        .await;
    for (id, capacity) in [("Az09_-", 1), ("b", 256)] {
        create(bookable(
            json!({"bookable_event_id": id, "registration": {"capacity": capacity}}),
        ))
        .await
        .unwrap();
    }
}
