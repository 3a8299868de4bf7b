//! Queries, one file per aggregate, and the conversions to and from the domain's types.

pub mod attachment_bytes;
pub mod attachments;
pub mod audit;
pub mod cases;
pub mod classifications;
pub mod comments;
pub mod customers;
pub mod deployment;
pub mod feed;
pub mod housekeeping;
pub mod idempotency;
pub mod identity;
pub mod legacy;
pub mod listing;
pub mod locks;
pub mod outbox;
pub mod search;
pub mod service_levels;
pub mod sign_in_failures;
mod template;
pub mod webhooks;

use time::OffsetDateTime;

use crate::PersistenceError;

/// A time as stored: microseconds since the Unix epoch.
pub fn to_micros(t: OffsetDateTime) -> i64 {
    let nanos = t.unix_timestamp_nanos() / 1_000;
    i64::try_from(nanos).unwrap_or(i64::MAX)
}

/// A stored time.
pub fn from_micros(micros: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Parses a stored value back into a domain type; a failure means the row is corrupt.
pub(crate) fn stored<T, E: std::fmt::Display>(
    what: &str,
    parsed: Result<T, E>,
) -> Result<T, PersistenceError> {
    parsed.map_err(|e| PersistenceError::Corrupt(format!("{what}: {e}")))
}

/// A customer's stored reseller access (its wire name).
pub(crate) fn stored_access(
    name: &str,
) -> Result<casebridge_domain::ResellerAccess, PersistenceError> {
    casebridge_domain::ResellerAccess::parse(name)
        .ok_or_else(|| PersistenceError::Corrupt(format!("reseller access {name}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_through_microseconds() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_800_000_000_123_456_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(from_micros(to_micros(t)), t);
    }
}
