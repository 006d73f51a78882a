//! What findings are about: kinds, areas, levels, directions, sites in the
//! specs, and the operations and parameters being compared.

use super::*;

/// What happened to the thing a finding is about.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Kind {
    Added,
    Removed,
    Changed,
}

/// The part of the spec a finding is about.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub(super) enum Area {
    #[serde(rename = "operation")]
    Operation,
    #[serde(rename = "parameter")]
    Parameter,
    #[serde(rename = "request body")]
    RequestBody,
    #[serde(rename = "response")]
    Response,
    #[serde(rename = "schema")]
    Schema,
    /// The document's info, servers and tag list.
    #[serde(rename = "document")]
    Document,
}

/// The semver level a finding calls for.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Serialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Level {
    Patch,
    Minor,
    Major,
}

/// Which spec a pointer points into.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Side {
    Old,
    New,
}

/// The directions a value travels in: judged with request rules, response
/// rules, or both.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub(super) struct Dirs {
    pub(super) request: bool,
    pub(super) response: bool,
}

impl Dirs {
    /// Judged with the request rules.
    pub(super) const REQUEST: Dirs = Dirs {
        request: true,
        response: false,
    };
    /// Judged with the response rules.
    pub(super) const RESPONSE: Dirs = Dirs {
        request: false,
        response: true,
    };
    /// Judged with both.
    pub(super) const BOTH: Dirs = Dirs {
        request: true,
        response: true,
    };

    /// Both sets of directions.
    pub(super) fn union(self, other: Dirs) -> Dirs {
        Dirs {
            request: self.request || other.request,
            response: self.response || other.response,
        }
    }

    /// As shown in reports.
    pub(super) fn label(self) -> &'static str {
        match (self.request, self.response) {
            (true, true) => "request and response",
            (true, false) => "request",
            (false, true) => "response",
            (false, false) => "none",
        }
    }
}

/// One difference between the specs.
#[derive(Clone, Debug, Serialize)]
pub(super) struct Finding {
    pub(super) kind: Kind,
    pub(super) area: Area,
    /// The operationId or schema name and the field path, like
    /// `Ticket.status` or `create_ticket request body .ticket.priority`.
    pub(super) location: String,
    /// JSON pointer into the spec named by `side`.
    pub(super) pointer: String,
    /// `new` for additions and changes, `old` for removals.
    pub(super) side: Side,
    pub(super) breaking: bool,
    pub(super) level: Level,
    /// `request`, `response`, `request and response`, or empty when the
    /// direction does not matter (operations, documentation).
    pub(super) direction: &'static str,
    /// The change, briefly: "enum value `hold` removed".
    pub(super) what: String,
    /// What it does to users.
    pub(super) reason: String,
}

/// A rule's judgement in one direction: whether it breaks, and why.
pub(super) type Rule = (bool, String);

/// Where a comparison is: the finding's area and location, and the pointers
/// of the compared values in both specs.
#[derive(Clone, Debug)]
pub(super) struct Site {
    pub(super) area: Area,
    /// The operationId with its part (`create_ticket request body`) or the schema name.
    pub(super) base: String,
    /// The field path below `base`: `.ticket.priority`, `[]`, `.*`.
    pub(super) path: String,
    pub(super) old_ptr: String,
    pub(super) new_ptr: String,
    /// The Rust type generated for the value here, when it can be named
    /// (component schemas and their nested properties).
    pub(super) rust: Option<String>,
    /// The name of the field, parameter or schema here, for messages.
    pub(super) leaf: String,
}

impl Site {
    /// A site at the top of an operation part or a component schema.
    pub(super) fn new(area: Area, base: String, old_ptr: String, new_ptr: String) -> Site {
        let leaf = base.clone();
        Site {
            area,
            base,
            path: String::new(),
            old_ptr,
            new_ptr,
            rust: None,
            leaf,
        }
    }

    /// The same site, naming `leaf` in messages.
    pub(super) fn named(self, leaf: &str) -> Site {
        Site {
            leaf: leaf.to_string(),
            ..self
        }
    }

    /// `base` and `path` together: `Ticket.status`, `create_ticket request body .ticket`.
    pub(super) fn location(&self) -> String {
        if self.path.is_empty() {
            self.base.clone()
        } else if self.area == Area::Schema {
            format!("{}{}", self.base, self.path)
        } else {
            format!("{} {}", self.base, self.path)
        }
    }

    /// The site one step down: `path` is appended to the location, `ptr` to both pointers.
    pub(super) fn child(&self, path: &str, ptr: &str, rust: Option<&str>) -> Site {
        Site {
            area: self.area,
            base: self.base.clone(),
            path: format!("{}{path}", self.path),
            old_ptr: format!("{}{ptr}", self.old_ptr),
            new_ptr: format!("{}{ptr}", self.new_ptr),
            rust: match (&self.rust, rust) {
                (Some(parent), Some(part)) => Some(format!("{parent}{}", pascal(part))),
                _ => None,
            },
            leaf: match path.strip_prefix('.') {
                Some(name) if name != "*" => name.to_string(),
                _ => format!("{}{path}", self.leaf),
            },
        }
    }

    /// The same site, pointing `suffix` further into both specs.
    pub(super) fn ptr(&self, suffix: &str) -> Site {
        Site {
            old_ptr: format!("{}{suffix}", self.old_ptr),
            new_ptr: format!("{}{suffix}", self.new_ptr),
            ..self.clone()
        }
    }

    /// The same site with other pointers (after following `$ref`s).
    pub(super) fn at(&self, old_ptr: String, new_ptr: String) -> Site {
        Site {
            old_ptr,
            new_ptr,
            ..self.clone()
        }
    }

    /// The name of the field here, for messages.
    pub(super) fn field(&self) -> String {
        self.leaf.clone()
    }

    /// "the Rust enum `TicketStatus`", or "the Rust enum" when unnamed.
    pub(super) fn rust_enum(&self) -> String {
        match &self.rust {
            Some(name) => format!("the Rust enum `{name}`"),
            None => "the Rust enum".into(),
        }
    }
}

/// An operation of one spec, with what matching and comparing it needs.
pub(super) struct Op<'a> {
    pub(super) id: String,
    pub(super) explicit_id: bool,
    pub(super) method: &'static str,
    pub(super) path: &'a str,
    /// The path with parameter names blanked: `/tickets/{}`.
    pub(super) shape: String,
    pub(super) pointer: String,
    pub(super) op: &'a Value,
}

impl Op<'_> {
    /// `GET /tickets`.
    pub(super) fn route(&self) -> String {
        format!("{} {}", self.method.to_uppercase(), self.path)
    }
}

/// The operations of a spec, in its order.
pub(super) fn ops(spec: &Spec) -> Vec<Op<'_>> {
    spec.operations()
        .into_iter()
        .map(|o| Op {
            id: o.id(),
            explicit_id: o.op["operationId"].is_string(),
            method: o.method,
            path: o.path,
            shape: path_shape(o.path),
            pointer: o.pointer,
            op: o.op,
        })
        .collect()
}

/// A path with its parameter names blanked, so `/t/{id}` and `/t/{ticket_id}` match.
pub(super) fn path_shape(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

/// The names of a path's parameters, in order.
pub(super) fn path_params(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(n, _)| n))
        .collect()
}

/// A parameter of an operation (path-level ones merged in, `$ref`s followed).
pub(super) struct Param<'a> {
    pub(super) name: String,
    pub(super) location: String,
    pub(super) value: &'a Value,
    pub(super) pointer: String,
}
