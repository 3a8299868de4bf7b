//! The wire shapes of cases, their comments and attachments, and the case list's query: shared
//! by every route that answers with a case and by the case operations that store an answer for
//! idempotent replay.

use std::collections::{BTreeMap, HashMap};

use actix_web::HttpResponse;
use actix_web::http::header;
use casebridge_domain::service_level::{self, Hours};
use casebridge_domain::{
    CaseId, CaseStatus as DomainStatus, CommentBody, CustomerId, DomainId, FieldParser, Party,
};
use casebridge_persistence::repo::attachments::AttachmentRecord;
use casebridge_persistence::repo::audit::EventRecord;
use casebridge_persistence::repo::cases::CaseRecord;
use casebridge_persistence::repo::comments::CommentRecord;
use casebridge_persistence::repo::listing::CaseOrder;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::conditions::etag;
use crate::extract::path_param;
use crate::pagination::{list_query, list_response};
use crate::problem::ApiError;
use crate::wire;
use crate::wire::ServiceLevelStateView;

/// A case's category.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClassificationRef {
    /// Id.
    pub id: String,
    /// `Area > Topic > Problem`.
    pub display_name: String,
}

/// Who filed a case.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Creator {
    /// The user's id.
    pub user_id: Option<String>,
    /// The user's email.
    pub email: String,
    /// The user's domain.
    pub domain: String,
}

/// An escalation in force.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EscalationView {
    /// Why.
    pub reason: wire::EscalationReason,
    /// In the escalating person's words.
    pub justification: String,
    /// When.
    #[serde(with = "wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub time: OffsetDateTime,
}

/// A case's first-response target, from its customer's support tier and its severity.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceLevelView {
    /// Minutes within which support's first reply is due.
    pub first_response_target_minutes: u32,
    /// Which minutes count: every one (`24x7`) or Monday to Friday 09:00–17:00 in the case's
    /// time zone (`business`).
    pub hours: ServiceLevelHours,
    /// When the first reply is due.
    #[serde(with = "wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub first_response_due_time: OffsetDateTime,
    /// When support first replied.
    #[serde(
        with = "wire::timestamp::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub first_responded_time: Option<OffsetDateTime>,
    /// `running` (no reply yet, not due yet), `met` (support replied, or the case was closed
    /// before any reply, by the due time; reopening does not undo it) or `breached`.
    pub state: ServiceLevelStateView,
}

/// Which minutes of a service-level target count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum ServiceLevelHours {
    /// Every minute.
    #[serde(rename = "24x7")]
    TwentyFourSeven,
    /// Monday to Friday, 09:00–17:00 in the case's time zone.
    #[serde(rename = "business")]
    Business,
}

impl From<Hours> for ServiceLevelHours {
    fn from(h: Hours) -> Self {
        match h {
            Hours::TwentyFourSeven => Self::TwentyFourSeven,
            Hours::Business => Self::Business,
        }
    }
}

impl From<ServiceLevelHours> for Hours {
    fn from(h: ServiceLevelHours) -> Self {
        match h {
            ServiceLevelHours::TwentyFourSeven => Self::TwentyFourSeven,
            ServiceLevelHours::Business => Self::Business,
        }
    }
}

/// A support case.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Case {
    /// Id.
    pub id: String,
    /// Human-friendly number, unique and increasing.
    pub case_number: i64,
    /// The customer it is filed for.
    pub customer_id: String,
    /// The product.
    pub product_type: wire::ProductType,
    /// Title.
    pub title: String,
    /// Category.
    pub classification: ClassificationRef,
    /// Description.
    pub description: String,
    /// Answers to the category's questions, by question id.
    pub answers: BTreeMap<String, String>,
    /// Severity.
    pub severity: wire::Severity,
    /// Status.
    pub status: wire::CaseStatus,
    /// Whether an escalation is in force.
    pub escalated: bool,
    /// The escalation in force.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalation: Option<EscalationView>,
    /// BCP 47 language tag support answers in.
    pub language_code: String,
    /// IANA time zone of the people working the case.
    pub time_zone: String,
    /// Who else is kept informed by email.
    pub subscriber_emails: Vec<String>,
    /// Who filed it.
    pub creator: Creator,
    /// The customer's reseller when the case was filed.
    pub reseller_domain: String,
    /// Created.
    #[serde(with = "wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub create_time: OffsetDateTime,
    /// Last changed.
    #[serde(with = "wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub update_time: OffsetDateTime,
    /// When it was closed, while it is.
    #[serde(
        with = "wire::timestamp::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub close_time: Option<OffsetDateTime>,
    /// The closed case this one follows up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow_up_of: Option<String>,
    /// The first-response target and where it stands; absent when none applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_level: Option<ServiceLevelView>,
}

impl Case {
    /// The case as answered at `now` (its service level's state depends on the time).
    pub fn of(c: &CaseRecord, now: OffsetDateTime) -> Self {
        Self::from_record(c.clone(), now)
    }

    /// [`Self::of`], taking the record's strings and maps instead of copying them (a page of
    /// cases is converted once and then serialised).
    pub fn from_record(c: CaseRecord, now: OffsetDateTime) -> Self {
        Self {
            service_level: c.target.map(|t| {
                let answered = c.target_stopped_time;
                ServiceLevelView {
                    first_response_target_minutes: t.target.first_response_minutes(),
                    hours: t.target.hours().into(),
                    first_response_due_time: t.due,
                    first_responded_time: c.first_responded_time,
                    state: service_level::state(t.due, answered, now).into(),
                }
            }),
            id: c.id.to_string(),
            case_number: c.case_number,
            customer_id: c.customer_id.to_string(),
            product_type: c.product_type.into(),
            title: c.title,
            classification: ClassificationRef {
                id: c.classification_id.to_string(),
                display_name: c.classification_name,
            },
            description: c.description,
            answers: c.answers,
            severity: c.severity.into(),
            status: c.lifecycle.status.into(),
            escalated: c.lifecycle.escalation.is_some(),
            escalation: c.lifecycle.escalation.as_ref().map(|e| EscalationView {
                reason: e.reason.into(),
                justification: e.justification.to_string(),
                time: e.time,
            }),
            language_code: c.language_code,
            time_zone: c.time_zone,
            subscriber_emails: c.subscriber_emails,
            creator: Creator {
                user_id: c.creator_user_id.map(|u| u.to_string()),
                email: c.creator_email,
                domain: c.creator_domain_name,
            },
            reseller_domain: c.reseller_domain_name,
            create_time: c.create_time,
            update_time: c.update_time,
            close_time: c.lifecycle.close_time,
            follow_up_of: c.follow_up_of.map(|f| f.to_string()),
        }
    }
}

/// The case as a response at `now`, with its `ETag`; its strings move into the answer instead
/// of being copied (eight copies and frees of a `GET /v1/cases/{id}`'s).
pub fn case_response(
    status: actix_web::http::StatusCode,
    case: CaseRecord,
    now: OffsetDateTime,
) -> Result<HttpResponse, ApiError> {
    let version = case.version;
    let body = json_body(&Case::from_record(case, now), CASE_JSON_BYTES)?;
    Ok(HttpResponse::build(status)
        .insert_header((header::ETAG, etag(version)))
        .insert_header(header::ContentType::json())
        .body(body))
}

/// A case or a page of cases as JSON, in a buffer of `capacity` bytes, written by sonic-rs:
/// the same bytes as serde_json (tested below), with strings scanned for what needs escaping
/// 16 or 32 bytes at a time instead of one. serde_json's escaping was the largest single cost
/// of a page of cases (12% of its instructions on SQLite) and 8% of a single case's.
fn json_body(value: &impl Serialize, capacity: usize) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::with_capacity(capacity);
    sonic_rs::to_writer(&mut body, value).map_err(ApiError::internal)?;
    Ok(body)
}

/// The case id in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CasePath {
    /// The case's id.
    #[param(value_type = crate::wire::text::Id)]
    pub case_id: String,
}

/// Parses the case id of the path.
pub fn case_id(path: &CasePath) -> Result<CaseId, ApiError> {
    path_param("case_id", &path.case_id)
}

/// A status filter value: a status, or `open` for any but `closed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    /// Any status but `closed`.
    Open,
    /// `new`.
    New,
    /// `in_progress_support`.
    InProgressSupport,
    /// `action_required`.
    ActionRequired,
    /// `solution_offered`.
    SolutionOffered,
    /// `closed`.
    Closed,
}

impl StatusFilter {
    /// The statuses the filter value stands for.
    pub fn statuses(self) -> Vec<DomainStatus> {
        match self {
            StatusFilter::Open => DomainStatus::OPEN.to_vec(),
            StatusFilter::New => vec![DomainStatus::New],
            StatusFilter::InProgressSupport => vec![DomainStatus::InProgressSupport],
            StatusFilter::ActionRequired => vec![DomainStatus::ActionRequired],
            StatusFilter::SolutionOffered => vec![DomainStatus::SolutionOffered],
            StatusFilter::Closed => vec![DomainStatus::Closed],
        }
    }
}

/// The order of a case list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema, Default)]
pub enum OrderBy {
    /// Most recently updated first (the default).
    #[default]
    #[serde(rename = "update_time desc")]
    UpdateTimeDesc,
    /// Most recently created first.
    #[serde(rename = "create_time desc")]
    CreateTimeDesc,
    /// Most severe first, then most recently updated.
    #[serde(rename = "severity")]
    Severity,
    /// The first reply due soonest first; cases without a target last.
    #[serde(rename = "first_response_due_time")]
    FirstResponseDueTime,
}

/// Filters shared by every case list.
#[derive(Debug, Clone, Default)]
pub struct CaseFilters {
    /// Only this customer's.
    pub customer: Option<CustomerId>,
    /// Keywords.
    pub q: Option<String>,
    /// Statuses.
    pub status: Vec<StatusFilter>,
    /// Severities.
    pub severity: Vec<wire::Severity>,
    /// Updated after.
    pub updated_after: Option<OffsetDateTime>,
    /// Where the first-response target stands.
    pub service_level: Option<ServiceLevelStateView>,
    /// Order.
    pub order_by: OrderBy,
}

/// Declares a case list's query: the fields given, then the filters every case list takes,
/// then the page fields; and `filters_for`, the filters with the customer decided.
macro_rules! case_list_query {
    ($(#[$meta:meta])* $name:ident { $($fields:tt)* }) => {
        list_query! {
            $(#[$meta])*
            #[derive(Debug, Deserialize, IntoParams)]
            #[into_params(parameter_in = Query)]
            pub struct $name {
                $($fields)*
                /// Keywords that must all appear (as word prefixes) in the title, description or comments.
                #[param(value_type = Option<crate::wire::text::Keywords>)]
                pub q: Option<String>,
                /// Only cases in these statuses (repeatable); `open` means any but `closed`.
                #[serde(default)]
                #[param(value_type = Option<Vec<StatusFilter>>, explode, style = Form)]
                pub status: Vec<StatusFilter>,
                /// Only cases of these severities (repeatable).
                #[serde(default)]
                #[param(value_type = Option<Vec<wire::Severity>>, explode, style = Form)]
                pub severity: Vec<wire::Severity>,
                /// Only cases updated after this time (RFC 3339).
                #[serde(default, with = "wire::timestamp::option")]
                #[param(value_type = Option<String>, format = DateTime)]
                pub updated_after: Option<OffsetDateTime>,
                /// Only cases whose first-response target is `running`, `met` or `breached`.
                #[param(value_type = Option<ServiceLevelStateView>)]
                pub service_level: Option<ServiceLevelStateView>,
                /// `update_time desc` (default), `create_time desc`, `severity` or
                /// `first_response_due_time` (soonest first, cases without a target last).
                #[param(value_type = Option<OrderBy>)]
                pub order_by: Option<OrderBy>,
            }
        }

        impl $name {
            /// The filters, for `customer`'s cases only or (`None`) for every customer's.
            pub fn filters_for(&self, customer: Option<CustomerId>) -> CaseFilters {
                CaseFilters {
                    customer,
                    q: self.q.clone(),
                    status: self.status.clone(),
                    severity: self.severity.clone(),
                    updated_after: self.updated_after,
                    service_level: self.service_level,
                    order_by: self.order_by.unwrap_or_default(),
                }
            }
        }
    };
}

case_list_query! {
    /// Query of a case list.
    ListCasesQuery {
        /// Only this customer's cases.
        #[param(value_type = Option<crate::wire::text::Id>)]
        pub customer_id: Option<String>,
    }
}

impl ListCasesQuery {
    /// The filters, with the customer id parsed.
    pub fn filters(&self) -> Result<CaseFilters, ApiError> {
        let customer = self
            .customer_id
            .as_deref()
            .map(|raw| {
                raw.parse::<CustomerId>().map_err(|e| {
                    ApiError::invalid_query_parameter("customer_id", e.code, &e.message)
                })
            })
            .transpose()?;
        Ok(self.filters_for(customer))
    }
}

case_list_query! {
    /// Query of one customer's case list.
    CustomerCasesQuery {}
}

list_response! {
    /// A page of cases.
    ListCasesResponse {
        /// The cases, in the requested order.
        cases: Case,
        total_size: "How many cases match, over all pages.",
    }
}

/// About how many bytes a case takes as JSON, to size a page's buffer.
const CASE_JSON_BYTES: usize = 1_536;

impl ListCasesResponse {
    /// The page as a `200 OK` answer, serialised into a buffer sized for it at once (actix's
    /// `json` starts from an empty `String` that doubles as it fills: a dozen copies of a page
    /// of ten cases).
    pub fn response(&self) -> Result<HttpResponse, ApiError> {
        let body = json_body(self, CASE_JSON_BYTES * (self.cases.len() + 1))?;
        Ok(HttpResponse::Ok()
            .insert_header(header::ContentType::json())
            .body(body))
    }
}

/// Who wrote a comment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommentAuthor {
    /// The user's id.
    pub user_id: Option<String>,
    /// Their email.
    pub email: String,
    /// Their domain.
    pub domain: Option<String>,
    /// `partner`, `customer` or `support`.
    #[schema(example = "partner")]
    pub party: String,
}

/// A comment in a case's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Comment {
    /// Id.
    pub id: String,
    /// The text.
    pub body: String,
    /// Who wrote it.
    pub author: CommentAuthor,
    /// When.
    #[serde(with = "crate::wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub create_time: OffsetDateTime,
}

/// The wire name of a party.
pub fn party_name(p: Party) -> &'static str {
    match p {
        Party::Partner => "partner",
        Party::Customer => "customer",
        Party::Support => "support",
    }
}

impl Comment {
    /// The comment as answered, its author's domain named.
    pub fn of(c: &CommentRecord, domain: Option<String>) -> Self {
        Comment {
            id: c.id.to_string(),
            body: c.body.clone(),
            author: CommentAuthor {
                user_id: c.author_user_id.map(|u| u.to_string()),
                email: c.author_email.clone(),
                domain,
                party: party_name(c.author_party).to_owned(),
            },
            create_time: c.create_time,
        }
    }
}

/// A new comment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCommentRequest {
    /// The text: 1 to 12,800 characters, no personal data.
    #[schema(value_type = crate::wire::text::CommentText)]
    pub body: String,
}

impl CreateCommentRequest {
    /// The comment's text, parsed.
    pub fn text(&self) -> Result<CommentBody, ApiError> {
        let mut p = FieldParser::new();
        let text = p.field("body", CommentBody::parse(&self.body));
        Ok(p.finish(|| text)?)
    }
}

impl From<OrderBy> for CaseOrder {
    fn from(o: OrderBy) -> Self {
        match o {
            OrderBy::UpdateTimeDesc => CaseOrder::UpdateTimeDesc,
            OrderBy::CreateTimeDesc => CaseOrder::CreateTimeDesc,
            OrderBy::Severity => CaseOrder::Severity,
            OrderBy::FirstResponseDueTime => CaseOrder::FirstResponseDue,
        }
    }
}

/// Who uploaded an attachment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Uploader {
    /// The user's id.
    pub user_id: Option<String>,
    /// Their email.
    pub email: String,
    /// Their domain.
    pub domain: Option<String>,
    /// `partner`, `customer` or `support`.
    pub party: String,
}

/// A file attached to a case.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Attachment {
    /// Id.
    pub id: String,
    /// The file's name, made safe.
    pub filename: String,
    /// The content type, as read from the bytes.
    #[schema(example = "image/png")]
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    /// Who uploaded it.
    pub uploader: Uploader,
    /// When.
    #[serde(with = "crate::wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub create_time: OffsetDateTime,
}

impl Attachment {
    /// The attachment as answered, its uploader's domain named.
    pub fn of(a: &AttachmentRecord, domain: Option<String>) -> Self {
        Attachment {
            id: a.id.to_string(),
            filename: a.filename.clone(),
            content_type: a.content_type.clone(),
            size_bytes: a.size_bytes,
            sha256: a.sha256.clone(),
            uploader: Uploader {
                user_id: a.uploader_user_id.map(|u| u.to_string()),
                email: a.uploader_email.clone(),
                domain,
                party: party_name(a.uploader_party).to_owned(),
            },
            create_time: a.create_time,
        }
    }
}

/// Who did something.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventActor {
    /// The user's id, when a user acted.
    pub user_id: Option<String>,
    /// Their email.
    pub email: Option<String>,
    /// Their domain.
    pub domain: Option<String>,
}

/// One entry of a case's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseEvent {
    /// Id.
    pub id: String,
    /// When.
    #[serde(with = "wire::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub time: OffsetDateTime,
    /// What, e.g. `case.created`, `case.commented`, `case.status_changed`.
    #[schema(example = "case.escalated")]
    pub action: String,
    /// Who.
    pub actor: EventActor,
    /// Details of the change.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

impl CaseEvent {
    /// The timeline entry of a recorded event, its actor's domain named from `names`.
    pub fn of(e: EventRecord, names: &HashMap<DomainId, String>) -> Self {
        CaseEvent {
            id: e.id.to_string(),
            time: e.time,
            action: e.action,
            actor: EventActor {
                user_id: e.actor.user_id.map(|u| u.to_string()),
                email: e.actor.email,
                domain: e.actor.domain_id.and_then(|d| names.get(&d).cloned()),
            },
            details: e.details,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// sonic-rs writes cases and pages of cases exactly as serde_json, which writes every
    /// other answer: every field kind, strings with every character that is escaped (and
    /// some that are not), numbers at their limits, absent optional fields.
    #[test]
    fn sonic_rs_writes_a_page_of_cases_byte_for_byte_as_serde_json() {
        let controls: String = (0_u8..0x20).map(char::from).collect();
        let awkward = format!("{controls}\"\\/<>&'\u{7f}é\u{2028}\u{2029}\u{1F600}\u{FFFF}");
        let time = time::macros::datetime!(2026-12-03 18:30:00.123456 UTC);
        let full = Case {
            id: awkward.clone(),
            case_number: i64::MAX,
            customer_id: String::new(),
            product_type: wire::ProductType::GoogleWorkspace,
            title: awkward.clone(),
            classification: ClassificationRef {
                id: "c".into(),
                display_name: awkward.clone(),
            },
            description: awkward.repeat(40),
            answers: BTreeMap::from([(awkward.clone(), awkward.clone()), ("a".into(), "".into())]),
            severity: wire::Severity::P1,
            status: wire::CaseStatus::InProgressSupport,
            escalated: true,
            escalation: Some(EscalationView {
                reason: wire::EscalationReason::BusinessImpact,
                justification: awkward.clone(),
                time,
            }),
            language_code: "en-US".into(),
            time_zone: "America/New_York".into(),
            subscriber_emails: vec![awkward.clone(), "b@example.com".into()],
            creator: Creator {
                user_id: Some(awkward.clone()),
                email: awkward.clone(),
                domain: awkward.clone(),
            },
            reseller_domain: awkward.clone(),
            create_time: time,
            update_time: time::macros::datetime!(1970-01-01 00:00:00 UTC),
            close_time: Some(time),
            follow_up_of: Some(awkward.clone()),
            service_level: Some(ServiceLevelView {
                first_response_target_minutes: u32::MAX,
                hours: ServiceLevelHours::TwentyFourSeven,
                first_response_due_time: time,
                first_responded_time: None,
                state: ServiceLevelStateView::Breached,
            }),
        };
        let bare = Case {
            case_number: i64::MIN,
            escalated: false,
            escalation: None,
            close_time: None,
            follow_up_of: None,
            service_level: None,
            answers: BTreeMap::new(),
            subscriber_emails: Vec::new(),
            creator: Creator {
                user_id: None,
                email: String::new(),
                domain: String::new(),
            },
            ..full.clone()
        };
        let page = ListCasesResponse {
            cases: vec![full.clone(), bare],
            next_page_token: awkward,
            total_size: u64::MAX,
        };
        let by_serde_json = serde_json::to_vec(&page).unwrap();
        assert_eq!(
            String::from_utf8(page.response().map(body_of).unwrap()).unwrap(),
            String::from_utf8(by_serde_json).unwrap()
        );
        assert_eq!(
            json_body(&full, 0).ok(),
            serde_json::to_vec(&full).ok(),
            "a single case"
        );
    }

    fn body_of(response: HttpResponse) -> Vec<u8> {
        use actix_web::body::MessageBody;
        response.into_body().try_into_bytes().unwrap().to_vec()
    }
}
