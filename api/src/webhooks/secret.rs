//! Endpoint secrets and the `webhook-signature` header, per the Standard Webhooks
//! specification: `v1,` + base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use rand::rngs::OsRng;
use sha2::Sha256;

/// The prefix that marks a Standard Webhooks secret.
const PREFIX: &str = "whsec_";

/// Bytes of key drawn for a new secret.
const GENERATED_LEN: usize = 32;

/// Fewest key bytes a secret may carry (the issue and the specification agree on 24).
const MIN_LEN: usize = 24;

/// Most key bytes a secret may carry: the specification's upper bound, which also keeps a
/// stored value from growing without limit.
const MAX_LEN: usize = 64;

/// A signing key shared with one endpoint; its `Debug` never shows the key.
#[derive(Clone)]
pub struct Secret {
    /// The decoded key, kept to write the secret back out.
    key: Vec<u8>,
    /// HMAC-SHA256 already keyed, cloned for each signature.
    mac: Hmac<Sha256>,
}

/// Why a string is not a secret; it never repeats the string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The string does not start with `whsec_`.
    #[error("a webhook secret starts with \"whsec_\"")]
    MissingPrefix,
    /// What follows the prefix is not standard base64.
    #[error("a webhook secret is \"whsec_\" followed by standard base64")]
    NotBase64,
    /// The key is shorter or longer than the specification allows.
    #[error("a webhook secret holds {MIN_LEN} to {MAX_LEN} bytes, not {0}")]
    Length(usize),
}

impl Secret {
    /// A new secret of 32 bytes from the operating system's random number generator.
    ///
    /// Panics only if the operating system cannot supply random bytes at all.
    pub fn generate() -> Self {
        let mut key = [0u8; GENERATED_LEN];
        OsRng.fill_bytes(&mut key);
        // 32 bytes are within bounds, so this cannot fail; the match keeps it panic-free.
        match Self::from_key(key.to_vec()) {
            Ok(secret) => secret,
            Err(_) => unreachable!("a generated key has a valid length"),
        }
    }

    /// Parses the stored form, `whsec_` + standard base64 of 24 to 64 bytes.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let encoded = text
            .strip_prefix(PREFIX)
            .ok_or(SecretError::MissingPrefix)?;
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| SecretError::NotBase64)?;
        Self::from_key(key)
    }

    /// A secret over raw key bytes, checking their length.
    fn from_key(key: Vec<u8>) -> Result<Self, SecretError> {
        if !(MIN_LEN..=MAX_LEN).contains(&key.len()) {
            return Err(SecretError::Length(key.len()));
        }
        // HMAC takes a key of any length; the error arm exists only in the trait's signature.
        let mac =
            Hmac::<Sha256>::new_from_slice(&key).map_err(|_| SecretError::Length(key.len()))?;
        Ok(Self { key, mac })
    }

    /// The base64 HMAC-SHA256 of `{msg_id}.{timestamp}.{body}` under this key.
    fn signature(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = self.mac.clone();
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        STANDARD.encode(mac.finalize().into_bytes())
    }
}

impl std::fmt::Display for Secret {
    /// The stored form, `whsec_` + standard base64: this is the one way the key is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{PREFIX}{}", STANDARD.encode(&self.key))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(whsec_…)")
    }
}

impl std::str::FromStr for Secret {
    type Err = SecretError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// The `webhook-signature` header value: `v1,<base64>` for each secret, space-separated, so
/// that during a rotation a receiver holding either secret can verify the message.
pub fn sign(secrets: &[Secret], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|secret| format!("v1,{}", secret.signature(msg_id, timestamp, body)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// The Standard Webhooks specification's own example message.
    const MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn signature_matches_a_vector_computed_with_python() {
        // Computed independently, and equal to the example in the specification:
        // python3 -c 'import hmac,hashlib,base64; k=base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        //   print(base64.b64encode(hmac.new(k, b"msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{\"test\": 2432232314}",
        //   hashlib.sha256).digest()).decode())'
        let secret = Secret::parse(SPEC_SECRET).unwrap();

        let header = sign(&[secret], MSG_ID, TIMESTAMP, BODY);

        assert_eq!(header, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_rotation_gives_both_signatures_space_separated() {
        // The second key is bytes 0..32; its signature computed as above with
        // k=bytes(range(32)), giving "O4Gjv1HqPqsMrjmczoggs/sWA8gZD0VyHG+fLh4+ktI=".
        let new = Secret::parse("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
        let old = Secret::parse(SPEC_SECRET).unwrap();

        let header = sign(&[new, old], MSG_ID, TIMESTAMP, BODY);

        assert_eq!(
            header,
            "v1,O4Gjv1HqPqsMrjmczoggs/sWA8gZD0VyHG+fLh4+ktI= \
             v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_generated_secret_holds_32_bytes_and_reads_back() {
        let secret = Secret::generate();
        let text = secret.to_string();

        let again = Secret::parse(&text).unwrap();

        assert!(text.starts_with("whsec_"));
        assert_eq!(secret.key.len(), 32);
        assert_eq!(again.key, secret.key);
        assert_ne!(Secret::generate().key, secret.key);
    }

    #[test]
    fn debug_never_shows_the_key() {
        let secret = Secret::parse(SPEC_SECRET).unwrap();

        let shown = format!("{secret:?} {:#?}", Some(&secret));

        assert!(
            !shown.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            "{shown}"
        );
    }

    #[test]
    fn parse_refuses_a_secret_without_the_prefix() {
        assert_eq!(
            Secret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_err(),
            SecretError::MissingPrefix
        );
        assert_eq!(
            Secret::parse("WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_err(),
            SecretError::MissingPrefix
        );
    }

    #[test]
    fn parse_refuses_malformed_base64() {
        for text in [
            "whsec_not base64!",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",
            "whsec_",
        ] {
            assert!(Secret::parse(text).is_err(), "{text}");
        }
        assert_eq!(
            Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8I-PZIo2LaLaSw").unwrap_err(),
            SecretError::NotBase64
        );
    }

    #[test]
    fn parse_refuses_a_key_shorter_than_24_bytes_or_longer_than_64() {
        let short = format!("whsec_{}", STANDARD.encode([7u8; 23]));
        let long = format!("whsec_{}", STANDARD.encode([7u8; 65]));

        assert_eq!(Secret::parse(&short).unwrap_err(), SecretError::Length(23));
        assert_eq!(Secret::parse(&long).unwrap_err(), SecretError::Length(65));
        assert!(Secret::parse(&format!("whsec_{}", STANDARD.encode([7u8; 24]))).is_ok());
        assert!(Secret::parse(&format!("whsec_{}", STANDARD.encode([7u8; 64]))).is_ok());
    }
}
