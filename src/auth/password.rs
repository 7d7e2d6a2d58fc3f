//! Password hashing with argon2id (OWASP's parameters: 19 MiB, 2 passes). Unknown users are
//! checked against a fixed dummy hash so a wrong user name costs the same time as a wrong
//! password and the two cannot be told apart.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash(password: &str) -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let salt = SaltString::encode_b64(&bytes).expect("16 bytes make a valid salt");
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing cannot fail")
        .to_string()
}

pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// `verify` (or, without a stored hash, `verify_dummy`) on the blocking pool, at most as many at
/// once as there are cores: argon2 is 19 MiB and tens of milliseconds of CPU, so a flood of sign-ins
/// must neither stall the async workers (health checks, API calls) nor exhaust memory. Unknown
/// users cost the same.
pub async fn verify_off_thread(password: &str, stored: Option<String>) -> bool {
    verify_off_thread_unless(password, stored, || None)
        .await
        .unwrap_or(false)
}

/// `verify_off_thread`, but `refused` is asked again once a slot is free, and when it answers
/// (seconds to wait) nothing is hashed: under a flood, attempts queue for a slot, and those
/// that a throttle blocked meanwhile must not spend the CPU the owners' sign-ins wait for.
pub async fn verify_off_thread_unless(
    password: &str,
    stored: Option<String>,
    refused: impl FnOnce() -> Option<u64>,
) -> Result<bool, u64> {
    static SLOTS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    let slots = SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::sync::Semaphore::new(cores)
    });
    let Ok(_slot) = slots.acquire().await else {
        return Ok(false);
    };
    if let Some(secs) = refused() {
        return Err(secs);
    }
    let password = password.to_string();
    Ok(tokio::task::spawn_blocking(move || match stored {
        Some(h) => verify(&password, &h),
        None => {
            verify_dummy(&password);
            false
        }
    })
    .await
    .unwrap_or(false))
}

/// Burns the same work as a real verification, for unknown user names.
pub fn verify_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let stored = DUMMY.get_or_init(|| hash("eligo-dummy-password-for-timing"));
    let _ = verify(password, stored);
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_throttle_that_trips_while_waiting_for_a_slot_skips_the_hash() {
        let stored = super::hash("right");
        assert_eq!(
            super::verify_off_thread_unless("right", Some(stored.clone()), || Some(42)).await,
            Err(42)
        );
        assert_eq!(
            super::verify_off_thread_unless("right", Some(stored.clone()), || None).await,
            Ok(true)
        );
        assert_eq!(
            super::verify_off_thread_unless("wrong", Some(stored), || None).await,
            Ok(false)
        );
    }

    #[test]
    fn hashes_verify_and_differ_by_salt() {
        let a = super::hash("correct horse battery staple");
        let b = super::hash("correct horse battery staple");
        assert_ne!(a, b);
        assert!(a.starts_with("$argon2id$"));
        assert!(super::verify("correct horse battery staple", &a));
        assert!(!super::verify("wrong", &a));
        assert!(!super::verify("x", "not a hash"));
    }
}
