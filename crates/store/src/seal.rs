//! Secrets at rest (threat model rule 7): what the store keeps that would let a reader act as
//! someone — TOTP seeds and every other credential, connector settings (passwords, bearer
//! tokens), webhook subscriptions (their signing secrets) and the server's own keys — is sealed
//! with AES-256-GCM under a master key that lives outside the database. A copy of the database
//! alone (a stolen backup, a dump, a read-only DBA) yields no usable secret.
//!
//! A sealed value is text: `sealed:v1:<key id>:<base64 of nonce, ciphertext and tag>`. The key id
//! names which master key sealed it (so a start with the wrong key is refused by name, and a
//! rotation can tell what is left to do). The associated data is the value's place (`credential/
//! <principal>/<kind>`, ...): a sealed value copied into another row — someone else's TOTP seed,
//! another connector's settings — does not open there.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

/// Bytes in a master key.
pub const KEY_LEN: usize = 32;
const PREFIX: &str = "sealed:v1:";

/// Why a master key or a sealed value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("a master key is {KEY_LEN} bytes, written as base64 or hex ({0})")]
    BadKey(String),
    #[error("the value is not sealed")]
    NotSealed,
    #[error("the value is sealed with master key {0}, which is not among the keys given")]
    UnknownKey(String),
    #[error("the sealed value does not open (altered, or moved from another place)")]
    Tampered,
}

/// One master key and its id (the first 16 hex digits of a SHA-256 over it: it names the key
/// without revealing it).
pub struct MasterKey {
    id: String,
    key: LessSafeKey,
}

impl MasterKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        if bytes.len() != KEY_LEN {
            return Err(SealError::BadKey(format!("got {} bytes", bytes.len())));
        }
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(b"eligo master key id\0");
        ctx.update(bytes);
        let id = hex::encode(&ctx.finish().as_ref()[..8]);
        let key = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| SealError::BadKey("not an AES-256 key".into()))?;
        Ok(Self {
            id,
            key: LessSafeKey::new(key),
        })
    }

    /// A key as written in a key file or `ELIGO_MASTER_KEY`: base64 (padded or not) or hex,
    /// surrounding whitespace ignored.
    pub fn parse(text: &str) -> Result<Self, SealError> {
        let text = text.trim();
        let bytes = if text.len() == 2 * KEY_LEN && text.chars().all(|c| c.is_ascii_hexdigit()) {
            hex::decode(text).ok()
        } else {
            STANDARD
                .decode(text)
                .or_else(|_| STANDARD_NO_PAD.decode(text))
                .ok()
        };
        match bytes {
            Some(bytes) => Self::from_bytes(&bytes),
            None => Err(SealError::BadKey("neither base64 nor hex".into())),
        }
    }

    /// A new random key and its text form (base64, as `parse` reads it back).
    pub fn generate() -> (Self, String) {
        let mut bytes = [0u8; KEY_LEN];
        SystemRandom::new()
            .fill(&mut bytes)
            .expect("the system random source works");
        let text = STANDARD.encode(bytes);
        (
            Self::from_bytes(&bytes).expect("a generated key has the right length"),
            text,
        )
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

/// The key that seals, and earlier keys still accepted for opening (during a rotation).
#[derive(Debug)]
pub struct Keyring {
    primary: MasterKey,
    previous: Vec<MasterKey>,
}

impl Keyring {
    pub fn new(primary: MasterKey, previous: Vec<MasterKey>) -> Self {
        let previous = previous
            .into_iter()
            .filter(|k| k.id != primary.id)
            .collect();
        Self { primary, previous }
    }

    pub fn primary_id(&self) -> &str {
        &self.primary.id
    }

    /// Whether `id` names a key of this ring.
    pub fn knows(&self, id: &str) -> bool {
        self.key(id).is_some()
    }

    fn key(&self, id: &str) -> Option<&MasterKey> {
        std::iter::once(&self.primary)
            .chain(&self.previous)
            .find(|k| k.id == id)
    }

    /// `plaintext` sealed under the primary key for the place `context`.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .expect("the system random source works");
        let mut data = plaintext.to_vec();
        self.primary
            .key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut data,
            )
            .expect("AES-GCM seals any length Eligo stores");
        let mut out = Vec::with_capacity(NONCE_LEN + data.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&data);
        format!(
            "{PREFIX}{}:{}",
            self.primary.id,
            STANDARD_NO_PAD.encode(out)
        )
    }

    /// The plaintext of a value sealed for `context` by any key of the ring.
    pub fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>, SealError> {
        let (id, body) = split(sealed).ok_or(SealError::NotSealed)?;
        let key = self
            .key(id)
            .ok_or_else(|| SealError::UnknownKey(id.to_string()))?;
        let mut data = STANDARD_NO_PAD
            .decode(body)
            .map_err(|_| SealError::Tampered)?;
        if data.len() < NONCE_LEN {
            return Err(SealError::Tampered);
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&data[..NONCE_LEN]);
        let plain = key
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut data[NONCE_LEN..],
            )
            .map_err(|_| SealError::Tampered)?;
        Ok(plain.to_vec())
    }

    /// Whether `stored` is already sealed under the primary key (nothing to re-seal).
    pub fn is_current(&self, stored: &str) -> bool {
        sealed_with(stored) == Some(self.primary.id.as_str())
    }
}

/// The id of the key that sealed `stored`, or None when it is not a sealed value.
pub fn sealed_with(stored: &str) -> Option<&str> {
    split(stored).map(|(id, _)| id)
}

fn split(stored: &str) -> Option<(&str, &str)> {
    stored.strip_prefix(PREFIX)?.split_once(':')
}

/// The text every sealed value under the primary key starts with (for finding the rest).
pub(crate) fn current_prefix(keys: &Keyring) -> String {
    format!("{PREFIX}{}:", keys.primary.id)
}

/// The places values are sealed for (the associated data).
pub(crate) mod place {
    use uuid::Uuid;

    pub fn credential(principal: Uuid, kind: &str) -> String {
        format!("credential/{principal}/{kind}")
    }
    pub fn connector(id: Uuid) -> String {
        format!("connector/{id}/settings")
    }
    pub fn subscription(id: Uuid) -> String {
        format!("subscription/{id}")
    }
    pub fn server_secret(name: &str) -> String {
        format!("server-secret/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring_of(key: MasterKey) -> Keyring {
        Keyring::new(key, Vec::new())
    }

    #[test]
    fn seals_and_opens_in_place() {
        let (key, _) = MasterKey::generate();
        let ring = ring_of(key);
        let sealed = ring.seal("credential/a/totp", b"JBSWY3DPEHPK3PXP");
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert!(ring.is_current(&sealed));
        assert_eq!(
            ring.open("credential/a/totp", &sealed).unwrap(),
            b"JBSWY3DPEHPK3PXP"
        );
        // Two seals of the same secret differ (a fresh nonce each time).
        assert_ne!(sealed, ring.seal("credential/a/totp", b"JBSWY3DPEHPK3PXP"));
    }

    #[test]
    fn a_value_moved_to_another_place_or_altered_does_not_open() {
        let (key, _) = MasterKey::generate();
        let ring = ring_of(key);
        let sealed = ring.seal("credential/a/totp", b"seed");
        assert_eq!(
            ring.open("credential/b/totp", &sealed),
            Err(SealError::Tampered)
        );
        let mut altered = sealed.clone();
        let last = altered.pop().unwrap();
        altered.push(if last == 'A' { 'B' } else { 'A' });
        assert_eq!(
            ring.open("credential/a/totp", &altered),
            Err(SealError::Tampered)
        );
        assert_eq!(
            ring.open("credential/a/totp", "{\"seed\":1}"),
            Err(SealError::NotSealed)
        );
    }

    #[test]
    fn another_key_is_named_and_a_previous_key_still_opens() {
        let (old, old_text) = MasterKey::generate();
        let old_id = old.id().to_string();
        let sealed = ring_of(old).seal("p", b"x");
        let (new, _) = MasterKey::generate();
        let only_new = ring_of(new);
        assert_eq!(
            only_new.open("p", &sealed),
            Err(SealError::UnknownKey(old_id.clone()))
        );
        let (new, _) = MasterKey::generate();
        let rotating = Keyring::new(new, vec![MasterKey::parse(&old_text).unwrap()]);
        assert_eq!(rotating.open("p", &sealed).unwrap(), b"x");
        assert!(!rotating.is_current(&sealed));
        assert_eq!(sealed_with(&sealed), Some(old_id.as_str()));
    }

    #[test]
    fn keys_parse_from_base64_or_hex_and_nothing_else() {
        let (key, text) = MasterKey::generate();
        assert_eq!(
            MasterKey::parse(&format!("  {text}\n")).unwrap().id(),
            key.id()
        );
        let hex = hex::encode([9u8; 32]);
        let b64 = STANDARD.encode([9u8; 32]);
        assert_eq!(
            MasterKey::parse(&hex).unwrap().id(),
            MasterKey::parse(&b64).unwrap().id()
        );
        assert!(MasterKey::parse("too short").is_err());
        assert!(MasterKey::parse(&STANDARD.encode([1u8; 16])).is_err());
        assert!(!format!("{key:?}").contains(&text));
    }
}
