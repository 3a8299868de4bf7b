//! What every handler can reach: the database, tokens, the clock and the caches.

use std::sync::Arc;

use casebridge_persistence::Database;
use time::Duration;

use crate::auth::AuthCache;
use crate::auth::jwt::TokenService;
use crate::auth::throttle::{Limit, Throttle};
use crate::clock::Clock;
use crate::pagination::PageTokens;
use crate::problem::RatePolicy;
use crate::storage::AttachmentStore;

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

/// Failed sign-ins, counted per account and per client address.
#[derive(Debug)]
pub struct SignInThrottles {
    /// Per `domain/email`.
    pub account: Throttle,
    /// Per client address.
    pub address: Throttle,
}

impl Default for SignInThrottles {
    fn default() -> Self {
        Self {
            account: Throttle::new(SIGN_IN_PER_ACCOUNT.limit),
            address: Throttle::new(SIGN_IN_PER_ADDRESS.limit),
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
}

/// Attachment limits.
#[derive(Debug, Clone, Copy)]
pub struct AttachmentLimits {
    /// Largest file, in bytes.
    pub max_bytes: u64,
    /// Most files per case.
    pub per_case: u64,
}
