//! HLS playlists (RFC 8216, version 7, fragmented MP4) from index records alone: pure logic, no I/O, no HTTP.
//!
//! A media segment is a byte range of the data stream from one key-frame record to the next segment boundary,
//! so the stored bytes are served as they are (the HTTP layer shows each 20-byte frame header to players as an
//! MP4 `free` box of the same size: byte offsets stay those of the index). Consecutive GOPs are merged up to a
//! target duration. Every segment carries `EXT-X-PROGRAM-DATE-TIME` from the stored time. A new recording run
//! (a record flagged discontinuous) or a pause longer than the gap starts an `EXT-X-DISCONTINUITY`; no filler
//! is made up. Deleted footage before the head is simply not there.
//!
//! Each key frame already carries its ftyp+moov; `EXT-X-MAP` names that initialization section (in the first
//! key frame of each run, where the encoder settings may change) by byte range, as RFC 8216 asks of fMP4.
//!
//! A stream still being written gives an `EVENT` playlist without `EXT-X-ENDLIST` whose newest segment is the
//! newest complete GOP (a segment never changes once listed); a finished stream, or a range with an end, a `VOD`
//! playlist. The I-frame playlist lists every key frame alone.

mod text;

use std::time::Duration;

use crate::format::{IndexRecord, FRAME_HEADER_LEN};
use crate::timestamp::Timestamp;

pub use text::push_date_time;

/// How the playlist is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaylistOptions {
    /// The URI of the data stream's bytes, as written into the playlist.
    pub media_uri: String,
    /// Merge GOPs into segments up to this long (a single GOP may be longer).
    pub target: Duration,
    /// Records further apart than this start a new recorded range (a discontinuity).
    pub gap: Duration,
    /// Only segments that end after this.
    pub begin: Option<Timestamp>,
    /// Only segments that start before this; the playlist is then complete (`VOD`).
    pub end: Option<Timestamp>,
    /// The stream is being written: the playlist grows (`EVENT`, no `EXT-X-ENDLIST`).
    pub live: bool,
}

/// One media segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Data offset of its first byte (a key frame's header).
    pub start: u64,
    /// Data offset one past its last byte.
    pub end: u64,
    /// Stored time of its first frame.
    pub time: Timestamp,
    /// How long it plays.
    pub duration: Duration,
    /// A new recording run or a gap comes before it.
    pub discontinuity: bool,
    /// The key-frame record it starts at (its init section is there).
    pub key: IndexRecord,
}

/// The initialization section (ftyp+moov) of a run, as a byte range: it starts right after the frame header of
/// the run's first key frame; `len` is what the caller read of that frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitSection {
    /// Data offset.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
}

impl InitSection {
    /// The init section of the key frame at `frame_offset` whose ftyp+moov are `len` bytes.
    pub fn in_frame(frame_offset: u64, len: u64) -> Self {
        InitSection {
            offset: frame_offset + FRAME_HEADER_LEN as u64,
            len,
        }
    }
}

/// The segments of a stream whose index records are `records` (from the head on).
///
/// A segment starts at a key-frame record and ends at the next key-frame record, an end-of-recording record (a
/// record that is not a key frame and is followed by a new run or by nothing in a finished stream), or a
/// discontinuity. Forced records inside a GOP are not boundaries. The last GOP of a stream still being written
/// is not complete and not listed.
pub fn segments(records: &[IndexRecord], opts: &PlaylistOptions) -> Vec<Segment> {
    let wanted = |s: &Segment| {
        opts.begin.is_none_or(|b| s.time.saturating_add(s.duration) > b)
            && opts.end.is_none_or(|e| s.time < e)
    };
    // GOPs are merged as they come (never a list of every GOP: a day of one-second GOPs is 86 400 of them),
    // from the head on whatever the range, so a segment's bounds do not depend on the range asked for.
    let mut out = Vec::new();
    let mut open: Option<Segment> = None;
    gops(records, opts, |g| {
        if let Some(last) = open.as_mut() {
            let contiguous = last.end == g.start && !g.discontinuity;
            if contiguous && last.duration + g.duration <= opts.target {
                last.end = g.end;
                last.duration += g.duration;
                return;
            }
        }
        if let Some(done) = open.replace(g).filter(wanted) {
            out.push(done);
        }
    });
    out.extend(open.filter(wanted));
    out
}

/// One segment per GOP, in order, to `emit`.
fn gops(records: &[IndexRecord], opts: &PlaylistOptions, mut emit: impl FnMut(Segment)) {
    let gap = opts.gap.as_nanos().min(u128::from(u64::MAX)) as u64;
    // The GOP before: gaps are measured from its end, and it is the duration estimate of a GOP cut off.
    let mut prev: Option<Segment> = None;
    let mut i = 0;
    // A new run starts with a discontinuity (the first segment needs none).
    let mut pending_discontinuity = false;
    while i < records.len() {
        let key = records[i];
        if !key.is_seek_target() {
            // An end record, or a forced record before any key frame of a run: not a segment start.
            if key.flags.discontinuity() {
                pending_discontinuity = true;
            }
            i += 1;
            continue;
        }
        // The boundary: the next key frame or discontinuous record; a forced record in between belongs to the GOP
        // unless it is the last record before a new run or the end (then it is the end-of-recording record).
        let mut j = i + 1;
        while j < records.len() {
            let r = records[j];
            if r.is_seek_target() || r.flags.discontinuity() {
                break;
            }
            let next_starts_run = records.get(j + 1).is_none_or(|n| n.flags.discontinuity());
            if next_starts_run && (j + 1 < records.len() || !opts.live) {
                break;
            }
            j += 1;
        }
        let Some(end) = records.get(j).copied() else {
            // The GOP still being written (or cut off by a crash): its end is not known yet.
            break;
        };
        if end.timestamp <= key.timestamp || end.offset <= key.offset {
            i = j;
            continue;
        }
        let jumped = prev.is_some_and(|p| {
            key.timestamp
                .nanos()
                .saturating_sub(p.time.saturating_add(p.duration).nanos())
                > gap
        });
        let discontinuity = prev.is_some() && (pending_discontinuity || key.flags.discontinuity() || jumped);
        pending_discontinuity = false;
        let mut duration = end.timestamp.duration_since(key.timestamp);
        if duration > opts.gap {
            // The next record is a gap away: a camera that paused, or a run cut off by a crash and a new one
            // later. How long this GOP's frames last is not known (the time to the next record includes the
            // pause); take the GOP before it as the estimate, and the next segment follows a discontinuity.
            duration = prev.map_or(opts.gap, |p| p.duration.min(opts.gap));
        }
        let gop = Segment {
            start: key.offset,
            end: end.offset,
            time: key.timestamp,
            duration,
            discontinuity,
            key,
        };
        emit(gop);
        prev = Some(gop);
        // An end record closes the run: what follows it is a new run.
        if !end.is_seek_target() && !end.flags.discontinuity() {
            pending_discontinuity = true;
            i = j + 1;
        } else {
            i = j;
        }
    }
}

/// `#EXT-X-TARGETDURATION`: the longest segment rounded up to whole seconds (at least 1).
pub fn target_duration<'a>(segments: impl IntoIterator<Item = &'a Segment>) -> u64 {
    segments
        .into_iter()
        .map(|s| s.duration.as_nanos().div_ceil(1_000_000_000) as u64)
        .max()
        .unwrap_or(1)
        .max(1)
}

/// The media playlist. `init` gives the init section of a segment that starts a run (the first one, and each
/// one after a discontinuity); `None` leaves the segment self-contained (every key frame carries ftyp+moov).
pub fn media_playlist(
    segments: &[Segment],
    opts: &PlaylistOptions,
    mut init: impl FnMut(&Segment) -> Option<InitSection>,
) -> String {
    let mut out = header(
        segments.iter(),
        opts,
        "#EXT-X-DISCONTINUITY-SEQUENCE:0\n",
        "#EXT-X-INDEPENDENT-SEGMENTS\n",
    );
    for (n, s) in segments.iter().enumerate() {
        text::push_segment(&mut out, s, s.end - s.start, n == 0, &opts.media_uri, &mut init);
    }
    footer(&mut out, opts);
    out
}

/// One key frame of the I-frame playlist: where its frame starts and how long the frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyFrame {
    /// The segment (GOP) it starts.
    pub gop: Segment,
    /// The frame's length in bytes, header included.
    pub len: u64,
}

/// The I-frame playlist (`EXT-X-I-FRAMES-ONLY`): every key frame alone, lasting until the next one.
pub fn iframe_playlist(
    frames: &[KeyFrame],
    opts: &PlaylistOptions,
    mut init: impl FnMut(&Segment) -> Option<InitSection>,
) -> String {
    let mut out = header(frames.iter().map(|f| &f.gop), opts, "", "#EXT-X-I-FRAMES-ONLY\n");
    for (n, f) in frames.iter().enumerate() {
        text::push_segment(&mut out, &f.gop, f.len, n == 0, &opts.media_uri, &mut init);
    }
    footer(&mut out, opts);
    out
}

/// A playlist is complete (`VOD`, with `EXT-X-ENDLIST`) unless it is of a stream being written and open-ended.
fn complete(opts: &PlaylistOptions) -> bool {
    !opts.live || opts.end.is_some()
}

/// The tags before the segments; `sequence` and `kind` are the lines that differ between the two playlists.
fn header<'a>(
    segments: impl ExactSizeIterator<Item = &'a Segment>,
    opts: &PlaylistOptions,
    sequence: &str,
    kind: &str,
) -> String {
    let mut out = String::with_capacity(256 + segments.len() * (110 + opts.media_uri.len()));
    out.push_str("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:");
    text::push_u64(&mut out, target_duration(segments));
    out.push_str("\n#EXT-X-MEDIA-SEQUENCE:0\n");
    out.push_str(sequence);
    out.push_str(if complete(opts) {
        "#EXT-X-PLAYLIST-TYPE:VOD\n"
    } else {
        "#EXT-X-PLAYLIST-TYPE:EVENT\n"
    });
    out.push_str(kind);
    out
}

fn footer(out: &mut String, opts: &PlaylistOptions) {
    if complete(opts) {
        out.push_str("#EXT-X-ENDLIST\n");
    }
}

#[cfg(test)]
mod tests;
