//! What mail does beyond storing messages: sending (`sendMail`, a draft's
//! `send`), replies and forwards (as drafts, or sent at once), moves and
//! copies between folders, attachments (small ones in the request, large
//! ones through an upload session) and the MIME text of a message.
//!
//! A sent message lands in the sender's Sent Items (unless
//! `saveToSentItems` is false) and, unread, in the inbox of every recipient
//! who is a user of the sandbox; other addresses are accepted and dropped.

use base64::Engine as _;
use chrono::Utc;
use http::StatusCode;
use serde_json::{Map, Value, json};

use super::dispatch::{Ctx, Req, not_implemented};
use super::errors::{GraphErr, Outcome, accepted, bad_request, created, invalid, no_content, ok};
use super::mail::{apply_input, message_json};
use super::store::{Row, Store, UploadTarget, outlook_id};
use super::subscriptions::Watch;
use super::times::fmt_utc;
use crate::sandbox::engine::Response;

/// The largest attachment sent in the request itself (Graph's 3 MB).
const MAX_INLINE_ATTACHMENT: usize = 3 * 1024 * 1024;

impl Store {
    /// Sending, replies, moves, attachments and MIME.
    pub(super) fn mail_send(&mut self, ctx: &Ctx<'_>, req: &Req, user: &str) -> Outcome {
        let id = req.param("message_id");
        match req.op.id {
            "send_mail" => {
                let input = req
                    .field("message")
                    .as_object()
                    .cloned()
                    .unwrap_or_default();
                let save = req.field("saveToSentItems").as_bool().unwrap_or(true);
                let sender = self.user_by_id(user)?.clone();
                let drafts = self.folder_id(user, "drafts")?;
                let mut json = message_json(&sender, &drafts, true);
                apply_input(&mut json, &input);
                let attachments = input
                    .get("attachments")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for a in &attachments {
                    attachment_json(a)?;
                }
                self.send(user, json, &attachments, save)?;
                accepted()
            }
            "send_message" => {
                let row = self.messages.find(user, id)?.clone();
                if row.json.get("isDraft") != Some(&Value::Bool(true)) {
                    return Err(bad_request(
                        "ErrorInvalidOperation",
                        "Only draft messages can be sent.",
                    ));
                }
                let attachments = self.attachments_of(user, id);
                self.messages.remove(user, id)?;
                self.attachments
                    .rows
                    .retain(|a| !(a.owner == user && a.parent == id));
                self.changed(Watch::Messages, user, &row.parent, id, "deleted");
                self.send(user, row.json, &attachments, true)?;
                accepted()
            }
            "create_reply" | "create_reply_all" | "create_forward" => {
                let draft = self.reply_draft(req, user)?;
                created(draft)
            }
            "reply_message" | "reply_all_message" | "forward_message" => {
                let draft = self.reply_draft(req, user)?;
                let draft_id = draft["id"].as_str().unwrap_or("").to_string();
                let row = self.messages.remove(user, &draft_id)?;
                let attachments = self.attachments_of(user, &draft_id);
                self.attachments
                    .rows
                    .retain(|a| !(a.owner == user && a.parent == draft_id));
                self.send(user, row.json, &attachments, true)?;
                accepted()
            }
            "move_message" | "copy_message" => {
                let destination = req.text("destinationId");
                let folder = self
                    .folder_id(user, destination)
                    .map_err(|_| bad_request("ErrorInvalidIdMalformed", "Id is malformed."))?;
                if req.op.id == "move_message" {
                    let message = self.messages.update(user, id, |r| {
                        r.parent = folder.clone();
                        r.json.insert("parentFolderId".into(), json!(folder));
                    })?;
                    self.changed(Watch::Messages, user, &folder, id, "updated");
                    return created(message);
                }
                let source = self.messages.find(user, id)?.json.clone();
                let copy = self.store_copy(user, &folder, source, |_| {});
                for a in self.attachments_of(user, id) {
                    self.add_attachment_json(user, &copy, &a)?;
                }
                created(self.messages.find(user, &copy)?.value())
            }
            "list_attachments" => {
                self.messages.find(user, id)?;
                ctx.list(req, "Attachment", self.attachments_of(user, id))
            }
            "add_attachment" => {
                self.messages.find(user, id)?;
                let attachment = self.add_attachment_json(user, id, &req.body)?;
                created(attachment)
            }
            "get_attachment" => ok(self
                .attachment(user, id, req.param("attachment_id"))?
                .value()),
            "get_attachment_value" => {
                let row = self.attachment(user, id, req.param("attachment_id"))?;
                let bytes = decode_bytes(row.text("contentBytes"))?;
                let media = match row.text("contentType") {
                    "" => "application/octet-stream",
                    m => m,
                };
                Ok(Response::new(StatusCode::OK, media, bytes))
            }
            "delete_attachment" => {
                let attachment_id = req.param("attachment_id").to_string();
                self.attachment(user, id, &attachment_id)?;
                self.attachments.remove(user, &attachment_id)?;
                let left = self.attachments.within(user, id).count();
                self.messages.update(user, id, |r| {
                    r.json.insert("hasAttachments".into(), json!(left > 0));
                })?;
                no_content()
            }
            "create_attachment_upload_session" => {
                self.messages.find(user, id)?;
                let item = req.field("AttachmentItem");
                let name = item["name"].as_str().unwrap_or("attachment").to_string();
                let target = UploadTarget::Attachment {
                    user: user.to_string(),
                    message: id.to_string(),
                    name,
                    content_type: item["contentType"]
                        .as_str()
                        .unwrap_or("application/octet-stream")
                        .to_string(),
                };
                let total = item["size"].as_u64();
                created(self.new_upload(ctx, target, total))
            }
            "get_message_mime" => {
                let row = self.messages.find(user, id)?;
                Ok(Response::new(StatusCode::OK, "text/plain", mime(row)))
            }
            other => Err(not_implemented("mail", other)),
        }
    }

    /// Sends `json` (a message of `user`): into Sent Items when `save`, and
    /// into the inbox of each recipient who is a user here.
    fn send(
        &mut self,
        user: &str,
        json: Map<String, Value>,
        attachments: &[Value],
        save: bool,
    ) -> Result<(), GraphErr> {
        let recipients: Vec<String> = ["toRecipients", "ccRecipients", "bccRecipients"]
            .iter()
            .filter_map(|k| json.get(*k).and_then(Value::as_array))
            .flatten()
            .filter_map(|r| r["emailAddress"]["address"].as_str().map(str::to_string))
            .collect();
        if recipients.is_empty() {
            return Err(bad_request(
                "ErrorInvalidRecipients",
                "At least one recipient is not valid., Recipient is missing.",
            ));
        }
        let now = json!(fmt_utc(Utc::now()));
        let sent = |r: &mut Map<String, Value>| {
            r.insert("isDraft".into(), json!(false));
            r.insert("sentDateTime".into(), now.clone());
            r.insert("receivedDateTime".into(), now.clone());
        };
        if save {
            let folder = self.folder_id(user, "sentitems")?;
            let copy = self.store_copy(user, &folder, json.clone(), sent);
            for a in attachments {
                self.add_attachment_json(user, &copy, a)?;
            }
        }
        let mut delivered: Vec<String> = Vec::new();
        for address in recipients {
            let Some(to) = self.user(&address).map(|u| u.id.clone()) else {
                continue;
            };
            if delivered.contains(&to) {
                continue;
            }
            delivered.push(to.clone());
            let inbox = self.folder_id(&to, "inbox")?;
            let copy = self.store_copy(&to, &inbox, json.clone(), |r| {
                sent(r);
                r.insert("isRead".into(), json!(false));
            });
            for a in attachments {
                self.add_attachment_json(&to, &copy, a)?;
            }
        }
        Ok(())
    }

    /// Stores a copy of message `json` for `user` in `folder` with a new id,
    /// changed by `change`; its id.
    fn store_copy(
        &mut self,
        user: &str,
        folder: &str,
        mut json: Map<String, Value>,
        change: impl FnOnce(&mut Map<String, Value>),
    ) -> String {
        let id = outlook_id();
        json.insert("id".into(), json!(id));
        json.insert("parentFolderId".into(), json!(folder));
        json.insert("hasAttachments".into(), json!(false));
        change(&mut json);
        self.messages.insert(user, folder, json);
        self.mark_created(user, &id);
        self.changed(Watch::Messages, user, folder, &id, "created");
        id
    }

    /// A reply, reply-all or forward draft of message `message_id`, in Drafts.
    fn reply_draft(&mut self, req: &Req, user: &str) -> Result<Value, GraphErr> {
        let original = self.messages.find(user, req.param("message_id"))?.clone();
        let me = self.user_by_id(user)?.clone();
        let drafts = self.folder_id(user, "drafts")?;
        let mut json = message_json(&me, &drafts, true);
        let subject = original.text("subject");
        let from = original.json.get("from").cloned().unwrap_or(Value::Null);
        let not_me = |r: &&Value| {
            r["emailAddress"]["address"]
                .as_str()
                .is_none_or(|a| !a.eq_ignore_ascii_case(&me.principal))
        };
        let forward = req.op.id.contains("forward");
        let (prefix, to) = if forward {
            ("FW: ", req.field("toRecipients").clone())
        } else if req.op.id.contains("all") {
            let mut to = vec![from];
            if let Some(others) = original.json.get("toRecipients").and_then(Value::as_array) {
                to.extend(others.iter().filter(not_me).cloned());
            }
            let cc: Vec<Value> = original
                .json
                .get("ccRecipients")
                .and_then(Value::as_array)
                .map(|c| c.iter().filter(not_me).cloned().collect())
                .unwrap_or_default();
            json.insert("ccRecipients".into(), json!(cc));
            ("RE: ", json!(to))
        } else {
            ("RE: ", json!([from]))
        };
        let comment = req.text("comment");
        let quoted = original
            .json
            .get("body")
            .and_then(|b| b["content"].as_str())
            .unwrap_or("");
        json.insert("subject".into(), json!(format!("{prefix}{subject}")));
        json.insert(
            "toRecipients".into(),
            if to.is_null() { json!([]) } else { to },
        );
        json.insert(
            "body".into(),
            json!({"contentType": "text", "content": format!("{comment}\n\n{quoted}")}),
        );
        json.insert(
            "conversationId".into(),
            original
                .json
                .get("conversationId")
                .cloned()
                .unwrap_or(Value::Null),
        );
        if let Some(input) = req.field("message").as_object() {
            apply_input(&mut json, input);
        } else {
            apply_input(&mut json, &Map::new());
        }
        let draft = self.messages.insert(user, &drafts, json);
        let draft_id = draft["id"].as_str().unwrap_or("").to_string();
        self.mark_created(user, &draft_id);
        if forward {
            for a in self.attachments_of(user, original.id()) {
                self.add_attachment_json(user, &draft_id, &a)?;
            }
        }
        self.changed(Watch::Messages, user, &drafts, &draft_id, "created");
        Ok(self.messages.find(user, &draft_id)?.value())
    }

    /// The attachments of a message, as Graph shows them.
    pub(super) fn attachments_of(&self, user: &str, message: &str) -> Vec<Value> {
        self.attachments
            .within(user, message)
            .map(Row::value)
            .collect()
    }

    fn attachment(&self, user: &str, message: &str, id: &str) -> Result<&Row, GraphErr> {
        self.messages.find(user, message)?;
        self.attachments
            .within(user, message)
            .find(|a| a.id() == id)
            .ok_or_else(|| super::errors::not_found(id))
    }

    /// Adds attachment `input` (an `attachment` body) to a message; as shown.
    pub(super) fn add_attachment_json(
        &mut self,
        user: &str,
        message: &str,
        input: &Value,
    ) -> Result<Value, GraphErr> {
        let mut json = attachment_json(input)?;
        json.insert("id".into(), json!(outlook_id()));
        let shown = self.attachments.insert(user, message, json);
        self.messages.update(user, message, |r| {
            r.json.insert("hasAttachments".into(), json!(true));
        })?;
        Ok(shown)
    }
}

/// The stored JSON of an attachment from its input (its bytes checked).
fn attachment_json(input: &Value) -> Result<Map<String, Value>, GraphErr> {
    let kind = input["@odata.type"]
        .as_str()
        .unwrap_or("#microsoft.graph.fileAttachment");
    let bytes = match kind {
        "#microsoft.graph.fileAttachment" => {
            decode_bytes(input["contentBytes"].as_str().unwrap_or(""))?
        }
        "#microsoft.graph.itemAttachment" | "#microsoft.graph.referenceAttachment" => Vec::new(),
        other => {
            return Err(invalid(format!("'{other}' is not an attachment type.")));
        }
    };
    if bytes.len() > MAX_INLINE_ATTACHMENT {
        return Err(GraphErr::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "ErrorRequestEntityTooLarge",
            "The attachment is larger than 3 MB; use an upload session.",
        ));
    }
    let json = json!({
        "@odata.type": kind,
        "lastModifiedDateTime": fmt_utc(Utc::now()),
        "name": input["name"].as_str().unwrap_or("attachment"),
        "contentType": input["contentType"].as_str().unwrap_or("application/octet-stream"),
        "size": bytes.len(),
        "isInline": input["isInline"].as_bool().unwrap_or(false),
        "contentId": input.get("contentId").cloned().unwrap_or(Value::Null),
        "contentBytes": input["contentBytes"].as_str().unwrap_or(""),
    });
    Ok(json.as_object().cloned().unwrap_or_default())
}

/// Base64 bytes, or a 400.
pub(super) fn decode_bytes(text: &str) -> Result<Vec<u8>, GraphErr> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| bad_request("ErrorInvalidRequest", "contentBytes is not valid base64."))
}

/// A message as MIME text (headers, then the body).
fn mime(row: &Row) -> String {
    let address = |v: &Value| {
        let name = v["emailAddress"]["name"].as_str().unwrap_or("");
        let addr = v["emailAddress"]["address"].as_str().unwrap_or("");
        if name.is_empty() {
            addr.to_string()
        } else {
            format!("{name} <{addr}>")
        }
    };
    let list = |key: &str| {
        row.json
            .get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().map(address).collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    };
    let date = chrono::DateTime::parse_from_rfc3339(row.text("sentDateTime"))
        .map(|t| t.to_rfc2822())
        .unwrap_or_default();
    let html = row.json.get("body").and_then(|b| b["contentType"].as_str()) == Some("html");
    let content = row
        .json
        .get("body")
        .and_then(|b| b["content"].as_str())
        .unwrap_or("");
    format!(
        "From: {}\r\nTo: {}\r\nCc: {}\r\nSubject: {}\r\nDate: {date}\r\nMessage-ID: {}\r\nMIME-Version: 1.0\r\nContent-Type: text/{}; charset=\"utf-8\"\r\n\r\n{content}\r\n",
        address(row.json.get("from").unwrap_or(&Value::Null)),
        list("toRecipients"),
        list("ccRecipients"),
        row.text("subject"),
        row.text("internetMessageId"),
        if html { "html" } else { "plain" },
    )
}
