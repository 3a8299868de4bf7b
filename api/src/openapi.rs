//! The OpenAPI document, generated from the code: every handler's `#[utoipa::path]`, collected
//! from the same `configure` functions that register the routes, so the two cannot drift.

use actix_web::App;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as OpenApiDoc, Ref, RefOr};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::problem::{ErrorCode, ErrorCodeSchema, FieldIssue, Problem};
use crate::routes;

/// The document's fixed parts; paths come from the routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "casebridge",
        description = "File and manage support cases on your customers' behalf.\n\n\
            Sign in to one domain with `POST /v1/auth/token` and send the token as \
            `Authorization: Bearer <token>`. Errors are `application/problem+json` (RFC 9457) \
            with a stable `code`; see the `ErrorCode` schema for every value.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    components(schemas(
        Problem,
        FieldIssue,
        ErrorCodeSchema,
        crate::routes::cases::OrderBy,
        crate::routes::cases::StatusFilter,
        crate::wire::Severity,
        // Schemas that parameters name by reference; bodies register theirs themselves.
        crate::wire::text::Title,
        crate::wire::text::DescriptionText,
        crate::wire::text::CommentText,
        crate::wire::text::AnswerText,
        crate::wire::text::JustificationText,
        crate::wire::text::NameText,
        crate::wire::text::RoleNameText,
        crate::wire::text::ShortLine,
        crate::wire::text::Email,
        crate::wire::text::DomainNameText,
        crate::wire::text::LanguageTag,
        crate::wire::text::TimeZoneName,
        crate::wire::text::OrgUnit,
        crate::wire::text::Phone,
        crate::wire::text::Country,
        crate::wire::text::NewPassword,
        crate::wire::text::RoleId,
        crate::wire::text::Id,
        crate::wire::text::PageToken,
        crate::wire::text::Keywords,
        crate::wire::text::IdempotencyKey
    )),
    modifiers(&SecurityAndProblems),
    tags(
        (name = "operations", description = "Health, readiness and metrics."),
        (name = "auth", description = "Sign-in to one domain, sign-out, and who you are."),
        (name = "admin", description = "Users and roles of your domain (super admins)."),
        (name = "legacy", description = "The old support center's addresses."),
        (name = "customers", description = "The customers your domain manages."),
        (name = "cases", description = "Support cases filed on customers' behalf."),
        (name = "customer", description = "A customer organisation's own view."),
        (name = "provider", description = "The operator's provisioning and support work."),
    )
)]
pub struct ApiDoc;

/// The name of the bearer security scheme.
pub const BEARER: &str = "bearer";

struct SecurityAndProblems;

impl Modify for SecurityAndProblems {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A token from POST /v1/auth/token, valid for one domain.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The complete document.
pub fn openapi() -> OpenApiDoc {
    let (_, mut doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes::configure)
        .split_for_parts();
    add_common_responses(&mut doc);
    doc
}

/// The document as YAML, exactly as committed in `openapi.yaml`.
pub fn openapi_yaml() -> Result<String, String> {
    openapi().to_yaml().map_err(|e| e.to_string())
}

fn problem_response(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build(),
    )
}

/// Adds the responses every operation of a kind can give, so that no handler can forget them:
/// 401 where a token is required, the body problems where a JSON body is read, the parameter
/// problems where parameters are parsed, and 429/500/503 everywhere.
fn add_common_responses(doc: &mut OpenApiDoc) {
    for item in doc.paths.paths.values_mut() {
        let ops = [
            item.get.as_mut(),
            item.put.as_mut(),
            item.post.as_mut(),
            item.delete.as_mut(),
            item.patch.as_mut(),
        ];
        for op in ops.into_iter().flatten() {
            add_to_operation(op);
        }
    }
}

fn add_to_operation(op: &mut Operation) {
    let responses = &mut op.responses.responses;
    let mut add = |status: u16, codes: &[ErrorCode], what: &str| {
        let key = status.to_string();
        if responses.contains_key(&key) {
            return;
        }
        let codes: Vec<String> = codes.iter().map(|c| format!("`{c}`")).collect();
        responses.insert(
            key,
            problem_response(&format!("{what} ({}).", codes.join(", "))),
        );
    };
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let has_json_body = op.request_body.as_ref().is_some_and(|b| match b {
        RefOr::T(body) => body.content.keys().any(|k| k.contains("json")),
        RefOr::Ref(_) => true,
    });
    let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
    if secured {
        add(
            401,
            &[ErrorCode::Unauthenticated],
            "The token is missing, invalid, expired or revoked",
        );
    }
    if has_json_body {
        add(
            400,
            &[
                ErrorCode::MalformedJson,
                ErrorCode::InvalidQueryParameter,
                ErrorCode::InvalidPathParameter,
            ],
            "The request is malformed",
        );
        add(
            413,
            &[ErrorCode::PayloadTooLarge],
            "The request body is too large",
        );
        add(
            415,
            &[ErrorCode::UnsupportedMediaType],
            "The request body is not JSON",
        );
        add(
            422,
            &[ErrorCode::InvalidRequest],
            "The request has invalid fields",
        );
    } else if has_params {
        add(
            400,
            &[
                ErrorCode::InvalidQueryParameter,
                ErrorCode::InvalidPathParameter,
            ],
            "A parameter is invalid",
        );
    }
    add(
        429,
        &[ErrorCode::TooManyRequests],
        "Too many requests; retry after the Retry-After header's seconds",
    );
    add(
        500,
        &[ErrorCode::Internal],
        "Something went wrong on our side",
    );
    add(
        503,
        &[ErrorCode::ServiceUnavailable],
        "The database is unavailable; retry shortly",
    );
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// Every `$ref` in the document names a schema, response or parameter the document defines;
    /// a dangling one breaks generated clients and contract tools.
    #[test]
    fn every_reference_resolves() {
        let doc = serde_json::to_value(super::openapi()).expect("the document serialises");
        let mut refs = BTreeSet::new();
        collect_refs(&doc, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let pointer = r.strip_prefix('#').expect("local reference");
            assert!(doc.pointer(pointer).is_some(), "dangling reference {r}");
        }
    }

    fn collect_refs(v: &serde_json::Value, out: &mut BTreeSet<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("$ref", serde_json::Value::String(r)) => {
                            out.insert(r.clone());
                        }
                        _ => collect_refs(v, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
            _ => {}
        }
    }
}
