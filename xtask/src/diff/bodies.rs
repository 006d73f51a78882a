//! Comparing request bodies and responses, media type by media type.

use super::*;

impl<'a> Differ<'a> {
    /// The request body: added (breaking when required), removed, made
    /// required or optional, and its content with the request rules.
    pub(super) fn request_body(&mut self, o: &Op<'a>, n: &Op<'a>) {
        let ob =
            o.op.get("requestBody")
                .map(|b| resolve_at(self.old, b, format!("{}/requestBody", o.pointer)));
        let nb =
            n.op.get("requestBody")
                .map(|b| resolve_at(self.new, b, format!("{}/requestBody", n.pointer)));
        let base = format!("{} request body", n.id);
        let req = Some(Dirs::REQUEST);
        match (ob, nb) {
            (None, None) => {}
            (None, Some((nb, np))) => {
                let site = Site::new(Area::RequestBody, base, String::new(), np);
                if nb["required"].as_bool() == Some(true) {
                    let what = "added required request body".to_string();
                    let reason = "clients that send no body get 400 from the API, and the Rust builder fails until `.body(..)` is set".to_string();
                    self.breaks(&site, Kind::Added, req, what, reason);
                } else {
                    let what = "added optional request body".to_string();
                    let reason =
                        "new optional builder setter `.body(..)`; existing calls are unchanged"
                            .to_string();
                    self.push(&site, Kind::Added, Level::Minor, req, what, reason);
                }
            }
            (Some((_, op)), None) => {
                let site = Site::new(Area::RequestBody, base, op, String::new());
                let what = "removed request body".to_string();
                let reason = "the Rust builder setter `.body(..)` disappears, so code setting it stops compiling, and the API ignores or refuses a body".to_string();
                self.breaks(&site, Kind::Removed, req, what, reason);
            }
            (Some((ob, op)), Some((nb, np))) => {
                let site = Site::new(Area::RequestBody, base, op, np).named("body");
                match (
                    ob["required"].as_bool() == Some(true),
                    nb["required"].as_bool() == Some(true),
                ) {
                    (false, true) => {
                        let what = "request body made required".to_string();
                        let reason = "clients that send no body get 400 from the API, and the Rust builder fails until `.body(..)` is set".to_string();
                        self.breaks(&site.ptr("/required"), Kind::Changed, req, what, reason);
                    }
                    (true, false) => {
                        let what = "request body made optional".to_string();
                        let reason =
                            "clients may leave the body out now; existing calls are unchanged"
                                .to_string();
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
                self.docs(&site, ob, nb);
                self.content(&site, ob, nb, Dirs::REQUEST, true);
            }
        }
    }

    /// The `content` of a request body or response: media types and their schemas.
    pub(super) fn content(
        &mut self,
        site: &Site,
        o: &'a Value,
        n: &'a Value,
        dirs: Dirs,
        strict: bool,
    ) {
        let oc = o["content"].as_object().unwrap_or(&EMPTY);
        let nc = n["content"].as_object().unwrap_or(&EMPTY);
        let request = dirs.request;
        let mut pairs: Vec<(&String, &String)> = oc
            .keys()
            .filter(|k| nc.contains_key(*k))
            .map(|k| (k, k))
            .collect();
        let removed: Vec<&String> = oc.keys().filter(|k| !nc.contains_key(*k)).collect();
        let added: Vec<&String> = nc.keys().filter(|k| !oc.contains_key(*k)).collect();
        let level = if strict { Level::Major } else { Level::Minor };
        if removed.len() == 1 && added.len() == 1 {
            let (om, nm) = (removed[0], added[0]);
            let what = format!("media type changed from `{om}` to `{nm}`");
            let reason = if request {
                format!(
                    "clients sending `{om}` get 415 from the API, and the generated client encodes the body differently"
                )
            } else {
                format!(
                    "the API answers `{nm}` instead of `{om}`, which clients built from the old spec cannot decode"
                )
            };
            self.push(
                &site.ptr(&format!("/content/{}", spec::escape(nm))),
                Kind::Changed,
                level,
                Some(dirs),
                what,
                reason,
            );
            pairs.push((om, nm));
        } else {
            for m in &removed {
                let what = format!("media type `{m}` removed");
                let reason = if request {
                    format!("clients sending `{m}` get 415 from the API")
                } else {
                    format!("the API no longer answers `{m}`; clients decoding it break")
                };
                self.push(
                    &site.ptr(&format!("/content/{}", spec::escape(m))),
                    Kind::Removed,
                    level,
                    Some(dirs),
                    what,
                    reason,
                );
            }
            for m in &added {
                let what = format!("media type `{m}` added");
                let (lvl, reason) = if request {
                    (Level::Minor, format!("clients may also send `{m}`"))
                } else {
                    (
                        level,
                        format!(
                            "the API may answer `{m}`, which clients built from the old spec do not expect"
                        ),
                    )
                };
                self.push(
                    &site.ptr(&format!("/content/{}", spec::escape(m))),
                    Kind::Added,
                    lvl,
                    Some(dirs),
                    what,
                    reason,
                );
            }
        }
        for (om, nm) in pairs {
            let mut site = site.at(
                format!("{}/content/{}", site.old_ptr, spec::escape(om)),
                format!("{}/content/{}", site.new_ptr, spec::escape(nm)),
            );
            if nm != "application/json" {
                site.base = format!("{} ({nm})", site.base);
            }
            let (omt, nmt) = (&oc[om.as_str()], &nc[nm.as_str()]);
            self.docs(&site, omt, nmt);
            match (omt.get("schema"), nmt.get("schema")) {
                (Some(os), Some(ns)) => {
                    let s = site.child("", "/schema", None);
                    self.schema(&s, os, ns, dirs, 0);
                }
                (None, Some(_)) => {
                    let what = "schema added to the body".to_string();
                    let reason = "the body was untyped; the Rust type changes from `serde_json::Value` to a typed one".to_string();
                    self.breaks(&site.ptr("/schema"), Kind::Added, Some(dirs), what, reason);
                }
                (Some(_), None) => {
                    let what = "schema removed from the body".to_string();
                    let reason = "the Rust type of the body becomes `serde_json::Value`, so code using its fields stops compiling".to_string();
                    self.breaks(
                        &site.ptr("/schema"),
                        Kind::Removed,
                        Some(dirs),
                        what,
                        reason,
                    );
                }
                (None, None) => {}
            }
        }
    }

    /// Responses by status: a changed, added or removed success status
    /// breaks; error statuses added or removed are minor.
    pub(super) fn responses(&mut self, o: &Op<'a>, n: &Op<'a>) {
        let ors = o.op["responses"].as_object().unwrap_or(&EMPTY);
        let nrs = n.op["responses"].as_object().unwrap_or(&EMPTY);
        let success = |code: &String| code.starts_with('2');
        let os: Vec<&String> = ors.keys().filter(|c| success(c)).collect();
        let ns: Vec<&String> = nrs.keys().filter(|c| success(c)).collect();
        let site_for = |code: &str, op: String, np: String| {
            Site::new(Area::Response, format!("{} response {code}", n.id), op, np)
        };
        let o_ptr = |code: &str| format!("{}/responses/{}", o.pointer, spec::escape(code));
        let n_ptr = |code: &str| format!("{}/responses/{}", n.pointer, spec::escape(code));
        let mut pairs: Vec<(&String, &String)> = ors
            .keys()
            .filter(|c| nrs.contains_key(*c))
            .map(|c| (c, c))
            .collect();
        let gone: Vec<&String> = os
            .iter()
            .copied()
            .filter(|c| !nrs.contains_key(*c))
            .collect();
        let came: Vec<&String> = ns
            .iter()
            .copied()
            .filter(|c| !ors.contains_key(*c))
            .collect();
        let mut handled: BTreeSet<&String> = BTreeSet::new();
        if gone.len() == 1 && came.len() == 1 {
            let (oc, nc) = (gone[0], came[0]);
            let site = site_for(nc, o_ptr(oc), n_ptr(nc));
            let what = format!("success status changed from {oc} to {nc}");
            let reason = format!(
                "the generated client accepts only {nc} as success now, and clients built from the old spec treat {nc} as an unexpected answer"
            );
            self.breaks(&site, Kind::Changed, Some(Dirs::RESPONSE), what, reason);
            pairs.push((oc, nc));
            handled.extend([oc, nc]);
        }
        for code in ors
            .keys()
            .filter(|c| !nrs.contains_key(*c) && !handled.contains(c))
        {
            let site = site_for(code, o_ptr(code), String::new());
            if success(code) {
                let what = format!("success response {code} removed");
                let reason = format!(
                    "the API no longer answers {code}; code handling its body breaks and the Rust return type may change"
                );
                self.breaks(&site, Kind::Removed, Some(Dirs::RESPONSE), what, reason);
            } else {
                let what = format!("response {code} removed");
                let reason = "an error answer is no longer documented; its typed error body may disappear from the Rust error".to_string();
                self.push(
                    &site,
                    Kind::Removed,
                    Level::Minor,
                    Some(Dirs::RESPONSE),
                    what,
                    reason,
                );
            }
        }
        for code in nrs
            .keys()
            .filter(|c| !ors.contains_key(*c) && !handled.contains(c))
        {
            let site = site_for(code, String::new(), n_ptr(code));
            if success(code) && !os.is_empty() {
                let what = format!("success response {code} added");
                let reason =
                    format!("clients built from the old spec treat {code} as an unexpected answer");
                self.breaks(&site, Kind::Added, Some(Dirs::RESPONSE), what, reason);
            } else {
                let what = format!("response {code} added");
                let reason =
                    "a newly documented answer; existing handling is unchanged".to_string();
                self.push(
                    &site,
                    Kind::Added,
                    Level::Minor,
                    Some(Dirs::RESPONSE),
                    what,
                    reason,
                );
            }
        }
        for (oc, nc) in pairs {
            let (or, op) = resolve_at(self.old, &ors[oc.as_str()], o_ptr(oc));
            let (nr, np) = resolve_at(self.new, &nrs[nc.as_str()], n_ptr(nc));
            let site = site_for(nc, op, np).named("body");
            self.response(&site, or, nr, success(nc));
        }
    }

    /// One response in both specs: body added or removed, content with the
    /// response rules, headers.
    pub(super) fn response(&mut self, site: &Site, o: &'a Value, n: &'a Value, success: bool) {
        self.docs(site, o, n);
        let has_body = |r: &Value| r["content"].as_object().is_some_and(|c| !c.is_empty());
        match (has_body(o), has_body(n)) {
            (false, true) if success => {
                let what = "success body added".to_string();
                let reason = "the Rust method now returns a typed body instead of `()`, so code using its result changes".to_string();
                self.breaks(
                    &site.ptr("/content"),
                    Kind::Added,
                    Some(Dirs::RESPONSE),
                    what,
                    reason,
                );
            }
            (true, false) if success => {
                let what = "success body removed".to_string();
                let reason =
                    "the Rust method returns `()` now, so code reading the answer stops compiling"
                        .to_string();
                self.breaks(
                    &site.ptr("/content"),
                    Kind::Removed,
                    Some(Dirs::RESPONSE),
                    what,
                    reason,
                );
            }
            (true, true) => self.content(site, o, n, Dirs::RESPONSE, success),
            (false, true) => {
                let what = "error body added".to_string();
                self.push(
                    &site.ptr("/content"),
                    Kind::Added,
                    Level::Minor,
                    Some(Dirs::RESPONSE),
                    what,
                    "errors carry a typed body now".into(),
                );
            }
            (true, false) => {
                let what = "error body removed".to_string();
                let reason =
                    "errors no longer carry a typed body; code reading it gets nothing".to_string();
                self.push(
                    &site.ptr("/content"),
                    Kind::Removed,
                    Level::Minor,
                    Some(Dirs::RESPONSE),
                    what,
                    reason,
                );
            }
            (false, false) => {}
        }
        let oh = o["headers"].as_object().unwrap_or(&EMPTY);
        let nh = n["headers"].as_object().unwrap_or(&EMPTY);
        for name in oh.keys().filter(|k| !nh.contains_key(*k)) {
            let what = format!("response header `{name}` removed");
            let reason = format!("clients reading `{name}` from the answer get nothing");
            let lvl = if success { Level::Major } else { Level::Minor };
            self.push(
                &site.ptr(&format!("/headers/{}", spec::escape(name))),
                Kind::Removed,
                lvl,
                Some(Dirs::RESPONSE),
                what,
                reason,
            );
        }
        for name in nh.keys().filter(|k| !oh.contains_key(*k)) {
            let what = format!("response header `{name}` added");
            self.push(
                &site.ptr(&format!("/headers/{}", spec::escape(name))),
                Kind::Added,
                Level::Minor,
                Some(Dirs::RESPONSE),
                what,
                "answers carry a new header".into(),
            );
        }
        for name in oh.keys().filter(|k| nh.contains_key(*k)) {
            let ptr = format!("/headers/{}", spec::escape(name));
            let (ov, op) = resolve_at(
                self.old,
                &oh[name.as_str()],
                format!("{}{ptr}", site.old_ptr),
            );
            let (nv, np) = resolve_at(
                self.new,
                &nh[name.as_str()],
                format!("{}{ptr}", site.new_ptr),
            );
            let hs = Site {
                path: format!("header {name}"),
                ..site.at(op, np)
            }
            .named(name);
            self.docs(&hs, ov, nv);
            if let (Some(os), Some(ns)) = (ov.get("schema"), nv.get("schema")) {
                let s = hs.child("", "/schema", None);
                self.schema(&s, os, ns, Dirs::RESPONSE, 0);
            }
        }
    }
}
