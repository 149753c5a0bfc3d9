//! What a new writer finds at the end of a stream that a crash or a power cut left behind: the frames that are
//! whole, the frames flagged for the index that lost their record, and where the damage starts.
//!
//! A killed process leaves at most a frame cut short. A power cut can leave more: a file system that logs the
//! file's new size before the appended blocks reach the disk (XFS can) shows the blocks that never got there
//! as zeros, so a frame's header may be intact while its payload, or the part of it on the lost blocks, reads
//! as zeros. Only bytes after the last synced frame can be lost that way (the writer syncs each frame with an
//! index record before writing the record), so only those are checked: a run of zeros as long as a disk sector
//! inside a frame, or zeros ending the last whole frame right before bytes that do not parse, mark the frame
//! as unwritten. Video payloads never hold such runs (H.264 forbids three zero bytes in a row inside a NAL
//! unit; fMP4 boxes and MPEG-TS stuffing are far shorter or not zeros), and a frame cut by mistake was never
//! acknowledged.

use crate::backend::ByteReader;
use crate::error::Result;
use crate::format::{Flags, FrameHeader, IndexRecord, FRAME_HEADER_LEN};
use crate::timestamp::Timestamp;

use super::read_exact_at;

/// Zeros in a row that no written frame holds: a sector, the smallest unit a disk loses.
const LOST_BLOCK_ZEROS: usize = 512;
/// Zeros ending the last whole frame before unparseable bytes: the frame ran into a lost block.
const LOST_TAIL_ZEROS: usize = 16;

/// The result of [`scan_tail`].
#[derive(Debug, Default)]
pub(super) struct TailScan {
    /// The end of the last whole, written frame: everything after it is to be cut.
    pub(super) whole_to: u64,
    /// The stored time of the last whole frame with a known time.
    pub(super) last_ts: Option<Timestamp>,
    /// Records for frames flagged for the index that have none (their writer died between frame and record).
    pub(super) unindexed: Vec<IndexRecord>,
}

/// Scans the frames from `from` (the frame of the newest index record inside the data, or the head) to
/// `tail`. `known`: the index records from that newest one on.
pub(super) fn scan_tail(
    reader: &mut dyn ByteReader,
    from: u64,
    tail: u64,
    known: &[IndexRecord],
) -> Result<TailScan> {
    let mut scan = TailScan {
        whole_to: from,
        ..TailScan::default()
    };
    // Frames before this offset were synced: the frame an index record points at is synced before the record.
    let mut synced_to = from;
    let mut discontinuity = false;
    let mut pos = from;
    while let Some(h) = whole_frame_at(reader, pos, tail)? {
        let end = pos + h.frame_len() as u64;
        let has_record = known.iter().any(|r| {
            r.offset == pos && r.timestamp == h.timestamp && r.is_seek_target() == h.flags.random_access()
        });
        if has_record {
            synced_to = end;
        } else if pos >= synced_to {
            let mut frame = vec![0u8; h.frame_len()];
            if !read_exact_at(reader, pos, &mut frame)? {
                break;
            }
            let lost_block = unwritten_run(&frame).is_some();
            let lost_tail =
                ends_in_zeros(&frame[FRAME_HEADER_LEN..]) && whole_frame_at(reader, end, tail)?.is_none();
            if lost_block || lost_tail {
                tracing::warn!(offset = pos, "a frame after the last sync reads as zeros where it was written: unwritten blocks of a power cut");
                break;
            }
        }
        if !h.timestamp.is_unknown() {
            scan.last_ts = Some(h.timestamp);
        }
        discontinuity |= h.flags.discontinuity();
        if h.flags.include_in_index() {
            if !has_record {
                scan.unindexed.push(IndexRecord {
                    flags: Flags::new(false, h.flags.random_access(), discontinuity),
                    timestamp: h.timestamp,
                    offset: pos,
                });
            }
            discontinuity = false;
        }
        pos = end;
        scan.whole_to = end;
    }
    Ok(scan)
}

/// The header of the frame at `pos` if the whole frame lies before `tail`.
fn whole_frame_at(reader: &mut dyn ByteReader, pos: u64, tail: u64) -> Result<Option<FrameHeader>> {
    if pos >= tail {
        return Ok(None);
    }
    let mut header = [0u8; FRAME_HEADER_LEN];
    if !read_exact_at(reader, pos, &mut header)? {
        return Ok(None);
    }
    Ok(FrameHeader::decode(&header)
        .ok()
        .filter(|h| pos + h.frame_len() as u64 <= tail))
}

/// True when index record `rec` (`before` is the record preceding it) agrees with the data between `head`
/// and `tail`: it points at its own frame (flagged for the index, of its time and kind), or it is an end
/// record pointing at the end of the data or at the discontinuous first frame of a later run, no earlier than
/// it. A record whose time or offset lost bytes to a power cut agrees with nothing.
pub(super) fn record_agrees(
    data: &mut dyn ByteReader,
    rec: &IndexRecord,
    before: Option<&IndexRecord>,
    head: u64,
    tail: u64,
) -> Result<bool> {
    if before.is_some_and(|b| rec.timestamp < b.timestamp || rec.offset < b.offset) {
        return Ok(false);
    }
    if rec.offset == tail {
        return Ok(!rec.is_seek_target());
    }
    if rec.offset < head || rec.offset > tail {
        return Ok(false);
    }
    let mut raw = [0u8; FRAME_HEADER_LEN];
    if !read_exact_at(data, rec.offset, &mut raw)? {
        return Ok(false);
    }
    let Ok(h) = FrameHeader::decode(&raw) else {
        return Ok(false);
    };
    let own = h.flags.include_in_index()
        && h.timestamp == rec.timestamp
        && h.flags.random_access() == rec.is_seek_target();
    let end_record = !rec.is_seek_target() && h.flags.discontinuity() && h.timestamp >= rec.timestamp;
    Ok(own || end_record)
}

/// The zero run that marks `frame` (header and payload) as holding blocks that were never written, if any.
pub(super) fn unwritten_run(frame: &[u8]) -> Option<usize> {
    zero_run_of_at_least(frame, LOST_BLOCK_ZEROS)
}

/// The length of the first run of at least `min` zeros in `bytes`. Readers check every frame, so it looks at
/// one byte per `min / 2` in the usual case: such a run covers a whole aligned block of that size, and a block
/// of real data shows a non-zero byte at once.
fn zero_run_of_at_least(bytes: &[u8], min: usize) -> Option<usize> {
    let step = (min / 2).max(1);
    for (i, block) in bytes.chunks_exact(step).enumerate() {
        if block.iter().any(|&b| b != 0) {
            continue;
        }
        let (mut start, mut end) = (i * step, (i + 1) * step);
        while start > 0 && bytes[start - 1] == 0 {
            start -= 1;
        }
        while end < bytes.len() && bytes[end] == 0 {
            end += 1;
        }
        if end - start >= min {
            return Some(end - start);
        }
    }
    None
}

/// True if `payload` ends in as many zeros as a frame that ran into an unwritten block shows.
pub(super) fn ends_in_zeros(payload: &[u8]) -> bool {
    trailing_zeros(payload) >= LOST_TAIL_ZEROS
}

pub(super) fn trailing_zeros(bytes: &[u8]) -> usize {
    bytes.iter().rev().take_while(|&&b| b == 0).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_runs() {
        assert_eq!(zero_run_of_at_least(&[1, 0, 0, 2, 0, 0, 0, 3], 3), Some(3));
        assert_eq!(zero_run_of_at_least(&[1, 0, 0, 2, 0, 0, 3], 3), None);
        assert_eq!(zero_run_of_at_least(&[0; 600], 512), Some(600));
        assert_eq!(zero_run_of_at_least(&[], 512), None);
        // Runs anywhere, whatever their alignment, and only long enough ones.
        for (at, len) in [(0, 512), (1, 512), (255, 513), (700, 511), (1000, 900)] {
            let mut bytes = vec![7u8; 2500];
            bytes[at..at + len].fill(0);
            let found = zero_run_of_at_least(&bytes, 512);
            assert_eq!(found, (len >= 512).then_some(len), "run of {len} at {at}");
        }
        assert_eq!(trailing_zeros(&[1, 0, 0]), 2);
        assert_eq!(trailing_zeros(&[0, 0, 1]), 0);
    }
}
