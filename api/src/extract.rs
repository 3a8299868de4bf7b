//! Extractors that turn bad input into problems: JSON bodies, query strings and path ids.
//!
//! actix's own `Json`/`Query` answer bad input with plain text; these answer with a problem
//! naming the field, and tell malformed JSON (400) from well-formed JSON of the wrong shape
//! (422).

use std::str::FromStr;

use actix_web::dev::Payload;
use actix_web::web::BytesMut;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::StreamExt;
use futures_util::future::{LocalBoxFuture, Ready, ready};
use serde::de::DeserializeOwned;

use crate::problem::{ApiError, ErrorCode, FieldIssue};

/// The largest JSON body accepted, set once by the application.
#[derive(Debug, Clone, Copy)]
pub struct JsonLimit(pub usize);

/// A JSON request body, parsed (the raw bytes are kept for request fingerprints).
#[derive(Debug)]
pub struct ApiJson<T>(pub T, actix_web::web::Bytes);

impl<T> ApiJson<T> {
    /// The body as received.
    pub fn raw(&self) -> &[u8] {
        &self.1
    }
}

impl<T> std::ops::Deref for ApiJson<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<JsonLimit>()
            .map(|l| l.0)
            .unwrap_or(1_048_576);
        let content_type_ok = is_json_content_type(req);
        let declared_length = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !content_type_ok {
                return Err(ApiError::new(
                    ErrorCode::UnsupportedMediaType,
                    "Send the request body as application/json.",
                ));
            }
            let too_large = || {
                ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("The request body exceeds the limit of {limit} bytes."),
                )
            };
            if declared_length.is_some_and(|n| n > limit) {
                return Err(too_large());
            }
            let mut body = BytesMut::with_capacity(declared_length.unwrap_or(0).min(limit));
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    ApiError::new(
                        ErrorCode::MalformedJson,
                        format!("The request body could not be read: {e}"),
                    )
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            let body = body.freeze();
            parse_json(&body).map(|v| ApiJson(v, body))
        })
    }
}

fn is_json_content_type(req: &HttpRequest) -> bool {
    match req.mime_type() {
        Ok(Some(mime)) => {
            mime.type_() == "application"
                && (mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json"))
        }
        _ => false,
    }
}

/// Parses a JSON document, naming the field a type error is about.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.is_empty() {
        return Err(ApiError::new(
            ErrorCode::MalformedJson,
            "The request body is empty; a JSON document is expected.",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    let value = match parsed {
        Ok(v) => v,
        Err(err) => return Err(json_error(err)),
    };
    de.end().map_err(|e| {
        ApiError::new(
            ErrorCode::MalformedJson,
            format!("The request body is not valid JSON: {e}."),
        )
    })?;
    Ok(value)
}

fn json_error(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    use serde_json::error::Category;
    let path = err.path().to_string();
    let inner = err.inner();
    match inner.classify() {
        Category::Data => {
            let message = strip_position(&inner.to_string());
            let field = field_of(&path, &message);
            ApiError::invalid_field(&field, data_error_code(&message), &message)
        }
        Category::Syntax | Category::Eof | Category::Io => ApiError::new(
            ErrorCode::MalformedJson,
            format!("The request body is not valid JSON: {inner}."),
        ),
    }
}

/// The field a serde data error is about: its path, or for a missing field, the field named.
fn field_of(path: &str, message: &str) -> String {
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    match (path, missing) {
        (".", Some(name)) => name.to_owned(),
        (p, Some(name)) => format!("{p}.{name}"),
        (".", None) => "body".to_owned(),
        (p, None) => p.to_owned(),
    }
}

fn data_error_code(message: &str) -> &'static str {
    if message.starts_with("missing field") {
        "required"
    } else if message.starts_with("unknown variant") {
        "invalid_value"
    } else if message.starts_with("unknown field") {
        "unknown_field"
    } else if message.starts_with("invalid type") {
        "invalid_type"
    } else {
        "invalid_value"
    }
}

/// serde_json appends "at line 1 column 12"; the field path says more to a client.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Deserialises a field that distinguishes absent (`None`, with `#[serde(default)]`) from
/// `null` (`Some(None)`) and a value (`Some(Some(v))`): PATCH bodies clear fields with `null`.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

/// A query string, parsed; repeated keys fill lists (`status=new&status=closed`).
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T> std::ops::Deref for ApiQuery<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for ApiQuery<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_query(req.query_string()).map(ApiQuery))
    }
}

/// Parses a query string, naming the parameter an error is about.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_html_form::Deserializer::from_bytes(query.as_bytes());
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let message = err.inner().to_string();
        let field = field_of(&path, &message);
        ApiError::invalid_query_parameter(&field, data_error_code(&message), &message)
    })
}

/// Most characters of a keyword query.
pub const MAX_QUERY_CHARS: usize = 200;

/// A keyword query (`q`), trimmed; `None` when empty. Control characters and overlong queries
/// are refused: they find nothing a person typed, and some databases refuse a NUL outright.
pub fn search_query(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let bad = raw.chars().any(char::is_control) || raw.chars().count() > MAX_QUERY_CHARS;
    if bad {
        return Err(ApiError::new(
            ErrorCode::InvalidQueryParameter,
            "The query parameter q is invalid: it must be at most 200 characters without control characters.",
        )
        .with_errors(vec![FieldIssue {
            field: "q".to_owned(),
            code: "invalid_value".to_owned(),
            message: "at most 200 characters, no control characters".to_owned(),
        }]));
    }
    let q = raw.trim();
    Ok((!q.is_empty()).then(|| q.to_owned()))
}

/// Parses a path parameter into a domain id or value.
pub fn path_param<T>(name: &str, raw: &str) -> Result<T, ApiError>
where
    T: FromStr<Err = casebridge_domain::InvalidValue>,
{
    raw.parse::<T>()
        .map_err(|e| ApiError::invalid_path_parameter(name, e.code, &e.message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        title: String,
        nested: Option<Nested>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Nested {
        count: u32,
    }

    #[test]
    fn malformed_json_is_a_400_and_a_type_error_a_422_naming_the_field() {
        let e = parse_json::<Body>(b"{\"title\": ").err();
        assert_eq!(e.map(|e| e.code()), Some(ErrorCode::MalformedJson));
        let e = parse_json::<Body>(b"{\"title\": \"x\", \"nested\": {\"count\": \"many\"}}")
            .err()
            .map(|e| e.problem());
        let p = e.unwrap_or_else(|| panic!("accepted"));
        assert_eq!(p.code, "invalid_request");
        assert_eq!(p.errors[0].field, "nested.count");
        assert_eq!(p.errors[0].code, "invalid_type");
    }

    #[test]
    fn a_missing_field_is_named() {
        let p = parse_json::<Body>(b"{}")
            .err()
            .map(|e| e.problem())
            .unwrap_or_else(|| panic!("accepted"));
        assert_eq!(p.errors[0].field, "title");
        assert_eq!(p.errors[0].code, "required");
    }

    #[test]
    fn trailing_garbage_after_the_document_is_malformed() {
        let e = parse_json::<Body>(b"{\"title\": \"x\"} trailing").err();
        assert_eq!(e.map(|e| e.code()), Some(ErrorCode::MalformedJson));
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Query {
        #[serde(default)]
        status: Vec<String>,
        page_size: Option<i64>,
    }

    #[test]
    fn repeated_query_keys_fill_a_list_and_bad_numbers_are_named() {
        let q: Query =
            parse_query("status=new&status=closed&page_size=5").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.status, vec!["new", "closed"]);
        let p = parse_query::<Query>("page_size=lots")
            .err()
            .map(|e| e.problem())
            .unwrap_or_else(|| panic!("accepted"));
        assert_eq!(p.code, "invalid_query_parameter");
        assert_eq!(p.errors[0].field, "page_size");
    }
}
