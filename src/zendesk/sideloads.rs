//! Side-loading: `include=` lists that each operation is checked against
//! before anything is sent, and the side-loaded records of an answer found
//! by id without another request.
//!
//! The names an operation accepts are its `x-specbound-includes` in the
//! spec; the runtime refuses any other name with [`Error::Invalid`] (Zendesk
//! itself would ignore it silently and the records would just be missing).
//!
//! ```no_run
//! # async fn run(zd: specbound::zendesk::Client) -> specbound::Result<()> {
//! use specbound::zendesk::prelude::*;
//! use specbound::zendesk::sideloads::{Includes, SideLoad, SideLoads};
//! let page = zd
//!     .list_tickets()
//!     .include(Includes::of([SideLoad::Users, SideLoad::Groups]))
//!     .send()
//!     .await?
//!     .into_inner();
//! for ticket in &page.tickets {
//!     let requester = ticket.requester_id.and_then(|id| page.user(id));
//!     println!("{:?} asked by {:?}", ticket.subject, requester.and_then(|u| u.name.as_deref()));
//! }
//! # Ok(()) }
//! ```

use std::fmt;

use super::types;
use crate::runtime::spec::Operation;
use crate::{Error, Result};

/// The extension listing the side-loads an operation accepts.
const INCLUDES: &str = "x-specbound-includes";

/// A name that can go into `include=`; which operation accepts which is
/// the spec's `x-specbound-includes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(missing_docs)] // each variant is the name on the wire, in snake case
pub enum SideLoad {
    Abilities,
    AppInstallation,
    Categories,
    CommentCount,
    CommentEvents,
    CustomStatuses,
    Dates,
    Groups,
    Identities,
    IncidentCounts,
    LastAudits,
    MetricEvents,
    MetricSets,
    OpenTicketCount,
    Organizations,
    Permissions,
    Roles,
    SharingAgreements,
    Slas,
    TicketForms,
    Tickets,
    Usage1h,
    Usage24h,
    Usage30d,
    Usage7d,
    Users,
}

impl SideLoad {
    /// Every side-load, in the order above.
    pub const ALL: [SideLoad; 26] = [
        SideLoad::Abilities,
        SideLoad::AppInstallation,
        SideLoad::Categories,
        SideLoad::CommentCount,
        SideLoad::CommentEvents,
        SideLoad::CustomStatuses,
        SideLoad::Dates,
        SideLoad::Groups,
        SideLoad::Identities,
        SideLoad::IncidentCounts,
        SideLoad::LastAudits,
        SideLoad::MetricEvents,
        SideLoad::MetricSets,
        SideLoad::OpenTicketCount,
        SideLoad::Organizations,
        SideLoad::Permissions,
        SideLoad::Roles,
        SideLoad::SharingAgreements,
        SideLoad::Slas,
        SideLoad::TicketForms,
        SideLoad::Tickets,
        SideLoad::Usage1h,
        SideLoad::Usage24h,
        SideLoad::Usage30d,
        SideLoad::Usage7d,
        SideLoad::Users,
    ];

    /// The name sent in `include=`.
    pub fn as_str(self) -> &'static str {
        match self {
            SideLoad::Abilities => "abilities",
            SideLoad::AppInstallation => "app_installation",
            SideLoad::Categories => "categories",
            SideLoad::CommentCount => "comment_count",
            SideLoad::CommentEvents => "comment_events",
            SideLoad::CustomStatuses => "custom_statuses",
            SideLoad::Dates => "dates",
            SideLoad::Groups => "groups",
            SideLoad::Identities => "identities",
            SideLoad::IncidentCounts => "incident_counts",
            SideLoad::LastAudits => "last_audits",
            SideLoad::MetricEvents => "metric_events",
            SideLoad::MetricSets => "metric_sets",
            SideLoad::OpenTicketCount => "open_ticket_count",
            SideLoad::Organizations => "organizations",
            SideLoad::Permissions => "permissions",
            SideLoad::Roles => "roles",
            SideLoad::SharingAgreements => "sharing_agreements",
            SideLoad::Slas => "slas",
            SideLoad::TicketForms => "ticket_forms",
            SideLoad::Tickets => "tickets",
            SideLoad::Usage1h => "usage_1h",
            SideLoad::Usage24h => "usage_24h",
            SideLoad::Usage30d => "usage_30d",
            SideLoad::Usage7d => "usage_7d",
            SideLoad::Users => "users",
        }
    }

    /// Whether operation `op` (its id) accepts this side-load.
    pub fn accepted_by(self, op: &str) -> bool {
        super::spec::API
            .operation(op)
            .is_some_and(|op| allowed(op).iter().any(|n| n == self.as_str()))
    }
}

impl fmt::Display for SideLoad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An `include=` list, passed to a builder's `.include(..)`.
///
/// ```
/// use specbound::zendesk::sideloads::{Includes, SideLoad};
/// let list = Includes::of([SideLoad::Users, SideLoad::Groups]).for_operation("list_tickets")?;
/// assert_eq!(String::from(list), "users,groups");
/// assert!(Includes::of([SideLoad::Roles]).for_operation("list_tickets").is_err());
/// # Ok::<(), specbound::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Includes(Vec<SideLoad>);

impl Includes {
    /// These side-loads (repeats dropped).
    pub fn of(side_loads: impl IntoIterator<Item = SideLoad>) -> Self {
        let mut list = Vec::new();
        for s in side_loads {
            if !list.contains(&s) {
                list.push(s);
            }
        }
        Includes(list)
    }

    /// The list with `side_load` added.
    pub fn and(self, side_load: SideLoad) -> Self {
        Includes::of(self.0.into_iter().chain([side_load]))
    }

    /// The list, if operation `op` (its id) accepts all of it; else
    /// [`Error::Invalid`] naming the first it does not.
    pub fn for_operation(self, op: &str) -> Result<Self> {
        let operation = super::spec::API.operation(op).ok_or_else(|| {
            Error::invalid("operation", format!("`{op}` is not a Zendesk operation"))
        })?;
        check_names(operation, self.0.iter().map(|s| s.as_str()))?;
        Ok(self)
    }
}

impl From<Includes> for String {
    fn from(list: Includes) -> String {
        let names: Vec<&str> = list.0.iter().map(|s| s.as_str()).collect();
        names.join(",")
    }
}

/// The side-loads `op` accepts, from the spec.
fn allowed(op: &Operation) -> Vec<String> {
    op.extension(INCLUDES)
        .and_then(|v| serde_json::from_str(v).ok())
        .unwrap_or_default()
}

fn check_names<'n>(op: &Operation, names: impl Iterator<Item = &'n str>) -> Result<()> {
    let allowed = allowed(op);
    for name in names {
        if !allowed.iter().any(|a| a == name) {
            let accepted = if allowed.is_empty() {
                "none".to_string()
            } else {
                allowed.join(", ")
            };
            return Err(Error::invalid(
                "include",
                format!(
                    "{} does not side-load `{name}` (it accepts: {accepted})",
                    op.id
                ),
            ));
        }
    }
    Ok(())
}

/// The runtime's check of a request of `op` (Zendesk's `ApiProfile::check`):
/// every name of its `include` query parameter must be one the operation's
/// `x-specbound-includes` lists.
pub(crate) fn check_includes(
    op: &Operation,
    query: &[(String, String)],
    _body: Option<&serde_json::Value>,
) -> Result<()> {
    let names: Vec<&str> = query
        .iter()
        .filter(|(k, _)| k == "include")
        .flat_map(|(_, v)| include_names(v))
        .collect();
    check_names(op, names.into_iter())
}

/// The side-load names of an `include` value: `users,groups`, or search's
/// type-scoped form `tickets(users,groups),users(organizations)`, whose
/// names are those inside the parentheses.
fn include_names(value: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        let comma = rest.find(',').unwrap_or(rest.len());
        let open = rest.find('(').filter(|&o| o < comma);
        let (part, after) = match open {
            Some(o) => {
                let close = rest[o..].find(')').map_or(rest.len(), |c| o + c);
                names.extend(rest[o + 1..close].split(','));
                ("", rest.get(close + 1..).unwrap_or_default())
            }
            None => (&rest[..comma], rest.get(comma..).unwrap_or_default()),
        };
        names.push(part);
        rest = after.strip_prefix(',').unwrap_or(after);
    }
    names
        .into_iter()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect()
}

/// The side-loaded (or listed) records of an answer, found by id without
/// another request. Lookups scan the answer's arrays (a page holds at most
/// a few hundred records).
pub trait SideLoads {
    /// The answer's `users`.
    fn side_loaded_users(&self) -> &[types::User] {
        &[]
    }
    /// The answer's `organizations`.
    fn side_loaded_organizations(&self) -> &[types::Organization] {
        &[]
    }
    /// The answer's `groups`.
    fn side_loaded_groups(&self) -> &[types::Group] {
        &[]
    }
    /// The answer's `brands`.
    fn side_loaded_brands(&self) -> &[types::Brand] {
        &[]
    }
    /// The answer's `ticket_fields`.
    fn side_loaded_ticket_fields(&self) -> &[types::TicketField] {
        &[]
    }

    /// The user `id`, if the answer carries it.
    fn user(&self, id: i64) -> Option<&types::User> {
        self.side_loaded_users().iter().find(|r| r.id == Some(id))
    }
    /// The organization `id`, if the answer carries it.
    fn organization(&self, id: i64) -> Option<&types::Organization> {
        self.side_loaded_organizations()
            .iter()
            .find(|r| r.id == Some(id))
    }
    /// The group `id`, if the answer carries it.
    fn group(&self, id: i64) -> Option<&types::Group> {
        self.side_loaded_groups().iter().find(|r| r.id == Some(id))
    }
    /// The brand `id`, if the answer carries it.
    fn brand(&self, id: i64) -> Option<&types::Brand> {
        self.side_loaded_brands().iter().find(|r| r.id == Some(id))
    }
    /// The ticket field `id`, if the answer carries it.
    fn ticket_field(&self, id: i64) -> Option<&types::TicketField> {
        self.side_loaded_ticket_fields()
            .iter()
            .find(|r| r.id == Some(id))
    }
}

/// `SideLoads` for an answer type, naming its arrays of records (the
/// compiler checks each against the generated type).
macro_rules! side_loads {
    ($($page:ident { $($method:ident => $field:ident),* $(,)? })*) => {$(
        impl SideLoads for types::$page {
            $(fn $method(&self) -> &[side_loads!(@ty $field)] { &self.$field })*
        }
    )*};
    (@ty users) => { types::User };
    (@ty organizations) => { types::Organization };
    (@ty groups) => { types::Group };
    (@ty brands) => { types::Brand };
    (@ty ticket_fields) => { types::TicketField };
}

side_loads! {
    TicketsResponse { side_loaded_users => users, side_loaded_organizations => organizations, side_loaded_groups => groups }
    TicketResponse { side_loaded_users => users, side_loaded_organizations => organizations, side_loaded_groups => groups }
    AuditsResponse { side_loaded_users => users, side_loaded_organizations => organizations, side_loaded_groups => groups }
    CommentsResponse { side_loaded_users => users }
    SearchResponse { side_loaded_users => users, side_loaded_organizations => organizations, side_loaded_groups => groups }
    UsersResponse { side_loaded_users => users, side_loaded_organizations => organizations, side_loaded_groups => groups }
    OrganizationsResponse { side_loaded_organizations => organizations }
    GroupsResponse { side_loaded_groups => groups }
    BrandsResponse { side_loaded_brands => brands }
    TicketFieldsResponse { side_loaded_users => users, side_loaded_ticket_fields => ticket_fields }
    TicketCollaboratorsResponse { side_loaded_users => users }
    GroupMembershipsResponse { side_loaded_users => users, side_loaded_groups => groups }
    OrganizationMembershipsResponse { side_loaded_users => users, side_loaded_organizations => organizations }
    ViewExecutionResponse { side_loaded_users => users, side_loaded_organizations => organizations }
    IncrementalTicketsCursorPage { side_loaded_users => users, side_loaded_organizations => organizations, side_loaded_groups => groups }
    IncrementalTicketsPage { side_loaded_users => users, side_loaded_organizations => organizations, side_loaded_groups => groups }
    IncrementalUsersCursorPage { side_loaded_users => users, side_loaded_organizations => organizations, side_loaded_groups => groups }
    IncrementalUsersPage { side_loaded_users => users, side_loaded_organizations => organizations, side_loaded_groups => groups }
    IncrementalOrganizationsPage { side_loaded_organizations => organizations }
}

#[cfg(test)]
mod tests {
    #[test]
    fn include_values_name_their_side_loads_in_both_forms() {
        assert_eq!(super::include_names("users, groups"), ["users", "groups"]);
        assert_eq!(
            super::include_names("tickets(users,groups),users(organizations)"),
            ["users", "groups", "organizations"]
        );
        assert_eq!(super::include_names("tickets(users"), ["users"]);
        assert!(super::include_names(",,").is_empty());
    }

    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn the_side_load_names_are_exactly_those_of_the_spec() {
        let in_spec: BTreeSet<String> = super::super::spec::API
            .operations
            .iter()
            .flat_map(allowed)
            .collect();
        let ours: BTreeSet<String> = SideLoad::ALL.iter().map(|s| s.to_string()).collect();
        assert_eq!(ours, in_spec);
    }

    #[test]
    fn every_operation_with_an_include_parameter_lists_what_it_accepts() {
        for op in super::super::spec::API.operations {
            let takes = op.parameters.iter().any(|p| p.name == "include");
            assert_eq!(takes, !allowed(op).is_empty(), "{}", op.id);
        }
    }

    #[test]
    fn an_include_list_is_checked_against_the_operation() {
        let list = Includes::of([SideLoad::Users, SideLoad::Groups, SideLoad::Users]);
        assert_eq!(String::from(list.clone()), "users,groups");
        assert!(list.clone().for_operation("list_tickets").is_ok());
        let err = list.for_operation("get_user").unwrap_err();
        assert!(
            err.to_string()
                .contains("get_user does not side-load `users`"),
            "{err}"
        );
        assert!(SideLoad::Identities.accepted_by("get_user"));
        assert!(!SideLoad::Identities.accepted_by("get_ticket"));
    }
}
