//! Upload sessions of large files (and of large message attachments): the
//! `uploadUrl` is on the sandbox, `/_upload/{session}`, outside the spec's
//! operations, and enforces what OneDrive documents:
//!
//! - it is pre-authenticated: a request that sends `Authorization` is 401;
//! - fragments go in order, each with `Content-Range: bytes {a}-{b}/{total}`
//!   and exactly `b - a + 1` bytes, the same total every time, at most
//!   60 MiB; a fragment that starts before the next expected byte (one
//!   already received) is 416 `invalidRange`, one that leaves a gap too;
//! - for files, every fragment but the last is a multiple of 320 KiB
//!   (327,680 bytes), else 400;
//! - `GET` answers the session's `nextExpectedRanges`, `DELETE` cancels it;
//! - after `expirationDateTime` (the builder's `upload_session_ttl`) the
//!   session is gone: 404;
//! - the last fragment answers 201 (or 200 for a replaced file) with the
//!   driveItem and its QuickXorHash; with `deferCommit` it answers 202 and
//!   an empty `POST` to the URL commits (201).

use base64::Engine as _;
use bytes::Bytes;
use chrono::Utc;
use http::StatusCode;
use serde_json::{Value, json};

use super::dispatch::{Ctx, Req, Shared};
use super::errors::{GraphErr, Outcome, bad_request, item_not_found, name_exists, unauthenticated};
use super::store::{Store, URL_SAFE, UploadRow, UploadTarget, random_text};
use super::times::fmt_utc;
use crate::sandbox::engine::{Request, Response};

/// Fragments of files are multiples of this, but for the last (320 KiB).
pub(super) const FRAGMENT_UNIT: u64 = 320 * 1024;
/// The largest fragment (60 MiB).
const MAX_FRAGMENT: u64 = 60 * 1024 * 1024;

impl Store {
    /// A new upload session for `target`; its JSON.
    pub(super) fn new_upload(
        &mut self,
        ctx: &Ctx<'_>,
        target: UploadTarget,
        total: Option<u64>,
    ) -> Value {
        let id = random_text(40, URL_SAFE);
        let ttl = chrono::Duration::from_std(ctx.config.upload_session_ttl)
            .unwrap_or_else(|_| chrono::Duration::hours(1));
        let expires_at = Utc::now() + ttl;
        self.uploads.insert(
            id.clone(),
            UploadRow {
                target,
                total,
                received: Vec::new(),
                expires_at,
                complete: false,
            },
        );
        json!({
            "uploadUrl": format!("{}/_upload/{id}", ctx.root),
            "expirationDateTime": fmt_utc(expires_at),
            "nextExpectedRanges": ["0-"],
        })
    }

    /// `createUploadSession` of a drive item.
    pub(super) fn create_file_upload(
        &mut self,
        ctx: &Ctx<'_>,
        req: &Req,
        drive: &str,
        raw: &str,
    ) -> Outcome {
        let target = self.target(drive, raw)?;
        let (parent, name) = self.parent_and_name(drive, &target)?;
        let item = req.field("item");
        if item["name"]
            .as_str()
            .is_some_and(|asked| !asked.eq_ignore_ascii_case(&name))
        {
            return Err(bad_request(
                "invalidRequest",
                "The item's name in the body differs from the one in the path.",
            ));
        }
        let conflict = item["@microsoft.graph.conflictBehavior"]
            .as_str()
            .unwrap_or("replace")
            .to_string();
        let exists = self
            .items
            .within(drive, &parent)
            .any(|r| r.text("name").eq_ignore_ascii_case(&name));
        if exists && conflict == "fail" {
            return Err(name_exists(&name));
        }
        let defer_commit = req.field("deferCommit").as_bool().unwrap_or(false);
        let total = item["fileSize"].as_u64();
        let target = UploadTarget::File {
            drive: drive.to_string(),
            parent,
            name,
            conflict,
            defer_commit,
        };
        super::errors::ok(self.new_upload(ctx, target, total))
    }

    /// Makes what a complete session holds: the file or the attachment.
    fn commit(&mut self, ctx: &Ctx<'_>, session: &UploadRow) -> Outcome {
        let bytes = Bytes::from(session.received.clone());
        match &session.target {
            UploadTarget::File {
                drive,
                parent,
                name,
                conflict,
                ..
            } => {
                let (status, item) = self.write_file(ctx, drive, parent, name, conflict, bytes)?;
                Ok(Response::json(status, &item))
            }
            UploadTarget::Attachment {
                user,
                message,
                name,
                content_type,
            } => {
                let input = json!({
                    "@odata.type": "#microsoft.graph.fileAttachment",
                    "name": name,
                    "contentType": content_type,
                    "size": bytes.len(),
                    "contentBytes": base64::engine::general_purpose::STANDARD.encode(&bytes),
                });
                let attachment = self.add_attachment_unchecked(user, message, &input)?;
                let location = format!(
                    "{}/v1.0/users/{user}/messages/{message}/attachments/{}",
                    ctx.root,
                    attachment["id"].as_str().unwrap_or("")
                );
                Ok(Response::empty(StatusCode::CREATED).with_header("location", &location))
            }
        }
    }

    /// Adds an attachment whose size an upload session already allowed.
    fn add_attachment_unchecked(
        &mut self,
        user: &str,
        message: &str,
        input: &Value,
    ) -> Result<Value, GraphErr> {
        let mut json = input.as_object().cloned().unwrap_or_default();
        json.insert("id".into(), json!(super::store::outlook_id()));
        json.insert("isInline".into(), json!(false));
        json.insert("lastModifiedDateTime".into(), json!(fmt_utc(Utc::now())));
        let shown = self.attachments.insert(user, message, json);
        self.messages.update(user, message, |r| {
            r.json.insert("hasAttachments".into(), json!(true));
        })?;
        Ok(shown)
    }
}

/// A request to an upload URL.
pub(super) fn session_request(shared: &Shared, request: &Request) -> Outcome {
    if request.header("authorization").is_some() {
        return Err(unauthenticated(
            "Upload URLs are pre-authenticated: send no Authorization header with the byte ranges.",
        ));
    }
    let id = request.path.trim_start_matches("/_upload/").to_string();
    let ctx = shared.ctx();
    shared.with_state(|store| {
        let session = store.uploads.get(&id).cloned().ok_or_else(gone)?;
        if session.expires_at <= Utc::now() {
            store.uploads.remove(&id);
            return Err(gone());
        }
        match request.method.as_str() {
            "GET" => Ok(status_json(StatusCode::OK, &session)),
            "DELETE" => {
                store.uploads.remove(&id);
                Ok(Response::empty(StatusCode::NO_CONTENT))
            }
            "POST" if session.complete && request.body.is_empty() => {
                store.uploads.remove(&id);
                store.commit(&ctx, &session)
            }
            "PUT" => {
                let updated = fragment(&session, request)?;
                if updated.complete && !deferred(&updated) {
                    store.uploads.remove(&id);
                    return store.commit(&ctx, &updated);
                }
                store.uploads.insert(id, updated.clone());
                Ok(status_json(StatusCode::ACCEPTED, &updated))
            }
            _ => Err(bad_request(
                "invalidRequest",
                "Upload URLs take PUT, GET, DELETE, and POST to commit.",
            )),
        }
    })
}

/// Whether the session waits for an explicit commit.
fn deferred(session: &UploadRow) -> bool {
    matches!(
        session.target,
        UploadTarget::File {
            defer_commit: true,
            ..
        }
    )
}

/// The session after fragment `request`, checked by the session's rules.
fn fragment(session: &UploadRow, request: &Request) -> Result<UploadRow, GraphErr> {
    let range = request.header("content-range").unwrap_or("");
    let (start, end, total) = parse_range(range).ok_or_else(|| {
        bad_request(
            "invalidRequest",
            format!("Content-Range `{range}` is not `bytes {{start}}-{{end}}/{{total}}`."),
        )
    })?;
    let length = end - start + 1;
    if request.body.len() as u64 != length {
        return Err(bad_request(
            "invalidRequest",
            format!(
                "The fragment has {} bytes; Content-Range says {length}.",
                request.body.len()
            ),
        ));
    }
    if session.total.is_some_and(|t| t != total) {
        return Err(bad_request(
            "invalidRequest",
            "Content-Range states a different total size than before.",
        ));
    }
    if end >= total {
        return Err(bad_request(
            "invalidRequest",
            "The fragment ends beyond the file's size.",
        ));
    }
    if length > MAX_FRAGMENT {
        return Err(bad_request(
            "invalidRequest",
            "A fragment may hold at most 60 MiB.",
        ));
    }
    let received = session.received.len() as u64;
    if start < received {
        return Err(range_error(
            "Uploaded fragment overlaps with existing data.",
        ));
    }
    if start > received {
        return Err(range_error(&format!(
            "Fragments go in order: the next expected byte is {received}."
        )));
    }
    let last = end + 1 == total;
    if !last && matches!(session.target, UploadTarget::File { .. }) && length % FRAGMENT_UNIT != 0 {
        return Err(bad_request(
            "invalidRequest",
            "Every fragment but the last must be a multiple of 320 KiB (327,680 bytes).",
        ));
    }
    let mut updated = session.clone();
    updated.total = Some(total);
    updated.received.extend_from_slice(&request.body);
    updated.complete = last;
    Ok(updated)
}

/// `bytes 0-25/128` as (0, 25, 128).
fn parse_range(raw: &str) -> Option<(u64, u64, u64)> {
    let rest = raw.trim().strip_prefix("bytes ")?;
    let (span, total) = rest.split_once('/')?;
    let (start, end) = span.split_once('-')?;
    let (start, end, total) = (start.parse().ok()?, end.parse().ok()?, total.parse().ok()?);
    (start <= end).then_some((start, end, total))
}

/// The session's state: when it expires and what it still expects.
fn status_json(status: StatusCode, session: &UploadRow) -> Response {
    let next: Vec<String> = if session.complete {
        Vec::new()
    } else {
        vec![format!("{}-", session.received.len())]
    };
    Response::json(
        status,
        &json!({"expirationDateTime": fmt_utc(session.expires_at), "nextExpectedRanges": next}),
    )
}

/// 416 `invalidRange`.
fn range_error(message: &str) -> GraphErr {
    GraphErr::new(StatusCode::RANGE_NOT_SATISFIABLE, "invalidRange", message)
}

/// 404 for a session that is unknown, cancelled, committed or expired.
fn gone() -> GraphErr {
    GraphErr {
        message: "The upload session was not found or has expired.".into(),
        ..item_not_found()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges_read_as_onedrive_writes_them() {
        assert_eq!(parse_range("bytes 0-25/128"), Some((0, 25, 128)));
        assert_eq!(parse_range("bytes 26-25/128"), None);
        assert_eq!(parse_range("bytes 0-25/*"), None);
        assert_eq!(parse_range("0-25/128"), None);
    }
}
