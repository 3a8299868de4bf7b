//! Issuing and verifying the domain-scoped JWTs.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::RwLock;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use casebridge_domain::{Realm, UserId};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// The only algorithm issued and accepted: pinning it defeats `alg: none` and algorithm
/// confusion.
const ALGORITHM: Algorithm = Algorithm::HS256;

/// Tolerated clock difference between issuer and verifier.
const LEEWAY_SECS: i64 = 30;

/// Fewest secret bytes accepted: HS256 wants at least as many as its output.
const MIN_SECRET_BYTES: usize = 32;

/// Longest token lifetime the service starts with. A token is revoked by remembering its
/// `jti` until it expires, so a lifetime must end within a span a revocation list can keep;
/// a week is longer than any session a partner's frontend holds.
pub const MAX_TOKEN_TTL: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Most verified tokens remembered at once (a few hundred bytes each).
const VERIFIED_CAPACITY: usize = 10_000;

/// Whether a token lifetime is usable: positive and at most [`MAX_TOKEN_TTL`]. The message
/// names the setting, for the operator who set it.
pub fn check_token_ttl(ttl: Duration) -> Result<(), String> {
    if ttl.is_zero() {
        return Err("CASEBRIDGE_TOKEN_TTL_SECS must be positive".to_owned());
    }
    if ttl > MAX_TOKEN_TTL {
        return Err(format!(
            "CASEBRIDGE_TOKEN_TTL_SECS is {} seconds; at most {} (7 days) is allowed, so that \
             every token expires within a week and a logout can always revoke it",
            ttl.as_secs(),
            MAX_TOKEN_TTL.as_secs()
        ));
    }
    Ok(())
}

/// An HMAC key with its id (`kid`), so keys can be rotated.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    secret: Vec<u8>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut secret = [0u8; 48];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let mut kid = [0u8; 6];
        rand::rngs::OsRng.fill_bytes(&mut kid);
        Self {
            kid: URL_SAFE_NO_PAD.encode(kid),
            secret: URL_SAFE_NO_PAD.encode(secret).into_bytes(),
        }
    }

    /// Parses `kid:secret`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let (kid, secret) = spec
            .split_once(':')
            .ok_or_else(|| "a JWT key must be written kid:secret".to_owned())?;
        let kid = kid.trim();
        if kid.is_empty()
            || kid.len() > 64
            || !kid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err("a JWT key id must be 1..=64 letters, digits, - or _".to_owned());
        }
        if secret.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "the JWT key {kid} is too short: at least {MIN_SECRET_BYTES} characters"
            ));
        }
        Ok(Self {
            kid: kid.to_owned(),
            secret: secret.as_bytes().to_vec(),
        })
    }

    /// Parses a comma-separated list of `kid:secret`; the first signs.
    pub fn parse_list(spec: &str) -> Result<Vec<Self>, String> {
        let keys = spec
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| Self::parse(s.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err("CASEBRIDGE_JWT_KEYS names no key".to_owned());
        }
        let mut seen = HashSet::new();
        if let Some(dup) = keys.iter().find(|k| !seen.insert(k.kid.clone())) {
            return Err(format!("the JWT key id {} is used twice", dup.kid));
        }
        Ok(keys)
    }

    /// The key's id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The secret, from which other keys of the service are derived.
    pub fn secret(&self) -> &[u8] {
        &self.secret
    }

    /// The `kid:secret` form, for the key file.
    pub fn to_spec(&self) -> String {
        format!("{}:{}", self.kid, String::from_utf8_lossy(&self.secret))
    }
}

/// The claims of a casebridge token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Audience: the domain the token is for.
    pub aud: String,
    /// The user's id.
    pub sub: String,
    /// The realm of the domain.
    pub realm: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Token id, for revocation.
    pub jti: String,
    /// The user's token version when issued: a bump invalidates every older token.
    pub ver: i64,
}

/// A token just issued.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The compact JWT.
    pub token: String,
    /// Its id.
    pub jti: Uuid,
    /// When it expires.
    pub expires_at: OffsetDateTime,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// Why a presented token is refused. The client hears only "unauthenticated"; the log hears
/// which.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Malformed, wrong algorithm, bad signature or claims.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The `kid` names no configured key.
    #[error("unknown signing key")]
    UnknownKey,
    /// Past its expiry.
    #[error("token expired")]
    Expired,
    /// Before its not-before time.
    #[error("token not yet valid")]
    NotYetValid,
}

/// Issues and verifies tokens with the configured keys.
pub struct TokenService {
    keys: Vec<(SigningKey, EncodingKey, DecodingKey)>,
    issuer: String,
    ttl: Duration,
    validation: Validation,
    /// Tokens whose signature, algorithm, key and issuer verified, with their claims, by the
    /// token's exact text. Every request of a session presents the same token; verifying it
    /// again (HMAC and two JSON decodings) was a fifth of the instructions of
    /// `GET /v1/cases/{id}`. Only the very bytes that verified can match an entry, the keys
    /// are fixed for the service's life, and expiry and not-before are still checked on every
    /// use; so remembering changes no answer. API gateways cache JWT verification the same
    /// way.
    verified: RwLock<HashMap<Box<str>, Claims>>,
    /// How many entries `verified` holds at most.
    capacity: usize,
}

impl fmt::Debug for TokenService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenService")
            .field("issuer", &self.issuer)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl TokenService {
    /// A service signing with the first key and verifying with all.
    pub fn new(keys: &[SigningKey], issuer: &str, ttl: Duration) -> Self {
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[issuer]);
        // The audience is a domain name, checked against the known domains by the caller;
        // expiry and not-before are checked against the service's clock below, so that a
        // test clock governs them like every other rule of time.
        validation.validate_aud = false;
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_required_spec_claims(&["iss", "aud", "sub", "exp", "iat", "nbf", "jti"]);
        Self {
            keys: keys
                .iter()
                .map(|k| {
                    (
                        k.clone(),
                        EncodingKey::from_secret(&k.secret),
                        DecodingKey::from_secret(&k.secret),
                    )
                })
                .collect(),
            issuer: issuer.to_owned(),
            ttl,
            validation,
            verified: RwLock::new(HashMap::new()),
            capacity: VERIFIED_CAPACITY,
        }
    }

    /// Issues a token for a user of a domain.
    pub fn issue(
        &self,
        user: UserId,
        domain: &str,
        realm: Realm,
        token_version: i64,
        now: OffsetDateTime,
    ) -> Result<IssuedToken, TokenError> {
        let (key, encoding, _) = self
            .keys
            .first()
            .ok_or_else(|| TokenError::Invalid("no signing key configured".to_owned()))?;
        let jti = Uuid::now_v7();
        let iat = now.unix_timestamp();
        // Checked, never panicking: the lifetime is bounded at start-up, but a clock or a
        // lifetime that overflows must fail this sign-in, not a worker.
        let expires_at = time::Duration::try_from(self.ttl)
            .ok()
            .and_then(|ttl| now.checked_add(ttl))
            .ok_or_else(|| TokenError::Invalid("the token lifetime overflows".to_owned()))?;
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: domain.to_owned(),
            sub: user.to_string(),
            realm: realm.as_str().to_owned(),
            exp: expires_at.unix_timestamp(),
            iat,
            nbf: iat,
            jti: jti.to_string(),
            ver: token_version,
        };
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(key.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, encoding)
            .map_err(|e| TokenError::Invalid(e.to_string()))?;
        Ok(IssuedToken {
            token,
            jti,
            expires_at,
            expires_in: self.ttl.as_secs(),
        })
    }

    /// Verifies signature, algorithm, issuer and times; the caller checks the audience is a
    /// known domain and the user's state.
    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<Claims, TokenError> {
        let remembered = self
            .verified
            .read()
            .ok()
            .and_then(|verified| verified.get(token).cloned());
        if let Some(claims) = remembered {
            return check_times(claims, now);
        }
        let claims = check_times(self.verify_signed(token)?, now)?;
        self.remember(token, &claims, now);
        Ok(claims)
    }

    /// Signature, algorithm, key and issuer: what does not change with the time.
    fn verify_signed(&self, token: &str) -> Result<Claims, TokenError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| TokenError::Invalid(e.to_string()))?;
        if header.alg != ALGORITHM {
            return Err(TokenError::Invalid(format!("algorithm {:?}", header.alg)));
        }
        // RFC 7515 §4.1.11: a token naming critical extensions the verifier does not
        // understand must be rejected, and this verifier understands none (an empty list is
        // itself malformed).
        if let Some(crit) = header.crit {
            return Err(TokenError::Invalid(format!(
                "critical header extensions {crit:?}"
            )));
        }
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let (_, _, decoding) = self
            .keys
            .iter()
            .find(|(k, _, _)| k.kid == kid)
            .ok_or(TokenError::UnknownKey)?;
        let data = jsonwebtoken::decode::<Claims>(token, decoding, &self.validation)
            .map_err(|e| TokenError::Invalid(e.to_string()))?;
        Ok(data.claims)
    }

    /// Remembers a verified token. When full, forgets the expired ones, or all if none is.
    fn remember(&self, token: &str, claims: &Claims, now: OffsetDateTime) {
        let Ok(mut verified) = self.verified.write() else {
            return;
        };
        if verified.len() >= self.capacity {
            let now = now.unix_timestamp();
            verified.retain(|_, c| c.exp > now - LEEWAY_SECS);
            if verified.len() >= self.capacity {
                verified.clear();
            }
        }
        verified.insert(token.into(), claims.clone());
    }
}

/// Refuses claims outside their validity, as the service's clock tells it.
fn check_times(claims: Claims, now: OffsetDateTime) -> Result<Claims, TokenError> {
    let now = now.unix_timestamp();
    if claims.exp <= now - LEEWAY_SECS {
        return Err(TokenError::Expired);
    }
    if claims.nbf > now + LEEWAY_SECS {
        return Err(TokenError::NotYetValid);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn service(keys: &[SigningKey]) -> TokenService {
        TokenService::new(keys, "casebridge", Duration::from_secs(3600))
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    #[test]
    fn an_issued_token_verifies_with_its_claims() {
        let s = service(&[SigningKey::generate()]);
        let user = UserId::generate();
        let t = s
            .issue(user, "reseller.example", Realm::Reseller, 3, now())
            .unwrap();
        let c = s.verify(&t.token, now()).unwrap();
        assert_eq!(c.sub, user.to_string());
        assert_eq!(c.aud, "reseller.example");
        assert_eq!(c.realm, "reseller");
        assert_eq!(c.ver, 3);
        assert_eq!(c.exp - c.iat, 3600);
    }

    #[test]
    fn a_token_expires_after_its_lifetime() {
        let s = service(&[SigningKey::generate()]);
        let t = s
            .issue(UserId::generate(), "r.example", Realm::Reseller, 0, now())
            .unwrap();
        let later = now() + time::Duration::seconds(3600 + LEEWAY_SECS + 1);
        assert_eq!(s.verify(&t.token, later), Err(TokenError::Expired));
        // Verified (and remembered) while valid, it still expires on time.
        let s = service(&[SigningKey::generate()]);
        let t = s
            .issue(UserId::generate(), "r.example", Realm::Reseller, 0, now())
            .unwrap();
        assert!(s.verify(&t.token, now()).is_ok());
        assert_eq!(s.verify(&t.token, later), Err(TokenError::Expired));
        let early = now() - time::Duration::seconds(LEEWAY_SECS + 1);
        assert_eq!(s.verify(&t.token, early), Err(TokenError::NotYetValid));
    }

    #[test]
    fn a_verified_token_is_remembered_by_its_exact_text_and_the_memory_is_bounded() {
        let mut s = service(&[SigningKey::generate()]);
        s.capacity = 2;
        let tokens: Vec<IssuedToken> = (0..3)
            .map(|_| {
                s.issue(UserId::generate(), "r.example", Realm::Reseller, 0, now())
                    .unwrap()
            })
            .collect();
        for t in &tokens {
            let first = s.verify(&t.token, now()).unwrap();
            assert_eq!(s.verify(&t.token, now()).unwrap(), first);
            assert!(s.verified.read().unwrap().len() <= 2);
        }
        // One character changed in the signature of a remembered token: verified afresh, refused.
        let t = &tokens[2].token;
        let last = t.chars().last().unwrap();
        let forged = format!(
            "{}{}",
            &t[..t.len() - 1],
            if last == 'A' { 'B' } else { 'A' }
        );
        assert!(matches!(
            s.verify(&forged, now()),
            Err(TokenError::Invalid(_))
        ));
    }

    #[test]
    fn a_rotated_out_signer_still_verifies_until_removed() {
        let old = SigningKey::generate();
        let new = SigningKey::generate();
        let before = service(std::slice::from_ref(&old));
        let t = before
            .issue(UserId::generate(), "r.example", Realm::Reseller, 0, now())
            .unwrap();
        let after = service(&[new.clone(), old]);
        assert!(after.verify(&t.token, now()).is_ok());
        let removed = service(&[new]);
        assert_eq!(removed.verify(&t.token, now()), Err(TokenError::UnknownKey));
    }

    #[test]
    fn a_token_of_another_issuer_or_tampered_payload_is_refused() {
        let key = SigningKey::generate();
        let s = service(std::slice::from_ref(&key));
        let other = TokenService::new(
            std::slice::from_ref(&key),
            "someone-else",
            Duration::from_secs(60),
        );
        let t = other
            .issue(UserId::generate(), "r.example", Realm::Reseller, 0, now())
            .unwrap();
        assert!(matches!(
            s.verify(&t.token, now()),
            Err(TokenError::Invalid(_))
        ));
        let good = s
            .issue(UserId::generate(), "r.example", Realm::Reseller, 0, now())
            .unwrap();
        // Remembered as verified: its tampered copy is still refused.
        assert!(s.verify(&good.token, now()).is_ok());
        let mut parts: Vec<String> = good.token.split('.').map(str::to_owned).collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        claims["realm"] = "provider".into();
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
        assert!(matches!(
            s.verify(&parts.join("."), now()),
            Err(TokenError::Invalid(_))
        ));
    }

    #[test]
    fn a_lifetime_over_seven_days_or_of_zero_is_refused() {
        assert!(check_token_ttl(Duration::from_secs(3600)).is_ok());
        assert!(check_token_ttl(MAX_TOKEN_TTL).is_ok());
        let too_long = check_token_ttl(MAX_TOKEN_TTL + Duration::from_secs(1));
        assert!(too_long.is_err_and(|m| m.contains("7 days")));
        assert!(check_token_ttl(Duration::ZERO).is_err());
    }

    #[test]
    fn issuing_with_an_overflowing_lifetime_fails_without_panicking() {
        let s = TokenService::new(
            &[SigningKey::generate()],
            "casebridge",
            Duration::from_secs(u64::MAX),
        );
        let issued = s.issue(UserId::generate(), "r.example", Realm::Reseller, 0, now());
        assert!(matches!(issued, Err(TokenError::Invalid(_))));
        let s = TokenService::new(
            &[SigningKey::generate()],
            "casebridge",
            Duration::from_secs(i64::MAX as u64 / 2),
        );
        let issued = s.issue(UserId::generate(), "r.example", Realm::Reseller, 0, now());
        assert!(matches!(issued, Err(TokenError::Invalid(_))));
    }

    #[test]
    fn a_token_naming_any_critical_extension_is_refused() {
        let key = SigningKey::generate();
        let s = service(std::slice::from_ref(&key));
        let claims = s
            .verify(
                &s.issue(UserId::generate(), "r.example", Realm::Reseller, 0, now())
                    .unwrap()
                    .token,
                now(),
            )
            .unwrap();
        for crit in [vec!["exp".to_owned()], vec!["b64".to_owned()], vec![]] {
            let mut header = Header::new(ALGORITHM);
            header.kid = Some(key.kid.clone());
            header.crit = Some(crit.clone());
            let token =
                jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&key.secret))
                    .unwrap();
            assert!(
                matches!(s.verify(&token, now()), Err(TokenError::Invalid(_))),
                "{crit:?}"
            );
        }
    }

    #[test]
    fn key_specs_are_parsed_and_checked() {
        assert!(SigningKey::parse("k1:short").is_err());
        assert!(SigningKey::parse("no-colon").is_err());
        assert!(SigningKey::parse(&format!("bad kid:{}", "x".repeat(40))).is_err());
        let keys = SigningKey::parse_list(&format!("a:{0},b:{0}", "s".repeat(32))).unwrap();
        assert_eq!(keys.len(), 2);
        assert!(SigningKey::parse_list(&format!("a:{0},a:{0}", "s".repeat(32))).is_err());
        let k = SigningKey::generate();
        assert_eq!(SigningKey::parse(&k.to_spec()).unwrap().kid(), k.kid());
    }
}
