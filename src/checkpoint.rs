//! Signed audit checkpoints (threat-model rule 8). The hash chain proves that entries were not
//! changed one by one, but someone who can write the database can delete the newest entries and
//! move the head back, or rewrite the whole chain from some point on, and the chain still
//! verifies. So the head (sequence, hash, time) is signed with an Ed25519 key that lives outside
//! the database and appended to a file outside it, every `ELIGO_AUDIT_CHECKPOINT_INTERVAL` and at
//! shutdown. `eligo audit verify --checkpoints DIR` then checks that every signed head is still
//! in the chain: a truncated tail or a rewritten past no longer matches what was signed.
//!
//! The directory (`ELIGO_AUDIT_CHECKPOINT_DIR`, default `<data dir>/audit-checkpoints`) holds
//! `checkpoint-key.pk8` (the private key, mode 0600, generated on first use), and
//! `checkpoints.jsonl` (append-only, one signed head per line, with the public key). Ship the
//! file to where the database administrator cannot write, like any log. Each checkpoint also
//! goes to `audit.checkpoint` webhook subscribers (an outbox event per subscription, queued
//! once the line is on disk; see `notify::audit_feed`), so a copy leaves the machine as well.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

const KEY_FILE: &str = "checkpoint-key.pk8";
const LOG_FILE: &str = "checkpoints.jsonl";

/// One signed head, as a line of `checkpoints.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    pub sequence: i64,
    pub hash: String,
    pub at: DateTime<Utc>,
    /// Base64 of the Ed25519 public key that signed it.
    pub public_key: String,
    /// Base64 of the signature over `signed_text`.
    pub signature: String,
}

/// What is signed: a fixed prefix (so the key signs nothing else by accident) and the head.
fn signed_text(sequence: i64, hash: &str, at: DateTime<Utc>) -> String {
    format!(
        "eligo-audit-checkpoint\n{sequence}\n{hash}\n{}",
        at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    )
}

/// The signing key and where checkpoints go.
pub struct Signer {
    key: Ed25519KeyPair,
    dir: PathBuf,
}

impl Signer {
    /// Opens the key in `dir`, generating it (mode 0600) on first use.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(KEY_FILE);
        let pkcs8 = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let rng = ring::rand::SystemRandom::new();
                let doc = Ed25519KeyPair::generate_pkcs8(&rng)
                    .map_err(|_| anyhow::anyhow!("generating the checkpoint key failed"))?;
                match crate::keys::create_private_file(&path, doc.as_ref()) {
                    Ok(()) => {
                        tracing::warn!(
                            key = %path.display(),
                            "generated the audit checkpoint signing key; keep it (and the checkpoints file) where the database's administrators cannot write"
                        );
                        doc.as_ref().to_vec()
                    }
                    // Servers started together on one directory: the first one's key, whole.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        std::fs::read(&path)?
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        };
        let key = Ed25519KeyPair::from_pkcs8(&pkcs8)
            .map_err(|_| anyhow::anyhow!("{} is not an Ed25519 PKCS#8 key", path.display()))?;
        Ok(Self {
            key,
            dir: dir.to_path_buf(),
        })
    }

    /// Base64 of the public key.
    pub fn public_key(&self) -> String {
        STANDARD.encode(self.key.public_key().as_ref())
    }

    /// Signs the head and appends it to the checkpoints file.
    pub fn write(
        &self,
        sequence: i64,
        hash: &str,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Checkpoint> {
        let signature = self.key.sign(signed_text(sequence, hash, at).as_bytes());
        let checkpoint = Checkpoint {
            sequence,
            hash: hash.to_string(),
            at,
            public_key: self.public_key(),
            signature: STANDARD.encode(signature.as_ref()),
        };
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(LOG_FILE))?;
        let mut line = serde_json::to_vec(&checkpoint)?;
        line.push(b'\n');
        file.write_all(&line)?;
        file.sync_data()?;
        Ok(checkpoint)
    }
}

/// Signs the store's audit head now, unless it is the head signed last (`last`); logs it.
pub async fn sign_head(
    app: &crate::app::App,
    signer: &Signer,
    last: &mut Option<(i64, String)>,
) -> anyhow::Result<()> {
    let (sequence, hash) = app.store.read().await?.audit_head().await?;
    if last.as_ref() == Some(&(sequence, hash.clone())) {
        return Ok(());
    }
    let at = app.clock.now();
    let signer_dir = signer.dir.clone();
    let c = signer.write(sequence, &hash, at)?;
    tracing::info!(
        sequence = c.sequence,
        hash = %c.hash,
        signature = %c.signature,
        file = %signer_dir.join(LOG_FILE).display(),
        "audit checkpoint"
    );
    *last = Some((sequence, hash));
    crate::notify::audit_feed::announce_checkpoint(app, &c)
        .await
        .map_err(|e| anyhow::anyhow!("queueing the audit.checkpoint events: {}", e.message))?;
    Ok(())
}

/// Signs the head every `ELIGO_AUDIT_CHECKPOINT_INTERVAL` (when it moved), until aborted.
pub async fn run_forever(app: std::sync::Arc<crate::app::App>, signer: std::sync::Arc<Signer>) {
    let every = app
        .config
        .audit_checkpoint_interval
        .to_std()
        .unwrap_or(std::time::Duration::from_secs(300))
        .max(std::time::Duration::from_secs(1));
    let mut last = None;
    loop {
        if let Err(e) = sign_head(&app, &signer, &mut last).await {
            tracing::error!(error = %e, "writing the audit checkpoint failed");
        }
        tokio::time::sleep(every).await;
    }
}

/// Is the checkpoint's signature good for its own public key, and is that key `trusted`?
pub fn verify_signature(c: &Checkpoint, trusted: &str) -> bool {
    if c.public_key != trusted {
        return false;
    }
    let (Ok(key), Ok(sig)) = (
        STANDARD.decode(&c.public_key),
        STANDARD.decode(&c.signature),
    ) else {
        return false;
    };
    UnparsedPublicKey::new(&ED25519, key)
        .verify(signed_text(c.sequence, &c.hash, c.at).as_bytes(), &sig)
        .is_ok()
}

/// Every checkpoint in `dir`, oldest first, with the public key of the key file there (the
/// trusted one). Unreadable lines are errors: the file is append-only and written whole.
pub fn read_dir(dir: &Path) -> anyhow::Result<(String, Vec<Checkpoint>)> {
    let signer = Signer::open_existing(dir)?;
    let text = match std::fs::read_to_string(dir.join(LOG_FILE)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        out.push(
            serde_json::from_str(line)
                .map_err(|e| anyhow::anyhow!("{LOG_FILE} line {}: {e}", i + 1))?,
        );
    }
    Ok((signer.public_key(), out))
}

impl Signer {
    fn open_existing(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join(KEY_FILE);
        let pkcs8 =
            std::fs::read(&path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        let key = Ed25519KeyPair::from_pkcs8(&pkcs8)
            .map_err(|_| anyhow::anyhow!("{} is not an Ed25519 PKCS#8 key", path.display()))?;
        Ok(Self {
            key,
            dir: dir.to_path_buf(),
        })
    }
}

/// What checking the checkpoints against the chain found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointVerdict {
    pub valid: bool,
    pub checkpoints: usize,
    /// The first checkpoint (its sequence) that the chain no longer matches, or whose
    /// signature fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_bad_checkpoint: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// Checks every checkpoint: signed by the trusted key, and its (sequence, hash) still an entry
/// of the chain (`hash_at` answers the stored hash at a sequence, None past the end).
pub async fn verify_against<F, Fut>(
    trusted: &str,
    checkpoints: &[Checkpoint],
    mut hash_at: F,
) -> anyhow::Result<CheckpointVerdict>
where
    F: FnMut(i64) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<String>>>,
{
    for c in checkpoints {
        let problem = if !verify_signature(c, trusted) {
            Some("its signature does not verify with the checkpoint key".to_string())
        } else if c.sequence == 0 {
            None
        } else {
            match hash_at(c.sequence).await? {
                None => Some(format!(
                    "the chain ends before sequence {}: entries were removed from its tail",
                    c.sequence
                )),
                Some(h) if h != c.hash => Some(format!(
                    "entry {} is not the one signed: the chain was rewritten",
                    c.sequence
                )),
                Some(_) => None,
            }
        };
        if let Some(problem) = problem {
            return Ok(CheckpointVerdict {
                valid: false,
                checkpoints: checkpoints.len(),
                first_bad_checkpoint: Some(c.sequence),
                problem: Some(problem),
            });
        }
    }
    Ok(CheckpointVerdict {
        valid: true,
        checkpoints: checkpoints.len(),
        first_bad_checkpoint: None,
        problem: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn servers_started_together_on_one_directory_share_one_key() {
        let d = dir();
        let keys: Vec<String> = std::thread::scope(|s| {
            let opened: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        Signer::open(d.path())
                            .expect("every server opens")
                            .public_key()
                    })
                })
                .collect();
            opened.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
        let left: Vec<_> = std::fs::read_dir(d.path()).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "only the key, no partial file: {left:?}");
        assert_eq!(Signer::open(d.path()).unwrap().public_key(), keys[0]);
    }

    #[tokio::test]
    async fn signed_heads_verify_and_a_changed_or_missing_entry_is_found() {
        let d = dir();
        let signer = Signer::open(d.path()).unwrap();
        let at = DateTime::from_timestamp(1_800_000_000, 123_000).unwrap();
        signer.write(3, "h3", at).unwrap();
        signer.write(5, "h5", at).unwrap();
        let (key, cps) = read_dir(d.path()).unwrap();
        assert_eq!(cps.len(), 2);
        let chain = |n: i64| (1..=n).map(|i| format!("h{i}")).collect::<Vec<_>>();
        let lookup = |entries: Vec<String>| {
            move |s: i64| {
                let h = entries.get((s - 1) as usize).cloned();
                async move { Ok(h) }
            }
        };
        assert!(
            verify_against(&key, &cps, lookup(chain(6)))
                .await
                .unwrap()
                .valid
        );
        let cut = verify_against(&key, &cps, lookup(chain(4))).await.unwrap();
        assert_eq!(cut.first_bad_checkpoint, Some(5), "{cut:?}");
        let mut rewritten = chain(6);
        rewritten[2] = "other".into();
        let v = verify_against(&key, &cps, lookup(rewritten)).await.unwrap();
        assert_eq!(v.first_bad_checkpoint, Some(3));
        // A forged line (another key, or an edited head) fails its signature.
        let mut forged = cps.clone();
        forged[1].hash = "h5-forged".into();
        let v = verify_against(&key, &forged, lookup(chain(6)))
            .await
            .unwrap();
        assert_eq!(v.first_bad_checkpoint, Some(5));
        let other_dir = dir();
        let other = Signer::open(other_dir.path()).unwrap();
        let foreign = other.write(1, "h1", at).unwrap();
        assert!(!verify_signature(&foreign, &key));
        // The key file is private and survives a reopen.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(d.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(Signer::open(d.path()).unwrap().public_key(), key);
        let _ = std::fs::remove_dir_all(&d);
    }
}
