//! `case.json`: what a case export holds and proves, signed with the installation's key.
//!
//! The signature covers the manifest as compact JSON with its `signature` field removed (serde_json writes
//! object keys in sorted order, so the bytes are the same however the file is laid out); whitespace changes
//! therefore do not matter, any changed value does.

use anyhow::{anyhow, Context};
use hindsight_store::evidence::{self, SigningKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Identifies the file format.
pub const FORMAT: &str = "hindsight-case/1";
/// Name of the manifest in a case folder.
pub const MANIFEST: &str = "case.json";

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// When the case was exported (UTC, RFC 3339).
    pub created_utc: String,
    /// The store the footage came from (without any password).
    pub store: String,
    /// The time range asked for.
    pub range: Range,
    /// One entry per camera.
    pub cameras: Vec<Camera>,
    /// The Ed25519 public key that signs `signature` (hex).
    pub public_key: String,
    /// Ed25519 signature of the manifest without this field (hex).
    #[serde(default)]
    pub signature: String,
}

/// A time range in UTC and in the exporting machine's local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// Start, UTC.
    pub from_utc: String,
    /// End, UTC.
    pub to_utc: String,
    /// Start, local time with its offset.
    pub from_local: String,
    /// End, local time with its offset.
    pub to_local: String,
}

/// One camera of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Camera {
    /// SCOPE/STREAM in the store.
    pub stream: String,
    /// The MP4 in the case folder.
    pub file: String,
    /// SHA-256 of the whole MP4 as exported (hex), so a change outside the samples shows too.
    pub file_sha256: String,
    /// Every exported frame, in decode order (the MP4's sample order).
    pub frames: Vec<Frame>,
    /// The stream's index records the range covers.
    pub index_records: Vec<IndexRecord>,
    /// The chain entries recorded with the frames (hex of 184-byte entries): the entry before the first frame
    /// (the anchor), every entry through the signature that covers the last frame. Empty when the stream was
    /// recorded without a chain.
    pub recording_chain: Vec<String>,
}

/// One exported frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    /// Stored time, TAI nanoseconds (the format's timestamp).
    pub timestamp_ns: u64,
    /// The same, UTC.
    pub time_utc: String,
    /// SHA-256 of the coded sample (the access unit's bytes, the same in the store and in the MP4), hex.
    pub sample_sha256: String,
    /// SHA-256 of the previous frame's `chain` (zeros for the first) + timestamp (8 bytes, big-endian) + the
    /// sample hash: removing, adding or reordering frames breaks it.
    pub chain: String,
}

/// An index record, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexRecord {
    /// Stored time, TAI nanoseconds.
    pub timestamp_ns: u64,
    /// Data offset it points at.
    pub offset: u64,
    /// Key frame (a seek target).
    pub random_access: bool,
    /// Discontinuity flag.
    pub discontinuity: bool,
}

/// The chain value of a frame after `previous`.
pub fn frame_chain(previous: &[u8; 32], timestamp_ns: u64, sample: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(previous);
    h.update(timestamp_ns.to_be_bytes());
    h.update(sample);
    h.finalize().into()
}

/// The bytes the signature covers.
fn signed_bytes(manifest: &Manifest) -> anyhow::Result<Vec<u8>> {
    let mut value = serde_json::to_value(manifest)?;
    if let Some(map) = value.as_object_mut() {
        map.remove("signature");
    }
    Ok(serde_json::to_vec(&value)?)
}

impl Manifest {
    /// Sets `public_key` and `signature` with `key`.
    pub fn sign(&mut self, key: &SigningKey) -> anyhow::Result<()> {
        self.public_key = hex::encode(key.public_key());
        self.signature.clear();
        self.signature = hex::encode(key.sign(&signed_bytes(self)?));
        Ok(())
    }

    /// True if `signature` is `public_key`'s signature of this manifest.
    pub fn signature_ok(&self) -> bool {
        let (Ok(key), Ok(sig)) = (
            hex_array::<32>(&self.public_key),
            hex_array::<64>(&self.signature),
        ) else {
            return false;
        };
        signed_bytes(self).is_ok_and(|bytes| evidence::verify_signature(&key, &bytes, &sig))
    }

    /// Parses a manifest file's text.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let m: Manifest = serde_json::from_str(text).context("case.json is not a case manifest")?;
        if m.format != FORMAT {
            return Err(anyhow!(
                "case.json is format {:?}, this version reads {FORMAT:?}",
                m.format
            ));
        }
        Ok(m)
    }
}

/// Decodes `N` bytes of hex.
pub fn hex_array<const N: usize>(text: &str) -> anyhow::Result<[u8; N]> {
    hex::decode(text)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| anyhow!("not {N} bytes of hex: {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            format: FORMAT.into(),
            created_utc: "2026-12-02T12:00:00Z".into(),
            store: "/srv/video".into(),
            range: Range {
                from_utc: "a".into(),
                to_utc: "b".into(),
                from_local: "c".into(),
                to_local: "d".into(),
            },
            cameras: vec![],
            public_key: String::new(),
            signature: String::new(),
        }
    }

    #[test]
    fn a_signed_manifest_verifies_until_a_value_changes() {
        let key = SigningKey::from_secret([3; 32]);
        let mut m = manifest();
        m.sign(&key).expect("sign");
        assert!(m.signature_ok());
        let pretty = serde_json::to_string_pretty(&m).expect("json");
        assert!(
            Manifest::parse(&pretty).expect("parse").signature_ok(),
            "layout does not matter"
        );
        let mut changed = m.clone();
        changed.store = "/srv/videp".into();
        assert!(!changed.signature_ok());
        let mut other_key = m.clone();
        other_key.public_key = hex::encode(SigningKey::from_secret([4; 32]).public_key());
        assert!(!other_key.signature_ok());
    }
}
