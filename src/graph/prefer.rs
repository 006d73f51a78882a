//! The `Prefer` header's values Graph reads, built from typed parts for the
//! generated `.prefer(...)` setters.

use std::fmt;

use super::times::TimeZoneName;

/// A `Prefer` header: Graph's preferences joined with commas, in a fixed
/// order. Give it to a builder's `.prefer(...)`.
///
/// ```
/// use specbound::graph::{Prefer, TimeZoneName};
/// let prefer = Prefer::new()
///     .time_zone("Pacific Standard Time".parse::<TimeZoneName>()?)
///     .text_body()
///     .immutable_ids()
///     .max_page_size(50);
/// assert_eq!(
///     prefer.to_string(),
///     r#"outlook.timezone="Pacific Standard Time", outlook.body-content-type="text", IdType="ImmutableId", odata.maxpagesize=50"#
/// );
/// # Ok::<(), specbound::Error>(())
/// ```
///
/// ```no_run
/// # async fn run(graph: specbound::graph::Client) -> specbound::Result<()> {
/// use specbound::graph::{CalendarOwner, Prefer, TimeZoneName, prelude::*};
/// let pacific: TimeZoneName = "Pacific Standard Time".parse()?;
/// let events = graph
///     .list_calendar_view()
///     .calendar_owner(CalendarOwner::me())
///     .start_date_time("2026-12-01T00:00:00Z")
///     .end_date_time("2027-01-01T00:00:00Z")
///     .prefer(Prefer::new().time_zone(pacific))
///     .send()
///     .await?;
/// # let _ = events;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prefer {
    time_zone: Option<TimeZoneName>,
    text_body: bool,
    immutable_ids: bool,
    max_page_size: Option<u32>,
    other: Vec<String>,
}

impl Prefer {
    /// No preference yet.
    pub fn new() -> Self {
        Prefer::default()
    }

    /// `outlook.timezone="<zone>"`: event times (`start`, `end`, ...) in
    /// `zone` instead of UTC. Graph answers `Preference-Applied`.
    pub fn time_zone(mut self, zone: impl Into<TimeZoneName>) -> Self {
        self.time_zone = Some(zone.into());
        self
    }

    /// `outlook.body-content-type="text"`: `body` and `uniqueBody` as text
    /// instead of HTML.
    pub fn text_body(mut self) -> Self {
        self.text_body = true;
        self
    }

    /// `IdType="ImmutableId"`: ids of messages and events that survive a
    /// move to another folder.
    pub fn immutable_ids(mut self) -> Self {
        self.immutable_ids = true;
        self
    }

    /// `odata.maxpagesize=<n>`: at most `n` items a page (delta queries);
    /// `0` sets none.
    pub fn max_page_size(mut self, n: u32) -> Self {
        self.max_page_size = (n > 0).then_some(n);
        self
    }

    /// Another preference, sent as given after the others, such as
    /// `odata.track-changes` or `HonorNonIndexedQueriesWarningMayFailRandomly`.
    pub fn other(mut self, preference: impl Into<String>) -> Self {
        self.other.push(preference.into());
        self
    }
}

impl fmt::Display for Prefer {
    /// The header's value; empty when nothing was chosen.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        let mut item = |f: &mut fmt::Formatter<'_>, args: fmt::Arguments<'_>| {
            let r = write!(f, "{sep}{args}");
            sep = ", ";
            r
        };
        if let Some(zone) = &self.time_zone {
            item(f, format_args!("outlook.timezone=\"{zone}\""))?;
        }
        if self.text_body {
            item(f, format_args!("outlook.body-content-type=\"text\""))?;
        }
        if self.immutable_ids {
            item(f, format_args!("IdType=\"ImmutableId\""))?;
        }
        if let Some(n) = self.max_page_size {
            item(f, format_args!("odata.maxpagesize={n}"))?;
        }
        for other in &self.other {
            item(f, format_args!("{other}"))?;
        }
        Ok(())
    }
}

impl From<Prefer> for String {
    fn from(p: Prefer) -> String {
        p.to_string()
    }
}

impl From<&Prefer> for String {
    fn from(p: &Prefer) -> String {
        p.to_string()
    }
}
