//! Availability queries, computed over the stored events, availability
//! rules and available periods (see "Availability" in the module docs):
//! each member's free time, the groups' required members, then periods or
//! slots; sequenced availability chains one slot per step.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::dispatch::decode;
use super::errors::{ApiErr, Outcome, invalid, ok, required};
use super::spans::{Span, align_up, covers, expand_rule, intersect, normalize, subtract};
use super::store::{Caller, Store};
use super::times::{buffer_minutes, duration_minutes, fmt_utc, minutes};
use crate::cronofy::types;

/// The most options a sequenced availability query answers (*unverified*).
const MAX_SEQUENCES: usize = 20;

/// Limits of availability queries, modelled on Cronofy's (*unverified*): at
/// most 50 query periods (or query slots) of at most 35 days each, and
/// durations, intervals and buffers of at most a week.
const MAX_QUERY_PERIODS: usize = 50;
const MAX_PERIOD_DAYS: i64 = 35;
const MAX_DURATION_MINUTES: u64 = 7 * 24 * 60;

/// One member's free time, by sub.
struct MemberFree {
    sub: String,
    free: Vec<Span>,
}

/// A group: its members (indexes into the member list) and how many are needed.
struct Group {
    members: Vec<usize>,
    required: usize,
}

/// A query's participants, resolved.
struct Resolved {
    members: Vec<MemberFree>,
    groups: Vec<Group>,
}

impl Resolved {
    /// The members free throughout `[start, end)`, or `None` when a group
    /// has too few of them.
    fn available(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Option<Vec<usize>> {
        let free: Vec<bool> = self
            .members
            .iter()
            .map(|m| covers(&m.free, start, end))
            .collect();
        let enough = self
            .groups
            .iter()
            .all(|g| g.members.iter().filter(|&&i| free[i]).count() >= g.required);
        enough.then(|| (0..free.len()).filter(|&i| free[i]).collect())
    }

    fn participants(&self, members: &[usize]) -> Value {
        let subs: Vec<Value> = members
            .iter()
            .map(|&i| json!({"sub": self.members[i].sub}))
            .collect();
        json!(subs)
    }
}

/// The parts of an availability query the computation needs.
struct Search<'a> {
    participants: &'a [types::ParticipantGroup],
    duration: u64,
    start_interval: Option<u64>,
    buffer: Option<&'a types::Buffer>,
    periods: Vec<Span>,
    query_slots: Vec<DateTime<Utc>>,
}

impl Store {
    /// 403 when an access token asks about other accounts than its own.
    fn may_query(caller: &Caller, groups: &[types::ParticipantGroup]) -> Result<(), ApiErr> {
        if let Caller::Account { account_id, .. } = caller
            && groups
                .iter()
                .flat_map(|g| &g.members)
                .any(|m| &m.sub != account_id)
        {
            return Err(ApiErr::forbidden());
        }
        Ok(())
    }

    /// The periods to search, checked.
    fn periods(field: &str, periods: &[types::TimePeriod]) -> Result<Vec<Span>, ApiErr> {
        if periods.len() > MAX_QUERY_PERIODS {
            return Err(invalid(
                field,
                format!("{field} must have at most {MAX_QUERY_PERIODS} periods"),
            ));
        }
        let mut spans = Vec::new();
        for (i, p) in periods.iter().enumerate() {
            if p.end.0 <= p.start.0 {
                return Err(invalid(
                    &format!("{field}.{i}.end"),
                    "end must be after start",
                ));
            }
            if p.end.0 - p.start.0 > chrono::Duration::days(MAX_PERIOD_DAYS) {
                return Err(invalid(
                    &format!("{field}.{i}"),
                    format!("a period must be at most {MAX_PERIOD_DAYS} days long"),
                ));
            }
            spans.push((p.start.0, p.end.0));
        }
        Ok(normalize(spans))
    }

    /// Checks the groups and computes every member's free time.
    fn resolve(&self, q: &Search<'_>, field: &str) -> Result<Resolved, ApiErr> {
        if q.participants.is_empty() {
            return Err(required(field));
        }
        let prefix = field.strip_suffix("participants").unwrap_or_default();
        let before = buffer_minutes(q.buffer.and_then(|b| b.before.as_ref()));
        let after = buffer_minutes(q.buffer.and_then(|b| b.after.as_ref()));
        for (name, value) in [
            ("required_duration", Some(q.duration)),
            ("start_interval", q.start_interval),
            ("buffer.before", Some(before)),
            ("buffer.after", Some(after)),
        ] {
            if value.is_some_and(|m| m > MAX_DURATION_MINUTES) {
                let name = format!("{prefix}{name}");
                return Err(invalid(
                    &name,
                    format!("{name} must be at most {MAX_DURATION_MINUTES} minutes"),
                ));
            }
        }
        let (before, after) = (minutes(before), minutes(after));
        let mut range = q.periods.clone();
        range.extend(q.query_slots.iter().map(|&s| (s, s + minutes(q.duration))));
        let range = normalize(range);
        let mut resolved = Resolved {
            members: Vec::new(),
            groups: Vec::new(),
        };
        for (g, group) in q.participants.iter().enumerate() {
            if group.members.is_empty() {
                return Err(required(&format!("{field}.{g}.members")));
            }
            let required_n = match &group.required {
                None | Some(types::RequiredParticipants::String(_)) => group.members.len(),
                Some(types::RequiredParticipants::Integer(n)) => {
                    usize::try_from(n.get()).unwrap_or(usize::MAX)
                }
            };
            if required_n > group.members.len() {
                return Err(invalid(
                    &format!("{field}.{g}.required"),
                    "required is more than the number of members",
                ));
            }
            let mut indexes = Vec::new();
            for (m, member) in group.members.iter().enumerate() {
                let at = format!("{field}.{g}.members.{m}");
                let free = self.member_free(member, &range, before, after, &at)?;
                indexes.push(resolved.members.len());
                resolved.members.push(MemberFree {
                    sub: member.sub.clone(),
                    free,
                });
            }
            resolved.groups.push(Group {
                members: indexes,
                required: required_n,
            });
        }
        Ok(resolved)
    }

    /// A member's free time within `range`.
    fn member_free(
        &self,
        member: &types::AvailabilityMember,
        range: &[Span],
        before: chrono::Duration,
        after: chrono::Duration,
        at: &str,
    ) -> Result<Vec<Span>, ApiErr> {
        let sub = member.sub.as_str();
        if self.account(sub).is_none() {
            return Err(invalid(
                &format!("{at}.sub"),
                format!("{sub} is not an account of this application"),
            ));
        }
        let own: BTreeSet<String> = self
            .visible_calendars(sub)
            .into_iter()
            .map(|c| c.id.clone())
            .collect();
        let managed =
            member.managed_availability == Some(true) || !member.availability_rule_ids.is_empty();
        let rules: Vec<&types::AvailabilityRule> = if managed {
            self.rules
                .iter()
                .filter(|(a, r)| {
                    a == sub
                        && (member.availability_rule_ids.is_empty()
                            || member
                                .availability_rule_ids
                                .contains(&r.availability_rule_id))
                })
                .map(|(_, r)| r)
                .collect()
        } else {
            Vec::new()
        };
        let calendars: BTreeSet<String> = if !member.calendar_ids.is_empty() {
            for id in &member.calendar_ids {
                if !own.contains(id) {
                    return Err(invalid(
                        &format!("{at}.calendar_ids"),
                        format!("{id} is not a calendar of {sub}"),
                    ));
                }
            }
            member.calendar_ids.iter().cloned().collect()
        } else if rules.iter().any(|r| !r.calendar_ids.is_empty()) {
            rules
                .iter()
                .flat_map(|r| r.calendar_ids.iter().cloned())
                .collect()
        } else {
            own
        };
        let busy: Vec<Span> = self
            .events
            .iter()
            .filter(|e| calendars.contains(&e.calendar_id) && e.busy())
            .map(|e| (e.start_instant() - after, e.end_instant() + before))
            .collect();
        let mut free = subtract(range, &normalize(busy));
        if !member.available_periods.is_empty() {
            let allowed = Self::periods(
                &format!("{at}.available_periods"),
                &member.available_periods,
            )?;
            free = intersect(&free, &allowed);
        }
        if managed {
            let mut allowed: Vec<Span> = rules.iter().flat_map(|r| expand_rule(r, range)).collect();
            if member.managed_availability == Some(true) {
                allowed.extend(
                    self.periods
                        .iter()
                        .filter(|p| p.account_id == sub)
                        .map(|p| (p.start.instant(&p.tzid), p.end.instant(&p.tzid))),
                );
            }
            let has_any = !rules.is_empty()
                || !member.availability_rule_ids.is_empty()
                || self.periods.iter().any(|p| p.account_id == sub);
            if has_any {
                free = intersect(&free, &normalize(allowed));
            }
        }
        Ok(free)
    }

    /// The `available_periods` (periods format) or `available_slots`.
    fn compute(
        resolved: &Resolved,
        q: &Search<'_>,
        format: types::AvailabilityQueryResponseFormat,
    ) -> Vec<(Span, Vec<usize>)> {
        use types::AvailabilityQueryResponseFormat as Format;
        let duration = minutes(q.duration);
        if !q.query_slots.is_empty() {
            let mut found: Vec<(Span, Vec<usize>)> = q
                .query_slots
                .iter()
                .filter_map(|&s| {
                    let inside = q.periods.is_empty() || covers(&q.periods, s, s + duration);
                    inside
                        .then(|| resolved.available(s, s + duration))
                        .flatten()
                        .map(|m| ((s, s + duration), m))
                })
                .collect();
            found.sort_by_key(|(span, _)| *span);
            return found;
        }
        match format {
            Format::Periods => {
                let mut bounds: Vec<DateTime<Utc>> = q
                    .periods
                    .iter()
                    .flat_map(|&(s, e)| [s, e])
                    .chain(
                        resolved
                            .members
                            .iter()
                            .flat_map(|m| m.free.iter().flat_map(|&(s, e)| [s, e])),
                    )
                    .collect();
                bounds.sort();
                bounds.dedup();
                let mut merged: Vec<(Span, Vec<usize>)> = Vec::new();
                for pair in bounds.windows(2) {
                    let (s, e) = (pair[0], pair[1]);
                    if !covers(&q.periods, s, e) {
                        continue;
                    }
                    let Some(members) = resolved.available(s, e) else {
                        continue;
                    };
                    match merged.last_mut() {
                        Some(((_, last_end), last)) if *last_end == s && *last == members => {
                            *last_end = e;
                        }
                        _ => merged.push(((s, e), members)),
                    }
                }
                merged.retain(|((s, e), _)| *e - *s >= duration);
                merged
            }
            Format::Slots | Format::OverlappingSlots => {
                let step = minutes(q.start_interval.unwrap_or(q.duration).max(1));
                let mut found: Vec<(Span, Vec<usize>)> = Vec::new();
                for &(ps, pe) in &q.periods {
                    let mut s = align_up(ps, step);
                    let mut last_end: Option<DateTime<Utc>> = None;
                    while s + duration <= pe {
                        let overlaps = format == Format::Slots && last_end.is_some_and(|l| s < l);
                        if !overlaps && let Some(m) = resolved.available(s, s + duration) {
                            found.push(((s, s + duration), m));
                            last_end = Some(s + duration);
                        }
                        s += step;
                    }
                }
                found
            }
        }
    }

    /// `POST /v1/availability`.
    pub(super) fn query_availability(&self, caller: &Caller, body: &Value) -> Outcome {
        let query: types::AvailabilityQuery = decode("AvailabilityQuery", body)?;
        let (format, results) = self.availability(caller, &query)?;
        let key = match format {
            types::AvailabilityQueryResponseFormat::Periods if query.query_slots.is_empty() => {
                "available_periods"
            }
            _ => "available_slots",
        };
        ok(json!({ key: results }))
    }

    /// Runs an availability query; the results as JSON.
    pub(super) fn availability(
        &self,
        caller: &Caller,
        query: &types::AvailabilityQuery,
    ) -> Result<(types::AvailabilityQueryResponseFormat, Vec<Value>), ApiErr> {
        Self::may_query(caller, &query.participants)?;
        let duration = duration_minutes(&query.required_duration);
        if duration == 0 {
            return Err(invalid(
                "required_duration",
                "required_duration must be positive",
            ));
        }
        let (field, periods) = if query.query_periods.is_empty() {
            ("available_periods", &query.available_periods)
        } else {
            ("query_periods", &query.query_periods)
        };
        if periods.is_empty() && query.query_slots.is_empty() {
            return Err(required("query_periods"));
        }
        if query.query_slots.len() > MAX_QUERY_PERIODS {
            return Err(invalid(
                "query_slots",
                format!("query_slots must have at most {MAX_QUERY_PERIODS} slots"),
            ));
        }
        let q = Search {
            participants: &query.participants,
            duration,
            start_interval: query.start_interval.as_ref().map(duration_minutes),
            buffer: query.buffer.as_ref(),
            periods: Self::periods(field, periods)?,
            query_slots: query.query_slots.iter().map(|s| s.start.0).collect(),
        };
        let resolved = self.resolve(&q, "participants")?;
        let format = query
            .response_format
            .unwrap_or(types::AvailabilityQueryResponseFormat::Periods);
        let mut results = Self::compute(&resolved, &q, format);
        if let Some(max) = query.max_results {
            results.truncate(usize::try_from(max.get()).unwrap_or(usize::MAX));
        }
        let json = results
            .iter()
            .map(|((s, e), members)| {
                json!({"start": fmt_utc(*s), "end": fmt_utc(*e), "participants": resolved.participants(members)})
            })
            .collect();
        Ok((format, json))
    }

    /// `POST /v1/sequenced_availability`.
    pub(super) fn query_sequenced_availability(&self, caller: &Caller, body: &Value) -> Outcome {
        let query: types::SequencedAvailabilityQuery = decode("SequencedAvailabilityQuery", body)?;
        if query.sequence.is_empty() {
            return Err(required("sequence"));
        }
        let global = if query.query_periods.is_empty() {
            Self::periods("available_periods", &query.available_periods)?
        } else {
            Self::periods("query_periods", &query.query_periods)?
        };
        let mut steps: Vec<(usize, &types::SequenceStep)> =
            query.sequence.iter().enumerate().collect();
        steps.sort_by_key(|(i, s)| (s.ordinal.unwrap_or(i64::MAX), *i));
        let mut slots_per_step = Vec::new();
        for (i, step) in &steps {
            Self::may_query(caller, &step.participants)?;
            let at = format!("sequence.{i}");
            let duration = duration_minutes(&step.required_duration);
            if duration == 0 {
                return Err(invalid(
                    &format!("{at}.required_duration"),
                    "required_duration must be positive",
                ));
            }
            let periods = if !step.query_periods.is_empty() {
                Self::periods(&format!("{at}.query_periods"), &step.query_periods)?
            } else if !step.available_periods.is_empty() {
                Self::periods(&format!("{at}.available_periods"), &step.available_periods)?
            } else {
                global.clone()
            };
            if periods.is_empty() {
                return Err(required("query_periods"));
            }
            let q = Search {
                participants: &step.participants,
                duration,
                start_interval: step.start_interval.as_ref().map(duration_minutes),
                buffer: step.buffer.as_ref(),
                periods,
                query_slots: Vec::new(),
            };
            let resolved = self.resolve(&q, &format!("{at}.participants"))?;
            let slots: Vec<(Span, Value)> =
                Self::compute(&resolved, &q, types::AvailabilityQueryResponseFormat::Slots)
                    .into_iter()
                    .map(|(span, m)| (span, resolved.participants(&m)))
                    .collect();
            slots_per_step.push((step.sequence_id.clone(), slots));
        }
        let mut sequences = Vec::new();
        let Some(((_, first_slots), rest)) = slots_per_step.split_first() else {
            return ok(json!({"sequences": []}));
        };
        for first in first_slots {
            let mut chosen = vec![first];
            for (_, slots) in rest {
                let after = chosen.last().map(|((_, e), _)| *e);
                match slots
                    .iter()
                    .find(|((s, _), _)| after.is_none_or(|a| *s >= a))
                {
                    Some(slot) => chosen.push(slot),
                    None => break,
                }
            }
            if chosen.len() != slots_per_step.len() {
                continue;
            }
            let sequence: Vec<Value> = chosen
                .iter()
                .zip(&slots_per_step)
                .map(|(((s, e), participants), (id, _))| {
                    json!({"sequence_id": id, "start": fmt_utc(*s), "end": fmt_utc(*e), "participants": participants})
                })
                .collect();
            sequences.push(json!({ "sequence": sequence }));
            if sequences.len() == MAX_SEQUENCES {
                break;
            }
        }
        ok(json!({ "sequences": sequences }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::cronofy::store::AccountKind;

    #[test]
    fn huge_durations_and_periods_are_refused_before_any_arithmetic() {
        let mut store = Store::default();
        store.add_account("acc_1", "a@example.com", AccountKind::Account);
        let query = |extra: Value| -> types::AvailabilityQuery {
            let mut q = json!({
                "participants": [{"members": [{"sub": "acc_1"}]}],
                "required_duration": {"minutes": 60},
                "query_periods": [{"start": "2026-11-25T09:00:00Z", "end": "2026-11-25T17:00:00Z"}],
            });
            if let (Some(q), Some(extra)) = (q.as_object_mut(), extra.as_object()) {
                q.extend(extra.clone());
            }
            serde_json::from_value(q).unwrap_or_else(|e| panic!("{e}"))
        };
        let field = |extra: Value| {
            store
                .availability(&Caller::App, &query(extra))
                .err()
                .and_then(|e| e.errors())
                .and_then(|e| e.errors.keys().next().cloned())
        };
        assert_eq!(field(json!({})), None);
        assert_eq!(
            field(json!({"required_duration": {"minutes": u64::MAX}})),
            Some("required_duration".into())
        );
        assert_eq!(
            field(json!({"buffer": {"after": {"hours": 1_000_000}}})),
            Some("buffer.after".into())
        );
        assert_eq!(
            field(
                json!({"query_periods": [{"start": "2026-01-01T00:00:00Z", "end": "2026-12-31T00:00:00Z"}]})
            ),
            Some("query_periods.0".into())
        );
    }
}
