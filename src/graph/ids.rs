//! Typed values of the spec's multi-segment path parameters (`mailbox`,
//! `calendar_owner`, `calendar`, `owner`, `drive`, `item`): each id is percent-encoded
//! and refused when it is `.` or `..`, so no value can reach another
//! resource. The spec's patterns check the same again before sending.

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::{Error, Result};

/// Characters an id keeps as they are (the spec patterns' character class).
const KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b'@');

/// `id` as one path segment, or an error naming `what` for an empty id or a
/// dot segment.
fn segment(what: &str, id: &str) -> Result<String> {
    if id.is_empty() || id == "." || id == ".." {
        return Err(Error::invalid(what, format!("`{id}` is not an id")));
    }
    Ok(utf8_percent_encode(id, KEEP).to_string())
}

macro_rules! path_value {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// The value as the path holds it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl From<&$name> for String {
            fn from(v: &$name) -> String {
                v.0.clone()
            }
        }
    };
}

path_value!(
    /// Whose mailbox, contacts or profile: the signed-in user or another
    /// user (also a shared mailbox). The `mailbox` path parameter.
    Mailbox
);
path_value!(
    /// Whose calendar: a user, or a Microsoft 365 group. The
    /// `calendar_owner` path parameter.
    CalendarOwner
);
path_value!(
    /// A calendar: the default calendar of a user or group, or one of a
    /// user's calendars by id. The `calendar` path parameter.
    Calendar
);
path_value!(
    /// Whose drives: a user, group or site. The `owner` path parameter.
    Owner
);
path_value!(
    /// A drive: the signed-in user's, one by id, or the default drive of a
    /// user, group or site. The `drive` path parameter.
    Drive
);
path_value!(
    /// A drive item: the root, one by id, one by its path, or a special
    /// folder. The `item` path parameter.
    Item
);

impl Mailbox {
    /// The signed-in user (`me`).
    pub fn me() -> Self {
        Mailbox("me".into())
    }

    /// A user or shared mailbox by id or user principal name.
    pub fn user(id: &str) -> Result<Self> {
        Ok(Mailbox(format!("users/{}", segment("user", id)?)))
    }
}

impl CalendarOwner {
    /// The signed-in user (`me`).
    pub fn me() -> Self {
        CalendarOwner("me".into())
    }

    /// A user by id or user principal name.
    pub fn user(id: &str) -> Result<Self> {
        Ok(CalendarOwner(format!("users/{}", segment("user", id)?)))
    }

    /// A Microsoft 365 group by id.
    pub fn group(id: &str) -> Result<Self> {
        Ok(CalendarOwner(format!("groups/{}", segment("group", id)?)))
    }
}

impl From<Mailbox> for CalendarOwner {
    fn from(m: Mailbox) -> Self {
        CalendarOwner(m.0)
    }
}

impl Calendar {
    /// The default calendar of a user or group (`me/calendar`,
    /// `users/{id}/calendar`, `groups/{id}/calendar`); a [`Mailbox`] does too.
    pub fn default_of(owner: impl Into<CalendarOwner>) -> Self {
        Calendar(format!("{}/calendar", owner.into().0))
    }

    /// One of a user's calendars by id (`me/calendars/{id}`,
    /// `users/{user}/calendars/{id}`).
    pub fn by_id(mailbox: Mailbox, id: &str) -> Result<Self> {
        Ok(Calendar(format!(
            "{}/calendars/{}",
            mailbox.0,
            segment("calendar", id)?
        )))
    }

    /// One of a user's calendars by id, written below its calendar group
    /// (`me/calendarGroups/{group}/calendars/{id}`).
    pub fn in_group(mailbox: Mailbox, group_id: &str, id: &str) -> Result<Self> {
        Ok(Calendar(format!(
            "{}/calendarGroups/{}/calendars/{}",
            mailbox.0,
            segment("calendar group", group_id)?,
            segment("calendar", id)?
        )))
    }
}

impl Owner {
    /// The signed-in user (`me`).
    pub fn me() -> Self {
        Owner("me".into())
    }

    /// A user by id or user principal name.
    pub fn user(id: &str) -> Result<Self> {
        Ok(Owner(format!("users/{}", segment("user", id)?)))
    }

    /// A Microsoft 365 group by id.
    pub fn group(id: &str) -> Result<Self> {
        Ok(Owner(format!("groups/{}", segment("group", id)?)))
    }

    /// A SharePoint site by id (`{hostname},{site-collection-id},{web-id}`).
    pub fn site(id: &str) -> Result<Self> {
        Ok(Owner(format!("sites/{}", segment("site", id)?)))
    }
}

impl Drive {
    /// The signed-in user's OneDrive (`me/drive`).
    pub fn me() -> Self {
        Drive("me/drive".into())
    }

    /// A drive by id.
    pub fn id(id: &str) -> Result<Self> {
        Ok(Drive(format!("drives/{}", segment("drive", id)?)))
    }

    /// The default drive of a user, group or site.
    pub fn of(owner: &Owner) -> Result<Self> {
        if owner.0 == "me" {
            return Ok(Drive::me());
        }
        Ok(Drive(format!("{}/drive", owner.0)))
    }
}

impl Item {
    /// The drive's root folder.
    pub fn root() -> Self {
        Item("root".into())
    }

    /// An item by id.
    pub fn id(id: &str) -> Result<Self> {
        Ok(Item(format!("items/{}", segment("item", id)?)))
    }

    /// An item by its path below the root (`Documents/report.docx`), each
    /// segment encoded.
    pub fn path(path: &str) -> Result<Self> {
        Ok(Item(format!("root:{}:", encoded_path(path)?)))
    }

    /// An item by its path below the folder `parent` (a new file's name
    /// for an upload into that folder).
    pub fn child(parent_id: &str, path: &str) -> Result<Self> {
        Ok(Item(format!(
            "items/{}:{}:",
            segment("item", parent_id)?,
            encoded_path(path)?
        )))
    }

    /// A special folder: `documents`, `photos`, `cameraroll`, `approot`,
    /// `music` or `recordings`.
    pub fn special(name: &str) -> Result<Self> {
        const NAMES: &[&str] = &[
            "documents",
            "photos",
            "cameraroll",
            "approot",
            "music",
            "recordings",
        ];
        if !NAMES.contains(&name) {
            return Err(Error::invalid(
                "special folder",
                format!("`{name}` is not one of {}", NAMES.join(", ")),
            ));
        }
        Ok(Item(format!("special/{name}")))
    }

    /// An item by its path below this folder: the root, an item by id, or
    /// an item by path (`root:/Docs:` joined with `a.txt` is
    /// `root:/Docs/a.txt:`). A special folder takes no path.
    pub fn join(&self, path: &str) -> Result<Self> {
        if self.0.starts_with("special/") {
            return Err(Error::invalid(
                "item",
                "a path can only be joined to the root, an item by id or an item by path",
            ));
        }
        match self.0.strip_suffix(':') {
            Some(folder) => Ok(Item(format!("{folder}{}:", encoded_path(path)?))),
            None => Ok(Item(format!("{}:{}:", self.0, encoded_path(path)?))),
        }
    }
}

/// `/a/b c` for the path `a/b c`, each segment encoded; empty segments
/// (leading, trailing or doubled slashes) are dropped.
fn encoded_path(path: &str) -> Result<String> {
    let mut out = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        out.push('/');
        out.push_str(&segment("path", part)?);
    }
    if out.is_empty() {
        return Err(Error::invalid(
            "path",
            "an item path needs at least one name",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_encoded_and_dot_segments_refused() {
        assert_eq!(
            Mailbox::user("adele@contoso.com").unwrap().as_str(),
            "users/adele@contoso.com"
        );
        assert_eq!(
            Mailbox::user("a/b?c#d").unwrap().as_str(),
            "users/a%2Fb%3Fc%23d"
        );
        assert!(Mailbox::user("..").is_err());
        assert!(Mailbox::user("").is_err());
        assert_eq!(
            Drive::of(&Owner::site("h,1,2").unwrap()).unwrap().as_str(),
            "sites/h,1,2/drive"
        );
        assert_eq!(Drive::of(&Owner::me()).unwrap().as_str(), "me/drive");
        assert_eq!(
            Item::path("/Docs/a b.txt").unwrap().as_str(),
            "root:/Docs/a%20b.txt:"
        );
        assert_eq!(
            Item::child("X1", "new:file").unwrap().as_str(),
            "items/X1:/new%3Afile:"
        );
        assert!(Item::path("a/../b").is_err());
        assert!(Item::path("//").is_err());
        assert!(Item::special("secrets").is_err());
        assert_eq!(Item::root().join("x").unwrap().as_str(), "root:/x:");
        assert_eq!(
            Item::path("Docs").unwrap().join("a b").unwrap().as_str(),
            "root:/Docs/a%20b:"
        );
        assert_eq!(
            Item::id("X1").unwrap().join("a").unwrap().as_str(),
            "items/X1:/a:"
        );
        assert!(Item::special("approot").unwrap().join("a").is_err());
    }

    #[test]
    fn calendars_are_written_as_the_calendar_parameter_admits() {
        use crate::graph::spec::API;
        use crate::runtime::spec::Location;
        let pattern = API
            .operation("list_calendar_events")
            .and_then(|op| op.parameter(Location::Path, "calendar"))
            .and_then(|p| p.segments_pattern)
            .unwrap();
        let calendars = [
            (Calendar::default_of(CalendarOwner::me()), "me/calendar"),
            (Calendar::default_of(Mailbox::me()), "me/calendar"),
            (
                Calendar::default_of(Mailbox::user("adele@contoso.com").unwrap()),
                "users/adele@contoso.com/calendar",
            ),
            (
                Calendar::default_of(CalendarOwner::group("g1").unwrap()),
                "groups/g1/calendar",
            ),
            (
                Calendar::by_id(Mailbox::me(), "AAMk/x=").unwrap(),
                "me/calendars/AAMk%2Fx=",
            ),
            (
                Calendar::by_id(Mailbox::user("u1").unwrap(), "c1").unwrap(),
                "users/u1/calendars/c1",
            ),
            (
                Calendar::in_group(Mailbox::me(), "g1", "c1").unwrap(),
                "me/calendarGroups/g1/calendars/c1",
            ),
        ];
        for (calendar, written) in calendars {
            assert_eq!(calendar.as_str(), written);
            assert!(
                crate::runtime::validate::matches(pattern, written),
                "{written}"
            );
        }
        assert!(Calendar::by_id(Mailbox::me(), "..").is_err());
        assert!(Calendar::in_group(Mailbox::me(), ".", "c1").is_err());
        for refused in [
            "me",
            "me/calendars",
            "groups/g1/calendars/c1",
            "me/calendars/..",
            "me/calendars/%2e",
            "me/calendar/events",
            "users/../calendar",
        ] {
            assert!(
                !crate::runtime::validate::matches(pattern, refused),
                "{refused}"
            );
        }
    }
}
