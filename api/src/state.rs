//! What every handler can reach: the database, the token service and the clock.

use std::sync::Arc;

use casebridge_persistence::Database;

use crate::auth::jwt::TokenService;
use crate::clock::Clock;

/// Shared application state, cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub db: Database,
    /// Issues and verifies tokens.
    pub tokens: Arc<TokenService>,
    /// Tells the time.
    pub clock: Arc<dyn Clock>,
}
