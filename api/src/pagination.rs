//! List conventions: `page_size` and opaque, tamper-proof `page_token`s bound to the query
//! they came from.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::problem::{ApiError, ErrorCode, FieldIssue};

/// Page size when the client asks for none (or 0).
pub const DEFAULT_PAGE_SIZE: u64 = 25;
/// Largest page; larger requests are clamped.
pub const MAX_PAGE_SIZE: u64 = 100;

/// The page size a client asked for, clamped; negative sizes are refused.
pub fn page_size(requested: Option<i64>) -> Result<u64, ApiError> {
    match requested {
        None | Some(0) => Ok(DEFAULT_PAGE_SIZE),
        Some(n) if n < 0 => Err(ApiError::new(
            ErrorCode::InvalidQueryParameter,
            "page_size must not be negative.",
        )
        .with_errors(vec![FieldIssue {
            field: "page_size".to_owned(),
            code: "out_of_range".to_owned(),
            message: "must be 0 (the default of 25) or more; sizes over 100 are clamped".to_owned(),
        }])),
        Some(n) => Ok(u64::try_from(n).unwrap_or(MAX_PAGE_SIZE).min(MAX_PAGE_SIZE)),
    }
}

type HmacSha256 = Hmac<Sha256>;

/// Signs and checks page tokens.
#[derive(Clone)]
pub struct PageTokens {
    key: Vec<u8>,
}

impl std::fmt::Debug for PageTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageTokens")
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Envelope<P> {
    /// Fingerprint of the query the token belongs to.
    q: String,
    /// Where the next page starts.
    p: P,
}

impl PageTokens {
    /// Tokens signed with a key derived from `secret` (so the signing secret itself is never
    /// used for two purposes).
    pub fn new(secret: &[u8]) -> Self {
        let mut mac = keyed(secret);
        mac.update(b"casebridge page tokens v1");
        Self {
            key: mac.finalize().into_bytes().to_vec(),
        }
    }

    fn mac(&self) -> HmacSha256 {
        keyed(&self.key)
    }

    /// A token for the page starting after `position`, bound to the query `scope` (the
    /// endpoint, the caller's domain and every filter).
    pub fn encode<P: Serialize>(&self, scope: &str, position: &P) -> String {
        let envelope = Envelope {
            q: fingerprint(scope),
            p: position,
        };
        let payload = serde_json::to_vec(&envelope).unwrap_or_default();
        let mut mac = self.mac();
        mac.update(&payload);
        let tag = mac.finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The position a token carries, if it is genuine and belongs to this query.
    pub fn decode<P: DeserializeOwned>(&self, scope: &str, token: &str) -> Result<P, ApiError> {
        let invalid = |why: &str| {
            ApiError::new(
                ErrorCode::InvalidPageToken,
                format!("The page token {why}; start again from the first page."),
            )
        };
        let (payload, tag) = token
            .split_once('.')
            .ok_or_else(|| invalid("is malformed"))?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| invalid("is malformed"))?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| invalid("is malformed"))?;
        let mut mac = self.mac();
        mac.update(&payload);
        // The whole 32-byte tag, compared in constant time: a shortened tag would let a forger
        // guess one byte at a time.
        mac.verify_slice(&tag)
            .map_err(|_| invalid("was not issued by this service"))?;
        let envelope: Envelope<P> =
            serde_json::from_slice(&payload).map_err(|_| invalid("is malformed"))?;
        if envelope.q != fingerprint(scope) {
            return Err(invalid("belongs to a query with other filters"));
        }
        Ok(envelope.p)
    }
}

fn fingerprint(scope: &str) -> String {
    let digest = Sha256::digest(scope.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..12])
}

/// An HMAC with this key. HMAC accepts keys of every length, so this cannot fail.
#[allow(clippy::expect_used)]
fn keyed(key: &[u8]) -> HmacSha256 {
    <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes keys of any length")
}

/// One page of a short list held in memory (a domain's roles, a customer's support partners),
/// with an offset token bound to the scope.
pub fn page_of<T: Clone>(
    pages: &PageTokens,
    scope: &str,
    all: &[T],
    size: Option<i64>,
    token: Option<&str>,
) -> Result<(Vec<T>, String), ApiError> {
    let size = usize::try_from(page_size(size)?).unwrap_or(usize::MAX);
    let start: usize = token
        .filter(|t| !t.is_empty())
        .map(|t| pages.decode::<usize>(scope, t))
        .transpose()?
        .unwrap_or(0)
        .min(all.len());
    let end = start.saturating_add(size).min(all.len());
    let next = if end < all.len() {
        pages.encode(scope, &end)
    } else {
        String::new()
    };
    Ok((all[start..end].to_vec(), next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_default_clamp_and_refuse_negatives() {
        assert_eq!(page_size(None).ok(), Some(25));
        assert_eq!(page_size(Some(0)).ok(), Some(25));
        assert_eq!(page_size(Some(7)).ok(), Some(7));
        assert_eq!(page_size(Some(1000)).ok(), Some(100));
        assert_eq!(
            page_size(Some(-1)).err().map(|e| e.code()),
            Some(ErrorCode::InvalidQueryParameter)
        );
    }

    #[test]
    fn a_token_round_trips_only_for_its_own_query() {
        let t = PageTokens::new(b"secret");
        let token = t.encode("cases|domain|status=open", &(42_i64, "abc"));
        let back: (i64, String) = t
            .decode("cases|domain|status=open", &token)
            .unwrap_or_default();
        assert_eq!(back, (42, "abc".to_owned()));
        let other = t.decode::<(i64, String)>("cases|domain|status=closed", &token);
        assert_eq!(
            other.err().map(|e| e.code()),
            Some(ErrorCode::InvalidPageToken)
        );
    }

    #[test]
    fn a_genuine_tag_cut_short_is_refused_at_every_length() {
        let t = PageTokens::new(b"secret");
        let token = t.encode("s", &1_i64);
        let (payload, tag) = token.split_once('.').unwrap_or_default();
        let tag = URL_SAFE_NO_PAD.decode(tag).unwrap_or_default();
        assert_eq!(tag.len(), 32, "the whole HMAC-SHA256 tag is issued");
        for len in 1..tag.len() {
            let short = format!("{payload}.{}", URL_SAFE_NO_PAD.encode(&tag[..len]));
            assert_eq!(
                t.decode::<i64>("s", &short).err().map(|e| e.code()),
                Some(ErrorCode::InvalidPageToken),
                "a tag of {len} bytes"
            );
        }
        assert_eq!(t.decode::<i64>("s", &token).ok(), Some(1));
    }

    #[test]
    fn a_tampered_or_foreign_token_is_refused() {
        let t = PageTokens::new(b"secret");
        let token = t.encode("s", &1_i64);
        let (payload, tag) = token.split_once('.').unwrap_or_default();
        let forged_payload = URL_SAFE_NO_PAD.encode(br#"{"q":"x","p":2}"#);
        for bad in [
            format!("{forged_payload}.{tag}"),
            format!("{payload}.AAAA"),
            "garbage".to_owned(),
            PageTokens::new(b"other").encode("s", &1_i64),
        ] {
            assert_eq!(
                t.decode::<i64>("s", &bad).err().map(|e| e.code()),
                Some(ErrorCode::InvalidPageToken),
                "{bad}"
            );
        }
    }
}
