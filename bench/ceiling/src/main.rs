//! The ceilings of the benchmarks: what actix-web alone reaches on this machine, so that
//! `bench/run.py` can say what share of it each casebridge endpoint reaches in the same run.
//!
//! Two routes, served with the same server defaults as casebridge (one worker per core):
//!
//! - `GET /plaintext` answers a fixed body: the framework's own throughput, the ceiling the
//!   targets are stated against.
//! - `GET /v1/cases/{id}` does what casebridge's request path does for a case, minus storage:
//!   it reads `Authorization: Bearer <jwt>`, verifies the token as casebridge does (HS256 only,
//!   a known `kid`, issuer, audience, expiry and not-before, the subject and token id parsed),
//!   answers `401` with a problem document when it does not verify, and otherwise serialises,
//!   with serde_json, a case-sized document (the fields of casebridge's wire `Case`, a
//!   description of a few hundred characters, three answers, two subscribers) built for the
//!   path's id on every request. What separates an endpoint from this ceiling is storage and
//!   the rest of casebridge's request path (its middleware among them), not the token or the
//!   JSON.
//!
//! Usage: `casebridge-bench-ceiling [ADDRESS]` serves (default `127.0.0.1:18090`);
//! `casebridge-bench-ceiling token` prints a token the second route accepts, signed with this
//! benchmark's fixed secret and valid for an hour.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, get, web};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// The benchmark's signing secret: fixed so that `token` and the server agree, and useless
/// anywhere else.
const SECRET: &[u8] = b"casebridge-bench-ceiling-fixed-secret-not-for-use";
/// The key id the token names, looked up as casebridge looks up its keys.
const KID: &str = "bench";
/// casebridge's default issuer.
const ISSUER: &str = "casebridge";
/// The domain the token is for: the reseller `bench/run.py` signs in as.
const AUDIENCE: &str = "reseller-000.seed.example";
/// Lifetime of a printed token.
const TOKEN_TTL_SECS: i64 = 3600;
/// Tolerated clock difference, as casebridge's.
const LEEWAY_SECS: u64 = 30;

/// The claims of a casebridge token (the same shape as `casebridge_api::auth::jwt::Claims`).
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    realm: String,
    exp: i64,
    iat: i64,
    nbf: i64,
    jti: String,
    ver: i64,
}

/// The key and the checks, built once and shared by the workers.
struct Verifier {
    key: DecodingKey,
    validation: Validation,
}

impl Verifier {
    fn new() -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        validation.set_required_spec_claims(&["iss", "aud", "sub", "exp", "iat", "nbf", "jti"]);
        Self {
            key: DecodingKey::from_secret(SECRET),
            validation,
        }
    }

    /// The claims of a token that verifies; `None` for any other.
    fn verify(&self, token: &str) -> Option<Claims> {
        // As casebridge: the header first, for its algorithm and key id, then the token.
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != Algorithm::HS256 || header.crit.is_some() || header.kid? != KID {
            return None;
        }
        let claims = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .ok()?
            .claims;
        Uuid::parse_str(&claims.sub).ok()?;
        Uuid::parse_str(&claims.jti).ok()?;
        Some(claims)
    }
}

/// A token for the second route, valid for [`TOKEN_TTL_SECS`].
fn token() -> Result<String, jsonwebtoken::errors::Error> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let claims = Claims {
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        sub: Uuid::now_v7().to_string(),
        realm: "reseller".to_owned(),
        exp: now + TOKEN_TTL_SECS,
        iat: now,
        nbf: now,
        jti: Uuid::now_v7().to_string(),
        ver: 0,
    };
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(KID.to_owned());
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(SECRET))
}

/// A case's category.
#[derive(Serialize)]
struct ClassificationRef {
    id: String,
    display_name: String,
}

/// Who filed a case.
#[derive(Serialize)]
struct Creator {
    user_id: Option<String>,
    email: String,
    domain: String,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum ProductType {
    GoogleWorkspace,
}

#[derive(Serialize)]
enum Severity {
    P3,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum CaseStatus {
    InProgressSupport,
}

/// A case as casebridge's wire `Case` has it (no escalation, not closed, no follow-up: the
/// optional fields casebridge leaves out then).
#[derive(Serialize)]
struct Case {
    id: String,
    case_number: i64,
    customer_id: String,
    product_type: ProductType,
    title: String,
    classification: ClassificationRef,
    description: String,
    answers: BTreeMap<String, String>,
    severity: Severity,
    status: CaseStatus,
    escalated: bool,
    language_code: String,
    time_zone: String,
    subscriber_emails: Vec<String>,
    creator: Creator,
    reseller_domain: String,
    #[serde(with = "time::serde::rfc3339")]
    create_time: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    update_time: OffsetDateTime,
}

const DESCRIPTION: &str = "Since Monday morning, shared calendars no longer sync on the managed \
    Android and iOS phones of the sales team: events created on the web appear on the phones \
    hours later or not at all, and invitations accepted on a phone are not reflected for the \
    organiser. Desktop clients are unaffected. We removed and re-added the accounts on two \
    devices without effect and checked that the devices are compliant.";

/// The case with this id, built afresh as casebridge builds its answer from a stored row.
fn case(id: Uuid, claims: &Claims) -> Case {
    let n = id.as_u128();
    let case_number = (n % 1_000_000_000) as i64;
    let created = OffsetDateTime::from_unix_timestamp(1_700_000_000 + (n % 60_000_000) as i64)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let answers = [
        ("affected_users", "About 40 users of the sales team"),
        ("first_seen", "Monday, 08:30 Europe/Berlin"),
        (
            "steps_tried",
            "Removed and re-added the account on two devices",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    Case {
        id: id.to_string(),
        case_number,
        customer_id: Uuid::from_u128(n ^ 0x5555).to_string(),
        product_type: ProductType::GoogleWorkspace,
        title: format!("Calendar sync fails on phones ({case_number})"),
        classification: ClassificationRef {
            id: Uuid::from_u128(n ^ 0xaaaa).to_string(),
            display_name: "Calendar > Sync > Events missing on mobile devices".to_owned(),
        },
        description: DESCRIPTION.to_owned(),
        answers,
        severity: Severity::P3,
        status: CaseStatus::InProgressSupport,
        escalated: false,
        language_code: "en-US".to_owned(),
        time_zone: "Europe/Berlin".to_owned(),
        subscriber_emails: vec![
            format!("it-desk@customer-{}.example", case_number % 10_000),
            format!("sales-lead@customer-{}.example", case_number % 10_000),
        ],
        creator: Creator {
            user_id: Some(claims.sub.clone()),
            email: format!("admin@{}", claims.aud),
            domain: claims.aud.clone(),
        },
        reseller_domain: claims.aud.clone(),
        create_time: created,
        update_time: created + time::Duration::hours(5),
    }
}

/// A problem document, as casebridge answers a refusal.
#[derive(Serialize)]
struct Problem {
    r#type: &'static str,
    title: &'static str,
    status: u16,
    detail: &'static str,
    code: &'static str,
}

fn unauthenticated() -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"casebridge\""))
        .content_type("application/problem+json")
        .json(Problem {
            r#type: "/problems/unauthenticated",
            title: "Unauthenticated",
            status: 401,
            detail: "The access token is missing, invalid, expired or revoked.",
            code: "unauthenticated",
        })
}

/// The bearer token of a request, read as casebridge reads it.
fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

#[get("/plaintext")]
async fn plaintext() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain")
        .body("Hello, World!")
}

#[get("/v1/cases/{id}")]
async fn get_case(
    req: HttpRequest,
    id: web::Path<String>,
    verifier: web::Data<Verifier>,
) -> HttpResponse {
    let Some(claims) = bearer_token(&req).and_then(|t| verifier.verify(t)) else {
        return unauthenticated();
    };
    let Ok(id) = Uuid::parse_str(&id) else {
        return HttpResponse::NotFound().finish();
    };
    let case = case(id, &claims);
    HttpResponse::Ok()
        .insert_header((header::ETAG, format!("\"{}\"", case.case_number % 7 + 1)))
        .json(case)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let arg = std::env::args().nth(1);
    if arg.as_deref() == Some("token") {
        println!("{}", token().map_err(std::io::Error::other)?);
        return Ok(());
    }
    let address = arg.unwrap_or_else(|| "127.0.0.1:18090".to_owned());
    let verifier = web::Data::new(Verifier::new());
    HttpServer::new(move || {
        App::new()
            .app_data(verifier.clone())
            .service(plaintext)
            .service(get_case)
    })
    .bind(address)?
    .run()
    .await
}
