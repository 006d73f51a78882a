//! Every operation of a spec sent with the spec's own examples (from the
//! API's docs) through the generated builder, against wiremock: the
//! method, path, query, headers and body on the wire must be what the
//! spec says, and the typed answer must hold what the example answer holds.

use std::path::PathBuf;

use futures::future::BoxFuture;
use serde_json::{Map, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// One operation, ready to send and to check.
pub(crate) struct Case {
    pub(crate) id: String,
    pub(crate) method: String,
    /// The path below the base URL, with the example values put in.
    pub(crate) path: String,
    /// `x-specbound-host`, when the operation is on another host.
    #[cfg_attr(not(feature = "graph"), allow(dead_code))]
    pub(crate) host: Option<String>,
    /// Parameters by their wire names.
    pub(crate) params: Map<String, Value>,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Option<Value>,
    pub(crate) body_media: Option<String>,
    pub(crate) status: u16,
    pub(crate) answer: Option<Value>,
    pub(crate) binary_answer: bool,
}

/// The spec file `spec/<api>.yaml` as JSON.
pub(crate) fn load(api: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("spec/{api}.yaml"));
    let text = std::fs::read_to_string(&path).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

fn resolve<'a>(spec: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str() {
        Some(r) => spec.pointer(r.trim_start_matches('#')).unwrap_or(v),
        None => v,
    }
}

/// The first example of a media-type object (`example` or `examples`).
fn first_example(spec: &Value, media: &Value) -> Option<Value> {
    if let Some(e) = media.get("example") {
        return Some(e.clone());
    }
    let examples = media.get("examples")?.as_object()?;
    let first = resolve(spec, examples.values().next()?);
    first.get("value").cloned()
}

/// A value for parameter `p`: its example, else one made from its type.
fn param_value(spec: &Value, p: &Value) -> Value {
    let schema = resolve(spec, &p["schema"]);
    if let Some(e) = p.get("example").or_else(|| schema.get("example")) {
        return e.clone();
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    match schema["type"].as_str() {
        Some("integer") => Value::from(5),
        Some("boolean") => Value::from(true),
        _ => Value::from(format!(
            "{}-1",
            p["name"].as_str().unwrap_or("x").trim_start_matches('$')
        )),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every operation of `spec` as a case.
pub(crate) fn cases(spec: &Value) -> Vec<Case> {
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        let shared = item["parameters"].as_array().cloned().unwrap_or_default();
        for method in ["get", "put", "post", "patch", "delete"] {
            let Some(op) = item.get(method) else { continue };
            let mut case = Case {
                id: op["operationId"].as_str().unwrap().to_string(),
                method: method.to_uppercase(),
                path: path.clone(),
                host: op["x-specbound-host"].as_str().map(String::from),
                params: Map::new(),
                query: Vec::new(),
                headers: Vec::new(),
                body: None,
                body_media: None,
                status: 200,
                answer: None,
                binary_answer: false,
            };
            for p in shared
                .iter()
                .chain(op["parameters"].as_array().into_iter().flatten())
            {
                let p = resolve(spec, p);
                let name = p["name"].as_str().unwrap().to_string();
                // Every parameter is sent, optional ones too, so that each
                // reaches the wire under its own name.
                let value = param_value(spec, p);
                match p["in"].as_str().unwrap() {
                    "path" => {
                        let spans = p["x-specbound-path-segments"] == true;
                        let raw = text(&value);
                        let mut put = if spans {
                            raw
                        } else {
                            progenitor_client::encode_path(&raw)
                        };
                        if case.path.contains(&format!("'{{{name}}}'")) {
                            put = put.replace('\'', "''");
                        }
                        case.path = case.path.replace(&format!("{{{name}}}"), &put);
                    }
                    "query" => match &value {
                        // An array goes out as the parameter repeated.
                        Value::Array(items) => case
                            .query
                            .extend(items.iter().map(|v| (name.clone(), text(v)))),
                        other => case.query.push((name.clone(), text(other))),
                    },
                    "header" => case.headers.push((name.to_lowercase(), text(&value))),
                    _ => continue,
                }
                case.params.insert(name, value);
            }
            if let Some(body) = op.get("requestBody") {
                let body = resolve(spec, body);
                let (media, content) = body["content"].as_object().unwrap().iter().next().unwrap();
                case.body_media = Some(media.clone());
                case.body = first_example(spec, content);
            }
            let (code, response) = op["responses"]
                .as_object()
                .unwrap()
                .iter()
                .find(|(c, _)| c.starts_with('2'))
                .unwrap();
            case.status = code.parse().unwrap_or(200);
            let response = resolve(spec, response);
            if let Some((media, content)) = response["content"]
                .as_object()
                .and_then(|c| c.iter().next())
            {
                case.binary_answer = !media.contains("json");
                case.answer = first_example(spec, content);
            }
            out.push(case);
        }
    }
    out
}

/// True when every non-null value of `got` is in `want` (recursively):
/// what the typed answer kept is what the example said.
pub(crate) fn kept(got: &Value, want: &Value) -> Result<(), String> {
    match (got, want) {
        (Value::Null, _) => Ok(()),
        (Value::Object(g), Value::Object(w)) => {
            for (k, v) in g {
                match w.get(k) {
                    Some(wv) => kept(v, wv).map_err(|e| format!("{k}.{e}"))?,
                    None if v.is_null()
                        || v.as_array().is_some_and(Vec::is_empty)
                        || v.as_object().is_some_and(Map::is_empty) => {}
                    None => return Err(format!("{k}: not in the example, got {v}")),
                }
            }
            Ok(())
        }
        (Value::Array(g), Value::Array(w)) if g.len() == w.len() => {
            for (i, (a, b)) in g.iter().zip(w).enumerate() {
                kept(a, b).map_err(|e| format!("[{i}].{e}"))?;
            }
            Ok(())
        }
        // Numbers may be written 1 or 1.0; times with more or fewer digits.
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => Ok(()),
        (Value::String(a), Value::String(b)) if same_time(a, b) => Ok(()),
        (a, b) if a == b => Ok(()),
        (a, b) => Err(format!(" got {a}, the example has {b}")),
    }
}

fn same_time(a: &str, b: &str) -> bool {
    let parse = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok();
    matches!((parse(a), parse(b)), (Some(x), Some(y)) if x == y)
}

/// The request body on the wire as JSON (form bodies as an object of strings).
pub(crate) fn wire_body(request: &wiremock::Request, media: &str) -> Value {
    if media.contains("json") {
        serde_json::from_slice(&request.body).unwrap_or(Value::Null)
    } else if media.contains("form") {
        let map: Map<String, Value> = url::form_urlencoded::parse(&request.body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        Value::Object(map)
    } else {
        Value::String(String::from_utf8_lossy(&request.body).into_owned())
    }
}

/// The example body as the wire carries it (form values as strings).
pub(crate) fn expected_body(example: &Value, media: &str) -> Value {
    if media.contains("form") {
        let map = example
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), Value::String(text(v))))
            .collect();
        return Value::Object(map);
    }
    example.clone()
}

/// The query pairs of `request`, decoded.
pub(crate) fn query(request: &wiremock::Request) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = request
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.sort();
    pairs
}

/// Checks the one request `server` received for `case`; `prefix` is the
/// base path of the case's host (`/v1.0`).
pub(crate) async fn check_wire(
    server: &MockServer,
    case: &Case,
    prefix: &str,
) -> Result<(), String> {
    let received = server.received_requests().await.unwrap_or_default();
    let [request] = received.as_slice() else {
        return Err(format!("{} requests sent, not 1", received.len()));
    };
    if request.method.as_str() != case.method {
        return Err(format!(
            "method {} instead of {}",
            request.method, case.method
        ));
    }
    let want_path = format!("{prefix}{}", case.path);
    if request.url.path() != want_path {
        return Err(format!(
            "path {} instead of {want_path}",
            request.url.path()
        ));
    }
    let mut want_query = case.query.clone();
    want_query.sort();
    if query(request) != want_query {
        return Err(format!(
            "query {:?} instead of {want_query:?}",
            query(request)
        ));
    }
    for (name, value) in &case.headers {
        let got = request
            .headers
            .get(name.as_str())
            .and_then(|v| v.to_str().ok());
        if got != Some(value.as_str()) {
            return Err(format!("header {name}: {got:?} instead of {value}"));
        }
    }
    if let (Some(example), Some(media)) = (&case.body, &case.body_media) {
        let got = wire_body(request, media);
        let want = expected_body(example, media);
        if media.contains("json") {
            kept(&got, &want).map_err(|e| format!("body: {e}"))?;
            kept(&want, &got).map_err(|e| format!("body lost: {e}"))?;
        } else if got != want {
            return Err(format!("body {got} instead of {want}"));
        }
    }
    Ok(())
}

/// Mounts the example answer of `case` at `prefix` + its path.
async fn mount_answer(server: &MockServer, case: &Case, prefix: &str) {
    let mut response = ResponseTemplate::new(case.status);
    match &case.answer {
        Some(Value::String(text)) if case.binary_answer => {
            response = response.set_body_raw(text.clone().into_bytes(), "application/octet-stream");
        }
        Some(body) => response = response.set_body_json(body),
        None => {}
    }
    // An answer whose meaning is in a header (a copy's monitor URL).
    if case.status == 202 && case.answer.is_none() {
        response = response.insert_header("location", "https://api.onedrive.com/monitor/4A3407B5");
    }
    Mock::given(method(case.method.as_str()))
        .and(path(format!("{prefix}{}", case.path)))
        .respond_with(response)
        .mount(server)
        .await;
}

/// Sends every case of `spec` through `send` against `server` (each case's
/// base path from `prefix`), and lists what failed: a send error, the
/// wire, or the typed answer.
pub(crate) async fn every_operation<'a>(
    spec: &Value,
    server: &MockServer,
    prefix: impl Fn(&Case) -> &'static str,
    send: impl Fn(&Case) -> BoxFuture<'a, specbound::Result<Value>>,
) -> (usize, Vec<String>) {
    let all = cases(spec);
    let mut failures = Vec::new();
    for case in &all {
        server.reset().await;
        let prefix = prefix(case);
        mount_answer(server, case, prefix).await;
        let got = match send(case).await {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{}: {e}", case.id));
                continue;
            }
        };
        if let Err(e) = check_wire(server, case, prefix).await {
            failures.push(format!("{}: {e}", case.id));
            continue;
        }
        match &case.answer {
            Some(want) if !case.binary_answer => {
                if let Err(e) = kept(&got, want) {
                    failures.push(format!("{}: answer {e}", case.id));
                } else if want.as_object().is_some_and(|o| !o.is_empty())
                    && got.as_object().is_none_or(|o| o.is_empty())
                {
                    failures.push(format!("{}: the typed answer is empty", case.id));
                }
            }
            Some(Value::String(text)) if got != Value::String(text.clone()) => {
                failures.push(format!("{}: binary answer differs", case.id));
            }
            _ => {}
        }
    }
    (all.len(), failures)
}
