//! Helpers shared by the store's integration tests: a temporary store, recognisable payloads, read-back of
//! whole streams and a tiny seeded PRNG (so a failing random run can be replayed from its printed seed).

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod child;
pub mod verify;

use std::time::{Duration, Instant};

use hindsight_store::embedded::EmbeddedStore;
use hindsight_store::search::{IndexSource, SliceIndex};
use hindsight_store::video::IndexReader;
use hindsight_store::{Frame, IndexRecord, Interrupt, ReadOutcome, StreamName, Timestamp, VideoReader};

/// A fixed, recent start time so tests do not depend on the clock.
pub fn t0() -> Timestamp {
    Timestamp::parse_rfc3339("2024-05-01T12:00:00Z").expect("valid RFC 3339 time")
}

/// `t0() + ms` milliseconds.
pub fn at_ms(ms: u64) -> Timestamp {
    t0().saturating_add(Duration::from_millis(ms))
}

/// An embedded store in a fresh temporary directory with the given segment size.
pub fn temp_store(segment_size: u64) -> (tempfile::TempDir, EmbeddedStore) {
    let dir = tempfile::tempdir().expect("create temporary directory");
    let store = EmbeddedStore::open(dir.path())
        .expect("open embedded store")
        .with_segment_size(segment_size);
    (dir, store)
}

/// A stream name from `scope/stream` text.
pub fn name(text: &str) -> StreamName {
    StreamName::parse(text).expect("valid stream name")
}

/// A payload that identifies itself: the sequence number big-endian in the first 8 bytes, then a pattern that
/// depends on it, so torn, shifted or mixed-up payloads are detected by [`check_payload`].
pub fn payload(seq: u64, len: usize) -> Vec<u8> {
    assert!(len >= 8, "payloads carry an 8-byte sequence number");
    let mut p = Vec::with_capacity(len);
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend((8..len).map(|i| pattern_byte(seq, i)));
    p
}

fn pattern_byte(seq: u64, i: usize) -> u8 {
    (seq.wrapping_mul(31).wrapping_add(i as u64 * 7) >> 1) as u8
}

/// The sequence number of a payload made by [`payload`], or `None` if any byte is off.
pub fn check_payload(p: &[u8]) -> Option<u64> {
    let seq = u64::from_be_bytes(p.get(..8)?.try_into().ok()?);
    p.iter()
        .enumerate()
        .skip(8)
        .all(|(i, &b)| b == pattern_byte(seq, i))
        .then_some(seq)
}

/// Reads every frame available now from the head (never waits at the tail).
pub fn read_frames(store: &EmbeddedStore, stream: &StreamName) -> Vec<Frame> {
    let mut reader = VideoReader::open(store, stream).expect("open video reader");
    read_available(&mut reader)
}

/// Reads frames from a reader's position until none is available now or the stream ends.
pub fn read_available(reader: &mut VideoReader) -> Vec<Frame> {
    let interrupt = Interrupt::new().expect("create interrupt");
    let mut frames = Vec::new();
    loop {
        match reader.next_frame(Instant::now(), &interrupt).expect("next_frame") {
            ReadOutcome::Frame(f) => frames.push(f),
            ReadOutcome::TimedOut | ReadOutcome::End => return frames,
            ReadOutcome::Interrupted => panic!("interrupted without an interrupt"),
        }
    }
}

/// All index records still stored: `(number of the first, records)`.
pub fn records(store: &EmbeddedStore, stream: &StreamName) -> (u64, Vec<IndexRecord>) {
    IndexReader::open(store, stream)
        .expect("open index reader")
        .read_all()
        .expect("read index")
}

/// The records as a searchable in-memory index.
pub fn slice_index(first: u64, records: &[IndexRecord]) -> impl IndexSource + '_ {
    SliceIndex { first, records }
}

/// SplitMix64: tiny, seedable and good enough to pick sizes and delays.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo)
    }
}

/// A seed from `var` if set (to replay a run), else from the clock; printed either way.
pub fn seed_from_env(var: &str) -> u64 {
    let seed = std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0x5EED)
        });
    println!("seed {seed} (replay with {var}={seed})");
    seed
}

/// Rounds of the kill and power-cut tests: `HINDSIGHT_RELIABILITY_ROUNDS` (`make reliability` sets 100), else 20.
pub fn rounds() -> usize {
    std::env::var("HINDSIGHT_RELIABILITY_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
}
