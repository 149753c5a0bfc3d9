//! The chain written by a real [`VideoWriter`] on the embedded store, then edited the ways an attacker or a
//! failing disk would.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::embedded::EmbeddedStore;
use crate::video::{IndexPolicy, VideoWriter};

const BASE_NS: u64 = 1_800_000_000_000_000_000;

fn at(i: u64) -> Timestamp {
    Timestamp::from_nanos(BASE_NS + i * 40_000_000)
}

fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(body);
    b
}

/// A fragment-shaped payload whose sample holds a marker unique to frame `i`.
fn payload(i: u64) -> Vec<u8> {
    let mut p = mp4_box(b"moof", &[7u8; 40]);
    p.extend(mp4_box(
        b"mdat",
        format!("<frame {i:05}> sample bytes of frame {i}").as_bytes(),
    ));
    p
}

fn key() -> Arc<SigningKey> {
    Arc::new(SigningKey::from_secret([42; 32]))
}

fn cam() -> StreamName {
    StreamName::new("site", "cam").expect("name")
}

fn policy() -> IndexPolicy {
    IndexPolicy {
        min_interval: Duration::ZERO,
        max_interval: Duration::from_secs(10),
    }
}

/// Records frames `from..to` (key frame every 10th) with a chain and finishes cleanly.
fn record(store: &EmbeddedStore, from: u64, to: u64) {
    let mut w = VideoWriter::open(store, &cam(), policy())
        .and_then(|w| w.with_chain(store, key()))
        .expect("writer with chain");
    for i in from..to {
        w.append(&payload(i), at(i), i % 10 == 0).expect("append");
    }
    w.finish(Some(at(to))).expect("finish");
}

/// Flips one byte of the first file under `dir` that holds `marker`, at the marker's first byte plus `shift`.
fn flip(dir: &Path, marker: &[u8], shift: usize) {
    for entry in walk(dir) {
        let mut bytes = std::fs::read(&entry).expect("read");
        if let Some(pos) = bytes.windows(marker.len()).position(|w| w == marker) {
            bytes[pos + shift] ^= 0x01;
            std::fs::write(&entry, bytes).expect("write");
            return;
        }
    }
    panic!("no file holds {:?}", String::from_utf8_lossy(marker));
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn verify_all(store: &EmbeddedStore) -> Report {
    verify_stream(store, &cam(), VerifyRange::default())
        .expect("verify")
        .expect("the stream has a chain")
}

#[test]
fn a_clean_recording_verifies_and_every_frame_is_signed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(dir.path()).expect("store");
    record(&store, 0, 95);
    let report = verify_all(&store);
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.frames_verified, 95);
    // One per index record (every 10th frame) and one at the end.
    assert_eq!(report.signatures_verified, 11);
    assert_eq!(report.unsigned_frames, 0);
    assert_eq!(report.uncovered_frames, 0);
    assert_eq!(report.keys.iter().next(), Some(&key().public_key()));
    assert_eq!((report.first_time, report.last_time), (Some(at(0)), Some(at(94))));
    assert!(crate::video::list_video_streams(&store)
        .expect("list")
        .iter()
        .all(|n| n == &cam()));
}

#[test]
fn one_flipped_byte_names_the_frame() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(dir.path()).expect("store");
    record(&store, 0, 50);
    flip(dir.path(), b"<frame 00037>", 3);
    let report = verify_all(&store);
    assert_eq!(report.problem_count, 1, "{:?}", report.problems);
    match &report.problems[0] {
        Problem::Altered { timestamp, .. } => assert_eq!(*timestamp, at(37)),
        other => panic!("expected the altered frame 37, got {other}"),
    }
    assert_eq!(report.frames_verified, 49);
}

#[test]
fn an_edited_chain_entry_breaks_the_chain_or_its_signature() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(dir.path()).expect("store");
    record(&store, 0, 30);
    // Rewrite the chain entry of frame 12 so that it matches a changed frame: its own chain hash no longer
    // follows, and recomputing every later hash would still fail the next signature.
    let chain_dir = dir.path().join("site").join("cam-chain");
    let mut chain = ChainReader::open(&store, &cam()).expect("open").expect("chain");
    let (first, end) = chain.bounds().expect("bounds");
    let n = (first..end)
        .find(|&n| chain.entry(n).expect("entry").timestamp == at(12))
        .expect("entry of frame 12");
    let files = walk(&chain_dir);
    let file = files.iter().find(|f| {
        std::fs::metadata(f)
            .map(|m| m.len() >= (n + 1) * 184)
            .unwrap_or(false)
    });
    let file = file.expect("chain segment");
    let mut bytes = std::fs::read(file).expect("read");
    bytes[(n * 184 + 30) as usize] ^= 0x80;
    std::fs::write(file, bytes).expect("write");
    let report = verify_all(&store);
    assert!(
        report
            .problems
            .iter()
            .any(|p| matches!(p, Problem::Altered { timestamp, .. } if *timestamp == at(12))),
        "{:?}",
        report.problems
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| matches!(p, Problem::ChainBroken { entry, .. } if *entry == n)),
        "{:?}",
        report.problems
    );
}

#[test]
fn runs_continue_the_chain_and_unrecorded_leftovers_are_not_tampering() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(dir.path()).expect("store");
    record(&store, 0, 20);
    // A writer without a chain (as a crashed writer's last frames look): its frames are not evidence.
    let mut plain = VideoWriter::open(&store, &cam(), policy()).expect("plain writer");
    for i in 20..23 {
        plain.append(&payload(i), at(i), false).expect("append");
    }
    drop(plain);
    record(&store, 23, 40);
    let report = verify_all(&store);
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.frames_verified, 37);
    assert_eq!(report.uncovered_frames, 3);
}

#[test]
fn a_range_and_a_truncated_head_verify_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(dir.path()).expect("store");
    record(&store, 0, 100);
    let range = VerifyRange {
        from: Some(at(25)),
        to: Some(at(44)),
    };
    let report = verify_stream(&store, &cam(), range)
        .expect("verify")
        .expect("chain");
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.frames_verified, 20);
    assert_eq!(
        (report.first_time, report.last_time),
        (Some(at(25)), Some(at(44)))
    );
    // The signature after the range's last frames was reached and vouches for them.
    assert_eq!(report.unsigned_frames, 0);

    crate::video::truncate_before_time(&store, &cam(), at(50)).expect("truncate");
    let report = verify_all(&store);
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.frames_verified, 50);
    let (first, _) = ChainReader::open(&store, &cam())
        .expect("open")
        .expect("chain")
        .bounds()
        .expect("bounds");
    assert!(first > 0, "the chain's head moved with the data's");
}

#[test]
fn a_stream_recorded_without_a_chain_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(dir.path()).expect("store");
    let mut w = VideoWriter::open(&store, &cam(), policy()).expect("writer");
    w.append(&payload(0), at(0), true).expect("append");
    w.finish(None).expect("finish");
    assert_eq!(
        verify_stream(&store, &cam(), VerifyRange::default()).expect("verify"),
        None
    );
}

#[test]
fn a_chain_ahead_of_the_data_is_cut_back_when_the_next_writer_opens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(dir.path()).expect("store");
    record(&store, 0, 10);
    // As after a power cut that kept the chain's pages and lost the data's: chain entries for frames the data
    // does not hold.
    let w = VideoWriter::open(&store, &cam(), policy())
        .and_then(|w| w.with_chain(&store, key()))
        .expect("writer");
    let tail = w.data_tail();
    drop(w);
    let mut cw = ChainWriter::open(&store, &cam(), tail, key(), at(10)).expect("chain writer");
    cw.frame(tail, at(10), &payload(10)).expect("entry");
    cw.frame(tail + 500, at(11), &payload(11)).expect("entry");
    cw.sign_and_sync(tail + 1000, at(11)).expect("sync");
    drop(cw);
    record(&store, 10, 20);
    let report = verify_all(&store);
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.frames_verified, 20);
}

#[test]
fn a_payload_split_over_several_frames_is_checked_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(dir.path()).expect("store");
    // A 9 MiB key frame is stored as two frames on the wire; its sample ends with a marker in the second.
    let mut big = mp4_box(b"moof", &[1u8; 16]);
    let mut sample = vec![0x55u8; 9 * 1024 * 1024];
    sample.extend_from_slice(b"<tail of the big frame>");
    big.extend(mp4_box(b"mdat", &sample));
    let mut w = VideoWriter::open(&store, &cam(), policy())
        .and_then(|w| w.with_chain(&store, key()))
        .expect("writer");
    w.append(&big, at(0), true).expect("append big");
    for i in 1..5 {
        w.append(&payload(i), at(i), false).expect("append");
    }
    w.finish(Some(at(5))).expect("finish");
    let report = verify_all(&store);
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.frames_verified, 5);
    flip(dir.path(), b"<tail of the big frame>", 2);
    let report = verify_all(&store);
    assert_eq!(report.problem_count, 1, "{:?}", report.problems);
    assert!(matches!(report.problems[0], Problem::Altered { timestamp, .. } if timestamp == at(0)));
}

#[test]
fn a_copy_carries_the_chain_and_verifies_as_the_original() {
    let src_dir = tempfile::tempdir().expect("tempdir");
    let dst_dir = tempfile::tempdir().expect("tempdir");
    let src = EmbeddedStore::open(src_dir.path()).expect("store");
    let dst = EmbeddedStore::open(dst_dir.path()).expect("store");
    record(&src, 0, 60);
    // A truncated head: the copy's chain starts mid-way and its data at offset 0.
    crate::video::truncate_before_time(&src, &cam(), at(20)).expect("truncate");
    let copied = crate::copy_video_stream(&src, &cam(), &dst, &cam()).expect("copy");
    assert!(
        matches!(copied.chain, ChainCopy::Copied(n) if n > 40),
        "{copied:?}"
    );
    let report = verify_all(&dst);
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.frames_verified, 40);
    assert_eq!(report.unsigned_frames, 0);

    // Onto a destination with a chain of its own: the chain stays the destination's, the copied frames are
    // reported as not covered, and nothing is called altered.
    let copied = crate::copy_video_stream(&src, &cam(), &dst, &cam()).expect("copy again");
    assert_eq!(copied.chain, ChainCopy::DestinationHasChain);
    let report = verify_all(&dst);
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!((report.frames_verified, report.uncovered_frames), (40, 40));

    // Deleting the stream deletes its chain with it.
    crate::video::delete_video_stream(&dst, &cam()).expect("delete");
    assert!(ChainReader::open(&dst, &cam()).expect("open").is_none());
}
