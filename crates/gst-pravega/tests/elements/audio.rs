//! fMP4 with a sound track beside the video: mp4mux writes each track's samples in fragments of their own;
//! audio fragments are stored as delta frames, never as key frames or seek targets.

use std::time::Duration;

use crate::common::*;

const TIMEOUT: Duration = Duration::from_secs(60);

#[test]
fn audio_fragments_are_never_key_frames_or_seek_targets() {
    let store = TempStore::new();
    let stream = "av/cam";
    let desc = format!(
        "videotestsrc num-buffers=90 ! video/x-raw,width=160,height=120,framerate={FPS}/1 ! \
         x264enc key-int-max={GOP} bframes=0 speed-preset=ultrafast tune=zerolatency ! h264parse ! \
         video/x-h264,alignment=au ! mp4mux name=mux streamable=true fragment-duration=1 ! \
         pravegasink store=\"{}\" stream={stream} \
         audiotestsrc num-buffers=141 samplesperbuffer=1024 ! audio/x-raw,rate=48000,channels=1 ! \
         audioconvert ! avenc_aac ! aacparse ! mux.",
        store.uri()
    );
    if let Err(e) = run_to_eos(&launch(&desc), TIMEOUT) {
        panic!("recording: {e}");
    }
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
