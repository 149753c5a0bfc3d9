//! Time search over an index stream in O(log n) record reads.
//!
//! Index records are appended in time order, so a binary search over record numbers finds a time. Seek targets
//! are only records with the random-access flag: records forced by `index-max-sec` at delta frames and end
//! records cannot start decoding, so a seek steps back from them to the key frame before.

use crate::error::Result;
use crate::format::IndexRecord;
use crate::timestamp::Timestamp;

/// Anything that can read index records by number. Record `n` sits at byte `20 * n` of the index stream;
/// truncation removes a prefix, so valid numbers are `first..end`.
pub trait IndexSource {
    /// The valid record numbers `(first, end)`, end exclusive.
    fn bounds(&mut self) -> Result<(u64, u64)>;
    /// Reads record `n` (within the bounds).
    fn record(&mut self, n: u64) -> Result<IndexRecord>;
}

/// An in-memory index, e.g. a slice read at once, whose first record has number `first`.
#[derive(Debug, Clone, Copy)]
pub struct SliceIndex<'a> {
    /// Number of `records[0]`.
    pub first: u64,
    /// The records.
    pub records: &'a [IndexRecord],
}

impl IndexSource for SliceIndex<'_> {
    fn bounds(&mut self) -> Result<(u64, u64)> {
        Ok((self.first, self.first + self.records.len() as u64))
    }
    fn record(&mut self, n: u64) -> Result<IndexRecord> {
        n.checked_sub(self.first)
            .and_then(|i| self.records.get(i as usize))
            .copied()
            .ok_or_else(|| crate::error::StoreError::Inconsistent(format!("index record {n} out of range")))
    }
}

/// A record together with its number.
pub type Numbered = (u64, IndexRecord);

/// The last record number within `(first, end)` whose timestamp is `<= t`, by binary search. The bounds are
/// asked once per search by its caller: on a store each answer costs a look at the stream's files or a round
/// trip to the server.
fn last_at_or_before(
    src: &mut dyn IndexSource,
    (first, end): (u64, u64),
    t: Timestamp,
) -> Result<Option<u64>> {
    let (mut lo, mut hi) = (first, end);
    // Invariant: records before lo are <= t, records at or after hi are > t.
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if src.record(mid)?.timestamp <= t {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok(if lo > first { Some(lo - 1) } else { None })
}

/// The random-access record at or before `t`: where to start decoding to show time `t`.
pub fn seek_target_at_or_before(src: &mut dyn IndexSource, t: Timestamp) -> Result<Option<Numbered>> {
    let bounds = src.bounds()?;
    let Some(mut n) = last_at_or_before(src, bounds, t)? else {
        return Ok(None);
    };
    loop {
        let rec = src.record(n)?;
        if rec.is_seek_target() {
            return Ok(Some((n, rec)));
        }
        if n == bounds.0 {
            return Ok(None);
        }
        n -= 1;
    }
}

/// The first record (of any kind) with timestamp `>= t`.
pub fn first_at_or_after(src: &mut dyn IndexSource, t: Timestamp) -> Result<Option<Numbered>> {
    let bounds = src.bounds()?;
    first_at_or_after_in(src, bounds, t)
}

fn first_at_or_after_in(
    src: &mut dyn IndexSource,
    bounds: (u64, u64),
    t: Timestamp,
) -> Result<Option<Numbered>> {
    let (first, end) = bounds;
    let n = match last_at_or_before(src, bounds, t)? {
        Some(n) if src.record(n)?.timestamp == t => {
            // Step back over equal timestamps to the first of them.
            let mut k = n;
            while k > first && src.record(k - 1)?.timestamp == t {
                k -= 1;
            }
            k
        }
        Some(n) => n + 1,
        None => first,
    };
    if n < end {
        Ok(Some((n, src.record(n)?)))
    } else {
        Ok(None)
    }
}

/// The first random-access record with timestamp `>= t`.
pub fn seek_target_at_or_after(src: &mut dyn IndexSource, t: Timestamp) -> Result<Option<Numbered>> {
    let bounds = src.bounds()?;
    let Some((mut n, _)) = first_at_or_after_in(src, bounds, t)? else {
        return Ok(None);
    };
    while n < bounds.1 {
        let rec = src.record(n)?;
        if rec.is_seek_target() {
            return Ok(Some((n, rec)));
        }
        n += 1;
    }
    Ok(None)
}

/// The first record still stored.
pub fn first_record(src: &mut dyn IndexSource) -> Result<Option<Numbered>> {
    let (first, end) = src.bounds()?;
    if first < end {
        Ok(Some((first, src.record(first)?)))
    } else {
        Ok(None)
    }
}

/// The last record.
pub fn last_record(src: &mut dyn IndexSource) -> Result<Option<Numbered>> {
    let (first, end) = src.bounds()?;
    if first < end {
        Ok(Some((end - 1, src.record(end - 1)?)))
    } else {
        Ok(None)
    }
}

/// The newest random-access record: where the live edge starts decoding.
pub fn last_seek_target(src: &mut dyn IndexSource) -> Result<Option<Numbered>> {
    seek_target_at_or_before(src, Timestamp::MAX)
}

/// The oldest random-access record: where playback from the earliest point starts.
pub fn first_seek_target(src: &mut dyn IndexSource) -> Result<Option<Numbered>> {
    seek_target_at_or_after(src, Timestamp::from_nanos(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Flags;
    use proptest::prelude::*;

    fn rec(ts: u64, key: bool) -> IndexRecord {
        IndexRecord {
            flags: Flags::new(false, key, false),
            timestamp: Timestamp::from_nanos(ts),
            offset: ts * 10,
        }
    }

    /// Random indexes: non-decreasing timestamps (with repeats), some forced delta records, a truncated head.
    fn index_strategy() -> impl Strategy<Value = (u64, Vec<IndexRecord>)> {
        (
            0u64..1000,
            proptest::collection::vec((0u64..5, proptest::bool::weighted(0.7)), 0..200),
        )
            .prop_map(|(first, steps)| {
                let mut ts = 1;
                let recs = steps
                    .into_iter()
                    .map(|(step, key)| {
                        ts += step;
                        rec(ts, key)
                    })
                    .collect();
                (first, recs)
            })
    }

    proptest! {
        #[test]
        fn search_equals_linear_scan((first, recs) in index_strategy(), t in 0u64..1100) {
            let t = Timestamp::from_nanos(t);
            let mut src = SliceIndex { first, records: &recs };
            let numbered: Vec<Numbered> = recs.iter().enumerate().map(|(i, r)| (first + i as u64, *r)).collect();

            let expect = numbered.iter().rev().find(|(_, r)| r.timestamp <= t && r.is_seek_target()).copied();
            prop_assert_eq!(seek_target_at_or_before(&mut src, t).expect("search"), expect);

            let expect = numbered.iter().find(|(_, r)| r.timestamp >= t).copied();
            prop_assert_eq!(first_at_or_after(&mut src, t).expect("search"), expect);

            let expect = numbered.iter().find(|(_, r)| r.timestamp >= t && r.is_seek_target()).copied();
            prop_assert_eq!(seek_target_at_or_after(&mut src, t).expect("search"), expect);

            prop_assert_eq!(first_record(&mut src).expect("first"), numbered.first().copied());
            prop_assert_eq!(last_record(&mut src).expect("last"), numbered.last().copied());
            let expect = numbered.iter().rev().find(|(_, r)| r.is_seek_target()).copied();
            prop_assert_eq!(last_seek_target(&mut src).expect("last key"), expect);
            let expect = numbered.iter().find(|(_, r)| r.is_seek_target()).copied();
            prop_assert_eq!(first_seek_target(&mut src).expect("first key"), expect);
        }
    }

    #[test]
    fn forced_records_are_never_seek_targets() {
        let recs = [rec(10, true), rec(20, false), rec(30, false)];
        let mut src = SliceIndex {
            first: 0,
            records: &recs,
        };
        let (n, r) = seek_target_at_or_before(&mut src, Timestamp::from_nanos(35))
            .expect("search")
            .expect("found");
        assert_eq!((n, r.timestamp.nanos()), (0, 10));
        assert_eq!(
            seek_target_at_or_before(&mut src, Timestamp::from_nanos(5)).expect("search"),
            None
        );
    }

    /// Counts record reads and bounds asked, to show the search is logarithmic and asks the bounds once.
    struct Counting<'a> {
        index: SliceIndex<'a>,
        reads: u64,
        bounds: u64,
    }
    impl IndexSource for Counting<'_> {
        fn bounds(&mut self) -> Result<(u64, u64)> {
            self.bounds += 1;
            self.index.bounds()
        }
        fn record(&mut self, n: u64) -> Result<IndexRecord> {
            self.reads += 1;
            self.index.record(n)
        }
    }

    #[test]
    fn search_reads_logarithmically_many_records_and_asks_the_bounds_once() {
        let recs: Vec<IndexRecord> = (1..=1_000_000u64).map(|i| rec(i * 3, i % 4 != 0)).collect();
        let searches: [(&str, SearchFn); 3] = [
            ("seek target at or before", seek_target_at_or_before),
            ("first at or after", first_at_or_after),
            ("seek target at or after", seek_target_at_or_after),
        ];
        for (what, search) in searches {
            let mut src = Counting {
                index: SliceIndex {
                    first: 0,
                    records: &recs,
                },
                reads: 0,
                bounds: 0,
            };
            search(&mut src, Timestamp::from_nanos(2_000_000)).expect("search");
            assert!(src.reads <= 25, "{what}: {} reads", src.reads);
            assert_eq!(src.bounds, 1, "{what}: asked the bounds {} times", src.bounds);
        }
    }

    type SearchFn = fn(&mut dyn IndexSource, Timestamp) -> Result<Option<Numbered>>;
}
