//! Signed, single-use approve/deny links. An approval mail carries two links, each a token
//! `base64url(claims JSON) "." base64url(HMAC-SHA256(key, first part))` naming the request, the
//! stage, the approver the mail went to, the decision and when the link stops working. The
//! token proves that Eligo minted it; that it is used once is the store's job (it records
//! [`token_hash`] of every used token), and whether the approver may still decide is checked
//! again when the link is used (approvers change).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use eligo_store::Store;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::Config;
use crate::error::{ApiError, ApiResult};

type HmacSha256 = Hmac<Sha256>;

/// Longer tokens are refused before any decoding (a real one is about 350 characters).
const MAX_TOKEN_LEN: usize = 2048;

/// What a link decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Decision {
    Approve,
    Deny,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Deny => "deny",
        }
    }
}

/// What a link says, signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LinkClaims {
    /// The schedule request (also the approval id).
    pub request_id: Uuid,
    /// The approval stage the mail was about.
    pub step_id: Uuid,
    /// The approver the mail went to: who decides when the link is used.
    pub approver_id: Uuid,
    pub decision: Decision,
    pub expires_at: DateTime<Utc>,
    /// Makes every minted token distinct, so each is used once on its own.
    pub nonce: Uuid,
}

/// Why a token is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    /// Not a token Eligo makes (truncated, mangled, not base64, not our JSON).
    Malformed,
    /// Well formed, but the signature does not match (changed, or signed with another key).
    Tampered,
    /// Genuine, but past its `expires_at`.
    Expired,
}

/// `base64url(json) "." base64url(HMAC-SHA256(key, base64url(json)))`.
pub fn sign(key: &[u8; 32], claims: &LinkClaims) -> String {
    let json = serde_json::to_vec(claims).expect("link claims serialize");
    let payload = URL_SAFE_NO_PAD.encode(json);
    let mac = mac_of(key, payload.as_bytes());
    format!("{payload}.{}", URL_SAFE_NO_PAD.encode(mac))
}

/// The claims of a genuine, unexpired token. The MAC is checked (in constant time) before the
/// claims are read; a token is expired from its `expires_at` on.
pub fn verify(key: &[u8; 32], token: &str, now: DateTime<Utc>) -> Result<LinkClaims, LinkRefusal> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(LinkRefusal::Malformed);
    }
    let (payload, signature) = token.split_once('.').ok_or(LinkRefusal::Malformed)?;
    if payload.is_empty() || signature.contains('.') {
        return Err(LinkRefusal::Malformed);
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| LinkRefusal::Malformed)?;
    let json = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| LinkRefusal::Malformed)?;
    if signature.len() != 32 {
        return Err(LinkRefusal::Malformed);
    }
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(payload.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| LinkRefusal::Tampered)?;
    let claims: LinkClaims = serde_json::from_slice(&json).map_err(|_| LinkRefusal::Malformed)?;
    if now >= claims.expires_at {
        return Err(LinkRefusal::Expired);
    }
    Ok(claims)
}

/// Hex SHA-256 of a token: what the store records once the token is used.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The approve and deny links of one approval mail:
/// `{public_url}/approvals/decide?token=...` each.
pub fn approval_links(
    key: &[u8; 32],
    public_url: &str,
    request_id: Uuid,
    step_id: Uuid,
    approver_id: Uuid,
    expires_at: DateTime<Utc>,
    nonce: Uuid,
) -> (String, String) {
    let link = |decision| {
        let token = sign(
            key,
            &LinkClaims {
                request_id,
                step_id,
                approver_id,
                decision,
                expires_at,
                nonce,
            },
        );
        // base64url and '.' need no escaping in a query.
        format!(
            "{}/approvals/decide?token={token}",
            public_url.trim_end_matches('/')
        )
    };
    (link(Decision::Approve), link(Decision::Deny))
}

fn mac_of(key: &[u8; 32], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The name of the generated link-signing key in the store.
const KEY_NAME: &str = "link-key";

/// The link-signing key: SHA-256 of `ELIGO_LINK_SECRET`, or a random key generated on first
/// start and kept in the store (shared by every server on the database: whoever stores it
/// first wins, the others read it back).
pub async fn load_key(store: &Arc<dyn Store>, config: &Config) -> ApiResult<[u8; 32]> {
    if let Some(secret) = &config.link_secret {
        return Ok(Sha256::digest(secret.expose().as_bytes()).into());
    }
    if let Some(key) = stored_key(store).await? {
        return Ok(key);
    }
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    // When the key was made, for people reading the table; not a decision, so the wall clock
    // through the one sanctioned reader is fine here (App::open gives no clock to this).
    let at = crate::clock::Clock::now(&crate::clock::SystemClock).timestamp_micros();
    let mut tx = store.write().await?;
    let created = tx.put_server_secret(KEY_NAME, &key, at).await?;
    tx.commit().await?;
    if created {
        return Ok(key);
    }
    // Another server stored one first: use theirs.
    stored_key(store).await?.ok_or_else(|| {
        ApiError::internal(
            "loading the link-signing key",
            "the key was stored by another server but cannot be read back",
        )
    })
}

async fn stored_key(store: &Arc<dyn Store>) -> ApiResult<Option<[u8; 32]>> {
    let mut tx = store.read().await?;
    match tx.get_server_secret(KEY_NAME).await? {
        None => Ok(None),
        Some(bytes) => <[u8; 32]>::try_from(bytes.as_slice())
            .map(Some)
            .map_err(|_| {
                ApiError::internal(
                    "loading the link-signing key",
                    format!("the stored {KEY_NAME} has {} bytes, not 32", bytes.len()),
                )
            }),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    const KEY: [u8; 32] = [7; 32];

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn claims() -> LinkClaims {
        LinkClaims {
            request_id: Uuid::from_u128(1),
            step_id: Uuid::from_u128(2),
            approver_id: Uuid::from_u128(3),
            decision: Decision::Approve,
            expires_at: now() + TimeDelta::days(1),
            nonce: Uuid::from_u128(4),
        }
    }

    #[test]
    fn a_signed_token_verifies_to_its_claims() {
        let token = sign(&KEY, &claims());
        assert_eq!(verify(&KEY, &token, now()), Ok(claims()));
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
            "URL-safe: {token}"
        );
    }

    #[test]
    fn every_changed_byte_is_tampering_or_malformed_never_accepted() {
        let token = sign(&KEY, &claims());
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(bytes).unwrap();
            if changed == token {
                continue;
            }
            let verdict = verify(&KEY, &changed, now());
            assert!(
                matches!(verdict, Err(LinkRefusal::Tampered | LinkRefusal::Malformed)),
                "byte {i}: {verdict:?}"
            );
        }
        // A changed claim re-encoded without the key is tampering.
        let (_, signature) = token.split_once('.').unwrap();
        let mut forged = claims();
        forged.decision = Decision::Deny;
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(
            verify(&KEY, &format!("{payload}.{signature}"), now()),
            Err(LinkRefusal::Tampered)
        );
    }

    #[test]
    fn another_key_is_tampering() {
        let token = sign(&[8; 32], &claims());
        assert_eq!(verify(&KEY, &token, now()), Err(LinkRefusal::Tampered));
    }

    #[test]
    fn a_token_expires_at_its_instant() {
        let token = sign(&KEY, &claims());
        let end = claims().expires_at;
        assert!(verify(&KEY, &token, end - TimeDelta::microseconds(1)).is_ok());
        assert_eq!(verify(&KEY, &token, end), Err(LinkRefusal::Expired));
        assert_eq!(
            verify(&KEY, &token, end + TimeDelta::days(30)),
            Err(LinkRefusal::Expired)
        );
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let token = sign(&KEY, &claims());
        let (payload, signature) = token.split_once('.').unwrap();
        let long = "a".repeat(5000);
        for bad in [
            "",
            ".",
            "abc",
            "no-dot-at-all",
            &format!("{payload}."),
            &format!(".{signature}"),
            &format!("{payload}.{signature}.x"),
            &format!("{payload}.{}", &signature[..10]),
            &format!("{payload}!.{signature}"),
            &format!("{payload}.{signature}="),
            long.as_str(),
        ] {
            assert_eq!(
                verify(&KEY, bad, now()),
                Err(LinkRefusal::Malformed),
                "{bad:?}"
            );
        }
        // Correctly signed but not our claims: malformed too.
        let payload = URL_SAFE_NO_PAD.encode(br#"{"hello":"world"}"#);
        let mac = URL_SAFE_NO_PAD.encode(mac_of(&KEY, payload.as_bytes()));
        assert_eq!(
            verify(&KEY, &format!("{payload}.{mac}"), now()),
            Err(LinkRefusal::Malformed)
        );
    }

    #[test]
    fn token_hash_is_hex_sha256() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn approval_links_point_at_the_decide_page_with_one_token_each() {
        let c = claims();
        let (approve, deny) = approval_links(
            &KEY,
            "https://eligo.example/",
            c.request_id,
            c.step_id,
            c.approver_id,
            c.expires_at,
            c.nonce,
        );
        let token_of = |url: &str| {
            url.strip_prefix("https://eligo.example/approvals/decide?token=")
                .unwrap()
                .to_string()
        };
        let a = verify(&KEY, &token_of(&approve), now()).unwrap();
        let d = verify(&KEY, &token_of(&deny), now()).unwrap();
        assert_eq!(a, c);
        assert_eq!(d.decision, Decision::Deny);
        assert_ne!(
            token_hash(&token_of(&approve)),
            token_hash(&token_of(&deny))
        );
    }
}
