//! The whole-stream check after a crash or a power cut, as readers will see the repaired stream.

use std::time::Instant;

use hindsight_store::evidence::{self, VerifyRange};
use hindsight_store::format::{FrameHeader, FRAME_HEADER_LEN, INDEX_RECORD_LEN};
use hindsight_store::video::{read_exact_at, IndexReader};
use hindsight_store::{Backend, EmbeddedStore, Interrupt, ReadOutcome, StreamName, Timestamp, VideoReader};

use super::check_payload;

/// Payload contents are checked only in the last this many bytes, where repairs happen: debug builds check
/// bytes slowly.
const PAYLOAD_CHECK_WINDOW: u64 = 4 * 1024 * 1024;

/// What one check of the whole stream found.
pub struct Checked {
    pub frames: usize,
    pub head: u64,
    pub tail: u64,
    pub records: usize,
}

/// Checks the stream as a reader after a crash repair would see it. Payload contents are checked from
/// `check_payloads_from` on (older frames were checked in earlier rounds), and only in the last
/// [`PAYLOAD_CHECK_WINDOW`] bytes, where the repair happened: debug builds check bytes slowly.
pub fn verify(store: &EmbeddedStore, cam: &StreamName, check_payloads_from: u64) -> Checked {
    let info = store.info(cam).expect("data info");
    let mut reader = store.reader(cam).expect("data byte reader");

    // Every byte belongs to a whole frame: walk the headers from the head to exactly the tail.
    let mut starts = Vec::new();
    let mut headers = Vec::new();
    let mut pos = info.head;
    let mut raw = [0u8; FRAME_HEADER_LEN];
    while pos < info.tail {
        assert!(
            read_exact_at(reader.as_mut(), pos, &mut raw).expect("read header"),
            "a frame header at {pos} runs past the tail {}",
            info.tail
        );
        let header = FrameHeader::decode(&raw)
            .unwrap_or_else(|e| panic!("frame at {pos} does not parse: {e} (tail {})", info.tail));
        starts.push(pos);
        headers.push(header);
        pos += header.frame_len() as u64;
    }
    assert_eq!(pos, info.tail, "the last frame ends exactly at the tail");
    let check_from = check_payloads_from.max(info.tail.saturating_sub(PAYLOAD_CHECK_WINDOW));

    // Index records point at frame starts (or at the tail for an end record) and never go back in time.
    let mut index = IndexReader::open(store, cam).expect("open index");
    let index_info = index.info().expect("index info");
    assert_eq!(
        index_info.tail % INDEX_RECORD_LEN as u64,
        0,
        "no torn index record"
    );
    let (_, records) = index.read_all().expect("read index");
    let mut previous = Timestamp::MIN;
    let mut indexed_frames = Vec::new();
    for rec in &records {
        assert!(
            rec.timestamp >= previous,
            "index time goes back: {rec:?} after {previous}"
        );
        previous = rec.timestamp;
        match starts.binary_search(&rec.offset) {
            Ok(i) => {
                let h = headers[i];
                // A key frame's or a forced record matches its frame; an end record's offset became the
                // first frame of the next run, which is no earlier than the end.
                let own_frame = h.flags.include_in_index()
                    && h.timestamp == rec.timestamp
                    && h.flags.random_access() == rec.is_seek_target();
                let end_record = !rec.is_seek_target() && h.timestamp >= rec.timestamp;
                assert!(
                    own_frame || end_record,
                    "record {rec:?} does not fit the frame there: {h:?}"
                );
                if own_frame {
                    indexed_frames.push(rec.offset);
                }
            }
            Err(_) => assert!(
                rec.offset == info.tail && !rec.is_seek_target(),
                "record points inside a frame or outside the data: {rec:?} (head {}, tail {})",
                info.head,
                info.tail
            ),
        }
    }

    // Every frame flagged for the index has its record, even when the writer died between the two: readers
    // that start from the index would not see it otherwise.
    for (start, h) in starts.iter().zip(&headers) {
        assert!(
            !h.flags.include_in_index() || indexed_frames.contains(start),
            "the frame at {start} is flagged for the index but has no record ({h:?})"
        );
    }

    // A video reader gets the same frames, never an error.
    let mut video = VideoReader::open(store, cam).expect("open video reader");
    let interrupt = Interrupt::new().expect("interrupt");
    let mut read = 0;
    loop {
        match video.next_frame(Instant::now(), &interrupt) {
            Ok(ReadOutcome::Frame(f)) => {
                assert_eq!(
                    Some(&f.offset),
                    starts.get(read),
                    "reader off the frame boundaries"
                );
                if f.offset >= check_from {
                    assert!(
                        check_payload(&f.payload).is_some(),
                        "payload of the frame at {} is damaged",
                        f.offset
                    );
                }
                read += 1;
            }
            Ok(ReadOutcome::TimedOut) => break,
            Ok(other) => panic!("unexpected {other:?} from an unsealed stream"),
            Err(e) => panic!("reader failed after {read} frames: {e}"),
        }
    }
    assert_eq!(read, starts.len());

    // The chain vouches for every frame it records; frames a killed writer stored before recording their
    // hashes are reported as not covered, never as altered.
    let report = evidence::verify_stream(store, cam, VerifyRange::default())
        .expect("verify the chain")
        .expect("the stream has a chain");
    assert!(
        report.is_intact(),
        "the chain does not match the data: {:?}",
        report.problems
    );
    Checked {
        frames: starts.len(),
        head: info.head,
        tail: info.tail,
        records: records.len(),
    }
}
