//! The elements on a real Pravega server (`store=tcp://…`): a 10 s recording plays back frame for frame, a
//! reader tails a live recording, and key-unit seeks land on the key frame at or before the target.
//!
//! The server is the one `HINDSIGHT_PRAVEGA_CONTROLLER` names (`make test` runs the tests under
//! `scripts/with-pravega`); see [`TempStore::pravega`] for what happens without it.

use std::time::Duration;

use gst::prelude::*;

use crate::common::*;

const TIMEOUT: Duration = Duration::from_secs(60);

/// 300 frames (10 s at 30 fps) recorded through pravegasink into Pravega come back through pravegasrc as 300
/// decoded frames with the stored times; the raw buffers are the stored frames, key flags included.
#[test]
fn ten_seconds_recorded_into_pravega_play_back_every_frame() {
    let Some(store) = TempStore::pravega("rt") else {
        return;
    };
    let stream = store.stream("cam");
    Recording::frames(300).sealed().run_for(&store, &stream, TIMEOUT);
    let frames = stored_frames(&store, &stream);
    // mp4mux puts the last two samples into one fragment at EOS.
    assert_eq!(frames.len(), 299);
    let records = index_records(&store, &stream);
    assert_eq!(records.iter().filter(|r| r.is_seek_target()).count(), 10);
    // The end record of the sealed recording: not a seek target, pointing past the last frame.
    let end = records.last().expect("index records");
    assert!(
        !end.is_seek_target() && end.offset > frames[298].offset,
        "{end:?}"
    );

    let reader = Collector::decoder(&store, &stream, "");
    let seen = reader.run(TIMEOUT);
    let expected = expected_frame_times(&frames, 300);
    assert_times_match(&pts_list(&seen), &expected, tick_ns(track_timescale(&frames)));
    let raw = reader.src_seen();
    assert_eq!(raw.len(), frames.len());
    for (r, f) in raw.iter().zip(&frames) {
        assert_eq!(r.pts, Some(f.ts));
        assert_eq!(r.delta, !f.key);
    }
}

/// A reader started at the earliest frame while a live recording runs follows the tail and sees every frame
/// up to the writer's last one.
#[test]
fn tail_read_while_recording_into_pravega() {
    let Some(store) = TempStore::pravega("tail") else {
        return;
    };
    let stream = store.stream("cam");
    let writer = launch(&Recording::frames(90).live().pipeline(&store.uri(), &stream));
    writer.set_state(gst::State::Playing).expect("writer playing");
    let reader = Collector::tail_decoder(&store, &stream, "start-mode=earliest end-mode=unbounded");
    // The reader may start before the writer has created the stream: pravegasrc then fails with "not found",
    // so wait for the first key frame to be indexed first.
    wait_for_key_records(&store, &stream, 1, TIMEOUT);
    reader
        .pipeline
        .set_state(gst::State::Playing)
        .expect("reader playing");
    // While the writer is still recording, the reader is already decoding.
    reader.wait_until(TIMEOUT, "frames while recording", |s| s.len() >= 15);
    assert!(
        writer.current_state() == gst::State::Playing && first_error(&writer).is_none(),
        "the writer still records"
    );

    if let Err(e) = wait_eos(&writer, TIMEOUT) {
        panic!("writer: {e}");
    }
    stop(&writer);
    let frames = stored_frames(&store, &stream);
    assert_eq!(frames.len(), 89);
    let expected = expected_frame_times(&frames, 90);
    let last = *expected.last().expect("frames");
    reader.wait_until(Duration::from_secs(10), "the writer's last frame", |s| {
        s.last().and_then(|s| s.pts).is_some_and(|p| p >= last)
    });
    assert_times_match(
        &pts_list(&reader.seen()),
        &expected,
        tick_ns(track_timescale(&frames)),
    );
    assert!(first_error(&reader.pipeline).is_none());
}

/// Flushing key-unit seeks on a Pravega stream start at the key frame at or before the target and play on
/// from there.
#[test]
fn key_unit_seeks_on_pravega() {
    let Some(store) = TempStore::pravega("seek") else {
        return;
    };
    let stream = store.stream("cam");
    Recording::frames(300).run_for(&store, &stream, TIMEOUT);
    let frames = stored_frames(&store, &stream);
    let expected = expected_frame_times(&frames, 300);
    let tick = tick_ns(track_timescale(&frames));
    let reader = Collector::decoder(&store, &stream, "end-mode=latest");
    reader.pipeline.set_state(gst::State::Playing).expect("playing");
    if let Err(e) = wait_eos(&reader.pipeline, TIMEOUT) {
        panic!("first play: {e}");
    }
    for (target, key) in [
        (frames[100].ts + FRAME_NS / 2, 90),
        (frames[59].ts, 30),
        (frames[240].ts, 240),
        (frames[0].ts - 1_000_000_000, 0),
    ] {
        reader.clear();
        reader
            .pipeline
            .seek_simple(
                gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT,
                gst::ClockTime::from_nseconds(target),
            )
            .expect("seek");
        if let Err(e) = wait_eos(&reader.pipeline, TIMEOUT) {
            panic!("after seek to {target}: {e}");
        }
        assert!(frames[key].key, "frame {key} is a key frame");
        assert_times_match(&pts_list(&reader.seen()), &expected[key..], tick);
    }
}
