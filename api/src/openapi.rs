//! The OpenAPI document, generated from the code: every handler's `#[utoipa::path]`, collected
//! from the same `configure` functions that register the routes, so the two cannot drift.

use actix_web::App;
use utoipa::openapi::header::Header;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
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
    servers((url = "/", description = "The service itself: documents and clients served from it.")),
    components(schemas(
        Problem,
        FieldIssue,
        ErrorCodeSchema,
        crate::wire::cases::OrderBy,
        crate::wire::cases::StatusFilter,
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
        crate::wire::text::IdempotencyKey,
        crate::wire::text::EntityTags,
        // The bodies webhooks post (see the document's `webhooks`).
        crate::wire::events::CaseEventPayload,
        crate::wire::events::CustomerEventPayload,
        crate::wire::events::PingPayload
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
        (name = "webhooks", description = "Your domain's webhook endpoints and their deliveries (super admins)."),
        (name = "events", description = "The change feed: what happens to the cases and customers your domain sees, in order, each event once."),
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
    add_password_change_required(&mut doc);
    add_rate_limit_headers(&mut doc);
    add_links(&mut doc);
    add_webhooks(&mut doc);
    doc
}

/// The requests casebridge makes to webhook endpoints (OpenAPI 3.1 `webhooks`): one per kind
/// of body, each with the Standard Webhooks signature headers.
fn add_webhooks(doc: &mut OpenApiDoc) {
    use utoipa::openapi::Required;
    use utoipa::openapi::path::{
        HttpMethod, OperationBuilder, ParameterBuilder, PathItem, PathsBuilder,
    };
    use utoipa::openapi::request_body::RequestBodyBuilder;
    use utoipa::openapi::schema::{ObjectBuilder, Type};

    let header = |name: &str, description: &str, example: &str| {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Header)
            .required(Required::True)
            .description(Some(description))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .example(Some(example.into()))
            .build()
    };
    let headers = vec![
        header(
            "webhook-id",
            "The delivery's id: the same on every attempt of one event to one endpoint, so a \
             receiver can drop repeats (delivery is at least once).",
            "msg_0193a4f6c2b87c11a0b1f2e3d4c5b6a7",
        ),
        header(
            "webhook-timestamp",
            "When this attempt was signed, in Unix seconds; reject values far from your clock.",
            "1767225600",
        ),
        header(
            "webhook-signature",
            "`v1,` and the base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` keyed \
             with the base64-decoded part of the endpoint's secret after `whsec_`, per the \
             Standard Webhooks specification; during the 24 hours after a rotation, one \
             signature per secret, separated by a space. Any one matching suffices.",
            "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
        ),
    ];
    let kinds = [
        (
            "webhookCaseEvent",
            "CaseEventPayload",
            "An event of a case your domain sees when the event commits",
        ),
        (
            "webhookCustomerEvent",
            "CustomerEventPayload",
            "A customer event addressed to your domain",
        ),
        (
            "webhookPing",
            "PingPayload",
            "A ping asked for by the endpoint's owner",
        ),
    ];
    let mut paths = PathsBuilder::new();
    for (name, schema, summary) in kinds {
        let body = RequestBodyBuilder::new()
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name(schema)))
                    .build(),
            )
            .required(Some(Required::True))
            .build();
        let operation = OperationBuilder::new()
            .operation_id(Some(name))
            .tag("webhooks")
            .summary(Some(summary))
            .description(Some(
                "Posted to each enabled endpoint subscribed to the type, from `https://` public \
                 addresses only, without following redirects, with a 10 s timeout. A 2xx counts \
                 as delivered; `410 Gone` disables the endpoint; anything else is retried with \
                 back-off (the first retry within 30 seconds, then at most an hour apart) for \
                 three days, and an endpoint failing for three days is disabled and its \
                 domain's super admins are mailed.",
            ))
            .parameters(Some(headers.clone()))
            // casebridge authenticates itself by the signature, not by a scheme of this API.
            .securities(Some(
                Vec::<utoipa::openapi::security::SecurityRequirement>::new(),
            ))
            .request_body(Some(body))
            .response(
                "2XX",
                ResponseBuilder::new().description("Delivered.").build(),
            )
            .response(
                "410",
                ResponseBuilder::new()
                    .description("The receiver is gone: the endpoint is disabled.")
                    .build(),
            )
            .build();
        paths = paths.path(name, PathItem::new(HttpMethod::Post, operation));
    }
    doc.webhooks = Some(paths.build());
}

/// The operations a token from a one-time password reaches (those needing only
/// `Capability::SignedIn`); `tests/hardening.rs` checks the server agrees, operation by operation.
pub const OPEN_TO_ONE_TIME_PASSWORDS: [&str; 3] = ["/v1/me", "/v1/me/password", "/v1/auth/logout"];

/// Documents `403 password_change_required` on every operation that needs a token, except the
/// few a one-time password reaches.
fn add_password_change_required(doc: &mut OpenApiDoc) {
    const WHY: &str = "or, until a one-time password is changed, `password_change_required`";
    for (path, item) in doc.paths.paths.iter_mut() {
        if OPEN_TO_ONE_TIME_PASSWORDS.contains(&path.as_str()) {
            continue;
        }
        let operations = [
            item.get.as_mut(),
            item.put.as_mut(),
            item.post.as_mut(),
            item.delete.as_mut(),
            item.patch.as_mut(),
        ];
        for op in operations.into_iter().flatten() {
            if op.security.as_ref().is_none_or(|s| s.is_empty()) {
                continue;
            }
            match op.responses.responses.get_mut("403") {
                Some(RefOr::T(forbidden)) => {
                    let described = forbidden.description.trim_end_matches('.');
                    forbidden.description = format!("{described}; {WHY}.");
                }
                Some(RefOr::Ref(_)) => {}
                None => {
                    op.responses.responses.insert(
                        "403".to_owned(),
                        problem_response(
                            "Change the one-time password first (`password_change_required`).",
                        ),
                    );
                }
            }
        }
    }
}

/// Documents the headers of every throttled answer on every 429, whoever declared it.
fn add_rate_limit_headers(doc: &mut OpenApiDoc) {
    let text = |description: &str, example: &str| {
        let mut header = Header::default();
        header.description = Some(description.to_owned());
        header.example = Some(example.into());
        header
    };
    let fields = [
        (
            "Retry-After",
            text("Seconds to wait before trying again.", "890"),
        ),
        (
            "RateLimit-Policy",
            text(
                "The exceeded policy (draft-ietf-httpapi-ratelimit-headers): its name, its quota \
                 `q` and its window `w` in seconds.",
                "\"sign-in-account\";q=5;w=900",
            ),
        ),
        (
            "RateLimit",
            text(
                "What remains of that policy's quota (`r`, always 0 here) and the seconds until \
                 it resets (`t`).",
                "\"sign-in-account\";r=0;t=890",
            ),
        ),
    ];
    for op in operations_mut(doc) {
        let Some(RefOr::T(response)) = op.responses.responses.get_mut("429") else {
            continue;
        };
        for (name, header) in &fields {
            response
                .headers
                .entry((*name).to_owned())
                .or_insert_with(|| RefOr::T(header.clone()));
        }
    }
}

/// How one response leads to the next operations: `(operation, status, [(link, target operation,
/// [(parameter, runtime expression)])])`. Clients and stateful contract tests follow these.
type LinkTable = &'static [(
    &'static str,
    &'static str,
    &'static [(
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
    )],
)];

const CASE_FROM_BODY: &[(&str, &str)] = &[("case_id", "$response.body#/id")];
const CASE_WITH_ETAG: &[(&str, &str)] = &[
    ("case_id", "$request.path.case_id"),
    ("header.If-Match", "$response.header.ETag"),
];
const FIRST_CASE: &[(&str, &str)] = &[("case_id", "$response.body#/cases/0/id")];
const FIRST_CUSTOMER: &[(&str, &str)] = &[("customer_id", "$response.body#/customers/0/id")];

const LINKS: LinkTable = &[
    (
        "create_case",
        "201",
        &[
            ("GetCase", "get_case", CASE_FROM_BODY),
            ("UpdateCase", "update_case", CASE_FROM_BODY),
            ("CloseCase", "close_case", CASE_FROM_BODY),
            ("EscalateCase", "escalate_case", CASE_FROM_BODY),
            ("AddComment", "create_comment", CASE_FROM_BODY),
            ("ListComments", "list_comments", CASE_FROM_BODY),
            ("UploadAttachment", "upload_attachment", CASE_FROM_BODY),
            ("ListAttachments", "list_attachments", CASE_FROM_BODY),
            ("ListEvents", "list_case_events", CASE_FROM_BODY),
        ],
    ),
    (
        "get_case",
        "200",
        &[
            ("UpdateCase", "update_case", CASE_WITH_ETAG),
            ("CloseCase", "close_case", CASE_WITH_ETAG),
            ("ReopenCase", "reopen_case", CASE_WITH_ETAG),
            ("EscalateCase", "escalate_case", CASE_WITH_ETAG),
        ],
    ),
    (
        "close_case",
        "200",
        &[("ReopenCase", "reopen_case", CASE_FROM_BODY)],
    ),
    ("list_cases", "200", &[("GetCase", "get_case", FIRST_CASE)]),
    (
        "list_customer_cases",
        "200",
        &[("GetCase", "get_case", FIRST_CASE)],
    ),
    (
        "list_customers",
        "200",
        &[
            ("GetCustomer", "get_customer", FIRST_CUSTOMER),
            ("ListCustomerCases", "list_customer_cases", FIRST_CUSTOMER),
            ("CreateCase", "create_case", FIRST_CUSTOMER),
        ],
    ),
    (
        "create_comment",
        "201",
        &[(
            "GetComment",
            "get_comment",
            &[
                ("case_id", "$request.path.case_id"),
                ("comment_id", "$response.body#/id"),
            ],
        )],
    ),
    (
        "upload_attachment",
        "201",
        &[
            (
                "GetAttachment",
                "get_attachment",
                &[
                    ("case_id", "$request.path.case_id"),
                    ("attachment_id", "$response.body#/id"),
                ],
            ),
            (
                "DownloadAttachment",
                "download_attachment",
                &[
                    ("case_id", "$request.path.case_id"),
                    ("attachment_id", "$response.body#/id"),
                ],
            ),
        ],
    ),
    (
        "create_user",
        "201",
        &[
            ("GetUser", "get_user", &[("user_id", "$response.body#/id")]),
            (
                "UpdateUser",
                "update_user",
                &[("user_id", "$response.body#/id")],
            ),
            (
                "SetUserRoles",
                "set_user_roles",
                &[("user_id", "$response.body#/id")],
            ),
        ],
    ),
    (
        "create_role",
        "201",
        &[
            ("GetRole", "get_role", &[("role_id", "$response.body#/id")]),
            (
                "DeleteRole",
                "delete_role",
                &[("role_id", "$response.body#/id")],
            ),
        ],
    ),
    (
        "create_domain",
        "201",
        &[(
            "GetDomain",
            "get_domain",
            &[("domain_id", "$response.body#/id")],
        )],
    ),
    (
        "create_customer",
        "201",
        &[
            (
                "GetCustomerRecord",
                "get_customer_record",
                &[("customer_id", "$response.body#/id")],
            ),
            (
                "UpdateCustomer",
                "update_customer",
                &[("customer_id", "$response.body#/id")],
            ),
            (
                "TransferCustomer",
                "transfer_customer",
                &[("customer_id", "$response.body#/id")],
            ),
        ],
    ),
    (
        "add_support_partner",
        "201",
        &[
            (
                "GetSupportPartner",
                "get_support_partner",
                &[("partner_domain", "$response.body#/partner_domain")],
            ),
            (
                "RemoveSupportPartner",
                "remove_support_partner",
                &[("partner_domain", "$response.body#/partner_domain")],
            ),
        ],
    ),
];

fn operations_mut(doc: &mut OpenApiDoc) -> impl Iterator<Item = &mut Operation> {
    doc.paths.paths.values_mut().flat_map(|item| {
        [
            item.get.as_mut(),
            item.put.as_mut(),
            item.post.as_mut(),
            item.delete.as_mut(),
            item.patch.as_mut(),
        ]
        .into_iter()
        .flatten()
    })
}

/// Adds the [`LINKS`] to their responses.
fn add_links(doc: &mut OpenApiDoc) {
    for op in operations_mut(doc) {
        let Some(id) = op.operation_id.clone() else {
            continue;
        };
        for (_, status, links) in LINKS.iter().filter(|(source, ..)| *source == id) {
            let Some(RefOr::T(response)) = op.responses.responses.get_mut(*status) else {
                continue;
            };
            for (name, target, parameters) in links.iter() {
                let link = parameters.iter().fold(
                    LinkBuilder::new().operation_id(*target),
                    |link, (parameter, expression)| link.parameter(*parameter, *expression),
                );
                response
                    .links
                    .insert((*name).to_owned(), RefOr::T(link.build()));
            }
        }
    }
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
    operations_mut(doc).for_each(add_to_operation);
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
    // Parameters whose value can be malformed; `If-Match` cannot (no tag matches: 412).
    let takes = |place: ParameterIn| {
        op.parameters
            .iter()
            .flatten()
            .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == place && p.name != "If-Match"))
    };
    let mut malformed = Vec::new();
    if has_json_body {
        malformed.push(ErrorCode::MalformedJson);
    }
    for (place, code) in [
        (ParameterIn::Path, ErrorCode::InvalidPathParameter),
        (ParameterIn::Query, ErrorCode::InvalidQueryParameter),
        (ParameterIn::Header, ErrorCode::InvalidHeader),
    ] {
        if takes(place) {
            malformed.push(code);
        }
    }
    if secured {
        add(
            401,
            &[ErrorCode::Unauthenticated],
            "The token is missing, invalid, expired or revoked",
        );
    }
    if !malformed.is_empty() {
        add(400, &malformed, "The request is malformed");
    }
    if has_json_body {
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
    }
    add(
        429,
        &[ErrorCode::TooManyRequests],
        "Too many requests; retry after the Retry-After header's seconds; `RateLimit-Policy` \
         and `RateLimit` name the exceeded limit",
    );
    add(
        500,
        &[ErrorCode::Internal],
        "Something went wrong on our side",
    );
    add(
        503,
        &[ErrorCode::ServiceUnavailable],
        "The database is unavailable, or busy with concurrent changes to the same data; retry after the Retry-After header's seconds",
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

    /// A client learns how long to wait from every throttled answer's documented headers.
    #[test]
    fn every_throttled_answer_documents_its_rate_limit_headers() {
        let doc = serde_json::to_value(super::openapi()).expect("the document serialises");
        let mut checked = 0;
        for item in doc["paths"].as_object().expect("paths").values() {
            for op in item.as_object().expect("a path item").values() {
                let headers = &op["responses"]["429"]["headers"];
                for name in ["Retry-After", "RateLimit-Policy", "RateLimit"] {
                    assert!(headers.get(name).is_some(), "{name} of {op}");
                }
                checked += 1;
            }
        }
        assert!(checked > 40);
    }

    /// Operation ids name the functions of generated clients: each must be unique.
    #[test]
    fn operation_ids_are_unique() {
        let doc = serde_json::to_value(super::openapi()).expect("the document serialises");
        let mut seen = BTreeSet::new();
        for item in doc["paths"].as_object().expect("paths").values() {
            for op in item.as_object().expect("a path item").values() {
                if let Some(id) = op.get("operationId").and_then(|v| v.as_str()) {
                    assert!(seen.insert(id.to_owned()), "operationId {id} is used twice");
                }
            }
        }
        assert!(seen.len() > 40);
    }

    /// Every link of the table lands on a response of its source, targets an operation that
    /// exists, and names only parameters that operation takes.
    #[test]
    fn every_link_connects_real_operations_and_parameters() {
        let doc = serde_json::to_value(super::openapi()).expect("the document serialises");
        let mut operations = std::collections::BTreeMap::new();
        for item in doc["paths"].as_object().expect("paths").values() {
            for op in item.as_object().expect("a path item").values() {
                if let Some(id) = op.get("operationId").and_then(|v| v.as_str()) {
                    operations.insert(id.to_owned(), op.clone());
                }
            }
        }
        let mut links = 0;
        for (source, status, table) in super::LINKS {
            let response = &operations[*source]["responses"][*status];
            for (name, target, parameters) in table.iter() {
                let link = &response["links"][*name];
                assert_eq!(link["operationId"], *target, "{source} {status} {name}");
                let taken: BTreeSet<String> = operations[*target]["parameters"]
                    .as_array()
                    .map(|ps| {
                        ps.iter()
                            .map(|p| {
                                format!(
                                    "{}.{}",
                                    p["in"].as_str().unwrap(),
                                    p["name"].as_str().unwrap()
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                for (parameter, _) in parameters.iter() {
                    let qualified = if parameter.contains('.') {
                        parameter.to_string()
                    } else {
                        format!("path.{parameter}")
                    };
                    assert!(taken.contains(&qualified), "{target} takes no {qualified}");
                }
                links += 1;
            }
        }
        assert!(links > 20);
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
