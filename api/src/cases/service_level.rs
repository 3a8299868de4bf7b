//! The first-response target a case is filed under, and recomputed under when its severity
//! changes before support's first reply.

use casebridge_domain::service_level::due_time;
use casebridge_domain::{ServiceLevelPolicy, Severity, SupportTier, TimeZone};
use casebridge_persistence::repo::cases::{CaseRecord, FiledTarget};
use time::OffsetDateTime;

/// The target of a case of `tier` and `severity` filed at `filed_at` in `zone` under the
/// provider's `policy`; `None` when the policy sets none for that combination.
pub fn filed_target(
    policy: &ServiceLevelPolicy,
    tier: SupportTier,
    severity: Severity,
    filed_at: OffsetDateTime,
    zone: &TimeZone,
) -> Option<FiledTarget> {
    policy.target(tier, severity).map(|target| FiledTarget {
        target,
        due: due_time(target, filed_at, zone),
    })
}

/// The target after a severity change: recomputed from the case's filing time while support
/// has not replied (under the tier it was filed under, or `current_tier` for a case filed
/// before service levels), unchanged (`None`) once it has.
pub fn after_severity_change(
    policy: &ServiceLevelPolicy,
    case: &CaseRecord,
    current_tier: SupportTier,
    severity: Severity,
) -> Option<Option<FiledTarget>> {
    if case.first_responded_time.is_some() || severity == case.severity {
        return None;
    }
    let zone = TimeZone::parse(&case.time_zone).ok()?;
    let tier = case.service_tier.unwrap_or(current_tier);
    Some(filed_target(
        policy,
        tier,
        severity,
        case.create_time,
        &zone,
    ))
}
