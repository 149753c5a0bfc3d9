//! Reading while a stream is written: tailing readers see every frame, and truncation under a reader is
//! recovered from without an error.

use std::time::Duration;

use gst::prelude::*;
use hindsight_store::video::truncate_before_time;
use hindsight_store::{StreamName, Timestamp};

use crate::common::*;

const TIMEOUT: Duration = Duration::from_secs(30);

/// A live recording of 3 s; one reader tails from the earliest frame, one from the live edge after about a
/// second. Both see each frame written from their start on, up to the writer's last frame, with the stored
/// timestamps (one tick of tolerance, see `round_trip_300_frames_with_stored_timestamps`).
#[test]
fn tailing_readers_see_every_frame_of_a_live_recording() {
    let store = TempStore::new();
    let writer = launch(&Recording::frames(90).live().pipeline(&store.uri(), "live/cam"));
    writer.set_state(gst::State::Playing).expect("writer playing");

    wait_for_key_records(&store, "live/cam", 1, TIMEOUT);
    let earliest = Collector::tail_decoder(&store, "live/cam", "start-mode=earliest");
    earliest
        .pipeline
        .set_state(gst::State::Playing)
        .expect("reader playing");
    // The second key frame is written about 1 s in: the live edge is then frame 30.
    wait_for_key_records(&store, "live/cam", 2, TIMEOUT);
    let latest = Collector::tail_decoder(&store, "live/cam", "start-mode=latest end-mode=unbounded");
    latest
        .pipeline
        .set_state(gst::State::Playing)
        .expect("reader playing");

    if let Err(e) = wait_eos(&writer, TIMEOUT) {
        panic!("writer: {e}");
    }
    stop(&writer);
    let frames = stored_frames(&store, "live/cam");
    assert_eq!(frames.len(), 89);
    let expected = expected_frame_times(&frames, 90);
    let tick = tick_ns(track_timescale(&frames));
    let last = *expected.last().expect("frames");

    for (what, reader) in [("earliest", &earliest), ("latest", &latest)] {
        // The reader stops after the writer's last frame; it would tail forever otherwise.
        reader.wait_until(Duration::from_secs(10), "the writer's last frame", |s| {
            s.last().and_then(|s| s.pts).is_some_and(|p| p >= last)
        });
        let decoded = pts_list(&reader.seen());
        let start = expected
            .iter()
            .position(|&t| decoded[0] >= t && decoded[0] - t <= tick)
            .unwrap_or_else(|| panic!("{what}: first PTS {} is no stored frame", decoded[0]));
        assert!(frames[start].key, "{what} starts at a key frame");
        if what == "earliest" {
            assert_eq!(start, 0);
        } else {
            assert!(
                start >= GOP,
                "latest started at frame {start}, after the first key frame"
            );
        }
        assert_times_match(&decoded, &expected[start..], tick);
        assert!(first_error(&reader.pipeline).is_none());
    }
}

/// Truncating the data under a reader that is behind the cut: the reader gets no error, marks a
/// discontinuity, continues at the new head and plays to the end.
#[test]
fn truncation_while_reading_recovers_at_the_new_head() {
    let store = TempStore::new();
    Recording::frames(300).run(&store, "cut/cam");
    let frames = stored_frames(&store, "cut/cam");
    let expected = expected_frame_times(&frames, 300);
    let tick = tick_ns(track_timescale(&frames));

    let reader = Collector::decoder(&store, "cut/cam", "end-mode=latest");
    // Without queues the appsink holds the whole pipeline, pravegasrc included, after 10 frames.
    reader.hold_at(10);
    reader.pipeline.set_state(gst::State::Playing).expect("playing");
    reader.wait_until(TIMEOUT, "10 frames", |s| s.len() >= 10);
    let read_before = reader.src_seen().len();
    assert!(read_before < 150, "the source is held well before the cut");

    let backend = store.backend();
    let name = StreamName::parse("cut/cam").expect("name");
    truncate_before_time(backend.as_ref(), &name, Timestamp::from_nanos(frames[150].ts))
        .expect("truncate")
        .expect("something truncated");
    reader.release();
    if let Err(e) = wait_eos(&reader.pipeline, TIMEOUT) {
        panic!("reader failed after truncation: {e}");
    }

    let raw = reader.src_seen();
    let cut = raw
        .iter()
        .position(|s| s.pts == Some(frames[150].ts))
        .expect("the new head was read");
    assert_eq!(cut, read_before, "the next frame read is the new head");
    assert!(raw[cut].discont, "DISCONT at the new head");
    assert!(!raw[cut].delta, "the new head is a key frame");
    assert_eq!(raw.iter().filter(|s| s.discont).count(), 2);

    // Decoded: the frames read before the cut, then everything from the new head on.
    let decoded = pts_list(&reader.seen());
    assert_times_match(&decoded[..read_before], &expected[..read_before], tick);
    assert_times_match(&decoded[read_before..], &expected[150..], tick);
}
