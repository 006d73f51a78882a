//! Contact folders and contacts (the default folder `Contacts`, child
//! folders, delta rounds of a folder), people relevant to the user (their
//! contacts and the other users of the directory) and the directory's users.

use chrono::Utc;
use serde_json::{Map, Value, json};

use super::dispatch::{Ctx, Req, not_implemented};
use super::errors::{Outcome, bad_request, created, no_content, not_found, ok};
use super::pages::{Round, outlook_removed};
use super::store::{Row, Store, UserRow, outlook_id};
use super::subscriptions::Watch;
use super::times::fmt_utc;
use crate::graph::spec::API;
use crate::runtime::spec::Kind;

impl Store {
    /// The contact, people and user operations.
    pub(super) fn contacts(&mut self, ctx: &Ctx<'_>, req: &Req) -> Outcome {
        if req.op.id == "list_users" {
            let items = self.users.iter().map(UserRow::to_json).collect();
            return ctx.list(req, "User", items);
        }
        let user = req.user(self, "mailbox")?;
        let folder_param = req.param("contact_folder_id");
        // A contact named below a folder must be in that folder.
        if req.has_param("contact_folder_id") && req.has_param("contact_id") {
            let folder = self.contact_folder(&user, folder_param)?;
            let id = req.param("contact_id");
            if self.contacts.find(&user, id)?.parent != folder {
                return Err(not_found(id));
            }
        }
        match req.op.id {
            "get_user" => ctx.one(req, "User", self.user_by_id(&user)?.to_json()),
            "list_contact_folders" => {
                let items = self
                    .contact_folders
                    .within(&user, "")
                    .map(Row::value)
                    .collect();
                ctx.list(req, "ContactFolder", items)
            }
            "list_child_contact_folders" => {
                let parent = self.contact_folder(&user, folder_param)?;
                let items = self
                    .contact_folders
                    .within(&user, &parent)
                    .map(Row::value)
                    .collect();
                ctx.list(req, "ContactFolder", items)
            }
            "create_contact_folder" | "create_child_contact_folder" => {
                let parent = match req.op.id {
                    "create_child_contact_folder" => self.contact_folder(&user, folder_param)?,
                    _ => req.text("parentFolderId").to_string(),
                };
                let name = req.text("displayName").trim().to_string();
                if name.is_empty() {
                    return Err(bad_request(
                        "ErrorInvalidRequest",
                        "The folder's displayName must not be empty.",
                    ));
                }
                created(self.contact_folders.insert(
                    &user,
                    &parent,
                    folder_json(&name, &parent, ""),
                ))
            }
            "get_contact_folder" => {
                let id = self.contact_folder(&user, folder_param)?;
                ok(self.contact_folders.find(&user, &id)?.value())
            }
            "update_contact_folder" => {
                let id = self.contact_folder(&user, folder_param)?;
                let name = req.field("displayName").clone();
                ok(self.contact_folders.update(&user, &id, |r| {
                    if name.is_string() {
                        r.json.insert("displayName".into(), name);
                    }
                })?)
            }
            "delete_contact_folder" => {
                let id = self.contact_folder(&user, folder_param)?;
                if self
                    .contact_folders
                    .find(&user, &id)?
                    .text("_wellKnownName")
                    == "contacts"
                {
                    return Err(bad_request(
                        "ErrorDeleteDistinguishedFolder",
                        "Distinguished folders cannot be deleted.",
                    ));
                }
                let contacts: Vec<String> = self
                    .contacts
                    .within(&user, &id)
                    .map(|r| r.id().to_string())
                    .collect();
                for c in contacts {
                    self.contacts.remove(&user, &c)?;
                    self.changed(Watch::Contacts, &user, &id, &c, "deleted");
                }
                self.contact_folders.remove(&user, &id)?;
                no_content()
            }
            "list_contacts" | "list_folder_contacts" => {
                let folder = match req.op.id {
                    "list_folder_contacts" => self.contact_folder(&user, folder_param)?,
                    _ => self.default_contact_folder(&user).unwrap_or_default(),
                };
                let items = self
                    .contacts
                    .within(&user, &folder)
                    .map(Row::value)
                    .collect();
                ctx.list(req, "Contact", items)
            }
            "create_contact" | "create_folder_contact" => {
                let folder = match req.op.id {
                    "create_folder_contact" => self.contact_folder(&user, folder_param)?,
                    _ => self.default_contact_folder(&user).unwrap_or_default(),
                };
                let mut json = contact_json(&folder);
                write_contact(&mut json, &req.body);
                let contact = self.contacts.insert(&user, &folder, json);
                let id = contact["id"].as_str().unwrap_or("").to_string();
                self.changed(Watch::Contacts, &user, &folder, &id, "created");
                created(contact)
            }
            "get_contact" | "get_folder_contact" => {
                let contact = self.contacts.find(&user, req.param("contact_id"))?.value();
                ctx.one(req, "Contact", contact)
            }
            "update_contact" | "update_folder_contact" => {
                let id = req.param("contact_id");
                let body = req.body.clone();
                let contact = self
                    .contacts
                    .update(&user, id, |r| write_contact(&mut r.json, &body))?;
                let folder = self.contacts.find(&user, id)?.parent.clone();
                self.changed(Watch::Contacts, &user, &folder, id, "updated");
                ok(contact)
            }
            "delete_contact" | "delete_folder_contact" => {
                let row = self.contacts.remove(&user, req.param("contact_id"))?;
                self.changed(Watch::Contacts, &user, &row.parent, row.id(), "deleted");
                no_content()
            }
            "contact_delta" => {
                let folder = self.contact_folder(&user, folder_param)?;
                let show = |r: &Row| r.value();
                ctx.delta(
                    req,
                    &Round {
                        table: &self.contacts,
                        owner: &user,
                        schema: "Contact",
                        token: "$deltatoken",
                        scope: &|r: &Row| r.parent == folder,
                        left: &|g| g.parent == folder,
                        show: &show,
                        removed: &outlook_removed,
                    },
                )
            }
            "list_people" => {
                // `$search` matches display names (see `Options::apply`).
                let mut people: Vec<Value> =
                    self.contacts.of(&user).map(person_of_contact).collect();
                people.extend(
                    self.users
                        .iter()
                        .filter(|u| u.id != user)
                        .map(person_of_user),
                );
                ctx.list(req, "Person", people)
            }
            other => Err(not_implemented("contacts", other)),
        }
    }

    /// The id of `user`'s contact folder `raw` (an id, or `contacts`).
    fn contact_folder(&self, user: &str, raw: &str) -> Result<String, super::errors::GraphErr> {
        if raw.eq_ignore_ascii_case("contacts")
            && let Some(id) = self.default_contact_folder(user)
        {
            return Ok(id);
        }
        self.contact_folders
            .get(user, raw)
            .map(|r| r.id().to_string())
            .ok_or_else(|| not_found(raw))
    }

    /// Seeds `user`'s default contact folder.
    pub(super) fn seed_contacts(&mut self, user: &UserRow) {
        self.contact_folders
            .insert(&user.id, "", folder_json("Contacts", "", "contacts"));
    }
}

fn folder_json(name: &str, parent: &str, well_known: &str) -> Map<String, Value> {
    let json = json!({"id": outlook_id(), "displayName": name, "parentFolderId": parent, "_wellKnownName": well_known});
    json.as_object().cloned().unwrap_or_default()
}

/// A new contact in `folder`, without names.
fn contact_json(folder: &str) -> Map<String, Value> {
    let now = fmt_utc(Utc::now());
    let json = json!({
        "@odata.etag": "",
        "id": outlook_id(),
        "createdDateTime": now,
        "lastModifiedDateTime": now,
        "changeKey": "",
        "categories": [],
        "parentFolderId": folder,
        "birthday": null,
        "fileAs": "",
        "displayName": "",
        "givenName": null,
        "initials": null,
        "middleName": null,
        "nickName": null,
        "surname": null,
        "title": null,
        "generation": null,
        "imAddresses": [],
        "jobTitle": null,
        "companyName": null,
        "department": null,
        "officeLocation": null,
        "profession": null,
        "businessHomePage": null,
        "assistantName": null,
        "manager": null,
        "homePhones": [],
        "mobilePhone": null,
        "businessPhones": [],
        "spouseName": null,
        "personalNotes": "",
        "children": [],
        "emailAddresses": [],
        "homeAddress": {},
        "businessAddress": {},
        "otherAddress": {},
    });
    json.as_object().cloned().unwrap_or_default()
}

/// Sets the properties of `input` a client may write (those of the spec's
/// `ContactInput`) on a contact, and its display name when it has none.
fn write_contact(json: &mut Map<String, Value>, input: &Value) {
    let writable: &[(&str, u32)] = API
        .schemas
        .iter()
        .find(|s| s.name == "ContactInput")
        .and_then(|s| match &s.kind {
            Kind::Object { properties, .. } => Some(*properties),
            _ => None,
        })
        .unwrap_or(&[]);
    if let Some(input) = input.as_object() {
        for (k, v) in input {
            if writable.iter().any(|(p, _)| p == k) && k != "parentFolderId" {
                json.insert(k.clone(), v.clone());
            }
        }
    }
    if json
        .get("displayName")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        let name = ["givenName", "surname"]
            .iter()
            .filter_map(|k| json.get(*k).and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" ");
        json.insert("displayName".into(), json!(name));
    }
    let file_as = json.get("displayName").cloned().unwrap_or(Value::Null);
    json.insert("fileAs".into(), file_as);
}

fn person_of_contact(row: &Row) -> Value {
    let emails: Vec<Value> = row
        .json
        .get("emailAddresses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| json!({"address": e["address"], "relevanceScore": 8.0, "selectionLikelihood": "notSpecified"}))
        .collect();
    json!({
        "id": row.id(),
        "displayName": row.json.get("displayName"),
        "givenName": row.json.get("givenName"),
        "surname": row.json.get("surname"),
        "companyName": row.json.get("companyName"),
        "jobTitle": row.json.get("jobTitle"),
        "scoredEmailAddresses": emails,
        "personType": {"class": "Person", "subclass": "PersonalContact"},
    })
}

fn person_of_user(user: &UserRow) -> Value {
    let shown = user.to_json();
    json!({
        "id": user.id,
        "displayName": user.name,
        "givenName": shown["givenName"],
        "surname": shown["surname"],
        "userPrincipalName": user.principal,
        "scoredEmailAddresses": [{"address": user.principal, "relevanceScore": 10.0, "selectionLikelihood": "notSpecified"}],
        "personType": {"class": "Person", "subclass": "OrganizationUser"},
    })
}
