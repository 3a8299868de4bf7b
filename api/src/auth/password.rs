//! Password hashing: argon2id with OWASP's parameters, PHC strings, and one-time passwords.
//!
//! Hashing is deliberately slow; callers run it off the request threads (`web::block`).

use std::sync::LazyLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng;

/// The current parameters: argon2id, 19 MiB, 2 passes, 1 lane (OWASP's recommendation).
fn hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// Hashes a password into a PHC string.
pub fn hash(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// The outcome of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The password matches; `needs_rehash` when the stored hash is weaker than today's.
    Valid {
        /// Whether to store a fresh hash.
        needs_rehash: bool,
    },
    /// It does not.
    Invalid,
}

/// Whether a stored hash is of a kind sign-in verifies: argon2 PHC strings, and the bcrypt
/// hashes imported from the old support center.
pub fn is_supported_hash(hash: &str) -> bool {
    if is_bcrypt(hash) {
        return hash.parse::<bcrypt::HashParts>().is_ok();
    }
    PasswordHash::new(hash).is_ok_and(|h| h.algorithm.as_str().starts_with("argon2"))
}

fn is_bcrypt(hash: &str) -> bool {
    ["$2a$", "$2b$", "$2y$", "$2x$"]
        .iter()
        .any(|p| hash.starts_with(p))
}

/// Checks a password against a stored hash. A bcrypt hash (imported) or a weaker argon2 hash
/// verifies, and asks to be replaced by today's argon2id.
pub fn verify(password: &str, phc: &str) -> Verification {
    if is_bcrypt(phc) {
        return match bcrypt::verify(password, phc) {
            Ok(true) => Verification::Valid { needs_rehash: true },
            _ => Verification::Invalid,
        };
    }
    let Ok(parsed) = PasswordHash::new(phc) else {
        return Verification::Invalid;
    };
    if hasher()
        .verify_password(password.as_bytes(), &parsed)
        .is_err()
    {
        return Verification::Invalid;
    }
    Verification::Valid {
        needs_rehash: needs_rehash(&parsed),
    }
}

fn needs_rehash(parsed: &PasswordHash<'_>) -> bool {
    if parsed.algorithm != argon2::ARGON2ID_IDENT {
        return true;
    }
    match Params::try_from(parsed) {
        Ok(p) => {
            let current = Params::default();
            p.m_cost() < current.m_cost()
                || p.t_cost() < current.t_cost()
                || p.p_cost() < current.p_cost()
        }
        Err(_) => true,
    }
}

/// A hash of nothing in particular, verified against when the user does not exist, so that
/// an unknown user costs the same time as a wrong password.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash("casebridge-timing-equaliser").unwrap_or_default());

/// Spends the time a real verification takes, and fails.
pub fn verify_nothing(password: &str) -> Verification {
    let _ = verify(password, &DUMMY_HASH);
    Verification::Invalid
}

/// A one-time password: 20 characters from an alphabet without look-alikes (about 110 bits).
pub fn one_time_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..20)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let h = hash("correct horse battery").unwrap_or_default();
        assert!(h.starts_with("$argon2id$"));
        assert_eq!(
            verify("correct horse battery", &h),
            Verification::Valid {
                needs_rehash: false
            }
        );
        assert_eq!(verify("wrong horse battery", &h), Verification::Invalid);
        assert_eq!(verify("x", "not a phc string"), Verification::Invalid);
    }

    #[test]
    fn a_weaker_argon2_hash_asks_to_be_rehashed() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(4096, 1, 1, None).unwrap_or_default(),
        );
        let salt = SaltString::generate(&mut OsRng);
        let h = weak
            .hash_password(b"correct horse battery", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default();
        assert_eq!(
            verify("correct horse battery", &h),
            Verification::Valid { needs_rehash: true }
        );
    }

    #[test]
    fn an_imported_bcrypt_hash_verifies_and_asks_to_be_rehashed() {
        let h = bcrypt::hash("old support center password", 4).unwrap_or_default();
        assert!(is_supported_hash(&h));
        assert_eq!(
            verify("old support center password", &h),
            Verification::Valid { needs_rehash: true }
        );
        assert_eq!(verify("wrong", &h), Verification::Invalid);
        assert!(!is_supported_hash("md5:abcdef"));
        assert!(is_supported_hash(&hash("x").unwrap_or_default()));
    }

    #[test]
    fn one_time_passwords_are_long_and_differ() {
        let a = one_time_password();
        assert_eq!(a.len(), 20);
        assert_ne!(a, one_time_password());
    }
}
