//! The installation's signing key: one Ed25519 key created on first use and kept in a file only its owner can
//! read (`$XDG_CONFIG_HOME/hindsight/signing-key`, mode 0600 in a 0700 directory). Recordings sign their hash
//! chains with it and case exports sign their manifests, so both can be traced to this installation.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, Verifier};

/// First line of a key file, so a stray file is never taken for a key.
const FILE_TAG: &str = "hindsight ed25519 signing key v1";

/// Errors loading or creating the key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing the key file failed.
    #[error("signing key {path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// The file is not a key this version wrote.
    #[error("signing key {0} is not a Hindsight key file")]
    Malformed(PathBuf),
    /// Others could read the secret.
    #[error("signing key {0} can be read by other users; make it private with chmod 600")]
    Exposed(PathBuf),
    /// No randomness for a new key.
    #[error("no random numbers for a new signing key: {0}")]
    Random(String),
}

/// Where the installation's key lives by default.
pub fn default_key_path() -> PathBuf {
    crate::xdg::xdg_dir("XDG_CONFIG_HOME", ".config")
        .join("hindsight")
        .join("signing-key")
}

/// An Ed25519 signing key.
#[derive(Clone)]
pub struct SigningKey {
    key: ed25519_dalek::SigningKey,
}

impl std::fmt::Debug for SigningKey {
    // Never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("public", &hex::encode(self.public_key()))
            .finish()
    }
}

impl SigningKey {
    /// A key from 32 secret bytes (tests, or keys kept elsewhere).
    pub fn from_secret(secret: [u8; 32]) -> Self {
        SigningKey {
            key: ed25519_dalek::SigningKey::from_bytes(&secret),
        }
    }

    /// A new random key.
    pub fn generate() -> Result<Self, KeyError> {
        let mut secret = [0u8; 32];
        getrandom::getrandom(&mut secret).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(Self::from_secret(secret))
    }

    /// Loads the key at `path`, creating it (and its private directory) when there is none.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        match fs::read_to_string(path) {
            Ok(text) => {
                let mode = fs::metadata(path)
                    .map_err(|source| io(path, source))?
                    .permissions()
                    .mode();
                if mode & 0o077 != 0 {
                    return Err(KeyError::Exposed(path.to_owned()));
                }
                parse(&text).ok_or_else(|| KeyError::Malformed(path.to_owned()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::create(path),
            Err(source) => Err(io(path, source)),
        }
    }

    fn create(path: &Path) -> Result<Self, KeyError> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|source| io(dir, source))?;
        }
        let key = Self::generate()?;
        // A temporary file renamed into place: a crash never leaves half a key, and two processes starting at
        // once end up with one of the two keys, each whole.
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|source| io(&tmp, source))?;
        let text = format!("{FILE_TAG}\n{}\n", hex::encode(key.key.to_bytes()));
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|source| io(&tmp, source))?;
        match fs::hard_link(&tmp, path) {
            Ok(()) => {
                let _ = fs::remove_file(&tmp);
                tracing::info!(path = %path.display(), public = %hex::encode(key.public_key()), "created signing key");
                Ok(key)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let _ = fs::remove_file(&tmp);
                Self::load_or_create(path)
            }
            Err(source) => {
                let _ = fs::remove_file(&tmp);
                Err(io(path, source))
            }
        }
    }

    /// The public half.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

fn io(path: &Path, source: std::io::Error) -> KeyError {
    KeyError::Io {
        path: path.to_owned(),
        source,
    }
}

fn parse(text: &str) -> Option<SigningKey> {
    let mut lines = text.lines();
    if lines.next()? != FILE_TAG {
        return None;
    }
    let secret: [u8; 32] = hex::decode(lines.next()?.trim()).ok()?.try_into().ok()?;
    Some(SigningKey::from_secret(secret))
}

/// True if `signature` is `public_key`'s signature of `message`.
pub fn verify(public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(public_key) else {
        return false;
    };
    key.verify(message, &ed25519_dalek::Signature::from_bytes(signature))
        .is_ok()
}

/// A short printable name of a public key: the first 16 hex digits of its SHA-256.
pub fn fingerprint(public_key: &[u8; 32]) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(public_key)[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_created_once_privately_and_reloaded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("conf/hindsight/signing-key");
        let a = SigningKey::load_or_create(&path).expect("create");
        let mode = fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let b = SigningKey::load_or_create(&path).expect("load");
        assert_eq!(a.public_key(), b.public_key());
        let sig = a.sign(b"message");
        assert!(verify(&b.public_key(), b"message", &sig));
        assert!(!verify(&b.public_key(), b"massage", &sig));
        assert!(!format!("{a:?}").contains(&hex::encode(a.key.to_bytes())));
    }

    #[test]
    fn exposed_or_foreign_key_files_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("signing-key");
        SigningKey::load_or_create(&path).expect("create");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(matches!(
            SigningKey::load_or_create(&path),
            Err(KeyError::Exposed(_))
        ));
        fs::write(&path, "something else\n").expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
        assert!(matches!(
            SigningKey::load_or_create(&path),
            Err(KeyError::Malformed(_))
        ));
    }
}
