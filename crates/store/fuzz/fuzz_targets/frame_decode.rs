//! Data frames from arbitrary bytes: decoding never panics, and whatever decodes re-encodes to the same bytes
//! (the reserved header bytes aside, which decoding ignores and encoding writes as zero).

#![no_main]

use hindsight_store::format::{decode_frame, encode_frame, FrameHeader, FRAME_HEADER_LEN};
use libfuzzer_sys::fuzz_target;

/// The bytes a writer would have produced for what was decoded: reserved bytes 8..11 zeroed.
fn canonical(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[8..11].fill(0);
    out
}

fuzz_target!(|data: &[u8]| {
    let header = FrameHeader::decode(data);
    if let Ok(h) = header {
        let encoded = h.encode();
        assert_eq!(encoded[..], canonical(&data[..FRAME_HEADER_LEN])[..]);
        assert_eq!(FrameHeader::decode(&encoded), Ok(h));
    }
    match decode_frame(data) {
        Ok((h, payload)) => {
            assert_eq!(header, Ok(h), "a frame decodes only if its header does");
            assert_eq!(payload.len(), h.payload_len);
            let again = encode_frame(h.flags, h.timestamp, payload);
            assert_eq!(again, canonical(&data[..h.frame_len()]));
            assert_eq!(decode_frame(&again), Ok((h, payload)));
        }
        Err(_) => {
            // Either the header is bad, or the payload is not all there.
            if let Ok(h) = header {
                assert!(data.len() < h.frame_len());
            }
        }
    }
});
