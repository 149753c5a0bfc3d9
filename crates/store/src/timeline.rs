//! What a timeline shows, computed from index records alone: recorded ranges, gaps, the truncated head and
//! bytes per time bucket (the bitrate strip).
//!
//! Reading only the index keeps this cheap for days of footage: one 20-byte record per key frame.

use std::time::Duration;

use crate::format::IndexRecord;
use crate::timestamp::Timestamp;

/// Index records further apart than this start a new recorded range by default: longer than any key-frame
/// interval a recorder uses (the sink forces a record after `index-max-sec`, 10 s by default), so a gap is a
/// real pause of the recording.
pub const DEFAULT_RANGE_GAP: Duration = Duration::from_secs(12);

/// One continuous stretch of recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedRange {
    /// Time of the first record.
    pub start: Timestamp,
    /// Time of the last record (the end record when the recording stopped cleanly).
    pub end: Timestamp,
    /// Number of the first record.
    pub first_record: u64,
    /// One past the number of the last record.
    pub end_record: u64,
    /// Data offset of the first record.
    pub start_offset: u64,
    /// Data offset of the last record.
    pub end_offset: u64,
    /// True when the range closes with an end record (the writer stopped cleanly); false while it may still
    /// grow or after a crash.
    pub closed: bool,
}

impl RecordedRange {
    /// Length of the range.
    pub fn duration(&self) -> Duration {
        self.end.duration_since(self.start)
    }
}

/// The index summarised for display.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Timeline {
    /// Recorded ranges in time order; the spaces between them are gaps.
    pub ranges: Vec<RecordedRange>,
    /// When records before the first stored one were deleted by truncation: the time data now starts.
    pub truncated_before: Option<Timestamp>,
}

impl Timeline {
    /// Builds the summary. `first` is the number of `records[0]` (non-zero after truncation). A new range
    /// starts at a discontinuity record or where consecutive records are more than `gap` apart.
    pub fn from_records(first: u64, records: &[IndexRecord], gap: Duration) -> Self {
        let mut timeline = Timeline {
            ranges: Vec::new(),
            truncated_before: if first > 0 {
                records.first().map(|r| r.timestamp)
            } else {
                None
            },
        };
        timeline.extend(first, records, 0, gap);
        timeline
    }

    /// Takes in the records `records[from..]` that were appended since the summary was made of
    /// `records[..from]` (numbered from `first` as in [`Timeline::from_records`]), without going over the
    /// older ones again.
    pub fn extend(&mut self, first: u64, records: &[IndexRecord], from: usize, gap: Duration) {
        let gap_ns = gap.as_nanos().min(u128::from(u64::MAX)) as u64;
        let touched = self.ranges.len().saturating_sub(1);
        for (i, rec) in records.iter().enumerate().skip(from) {
            let n = first + i as u64;
            let split = match self.ranges.last() {
                None => true,
                Some(last) => {
                    rec.flags.discontinuity()
                        || rec.timestamp.nanos().saturating_sub(last.end.nanos()) > gap_ns
                }
            };
            if split {
                self.ranges.push(RecordedRange {
                    start: rec.timestamp,
                    end: rec.timestamp,
                    first_record: n,
                    end_record: n + 1,
                    start_offset: rec.offset,
                    end_offset: rec.offset,
                    closed: false,
                });
            } else if let Some(last) = self.ranges.last_mut() {
                last.end = last.end.max(rec.timestamp);
                last.end_record = n + 1;
                last.end_offset = rec.offset;
            }
        }
        // A range whose last record is not a key frame and is followed by a new range (or nothing) ends with
        // an end record; a crashed writer leaves a key frame or forced record without a successor instead.
        for range in self.ranges.iter_mut().skip(touched) {
            // Ranges the new records did not reach keep what they were (their last record is not in `records`
            // when these are only the appended ones).
            let Some(last) = (range.end_record - 1)
                .checked_sub(first)
                .and_then(|i| records.get(i as usize))
            else {
                continue;
            };
            range.closed = range.end_record > range.first_record + 1 && !last.flags.random_access();
        }
    }

    /// The recorded time of several timelines together (cameras reviewed side by side): their ranges merged
    /// where they overlap or are at most `gap` apart. Record numbers and offsets of merged ranges are the first
    /// timeline's own and mean little; the head is the latest truncated head.
    pub fn union<'a>(timelines: impl IntoIterator<Item = &'a Timeline>, gap: Duration) -> Timeline {
        let mut all: Vec<RecordedRange> = Vec::new();
        let mut truncated_before = None;
        for t in timelines {
            all.extend_from_slice(&t.ranges);
            truncated_before = truncated_before.max(t.truncated_before);
        }
        all.sort_by_key(|r| r.start);
        let mut ranges: Vec<RecordedRange> = Vec::with_capacity(all.len());
        for r in all {
            match ranges.last_mut() {
                Some(last) if r.start <= last.end.saturating_add(gap) => {
                    if r.end > last.end {
                        last.end = r.end;
                        last.closed = r.closed;
                    }
                }
                _ => ranges.push(r),
            }
        }
        Timeline {
            ranges,
            truncated_before,
        }
    }

    /// The range that contains `t`, if any.
    pub fn range_at(&self, t: Timestamp) -> Option<&RecordedRange> {
        let idx = self.ranges.partition_point(|r| r.start <= t);
        idx.checked_sub(1).map(|i| &self.ranges[i]).filter(|r| t <= r.end)
    }

    /// The gaps between ranges as `(end of one range, start of the next)`.
    pub fn gaps(&self) -> Vec<(Timestamp, Timestamp)> {
        self.ranges.windows(2).map(|w| (w[0].end, w[1].start)).collect()
    }

    /// The first range starting after `t`.
    pub fn next_range(&self, t: Timestamp) -> Option<&RecordedRange> {
        self.ranges.iter().find(|r| r.start > t)
    }

    /// The last range ending before `t`, or the one containing `t` if `t` is past its start.
    pub fn previous_range(&self, t: Timestamp) -> Option<&RecordedRange> {
        self.ranges.iter().rev().find(|r| r.start < t)
    }
}

/// Bytes recorded per time bucket over `[from, to)` split into `buckets` equal buckets, from index offsets:
/// the bytes between two consecutive records are spread evenly over the time between them. Bytes between
/// records of different ranges (across a gap or discontinuity) count at the earlier record's time.
pub fn bitrate_buckets(
    records: &[IndexRecord],
    from: Timestamp,
    to: Timestamp,
    buckets: usize,
    gap: Duration,
) -> Vec<u64> {
    let mut out = vec![0u64; buckets];
    if buckets == 0 || to <= from {
        return out;
    }
    let (lo, hi) = (from.nanos() as f64, to.nanos() as f64);
    let width = (hi - lo) / buckets as f64;
    let gap_ns = gap.as_nanos() as f64;
    let mut add = |t0: f64, t1: f64, bytes: f64| {
        if t1 <= t0 {
            if t0 >= lo && t0 < hi {
                let b = (((t0 - lo) / width) as usize).min(buckets - 1);
                out[b] += bytes as u64;
            }
            return;
        }
        let (s, e) = (t0.max(lo), t1.min(hi));
        if e <= s {
            return;
        }
        spread(&mut out, lo, width, (s, e), bytes / (t1 - t0));
    };
    // Only the records in the window, and the one before it (its bytes run into the window).
    let lo_i = records.partition_point(|r| r.timestamp < from).saturating_sub(1);
    let hi_i = (records.partition_point(|r| r.timestamp <= to) + 1).min(records.len());
    for pair in records[lo_i..hi_i].windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let bytes = b.offset.saturating_sub(a.offset) as f64;
        let (t0, t1) = (a.timestamp.nanos() as f64, b.timestamp.nanos() as f64);
        if b.flags.discontinuity() || t1 - t0 > gap_ns {
            add(t0, t0, bytes);
        } else {
            add(t0, t1, bytes);
        }
    }
    out
}

/// Adds `rate` bytes per nanosecond over `span` to the buckets `out`, each `width` ns wide from `lo`.
fn spread(out: &mut [u64], lo: f64, width: f64, (s, e): (f64, f64), rate: f64) {
    let buckets = out.len();
    let mut b = (((s - lo) / width) as usize).min(buckets - 1);
    let mut at = s;
    while at < e && b < buckets {
        let bucket_end = (lo + (b + 1) as f64 * width).min(e);
        out[b] += ((bucket_end - at) * rate).round() as u64;
        at = bucket_end;
        b += 1;
    }
}

/// Bytes per fixed step of time, built as index records come in, so a timeline showing weeks draws its bitrate
/// strip from a few tens of thousands of cells instead of millions of records. Bytes are spread as
/// [`bitrate_buckets`] spreads them; each cell also keeps the span its bytes cover, so where a recording starts
/// or stops inside a cell its bytes stay where they were recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteSummary {
    pub(crate) step_ns: u64,
    pub(crate) gap_ns: u64,
    /// Time of cell 0.
    pub(crate) origin: Option<u64>,
    pub(crate) cells: Vec<Cell>,
    pub(crate) last: Option<IndexRecord>,
}

/// One cell: its bytes and the times they cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Cell {
    pub(crate) bytes: u64,
    pub(crate) lo: u64,
    pub(crate) hi: u64,
}

impl ByteSummary {
    /// An empty summary of cells `step` long; records further apart than `gap` are not spread between.
    pub fn new(step: Duration, gap: Duration) -> Self {
        ByteSummary {
            step_ns: (step.as_nanos() as u64).max(1),
            gap_ns: gap.as_nanos().min(u128::from(u64::MAX)) as u64,
            origin: None,
            cells: Vec::new(),
            last: None,
        }
    }

    /// The length of a cell.
    pub fn step(&self) -> Duration {
        Duration::from_nanos(self.step_ns)
    }

    /// Takes in records that follow the ones already taken in.
    pub fn extend(&mut self, records: &[IndexRecord]) {
        for &b in records {
            if let Some(a) = self.last {
                let bytes = b.offset.saturating_sub(a.offset) as f64;
                let (t0, t1) = (a.timestamp.nanos(), b.timestamp.nanos());
                if b.flags.discontinuity() || t1.saturating_sub(t0) > self.gap_ns || t1 <= t0 {
                    self.add(t0, t0, bytes);
                } else {
                    self.add(t0, t1, bytes);
                }
            } else {
                self.origin = Some(b.timestamp.nanos() / self.step_ns * self.step_ns);
            }
            self.last = Some(b);
        }
    }

    fn put(&mut self, i: usize, bytes: u64, lo: u64, hi: u64) {
        if i >= self.cells.len() {
            self.cells.resize(i + 1, Cell::default());
        }
        let c = &mut self.cells[i];
        if c.bytes == 0 && c.lo == 0 && c.hi == 0 {
            (c.lo, c.hi) = (lo, hi);
        } else {
            (c.lo, c.hi) = (c.lo.min(lo), c.hi.max(hi));
        }
        c.bytes += bytes;
    }

    fn add(&mut self, t0: u64, t1: u64, bytes: f64) {
        let Some(origin) = self.origin else { return };
        let step = self.step_ns;
        let index = |t: u64| (t.saturating_sub(origin) / step) as usize;
        if t1 <= t0 {
            self.put(index(t0), bytes as u64, t0, t0);
            return;
        }
        let rate = bytes / (t1 - t0) as f64;
        let mut at = t0;
        while at < t1 {
            let i = index(at);
            let cell_end = (origin + (i as u64 + 1) * step).min(t1);
            self.put(i, ((cell_end - at) as f64 * rate).round() as u64, at, cell_end);
            at = cell_end;
        }
    }

    /// Forgets the bytes recorded before `t` (footage deleted by truncation): whole cells before it go, the
    /// cell it falls in keeps the share of its bytes that lies after it.
    pub fn clip_before(&mut self, t: Timestamp) {
        let t = t.nanos();
        for c in &mut self.cells {
            if c.bytes == 0 || c.lo >= t {
                continue;
            }
            if c.hi <= t {
                *c = Cell::default();
            } else {
                let kept = (c.hi - t) as f64 / (c.hi - c.lo) as f64;
                c.bytes = (c.bytes as f64 * kept).round() as u64;
                c.lo = t;
            }
        }
    }

    /// The cells with bytes that start before `t`, in time order: where their bytes start, and how many.
    pub fn cells_before(&self, t: Timestamp) -> impl Iterator<Item = (Timestamp, u64)> + '_ {
        self.cells
            .iter()
            .filter(|c| c.bytes > 0)
            .take_while(move |c| c.lo < t.nanos())
            .map(|c| (Timestamp::from_nanos(c.lo), c.bytes))
    }

    /// Bytes summed over all cells.
    pub fn total(&self) -> u64 {
        self.cells.iter().map(|c| c.bytes).sum()
    }

    /// Bytes per bucket over `[from, to)` in `buckets` equal buckets, each cell's bytes spread evenly over the
    /// times they cover.
    pub fn buckets(&self, from: Timestamp, to: Timestamp, buckets: usize) -> Vec<u64> {
        let mut out = vec![0u64; buckets];
        let Some(origin) = self.origin else { return out };
        if buckets == 0 || to <= from {
            return out;
        }
        let (lo, hi) = (from.nanos() as f64, to.nanos() as f64);
        let width = (hi - lo) / buckets as f64;
        let first = (from.nanos().saturating_sub(origin) / self.step_ns) as usize;
        for c in self.cells.iter().skip(first) {
            if c.bytes == 0 {
                continue;
            }
            let (c0, c1) = (c.lo as f64, c.hi as f64);
            if c0 >= hi {
                break;
            }
            if c1 <= c0 {
                if c0 >= lo {
                    out[(((c0 - lo) / width) as usize).min(buckets - 1)] += c.bytes;
                }
                continue;
            }
            let (s, e) = (c0.max(lo), c1.min(hi));
            if e <= s {
                continue;
            }
            spread(&mut out, lo, width, (s, e), c.bytes as f64 / (c1 - c0));
        }
        out
    }
}

#[cfg(test)]
mod tests;
