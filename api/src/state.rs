//! What every handler can reach: the database, tokens, the clock and the caches.

use std::sync::Arc;

use casebridge_persistence::repo::sign_in_failures;
use casebridge_persistence::{Database, PersistenceError};
use time::{Duration, OffsetDateTime};

use crate::auth::AuthCache;
use crate::auth::jwt::TokenService;
use crate::auth::throttle::{Limit, Throttle};
use crate::clock::Clock;
use crate::pagination::PageTokens;
use crate::problem::RatePolicy;
use crate::storage::AttachmentStore;

/// Which sign-in limit an attempt counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    /// Per `domain/email`: 5 failures per 15 minutes.
    Account,
    /// Per client address: 50 failures per 15 minutes.
    Address,
}

/// Failed sign-ins allowed per account (`domain/email`).
pub const SIGN_IN_PER_ACCOUNT: RatePolicy = RatePolicy {
    name: "sign-in-account",
    limit: Limit {
        max_failures: 5,
        window: Duration::minutes(15),
    },
};

/// Failed sign-ins allowed per client address.
pub const SIGN_IN_PER_ADDRESS: RatePolicy = RatePolicy {
    name: "sign-in-address",
    limit: Limit {
        max_failures: 50,
        window: Duration::minutes(15),
    },
};

impl Limited {
    /// The policy a 429 names.
    pub fn policy(self) -> RatePolicy {
        match self {
            Limited::Account => SIGN_IN_PER_ACCOUNT,
            Limited::Address => SIGN_IN_PER_ADDRESS,
        }
    }

    fn limit(self) -> Limit {
        self.policy().limit
    }

    /// The window the limit counts over.
    pub fn window(self) -> Duration {
        self.limit().window
    }

    /// The key as the counts keep it: hashed, so they hold no email addresses and no
    /// client-sized strings, and any input (a NUL byte included) makes a valid key.
    fn shared_key(self, key: &str) -> String {
        use sha2::{Digest, Sha256};
        let prefix = match self {
            Limited::Account => "account:",
            Limited::Address => "address:",
        };
        format!("{prefix}{}", hex::encode(Sha256::digest(key.as_bytes())))
    }
}

/// Failed sign-ins, counted per account and per client address: in the process on SQLite
/// (one instance), in the database on PostgreSQL, so that every instance of a deployment
/// counts the same attempts.
#[derive(Debug)]
pub struct SignInThrottles {
    account: Throttle,
    address: Throttle,
    shared: Option<Database>,
}

/// An attempt's place under a limit, given back when the attempt did not fail.
#[derive(Debug)]
pub enum Reservation {
    /// Counted in this process.
    InProcess {
        /// Which limit.
        which: Limited,
        /// The key.
        key: String,
        /// When.
        at: OffsetDateTime,
    },
    /// Counted in the database.
    Shared(uuid::Uuid),
}

impl SignInThrottles {
    /// Counts in this process.
    pub fn in_process() -> Self {
        Self {
            account: Throttle::new(Limited::Account.limit()),
            address: Throttle::new(Limited::Address.limit()),
            shared: None,
        }
    }

    /// Counts in the database every instance shares.
    pub fn shared(db: Database) -> Self {
        Self {
            shared: Some(db),
            ..Self::in_process()
        }
    }

    fn local(&self, which: Limited) -> &Throttle {
        match which {
            Limited::Account => &self.account,
            Limited::Address => &self.address,
        }
    }

    /// Takes an attempt's place under the limit before it is made; `Ok(Err(seconds to wait))`
    /// when the key has used up its attempts.
    pub async fn reserve(
        &self,
        which: Limited,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Result<Reservation, u64>, PersistenceError> {
        let Some(db) = &self.shared else {
            // Kept hashed in the process too: a client cannot make it hold long strings.
            let key = which.shared_key(key);
            return Ok(self
                .local(which)
                .reserve(&key, now)
                .map(|()| Reservation::InProcess {
                    which,
                    key,
                    at: now,
                }));
        };
        let limit = which.limit();
        let shared_key = which.shared_key(key);
        Ok(sign_in_failures::reserve(
            db,
            &shared_key,
            limit.max_failures as u64,
            limit.window,
            now,
        )
        .await?
        .map(Reservation::Shared))
    }

    /// Gives an attempt's place back: it did not fail.
    pub async fn release(&self, reservation: Reservation) -> Result<(), PersistenceError> {
        match (reservation, &self.shared) {
            (Reservation::InProcess { which, key, at }, _) => {
                self.local(which).release(&key, at);
                Ok(())
            }
            (Reservation::Shared(id), Some(db)) => sign_in_failures::release(db.writer(), id).await,
            (Reservation::Shared(_), None) => Ok(()),
        }
    }

    /// Forgets a key's failures (after a success).
    pub async fn clear(&self, which: Limited, key: &str) -> Result<(), PersistenceError> {
        match &self.shared {
            None => {
                self.local(which).clear(&which.shared_key(key));
                Ok(())
            }
            Some(db) => sign_in_failures::clear(db.writer(), &which.shared_key(key)).await,
        }
    }
}

/// Shared application state, cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub db: Database,
    /// Issues and verifies tokens.
    pub tokens: Arc<TokenService>,
    /// Tells the time.
    pub clock: Arc<dyn Clock>,
    /// Users' authentication state.
    pub auth_cache: Arc<AuthCache>,
    /// Failed sign-ins.
    pub sign_in: Arc<SignInThrottles>,
    /// Page tokens.
    pub pages: PageTokens,
    /// Where attachments' bytes live.
    pub store: Arc<dyn AttachmentStore>,
    /// Attachment limits.
    pub attachments: AttachmentLimits,
    /// Wakes the mail worker after a change wrote mail.
    pub mail_wake: Arc<tokio::sync::Notify>,
    /// Which webhook addresses are allowed.
    pub webhook_policy: crate::webhooks::guard::Policy,
    /// Wakes the webhook worker after a ping or a retry by hand.
    pub webhook_wake: Arc<tokio::sync::Notify>,
}

/// Attachment limits.
#[derive(Debug, Clone, Copy)]
pub struct AttachmentLimits {
    /// Largest file, in bytes.
    pub max_bytes: u64,
    /// Most files per case.
    pub per_case: u64,
}
