//! Real-Time Scheduling and Sequencing, Add to Calendar, Bookable Events
//! and element tokens: the calls made with the client secret.
use super::*;

// ------------------------------------------------------------------ operations: scheduling

#[tokio::test]
async fn real_time_scheduling_links_are_created_read_and_disabled_with_the_client_secret() {
    let (server, cronofy) = mock_cronofy().await;
    let create = Fixture::load("cronofy/real_time_scheduling_create.json");
    let by_token = example("get_real_time_scheduling_by_token");
    let get = example("get_real_time_scheduling");
    let disable = example("disable_real_time_scheduling");
    let id = create.body()["real_time_scheduling"]["real_time_scheduling_id"]
        .as_str()
        .unwrap();
    let route = format!("/v1/real_time_scheduling/{id}");
    let secret = Some(CLIENT_SECRET);
    expect_exchange(
        &server,
        on("POST", "/v1/real_time_scheduling", secret),
        &create,
    )
    .await;
    on("GET", "/v1/real_time_scheduling", secret)
        .and(wiremock::matchers::query_param("token", "sCh3dul1ngT0k3n"))
        .answer_once(by_token.response(), &server)
        .await;
    on("GET", &route, secret)
        .answer_once(get.response(), &server)
        .await;
    let disable_route = format!("{route}/disable");
    expect_exchange(&server, on("POST", &disable_route, secret), &disable).await;

    let link = cronofy
        .create_real_time_scheduling()
        .body(typed::<types::RealTimeSchedulingRequest>(
            &with_test_credentials(create.request_body()),
        ))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(link.real_time_scheduling.real_time_scheduling_id, id);
    assert_keeps(&link, create.body());
    let state = cronofy
        .get_real_time_scheduling_by_token()
        .token("sCh3dul1ngT0k3n")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        state.real_time_scheduling.status.as_deref(),
        Some("completed")
    );
    assert_keeps(&state, by_token.body());
    let state = cronofy
        .get_real_time_scheduling()
        .real_time_scheduling_id(id)
        .send()
        .await
        .unwrap()
        .into_inner();
    let event = state.real_time_scheduling.event.as_ref().unwrap();
    assert!(event.start.is_some() && event.end.is_some());
    assert_keeps(&state, get.body());
    let disabled = cronofy
        .disable_real_time_scheduling()
        .real_time_scheduling_id(id)
        .body(typed::<types::RealTimeSchedulingDisable>(
            disable.request_body(),
        ))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        disabled.real_time_scheduling.status.as_deref(),
        Some("disabled")
    );
    assert_keeps(&disabled, disable.body());
    assert_eq!(
        sent_query(&server, 1).await,
        pairs(&[("token", "sCh3dul1ngT0k3n")])
    );
}

#[tokio::test]
async fn real_time_sequencing_uses_the_client_secret_and_add_to_calendar_sends_credentials_in_the_body()
 {
    let (server, cronofy) = mock_cronofy().await;
    let sequencing = example("create_real_time_sequencing");
    let add = example("add_to_calendar");
    let secret = Some(CLIENT_SECRET);
    expect_exchange(
        &server,
        on("POST", "/v1/real_time_sequencing", secret),
        &sequencing,
    )
    .await;
    expect_exchange(&server, on("POST", "/v1/add_to_calendar", None), &add).await;
    let add_sent = with_test_credentials(add.request_body());

    let link = cronofy
        .create_real_time_sequencing()
        .body(typed::<types::RealTimeSequencingRequest>(
            &with_test_credentials(sequencing.request_body()),
        ))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        link.real_time_sequencing
            .as_ref()
            .unwrap()
            .real_time_sequencing_id,
        sequencing.body()["real_time_sequencing"]["real_time_sequencing_id"]
    );
    assert_keeps(&link, sequencing.body());
    let link = cronofy
        .add_to_calendar()
        .body(typed::<types::AddToCalendarRequest>(&add_sent))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(link.url.as_deref(), add.body()["url"].as_str());
}

// ------------------------------------------------------------------ operations: bookable events, UI elements

#[tokio::test]
async fn bookable_events_and_their_registrations_use_the_client_secret() {
    let (server, cronofy) = mock_cronofy().await;
    let create = example("create_bookable_event");
    let get = example("get_bookable_event");
    let register = example("upsert_bookable_event_registration");
    let remove = example("delete_bookable_event_registration");
    let id = create.request_body()["bookable_event_id"].as_str().unwrap();
    let bookable = format!("/v1/bookable_events/{id}");
    let registrations = format!("{bookable}/registrations");
    let secret = Some(CLIENT_SECRET);
    expect_exchange(&server, on("POST", "/v1/bookable_events", secret), &create).await;
    on("GET", &bookable, secret)
        .answer_once(get.response(), &server)
        .await;
    expect_exchange(&server, on("POST", &registrations, secret), &register).await;
    on("DELETE", &format!("{registrations}/87326"), secret)
        .and(wiremock::matchers::body_string(""))
        .answer_once(remove.response(), &server)
        .await;

    let created = cronofy
        .create_bookable_event()
        .body(typed::<types::BookableEventCreate>(create.request_body()))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.bookable_event_id, id);
    assert_keeps(&created, create.body());
    let event = cronofy
        .get_bookable_event()
        .bookable_event_id(id)
        .send()
        .await
        .unwrap()
        .into_inner();
    let registration = event.registration.as_ref().unwrap();
    assert_eq!(registration.registrations.len(), 2);
    assert_eq!(registration.pages.as_ref().unwrap().total, 2);
    assert_keeps(&event, get.body());
    let registered = cronofy
        .upsert_bookable_event_registration()
        .bookable_event_id(id)
        .body(typed::<types::RegistrationUpsert>(register.request_body()))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        registered.registration.as_ref().unwrap().registered_count,
        Some(1)
    );
    assert_keeps(&registered, register.body());
    let removed = cronofy
        .delete_bookable_event_registration()
        .bookable_event_id(id)
        .registration_id("87326")
        .send()
        .await
        .unwrap()
        .into_inner();
    let after = removed.registration.as_ref().unwrap();
    assert_eq!(after.registrations[0].status.as_deref(), Some("removed"));
    assert_eq!(after.registrations[0].metadata, None);
    assert_keeps(&removed, remove.body());
}

#[tokio::test]
async fn element_tokens_use_the_client_secret() {
    let (server, cronofy) = mock_cronofy().await;
    let fixture = example("create_element_token");
    expect_exchange(
        &server,
        on("POST", "/v1/element_tokens", Some(CLIENT_SECRET)),
        &fixture,
    )
    .await;
    let token = cronofy
        .create_element_token()
        .body(typed::<types::ElementTokenRequest>(fixture.request_body()))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(token.element_token.token.expose(), "ELEMENT_TOKEN");
    assert_eq!(token.element_token.expires_in, Some(64800));
    assert_keeps(&token, fixture.body());
}

#[tokio::test]
async fn an_operation_needing_the_client_secret_without_one_is_an_auth_error_before_sending() {
    let server = MockServer::start().await;
    let waits = Waits::default();
    let cronofy = Client::builder()
        .client_id(CLIENT_ID)
        .base_url(server.uri())
        .access_token(ACCESS, None)
        .sleep(waits.sleep())
        .build()
        .unwrap();
    let err: Error = cronofy
        .get_real_time_scheduling()
        .real_time_scheduling_id("sch_1")
        .send()
        .await
        .unwrap_err();
    let reason = assert_auth_error(&err, AuthErrorKind::Missing);
    assert!(reason.contains("client secret"), "{reason}");
    assert_eq!(request_count(&server).await, 0);
}
