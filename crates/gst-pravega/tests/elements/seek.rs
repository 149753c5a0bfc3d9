//! TIME seeks through the index: key-unit and plain flushing seeks land on the key frame at or before the
//! target, accurate seeks start at the target, seeks into a truncated range land on the new head, and a
//! flushing seek interrupts a source blocked at the tail at once.

use std::time::{Duration, Instant};

use gst::prelude::*;
use hindsight_store::video::truncate_before_time;
use hindsight_store::{StreamName, Timestamp};

use crate::common::*;

const TIMEOUT: Duration = Duration::from_secs(30);

/// Seeks a pipeline that reached EOS (end-mode=latest) and plays again to EOS; returns the decoded PTS list.
fn seek_and_play(reader: &Collector, flags: gst::SeekFlags, target: u64) -> Vec<u64> {
    reader.clear();
    reader
        .pipeline
        .seek_simple(flags, gst::ClockTime::from_nseconds(target))
        .expect("seek");
    if let Err(e) = wait_eos(&reader.pipeline, TIMEOUT) {
        panic!("after seek to {target}: {e}");
    }
    pts_list(&reader.seen())
}

/// Plays to the first EOS, leaving the pipeline PLAYING so that it can be seeked.
fn play_once(reader: &Collector) {
    reader.pipeline.set_state(gst::State::Playing).expect("playing");
    if let Err(e) = wait_eos(&reader.pipeline, TIMEOUT) {
        panic!("first play: {e}");
    }
}

#[test]
fn key_unit_and_flush_seeks_land_on_the_key_frame_at_or_before() {
    let store = TempStore::new();
    Recording::frames(300).run(&store, "seek/cam");
    let frames = stored_frames(&store, "seek/cam");
    let expected = expected_frame_times(&frames, 300);
    let tick = tick_ns(track_timescale(&frames));
    let reader = Collector::decoder(&store, "seek/cam", "end-mode=latest");
    play_once(&reader);

    let gop_ns = GOP as u64 * FRAME_NS + tick;
    // Between frames, on a delta frame, exactly on a key frame, before the first frame, after the last.
    let targets = [
        (frames[100].ts + FRAME_NS / 2, 90),
        (frames[59].ts, 30),
        (frames[150].ts, 150),
        (frames[0].ts - 1_000_000_000, 0),
        (frames[298].ts + 10_000_000_000, 270),
    ];
    for flags in [
        gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT,
        gst::SeekFlags::FLUSH,
    ] {
        for &(t, key) in &targets {
            let decoded = seek_and_play(&reader, flags, t);
            assert!(frames[key].key, "frame {key} is a key frame");
            let first = decoded[0];
            // The last key frame at or before T (or the first one when T is before it)...
            assert!(
                first >= frames[key].ts && first - frames[key].ts <= tick,
                "{flags:?} seek to {t}: first PTS {first}, key frame {}",
                frames[key].ts
            );
            // ...which is within one GOP before T.
            if t >= frames[0].ts && t <= frames[298].ts {
                assert!(first <= t + tick && t - frames[key].ts < gop_ns);
            }
            assert_times_match(&decoded, &expected[key..], tick);
        }
    }
}

/// ACCURATE seeks start the segment at T: pravegasrc still starts at the key frame before T, and the
/// decoder drops the frames that end before T. A frame that is on screen at T (it starts before T and ends
/// after it) is kept, clipped to start at T, so the first decoded PTS is T (in `[T, T + one frame)`), and
/// the following frames are the stored ones after T.
///
/// With mp4mux's default timescale a frame's end is rounded up past the next frame's stored time, so even
/// a T exactly on a stored frame time keeps the frame before it, clipped to T; the targets avoid the first
/// tick after a frame time, where two such frames overlap T. With trak-timescale=1000000000 times are exact
/// and a T on a frame time starts with exactly that frame.
#[test]
fn accurate_seek_starts_at_the_target() {
    for timescale in [None, Some(1_000_000_000)] {
        let store = TempStore::new();
        let recording = match timescale {
            Some(ts) => Recording::frames(300).timescale(ts),
            None => Recording::frames(300),
        };
        recording.run(&store, "acc/cam");
        let frames = stored_frames(&store, "acc/cam");
        let expected = expected_frame_times(&frames, 300);
        let tick = tick_ns(track_timescale(&frames));
        let reader = Collector::decoder(&store, "acc/cam", "end-mode=latest");
        play_once(&reader);
        let targets = [
            frames[100].ts,
            frames[100].ts + FRAME_NS / 2,
            frames[59].ts + FRAME_NS / 4,
            frames[150].ts,
            frames[1].ts,
            frames[298].ts,
        ];
        for t in targets {
            let decoded = seek_and_play(&reader, gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE, t);
            let what = format!("timescale {timescale:?}, accurate seek to {t}");
            let first = decoded[0];
            assert!(first >= t && first < t + FRAME_NS, "{what}: first PTS {first}");
            assert_eq!(reader.seen()[0].segment_start, Some(t), "{what}: segment start");
            let after = expected.iter().position(|&e| e >= t).expect("a frame after T");
            let rest = expected.len() - after;
            assert!(
                decoded.len() == rest || decoded.len() == rest + 1,
                "{what}: {} frames for {rest} stored at or after T",
                decoded.len()
            );
            if decoded.len() == rest + 1 {
                assert_eq!(first, t, "{what}: the frame on screen at T is clipped to T");
            }
            assert_times_match(&decoded[decoded.len() - rest..], &expected[after..], tick);
            if timescale.is_some() && frames.iter().any(|f| f.ts == t) {
                assert_eq!(decoded, expected[after..], "{what}: exact times");
            }
        }
    }
}

/// After `truncate_before_time`, a seek before the new head lands on the head, and the SEEKING query
/// reports the new range.
#[test]
fn seek_into_truncated_range_lands_on_the_new_head() {
    let store = TempStore::new();
    Recording::frames(300).run(&store, "trunc/cam");
    let frames = stored_frames(&store, "trunc/cam");
    let expected = expected_frame_times(&frames, 300);
    let tick = tick_ns(track_timescale(&frames));
    let reader = Collector::decoder(&store, "trunc/cam", "end-mode=latest");
    play_once(&reader);

    let backend = store.backend();
    let name = StreamName::parse("trunc/cam").expect("name");
    let head = truncate_before_time(backend.as_ref(), &name, Timestamp::from_nanos(frames[160].ts))
        .expect("truncate")
        .expect("something truncated");
    assert_eq!(head.timestamp.nanos(), frames[150].ts);

    for t in [frames[40].ts, frames[0].ts - 1] {
        for flags in [
            gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT,
            gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE,
        ] {
            let decoded = seek_and_play(&reader, flags, t);
            assert_times_match(&decoded, &expected[150..], tick);
        }
    }
    let mut q = gst::query::Seeking::new(gst::Format::Time);
    assert!(reader.pipeline.query(&mut q));
    let (seekable, start, _) = q.result();
    assert!(seekable);
    assert_eq!(
        start,
        gst::GenericFormattedValue::from(gst::ClockTime::from_nseconds(frames[150].ts))
    );
}

/// A flushing seek while pravegasrc waits at the tail of an unsealed stream (every frame read, nothing
/// more coming) is served at once.
///
/// Criterion: from the `seek_simple` call, both `seek_simple` returning and the first buffer after the seek
/// leaving pravegasrc's src pad (a pad probe) happen within 100 ms. Without `unlock` the source would stay
/// in its tail wait forever. Stopping the pipeline from the same blocked state must not hang either.
#[test]
fn flushing_seek_at_the_tail_returns_within_100_ms() {
    let store = TempStore::new();
    Recording::frames(60).run(&store, "tail/cam");
    let frames = stored_frames(&store, "tail/cam");
    // end-mode unbounded on an unsealed stream: the source blocks at the tail after the last frame.
    let reader = Collector::tail_decoder(&store, "tail/cam", "");
    reader.pipeline.set_state(gst::State::Playing).expect("playing");
    reader.wait_until(TIMEOUT, "all frames", |s| s.len() >= 60);
    // Give the streaming thread time to settle in its tail wait.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(reader.count(), 60, "nothing more than was written");
    reader.clear();

    let asked = Instant::now();
    reader
        .pipeline
        .seek_simple(
            gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT,
            gst::ClockTime::from_nseconds(frames[40].ts),
        )
        .expect("seek");
    let returned = asked.elapsed();
    let deadline = asked + Duration::from_secs(5);
    let first_buffer = loop {
        if let Some(s) = reader.src_seen().first() {
            break s.at.duration_since(asked);
        }
        assert!(Instant::now() < deadline, "no buffer after the seek");
        std::thread::sleep(Duration::from_millis(1));
    };
    eprintln!("seek at the tail: returned after {returned:?}, first buffer after {first_buffer:?}");
    assert!(
        returned < Duration::from_millis(100),
        "seek returned after {returned:?}"
    );
    assert!(
        first_buffer < Duration::from_millis(100),
        "first buffer after {first_buffer:?}"
    );
    assert_eq!(reader.src_seen()[0].pts, Some(frames[30].ts));
    reader.wait_until(TIMEOUT, "frames after the seek", |s| s.len() >= 30);

    // Blocked at the tail again: a state change unblocks it too.
    std::thread::sleep(Duration::from_millis(200));
    let asked = Instant::now();
    reader.pipeline.set_state(gst::State::Null).expect("null");
    let stopped = asked.elapsed();
    assert!(stopped < Duration::from_secs(1), "stopping took {stopped:?}");
}
