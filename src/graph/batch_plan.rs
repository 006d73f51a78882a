//! How a JSON batch's requests are split into batches: groups joined by
//! `dependsOn` kept whole, at most so many Outlook requests of one mailbox
//! that may run at once in one batch. Pure functions, tested here.

use std::collections::BTreeMap;

use crate::{Error, Result};

/// Splits `pending` (positions, ascending) into batches of at most `limit`
/// positions, first fit in order: a group joined by `depends_on` stays in
/// one batch (a group over `limit` is refused), and a batch gets at most
/// `per_mailbox` Outlook requests of one mailbox that may run at once (a
/// group wider than that alone goes into a batch of its own).
pub(crate) fn plan(
    pending: &[usize],
    depends_on: &[Vec<usize>],
    mailboxes: &[Option<String>],
    limit: usize,
    per_mailbox: usize,
) -> Result<Vec<Vec<usize>>> {
    // Groups: union-find over the positions.
    let mut root: BTreeMap<usize, usize> = pending.iter().map(|&i| (i, i)).collect();
    fn find(root: &mut BTreeMap<usize, usize>, i: usize) -> usize {
        let mut r = i;
        while root[&r] != r {
            r = root[&r];
        }
        root.insert(i, r);
        r
    }
    for &i in pending {
        for &d in &depends_on[i] {
            if !root.contains_key(&d) {
                continue;
            }
            let (a, b) = (find(&mut root, i), find(&mut root, d));
            root.insert(a.max(b), a.min(b));
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &i in pending {
        let r = find(&mut root, i);
        groups.entry(r).or_default().push(i);
    }
    let mut batches: Vec<(Vec<usize>, BTreeMap<&str, usize>)> = Vec::new();
    for members in groups.into_values() {
        if members.len() > limit {
            return Err(Error::invalid(
                "depends_on",
                format!(
                    "requests {} to {} are joined by depends_on into a group of {}, more than one batch of {limit} holds",
                    members[0],
                    members[members.len() - 1],
                    members.len()
                ),
            ));
        }
        let mut by_mailbox: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for &i in &members {
            if let Some(m) = &mailboxes[i] {
                by_mailbox.entry(m.as_str()).or_default().push(i);
            }
        }
        let widths: BTreeMap<&str, usize> = by_mailbox
            .iter()
            .map(|(m, of_m)| (*m, parallel_width(of_m, depends_on)))
            .collect();
        let fits = |(batch, used): &(Vec<usize>, BTreeMap<&str, usize>)| {
            batch.len() + members.len() <= limit
                && widths
                    .iter()
                    .all(|(m, w)| used.get(m).copied().unwrap_or(0) + w <= per_mailbox)
        };
        let at = match batches.iter().position(fits) {
            Some(at) => at,
            None => {
                batches.push((Vec::new(), BTreeMap::new()));
                batches.len() - 1
            }
        };
        let (batch, used) = &mut batches[at];
        batch.extend(&members);
        for (m, w) in widths {
            *used.entry(m).or_default() += w;
        }
    }
    Ok(batches
        .into_iter()
        .map(|(mut batch, _)| {
            batch.sort_unstable();
            batch
        })
        .collect())
}

/// How many of `members` may run at once, given that a request runs after
/// those it depends on (directly or not): the largest set of them none of
/// which waits for another (Dilworth: their number less a maximum matching
/// of "waits for" pairs). Cycles, which Graph refuses, end nothing here.
pub(crate) fn parallel_width(members: &[usize], depends_on: &[Vec<usize>]) -> usize {
    let waits_for = |from: usize| {
        let mut seen = vec![false; depends_on.len()];
        let mut stack = depends_on.get(from).cloned().unwrap_or_default();
        while let Some(d) = stack.pop() {
            if d < seen.len() && !seen[d] {
                seen[d] = true;
                stack.extend(depends_on[d].iter().copied());
            }
        }
        seen
    };
    let edges: Vec<Vec<usize>> = members
        .iter()
        .map(|&u| {
            let seen = waits_for(u);
            (0..members.len())
                .filter(|&v| members[v] != u && seen.get(members[v]).copied().unwrap_or(false))
                .collect()
        })
        .collect();
    // Kuhn's augmenting paths; `matched[v]` is the left side matched to v.
    fn augment(
        u: usize,
        edges: &[Vec<usize>],
        visited: &mut [bool],
        matched: &mut [Option<usize>],
    ) -> bool {
        for &v in &edges[u] {
            if visited[v] {
                continue;
            }
            visited[v] = true;
            if matched[v].is_none_or(|w| augment(w, edges, visited, matched)) {
                matched[v] = Some(u);
                return true;
            }
        }
        false
    }
    let mut matched = vec![None; members.len()];
    let matching = (0..members.len())
        .filter(|&u| augment(u, &edges, &mut vec![false; members.len()], &mut matched))
        .count();
    members.len() - matching
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_deps(n: usize) -> Vec<Vec<usize>> {
        vec![Vec::new(); n]
    }

    #[test]
    fn forty_five_requests_make_batches_of_twenty_twenty_and_five_in_order() {
        let pending: Vec<usize> = (0..45).collect();
        let batches = plan(&pending, &no_deps(45), &vec![None; 45], 20, 4).unwrap();
        assert_eq!(
            batches.iter().map(Vec::len).collect::<Vec<_>>(),
            [20, 20, 5]
        );
        assert_eq!(batches.concat(), pending);
    }

    #[test]
    fn a_dependency_group_is_never_split_and_one_over_the_limit_is_refused() {
        // 18 alone, then a chain of 3: it goes whole into the second batch.
        let mut deps = no_deps(21);
        deps[19] = vec![18];
        deps[20] = vec![19];
        let pending: Vec<usize> = (0..21).collect();
        let batches = plan(&pending, &deps, &vec![None; 21], 20, 4).unwrap();
        assert_eq!(batches[0], (0..18).collect::<Vec<_>>());
        assert_eq!(batches[1], [18, 19, 20]);
        // A chain of 21.
        let chain: Vec<Vec<usize>> = (0..21)
            .map(|i| if i == 0 { vec![] } else { vec![i - 1] })
            .collect();
        let err = plan(&pending, &chain, &vec![None; 21], 20, 4).unwrap_err();
        assert!(err.is_invalid(), "{err}");
    }

    #[test]
    fn more_than_four_parallel_requests_of_one_mailbox_go_to_a_later_batch() {
        let mailboxes: Vec<Option<String>> =
            (0..10).map(|i| (i < 6).then(|| "me".to_string())).collect();
        let pending: Vec<usize> = (0..10).collect();
        let batches = plan(&pending, &no_deps(10), &mailboxes, 20, 4).unwrap();
        assert_eq!(batches, [vec![0, 1, 2, 3, 6, 7, 8, 9], vec![4, 5]]);
        // A chain of six runs one at a time: it fits in one batch.
        let chain: Vec<Vec<usize>> = (0..10)
            .map(|i| {
                if (1..6).contains(&i) {
                    vec![i - 1]
                } else {
                    vec![]
                }
            })
            .collect();
        let batches = plan(&pending, &chain, &mailboxes, 20, 4).unwrap();
        assert_eq!(batches, std::slice::from_ref(&pending));
    }

    #[test]
    fn the_parallel_width_counts_requests_none_of_which_waits_for_another() {
        // 0 <- 1 <- 2, and 3, 4 after 0: {1, 3, 4} or {2, 3, 4} run together.
        let deps = vec![vec![], vec![0], vec![1], vec![0], vec![0]];
        assert_eq!(parallel_width(&[0, 1, 2, 3, 4], &deps), 3);
        assert_eq!(parallel_width(&[0, 1, 2], &deps), 1);
        assert_eq!(parallel_width(&[2, 3], &deps), 2);
        // Cycles and positions out of range end.
        let cycle = vec![vec![1], vec![0], vec![7]];
        assert_eq!(parallel_width(&[0, 1, 2], &cycle), 1);
    }
}
