//! Secrets handed to clients. Only their SHA-256 is stored.
//!
//! A management token is random, except when the request carries an idempotency key: then
//! it is an HMAC of the key under the server's secret, so a retried request gets the same
//! token back without the token itself ever being stored.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

pub fn derived_token(secret: &[u8], tenant: i64, idempotency_key: &str) -> String {
    // HMAC accepts keys of any length; an empty secret still yields a MAC.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return random_token(),
    };
    mac.update(format!("manage|{tenant}|{idempotency_key}").as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A confirmation code's hash, salted with the booking's token hash.
pub fn code_hash(manage_hash: &str, code: &str) -> String {
    hash(&format!("{manage_hash}:{code}"))
}

/// Six digits for the e-mailed or SMS confirmation code (OP-7).
pub fn numeric_code() -> String {
    format!("{:06}", rand::random::<u32>() % 1_000_000)
}

pub fn human_code() -> String {
    let mut b = [0u8; okienko_domain::booking::CODE_LEN];
    rand::thread_rng().fill_bytes(&mut b);
    okienko_domain::booking::code_from_bytes(&b)
}

/// Compares two strings in time independent of where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_tokens_are_stable_and_keyed() {
        let a = derived_token(b"s1", 1, "k");
        assert_eq!(a, derived_token(b"s1", 1, "k"));
        assert_ne!(a, derived_token(b"s2", 1, "k"));
        assert_ne!(a, derived_token(b"s1", 2, "k"));
        assert_ne!(random_token(), random_token());
        assert_eq!(numeric_code().len(), 6);
        assert!(same("abc", "abc") && !same("abc", "abd"));
    }
}
