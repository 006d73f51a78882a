//! Comparing schemas: components, their structure, properties, items,
//! additional properties and composition.

use super::*;

impl<'a> Differ<'a> {
    /// Which component schemas each spec reaches from requests and responses.
    pub(super) fn usage(spec: &'a Spec) -> BTreeMap<String, Dirs> {
        let mut out: BTreeMap<String, Dirs> = BTreeMap::new();
        for op in ops(spec) {
            let mut request = BTreeSet::new();
            let mut response = BTreeSet::new();
            for p in Self::params_of(spec, &op) {
                collect_refs(spec, p.value, &mut request, &mut HashSet::new());
            }
            if let Some(body) = op.op.get("requestBody") {
                collect_refs(spec, body, &mut request, &mut HashSet::new());
            }
            if let Some(responses) = op.op.get("responses") {
                collect_refs(spec, responses, &mut response, &mut HashSet::new());
            }
            for name in request {
                let d = out.entry(name).or_default();
                *d = d.union(Dirs::REQUEST);
            }
            for name in response {
                let d = out.entry(name).or_default();
                *d = d.union(Dirs::RESPONSE);
            }
        }
        out
    }

    /// Component schemas: removed, renamed, added, and changed ones.
    pub(super) fn components(&mut self) {
        let (old, new) = (
            self.old.schemas().unwrap_or(&EMPTY),
            self.new.schemas().unwrap_or(&EMPTY),
        );
        let (old_use, new_use) = (Self::usage(self.old), Self::usage(self.new));
        let dirs_of = |old_name: Option<&str>, new_name: Option<&str>| {
            let d = old_name
                .and_then(|n| old_use.get(n))
                .copied()
                .unwrap_or_default();
            let d = d.union(
                new_name
                    .and_then(|n| new_use.get(n))
                    .copied()
                    .unwrap_or_default(),
            );
            // A schema no operation uses is still a public Rust type: judge it both ways.
            if d == Dirs::default() { Dirs::BOTH } else { d }
        };
        let ptr = |name: &str| format!("/components/schemas/{}", spec::escape(name));
        let renames = self.renames.clone();
        let renamed_to: BTreeSet<&String> = renames.values().collect();
        for name in old.keys().filter(|k| !new.contains_key(*k)) {
            match renames.get(name) {
                Some(to) => {
                    let site = Site::new(Area::Schema, to.clone(), ptr(name), ptr(to));
                    let what = format!("schema `{name}` renamed to `{to}`");
                    let reason = format!(
                        "the Rust type `{}` becomes `{}`, so code naming it stops compiling (the wire format is the same)",
                        pascal(name),
                        pascal(to)
                    );
                    self.breaks(
                        &site,
                        Kind::Changed,
                        Some(dirs_of(Some(name), Some(to))),
                        what,
                        reason,
                    );
                }
                None => {
                    let site = Site::new(Area::Schema, name.clone(), ptr(name), String::new());
                    let what = format!("schema `{name}` removed");
                    let reason = format!(
                        "the Rust type `{}` disappears, so code naming it stops compiling",
                        pascal(name)
                    );
                    self.breaks(
                        &site,
                        Kind::Removed,
                        Some(dirs_of(Some(name), None)),
                        what,
                        reason,
                    );
                }
            }
        }
        for name in new
            .keys()
            .filter(|k| !old.contains_key(*k) && !renamed_to.contains(k))
        {
            let site = Site::new(Area::Schema, name.clone(), String::new(), ptr(name));
            let what = format!("schema `{name}` added");
            let reason = format!("new Rust type `{}`", pascal(name));
            self.push(
                &site,
                Kind::Added,
                Level::Minor,
                Some(dirs_of(None, Some(name))),
                what,
                reason,
            );
        }
        let mut pairs: Vec<(&String, &String)> = old
            .keys()
            .filter(|k| new.contains_key(*k))
            .map(|k| (k, k))
            .collect();
        pairs.extend(renames.iter());
        for (on, nn) in pairs {
            let mut site = Site::new(Area::Schema, nn.clone(), ptr(on), ptr(nn));
            site.rust = Some(pascal(nn));
            let dirs = dirs_of(Some(on), Some(nn));
            self.schema_body(&site, &old[on.as_str()], &new[nn.as_str()], dirs, 0);
        }
    }

    /// Compares two schemas found at `site`; a `$ref` to the same component
    /// schema on both sides stops here (components are compared on their own).
    pub(super) fn schema(
        &mut self,
        site: &Site,
        o: &'a Value,
        n: &'a Value,
        dirs: Dirs,
        depth: usize,
    ) {
        match (component_ref(o), component_ref(n)) {
            (Some(a), Some(b)) => {
                if a == b || self.renames.get(a).is_some_and(|r| r == b) {
                    return;
                }
                let what = format!("schema changed from `{a}` to `{b}`");
                let reason = format!(
                    "the Rust type changes from `{}` to `{}`, and so does the wire format",
                    pascal(a),
                    pascal(b)
                );
                self.breaks(site, Kind::Changed, Some(dirs), what, reason);
            }
            (Some(a), None) => {
                let what = match n.get("$ref").and_then(Value::as_str) {
                    Some(r) => format!("schema `{a}` replaced by `{r}`"),
                    None => format!("schema `{a}` replaced by an inline schema"),
                };
                let reason = format!(
                    "the Rust type is no longer `{}`; differences in content are listed separately",
                    pascal(a)
                );
                self.push(site, Kind::Changed, Level::Minor, Some(dirs), what, reason);
                self.schema_body(site, o, n, dirs, depth);
            }
            (None, Some(b)) => {
                let what = match o.get("$ref").and_then(Value::as_str) {
                    Some(r) => format!("`{r}` replaced by schema `{b}`"),
                    None => format!("inline schema replaced by `{b}`"),
                };
                let reason = format!(
                    "the Rust type is now `{}`; differences in content are listed separately",
                    pascal(b)
                );
                self.push(site, Kind::Changed, Level::Minor, Some(dirs), what, reason);
                self.schema_body(site, o, n, dirs, depth);
            }
            (None, None) => self.schema_body(site, o, n, dirs, depth),
        }
    }

    /// Compares two schemas structurally, following `$ref`s on both sides.
    fn schema_body(&mut self, site: &Site, o: &'a Value, n: &'a Value, dirs: Dirs, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let (o, op) = resolve_at(self.old, o, site.old_ptr.clone());
        let (n, np) = resolve_at(self.new, n, site.new_ptr.clone());
        if !self
            .seen
            .insert((op.clone(), format!("{np} {}", dirs.label())))
        {
            return;
        }
        let site = &site.at(op, np);
        self.docs(site, o, n);
        let (ot, nt) = (ty(self.old, o), ty(self.new, n));
        let changed_type = match (&ot, &nt) {
            (Ty::Composite, _) | (_, Ty::Composite) => false,
            (a, b) => a != b,
        };
        if changed_type {
            let what = format!("type changed from {} to {}", ot.show(), nt.show());
            let rust = self.rust_change(o, n, "the Rust type changes");
            let req = (
                true,
                format!(
                    "clients that send {} get 400 from the API, and {rust}",
                    ot.article()
                ),
            );
            let resp = (
                true,
                format!(
                    "clients expecting {} get {}, and {rust}",
                    ot.article(),
                    nt.article()
                ),
            );
            self.judged(site, Kind::Changed, dirs, what, req, resp);
            return;
        }
        let (of, nf) = (o["format"].as_str(), n["format"].as_str());
        if of != nf {
            let show =
                |f: Option<&str>| f.map(|f| format!("`{f}`")).unwrap_or_else(|| "none".into());
            let what = format!("format changed from {} to {}", show(of), show(nf));
            let rust = self.rust_change(o, n, "values valid before may be refused or misread");
            let req = (
                true,
                format!("clients sending the old format get 400 from the API, and {rust}"),
            );
            let resp = (
                true,
                format!("clients parsing the old format break, and {rust}"),
            );
            self.judged(&site.ptr("/format"), Kind::Changed, dirs, what, req, resp);
        }
        self.nullable(site, o, n, dirs);
        self.enums(site, o, n, dirs);
        self.limits(site, o, n, dirs);
        self.default(site, o, n, dirs);
        self.access(site, o, n, dirs);
        self.properties(site, o, n, dirs, depth);
        self.additional(site, o, n, dirs, depth);
        self.items(site, o, n, dirs, depth);
        self.all_of(site, o, n, dirs, depth);
        if enum_info(self.old, o).is_none() && enum_info(self.new, n).is_none() {
            self.one_of(site, o, n, dirs, depth, "oneOf");
            self.one_of(site, o, n, dirs, depth, "anyOf");
        }
        if o["discriminator"]["propertyName"] != n["discriminator"]["propertyName"] {
            let what = "discriminator property changed".to_string();
            let reason =
                "variants are told apart by another field, so bodies built the old way are misread"
                    .to_string();
            self.breaks(
                &site.ptr("/discriminator"),
                Kind::Changed,
                Some(dirs),
                what,
                reason,
            );
        }
    }

    /// `nullable`: made nullable breaks responses, made non-nullable breaks requests.
    pub(super) fn nullable(&mut self, site: &Site, o: &Value, n: &Value, dirs: Dirs) {
        let field = site.field();
        match (
            o["nullable"].as_bool() == Some(true),
            n["nullable"].as_bool() == Some(true),
        ) {
            (false, true) => {
                let what = format!("`{field}` made nullable");
                let req = (false, "clients may send null now".to_string());
                let resp = (
                    true,
                    format!(
                        "the API may answer null for `{field}`: clients expecting a value break, and the Rust field becomes an `Option`"
                    ),
                );
                self.judged(&site.ptr("/nullable"), Kind::Changed, dirs, what, req, resp);
            }
            (true, false) => {
                let what = format!("`{field}` made non-nullable");
                let req = (
                    true,
                    format!(
                        "clients that send null for `{field}` get 400 from the API, and the Rust field loses its `Option`"
                    ),
                );
                let resp = (false, "the API no longer answers null here".to_string());
                self.judged(site, Kind::Changed, dirs, what, req, resp);
            }
            _ => {}
        }
    }

    /// Object properties: added, removed, required changes, then each common
    /// property's schema, in the directions it travels (`readOnly` ones not in
    /// requests, `writeOnly` ones not in responses).
    pub(super) fn properties(
        &mut self,
        site: &Site,
        o: &'a Value,
        n: &'a Value,
        dirs: Dirs,
        depth: usize,
    ) {
        let op = o["properties"].as_object().unwrap_or(&EMPTY);
        let np = n["properties"].as_object().unwrap_or(&EMPTY);
        let (or, nr) = (required_set(o), required_set(n));
        let mut names: Vec<&String> = op.keys().collect();
        names.extend(np.keys().filter(|k| !op.contains_key(*k)));
        for name in names {
            let child = site.child(
                &format!(".{name}"),
                &format!("/properties/{}", spec::escape(name)),
                Some(name),
            );
            match (op.get(name), np.get(name)) {
                (None, Some(ns)) => {
                    let d = narrow(self.new, ns, dirs);
                    let required = nr.contains(name.as_str());
                    let what = format!(
                        "{} field `{name}` added",
                        if required { "required" } else { "optional" }
                    );
                    let req = if required {
                        (
                            true,
                            format!(
                                "clients that do not send `{name}` get 400 from the API, and the Rust type gains a required field"
                            ),
                        )
                    } else {
                        (
                            false,
                            format!(
                                "clients can send `{name}` and the Rust type gains an optional field"
                            ),
                        )
                    };
                    let resp = (
                        false,
                        format!("answers carry `{name}` and the Rust type gains the field"),
                    );
                    self.judged(&child, Kind::Added, d, what, req, resp);
                }
                (Some(os), None) => {
                    let d = narrow(self.old, os, dirs);
                    let what = format!("field `{name}` removed");
                    let req = (
                        true,
                        format!(
                            "the Rust field `{}` disappears, so code setting it stops compiling, and the API no longer takes it",
                            snake(name)
                        ),
                    );
                    let resp = (
                        true,
                        format!(
                            "clients reading `{name}` get nothing: answers no longer carry it and the Rust field disappears"
                        ),
                    );
                    self.judged(&child, Kind::Removed, d, what, req, resp);
                }
                (Some(os), Some(ns)) => {
                    // Travels where it did on either side (a field made read-only is still judged for requests).
                    let d = narrow(self.old, os, dirs).union(narrow(self.new, ns, dirs));
                    match (or.contains(name.as_str()), nr.contains(name.as_str())) {
                        (false, true) => {
                            let what = format!("field `{name}` made required");
                            let req = (
                                true,
                                format!(
                                    "clients that leave `{name}` out get 400 from the API, and the Rust field is no longer an `Option`"
                                ),
                            );
                            let resp = (false, format!("answers always carry `{name}` now"));
                            self.judged(&child, Kind::Changed, d, what, req, resp);
                        }
                        (true, false) => {
                            let what = format!("field `{name}` made optional");
                            let req = (false, format!("clients may leave `{name}` out now"));
                            let resp = (
                                true,
                                format!(
                                    "answers may leave `{name}` out, so clients relying on it break, and the Rust field becomes an `Option`"
                                ),
                            );
                            self.judged(&child, Kind::Changed, d, what, req, resp);
                        }
                        _ => {}
                    }
                    if d != Dirs::default() {
                        self.schema(&child, os, ns, d, depth + 1);
                    }
                }
                (None, None) => {}
            }
        }
    }

    /// `additionalProperties`: typed values compared; closing breaks requests,
    /// opening breaks responses, typed to untyped (or back) breaks both.
    pub(super) fn additional(
        &mut self,
        site: &Site,
        o: &'a Value,
        n: &'a Value,
        dirs: Dirs,
        depth: usize,
    ) {
        let (oa, na) = (Extra::of(o), Extra::of(n));
        let child = site.child(".*", "/additionalProperties", None);
        match (oa, na) {
            (Extra::Typed(os), Extra::Typed(ns)) => self.schema(&child, os, ns, dirs, depth + 1),
            (a, b) if a.kind() == b.kind() => {}
            (a, b) => {
                let what = format!(
                    "additional properties changed from {} to {}",
                    a.kind(),
                    b.kind()
                );
                let (req, resp) = match (a.kind(), b.kind()) {
                    ("any", "none") => (
                        (true, "clients sending extra keys get 400 from the API".to_string()),
                        (false, "answers no longer carry extra keys".to_string()),
                    ),
                    ("none", "any") => (
                        (false, "clients may send extra keys".to_string()),
                        (true, "answers may carry extra keys, which clients built from the old spec refuse to decode".to_string()),
                    ),
                    _ => {
                        let r = "the Rust type of the map values changes, so code using them stops compiling".to_string();
                        ((true, r.clone()), (true, r))
                    }
                };
                self.judged(
                    &site.ptr("/additionalProperties"),
                    Kind::Changed,
                    dirs,
                    what,
                    req,
                    resp,
                );
            }
        }
    }

    /// Array `items`.
    pub(super) fn items(
        &mut self,
        site: &Site,
        o: &'a Value,
        n: &'a Value,
        dirs: Dirs,
        depth: usize,
    ) {
        let child = site.child("[]", "/items", None);
        match (o.get("items"), n.get("items")) {
            (Some(oi), Some(ni)) => self.schema(&child, oi, ni, dirs, depth + 1),
            (None, Some(_)) | (Some(_), None) if o["type"] == "array" && n["type"] == "array" => {
                let what = "items type changed".to_string();
                let reason =
                    "the Rust element type changes, so code using the elements stops compiling"
                        .to_string();
                self.breaks(&site.ptr("/items"), Kind::Changed, Some(dirs), what, reason);
            }
            _ => {}
        }
    }

    /// `allOf`: included components by name (a removed one breaks, an added
    /// one with required fields breaks requests), inline members by position.
    fn all_of(&mut self, site: &Site, o: &'a Value, n: &'a Value, dirs: Dirs, depth: usize) {
        let members = |v: &'a Value| {
            v["allOf"]
                .as_array()
                .map(|a| a.iter().enumerate().collect::<Vec<_>>())
                .unwrap_or_default()
        };
        let (om, nm) = (members(o), members(n));
        if om.is_empty() && nm.is_empty() {
            return;
        }
        let old_refs: Vec<(usize, String)> = om
            .iter()
            .filter_map(|(i, m)| {
                component_ref(m).map(|r| {
                    (
                        *i,
                        self.renames
                            .get(r)
                            .cloned()
                            .unwrap_or_else(|| r.to_string()),
                    )
                })
            })
            .collect();
        let new_refs: Vec<(usize, String)> = nm
            .iter()
            .filter_map(|(i, m)| component_ref(m).map(|r| (*i, r.to_string())))
            .collect();
        for (i, name) in old_refs
            .iter()
            .filter(|(_, r)| !new_refs.iter().any(|(_, n)| n == r))
        {
            let what = format!("no longer includes `{name}` (allOf)");
            let reason =
                format!("the fields of `{name}` are gone: clients reading or setting them break");
            self.breaks(
                &site.ptr(&format!("/allOf/{i}")),
                Kind::Removed,
                Some(dirs),
                what,
                reason,
            );
        }
        for (i, name) in new_refs
            .iter()
            .filter(|(_, r)| !old_refs.iter().any(|(_, o)| o == r))
        {
            let target = self.new.resolve(nm[*i].1);
            let has_required = !required_set(target).is_empty();
            let what = format!("now includes `{name}` (allOf)");
            let req = if has_required {
                (
                    true,
                    format!(
                        "clients that do not send the required fields of `{name}` get 400 from the API"
                    ),
                )
            } else {
                (false, format!("clients can send the fields of `{name}`"))
            };
            let resp = (false, format!("answers carry the fields of `{name}`"));
            self.judged(
                &site.ptr(&format!("/allOf/{i}")),
                Kind::Added,
                dirs,
                what,
                req,
                resp,
            );
        }
        let oi: Vec<_> = om
            .iter()
            .filter(|(_, m)| component_ref(m).is_none())
            .collect();
        let ni: Vec<_> = nm
            .iter()
            .filter(|(_, m)| component_ref(m).is_none())
            .collect();
        for k in 0..oi.len().max(ni.len()) {
            let (o_ptr, n_ptr) = (
                oi.get(k)
                    .map(|(i, _)| format!("{}/allOf/{i}", site.old_ptr))
                    .unwrap_or_else(|| format!("{}/allOf", site.old_ptr)),
                ni.get(k)
                    .map(|(i, _)| format!("{}/allOf/{i}", site.new_ptr))
                    .unwrap_or_else(|| format!("{}/allOf", site.new_ptr)),
            );
            let member_site = site.at(o_ptr, n_ptr);
            match (oi.get(k), ni.get(k)) {
                (Some((_, a)), Some((_, b))) => self.schema(&member_site, a, b, dirs, depth + 1),
                (Some((_, a)), None) => {
                    self.schema_body(&member_site, a, blank_like(self.old, a), dirs, depth + 1)
                }
                (None, Some((_, b))) => {
                    self.schema_body(&member_site, blank_like(self.new, b), b, dirs, depth + 1)
                }
                (None, None) => {}
            }
        }
    }

    /// oneOf or anyOf variants: matched by component name, else by position.
    fn one_of(
        &mut self,
        site: &Site,
        o: &'a Value,
        n: &'a Value,
        dirs: Dirs,
        depth: usize,
        key: &str,
    ) {
        let members = |v: &'a Value| {
            v[key]
                .as_array()
                .map(|a| a.iter().collect::<Vec<_>>())
                .unwrap_or_default()
        };
        let (om, nm) = (members(o), members(n));
        if om.is_empty() && nm.is_empty() {
            return;
        }
        let name_of = |m: &Value, renames: &BTreeMap<String, String>| {
            component_ref(m).map(|r| renames.get(r).cloned().unwrap_or_else(|| r.to_string()))
        };
        let mut used_new = vec![false; nm.len()];
        let mut pairs: Vec<(Option<usize>, Option<usize>)> = Vec::new();
        let mut inline_new = (0..nm.len()).filter(|j| component_ref(nm[*j]).is_none());
        for (i, m) in om.iter().enumerate() {
            let j = match name_of(m, &self.renames) {
                Some(name) => (0..nm.len())
                    .find(|j| !used_new[*j] && component_ref(nm[*j]) == Some(name.as_str())),
                None => inline_new.next(),
            };
            if let Some(j) = j {
                used_new[j] = true;
            }
            pairs.push((Some(i), j));
        }
        pairs.extend(
            (0..nm.len())
                .filter(|j| !used_new[*j])
                .map(|j| (None, Some(j))),
        );
        for (i, j) in pairs {
            let label = |k: usize, m: &Value| match component_ref(m) {
                Some(name) => format!("`{name}`"),
                None => format!("{key} variant {k}"),
            };
            match (i, j) {
                (Some(i), Some(j)) => {
                    let child = site.child(&format!("({key} {j})"), "", None).at(
                        format!("{}/{key}/{i}", site.old_ptr),
                        format!("{}/{key}/{j}", site.new_ptr),
                    );
                    self.schema(&child, om[i], nm[j], dirs, depth + 1);
                }
                (Some(i), None) => {
                    let what = format!("{key} variant {} removed", label(i, om[i]));
                    let req = (
                        true,
                        format!(
                            "clients that send that variant get 400 from the API, and {} loses it",
                            site.rust_enum()
                        ),
                    );
                    let resp = (
                        true,
                        format!(
                            "{} loses the variant, so code matching on it stops compiling",
                            site.rust_enum()
                        ),
                    );
                    self.judged(
                        &site.ptr(&format!("/{key}/{i}")),
                        Kind::Removed,
                        dirs,
                        what,
                        req,
                        resp,
                    );
                }
                (None, Some(j)) => {
                    let what = format!("{key} variant {} added", label(j, nm[j]));
                    let req = (false, "clients can send the new variant".to_string());
                    let resp = (
                        true,
                        "the API may answer with a variant that clients built from the old spec cannot decode".to_string(),
                    );
                    self.judged(
                        &site.ptr(&format!("/{key}/{j}")),
                        Kind::Added,
                        dirs,
                        what,
                        req,
                        resp,
                    );
                }
                (None, None) => {}
            }
        }
    }
}
