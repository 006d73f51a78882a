//! Identity and calendars: account, userinfo, profiles, resources,
//! accessible calendars, list and create calendars.
use super::*;

// ------------------------------------------------------------------ operations: identity and calendars

#[tokio::test]
async fn account_userinfo_profiles_resources_and_accessible_calendars_decode_every_field() {
    let (server, cronofy) = mock_cronofy().await;
    let account = example("get_account");
    let userinfo = Fixture::load("cronofy/userinfo_account.json");
    let service_userinfo = Fixture::load("cronofy/userinfo_service_account_csharp.json");
    let profiles = Fixture::load("cronofy/profiles_list.json");
    let documented_profiles = example("list_profiles");
    let resources = example("list_resources");
    let accessible = example("list_accessible_calendars");
    let get = |route| on("GET", route, Some(ACCESS));
    get("/v1/account")
        .answer_once(account.response(), &server)
        .await;
    // Where a route has two answers, the first is given once, then the second.
    for (route, first, then) in [
        ("/v1/userinfo", &userinfo, &service_userinfo),
        ("/v1/profiles", &profiles, &documented_profiles),
    ] {
        get(route)
            .respond_with(first.response())
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
        get(route).answer_once(then.response(), &server).await;
    }
    get("/v1/resources")
        .answer_once(resources.response(), &server)
        .await;
    get("/v1/accessible_calendars")
        .answer_once(accessible.response(), &server)
        .await;

    let got = cronofy.get_account().send().await.unwrap().into_inner();
    assert_eq!(
        got.account.account_id,
        account.body()["account"]["account_id"]
    );
    assert_eq!(got.account.default_tzid.as_deref(), Some("Europe/London"));
    assert_keeps(&got, account.body());

    let info = cronofy.get_userinfo().send().await.unwrap().into_inner();
    assert_eq!(info.cronofy_type.as_deref(), Some("account"));
    let data = info.cronofy_data.as_ref().unwrap();
    assert_eq!(data.profiles.len(), 2);
    assert_eq!(data.profiles[0].profile_calendars.len(), 2);
    assert_eq!(
        data.profiles[1].profile_relink_url.as_deref(),
        userinfo.body()["cronofy.data"]["profiles"][1]["profile_relink_url"].as_str()
    );
    assert_keeps(&info, userinfo.body());
    // A service account's domain sits in cronofy.data.service_account, where
    // cronofy-csharp reads it.
    let service = cronofy.get_userinfo().send().await.unwrap().into_inner();
    assert_eq!(service.cronofy_type.as_deref(), Some("service_account"));
    let account = service
        .cronofy_data
        .as_ref()
        .and_then(|d| d.service_account.as_ref())
        .unwrap();
    assert_eq!(account.domain.as_deref(), Some("example.org"));
    assert_eq!(account.provider_name.as_deref(), Some("exchange"));
    assert_keeps(&service, service_userinfo.body());

    let got = cronofy.list_profiles().send().await.unwrap().into_inner();
    assert_eq!(got.profiles.len(), 3);
    assert_eq!(got.profiles[1].profile_connected, Some(false));
    assert_keeps(&got, profiles.body());
    // The docs' example, with today's keys.
    let got = cronofy.list_profiles().send().await.unwrap().into_inner();
    assert_eq!(got.profiles.len(), 2);
    assert_eq!(got.profiles[0].profile_initial_sync_required, Some(false));
    assert_eq!(
        got.profiles[1].profile_relink_url.as_deref(),
        Some("https://app.cronofy.com/relink/apple?email=example@cronofy.com")
    );
    assert_keeps(&got, documented_profiles.body());

    let got = cronofy.list_resources().send().await.unwrap().into_inner();
    assert_eq!(got.resources[1].email, "3dprinter@example.com");
    assert_keeps(&got, resources.body());

    let got = cronofy
        .list_accessible_calendars()
        .profile_id("pro_n23kjnwrw2")
        .calendar_type("resource")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.accessible_calendars.len(), 3);
    assert_keeps(&got, accessible.body());
    let last = request_count(&server).await - 1;
    assert_eq!(
        sent_query(&server, last).await,
        pairs(&[
            ("calendar_type", "resource"),
            ("profile_id", "pro_n23kjnwrw2")
        ])
    );
    for n in 0..last {
        assert_eq!(sent_query(&server, n).await, [], "no query on request {n}");
    }
}

#[tokio::test]
async fn list_calendars_and_create_calendar() {
    let (server, cronofy) = mock_cronofy().await;
    let list = Fixture::load("cronofy/calendars_list.json");
    let create = example("create_calendar");
    on("GET", "/v1/calendars", Some(ACCESS))
        .answer_once(list.response(), &server)
        .await;
    expect_exchange(&server, on("POST", "/v1/calendars", Some(ACCESS)), &create).await;

    let calendars = cronofy.list_calendars().send().await.unwrap().into_inner();
    assert_eq!(calendars.sub.as_deref(), list.body()["sub"].as_str());
    assert_eq!(
        calendars
            .calendars
            .iter()
            .map(|c| c.calendar_id.as_str())
            .collect::<Vec<_>>(),
        [
            "cal_n23kjnwrw2_jsdfjksn234",
            "cal_n23kjnwrw2_n1k323nkj23",
            "cal_fe145c37de_3nkj23wejk1"
        ]
    );
    assert_eq!(calendars.calendars[1].calendar_deleted, Some(true));
    assert_eq!(
        calendars.calendars[2].provider_name.as_deref(),
        Some("apple")
    );
    assert_keeps(&calendars, list.body());

    let created = cronofy
        .create_calendar()
        .body(typed::<types::CalendarCreate>(create.request_body()))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        created.calendar.calendar_id,
        create.body()["calendar"]["calendar_id"]
    );
    assert_eq!(
        created.calendar.calendar_name.as_deref(),
        Some("New Calendar")
    );
    assert_keeps(&created, create.body());
}
