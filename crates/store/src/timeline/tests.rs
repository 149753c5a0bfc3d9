use super::*;
use crate::format::Flags;

const S: u64 = 1_000_000_000;

fn rec(secs: u64, flags: Flags, offset: u64) -> IndexRecord {
    IndexRecord {
        flags,
        timestamp: Timestamp::from_nanos(1_000 * S + secs * S),
        offset,
    }
}
fn key() -> Flags {
    Flags::new(false, true, false)
}
fn first_key() -> Flags {
    Flags::new(false, true, true)
}
fn end() -> Flags {
    Flags(0)
}

fn sample() -> Vec<IndexRecord> {
    vec![
        rec(0, first_key(), 0),
        rec(1, key(), 100),
        rec(2, key(), 200),
        rec(3, end(), 300),
        // Second recording after a pause.
        rec(60, first_key(), 300),
        rec(61, key(), 500),
        // A jump in time without a discontinuity flag (camera clock step).
        rec(200, key(), 700),
        rec(201, key(), 800),
    ]
}

#[test]
fn ranges_split_at_discontinuities_and_jumps() {
    let tl = Timeline::from_records(0, &sample(), Duration::from_secs(10));
    assert_eq!(tl.ranges.len(), 3);
    assert_eq!(tl.ranges[0].duration(), Duration::from_secs(3));
    assert!(tl.ranges[0].closed);
    assert!(!tl.ranges[1].closed);
    assert!(!tl.ranges[2].closed);
    assert_eq!((tl.ranges[1].first_record, tl.ranges[1].end_record), (4, 6));
    assert_eq!(tl.gaps().len(), 2);
    assert_eq!(tl.truncated_before, None);
    let t = Timestamp::from_nanos(1_000 * S + 61 * S);
    assert_eq!(tl.range_at(t).map(|r| r.first_record), Some(4));
    assert_eq!(tl.range_at(Timestamp::from_nanos(1_000 * S + 30 * S)), None);
    assert_eq!(tl.next_range(t).map(|r| r.first_record), Some(6));
    assert_eq!(tl.previous_range(t).map(|r| r.first_record), Some(4));
}

#[test]
fn the_union_of_timelines_merges_what_overlaps_or_nearly_touches() {
    let range = |a: u64, b: u64| RecordedRange {
        start: Timestamp::from_nanos(a * S),
        end: Timestamp::from_nanos(b * S),
        first_record: 0,
        end_record: 1,
        start_offset: 0,
        end_offset: 0,
        closed: false,
    };
    let one = Timeline {
        ranges: vec![range(0, 10), range(100, 110)],
        truncated_before: None,
    };
    let two = Timeline {
        ranges: vec![range(5, 20), range(25, 30), range(200, 210)],
        truncated_before: Some(Timestamp::from_nanos(5 * S)),
    };
    let u = Timeline::union([&one, &two], Duration::from_secs(10));
    let spans: Vec<(u64, u64)> = u
        .ranges
        .iter()
        .map(|r| (r.start.nanos() / S, r.end.nanos() / S))
        .collect();
    assert_eq!(spans, vec![(0, 30), (100, 110), (200, 210)]);
    assert_eq!(u.truncated_before, Some(Timestamp::from_nanos(5 * S)));
}

#[test]
fn truncated_head_is_reported() {
    let recs = sample();
    let tl = Timeline::from_records(2, &recs[2..], Duration::from_secs(10));
    assert_eq!(tl.truncated_before, Some(recs[2].timestamp));
    assert_eq!(tl.ranges[0].first_record, 2);
}

#[test]
fn extending_a_timeline_is_building_it_whole() {
    let recs = sample();
    let gap = Duration::from_secs(10);
    for split in 0..recs.len() {
        let mut tl = Timeline::from_records(0, &recs[..split], gap);
        tl.extend(0, &recs, split, gap);
        assert_eq!(tl, Timeline::from_records(0, &recs, gap), "split at {split}");
    }
}

#[test]
fn a_byte_summary_grows_with_the_records_and_agrees_with_them() {
    // A day of a record a second, 1 kB each, with an hour's pause.
    let mut recs = Vec::new();
    let mut offset = 0;
    for s in 0..86_400u64 {
        if (36_000..39_600).contains(&s) {
            continue;
        }
        recs.push(rec(s, if s == 39_600 { first_key() } else { key() }, offset));
        offset += 1000;
    }
    let gap = Duration::from_secs(10);
    let mut summary = ByteSummary::new(Duration::from_secs(60), gap);
    for chunk in recs.chunks(7_777) {
        summary.extend(chunk);
    }
    let (from, to) = (recs[0].timestamp, recs[recs.len() - 1].timestamp);
    let exact = bitrate_buckets(&recs, from, to, 640, gap);
    let approx = summary.buckets(from, to, 640);
    let (a, b): (u64, u64) = (exact.iter().sum(), approx.iter().sum());
    assert!(a.abs_diff(b) <= 640, "totals {a} vs {b}");
    for (i, (x, y)) in exact.iter().zip(&approx).enumerate() {
        assert!(x.abs_diff(*y) <= x / 20 + 1000, "bucket {i}: {x} vs {y}");
    }
    // The pause holds nothing.
    let pause = summary.buckets(
        rec(36_100, key(), 0).timestamp,
        rec(39_500, key(), 0).timestamp,
        10,
    );
    assert_eq!(pause.iter().sum::<u64>(), 0);
    assert_eq!(
        ByteSummary::new(Duration::from_secs(60), gap).buckets(from, to, 3),
        [0, 0, 0]
    );
}

#[test]
fn bitrate_sums_to_bytes_in_window() {
    let recs = sample();
    let from = Timestamp::from_nanos(1_000 * S);
    let to = Timestamp::from_nanos(1_000 * S + 300 * S);
    let b = bitrate_buckets(&recs, from, to, 300, Duration::from_secs(10));
    assert_eq!(b.iter().sum::<u64>(), 800);
    assert_eq!(b[0], 100);
    assert_eq!(b[2], 100);
    // The pause between recordings has no bytes spread over it.
    assert!(b[10..59].iter().all(|&x| x == 0));
    // Coarse buckets still add up.
    let b = bitrate_buckets(&recs, from, to, 7, Duration::from_secs(10));
    assert_eq!(b.iter().sum::<u64>(), 800);
    // A window covering part of the data counts only that part.
    let half = bitrate_buckets(
        &recs,
        from,
        Timestamp::from_nanos(1_000 * S + S / 2),
        1,
        Duration::from_secs(10),
    );
    assert_eq!(half, vec![50]);
}
