//! Comparing what a schema allows: enum values, limits and patterns,
//! defaults, read-only and write-only.

use super::*;

impl<'a> Differ<'a> {
    /// Enum values: a removed value breaks both ways (requests get 400, the
    /// Rust variant disappears); an added one breaks a closed response enum
    /// only; opening, closing, adding or dropping the enum breaks.
    pub(super) fn enums(&mut self, site: &Site, o: &Value, n: &Value, dirs: Dirs) {
        let (oe, ne) = (enum_info(self.old, o), enum_info(self.new, n));
        let field = site.field();
        match (&oe, &ne) {
            (None, None) => {}
            (None, Some(_)) => {
                let what = format!("`{field}` restricted to an enum");
                let req = (true, "clients that send other values get 400 from the API, and the Rust type changes from `String` to an enum".into());
                let resp = (true, "the Rust type changes from `String` to an enum, so code using it as a string stops compiling".into());
                self.judged(site, Kind::Changed, dirs, what, req, resp);
            }
            (Some(_), None) => {
                let what = format!("enum of `{field}` dropped");
                let req = (
                    true,
                    format!(
                        "{} is replaced by a plain value, so code naming its variants stops compiling",
                        site.rust_enum()
                    ),
                );
                let resp = (
                    true,
                    format!(
                        "the API may send any value, and {} is replaced by a plain value",
                        site.rust_enum()
                    ),
                );
                self.judged(site, Kind::Changed, dirs, what, req, resp);
            }
            (Some(oe), Some(ne)) => {
                // A component enum wrapped as the known values of an open enum is open itself.
                let root = (site.area == Area::Schema && site.path.is_empty())
                    .then_some(site.base.as_str());
                let o_open = oe.open
                    || root.is_some_and(|r| {
                        self.open_old.contains(r)
                            || self
                                .renames
                                .iter()
                                .any(|(o, n)| n == r && self.open_old.contains(o))
                    });
                let n_open = ne.open || root.is_some_and(|r| self.open_new.contains(r));
                let (oe, ne) = (
                    &EnumInfo {
                        open: o_open,
                        ..oe.clone()
                    },
                    &EnumInfo {
                        open: n_open,
                        ..ne.clone()
                    },
                );
                if oe.open != ne.open {
                    let what = if ne.open {
                        format!("enum `{field}` made open (any other string accepted)")
                    } else {
                        format!("enum `{field}` made closed (only the listed values)")
                    };
                    let reason = if ne.open {
                        format!(
                            "{} gains a catch-all for unknown strings, so exhaustive matches and code constructing it change",
                            site.rust_enum()
                        )
                    } else {
                        format!(
                            "{} loses its catch-all: values outside the list fail to decode or get 400",
                            site.rust_enum()
                        )
                    };
                    self.breaks(site, Kind::Changed, Some(dirs), what, reason);
                }
                // Values of a component enum are compared where it is defined.
                if oe.by_ref || ne.by_ref {
                    return;
                }
                for (i, v) in oe
                    .values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| !ne.values.contains(v))
                {
                    let shown = show_value(v);
                    let variant = pascal(&shown);
                    let what = format!("enum value `{shown}` removed");
                    let req = (
                        true,
                        format!(
                            "clients that send `{shown}` get 400 from the API and {} loses the `{variant}` variant",
                            site.rust_enum()
                        ),
                    );
                    let resp = (
                        true,
                        format!(
                            "{} loses the `{variant}` variant, so code matching on it stops compiling",
                            site.rust_enum()
                        ),
                    );
                    self.judged(
                        &site.ptr(&format!("{}/{i}", oe.pointer_suffix)),
                        Kind::Removed,
                        dirs,
                        what,
                        req,
                        resp,
                    );
                }
                for (i, v) in ne
                    .values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| !oe.values.contains(v))
                {
                    let shown = show_value(v);
                    let what = format!("enum value `{shown}` added");
                    let req = (
                        false,
                        format!(
                            "clients can send `{shown}` and {} gains the `{}` variant",
                            site.rust_enum(),
                            pascal(&shown)
                        ),
                    );
                    let resp = if ne.open {
                        (
                            false,
                            format!(
                                "the enum is open: clients decode `{shown}` through its catch-all until they upgrade"
                            ),
                        )
                    } else {
                        (
                            true,
                            format!(
                                "the enum is closed: clients built from the old spec fail to decode answers carrying `{shown}`, and exhaustive matches on {} stop compiling",
                                site.rust_enum()
                            ),
                        )
                    };
                    self.judged(
                        &site.ptr(&format!("{}/{i}", ne.pointer_suffix)),
                        Kind::Added,
                        dirs,
                        what,
                        req,
                        resp,
                    );
                }
            }
        }
    }

    /// Size, range, pattern, multipleOf and uniqueItems constraints.
    pub(super) fn limits(&mut self, site: &Site, o: &Value, n: &Value, dirs: Dirs) {
        for &(key, larger_is_stricter) in LIMITS {
            let (ov, nv) = (o[key].as_f64(), n[key].as_f64());
            if ov == nv {
                continue;
            }
            let stricter = match (ov, nv) {
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (Some(a), Some(b)) => (b > a) == larger_is_stricter,
                (None, None) => continue,
            };
            let show = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_else(|| "none".into());
            let what = format!("`{key}` changed from {} to {}", show(ov), show(nv));
            self.constraint(site, dirs, key, what, stricter);
        }
        let mut other = |key: &str, stricter: Option<bool>| {
            if o[key] != n[key] {
                let show = |v: &Value| {
                    if v.is_null() {
                        "none".to_string()
                    } else {
                        format!("`{}`", show_value(v))
                    }
                };
                let what = format!(
                    "`{key}` changed from {} to {}",
                    show(&o[key]),
                    show(&n[key])
                );
                let stricter = stricter.unwrap_or(!n[key].is_null());
                self.constraint(site, dirs, key, what, stricter);
            }
        };
        other("pattern", None);
        other("multipleOf", None);
        other(
            "uniqueItems",
            Some(n["uniqueItems"].as_bool() == Some(true)),
        );
    }

    /// A changed constraint: stricter breaks requests, anything else is minor.
    fn constraint(&mut self, site: &Site, dirs: Dirs, key: &str, what: String, stricter: bool) {
        let (req, resp) = if stricter {
            (
                (
                    true,
                    "clients sending values the new constraint excludes get 400 from the API"
                        .to_string(),
                ),
                (false, "answers stay within the old constraint".to_string()),
            )
        } else {
            (
                (false, "clients may send more values now".to_string()),
                (
                    false,
                    "answers may carry values the old constraint excluded".to_string(),
                ),
            )
        };
        self.judged(
            &site.ptr(&format!("/{key}")),
            Kind::Changed,
            dirs,
            what,
            req,
            resp,
        );
    }

    /// `default`: a changed request default breaks (clients that leave the
    /// value out get other behaviour); added or removed is minor.
    pub(super) fn default(&mut self, site: &Site, o: &Value, n: &Value, dirs: Dirs) {
        let (od, nd) = (o.get("default"), n.get("default"));
        if od == nd {
            return;
        }
        let show = |v: Option<&Value>| {
            v.map(|v| format!("`{}`", show_value(v)))
                .unwrap_or_else(|| "none".into())
        };
        let what = format!("default changed from {} to {}", show(od), show(nd));
        let req = match (od, nd) {
            (Some(_), Some(_)) => (
                true,
                format!(
                    "clients that leave `{}` out silently get {} instead of {}",
                    site.field(),
                    show(nd),
                    show(od)
                ),
            ),
            _ => (
                false,
                "documents what the API does when the value is left out".into(),
            ),
        };
        let resp = (
            false,
            "answers that leave it out decode to the new default".to_string(),
        );
        self.judged(&site.ptr("/default"), Kind::Changed, dirs, what, req, resp);
    }

    /// `readOnly` and `writeOnly` flags.
    pub(super) fn access(&mut self, site: &Site, o: &Value, n: &Value, dirs: Dirs) {
        let flag = |v: &Value, k: &str| v[k].as_bool() == Some(true);
        let field = site.field();
        if !flag(o, "readOnly") && flag(n, "readOnly") && dirs.request {
            let what = format!("`{field}` made read-only");
            let reason =
                format!("clients can no longer set `{field}` in requests: the API ignores it");
            self.breaks(
                &site.ptr("/readOnly"),
                Kind::Changed,
                Some(Dirs::REQUEST),
                what,
                reason,
            );
        }
        if !flag(o, "writeOnly") && flag(n, "writeOnly") && dirs.response {
            let what = format!("`{field}` made write-only");
            let reason =
                format!("answers no longer carry `{field}`; clients reading it get nothing");
            self.breaks(
                &site.ptr("/writeOnly"),
                Kind::Changed,
                Some(Dirs::RESPONSE),
                what,
                reason,
            );
        }
    }
}
