//! Stream timestamps: nanoseconds since 1970-01-01 on the TAI scale.
//!
//! The byte-stream format stores TAI so that time never repeats or jumps at a leap second. The original plugin
//! added a fixed 37 s to UTC, which is right only since 2017; here the offset comes from the leap-second table,
//! so footage from any year maps to the wall clock correctly, and a stored time that falls inside a leap second
//! is shown as `23:59:60`.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::{Date, Month, OffsetDateTime, UtcOffset};

const NANOS_PER_SEC: i128 = 1_000_000_000;

/// Errors from converting or parsing timestamps.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// The text is not an RFC 3339 date-time.
    #[error("invalid RFC 3339 time {text:?}: {reason}")]
    Parse {
        /// The text that failed to parse.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The time is before 1970 or too far in the future for 64-bit nanoseconds.
    #[error("time out of range for a stream timestamp (1970..2554)")]
    OutOfRange,
}

/// `(UTC Unix seconds at which the offset takes effect, TAI - UTC in seconds from then on)`.
///
/// Source: IERS Bulletin C. Each entry after the first is preceded by a positive leap second inserted as
/// 23:59:60 UTC on the day before. Extend this table when the IERS announces a new leap second.
const LEAP_TABLE: [(i64, i64); 28] = [
    (unix_day(1972, 1, 1), 10),
    (unix_day(1972, 7, 1), 11),
    (unix_day(1973, 1, 1), 12),
    (unix_day(1974, 1, 1), 13),
    (unix_day(1975, 1, 1), 14),
    (unix_day(1976, 1, 1), 15),
    (unix_day(1977, 1, 1), 16),
    (unix_day(1978, 1, 1), 17),
    (unix_day(1979, 1, 1), 18),
    (unix_day(1980, 1, 1), 19),
    (unix_day(1981, 7, 1), 20),
    (unix_day(1982, 7, 1), 21),
    (unix_day(1983, 7, 1), 22),
    (unix_day(1985, 7, 1), 23),
    (unix_day(1988, 1, 1), 24),
    (unix_day(1990, 1, 1), 25),
    (unix_day(1991, 1, 1), 26),
    (unix_day(1992, 7, 1), 27),
    (unix_day(1993, 7, 1), 28),
    (unix_day(1994, 7, 1), 29),
    (unix_day(1996, 1, 1), 30),
    (unix_day(1997, 7, 1), 31),
    (unix_day(1999, 1, 1), 32),
    (unix_day(2006, 1, 1), 33),
    (unix_day(2009, 1, 1), 34),
    (unix_day(2012, 7, 1), 35),
    (unix_day(2015, 7, 1), 36),
    (unix_day(2017, 1, 1), 37),
];

/// Unix seconds of midnight UTC on a proleptic Gregorian date (days-from-civil).
const fn unix_day(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) * 86_400
}

/// TAI - UTC in seconds at a UTC instant given as Unix seconds. Before 1972 the first table value is used: the
/// rubber-second era before it has no integer offset, and no camera footage comes from it.
fn offset_at_utc(unix_secs: i64) -> i64 {
    match LEAP_TABLE.iter().rev().find(|(start, _)| unix_secs >= *start) {
        Some((_, offset)) => *offset,
        None => LEAP_TABLE[0].1,
    }
}

/// A point in time as stored in streams: nanoseconds since 1970-01-01 00:00:00 UTC, counted on the TAI scale
/// (so it is the Unix time plus TAI - UTC). `0` means "unknown" in data frames and never appears in an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(u64);

/// A UTC wall-clock reading of a [`Timestamp`]; `leap` is set inside an inserted leap second, where
/// `datetime` shows 23:59:59 and the clock really reads 23:59:60.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WallClock {
    /// The date and time; within a leap second, second 59 of the last minute of the day.
    pub datetime: OffsetDateTime,
    /// True during an inserted leap second.
    pub leap: bool,
}

impl Timestamp {
    /// The smallest valid timestamp.
    pub const MIN: Timestamp = Timestamp(1);
    /// The largest representable timestamp.
    pub const MAX: Timestamp = Timestamp(u64::MAX);

    /// Wraps raw TAI nanoseconds.
    pub const fn from_nanos(nanos: u64) -> Self {
        Timestamp(nanos)
    }

    /// Raw TAI nanoseconds.
    pub const fn nanos(self) -> u64 {
        self.0
    }

    /// True for the reserved "unknown" value 0.
    pub const fn is_unknown(self) -> bool {
        self.0 == 0
    }

    /// The current time from the system clock.
    pub fn now() -> Self {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Self::from_unix_nanos(since.as_nanos() as i128).unwrap_or(Timestamp::MAX)
    }

    /// Converts Unix (POSIX, leap-second free) UTC nanoseconds.
    pub fn from_unix_nanos(unix_nanos: i128) -> Result<Self, TimestampError> {
        let secs = unix_nanos.div_euclid(NANOS_PER_SEC) as i64;
        let tai = unix_nanos + i128::from(offset_at_utc(secs)) * NANOS_PER_SEC;
        u64::try_from(tai)
            .ok()
            .filter(|n| *n > 0)
            .map(Timestamp)
            .ok_or(TimestampError::OutOfRange)
    }

    /// Converts a UTC wall-clock reading; `leap` selects the leap second 23:59:60 when `datetime` is at 23:59:59
    /// of a day that ends in one (otherwise it is ignored).
    pub fn from_wall_clock(datetime: OffsetDateTime, leap: bool) -> Result<Self, TimestampError> {
        let base = Self::from_unix_nanos(datetime.unix_timestamp_nanos())?;
        if !leap {
            return Ok(base);
        }
        // 23:59:60 exists only where the next second's offset is one higher.
        let next_day = datetime.unix_timestamp() + 1;
        if offset_at_utc(next_day) > offset_at_utc(datetime.unix_timestamp()) {
            Ok(Timestamp(base.0 + NANOS_PER_SEC as u64))
        } else {
            Ok(base)
        }
    }

    /// TAI - UTC in whole seconds at this instant.
    pub fn tai_minus_utc(self) -> i64 {
        self.wall_clock_parts().2
    }

    /// (Unix seconds, nanoseconds, offset used, leap flag).
    fn wall_clock_parts(self) -> (i64, u32, i64, bool) {
        let tai = i128::from(self.0);
        let tai_secs = (tai / NANOS_PER_SEC) as i64;
        let nanos = (tai % NANOS_PER_SEC) as u32;
        // Walk from the newest table entry: the instant is in entry i's span once its TAI start is reached.
        for (i, (start, offset)) in LEAP_TABLE.iter().enumerate().rev() {
            if tai_secs >= start + offset {
                return (tai_secs - offset, nanos, *offset, false);
            }
            if i > 0 {
                let previous = LEAP_TABLE[i - 1].1;
                if tai_secs >= start + previous {
                    // Inside the inserted second: the wall clock shows 23:59:60 of the previous day.
                    return (start - 1, nanos, previous, true);
                }
            }
        }
        let offset = LEAP_TABLE[0].1;
        (tai_secs - offset, nanos, offset, false)
    }

    /// Unix (POSIX) UTC nanoseconds; a time inside a leap second maps into 23:59:59.
    pub fn to_unix_nanos(self) -> i128 {
        let (secs, nanos, _, _) = self.wall_clock_parts();
        i128::from(secs) * NANOS_PER_SEC + i128::from(nanos)
    }

    /// The wall-clock reading in UTC.
    pub fn to_utc(self) -> WallClock {
        let (secs, nanos, _, leap) = self.wall_clock_parts();
        let datetime = OffsetDateTime::from_unix_timestamp(secs)
            .map(|d| d + time::Duration::nanoseconds(i64::from(nanos)))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        WallClock { datetime, leap }
    }

    /// The wall-clock reading at a fixed UTC offset (for display in the local time zone).
    pub fn to_offset(self, offset: UtcOffset) -> WallClock {
        let utc = self.to_utc();
        WallClock {
            datetime: utc.datetime.to_offset(offset),
            leap: utc.leap,
        }
    }

    /// Parses an RFC 3339 date-time such as `2024-05-01T12:00:00Z`, `2024-05-01 14:00:00.5+02:00` or the leap
    /// second `2016-12-31T23:59:60Z`.
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimestampError> {
        parse_rfc3339(text)
    }

    /// Formats as RFC 3339 in UTC with as many fractional digits as needed (none for whole seconds).
    pub fn to_rfc3339(self) -> String {
        format_wall_clock(self.to_utc(), true)
    }

    /// Adds a duration, saturating at the maximum.
    pub fn saturating_add(self, d: Duration) -> Self {
        Timestamp(
            self.0
                .saturating_add(d.as_nanos().min(u128::from(u64::MAX)) as u64),
        )
    }

    /// Subtracts a duration, saturating at [`Timestamp::MIN`].
    pub fn saturating_sub(self, d: Duration) -> Self {
        let n = d.as_nanos().min(u128::from(u64::MAX)) as u64;
        Timestamp(self.0.saturating_sub(n).max(1))
    }

    /// The duration from `earlier` to `self`, zero if `earlier` is later.
    pub fn duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

/// Formats a wall-clock reading as RFC 3339 (`Z` for UTC when `zulu`, else the numeric offset).
pub fn format_wall_clock(wall: WallClock, zulu: bool) -> String {
    let d = wall.datetime;
    let second = if wall.leap { 60 } else { d.second() };
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        second
    );
    let nanos = d.nanosecond();
    if nanos != 0 {
        let digits = format!("{nanos:09}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    let offset = d.offset();
    if zulu && offset.is_utc() {
        out.push('Z');
    } else {
        let (h, m, _) = offset.as_hms();
        let sign = if offset.is_negative() { '-' } else { '+' };
        out.push_str(&format!("{sign}{:02}:{:02}", h.abs(), m.abs()));
    }
    out
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_rfc3339(s)
    }
}

fn parse_rfc3339(text: &str) -> Result<Timestamp, TimestampError> {
    let err = |reason| TimestampError::Parse {
        text: text.to_owned(),
        reason,
    };
    let b = text.trim().as_bytes();
    let num = |range: std::ops::Range<usize>| -> Result<u32, TimestampError> {
        let part = b.get(range).ok_or_else(|| err("too short"))?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return Err(err("expected digits"));
        }
        Ok(part.iter().fold(0u32, |acc, c| acc * 10 + u32::from(c - b'0')))
    };
    let expect = |at: usize, allowed: &[u8], reason| -> Result<(), TimestampError> {
        match b.get(at) {
            Some(c) if allowed.contains(c) => Ok(()),
            _ => Err(err(reason)),
        }
    };
    let year = num(0..4)?;
    expect(4, b"-", "expected '-' after the year")?;
    let month = num(5..7)?;
    expect(7, b"-", "expected '-' after the month")?;
    let day = num(8..10)?;
    expect(10, b"Tt ", "expected 'T' between date and time")?;
    let hour = num(11..13)?;
    expect(13, b":", "expected ':' after the hour")?;
    let minute = num(14..16)?;
    expect(16, b":", "expected ':' after the minute")?;
    let second = num(17..19)?;
    let mut at = 19;
    let mut nanos = 0u32;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        let digits = &b[start..at];
        if digits.is_empty() {
            return Err(err("expected digits after '.'"));
        }
        for (i, c) in digits.iter().take(9).enumerate() {
            nanos += u32::from(c - b'0') * 10u32.pow(8 - i as u32);
        }
    }
    let offset_secs: i32 = match b.get(at) {
        Some(b'Z' | b'z') if at + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if at + 6 == b.len() => {
            expect(at + 3, b":", "expected ':' in the UTC offset")?;
            let h = num(at + 1..at + 3)? as i32;
            let m = num(at + 4..at + 6)? as i32;
            if h > 23 || m > 59 {
                return Err(err("UTC offset out of range"));
            }
            let s = h * 3600 + m * 60;
            if *sign == b'-' {
                -s
            } else {
                s
            }
        }
        _ => return Err(err("expected 'Z' or a UTC offset like +02:00 at the end")),
    };
    let month = u8::try_from(month)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or_else(|| err("month out of range"))?;
    let date =
        Date::from_calendar_date(year as i32, month, day as u8).map_err(|_| err("day out of range"))?;
    if hour > 23 || minute > 59 || second > 60 {
        return Err(err("time of day out of range"));
    }
    let leap = second == 60;
    let offset = UtcOffset::from_whole_seconds(offset_secs).map_err(|_| err("UTC offset out of range"))?;
    let time = time::Time::from_hms_nano(hour as u8, minute as u8, second.min(59) as u8, nanos)
        .map_err(|_| err("time of day out of range"))?;
    let datetime = date
        .with_time(time)
        .assume_offset(offset)
        .to_offset(UtcOffset::UTC);
    if leap {
        let is_leap_slot = datetime.hour() == 23
            && datetime.minute() == 59
            && offset_at_utc(datetime.unix_timestamp() + 1) > offset_at_utc(datetime.unix_timestamp());
        if !is_leap_slot {
            return Err(err("second 60 exists only in a leap second"));
        }
    }
    Timestamp::from_wall_clock(datetime, leap)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect(s)
    }

    #[test]
    fn table_dates_match_known_unix_times() {
        assert_eq!(unix_day(1972, 1, 1), 63_072_000);
        assert_eq!(unix_day(2017, 1, 1), 1_483_228_800);
        assert_eq!(unix_day(1970, 1, 1), 0);
        assert_eq!(unix_day(2000, 3, 1), 951_868_800);
    }

    #[test]
    fn offset_is_37_s_since_2017_and_less_before() {
        assert_eq!(ts("2024-05-01T12:00:00Z").tai_minus_utc(), 37);
        assert_eq!(ts("2016-12-31T23:59:59Z").tai_minus_utc(), 36);
        assert_eq!(ts("2017-01-01T00:00:00Z").tai_minus_utc(), 37);
        assert_eq!(ts("1999-06-01T00:00:00Z").tai_minus_utc(), 32);
        assert_eq!(ts("1972-01-01T00:00:00Z").tai_minus_utc(), 10);
        let n = ts("2024-05-01T12:00:00Z").nanos();
        assert_eq!(n, (unix_day(2024, 5, 1) as u64 + 12 * 3600 + 37) * 1_000_000_000);
    }

    #[test]
    fn leap_second_2016_is_one_tai_second() {
        let before = ts("2016-12-31T23:59:59Z");
        let leap = ts("2016-12-31T23:59:60Z");
        let after = ts("2017-01-01T00:00:00Z");
        assert_eq!(leap.nanos() - before.nanos(), 1_000_000_000);
        assert_eq!(after.nanos() - leap.nanos(), 1_000_000_000);
        assert_eq!(leap.to_rfc3339(), "2016-12-31T23:59:60Z");
        assert!(leap.to_utc().leap);
        let half = Timestamp::from_nanos(leap.nanos() + 500_000_000);
        assert_eq!(half.to_rfc3339(), "2016-12-31T23:59:60.5Z");
        assert_eq!(after.to_rfc3339(), "2017-01-01T00:00:00Z");
        assert_eq!(before.to_rfc3339(), "2016-12-31T23:59:59Z");
        // Unix time repeats 23:59:59 for the leap second.
        assert_eq!(leap.to_unix_nanos(), before.to_unix_nanos());
    }

    #[test]
    fn every_leap_second_round_trips() {
        for (start, _) in LEAP_TABLE.iter().skip(1) {
            let day_end = OffsetDateTime::from_unix_timestamp(start - 1).expect("table date");
            let leap = Timestamp::from_wall_clock(day_end, true).expect("leap");
            let plain = Timestamp::from_wall_clock(day_end, false).expect("plain");
            assert_eq!(leap.nanos() - plain.nanos(), 1_000_000_000);
            let text = leap.to_rfc3339();
            assert!(text.ends_with("23:59:60Z"), "{text}");
            assert_eq!(ts(&text), leap);
        }
    }

    #[test]
    fn second_60_outside_a_leap_second_is_rejected() {
        assert!(Timestamp::parse_rfc3339("2018-12-31T23:59:60Z").is_err());
        assert!(Timestamp::parse_rfc3339("2016-12-31T23:58:60Z").is_err());
    }

    #[test]
    fn offsets_and_fractions_parse() {
        assert_eq!(ts("2024-05-01T14:00:00+02:00"), ts("2024-05-01T12:00:00Z"));
        assert_eq!(ts("2024-05-01 07:30:00-04:30"), ts("2024-05-01T12:00:00Z"));
        let f = ts("2024-05-01T12:00:00.123456789Z");
        assert_eq!(f.nanos() % 1_000_000_000, 123_456_789);
        assert_eq!(f.to_rfc3339(), "2024-05-01T12:00:00.123456789Z");
        assert_eq!(
            ts("2024-05-01T12:00:00.5Z").to_rfc3339(),
            "2024-05-01T12:00:00.5Z"
        );
        // Leap second written in a local offset.
        assert_eq!(ts("2017-01-01T00:59:60+01:00"), ts("2016-12-31T23:59:60Z"));
    }

    #[test]
    fn bad_text_is_an_error_not_a_panic() {
        for bad in [
            "",
            "2024",
            "2024-13-01T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00+2:00",
            "1969-12-31T23:59:00Z",
            "2024-01-01T00:00:00Zjunk",
            "２０２４-01-01T00:00:00Z",
        ] {
            assert!(Timestamp::parse_rfc3339(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn unix_round_trip_outside_leap_seconds() {
        for unix in [
            0i128,
            1_000_000_000,
            1_483_228_799_999_999_999,
            1_700_000_000_123_456_789,
        ] {
            if unix == 0 {
                // The first instant maps to 10 s of TAI, still valid.
                assert_eq!(Timestamp::from_unix_nanos(0).map(|t| t.to_unix_nanos()), Ok(0));
                continue;
            }
            let t = Timestamp::from_unix_nanos(unix).expect("in range");
            assert_eq!(t.to_unix_nanos(), unix);
        }
        assert_eq!(
            Timestamp::from_unix_nanos(-20_000_000_000),
            Err(TimestampError::OutOfRange)
        );
    }

    #[test]
    fn display_in_an_offset() {
        let t = ts("2024-05-01T12:00:00Z");
        let wall = t.to_offset(UtcOffset::from_hms(2, 0, 0).expect("offset"));
        assert_eq!(format_wall_clock(wall, true), "2024-05-01T14:00:00+02:00");
    }
}
