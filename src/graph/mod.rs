#![doc = include_str!("../docs/graph.md")]
#![doc = include_str!("../docs/graph_operations.md")]
#![doc = include_str!("../docs/graph_peers.md")]

mod batch;
mod batch_plan;
mod certificate;
mod cloud;
mod copy;
mod credentials;
pub mod delta;
pub(crate) mod der;
mod download;
mod extras;
mod files;
mod ids;
mod immutable_ids;
pub mod notifications;
mod prefer;
mod query;
mod quickxor;
mod scopes;
mod subscriptions;
mod throttling;
mod times;
mod upload;
mod upload_session;
mod windows_zones;

/// The code progenitor generates from `spec/graph.yaml` (see build.rs).
mod generated {
    #![allow(
        clippy::all,
        clippy::pedantic,
        missing_docs,
        unreachable_pub,
        unreachable_patterns,
        unused_imports,
        unused_mut,
        dead_code
    )]
    include!(concat!(env!("OUT_DIR"), "/graph.rs"));
}

/// The Microsoft Graph client: every operation of `spec/graph.yaml` as a
/// builder (`use specbound::graph::prelude::*`), plus [`GraphExt`] for
/// sign-in and the typed path values.
pub use generated::Client;
#[cfg(feature = "sandbox")]
#[doc(hidden)]
pub use generated::examples;
pub use generated::{builder, spec};

/// The spec's schemas as Rust types. [`DateTimeTimeZone`] is hand-written
/// (see its `x-specbound-replace` in the spec).
pub mod types {
    pub use super::generated::types::*;
    pub use super::times::{DateTimeTimeZone, TimeZoneName};
}

/// Everything a caller needs in scope: the operation traits, [`GraphExt`]
/// and raw requests.
pub mod prelude {
    pub use super::batch::GraphBatch;
    pub use super::extras::GraphExt;
    pub use super::files::GraphFiles;
    pub use super::generated::prelude::*;
    pub use super::throttling::GraphErrorExt;
    pub use super::times::EventTimes;
    pub use crate::runtime::raw::RawRequests;
}

pub use self::batch::{BatchError, BatchItem, BatchOutcome, GraphBatch};
pub use self::certificate::ClientCertificate;
pub use self::cloud::Cloud;
pub use self::copy::{
    CopyBuilder, CopyEvent, CopyMonitor, CopyStatus, DEFAULT_POLL_INTERVAL, JobStatus,
};
pub use self::download::{DownloadBuilder, DownloadError};
pub use self::extras::{ApiVersion, ClientBuilder, DeviceCode, GraphExt};
pub use self::files::GraphFiles;
pub use self::ids::{Calendar, CalendarOwner, Drive, Item, Mailbox, Owner};
pub use self::prefer::Prefer;
pub use self::query::{Attr, BuiltQuery, Filter, Lambda, ODataValue, Query, QueryTarget, attr};
pub use self::quickxor::QuickXorHash;
pub use self::scopes::{HELPERS as SCOPE_HELPERS, Scopes};
pub use self::subscriptions::{
    KeptSubscription, LifecycleAction, Renewal, SubscriptionKeeper, max_lifetime,
};
pub use self::throttling::{GraphErrorExt, Throttle, outlook_limits};
pub use self::times::{DateTimeTimeZone, EventTimes, TimeZoneName, WindowsZone};
pub use self::upload::{
    AttachmentUploadBuilder, CHUNK_UNIT, DEFAULT_CHUNK_SIZE, DEFAULT_SMALL_UPLOAD_LIMIT,
    MAX_ATTACHMENT_CHUNK_SIZE, MAX_CHUNK_SIZE, MIB, Progress, Upload, UploadBuilder, UploadError,
    UploadSessionState, UploadSource, Uploaded, UploadedAttachment,
};
pub use crate::runtime::oauth::AuthorizationRequest;

use crate::runtime::{ApiProfile, retry};

/// What the runtime needs to know about Graph beyond its spec.
pub(crate) static PROFILE: ApiProfile = ApiProfile {
    spec: &spec::API,
    error_body: crate::error::error_details::<types::Error>,
    formats: &[],
    check: |_, _, _| Ok(()),
    classify: retry::standard,
};

/// Graph's error body (`error.code`, `error.message`, `innerError`) or the
/// identity platform's (`error`, `error_description`).
impl crate::ErrorBody for types::Error {
    fn code(&self) -> Option<String> {
        match &self.error {
            Some(types::ErrorValue::MainError(e)) => e.code.clone().filter(|c| !c.is_empty()),
            Some(types::ErrorValue::String(code)) => Some(code.clone()),
            None => None,
        }
    }

    fn message(&self) -> String {
        if let Some(d) = &self.error_description {
            return d.clone();
        }
        match &self.error {
            Some(types::ErrorValue::MainError(e)) => {
                // The request id is the error's own field (shown by its
                // Display); the other diagnostics go with the message.
                let mut message = e.message.clone().unwrap_or_default();
                if let Some(inner) = &e.inner_error {
                    for (name, value) in [
                        ("client-request-id", &inner.client_request_id),
                        ("date", &inner.date),
                    ] {
                        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                            message.push_str(&format!(" ({name} {value})"));
                        }
                    }
                }
                message
            }
            Some(types::ErrorValue::String(code)) => code.clone(),
            None => String::new(),
        }
    }

    fn request_id(&self) -> Option<String> {
        match &self.error {
            Some(types::ErrorValue::MainError(e)) => e
                .inner_error
                .as_ref()
                .and_then(|i| i.request_id.clone())
                .filter(|id| !id.is_empty()),
            _ => None,
        }
    }

    fn fields(&self) -> Vec<crate::FieldError> {
        match &self.error {
            Some(types::ErrorValue::MainError(e)) => e
                .details
                .iter()
                .map(|d| crate::FieldError {
                    field: d.target.clone().unwrap_or_default(),
                    message: d.message.clone().unwrap_or_default(),
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}
