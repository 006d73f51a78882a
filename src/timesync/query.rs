//! List calls with pymesync's query parameters, as `Stream`s.
//!
//! TimeSync answers a list as one bare JSON array (no pages). `stream()`
//! decodes that array item by item while it arrives, so memory stays flat
//! however many entries the server sends; `send()` collects them. Parameters
//! are checked before anything is sent, and the first bad one is the error.

use std::future::Future;

use chrono::NaiveDate;
use futures::TryStreamExt as _;
use uuid::Uuid;

use super::generated::{Client as Api, prelude::*, types};
use super::validate::{self, IntoUuid};
use crate::runtime::hooks::send_for_body;
use crate::runtime::json_stream::ArrayItems;
use crate::runtime::paginate::{Page, PageItems, Paginated, Position};
use crate::runtime::{IntoDate, keep};
use crate::{Error, Result};

type Sent<T> = std::result::Result<
    progenitor_client::ResponseValue<T>,
    progenitor_client::Error<types::Error>,
>;

/// A stream of the array answered by the list operation `operation_id`,
/// re-requested (and the first `position.skip` items passed over) on resume.
fn array_stream<'a, T, F, Fut>(
    operation_id: &'static str,
    position: Position,
    send: F,
) -> Paginated<'a, T>
where
    T: serde::de::DeserializeOwned + Send + 'a,
    F: Fn() -> Fut + Send + 'a,
    Fut: Future<Output = Sent<Vec<T>>> + Send + 'a,
{
    Paginated::resume(position, move |_cursor| {
        let sent = send();
        async move {
            let response = send_for_body(operation_id, sent).await?;
            Ok(Page {
                items: PageItems::Streamed(Box::pin(ArrayItems::<T>::new(response))),
                next: None,
                then_fail: None,
            })
        }
    })
}

/// A stream of the one object answered by a get operation.
fn one_stream<'a, T, F, Fut>(position: Position, send: F) -> Paginated<'a, T>
where
    T: Send + 'a,
    F: Fn() -> Fut + Send + 'a,
    Fut: Future<Output = Sent<T>> + Send + 'a,
{
    Paginated::resume(position, move |_cursor| {
        let sent = send();
        async move { Ok(Page::from_vec(vec![sent.await?.into_inner()], None)) }
    })
}

/// Time entries (`GET /times`, or `GET /times/{uuid}` with [`uuid`](Self::uuid)).
///
/// ```no_run
/// # async fn run(ts: specbound::timesync::Client) -> specbound::Result<()> {
/// use futures::TryStreamExt;
/// let mut times = ts.times().user("alice").project("gwm").start("2026-11-01").stream();
/// while let Some(t) = times.try_next().await? {
///     println!("{} worked {}s", t.user, t.duration);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TimesQuery<'a> {
    api: &'a Api,
    users: Vec<String>,
    projects: Vec<String>,
    activities: Vec<String>,
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
    include_revisions: Option<bool>,
    include_deleted: Option<bool>,
    uuid: Option<Uuid>,
    error: Option<Error>,
}

impl<'a> TimesQuery<'a> {
    pub(crate) fn new(api: &'a Api) -> Self {
        TimesQuery {
            api,
            users: Vec::new(),
            projects: Vec::new(),
            activities: Vec::new(),
            start: None,
            end: None,
            include_revisions: None,
            include_deleted: None,
            uuid: None,
            error: None,
        }
    }

    /// Only entries of this user; repeat for several (OR).
    pub fn user(mut self, username: &str) -> Self {
        if let Some(u) = keep(&mut self.error, validate::username("user", username)) {
            self.users.push(u.to_string());
        }
        self
    }

    /// Only entries of this project (any of its slugs); repeat for several (OR).
    pub fn project(mut self, slug: &str) -> Self {
        if let Some(s) = keep(&mut self.error, validate::slug("project", slug)) {
            self.projects.push(s.to_string());
        }
        self
    }

    /// Only entries with this activity; repeat for several (OR).
    pub fn activity(mut self, slug: &str) -> Self {
        if let Some(s) = keep(&mut self.error, validate::slug("activity", slug)) {
            self.activities.push(s.to_string());
        }
        self
    }

    /// Only entries worked on or after this date.
    pub fn start(mut self, date: impl IntoDate) -> Self {
        self.start = keep(&mut self.error, date.into_date("start"));
        self
    }

    /// Only entries worked on or before this date.
    pub fn end(mut self, date: impl IntoDate) -> Self {
        self.end = keep(&mut self.error, date.into_date("end"));
        self
    }

    /// Add each entry's older revisions as `parents`.
    pub fn include_revisions(mut self, include: bool) -> Self {
        self.include_revisions = Some(include);
        self
    }

    /// Also answer soft-deleted entries.
    pub fn include_deleted(mut self, include: bool) -> Self {
        self.include_deleted = Some(include);
        self
    }

    /// Only the entry with this UUID (`GET /times/{uuid}`); combines with
    /// `include_revisions` and `include_deleted` only.
    pub fn uuid(mut self, uuid: impl IntoUuid) -> Self {
        self.uuid = keep(&mut self.error, uuid.into_uuid());
        self
    }

    fn check(&self) -> Result<()> {
        if let (Some(s), Some(e)) = (self.start, self.end)
            && s > e
        {
            return Err(Error::invalid("start", format!("{s} is after end {e}")));
        }
        let filters = !self.users.is_empty()
            || !self.projects.is_empty()
            || !self.activities.is_empty()
            || self.start.is_some()
            || self.end.is_some();
        if self.uuid.is_some() && filters {
            return Err(Error::invalid(
                "uuid",
                "names one entry and cannot be combined with user, project, activity, start or end",
            ));
        }
        Ok(())
    }

    /// The entries, decoded one by one as the answer arrives.
    pub fn stream(self) -> Paginated<'a, types::Time> {
        self.resume(Position::default())
    }

    /// Carries on a stream from a saved [`Paginated::position`].
    pub fn resume(mut self, position: Position) -> Paginated<'a, types::Time> {
        if let Some(e) = self.error.take() {
            return Paginated::failed(e);
        }
        if let Err(e) = self.check() {
            return Paginated::failed(e);
        }
        let api = self.api;
        if let Some(uuid) = self.uuid {
            let (revisions, deleted) = (self.include_revisions, self.include_deleted);
            return one_stream(position, move || {
                let mut b = api.get_time().uuid(uuid);
                if let Some(r) = revisions {
                    b = b.include_revisions(r);
                }
                if let Some(d) = deleted {
                    b = b.include_deleted(d);
                }
                b.send()
            });
        }
        array_stream("list_times", position, move || {
            let mut b = api.list_times();
            if !self.users.is_empty() {
                b = b.user(self.users.clone());
            }
            if !self.projects.is_empty() {
                b = b.project(self.projects.clone());
            }
            if !self.activities.is_empty() {
                b = b.activity(self.activities.clone());
            }
            if let Some(s) = self.start {
                b = b.start(s);
            }
            if let Some(e) = self.end {
                b = b.end(e);
            }
            if let Some(r) = self.include_revisions {
                b = b.include_revisions(r);
            }
            if let Some(d) = self.include_deleted {
                b = b.include_deleted(d);
            }
            b.send()
        })
    }

    /// All matching entries.
    pub async fn send(self) -> Result<Vec<types::Time>> {
        self.stream().try_collect().await
    }
}

/// Projects (`GET /projects`, or `GET /projects/{slug}` with [`slug`](Self::slug)).
#[derive(Debug)]
pub struct ProjectsQuery<'a> {
    api: &'a Api,
    users: Vec<String>,
    slug: Option<types::Slug>,
    include_revisions: Option<bool>,
    include_deleted: Option<bool>,
    error: Option<Error>,
}

impl<'a> ProjectsQuery<'a> {
    pub(crate) fn new(api: &'a Api) -> Self {
        ProjectsQuery {
            api,
            users: Vec::new(),
            slug: None,
            include_revisions: None,
            include_deleted: None,
            error: None,
        }
    }

    /// Only projects this user has a role on; repeat for several (OR).
    pub fn user(mut self, username: &str) -> Self {
        if let Some(u) = keep(&mut self.error, validate::username("user", username)) {
            self.users.push(u.to_string());
        }
        self
    }

    /// Only the project with this slug (`GET /projects/{slug}`).
    pub fn slug(mut self, slug: &str) -> Self {
        self.slug = keep(&mut self.error, validate::slug("slug", slug));
        self
    }

    /// Add each project's older revisions as `parents`.
    pub fn include_revisions(mut self, include: bool) -> Self {
        self.include_revisions = Some(include);
        self
    }

    /// Also answer soft-deleted projects; cannot be combined with `slug`.
    pub fn include_deleted(mut self, include: bool) -> Self {
        self.include_deleted = Some(include);
        self
    }

    /// The projects, decoded one by one as the answer arrives.
    pub fn stream(self) -> Paginated<'a, types::Project> {
        self.resume(Position::default())
    }

    /// Carries on a stream from a saved [`Paginated::position`].
    pub fn resume(self, position: Position) -> Paginated<'a, types::Project> {
        if let Some(e) = self.error {
            return Paginated::failed(e);
        }
        let api = self.api;
        let revisions = self.include_revisions;
        if let Some(slug) = self.slug {
            if self.include_deleted.is_some() {
                return Paginated::failed(Error::invalid(
                    "include_deleted",
                    "cannot be combined with slug (as pymesync refuses it: the server's single-project route ignores it)",
                ));
            }
            if !self.users.is_empty() {
                return Paginated::failed(Error::invalid(
                    "user",
                    "cannot be combined with slug: the single-project route has no user filter",
                ));
            }
            return one_stream(position, move || {
                let mut b = api.get_project().slug(slug.clone());
                if let Some(r) = revisions {
                    b = b.include_revisions(r);
                }
                b.send()
            });
        }
        array_stream("list_projects", position, move || {
            let mut b = api.list_projects();
            if !self.users.is_empty() {
                b = b.user(self.users.clone());
            }
            if let Some(r) = revisions {
                b = b.include_revisions(r);
            }
            if let Some(d) = self.include_deleted {
                b = b.include_deleted(d);
            }
            b.send()
        })
    }

    /// All matching projects.
    pub async fn send(self) -> Result<Vec<types::Project>> {
        self.stream().try_collect().await
    }
}

/// Activities (`GET /activities`, or `GET /activities/{slug}` with [`slug`](Self::slug)).
#[derive(Debug)]
pub struct ActivitiesQuery<'a> {
    api: &'a Api,
    slug: Option<types::Slug>,
    include_revisions: Option<bool>,
    include_deleted: Option<bool>,
    error: Option<Error>,
}

impl<'a> ActivitiesQuery<'a> {
    pub(crate) fn new(api: &'a Api) -> Self {
        ActivitiesQuery {
            api,
            slug: None,
            include_revisions: None,
            include_deleted: None,
            error: None,
        }
    }

    /// Only the activity with this slug (`GET /activities/{slug}`).
    pub fn slug(mut self, slug: &str) -> Self {
        self.slug = keep(&mut self.error, validate::slug("slug", slug));
        self
    }

    /// Add each activity's older revisions as `parents`.
    pub fn include_revisions(mut self, include: bool) -> Self {
        self.include_revisions = Some(include);
        self
    }

    /// Also answer soft-deleted activities; cannot be combined with `slug`.
    pub fn include_deleted(mut self, include: bool) -> Self {
        self.include_deleted = Some(include);
        self
    }

    /// The activities, decoded one by one as the answer arrives.
    pub fn stream(self) -> Paginated<'a, types::Activity> {
        self.resume(Position::default())
    }

    /// Carries on a stream from a saved [`Paginated::position`].
    pub fn resume(self, position: Position) -> Paginated<'a, types::Activity> {
        if let Some(e) = self.error {
            return Paginated::failed(e);
        }
        let api = self.api;
        let revisions = self.include_revisions;
        if let Some(slug) = self.slug {
            if self.include_deleted.is_some() {
                return Paginated::failed(Error::invalid(
                    "include_deleted",
                    "cannot be combined with slug (as pymesync refuses it: the server's single-activity route ignores it)",
                ));
            }
            return one_stream(position, move || {
                let mut b = api.get_activity().slug(slug.clone());
                if let Some(r) = revisions {
                    b = b.include_revisions(r);
                }
                b.send()
            });
        }
        array_stream("list_activities", position, move || {
            let mut b = api.list_activities();
            if let Some(r) = revisions {
                b = b.include_revisions(r);
            }
            if let Some(d) = self.include_deleted {
                b = b.include_deleted(d);
            }
            b.send()
        })
    }

    /// All matching activities.
    pub async fn send(self) -> Result<Vec<types::Activity>> {
        self.stream().try_collect().await
    }
}

/// Users (`GET /users`, or `GET /users/{username}` with [`username`](Self::username)).
#[derive(Debug)]
pub struct UsersQuery<'a> {
    api: &'a Api,
    username: Option<types::Username>,
    include_deleted: Option<bool>,
    error: Option<Error>,
}

impl<'a> UsersQuery<'a> {
    pub(crate) fn new(api: &'a Api) -> Self {
        UsersQuery {
            api,
            username: None,
            include_deleted: None,
            error: None,
        }
    }

    /// Only this user (`GET /users/{username}`).
    pub fn username(mut self, username: &str) -> Self {
        self.username = keep(&mut self.error, validate::username("username", username));
        self
    }

    /// Also answer soft-deleted users.
    pub fn include_deleted(mut self, include: bool) -> Self {
        self.include_deleted = Some(include);
        self
    }

    /// The users, decoded one by one as the answer arrives.
    pub fn stream(self) -> Paginated<'a, types::User> {
        self.resume(Position::default())
    }

    /// Carries on a stream from a saved [`Paginated::position`].
    pub fn resume(self, position: Position) -> Paginated<'a, types::User> {
        if let Some(e) = self.error {
            return Paginated::failed(e);
        }
        let api = self.api;
        let deleted = self.include_deleted;
        if let Some(username) = self.username {
            return one_stream(position, move || {
                let mut b = api.get_user().username(username.clone());
                if let Some(d) = deleted {
                    b = b.include_deleted(d);
                }
                b.send()
            });
        }
        array_stream("list_users", position, move || {
            let mut b = api.list_users();
            if let Some(d) = deleted {
                b = b.include_deleted(d);
            }
            b.send()
        })
    }

    /// All matching users.
    pub async fn send(self) -> Result<Vec<types::User>> {
        self.stream().try_collect().await
    }
}
