//! The digest's cached form: LEB128 varints, times and offsets as differences where that keeps them short
//! (a full minute cell takes about ten bytes). Decoding trusts nothing: any shortfall, overflow or count larger
//! than the bytes could hold is `None`, and the caller rebuilds from the index.

use super::Digest;
use crate::format::{IndexRecord, INDEX_RECORD_LEN};
use crate::timeline::{ByteSummary, Cell, RecordedRange, Timeline};
use crate::timestamp::Timestamp;

/// Bumped whenever the layout or the meaning of a field changes; older snapshots are then rebuilt.
const VERSION: u8 = 1;

struct Out(Vec<u8>);

impl Out {
    fn u(&mut self, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(byte);
                return;
            }
            self.0.push(byte | 0x80);
        }
    }

    fn record(&mut self, r: Option<IndexRecord>) {
        match r {
            Some(r) => {
                self.0.push(1);
                self.0.extend_from_slice(&r.encode());
            }
            None => self.0.push(0),
        }
    }
}

struct In<'a>(&'a [u8]);

impl In<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn u(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn record(&mut self) -> Option<Option<IndexRecord>> {
        match self.byte()? {
            0 => Some(None),
            1 => {
                let raw = self.0.get(..INDEX_RECORD_LEN)?;
                self.0 = &self.0[INDEX_RECORD_LEN..];
                IndexRecord::decode(raw).ok().map(Some)
            }
            _ => None,
        }
    }

    /// A count of items at least `min_len` bytes each, refused when the rest could not hold that many.
    fn count(&mut self, min_len: usize) -> Option<usize> {
        let n = usize::try_from(self.u()?).ok()?;
        (n.checked_mul(min_len)? <= self.0.len()).then_some(n)
    }
}

pub(super) fn encode(d: &Digest) -> Vec<u8> {
    let mut o = Out(Vec::with_capacity(64 + d.bytes.cells.len() * 10));
    o.0.push(VERSION);
    o.u(d.first);
    o.u(d.end);
    o.record(d.last);
    let t = &d.timeline;
    o.u(t.truncated_before.map_or(0, |t| t.nanos()));
    o.u(t.ranges.len() as u64);
    for r in &t.ranges {
        o.u(r.start.nanos());
        o.u(r.end.nanos().saturating_sub(r.start.nanos()));
        o.u(r.first_record);
        o.u(r.end_record.saturating_sub(r.first_record));
        o.u(r.start_offset);
        o.u(r.end_offset.saturating_sub(r.start_offset));
        o.0.push(u8::from(r.closed));
    }
    let b = &d.bytes;
    o.u(b.step_ns);
    o.u(b.gap_ns);
    o.u(b.origin.map_or(0, |x| x + 1));
    o.record(b.last);
    o.u(b.cells.len() as u64);
    let origin = b.origin.unwrap_or(0);
    for (i, c) in b.cells.iter().enumerate() {
        let cell_start = origin.saturating_add(i as u64 * b.step_ns);
        o.u(c.bytes);
        if c.lo == 0 && c.hi == 0 {
            o.u(0);
        } else {
            o.u(c.lo.saturating_sub(cell_start) + 1);
        }
        o.u(c.hi.saturating_sub(c.lo));
    }
    o.0
}

pub(super) fn decode(bytes: &[u8]) -> Option<Digest> {
    let mut i = In(bytes);
    if i.byte()? != VERSION {
        return None;
    }
    let first = i.u()?;
    let end = i.u()?;
    let last = i.record()?;
    let truncated_before = Some(i.u()?).filter(|&t| t != 0).map(Timestamp::from_nanos);
    let n_ranges = i.count(7)?;
    let mut ranges = Vec::with_capacity(n_ranges);
    for _ in 0..n_ranges {
        let start = i.u()?;
        let end = start.checked_add(i.u()?)?;
        let first_record = i.u()?;
        let end_record = first_record.checked_add(i.u()?)?;
        let start_offset = i.u()?;
        let end_offset = start_offset.checked_add(i.u()?)?;
        let closed = match i.byte()? {
            0 => false,
            1 => true,
            _ => return None,
        };
        ranges.push(RecordedRange {
            start: Timestamp::from_nanos(start),
            end: Timestamp::from_nanos(end),
            first_record,
            end_record,
            start_offset,
            end_offset,
            closed,
        });
    }
    let step_ns = i.u()?.max(1);
    let gap_ns = i.u()?;
    let origin = i.u()?.checked_sub(1);
    let summary_last = i.record()?;
    let n_cells = i.count(3)?;
    let mut cells = Vec::with_capacity(n_cells);
    let base = origin.unwrap_or(0);
    for n in 0..n_cells {
        let bytes = i.u()?;
        let lo = match i.u()? {
            0 => 0,
            off => base
                .checked_add((n as u64).checked_mul(step_ns)?)?
                .checked_add(off - 1)?,
        };
        let hi = lo.checked_add(i.u()?)?;
        cells.push(Cell { bytes, lo, hi });
    }
    if !i.0.is_empty() || end < first {
        return None;
    }
    Some(Digest {
        first,
        end,
        last,
        timeline: Timeline {
            ranges,
            truncated_before,
        },
        bytes: ByteSummary {
            step_ns,
            gap_ns,
            origin,
            cells,
            last: summary_last,
        },
    })
}
