//! Index records from arbitrary bytes, and time search over indexes made of them: decoding never panics and
//! round-trips, and the searches never panic. Over a time-sorted index (what writers produce) the binary
//! search must also agree with a linear scan.

#![no_main]

use hindsight_store::format::{IndexRecord, INDEX_RECORD_LEN};
use hindsight_store::search::{self, Numbered, SliceIndex};
use hindsight_store::Timestamp;
use libfuzzer_sys::fuzz_target;

fn u64_at(data: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    for (i, v) in b.iter_mut().enumerate() {
        *v = data.get(at + i).copied().unwrap_or(0);
    }
    u64::from_be_bytes(b)
}

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = IndexRecord::decode(data) {
        let encoded = r.encode();
        // Reserved bytes 0..3 are dropped by decoding; the rest is kept exactly.
        assert_eq!(encoded[3..], data[3..INDEX_RECORD_LEN]);
        assert_eq!(IndexRecord::decode(&encoded), Ok(r));
    }

    // A query time, the number of the first record (as after truncation: at most u64::MAX / 20, since record
    // n sits at byte 20 n), then records.
    let t = Timestamp::from_nanos(u64_at(data, 0));
    let first = u64_at(data, 8) % (u64::MAX / INDEX_RECORD_LEN as u64);
    let records: Vec<IndexRecord> = data
        .get(16..)
        .unwrap_or(&[])
        .chunks_exact(INDEX_RECORD_LEN)
        .filter_map(|c| IndexRecord::decode(c).ok())
        .collect();

    // Unsorted indexes (corrupt or foreign streams) must not make the searches panic.
    let mut src = SliceIndex {
        first,
        records: &records,
    };
    let _ = search::seek_target_at_or_before(&mut src, t);
    let _ = search::seek_target_at_or_after(&mut src, t);
    let _ = search::first_at_or_after(&mut src, t);
    let _ = search::last_seek_target(&mut src);
    let _ = search::first_seek_target(&mut src);

    let mut sorted = records.clone();
    sorted.sort_by_key(|r| r.timestamp);
    let mut src = SliceIndex {
        first,
        records: &sorted,
    };
    let numbered: Vec<Numbered> = sorted
        .iter()
        .enumerate()
        .map(|(i, r)| (first + i as u64, *r))
        .collect();
    let expect = numbered
        .iter()
        .rev()
        .find(|(_, r)| r.timestamp <= t && r.is_seek_target())
        .copied();
    assert_eq!(search::seek_target_at_or_before(&mut src, t).ok(), Some(expect));
    let expect = numbered
        .iter()
        .find(|(_, r)| r.timestamp >= t && r.is_seek_target())
        .copied();
    assert_eq!(search::seek_target_at_or_after(&mut src, t).ok(), Some(expect));
});
