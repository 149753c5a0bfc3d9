//! fMP4 with a sound track beside the video: mp4mux writes each track's samples in fragments of their own;
//! audio fragments are stored in time order with the video, never as key frames or seek targets, and read
//! back at their own times.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gst::prelude::*;

use crate::common::*;

const TIMEOUT: Duration = Duration::from_secs(60);
/// One AAC frame of 1024 samples at 48 kHz.
const AAC_FRAME_NS: u64 = 1024 * 1_000_000_000 / 48_000;

/// Records three seconds of video (three GOPs) and a sine tone into `stream`.
fn record_with_sound(store: &TempStore, stream: &str) {
    let desc = format!(
        "videotestsrc is-live=true num-buffers=90 ! video/x-raw,width=160,height=120,framerate={FPS}/1 ! \
         x264enc key-int-max={GOP} bframes=0 speed-preset=ultrafast tune=zerolatency ! h264parse ! \
         video/x-h264,alignment=au ! mp4mux name=mux streamable=true fragment-duration=1 ! \
         pravegasink store=\"{}\" stream={stream} \
         audiotestsrc is-live=true num-buffers=141 samplesperbuffer=1024 ! audio/x-raw,rate=48000,channels=1 ! \
         audioconvert ! avenc_aac ! aacparse ! mux.",
        store.uri()
    );
    if let Err(e) = run_to_eos(&launch(&desc), TIMEOUT) {
        panic!("recording: {e}");
    }
}

#[test]
fn audio_fragments_are_never_key_frames_or_seek_targets() {
    let store = TempStore::new();
    let stream = "av/cam";
    record_with_sound(&store, stream);
    let frames = stored_frames(&store, stream);
    let keys: Vec<&StoredFrame> = frames.iter().filter(|f| f.key).collect();
    assert_eq!(keys.len(), 3, "one key frame per GOP of video");
    assert!(
        frames.len() > 90 + 100,
        "video and audio fragments stored: {}",
        frames.len()
    );
    let seek: Vec<u64> = index_records(&store, stream)
        .iter()
        .filter(|r| r.is_seek_target())
        .map(|r| r.offset)
        .collect();
    assert_eq!(
        seek,
        keys.iter().map(|f| f.offset).collect::<Vec<_>>(),
        "seek targets are the video key frames"
    );
    for k in keys {
        assert_eq!(&k.payload[4..8], b"ftyp", "a key frame starts with the header");
    }
}

/// PTS of every buffer reaching the appsink named `name`.
fn collect_pts(pipeline: &gst::Pipeline, name: &str) -> Arc<Mutex<Vec<u64>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = pipeline
        .by_name(name)
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .expect("appsink");
    let seen2 = seen.clone();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                if let Some(pts) = sample.buffer().and_then(|b| b.pts()) {
                    seen2.lock().expect("pts lock").push(pts.nseconds());
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    seen
}

#[test]
fn sound_reads_back_at_its_own_times_beside_the_video() {
    let store = TempStore::new();
    let stream = "av/read-back";
    record_with_sound(&store, stream);
    let pipeline = launch(&format!(
        "pravegasrc store=\"{}\" stream={stream} end-mode=latest ! qtdemux name=d \
         d.audio_0 ! queue ! aacparse ! appsink name=audio sync=false \
         d.video_0 ! queue ! h264parse ! appsink name=video sync=false",
        store.uri()
    ));
    let audio = collect_pts(&pipeline, "audio");
    let video = collect_pts(&pipeline, "video");
    if let Err(e) = run_to_eos(&pipeline, TIMEOUT) {
        panic!("reading back: {e}");
    }
    let audio = audio.lock().expect("audio").clone();
    let video = video.lock().expect("video").clone();
    assert!(video.len() >= 89, "video frames read back: {}", video.len());
    // At most the sound before the first key frame is dropped (nothing could start there).
    assert!(audio.len() >= 139, "audio frames read back: {}", audio.len());
    // Each frame of each track is where it was recorded, one after the other. mp4mux writes some sound
    // fragments before a video frame that starts earlier; stored in that order, the video frame's time would
    // be raised to the sound's (stored times only increase) and show as a long step then a short one.
    for (what, times, period) in [("audio", &audio, AAC_FRAME_NS), ("video", &video, FRAME_NS)] {
        for w in times.windows(2) {
            let step = w[1] as i64 - w[0] as i64;
            assert!(
                (step - period as i64).abs() < 100_000,
                "{what} step {step} ns, expected {period}: {times:?}"
            );
        }
    }
    // Both tracks start together, as recorded.
    let lead = audio[0] as i64 - video[0] as i64;
    assert!(
        (0..=AAC_FRAME_NS as i64 + 100_000).contains(&lead),
        "first audio {} vs first video {}",
        audio[0],
        video[0]
    );
}
