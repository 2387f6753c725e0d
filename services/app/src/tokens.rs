//! Secrets handed to clients. Only their SHA-256 is stored.
//!
//! A booking's management token is an HMAC, under the server's secret, of the tenant and a
//! random nonce stored with the booking ([`manage_token`]). Why derived rather than random:
//! every later e-mail about the booking (the confirmation after a link or a code, a new time)
//! must carry a working link, yet the database may hold only hashes of secrets. The server
//! re-derives the token from the stored nonce when it writes such an e-mail; the database alone
//! (nonce and SHA-256 of the token) reveals no token, and a token cannot be guessed from a
//! booking's id or code. A retried request with the same idempotency key replays the stored
//! booking, whose nonce gives the same token. Changing `OKIENKO_SECRET` leaves the issued links
//! working (they are looked up by hash) but later e-mails of older bookings then link to the
//! city's booking start instead (the derived token no longer matches the stored hash).
//!
//! Bookings stored before the nonce existed had a random token, or with an idempotency key an
//! HMAC of that key ([`derived_token`]); the latter can still be re-derived.

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

/// The token of a booking stored before nonces, made with an idempotency key.
pub fn derived_token(secret: &[u8], tenant: i64, idempotency_key: &str) -> String {
    keyed(secret, &format!("manage|{tenant}|{idempotency_key}"))
}

/// A fresh nonce for a new booking's management token.
pub fn manage_nonce() -> String {
    random_token()
}

/// The management token of a booking with this nonce.
pub fn manage_token(secret: &[u8], tenant: i64, nonce: &str) -> String {
    keyed(secret, &format!("booking|{tenant}|{nonce}"))
}

fn keyed(secret: &[u8], text: &str) -> String {
    // HMAC accepts keys of any length; an empty secret still yields a MAC.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return random_token(),
    };
    mac.update(text.as_bytes());
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

    #[test]
    fn manage_tokens_come_from_secret_and_nonce() {
        let n = manage_nonce();
        let t = manage_token(b"s1", 1, &n);
        assert_eq!(t, manage_token(b"s1", 1, &n));
        assert_ne!(t, manage_token(b"s2", 1, &n), "the secret matters");
        assert_ne!(
            t,
            manage_token(b"s1", 1, &manage_nonce()),
            "the nonce matters"
        );
        assert_ne!(t, manage_token(b"s1", 2, &n), "the tenant matters");
        assert_ne!(t, n, "the nonce is not the token");
        assert_eq!(t.len(), 43);
    }
}
