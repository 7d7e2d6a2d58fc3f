//! (being written) Signed, single-use approve/deny links.

use std::sync::Arc;

use eligo_store::Store;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::error::ApiResult;

/// The link-signing key: SHA-256 of `ELIGO_LINK_SECRET`, or a random key generated on first
/// start and kept in the store.
pub async fn load_key(store: &Arc<dyn Store>, config: &Config) -> ApiResult<[u8; 32]> {
    if let Some(secret) = &config.link_secret {
        return Ok(Sha256::digest(secret.expose().as_bytes()).into());
    }
    let _ = store;
    // Replaced by the store-kept key in the outbox slice.
    Ok(Sha256::digest(b"eligo-development-link-key").into())
}
