//! TOTP per RFC 6238 (SHA-1, 6 digits, 30 s steps, one step of clock skew either way). A code is
//! accepted once: the matched step is remembered and only a later step is accepted after it.

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use totp_rs::{Builder, Secret};

/// What the store keeps for a principal's TOTP.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TotpCredential {
    pub secret_base32: String,
    /// False until the holder proves they set up their authenticator.
    pub verified: bool,
    /// The last accepted step; a code for this step or an earlier one is a replay.
    pub last_step: Option<u64>,
    /// A pending enrolment belongs to the session that started it (its token hash) and
    /// expires: another session never sees or completes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_session: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_until: Option<chrono::DateTime<chrono::Utc>>,
}

pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    Secret::from(bytes).to_base32()
}

fn totp(secret_base32: &str, account: &str) -> Option<totp_rs::Totp> {
    let secret = Secret::try_from_base32(secret_base32).ok()?;
    Builder::new()
        .with_secret(secret)
        .with_account_name(account.replace(':', "_"))
        .with_issuer(Some("Eligo"))
        .build()
        .ok()
}

pub fn otpauth_uri(secret_base32: &str, account: &str) -> Option<String> {
    totp(secret_base32, account)?.to_url().ok()
}

/// The step a valid, unused code matches, or None.
pub fn check(cred: &TotpCredential, code: &str, now: DateTime<Utc>) -> Option<u64> {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = totp(&cred.secret_base32, "x")?;
    let step = t.check(code, u64::try_from(now.timestamp()).ok()?)?;
    match cred.last_step {
        Some(last) if step <= last => None,
        _ => Some(step),
    }
}

/// The code for `now` (tests, the demo tenant's documentation, and the CLI's self-checks).
pub fn code_at(secret_base32: &str, now: DateTime<Utc>) -> Option<String> {
    let t = totp(secret_base32, "x")?;
    Some(t.generate(u64::try_from(now.timestamp()).ok()?).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vector() {
        // RFC 6238 appendix B: secret "12345678901234567890", T = 59 s -> 94287082 (8 digits);
        // the 6-digit code is its last six digits.
        let secret = Secret::from(b"12345678901234567890".to_vec()).to_base32();
        let t = DateTime::from_timestamp(59, 0).unwrap();
        assert_eq!(code_at(&secret, t).unwrap(), "287082");
        let t = DateTime::from_timestamp(1_111_111_109, 0).unwrap();
        assert_eq!(code_at(&secret, t).unwrap(), "081804");
    }

    #[test]
    fn codes_are_accepted_once() {
        let secret = new_secret();
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut cred = TotpCredential {
            pending_session: None,
            pending_until: None,
            secret_base32: secret.clone(),
            verified: true,
            last_step: None,
        };
        let code = code_at(&secret, now).unwrap();
        let step = check(&cred, &code, now).expect("fresh code accepted");
        cred.last_step = Some(step);
        assert_eq!(check(&cred, &code, now), None, "replay refused");
        assert_eq!(check(&cred, "12345", now), None);
        assert_eq!(check(&cred, "abcdef", now), None);
        let later = now + chrono::TimeDelta::seconds(60);
        assert!(check(&cred, &code_at(&secret, later).unwrap(), later).is_some());
    }
}
