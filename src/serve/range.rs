//! HTTP `Range` headers (RFC 9110 §14.2), one range at a time, against the stored bytes of a stream: offsets
//! below the head were deleted by truncation and are as unsatisfiable as those past the tail.

/// Why a range cannot be served; each is a 416 with `Content-Range: bytes */TAIL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeError {
    /// Not `bytes=FIRST-[LAST]` or `bytes=-SUFFIX`.
    Malformed,
    /// Several ranges in one request.
    Multiple,
    /// Past the stored bytes, or before the head (deleted).
    Unsatisfiable,
}

impl RangeError {
    /// One sentence for the JSON error.
    pub fn message(&self) -> &'static str {
        match self {
            RangeError::Malformed => {
                "the Range header is not bytes=FIRST-LAST, bytes=FIRST- or bytes=-SUFFIX"
            }
            RangeError::Multiple => "only one range per request is served",
            RangeError::Unsatisfiable => "the range is outside the stored bytes (deleted or not written yet)",
        }
    }
}

/// The inclusive byte range `header` asks for, clipped to the stored bytes `[head, tail)`.
pub fn parse(header: &str, head: u64, tail: u64) -> Result<(u64, u64), RangeError> {
    let spec = header
        .trim()
        .strip_prefix("bytes=")
        .ok_or(RangeError::Malformed)?
        .trim();
    if spec.contains(',') {
        return Err(RangeError::Multiple);
    }
    let (first, last) = spec.split_once('-').ok_or(RangeError::Malformed)?;
    let number = |s: &str| -> Result<u64, RangeError> {
        if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RangeError::Malformed);
        }
        s.parse().map_err(|_| RangeError::Malformed)
    };
    let (first, last) = (first.trim(), last.trim());
    let (start, end) = if first.is_empty() {
        // The last N bytes.
        let n = number(last)?;
        if n == 0 {
            return Err(RangeError::Unsatisfiable);
        }
        (
            tail.saturating_sub(n).max(head),
            tail.checked_sub(1).ok_or(RangeError::Unsatisfiable)?,
        )
    } else {
        let start = number(first)?;
        let end = if last.is_empty() {
            tail.saturating_sub(1)
        } else {
            let end = number(last)?;
            if end < start {
                return Err(RangeError::Malformed);
            }
            end.min(tail.saturating_sub(1))
        };
        (start, end)
    };
    if start < head || start >= tail || end < start {
        return Err(RangeError::Unsatisfiable);
    }
    Ok((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_ranges_are_clipped_to_the_stored_bytes() {
        assert_eq!(parse("bytes=0-99", 0, 1000), Ok((0, 99)));
        assert_eq!(parse("bytes=900-", 0, 1000), Ok((900, 999)));
        assert_eq!(parse("bytes=900-5000", 0, 1000), Ok((900, 999)));
        assert_eq!(parse("bytes=-100", 0, 1000), Ok((900, 999)));
        assert_eq!(
            parse("bytes=-5000", 200, 1000),
            Ok((200, 999)),
            "a suffix starts at the head at most"
        );
        assert_eq!(parse(" bytes= 5-5 ", 0, 10), Ok((5, 5)));
    }

    #[test]
    fn deleted_unwritten_and_hostile_ranges_are_refused() {
        use RangeError::*;
        assert_eq!(parse("bytes=0-99", 100, 1000), Err(Unsatisfiable), "truncated");
        assert_eq!(parse("bytes=1000-", 0, 1000), Err(Unsatisfiable), "past the tail");
        assert_eq!(parse("bytes=0-", 0, 0), Err(Unsatisfiable), "empty stream");
        assert_eq!(parse("bytes=-0", 0, 1000), Err(Unsatisfiable));
        assert_eq!(parse("bytes=0-1,5-9", 0, 1000), Err(Multiple));
        for bad in [
            "",
            "bytes",
            "bytes=",
            "bytes=-",
            "items=0-1",
            "bytes=a-b",
            "bytes=-5-3",
            "bytes=9-3",
            "bytes=+1-2",
            "bytes=99999999999999999999-",
            "bytes=1 2-3",
            "bytes=0x10-",
        ] {
            assert!(parse(bad, 0, 1000).is_err(), "{bad:?}");
        }
        assert_eq!(parse("bytes=-1", 0, u64::MAX), Ok((u64::MAX - 1, u64::MAX - 1)));
    }
}
