//! Playlist text, written straight into the output: a 24-hour playlist has tens of thousands of segments, and
//! `format!` machinery per number was most of the time it took to render one.

use std::time::Duration;

use super::{InitSection, Segment};
use crate::timestamp::Timestamp;

/// A segment's lines: a discontinuity and the run's init section where it starts a run (or is the first),
/// its date-time, duration and byte range (`len` bytes from its start) into `uri`.
pub(super) fn push_segment(
    out: &mut String,
    s: &Segment,
    len: u64,
    first: bool,
    uri: &str,
    init: &mut impl FnMut(&Segment) -> Option<InitSection>,
) {
    if s.discontinuity {
        out.push_str("#EXT-X-DISCONTINUITY\n");
    }
    if first || s.discontinuity {
        if let Some(i) = init(s) {
            out.push_str("#EXT-X-MAP:URI=\"");
            out.push_str(uri);
            out.push_str("\",BYTERANGE=\"");
            push_byte_range(out, i.len, i.offset);
            out.push_str("\"\n");
        }
    }
    out.push_str("#EXT-X-PROGRAM-DATE-TIME:");
    push_date_time(out, s.time);
    out.push_str("\n#EXTINF:");
    push_seconds(out, s.duration);
    out.push_str(",\n#EXT-X-BYTERANGE:");
    push_byte_range(out, len, s.start);
    out.push('\n');
    out.push_str(uri);
    out.push('\n');
}

/// `LEN@OFFSET`.
fn push_byte_range(out: &mut String, len: u64, offset: u64) {
    push_u64(out, len);
    out.push('@');
    push_u64(out, offset);
}

/// Seconds with millisecond precision, `2.000`.
fn push_seconds(out: &mut String, d: Duration) {
    let ms = d.as_millis().min(u128::from(u64::MAX)) as u64;
    push_u64(out, ms / 1000);
    out.push('.');
    push_padded(out, ms % 1000, 3);
}

/// A decimal number.
pub(super) fn push_u64(out: &mut String, n: u64) {
    out.push_str(itoa::Buffer::new().format(n));
}

/// A decimal number with leading zeros up to `width` digits.
fn push_padded(out: &mut String, n: u64, width: usize) {
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(n);
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(digits);
}

/// RFC 3339 UTC with milliseconds, `2024-05-01T12:00:00.040Z` (a leap second reads as 23:59:59.xxx, which every
/// date parser accepts).
pub fn push_date_time(out: &mut String, t: Timestamp) {
    let unix_ms = t.to_unix_nanos().div_euclid(1_000_000);
    let (days, ms_of_day) = (unix_ms.div_euclid(86_400_000), unix_ms.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days as i64);
    let secs = (ms_of_day / 1000) as u64;
    if y < 0 {
        // Not a time a camera recorded, but still a valid RFC 3339 string rather than garbage.
        out.push('-');
    }
    push_padded(out, y.unsigned_abs(), 4);
    out.push('-');
    push_padded(out, u64::from(m), 2);
    out.push('-');
    push_padded(out, u64::from(d), 2);
    out.push('T');
    push_padded(out, secs / 3600, 2);
    out.push(':');
    push_padded(out, secs / 60 % 60, 2);
    out.push(':');
    push_padded(out, secs % 60, 2);
    out.push('.');
    push_padded(out, (ms_of_day % 1000) as u64, 3);
    out.push('Z');
}

/// Year, month, day of a day count since 1970-01-01 (proleptic Gregorian; Howard Hinnant's algorithm).
pub(super) fn civil_from_days(z: i64) -> (i64, u32, u32) {
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
