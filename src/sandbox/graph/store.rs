//! The sandbox's state: the users with their mailboxes, calendars, contacts
//! and drives, the sites, the tokens, subscriptions, upload sessions and copy
//! monitors. Entities are kept as the JSON Graph shows them, in [`Table`]s
//! that number every change and remember what left them (for delta queries).

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::assertion::AppCertificate;
use super::errors::{GraphErr, not_found};
use super::notify::Outgoing;
use super::times::fmt_utc;
use crate::runtime::Secret;

/// The application's registration and the server's settings.
pub(super) struct Config {
    /// The registered client id and secret (`None`: any client is accepted).
    pub(super) client: Option<(String, Secret)>,
    /// Certificates registered with applications, for client assertions.
    pub(super) certificates: Vec<AppCertificate>,
    /// Registered redirect URIs (empty: any http or https URI).
    pub(super) redirect_uris: Vec<String>,
    /// The directory's tenant id.
    pub(super) tenant_id: String,
    /// Items per page when neither `$top` nor `Prefer: odata.maxpagesize` says.
    pub(super) page_size: usize,
    pub(super) access_token_ttl: Duration,
    pub(super) rotate_refresh_tokens: bool,
    pub(super) upload_session_ttl: Duration,
    /// How many polls of a copy monitor answer `inProgress` before `completed`.
    pub(super) copy_polls: u32,
    /// How long a subscriber has to echo the validation token.
    pub(super) validation_timeout: Duration,
}

#[cfg(test)]
impl Config {
    /// Settings for unit tests.
    pub(super) fn for_tests() -> Config {
        Config {
            client: None,
            certificates: Vec::new(),
            redirect_uris: Vec::new(),
            tenant_id: "tenant".into(),
            page_size: 10,
            access_token_ttl: Duration::from_secs(3600),
            rotate_refresh_tokens: true,
            upload_session_ttl: Duration::from_secs(3600),
            copy_polls: 1,
            validation_timeout: Duration::from_secs(10),
        }
    }
}

/// One entity: the JSON Graph shows, whose it is and where it lies.
#[derive(Debug, Clone)]
pub(super) struct Row {
    /// The user id (mail, calendars, contacts), drive id (drive items), site id.
    pub(super) owner: String,
    /// The folder, calendar, parent item or list it lies in ("" for none).
    pub(super) parent: String,
    /// What Graph shows.
    pub(super) json: Map<String, Value>,
    /// The table's change number of its last change.
    pub(super) seq: u64,
}

impl Row {
    /// Its `id`.
    pub(super) fn id(&self) -> &str {
        self.json.get("id").and_then(Value::as_str).unwrap_or("")
    }

    /// A string property.
    pub(super) fn text(&self, key: &str) -> &str {
        self.json.get(key).and_then(Value::as_str).unwrap_or("")
    }

    /// Its JSON as Graph shows it (without the sandbox's own `_` keys).
    pub(super) fn value(&self) -> Value {
        Value::Object(
            self.json
                .iter()
                .filter(|(k, _)| !k.starts_with('_'))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }
}

/// An entity that left a scope: deleted, or moved elsewhere.
#[derive(Debug, Clone)]
pub(super) struct Gone {
    pub(super) owner: String,
    pub(super) parent: String,
    pub(super) id: String,
    pub(super) seq: u64,
    /// `deleted` or `changed` (moved out), as delta's `@removed` says.
    pub(super) reason: &'static str,
}

/// Entities of one kind, with a change counter.
#[derive(Debug, Default)]
pub(super) struct Table {
    pub(super) rows: Vec<Row>,
    pub(super) gone: Vec<Gone>,
    seq: u64,
}

impl Table {
    /// The number of the last change.
    pub(super) fn seq(&self) -> u64 {
        self.seq
    }

    fn bump(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// The entity `id` of `owner`.
    pub(super) fn get(&self, owner: &str, id: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.owner == owner && r.id() == id)
    }

    /// The entity `id` of `owner`, or Graph's 404.
    pub(super) fn find(&self, owner: &str, id: &str) -> Result<&Row, GraphErr> {
        self.get(owner, id).ok_or_else(|| not_found(id))
    }

    /// The entities of `owner` in `parent`.
    pub(super) fn within<'a>(
        &'a self,
        owner: &str,
        parent: &str,
    ) -> impl Iterator<Item = &'a Row> + 'a {
        let (owner, parent) = (owner.to_string(), parent.to_string());
        self.rows
            .iter()
            .filter(move |r| r.owner == owner && r.parent == parent)
    }

    /// The entities of `owner`.
    pub(super) fn of<'a>(&'a self, owner: &str) -> impl Iterator<Item = &'a Row> + 'a {
        let owner = owner.to_string();
        self.rows.iter().filter(move |r| r.owner == owner)
    }

    /// Adds an entity (its `json` holds its `id`), stamped as changed now.
    pub(super) fn insert(&mut self, owner: &str, parent: &str, json: Map<String, Value>) -> Value {
        let seq = self.bump();
        let mut row = Row {
            owner: owner.to_string(),
            parent: parent.to_string(),
            json,
            seq,
        };
        stamp(&mut row, false);
        let value = row.value();
        self.rows.push(row);
        value
    }

    /// Changes entity `id` of `owner` with `change`, stamped as changed now
    /// (a new parent leaves a `changed` mark in the old one); its JSON after.
    pub(super) fn update(
        &mut self,
        owner: &str,
        id: &str,
        change: impl FnOnce(&mut Row),
    ) -> Result<Value, GraphErr> {
        let seq = self.bump();
        let row = self
            .rows
            .iter_mut()
            .find(|r| r.owner == owner && r.id() == id)
            .ok_or_else(|| not_found(id))?;
        let before = row.parent.clone();
        change(row);
        row.seq = seq;
        stamp(row, true);
        let (value, after) = (row.value(), row.parent.clone());
        if before != after {
            self.gone.push(Gone {
                owner: owner.to_string(),
                parent: before,
                id: id.to_string(),
                seq,
                reason: "changed",
            });
        }
        Ok(value)
    }

    /// Removes entity `id` of `owner`, leaving a `deleted` mark.
    pub(super) fn remove(&mut self, owner: &str, id: &str) -> Result<Row, GraphErr> {
        let i = self
            .rows
            .iter()
            .position(|r| r.owner == owner && r.id() == id)
            .ok_or_else(|| not_found(id))?;
        let seq = self.bump();
        let row = self.rows.remove(i);
        self.gone.push(Gone {
            owner: owner.to_string(),
            parent: row.parent.clone(),
            id: id.to_string(),
            seq,
            reason: "deleted",
        });
        Ok(row)
    }
}

/// Sets the change marks an entity shows: `lastModifiedDateTime`,
/// `changeKey` and `@odata.etag` (Outlook), `eTag` and `cTag` (drives), each
/// only where the entity has it.
fn stamp(row: &mut Row, modified: bool) {
    let key = change_key(row.seq);
    let json = &mut row.json;
    if modified && json.contains_key("lastModifiedDateTime") {
        json.insert("lastModifiedDateTime".into(), json!(fmt_utc(Utc::now())));
    }
    if json.contains_key("changeKey") {
        json.insert("changeKey".into(), json!(key));
        json.insert("@odata.etag".into(), json!(format!("W/\"{key}\"")));
    }
    if json.contains_key("eTag") {
        let id = json
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        json.insert("eTag".into(), json!(format!("\"{{{id}}},{}\"", row.seq)));
        json.insert("cTag".into(), json!(format!("\"c:{{{id}}},{}\"", row.seq)));
    }
}

/// A change key for change number `seq`.
fn change_key(seq: u64) -> String {
    use base64::Engine as _;
    let raw = format!("CQAAABYAAA{seq:012}");
    base64::engine::general_purpose::STANDARD.encode(raw.as_bytes())
}

/// A seeded user.
#[derive(Debug, Clone)]
pub(super) struct UserRow {
    pub(super) id: String,
    pub(super) principal: String,
    pub(super) name: String,
    /// The id of their OneDrive.
    pub(super) drive_id: String,
}

impl UserRow {
    /// The user as Graph shows them.
    pub(super) fn to_json(&self) -> Value {
        let (given, surname) = self.name.split_once(' ').unwrap_or((&self.name, ""));
        json!({
            "id": self.id,
            "displayName": self.name,
            "givenName": given,
            "surname": surname,
            "mail": self.principal,
            "userPrincipalName": self.principal,
            "businessPhones": [],
            "jobTitle": null,
            "mobilePhone": null,
            "officeLocation": null,
            "preferredLanguage": "en-US",
        })
    }

    /// Their email address as Graph writes one (`emailAddress`).
    pub(super) fn address(&self) -> Value {
        json!({"name": self.name, "address": self.principal})
    }
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Caller {
    /// A signed-in user (delegated token), by id.
    User(String),
    /// The application itself (client credentials).
    App,
}

/// An issued access token.
#[derive(Debug, Clone)]
pub(super) struct AccessRow {
    pub(super) caller: Caller,
    pub(super) expires_at: DateTime<Utc>,
}

/// An issued refresh token.
#[derive(Debug, Clone)]
pub(super) struct RefreshRow {
    pub(super) user_id: String,
    pub(super) client_id: String,
    pub(super) scope: String,
}

/// An authorization code waiting to be redeemed.
#[derive(Debug, Clone)]
pub(super) struct CodeRow {
    pub(super) user_id: String,
    pub(super) redirect_uri: String,
    /// The PKCE challenge (S256) the authorize step got, if any.
    pub(super) challenge: Option<String>,
    pub(super) expires_at: DateTime<Utc>,
}

/// A device code sign-in in progress.
#[derive(Debug, Clone)]
pub(super) struct DeviceRow {
    pub(super) user_code: String,
    pub(super) client_id: String,
    pub(super) scope: String,
    pub(super) expires_at: DateTime<Utc>,
    /// The user who entered the code, once one did.
    pub(super) approved_by: Option<String>,
}

/// Where the bytes of an upload session go.
#[derive(Debug, Clone)]
pub(super) enum UploadTarget {
    /// A file of a drive: (drive id, parent item id, name, conflict behavior).
    File {
        drive: String,
        parent: String,
        name: String,
        conflict: String,
        defer_commit: bool,
    },
    /// An attachment of a message: (user id, message id, name, content type).
    Attachment {
        user: String,
        message: String,
        name: String,
        content_type: String,
    },
}

/// An upload session.
#[derive(Debug, Clone)]
pub(super) struct UploadRow {
    pub(super) target: UploadTarget,
    /// The file's size, once a fragment said it (or the request did).
    pub(super) total: Option<u64>,
    pub(super) received: Vec<u8>,
    pub(super) expires_at: DateTime<Utc>,
    /// Every byte has arrived (a deferred commit waits for its POST).
    pub(super) complete: bool,
}

/// A copy in progress, watched through its monitor URL.
#[derive(Debug, Clone)]
pub(super) struct MonitorRow {
    pub(super) polls_left: u32,
    /// What to copy: (drive id, item id) into (drive id, parent id) as `name`.
    pub(super) source: (String, String),
    pub(super) target: (String, String),
    pub(super) name: Option<String>,
    /// The copy's id once done.
    pub(super) resource_id: Option<String>,
    pub(super) failed: Option<String>,
}

/// Everything the sandbox knows.
#[derive(Default)]
pub(super) struct Store {
    pub(super) users: Vec<UserRow>,
    pub(super) mail_folders: Table,
    pub(super) messages: Table,
    pub(super) attachments: Table,
    pub(super) overrides: Table,
    /// Mailbox settings by user id.
    pub(super) settings: HashMap<String, Value>,
    pub(super) calendar_groups: Table,
    pub(super) calendars: Table,
    pub(super) events: Table,
    pub(super) contact_folders: Table,
    pub(super) contacts: Table,
    /// Drives: owner is the user or site id.
    pub(super) drives: Table,
    /// Drive items: owner is the drive id, parent the folder's id.
    pub(super) items: Table,
    /// File contents by item id.
    pub(super) contents: HashMap<String, Bytes>,
    /// Earlier versions by item id: (version JSON, content).
    pub(super) versions: HashMap<String, Vec<(Value, Bytes)>>,
    /// Sharing permissions: owner is the drive id, parent the item id.
    pub(super) permissions: Table,
    pub(super) sites: Table,
    pub(super) lists: Table,
    pub(super) list_items: Table,
    pub(super) subscriptions: Table,
    pub(super) access_tokens: HashMap<String, AccessRow>,
    pub(super) refresh_tokens: HashMap<String, RefreshRow>,
    pub(super) codes: HashMap<String, CodeRow>,
    /// Device codes by device code.
    pub(super) devices: HashMap<String, DeviceRow>,
    pub(super) uploads: HashMap<String, UploadRow>,
    pub(super) monitors: HashMap<String, MonitorRow>,
    /// The user signed in at the authorization page (the first seeded one).
    pub(super) signed_in: Option<String>,
    /// Notifications to send once the current request is answered.
    pub(super) outbox: Vec<Outgoing>,
}

impl Store {
    /// The user whose id or principal name is `key` (case-insensitive).
    pub(super) fn user(&self, key: &str) -> Option<&UserRow> {
        self.users
            .iter()
            .find(|u| u.id == key || u.principal.eq_ignore_ascii_case(key))
    }

    /// The user of id `id`, or Graph's 404.
    pub(super) fn user_by_id(&self, id: &str) -> Result<&UserRow, GraphErr> {
        self.user(id).ok_or_else(|| not_found(id))
    }

    /// The id of `user`'s well-known mail folder `name` (`inbox`, ...).
    pub(super) fn well_known_folder(&self, user: &str, name: &str) -> Option<String> {
        let name = name.to_ascii_lowercase();
        self.mail_folders
            .of(user)
            .find(|r| r.text("_wellKnownName") == name)
            .map(|r| r.id().to_string())
    }

    /// The id of `user`'s default calendar.
    pub(super) fn default_calendar(&self, user: &str) -> Option<String> {
        self.calendars
            .of(user)
            .find(|r| r.json.get("isDefaultCalendar") == Some(&Value::Bool(true)))
            .map(|r| r.id().to_string())
    }

    /// The id of `user`'s default contact folder.
    pub(super) fn default_contact_folder(&self, user: &str) -> Option<String> {
        self.contact_folders
            .of(user)
            .find(|r| r.text("_wellKnownName") == "contacts")
            .map(|r| r.id().to_string())
    }
}

/// An Outlook-style id: `AAMkAG` and 40 base64url characters, then `=`.
pub(super) fn outlook_id() -> String {
    format!("AAMkAG{}=", random_text(40, URL_SAFE))
}

/// A drive item id: `01` and 32 upper-case letters and digits.
pub(super) fn item_id() -> String {
    format!("01{}", random_text(32, UPPER))
}

/// A GUID.
pub(super) fn guid() -> String {
    let hex = random_text(32, HEX);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// `n` random characters of `alphabet`.
pub(super) fn random_text(n: usize, alphabet: &[u8]) -> String {
    (0..n)
        .map(|_| char::from(alphabet[fastrand::usize(..alphabet.len())]))
        .collect()
}

/// Letters, digits, `-` and `_`.
pub(super) const URL_SAFE: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const HEX: &[u8] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_number_changes_and_remember_what_left() {
        let mut t = Table::default();
        let mut json = Map::new();
        json.insert("id".into(), json!("m1"));
        json.insert("changeKey".into(), json!(""));
        let first = t.insert("u", "inbox", json);
        assert_eq!(t.seq(), 1);
        assert!(first["@odata.etag"].as_str().unwrap().starts_with("W/\""));
        let moved = t
            .update("u", "m1", |r| r.parent = "archive".into())
            .unwrap();
        assert_ne!(moved["changeKey"], first["changeKey"]);
        assert_eq!(t.gone.len(), 1);
        assert_eq!(
            (t.gone[0].parent.as_str(), t.gone[0].reason),
            ("inbox", "changed")
        );
        t.remove("u", "m1").unwrap();
        assert_eq!(t.gone[1].reason, "deleted");
        assert_eq!(t.seq(), 3);
        assert!(t.find("u", "m1").is_err());
        assert!(t.update("u", "m1", |_| {}).is_err());
        assert_eq!(guid().len(), 36);
        assert!(outlook_id().ends_with('='));
    }
}
