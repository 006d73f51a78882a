//! What drive items do beyond files and folders: copies (202 with a
//! `Location` monitor URL on the sandbox, `/_monitor/{id}`, that answers
//! `inProgress` for the configured number of polls, then `completed` with the
//! copy's `resourceId`), sharing links and invitations with their
//! permissions, previews, thumbnails, versions and search.

use bytes::Bytes;
use http::StatusCode;
use serde_json::{Value, json};

use super::dispatch::{Ctx, Req, not_implemented};
use super::errors::{GraphErr, Outcome, bad_request, created, item_not_found, no_content, ok};
use super::store::{MonitorRow, Row, Store, URL_SAFE, guid, random_text};
use crate::sandbox::engine::{Request, Response};

impl Store {
    /// Copies, sharing, previews, thumbnails, versions and search.
    pub(super) fn drive_share(
        &mut self,
        ctx: &Ctx<'_>,
        req: &Req,
        drive: &str,
        item: &str,
    ) -> Outcome {
        match req.op.id {
            "copy_item" => {
                let row = self.items.find(drive, item)?.clone();
                let reference = req.field("parentReference");
                let target_drive = reference["driveId"].as_str().unwrap_or(drive).to_string();
                let target_parent = match reference["id"].as_str() {
                    Some(id) => id.to_string(),
                    None => row.parent.clone(),
                };
                if !self
                    .items
                    .get(&target_drive, &target_parent)
                    .is_some_and(|r| r.json.contains_key("folder"))
                {
                    return Err(bad_request(
                        "invalidRequest",
                        "The copy's parentReference is not a folder of a drive.",
                    ));
                }
                let name = req.field("name").as_str().map(str::to_string);
                let conflict = req.q("@microsoft.graph.conflictBehavior").unwrap_or("fail");
                let wanted = name.clone().unwrap_or_else(|| row.text("name").to_string());
                let taken = self
                    .items
                    .within(&target_drive, &target_parent)
                    .any(|r| r.text("name").eq_ignore_ascii_case(&wanted));
                if taken && conflict == "fail" {
                    return Err(super::errors::name_exists(&wanted));
                }
                let id = random_text(24, URL_SAFE);
                self.monitors.insert(
                    id.clone(),
                    MonitorRow {
                        polls_left: ctx.config.copy_polls,
                        source: (drive.to_string(), item.to_string()),
                        target: (target_drive, target_parent),
                        name: Some(wanted),
                        resource_id: None,
                        failed: None,
                    },
                );
                let location = format!("{}/_monitor/{id}", ctx.root);
                Ok(Response::empty(StatusCode::ACCEPTED).with_header("location", &location))
            }
            "create_link" => {
                self.items.find(drive, item)?;
                let kind = req.field("type").as_str().unwrap_or("view").to_string();
                let scope = req
                    .field("scope")
                    .as_str()
                    .unwrap_or("anonymous")
                    .to_string();
                if !["view", "edit", "embed"].contains(&kind.as_str()) {
                    return Err(bad_request(
                        "invalidRequest",
                        format!("'{kind}' is not a link type."),
                    ));
                }
                let same = self.permissions.within(drive, item).find(|p| {
                    p.json["link"]["type"] == kind.as_str()
                        && p.json["link"]["scope"] == scope.as_str()
                });
                if let Some(existing) = same {
                    return ok(existing.value());
                }
                let id = guid();
                let role = if kind == "edit" { "write" } else { "read" };
                let json = json!({
                    "id": id,
                    "roles": [role],
                    "shareId": format!("s!{}", random_text(20, URL_SAFE)),
                    "hasPassword": false,
                    "expirationDateTime": req.field("expirationDateTime"),
                    "link": {"type": kind, "scope": scope, "preventsDownload": false,
                        "webUrl": format!("https://contoso-my.sharepoint.com/:u:/g/{}", random_text(22, URL_SAFE))},
                });
                created(self.permissions.insert(
                    drive,
                    item,
                    json.as_object().cloned().unwrap_or_default(),
                ))
            }
            "invite" => {
                self.items.find(drive, item)?;
                let roles = req.field("roles").clone();
                let sign_in = req.field("requireSignIn").as_bool().unwrap_or(true);
                let mut out = Vec::new();
                for recipient in req.field("recipients").as_array().into_iter().flatten() {
                    let email = recipient["email"].as_str().unwrap_or("").to_string();
                    let user = self
                        .user(&email)
                        .map(|u| json!({"displayName": u.name, "email": u.principal, "id": u.id}));
                    let json = json!({
                        "id": guid(),
                        "roles": if roles.is_array() { roles.clone() } else { json!(["read"]) },
                        "grantedToV2": {"user": user.clone().unwrap_or(json!({"email": email}))},
                        "grantedToIdentitiesV2": [{"user": user.unwrap_or(json!({"email": email}))}],
                        "invitation": {"email": email, "signInRequired": sign_in},
                        "hasPassword": false,
                    });
                    out.push(self.permissions.insert(
                        drive,
                        item,
                        json.as_object().cloned().unwrap_or_default(),
                    ));
                }
                ok(json!({"value": out}))
            }
            "list_permissions" => {
                self.items.find(drive, item)?;
                let owner = self.owner_of_drive(drive);
                let mut items = vec![
                    json!({"id": "owner", "roles": ["owner"], "grantedToV2": owner, "grantedTo": owner}),
                ];
                items.extend(self.permissions.within(drive, item).map(Row::value));
                ctx.list(req, "Permission", items)
            }
            "get_permission" => {
                let id = req.param("permission_id");
                let row = self
                    .permissions
                    .within(drive, item)
                    .find(|p| p.id() == id)
                    .ok_or_else(item_not_found)?;
                ok(row.value())
            }
            "delete_permission" => {
                let id = req.param("permission_id").to_string();
                if !self.permissions.within(drive, item).any(|p| p.id() == id) {
                    return Err(item_not_found());
                }
                self.permissions.remove(drive, &id)?;
                no_content()
            }
            "preview_item" => {
                self.items.find(drive, item)?;
                ok(
                    json!({"getUrl": format!("https://contoso-my.sharepoint.com/embed/{item}"), "postUrl": null, "postParameters": null}),
                )
            }
            "search_items" => {
                let term = req.param("q").replace("''", "'").to_lowercase();
                let found: Vec<Value> = self
                    .items
                    .of(drive)
                    .filter(|r| !r.parent.is_empty() && r.id() != item)
                    .filter(|r| r.text("name").to_lowercase().contains(&term))
                    .map(|r| self.show_row(ctx, r))
                    .collect();
                ctx.list(req, "DriveItem", found)
            }
            "list_thumbnails" => {
                let row = self.items.find(drive, item)?;
                let sets = if row.json.contains_key("file") {
                    let size = |s: u32| json!({"height": s, "width": s, "url": format!("{}/_thumbnail/{item}/{s}", ctx.root)});
                    vec![
                        json!({"id": "0", "small": size(96), "medium": size(176), "large": size(800)}),
                    ]
                } else {
                    Vec::new()
                };
                ctx.list(req, "ThumbnailSet", sets)
            }
            "list_versions" => {
                let row = self.items.find(drive, item)?.value();
                let old = self.versions.get(item).cloned().unwrap_or_default();
                let mut items = vec![json!({"id": format!("{}.0", old.len() + 1),
                    "lastModifiedDateTime": row["lastModifiedDateTime"], "lastModifiedBy": row["lastModifiedBy"],
                    "size": self.contents.get(item).map_or(0, Bytes::len)})];
                items.extend(old.iter().rev().map(|(v, _)| v.clone()));
                ctx.list(req, "DriveItemVersion", items)
            }
            "get_version_content" => {
                let bytes = self.version_bytes(drive, item, req.param("version_id"))?;
                Ok(Response::new(
                    StatusCode::OK,
                    "application/octet-stream",
                    bytes,
                ))
            }
            "restore_version" => {
                let bytes = self.version_bytes(drive, item, req.param("version_id"))?;
                let row = self.items.find(drive, item)?.clone();
                self.write_file(ctx, drive, &row.parent, row.text("name"), "replace", bytes)?;
                no_content()
            }
            other => Err(not_implemented("drive", other)),
        }
    }

    /// The bytes of version `version` (`N.0`) of a file.
    fn version_bytes(&self, drive: &str, item: &str, version: &str) -> Result<Bytes, GraphErr> {
        self.items.find(drive, item)?;
        let old = self.versions.get(item).cloned().unwrap_or_default();
        if version == format!("{}.0", old.len() + 1) {
            return Ok(self.contents.get(item).cloned().unwrap_or_default());
        }
        old.iter()
            .find(|(v, _)| v["id"] == version)
            .map(|(_, b)| b.clone())
            .ok_or_else(item_not_found)
    }

    /// `GET /_monitor/{id}`: `inProgress` (202) until the copy is made, then
    /// `completed` (200) with its `resourceId`.
    pub(super) fn monitor(&mut self, ctx: &Ctx<'_>, request: &Request) -> Outcome {
        let id = request.path.trim_start_matches("/_monitor/").to_string();
        let mut row = self.monitors.get(&id).cloned().ok_or_else(item_not_found)?;
        if row.polls_left > 0 {
            row.polls_left -= 1;
            let done = ctx.config.copy_polls.saturating_sub(row.polls_left);
            let percent = 100.0 * f64::from(done) / f64::from(ctx.config.copy_polls + 1);
            self.monitors.insert(id, row);
            return Ok(Response::json(
                StatusCode::ACCEPTED,
                &json!({
                "operation": "ItemCopy", "percentageComplete": percent, "status": "inProgress"}),
            ));
        }
        if row.resource_id.is_none() && row.failed.is_none() {
            match self.copy_tree(&row) {
                Ok(copy) => row.resource_id = Some(copy),
                Err(e) => row.failed = Some(e.message),
            }
            self.monitors.insert(id, row.clone());
        }
        if let Some(message) = row.failed {
            return Ok(Response::json(
                StatusCode::OK,
                &json!({
                "operation": "ItemCopy", "status": "failed", "percentageComplete": 0.0,
                "error": {"code": "generalException", "message": message}}),
            ));
        }
        Ok(Response::json(
            StatusCode::OK,
            &json!({
            "operation": "ItemCopy", "percentageComplete": 100.0, "status": "completed",
            "resourceId": row.resource_id}),
        ))
    }

    /// Makes the copy a monitor waits for; the copy's id.
    fn copy_tree(&mut self, row: &MonitorRow) -> Result<String, GraphErr> {
        let (drive, item) = &row.source;
        let (target_drive, parent) = &row.target;
        let source = self
            .items
            .find(drive, item)
            .map_err(|_| item_not_found())?
            .clone();
        let wanted = row
            .name
            .clone()
            .unwrap_or_else(|| source.text("name").to_string());
        let name = self.free_name(target_drive, parent, &wanted, "rename")?;
        self.copy_into(drive, item, target_drive, parent, &name)
    }

    fn copy_into(
        &mut self,
        drive: &str,
        item: &str,
        target_drive: &str,
        parent: &str,
        name: &str,
    ) -> Result<String, GraphErr> {
        let source = self.items.find(drive, item)?.clone();
        let content = if source.json.contains_key("folder") {
            None
        } else {
            Some(self.contents.get(item).cloned().unwrap_or_default())
        };
        let copy = self.add_item(target_drive, parent, name, content);
        let children: Vec<(String, String)> = self
            .items
            .within(drive, item)
            .map(|r| (r.id().to_string(), r.text("name").to_string()))
            .collect();
        for (child, child_name) in children {
            self.copy_into(drive, &child, target_drive, &copy, &child_name)?;
        }
        Ok(copy)
    }
}
