//! Keeping change notification subscriptions alive: created with the
//! longest lifetime Graph allows for the resource, renewed before they
//! expire, recreated when Graph removed them.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use progenitor_client::ClientInfo as _;

use super::generated::{Client, prelude::*, types};
use super::notifications::{LifecycleEvent, LifecycleNotification};
use crate::{Error, Result};

const MINUTE: u64 = 60;

/// The longest a subscription to `resource` (relative to the version root,
/// as in `Subscription::resource`) may live, by the table of maximum
/// expiration times of Microsoft's subscription docs.
///
/// The table is the "Subscription lifetime" table of the subscription
/// resource page (learn.microsoft.com/graph/api/resources/subscription, kept
/// in microsoft-graph-docs-contrib as
/// `concepts/includes/change-notifications-subscription-lifetime.md`) in
/// its current form, as `spec/graph.yaml` quotes it for `create_subscription`.
/// Checked in December 2026: the copies of that file dated 2022 to 2024
/// gave Outlook resources 4,230 minutes (under three days); the page as
/// quoted since gives them up to 7 days, and a day with resource data.
/// Asking for more than Graph allows fails the request, so a table that
/// changes again is met by [`SubscriptionKeeper::subscribe_with_lifetime`].
///
/// | resource | maximum |
/// |---|---|
/// | Outlook message, event, contact | 10,080 minutes (under 7 days); with resource data 1,440 minutes (1 day) |
/// | OneDrive driveItem, SharePoint list | 42,300 minutes (under 30 days) |
/// | user, group, other directory resources | 41,760 minutes (under 29 days) |
/// | presence | 60 minutes |
/// | the rest (group conversation, print, todoTask, Teams ...) | 4,230 minutes (under three days), the table's most common value |
///
/// Resources the table gives less (Teams Shifts: 6 hours) need
/// [`SubscriptionKeeper::subscribe_with_lifetime`].
pub fn max_lifetime(resource: &str, include_resource_data: bool) -> Duration {
    let minutes = |m: u64| Duration::from_secs(m * MINUTE);
    let segments: Vec<String> = resource
        .split('?')
        .next()
        .unwrap_or_default()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| s.split('(').next().unwrap_or_default().to_ascii_lowercase())
        .collect();
    let has = |name: &str| segments.iter().any(|s| s == name);
    let first = segments.first().map(String::as_str).unwrap_or_default();
    let last = segments.last().map(String::as_str).unwrap_or_default();
    let teams = matches!(first, "teams" | "chats" | "communications" | "appcatalogs");
    if has("presences") || last == "presence" {
        minutes(60)
    } else if !teams && matches!(last, "messages" | "events" | "contacts") {
        if include_resource_data {
            minutes(1_440)
        } else {
            minutes(10_080)
        }
    } else if has("drive") || has("drives") || last == "root" || has("lists") && has("sites") {
        minutes(42_300)
    } else if matches!(first, "users" | "groups") && segments.len() <= 2 || first == "directory" {
        minutes(41_760)
    } else {
        minutes(4_230)
    }
}

/// A subscription the keeper keeps, as it stands.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeptSubscription {
    /// Its id.
    pub id: String,
    /// The watched resource.
    pub resource: String,
    /// When it expires, as Graph last said.
    pub expires: DateTime<Utc>,
    /// How far ahead each renewal sets its expiry.
    pub lifetime: Duration,
}

/// What a renewal did.
#[derive(Clone, PartialEq)]
pub enum Renewal {
    /// The subscription lives on, until `expires`.
    Renewed {
        /// Its id.
        id: String,
        /// Its new expiry.
        expires: DateTime<Utc>,
    },
    /// Graph no longer knew it (404): it was created again, with a new
    /// id. Changes in between were not notified: catch up with a delta round.
    Recreated {
        /// The id Graph forgot.
        previous_id: String,
        /// The new subscription.
        subscription: Box<types::Subscription>,
    },
}

// The new subscription's `clientState` (Graph echoes it) is not shown.
impl fmt::Debug for Renewal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Renewal::Renewed { id, expires } => f
                .debug_struct("Renewed")
                .field("id", id)
                .field("expires", expires)
                .finish(),
            Renewal::Recreated {
                previous_id,
                subscription,
            } => f
                .debug_struct("Recreated")
                .field("previous_id", previous_id)
                .field("id", &subscription.id)
                .field("expires", &subscription.expiration_date_time)
                .finish_non_exhaustive(),
        }
    }
}

/// What [`SubscriptionKeeper::handle`] did about a lifecycle notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LifecycleAction {
    /// `reauthorizationRequired`: the subscription was renewed, which
    /// reauthorizes it too.
    Reauthorized {
        /// Its id.
        id: String,
        /// Its new expiry.
        expires: DateTime<Utc>,
    },
    /// Changes may have gone unnotified (`missed`, or a subscription Graph
    /// removed and the keeper created again): run a delta round of
    /// `resource` to catch up.
    CatchUp {
        /// The subscription now in place.
        subscription_id: String,
        /// Its resource.
        resource: String,
    },
    /// The notification is about a subscription this keeper does not keep,
    /// or an event it does not know: nothing was done.
    Ignored,
}

/// Creates subscriptions and keeps them alive: each is renewed (with the
/// generated `update_subscription`) before it expires, with the lifetime
/// [`max_lifetime`] gives its resource, and waits go through the client's
/// `Sleep`. Cheap to clone: clones keep the same subscriptions, so one can
/// [`run`](Self::run) on a task while another [`handle`](Self::handle)s
/// lifecycle notifications.
///
/// ```no_run
/// # async fn run(graph: specbound::graph::Client) -> specbound::Result<()> {
/// use specbound::graph::{SubscriptionKeeper, types};
/// let keeper = SubscriptionKeeper::new(&graph);
/// let created = keeper
///     .subscribe(types::Subscription {
///         change_type: Some("created,updated,deleted".into()),
///         notification_url: Some("https://app.example/graph/notify".into()),
///         lifecycle_notification_url: Some("https://app.example/graph/lifecycle".into()),
///         resource: Some("me/mailFolders('inbox')/messages".into()),
///         client_state: Some("client-state-secret".into()),
///         ..Default::default()
///     })
///     .await?;
/// tokio::spawn({
///     let keeper = keeper.clone();
///     async move { keeper.run().await }
/// });
/// # let _ = created; Ok(()) }
/// ```
#[derive(Clone)]
pub struct SubscriptionKeeper {
    client: Client,
    renew_before: Option<Duration>,
    kept: Arc<Mutex<HashMap<String, Kept>>>,
}

/// One kept subscription: what it was created with (its `clientState`
/// included, never shown), its lifetime and expiry.
#[derive(Clone)]
struct Kept {
    template: types::Subscription,
    resource: String,
    lifetime: Duration,
    expires: DateTime<Utc>,
}

impl fmt::Debug for SubscriptionKeeper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubscriptionKeeper")
            .field("kept", &self.kept())
            .finish_non_exhaustive()
    }
}

/// Taken off each requested expiry: "10,080 minutes (under 7 days)" is a
/// bound not to reach, and Graph's clock may be ahead of ours.
const SLACK: Duration = Duration::from_secs(5 * MINUTE);

/// The longest lifetime a caller may ask for (the table's longest is 30 days).
const MAX_LIFETIME: Duration = Duration::from_secs(366 * 24 * 60 * MINUTE);

/// How long to wait after a failed renewal before trying again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(MINUTE);

impl SubscriptionKeeper {
    /// A keeper that sends with `client`.
    pub fn new(client: &Client) -> Self {
        SubscriptionKeeper {
            client: client.clone(),
            renew_before: None,
            kept: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// How long before expiry a subscription is renewed (default: a
    /// quarter of its lifetime, at most a day).
    pub fn renew_before(mut self, before: Duration) -> Self {
        self.renew_before = Some(before);
        self
    }

    /// Creates `subscription` (`resource`, `changeType` and
    /// `notificationUrl` are required) with the longest lifetime
    /// [`max_lifetime`] gives its resource, and keeps it. Its
    /// `expirationDateTime` is set by the keeper.
    pub async fn subscribe(
        &self,
        subscription: types::Subscription,
    ) -> Result<types::Subscription> {
        let resource = subscription.resource.as_deref().unwrap_or_default();
        let lifetime = max_lifetime(resource, subscription.include_resource_data == Some(true));
        self.subscribe_with_lifetime(subscription, lifetime).await
    }

    /// [`subscribe`](Self::subscribe) with a lifetime of the caller's
    /// choosing (for a resource the table does not cover well).
    pub async fn subscribe_with_lifetime(
        &self,
        subscription: types::Subscription,
        lifetime: Duration,
    ) -> Result<types::Subscription> {
        for (field, value) in [
            ("resource", &subscription.resource),
            ("change_type", &subscription.change_type),
            ("notification_url", &subscription.notification_url),
        ] {
            if value.as_deref().is_none_or(str::is_empty) {
                return Err(Error::invalid(field, "is required to subscribe"));
            }
        }
        if lifetime <= SLACK || lifetime > MAX_LIFETIME {
            return Err(Error::invalid(
                "lifetime",
                "must be longer than five minutes and at most a year",
            ));
        }
        let mut template = subscription;
        template.id = None;
        template.expiration_date_time = None;
        self.create(template, lifetime).await
    }

    /// The subscriptions kept, soonest to expire first.
    pub fn kept(&self) -> Vec<KeptSubscription> {
        let mut all: Vec<KeptSubscription> = self
            .lock()
            .iter()
            .map(|(id, k)| KeptSubscription {
                id: id.clone(),
                resource: k.resource.clone(),
                expires: k.expires,
                lifetime: k.lifetime,
            })
            .collect();
        all.sort_by_key(|k| k.expires);
        all
    }

    /// Waits (with the client's `Sleep`) until the next renewal is due and
    /// renews; `None` when nothing is kept.
    pub async fn renew_next(&self) -> Result<Option<Renewal>> {
        loop {
            let Some((id, due, expires)) = self.next_due() else {
                return Ok(None);
            };
            let wait = due
                .signed_duration_since(Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO);
            if !wait.is_zero() {
                self.client.inner().sleep().sleep(wait).await;
            }
            // Renewed meanwhile (a lifecycle notification)? Look again.
            if self.lock().get(&id).map(|k| k.expires) == Some(expires) {
                return self.renew(&id).await.map(Some);
            }
        }
    }

    /// Renews every subscription before it expires, until none is kept; a
    /// failed renewal is logged and tried again a minute later (a
    /// subscription that expired meanwhile is created again).
    pub async fn run(&self) {
        loop {
            match self.renew_next().await {
                Ok(None) => return,
                Ok(Some(renewal)) => tracing::debug!(?renewal, "subscription renewed"),
                Err(error) => {
                    tracing::warn!(%error, "renewing a subscription failed; trying again");
                    self.client.inner().sleep().sleep(RETRY_AFTER_FAILURE).await;
                }
            }
        }
    }

    /// Renews subscription `id` now; a subscription Graph no longer knows
    /// is created again.
    pub async fn renew(&self, id: &str) -> Result<Renewal> {
        let kept = self.get(id)?;
        let requested = expiry(kept.lifetime);
        let answer = self
            .client
            .update_subscription()
            .subscription_id(id)
            .body(types::SubscriptionRenewal {
                expiration_date_time: Some(requested.into()),
                notification_url: None,
            })
            .send()
            .await;
        match answer {
            Ok(renewed) => {
                let expires = granted(
                    renewed.into_inner().expiration_date_time.map(Into::into),
                    requested,
                );
                if let Some(k) = self.lock().get_mut(id) {
                    k.expires = expires;
                }
                Ok(Renewal::Renewed {
                    id: id.to_string(),
                    expires,
                })
            }
            Err(e) if e.is_not_found() => {
                tracing::info!("Graph no longer knows a subscription; creating it again");
                let subscription = self.recreate(id, kept).await?;
                Ok(Renewal::Recreated {
                    previous_id: id.to_string(),
                    subscription: Box::new(subscription),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Acts on a lifecycle notification of a kept subscription:
    /// `reauthorizationRequired` renews it, `subscriptionRemoved` creates
    /// it again, and that and `missed` ask the caller to catch up with a
    /// delta round ([`LifecycleAction::CatchUp`]).
    pub async fn handle(&self, notification: &LifecycleNotification) -> Result<LifecycleAction> {
        let id = notification.subscription_id.as_str();
        let Ok(kept) = self.get(id) else {
            return Ok(LifecycleAction::Ignored);
        };
        match &notification.event {
            LifecycleEvent::ReauthorizationRequired => match self.renew(id).await? {
                Renewal::Renewed { id, expires } => {
                    Ok(LifecycleAction::Reauthorized { id, expires })
                }
                Renewal::Recreated { subscription, .. } => Ok(catch_up(&subscription, kept)),
            },
            LifecycleEvent::SubscriptionRemoved => {
                let subscription = self.recreate(id, kept.clone()).await?;
                Ok(catch_up(&subscription, kept))
            }
            LifecycleEvent::Missed => Ok(LifecycleAction::CatchUp {
                subscription_id: id.to_string(),
                resource: kept.resource,
            }),
            LifecycleEvent::Other(_) => Ok(LifecycleAction::Ignored),
        }
    }

    /// Deletes subscription `id` and stops keeping it.
    pub async fn unsubscribe(&self, id: &str) -> Result<()> {
        self.lock().remove(id);
        match self
            .client
            .delete_subscription()
            .subscription_id(id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Creates a subscription from `template` living `lifetime`, and keeps it.
    async fn create(
        &self,
        template: types::Subscription,
        lifetime: Duration,
    ) -> Result<types::Subscription> {
        let requested = expiry(lifetime);
        let mut body = template.clone();
        body.expiration_date_time = Some(requested.into());
        let created = self
            .client
            .create_subscription()
            .body(body)
            .send()
            .await?
            .into_inner();
        let id = created
            .id
            .clone()
            .filter(|id| !id.is_empty())
            .ok_or_else(|| Error::Protocol("create_subscription answered no id".into()))?;
        let resource = template.resource.clone().unwrap_or_default();
        let expires = granted(created.expiration_date_time.map(Into::into), requested);
        self.lock().insert(
            id,
            Kept {
                template,
                resource,
                lifetime,
                expires,
            },
        );
        Ok(created)
    }

    /// Creates `kept` again in place of `id`.
    async fn recreate(&self, id: &str, kept: Kept) -> Result<types::Subscription> {
        self.lock().remove(id);
        self.create(kept.template, kept.lifetime).await
    }

    /// The renewal due first: its id, when it is due and the expiry it is due for.
    fn next_due(&self) -> Option<(String, DateTime<Utc>, DateTime<Utc>)> {
        self.lock()
            .iter()
            .map(|(id, k)| {
                let before = self
                    .renew_before
                    .unwrap_or((k.lifetime / 4).min(Duration::from_secs(24 * 60 * MINUTE)));
                let due = k
                    .expires
                    .checked_sub_signed(TimeDelta::from_std(before).unwrap_or(TimeDelta::MAX))
                    .unwrap_or(DateTime::<Utc>::MIN_UTC);
                (id.clone(), due, k.expires)
            })
            .min_by_key(|(_, due, _)| *due)
    }

    fn get(&self, id: &str) -> Result<Kept> {
        self.lock()
            .get(id)
            .cloned()
            .ok_or_else(|| Error::invalid("subscription_id", "is not kept by this keeper"))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Kept>> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn catch_up(subscription: &types::Subscription, kept: Kept) -> LifecycleAction {
    LifecycleAction::CatchUp {
        subscription_id: subscription.id.clone().unwrap_or_default(),
        resource: kept.resource,
    }
}

/// The expiry to ask for: `lifetime` from now, less the slack, in whole
/// seconds (Graph reads at most seven fractional digits).
fn expiry(lifetime: Duration) -> DateTime<Utc> {
    let ahead = TimeDelta::from_std(lifetime.saturating_sub(SLACK)).unwrap_or(TimeDelta::zero());
    let now = Utc::now();
    let at = now.checked_add_signed(ahead).unwrap_or(now);
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}

/// The expiry Graph granted, if it is believable (in the future, and not
/// past what was asked), else the one asked for.
fn granted(answered: Option<DateTime<Utc>>, requested: DateTime<Utc>) -> DateTime<Utc> {
    match answered {
        Some(t) if t > Utc::now() && t <= requested => t,
        _ => requested,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minutes(resource: &str) -> u64 {
        max_lifetime(resource, false).as_secs() / 60
    }

    #[test]
    fn lifetimes_follow_the_table_of_the_docs() {
        assert_eq!(minutes("me/mailFolders('Inbox')/messages"), 10_080);
        assert_eq!(minutes("/users/8b2c/events"), 10_080);
        assert_eq!(minutes("me/contacts"), 10_080);
        assert_eq!(max_lifetime("me/messages", true).as_secs() / 60, 1_440);
        assert_eq!(minutes("me/drive/root"), 42_300);
        assert_eq!(minutes("drives/b!x/root"), 42_300);
        assert_eq!(minutes("sites/s1/lists/l1"), 42_300);
        assert_eq!(minutes("users"), 41_760);
        assert_eq!(minutes("groups"), 41_760);
        assert_eq!(minutes("communications/presences/u1"), 60);
        assert_eq!(minutes("chats/getAllMessages"), 4_230);
        assert_eq!(minutes("teams/t1/channels/c1/messages"), 4_230);
        assert_eq!(minutes("groups/g1/conversations"), 4_230);
        assert_eq!(minutes("print/printers/p1/jobs"), 4_230);
    }

    #[test]
    fn a_renewal_shows_no_client_state() {
        let renewal = Renewal::Recreated {
            previous_id: "s1".into(),
            subscription: Box::new(types::Subscription {
                id: Some("s2".into()),
                client_state: Some("secretClientValue".into()),
                ..Default::default()
            }),
        };
        let shown = format!("{renewal:?}");
        assert!(
            shown.contains("s2") && !shown.contains("secretClientValue"),
            "{shown}"
        );
    }

    #[test]
    fn an_answered_expiry_past_the_request_or_gone_is_not_believed() {
        let asked = Utc::now() + TimeDelta::days(6);
        let sooner = asked - TimeDelta::hours(1);
        assert_eq!(granted(Some(sooner), asked), sooner);
        assert_eq!(granted(Some(asked + TimeDelta::days(300)), asked), asked);
        assert_eq!(granted(Some(Utc::now() - TimeDelta::days(1)), asked), asked);
        assert_eq!(granted(None, asked), asked);
    }
}
