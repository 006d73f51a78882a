//! Bookable Events: application-owned events with a capacity, and their
//! registrations (an accepted one beyond the capacity is 422
//! `errors.capacity_reached`, an *unverified* key).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::dispatch::Req;
use super::errors::{ApiErr, Outcome, invalid, ok, unprocessable};
use super::store::Store;
use super::times::fmt_utc;
use crate::cronofy::types;

/// A Bookable Event and its registrations.
pub(super) struct BookableEventRow {
    pub(super) id: String,
    pub(super) start: DateTime<Utc>,
    pub(super) end: DateTime<Utc>,
    pub(super) status: String,
    pub(super) capacity: u64,
    /// `{registration_id, status, metadata}` in the order registered.
    pub(super) registrations: Vec<Value>,
}

impl BookableEventRow {
    fn count(&self, status: impl Fn(&str) -> bool) -> usize {
        self.registrations
            .iter()
            .filter(|r| status(r["status"].as_str().unwrap_or_default()))
            .count()
    }

    pub(super) fn to_json(&self) -> Value {
        json!({
            "bookable_event_id": self.id,
            "start": fmt_utc(self.start),
            "end": fmt_utc(self.end),
            "status": self.status,
            "registration": {
                "capacity": self.capacity,
                "registered_count": self.count(|s| s == "accepted"),
                "total_count": self.count(|s| s != "removed"),
                "registrations": self.registrations,
            },
        })
    }
}

impl Store {
    /// `POST /v1/bookable_events`: creates, or updates one with the same id
    /// (its registrations are kept).
    pub(super) fn create_bookable_event(&mut self, req: &Req<'_>) -> Outcome {
        let body = &req.body;
        let request: types::BookableEventCreate = req.decode("BookableEventCreate")?;
        if request.bookable_event_id.trim().is_empty() {
            return Err(invalid(
                "bookable_event_id",
                "bookable_event_id must not be blank",
            ));
        }
        let (start, end) = (request.start.0, request.end.0);
        if end <= start {
            return Err(invalid("end", "end must be after start"));
        }
        let status = body["status"].as_str().unwrap_or("confirmed").to_string();
        let capacity = request.registration.capacity.get();
        let existing = self
            .bookable_events
            .iter_mut()
            .find(|b| b.id == request.bookable_event_id);
        let row = match existing {
            Some(row) => {
                let accepted = row.count(|s| s == "accepted") as u64;
                if capacity < accepted {
                    return Err(invalid(
                        "registration.capacity",
                        format!(
                            "capacity {capacity} is below the {accepted} accepted registrations"
                        ),
                    ));
                }
                row.start = start;
                row.end = end;
                row.status = status;
                row.capacity = capacity;
                row
            }
            None => {
                self.bookable_events.push(BookableEventRow {
                    id: request.bookable_event_id.clone(),
                    start,
                    end,
                    status,
                    capacity,
                    registrations: Vec::new(),
                });
                self.bookable_events
                    .last_mut()
                    .ok_or_else(ApiErr::not_found)?
            }
        };
        ok(row.to_json())
    }

    pub(super) fn bookable_event(&mut self, id: &str) -> Result<&mut BookableEventRow, ApiErr> {
        self.bookable_events
            .iter_mut()
            .find(|b| b.id == id)
            .ok_or_else(ApiErr::not_found)
    }

    /// `POST /v1/bookable_events/{id}/registrations`.
    pub(super) fn upsert_registration(&mut self, req: &Req<'_>) -> Outcome {
        let (id, body) = (req.param("bookable_event_id"), &req.body);
        req.check_params()?;
        let request: types::RegistrationUpsert = req.decode("RegistrationUpsert")?;
        if request.registration_id.trim().is_empty() {
            return Err(invalid(
                "registration_id",
                "registration_id must not be blank",
            ));
        }
        let row = self.bookable_event(id)?;
        if row.status == "cancelled" {
            return Err(invalid(
                "bookable_event_id",
                format!("bookable event {id} is cancelled"),
            ));
        }
        let status = body["status"].as_str().unwrap_or("pending").to_string();
        let index = row
            .registrations
            .iter()
            .position(|r| r["registration_id"] == request.registration_id.as_str());
        let was_accepted = index.is_some_and(|i| row.registrations[i]["status"] == "accepted");
        if status == "accepted"
            && !was_accepted
            && row.count(|s| s == "accepted") as u64 >= row.capacity
        {
            return Err(unprocessable(
                "registration_id",
                "errors.capacity_reached",
                format!("bookable event {id} is full ({} places)", row.capacity),
            ));
        }
        let registration = json!({
            "registration_id": request.registration_id,
            "status": status,
            "metadata": body.get("metadata").cloned().unwrap_or(Value::Null),
        });
        match index {
            Some(i) => row.registrations[i] = registration,
            None => row.registrations.push(registration),
        }
        ok(row.to_json())
    }

    /// `DELETE /v1/bookable_events/{id}/registrations/{registration_id}`.
    pub(super) fn delete_registration(&mut self, id: &str, registration_id: &str) -> Outcome {
        let row = self.bookable_event(id)?;
        let index = row
            .registrations
            .iter()
            .position(|r| r["registration_id"] == registration_id)
            .ok_or_else(ApiErr::not_found)?;
        row.registrations.remove(index);
        ok(row.to_json())
    }
}
