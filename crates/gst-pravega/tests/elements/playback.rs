//! Recording and playing back whole streams: round trip, start and end modes, two recordings in one stream,
//! decoding from every index record.

use std::time::Duration;

use gst::prelude::*;
use hindsight_store::{StreamName, Timestamp};

use crate::common::*;

const TIMEOUT: Duration = Duration::from_secs(30);

/// 10 s at 30 fps with a key frame every second comes back as 300 decoded frames whose PTS are the stored
/// frame times, spaced as recorded.
///
/// Tolerance: pravegasrc rewrites each fragment's tfdt to the stored TAI time rounded up to a tick of the
/// track timescale (mp4mux picks 3000 at 30 fps), and qtdemux converts back rounding down, so a decoded PTS
/// is the stored time plus less than one tick (333 334 ns here). Spacing is compared with the same
/// tolerance.
#[test]
fn round_trip_300_frames_with_stored_timestamps() {
    let store = TempStore::new();
    Recording::frames(300).run(&store, "rt/cam");
    let frames = stored_frames(&store, "rt/cam");
    // mp4mux puts the last two samples into one fragment at EOS.
    assert_eq!(frames.len(), 299);
    let records = index_records(&store, "rt/cam");
    assert_eq!(
        records.iter().filter(|r| r.is_seek_target()).count(),
        10,
        "one random-access record per key frame"
    );
    let timescale = track_timescale(&frames);
    let tick = tick_ns(timescale);

    // The recording's spacing: evenly spaced frames from the pipeline clock, 1/30 s apart.
    for w in frames.windows(2) {
        let d = w[1].ts - w[0].ts;
        assert!(d.abs_diff(FRAME_NS) <= 1, "stored spacing {d}");
    }

    let reader = Collector::decoder(&store, "rt/cam", "end-mode=latest");
    let seen = reader.run(TIMEOUT);
    let decoded = pts_list(&seen);
    let expected = expected_frame_times(&frames, 300);
    assert_times_match(&decoded, &expected, tick);
    for (i, s) in seen.iter().enumerate() {
        let d = s.duration.expect("a duration");
        assert!(d.abs_diff(FRAME_NS) <= tick, "frame {i} lasts {d} ns");
    }
    for (i, (d, s)) in decoded.windows(2).zip(expected.windows(2)).enumerate() {
        let (dd, ds) = (d[1] - d[0], s[1] - s[0]);
        assert!(
            dd.abs_diff(ds) <= tick,
            "spacing {i}->{}: decoded {dd} ns, stored {ds} ns",
            i + 1
        );
    }
    // Stream time is TAI: the segment starts at the first frame's stored time.
    assert_eq!(seen[0].segment_start, Some(frames[0].ts));
    // Straight from pravegasrc the PTS is the stored time exactly, and the first frame is a key frame.
    let raw = reader.src_seen();
    assert_eq!(raw.len(), frames.len());
    for (r, f) in raw.iter().zip(&frames) {
        assert_eq!(r.pts, Some(f.ts));
        assert_eq!(r.delta, !f.key);
    }
    assert!(raw[0].discont, "the first buffer is a discontinuity");
}

/// Every start mode with end-mode=latest on one unsealed recording.
#[test]
fn start_modes() {
    let store = TempStore::new();
    Recording::frames(300).run(&store, "start/cam");
    let frames = stored_frames(&store, "start/cam");
    let expected = expected_frame_times(&frames, 300);
    let tick = tick_ns(track_timescale(&frames));
    let play = |props: &str| -> Vec<u64> {
        let seen = Collector::decoder(&store, "start/cam", &format!("end-mode=latest {props}")).run(TIMEOUT);
        assert!(
            seen.iter().all(|s| s.segment_start == seen[0].segment_start),
            "one segment"
        );
        let decoded = pts_list(&seen);
        // The segment starts at the first frame's stored time, so nothing is clipped.
        assert_eq!(seen[0].segment_start, Some(frame_at(&frames, decoded[0], tick)));
        decoded
    };

    // earliest (the default): everything.
    assert_times_match(&play("start-mode=earliest"), &expected, tick);
    assert_times_match(&play(""), &expected, tick);

    // latest: the newest key frame, frame 270, to the end.
    assert_times_match(&play("start-mode=latest"), &expected[270..], tick);

    // timestamp: the key frame at or before the time, by TAI nanoseconds and by RFC 3339 UTC.
    let t100 = frames[100].ts;
    assert_times_match(
        &play(&format!("start-mode=timestamp start-timestamp={t100}")),
        &expected[90..],
        tick,
    );
    let utc = Timestamp::from_nanos(t100).to_rfc3339();
    assert_times_match(
        &play(&format!("start-mode=timestamp start-utc={utc}")),
        &expected[90..],
        tick,
    );
    // Exactly at a key frame starts there; before the first frame starts at the first.
    let t120 = frames[120].ts;
    assert_times_match(
        &play(&format!("start-mode=timestamp start-timestamp={t120}")),
        &expected[120..],
        tick,
    );
    let before = frames[0].ts - 5_000_000_000;
    assert_times_match(
        &play(&format!("start-mode=timestamp start-timestamp={before}")),
        &expected,
        tick,
    );
}

/// The stored frame a decoded PTS belongs to.
fn frame_at(frames: &[StoredFrame], pts: u64, tick: u64) -> u64 {
    frames
        .iter()
        .map(|f| f.ts)
        .find(|&ts| pts >= ts && pts - ts <= tick)
        .unwrap_or_else(|| panic!("no stored frame at PTS {pts}"))
}

/// end-mode unbounded ends at the end of a sealed stream; end-mode=timestamp stops after the last frame at
/// or before the end time (TAI ns or RFC 3339).
#[test]
fn end_modes() {
    let store = TempStore::new();
    Recording::frames(300).sealed().run(&store, "end/cam");
    let frames = stored_frames(&store, "end/cam");
    let expected = expected_frame_times(&frames, 300);
    let tick = tick_ns(track_timescale(&frames));
    let play = |props: &str| pts_list(&Collector::decoder(&store, "end/cam", props).run(TIMEOUT));

    // Unbounded (the default) on a sealed stream: EOS after the last frame, not a wait at the tail.
    assert_times_match(&play("end-mode=unbounded"), &expected, tick);
    assert_times_match(&play(""), &expected, tick);
    assert_times_match(&play("end-mode=latest"), &expected, tick);

    let t200 = frames[200].ts;
    assert_times_match(
        &play(&format!("end-mode=timestamp end-timestamp={t200}")),
        &expected[..=200],
        tick,
    );
    // Half a frame later still ends with frame 200.
    let utc = Timestamp::from_nanos(t200 + FRAME_NS / 2).to_rfc3339();
    assert_times_match(
        &play(&format!("end-mode=timestamp end-utc={utc}")),
        &expected[..=200],
        tick,
    );
    // A window: from the key frame at or before frame 100 to frame 200.
    let t100 = frames[100].ts;
    assert_times_match(
        &play(&format!(
            "start-mode=timestamp start-timestamp={t100} end-mode=timestamp end-timestamp={t200}"
        )),
        &expected[90..=200],
        tick,
    );
}

/// Two recordings one after another into the same stream play as one: every frame of both decoded, PTS
/// increasing across the boundary, the second recording's first frame flagged DISCONT by pravegasrc.
#[test]
fn two_recordings_play_across_the_boundary() {
    let store = TempStore::new();
    // Live, so that the second recording's wall-clock timestamps follow the first's.
    Recording::frames(45).live().run(&store, "two/cam");
    let first = stored_frames(&store, "two/cam");
    Recording::frames(45).live().run(&store, "two/cam");
    let all = stored_frames(&store, "two/cam");
    assert_eq!(first.len(), 44);
    assert_eq!(all.len(), 88);
    let second_start = all[first.len()].ts;
    assert!(second_start > first.last().expect("frames").ts + FRAME_NS);

    let reader = Collector::decoder(&store, "two/cam", "end-mode=latest");
    let seen = reader.run(TIMEOUT);
    let decoded = pts_list(&seen);
    assert_eq!(decoded.len(), 90, "all frames of both recordings");
    assert!(
        decoded.windows(2).all(|w| w[1] > w[0]),
        "PTS increase: {decoded:?}"
    );
    let tick = tick_ns(track_timescale(&all));
    let mut expected = expected_frame_times(&first, 45);
    expected.extend(expected_frame_times(&all[first.len()..], 45));
    assert_times_match(&decoded, &expected, tick);

    let raw = reader.src_seen();
    let discont: Vec<u64> = raw.iter().filter(|s| s.discont).filter_map(|s| s.pts).collect();
    assert_eq!(
        discont,
        vec![all[0].ts, second_start],
        "DISCONT at the start and at the second recording"
    );
}

/// Every random-access index record points at a frame that starts a decodable MP4: its payload plus the
/// frames up to the next key frame, fed through appsrc into qtdemux and avdec_h264, decode without error.
#[test]
fn every_index_record_starts_a_valid_mp4() {
    let store = TempStore::new();
    Recording::frames(300).run(&store, "idx/cam");
    let frames = stored_frames(&store, "idx/cam");
    let records = index_records(&store, "idx/cam");
    let backend = store.backend();
    let name = StreamName::parse("idx/cam").expect("name");
    let interrupt = hindsight_store::Interrupt::new().expect("interrupt");
    let mut checked = 0;
    for rec in records.iter().filter(|r| r.is_seek_target()) {
        // Read through the storage API's seek, as a player would.
        let mut reader = hindsight_store::VideoReader::open(backend.as_ref(), &name).expect("reader");
        reader.seek(rec.offset);
        let mut payloads = Vec::new();
        while let hindsight_store::ReadOutcome::Frame(f) = reader
            .next_frame(std::time::Instant::now(), &interrupt)
            .expect("frame")
        {
            if !payloads.is_empty() && f.header.flags.random_access() {
                break;
            }
            if payloads.is_empty() {
                assert_eq!(f.header.timestamp, rec.timestamp);
                assert!(f.header.flags.random_access(), "record at a key frame");
                assert_eq!(&f.payload[4..8], b"ftyp", "a key frame starts with ftyp+moov");
            }
            payloads.push(f.payload);
        }
        let n = payloads.len();
        let seen = decode_payloads(payloads);
        assert!(
            seen >= n,
            "record at {}: {seen} frames decoded of {n} fed",
            rec.timestamp
        );
        checked += 1;
    }
    assert_eq!(checked, 10);
    assert_eq!(frames.iter().filter(|f| f.key).count(), 10);
}

/// Decodes payloads pushed through appsrc; returns the number of decoded frames. Panics on errors.
fn decode_payloads(payloads: Vec<Vec<u8>>) -> usize {
    let c = Collector::new(
        "appsrc name=src caps=video/quicktime,variant=iso ! qtdemux ! h264parse ! avdec_h264 ! \
         appsink name=sink sync=false",
        false,
    );
    let appsrc = c
        .pipeline
        .by_name("src")
        .expect("appsrc")
        .downcast::<gst_app::AppSrc>()
        .expect("an appsrc");
    c.pipeline.set_state(gst::State::Playing).expect("playing");
    for p in payloads {
        appsrc.push_buffer(gst::Buffer::from_mut_slice(p)).expect("push");
    }
    appsrc.end_of_stream().expect("eos");
    if let Err(e) = wait_eos(&c.pipeline, TIMEOUT) {
        panic!("decoding failed: {e}");
    }
    c.count()
}
