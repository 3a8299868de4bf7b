//! The provider's service levels: a first-response target per support tier and severity.

use actix_web::{HttpResponse, get, put, web};
use casebridge_domain::{FieldParser, ServiceLevelEntryInput, ServiceLevelPolicy};
use casebridge_persistence::PersistenceError;
use casebridge_persistence::repo::audit::{self, NewEvent};
use casebridge_persistence::repo::service_levels;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::actor::Authorized;
use crate::auth::actor::capability::{Provision, WorkCases};
use crate::extract::ApiJson;
use crate::problem::{ApiError, Problem};
use crate::retry::retrying;
use crate::state::AppState;
use crate::wire;
use crate::wire::cases::ServiceLevelHours;

/// Registers the endpoints.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(get_service_levels).service(set_service_levels);
}

/// The first-response target of one support tier and severity.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceLevelEntryView {
    /// The customer's support tier.
    pub support_tier: wire::SupportTier,
    /// The case's severity.
    pub severity: wire::Severity,
    /// Minutes within which support's first reply is due (1 to 43,200). Any JSON number
    /// that is a whole number is one (`90` and `90.0` alike, as JSON Schema has it).
    #[schema(value_type = i64, minimum = 1, maximum = 43200)]
    pub first_response_minutes: serde_json::Number,
    /// Which minutes count: every one, or Monday to Friday 09:00–17:00 in the case's time zone.
    pub hours: ServiceLevelHours,
}

/// The provider's service levels: one entry per support tier and severity that has a target
/// (a combination without an entry has none).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceLevels {
    /// The targets, by support tier then severity.
    pub policies: Vec<ServiceLevelEntryView>,
}

impl From<&ServiceLevelPolicy> for ServiceLevels {
    fn from(policy: &ServiceLevelPolicy) -> Self {
        Self {
            policies: policy
                .entries()
                .map(|e| ServiceLevelEntryView {
                    support_tier: e.support_tier.into(),
                    severity: e.severity.into(),
                    first_response_minutes: e.target.first_response_minutes().into(),
                    hours: e.target.hours().into(),
                })
                .collect(),
        }
    }
}

/// A JSON number as a whole number: `0` (refused by the rule as out of range) when it has a
/// fraction or is beyond what any target could be.
fn whole(n: &serde_json::Number) -> i64 {
    n.as_i64()
        .or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() <= f64::from(u32::MAX))
                .and_then(|f| format!("{f:.0}").parse().ok())
        })
        .unwrap_or(0)
}

/// The service levels in force. Shipped defaults (changeable): premium P1 15 min and P2 2 h
/// around the clock, P3 4 h and P4 8 h in business hours; enhanced P1 1 h and P2 4 h around
/// the clock, P3 and P4 8 h in business hours; standard P2 4 h, P3 and P4 8 h in business
/// hours, no P1 target. A case keeps the target it was filed under.
#[utoipa::path(
    tag = "provider",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The service levels.", body = ServiceLevels),
        (status = 403, description = "You lack access to case work (`portal_access_required`, `privilege_required`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/provider/service-levels")]
#[tracing::instrument(skip_all)]
async fn get_service_levels(
    state: web::Data<AppState>,
    _actor: Authorized<WorkCases>,
) -> Result<HttpResponse, ApiError> {
    let policy = service_levels::policy(state.db.reader()).await?;
    Ok(HttpResponse::Ok().json(ServiceLevels::from(&policy)))
}

/// Replaces the service levels. Cases filed afterwards get their targets from them; a case
/// filed before keeps its own, unless its severity changes before support's first reply (it is
/// then recomputed under the service levels in force).
#[utoipa::path(
    tag = "provider",
    security(("bearer" = [])),
    request_body = ServiceLevels,
    responses(
        (status = 200, description = "The service levels now in force.", body = ServiceLevels),
        (status = 400, description = "The body is not JSON (`malformed_json`).", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the provider's super admins (`wrong_realm`, `super_admin_required`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An entry is invalid (`invalid_request`, the field named, e.g. `policies[2].first_response_minutes`), or a tier and severity is given twice.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/v1/provider/service-levels")]
#[tracing::instrument(skip_all)]
async fn set_service_levels(
    state: web::Data<AppState>,
    actor: Authorized<Provision>,
    body: ApiJson<ServiceLevels>,
) -> Result<HttpResponse, ApiError> {
    let given: Vec<ServiceLevelEntryInput<'_>> = body
        .policies
        .iter()
        .map(|e| ServiceLevelEntryInput {
            support_tier: casebridge_domain::SupportTier::from(e.support_tier).as_str(),
            severity: casebridge_domain::Severity::from(e.severity).as_str(),
            first_response_minutes: whole(&e.first_response_minutes),
            hours: casebridge_domain::Hours::from(e.hours).as_str(),
        })
        .collect();
    let mut p = FieldParser::new();
    let policy = ServiceLevelPolicy::parse(&mut p, "policies", &given);
    let policy = p.finish(|| policy)?;
    let now = state.clock.now();
    let (state, actor, policy) = (&state, &actor, &policy);
    retrying(|| async move {
        let tx = state.db.begin().await?;
        service_levels::replace_policy(&tx, policy).await?;
        audit::record(
            &tx,
            &actor.audit(),
            NewEvent {
                action: "provider.service_levels_changed",
                subject_type: "service_levels",
                subject_id: "service_levels".to_owned(),
                customer_id: None,
                case_id: None,
                details: json!({"policies": policy.entries().count()}),
                audience: Vec::new(),
            },
            now,
        )
        .await?;
        tx.commit().await.map_err(PersistenceError::from)?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Ok().json(ServiceLevels::from(policy)))
}
