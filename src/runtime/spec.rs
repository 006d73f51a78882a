//! What the spec says, as data: codegen emits one [`ApiSpec`] per API
//! (`<api>::spec::API`) with its operations, their parameters and
//! pagination, and its schemas as a small table.
//!
//! The runtime reads it to send requests (method, idempotency, which
//! credentials, how to page), to check requests before sending them
//! ([`validate`](super::validate)), and the sandboxes read it to route and
//! validate what they receive. Nothing here is written by hand per API.

/// One API's spec.
#[derive(Debug)]
#[non_exhaustive]
pub struct ApiSpec {
    /// The API's name, as its cargo feature (`cronofy`).
    pub name: &'static str,
    /// Every operation, in the spec's path order.
    pub operations: &'static [Operation],
    /// Every schema an operation's parameters or bodies use, by index.
    pub schemas: &'static [Schema],
    /// The response header carrying the API's request id, if it names one
    /// (`x-specbound-request-id-header`).
    pub request_id_header: Option<&'static str>,
    /// `x-specbound-hosts`: named host roots (data centers, login hosts) as
    /// (name, role, URL).
    pub hosts: &'static [(&'static str, &'static str, &'static str)],
    /// `x-specbound-authorization-url`: (name, URL template with `{app}`-style
    /// host placeholders, default scope).
    pub authorization_urls: &'static [(&'static str, &'static str, &'static str)],
    /// `components.securitySchemes`: (name, where the credential goes).
    pub security_schemes: &'static [(&'static str, Scheme)],
    /// The spec's other top-level `x-specbound-*` extensions, as (name,
    /// value as JSON).
    pub extensions: &'static [(&'static str, &'static str)],
}

/// Where a security scheme's credential goes on a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scheme {
    /// `Authorization: Bearer <token>` (also OAuth 2).
    Bearer,
    /// `Authorization: Basic <user:password>`.
    Basic,
    /// An API key in this query parameter.
    QueryKey(&'static str),
    /// An API key in this header.
    HeaderKey(&'static str),
}

impl ApiSpec {
    /// The operation named `id`.
    pub fn operation(&self, id: &str) -> Option<&'static Operation> {
        self.operations.iter().find(|op| op.id == id)
    }

    /// The operation of `method` whose path template matches `path` (below
    /// the base URL, with its leading `/`, without a query), with the
    /// values of its path parameters; the first in the spec's order.
    pub fn route(
        &self,
        method: &str,
        path: &str,
    ) -> Option<(&'static Operation, Vec<(&'static str, String)>)> {
        self.operations
            .iter()
            .filter(|op| op.method.eq_ignore_ascii_case(method))
            .find_map(|op| op.match_path(path).map(|values| (op, values)))
    }

    /// Whether a request counted as `operation_id` carries the client's
    /// credentials: when its operation names a security scheme, and for a
    /// raw request (a next link, a batch), which counts as the API's call.
    pub fn takes_credentials(&self, operation_id: &str) -> bool {
        self.operation(operation_id)
            .is_none_or(|op| !op.security.is_empty())
    }

    /// The schema at `index`.
    pub fn schema(&self, index: u32) -> &'static Schema {
        &self.schemas[index as usize]
    }

    /// The host root of `name` in `role` (`x-specbound-hosts`).
    pub fn host(&self, name: &str, role: &str) -> Option<&'static str> {
        self.hosts
            .iter()
            .find(|(n, r, _)| *n == name && *r == role)
            .map(|(_, _, url)| *url)
    }

    /// The names of `x-specbound-hosts`, in the spec's order.
    pub fn host_names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = Vec::new();
        for (n, _, _) in self.hosts {
            if !names.contains(n) {
                names.push(n);
            }
        }
        names
    }

    /// The security scheme named `name`.
    pub fn scheme(&self, name: &str) -> Option<Scheme> {
        self.security_schemes
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| *s)
    }

    /// The value of the top-level extension `name` (JSON text), if the
    /// spec sets it.
    pub fn extension(&self, name: &str) -> Option<&'static str> {
        self.extensions
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }

    /// The authorization URL template named `name` and its default scope.
    pub fn authorization_url(&self, name: &str) -> Option<(&'static str, &'static str)> {
        self.authorization_urls
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, url, scope)| (*url, *scope))
    }
}

#[cfg(test)]
impl ApiSpec {
    /// A spec for unit tests: `operations` and `schemas`, nothing else.
    pub(crate) const fn for_tests(
        name: &'static str,
        operations: &'static [Operation],
        schemas: &'static [Schema],
    ) -> ApiSpec {
        ApiSpec {
            name,
            operations,
            schemas,
            request_id_header: None,
            hosts: &[],
            authorization_urls: &[],
            security_schemes: &[],
            extensions: &[],
        }
    }
}

/// One operation of a spec.
#[derive(Debug)]
#[non_exhaustive]
pub struct Operation {
    /// The spec's `operationId` (also the Rust method name).
    pub id: &'static str,
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Path template below the base URL, with `{name}` parameters.
    pub path: &'static str,
    /// The first tag.
    pub tag: &'static str,
    /// Whether sending it twice has the effect of sending it once: the
    /// method's rule, or `x-specbound-idempotent` where the spec overrides it.
    pub idempotent: bool,
    /// Security schemes, in the spec's order of preference (empty: none).
    pub security: &'static [&'static str],
    /// Parameters (path, query and header).
    pub parameters: &'static [Parameter],
    /// The request body: its media type and schema.
    pub body: Option<Body>,
    /// The success status the spec declares.
    pub success: u16,
    /// How the answer pages (`x-specbound-pagination`).
    pub pagination: Option<Pagination>,
    /// The other way the same list pages, where the API has two
    /// (`x-specbound-offset-pagination`: page numbers beside cursors).
    pub offset_pagination: Option<Pagination>,
    /// Most entries per request (`x-specbound-batch-limit`).
    pub batch_limit: Option<u32>,
    /// The operation's other `x-specbound-*` extensions (notes aside), as
    /// (name, value as JSON).
    pub extensions: &'static [(&'static str, &'static str)],
}

impl Operation {
    /// The value of the extension `name` (JSON text), if the spec sets it.
    pub fn extension(&self, name: &str) -> Option<&'static str> {
        self.extensions
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }

    /// The parameter `name` in `location`.
    pub fn parameter(&self, location: Location, name: &str) -> Option<&'static Parameter> {
        self.parameters
            .iter()
            .find(|p| p.location == location && p.name == name)
    }

    /// The method as `http::Method`.
    pub fn http_method(&self) -> http::Method {
        http::Method::from_bytes(self.method.as_bytes()).unwrap_or(http::Method::GET)
    }

    /// The path with `values` put in for its `{name}` parameters,
    /// percent-encoded as the generated builders encode them (a parameter
    /// spanning several segments is put in as it is: its pattern admits only
    /// encoded segments).
    pub fn render_path(&self, values: &[(&str, &str)]) -> String {
        let mut path = self.path.to_string();
        for (name, value) in values {
            let spans = self
                .parameter(Location::Path, name)
                .is_some_and(|p| p.segments_pattern.is_some());
            let value = if spans {
                (*value).to_string()
            } else {
                progenitor_client::encode_path(value)
            };
            path = path.replace(&format!("{{{name}}}"), &value);
        }
        path
    }

    /// The values of the path parameters in `path` (percent-decoded; a
    /// parameter spanning several segments keeps its encoded form, which is
    /// what its pattern describes), if it matches this operation's template.
    pub fn match_path(&self, path: &str) -> Option<Vec<(&'static str, String)>> {
        let template: Vec<&'static str> = self.path.split('/').collect();
        let actual: Vec<&str> = path.split('/').collect();
        let mut values = Vec::new();
        self.match_from(&template, &actual, &mut values)
            .then_some(values)
    }

    /// Matches `template` against `actual` segment by segment, trying each
    /// length for a parameter that spans segments (templates are short).
    fn match_from(
        &self,
        template: &[&'static str],
        actual: &[&str],
        values: &mut Vec<(&'static str, String)>,
    ) -> bool {
        let (Some(t), Some(_)) = (template.first(), actual.first()) else {
            return template.is_empty() && actual.is_empty();
        };
        let Some((prefix, name, suffix)) = split_parameter(t) else {
            return *t == actual[0] && self.match_from(&template[1..], &actual[1..], values);
        };
        let pattern = self
            .parameter(Location::Path, name)
            .and_then(|p| p.segments_pattern);
        if let Some(pattern) = pattern {
            for take in 1..=actual.len() {
                let joined = actual[..take].join("/");
                let Some(value) = joined
                    .strip_prefix(prefix)
                    .and_then(|v| v.strip_suffix(suffix))
                else {
                    continue;
                };
                if !crate::runtime::validate::matches(pattern, value) {
                    continue;
                }
                values.push((name, value.to_string()));
                if self.match_from(&template[1..], &actual[take..], values) {
                    return true;
                }
                values.pop();
            }
            return false;
        }
        let Some(value) = actual[0]
            .strip_prefix(prefix)
            .and_then(|v| v.strip_suffix(suffix))
            .filter(|v| !v.is_empty())
            .and_then(percent_decode)
        else {
            return false;
        };
        values.push((name, value));
        if self.match_from(&template[1..], &actual[1..], values) {
            return true;
        }
        values.pop();
        false
    }
}

/// A template segment holding a parameter: the literal text before it, its
/// name and the literal text after it (`search(q='{q}')`, `{hostname}:`).
fn split_parameter(segment: &'static str) -> Option<(&'static str, &'static str, &'static str)> {
    let open = segment.find('{')?;
    let close = open + segment[open..].find('}')?;
    Some((
        &segment[..open],
        &segment[open + 1..close],
        &segment[close + 1..],
    ))
}

#[cfg(test)]
impl Operation {
    /// A `GET` of `path` for unit tests: idempotent, success 200, no
    /// security, parameters, body, paging or extensions.
    pub(crate) const fn get_for_tests(id: &'static str, path: &'static str) -> Operation {
        Operation {
            id,
            method: "GET",
            path,
            tag: "tests",
            idempotent: true,
            security: &[],
            parameters: &[],
            body: None,
            success: 200,
            pagination: None,
            offset_pagination: None,
            batch_limit: None,
            extensions: &[],
        }
    }
}

fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Where a parameter goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// A `{name}` segment of the path.
    Path,
    /// The query string.
    Query,
    /// A request header.
    Header,
}

/// One parameter of an operation.
#[derive(Debug)]
#[non_exhaustive]
pub struct Parameter {
    /// Its name on the wire (`calendar_ids[]`, `page[size]`).
    pub name: &'static str,
    /// Where it goes.
    pub location: Location,
    /// Whether the spec requires it.
    pub required: bool,
    /// Its schema (index into [`ApiSpec::schemas`]).
    pub schema: u32,
    /// Its default, as JSON text, when the spec gives one.
    pub default: Option<&'static str>,
    /// For a path parameter that spans one or more segments
    /// (`x-specbound-path-segments`, Graph's `me` or `users/{id}`): the
    /// pattern its value must match, which also decides where it ends.
    pub segments_pattern: Option<&'static str>,
}

/// A request body.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Body {
    /// Its media type (`application/json`, `application/x-www-form-urlencoded`).
    pub media: &'static str,
    /// Its schema.
    pub schema: u32,
}

/// How a list answer pages, from the spec's `x-specbound-pagination` (or
/// `x-specbound-offset-pagination`).
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Pagination {
    /// The kind of paging.
    pub style: PageStyle,
    /// The page's property holding the items (empty for a bare array).
    pub items: &'static str,
    /// Path of the next page's link or cursor in the page (`pages.next_page`
    /// as `["pages", "next_page"]`).
    pub next: &'static [&'static str],
    /// Path of a boolean that says whether there is more (Zendesk `meta.has_more`).
    pub has_more: &'static [&'static str],
    /// Path of a boolean that says the list ends with this page, even if
    /// it names a next page (Zendesk's incremental `end_of_stream`).
    pub end: &'static [&'static str],
    /// Query parameter that carries a cursor (`page[after]`).
    pub cursor_param: Option<&'static str>,
    /// Query parameters a cursor replaces: dropped from every request that
    /// carries one (Zendesk's export `start_time`).
    pub cursor_replaces: &'static [&'static str],
    /// Path of the cursor of the page before this one (`meta.before_cursor`),
    /// for reading the list backwards.
    pub prev: &'static [&'static str],
    /// Query parameter that carries the cursor of a page before (`page[before]`).
    pub prev_cursor_param: Option<&'static str>,
    /// Query parameter that numbers pages from 1 (offset paging: `page`).
    pub page_param: Option<&'static str>,
    /// Query parameter that sets the page size (`$top`, `page[size]`).
    pub size_param: Option<&'static str>,
    /// Largest page size the API accepts.
    pub max_size: Option<u32>,
    /// The page size a stream asks for when the caller sets none (else
    /// `max_size`). Cursor streams always send one: Zendesk pages by cursor
    /// only when `page[size]` is sent.
    pub default_size: Option<u32>,
    /// Path of a token to resume from after the last page (Graph's delta
    /// link, Zendesk's export `end_time`), read on every page.
    pub resume: &'static [&'static str],
    /// The operation whose route the next links point at, for tracing and
    /// rate limits (Cronofy's `read_events_page`).
    pub page_operation: Option<&'static str>,
    /// How deep this paging can go, where the API stops it.
    pub depth_limit: Option<DepthLimit>,
}

/// The depth past which an API refuses to page (Zendesk's offset paging
/// stops at 10,000 records, its search at 1,000 results): the answer it
/// gives there becomes an [`Error::Paging`](crate::Error::Paging) that says
/// what to do instead.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct DepthLimit {
    /// Records that can be paged through.
    pub records: u64,
    /// The status the API answers past them.
    pub status: u16,
    /// What to do instead, in the spec's words.
    pub advice: &'static str,
}

#[cfg(test)]
impl Pagination {
    /// A pagination of `style` with its items in `items` and nothing else
    /// set, for unit tests.
    pub(crate) const fn for_tests(style: PageStyle, items: &'static str) -> Pagination {
        Pagination {
            style,
            items,
            next: &[],
            has_more: &[],
            end: &[],
            cursor_param: None,
            cursor_replaces: &[],
            prev: &[],
            prev_cursor_param: None,
            page_param: None,
            size_param: None,
            max_size: None,
            default_size: None,
            resume: &[],
            page_operation: None,
            depth_limit: None,
        }
    }
}

/// The kinds of paging specbound follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageStyle {
    /// One answer holds the whole list (no paging).
    Single,
    /// The answer is one JSON array, read item by item as it arrives.
    Array,
    /// Each page carries the absolute URL of the next (Cronofy `next_page`,
    /// Graph `@odata.nextLink`, Zendesk offset `next_page`).
    NextLink,
    /// Each page carries a cursor sent back in `cursor_param`.
    Cursor,
}

/// One schema of the table (an OpenAPI 3.0 schema, flattened: references
/// become indices).
#[derive(Debug)]
#[non_exhaustive]
pub struct Schema {
    /// The component name, or a made-up one for inline schemas.
    pub name: &'static str,
    /// `nullable: true`.
    pub nullable: bool,
    /// The shape and its constraints.
    pub kind: Kind,
}

/// The shape of a [`Schema`] and the constraints the spec states.
#[derive(Debug)]
#[non_exhaustive]
pub enum Kind {
    /// Anything.
    Any,
    /// `true` or `false`.
    Boolean,
    /// A whole number.
    Integer(Bounds),
    /// Any number.
    Number(Bounds),
    /// A string.
    String(Text),
    /// A list.
    Array {
        /// The items' schema.
        items: u32,
        /// `minItems`.
        min_items: Option<u64>,
        /// `maxItems`.
        max_items: Option<u64>,
    },
    /// An object.
    Object {
        /// Declared properties: (name, schema).
        properties: &'static [(&'static str, u32)],
        /// Properties that must be present.
        required: &'static [&'static str],
        /// Schema of undeclared properties (`None`: any value).
        additional: Option<u32>,
        /// `additionalProperties: false`: undeclared properties are refused.
        closed: bool,
    },
    /// Exactly one of these (told apart by their required properties).
    OneOf(&'static [u32]),
    /// All of these.
    AllOf(&'static [u32]),
}

/// `minimum`/`maximum` (inclusive unless `exclusive*` says otherwise).
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Bounds {
    /// `minimum`.
    pub minimum: Option<f64>,
    /// `maximum`.
    pub maximum: Option<f64>,
    /// `exclusiveMinimum`.
    pub exclusive_minimum: bool,
    /// `exclusiveMaximum`.
    pub exclusive_maximum: bool,
}

/// String constraints.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Text {
    /// `minLength`, in characters.
    pub min_length: Option<u64>,
    /// `maxLength`, in characters.
    pub max_length: Option<u64>,
    /// `pattern` (ECMA 262).
    pub pattern: Option<&'static str>,
    /// `format`.
    pub format: Option<&'static str>,
    /// `enum` values.
    pub values: &'static [&'static str],
}

#[cfg(test)]
mod tests {
    use super::*;

    const OP: Operation = Operation {
        extensions: &[("x-specbound-batch-limit", "50")],
        ..Operation::get_for_tests("get_x", "/v1/calendars/{calendar_id}/events")
    };

    #[test]
    fn a_path_matches_its_template_and_its_parameters_are_decoded() {
        assert_eq!(
            OP.match_path("/v1/calendars/cal%2Fa%20b/events"),
            Some(vec![("calendar_id", "cal/a b".to_string())])
        );
        assert_eq!(OP.match_path("/v1/calendars//events"), None);
        assert_eq!(OP.match_path("/v1/calendars/a/events/x"), None);
        assert_eq!(OP.match_path("/v1/calendar/a/events"), None);
        assert_eq!(OP.extension("x-specbound-batch-limit"), Some("50"));
    }

    const SPANS: &[Parameter] = &[
        Parameter {
            name: "drive",
            location: Location::Path,
            required: true,
            schema: 0,
            default: None,
            segments_pattern: Some("^(me/drive|drives/[a-z0-9]+|users/[a-z0-9]+/drive)$"),
        },
        Parameter {
            name: "item",
            location: Location::Path,
            required: true,
            schema: 0,
            default: None,
            segments_pattern: Some("^(root|items/[a-z0-9]+|root:(/[a-z0-9.%]+)+:)$"),
        },
        Parameter {
            name: "q",
            location: Location::Path,
            required: true,
            schema: 0,
            default: None,
            segments_pattern: None,
        },
    ];
    const CHILDREN: Operation = Operation {
        parameters: SPANS,
        ..Operation::get_for_tests("list_children", "/{drive}/{item}/children")
    };
    const SEARCH: Operation = Operation {
        parameters: SPANS,
        ..Operation::get_for_tests("search", "/{drive}/{item}/search(q='{q}')")
    };

    #[test]
    fn a_parameter_spanning_segments_takes_as_many_as_its_pattern_admits() {
        let m = |op: &Operation, p: &str| op.match_path(p);
        let pairs = |v: &[(&'static str, &str)]| {
            Some(
                v.iter()
                    .map(|(n, s)| (*n, s.to_string()))
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(
            m(&CHILDREN, "/me/drive/root/children"),
            pairs(&[("drive", "me/drive"), ("item", "root")])
        );
        assert_eq!(
            m(&CHILDREN, "/users/u1/drive/items/a1/children"),
            pairs(&[("drive", "users/u1/drive"), ("item", "items/a1")])
        );
        assert_eq!(
            m(&CHILDREN, "/drives/d1/root:/docs/a%20b.txt:/children"),
            pairs(&[("drive", "drives/d1"), ("item", "root:/docs/a%20b.txt:")])
        );
        // Nothing the patterns do not admit: an extra segment, a dot segment.
        assert_eq!(m(&CHILDREN, "/me/drive/x/root/children"), None);
        assert_eq!(m(&CHILDREN, "/me/drive/items/a1/children/x"), None);
        assert_eq!(m(&CHILDREN, "/users/../drive/root/children"), None);
        assert_eq!(
            m(&SEARCH, "/me/drive/root/search(q='a%20b')"),
            pairs(&[("drive", "me/drive"), ("item", "root"), ("q", "a b")])
        );
        assert_eq!(m(&SEARCH, "/me/drive/root/search(q='')"), None);
        assert_eq!(
            CHILDREN.render_path(&[("drive", "users/u1/drive"), ("item", "items/a b")]),
            "/users/u1/drive/items/a b/children"
        );
    }
}
