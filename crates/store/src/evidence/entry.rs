//! The `-chain` stream's wire format: fixed-size entries, so entry `n` is at byte `n * ENTRY_LEN` and a search
//! by time is a binary search, like the index.
//!
//! ```text
//! 0       kind (1 frame, 2 signature, 3 run start)
//! 1       version (1)
//! 2..4    reserved, zero
//! 4..8    frame: length of the stored payload (u32, big-endian); otherwise zero
//! 8..16   data offset (u64): frame: its first frame header; signature/start: the data tail then
//! 16..24  timestamp (u64, the data format's TAI nanoseconds)
//! 24..56  frame: SHA-256 of the payload's bytes outside `mdat` bodies (box headers; all of the payload when it
//!         holds no `mdat`); signature/start: the writer's Ed25519 public key
//! 56..88  frame: SHA-256 of the coded sample (the fragment's `mdat` body); otherwise zero
//! 88..152 signature: Ed25519 signature of SIGNED_PREFIX + the previous entry's chain hash; otherwise zero
//! 152..184 chain hash: SHA-256(previous chain hash + bytes 0..8 + bytes 16..152)
//! ```
//!
//! The two frame hashes cover every byte of the payload exactly once, so each byte is hashed once while
//! recording. The data offset is left out of the chain hash on purpose: it only locates the frame, and a copy into another
//! stream moves frames without changing what was recorded. Order is still fixed, because the verifier checks
//! that consecutive frames in the data are consecutive entries in the chain.

use sha2::{Digest, Sha256};

use crate::timestamp::Timestamp;

/// Bytes per chain entry.
pub const ENTRY_LEN: usize = 184;
/// Version written in every entry.
pub const VERSION: u8 = 1;
/// Domain separation for signatures, so a chain signature can never be taken for another message.
pub const SIGNED_PREFIX: &[u8] = b"hindsight chain v1\0";

/// A SHA-256 digest.
pub type Digest32 = [u8; 32];

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// One stored frame (a whole payload, even when split into several frames on the wire).
    Frame,
    /// A signature over the chain so far.
    Signature,
    /// A writer started: the key it signs with.
    Start,
}

impl EntryKind {
    fn code(self) -> u8 {
        match self {
            EntryKind::Frame => 1,
            EntryKind::Signature => 2,
            EntryKind::Start => 3,
        }
    }
}

/// Errors decoding an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// Not an entry kind this version knows.
    #[error("unknown chain entry kind {0}")]
    Kind(u8),
    /// A newer format.
    #[error("chain entry version {0} is not supported")]
    Version(u8),
    /// Bytes that must be zero are not.
    #[error("reserved bytes of a chain entry are not zero")]
    Reserved,
}

/// One decoded chain entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// What it records.
    pub kind: EntryKind,
    /// Frame: bytes of the stored payload.
    pub payload_len: u32,
    /// Data offset (see the module docs).
    pub offset: u64,
    /// Frame: its stored time; signature: the last frame's time; start: the time the writer started.
    pub timestamp: Timestamp,
    /// Frame: SHA-256 of the payload outside its `mdat` bodies; signature and start: the Ed25519 public key.
    pub digest: Digest32,
    /// Frame: SHA-256 of the coded sample, zero when the payload holds no `mdat`.
    pub sample: Digest32,
    /// Signature: the Ed25519 signature; otherwise zero.
    pub signature: [u8; 64],
    /// The chain hash after this entry.
    pub chain: Digest32,
}

impl Entry {
    /// A frame entry, not yet chained.
    pub fn frame(
        offset: u64,
        timestamp: Timestamp,
        payload_len: u32,
        digest: Digest32,
        sample: Digest32,
    ) -> Self {
        Entry {
            kind: EntryKind::Frame,
            payload_len,
            offset,
            timestamp,
            digest,
            sample,
            signature: [0; 64],
            chain: [0; 32],
        }
    }

    /// A signature or start entry, not yet chained.
    pub fn keyed(
        kind: EntryKind,
        offset: u64,
        timestamp: Timestamp,
        public_key: Digest32,
        signature: [u8; 64],
    ) -> Self {
        Entry {
            kind,
            payload_len: 0,
            offset,
            timestamp,
            digest: public_key,
            sample: [0; 32],
            signature,
            chain: [0; 32],
        }
    }

    /// Encodes the entry with the chain hash it stores.
    pub fn encode(&self) -> [u8; ENTRY_LEN] {
        let mut b = [0u8; ENTRY_LEN];
        b[0] = self.kind.code();
        b[1] = VERSION;
        b[4..8].copy_from_slice(&self.payload_len.to_be_bytes());
        b[8..16].copy_from_slice(&self.offset.to_be_bytes());
        b[16..24].copy_from_slice(&self.timestamp.nanos().to_be_bytes());
        b[24..56].copy_from_slice(&self.digest);
        b[56..88].copy_from_slice(&self.sample);
        b[88..152].copy_from_slice(&self.signature);
        b[152..184].copy_from_slice(&self.chain);
        b
    }

    /// Decodes an entry (without checking its chain hash: see [`Entry::link`]).
    pub fn decode(b: &[u8; ENTRY_LEN]) -> Result<Self, EntryError> {
        let kind = match b[0] {
            1 => EntryKind::Frame,
            2 => EntryKind::Signature,
            3 => EntryKind::Start,
            k => return Err(EntryError::Kind(k)),
        };
        if b[1] != VERSION {
            return Err(EntryError::Version(b[1]));
        }
        if b[2] != 0 || b[3] != 0 {
            return Err(EntryError::Reserved);
        }
        let u64_at = |at: usize| {
            let mut x = [0u8; 8];
            x.copy_from_slice(&b[at..at + 8]);
            u64::from_be_bytes(x)
        };
        let mut entry = Entry {
            kind,
            payload_len: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            offset: u64_at(8),
            timestamp: Timestamp::from_nanos(u64_at(16)),
            digest: [0; 32],
            sample: [0; 32],
            signature: [0; 64],
            chain: [0; 32],
        };
        entry.digest.copy_from_slice(&b[24..56]);
        entry.sample.copy_from_slice(&b[56..88]);
        entry.signature.copy_from_slice(&b[88..152]);
        entry.chain.copy_from_slice(&b[152..184]);
        Ok(entry)
    }

    /// The chain hash this entry has after `previous` (all zeros for the very first entry of a stream).
    pub fn link(&self, previous: &Digest32) -> Digest32 {
        let b = self.encode();
        let mut h = Sha256::new();
        h.update(previous);
        h.update(&b[0..8]);
        h.update(&b[16..152]);
        h.finalize().into()
    }

    /// This entry with its chain hash set after `previous`.
    pub fn chained(mut self, previous: &Digest32) -> Self {
        self.chain = self.link(previous);
        self
    }
}

/// The message a signature entry signs: the chain hash of the entry before it.
pub fn signed_message(previous_chain: &Digest32) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIGNED_PREFIX.len() + 32);
    m.extend_from_slice(SIGNED_PREFIX);
    m.extend_from_slice(previous_chain);
    m
}

/// The two hashes of a stored payload, each byte hashed once: (SHA-256 of every byte outside the bodies of its
/// top-level `mdat` boxes, SHA-256 of those bodies in order). The second is the coded sample's hash: the access
/// unit's bytes, the same in the store and in an MP4 exported from it; zero when the payload holds no complete
/// `mdat` (not an fMP4 fragment), and the first then covers the whole payload.
pub fn payload_digests(payload: &[u8]) -> (Digest32, Digest32) {
    let mut outside = Sha256::new();
    let mut sample = Sha256::new();
    let mut found = false;
    let mut at = 0usize;
    for (kind, body) in top_level_boxes(payload) {
        // `body` borrows from `payload`: its position gives the header before it.
        let body_start = body.as_ptr() as usize - payload.as_ptr() as usize;
        outside.update(&payload[at..body_start]);
        if &kind == b"mdat" {
            sample.update(body);
            found = true;
        } else {
            outside.update(body);
        }
        at = body_start + body.len();
    }
    outside.update(&payload[at..]);
    (
        outside.finalize().into(),
        if found { sample.finalize().into() } else { [0; 32] },
    )
}

/// SHA-256 of the coded sample in an fMP4 fragment (see [`payload_digests`]).
pub fn sample_digest(payload: &[u8]) -> Digest32 {
    payload_digests(payload).1
}

/// The top-level MP4 boxes of `data` as (type, body), stopping at the first box that does not fit.
pub fn top_level_boxes(data: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let h = data.get(at..at + 8)?;
        let size32 = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as u64;
        let kind = [h[4], h[5], h[6], h[7]];
        let (size, header) = if size32 == 1 {
            let l = data.get(at + 8..at + 16)?;
            let mut x = [0u8; 8];
            x.copy_from_slice(l);
            (u64::from_be_bytes(x), 16u64)
        } else if size32 == 0 {
            ((data.len() - at) as u64, 8)
        } else {
            (size32, 8)
        };
        if size < header || at as u64 + size > data.len() as u64 {
            return None;
        }
        let body = &data[at + header as usize..at + size as usize];
        at += size as usize;
        Some((kind, body))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(body);
        b
    }

    #[test]
    fn entries_round_trip_and_chain() {
        let a = Entry::frame(40, Timestamp::from_nanos(7), 12, [1; 32], [2; 32]).chained(&[0; 32]);
        let b = Entry::keyed(
            EntryKind::Signature,
            80,
            Timestamp::from_nanos(8),
            [3; 32],
            [4; 64],
        )
        .chained(&a.chain);
        for e in [a, b] {
            assert_eq!(Entry::decode(&e.encode()), Ok(e));
        }
        assert_ne!(a.chain, b.chain);
        assert_eq!(b.link(&a.chain), b.chain);
        // The offset is a locator, not part of what was recorded.
        let moved = Entry { offset: 999, ..a };
        assert_eq!(moved.link(&[0; 32]), a.chain);
        // Everything else is.
        let retimed = Entry {
            timestamp: Timestamp::from_nanos(8),
            ..a
        };
        assert_ne!(retimed.link(&[0; 32]), a.chain);
    }

    #[test]
    fn bad_entries_are_refused() {
        let good = Entry::frame(0, Timestamp::from_nanos(1), 0, [0; 32], [0; 32]).encode();
        let mut b = good;
        b[0] = 9;
        assert_eq!(Entry::decode(&b), Err(EntryError::Kind(9)));
        let mut b = good;
        b[1] = 2;
        assert_eq!(Entry::decode(&b), Err(EntryError::Version(2)));
        let mut b = good;
        b[3] = 1;
        assert_eq!(Entry::decode(&b), Err(EntryError::Reserved));
    }

    #[test]
    fn sample_digest_hashes_mdat_bodies_only() {
        let sample = b"access unit bytes";
        let mut fragment = mp4_box(b"moof", b"header that may be rewritten");
        fragment.extend(mp4_box(b"mdat", sample));
        assert_eq!(sample_digest(&fragment), <[u8; 32]>::from(Sha256::digest(sample)));
        let mut other_moof = mp4_box(b"moof", b"another header");
        other_moof.extend(mp4_box(b"mdat", sample));
        assert_eq!(sample_digest(&other_moof), sample_digest(&fragment));
        assert_eq!(sample_digest(b"not mp4"), [0; 32]);
        assert_eq!(
            payload_digests(b"not mp4").0,
            <[u8; 32]>::from(Sha256::digest(b"not mp4"))
        );
        // A changed header byte shows in the first hash only, a changed sample byte in the second only.
        let mut header_changed = fragment.clone();
        header_changed[10] ^= 1;
        let mut sample_changed = fragment.clone();
        let last = sample_changed.len() - 1;
        sample_changed[last] ^= 1;
        let (h, s) = payload_digests(&fragment);
        assert_eq!(payload_digests(&header_changed).1, s);
        assert_ne!(payload_digests(&header_changed).0, h);
        assert_eq!(payload_digests(&sample_changed).0, h);
        assert_ne!(payload_digests(&sample_changed).1, s);
        // A box that claims more bytes than there are ends the walk instead of panicking.
        let mut cut = mp4_box(b"mdat", sample);
        cut.truncate(10);
        assert_eq!(sample_digest(&cut), [0; 32]);
    }
}
