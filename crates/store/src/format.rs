//! The byte-stream wire format: data frames and 20-byte index records (DESIGN.md §2).
//!
//! Kept byte-compatible with the open-source Pravega GStreamer plugin. All integers are big-endian. Decoding
//! never panics: a bad type code or length is a [`FormatError`], and reserved flag bits are ignored so that
//! streams from newer writers still play.

use crate::timestamp::Timestamp;

/// Size of a data frame header: type code, length, reserved, flags, timestamp.
pub const FRAME_HEADER_LEN: usize = 20;
/// Largest frame including its header; one append to the data stream.
pub const MAX_FRAME_LEN: usize = 8 * 1024 * 1024;
/// Largest payload that fits one frame.
pub const MAX_FRAME_PAYLOAD: usize = MAX_FRAME_LEN - FRAME_HEADER_LEN;
/// Size of one index record.
pub const INDEX_RECORD_LEN: usize = 20;
/// The only type code defined for data frames.
pub const FRAME_TYPE_CODE: u32 = 0;

/// Errors from decoding the wire format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Fewer bytes than a header needs.
    #[error("truncated {what}: need {need} bytes, have {have}")]
    Short {
        /// "frame header", "frame payload" or "index record".
        what: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// The type code is not 0.
    #[error("unknown frame type code {0}")]
    TypeCode(u32),
    /// The length field is outside 12..=8 MiB-8.
    #[error("bad frame length field {0} (must be 12..={max})", max = MAX_FRAME_LEN - 8)]
    Length(u32),
    /// An index record with timestamp 0.
    #[error("index record with timestamp 0")]
    ZeroTimestamp,
    /// A frame that holds a long run of zeros at the end of the data: blocks a power cut left unwritten (the
    /// next writer cuts it off).
    #[error("{len} bytes of zeros where a frame was written (left unwritten by a power cut)")]
    Unwritten {
        /// Zero bytes in a row.
        len: usize,
    },
}

/// Frame and index flags; bits other than the three defined ones are preserved but ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u8);

impl Flags {
    /// Data frames only: the writer considered this frame for the index.
    pub const INCLUDE_IN_INDEX: u8 = 0x01;
    /// A key frame: decoding can start here.
    pub const RANDOM_ACCESS: u8 = 0x02;
    /// A break in continuity (first frame of a recording, resume after loss or truncation).
    pub const DISCONTINUITY: u8 = 0x04;

    /// Builds flags from the three booleans.
    pub fn new(include_in_index: bool, random_access: bool, discontinuity: bool) -> Self {
        let mut f = 0;
        if include_in_index {
            f |= Self::INCLUDE_IN_INDEX;
        }
        if random_access {
            f |= Self::RANDOM_ACCESS;
        }
        if discontinuity {
            f |= Self::DISCONTINUITY;
        }
        Flags(f)
    }
    /// Include-in-index bit.
    pub fn include_in_index(self) -> bool {
        self.0 & Self::INCLUDE_IN_INDEX != 0
    }
    /// Random-access (key frame) bit.
    pub fn random_access(self) -> bool {
        self.0 & Self::RANDOM_ACCESS != 0
    }
    /// Discontinuity bit.
    pub fn discontinuity(self) -> bool {
        self.0 & Self::DISCONTINUITY != 0
    }
    /// The same flags with the discontinuity bit set.
    pub fn with_discontinuity(self) -> Self {
        Flags(self.0 | Self::DISCONTINUITY)
    }
}

/// The decoded header of one data frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Payload length in bytes.
    pub payload_len: usize,
    /// Frame flags.
    pub flags: Flags,
    /// Timestamp; [`Timestamp::is_unknown`] when 0.
    pub timestamp: Timestamp,
}

impl FrameHeader {
    /// Total length of the frame on the wire.
    pub fn frame_len(&self) -> usize {
        FRAME_HEADER_LEN + self.payload_len
    }

    /// Encodes the 20-byte header. Panics never; `payload_len` above [`MAX_FRAME_PAYLOAD`] is the caller's bug
    /// and is clamped in debug builds by an assertion only.
    pub fn encode(&self) -> [u8; FRAME_HEADER_LEN] {
        debug_assert!(self.payload_len <= MAX_FRAME_PAYLOAD);
        let mut out = [0u8; FRAME_HEADER_LEN];
        out[0..4].copy_from_slice(&FRAME_TYPE_CODE.to_be_bytes());
        out[4..8].copy_from_slice(&((self.payload_len + 12) as u32).to_be_bytes());
        out[11] = self.flags.0;
        out[12..20].copy_from_slice(&self.timestamp.nanos().to_be_bytes());
        out
    }

    /// Decodes a header from the first 20 bytes of `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<Self, FormatError> {
        let header = bytes.get(..FRAME_HEADER_LEN).ok_or(FormatError::Short {
            what: "frame header",
            need: FRAME_HEADER_LEN,
            have: bytes.len(),
        })?;
        let type_code = u32::from_be_bytes(be4(&header[0..4]));
        if type_code != FRAME_TYPE_CODE {
            return Err(FormatError::TypeCode(type_code));
        }
        let length = u32::from_be_bytes(be4(&header[4..8]));
        if length < 12 || length as usize > MAX_FRAME_LEN - 8 {
            return Err(FormatError::Length(length));
        }
        Ok(FrameHeader {
            payload_len: length as usize - 12,
            flags: Flags(header[11]),
            timestamp: Timestamp::from_nanos(u64::from_be_bytes(be8(&header[12..20]))),
        })
    }
}

fn be4(b: &[u8]) -> [u8; 4] {
    let mut a = [0u8; 4];
    a.copy_from_slice(b);
    a
}

fn be8(b: &[u8]) -> [u8; 8] {
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    a
}

/// Encodes one frame (header + payload) into a new buffer. `payload` must not exceed [`MAX_FRAME_PAYLOAD`];
/// use [`split_payload`] for larger buffers.
pub fn encode_frame(flags: Flags, timestamp: Timestamp, payload: &[u8]) -> Vec<u8> {
    let header = FrameHeader {
        payload_len: payload.len(),
        flags,
        timestamp,
    };
    let mut out = Vec::with_capacity(header.frame_len());
    out.extend_from_slice(&header.encode());
    out.extend_from_slice(payload);
    out
}

/// Decodes one complete frame at the start of `bytes`, returning the header and the payload slice.
pub fn decode_frame(bytes: &[u8]) -> Result<(FrameHeader, &[u8]), FormatError> {
    let header = FrameHeader::decode(bytes)?;
    let payload = bytes
        .get(FRAME_HEADER_LEN..header.frame_len())
        .ok_or(FormatError::Short {
            what: "frame payload",
            need: header.frame_len(),
            have: bytes.len(),
        })?;
    Ok((header, payload))
}

/// Splits a buffer into frames of at most [`MAX_FRAME_LEN`]: the first carries `flags` and the timestamp,
/// continuation frames carry no flags (so readers never treat them as seek points) and the same timestamp.
pub fn split_payload(flags: Flags, timestamp: Timestamp, payload: &[u8]) -> Vec<Vec<u8>> {
    if payload.len() <= MAX_FRAME_PAYLOAD {
        return vec![encode_frame(flags, timestamp, payload)];
    }
    payload
        .chunks(MAX_FRAME_PAYLOAD)
        .enumerate()
        .map(|(i, chunk)| {
            let f = if i == 0 { flags } else { Flags(0) };
            encode_frame(f, timestamp, chunk)
        })
        .collect()
}

/// One 20-byte key-frame index record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IndexRecord {
    /// Random-access and discontinuity bits (include-in-index is meaningless here and ignored).
    pub flags: Flags,
    /// Timestamp of the frame, never 0.
    pub timestamp: Timestamp,
    /// Absolute byte offset of the frame in the data stream (or the end of data for an end record).
    pub offset: u64,
}

impl IndexRecord {
    /// True when decoding can start at this record's offset.
    pub fn is_seek_target(&self) -> bool {
        self.flags.random_access()
    }

    /// Encodes the 20 bytes.
    pub fn encode(&self) -> [u8; INDEX_RECORD_LEN] {
        let mut out = [0u8; INDEX_RECORD_LEN];
        out[3] = self.flags.0;
        out[4..12].copy_from_slice(&self.timestamp.nanos().to_be_bytes());
        out[12..20].copy_from_slice(&self.offset.to_be_bytes());
        out
    }

    /// Decodes the first 20 bytes of `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<Self, FormatError> {
        let rec = bytes.get(..INDEX_RECORD_LEN).ok_or(FormatError::Short {
            what: "index record",
            need: INDEX_RECORD_LEN,
            have: bytes.len(),
        })?;
        let timestamp = Timestamp::from_nanos(u64::from_be_bytes(be8(&rec[4..12])));
        if timestamp.is_unknown() {
            return Err(FormatError::ZeroTimestamp);
        }
        Ok(IndexRecord {
            flags: Flags(rec[3]),
            timestamp,
            offset: u64::from_be_bytes(be8(&rec[12..20])),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn header_layout_matches_the_spec() {
        let f = encode_frame(Flags(0x03), Timestamp::from_nanos(0x0102030405060708), b"abc");
        assert_eq!(
            &f[..20],
            &[0, 0, 0, 0, 0, 0, 0, 15, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8]
        );
        assert_eq!(&f[20..], b"abc");
        let r = IndexRecord {
            flags: Flags(0x06),
            timestamp: Timestamp::from_nanos(9),
            offset: 0x1122,
        }
        .encode();
        assert_eq!(
            r,
            [0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0x11, 0x22]
        );
    }

    #[test]
    fn bad_headers_are_typed_errors() {
        let mut f = encode_frame(Flags(0), Timestamp::from_nanos(1), b"x");
        f[3] = 1;
        assert_eq!(decode_frame(&f), Err(FormatError::TypeCode(1)));
        let mut f = encode_frame(Flags(0), Timestamp::from_nanos(1), b"x");
        f[7] = 11;
        assert_eq!(decode_frame(&f), Err(FormatError::Length(11)));
        let mut f = encode_frame(Flags(0), Timestamp::from_nanos(1), b"x");
        f[4..8].copy_from_slice(&(MAX_FRAME_LEN as u32).to_be_bytes());
        assert!(matches!(decode_frame(&f), Err(FormatError::Length(_))));
        let f = encode_frame(Flags(0), Timestamp::from_nanos(1), b"xyz");
        assert!(matches!(decode_frame(&f[..21]), Err(FormatError::Short { .. })));
        assert!(matches!(decode_frame(&f[..5]), Err(FormatError::Short { .. })));
        assert_eq!(IndexRecord::decode(&[0u8; 20]), Err(FormatError::ZeroTimestamp));
    }

    #[test]
    fn reserved_flag_bits_are_ignored() {
        let f = encode_frame(Flags(0xF2), Timestamp::from_nanos(5), b"k");
        let (h, _) = decode_frame(&f).expect("decodes");
        assert!(h.flags.random_access());
        assert!(!h.flags.discontinuity());
    }

    #[test]
    fn max_size_frame_round_trips_and_larger_splits() {
        let payload = vec![7u8; MAX_FRAME_PAYLOAD];
        let frames = split_payload(Flags(3), Timestamp::from_nanos(42), &payload);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].len(), MAX_FRAME_LEN);
        let payload = vec![7u8; 2 * MAX_FRAME_PAYLOAD + 5];
        let frames = split_payload(Flags(3), Timestamp::from_nanos(42), &payload);
        assert_eq!(frames.len(), 3);
        let (h0, _) = decode_frame(&frames[0]).expect("first");
        let (h2, p2) = decode_frame(&frames[2]).expect("last");
        assert_eq!(h0.flags, Flags(3));
        assert_eq!(h2.flags, Flags(0));
        assert_eq!(p2.len(), 5);
        assert_eq!(h2.timestamp.nanos(), 42);
    }

    proptest! {
        #[test]
        fn frames_round_trip(flags in any::<u8>(), ts in any::<u64>(), payload in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let f = encode_frame(Flags(flags), Timestamp::from_nanos(ts), &payload);
            let (h, p) = decode_frame(&f).expect("decodes");
            prop_assert_eq!(h.flags, Flags(flags));
            prop_assert_eq!(h.timestamp.nanos(), ts);
            prop_assert_eq!(p, &payload[..]);
        }

        #[test]
        fn index_records_round_trip(flags in any::<u8>(), ts in 1u64.., offset in any::<u64>()) {
            let r = IndexRecord { flags: Flags(flags), timestamp: Timestamp::from_nanos(ts), offset };
            prop_assert_eq!(IndexRecord::decode(&r.encode()), Ok(r));
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_frame(&bytes);
            let _ = IndexRecord::decode(&bytes);
        }

        #[test]
        fn split_then_join_restores_the_payload(len in 0usize..(3 * 1024), ts in 1u64..) {
            // Exercise splitting logic at a small scale through chunk boundaries of the real size.
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let frames = split_payload(Flags(2), Timestamp::from_nanos(ts), &payload);
            let joined: Vec<u8> = frames.iter().flat_map(|f| decode_frame(f).expect("frame").1.to_vec()).collect();
            prop_assert_eq!(joined, payload);
        }
    }
}
