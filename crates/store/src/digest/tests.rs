use super::*;
use crate::format::{Flags, INDEX_RECORD_LEN};
use crate::timestamp::Timestamp;
use crate::StoreUri;

const SEC: u64 = 1_000_000_000;

/// `n` index records: a key frame a second, 5 kB apart, with a 60 s pause after every 5 000 and a
/// discontinuity after every 7 000, ending with an end record.
fn records(n: u64) -> Vec<IndexRecord> {
    let mut t = 1_000 * SEC;
    let mut out: Vec<IndexRecord> = (0..n)
        .map(|i| {
            if i > 0 && i % 5_000 == 0 {
                t += 60 * SEC;
            }
            t += SEC;
            IndexRecord {
                flags: Flags::new(false, true, i % 7_000 == 0),
                timestamp: Timestamp::from_nanos(t),
                offset: i * 5_000,
            }
        })
        .collect();
    out.push(IndexRecord {
        flags: Flags::new(false, false, false),
        timestamp: Timestamp::from_nanos(t + SEC / 2),
        offset: n * 5_000,
    });
    out
}

/// A store with a video stream whose index holds `recs` (the data stream exists and stays empty: a digest reads
/// only the index).
fn store_with(recs: &[IndexRecord]) -> (tempfile::TempDir, std::sync::Arc<dyn Backend>, StreamName) {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = StoreUri::embedded(dir.path()).open_new().expect("store");
    let name = StreamName::parse("digest/cam").expect("name");
    backend.create(&name).expect("data");
    backend.create(&name.index().expect("index name")).expect("index");
    append(backend.as_ref(), &name, recs);
    (dir, backend, name)
}

fn append(backend: &dyn Backend, name: &StreamName, recs: &[IndexRecord]) {
    let mut w = backend
        .writer(&name.index().expect("index name"))
        .expect("writer");
    let bytes: Vec<u8> = recs.iter().flat_map(|r| r.encode()).collect();
    w.append(&bytes).expect("append");
    w.sync().expect("sync");
}

fn whole(first: u64, recs: &[IndexRecord]) -> Timeline {
    Timeline::from_records(first, recs, DEFAULT_RANGE_GAP)
}

#[test]
fn a_digest_grown_in_pieces_is_the_digest_built_at_once() {
    let recs = records(20_000);
    let mut at_once = Digest::new(0);
    at_once.extend(&recs);
    assert_eq!(at_once.timeline, whole(0, &recs));
    let mut pieces = Digest::new(0);
    let mut at = 0;
    for len in [1, 2, 4_998, 1, 7_000, 3_333].into_iter().cycle() {
        let end = (at + len).min(recs.len());
        pieces.extend(&recs[at..end]);
        at = end;
        if at == recs.len() {
            break;
        }
    }
    assert_eq!(pieces, at_once);
    assert_eq!(at_once.end(), recs.len() as u64);
    assert_eq!(at_once.bytes.total(), 20_000 * 5_000);
    // Four pauses and two more discontinuities: seven ranges, the last closed by its end record.
    assert_eq!(at_once.timeline.ranges.len(), 6);
    assert!(at_once.timeline.ranges.last().expect("a range").closed);
}

#[test]
fn the_cached_form_reads_back_the_same_and_garbage_reads_as_nothing() {
    let recs = records(12_000);
    let mut d = Digest::new(3);
    d.extend(&recs[3..]);
    let bytes = d.encode();
    assert_eq!(Digest::decode(&bytes).as_ref(), Some(&d));
    // A full minute costs about ten bytes; 12 000 s of footage is 200-odd cells.
    assert!(bytes.len() < 4_000, "{} bytes", bytes.len());
    for cut in 0..bytes.len() {
        assert_eq!(Digest::decode(&bytes[..cut]), None, "cut at {cut}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(Digest::decode(&longer), None);
    let mut other_version = bytes;
    other_version[0] = 99;
    assert_eq!(Digest::decode(&other_version), None);
    // Huge counts are refused before anything is allocated.
    assert_eq!(
        Digest::decode(&[1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f]),
        None
    );
}

#[test]
fn load_builds_caches_and_then_reads_only_what_was_appended() {
    let recs = records(10_000);
    let (_dir, backend, name) = store_with(&recs[..8_000]);
    let first = load(backend.as_ref(), &name).expect("load");
    assert!(!first.from_cache && first.saved);
    assert_eq!(first.records_read, 8_000);
    assert_eq!(first.digest.timeline, whole(0, &recs[..8_000]));

    let again = load(backend.as_ref(), &name).expect("load");
    assert!(again.from_cache && !again.saved);
    assert_eq!(again.records_read, 0);
    assert_eq!(again.digest, first.digest);

    append(backend.as_ref(), &name, &recs[8_000..]);
    let grown = load(backend.as_ref(), &name).expect("load");
    assert!(grown.from_cache);
    assert_eq!(grown.records_read, recs.len() as u64 - 8_000);
    let mut at_once = Digest::new(0);
    at_once.extend(&recs);
    assert_eq!(grown.digest, at_once);
    // Fewer new records than SAVE_AFTER: the cache still ends at 8 000, and the cache stream holds one
    // snapshot (each save truncates the one before).
    assert_eq!(
        load(backend.as_ref(), &name).expect("load").records_read,
        recs.len() as u64 - 8_000
    );
    save(backend.as_ref(), &name, &grown.digest).expect("save");
    let info = backend.info(&digest_name(&name).expect("name")).expect("info");
    assert_eq!(info.tail - info.head, 8 + grown.digest.encode().len() as u64);
    assert_eq!(load(backend.as_ref(), &name).expect("load").records_read, 0);
}

#[test]
fn a_cache_that_disagrees_with_the_index_is_rebuilt() {
    let recs = records(6_000);
    let (_dir, backend, name) = store_with(&recs);
    load(backend.as_ref(), &name).expect("load");
    // The index is cut back and written again differently (a repair after a crash does that to its tail).
    let index = name.index().expect("index name");
    let mut w = backend.writer(&index).expect("writer");
    w.truncate_tail(5_000 * INDEX_RECORD_LEN as u64).expect("cut");
    drop(w);
    let mut other = records(6_000)[5_000..].to_vec();
    for r in &mut other {
        r.offset += 1;
    }
    append(backend.as_ref(), &name, &other);
    let reloaded = load(backend.as_ref(), &name).expect("load");
    assert!(!reloaded.from_cache);
    let mut expected = recs[..5_000].to_vec();
    expected.extend_from_slice(&other);
    assert_eq!(reloaded.digest.timeline, whole(0, &expected));

    // A torn snapshot after the good one (a crash while saving) leaves the good one in use.
    let mut w = backend
        .writer(&digest_name(&name).expect("name"))
        .expect("writer");
    w.append(b"HSD1\0\0\x10\0garbage").expect("append");
    drop(w);
    assert!(load(backend.as_ref(), &name).expect("load").from_cache);
}

#[test]
fn after_a_truncation_the_cached_digest_starts_at_the_new_head() {
    let recs = records(9_000);
    let (_dir, backend, name) = store_with(&recs);
    load(backend.as_ref(), &name).expect("load");
    let cut = 5_500u64;
    backend
        .truncate_before(&name.index().expect("index name"), cut * INDEX_RECORD_LEN as u64)
        .expect("truncate");
    let loaded = load(backend.as_ref(), &name).expect("load");
    assert!(loaded.from_cache);
    assert_eq!(loaded.digest.first(), cut);
    assert_eq!(loaded.digest.timeline, whole(cut, &recs[cut as usize..]));
    let before = recs[cut as usize].timestamp;
    assert_eq!(
        loaded.digest.bytes.buckets(Timestamp::from_nanos(0), before, 1),
        vec![0],
        "no bytes before the head"
    );
    delete(backend.as_ref(), &name).expect("delete");
    assert!(!backend
        .exists(&digest_name(&name).expect("name"))
        .expect("exists"));
    delete(backend.as_ref(), &name).expect("deleting nothing is fine");
}
