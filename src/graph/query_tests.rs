//! Built strings compared with the examples of Microsoft's Graph docs
//! (github.com/microsoftgraph/microsoft-graph-docs-contrib), plus the injection and
//! target rules.

use chrono::{FixedOffset, NaiveDate, TimeZone, Utc};

use super::*;

fn build(q: Query, target: QueryTarget) -> BuiltQuery {
    match q.build(target) {
        Ok(b) => b,
        Err(e) => panic!("build failed: {e}"),
    }
}

/// The parameters as the docs write them: `name=value&...`, unencoded, in built order.
fn text(b: &BuiltQuery) -> String {
    let pairs: Vec<String> = b.params.iter().map(|(n, v)| format!("{n}={v}")).collect();
    pairs.join("&")
}

/// Asserts that `b` holds exactly the parameters of a doc's query string (in any order).
fn assert_doc(b: &BuiltQuery, doc_query: &str) {
    let mut ours: Vec<String> = b.params.iter().map(|(n, v)| format!("{n}={v}")).collect();
    let mut doc: Vec<String> = doc_query.split('&').map(str::to_owned).collect();
    ours.sort();
    doc.sort();
    assert_eq!(ours, doc, "built {}", text(b));
}

/// The field and reason of the `Error::Invalid` that `build` answers.
#[allow(
    unreachable_patterns,
    reason = "the scratch crate's Error has one variant"
)]
fn refused(q: Query, target: QueryTarget) -> (String, String) {
    match q.build(target) {
        Err(Error::Invalid { field, reason }) => (field, reason),
        Err(other) => panic!("not Invalid: {other}"),
        Ok(b) => panic!("built {}", text(&b)),
    }
}

fn f(filter: Filter) -> Query {
    Query::new().filter(filter)
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
}

// ---- concepts/filter-query-parameter.md -------------------------------------------------

#[test]
fn filter_doc_any_on_a_string_collection() {
    let q = f(attr("im_addresses").any(|i| i.eq("admin@contoso.com")));
    let b = build(q, QueryTarget::Directory);
    assert_doc(&b, "$filter=imAddresses/any(i:i eq 'admin@contoso.com')");
    assert_eq!(b.consistency_level, None);
}

#[test]
fn filter_doc_any_on_a_complex_collection_with_a_guid() {
    let sku = ODataValue::guid("184efa21-98c3-4e5d-95ab-d07053a96e67");
    let q = f(attr("assigned_licenses").any_as("s", |s| s.attr("sku_id").eq(sku)));
    assert_doc(
        &build(q, QueryTarget::Directory),
        "$filter=assignedLicenses/any(s:s/skuId eq 184efa21-98c3-4e5d-95ab-d07053a96e67)",
    );
}

#[test]
fn filter_doc_mary_across_five_properties() {
    let props = ["givenName", "surname", "mail", "userPrincipalName"];
    let q = props
        .into_iter()
        .fold(attr("display_name").starts_with("mary"), |acc, p| {
            acc.or(attr(p).starts_with("mary"))
        });
    assert_doc(
        &build(f(q), QueryTarget::Directory),
        "$filter=startswith(displayName,'mary') or startswith(givenName,'mary') or \
         startswith(surname,'mary') or startswith(mail,'mary') or startswith(userPrincipalName,'mary')",
    );
}

#[test]
fn filter_doc_endswith_mail_is_an_advanced_query() {
    let b = build(
        f(attr("mail").ends_with("@hotmail.com")),
        QueryTarget::Directory,
    );
    assert_doc(&b, "$count=true&$filter=endswith(mail,'@hotmail.com')");
    assert_eq!(b.consistency_level, Some("eventual"));
}

#[test]
fn filter_doc_users_without_licenses_counts_the_collection() {
    let b = build(
        f(attr("assigned_licenses").count().eq(0)),
        QueryTarget::Directory,
    );
    assert_doc(&b, "$filter=assignedLicenses/$count eq 0&$count=true");
    assert_eq!(b.consistency_level, Some("eventual"));
}

#[test]
fn filter_doc_event_start_as_a_string() {
    let q = f(attr("start/date_time").ge("2017-07-01T08:00"));
    assert_doc(
        &build(q, QueryTarget::Other),
        "$filter=start/dateTime ge '2017-07-01T08:00'",
    );
}

#[test]
fn filter_doc_messages_from_an_address() {
    let q = f(attr("from/email_address/address").eq("someuser@example.com"));
    assert_doc(
        &build(q, QueryTarget::Messages),
        "$filter=from/emailAddress/address eq 'someuser@example.com'",
    );
}

#[test]
fn filter_doc_messages_received_in_april_2017() {
    let q = f(attr("ReceivedDateTime")
        .ge(d(2017, 4, 1))
        .and(attr("receivedDateTime").lt(d(2017, 5, 1))));
    assert_doc(
        &build(q, QueryTarget::Messages),
        "$filter=ReceivedDateTime ge 2017-04-01 and receivedDateTime lt 2017-05-01",
    );
}

#[test]
fn filter_doc_unread_mail() {
    let q = f(attr("is_read").eq(false));
    assert_doc(&build(q, QueryTarget::Messages), "$filter=isRead eq false");
}

#[test]
fn filter_doc_departments_in_a_list() {
    let q = f(attr("department").is_in(["Retail", "Sales"]));
    let b = build(q, QueryTarget::Directory);
    assert_doc(&b, "$filter=department in ('Retail', 'Sales')");
    assert_eq!(
        b.consistency_level, None,
        "`in` works by default wherever `eq` does"
    );
}

#[test]
fn filter_doc_suspended_service_plan() {
    let plan = ODataValue::guid("2e2ddb96-6af9-4b1d-a3f0-d6ecfd22edb2");
    let q = f(attr("assigned_plans").any(|a| {
        a.attr("service_plan_id")
            .eq(plan)
            .and(a.attr("capability_status").eq("Suspended"))
    }))
    .count(true);
    assert_doc(
        &build(q, QueryTarget::Directory),
        "$filter=assignedPlans/any(a:a/servicePlanId eq 2e2ddb96-6af9-4b1d-a3f0-d6ecfd22edb2 \
         and a/capabilityStatus eq 'Suspended')&$count=true",
    );
}

#[test]
fn filter_doc_company_name_in_null_or_microsoft() {
    let q = f(attr("company_name").is_in([ODataValue::null(), "Microsoft".into()])).count(true);
    assert_doc(
        &build(q, QueryTarget::Directory),
        "$filter=companyName in (null, 'Microsoft')&$count=true",
    );
}

#[test]
fn filter_doc_syntax_table_eq_and_not() {
    let b = build(f(attr("user_type").eq("Member")), QueryTarget::Directory);
    assert_doc(&b, "$filter=userType eq 'Member'");
    let b = build(
        f(attr("user_type").eq("Member").not()),
        QueryTarget::Directory,
    );
    assert_doc(&b, "$filter=not(userType eq 'Member')&$count=true");
    assert_eq!(b.consistency_level, Some("eventual"));
}

#[test]
fn filter_doc_syntax_table_booleans_and_ne() {
    let b = build(
        f(attr("is_assignable_to_role").eq(true)),
        QueryTarget::Directory,
    );
    assert_doc(&b, "$filter=isAssignableToRole eq true");
    let b = build(
        f(attr("is_assignable_to_role").ne(true)),
        QueryTarget::Directory,
    );
    assert_doc(&b, "$filter=isAssignableToRole ne true&$count=true");
    let b = build(f(attr("company_name").not_null()), QueryTarget::Directory);
    assert_doc(&b, "$filter=companyName ne null&$count=true");
}

#[test]
fn filter_doc_syntax_table_dates_in_utc() {
    let t = Utc.with_ymd_and_hms(2021, 1, 2, 12, 0, 0).unwrap();
    let b = build(
        f(attr("registration_date_time").le(t)),
        QueryTarget::Directory,
    );
    assert_doc(&b, "$filter=registrationDateTime le 2021-01-02T12:00:00Z");
    // The same instant given with an offset is written in UTC.
    let paris = FixedOffset::east_opt(3600).unwrap();
    let t = paris.with_ymd_and_hms(2021, 1, 2, 13, 0, 0).unwrap();
    let b = build(
        f(attr("registration_date_time").ge(t)),
        QueryTarget::Directory,
    );
    assert_doc(&b, "$filter=registrationDateTime ge 2021-01-02T12:00:00Z");
}

#[test]
fn filter_doc_syntax_table_not_with_functions_on_groups() {
    let b = build(
        f(attr("mail").starts_with("Pineview").not()),
        QueryTarget::Directory,
    );
    assert_doc(&b, "$filter=not(startswith(mail,'Pineview'))&$count=true");
    let b = build(
        f(attr("mail").ends_with("contoso.com").not()),
        QueryTarget::Directory,
    );
    assert_doc(&b, "$filter=not(endswith(mail,'contoso.com'))&$count=true");
    let q = f(attr("mail").eq("PineviewSchoolStaff@Contoso.com").not());
    let b = build(q, QueryTarget::Directory);
    assert_doc(
        &b,
        "$filter=not(mail eq 'PineviewSchoolStaff@Contoso.com')&$count=true",
    );
}

#[test]
fn filter_doc_syntax_table_primitive_collections() {
    let b = build(
        f(attr("group_types").any_as("c", |c| c.eq("Unified"))),
        QueryTarget::Directory,
    );
    assert_doc(&b, "$filter=groupTypes/any(c:c eq 'Unified')");
    assert_eq!(b.consistency_level, None);
    let q = f(attr("group_types").any_as("c", |c| c.eq("Unified")).not());
    let b = build(q, QueryTarget::Directory);
    assert_doc(
        &b,
        "$filter=not(groupTypes/any(c:c eq 'Unified'))&$count=true",
    );
    let b = build(
        f(attr("assigned_licenses").count().eq(0).not()),
        QueryTarget::Directory,
    );
    assert_doc(&b, "$filter=not(assignedLicenses/$count eq 0)&$count=true");
}

#[test]
fn filter_doc_syntax_table_guids() {
    let org = || ODataValue::guid("72f988bf-86f1-41af-91ab-2d7cd011db47");
    let b = build(
        f(attr("app_owner_organization_id").eq(org())),
        QueryTarget::Directory,
    );
    assert_doc(
        &b,
        "$filter=appOwnerOrganizationId eq 72f988bf-86f1-41af-91ab-2d7cd011db47",
    );
    let b = build(
        f(attr("app_owner_organization_id").eq(org()).not()),
        QueryTarget::Directory,
    );
    assert_doc(
        &b,
        "$filter=not(appOwnerOrganizationId eq 72f988bf-86f1-41af-91ab-2d7cd011db47)&$count=true",
    );
}

#[test]
fn filter_doc_syntax_table_complex_collections() {
    let q = f(attr("alternative_security_ids").any(|a| a.attr("type").eq(2)));
    assert_doc(
        &build(q, QueryTarget::Directory),
        "$filter=alternativeSecurityIds/any(a:a/type eq 2)",
    );
    let q = f(attr("certificate_user_ids")
        .any_as("x", |x| x.eq("9876543210@mil"))
        .not());
    assert_doc(
        &build(q, QueryTarget::Directory),
        "$filter=not(certificateUserIds/any(x:x eq '9876543210@mil'))&$count=true",
    );
    let q = f(attr("certificate_user_ids").any_as("x", |x| x.starts_with("987654321")));
    assert_doc(
        &build(q, QueryTarget::Directory),
        "$filter=certificateUserIds/any(x:startswith(x,'987654321'))",
    );
    let q = f(attr("proxy_addresses").any(|p| p.ends_with("contoso.com")));
    assert_doc(
        &build(q, QueryTarget::Directory),
        "$filter=proxyAddresses/any(p:endswith(p,'contoso.com'))&$count=true",
    );
}

// ---- concepts/query-parameters.md ---------------------------------------------------------

#[test]
fn query_parameters_doc_table() {
    let b = build(Query::new().top(2).count(true), QueryTarget::Messages);
    assert_doc(&b, "$top=2&$count=true");
    assert_doc(
        &build(Query::new().expand(["members"]), QueryTarget::Directory),
        "$expand=members",
    );
    let b = build(
        f(attr("given_name").starts_with("J")),
        QueryTarget::Directory,
    );
    assert_doc(&b, "$filter=startswith(givenName,'J')");
    let b = build(
        Query::new().order_by_desc("display_name"),
        QueryTarget::Directory,
    );
    assert_doc(&b, "$orderby=displayName desc");
    assert_eq!(b.consistency_level, None);
    let b = build(
        Query::new().select(["given_name", "surname"]),
        QueryTarget::Directory,
    );
    assert_doc(&b, "$select=givenName,surname");
    assert_doc(
        &build(Query::new().skip(11), QueryTarget::Messages),
        "$skip=11",
    );
    assert_doc(
        &build(Query::new().top(2), QueryTarget::Directory),
        "$top=2",
    );
}

#[test]
fn query_parameters_doc_escaping_single_quotes() {
    let q = f(attr("subject").eq("let's meet for lunch?"));
    assert_doc(
        &build(q, QueryTarget::Messages),
        "$filter=subject eq 'let''s meet for lunch?'",
    );
}

#[test]
fn query_parameters_doc_expand() {
    let b = build(Query::new().expand(["children"]), QueryTarget::Other);
    assert_doc(&b, "$expand=children");
    // `children($select=id,name)` from the same doc is not supported: the name is refused.
    let q = Query::new().expand(["children($select=id,name)"]);
    assert_eq!(refused(q, QueryTarget::Other).0, "$expand");
}

#[test]
fn query_parameters_doc_orderby() {
    let q = Query::new().order_by("from/email_address/address");
    assert_doc(
        &build(q, QueryTarget::Messages),
        "$orderby=from/emailAddress/address",
    );
    let q = Query::new()
        .order_by_desc("from/emailAddress/name")
        .order_by("subject");
    assert_doc(
        &build(q, QueryTarget::Messages),
        "$orderby=from/emailAddress/name desc,subject",
    );
    let q = Query::new().order_by("created_date_time").skip(20);
    assert_doc(
        &build(q, QueryTarget::Other),
        "$orderby=createdDateTime&$skip=20",
    );
    let b = build(
        Query::new().select(["from", "subject"]),
        QueryTarget::Messages,
    );
    assert_doc(&b, "$select=from,subject");
}

#[test]
fn query_parameters_doc_filter_with_orderby_and_what_messages_make_of_it() {
    // The doc's example sorts by receivedDateTime, which its filter lacks; user-list-messages.md
    // says Outlook answers such a query InefficientFilter, so only `Other` builds it as written.
    let q = f(attr("Subject")
        .eq("welcome")
        .and(attr("importance").eq("normal")))
    .order_by("subject")
    .order_by("importance")
    .order_by_desc("received_date_time");
    assert_doc(
        &build(q.clone(), QueryTarget::Other),
        "$filter=Subject eq 'welcome' and importance eq 'normal'\
         &$orderby=subject,importance,receivedDateTime desc",
    );
    let (field, reason) = refused(q, QueryTarget::Messages);
    assert_eq!(field, "$orderby");
    assert!(reason.contains("receivedDateTime"), "{reason}");
}

// ---- concepts/search-query-parameter.md ---------------------------------------------------

#[test]
fn search_doc_messages() {
    let b = build(Query::new().search("pizza"), QueryTarget::Messages);
    assert_doc(&b, "$search=\"pizza\"");
    assert_eq!(b.consistency_level, None);
    let q = Query::new()
        .search("bcc:samanthab@contoso.com")
        .select(["subject", "bcc_recipients"]);
    assert_doc(
        &build(q, QueryTarget::Messages),
        "$search=\"bcc:samanthab@contoso.com\"&$select=subject,bccRecipients",
    );
    let q = Query::new()
        .search("received:07/23/2018")
        .select(["subject", "receivedDateTime"]);
    assert_doc(
        &build(q, QueryTarget::Messages),
        "$search=\"received:07/23/2018\"&$select=subject,receivedDateTime",
    );
}

#[test]
fn search_doc_people() {
    let b = build(Query::new().search("Irene McGowen"), QueryTarget::Other);
    assert_doc(&b, "$search=\"Irene McGowen\"");
}

#[test]
fn search_doc_groups_with_kql_and_with_filter() {
    // Directory searches also get $count=true: the doc's examples omit it, the advanced
    // query doc allows it, and we add it to every advanced query.
    let q = Query::new().search_kql("\"displayName:OneVideo\" OR \"mail:onevideo\"");
    let b = build(q, QueryTarget::Directory);
    assert_doc(
        &b,
        "$search=\"displayName:OneVideo\" OR \"mail:onevideo\"&$count=true",
    );
    assert_eq!(b.consistency_level, Some("eventual"));
    let q = f(attr("mail_enabled").eq(true)).search("displayName:OneVideo");
    let b = build(q, QueryTarget::Directory);
    assert_doc(
        &b,
        "$filter=mailEnabled eq true&$search=\"displayName:OneVideo\"&$count=true",
    );
    assert_eq!(b.consistency_level, Some("eventual"));
}

#[test]
fn search_doc_users_by_display_name() {
    let b = build(
        Query::new().search("display_name:Guthr"),
        QueryTarget::Directory,
    );
    assert_doc(&b, "$search=\"displayName:Guthr\"&$count=true");
}

// ---- concepts/aad-advanced-queries.md -----------------------------------------------------

#[test]
fn advanced_doc_eq_works_by_default_and_ne_needs_advanced_parameters() {
    let b = build(f(attr("account_enabled").eq(false)), QueryTarget::Directory);
    assert_doc(&b, "$filter=accountEnabled eq false");
    assert_eq!(b.consistency_level, None);
    let b = build(f(attr("account_enabled").ne(true)), QueryTarget::Directory);
    assert_doc(&b, "$filter=accountEnabled ne true&$count=true");
    assert_eq!(b.consistency_level, Some("eventual"));
}

#[test]
fn advanced_doc_scenarios_table() {
    let b = build(Query::new().count(true), QueryTarget::Directory);
    assert_doc(&b, "$count=true");
    assert_eq!(b.consistency_level, Some("eventual"));
    let b = build(
        Query::new().search("displayName:Browser"),
        QueryTarget::Directory,
    );
    assert_doc(&b, "$search=\"displayName:Browser\"&$count=true");
    let b = build(
        Query::new().order_by("display_name").count(true),
        QueryTarget::Directory,
    );
    assert_doc(&b, "$orderby=displayName&$count=true");
    let b = build(
        Query::new().order_by("created_date_time"),
        QueryTarget::Directory,
    );
    assert_doc(&b, "$orderby=createdDateTime&$count=true");
    assert_eq!(b.consistency_level, Some("eventual"));
}

// ---- api-reference/v1.0/api/user-list.md --------------------------------------------------

#[test]
fn user_list_doc_sign_in_name_through_identities() {
    let q = Query::new()
        .select(["display_name", "id"])
        .filter(attr("identities").any_as("c", |c| {
            c.attr("issuer_assigned_id")
                .eq("j.smith@yahoo.com")
                .and(c.attr("issuer").eq("My B2C tenant"))
        }));
    assert_doc(
        &build(q, QueryTarget::Directory),
        "$select=displayName,id&$filter=identities/any(c:c/issuerAssignedId eq 'j.smith@yahoo.com' \
         and c/issuer eq 'My B2C tenant')",
    );
}

#[test]
fn user_list_doc_filter_with_orderby_is_advanced() {
    let q = f(attr("display_name").starts_with("a"))
        .order_by("display_name")
        .top(1);
    let b = build(q, QueryTarget::Directory);
    assert_doc(
        &b,
        "$filter=startswith(displayName,'a')&$orderby=displayName&$count=true&$top=1",
    );
    assert_eq!(b.consistency_level, Some("eventual"));
    let q = f(attr("mail").ends_with("a@contoso.com")).order_by("user_principal_name");
    assert_doc(
        &build(q, QueryTarget::Directory),
        "$filter=endswith(mail,'a@contoso.com')&$orderby=userPrincipalName&$count=true",
    );
}

#[test]
fn user_list_doc_search_with_orderby() {
    let q = Query::new()
        .search("displayName:wa")
        .order_by("displayName");
    assert_doc(
        &build(q, QueryTarget::Directory),
        "$search=\"displayName:wa\"&$orderby=displayName&$count=true",
    );
}

#[test]
fn user_list_doc_assigned_license_and_extensions() {
    let sku = ODataValue::guid("cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46");
    let q = Query::new()
        .select(["id", "mail", "assigned_licenses"])
        .filter(attr("assigned_licenses").any_as("u", |u| u.attr("sku_id").eq(sku)));
    assert_doc(
        &build(q, QueryTarget::Directory),
        "$select=id,mail,assignedLicenses&$filter=assignedLicenses/any(u:u/skuId eq \
         cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46)",
    );
    let q = Query::new()
        .select(["ext55gb1l09_msLearnCourses"])
        .filter(attr("ext55gb1l09_msLearnCourses/course_type").eq("Developer"));
    assert_doc(
        &build(q, QueryTarget::Directory),
        "$select=ext55gb1l09_msLearnCourses&$filter=ext55gb1l09_msLearnCourses/courseType eq 'Developer'",
    );
    let q = Query::new().select(["display_name", "user_principal_name", "sign_in_activity"]);
    assert_doc(
        &build(q, QueryTarget::Directory),
        "$select=displayName,userPrincipalName,signInActivity",
    );
}

#[test]
fn user_list_doc_guest_users_encode_the_hash() {
    // The doc writes `endsWith(userPrincipalName,'%23EXT%23@contoso.com')`, `#` encoded by hand.
    let q = Query::new()
        .select(["id", "display_name", "mail", "identities"])
        .filter(attr("user_principal_name").ends_with("#EXT#@contoso.com"));
    let b = build(q, QueryTarget::Directory);
    assert_eq!(
        b.get("$filter"),
        Some("endswith(userPrincipalName,'#EXT#@contoso.com')")
    );
    let mut url = url::Url::parse("https://graph.microsoft.com/v1.0/users").unwrap();
    b.apply_to(&mut url);
    let query = url.query().unwrap();
    assert!(query.contains("%23EXT%23%40contoso.com"), "{query}");
    assert_eq!(url.fragment(), None);
}

// ---- api-reference/v1.0/api/user-list-messages.md and user-list-events.md -----------------

#[test]
fn user_list_messages_doc_select() {
    let b = build(
        Query::new().select(["sender", "subject"]),
        QueryTarget::Messages,
    );
    assert_doc(&b, "$select=sender,subject");
}

#[test]
fn user_list_messages_doc_orderby_properties_open_the_filter_in_order() {
    let since = d(2016, 1, 1);
    let ok = f(attr("received_date_time")
        .ge(since)
        .and(attr("subject").contains("x")))
    .order_by_desc("receivedDateTime");
    assert_doc(
        &build(ok, QueryTarget::Messages),
        "$filter=receivedDateTime ge 2016-01-01 and contains(subject,'x')\
         &$orderby=receivedDateTime desc",
    );
    // 1. in $orderby but not in $filter
    let q = f(attr("subject").eq("x")).order_by_desc("received_date_time");
    assert_eq!(refused(q, QueryTarget::Messages).0, "$orderby");
    // 2. not in the same order
    let both = attr("subject").eq("x").and(attr("importance").eq("high"));
    let q = f(both).order_by("importance").order_by("subject");
    assert_eq!(refused(q, QueryTarget::Messages).0, "$orderby");
    // 3. after a property that is not sorted on
    let q = f(attr("is_read")
        .eq(false)
        .and(attr("received_date_time").ge(since)))
    .order_by("received_date_time");
    assert_eq!(refused(q, QueryTarget::Messages).0, "$orderby");
    // Names are compared as Graph does, without regard to case.
    let q = f(attr("ReceivedDateTime").ge(since)).order_by("receivedDateTime");
    assert!(q.build(QueryTarget::Messages).is_ok());
}

#[test]
fn user_list_events_doc_select() {
    let q = Query::new().select([
        "subject",
        "body",
        "body_preview",
        "organizer",
        "attendees",
        "start",
        "end",
        "location",
    ]);
    assert_doc(
        &build(q, QueryTarget::Other),
        "$select=subject,body,bodyPreview,organizer,attendees,start,end,location",
    );
}

// ---- the issue's example ------------------------------------------------------------------

#[test]
fn the_issue_example_builds_and_nests_or_under_and() {
    let subject = attr("subject")
        .contains("george")
        .or(attr("subject").starts_with("quotes"));
    let q = Query::new()
        .filter(subject.clone())
        .select(["subject", "from"])
        .order_by_desc("receivedDateTime");
    assert_eq!(
        text(&build(q.clone(), QueryTarget::Other)),
        "$filter=contains(subject,'george') or startswith(subject,'quotes')\
         &$orderby=receivedDateTime desc&$select=subject,from",
    );
    assert_eq!(refused(q, QueryTarget::Messages).0, "$orderby");
    let q = f(attr("received_date_time").ge(d(2017, 7, 1)))
        .filter(subject)
        .order_by_desc("received_date_time");
    assert_eq!(
        build(q, QueryTarget::Messages).get("$filter"),
        Some(
            "receivedDateTime ge 2017-07-01 and (contains(subject,'george') or startswith(subject,'quotes'))"
        ),
    );
}

// ---- expression text ----------------------------------------------------------------------

#[test]
fn parentheses_follow_precedence() {
    let (a, b, c) = (|| attr("a").eq(1), || attr("b").eq(2), || attr("c").eq(3));
    assert_eq!(
        a().and(b()).or(c()).to_string(),
        "a eq 1 and b eq 2 or c eq 3"
    );
    assert_eq!(
        a().or(b().and(c())).to_string(),
        "a eq 1 or b eq 2 and c eq 3"
    );
    assert_eq!(
        a().and(b().or(c())).to_string(),
        "a eq 1 and (b eq 2 or c eq 3)"
    );
    assert_eq!(
        a().or(b()).and(c()).to_string(),
        "(a eq 1 or b eq 2) and c eq 3"
    );
    assert_eq!(a().or(b()).not().to_string(), "not(a eq 1 or b eq 2)");
    assert_eq!(
        a().and(b()).and(c()).to_string(),
        "a eq 1 and b eq 2 and c eq 3"
    );
}

#[test]
fn values_are_written_as_odata_literals() {
    assert_eq!(attr("n").gt(-5i64).to_string(), "n gt -5");
    assert_eq!(attr("n").lt(2.5).to_string(), "n lt 2.5");
    assert_eq!(attr("n").lt(f64::NAN).to_string(), "n lt NaN");
    assert_eq!(attr("n").lt(f64::NEG_INFINITY).to_string(), "n lt -INF");
    assert_eq!(attr("n").is_null().to_string(), "n eq null");
    let t = Utc.with_ymd_and_hms(2017, 7, 1, 0, 0, 0).unwrap();
    assert_eq!(attr("t").ge(t).to_string(), "t ge 2017-07-01T00:00:00Z");
    let t = t + chrono::Duration::milliseconds(250);
    assert_eq!(attr("t").ge(t).to_string(), "t ge 2017-07-01T00:00:00.250Z");
    assert_eq!(
        attr("categories").any(|c| c.eq("Red")).to_string(),
        "categories/any(c:c eq 'Red')"
    );
    let to = attr("to_recipients").any_as("a", |a| a.attr("email_address/address").eq("x@y.z"));
    assert_eq!(
        to.to_string(),
        "toRecipients/any(a:a/emailAddress/address eq 'x@y.z')"
    );
}

#[test]
fn snake_case_names_become_camel_case_and_others_are_kept() {
    assert_eq!(graph_name("received_date_time"), "receivedDateTime");
    assert_eq!(
        graph_name("from/email_address/address"),
        "from/emailAddress/address"
    );
    assert_eq!(graph_name("receivedDateTime"), "receivedDateTime");
    assert_eq!(graph_name("@odata.type"), "@odata.type");
    assert_eq!(graph_name("microsoft.graph.group"), "microsoft.graph.group");
    assert_eq!(
        graph_name("ext55gb1l09_msLearnCourses"),
        "ext55gb1l09_msLearnCourses"
    );
    assert_eq!(
        graph_name("extension_b7d8e648_job_group"),
        "extension_b7d8e648_job_group"
    );
    assert_eq!(graph_name("extension_attribute1"), "extension_attribute1");
    assert_eq!(
        graph_name("on_premises_extension_attributes/extension_attribute1"),
        "onPremisesExtensionAttributes/extension_attribute1"
    );
    assert_eq!(graph_name("a__b"), "a__b");
    assert_eq!(graph_name("_a"), "_a");
    let b = build(
        Query::new().select(["@odata.type", "id"]),
        QueryTarget::Other,
    );
    assert_eq!(b.get("$select"), Some("@odata.type,id"));
}

// ---- injection ----------------------------------------------------------------------------

/// The end of the OData string literal that starts at `s[start]`, quotes doubled inside.
fn literal_end(s: &str, start: usize) -> usize {
    let bytes = s.as_bytes();
    assert_eq!(bytes[start], b'\'');
    let mut i = start + 1;
    loop {
        match (bytes.get(i), bytes.get(i + 1)) {
            (Some(b'\''), Some(b'\'')) => i += 2,
            (Some(b'\''), _) => return i,
            (Some(_), _) => i += 1,
            (None, _) => panic!("unterminated literal in {s}"),
        }
    }
}

#[test]
fn a_hostile_value_stays_inside_its_quotes() {
    let evil = "O'Brien') or true or ('";
    let b = build(f(attr("surname").eq(evil)), QueryTarget::Directory);
    let filter = b.get("$filter").unwrap();
    assert_eq!(filter, "surname eq 'O''Brien'') or true or ('''");
    assert_eq!(literal_end(filter, 11), filter.len() - 1);
    let filter = attr("subject").contains(evil).to_string();
    assert_eq!(literal_end(&filter, 17), filter.len() - 2);
    assert!(filter.ends_with("')"));
}

#[test]
fn a_hostile_name_is_refused() {
    for name in [
        "subject eq 'x' or 1 eq 1",
        "subject)",
        "a(b",
        "a,b",
        "a b",
        "a'b",
        "a&b",
        "",
        "a//b",
        "/a",
        "$count",
    ] {
        let (field, reason) = refused(f(attr(name).eq(1)), QueryTarget::Other);
        assert_eq!(field, "$filter", "{name}: {reason}");
        assert_eq!(
            refused(Query::new().select([name]), QueryTarget::Other).0,
            "$select"
        );
        assert_eq!(
            refused(Query::new().order_by(name), QueryTarget::Other).0,
            "$orderby"
        );
        assert_eq!(
            refused(Query::new().expand([name]), QueryTarget::Other).0,
            "$expand"
        );
    }
    let q = Query::new().order_by("subject desc");
    assert_eq!(refused(q, QueryTarget::Other).0, "$orderby");
    let q = f(attr("tags").any_as("a)or(1", |a| a.eq(1)));
    assert_eq!(refused(q, QueryTarget::Other).0, "$filter");
    let q = f(attr("id").eq(ODataValue::guid("1 or true")));
    assert_eq!(refused(q, QueryTarget::Other).0, "$filter");
    let q = Query::new().search("display name:x");
    assert_eq!(refused(q, QueryTarget::Directory).0, "$search");
}

#[test]
fn a_search_phrase_escapes_quotes_and_backslashes() {
    let b = build(
        Query::new().search(r#"pizza" OR "x\"#),
        QueryTarget::Messages,
    );
    assert_eq!(b.get("$search"), Some(r#""pizza\" OR \"x\\""#));
    let b = build(
        Query::new().search(r#"display_name:O"Neil"#),
        QueryTarget::Directory,
    );
    assert_eq!(b.get("$search"), Some(r#""displayName:O\"Neil""#));
}

#[test]
fn an_ampersand_in_a_value_cannot_add_a_parameter() {
    let b = build(
        f(attr("subject").eq("a&$top=1")).top(5),
        QueryTarget::Messages,
    );
    let mut url = url::Url::parse("https://graph.microsoft.com/v1.0/me/messages").unwrap();
    b.apply_to(&mut url);
    let tops: Vec<_> = url.query_pairs().filter(|(k, _)| k == "$top").collect();
    assert_eq!(tops.len(), 1);
    assert_eq!(tops[0].1, "5");
}

// ---- rules of the targets -----------------------------------------------------------------

#[test]
fn messages_refuse_search_with_filter_or_orderby() {
    let q = f(attr("is_read").eq(false)).search("pizza");
    let (field, reason) = refused(q, QueryTarget::Messages);
    assert_eq!(field, "$search");
    assert!(reason.contains("$filter"), "{reason}");
    let q = Query::new().search("pizza").order_by("subject");
    let (field, reason) = refused(q, QueryTarget::Messages);
    assert_eq!(field, "$search");
    assert!(reason.contains("$orderby"), "{reason}");
    assert!(
        Query::new()
            .search("pizza")
            .top(50)
            .build(QueryTarget::Messages)
            .is_ok()
    );
}

#[test]
fn messages_take_a_page_size_up_to_1000() {
    assert!(Query::new().top(1000).build(QueryTarget::Messages).is_ok());
    assert_eq!(
        refused(Query::new().top(1001), QueryTarget::Messages).0,
        "$top"
    );
}

#[test]
fn top_zero_is_refused_everywhere() {
    for target in [
        QueryTarget::Messages,
        QueryTarget::Directory,
        QueryTarget::Other,
    ] {
        assert_eq!(refused(Query::new().top(0), target).0, "$top");
    }
}

#[test]
fn directory_rules() {
    assert_eq!(
        refused(Query::new().skip(10), QueryTarget::Directory).0,
        "$skip"
    );
    assert_eq!(
        refused(Query::new().top(1000), QueryTarget::Directory).0,
        "$top"
    );
    let q = f(attr("mail").ends_with("x")).expand(["manager"]);
    assert_eq!(refused(q, QueryTarget::Directory).0, "$expand");
    let q = f(attr("mail").ends_with("x")).count(false);
    assert_eq!(refused(q, QueryTarget::Directory).0, "$count");
    assert_eq!(
        refused(Query::new().search("wa"), QueryTarget::Directory).0,
        "$search"
    );
    // $expand is fine in a default query.
    let b = build(
        f(attr("mail").eq("x")).expand(["manager"]),
        QueryTarget::Directory,
    );
    assert_eq!(b.consistency_level, None);
    assert_eq!(b.get("$count"), None);
}

#[test]
fn all_is_refused_where_graph_lacks_it() {
    let q = f(attr("categories").all(|c| c.eq("Red")));
    assert_eq!(refused(q.clone(), QueryTarget::Messages).0, "$filter");
    assert_eq!(refused(q.clone(), QueryTarget::Directory).0, "$filter");
    assert_eq!(
        build(q, QueryTarget::Other).get("$filter"),
        Some("categories/all(c:c eq 'Red')")
    );
}

#[test]
fn empty_search_and_empty_in_are_refused() {
    assert_eq!(
        refused(Query::new().search(" "), QueryTarget::Other).0,
        "$search"
    );
    assert_eq!(
        refused(Query::new().search_kql(""), QueryTarget::Other).0,
        "$search"
    );
    let q = f(attr("department").is_in(Vec::<String>::new()));
    assert_eq!(refused(q, QueryTarget::Other).0, "$filter");
}

// ---- apply_to -----------------------------------------------------------------------------

#[test]
fn apply_to_encodes_as_the_query_parameters_doc_does() {
    // concepts/query-parameters.md, "Encoding query parameters": both encoded forms decode to
    // `$filter=startswith(givenName, 'J')`.
    let b = build(
        f(attr("given_name").starts_with("J")),
        QueryTarget::Directory,
    );
    let mut url = url::Url::parse("https://graph.microsoft.com/v1.0/users").unwrap();
    b.apply_to(&mut url);
    assert_eq!(
        url.query(),
        Some("%24filter=startswith%28givenName%2C%27J%27%29")
    );
    let doc = url::Url::parse(
        "https://graph.microsoft.com/v1.0/users?$filter=startswith%28givenName%2C%20%27J%27%29",
    )
    .unwrap();
    let decoded: Vec<_> = doc.query_pairs().collect();
    assert_eq!(decoded[0].0, "$filter");
    assert_eq!(decoded[0].1.replace(", ", ","), b.get("$filter").unwrap());
    let ours: Vec<_> = url.query_pairs().collect();
    assert_eq!(ours[0].0, "$filter");
    assert_eq!(ours[0].1, "startswith(givenName,'J')");
}

#[test]
fn apply_to_replaces_parameters_of_the_same_name_and_keeps_others() {
    let b = build(Query::new().top(5).select(["id"]), QueryTarget::Other);
    let mut url =
        url::Url::parse("https://graph.microsoft.com/v1.0/me/events?%24top=50&keep=a+b").unwrap();
    b.apply_to(&mut url);
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let expected = [("keep", "a b"), ("$select", "id"), ("$top", "5")];
    assert_eq!(pairs, expected.map(|(k, v)| (k.to_owned(), v.to_owned())));
    let mut bare = url::Url::parse("https://graph.microsoft.com/v1.0/me/events").unwrap();
    build(Query::new(), QueryTarget::Other).apply_to(&mut bare);
    assert_eq!(bare.as_str(), "https://graph.microsoft.com/v1.0/me/events");
}
