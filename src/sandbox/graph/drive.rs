//! OneDrive: drives (each user's, and the site's document library), items
//! reached by id, by path (`root:/a/b.txt:`, `items/{id}:/name:`) or as
//! special folders (made when first used), folders and their children,
//! renames and moves (a name taken is 409 `nameAlreadyExists` unless told to
//! `replace` or `rename`), deletes, small uploads (`PUT .../content`, which
//! keep the replaced content as a version), downloads (302 to a
//! pre-authenticated URL of the sandbox that honours `Range`) and delta
//! rounds of a folder's subtree. Every file carries the QuickXorHash of its
//! bytes. Sharing, copies, versions and search are in [`super::drive_share`];
//! upload sessions in [`super::upload`].

use bytes::Bytes;
use chrono::Utc;
use http::StatusCode;
use serde_json::{Map, Value, json};

use super::dispatch::{Ctx, Req, decode};
use super::errors::{
    GraphErr, Outcome, access_denied, bad_request, created, item_not_found, name_exists,
    no_content, ok,
};
use super::pages::Round;
use super::store::{Caller, Gone, Row, Store, item_id};
use super::subscriptions::Watch;
use super::times::fmt_utc;
use crate::graph::QuickXorHash;
use crate::sandbox::engine::{Request, Response};

/// The special folders Graph knows.
const SPECIAL: &[(&str, &str)] = &[
    ("documents", "Documents"),
    ("photos", "Pictures"),
    ("cameraroll", "Camera Roll"),
    ("approot", "Apps"),
    ("music", "Music"),
    ("recordings", "Recordings"),
];

/// Where an item path leads: an item that is there, or a new name in a folder.
#[derive(Debug, Clone)]
pub(super) enum Target {
    Existing(String),
    New { parent: String, name: String },
}

impl Store {
    /// The `owner` of drive `drive` (null for a drive not stored).
    pub(super) fn owner_of_drive(&self, drive: &str) -> Value {
        self.drives
            .rows
            .iter()
            .find(|d| d.id() == drive)
            .map_or(Value::Null, |d| d.json["owner"].clone())
    }

    /// The drive operations.
    pub(super) fn drive(&mut self, ctx: &Ctx<'_>, req: &Req) -> Outcome {
        if req.op.id == "list_drives" {
            let owner = self.drive_owner(req)?;
            let items = self.drives.of(&owner).map(Row::value).collect();
            return ctx.list(req, "Drive", items);
        }
        let drive = self.drive_id(req)?;
        if req.op.id == "get_drive" {
            return ok(self.show_drive(&drive)?);
        }
        let raw_item = req.param("item").to_string();
        match req.op.id {
            "upload_small" => {
                let conflict = req
                    .q("@microsoft.graph.conflictBehavior")
                    .unwrap_or("replace");
                let target = self.target(&drive, &raw_item)?;
                let (parent, name) = self.parent_and_name(&drive, &target)?;
                let bytes = req.raw.clone();
                let (status, item) =
                    self.write_file(ctx, &drive, &parent, &name, conflict, bytes)?;
                return Ok(Response::json(status, &item));
            }
            "create_upload_session" => return self.create_file_upload(ctx, req, &drive, &raw_item),
            _ => {}
        }
        let item = self.item(&drive, &raw_item)?;
        match req.op.id {
            "get_item" => ctx.one(req, "DriveItem", self.show_item(ctx, &drive, &item)?),
            "list_children" => {
                self.folder_of(&drive, &item)?;
                let mut children: Vec<&Row> = self.items.within(&drive, &item).collect();
                children.sort_by_key(|r| r.text("name").to_lowercase());
                let shown = children.iter().map(|r| self.show_row(ctx, r)).collect();
                ctx.list(req, "DriveItem", shown)
            }
            "create_folder" => {
                self.folder_of(&drive, &item)?;
                let name = req.text("name").trim().to_string();
                let conflict = req
                    .field("@microsoft.graph.conflictBehavior")
                    .as_str()
                    .unwrap_or("fail");
                let name = self.free_name(&drive, &item, &name, conflict)?;
                let id = self.add_item(&drive, &item, &name, None);
                created(self.show_item(ctx, &drive, &id)?)
            }
            "update_item" => self.update_item(ctx, req, &drive, &item),
            "delete_item" => {
                if self.items.find(&drive, &item)?.parent.is_empty() {
                    return Err(access_denied());
                }
                self.delete_tree(&drive, &item)?;
                no_content()
            }
            "download_item" => {
                let row = self.items.find(&drive, &item)?;
                if row.json.contains_key("folder") {
                    return Err(bad_request(
                        "invalidRequest",
                        "A folder has no content to download.",
                    ));
                }
                let url = format!("{}/_download/{drive}/{item}", ctx.root);
                Ok(Response::empty(StatusCode::FOUND).with_header("location", &url))
            }
            "item_delta" => {
                let show = |r: &Row| self.show_row(ctx, r);
                let within = |r: &Row| self.is_below(&drive, r.id(), &item);
                let removed = |g: &Gone| json!({"id": g.id, "deleted": {"state": "deleted"}, "parentReference": {"driveId": g.owner, "id": g.parent}});
                ctx.delta(
                    req,
                    &Round {
                        table: &self.items,
                        owner: &drive,
                        schema: "DriveItem",
                        token: "token",
                        scope: &within,
                        left: &|_| true,
                        show: &show,
                        removed: &removed,
                    },
                )
            }
            _ => self.drive_share(ctx, req, &drive, &item),
        }
    }

    /// The owner (user or site id) the `owner` path value names.
    fn drive_owner(&self, req: &Req) -> Result<String, GraphErr> {
        let raw = req.param("owner");
        if let Some(site) = raw.strip_prefix("sites/") {
            let site = decode(site);
            return self
                .sites
                .rows
                .iter()
                .find(|r| r.id() == site)
                .map(|r| r.id().to_string())
                .ok_or_else(item_not_found);
        }
        req.user(self, "owner")
    }

    /// The id of the drive the `drive` path value names.
    pub(super) fn drive_id(&self, req: &Req) -> Result<String, GraphErr> {
        let raw = req.param("drive");
        let user_drive = |id: &str| self.user_by_id(id).map(|u| u.drive_id.clone());
        if raw == "me/drive" {
            return match &req.caller {
                Caller::User(id) => user_drive(id),
                Caller::App => Err(bad_request(
                    "BadRequest",
                    "/me request is only valid with delegated authentication flow.",
                )),
            };
        }
        if let Some(id) = raw.strip_prefix("drives/") {
            let id = decode(id);
            let row = self
                .drives
                .rows
                .iter()
                .find(|r| r.id() == id)
                .ok_or_else(item_not_found)?;
            return match &req.caller {
                Caller::User(me) if self.user(&row.owner).is_some() && row.owner != *me => {
                    Err(access_denied())
                }
                _ => Ok(id),
            };
        }
        let Some(owner) = raw.strip_suffix("/drive") else {
            return Err(item_not_found());
        };
        if let Some(site) = owner.strip_prefix("sites/") {
            let site = decode(site);
            return self
                .drives
                .of(&site)
                .next()
                .map(|d| d.id().to_string())
                .ok_or_else(item_not_found);
        }
        let Some(user) = owner.strip_prefix("users/") else {
            return Err(item_not_found());
        };
        let user = self.user(&decode(user)).ok_or_else(item_not_found)?;
        match &req.caller {
            Caller::User(me) if *me != user.id => Err(access_denied()),
            _ => Ok(user.drive_id.clone()),
        }
    }

    /// The root folder's id of `drive`.
    pub(super) fn root_of(&self, drive: &str) -> Result<String, GraphErr> {
        self.items
            .within(drive, "")
            .next()
            .map(|r| r.id().to_string())
            .ok_or_else(item_not_found)
    }

    /// What the `item` path value leads to in `drive`.
    pub(super) fn target(&mut self, drive: &str, raw: &str) -> Result<Target, GraphErr> {
        let (base, path) = match raw.strip_suffix(':').and_then(|r| r.split_once(":/")) {
            Some((base, path)) => (base, Some(path)),
            None => (raw, None),
        };
        let mut at = if base == "root" {
            self.root_of(drive)?
        } else if let Some(id) = base.strip_prefix("items/") {
            let id = decode(id);
            self.items.find(drive, &id).map_err(|_| item_not_found())?;
            id
        } else if let Some(name) = base.strip_prefix("special/") {
            self.special(drive, name)?
        } else {
            return Err(item_not_found());
        };
        let Some(path) = path else {
            return Ok(Target::Existing(at));
        };
        let names: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(decode)
            .collect();
        for (i, name) in names.iter().enumerate() {
            let child = self
                .items
                .within(drive, &at)
                .find(|r| r.text("name").eq_ignore_ascii_case(name))
                .map(|r| r.id().to_string());
            match child {
                Some(id) => at = id,
                None if i + 1 == names.len() => {
                    return Ok(Target::New {
                        parent: at,
                        name: name.clone(),
                    });
                }
                None => return Err(item_not_found()),
            }
        }
        Ok(Target::Existing(at))
    }

    /// The id of the item the `item` path value names; 404 when none is there.
    pub(super) fn item(&mut self, drive: &str, raw: &str) -> Result<String, GraphErr> {
        match self.target(drive, raw)? {
            Target::Existing(id) => Ok(id),
            Target::New { .. } => Err(item_not_found()),
        }
    }

    /// The folder and name a write to `target` goes to.
    pub(super) fn parent_and_name(
        &self,
        drive: &str,
        target: &Target,
    ) -> Result<(String, String), GraphErr> {
        match target {
            Target::New { parent, name } => Ok((parent.clone(), name.clone())),
            Target::Existing(id) => {
                let row = self.items.find(drive, id)?;
                if row.json.contains_key("folder") {
                    return Err(bad_request(
                        "invalidRequest",
                        "The target is a folder; name the file to write.",
                    ));
                }
                Ok((row.parent.clone(), row.text("name").to_string()))
            }
        }
    }

    /// Special folder `name` of `drive`, made when first used.
    fn special(&mut self, drive: &str, name: &str) -> Result<String, GraphErr> {
        let (key, display) = SPECIAL
            .iter()
            .find(|(k, _)| *k == name)
            .ok_or_else(item_not_found)?;
        let root = self.root_of(drive)?;
        if let Some(id) = self
            .items
            .within(drive, &root)
            .find(|r| r.text("_special") == *key)
            .map(|r| r.id().to_string())
        {
            return Ok(id);
        }
        let id = self.add_item(drive, &root, display, None);
        self.items.update(drive, &id, |r| {
            r.json.insert("_special".into(), json!(key));
            r.json.insert("specialFolder".into(), json!({"name": key}));
        })?;
        Ok(id)
    }

    /// 400 unless item `id` is a folder.
    fn folder_of(&self, drive: &str, id: &str) -> Result<(), GraphErr> {
        if self.items.find(drive, id)?.json.contains_key("folder") {
            Ok(())
        } else {
            Err(bad_request("invalidRequest", "The item is not a folder."))
        }
    }

    /// Whether item `id` is `ancestor` or lies below it.
    fn is_below(&self, drive: &str, id: &str, ancestor: &str) -> bool {
        let mut at = id.to_string();
        for _ in 0..64 {
            if at == ancestor {
                return true;
            }
            match self.items.get(drive, &at) {
                Some(row) if !row.parent.is_empty() => at = row.parent.clone(),
                _ => return false,
            }
        }
        false
    }

    /// `name` in folder `parent` as `conflict` (`fail`, `replace`, `rename`)
    /// makes it free: 409 when taken and `fail`; a numbered name for `rename`.
    pub(super) fn free_name(
        &mut self,
        drive: &str,
        parent: &str,
        name: &str,
        conflict: &str,
    ) -> Result<String, GraphErr> {
        if name.is_empty() || name.contains(['/', '\\', ':', '*', '?', '"', '<', '>', '|']) {
            return Err(bad_request(
                "invalidRequest",
                format!("'{name}' is not a valid item name."),
            ));
        }
        let taken = |store: &Store, n: &str| {
            store
                .items
                .within(drive, parent)
                .find(|r| r.text("name").eq_ignore_ascii_case(n))
                .map(|r| r.id().to_string())
        };
        let Some(existing) = taken(self, name) else {
            return Ok(name.to_string());
        };
        match conflict {
            "replace" => {
                self.delete_tree(drive, &existing)?;
                Ok(name.to_string())
            }
            "rename" => {
                let (stem, ext) = match name.rsplit_once('.') {
                    Some((s, e)) if !s.is_empty() => (s.to_string(), format!(".{e}")),
                    _ => (name.to_string(), String::new()),
                };
                (1..10_000)
                    .map(|n| format!("{stem} {n}{ext}"))
                    .find(|n| taken(self, n).is_none())
                    .ok_or_else(|| name_exists(name))
            }
            _ => Err(name_exists(name)),
        }
    }

    /// Adds a folder (`content` `None`) or file to `parent`; its id.
    pub(super) fn add_item(
        &mut self,
        drive: &str,
        parent: &str,
        name: &str,
        content: Option<Bytes>,
    ) -> String {
        let now = fmt_utc(Utc::now());
        let id = item_id();
        let owner = self.owner_of_drive(drive);
        let mut json = json!({
            "id": id, "name": name, "eTag": "", "cTag": "",
            "createdDateTime": now, "lastModifiedDateTime": now,
            "createdBy": owner, "lastModifiedBy": owner,
            "fileSystemInfo": {"createdDateTime": now, "lastModifiedDateTime": now},
            "size": 0,
        });
        match &content {
            Some(bytes) => json["file"] = file_facet(name, bytes),
            None => json["folder"] = json!({"childCount": 0}),
        }
        if parent.is_empty() {
            json["root"] = json!({});
        }
        self.items
            .insert(drive, parent, json.as_object().cloned().unwrap_or_default());
        if let Some(bytes) = content {
            self.contents.insert(id.clone(), bytes);
        }
        self.changed(Watch::Drive, drive, parent, &id, "updated");
        id
    }

    /// Writes a file: a new one (201), or new content for the one of that
    /// name (200, the old content kept as a version) unless `conflict` says
    /// otherwise. Its JSON.
    pub(super) fn write_file(
        &mut self,
        ctx: &Ctx<'_>,
        drive: &str,
        parent: &str,
        name: &str,
        conflict: &str,
        bytes: Bytes,
    ) -> Result<(StatusCode, Value), GraphErr> {
        self.folder_of(drive, parent)?;
        let existing = self
            .items
            .within(drive, parent)
            .find(|r| r.text("name").eq_ignore_ascii_case(name))
            .map(|r| r.id().to_string());
        match existing {
            Some(id)
                if conflict == "replace"
                    && !self.items.find(drive, &id)?.json.contains_key("folder") =>
            {
                let old = self
                    .contents
                    .insert(id.clone(), bytes.clone())
                    .unwrap_or_default();
                let before = self.items.find(drive, &id)?.value();
                let versions = self.versions.entry(id.clone()).or_default();
                let number = versions.len() + 1;
                versions.push((json!({"id": format!("{number}.0"), "lastModifiedDateTime": before["lastModifiedDateTime"],
                    "size": old.len(), "lastModifiedBy": before["lastModifiedBy"]}), old));
                self.items.update(drive, &id, |r| {
                    r.json.insert("file".into(), file_facet(name, &bytes));
                })?;
                self.changed(Watch::Drive, drive, parent, &id, "updated");
                Ok((StatusCode::OK, self.show_item(ctx, drive, &id)?))
            }
            _ => {
                let name = self.free_name(drive, parent, name, conflict)?;
                let id = self.add_item(drive, parent, &name, Some(bytes));
                Ok((StatusCode::CREATED, self.show_item(ctx, drive, &id)?))
            }
        }
    }

    fn update_item(&mut self, ctx: &Ctx<'_>, req: &Req, drive: &str, item: &str) -> Outcome {
        let row = self.items.find(drive, item)?.clone();
        let conflict = req
            .field("@microsoft.graph.conflictBehavior")
            .as_str()
            .unwrap_or("fail")
            .to_string();
        let parent = match req.field("parentReference")["id"].as_str() {
            Some(id) => {
                self.folder_of(drive, id)?;
                if self.is_below(drive, id, item) {
                    return Err(bad_request(
                        "invalidRequest",
                        "An item cannot be moved into itself.",
                    ));
                }
                id.to_string()
            }
            None => row.parent.clone(),
        };
        let name = req
            .field("name")
            .as_str()
            .unwrap_or(row.text("name"))
            .to_string();
        if parent != row.parent || !name.eq_ignore_ascii_case(row.text("name")) {
            let name = self.free_name(drive, &parent, &name, &conflict)?;
            self.items.update(drive, item, |r| {
                r.parent = parent.clone();
                r.json.insert("name".into(), json!(name));
            })?;
        } else if name != row.text("name") {
            self.items.update(drive, item, |r| {
                r.json.insert("name".into(), json!(name));
            })?;
        }
        let description = req.field("description").clone();
        if !description.is_null() {
            self.items.update(drive, item, |r| {
                r.json.insert("description".into(), description);
            })?;
        }
        self.changed(Watch::Drive, drive, &parent, item, "updated");
        ok(self.show_item(ctx, drive, item)?)
    }

    /// Deletes an item and everything below it.
    pub(super) fn delete_tree(&mut self, drive: &str, id: &str) -> Result<(), GraphErr> {
        let children: Vec<String> = self
            .items
            .within(drive, id)
            .map(|r| r.id().to_string())
            .collect();
        for child in children {
            self.delete_tree(drive, &child)?;
        }
        let row = self.items.remove(drive, id)?;
        self.contents.remove(id);
        self.versions.remove(id);
        self.permissions.rows.retain(|p| p.parent != id);
        self.changed(Watch::Drive, drive, &row.parent, id, "updated");
        Ok(())
    }

    /// A drive as Graph shows it, with its quota.
    pub(super) fn show_drive(&self, drive: &str) -> Result<Value, GraphErr> {
        let row = self
            .drives
            .rows
            .iter()
            .find(|r| r.id() == drive)
            .ok_or_else(item_not_found)?;
        let used: usize = self
            .items
            .of(drive)
            .filter_map(|r| self.contents.get(r.id()))
            .map(Bytes::len)
            .sum();
        let total: u64 = 1 << 40;
        let mut shown = row.value();
        shown["quota"] = json!({"total": total, "used": used, "remaining": total.saturating_sub(used as u64), "deleted": 0, "state": "normal"});
        Ok(shown)
    }

    /// Item `id` as Graph shows it.
    pub(super) fn show_item(
        &self,
        ctx: &Ctx<'_>,
        drive: &str,
        id: &str,
    ) -> Result<Value, GraphErr> {
        Ok(self.show_row(
            ctx,
            self.items.find(drive, id).map_err(|_| item_not_found())?,
        ))
    }

    /// An item as Graph shows it: its size, child count, parent reference
    /// and (files) download URL.
    pub(super) fn show_row(&self, ctx: &Ctx<'_>, row: &Row) -> Value {
        let drive = &row.owner;
        let mut shown = row.value();
        shown["size"] = json!(self.size_of(drive, row.id()));
        if shown.get("folder").is_some() {
            shown["folder"] = json!({"childCount": self.items.within(drive, row.id()).count()});
        } else {
            shown["@microsoft.graph.downloadUrl"] =
                json!(format!("{}/_download/{drive}/{}", ctx.root, row.id()));
        }
        let path = self.path_of(drive, row.id());
        shown["webUrl"] = json!(format!(
            "https://contoso-my.sharepoint.com/personal/drive{path}"
        ));
        if !row.parent.is_empty() {
            let parent_path = self.path_of(drive, &row.parent);
            shown["parentReference"] = json!({
                "driveId": drive, "driveType": "business", "id": row.parent,
                "path": format!("/drive/root:{parent_path}"),
            });
        } else {
            shown["parentReference"] = json!({"driveId": drive, "driveType": "business"});
        }
        shown
    }

    /// The bytes below an item.
    fn size_of(&self, drive: &str, id: &str) -> usize {
        self.contents.get(id).map_or(0, Bytes::len)
            + self
                .items
                .within(drive, id)
                .map(|r| self.size_of(drive, r.id()))
                .sum::<usize>()
    }

    /// `/a/b` for an item below the root (`` for the root).
    fn path_of(&self, drive: &str, id: &str) -> String {
        let mut names = Vec::new();
        let mut at = id.to_string();
        for _ in 0..64 {
            match self.items.get(drive, &at) {
                Some(row) if !row.parent.is_empty() => {
                    names.push(row.text("name").to_string());
                    at = row.parent.clone();
                }
                _ => break,
            }
        }
        names.reverse();
        names.iter().map(|n| format!("/{n}")).collect()
    }

    /// `GET /_download/{drive}/{item}`: the bytes, or the `Range` asked for (206).
    pub(super) fn download_by_token(&self, request: &Request) -> Outcome {
        let rest = request.path.trim_start_matches("/_download/");
        let (drive, item) = rest.split_once('/').ok_or_else(item_not_found)?;
        self.items.find(drive, item).map_err(|_| item_not_found())?;
        let bytes = self.contents.get(item).cloned().unwrap_or_default();
        let media = mime_of(self.items.find(drive, item)?.text("name"));
        let Some(range) = request.header("range") else {
            return Ok(Response::new(StatusCode::OK, media, bytes));
        };
        let len = bytes.len();
        let parsed = range
            .strip_prefix("bytes=")
            .and_then(|r| r.split_once('-'))
            .and_then(|(a, b)| {
                let start: usize = a.parse().ok()?;
                let end: usize = if b.is_empty() {
                    len.checked_sub(1)?
                } else {
                    b.parse().ok()?
                };
                (start <= end && start < len).then_some((start, end.min(len - 1)))
            });
        match parsed {
            Some((start, end)) => {
                Ok(
                    Response::new(StatusCode::PARTIAL_CONTENT, media, bytes.slice(start..=end))
                        .with_header("content-range", &format!("bytes {start}-{end}/{len}")),
                )
            }
            None => Err(GraphErr {
                ..GraphErr::new(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "invalidRange",
                    "The requested range is not satisfiable.",
                )
            }),
        }
    }

    /// Seeds a drive for `owner` (a user or site) named `name`, with a
    /// `Documents` folder and a `Welcome.txt` file.
    pub(super) fn seed_drive(&mut self, owner: &str, drive: &str, name: &str, by: Value) {
        let now = fmt_utc(Utc::now());
        let json = json!({
            "id": drive, "name": name, "description": "", "driveType": "business",
            "createdDateTime": now, "lastModifiedDateTime": now,
            "webUrl": "https://contoso-my.sharepoint.com/personal/Documents",
            "owner": by, "createdBy": by,
        });
        self.drives.insert(
            owner,
            "",
            json.as_object().cloned().unwrap_or_else(Map::new),
        );
        let root = self.add_item(drive, "", "root", None);
        self.add_item(drive, &root, "Documents", None);
        self.add_item(
            drive,
            &root,
            "Welcome.txt",
            Some(Bytes::from_static(b"Welcome to the sandbox drive.\n")),
        );
    }
}

/// The `file` facet of a file: its media type and QuickXorHash.
fn file_facet(name: &str, bytes: &[u8]) -> Value {
    json!({"mimeType": mime_of(name), "hashes": {"quickXorHash": QuickXorHash::of(bytes)}})
}

/// A media type from a file name's extension.
pub(super) fn mime_of(name: &str) -> &'static str {
    match name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("txt") => "text/plain",
        Some("json") => "application/json",
        Some("html" | "htm") => "text/html",
        Some("csv") => "text/csv",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("pdf") => "application/pdf",
        Some("docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Some("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
}
