//! The error model: RFC 9457 `application/problem+json` with a stable `code`.
//!
//! [`ErrorCode`] is the one table of every code the API returns, with its HTTP status and
//! title. The domain decides *which* refusal (its errors carry their code); this module alone
//! decides how each is answered over HTTP.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use casebridge_domain::{DomainError, PORTAL_ACCESS_SUPPORT_REFERENCE};
use casebridge_persistence::PersistenceError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::jwt::TokenError;
use crate::auth::throttle::Limit;

macro_rules! error_codes {
    ($($variant:ident => ($code:literal, $status:ident, $title:literal)),+ $(,)?) => {
        /// Every problem code the API returns. The wire form is the snake_case code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $(
                #[doc = $title]
                $variant,
            )+
        }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            /// The stable snake_case code.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code),+ }
            }

            /// The HTTP status the code is answered with.
            pub fn status(self) -> StatusCode {
                match self { $(ErrorCode::$variant => StatusCode::$status),+ }
            }

            /// A short, human-readable summary that does not change between occurrences.
            pub fn title(self) -> &'static str {
                match self { $(ErrorCode::$variant => $title),+ }
            }
        }
    };
}

error_codes! {
    // 400
    BadRequest => ("bad_request", BAD_REQUEST, "The request is malformed"),
    MalformedJson => ("malformed_json", BAD_REQUEST, "The request body is not valid JSON"),
    InvalidQueryParameter => ("invalid_query_parameter", BAD_REQUEST, "A query parameter is invalid"),
    InvalidPathParameter => ("invalid_path_parameter", BAD_REQUEST, "A path parameter is invalid"),
    InvalidHeader => ("invalid_header", BAD_REQUEST, "A request header is invalid"),
    InvalidPageToken => ("invalid_page_token", BAD_REQUEST, "The page token is invalid or belongs to another query"),
    // 401
    Unauthenticated => ("unauthenticated", UNAUTHORIZED, "Authentication is required"),
    InvalidCredentials => ("invalid_credentials", UNAUTHORIZED, "The credentials are not valid"),
    // 403
    PortalAccessRequired => ("portal_access_required", FORBIDDEN, "Portal access is required"),
    PrivilegeRequired => ("privilege_required", FORBIDDEN, "A privilege is required"),
    SuperAdminRequired => ("super_admin_required", FORBIDDEN, "Only a super admin may do this"),
    WrongRealm => ("wrong_realm", FORBIDDEN, "This endpoint is for users of another kind of domain"),
    LegacySupportCenterRetired => ("legacy_support_center_retired", FORBIDDEN, "The old support center is retired"),
    ResellerAccessNotGranted => ("reseller_access_not_granted", FORBIDDEN, "The customer has not granted its reseller access"),
    EscalationRequiresPremiumSupport => ("escalation_requires_premium_support", FORBIDDEN, "Escalation requires premium support"),
    AttachmentRemovalRequiresSupport => ("attachment_removal_requires_support", FORBIDDEN, "Only support can remove attachments"),
    ActionNotAllowed => ("action_not_allowed", FORBIDDEN, "This action is not allowed to you on this case"),
    AccountSuspended => ("account_suspended", FORBIDDEN, "The account is suspended"),
    CurrentPasswordRequired => ("current_password_required", FORBIDDEN, "Change your own password with POST /v1/me/password"),
    PasswordChangeRequired => ("password_change_required", FORBIDDEN, "Change your one-time password with POST /v1/me/password first"),
    // 404, 405
    NotFound => ("not_found", NOT_FOUND, "The resource does not exist"),
    MethodNotAllowed => ("method_not_allowed", METHOD_NOT_ALLOWED, "The method is not allowed on this resource"),
    // 409
    Conflict => ("conflict", CONFLICT, "The request conflicts with the current state"),
    DomainExists => ("domain_exists", CONFLICT, "The domain already exists"),
    UserExists => ("user_exists", CONFLICT, "A user with this email already exists in the domain"),
    RoleExists => ("role_exists", CONFLICT, "A role with this name already exists in the domain"),
    CustomerExists => ("customer_exists", CONFLICT, "A customer already exists for this domain"),
    SupportPartnerExists => ("support_partner_exists", CONFLICT, "The domain already is a support partner"),
    LastSuperAdmin => ("last_super_admin", CONFLICT, "The domain must keep at least one active super admin"),
    CannotSuspendSelf => ("cannot_suspend_self", CONFLICT, "You cannot suspend your own account"),
    BuiltInRole => ("built_in_role", CONFLICT, "Built-in roles cannot be deleted"),
    SupportPartnerIsReseller => ("support_partner_is_reseller", CONFLICT, "The reseller cannot also be a support partner"),
    TransferToSameReseller => ("transfer_to_same_reseller", CONFLICT, "The customer already belongs to that reseller"),
    IdempotencyKeyReused => ("idempotency_key_reused", CONFLICT, "The idempotency key was used with another request"),
    IdempotencyKeyInUse => ("idempotency_key_in_use", CONFLICT, "A request with this idempotency key is still being processed"),
    InvalidStatusTransition => ("invalid_status_transition", CONFLICT, "The case cannot move to that status"),
    CaseClosed => ("case_closed", CONFLICT, "The case is closed"),
    CaseNotClosed => ("case_not_closed", CONFLICT, "The case is not closed"),
    ReopenWindowExpired => ("reopen_window_expired", CONFLICT, "The case was closed more than 30 days ago"),
    AlreadyEscalated => ("already_escalated", CONFLICT, "The case is already escalated"),
    NotEscalated => ("not_escalated", CONFLICT, "The case is not escalated"),
    AttachmentLimitReached => ("attachment_limit_reached", CONFLICT, "The case holds as many attachments as it may"),
    WebhookLimitReached => ("webhook_limit_reached", CONFLICT, "The domain has as many webhook endpoints as it may"),
    WebhookDisabled => ("webhook_disabled", CONFLICT, "The webhook endpoint is disabled"),
    // 412, 413, 415
    PreconditionFailed => ("precondition_failed", PRECONDITION_FAILED, "The resource changed since it was read"),
    PayloadTooLarge => ("payload_too_large", PAYLOAD_TOO_LARGE, "The request body is too large"),
    AttachmentTooLarge => ("attachment_too_large", PAYLOAD_TOO_LARGE, "The attachment is too large"),
    UnsupportedMediaType => ("unsupported_media_type", UNSUPPORTED_MEDIA_TYPE, "The request body's content type is not supported"),
    // 422
    InvalidRequest => ("invalid_request", UNPROCESSABLE_ENTITY, "The request has invalid fields"),
    RequiredAnswerMissing => ("required_answer_missing", UNPROCESSABLE_ENTITY, "Required questions are unanswered"),
    UnknownQuestion => ("unknown_question", UNPROCESSABLE_ENTITY, "Answers were given to questions the category does not ask"),
    PiiDetected => ("pii_detected", UNPROCESSABLE_ENTITY, "Personal data was found"),
    RoleRetired => ("role_retired", UNPROCESSABLE_ENTITY, "The role is retired and cannot be assigned"),
    RoleNotAvailableInRealm => ("role_not_available_in_realm", UNPROCESSABLE_ENTITY, "The role is not available in this kind of domain"),
    ConsumerAccountNotAllowed => ("consumer_account_not_allowed", UNPROCESSABLE_ENTITY, "A super admin cannot use a consumer email account"),
    EmailDomainMismatch => ("email_domain_mismatch", UNPROCESSABLE_ENTITY, "The email address does not belong to the domain"),
    FollowUpRequiresClosedCase => ("follow_up_requires_closed_case", UNPROCESSABLE_ENTITY, "Only a closed case can be followed up"),
    WebhookUrlRefused => ("webhook_url_refused", UNPROCESSABLE_ENTITY, "The webhook URL is not a public https address"),
    // 429
    TooManyRequests => ("too_many_requests", TOO_MANY_REQUESTS, "Too many requests"),
    // 5xx
    Internal => ("internal", INTERNAL_SERVER_ERROR, "Something went wrong on our side"),
    ServiceUnavailable => ("service_unavailable", SERVICE_UNAVAILABLE, "The service is temporarily unavailable"),
}

impl ErrorCode {
    /// The code a domain refusal is answered with.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.as_str() == code)
    }

    /// The problem `type` URI: documentation of the code, served by the service itself.
    pub fn type_uri(self) -> String {
        format!("/problems/{}", self.as_str())
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `RateLimit-Policy` response field: the quota and window of a throttle.
pub const RATELIMIT_POLICY: &str = "ratelimit-policy";
/// The `RateLimit` response field: what remains of the quota and when it resets.
pub const RATELIMIT: &str = "ratelimit";

/// A throttle as a throttled answer names it: a stable name (a structured-field string of
/// lower-case letters and dashes) and its limit.
#[derive(Debug, Clone, Copy)]
pub struct RatePolicy {
    /// The policy's name, e.g. `sign-in-account`.
    pub name: &'static str,
    /// How many are allowed within which window.
    pub limit: Limit,
}

/// One refused field of a request.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldIssue {
    /// The field's path in the request, e.g. `answers.bounce_message`.
    #[schema(example = "title")]
    pub field: String,
    /// Why, as a stable snake_case code, e.g. `too_long` or, for personal data, its kind.
    #[schema(example = "too_long")]
    pub code: String,
    /// What a valid value looks like.
    pub message: String,
}

/// An RFC 9457 problem.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference identifying the problem type; it documents the code.
    #[schema(example = "/problems/not_found")]
    pub r#type: String,
    /// Short summary of the problem type.
    pub title: String,
    /// The HTTP status.
    #[schema(example = 404)]
    pub status: u16,
    /// What went wrong this time.
    pub detail: String,
    /// Stable snake_case code; see the `ErrorCode` schema for every value.
    #[schema(value_type = ErrorCodeSchema)]
    pub code: String,
    /// The refused fields, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldIssue>,
    /// For `portal_access_required`: the privileges the user lacks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_privileges: Option<Vec<String>>,
    /// For `portal_access_required`: the reference to quote to support.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "177584086")]
    pub support_reference: Option<String>,
}

/// Every stable problem code (the `code` member of a problem).
pub struct ErrorCodeSchema;

impl utoipa::PartialSchema for ErrorCodeSchema {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .enum_values(Some(codes))
            .description(Some("Stable snake_case problem code."))
            .into()
    }
}

impl utoipa::ToSchema for ErrorCodeSchema {
    fn name() -> std::borrow::Cow<'static, str> {
        "ErrorCode".into()
    }
}

/// An error on its way to becoming a problem response (boxed: errors travel in every
/// `Result` of a request path and should cost a pointer).
#[derive(Debug)]
pub struct ApiError(Box<Inner>);

#[derive(Debug)]
struct Inner {
    code: ErrorCode,
    detail: String,
    errors: Vec<FieldIssue>,
    missing_privileges: Option<Vec<String>>,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// What the log hears about a server-side failure; never sent to the client.
    internal: Option<String>,
    /// The database aborted the transaction to resolve contention: running it again is safe.
    contention: bool,
}

impl ApiError {
    /// A problem with a code and a detail for the client.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            code,
            detail: detail.into(),
            errors: Vec::new(),
            missing_privileges: None,
            headers: Vec::new(),
            internal: None,
            contention: false,
        }))
    }

    /// A server-side failure: the client hears nothing of `cause`, the log hears all.
    pub fn internal(cause: impl fmt::Display) -> Self {
        let mut e = Self::new(
            ErrorCode::Internal,
            "The request could not be completed. Try again later; quote the X-Request-Id header when you contact support.",
        );
        e.0.internal = Some(cause.to_string());
        e
    }

    /// `401 unauthenticated`, with the challenge the client should answer.
    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthenticated, detail).with_header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"casebridge\""),
        )
    }

    /// `404 not_found`.
    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound, "The resource does not exist.")
    }

    /// `429 too_many_requests`, asking the client to wait: `Retry-After`, and the IETF
    /// `RateLimit-Policy` and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers) naming
    /// the policy that was exceeded, its quota and window, nothing remaining, and the wait.
    pub fn too_many_requests(
        detail: impl Into<String>,
        policy: RatePolicy,
        retry_after_secs: u64,
    ) -> Self {
        let secs = retry_after_secs.max(1);
        let name = policy.name;
        let fields = [
            (header::RETRY_AFTER, secs.to_string()),
            (
                HeaderName::from_static(RATELIMIT_POLICY),
                format!(
                    "\"{name}\";q={};w={}",
                    policy.limit.max_failures,
                    policy.limit.window.whole_seconds().max(1)
                ),
            ),
            (
                HeaderName::from_static(RATELIMIT),
                format!("\"{name}\";r=0;t={secs}"),
            ),
        ];
        fields.into_iter().fold(
            Self::new(ErrorCode::TooManyRequests, detail),
            |e, (n, v)| match HeaderValue::from_str(&v) {
                Ok(v) => e.with_header(n, v),
                Err(_) => e,
            },
        )
    }

    /// A problem about one field: `detail` for people, the field's issue for programs.
    pub fn one_field(
        code: ErrorCode,
        detail: impl Into<String>,
        field: impl Into<String>,
        issue: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(code, detail).with_errors(vec![FieldIssue {
            field: field.into(),
            code: issue.into(),
            message: message.into(),
        }])
    }

    /// `422 invalid_request` refusing one field of the body.
    pub fn invalid_field(field: &str, issue: impl Into<String>, message: &str) -> Self {
        Self::one_field(
            ErrorCode::InvalidRequest,
            format!("The field {field} is invalid: {message}."),
            field,
            issue,
            message,
        )
    }

    /// `400 invalid_query_parameter` refusing one query parameter.
    pub fn invalid_query_parameter(field: &str, issue: impl Into<String>, message: &str) -> Self {
        Self::one_field(
            ErrorCode::InvalidQueryParameter,
            format!("The query parameter {field} is invalid: {message}."),
            field,
            issue,
            message,
        )
    }

    /// `400 invalid_path_parameter` refusing one path parameter.
    pub fn invalid_path_parameter(field: &str, issue: impl Into<String>, message: &str) -> Self {
        Self::one_field(
            ErrorCode::InvalidPathParameter,
            format!("The path parameter {field} is invalid: {message}."),
            field,
            issue,
            message,
        )
    }

    /// A unique key that already holds a value answered as `code`; any other failure as it is.
    pub fn conflict_as(
        err: casebridge_persistence::PersistenceError,
        code: ErrorCode,
        detail: &str,
    ) -> Self {
        if err.is_conflict() {
            Self::new(code, detail)
        } else {
            err.into()
        }
    }

    /// Adds field issues.
    pub fn with_errors(mut self, errors: Vec<FieldIssue>) -> Self {
        self.0.errors = errors;
        self
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.0.headers.push((name, value));
        self
    }

    /// Whether the database aborted the transaction to resolve contention (a deadlock or a
    /// serialisation failure): the whole transaction may run again.
    pub fn is_contention(&self) -> bool {
        self.0.contention
    }

    /// The problem's code.
    pub fn code(&self) -> ErrorCode {
        self.0.code
    }

    /// The problem body.
    pub fn problem(&self) -> Problem {
        let server_side = self.0.code.status().is_server_error();
        Problem {
            r#type: self.0.code.type_uri(),
            title: self.0.code.title().to_owned(),
            status: self.0.code.status().as_u16(),
            detail: self.0.detail.clone(),
            code: self.0.code.as_str().to_owned(),
            errors: if server_side {
                Vec::new()
            } else {
                self.0.errors.clone()
            },
            support_reference: self
                .0
                .missing_privileges
                .as_ref()
                .map(|_| PORTAL_ACCESS_SUPPORT_REFERENCE.to_owned()),
            missing_privileges: self.0.missing_privileges.clone(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.0.code, self.0.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(cause) = &self.0.internal {
            tracing::error!(code = %self.0.code, cause = %cause, "request failed");
        } else if self.0.code.status().is_server_error() {
            tracing::error!(code = %self.0.code, detail = %self.0.detail, "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        for (name, value) in &self.0.headers {
            response.insert_header((name.clone(), value.clone()));
        }
        response.json(self.problem())
    }
}

/// The code a domain refusal is answered with: one arm per refusal and no catch-all, so a new
/// refusal does not compile until it is given its code here.
fn code_of(err: &DomainError) -> ErrorCode {
    match err {
        DomainError::InvalidFields(_) => ErrorCode::InvalidRequest,
        DomainError::NotFound => ErrorCode::NotFound,
        DomainError::PortalAccessRequired { .. } => ErrorCode::PortalAccessRequired,
        DomainError::PrivilegeRequired { .. } => ErrorCode::PrivilegeRequired,
        DomainError::SuperAdminRequired => ErrorCode::SuperAdminRequired,
        DomainError::WrongRealm { .. } => ErrorCode::WrongRealm,
        DomainError::RoleRetired => ErrorCode::RoleRetired,
        DomainError::RoleNotAvailableInRealm => ErrorCode::RoleNotAvailableInRealm,
        DomainError::ConsumerAccountNotAllowed => ErrorCode::ConsumerAccountNotAllowed,
        DomainError::EmailDomainMismatch => ErrorCode::EmailDomainMismatch,
        DomainError::LastSuperAdmin => ErrorCode::LastSuperAdmin,
        DomainError::CannotSuspendSelf => ErrorCode::CannotSuspendSelf,
        DomainError::CurrentPasswordRequired => ErrorCode::CurrentPasswordRequired,
        DomainError::PasswordChangeRequired => ErrorCode::PasswordChangeRequired,
        DomainError::BuiltInRole => ErrorCode::BuiltInRole,
        DomainError::LegacySupportCenterRetired => ErrorCode::LegacySupportCenterRetired,
        DomainError::ResellerAccessNotGranted => ErrorCode::ResellerAccessNotGranted,
        DomainError::SupportPartnerIsReseller => ErrorCode::SupportPartnerIsReseller,
        DomainError::SupportPartnerExists => ErrorCode::SupportPartnerExists,
        DomainError::TransferToSameReseller => ErrorCode::TransferToSameReseller,
        DomainError::InvalidStatusTransition { .. } => ErrorCode::InvalidStatusTransition,
        DomainError::CaseClosed => ErrorCode::CaseClosed,
        DomainError::CaseNotClosed => ErrorCode::CaseNotClosed,
        DomainError::ReopenWindowExpired => ErrorCode::ReopenWindowExpired,
        DomainError::EscalationRequiresPremiumSupport => {
            ErrorCode::EscalationRequiresPremiumSupport
        }
        DomainError::AlreadyEscalated => ErrorCode::AlreadyEscalated,
        DomainError::NotEscalated => ErrorCode::NotEscalated,
        DomainError::ActionNotAllowed => ErrorCode::ActionNotAllowed,
        DomainError::AttachmentLimitReached => ErrorCode::AttachmentLimitReached,
        DomainError::AttachmentRemovalRequiresSupport => {
            ErrorCode::AttachmentRemovalRequiresSupport
        }
        DomainError::FollowUpRequiresClosedCase => ErrorCode::FollowUpRequiresClosedCase,
        DomainError::RequiredAnswerMissing { .. } => ErrorCode::RequiredAnswerMissing,
        DomainError::UnknownQuestion { .. } => ErrorCode::UnknownQuestion,
        DomainError::PiiDetected(_) => ErrorCode::PiiDetected,
    }
}

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        let mut api = ApiError::new(code_of(&err), detail_of(&err));
        match err {
            DomainError::InvalidFields(fields) => {
                api.0.errors = fields
                    .into_iter()
                    .map(|f| FieldIssue {
                        field: f.field,
                        code: f.error.code.to_owned(),
                        message: f.error.message,
                    })
                    .collect();
            }
            DomainError::PiiDetected(findings) => {
                api.0.errors = findings
                    .into_iter()
                    .map(|f| FieldIssue {
                        field: f.field,
                        code: f.kind.as_str().to_owned(),
                        message: format!(
                            "contains personal data ({}); remove it before filing",
                            f.kind.as_str().replace('_', " ")
                        ),
                    })
                    .collect();
            }
            DomainError::RequiredAnswerMissing { question_ids } => {
                api.0.errors = question_ids
                    .into_iter()
                    .map(|q| FieldIssue {
                        field: format!("answers.{q}"),
                        code: "required".to_owned(),
                        message: "this question must be answered".to_owned(),
                    })
                    .collect();
            }
            DomainError::UnknownQuestion { question_ids } => {
                api.0.errors = question_ids
                    .into_iter()
                    .map(|q| FieldIssue {
                        field: format!("answers.{q}"),
                        code: "unknown_question".to_owned(),
                        message: "the category asks no such question".to_owned(),
                    })
                    .collect();
            }
            DomainError::PortalAccessRequired { missing } => {
                api.0.missing_privileges =
                    Some(missing.iter().map(|p| p.as_str().to_owned()).collect());
            }
            _ => {}
        }
        api
    }
}

/// The sentence a client reads for a domain refusal.
fn detail_of(err: &DomainError) -> String {
    match err {
        DomainError::PortalAccessRequired { missing } => {
            let names: Vec<&str> = missing.iter().map(|p| p.as_str()).collect();
            format!(
                "Your account lacks the privileges {} needed for the partner portal. Ask a super admin of your domain to grant them, quoting support reference {}.",
                names.join(", "),
                PORTAL_ACCESS_SUPPORT_REFERENCE
            )
        }
        DomainError::LegacySupportCenterRetired => "The old support center is retired. Its case and customer pages now live in the partner API; your account lacks the view_customers and access_customer_support_cases privileges needed there.".to_owned(),
        DomainError::ReopenWindowExpired => "The case was closed more than 30 days ago and can no longer be reopened; file a new case with follow_up_of set to this case.".to_owned(),
        DomainError::NotFound => "The resource does not exist.".to_owned(),
        other => {
            let mut s = other.to_string();
            if let Some(first) = s.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            s.push('.');
            s
        }
    }
}

impl From<PersistenceError> for ApiError {
    fn from(err: PersistenceError) -> Self {
        match err {
            PersistenceError::NotFound => ApiError::not_found(),
            PersistenceError::Rule(e) => e.into(),
            PersistenceError::Conflict(_) => ApiError::new(
                ErrorCode::Conflict,
                "The request conflicts with data that already exists.",
            ),
            PersistenceError::StaleWrite => ApiError::new(
                ErrorCode::PreconditionFailed,
                "The resource was changed by someone else; read it again and retry.",
            ),
            PersistenceError::Contention(cause) => {
                // Retried inside the service first (`crate::retry`); a client only hears this
                // when contention outlasted every retry.
                let mut e = ApiError::new(
                    ErrorCode::ServiceUnavailable,
                    "The service is busy with concurrent changes to the same data. Try again shortly.",
                );
                e.0.internal = Some(cause);
                e.0.contention = true;
                e.with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
            }
            PersistenceError::Unavailable(cause) => {
                let mut e = ApiError::new(
                    ErrorCode::ServiceUnavailable,
                    "The service is temporarily unavailable. Try again shortly.",
                );
                e.0.internal = Some(cause);
                e.with_header(header::RETRY_AFTER, HeaderValue::from_static("5"))
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(err: TokenError) -> Self {
        tracing::info!(reason = %err, "token refused");
        ApiError::unauthenticated("The access token is missing, invalid, expired or revoked.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_distinct_snake_case_and_a_client_or_server_error() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "{c} twice");
            assert!(
                c.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_')
            );
            assert!(c.status().is_client_error() || c.status().is_server_error());
        }
    }

    #[test]
    fn the_contract_s_codes_have_the_contract_s_statuses() {
        let expected = [
            ("unauthenticated", 401),
            ("invalid_credentials", 401),
            ("portal_access_required", 403),
            ("reseller_access_not_granted", 403),
            ("escalation_requires_premium_support", 403),
            ("attachment_removal_requires_support", 403),
            ("legacy_support_center_retired", 403),
            ("password_change_required", 403),
            ("not_found", 404),
            ("domain_exists", 409),
            ("idempotency_key_reused", 409),
            ("reopen_window_expired", 409),
            ("case_closed", 409),
            ("already_escalated", 409),
            ("precondition_failed", 412),
            ("attachment_too_large", 413),
            ("invalid_page_token", 400),
            ("required_answer_missing", 422),
            ("pii_detected", 422),
            ("role_retired", 422),
            ("consumer_account_not_allowed", 422),
            ("too_many_requests", 429),
        ];
        for (code, status) in expected {
            let c = ErrorCode::from_code(code).unwrap_or_else(|| panic!("{code} missing"));
            assert_eq!(c.status().as_u16(), status, "{code}");
        }
    }

    #[test]
    fn a_throttled_answer_names_its_policy_quota_window_and_wait() {
        let policy = RatePolicy {
            name: "sign-in-account",
            limit: Limit {
                max_failures: 5,
                window: time::Duration::minutes(15),
            },
        };
        let res = ApiError::too_many_requests("slow down", policy, 42).error_response();
        let field = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        assert_eq!(res.status().as_u16(), 429);
        assert_eq!(field("retry-after").as_deref(), Some("42"));
        assert_eq!(
            field("ratelimit-policy").as_deref(),
            Some("\"sign-in-account\";q=5;w=900")
        );
        assert_eq!(
            field("ratelimit").as_deref(),
            Some("\"sign-in-account\";r=0;t=42")
        );
    }

    #[test]
    fn a_server_error_tells_the_client_nothing_of_its_cause() {
        let e = ApiError::internal("connection string postgres://secret@db failed");
        let body = serde_json::to_string(&e.problem()).expect("a problem serialises");
        assert!(body.contains("\"code\":\"internal\""), "{body}");
        assert!(!body.contains("secret"));
        assert_eq!(e.code().status().as_u16(), 500);
    }
}
