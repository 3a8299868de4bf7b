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

/// Where a client's page starts and how long it is, read from its `page_size` and
/// `page_token` against the scope of its query.
#[derive(Debug)]
pub struct PageRequest<P> {
    scope: String,
    size: usize,
    /// The position the page starts after; `None` for the first page.
    pub after: Option<P>,
}

impl<P> PageRequest<P> {
    /// How many rows to fetch: one more than the page, which tells whether another follows.
    pub fn fetch(&self) -> u64 {
        u64::try_from(self.size)
            .unwrap_or(u64::MAX)
            .saturating_add(1)
    }

    /// How many items the page holds at most.
    pub fn size(&self) -> usize {
        self.size
    }
}

/// One page of a list, with the token of the next page (empty on the last) and the size of
/// the whole list.
#[derive(Debug)]
pub struct Page<T> {
    /// The page's items, in the list's order.
    pub items: Vec<T>,
    /// Token of the next page; empty on the last page.
    pub next_page_token: String,
    /// How many items the whole list holds.
    pub total_size: u64,
}

impl<T> Page<T> {
    /// The same page with each item converted.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_page_token: self.next_page_token,
            total_size: self.total_size,
        }
    }
}

/// The `page_size` and `page_token` every list query carries (see [`list_query`]).
pub trait Paged {
    /// The page size asked for.
    fn page_size(&self) -> Option<i64>;
    /// The token of the page asked for.
    fn page_token(&self) -> Option<&str>;
}

impl PageTokens {
    /// The page a client asks for; `scope` names the endpoint, the caller and every filter,
    /// so a token is refused by any other query.
    pub fn request<P: DeserializeOwned>(
        &self,
        scope: String,
        query: &impl Paged,
    ) -> Result<PageRequest<P>, ApiError> {
        let size = usize::try_from(page_size(query.page_size())?).unwrap_or(usize::MAX);
        let after = query
            .page_token()
            .filter(|t| !t.is_empty())
            .map(|t| self.decode(&scope, t))
            .transpose()?;
        Ok(PageRequest { scope, size, after })
    }

    /// The page of `rows` (fetched with [`PageRequest::fetch`]): the extra row cut off, and
    /// the token of the next page made from the last row's `position`.
    pub fn page<T, P: Serialize>(
        &self,
        request: PageRequest<P>,
        mut rows: Vec<T>,
        total_size: u64,
        position: impl FnOnce(&T) -> P,
    ) -> Page<T> {
        let next_page_token = if rows.len() > request.size {
            rows.truncate(request.size);
            rows.last()
                .map(|last| self.encode(&request.scope, &position(last)))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Page {
            items: rows,
            next_page_token,
            total_size,
        }
    }

    /// A token that resumes the request's query right after `position` (a feed's cursors).
    pub fn resume_after<P: Serialize>(&self, request: &PageRequest<P>, position: &P) -> String {
        self.encode(&request.scope, position)
    }

    /// One page of a short list held whole in memory (a domain's roles, a customer's support
    /// partners), by offset.
    pub fn page_of<T>(
        &self,
        scope: String,
        mut all: Vec<T>,
        query: &impl Paged,
    ) -> Result<Page<T>, ApiError> {
        let request: PageRequest<usize> = self.request(scope, query)?;
        let total_size = all.len() as u64;
        let start = request.after.unwrap_or(0).min(all.len());
        let end = start.saturating_add(request.size).min(all.len());
        let next_page_token = if end < all.len() {
            self.encode(&request.scope, &end)
        } else {
            String::new()
        };
        Ok(Page {
            items: all.drain(start..end).collect(),
            next_page_token,
            total_size,
        })
    }
}

/// Declares a list query: the struct as written, followed by the `page_size` and `page_token`
/// fields every list takes, documented once.
macro_rules! list_query {
    ($(#[$meta:meta])* pub struct $name:ident { $($fields:tt)* }) => {
        $(#[$meta])*
        pub struct $name {
            $($fields)*
            /// Page size: default 25, at most 100.
            #[param(minimum = 0)]
            pub page_size: Option<i64>,
            /// The `next_page_token` of the previous page.
            #[param(value_type = Option<crate::wire::text::PageToken>)]
            pub page_token: Option<String>,
        }

        impl $crate::pagination::Paged for $name {
            fn page_size(&self) -> Option<i64> {
                self.page_size
            }
            fn page_token(&self) -> Option<&str> {
                self.page_token.as_deref()
            }
        }
    };
}
pub(crate) use list_query;

/// Declares a list's answer: its items under their own name, `next_page_token` and
/// `total_size`, made from a [`Page`].
macro_rules! list_response {
    (
        $(#[$meta:meta])*
        $name:ident {
            $(#[$items_meta:meta])*
            $items:ident: $item:ident,
            total_size: $total_doc:tt $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            $(#[$items_meta])*
            pub $items: Vec<$item>,
            /// Token of the next page; empty on the last page.
            pub next_page_token: String,
            #[doc = $total_doc]
            pub total_size: u64,
        }

        impl From<$crate::pagination::Page<$item>> for $name {
            fn from(page: $crate::pagination::Page<$item>) -> Self {
                Self {
                    $items: page.items,
                    next_page_token: page.next_page_token,
                    total_size: page.total_size,
                }
            }
        }
    };
}
pub(crate) use list_response;

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
