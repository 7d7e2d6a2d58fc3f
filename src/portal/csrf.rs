//! Anti-forgery tokens. Every form carries a hidden `csrf` field that only Eligo can compute:
//! an HMAC of the session (or, before sign-in, of a random cookie) under a key derived from the
//! server's link key. A page from another site cannot read it, so it cannot forge a form post;
//! a token from an ended session no longer matches.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// A token bound to `purpose` (e.g. "session") and `subject` (e.g. the session's hash).
pub fn token(key: &[u8; 32], purpose: &str, subject: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"eligo-portal-csrf\0");
    mac.update(purpose.as_bytes());
    mac.update(b"\0");
    mac.update(subject.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Does `given` match the token for `purpose` and `subject`? Compared in constant time.
pub fn verify(key: &[u8; 32], purpose: &str, subject: &str, given: &str) -> bool {
    crate::auth::token::digests_equal(&token(key, purpose, subject), given)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_matches_only_its_own_subject_purpose_and_key() {
        let key = [7u8; 32];
        let t = token(&key, "session", "abc");
        assert!(verify(&key, "session", "abc", &t));
        assert!(!verify(&key, "session", "abd", &t));
        assert!(!verify(&key, "presession", "abc", &t));
        assert!(!verify(&[8u8; 32], "session", "abc", &t));
        assert!(!verify(&key, "session", "abc", ""));
    }
}
