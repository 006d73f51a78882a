//! Mail folders and messages: the well-known folders (`inbox`, `drafts`,
//! `sentitems`, `deleteditems`, `junkemail`, `outbox`, `archive`, usable by
//! name wherever a folder id goes), child folders, messages listed (newest
//! first) and read, drafts created and changed, deletes (into Deleted Items,
//! then for good), delta rounds of a folder's messages and of the folders,
//! Focused Inbox overrides and mailbox settings. Sending, replies, moves and
//! attachments are in [`super::mail_send`].

use chrono::{Duration, Utc};
use http::StatusCode;
use serde_json::{Map, Value, json};

use super::dispatch::{Ctx, Req};
use super::errors::{GraphErr, Outcome, created, invalid, no_content, not_found, ok};
use super::pages::{Round, outlook_removed};
use super::store::{Row, Store, UserRow, outlook_id};
use super::subscriptions::Watch;
use super::times::fmt_utc;

/// The well-known folders seeded in every mailbox: (name, display name).
pub(super) const WELL_KNOWN: &[(&str, &str)] = &[
    ("inbox", "Inbox"),
    ("drafts", "Drafts"),
    ("sentitems", "Sent Items"),
    ("deleteditems", "Deleted Items"),
    ("junkemail", "Junk Email"),
    ("outbox", "Outbox"),
    ("archive", "Archive"),
];

/// Properties a client may set on a message (`MessageInput`).
const WRITABLE: &[&str] = &[
    "subject",
    "body",
    "importance",
    "inferenceClassification",
    "categories",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "replyTo",
    "from",
    "sender",
    "flag",
    "isRead",
    "isReadReceiptRequested",
    "isDeliveryReceiptRequested",
    "internetMessageId",
    "internetMessageHeaders",
];

impl Store {
    /// The mail operations.
    pub(super) fn mail(&mut self, ctx: &Ctx<'_>, req: &Req) -> Outcome {
        let user = req.user(self, "mailbox")?;
        // A message named below a folder must be in that folder.
        if req.has_param("mail_folder_id") && req.has_param("message_id") {
            let folder = self.folder_id(&user, req.param("mail_folder_id"))?;
            let id = req.param("message_id");
            if self.messages.find(&user, id)?.parent != folder {
                return Err(not_found(id));
            }
        }
        match req.op.id {
            "list_mail_folders" => self.list_folders(ctx, req, &user, None),
            "list_child_folders" => {
                let parent = self.folder_id(&user, req.param("mail_folder_id"))?;
                self.list_folders(ctx, req, &user, Some(parent))
            }
            "create_mail_folder" => {
                let root = self.folder_id(&user, "msgfolderroot")?;
                self.create_folder(req, &user, &root)
            }
            "create_child_folder" => {
                let parent = self.folder_id(&user, req.param("mail_folder_id"))?;
                self.create_folder(req, &user, &parent)
            }
            "get_mail_folder" => {
                let id = self.folder_id(&user, req.param("mail_folder_id"))?;
                ok(self.show_folder(self.mail_folders.find(&user, &id)?))
            }
            "update_mail_folder" => self.update_folder(req, &user),
            "delete_mail_folder" => self.delete_folder(req, &user),
            "mail_folder_delta" => {
                let show = |r: &Row| self.show_folder(r);
                ctx.delta(
                    req,
                    &Round {
                        table: &self.mail_folders,
                        owner: &user,
                        schema: "MailFolder",
                        token: "$deltatoken",
                        scope: &|r: &Row| !r.parent.is_empty(),
                        left: &|_| true,
                        show: &show,
                        removed: &outlook_removed,
                    },
                )
            }
            "list_messages" => {
                let items = self.messages.of(&user).map(Row::value).collect();
                ctx.list(req, "Message", newest_first(items))
            }
            "list_folder_messages" => {
                let folder = self.folder_id(&user, req.param("mail_folder_id"))?;
                let items = self
                    .messages
                    .within(&user, &folder)
                    .map(Row::value)
                    .collect();
                ctx.list(req, "Message", newest_first(items))
            }
            "message_delta" => self.message_delta(ctx, req, &user),
            "get_message" | "get_folder_message" => {
                let row = self.messages.find(&user, req.param("message_id"))?;
                let mut message = row.value();
                if req.q("$expand").is_some_and(|e| e.contains("attachments")) {
                    message["attachments"] = json!(self.attachments_of(&user, row.id()));
                }
                ctx.one(req, "Message", message)
            }
            "create_message" => {
                let drafts = self.folder_id(&user, "drafts")?;
                self.create_message(req, &user, &drafts)
            }
            "create_folder_message" => {
                let folder = self.folder_id(&user, req.param("mail_folder_id"))?;
                self.create_message(req, &user, &folder)
            }
            "update_message" | "update_folder_message" => self.update_message(req, &user),
            "delete_message" | "delete_folder_message" => {
                self.delete_message(&user, req.param("message_id"))
            }
            "list_inference_overrides" => {
                let items = self.overrides.of(&user).map(Row::value).collect();
                ctx.list(req, "InferenceClassificationOverride", items)
            }
            "create_inference_override" => {
                let mut json = Map::new();
                json.insert("id".into(), json!(outlook_id()));
                json.insert("classifyAs".into(), req.field("classifyAs").clone());
                let sender = req.field("senderEmailAddress").clone();
                json.insert("senderEmailAddress".into(), sender);
                created(self.overrides.insert(&user, "", json))
            }
            "update_inference_override" => {
                let body = req.body.clone();
                ok(self
                    .overrides
                    .update(&user, req.param("override_id"), |r| {
                        if let Some(c) = body.get("classifyAs") {
                            r.json.insert("classifyAs".into(), c.clone());
                        }
                    })?)
            }
            "delete_inference_override" => {
                self.overrides.remove(&user, req.param("override_id"))?;
                no_content()
            }
            "get_mailbox_settings" => ok(self.settings.get(&user).cloned().unwrap_or(json!({}))),
            "update_mailbox_settings" => {
                let settings = self.settings.entry(user).or_insert_with(|| json!({}));
                merge(settings, &req.body);
                ok(settings.clone())
            }
            _ => self.mail_send(ctx, req, &user),
        }
    }

    /// The id of `user`'s folder `raw`: an id, or a well-known name.
    pub(super) fn folder_id(&self, user: &str, raw: &str) -> Result<String, GraphErr> {
        if let Some(id) = self.well_known_folder(user, raw) {
            return Ok(id);
        }
        self.mail_folders
            .get(user, raw)
            .map(|r| r.id().to_string())
            .ok_or_else(|| not_found(raw))
    }

    /// A folder as Graph shows it, with its counts.
    fn show_folder(&self, row: &Row) -> Value {
        let mut folder = row.value();
        let id = row.id();
        let messages = self.messages.within(&row.owner, id);
        let (total, unread) = messages.fold((0, 0), |(t, u), m| {
            (
                t + 1,
                u + usize::from(m.json.get("isRead") == Some(&Value::Bool(false))),
            )
        });
        folder["childFolderCount"] = json!(self.mail_folders.within(&row.owner, id).count());
        folder["totalItemCount"] = json!(total);
        folder["unreadItemCount"] = json!(unread);
        folder
    }

    fn list_folders(
        &self,
        ctx: &Ctx<'_>,
        req: &Req,
        user: &str,
        parent: Option<String>,
    ) -> Outcome {
        let root = self.folder_id(user, "msgfolderroot")?;
        let parent = parent.unwrap_or(root);
        let items = self
            .mail_folders
            .within(user, &parent)
            .map(|r| self.show_folder(r))
            .collect();
        ctx.list(req, "MailFolder", items)
    }

    fn create_folder(&mut self, req: &Req, user: &str, parent: &str) -> Outcome {
        let name = req.text("displayName").trim().to_string();
        if name.is_empty() {
            return Err(invalid("The folder's displayName must not be empty."));
        }
        let taken = self
            .mail_folders
            .within(user, parent)
            .any(|r| r.text("displayName").eq_ignore_ascii_case(&name));
        if taken {
            return Err(GraphErr::new(
                StatusCode::CONFLICT,
                "ErrorFolderExists",
                "A folder with the specified name already exists.",
            ));
        }
        let json = folder_json(&name, parent, "");
        let row = self.mail_folders.insert(user, parent, json);
        let shown = self.show_folder(
            self.mail_folders
                .find(user, row["id"].as_str().unwrap_or(""))?,
        );
        created(shown)
    }

    fn update_folder(&mut self, req: &Req, user: &str) -> Outcome {
        let id = self.folder_id(user, req.param("mail_folder_id"))?;
        let name = req.field("displayName").as_str().map(str::to_string);
        self.mail_folders.update(user, &id, |r| {
            if let Some(name) = name {
                r.json.insert("displayName".into(), json!(name));
            }
        })?;
        ok(self.show_folder(self.mail_folders.find(user, &id)?))
    }

    fn delete_folder(&mut self, req: &Req, user: &str) -> Outcome {
        let id = self.folder_id(user, req.param("mail_folder_id"))?;
        if !self
            .mail_folders
            .find(user, &id)?
            .text("_wellKnownName")
            .is_empty()
        {
            return Err(GraphErr::new(
                StatusCode::FORBIDDEN,
                "ErrorDeleteDistinguishedFolder",
                "Distinguished folders cannot be deleted.",
            ));
        }
        let mut doomed = vec![id];
        let mut i = 0;
        while let Some(folder) = doomed.get(i).cloned() {
            let children: Vec<String> = self
                .mail_folders
                .within(user, &folder)
                .map(|r| r.id().to_string())
                .collect();
            doomed.extend(children);
            i += 1;
        }
        for folder in doomed {
            let messages: Vec<String> = self
                .messages
                .within(user, &folder)
                .map(|r| r.id().to_string())
                .collect();
            for m in messages {
                self.messages.remove(user, &m)?;
                self.changed(Watch::Messages, user, &folder, &m, "deleted");
            }
            self.mail_folders.remove(user, &folder)?;
        }
        no_content()
    }

    fn message_delta(&self, ctx: &Ctx<'_>, req: &Req, user: &str) -> Outcome {
        let folder = self.folder_id(user, req.param("mail_folder_id"))?;
        let wanted = req.q("changeType").map(str::to_ascii_lowercase);
        let show = |r: &Row| r.value();
        let in_folder = |r: &Row| {
            r.parent == folder
                && match wanted.as_deref() {
                    Some("created") => r.json.get("_createdSeq") == Some(&json!(r.seq)),
                    Some("deleted") => false,
                    _ => true,
                }
        };
        let left = |g: &super::store::Gone| {
            g.parent == folder && matches!(wanted.as_deref(), None | Some("deleted"))
        };
        ctx.delta(
            req,
            &Round {
                table: &self.messages,
                owner: user,
                schema: "Message",
                token: "$deltatoken",
                scope: &in_folder,
                left: &left,
                show: &show,
                removed: &outlook_removed,
            },
        )
    }

    fn create_message(&mut self, req: &Req, user: &str, folder: &str) -> Outcome {
        let owner = self.user_by_id(user)?.clone();
        let input = req.body.as_object().cloned().unwrap_or_default();
        let mut json = message_json(&owner, folder, true);
        apply_input(&mut json, &input);
        let message = self.messages.insert(user, folder, json);
        let id = message["id"].as_str().unwrap_or("").to_string();
        self.mark_created(user, &id);
        if let Some(Value::Array(attachments)) = input.get("attachments") {
            for a in attachments {
                self.add_attachment_json(user, &id, a)?;
            }
        }
        self.changed(Watch::Messages, user, folder, &id, "created");
        created(self.messages.find(user, &id)?.value())
    }

    /// Remembers the change number a message was created with (for
    /// `changeType=created` delta rounds).
    pub(super) fn mark_created(&mut self, user: &str, id: &str) {
        if let Some(row) = self
            .messages
            .rows
            .iter_mut()
            .find(|r| r.owner == user && r.id() == id)
        {
            row.json.insert("_createdSeq".into(), json!(row.seq));
        }
    }

    fn update_message(&mut self, req: &Req, user: &str) -> Outcome {
        let id = req.param("message_id");
        let input = req.body.as_object().cloned().unwrap_or_default();
        let folder = self.messages.find(user, id)?.parent.clone();
        let message = self
            .messages
            .update(user, id, |r| apply_input(&mut r.json, &input))?;
        self.changed(Watch::Messages, user, &folder, id, "updated");
        ok(message)
    }

    /// Deletes a message: into Deleted Items, or for good from there.
    pub(super) fn delete_message(&mut self, user: &str, id: &str) -> Outcome {
        let deleted = self.folder_id(user, "deleteditems")?;
        let folder = self.messages.find(user, id)?.parent.clone();
        if folder == deleted {
            self.messages.remove(user, id)?;
            self.attachments
                .rows
                .retain(|a| !(a.owner == user && a.parent == id));
        } else {
            self.messages.update(user, id, |r| {
                r.parent = deleted.clone();
                r.json.insert("parentFolderId".into(), json!(deleted));
            })?;
            // Gone from the folder's point of view, as Outlook's delta says it.
            if let Some(gone) = self.messages.gone.last_mut() {
                gone.reason = "deleted";
            }
            self.changed(Watch::Messages, user, &deleted, id, "created");
        }
        self.changed(Watch::Messages, user, &folder, id, "deleted");
        no_content()
    }

    /// Seeds `user`'s folders and `messages` messages in the inbox.
    pub(super) fn seed_mailbox(&mut self, user: &UserRow, messages: usize) {
        let root = self.mail_folders.insert(
            &user.id,
            "",
            folder_json("Top of Information Store", "", "msgfolderroot"),
        );
        let root = root["id"].as_str().unwrap_or("").to_string();
        for (name, display) in WELL_KNOWN {
            self.mail_folders
                .insert(&user.id, &root, folder_json(display, &root, name));
        }
        let inbox = self
            .well_known_folder(&user.id, "inbox")
            .unwrap_or_default();
        let sender =
            json!({"emailAddress": {"name": "Megan Bowen", "address": "megan@contoso.com"}});
        let now = Utc::now();
        for i in 0..messages {
            let mut json = message_json(user, &inbox, false);
            let received = fmt_utc(now - Duration::minutes(i64::try_from(i).unwrap_or(0) + 1));
            let subject = format!("Welcome message {}", i + 1);
            let text = format!(
                "Hello {}, this is message {} of your sandbox inbox.",
                user.name,
                i + 1
            );
            for (k, v) in [
                ("subject", json!(subject)),
                ("body", json!({"contentType": "text", "content": text})),
                ("bodyPreview", json!(text)),
                ("from", sender.clone()),
                ("sender", sender.clone()),
                ("toRecipients", json!([{"emailAddress": user.address()}])),
                ("receivedDateTime", json!(received)),
                ("sentDateTime", json!(received)),
                ("createdDateTime", json!(received)),
                ("isRead", json!(i % 2 == 1)),
            ] {
                json.insert(k.into(), v);
            }
            self.messages.insert(&user.id, &inbox, json);
        }
        self.settings.insert(user.id.clone(), json!({
            "archiveFolder": self.well_known_folder(&user.id, "archive"),
            "timeZone": "UTC",
            "dateFormat": "yyyy-MM-dd",
            "timeFormat": "HH:mm",
            "language": {"locale": "en-US", "displayName": "English (United States)"},
            "automaticRepliesSetting": {"status": "disabled", "externalAudience": "all",
                "internalReplyMessage": "", "externalReplyMessage": ""},
            "workingHours": {"daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                "startTime": "08:00:00.0000000", "endTime": "17:00:00.0000000",
                "timeZone": {"name": "UTC"}},
            "delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
            "userPurpose": "user",
        }));
    }
}

/// A mail folder's stored JSON (`well_known` empty for a folder of the user's).
fn folder_json(name: &str, parent: &str, well_known: &str) -> Map<String, Value> {
    let json = json!({
        "id": outlook_id(),
        "displayName": name,
        "parentFolderId": parent,
        "isHidden": false,
        "_wellKnownName": well_known,
    });
    json.as_object().cloned().unwrap_or_default()
}

/// A new message of `owner` in `folder`, empty but for its fixed properties.
pub(super) fn message_json(owner: &UserRow, folder: &str, draft: bool) -> Map<String, Value> {
    let now = fmt_utc(Utc::now());
    let id = outlook_id();
    let json = json!({
        "@odata.etag": "",
        "id": id,
        "createdDateTime": now,
        "lastModifiedDateTime": now,
        "changeKey": "",
        "categories": [],
        "receivedDateTime": now,
        "sentDateTime": if draft { Value::Null } else { json!(now) },
        "hasAttachments": false,
        "internetMessageId": format!("<{}@sandbox.contoso.com>", &id[6..22]),
        "subject": "",
        "bodyPreview": "",
        "importance": "normal",
        "parentFolderId": folder,
        "conversationId": format!("AAQkAG{}=", &id[6..30]),
        "isDeliveryReceiptRequested": false,
        "isReadReceiptRequested": false,
        "isRead": true,
        "isDraft": draft,
        "webLink": format!("https://outlook.office365.com/owa/?ItemID={id}&exvsurl=1&viewmodel=ReadMessageItem"),
        "inferenceClassification": "focused",
        "body": {"contentType": "text", "content": ""},
        "sender": {"emailAddress": owner.address()},
        "from": {"emailAddress": owner.address()},
        "toRecipients": [],
        "ccRecipients": [],
        "bccRecipients": [],
        "replyTo": [],
        "flag": {"flagStatus": "notFlagged"},
    });
    json.as_object().cloned().unwrap_or_default()
}

/// Sets the writable properties of `input` on a message, and its preview.
pub(super) fn apply_input(json: &mut Map<String, Value>, input: &Map<String, Value>) {
    for key in WRITABLE {
        if let Some(v) = input.get(*key) {
            json.insert((*key).to_string(), v.clone());
        }
    }
    let content = json
        .get("body")
        .and_then(|b| b.get("content"))
        .and_then(Value::as_str)
        .unwrap_or("");
    json.insert("bodyPreview".into(), json!(preview(content)));
}

/// The first 255 characters of a body's text, tags left out.
fn preview(content: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in content.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(255)
        .collect()
}

/// Messages newest first (Outlook's default order).
fn newest_first(mut items: Vec<Value>) -> Vec<Value> {
    items.sort_by(|a, b| {
        b["receivedDateTime"]
            .as_str()
            .cmp(&a["receivedDateTime"].as_str())
    });
    items
}

/// Merges `patch` into `target` (objects key by key, anything else replaced).
pub(super) fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (t, p) => *t = p.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_drop_tags_and_merges_go_deep() {
        assert_eq!(
            preview("<p>Hello <b>you</b></p>\n there"),
            "Hello you there"
        );
        let mut v = json!({"a": {"b": 1, "c": 2}, "d": 3});
        merge(&mut v, &json!({"a": {"b": 5}, "d": null}));
        assert_eq!(v, json!({"a": {"b": 5, "c": 2}, "d": null}));
    }
}
