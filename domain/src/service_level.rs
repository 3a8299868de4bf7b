//! Service levels: the first-response target a case gets from its customer's support tier and
//! its severity, the time that response is due, and whether it was met.
//!
//! A target counts either every minute (`24x7`) or business minutes only (`business`): Monday
//! to Friday, 09:00 to 17:00 wall-clock time in the case's own IANA time zone, so a business
//! day keeps those hours on the day a daylight-saving change happens and the UTC instant of
//! 09:00 follows the zone's offset of that day. Public holidays are not known here: a holiday
//! on a weekday counts as a business day.
//!
//! Time is counted exactly, never rounded: a case filed at 16:59:30 has thirty business
//! seconds on its first day, and the due time keeps the filing's sub-second part.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, Weekday};
use jiff::{SignedDuration, Timestamp};
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::customer::SupportTier;
use crate::values::{Severity, TimeZone};
use crate::{DomainError, FieldError, FieldParser, InvalidValue};

/// The hour business hours open, wall-clock in the case's zone.
const OPENING_HOUR: i8 = 9;
/// The hour business hours close, wall-clock in the case's zone.
const CLOSING_HOUR: i8 = 17;

/// Which minutes count towards a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Hours {
    /// Every minute of every day.
    TwentyFourSeven,
    /// Monday to Friday, 09:00–17:00 in the case's time zone.
    Business,
}

impl Hours {
    /// Every kind of hours.
    pub const ALL: [Hours; 2] = [Hours::TwentyFourSeven, Hours::Business];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Hours::TwentyFourSeven => "24x7",
            Hours::Business => "business",
        }
    }
}

impl FromStr for Hours {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|h| h.as_str() == s)
            .ok_or_else(|| InvalidValue::new("invalid_hours", "must be one of 24x7, business"))
    }
}

impl fmt::Display for Hours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A first-response target: a positive number of minutes, counted in the given hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServiceLevelTarget {
    first_response_minutes: u32,
    hours: Hours,
}

impl ServiceLevelTarget {
    /// The longest target accepted: 30 days of minutes (43,200). As business minutes that is
    /// 90 business days, longer than any support contract promises; the bound keeps a typo
    /// from producing a due time years away.
    pub const MAX_MINUTES: u32 = 30 * 24 * 60;

    /// A target of `first_response_minutes` (1..=[`Self::MAX_MINUTES`]) in `hours`. Takes an
    /// `i64` so that a client's negative number or a stored integer is refused here, as a value.
    pub fn new(first_response_minutes: i64, hours: Hours) -> Result<Self, InvalidValue> {
        Self::parse_minutes(first_response_minutes).map(|m| Self::known(m, hours))
    }

    /// Checks a number of minutes alone: 1..=[`Self::MAX_MINUTES`].
    fn parse_minutes(raw: i64) -> Result<u32, InvalidValue> {
        u32::try_from(raw)
            .ok()
            .filter(|m| (1..=Self::MAX_MINUTES).contains(m))
            .ok_or_else(|| {
                InvalidValue::new(
                    "out_of_range",
                    format!(
                        "must be a whole number of minutes from 1 to {}",
                        Self::MAX_MINUTES
                    ),
                )
            })
    }

    /// The minutes within which the first response is due.
    pub fn first_response_minutes(self) -> u32 {
        self.first_response_minutes
    }

    /// Which minutes count.
    pub fn hours(self) -> Hours {
        self.hours
    }

    /// A target known to be valid: only for this module's constants.
    const fn known(first_response_minutes: u32, hours: Hours) -> Self {
        Self {
            first_response_minutes,
            hours,
        }
    }
}

/// One row of a policy: the target of one support tier and severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServiceLevelEntry {
    /// The customer's support tier.
    pub support_tier: SupportTier,
    /// The case's severity.
    pub severity: Severity,
    /// The target that applies.
    pub target: ServiceLevelTarget,
}

/// One row of a policy as a client sends it, before parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceLevelEntryInput<'a> {
    /// A support tier's wire name.
    pub support_tier: &'a str,
    /// A severity's wire name.
    pub severity: &'a str,
    /// The minutes; negative and zero are refused, as values.
    pub first_response_minutes: i64,
    /// The hours' wire name.
    pub hours: &'a str,
}

/// The provider's table from support tier and severity to a first-response target; a
/// combination without an entry has no target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceLevelPolicy {
    targets: BTreeMap<(SupportTier, Severity), ServiceLevelTarget>,
}

impl ServiceLevelPolicy {
    /// The shipped defaults, until the provider changes them: premium P1 15 minutes 24x7, P2
    /// 2 hours 24x7, P3 4 hours business, P4 8 hours business; enhanced P1 1 hour 24x7, P2
    /// 4 hours 24x7, P3 and P4 8 hours business; standard P2 4 hours business, P3 and P4
    /// 8 hours business, and no target for a standard P1.
    pub fn defaults() -> Self {
        use Hours::{Business, TwentyFourSeven};
        use Severity::{P1, P2, P3, P4};
        use SupportTier::{Enhanced, Premium, Standard};
        let t = ServiceLevelTarget::known;
        let rows = [
            (Premium, P1, t(15, TwentyFourSeven)),
            (Premium, P2, t(2 * 60, TwentyFourSeven)),
            (Premium, P3, t(4 * 60, Business)),
            (Premium, P4, t(8 * 60, Business)),
            (Enhanced, P1, t(60, TwentyFourSeven)),
            (Enhanced, P2, t(4 * 60, TwentyFourSeven)),
            (Enhanced, P3, t(8 * 60, Business)),
            (Enhanced, P4, t(8 * 60, Business)),
            (Standard, P2, t(4 * 60, Business)),
            (Standard, P3, t(8 * 60, Business)),
            (Standard, P4, t(8 * 60, Business)),
        ];
        Self {
            targets: rows
                .into_iter()
                .map(|(tier, severity, target)| ((tier, severity), target))
                .collect(),
        }
    }

    /// A policy of the given entries; a second entry for the same support tier and severity is
    /// refused, named `entries[i]` by its position in the list.
    pub fn from_entries(
        entries: impl IntoIterator<Item = ServiceLevelEntry>,
    ) -> Result<Self, DomainError> {
        let mut targets = BTreeMap::new();
        let mut errors = Vec::new();
        for (i, entry) in entries.into_iter().enumerate() {
            if targets
                .insert((entry.support_tier, entry.severity), entry.target)
                .is_some()
            {
                errors.push(FieldError {
                    field: format!("entries[{i}]"),
                    error: duplicate(entry.support_tier, entry.severity),
                });
            }
        }
        DomainError::from_fields(errors)?;
        Ok(Self { targets })
    }

    /// Parses a policy given under `field` (e.g. `entries`): every refused value is reported
    /// as `field[i].support_tier`, `field[i].severity`, `field[i].first_response_minutes` or
    /// `field[i].hours`, and a repeated support tier and severity as `field[i]`.
    pub fn parse(
        p: &mut FieldParser,
        field: &str,
        raw: &[ServiceLevelEntryInput<'_>],
    ) -> Option<Self> {
        let mut targets = BTreeMap::new();
        let mut complete = true;
        for (i, entry) in raw.iter().enumerate() {
            let at = |name: &str| format!("{field}[{i}].{name}");
            let tier = p.field(
                at("support_tier"),
                entry.support_tier.parse::<SupportTier>(),
            );
            let severity = p.field(at("severity"), entry.severity.parse::<Severity>());
            let hours = p.field(at("hours"), entry.hours.parse::<Hours>());
            let minutes = p.field(
                at("first_response_minutes"),
                ServiceLevelTarget::parse_minutes(entry.first_response_minutes),
            );
            match (tier, severity, hours, minutes) {
                (Some(tier), Some(severity), Some(hours), Some(minutes)) => {
                    let target = ServiceLevelTarget::known(minutes, hours);
                    if targets.insert((tier, severity), target).is_some() {
                        p.refuse(format!("{field}[{i}]"), duplicate(tier, severity));
                        complete = false;
                    }
                }
                _ => complete = false,
            }
        }
        complete.then_some(Self { targets })
    }

    /// The target of a case of `severity` for a customer of `tier`, if any.
    pub fn target(&self, tier: SupportTier, severity: Severity) -> Option<ServiceLevelTarget> {
        self.targets.get(&(tier, severity)).copied()
    }

    /// Every entry, by support tier (standard first) then severity (P1 first).
    pub fn entries(&self) -> impl Iterator<Item = ServiceLevelEntry> + '_ {
        self.targets
            .iter()
            .map(|(&(support_tier, severity), &target)| ServiceLevelEntry {
                support_tier,
                severity,
                target,
            })
    }
}

/// The refusal of a second entry for one support tier and severity.
fn duplicate(tier: SupportTier, severity: Severity) -> InvalidValue {
    InvalidValue::new(
        "duplicate",
        format!("{tier} {severity} is given more than once; give each combination once"),
    )
}

/// When the first response to a case filed at `filed_at` in `zone` is due under `target`, in
/// UTC.
///
/// A `24x7` target adds its minutes as elapsed time, whatever the wall clock does. A `business`
/// target counts only the time inside Monday–Friday 09:00–17:00 in `zone`: a case filed outside
/// those hours (a weekend, before 09:00, at or after 17:00) starts counting at the next
/// opening, and a target that runs out exactly at closing is due at 17:00 that day, not at the
/// next opening. Public holidays count as business days.
///
/// A due time past the range of representable instants (year 9999) saturates at the latest
/// one; no real filing time comes near it.
pub fn due_time(
    target: ServiceLevelTarget,
    filed_at: OffsetDateTime,
    zone: &TimeZone,
) -> OffsetDateTime {
    let minutes = i64::from(target.first_response_minutes);
    let due = match target.hours {
        Hours::TwentyFourSeven => filed_at
            .checked_add(time::Duration::minutes(minutes))
            .and_then(|t| t.checked_to_offset(UtcOffset::UTC)),
        Hours::Business => Timestamp::from_nanosecond(filed_at.unix_timestamp_nanos())
            .ok()
            .and_then(|filed| business_due(filed, SignedDuration::from_mins(minutes), &tz(zone)))
            .and_then(|due| OffsetDateTime::from_unix_timestamp_nanos(due.as_nanosecond()).ok()),
    };
    due.unwrap_or(PrimitiveDateTime::MAX.assume_utc())
}

/// The zone of the bundled database, which `TimeZone` was parsed against: the lookup cannot
/// fail, and UTC would only stand in if the database and the parser ever disagreed.
fn tz(zone: &TimeZone) -> jiff::tz::TimeZone {
    jiff::tz::db()
        .get(zone.as_str())
        .unwrap_or(jiff::tz::TimeZone::UTC)
}

/// The instant `remaining` business time after `filed`; `None` past the calendar's end.
fn business_due(
    filed: Timestamp,
    mut remaining: SignedDuration,
    tz: &jiff::tz::TimeZone,
) -> Option<Timestamp> {
    let mut date = tz.to_datetime(filed).date();
    loop {
        if let Some((open, close)) = business_window(date, tz) {
            let start = filed.max(open);
            if start < close {
                let available = close.duration_since(start);
                if remaining <= available {
                    return start.checked_add(remaining).ok();
                }
                remaining -= available;
            }
        }
        date = date.tomorrow().ok()?;
    }
}

/// The opening and closing instants of `date`'s business hours in `tz`, or `None` on a
/// weekend. Both are wall-clock times of that day, so the UTC offset of each is that of the
/// zone at that moment; a wall-clock time a daylight-saving gap skips resolves to the instant
/// after the gap.
fn business_window(date: Date, tz: &jiff::tz::TimeZone) -> Option<(Timestamp, Timestamp)> {
    if matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) {
        return None;
    }
    let open = tz.to_timestamp(date.at(OPENING_HOUR, 0, 0, 0)).ok()?;
    let close = tz.to_timestamp(date.at(CLOSING_HOUR, 0, 0, 0)).ok()?;
    // A zone that skipped a whole day (Pacific/Apia, 2011-12-30) would resolve it to the next
    // day's hours, counting them twice.
    if tz.to_datetime(open).date() != date {
        return None;
    }
    Some((open, close))
}

/// Where a first-response target stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceLevelState {
    /// Not responded to, and not yet due.
    Running,
    /// Responded to at or before the due time.
    Met,
    /// Responded to after the due time, or not responded to and past it.
    Breached,
}

impl ServiceLevelState {
    /// Every state.
    pub const ALL: [ServiceLevelState; 3] = [
        ServiceLevelState::Running,
        ServiceLevelState::Met,
        ServiceLevelState::Breached,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceLevelState::Running => "running",
            ServiceLevelState::Met => "met",
            ServiceLevelState::Breached => "breached",
        }
    }
}

impl FromStr for ServiceLevelState {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                InvalidValue::new(
                    "invalid_service_level_state",
                    "must be one of running, met, breached",
                )
            })
    }
}

impl fmt::Display for ServiceLevelState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a target due at `due` stands at `now`: met when the first response came at or before
/// `due`, breached when it came later or has not come and `now` is past `due` (at `due`
/// exactly it is still running).
pub fn state(
    due: OffsetDateTime,
    first_responded: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> ServiceLevelState {
    match first_responded {
        Some(responded) if responded <= due => ServiceLevelState::Met,
        Some(_) => ServiceLevelState::Breached,
        None if now > due => ServiceLevelState::Breached,
        None => ServiceLevelState::Running,
    }
}

/// A case's service level as it stands at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceLevel {
    /// The target that applies.
    pub target: ServiceLevelTarget,
    /// When the first response is due, in UTC.
    pub first_response_due_time: OffsetDateTime,
    /// When support first replied, if it has.
    pub first_responded_time: Option<OffsetDateTime>,
    /// Where the target stands.
    pub state: ServiceLevelState,
}

impl ServiceLevel {
    /// The service level of a case filed at `filed_at` in `zone`, computing its due time.
    pub fn new(
        target: ServiceLevelTarget,
        filed_at: OffsetDateTime,
        zone: &TimeZone,
        first_responded: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Self {
        Self::with_due_time(
            target,
            due_time(target, filed_at, zone),
            first_responded,
            now,
        )
    }

    /// The service level of a case whose due time was computed (and stored) before.
    pub fn with_due_time(
        target: ServiceLevelTarget,
        due: OffsetDateTime,
        first_responded: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            target,
            first_response_due_time: due,
            first_responded_time: first_responded,
            state: state(due, first_responded, now),
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn zone(name: &str) -> TimeZone {
        TimeZone::parse(name).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn target(minutes: i64, hours: Hours) -> ServiceLevelTarget {
        ServiceLevelTarget::new(minutes, hours).unwrap_or_else(|e| panic!("{minutes}: {e}"))
    }

    fn business(minutes: i64) -> ServiceLevelTarget {
        target(minutes, Hours::Business)
    }

    fn policy_target(tier: SupportTier, severity: Severity) -> ServiceLevelTarget {
        ServiceLevelPolicy::defaults()
            .target(tier, severity)
            .unwrap_or_else(|| panic!("no default for {tier} {severity}"))
    }

    #[test]
    fn hours_states_and_their_wire_names_round_trip() {
        for h in Hours::ALL {
            assert_eq!(h.as_str().parse::<Hours>(), Ok(h));
        }
        assert_eq!(Hours::TwentyFourSeven.as_str(), "24x7");
        assert_eq!(Hours::Business.as_str(), "business");
        assert!("24/7".parse::<Hours>().is_err());
        assert_eq!(
            "Business".parse::<Hours>().map_err(|e| e.code),
            Err("invalid_hours")
        );
        for s in ServiceLevelState::ALL {
            assert_eq!(s.as_str().parse::<ServiceLevelState>(), Ok(s));
        }
        assert_eq!(
            ["running", "met", "breached"],
            ServiceLevelState::ALL.map(ServiceLevelState::as_str)
        );
        assert!("late".parse::<ServiceLevelState>().is_err());
    }

    #[test]
    fn a_target_is_one_minute_to_thirty_days() {
        assert!(ServiceLevelTarget::new(1, Hours::Business).is_ok());
        assert!(ServiceLevelTarget::new(43_200, Hours::TwentyFourSeven).is_ok());
        for bad in [0, -15, 43_201, i64::from(u32::MAX) + 1, i64::MIN] {
            assert_eq!(
                ServiceLevelTarget::new(bad, Hours::Business).map_err(|e| e.code),
                Err("out_of_range"),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_defaults_are_the_shipped_table() {
        use Hours::{Business as B, TwentyFourSeven as A};
        use Severity::*;
        use SupportTier::*;
        let policy = ServiceLevelPolicy::defaults();
        let expected = [
            (Premium, P1, Some((15, A))),
            (Premium, P2, Some((120, A))),
            (Premium, P3, Some((240, B))),
            (Premium, P4, Some((480, B))),
            (Enhanced, P1, Some((60, A))),
            (Enhanced, P2, Some((240, A))),
            (Enhanced, P3, Some((480, B))),
            (Enhanced, P4, Some((480, B))),
            (Standard, P1, None),
            (Standard, P2, Some((240, B))),
            (Standard, P3, Some((480, B))),
            (Standard, P4, Some((480, B))),
        ];
        for (tier, severity, want) in expected {
            let got = policy
                .target(tier, severity)
                .map(|t| (t.first_response_minutes(), t.hours()));
            assert_eq!(got, want, "{tier} {severity}");
        }
        // Every default is a target the constructor accepts too.
        for e in policy.entries() {
            let t = e.target;
            let minutes = i64::from(t.first_response_minutes());
            assert_eq!(ServiceLevelTarget::new(minutes, t.hours()), Ok(t));
        }
        assert_eq!(
            ServiceLevelPolicy::from_entries(policy.entries()),
            Ok(policy)
        );
    }

    #[test]
    fn a_policy_refuses_a_combination_given_twice() {
        let entry = |minutes| ServiceLevelEntry {
            support_tier: SupportTier::Premium,
            severity: Severity::P1,
            target: target(minutes, Hours::TwentyFourSeven),
        };
        let refused = ServiceLevelPolicy::from_entries([entry(15), entry(30)]);
        match refused {
            Err(DomainError::InvalidFields(errors)) => {
                assert_eq!(errors.len(), 1);
                assert_eq!(errors[0].field, "entries[1]");
                assert_eq!(errors[0].error.code, "duplicate");
            }
            other => panic!("unexpected {other:?}"),
        }
        let empty = ServiceLevelPolicy::from_entries([]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(empty.target(SupportTier::Premium, Severity::P1), None);
    }

    #[test]
    fn parsing_a_policy_names_every_refused_field() {
        let entry =
            |support_tier, severity, first_response_minutes, hours| ServiceLevelEntryInput {
                support_tier,
                severity,
                first_response_minutes,
                hours,
            };
        let raw = [
            entry("premium", "P1", 15, "24x7"),
            entry("gold", "P1", 15, "24x7"),
            entry("premium", "P9", 0, "always"),
            entry("standard", "P3", -5, "business"),
            entry("premium", "P1", 30, "business"),
            entry("enhanced", "P2", 43_201, "24x7"),
        ];
        let mut p = FieldParser::new();
        let parsed = ServiceLevelPolicy::parse(&mut p, "entries", &raw);
        assert!(parsed.is_none());
        match p.finish(|| Some(())) {
            Err(DomainError::InvalidFields(errors)) => {
                let fields: Vec<(&str, &str)> = errors
                    .iter()
                    .map(|e| (e.field.as_str(), e.error.code))
                    .collect();
                assert_eq!(
                    fields,
                    vec![
                        ("entries[1].support_tier", "invalid_support_tier"),
                        ("entries[2].severity", "invalid_severity"),
                        ("entries[2].hours", "invalid_hours"),
                        ("entries[2].first_response_minutes", "out_of_range"),
                        ("entries[3].first_response_minutes", "out_of_range"),
                        ("entries[4]", "duplicate"),
                        ("entries[5].first_response_minutes", "out_of_range"),
                    ]
                );
            }
            other => panic!("unexpected {other:?}"),
        }

        let mut p = FieldParser::new();
        let ok = ServiceLevelPolicy::parse(
            &mut p,
            "entries",
            &[
                entry("premium", "P1", 10, "24x7"),
                entry("standard", "P4", 960, "business"),
            ],
        );
        assert!(p.is_ok());
        let ok = ok.unwrap_or_else(|| panic!("refused"));
        assert_eq!(
            ok.target(SupportTier::Premium, Severity::P1),
            Some(target(10, Hours::TwentyFourSeven))
        );
        assert_eq!(
            ok.target(SupportTier::Standard, Severity::P4),
            Some(business(960))
        );
        assert_eq!(ok.target(SupportTier::Standard, Severity::P3), None);
        assert_eq!(ok.entries().count(), 2);
    }

    #[test]
    fn a_premium_p1_filed_at_ten_utc_is_due_at_a_quarter_past() {
        let p1 = policy_target(SupportTier::Premium, Severity::P1);
        let filed = datetime!(2027-06-01 10:00 UTC);
        let due = due_time(p1, filed, &zone("UTC"));
        assert_eq!(due, datetime!(2027-06-01 10:15 UTC));
        assert_eq!(due.offset(), UtcOffset::UTC);
        assert_eq!(
            state(
                due,
                Some(datetime!(2027-06-01 10:10 UTC)),
                datetime!(2027-06-01 10:16 UTC)
            ),
            ServiceLevelState::Met
        );
        assert_eq!(
            state(due, None, datetime!(2027-06-01 10:16 UTC)),
            ServiceLevelState::Breached
        );
    }

    #[test]
    fn a_standard_p3_filed_friday_at_four_in_new_york_is_due_monday_at_four() {
        let p3 = policy_target(SupportTier::Standard, Severity::P3);
        // Friday 2027-02-05 16:00 EST (UTC-5): one business hour on Friday, seven on Monday.
        let filed = datetime!(2027-02-05 16:00 -5);
        let due = due_time(p3, filed, &zone("America/New_York"));
        assert_eq!(due, datetime!(2027-02-08 16:00 -5));
    }

    #[test]
    fn a_case_filed_the_saturday_before_daylight_saving_starts_is_due_in_daylight_time() {
        let ny = zone("America/New_York");
        // Saturday 2027-03-13 10:00 EST is 15:00 UTC. New York moves to EDT (UTC-4) on Sunday
        // 2027-03-14 at 02:00, so the count starts Monday 2027-03-15 09:00 EDT = 13:00 UTC.
        let filed = datetime!(2027-03-13 10:00 -5);
        // Standard P3, eight business hours: the whole of Monday, due at its closing,
        // 17:00 EDT = 21:00 UTC (not 22:00 UTC, which Saturday's offset would give).
        let p3 = policy_target(SupportTier::Standard, Severity::P3);
        assert_eq!(due_time(p3, filed, &ny), datetime!(2027-03-15 21:00 UTC));
        // Premium P3, four business hours: Monday 13:00 EDT = 17:00 UTC.
        let premium_p3 = policy_target(SupportTier::Premium, Severity::P3);
        assert_eq!(
            due_time(premium_p3, filed, &ny),
            datetime!(2027-03-15 17:00 UTC)
        );
    }

    #[test]
    fn business_time_spanning_a_daylight_saving_change_counts_wall_clock_hours() {
        let ny = zone("America/New_York");
        let p3 = business(8 * 60);
        // Friday 16:00 EST (21:00 UTC) to Monday 16:00 EDT (20:00 UTC): spring forward.
        assert_eq!(
            due_time(p3, datetime!(2027-03-12 16:00 -5), &ny),
            datetime!(2027-03-15 20:00 UTC)
        );
        // Friday 16:00 EDT (20:00 UTC) to Monday 16:00 EST (21:00 UTC): fall back on Sunday
        // 2027-11-07.
        assert_eq!(
            due_time(p3, datetime!(2027-11-05 16:00 -4), &ny),
            datetime!(2027-11-08 21:00 UTC)
        );
    }

    #[test]
    fn a_business_day_on_which_the_offset_changes_keeps_nine_to_five_wall_clock() {
        // Asia/Tehran moved to +04:30 at midnight starting Monday 2021-03-22 (its last years of
        // daylight saving): that Monday's business hours are 04:30–12:30 UTC, the Friday
        // before's 05:30–13:30 UTC.
        let tehran = zone("Asia/Tehran");
        let one_hour = business(60);
        assert_eq!(
            due_time(one_hour, datetime!(2021-03-22 00:00 UTC), &tehran),
            datetime!(2021-03-22 05:30 UTC)
        );
        assert_eq!(
            due_time(one_hour, datetime!(2021-03-19 13:00 UTC), &tehran),
            datetime!(2021-03-22 05:00 UTC)
        );
    }

    #[test]
    fn business_time_starts_at_the_next_opening() {
        let ny = zone("America/New_York");
        let two_hours = business(120);
        // Saturday, Sunday, Monday before nine: Monday 11:00.
        for filed in [
            datetime!(2027-02-06 12:00 -5),
            datetime!(2027-02-07 23:59 -5),
            datetime!(2027-02-08 00:00 -5),
            datetime!(2027-02-08 08:59:59 -5),
            datetime!(2027-02-08 09:00 -5),
        ] {
            assert_eq!(
                due_time(two_hours, filed, &ny),
                datetime!(2027-02-08 11:00 -5),
                "{filed}"
            );
        }
        // After closing, and exactly at closing: the next morning.
        for filed in [
            datetime!(2027-02-08 17:00 -5),
            datetime!(2027-02-08 17:00:01 -5),
            datetime!(2027-02-08 22:00 -5),
        ] {
            assert_eq!(
                due_time(two_hours, filed, &ny),
                datetime!(2027-02-09 11:00 -5),
                "{filed}"
            );
        }
        // Friday at closing: Monday.
        assert_eq!(
            due_time(two_hours, datetime!(2027-02-05 17:00 -5), &ny),
            datetime!(2027-02-08 11:00 -5)
        );
    }

    #[test]
    fn business_time_that_runs_out_at_closing_is_due_at_closing() {
        let ny = zone("America/New_York");
        assert_eq!(
            due_time(business(60), datetime!(2027-02-08 16:00 -5), &ny),
            datetime!(2027-02-08 17:00 -5)
        );
        assert_eq!(
            due_time(business(8 * 60), datetime!(2027-02-06 10:00 -5), &ny),
            datetime!(2027-02-08 17:00 -5)
        );
        // One minute more rolls over to the next opening.
        assert_eq!(
            due_time(business(61), datetime!(2027-02-08 16:00 -5), &ny),
            datetime!(2027-02-09 09:01 -5)
        );
    }

    #[test]
    fn business_time_is_counted_to_the_second_without_rounding() {
        let ny = zone("America/New_York");
        // 30 seconds on Monday, 59 minutes 30 seconds on Tuesday.
        assert_eq!(
            due_time(business(60), datetime!(2027-02-08 16:59:30.25 -5), &ny),
            datetime!(2027-02-09 09:59:30.25 -5)
        );
    }

    #[test]
    fn the_longest_business_target_is_ninety_business_days() {
        let due = due_time(
            business(i64::from(ServiceLevelTarget::MAX_MINUTES)),
            datetime!(2027-01-04 09:00 UTC),
            &zone("UTC"),
        );
        // 90 business days from Monday 2027-01-04: 18 whole weeks, closing on a Friday.
        assert_eq!(due, datetime!(2027-05-07 17:00 UTC));
    }

    #[test]
    fn a_round_the_clock_target_across_daylight_saving_is_elapsed_minutes() {
        let ny = zone("America/New_York");
        let two_hours = target(120, Hours::TwentyFourSeven);
        // 01:30 EST (06:30 UTC) on the night clocks spring forward: due 08:30 UTC, 04:30 EDT on
        // the wall clock, not 03:30.
        let due = due_time(two_hours, datetime!(2027-03-14 01:30 -5), &ny);
        assert_eq!(due, datetime!(2027-03-14 08:30 UTC));
        assert_eq!(due, datetime!(2027-03-14 04:30 -4));
        // On the night they fall back, 00:30 EDT plus two hours is 01:30 EST.
        let due = due_time(two_hours, datetime!(2027-11-07 00:30 -4), &ny);
        assert_eq!(due, datetime!(2027-11-07 01:30 -5));
        // Weekends count.
        assert_eq!(
            due_time(two_hours, datetime!(2027-02-06 23:00 UTC), &ny),
            datetime!(2027-02-07 01:00 UTC)
        );
    }

    #[test]
    fn the_state_is_met_at_the_due_time_and_breached_after_it() {
        let due = datetime!(2027-06-01 10:15 UTC);
        let before = datetime!(2027-06-01 10:14:59 UTC);
        let after = datetime!(2027-06-01 10:15:00.001 UTC);
        assert_eq!(state(due, None, before), ServiceLevelState::Running);
        assert_eq!(state(due, None, due), ServiceLevelState::Running);
        assert_eq!(state(due, None, after), ServiceLevelState::Breached);
        assert_eq!(state(due, Some(due), after), ServiceLevelState::Met);
        assert_eq!(state(due, Some(before), before), ServiceLevelState::Met);
        assert_eq!(state(due, Some(after), after), ServiceLevelState::Breached);
    }

    #[test]
    fn a_service_level_combines_the_target_its_due_time_and_its_state() {
        let p1 = policy_target(SupportTier::Premium, Severity::P1);
        let filed = datetime!(2027-06-01 10:00 UTC);
        let level = ServiceLevel::new(
            p1,
            filed,
            &zone("Europe/Berlin"),
            None,
            datetime!(2027-06-01 10:05 UTC),
        );
        assert_eq!(
            level,
            ServiceLevel {
                target: p1,
                first_response_due_time: datetime!(2027-06-01 10:15 UTC),
                first_responded_time: None,
                state: ServiceLevelState::Running,
            }
        );
        let replied = Some(datetime!(2027-06-01 10:10 UTC));
        let later = ServiceLevel::with_due_time(
            p1,
            level.first_response_due_time,
            replied,
            datetime!(2027-06-01 11:00 UTC),
        );
        assert_eq!(later.state, ServiceLevelState::Met);
        assert_eq!(later.first_responded_time, replied);
    }

    mod properties {
        use jiff::civil::DateTime;
        use proptest::prelude::*;

        use super::*;

        /// Zones with and without daylight saving, with half-hour offsets, a 30-minute DST
        /// (Lord Howe), and both hemispheres.
        const ZONES: [&str; 8] = [
            "UTC",
            "America/New_York",
            "America/Sao_Paulo",
            "Europe/Berlin",
            "Asia/Kolkata",
            "Australia/Lord_Howe",
            "Pacific/Chatham",
            "America/St_Johns",
        ];

        fn instant() -> impl Strategy<Value = OffsetDateTime> {
            // 2000-01-01 to 2040-01-01, to the second.
            (946_684_800i64..2_208_988_800).prop_map(|s| {
                OffsetDateTime::from_unix_timestamp(s).unwrap_or_else(|e| panic!("{s}: {e}"))
            })
        }

        fn zone_name() -> impl Strategy<Value = &'static str> {
            proptest::sample::select(&ZONES[..])
        }

        fn any_target() -> impl Strategy<Value = ServiceLevelTarget> {
            (
                1..=i64::from(ServiceLevelTarget::MAX_MINUTES),
                any::<bool>(),
            )
                .prop_map(|(m, b)| {
                    target(
                        m,
                        if b {
                            Hours::Business
                        } else {
                            Hours::TwentyFourSeven
                        },
                    )
                })
        }

        fn wall_clock(t: OffsetDateTime, zone: &TimeZone) -> DateTime {
            let ts = Timestamp::from_nanosecond(t.unix_timestamp_nanos())
                .unwrap_or_else(|e| panic!("{t}: {e}"));
            tz(zone).to_datetime(ts)
        }

        proptest! {
            #[test]
            fn the_due_time_is_never_before_filing(
                t in any_target(), filed in instant(), name in zone_name(),
            ) {
                prop_assert!(due_time(t, filed, &zone(name)) > filed);
            }

            #[test]
            fn a_later_filing_is_never_due_earlier(
                t in any_target(), a in instant(), b in instant(), name in zone_name(),
            ) {
                let z = zone(name);
                let (early, late) = if a <= b { (a, b) } else { (b, a) };
                prop_assert!(due_time(t, early, &z) <= due_time(t, late, &z));
            }

            #[test]
            fn a_round_the_clock_target_is_exact_elapsed_minutes(
                minutes in 1..=i64::from(ServiceLevelTarget::MAX_MINUTES),
                filed in instant(),
                name in zone_name(),
            ) {
                let due = due_time(target(minutes, Hours::TwentyFourSeven), filed, &zone(name));
                prop_assert_eq!(due - filed, time::Duration::minutes(minutes));
            }

            #[test]
            fn a_business_due_time_is_within_business_hours_or_at_closing(
                minutes in 1..=i64::from(ServiceLevelTarget::MAX_MINUTES),
                filed in instant(),
                name in zone_name(),
            ) {
                let z = zone(name);
                let local = wall_clock(due_time(business(minutes), filed, &z), &z);
                prop_assert!(
                    !matches!(local.weekday(), Weekday::Saturday | Weekday::Sunday),
                    "{local} is a weekend"
                );
                let time = local.time();
                prop_assert!(
                    time > jiff::civil::time(9, 0, 0, 0) && time <= jiff::civil::time(17, 0, 0, 0),
                    "{local} is outside 09:00–17:00"
                );
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(48))]

            /// Against a slow, independent count: step minute by minute from filing and count
            /// the minutes whose wall-clock start is on a weekday from 09:00 to 16:59.
            #[test]
            fn a_business_due_time_counts_exactly_the_target_in_business_minutes(
                minutes in 1..=960i64,
                filed in instant(),
                name in zone_name(),
            ) {
                let z = zone(name);
                let filed = filed.replace_second(0).unwrap_or_else(|e| panic!("{e}"));
                let mut at = filed;
                let mut counted = 0;
                while counted < minutes {
                    let local = wall_clock(at, &z);
                    let weekday = !matches!(local.weekday(), Weekday::Saturday | Weekday::Sunday);
                    if weekday && (9..17).contains(&local.hour()) {
                        counted += 1;
                    }
                    at += time::Duration::MINUTE;
                }
                prop_assert_eq!(due_time(business(minutes), filed, &z), at);
            }
        }
    }
}
