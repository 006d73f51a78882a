//! Push notification channels: created, listed and closed per account. A
//! new channel gets its `verification` notification, as from Cronofy;
//! `change` notifications are sent when asked (`Cronofy::notify_change`).

use serde_json::{Value, json};

use super::dispatch::Req;
use super::errors::{Answer, ApiErr, Outcome, invalid, ok};
use super::notify::Outgoing;
use super::store::{Caller, ChannelRow, Store};
use super::times::{check_web_url, hex_id};
use crate::cronofy::types;

impl Store {
    /// `POST /v1/channels`: the callback URL (an http(s) URL of at most 128
    /// characters) and filters on the account's own calendars. Queues the
    /// channel's `verification` notification.
    pub(super) fn create_channel(&mut self, req: &Req<'_>) -> Outcome {
        let account_id = req.caller.account()?.to_string();
        let request: types::ChannelCreate = req.decode("ChannelCreate")?;
        check_web_url("callback_url", &request.callback_url)?;
        if let Some(filters) = &request.filters {
            for id in &filters.calendar_ids {
                if self.own_calendar(&account_id, id).is_err() {
                    return Err(invalid(
                        "filters.calendar_ids",
                        format!("{id} is not a calendar of this account"),
                    ));
                }
            }
        }
        let channel = ChannelRow {
            channel_id: format!("chn_{}", hex_id(24)),
            account_id,
            callback_url: request.callback_url.to_string(),
            filters: req
                .body
                .get("filters")
                .cloned()
                .unwrap_or_else(|| json!({})),
        };
        let answer = json!({"channel": channel.to_json()});
        self.outbox.push(Outgoing::verification(&channel));
        self.channels.push(channel);
        ok(answer)
    }

    /// `GET /v1/channels`.
    pub(super) fn list_channels(&self, caller: &Caller) -> Outcome {
        let account_id = caller.account()?;
        let channels: Vec<Value> = self
            .channels
            .iter()
            .filter(|c| c.account_id == account_id)
            .map(ChannelRow::to_json)
            .collect();
        ok(json!({ "channels": channels }))
    }

    /// `DELETE /v1/channels/{channel_id}`.
    pub(super) fn close_channel(&mut self, caller: &Caller, channel_id: &str) -> Outcome {
        let account_id = caller.account()?.to_string();
        let before = self.channels.len();
        self.channels
            .retain(|c| !(c.channel_id == channel_id && c.account_id == account_id));
        if self.channels.len() == before {
            return Err(ApiErr::not_found());
        }
        Ok(Answer::Accepted)
    }
}
