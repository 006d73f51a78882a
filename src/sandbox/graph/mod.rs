//! A stateful in-memory Microsoft Graph and its identity platform, for
//! tours and tests.
//!
//! [`Graph`] is a directory of users, each with a mailbox, a calendar,
//! contacts and a OneDrive, plus a SharePoint team site. It answers every
//! operation of `spec/graph.yaml` on `http://127.0.0.1:<port>`: Graph's
//! below `/v1.0` (give the client [`Graph::base_url`]; it appends the
//! version) and the identity platform's below `/` on the same server
//! (`/{tenant}/oauth2/v2.0/token`, [`Graph::login_url`]).
//!
//! - **Sign-in** (`oauth`): authorization codes with PKCE (S256), from
//!   the authorization page or [`Graph::authorization_code_for`]; refresh
//!   tokens rotated on each use (the old one is then `invalid_grant`);
//!   client credentials (`/.default`) with a secret or a certificate's
//!   signed assertion ([`GraphBuilder::app_certificate`]); device codes
//!   ([`Graph::approve_device_code`]); [`Graph::issue_token`] for peers that
//!   bring their own token. A missing, unknown or expired bearer token is
//!   401 `InvalidAuthenticationToken`; a user reaches only their own
//!   mailbox and drive (403), the application every one.
//! - **Mail** (`mail, mail_send`): well-known folders by name, child
//!   folders, messages listed newest first, drafts, `sendMail` (delivered to
//!   the inbox of every recipient who is a user here), replies, forwards,
//!   moves, copies, attachments, MIME, Focused Inbox overrides, mailbox
//!   settings, and delta rounds with `@removed`.
//! - **Calendar** (`calendar, schedule`): calendars and groups,
//!   events with `dateTimeTimeZone` times (Windows or IANA zones, shown in
//!   UTC or in `Prefer: outlook.timezone`), all-day events, series expanded
//!   in `calendarView`, delta rounds, responses, `getSchedule`,
//!   `findMeetingTimes`.
//! - **Contacts and people** (`contacts`), **sites and lists** (`sites`).
//! - **OneDrive** (`drive, drive_share, upload`): paths, special
//!   folders, conflict behaviours, small uploads, downloads by redirect with
//!   `Range`, upload sessions that enforce Microsoft's rules (no
//!   `Authorization`, in-order fragments of 320 KiB multiples, 416 for bytes
//!   already received, expiry), QuickXorHash (`quickxor`), copies with a
//!   monitor URL, sharing links, invitations, versions, search, delta.
//! - **Lists** (`pages, odata`): pages of `$top` (or `Prefer:
//!   odata.maxpagesize`, or the builder's page size) with
//!   `@odata.nextLink`; `$select`, `$orderby`, `$count`, `$search` and a
//!   `$filter` subset (comparisons, `and`/`or`/`not`, `startswith`,
//!   `endswith`, `contains`, `in`); what it cannot read is a 400 that says so.
//! - **`$batch`** (`batch`): each request through the same router;
//!   `dependsOn` with 424 for a failed dependency; injected faults hit items.
//! - **Subscriptions** (`subscriptions`): the notification URL is
//!   validated with a real request, then changes are POSTed to it.
//! - **Errors** (`errors`) in Graph's shape with `request-id`; 429s with
//!   `Retry-After` from [`Graph::faults`] or
//!   [`GraphBuilder::rate_limit_after`].
//!
//! Not modelled: permissions by scope (every token may call every
//! operation), groups, meeting invitations in attendees' calendars,
//! exceptions to a series, `$expand` beyond a message's attachments,
//! relative recurrence patterns, the real service's eventual consistency,
//! and new ids on moves (a moved message keeps its id). `/beta` answers
//! as `/v1.0` (the same operations; no preview behaviour is modelled).
//!
//! ```no_run
//! # async fn run() -> specbound::Result<()> {
//! use specbound::graph::{Client, Mailbox, prelude::*};
//! use specbound::sandbox::graph::Graph;
//! let server = Graph::builder()
//!     .user("adele@contoso.com", "Adele Vance")
//!     .inbox_messages(25)
//!     .start()
//!     .await?;
//! let graph = Client::builder()
//!     .cloud(server.cloud())
//!     .client_id("app")
//!     .token(server.issue_token("adele@contoso.com")?)
//!     .build()?;
//! let inbox = graph
//!     .list_folder_messages()
//!     .mailbox(Mailbox::me())
//!     .mail_folder_id("inbox")
//!     .top(std::num::NonZeroU32::new(10).unwrap())
//!     .send()
//!     .await?
//!     .into_inner();
//! assert_eq!(inbox.value.len(), 10);
//! # Ok(()) }
//! ```

mod assertion;
mod batch;
mod builder;
mod calendar;
mod contacts;
mod dispatch;
mod drive;
mod drive_share;
mod errors;
mod mail;
mod mail_send;
mod notify;
mod oauth;
mod odata;
mod pages;

mod schedule;
mod sites;
mod store;
mod subscriptions;
mod times;
mod upload;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::json;

pub use self::builder::GraphBuilder;
use self::dispatch::Shared;
use self::subscriptions::Watch;
use crate::runtime::{OAuthToken, Secret};
use crate::sandbox::engine::{Faults, Server};
use crate::{Error, Result};

/// A running in-memory Graph on 127.0.0.1; it stops when the last clone is
/// dropped. Clones are cheap and share the server.
#[derive(Clone)]
pub struct Graph {
    server: Arc<Server>,
    shared: Arc<Shared>,
}

impl fmt::Debug for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Graph")
            .field("base_url", &self.base_url())
            .field("requests", &self.requests())
            .finish_non_exhaustive()
    }
}

impl Graph {
    /// A builder to seed users and register the application, then start.
    pub fn builder() -> GraphBuilder {
        GraphBuilder::new()
    }

    /// The Graph root to give the client (`ClientBuilder::base_url`):
    /// `http://127.0.0.1:<port>`; the client appends `/v1.0`.
    pub fn base_url(&self) -> String {
        self.server.root_url()
    }

    /// The login host root (`ClientBuilder::login_url`): the same server.
    pub fn login_url(&self) -> String {
        self.server.root_url()
    }

    /// The sandbox as a cloud (`ClientBuilder::cloud`): Graph and the login
    /// host on this server.
    pub fn cloud(&self) -> crate::graph::Cloud {
        crate::graph::Cloud::Custom {
            graph: self.base_url(),
            login: self.login_url(),
        }
    }

    /// The faults to inject into the next requests, by operation id (delays,
    /// error statuses, 429 with `Retry-After`, bodies cut off midway); a
    /// 429 or status fault also hits the items of a `$batch`.
    pub fn faults(&self) -> &Faults {
        self.server.faults()
    }

    /// The operations answered so far, in order (see [`Server::operations_served`]).
    pub fn operations_served(&self) -> Vec<&'static str> {
        self.server.operations_served()
    }

    /// The directory id of the user `principal_name`.
    pub fn user_id(&self, principal_name: &str) -> Option<String> {
        self.shared
            .with_state(|s| s.user(principal_name).map(|u| u.id.clone()))
    }

    /// Makes `principal_name` the user the authorization page signs in.
    pub fn sign_in(&self, principal_name: &str) -> Result<()> {
        let id = self.known(principal_name)?;
        self.shared.with_state(|s| s.signed_in = Some(id));
        Ok(())
    }

    /// A code as the authorization page would give `principal_name` for
    /// `redirect_uri`, bound to a PKCE `code_challenge` (S256) when given.
    /// Single use, valid for ten minutes.
    pub fn authorization_code_for(
        &self,
        principal_name: &str,
        redirect_uri: &str,
        code_challenge: Option<&str>,
    ) -> Result<String> {
        let id = self.known(principal_name)?;
        if !oauth::redirect_allowed(&self.shared.config, redirect_uri) {
            return Err(config(&format!(
                "redirect URI `{redirect_uri}` is not registered"
            )));
        }
        let challenge = code_challenge.map(str::to_string);
        Ok(self
            .shared
            .with_state(|s| s.issue_code(&id, redirect_uri, challenge)))
    }

    /// Tokens for `principal_name` as a sign-in would give them (scope
    /// `User.Read offline_access`): for peers and tests that bring their own.
    pub fn issue_token(&self, principal_name: &str) -> Result<OAuthToken> {
        let id = self.known(principal_name)?;
        let client = self
            .shared
            .config
            .client
            .as_ref()
            .map_or("sandbox-client".to_string(), |c| c.0.clone());
        let answer = self.shared.with_state(|s| {
            s.issue(&self.shared.config, &id, &client, "User.Read Mail.ReadWrite Mail.Send Calendars.ReadWrite Contacts.ReadWrite Files.ReadWrite.All offline_access")
        });
        let text = |k: &str| answer[k].as_str().unwrap_or("").to_string();
        let mut token = OAuthToken::new(
            Secret::new(text("access_token")),
            Some(Secret::new(text("refresh_token"))),
            Some(self.shared.config.access_token_ttl),
        );
        token.scope = Some(text("scope"));
        Ok(token)
    }

    /// Plays `principal_name` entering the device code `user_code`: the next
    /// poll of its device code gets tokens. [`Error::Config`] for an unknown
    /// code or user.
    pub fn approve_device_code(&self, user_code: &str, principal_name: &str) -> Result<()> {
        let id = self.known(principal_name)?;
        self.shared.with_state(|s| {
            let row = s
                .devices
                .values_mut()
                .find(|d| d.user_code == user_code)
                .ok_or_else(|| config(&format!("no device code `{user_code}`")))?;
            row.approved_by = Some(id);
            Ok(())
        })
    }

    /// Makes every access token issued so far expire now (refresh tokens
    /// keep working): the next call with one is 401.
    pub fn expire_access_tokens(&self) {
        let past = chrono::Utc::now() - chrono::Duration::seconds(1);
        self.shared.with_state(|s| {
            for token in s.access_tokens.values_mut() {
                token.expires_at = past;
            }
        });
    }

    /// Makes every upload session expire now: its URL answers 404.
    pub fn expire_upload_sessions(&self) {
        let past = chrono::Utc::now() - chrono::Duration::seconds(1);
        self.shared.with_state(|s| {
            for session in s.uploads.values_mut() {
                session.expires_at = past;
            }
        });
    }

    /// A message from `from` (an address) arriving, unread, in the inbox of
    /// `to_principal`; subscribers are notified. Its id.
    pub fn deliver_mail(
        &self,
        to_principal: &str,
        from: &str,
        subject: &str,
        body: &str,
    ) -> Result<String> {
        let id = self.known(to_principal)?;
        let message = self.shared.with_state(|s| {
            let user = s
                .user_by_id(&id)
                .map_err(|_| config("no such user"))?
                .clone();
            let inbox = s.well_known_folder(&id, "inbox").unwrap_or_default();
            let mut json = mail::message_json(&user, &inbox, false);
            let sender = json!({"emailAddress": {"name": from, "address": from}});
            mail::apply_input(
                &mut json,
                json!({"subject": subject, "body": {"contentType": "text", "content": body},
                    "from": sender, "sender": sender, "isRead": false,
                    "toRecipients": [{"emailAddress": user.address()}]})
                .as_object()
                .unwrap_or(&serde_json::Map::new()),
            );
            let shown = s.messages.insert(&id, &inbox, json);
            let message = shown["id"].as_str().unwrap_or("").to_string();
            s.mark_created(&id, &message);
            s.changed(Watch::Messages, &id, &inbox, &message, "created");
            Ok::<_, Error>(message)
        })?;
        self.shared.send_outbox();
        Ok(message)
    }

    /// The id of a well-known mail folder (`inbox`, `drafts`, ...) of a user.
    pub fn folder_id(&self, principal_name: &str, well_known: &str) -> Option<String> {
        let id = self.user_id(principal_name)?;
        self.shared
            .with_state(|s| s.well_known_folder(&id, well_known))
    }

    /// The id of a user's default calendar.
    pub fn default_calendar_id(&self, principal_name: &str) -> Option<String> {
        let id = self.user_id(principal_name)?;
        self.shared.with_state(|s| s.default_calendar(&id))
    }

    /// The id of a user's OneDrive.
    pub fn drive_id(&self, principal_name: &str) -> Option<String> {
        let id = self.user_id(principal_name)?;
        self.shared
            .with_state(|s| s.user(&id).map(|u| u.drive_id.clone()))
    }

    /// The content of the file at `path` (`Documents/a.txt`) of a user's OneDrive.
    pub fn file(&self, principal_name: &str, path: &str) -> Option<Vec<u8>> {
        let drive = self.drive_id(principal_name)?;
        let raw = format!("root:/{}:", path.trim_matches('/'));
        self.shared
            .with_state(|s| match s.target(&drive, &raw).ok()? {
                drive::Target::Existing(id) => s.contents.get(&id).map(|b| b.to_vec()),
                drive::Target::New { .. } => None,
            })
    }

    /// How many change notifications subscribers answered with 2xx.
    pub fn notifications_delivered(&self) -> u64 {
        self.shared.delivered.load(Ordering::Relaxed)
    }

    /// How many requests reached the token endpoint (refused ones included).
    pub fn token_requests(&self) -> u64 {
        self.shared.token_requests.load(Ordering::Relaxed)
    }

    /// How many refresh-token grants issued a token.
    pub fn refreshes(&self) -> u64 {
        self.shared.refreshes.load(Ordering::Relaxed)
    }

    /// How many requests reached the sandbox (batch items and unrouted URLs
    /// included; requests answered by an injected fault are not counted).
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Starts a new rate-limit window now (see [`GraphBuilder::rate_limit_after`]).
    pub fn reset_rate_limit(&self) {
        self.shared.reset_rate_limit();
    }

    fn known(&self, principal_name: &str) -> Result<String> {
        self.user_id(principal_name)
            .ok_or_else(|| config(&format!("no user `{principal_name}`")))
    }
}

fn config(what: &str) -> Error {
    Error::Config(format!("graph sandbox: {what}"))
}
