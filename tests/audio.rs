//! Sound end to end: a file with AAC beside H.264 (with B-frames) is recorded with `hindsight record`, read
//! back with its sound where it was, and exported to an MP4 that ffprobe reads with both streams.

use std::path::Path;
use std::process::Command;

mod common;

use common::{collect_pts, hindsight, init_gst, ok};

/// One AAC frame of 1024 samples at 48 kHz.
const AAC_FRAME_NS: u64 = 1024 * 1_000_000_000 / 48_000;

/// An MP4 of `seconds` s: H.264 at 30 fps with B-frames and a key frame a second, and an AAC sine tone.
fn make_av_mp4(path: &Path, seconds: u32) {
    init_gst();
    let samples = 48_000 * seconds as u64;
    collect_pts(&format!(
        "videotestsrc num-buffers={} pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 ! \
         x264enc bframes=2 key-int-max=30 speed-preset=ultrafast ! h264parse ! mp4mux name=mux ! \
         tee name=t ! queue ! filesink location={} t. ! queue ! fakesink name=out sync=false \
         audiotestsrc num-buffers={} samplesperbuffer=1024 ! audio/x-raw,rate=48000,channels=2 ! \
         audioconvert ! avenc_aac ! aacparse ! mux.",
        30 * seconds,
        path.display(),
        samples.div_ceil(1024),
    ));
}

/// Buffer times of one track of `location` (a `filesrc location=…` or `pravegasrc …` description).
fn track_pts(source: &str, pad: &str, parser: &str) -> Vec<u64> {
    collect_pts(&format!(
        "{source} ! qtdemux name=d d.{pad} ! {parser} ! fakesink name=out sync=false"
    ))
}

/// ffprobe's streams of a file: (codec name, duration in seconds).
fn probe_streams(path: &Path) -> Vec<(String, f64)> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,duration",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .expect("run ffprobe (Debian package ffmpeg)");
    assert!(
        out.status.success(),
        "ffprobe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ffprobe json");
    json["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .map(|s| {
            let codec = s["codec_name"].as_str().unwrap_or_default().to_owned();
            let duration = s["duration"]
                .as_str()
                .and_then(|d| d.parse().ok())
                .unwrap_or_else(|| panic!("no duration: {s}"));
            (codec, duration)
        })
        .collect()
}

#[test]
fn a_file_with_sound_records_reads_back_in_sync_and_exports_both_tracks() {
    let store = tempfile::tempdir().expect("tempdir");
    let files = tempfile::tempdir().expect("tempdir");
    let mp4 = files.path().join("av.mp4");
    make_av_mp4(&mp4, 4);
    ok(&hindsight(
        store.path(),
        &[
            "record",
            "--stream",
            "site/av",
            "--source",
            &format!("file://{}", mp4.display()),
            "--start-utc",
            "2024-05-01T12:00:00Z",
        ],
    ));

    let file = format!("filesrc location={}", mp4.display());
    let stream = format!(
        "pravegasrc store={} stream=site/av end-mode=latest",
        store.path().display()
    );
    let (file_video, file_audio) = (
        track_pts(&file, "video_0", "h264parse"),
        track_pts(&file, "audio_0", "aacparse"),
    );
    let (video, audio) = (
        track_pts(&stream, "video_0", "h264parse"),
        track_pts(&stream, "audio_0", "aacparse"),
    );
    assert_eq!(video.len(), file_video.len(), "every video frame is stored");
    // Sound before the first key frame cannot be played from the stream and is not stored.
    assert!(
        audio.len() + 2 >= file_audio.len() && audio.len() <= file_audio.len(),
        "{} of {} AAC frames stored",
        audio.len(),
        file_audio.len()
    );
    for w in audio.windows(2) {
        assert!(
            (w[1] - w[0]).abs_diff(AAC_FRAME_NS) < 100_000,
            "AAC frames follow each other: {audio:?}"
        );
    }
    // Sound and pictures keep their distance: the last AAC frame relative to the first video frame (B-frames
    // put the video's first decode time before its first picture).
    let file_gap = *file_audio.last().expect("audio") as i64 - file_video[0] as i64;
    let gap = *audio.last().expect("audio") as i64 - video[0] as i64;
    assert!(
        (gap - file_gap).abs() < 2_000_000,
        "sound moved against the video by {} ms",
        (gap - file_gap) as f64 / 1e6
    );

    let clip = files.path().join("clip.mp4");
    ok(&hindsight(
        store.path(),
        &[
            "export",
            "site/av",
            "--from",
            "2024-05-01T12:00:00Z",
            "--to",
            "2024-05-01T12:00:10Z",
            "-o",
            clip.to_str().expect("utf-8 path"),
        ],
    ));
    let streams = probe_streams(&clip);
    let codecs: Vec<&str> = streams.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(codecs, ["h264", "aac"], "{streams:?}");
    let (v, a) = (streams[0].1, streams[1].1);
    assert!((3.8..=4.1).contains(&v), "video lasts {v} s");
    assert!((v - a).abs() < 0.1, "video {v} s, audio {a} s");
}
