//! What `spec/cronofy.yaml` says, read through the generated schema table
//! (`specbound::cronofy::spec::API`), against what Cronofy's docs and SDKs
//! show: a userinfo `name` may be null, a service account's domain sits in
//! `cronofy.data.service_account`, and the spec's header names no file that
//! only existed on one machine.
use super::*;
use specbound::runtime::spec::Kind;
use specbound::runtime::validate;

/// The index of schema `name` in the table.
fn schema(name: &str) -> u32 {
    let i = spec::API
        .schemas
        .iter()
        .position(|s| s.name == name)
        .unwrap_or_else(|| panic!("no schema {name}"));
    u32::try_from(i).unwrap()
}

/// The names of the properties of object schema `name`.
fn properties(name: &str) -> Vec<&'static str> {
    match &spec::API.schema(schema(name)).kind {
        Kind::Object { properties, .. } => properties.iter().map(|(p, _)| *p).collect(),
        other => panic!("{name} is no object: {other:?}"),
    }
}

#[test]
fn a_userinfo_whose_name_is_null_conforms_to_the_spec() {
    // docs identity/userinfo: "name ... May be null or blank."
    let mut userinfo = example("get_userinfo").body().clone();
    userinfo["name"] = Value::Null;
    assert_eq!(
        validate::value(&spec::API, schema("UserInfo"), &userinfo, &[]),
        Ok(())
    );
    let info: types::UserInfo = typed(&userinfo);
    assert_eq!(info.name, None);
    // A name of another type is still refused.
    userinfo["name"] = json!(7);
    assert!(validate::value(&spec::API, schema("UserInfo"), &userinfo, &[]).is_err());
}

#[test]
fn a_service_accounts_domain_is_declared_in_cronofy_data_service_account_only() {
    let answer = Fixture::load("cronofy/userinfo_service_account_csharp.json");
    assert_eq!(
        validate::value(&spec::API, schema("UserInfo"), answer.body(), &[]),
        Ok(())
    );
    assert!(properties("UserInfoData").contains(&"service_account"));
    assert_eq!(
        properties("ServiceAccountInfo"),
        ["domain", "provider_name"]
    );
    // The flat key of a 2016 cronofy-ruby stub is not declared.
    assert!(
        !properties("UserInfo")
            .iter()
            .any(|p| p.contains("service_account")),
        "{:?}",
        properties("UserInfo")
    );
}

#[test]
fn attendee_changes_are_the_docs_invite_and_reject() {
    assert_eq!(properties("AttendeeChanges"), ["invite", "reject"]);
    assert!(!properties("RealTimeSchedulingEvent").contains(&"attendees"));
    assert!(properties("EventTemplate").contains(&"attendees"));
}

#[test]
fn the_spec_header_points_at_no_temporary_file() {
    let text = include_str!("../../../spec/cronofy.yaml");
    let header: Vec<&str> = text.lines().take_while(|l| l.starts_with('#')).collect();
    assert!(header.len() > 5, "the spec starts with its header comment");
    for line in text.lines() {
        assert!(!line.contains("/tmp/"), "{line}");
    }
}
