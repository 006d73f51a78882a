//! Lists answered page by page (Read Events, Free Busy, Available
//! Periods): `pages {current, total, next_page}`, where `next_page` is an
//! absolute URL on the sandbox's own host (`<root>/v1/events/pages/<token>`)
//! answered by the list's page operation. The whole list is kept when the
//! first page is answered, so each token always names the same page.

use serde_json::{Value, json};

use super::errors::{ApiErr, Outcome, ok};
use super::store::{Caller, Ctx, PageSet, Store};

impl Store {
    /// Stores `items` for paging and answers the first page.
    pub(super) fn first_page(
        &mut self,
        ctx: &Ctx<'_>,
        account_id: &str,
        list: &'static str,
        items: Vec<Value>,
    ) -> Value {
        let size = ctx.config.page_size;
        let total = items.len().div_ceil(size).max(1);
        let id = self.next_id();
        let tokens: Vec<String> = (1..total)
            .map(|index| ctx.pages.issue((id, index)))
            .collect();
        self.page_sets.insert(
            id,
            PageSet {
                account_id: account_id.to_string(),
                list,
                items,
                tokens,
            },
        );
        self.page_json(ctx, id, 0)
    }

    fn page_json(&self, ctx: &Ctx<'_>, set: u64, index: usize) -> Value {
        let Some(set) = self.page_sets.get(&set) else {
            return Value::Null;
        };
        let size = ctx.config.page_size;
        let total = set.tokens.len() + 1;
        let items: Vec<Value> = set
            .items
            .iter()
            .skip(index * size)
            .take(size)
            .cloned()
            .collect();
        let mut pages = json!({"current": index + 1, "total": total});
        if let Some(next) = set.tokens.get(index) {
            pages["next_page"] = json!(format!("{}/v1/{}/pages/{next}", ctx.root, set.list));
        }
        json!({"pages": pages, (set.list): items})
    }

    /// `GET /v1/<list>/pages/<token>`: 404 for a token that is unknown, of
    /// another list or of another account.
    pub(super) fn page(&self, ctx: &Ctx<'_>, caller: &Caller, list: &str, token: &str) -> Outcome {
        let account_id = caller.account()?;
        let (set, index) = ctx.pages.get(token).ok_or_else(ApiErr::not_found)?;
        let found = self
            .page_sets
            .get(&set)
            .is_some_and(|s| s.list == list && s.account_id == account_id);
        if !found {
            return Err(ApiErr::not_found());
        }
        ok(self.page_json(ctx, set, index))
    }
}
