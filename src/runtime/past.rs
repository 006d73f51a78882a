//! `x-specbound-past` on an operation: query parameters holding a time that
//! the API wants far enough in the past (Zendesk's incremental exports
//! refuse a `start_time` less than a minute ago), checked before sending.
//!
//! ```yaml
//! x-specbound-past: [{parameter: start_time, unit: unix-seconds, at-least: 60, reason: "..."}]
//! ```

use serde::Deserialize;

use super::spec::Operation;
use crate::{Error, Result};

/// One entry of `x-specbound-past`.
#[derive(Deserialize)]
struct Past {
    parameter: String,
    /// `unix-seconds` (the only unit so far).
    unit: String,
    /// Seconds before now the value must be, at least.
    #[serde(rename = "at-least")]
    at_least: i64,
    /// The API's rule, in the spec's words.
    reason: String,
}

/// Refuses a request of `op` whose `query` holds a time the spec wants
/// further in the past than it is, `now` being Unix seconds.
pub(crate) fn check(op: &Operation, query: &[(String, String)], now: i64) -> Result<()> {
    let Some(json) = op.extension("x-specbound-past") else {
        return Ok(());
    };
    let rules: Vec<Past> = serde_json::from_str(json)
        .map_err(|e| Error::Config(format!("{}: x-specbound-past cannot be read: {e}", op.id)))?;
    for rule in rules {
        if rule.unit != "unix-seconds" {
            return Err(Error::Config(format!(
                "{}: x-specbound-past unit `{}` is not unix-seconds",
                op.id, rule.unit
            )));
        }
        for (_, value) in query.iter().filter(|(k, _)| *k == rule.parameter) {
            // A value that is not a number is the schema check's to refuse.
            let Ok(at) = value.parse::<i64>() else {
                continue;
            };
            let latest = now.saturating_sub(rule.at_least);
            if at > latest {
                return Err(Error::invalid(
                    rule.parameter.clone(),
                    format!(
                        "{at} is {}s before now; it must be at least {}s before ({}): \
                         use {latest} or earlier",
                        now.saturating_sub(at),
                        rule.at_least,
                        rule.reason
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Now, in Unix seconds.
pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPORT: Operation = Operation {
        extensions: &[(
            "x-specbound-past",
            r#"[{"parameter":"start_time","unit":"unix-seconds","at-least":60,"reason":"exports refuse a recent start"}]"#,
        )],
        ..Operation::get_for_tests("export", "/export")
    };

    fn q(v: &str) -> Vec<(String, String)> {
        vec![("start_time".into(), v.into())]
    }

    #[test]
    fn a_time_less_than_the_rule_before_now_is_refused_naming_the_latest_allowed() {
        let now = 1_700_000_000;
        assert!(check(&EXPORT, &q("1699999940"), now).is_ok());
        assert!(check(&EXPORT, &q("0"), now).is_ok());
        let err = check(&EXPORT, &q("1699999990"), now).unwrap_err();
        let text = err.to_string();
        assert!(err.is_invalid(), "{err:?}");
        assert!(text.contains("start_time"), "{text}");
        assert!(text.contains("10s before now"), "{text}");
        assert!(text.contains("use 1699999940 or earlier"), "{text}");
        assert!(text.contains("exports refuse a recent start"), "{text}");
        assert!(check(&EXPORT, &q("1800000000"), now).is_err(), "the future");
        let other = Operation::get_for_tests("other", "/other");
        assert!(check(&other, &q("1800000000"), now).is_ok());
    }
}
