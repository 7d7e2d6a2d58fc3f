//! Passkeys (WebAuthn) as a second factor: the relying party built from `ELIGO_PUBLIC_URL`
//! (RP ID = its host, origin = it), what the store keeps for a person's passkeys, and the
//! pending ceremonies. A ceremony's state (its challenge) never leaves the server: it is kept in
//! the store, sealed like every credential, bound to the session (registration, step-up) or to
//! the user whose password was just proved (sign-in), expires after [`CEREMONY_LIFETIME`] and is
//! spent by its first answer, right or wrong. The store is shared, so any server finishes what
//! another began.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use webauthn_rs::prelude::{
    Passkey, PasskeyAuthentication, PasskeyRegistration, Url, Webauthn, WebauthnBuilder,
};

use crate::failure::Failure;

/// The credential kind holding a person's passkeys (a list, sealed with the other credentials).
pub const KIND: &str = "passkeys";
/// Pending ceremonies, one per purpose and person: a new one replaces the one before.
pub const REGISTRATION: &str = "passkeyRegistration";
pub const STEP_UP: &str = "passkeyStepUp";
pub const SIGN_IN: &str = "passkeySignIn";
/// How long a challenge waits for its answer.
pub const CEREMONY_LIFETIME: TimeDelta = TimeDelta::minutes(5);
/// The amr value a passkey adds to a session.
pub const METHOD: &str = "fido";
/// A person's passkeys at most (the list lives in one credential row).
pub const MAX_PER_PERSON: usize = 20;

/// The relying party of `public_url`, or why passkeys are off (WebAuthn needs a host name:
/// `localhost` or a domain, never an IP address).
pub fn relying_party(public_url: &str) -> Result<Webauthn, Failure> {
    let unavailable = || {
        Failure::bad_request(
            "PasskeysUnavailable",
            "passkeys need ELIGO_PUBLIC_URL with a host name (https://eligo.example.com, or http://localhost:PORT for a test), not an IP address",
        )
    };
    let origin = Url::parse(public_url).map_err(|_| unavailable())?;
    let host = origin.domain().ok_or_else(unavailable)?.to_string();
    WebauthnBuilder::new(&host, &origin)
        .map_err(|_| unavailable())?
        .rp_name("Eligo")
        .timeout(std::time::Duration::from_secs(
            CEREMONY_LIFETIME.num_seconds().unsigned_abs(),
        ))
        .build()
        .map_err(|_| unavailable())
}

/// One registered passkey (Graph's fido2AuthenticationMethod, plus the key itself).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredPasskey {
    pub id: Uuid,
    pub display_name: String,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub aaguid: Option<Uuid>,
    #[serde(default)]
    pub last_used_at: Option<DateTime<Utc>>,
    pub passkey: Passkey,
}

impl StoredPasskey {
    /// The Graph-shaped view (never the key).
    pub fn view(&self) -> serde_json::Value {
        serde_json::json!({
            "@odata.type": "#microsoft.graph.fido2AuthenticationMethod",
            "id": self.id,
            "displayName": self.display_name,
            "createdDateTime": self.created_at,
            "aaGuid": self.aaguid.unwrap_or_default(),
            "lastUsedDateTime": self.last_used_at,
        })
    }
}

/// What the `passkeys` credential holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Passkeys {
    #[serde(default)]
    pub items: Vec<StoredPasskey>,
}

impl Passkeys {
    pub fn keys(&self) -> Vec<Passkey> {
        self.items.iter().map(|p| p.passkey.clone()).collect()
    }
}

/// The server-held state of a begun ceremony.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ceremony {
    /// Named by the client at sign-in (there is no session to bind it to yet).
    pub id: Uuid,
    /// The session that began it (registration, step-up); None at sign-in.
    pub session: Option<String>,
    pub expires_at: DateTime<Utc>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub registration: Option<PasskeyRegistration>,
    #[serde(default)]
    pub authentication: Option<PasskeyAuthentication>,
}

impl Ceremony {
    /// Is it still open, and for this session (or, at sign-in, this ceremony id)?
    pub fn open_for(&self, session: Option<&str>, id: Option<Uuid>, now: DateTime<Utc>) -> bool {
        now < self.expires_at
            && self.session.as_deref() == session
            && id.is_none_or(|id| id == self.id)
    }
}

/// The authenticator's AAGUID, read from the attestation object's authenticator data (CBOR map
/// key "authData", then rpIdHash 32, flags 1, counter 4, AAGUID 16). Display only.
pub fn aaguid(attestation_object: &[u8]) -> Option<Uuid> {
    const KEY: &[u8] = b"\x68authData";
    let at = attestation_object
        .windows(KEY.len())
        .position(|w| w == KEY)?
        + KEY.len();
    let rest = attestation_object.get(at..)?;
    let (skip, len) = match *rest.first()? {
        b @ 0x40..=0x57 => (1, usize::from(b - 0x40)),
        0x58 => (2, usize::from(*rest.get(1)?)),
        0x59 => (
            3,
            usize::from(u16::from_be_bytes([*rest.get(1)?, *rest.get(2)?])),
        ),
        _ => return None,
    };
    let data = rest.get(skip..skip + len)?;
    // Bit 6 of the flags: attested credential data (with the AAGUID) follows.
    if data.get(32)? & 0x40 == 0 {
        return None;
    }
    Uuid::from_slice(data.get(37..53)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relying_party_needs_a_host_name() {
        assert!(relying_party("http://localhost:8400").is_ok());
        assert!(relying_party("https://eligo.example.com").is_ok());
        let e = relying_party("http://127.0.0.1:8400").unwrap_err();
        assert_eq!(e.code, "PasskeysUnavailable");
    }

    #[test]
    fn aaguid_is_read_from_auth_data() {
        let mut auth = vec![0u8; 32];
        auth.push(0x45); // UP, UV, AT
        auth.extend([0, 0, 0, 0]);
        auth.extend((1u8..=16).collect::<Vec<_>>());
        let mut obj = vec![0xa3, 0x68];
        obj.extend(b"authData");
        obj.push(0x58);
        obj.push(u8::try_from(auth.len()).unwrap());
        obj.extend(&auth);
        let id = aaguid(&obj).unwrap();
        assert_eq!(id.as_bytes()[0], 1);
        assert_eq!(id.as_bytes()[15], 16);
        assert_eq!(aaguid(b"nothing"), None);
    }
}
