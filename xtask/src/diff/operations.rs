//! Comparing operations: matching, routes, tags, security and parameters.

use super::*;

impl<'a> Differ<'a> {
    /// Operations: matched by operationId, else by method and path.
    pub(super) fn operations(&mut self) {
        let (old_ops, new_ops) = (ops(self.old), ops(self.new));
        let mut pair_of_new: Vec<Option<usize>> = vec![None; new_ops.len()];
        let mut used = vec![false; old_ops.len()];
        for (j, n) in new_ops.iter().enumerate().filter(|(_, n)| n.explicit_id) {
            if let Some(i) = (0..old_ops.len())
                .find(|&i| !used[i] && old_ops[i].explicit_id && old_ops[i].id == n.id)
            {
                used[i] = true;
                pair_of_new[j] = Some(i);
            }
        }
        for (j, n) in new_ops.iter().enumerate() {
            if pair_of_new[j].is_some() {
                continue;
            }
            if let Some(i) = (0..old_ops.len())
                .find(|&i| !used[i] && old_ops[i].method == n.method && old_ops[i].shape == n.shape)
            {
                used[i] = true;
                pair_of_new[j] = Some(i);
            }
        }
        for (j, n) in new_ops.iter().enumerate() {
            match pair_of_new[j] {
                Some(i) => self.operation(&old_ops[i], n),
                None => {
                    let site = Site::new(
                        Area::Operation,
                        n.id.clone(),
                        String::new(),
                        n.pointer.clone(),
                    );
                    let what = format!("added operation `{}`", n.route());
                    let reason = format!("new Rust method `{}()`", n.id);
                    self.push(&site, Kind::Added, Level::Minor, None, what, reason);
                }
            }
        }
        for o in old_ops
            .iter()
            .enumerate()
            .filter(|(i, _)| !used[*i])
            .map(|(_, o)| o)
        {
            let site = Site::new(
                Area::Operation,
                o.id.clone(),
                o.pointer.clone(),
                String::new(),
            );
            let what = format!("removed operation `{}`", o.route());
            let reason = format!(
                "the Rust method `{}()` disappears, so code calling it stops compiling, and the API no longer serves `{}`",
                o.id,
                o.route()
            );
            self.breaks(&site, Kind::Removed, None, what, reason);
        }
    }

    /// One operation in both specs.
    pub(super) fn operation(&mut self, o: &Op<'a>, n: &Op<'a>) {
        let site = Site::new(
            Area::Operation,
            n.id.clone(),
            o.pointer.clone(),
            n.pointer.clone(),
        );
        if o.id != n.id {
            let what = format!("operationId renamed from `{}` to `{}`", o.id, n.id);
            let reason = format!(
                "the Rust method `{}()` becomes `{}()`, so code calling it stops compiling",
                o.id, n.id
            );
            self.breaks(&site.ptr("/operationId"), Kind::Changed, None, what, reason);
        }
        if o.method != n.method || o.shape != n.shape {
            let what = format!("moved from `{}` to `{}`", o.route(), n.route());
            let reason = format!(
                "clients built from the old spec call `{}`, which the API no longer serves (404 or 405)",
                o.route()
            );
            self.breaks(&site, Kind::Changed, None, what, reason);
        }
        self.docs(&site, o.op, n.op);
        self.tags(&site, o.op, n.op);
        self.security(&site, o.op, n.op);
        self.parameters(o, n);
        self.request_body(o, n);
        self.responses(o, n);
    }

    /// Tags: reordered is documentation; another set moves the method to
    /// another `Client<Tag>Ext` trait (minor: `prelude::*` users see no change).
    pub(super) fn tags(&mut self, site: &Site, o: &Value, n: &Value) {
        let list = |v: &Value| -> Vec<String> {
            v["tags"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let (ot, nt) = (list(o), list(n));
        if ot == nt {
            return;
        }
        let (os, ns): (BTreeSet<_>, BTreeSet<_>) = (ot.iter().collect(), nt.iter().collect());
        if os == ns {
            let what = format!("tags reordered to [{}]", nt.join(", "));
            self.push(
                &site.ptr("/tags"),
                Kind::Changed,
                Level::Patch,
                None,
                what,
                "documentation only".into(),
            );
        } else {
            let traits: Vec<String> = nt
                .iter()
                .map(|t| format!("`Client{}Ext`", pascal(t)))
                .collect();
            let what = format!(
                "tags changed from [{}] to [{}]",
                ot.join(", "),
                nt.join(", ")
            );
            let reason = format!(
                "the Rust method moves to {}; code importing `prelude::*` is not affected",
                if traits.is_empty() {
                    "the untagged client".to_string()
                } else {
                    traits.join(", ")
                }
            );
            self.push(
                &site.ptr("/tags"),
                Kind::Changed,
                Level::Minor,
                None,
                what,
                reason,
            );
        }
    }

    /// The security requirements in force for an operation, each as a sorted
    /// list of scheme names; `None` when anonymous access is allowed.
    fn security_of(spec: &Spec, op: &Value) -> Option<BTreeSet<Vec<String>>> {
        let reqs = op
            .get("security")
            .or_else(|| spec.doc.get("security"))?
            .as_array()?;
        let mut out = BTreeSet::new();
        for req in reqs {
            let names: Vec<String> = req
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            if names.is_empty() {
                return None;
            }
            out.insert(names);
        }
        if out.is_empty() { None } else { Some(out) }
    }

    /// Security: requiring credentials, or dropping an accepted scheme, breaks;
    /// accepting more is minor.
    pub(super) fn security(&mut self, site: &Site, o: &Value, n: &Value) {
        let (os, ns) = (
            Self::security_of(self.old, o),
            Self::security_of(self.new, n),
        );
        let show = |s: &BTreeSet<Vec<String>>| {
            s.iter()
                .map(|r| format!("`{}`", r.join(" + ")))
                .collect::<Vec<_>>()
                .join(" or ")
        };
        match (&os, &ns) {
            (None, Some(ns)) => {
                let what = format!("now requires {}", show(ns));
                let reason =
                    "clients calling it without credentials get 401 from the API".to_string();
                self.breaks(&site.ptr("/security"), Kind::Changed, None, what, reason);
            }
            (Some(os), None) => {
                let what = format!("no longer requires {}", show(os));
                let reason =
                    "anonymous calls are accepted; existing credentials still work".to_string();
                self.push(site, Kind::Changed, Level::Minor, None, what, reason);
            }
            (Some(os), Some(ns)) if os != ns => {
                let dropped: BTreeSet<_> = os.difference(ns).cloned().collect();
                if dropped.is_empty() {
                    let what = format!(
                        "security now also accepts {}",
                        show(&ns.difference(os).cloned().collect())
                    );
                    let reason =
                        "more ways to authenticate; existing credentials still work".to_string();
                    self.push(
                        &site.ptr("/security"),
                        Kind::Changed,
                        Level::Minor,
                        None,
                        what,
                        reason,
                    );
                } else {
                    let what = format!("security changed from {} to {}", show(os), show(ns));
                    let reason = format!(
                        "clients authenticating with {} get 401 from the API",
                        show(&dropped)
                    );
                    self.breaks(&site.ptr("/security"), Kind::Changed, None, what, reason);
                }
            }
            _ => {}
        }
    }

    /// The parameters of an operation: path-level ones, overridden by the
    /// operation's own, `$ref`s followed.
    pub(super) fn params_of(spec: &'a Spec, op: &Op<'a>) -> Vec<Param<'a>> {
        let item_ptr = format!("/paths/{}", spec::escape(op.path));
        let item = &spec.doc["paths"][op.path];
        let mut out: Vec<Param<'a>> = Vec::new();
        for (list, ptr) in [
            (&item["parameters"], item_ptr),
            (&op.op["parameters"], op.pointer.clone()),
        ] {
            for (i, raw) in list.as_array().into_iter().flatten().enumerate() {
                let (value, pointer) = resolve_at(spec, raw, format!("{ptr}/parameters/{i}"));
                let name = value["name"].as_str().unwrap_or_default().to_string();
                let location = value["in"].as_str().unwrap_or_default().to_string();
                out.retain(|p| !(p.name == name && p.location == location));
                out.push(Param {
                    name,
                    location,
                    value,
                    pointer,
                });
            }
        }
        out
    }

    /// Parameters, paired by position in the path (so a renamed path
    /// parameter is seen as one), else by name (so a moved one is too).
    pub(super) fn parameters(&mut self, o: &Op<'a>, n: &Op<'a>) {
        let (old_params, new_params) = (Self::params_of(self.old, o), Self::params_of(self.new, n));
        let mut pairs: Vec<(Option<usize>, Option<usize>)> = Vec::new();
        let mut used_old = vec![false; old_params.len()];
        let mut used_new = vec![false; new_params.len()];
        // Path parameters pair by position when the path keeps its shape, so a renamed one is seen as such.
        if o.shape == n.shape {
            for (on, nn) in path_params(o.path).into_iter().zip(path_params(n.path)) {
                let oi = old_params
                    .iter()
                    .position(|p| p.location == "path" && p.name == on);
                let ni = new_params
                    .iter()
                    .position(|p| p.location == "path" && p.name == nn);
                if let (Some(oi), Some(ni)) = (oi, ni) {
                    used_old[oi] = true;
                    used_new[ni] = true;
                    pairs.push((Some(oi), Some(ni)));
                }
            }
        }
        let unpaired: Vec<usize> = (0..new_params.len()).filter(|i| !used_new[*i]).collect();
        for ni in unpaired {
            let np = &new_params[ni];
            let same = |p: &Param<'_>, i: usize| !used_old[i] && p.name == np.name;
            let exact = old_params
                .iter()
                .enumerate()
                .position(|(i, p)| same(p, i) && p.location == np.location);
            let moved = old_params.iter().enumerate().position(|(i, p)| same(p, i));
            match exact.or(moved) {
                Some(oi) => {
                    used_old[oi] = true;
                    used_new[ni] = true;
                    pairs.push((Some(oi), Some(ni)));
                }
                None => pairs.push((None, Some(ni))),
            }
        }
        pairs.extend(
            (0..old_params.len())
                .filter(|i| !used_old[*i])
                .map(|i| (Some(i), None)),
        );
        for pair in pairs {
            match pair {
                (Some(oi), Some(ni)) => self.parameter(n, &old_params[oi], &new_params[ni]),
                (None, Some(ni)) => {
                    let p = &new_params[ni];
                    let site = Site::new(
                        Area::Parameter,
                        format!("{} parameter {} ({})", n.id, p.name, p.location),
                        String::new(),
                        p.pointer.clone(),
                    );
                    let setter = snake(&p.name);
                    if p.location == "path" || p.value["required"].as_bool() == Some(true) {
                        let what = format!("added required {} parameter `{}`", p.location, p.name);
                        let reason = format!(
                            "clients that do not send `{}` get 400 from the API, and the Rust builder fails until `.{setter}(..)` is set",
                            p.name
                        );
                        self.breaks(&site, Kind::Added, Some(Dirs::REQUEST), what, reason);
                    } else {
                        let what = format!("added optional {} parameter `{}`", p.location, p.name);
                        let reason = format!(
                            "new optional builder setter `.{setter}(..)`; existing calls are unchanged"
                        );
                        self.push(
                            &site,
                            Kind::Added,
                            Level::Minor,
                            Some(Dirs::REQUEST),
                            what,
                            reason,
                        );
                    }
                }
                (Some(oi), None) => {
                    let p = &old_params[oi];
                    let site = Site::new(
                        Area::Parameter,
                        format!("{} parameter {} ({})", n.id, p.name, p.location),
                        p.pointer.clone(),
                        String::new(),
                    );
                    let what = format!("removed {} parameter `{}`", p.location, p.name);
                    let reason = format!(
                        "the Rust builder setter `.{}(..)` disappears, so code setting it stops compiling, and the API ignores or refuses it",
                        snake(&p.name)
                    );
                    self.breaks(&site, Kind::Removed, Some(Dirs::REQUEST), what, reason);
                }
                (None, None) => {}
            }
        }
    }

    /// One parameter in both specs: name, location, required, serialization,
    /// docs, and its schema with the request rules.
    pub(super) fn parameter(&mut self, n_op: &Op<'a>, o: &Param<'a>, n: &Param<'a>) {
        let site = Site::new(
            Area::Parameter,
            format!("{} parameter {} ({})", n_op.id, n.name, n.location),
            o.pointer.clone(),
            n.pointer.clone(),
        )
        .named(&n.name);
        let req = Some(Dirs::REQUEST);
        if o.name != n.name {
            let what = format!("path parameter `{}` renamed to `{}`", o.name, n.name);
            let reason = format!(
                "the Rust builder setter `.{}(..)` becomes `.{}(..)`, so code setting it stops compiling",
                snake(&o.name),
                snake(&n.name)
            );
            self.breaks(&site.ptr("/name"), Kind::Changed, req, what, reason);
        }
        if o.location != n.location {
            let what = format!(
                "parameter `{}` moved from {} to {}",
                n.name, o.location, n.location
            );
            let reason = format!(
                "clients built from the old spec send it in the {}, where the API no longer reads it",
                o.location
            );
            self.breaks(&site.ptr("/in"), Kind::Changed, req, what, reason);
        }
        let required =
            |p: &Param<'_>| p.location == "path" || p.value["required"].as_bool() == Some(true);
        match (required(o), required(n)) {
            (false, true) => {
                let what = format!("parameter `{}` made required", n.name);
                let reason = format!(
                    "clients that leave `{}` out get 400 from the API, and the Rust builder fails until `.{}(..)` is set",
                    n.name,
                    snake(&n.name)
                );
                self.breaks(&site.ptr("/required"), Kind::Changed, req, what, reason);
            }
            (true, false) => {
                let what = format!("parameter `{}` made optional", n.name);
                let reason =
                    "clients may leave it out now; existing calls are unchanged".to_string();
                self.push(
                    &site.ptr("/required"),
                    Kind::Changed,
                    Level::Minor,
                    req,
                    what,
                    reason,
                );
            }
            _ => {}
        }
        let style = |p: &Param<'_>| {
            let default = if matches!(p.location.as_str(), "query" | "cookie") {
                "form"
            } else {
                "simple"
            };
            let style = p.value["style"].as_str().unwrap_or(default).to_string();
            let explode = p.value["explode"].as_bool().unwrap_or(style == "form");
            (style, explode)
        };
        if o.location == n.location && style(o) != style(n) {
            let ((os, oe), (ns, ne)) = (style(o), style(n));
            let what = format!(
                "serialization changed from style `{os}` explode {oe} to style `{ns}` explode {ne}"
            );
            let reason =
                "values are written differently, so the API misreads values sent the old way"
                    .to_string();
            self.breaks(&site, Kind::Changed, req, what, reason);
        }
        self.docs(&site, o.value, n.value);
        let (os, osp) = param_schema(o);
        let (ns, nsp) = param_schema(n);
        if let (Some(os), Some(ns)) = (os, ns) {
            let site = site.at(osp, nsp);
            self.schema(&site, os, ns, Dirs::REQUEST, 0);
        }
    }
}
