//! Checks made before anything is sent, as pymesync makes them, but typed.
//!
//! Formats come from the spec where it has them (the `Slug` and `Username`
//! patterns are the generated types' own checks); the rest are the server's
//! rules (web URIs for `issue_uri`, non-empty names) and pymesync's
//! (`slug` together with `include_deleted` is refused).

use uuid::Uuid;

use super::types;
use crate::{Error, Result};

/// A project or activity slug, checked with the spec's `Slug` pattern.
pub(crate) fn slug(field: &str, value: &str) -> Result<types::Slug> {
    types::Slug::try_from(value).map_err(|_| {
        Error::invalid(
            field,
            format!(
                "`{value}` is not a slug: use lower-case letters and digits in groups joined by single hyphens, \
                 with at least one letter (like `timesync-node`)"
            ),
        )
    })
}

/// A username, checked with the spec's `Username` pattern.
pub(crate) fn username(field: &str, value: &str) -> Result<types::Username> {
    types::Username::try_from(value).map_err(|_| {
        Error::invalid(
            field,
            format!("`{value}` is not a username: use letters, digits, `_`, `~` and `-`"),
        )
    })
}

/// An `http` or `https` URI, as the server's `valid-url.isWebUri` wants.
pub(crate) fn web_uri(field: &str, value: &str) -> Result<()> {
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        _ => Err(Error::invalid(
            field,
            format!("`{value}` is not an http or https URI"),
        )),
    }
}

/// A string that must not be empty.
pub(crate) fn non_empty(field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    Ok(())
}

/// Something that names a time entry: a [`Uuid`], or its text.
pub trait IntoUuid {
    /// The UUID, or [`Error::Invalid`] naming `uuid`.
    fn into_uuid(self) -> Result<Uuid>;
}

impl IntoUuid for Uuid {
    fn into_uuid(self) -> Result<Uuid> {
        Ok(self)
    }
}

impl IntoUuid for &Uuid {
    fn into_uuid(self) -> Result<Uuid> {
        Ok(*self)
    }
}

impl IntoUuid for &str {
    fn into_uuid(self) -> Result<Uuid> {
        // The server wants the hyphenated form; `Uuid::parse_str` also takes
        // braces and URNs, which the server would refuse.
        let hyphenated =
            self.len() == 36 && [8, 13, 18, 23].iter().all(|&i| self.as_bytes()[i] == b'-');
        match Uuid::parse_str(self) {
            Ok(u) if hyphenated => Ok(u),
            _ => Err(Error::invalid(
                "uuid",
                format!("`{self}` is not a UUID like 12345678-1234-4234-8234-123456789abc"),
            )),
        }
    }
}

impl IntoUuid for &String {
    fn into_uuid(self) -> Result<Uuid> {
        self.as_str().into_uuid()
    }
}

impl IntoUuid for String {
    fn into_uuid(self) -> Result<Uuid> {
        self.as_str().into_uuid()
    }
}

/// Checks a new time entry: slugs, user, URI and activities.
pub(crate) fn time_create(t: &types::TimeCreate) -> Result<()> {
    slug("project", &t.project)?;
    username("user", &t.user)?;
    activities(&t.activities)?;
    if let Some(uri) = &t.issue_uri {
        web_uri("issue_uri", uri)?;
    }
    Ok(())
}

/// Checks a time entry update: each field that is set.
pub(crate) fn time_update(t: &types::TimeUpdate) -> Result<()> {
    if let Some(p) = &t.project {
        slug("project", p)?;
    }
    if let Some(u) = &t.user {
        username("user", u)?;
    }
    activities(&t.activities)?;
    if let Some(uri) = &t.issue_uri {
        web_uri("issue_uri", uri)?;
    }
    Ok(())
}

fn activities(list: &[String]) -> Result<()> {
    for a in list {
        slug("activities", a)?;
    }
    Ok(())
}

/// Checks a new project: name, slugs, URI, default activity, user names.
pub(crate) fn project_create(p: &types::ProjectCreate) -> Result<()> {
    non_empty("name", &p.name)?;
    if p.slugs.is_empty() {
        return Err(Error::invalid("slugs", "a project needs at least one slug"));
    }
    project_common(
        &p.slugs,
        p.uri.as_deref(),
        p.default_activity.as_deref(),
        p.users.keys(),
    )
}

/// Checks a project update: each field that is set.
pub(crate) fn project_update(p: &types::ProjectUpdate) -> Result<()> {
    if let Some(name) = &p.name {
        non_empty("name", name)?;
    }
    project_common(
        &p.slugs,
        p.uri.as_deref(),
        p.default_activity.as_value().map(String::as_str),
        p.users.iter().flat_map(|u| u.keys()),
    )
}

fn project_common<'a>(
    slugs: &[String],
    uri: Option<&str>,
    default_activity: Option<&str>,
    users: impl Iterator<Item = &'a String>,
) -> Result<()> {
    for s in slugs {
        slug("slugs", s)?;
    }
    if let Some(uri) = uri {
        web_uri("uri", uri)?;
    }
    if let Some(a) = default_activity {
        slug("default_activity", a)?;
    }
    for u in users {
        username("users", u)?;
    }
    Ok(())
}

/// Checks a new activity.
pub(crate) fn activity_create(a: &types::ActivityCreate) -> Result<()> {
    non_empty("name", &a.name)?;
    slug("slug", &a.slug).map(drop)
}

/// Checks an activity update.
pub(crate) fn activity_update(a: &types::ActivityUpdate) -> Result<()> {
    if let Some(name) = &a.name {
        non_empty("name", name)?;
    }
    if let Some(s) = &a.slug {
        slug("slug", s)?;
    }
    Ok(())
}

/// Checks a new user.
pub(crate) fn user_create(u: &types::UserCreate) -> Result<()> {
    username("username", &u.username)?;
    non_empty("password", u.password.expose())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_the_servers_rule() {
        for ok in [
            "gwm",
            "a",
            "timesync-node",
            "a1b2-c3",
            "1a2b",
            "2016-planning",
        ] {
            assert!(slug("project", ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "a--b", "123", "Gwm", "g_w", "g w", "1-2"] {
            let e = slug("project", bad).unwrap_err();
            assert!(e.to_string().starts_with("invalid project: "), "{e}");
        }
    }

    #[test]
    fn uuids_and_uris() {
        assert!("12345678-1234-4234-8234-123456789abc".into_uuid().is_ok());
        for bad in [
            "",
            "not-a-uuid",
            "{12345678-1234-4234-8234-123456789abc}",
            "123456781234423482341234567890ab",
        ] {
            assert!(
                matches!(bad.into_uuid(), Err(Error::Invalid { ref field, .. }) if field == "uuid"),
                "{bad}"
            );
        }
        assert!(web_uri("issue_uri", "https://github.com/osuosl/gwm/issues/1").is_ok());
        for bad in ["github.com/x", "ftp://x.org/y", "not a uri"] {
            assert!(web_uri("issue_uri", bad).is_err(), "{bad}");
        }
    }
}
