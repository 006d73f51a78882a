//! Scopes, and pyo365's short scope names (`basic`, `message_all`, ...).

/// pyo365's scope helpers (`O365.connection.MSGraphProtocol._oauth_scopes`,
/// O365 2.1): each short name and the Graph permissions it stands for.
pub const HELPERS: &[(&str, &[&str])] = &[
    ("basic", &["User.Read"]),
    ("mailbox", &["Mail.Read"]),
    ("mailbox_shared", &["Mail.Read.Shared"]),
    ("mailbox_settings", &["MailboxSettings.ReadWrite"]),
    ("message_send", &["Mail.Send"]),
    ("message_send_shared", &["Mail.Send.Shared"]),
    ("message_all", &["Mail.ReadWrite", "Mail.Send"]),
    (
        "message_all_shared",
        &["Mail.ReadWrite.Shared", "Mail.Send.Shared"],
    ),
    ("address_book", &["Contacts.Read"]),
    ("address_book_shared", &["Contacts.Read.Shared"]),
    ("address_book_all", &["Contacts.ReadWrite"]),
    ("address_book_all_shared", &["Contacts.ReadWrite.Shared"]),
    ("calendar", &["Calendars.Read"]),
    ("calendar_shared", &["Calendars.Read.Shared"]),
    ("calendar_all", &["Calendars.ReadWrite"]),
    ("calendar_shared_all", &["Calendars.ReadWrite.Shared"]),
    ("users", &["User.ReadBasic.All"]),
    ("onedrive", &["Files.Read.All"]),
    ("onedrive_all", &["Files.ReadWrite.All"]),
    ("sharepoint", &["Sites.Read.All"]),
    ("sharepoint_dl", &["Sites.ReadWrite.All"]),
    ("settings_all", &["MailboxSettings.ReadWrite"]),
    ("tasks", &["Tasks.Read"]),
    ("tasks_all", &["Tasks.ReadWrite"]),
    ("presence", &["Presence.Read"]),
];

/// A set of delegated permissions to ask for, without duplicates, in the
/// order given. Prefixed with the cloud's Graph host when sent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Scopes(Vec<String>);

impl Scopes {
    /// Exactly these scopes (`Mail.Read`, `offline_access`, full URIs).
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(scopes: I) -> Self {
        let mut out = Scopes::default();
        for s in scopes {
            out.push(s.into());
        }
        out
    }

    /// pyo365's short names expanded (see [`HELPERS`]), plus
    /// `offline_access` so that the sign-in yields a refresh token. A name
    /// that is not a helper is taken as a permission itself (`Tasks.Read`).
    pub fn helper<I: IntoIterator<Item = S>, S: AsRef<str>>(names: I) -> Self {
        let mut out = Scopes::default();
        for name in names {
            let name = name.as_ref();
            match HELPERS.iter().find(|(short, _)| *short == name) {
                Some((_, scopes)) => scopes.iter().for_each(|s| out.push(s.to_string())),
                None => out.push(name.to_string()),
            }
        }
        out.push("offline_access".into());
        out
    }

    fn push(&mut self, scope: String) {
        if !self.0.contains(&scope) {
            self.0.push(scope);
        }
    }

    /// The scopes, in order.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// Whether a refresh token will be asked for (`offline_access`).
    pub fn offline(&self) -> bool {
        self.0.iter().any(|s| s == "offline_access")
    }

    /// Space-separated, each prefixed for `cloud`.
    pub fn for_cloud(&self, cloud: &super::Cloud) -> String {
        self.0
            .iter()
            .map(|s| cloud.scope(s))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Cloud;

    #[test]
    fn helpers_expand_as_pyo365_does_and_add_offline_access() {
        let s = Scopes::helper([
            "basic",
            "message_all",
            "onedrive_all",
            "Tasks.Read",
            "basic",
        ]);
        assert_eq!(
            s.as_slice(),
            [
                "User.Read",
                "Mail.ReadWrite",
                "Mail.Send",
                "Files.ReadWrite.All",
                "Tasks.Read",
                "offline_access"
            ]
        );
        assert!(s.offline());
        assert_eq!(
            Scopes::new(["Mail.Read", "offline_access"]).for_cloud(&Cloud::China),
            "https://microsoftgraph.chinacloudapi.cn/Mail.Read offline_access"
        );
    }
}
