//! The catalog: an in-memory mirror of the configuration records (accounts, tokens, webhooks,
//! portal links).
//!
//! Configuration is small and read on every request (authentication, fan-out), so it is served
//! from memory; the store stays the source of truth. On the embedded backend only the writer
//! thread changes the catalog, in step with the transaction it runs (if a batch fails, the
//! catalog is rebuilt from the store); on the postgres backend a node applies its own committed
//! changes and reloads the whole catalog when another node's change is announced.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{Arc, RwLock, RwLockReadGuard};

use crate::crypto::TokenHash;
use crate::ids::{AccountId, PortalLinkId, TokenId, WebhookId};
use crate::model::{Account, PortalLink, TokenRecord, Webhook};
use crate::receivers::filter::Filter;

/// One account and everything it owns that lives in memory.
#[derive(Debug, Clone)]
pub struct AccountEntry {
    pub account: Account,
    pub tokens: BTreeMap<TokenId, TokenRecord>,
    pub webhooks: BTreeMap<WebhookId, Arc<Webhook>>,
}

/// The in-memory view of all configuration records.
///
/// Entries sit behind `Arc`s so that the writer's staged copy of a batch (see
/// the redb writer's `WriteCtx`) costs a shallow clone, and changing one account copies only that
/// account's entry.
#[derive(Debug, Default, Clone)]
pub struct Catalog {
    pub accounts: BTreeMap<AccountId, Arc<AccountEntry>>,
    /// Token hash → (account id, token id), for authentication by hash lookup.
    pub token_hashes: HashMap<TokenHash, (AccountId, TokenId)>,
    /// Webhook id → webhook, for the scheduler and attempt results.
    pub webhooks_by_id: HashMap<WebhookId, Arc<Webhook>>,
    /// Portal links (few, short-lived), for portal sessions and the links listing.
    pub portal_links: HashMap<PortalLinkId, PortalLink>,
    /// The compiled filters of the webhooks that have one. A filter is compiled when a
    /// webhook is put with a filter text not compiled yet, so fan-out never parses one.
    pub filters: CompiledFilters,
}

/// Compiled filters by webhook (see [`Catalog::filters`]).
pub type CompiledFilters = HashMap<WebhookId, Arc<Filter>>;

impl Catalog {
    /// A catalog of these records (as a backend reads them at start): tokens and webhooks
    /// of accounts not among `accounts` are left out.
    pub fn from_records(
        accounts: impl IntoIterator<Item = Account>,
        tokens: impl IntoIterator<Item = TokenRecord>,
        webhooks: impl IntoIterator<Item = Webhook>,
    ) -> Catalog {
        let mut catalog = Catalog::default();
        for account in accounts {
            catalog.accounts.insert(
                account.id.clone(),
                Arc::new(AccountEntry {
                    account,
                    tokens: BTreeMap::new(),
                    webhooks: BTreeMap::new(),
                }),
            );
        }
        for token in tokens {
            catalog.insert_token(token);
        }
        for webhook in webhooks {
            catalog.put_webhook(Arc::new(webhook));
        }
        catalog
    }

    /// Adds or replaces a webhook in both indexes, compiling its filter if its text changed.
    pub fn put_webhook(&mut self, webhook: Arc<Webhook>) {
        if let Some(entry) = self.accounts.get_mut(&webhook.account_id) {
            compile_filter(&mut self.filters, &webhook);
            self.webhooks_by_id.insert(webhook.id, webhook.clone());
            Arc::make_mut(entry).webhooks.insert(webhook.id, webhook);
        }
    }

    /// Removes a webhook from both indexes.
    pub fn remove_webhook(&mut self, account_id: &AccountId, webhook_id: WebhookId) {
        if let Some(entry) = self.accounts.get_mut(account_id) {
            Arc::make_mut(entry).webhooks.remove(&webhook_id);
        }
        self.webhooks_by_id.remove(&webhook_id);
        self.filters.remove(&webhook_id);
    }

    /// A webhook by its id.
    pub fn webhook_by_id(&self, id: WebhookId) -> Option<Arc<Webhook>> {
        self.webhooks_by_id.get(&id).cloned()
    }

    /// Adds a portal link of a known account.
    pub fn insert_portal_link(&mut self, link: PortalLink) {
        if self.accounts.contains_key(&link.account_id) {
            self.portal_links.insert(link.id, link);
        }
    }

    /// Removes every portal link of an account (it is being deleted).
    pub fn remove_portal_links_of(&mut self, account_id: &AccountId) {
        self.portal_links.retain(|_, l| &l.account_id != account_id);
    }

    /// Adds or replaces a token in both indexes.
    pub fn insert_token(&mut self, token: TokenRecord) {
        if let Some(entry) = self.accounts.get_mut(&token.account_id) {
            self.token_hashes
                .insert(token.hash, (token.account_id.clone(), token.id));
            Arc::make_mut(entry).tokens.insert(token.id, token);
        }
    }
}

/// Keeps `filters` in step with `webhook`'s filter: compiled once per filter text (a webhook
/// is put again on every change of its failure count, which must not recompile it). A stored
/// filter that no longer compiles (refused by a later build) is left out: fan-out then counts
/// it as an evaluation error, so its webhook gets nothing rather than everything.
fn compile_filter(filters: &mut CompiledFilters, webhook: &Webhook) {
    let Some(source) = &webhook.settings.filter else {
        filters.remove(&webhook.id);
        return;
    };
    if filters
        .get(&webhook.id)
        .is_some_and(|compiled| compiled.source() == source)
    {
        return;
    }
    match Filter::compile(source) {
        Ok(compiled) => {
            filters.insert(webhook.id, Arc::new(compiled));
        }
        Err(why) => {
            filters.remove(&webhook.id);
            tracing::warn!(
                webhook = %webhook.id,
                error = %why,
                "a stored filter does not compile; no event matches it"
            );
        }
    }
}

/// The published catalog behind a lock: readers see only what is committed; the writer
/// replaces it after each commit that changed configuration.
#[derive(Clone, Default)]
pub struct SharedCatalog(Arc<RwLock<Catalog>>);

impl SharedCatalog {
    /// Wraps a loaded catalog.
    pub fn new(catalog: Catalog) -> Self {
        SharedCatalog(Arc::new(RwLock::new(catalog)))
    }

    /// A read guard. Held only for a lookup: never across an await or I/O.
    pub fn read(&self) -> RwLockReadGuard<'_, Catalog> {
        // A panic while holding the lock cannot leave the maps half-changed in a way that
        // matters more than refusing all service would, so poisoning is ignored.
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Publishes a catalog the writer has just committed.
    pub fn publish(&self, catalog: Catalog) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = catalog;
    }
}

/// One page of a keyed listing.
#[derive(Debug)]
pub struct Page<T, K = String> {
    pub items: Vec<T>,
    /// The key of the last item when more items follow; `None` on the last page.
    pub next_after: Option<K>,
}

/// Pages through `map` in key order after `after`, keeping items that pass `keep`.
///
/// Keyset pagination: an item is never repeated, and no item that existed throughout is
/// skipped, however the map changes between pages.
pub fn page<K: Ord + Clone, V, T>(
    map: &BTreeMap<K, V>,
    after: Option<&K>,
    limit: usize,
    keep: impl Fn(&V) -> bool,
    project: impl Fn(&V) -> T,
) -> Page<T, K> {
    let start = match after {
        Some(key) => Bound::Excluded(key),
        None => Bound::Unbounded,
    };
    let mut items = Vec::new();
    let mut last_key: Option<&K> = None;
    let mut more = false;
    for (key, value) in map.range::<K, _>((start, Bound::Unbounded)) {
        if !keep(value) {
            continue;
        }
        if items.len() == limit {
            more = true;
            break;
        }
        items.push(project(value));
        last_key = Some(key);
    }
    Page {
        items,
        next_after: if more { last_key.cloned() } else { None },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_neither_skip_nor_repeat() {
        let mut map: BTreeMap<String, u32> = (0..10).map(|i| (format!("k{i:02}"), i)).collect();
        let first = page(&map, None, 4, |_| true, |v| *v);
        assert_eq!(first.items, vec![0, 1, 2, 3]);
        // Items arriving between pages, before and after the cursor.
        map.insert("k00a".into(), 100);
        map.insert("k99".into(), 99);
        let second = page(&map, first.next_after.as_ref(), 4, |_| true, |v| *v);
        assert_eq!(second.items, vec![4, 5, 6, 7]);
        let third = page(&map, second.next_after.as_ref(), 4, |_| true, |v| *v);
        assert_eq!(third.items, vec![8, 9, 99]);
        assert!(third.next_after.is_none());
    }

    #[test]
    fn filtered_pages_end_exactly() {
        let map: BTreeMap<String, u32> = (0..10).map(|i| (format!("k{i}"), i)).collect();
        let even = page(&map, None, 5, |v| v % 2 == 0, |v| *v);
        assert_eq!(even.items, vec![0, 2, 4, 6, 8]);
        assert!(even.next_after.is_none(), "no further match, so no cursor");
    }
}
