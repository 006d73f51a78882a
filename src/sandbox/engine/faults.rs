//! Faults a sandbox injects on purpose, for tests of what a client does
//! when a server misbehaves.

use std::sync::Mutex;
use std::time::Duration;

/// One injected fault.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Fault {
    /// Wait this long before answering.
    Delay(Duration),
    /// Answer this status with a plain-text body instead of the operation's answer.
    Status(u16),
    /// Answer 429 with `Retry-After` of this many seconds.
    RateLimited {
        /// Seconds in `Retry-After`.
        retry_after: u64,
    },
    /// Send the real answer's head and only its first `keep` bytes, then
    /// close the connection.
    CutBody {
        /// Bytes of the body sent.
        keep: usize,
    },
}

#[derive(Debug)]
struct Rule {
    operation: Option<String>,
    fault: Fault,
    remaining: usize,
}

/// The faults to inject next, each for an operation (or any) and a number
/// of requests.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<Rule>>,
}

impl Faults {
    /// Injects `fault` into the next `times` requests of `operation`
    /// (`None`: of any operation), after the faults already queued for them.
    pub fn inject(&self, operation: Option<&str>, fault: Fault, times: usize) {
        self.rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Rule {
                operation: operation.map(str::to_string),
                fault,
                remaining: times,
            });
    }

    /// Forgets every queued fault.
    pub fn clear(&self) {
        self.rules.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The fault for a request of `operation`, if one is queued (used up by this).
    pub(crate) fn take(&self, operation: Option<&str>) -> Option<Fault> {
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        let i = rules.iter().position(|r| {
            r.remaining > 0 && (r.operation.is_none() || r.operation.as_deref() == operation)
        })?;
        rules[i].remaining -= 1;
        let fault = rules[i].fault.clone();
        if rules[i].remaining == 0 {
            rules.remove(i);
        }
        Some(fault)
    }
}
