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

use std::fmt::Write as _;
use std::time::Duration;

use crate::format::{IndexRecord, FRAME_HEADER_LEN};
use crate::timestamp::Timestamp;

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
    let gop_list = gops(records, opts);
    let merged = merge(&gop_list, opts.target);
    merged
        .into_iter()
        .filter(|s| opts.begin.is_none_or(|b| s.time.saturating_add(s.duration) > b))
        .filter(|s| opts.end.is_none_or(|e| s.time < e))
        .collect()
}

/// One segment per GOP.
fn gops(records: &[IndexRecord], opts: &PlaylistOptions) -> Vec<Segment> {
    let gap = opts.gap.as_nanos().min(u128::from(u64::MAX)) as u64;
    let mut out: Vec<Segment> = Vec::new();
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
        let jumped = out.last().is_some_and(|p| {
            key.timestamp
                .nanos()
                .saturating_sub(p.time.saturating_add(p.duration).nanos())
                > gap
        });
        let discontinuity = !out.is_empty() && (pending_discontinuity || key.flags.discontinuity() || jumped);
        pending_discontinuity = false;
        let mut duration = end.timestamp.duration_since(key.timestamp);
        if duration > opts.gap {
            // The next record is a gap away: a camera that paused, or a run cut off by a crash and a new one
            // later. How long this GOP's frames last is not known (the time to the next record includes the
            // pause); take the GOP before it as the estimate, and the next segment follows a discontinuity.
            duration = out.last().map_or(opts.gap, |p| p.duration.min(opts.gap));
        }
        out.push(Segment {
            start: key.offset,
            end: end.offset,
            time: key.timestamp,
            duration,
            discontinuity,
            key,
        });
        // An end record closes the run: what follows it is a new run.
        if !end.is_seek_target() && !end.flags.discontinuity() {
            pending_discontinuity = true;
            i = j + 1;
        } else {
            i = j;
        }
    }
    out
}

/// Merges consecutive contiguous GOPs up to `target` (never across a discontinuity).
fn merge(gops: &[Segment], target: Duration) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::with_capacity(gops.len());
    for g in gops {
        if let Some(last) = out.last_mut() {
            let contiguous = last.end == g.start && !g.discontinuity;
            if contiguous && last.duration + g.duration <= target {
                last.end = g.end;
                last.duration += g.duration;
                continue;
            }
        }
        out.push(*g);
    }
    out
}

/// `#EXT-X-TARGETDURATION`: the longest segment rounded up to whole seconds (at least 1).
pub fn target_duration(segments: &[Segment]) -> u64 {
    segments
        .iter()
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
    let complete = !opts.live || opts.end.is_some();
    let mut out = String::with_capacity(200 + segments.len() * 150);
    out.push_str("#EXTM3U\n#EXT-X-VERSION:7\n");
    let _ = writeln!(out, "#EXT-X-TARGETDURATION:{}", target_duration(segments));
    out.push_str("#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-DISCONTINUITY-SEQUENCE:0\n");
    out.push_str(if complete {
        "#EXT-X-PLAYLIST-TYPE:VOD\n"
    } else {
        "#EXT-X-PLAYLIST-TYPE:EVENT\n"
    });
    out.push_str("#EXT-X-INDEPENDENT-SEGMENTS\n");
    for (n, s) in segments.iter().enumerate() {
        if s.discontinuity {
            out.push_str("#EXT-X-DISCONTINUITY\n");
        }
        if n == 0 || s.discontinuity {
            if let Some(i) = init(s) {
                let _ = writeln!(
                    out,
                    "#EXT-X-MAP:URI=\"{}\",BYTERANGE=\"{}@{}\"",
                    opts.media_uri, i.len, i.offset
                );
            }
        }
        out.push_str("#EXT-X-PROGRAM-DATE-TIME:");
        push_date_time(&mut out, s.time);
        out.push('\n');
        push_extinf(&mut out, s.duration);
        let _ = writeln!(out, "#EXT-X-BYTERANGE:{}@{}", s.end - s.start, s.start);
        out.push_str(&opts.media_uri);
        out.push('\n');
    }
    if complete {
        out.push_str("#EXT-X-ENDLIST\n");
    }
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
    let complete = !opts.live || opts.end.is_some();
    let gops: Vec<Segment> = frames.iter().map(|f| f.gop).collect();
    let mut out = String::with_capacity(200 + frames.len() * 150);
    out.push_str("#EXTM3U\n#EXT-X-VERSION:7\n");
    let _ = writeln!(out, "#EXT-X-TARGETDURATION:{}", target_duration(&gops));
    out.push_str("#EXT-X-MEDIA-SEQUENCE:0\n");
    out.push_str(if complete {
        "#EXT-X-PLAYLIST-TYPE:VOD\n"
    } else {
        "#EXT-X-PLAYLIST-TYPE:EVENT\n"
    });
    out.push_str("#EXT-X-I-FRAMES-ONLY\n");
    for (n, f) in frames.iter().enumerate() {
        let s = &f.gop;
        if s.discontinuity {
            out.push_str("#EXT-X-DISCONTINUITY\n");
        }
        if n == 0 || s.discontinuity {
            if let Some(i) = init(s) {
                let _ = writeln!(
                    out,
                    "#EXT-X-MAP:URI=\"{}\",BYTERANGE=\"{}@{}\"",
                    opts.media_uri, i.len, i.offset
                );
            }
        }
        out.push_str("#EXT-X-PROGRAM-DATE-TIME:");
        push_date_time(&mut out, s.time);
        out.push('\n');
        push_extinf(&mut out, s.duration);
        let _ = writeln!(out, "#EXT-X-BYTERANGE:{}@{}", f.len, s.start);
        out.push_str(&opts.media_uri);
        out.push('\n');
    }
    if complete {
        out.push_str("#EXT-X-ENDLIST\n");
    }
    out
}

/// `#EXTINF:2.000,` with millisecond precision.
fn push_extinf(out: &mut String, d: Duration) {
    let ms = d.as_millis();
    let _ = writeln!(out, "#EXTINF:{}.{:03},", ms / 1000, ms % 1000);
}

/// RFC 3339 UTC with milliseconds, `2024-05-01T12:00:00.040Z` (a leap second reads as 23:59:59.xxx, which every
/// date parser accepts).
pub fn push_date_time(out: &mut String, t: Timestamp) {
    let unix_ms = t.to_unix_nanos().div_euclid(1_000_000);
    let (days, ms_of_day) = (unix_ms.div_euclid(86_400_000), unix_ms.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days as i64);
    let secs = ms_of_day / 1000;
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        ms_of_day % 1000
    );
}

/// Year, month, day of a day count since 1970-01-01 (proleptic Gregorian; Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests;
