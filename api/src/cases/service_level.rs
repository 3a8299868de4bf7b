//! The first-response target of a case: set at filing, recomputed when the severity changes
//! while it runs, and stopped by support's first reply or a close before it.

use casebridge_domain::service_level::due_time;
use casebridge_domain::{ServiceLevelPolicy, Severity, SupportTier, TimeZone};
use casebridge_persistence::repo::cases::{CaseChanges, CaseRecord, FiledTarget};
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

/// A severity change's effect on the target: while it runs, recomputed from the case's
/// filing time under the tier the case was filed under and the policy now in force (a breach
/// of the old target no longer counts; one of the new is pending). Nothing changes once it
/// stopped, or for a case filed before service levels (it never had a target).
pub fn retarget(changes: &mut CaseChanges, policy: &ServiceLevelPolicy, case: &CaseRecord) {
    let (Some(severity), Some(tier), None) = (
        changes.severity,
        case.service_tier,
        case.target_stopped_time,
    ) else {
        return;
    };
    if severity == case.severity {
        return;
    }
    let Ok(zone) = TimeZone::parse(&case.time_zone) else {
        return;
    };
    let target = filed_target(policy, tier, severity, case.create_time, &zone);
    changes.target = Some(target);
    changes.breach_pending = Some(target.is_some());
}

/// Stops the target at `at` (support's first reply, or a close before it), once: met when
/// `at` is by the due time, so no breach is pending; a late stop leaves the breach to be
/// recorded (if it is not already).
pub fn stop(changes: &mut CaseChanges, case: &CaseRecord, at: OffsetDateTime) {
    if case.target_stopped_time.is_some() {
        return;
    }
    changes.target_stopped_time = Some(at);
    changes.breach_pending = Some(case.breach_pending && case.target.is_some_and(|t| at > t.due));
}
