//! Signatures on webhook deliveries, in the style of Stripe's: a receiver can tell that a
//! request came from Eligo, that its body was not changed on the way, and that it is not an old
//! request played again.
//!
//! # What Eligo sends
//!
//! Every webhook request is a `POST` with a JSON body and these headers:
//!
//! ```text
//! Content-Type: application/json
//! Eligo-Event-Id: 5b0c7f3e-8d5a-4d8e-9a51-1f0f6c3a2b7d
//! Eligo-Timestamp: 1735689600
//! Eligo-Signature: t=1735689600,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
//! ```
//!
//! `t` is the Unix time (seconds) at which the request was signed and `v1` is the lowercase hex
//! HMAC-SHA256, keyed with the subscription's (or connector's) secret, of the *signed payload*:
//! the decimal timestamp, a full stop, and the raw request body exactly as received:
//!
//! ```text
//! v1 = hex(HMAC-SHA256(secret, t + "." + raw_body))
//! ```
//!
//! A retry of the same event carries the same `Eligo-Event-Id` but a new timestamp and
//! signature.
//!
//! # Verifying a request (receiver side)
//!
//! 1. Read the raw body bytes *before* parsing the JSON (re-serialising changes the bytes and
//!    breaks the signature).
//! 2. Split `Eligo-Signature` on `,`; split each element on the first `=`. Take the value of
//!    `t` (exactly one, decimal digits) and every value of `v1` (there may be several while a
//!    secret is being rotated). Ignore other keys, which future signature schemes may add. With
//!    no `t` or no `v1`, reject the request.
//! 3. Compute `expected = HMAC-SHA256(secret, t + "." + raw_body)` using `t` exactly as it
//!    appears in the header.
//! 4. Compare `expected` with each `v1` (hex-decoded) in **constant time**; if none matches,
//!    reject the request. When rotating secrets, accept a match under either the old or the new
//!    secret until every sender uses the new one.
//! 5. Reject the request when `t` is more than the tolerance (we suggest
//!    [`REPLAY_WINDOW_SECS`], 5 minutes) before or after your own clock: an older request may
//!    be a replay, a later one comes from a badly wrong clock.
//! 6. Deduplicate on `Eligo-Event-Id` (it is also the body's `id`): a delivery may arrive more
//!    than once, because Eligo retries until it sees a 2xx answer.
//! 7. Answer 2xx quickly (within 10 seconds) and do slow work afterwards. Eligo retries on a
//!    timeout, on 408, 429 and 5xx, and on connection errors; other answers are reported as the
//!    receiver refusing the event.
//!
//! [`verify`] implements steps 2–5 and is what Eligo's own tests use as a receiver.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "Eligo-Signature";
/// The header carrying the event id (the same on every retry of one event).
pub const EVENT_ID_HEADER: &str = "Eligo-Event-Id";
/// The header carrying the signing time, Unix seconds (the same as the signature's `t`).
pub const TIMESTAMP_HEADER: &str = "Eligo-Timestamp";

/// How far a signed timestamp may be from the receiver's clock, either way, by default.
pub const REPLAY_WINDOW_SECS: i64 = 300;

/// Why a signature was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The header is not `t=<digits>,v1=<hex>[,v1=<hex>...]`.
    #[error("the signature header is malformed")]
    Malformed,
    /// No `v1` signature matches the body under this secret.
    #[error("no signature matches the body")]
    Mismatch,
    /// The timestamp is older than the tolerance: possibly a replay.
    #[error("the signature is too old")]
    TooOld,
    /// The timestamp is later than the tolerance allows: a clock is wrong.
    #[error("the signature's timestamp is in the future")]
    FromTheFuture,
}

fn mac_for(secret: &[u8], timestamp: &str, body: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `Eligo-Signature` header value for `body` signed at `timestamp` (Unix seconds).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let t = timestamp.to_string();
    let digest = mac_for(secret, &t, body).finalize().into_bytes();
    format!("t={t},v1={}", hex::encode(digest))
}

/// Checks an `Eligo-Signature` header against the raw body, at `now` (Unix seconds), allowing
/// the timestamp to be up to `tolerance_secs` away from `now` either way. The signature is
/// checked first (in constant time, against every `v1` entry), then the timestamp, so an
/// unauthenticated request learns nothing about the receiver's clock.
pub fn verify(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let mut timestamp: Option<&str> = None;
    let mut candidates: Vec<Vec<u8>> = Vec::new();
    let mut saw_v1 = false;
    for element in header.split(',') {
        let Some((key, value)) = element.trim().split_once('=') else {
            return Err(SignatureError::Malformed);
        };
        match key.trim() {
            "t" => {
                let value = value.trim();
                let digits = !value.is_empty()
                    && value.len() <= 18
                    && value.bytes().all(|b| b.is_ascii_digit());
                if timestamp.is_some() || !digits {
                    return Err(SignatureError::Malformed);
                }
                timestamp = Some(value);
            }
            "v1" => {
                saw_v1 = true;
                // An entry that is not 32 bytes of hex cannot match; others may still.
                if let Ok(bytes) = hex::decode(value.trim())
                    && bytes.len() == 32
                {
                    candidates.push(bytes);
                }
            }
            _ => {} // another scheme: ignored
        }
    }
    let Some(t) = timestamp else {
        return Err(SignatureError::Malformed);
    };
    if !saw_v1 {
        return Err(SignatureError::Malformed);
    }
    let mac = mac_for(secret, t, body);
    // `verify_slice` compares in constant time; every candidate is checked, match or not.
    let matched = candidates
        .iter()
        .fold(false, |ok, c| mac.clone().verify_slice(c).is_ok() | ok);
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    let t: i64 = t.parse().map_err(|_| SignatureError::Malformed)?;
    let tolerance = tolerance_secs.max(0);
    if now.saturating_sub(t) > tolerance {
        return Err(SignatureError::TooOld);
    }
    if t.saturating_sub(now) > tolerance {
        return Err(SignatureError::FromTheFuture);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_0123456789abcdef";
    const BODY: &[u8] = br#"{"id":"1","type":"ping"}"#;
    const T: i64 = 1_735_689_600;

    #[test]
    fn sign_has_the_documented_form() {
        let header = sign(SECRET, T, BODY);
        let (t, v1) = header.split_once(',').unwrap();
        assert_eq!(t, "t=1735689600");
        let hex = v1.strip_prefix("v1=").unwrap();
        assert_eq!(hex.len(), 64);
        assert!(
            hex.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        // The signed payload is "<t>.<body>".
        let mut mac = HmacSha256::new_from_slice(SECRET).unwrap();
        mac.update(b"1735689600.");
        mac.update(BODY);
        assert_eq!(hex, hex::encode(mac.finalize().into_bytes()));
    }

    #[test]
    fn known_vectors() {
        // Computed independently (Python's hmac module).
        assert_eq!(
            sign(b"secret", 0, b""),
            "t=0,v1=3445798a051818ef95def46c2eb62b43d377ce6e3c29b4d0aec3da0e59577f79"
        );
        assert_eq!(
            sign(SECRET, T, BODY),
            "t=1735689600,v1=c434241696e0b555110f9ff30cfb351ee08c54e525ae481812199ec5cfa21c2e"
        );
    }

    #[test]
    fn a_fresh_signature_verifies() {
        let header = sign(SECRET, T, BODY);
        assert_eq!(verify(SECRET, &header, BODY, T, REPLAY_WINDOW_SECS), Ok(()));
        assert_eq!(
            verify(SECRET, &header, BODY, T + 300, REPLAY_WINDOW_SECS),
            Ok(())
        );
        assert_eq!(
            verify(SECRET, &header, BODY, T - 300, REPLAY_WINDOW_SECS),
            Ok(())
        );
    }

    #[test]
    fn wrong_secret_or_changed_body_is_a_mismatch() {
        let header = sign(SECRET, T, BODY);
        assert_eq!(
            verify(b"another-secret-entirely", &header, BODY, T, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, &header, br#"{"id":"2","type":"ping"}"#, T, 300),
            Err(SignatureError::Mismatch)
        );
        // Moving the timestamp breaks the signature too.
        let moved = header.replace("t=1735689600", "t=1735689601");
        assert_eq!(
            verify(SECRET, &moved, BODY, T, 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn old_and_future_timestamps_are_refused() {
        let header = sign(SECRET, T, BODY);
        assert_eq!(
            verify(SECRET, &header, BODY, T + 301, REPLAY_WINDOW_SECS),
            Err(SignatureError::TooOld)
        );
        assert_eq!(
            verify(SECRET, &header, BODY, T - 301, REPLAY_WINDOW_SECS),
            Err(SignatureError::FromTheFuture)
        );
    }

    #[test]
    fn the_signature_is_checked_before_the_clock() {
        let header = sign(b"not-the-receivers-secret", T, BODY);
        assert_eq!(
            verify(SECRET, &header, BODY, T + 10_000, 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn several_v1_entries_allow_key_rotation() {
        let new = sign(SECRET, T, BODY);
        let old = sign(b"the-previous-secret-value", T, BODY);
        let old_v1 = old.split_once(',').unwrap().1;
        let new_v1 = new.split_once(',').unwrap().1;
        let both = format!("t={T},{old_v1},{new_v1}");
        assert_eq!(verify(SECRET, &both, BODY, T, 300), Ok(()));
        assert_eq!(
            verify(b"the-previous-secret-value", &both, BODY, T, 300),
            Ok(())
        );
        assert_eq!(
            verify(b"a-third-unrelated-secret", &both, BODY, T, 300),
            Err(SignatureError::Mismatch)
        );
        // Order and spaces do not matter; unknown schemes are ignored; a garbled v1 entry
        // does not hide a good one.
        let shuffled = format!("{new_v1}, v0=abc , v1=zz, t={T}");
        assert_eq!(verify(SECRET, &shuffled, BODY, T, 300), Ok(()));
    }

    #[test]
    fn malformed_headers() {
        let v1 = sign(SECRET, T, BODY).split_once(',').unwrap().1.to_string();
        for header in [
            String::new(),
            "garbage".to_string(),
            v1.clone(),                             // no t
            format!("t={T}"),                       // no v1
            format!("t=,{v1}"),                     // empty t
            format!("t=-5,{v1}"),                   // not digits
            format!("t=+5,{v1}"),                   // not digits
            format!("t=12abc,{v1}"),                // not digits
            format!("t={T},t={T},{v1}"),            // two timestamps
            format!("t=99999999999999999999,{v1}"), // absurdly long
            format!("t={T},{v1},junk"),             // an element without '='
        ] {
            assert_eq!(
                verify(SECRET, &header, BODY, T, 300),
                Err(SignatureError::Malformed),
                "{header}"
            );
        }
        // A v1 entry that is not hex only fails to match.
        assert_eq!(
            verify(SECRET, &format!("t={T},v1=nothex"), BODY, T, 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_negative_tolerance_means_exactly_now() {
        let header = sign(SECRET, T, BODY);
        assert_eq!(verify(SECRET, &header, BODY, T, -5), Ok(()));
        assert_eq!(
            verify(SECRET, &header, BODY, T + 1, -5),
            Err(SignatureError::TooOld)
        );
    }
}
