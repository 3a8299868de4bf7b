//! Webhook rules: when a failed delivery is tried again, when an endpoint that keeps failing
//! is given up on, and which event types an endpoint may ask for.

use std::collections::BTreeSet;

use time::{Duration, OffsetDateTime};

use crate::InvalidValue;
use crate::events::EventType;

/// How long a delivery is retried, and how long an endpoint may fail before it is disabled.
pub const RETRY_PERIOD: Duration = Duration::days(3);
/// The wait after the first failed attempt.
pub const FIRST_RETRY: Duration = Duration::seconds(15);
/// The longest wait between two attempts.
pub const MAX_INTERVAL: Duration = Duration::hours(1);
/// How long a previous secret keeps signing after a rotation.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);
/// The most endpoints one domain may register.
pub const MAX_ENDPOINTS: u64 = 20;
/// The longest description, in characters.
pub const MAX_DESCRIPTION: usize = 500;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// An attempt was answered with a 2xx.
    Delivered,
    /// Given up: retried for the whole retry period, or its endpoint was disabled.
    Failed,
}

impl DeliveryStatus {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// The status a stored name stands for.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|d| d.as_str() == s)
    }
}

/// Why the service disabled an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisabledReason {
    /// It answered `410 Gone`.
    Gone,
    /// It failed every attempt for the whole retry period.
    Failing,
}

impl DisabledReason {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DisabledReason::Gone => "gone",
            DisabledReason::Failing => "failing",
        }
    }

    /// The reason a stored name stands for.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Gone, Self::Failing]
            .into_iter()
            .find(|d| d.as_str() == s)
    }
}

/// The wait after `attempts` failed attempts (at least one): doubling from
/// [`FIRST_RETRY`], never more than [`MAX_INTERVAL`].
pub fn backoff(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    (FIRST_RETRY * 2_i32.pow(doublings)).min(MAX_INTERVAL)
}

/// When a delivery of an event that happened at `first`, failed `attempts` times (the last at
/// `now`), is tried next: after the back-off, and a last time exactly when the retry period
/// ends; `None` once it has ended (the delivery has failed for good).
pub fn next_attempt(
    first: OffsetDateTime,
    attempts: u32,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    let end = first + RETRY_PERIOD;
    (now < end).then(|| (now + backoff(attempts)).min(end))
}

/// Since when an endpoint has owed a delivery it could not make, after an attempt at a
/// delivery of an event that happened at `owed_since`: none after a success; otherwise the
/// oldest event among its failures since its last success.
pub fn failing_since(
    before: Option<OffsetDateTime>,
    delivered: bool,
    owed_since: OffsetDateTime,
) -> Option<OffsetDateTime> {
    (!delivered).then(|| before.map_or(owed_since, |s| s.min(owed_since)))
}

/// Whether an endpoint that has owed a delivery since `failing_since` (the event of its oldest
/// delivery not made since its last success) has failed long enough to be disabled: the
/// attempt that ends that delivery's retry period does it.
pub fn failing_too_long(failing_since: OffsetDateTime, now: OffsetDateTime) -> bool {
    now - failing_since >= RETRY_PERIOD
}

/// Event types only imports and demo data record: they send no webhooks (the change feed
/// carries them).
pub const NOT_DELIVERED: [EventType; 3] = [
    EventType::CaseImported,
    EventType::CaseReimported,
    EventType::CaseSeeded,
];

/// The event types an endpoint receives: at least one, each one webhooks deliver; a type named
/// twice counts once.
pub fn event_types(
    names: impl IntoIterator<Item = EventType>,
) -> Result<BTreeSet<EventType>, InvalidValue> {
    let types: BTreeSet<EventType> = names.into_iter().collect();
    if types.is_empty() {
        return Err(InvalidValue::new(
            "empty",
            "must name at least one event type",
        ));
    }
    if let Some(t) = types.iter().find(|t| NOT_DELIVERED.contains(t)) {
        return Err(InvalidValue::new(
            "not_delivered",
            format!(
                "{t} is recorded by imports and demo data, which send no webhooks; follow it in GET /v1/events"
            ),
        ));
    }
    Ok(types)
}

/// An endpoint's description: at most [`MAX_DESCRIPTION`] characters, no control characters.
pub fn description(text: &str) -> Result<String, InvalidValue> {
    let text = text.trim();
    if text.chars().count() > MAX_DESCRIPTION {
        return Err(InvalidValue::new(
            "too_long",
            format!("must be at most {MAX_DESCRIPTION} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(InvalidValue::new(
            "control_character",
            "must not contain control characters",
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_first_retry_comes_within_thirty_seconds_and_none_is_more_than_an_hour_later() {
        assert!(backoff(1) <= Duration::seconds(30));
        assert_eq!(backoff(2), Duration::seconds(30));
        let mut previous = Duration::ZERO;
        for attempts in 1..200 {
            let wait = backoff(attempts);
            assert!(wait >= previous && wait <= MAX_INTERVAL, "{attempts}");
            previous = wait;
        }
        assert_eq!(backoff(u32::MAX), MAX_INTERVAL);
    }

    #[test]
    fn a_delivery_is_retried_for_three_days_and_then_given_up() {
        let first = datetime!(2027-01-04 10:00 UTC);
        let mut now = first;
        let mut attempts = 1;
        while let Some(next) = next_attempt(first, attempts, now) {
            assert!(next > now && next <= first + RETRY_PERIOD);
            now = next;
            attempts += 1;
        }
        assert!(now > first + RETRY_PERIOD - MAX_INTERVAL, "{now}");
        assert!(
            attempts > 70,
            "about one an hour for three days: {attempts}"
        );
    }

    #[test]
    fn an_endpoint_is_disabled_after_failing_for_the_whole_retry_period() {
        let since = datetime!(2027-01-04 10:00 UTC);
        assert!(!failing_too_long(
            since,
            since + Duration::days(3) - Duration::seconds(1)
        ));
        assert!(failing_too_long(since, since + Duration::days(3)));
    }

    #[test]
    fn an_endpoint_owes_since_the_oldest_event_it_failed_and_nothing_after_a_success() {
        let (t1, t2) = (
            datetime!(2027-01-04 10:00 UTC),
            datetime!(2027-01-04 11:00 UTC),
        );
        assert_eq!(failing_since(None, false, t2), Some(t2));
        assert_eq!(failing_since(Some(t2), false, t1), Some(t1));
        assert_eq!(failing_since(Some(t1), false, t2), Some(t1));
        assert_eq!(failing_since(Some(t1), true, t2), None);
    }

    #[test]
    fn an_endpoint_names_at_least_one_event_type_and_duplicates_count_once() {
        assert_eq!(event_types([]).unwrap_err().code, "empty");
        let types = event_types([EventType::CaseCreated, EventType::CaseCreated]).unwrap();
        assert_eq!(types.len(), 1);
        assert_eq!(
            event_types([EventType::CaseImported]).unwrap_err().code,
            "not_delivered"
        );
    }

    #[test]
    fn a_description_is_bounded_and_plain() {
        assert_eq!(description("  CRM sync ").unwrap(), "CRM sync");
        assert_eq!(description(&"x".repeat(501)).unwrap_err().code, "too_long");
        assert_eq!(
            description("a\u{7}b").unwrap_err().code,
            "control_character"
        );
    }

    #[test]
    fn stored_names_come_back_as_themselves() {
        for s in [
            DeliveryStatus::Pending,
            DeliveryStatus::Delivered,
            DeliveryStatus::Failed,
        ] {
            assert_eq!(DeliveryStatus::parse(s.as_str()), Some(s));
        }
        for r in [DisabledReason::Gone, DisabledReason::Failing] {
            assert_eq!(DisabledReason::parse(r.as_str()), Some(r));
        }
    }
}
