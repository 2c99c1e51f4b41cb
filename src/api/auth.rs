//! Authentication (who is calling), access rules (may they), and throttling of failures.
//!
//! Tokens are looked up by their SHA-256, so comparing a presented token never walks stored
//! tokens one by one, and the lookup costs the same whichever account a token belongs to.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use hyper::HeaderMap;
use hyper::header::AUTHORIZATION;

use crate::crypto::{self, TokenHash};
use crate::error::Error;
use crate::ids::{AccountId, PortalLinkId, TokenId};
use crate::portal;
use crate::store::Store;
use crate::store::TokenOwner;
use crate::time::{Millis, now_millis};

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The operator: may do everything.
    Admin,
    /// An account token: may use its own account's routes.
    Account {
        account_id: AccountId,
        token_id: TokenId,
    },
    /// A portal session, opened with a portal link: its own account's routes, less the ones
    /// [`super::portal::check_access`] keeps from it.
    Portal {
        account_id: AccountId,
        link_id: PortalLinkId,
        read_only: bool,
    },
}

impl Principal {
    /// The `userIdentifier` recorded on what this principal creates.
    pub fn user_identifier(&self) -> String {
        match self {
            Principal::Admin => "admin".into(),
            Principal::Account { token_id, .. } => token_id.to_string(),
            Principal::Portal { link_id, .. } => format!("portal:{link_id}"),
        }
    }

    /// Admin-only routes: 403 for account tokens.
    pub fn require_admin(&self) -> Result<(), Error> {
        match self {
            Principal::Admin => Ok(()),
            Principal::Account { .. } | Principal::Portal { .. } => Err(Error::Forbidden),
        }
    }

    /// Routes of one account (`account_id` as the path names it): admins get 404 for an
    /// unknown account; account tokens get 403 for any account but their own, existing or not,
    /// so they cannot probe for other accounts. Returns the account's id.
    pub fn require_account(&self, store: &Store, account_id: &str) -> Result<AccountId, Error> {
        match self {
            Principal::Admin => AccountId::parse(account_id)
                .filter(|id| store.account(id).is_some())
                .ok_or_else(|| Error::NotFound(format!("account {account_id}"))),
            Principal::Account {
                account_id: own, ..
            }
            | Principal::Portal {
                account_id: own, ..
            } => {
                if own.as_str() == account_id {
                    Ok(own.clone())
                } else {
                    Err(Error::Forbidden)
                }
            }
        }
    }
}

/// The authenticator: admin token hash, token lookups, failure throttle, last-use recording.
pub struct Auth {
    admin_hash: Option<TokenHash>,
    failures_per_minute: u32,
    failures: Mutex<HashMap<IpAddr, (i64, u32)>>,
    /// The minute each token's use was last queued for recording, to write it once a minute.
    recorded_use: Mutex<HashMap<TokenId, i64>>,
}

/// Forget throttle entries of past minutes once this many addresses are tracked.
const FAILURE_TABLE_PRUNE_AT: usize = 10_000;

impl Auth {
    /// `configured_admin_token` wins over a generated one stored in the store.
    pub fn new(
        configured_admin_token: Option<&str>,
        store: &Store,
        failures_per_minute: u32,
    ) -> Self {
        Auth {
            admin_hash: configured_admin_token
                .map(crypto::hash_token)
                .or_else(|| store.admin_token_hash()),
            failures_per_minute,
            failures: Mutex::new(HashMap::new()),
            recorded_use: Mutex::new(HashMap::new()),
        }
    }

    /// Identifies the caller, or refuses with 401 (or 429 while the address is throttled).
    pub fn authenticate(
        &self,
        store: &Store,
        headers: &HeaderMap,
        peer: IpAddr,
    ) -> Result<Principal, Error> {
        let now = now_millis();
        let minute = now.div_euclid(60_000);
        self.check_throttle(peer, now, minute)?;
        let principal = bearer_token(headers).and_then(|token| {
            if token.starts_with(portal::SESSION_PREFIX) {
                return portal_session(store, token, now);
            }
            let hash = crypto::hash_token(token);
            if let Some(admin) = &self.admin_hash
                && crypto::constant_time_eq(admin, &hash)
            {
                return Some(Principal::Admin);
            }
            let owner = store.token_owner(&hash)?;
            self.record_use(store, &owner, minute);
            Some(Principal::Account {
                account_id: owner.account_id,
                token_id: owner.token_id,
            })
        });
        match principal {
            Some(p) => Ok(p),
            None => {
                self.record_failure(peer, minute);
                Err(Error::Unauthorized)
            }
        }
    }

    fn check_throttle(&self, peer: IpAddr, now: Millis, minute: i64) -> Result<(), Error> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match failures.get(&peer) {
            Some(&(m, count)) if m == minute && count >= self.failures_per_minute => {
                let retry_after_secs = ((60_000 - now.rem_euclid(60_000)) as u64).div_ceil(1000);
                Err(Error::RateLimited {
                    retry_after_secs: retry_after_secs.max(1),
                })
            }
            _ => Ok(()),
        }
    }

    fn record_failure(&self, peer: IpAddr, minute: i64) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= FAILURE_TABLE_PRUNE_AT {
            failures.retain(|_, (m, _)| *m == minute);
        }
        let entry = failures.entry(peer).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        entry.1 += 1;
    }

    /// Records a token's use, to the minute, at most once a minute per token and off the
    /// request's path.
    fn record_use(&self, store: &Store, owner: &TokenOwner, minute: i64) {
        if owner.last_used_minute == Some(minute) {
            return;
        }
        {
            let mut recorded = self.recorded_use.lock().unwrap_or_else(|e| e.into_inner());
            if recorded.get(&owner.token_id) == Some(&minute) {
                return;
            }
            if recorded.len() >= FAILURE_TABLE_PRUNE_AT {
                recorded.retain(|_, m| *m == minute);
            }
            recorded.insert(owner.token_id, minute);
        }
        let store = store.clone();
        let owner = owner.clone();
        tokio::spawn(async move {
            if let Err(e) = store.touch_token(owner, minute * 60_000).await {
                tracing::warn!(error = %e, "cannot record a token's last use");
            }
        });
    }
}

/// The principal of a portal session token: its link must still be stored and unexpired.
fn portal_session(store: &Store, token: &str, now: Millis) -> Option<Principal> {
    let link_id = portal::verify_session(store.signing_key(), token)?;
    let link = store.portal_link(link_id).filter(|l| l.is_live(now))?;
    Some(Principal::Portal {
        account_id: link.account_id,
        link_id,
        read_only: link.read_only,
    })
}

/// The token of an `Authorization: Bearer <token>` header, if well formed.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}
