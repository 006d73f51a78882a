//! The sandbox's state: the registered application, accounts with their
//! profiles and calendars, events, tokens, and everything the other areas
//! keep; plus who is calling and what their scope grants.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::bookable::BookableEventRow;
use super::errors::{ApiErr, invalid, oauth_error, unprocessable};
use super::notify::Outgoing;
use super::scheduling::RtsRow;
use super::smart_invites::SmartInviteRow;
use super::times::{When, alnum_id, from_now};
use super::{config, unknown};
use crate::Result;
use crate::cronofy::types;
use crate::runtime::Secret;
use crate::sandbox::engine::PageTokens;

/// How long an authorization code can be exchanged (*unverified*).
const CODE_TTL: Duration = Duration::from_secs(10 * 60);

/// The application and the server's settings.
pub(super) struct Config {
    pub(super) client_id: String,
    pub(super) client_secret: Secret,
    pub(super) redirect_uris: Vec<String>,
    pub(super) access_token_ttl: Duration,
    pub(super) rotate_refresh_tokens: bool,
    pub(super) page_size: usize,
}

#[cfg(test)]
impl Config {
    /// Settings for unit tests: client `id`/`secret`, no redirect URIs,
    /// one-minute access tokens, rotated refresh tokens, pages of 25.
    pub(super) fn for_tests() -> Config {
        Config {
            client_id: "id".into(),
            client_secret: Secret::new("secret"),
            redirect_uris: Vec::new(),
            access_token_ttl: Duration::from_secs(60),
            rotate_refresh_tokens: true,
            page_size: 25,
        }
    }
}

/// What a handler needs besides the state.
pub(super) struct Ctx<'a> {
    pub(super) config: &'a Config,
    /// `http://127.0.0.1:<port>`.
    pub(super) root: &'a str,
    /// The page tokens of every list answered, as (page set, page index).
    pub(super) pages: &'a PageTokens<(u64, usize)>,
}

/// Everything the sandbox knows.
#[derive(Default)]
pub(super) struct Store {
    pub(super) accounts: Vec<AccountRow>,
    pub(super) profiles: Vec<ProfileRow>,
    pub(super) calendars: Vec<CalendarRow>,
    pub(super) events: Vec<EventRow>,
    pub(super) codes: HashMap<String, CodeRow>,
    /// Authorizations by id.
    pub(super) authorizations: HashMap<u64, AuthorizationRow>,
    pub(super) access_tokens: HashMap<String, AccessRow>,
    /// Refresh token → authorization id.
    pub(super) refresh_tokens: HashMap<String, u64>,
    pub(super) channels: Vec<ChannelRow>,
    pub(super) rules: Vec<(String, types::AvailabilityRule)>,
    pub(super) periods: Vec<PeriodRow>,
    pub(super) rts: Vec<RtsRow>,
    pub(super) smart_invites: Vec<SmartInviteRow>,
    pub(super) bookable_events: Vec<BookableEventRow>,
    /// Seeded resources: (email, name).
    pub(super) resources: Vec<(String, String)>,
    /// Elevated-permission pages by token.
    pub(super) permission_requests: HashMap<String, PermissionRequest>,
    /// Result lists being paged, by id.
    pub(super) page_sets: HashMap<u64, PageSet>,
    pub(super) signed_in: Option<String>,
    /// Notifications to send once the current operation is answered.
    pub(super) outbox: Vec<Outgoing>,
    next_id: u64,
}

/// An account, or an application calendar.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum AccountKind {
    Account,
    ApplicationCalendar,
}

pub(super) struct AccountRow {
    pub(super) id: String,
    pub(super) email: String,
    pub(super) name: String,
    pub(super) kind: AccountKind,
    /// The application's id of an application calendar.
    pub(super) application_calendar_id: Option<String>,
}

pub(super) struct ProfileRow {
    pub(super) id: String,
    pub(super) account_id: String,
    pub(super) name: String,
    pub(super) provider_name: &'static str,
    pub(super) provider_service: &'static str,
    /// Access revoked with `revoke_profile`: hidden with its calendars.
    pub(super) revoked: bool,
}

pub(super) struct CalendarRow {
    pub(super) id: String,
    pub(super) profile_id: String,
    pub(super) account_id: String,
    pub(super) name: String,
    pub(super) readonly: bool,
    pub(super) deleted: bool,
    pub(super) primary: bool,
    pub(super) permission_level: String,
}

pub(super) struct EventRow {
    pub(super) calendar_id: String,
    pub(super) account_id: String,
    /// The application's id: `Some` for managed events.
    pub(super) event_id: Option<String>,
    pub(super) event_uid: String,
    pub(super) summary: String,
    pub(super) description: String,
    pub(super) start: When,
    pub(super) end: When,
    pub(super) tzid: String,
    pub(super) location: Option<Value>,
    pub(super) url: Option<String>,
    pub(super) transparency: String,
    pub(super) status: String,
    pub(super) participation_status: String,
    pub(super) attendees: Vec<Value>,
    pub(super) organizer: Value,
    pub(super) deleted: bool,
    pub(super) created: DateTime<Utc>,
    pub(super) updated: DateTime<Utc>,
    pub(super) event_private: bool,
    /// The recurrence rules of a managed event; its instances are not expanded.
    pub(super) recurrence: Option<Value>,
}

impl EventRow {
    /// A confirmed, opaque event at `start`..`end` in UTC, the caller
    /// filling in the rest.
    pub(super) fn new(
        calendar_id: &str,
        account_id: &str,
        event_uid: String,
        start: When,
        end: When,
    ) -> Self {
        let now = Utc::now();
        EventRow {
            calendar_id: calendar_id.to_string(),
            account_id: account_id.to_string(),
            event_id: None,
            event_uid,
            summary: String::new(),
            description: String::new(),
            start,
            end,
            tzid: "Etc/UTC".into(),
            location: None,
            url: None,
            transparency: "opaque".into(),
            status: "confirmed".into(),
            participation_status: "accepted".into(),
            attendees: Vec::new(),
            organizer: Value::Null,
            deleted: false,
            created: now,
            updated: now,
            event_private: false,
            recurrence: None,
        }
    }
}

pub(super) struct CodeRow {
    pub(super) account_id: String,
    pub(super) redirect_uri: String,
    pub(super) scope: String,
    pub(super) expires_at: DateTime<Utc>,
}

pub(super) struct AuthorizationRow {
    pub(super) account_id: String,
    pub(super) scope: String,
}

pub(super) struct AccessRow {
    pub(super) authorization: u64,
    pub(super) expires_at: DateTime<Utc>,
}

#[derive(Clone)]
pub(super) struct ChannelRow {
    pub(super) channel_id: String,
    pub(super) account_id: String,
    pub(super) callback_url: String,
    pub(super) filters: Value,
}

impl ChannelRow {
    pub(super) fn to_json(&self) -> Value {
        json!({
            "channel_id": self.channel_id,
            "callback_url": self.callback_url,
            "filters": self.filters,
        })
    }
}

pub(super) struct PeriodRow {
    pub(super) account_id: String,
    pub(super) available_period_id: String,
    pub(super) start: When,
    pub(super) end: When,
    pub(super) tzid: String,
}

pub(super) struct PermissionRequest {
    pub(super) account_id: String,
    pub(super) calendar_ids: Vec<(String, String)>,
    pub(super) redirect_uri: Option<String>,
}

/// A list answered page by page; its page tokens are in the engine's
/// `PageTokens`, each standing for (set id, page index).
pub(super) struct PageSet {
    pub(super) account_id: String,
    /// `events`, `free_busy` or `available_periods`.
    pub(super) list: &'static str,
    pub(super) items: Vec<Value>,
    /// The token of each page after the first.
    pub(super) tokens: Vec<String>,
}

/// Who is calling.
#[derive(Debug, Clone)]
pub(super) enum Caller {
    /// An account's access token, with its granted scope.
    Account { account_id: String, scope: String },
    /// The client secret.
    App,
    /// Credentials in the body, or none needed.
    Anonymous,
}

impl Caller {
    /// The account of an access token (every oauth2-only operation has one).
    pub(super) fn account(&self) -> std::result::Result<&str, ApiErr> {
        match self {
            Caller::Account { account_id, .. } => Ok(account_id),
            _ => Err(ApiErr::unauthorized()),
        }
    }

    /// 403 unless the token grants `scope` (the client secret grants all).
    pub(super) fn need(&self, scope: &str) -> std::result::Result<(), ApiErr> {
        match self {
            Caller::Account { scope: granted, .. } if !grants(granted, scope) => {
                Err(ApiErr::forbidden())
            }
            _ => Ok(()),
        }
    }
}

/// Whether a granted scope string covers `wanted`.
pub(super) fn grants(granted: &str, wanted: &str) -> bool {
    granted.split_whitespace().any(|s| {
        s == wanted
            || s == "read_write"
            || (s == "read_only"
                && matches!(
                    wanted,
                    "read_events" | "read_free_busy" | "read_account" | "list_calendars"
                ))
            || (s == "read_events" && wanted == "read_free_busy")
    })
}

impl Store {
    /// A new number, for authorizations and page sets.
    pub(super) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The account `id`.
    pub(super) fn account(&self, id: &str) -> Option<&AccountRow> {
        self.accounts.iter().find(|a| a.id == id)
    }

    /// Adds an account with its profile and primary calendar.
    pub(super) fn add_account(&mut self, id: &str, email: &str, kind: AccountKind) {
        let name = email.split('@').next().unwrap_or(email).to_string();
        self.accounts.push(AccountRow {
            id: id.to_string(),
            email: email.to_string(),
            name,
            kind,
            application_calendar_id: None,
        });
        let (provider_name, provider_service) = match kind {
            AccountKind::Account => ("google", "gsuite"),
            AccountKind::ApplicationCalendar => ("cronofy", "cronofy"),
        };
        let profile_id = format!("pro_{}", alnum_id(10));
        self.profiles.push(ProfileRow {
            id: profile_id.clone(),
            account_id: id.to_string(),
            name: email.to_string(),
            provider_name,
            provider_service,
            revoked: false,
        });
        self.calendars.push(CalendarRow {
            id: format!("cal_{}_{}", &profile_id[4..], alnum_id(11)),
            profile_id,
            account_id: id.to_string(),
            name: email.to_string(),
            readonly: false,
            deleted: false,
            primary: true,
            permission_level: "sandbox".into(),
        });
    }

    /// Adds a (non-primary) calendar to the first profile of an account.
    pub(super) fn seed_calendar(&mut self, account_id: &str, name: &str) -> Result<String> {
        let profile_id = self
            .profiles
            .iter()
            .find(|p| p.account_id == account_id)
            .map(|p| p.id.clone())
            .ok_or_else(|| unknown("account", account_id))?;
        if self
            .calendars
            .iter()
            .any(|c| c.profile_id == profile_id && c.name == name && !c.deleted)
        {
            return Err(config(&format!(
                "account `{account_id}` already has a calendar named `{name}`"
            )));
        }
        let id = format!("cal_{}_{}", &profile_id[4..], alnum_id(11));
        self.calendars.push(CalendarRow {
            id: id.clone(),
            profile_id,
            account_id: account_id.to_string(),
            name: name.to_string(),
            readonly: false,
            deleted: false,
            primary: false,
            permission_level: "sandbox".into(),
        });
        Ok(id)
    }

    fn profile_visible(&self, profile_id: &str) -> bool {
        self.profiles
            .iter()
            .any(|p| p.id == profile_id && !p.revoked)
    }

    /// The calendars of an account the application can see.
    pub(super) fn visible_calendars(&self, account_id: &str) -> Vec<&CalendarRow> {
        self.calendars
            .iter()
            .filter(|c| c.account_id == account_id && self.profile_visible(&c.profile_id))
            .collect()
    }

    /// A calendar of the account, else 404.
    pub(super) fn own_calendar(
        &self,
        account_id: &str,
        calendar_id: &str,
    ) -> std::result::Result<&CalendarRow, ApiErr> {
        self.visible_calendars(account_id)
            .into_iter()
            .find(|c| c.id == calendar_id)
            .ok_or_else(ApiErr::not_found)
    }

    /// A calendar the account can write to: 404 unknown, 403 read-only, 422 deleted.
    pub(super) fn writable_calendar(
        &self,
        account_id: &str,
        calendar_id: &str,
    ) -> std::result::Result<&CalendarRow, ApiErr> {
        let calendar = self.own_calendar(account_id, calendar_id)?;
        if calendar.deleted {
            return Err(unprocessable(
                "calendar_id",
                "errors.calendar_deleted",
                "calendar_id refers to a deleted calendar",
            ));
        }
        if calendar.readonly {
            return Err(ApiErr::forbidden());
        }
        Ok(calendar)
    }

    /// 422 on `profile_id` unless it is a live profile of `account_id`.
    pub(super) fn own_profile(
        &self,
        account_id: &str,
        profile_id: &str,
    ) -> std::result::Result<(), ApiErr> {
        if self
            .profiles
            .iter()
            .any(|p| p.id == profile_id && p.account_id == account_id && !p.revoked)
        {
            Ok(())
        } else {
            Err(invalid(
                "profile_id",
                format!("{profile_id} is not a profile of this account"),
            ))
        }
    }

    /// A single-use code for `account_id`, valid for ten minutes.
    pub(super) fn issue_code(
        &mut self,
        account_id: &str,
        redirect_uri: &str,
        scope: &str,
    ) -> String {
        let code = alnum_id(32);
        self.codes.insert(
            code.clone(),
            CodeRow {
                account_id: account_id.to_string(),
                redirect_uri: redirect_uri.to_string(),
                scope: scope.to_string(),
                expires_at: from_now(CODE_TTL),
            },
        );
        code
    }

    /// The `linking_profile` of an account's first profile.
    pub(super) fn linking_profile(&self, account_id: &str) -> Value {
        self.profiles
            .iter()
            .find(|p| p.account_id == account_id)
            .map_or(Value::Null, |p| {
                json!({
                    "provider_name": p.provider_name,
                    "provider_service": p.provider_service,
                    "profile_id": p.id,
                    "profile_name": p.name,
                })
            })
    }

    /// The target calendars of a scheduling request: each a calendar of its `sub`.
    pub(super) fn check_targets(
        &self,
        targets: &[types::TargetCalendar],
    ) -> std::result::Result<(), ApiErr> {
        for (i, target) in targets.iter().enumerate() {
            if self.own_calendar(&target.sub, &target.calendar_id).is_err() {
                return Err(invalid(
                    &format!("target_calendars.{i}.calendar_id"),
                    format!("{} is not a calendar of {}", target.calendar_id, target.sub),
                ));
            }
        }
        Ok(())
    }
}

/// 400 `invalid_client` unless the body carries the registered credentials.
pub(super) fn check_client(config: &Config, body: &Value) -> std::result::Result<(), ApiErr> {
    let id = body.get("client_id").and_then(Value::as_str);
    let secret = body.get("client_secret").and_then(Value::as_str);
    if id == Some(config.client_id.as_str()) && secret == Some(config.client_secret.expose()) {
        Ok(())
    } else {
        Err(oauth_error(
            "invalid_client",
            "the client_id and client_secret are not recognised",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_grant_their_operations() {
        assert!(grants("read_write", "create_calendar"));
        assert!(grants("read_only", "read_events"));
        assert!(!grants("read_only", "create_event"));
        assert!(grants("read_events create_event", "read_free_busy"));
        assert!(!grants("read_events create_event", "delete_event"));
    }
}
