//! SharePoint: the tenant's root site and a team site below it (with a
//! document library drive and a `Tasks` list), found by id, by `root`, by
//! host and path, or by search; their lists (created with a template) and
//! list items (with `fields`, numbered from 1).

use chrono::Utc;
use serde_json::{Map, Value, json};

use super::dispatch::{Ctx, Req, decode, not_implemented};
use super::errors::{
    GraphErr, Outcome, bad_request, created, item_not_found, name_exists, no_content, ok,
};
use super::store::{Row, Store, guid};
use super::times::fmt_utc;

/// The tenant's SharePoint host.
pub(super) const HOST: &str = "contoso.sharepoint.com";

impl Store {
    /// The site operations.
    pub(super) fn sites(&mut self, ctx: &Ctx<'_>, req: &Req) -> Outcome {
        match req.op.id {
            "search_sites" => {
                let term = req
                    .q("search")
                    .unwrap_or("")
                    .trim_matches('"')
                    .to_lowercase();
                let found = self
                    .sites
                    .rows
                    .iter()
                    .filter(|r| {
                        term.is_empty()
                            || term == "*"
                            || r.text("displayName").to_lowercase().contains(&term)
                            || r.text("name").to_lowercase().contains(&term)
                    })
                    .map(Row::value)
                    .collect();
                return ctx.list(req, "Site", found);
            }
            "get_site_by_path" => {
                let host = req.param("hostname");
                let path = decode(req.param("server_relative_path"));
                let url = format!("https://{host}/{}", path.trim_matches('/'));
                let row = self
                    .sites
                    .rows
                    .iter()
                    .find(|r| {
                        r.text("webUrl")
                            .eq_ignore_ascii_case(url.trim_end_matches('/'))
                    })
                    .ok_or_else(item_not_found)?;
                return ok(row.value());
            }
            _ => {}
        }
        let site = self.site_id(req.param("site_id"))?;
        let list = req.param("list_id");
        match req.op.id {
            "get_site" => ok(self
                .sites
                .find("", &site)
                .map_err(|_| item_not_found())?
                .value()),
            "list_subsites" => {
                let items = self.sites.within("", &site).map(Row::value).collect();
                ctx.list(req, "Site", items)
            }
            "list_lists" => {
                let items = self.lists.of(&site).map(Row::value).collect();
                ctx.list(req, "SharepointList", items)
            }
            "create_list" => {
                let name = req.text("displayName").trim().to_string();
                if name.is_empty() {
                    return Err(bad_request("invalidRequest", "A list needs a displayName."));
                }
                if self
                    .lists
                    .of(&site)
                    .any(|l| l.text("displayName").eq_ignore_ascii_case(&name))
                {
                    return Err(name_exists(&name));
                }
                let template = req.field("list")["template"]
                    .as_str()
                    .unwrap_or("genericList")
                    .to_string();
                let columns = req.field("columns").clone();
                let json = self.list_json(&site, &name, &template, columns);
                created(self.lists.insert(&site, "", json))
            }
            "get_list" => ok(self.list_row(&site, list)?.value()),
            "list_items" => {
                let list = self.list_row(&site, list)?.id().to_string();
                let items = self.list_items.of(&list).map(Row::value).collect();
                ctx.list(req, "ListItem", items)
            }
            "create_list_item" => {
                let list = self.list_row(&site, list)?.clone();
                let number = self
                    .list_items
                    .of(list.id())
                    .filter_map(|r| r.id().parse::<u64>().ok())
                    .max()
                    .unwrap_or(0)
                    + 1;
                let mut fields = req.field("fields").as_object().cloned().unwrap_or_default();
                fields.insert("id".into(), json!(number.to_string()));
                let now = fmt_utc(Utc::now());
                let json = json!({
                    "@odata.etag": format!("\"{},1\"", guid()),
                    "id": number.to_string(),
                    "createdDateTime": now,
                    "lastModifiedDateTime": now,
                    "webUrl": format!("{}/Lists/{}/{number}_.000", list.text("webUrl"), list.text("name")),
                    "contentType": {"id": "0x0100", "name": "Item"},
                    "fields": fields,
                });
                created(self.list_items.insert(
                    list.id(),
                    "",
                    json.as_object().cloned().unwrap_or_else(Map::new),
                ))
            }
            "get_list_item" => {
                let list = self.list_row(&site, list)?.id().to_string();
                ok(self
                    .list_items
                    .get(&list, req.param("item_id"))
                    .ok_or_else(item_not_found)?
                    .value())
            }
            "update_list_item_fields" => {
                let list = self.list_row(&site, list)?.id().to_string();
                let patch = req.body.as_object().cloned().unwrap_or_default();
                let item = self
                    .list_items
                    .update(&list, req.param("item_id"), |r| {
                        if let Some(Value::Object(fields)) = r.json.get_mut("fields") {
                            for (k, v) in patch {
                                fields.insert(k, v);
                            }
                        }
                    })
                    .map_err(|_| item_not_found())?;
                ok(item["fields"].clone())
            }
            "delete_list_item" => {
                let list = self.list_row(&site, list)?.id().to_string();
                self.list_items
                    .remove(&list, req.param("item_id"))
                    .map_err(|_| item_not_found())?;
                no_content()
            }
            other => Err(not_implemented("sites", other)),
        }
    }

    /// The id of the site `raw` names (`root`, or an id).
    fn site_id(&self, raw: &str) -> Result<String, GraphErr> {
        let raw = decode(raw);
        if raw == "root" {
            return self
                .sites
                .within("", "")
                .next()
                .map(|r| r.id().to_string())
                .ok_or_else(item_not_found);
        }
        self.sites
            .rows
            .iter()
            .find(|r| r.id() == raw || r.id().split(',').nth(1) == Some(raw.as_str()))
            .map(|r| r.id().to_string())
            .ok_or_else(item_not_found)
    }

    fn list_row(&self, site: &str, list: &str) -> Result<&Row, GraphErr> {
        self.lists
            .of(site)
            .find(|l| l.id() == list || l.text("displayName").eq_ignore_ascii_case(list))
            .ok_or_else(item_not_found)
    }

    fn list_json(
        &self,
        site: &str,
        name: &str,
        template: &str,
        columns: Value,
    ) -> Map<String, Value> {
        let now = fmt_utc(Utc::now());
        let web = self
            .sites
            .find("", site)
            .map(|s| s.text("webUrl").to_string())
            .unwrap_or_default();
        let json = json!({
            "id": guid(),
            "name": name.replace(' ', ""),
            "displayName": name,
            "description": "",
            "createdDateTime": now,
            "lastModifiedDateTime": now,
            "webUrl": format!("{web}/Lists/{}", name.replace(' ', "")),
            "list": {"template": template, "hidden": false, "contentTypesEnabled": false},
            "columns": if columns.is_array() { columns } else { json!([]) },
        });
        json.as_object().cloned().unwrap_or_default()
    }

    /// Seeds the root site and a team site with a drive and a `Tasks` list;
    /// the team site's id and its drive's id.
    pub(super) fn seed_sites(&mut self) -> (String, String) {
        let now = fmt_utc(Utc::now());
        let site = |name: &str, display: &str, url: String, root: bool| {
            let mut json = json!({
                "id": format!("{HOST},{},{}", guid(), guid()),
                "name": name, "displayName": display, "description": "",
                "webUrl": url, "createdDateTime": now, "lastModifiedDateTime": now,
                "isPersonalSite": false, "siteCollection": {"hostname": HOST},
            });
            if root {
                json["root"] = json!({});
            }
            json.as_object().cloned().unwrap_or_default()
        };
        let root = self.sites.insert(
            "",
            "",
            site("", "Communication site", format!("https://{HOST}"), true),
        );
        let root = root["id"].as_str().unwrap_or("").to_string();
        let team = self.sites.insert(
            "",
            &root,
            site(
                "team",
                "Team Site",
                format!("https://{HOST}/sites/team"),
                false,
            ),
        );
        let team = team["id"].as_str().unwrap_or("").to_string();
        let tasks = self.list_json(&team, "Tasks", "genericList", json!([]));
        self.lists.insert(&team, "", tasks);
        let drive = format!(
            "b!{}",
            super::store::random_text(40, super::store::URL_SAFE)
        );
        (team, drive)
    }
}
