//! Sound end to end: a file with AAC beside H.264 (with B-frames) is recorded with `hindsight record`, read
//! back with its sound where it was, exported to an MP4 that ffprobe reads with both streams, and played in
//! the app with the sound heard at the picture shown (the app's status report says both).

use std::path::Path;
use std::time::Duration;

mod common;

use common::app::{App, PrivateDisplay};
use common::served::{browse, Server};
use common::{collect_pts, hindsight, init_gst, ok};

/// One AAC frame of 1024 samples at 48 kHz.
const AAC_FRAME_NS: u64 = 1024 * 1_000_000_000 / 48_000;

/// An MP4 of `seconds` s: H.264 at 30 fps with B-frames and a key frame a second, and an AAC sine tone.
fn make_av_mp4(path: &Path, seconds: u32) {
    make_av_mp4_with(path, seconds, "avenc_aac ! aacparse", 1024);
}

/// Like [`make_av_mp4`] with the sound encoded by `encoder` in buffers of `samples_per_buffer` at 48 kHz.
fn make_av_mp4_with(path: &Path, seconds: u32, encoder: &str, samples_per_buffer: u64) {
    init_gst();
    let samples = 48_000 * seconds as u64;
    collect_pts(&format!(
        "videotestsrc num-buffers={} pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 ! \
         x264enc bframes=2 key-int-max=30 speed-preset=ultrafast ! h264parse ! mp4mux name=mux ! \
         tee name=t ! queue ! filesink location={} t. ! queue ! fakesink name=out sync=false \
         audiotestsrc num-buffers={} samplesperbuffer={samples_per_buffer} ! \
         audio/x-raw,rate=48000,channels=2 ! audioconvert ! {encoder} ! mux.",
        30 * seconds,
        path.display(),
        samples.div_ceil(samples_per_buffer),
    ));
}

/// Records the file `mp4` into `stream` with `hindsight record` (its first frame at `start_utc`, or now).
fn record_file(store: &Path, stream: &str, mp4: &Path, start_utc: Option<&str>) {
    let source = format!("file://{}", mp4.display());
    let mut args = vec!["record", "--stream", stream, "--source", &source];
    if let Some(t) = start_utc {
        args.extend(["--start-utc", t]);
    }
    ok(&hindsight(store, &args));
}

/// Buffer times of one track of `location` (a `filesrc location=…` or `pravegasrc …` description).
fn track_pts(source: &str, pad: &str, parser: &str) -> Vec<u64> {
    collect_pts(&format!(
        "{source} ! qtdemux name=d d.{pad} ! {parser} ! fakesink name=out sync=false"
    ))
}

/// ffprobe's streams of a file: (codec name, duration in seconds).
fn probe_streams(path: &Path) -> Vec<(String, f64)> {
    let json = common::ffprobe(path, &["-show_entries", "stream=codec_name,duration"]);
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
    record_file(store.path(), "site/av", &mp4, Some("2024-05-01T12:00:00Z"));

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

    // Served over HLS, the browser (hls.js in Chromium) decodes the sound with the pictures.
    let server = Server::start(store.path(), &["--listen", "127.0.0.1:0"]);
    let s = browse(
        &server.url("/player.html?stream=site/av"),
        "s.ready && s.frames > 30 && s.audioBytes > 10000",
        30,
        None,
    );
    assert_eq!(s["fatal"], false, "{s}");
}

#[test]
fn an_opus_file_keeps_its_opus() {
    let store = tempfile::tempdir().expect("tempdir");
    let files = tempfile::tempdir().expect("tempdir");
    let mp4 = files.path().join("opus.mp4");
    make_av_mp4_with(&mp4, 3, "opusenc ! opusparse", 960);
    record_file(store.path(), "site/opus", &mp4, Some("2024-05-01T12:00:00Z"));
    let file = track_pts(
        &format!("filesrc location={}", mp4.display()),
        "audio_0",
        "opusparse",
    );
    let stored = track_pts(
        &format!(
            "pravegasrc store={} stream=site/opus end-mode=latest",
            store.path().display()
        ),
        "audio_0",
        "opusparse",
    );
    // Stored as it was (not re-encoded): the same 20 ms Opus frames, but for those before the first key frame.
    assert!(
        stored.len() + 2 >= file.len() && stored.len() <= file.len(),
        "{} of {} Opus frames",
        stored.len(),
        file.len()
    );
    let clip = files.path().join("clip.mp4");
    ok(&hindsight(
        store.path(),
        &[
            "export",
            "site/opus",
            "--from",
            "2024-05-01T12:00:00Z",
            "--to",
            "2024-05-01T12:00:10Z",
            "-o",
            clip.to_str().expect("utf-8 path"),
        ],
    ));
    let codecs: Vec<String> = probe_streams(&clip).into_iter().map(|(c, _)| c).collect();
    assert_eq!(codecs, ["h264", "opus"]);
}

/// What the app says it shows and plays: (frame on screen, sound heard), TAI ns.
fn shown_and_heard(s: &serde_json::Value) -> Option<(u64, u64)> {
    let frame = s["cameras"][0]["frame_ns"].as_u64().filter(|&t| t > 0)?;
    let heard = s["sound"]["position_ns"].as_u64().filter(|&t| t > 0)?;
    Some((frame, heard))
}

/// The median of `(heard - shown)` over `n` samples of a playing app, in ms.
fn median_offset_ms(app: &App, n: usize) -> f64 {
    let mut offsets = Vec::with_capacity(n);
    let mut last = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while offsets.len() < n {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} samples: {:?}",
            offsets.len(),
            app.status()
        );
        if let Some((frame, heard)) = app.status().as_ref().and_then(shown_and_heard) {
            if frame != last {
                offsets.push((heard as i64 - frame as i64) as f64 / 1e6);
                last = frame;
            }
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    offsets.sort_by(f64::total_cmp);
    offsets[n / 2]
}

#[test]
fn the_app_plays_the_sound_with_the_pictures_and_keeps_the_volume() {
    let store = tempfile::tempdir().expect("tempdir");
    let work = tempfile::tempdir().expect("tempdir");
    let mp4 = work.path().join("av.mp4");
    make_av_mp4(&mp4, 30);
    record_file(store.path(), "site/av", &mp4, None);
    let x = PrivateDisplay::start();
    let settings = work.path().join("settings");
    let env = [
        ("HINDSIGHT_AUDIO_SINK", Path::new("fakeaudiosink")),
        ("GSETTINGS_BACKEND", Path::new("keyfile")),
        ("XDG_CONFIG_HOME", settings.as_path()),
    ];
    let app = App::start_on(
        &x.name,
        store.path(),
        &["play", "site/av"],
        work.path().join("s.json"),
        &env,
    );
    let first = app.wait_for("sound playing", Duration::from_secs(30), |s| {
        s["playing"] == true && s["sound"]["buffers"].as_u64().unwrap_or(0) > 20
    });
    assert_eq!(first["sound"]["silent"], false, "{first}");
    assert_eq!(first["sound"]["volume_percent"], 100, "{first}");
    // The sound heard and the picture shown are of the same moment. A 30 fps frame stays up 33 ms and an AAC
    // frame lasts 21 ms, so a sample may see either a little behind: the median is what the ear and eye get.
    let offset = median_offset_ms(&app, 25);
    eprintln!("sound heard {offset:+.1} ms from the picture shown (median of 25)");
    assert!(offset.abs() <= 40.0, "sound {offset} ms from the pictures");
    x.screenshot(&work.path().join("sound.png"));

    // M mutes; the choice is saved and comes back with the next start.
    x.key("m");
    app.wait_for("muted", Duration::from_secs(10), |s| s["sound"]["muted"] == true);
    let muted = app.wait_for("still playing", Duration::from_secs(10), |s| {
        s["sound"]["silent"] == true
    });
    assert_eq!(muted["playing"], true, "{muted}");
    drop(app);
    let app = App::start_on(
        &x.name,
        store.path(),
        &["play", "site/av"],
        work.path().join("s2.json"),
        &env,
    );
    let again = app.wait_for("sound playing again", Duration::from_secs(30), |s| {
        s["sound"]["buffers"].as_u64().unwrap_or(0) > 0
    });
    assert_eq!(again["sound"]["muted"], true, "mute kept in GSettings: {again}");
    assert_eq!(again["sound"]["silent"], true, "{again}");
    x.key("m");
    app.wait_for("unmuted", Duration::from_secs(10), |s| {
        s["sound"]["silent"] == false
    });
    let offset = median_offset_ms(&app, 15);
    assert!(
        offset.abs() <= 40.0,
        "after unmuting: sound {offset} ms from the pictures"
    );
}

/// At the live edge the pictures are shown as they arrive; the sound is played as it arrives too, and the
/// sound decoded in the burst from the key frame (older than the pictures) is dropped, not queued.
#[test]
fn live_sound_stays_with_the_live_pictures() {
    let store = tempfile::tempdir().expect("tempdir");
    let work = tempfile::tempdir().expect("tempdir");
    init_gst();
    gstpravega::register_static().expect("register elements");
    let recording = gst::parse::launch(&format!(
        "videotestsrc is-live=true num-buffers=900 pattern=ball ! \
         video/x-raw,width=320,height=240,framerate=30/1 ! \
         x264enc key-int-max=60 bframes=0 speed-preset=ultrafast tune=zerolatency ! h264parse ! \
         video/x-h264,alignment=au ! mp4mux name=mux streamable=true fragment-duration=1 ! \
         pravegasink store={} stream=site/live-av \
         audiotestsrc is-live=true samplesperbuffer=1024 ! audio/x-raw,rate=48000,channels=1 ! \
         audioconvert ! avenc_aac ! aacparse ! queue ! mux.",
        store.path().display()
    ))
    .expect("recording pipeline")
    .downcast::<gst::Pipeline>()
    .expect("a pipeline");
    use gst::prelude::*;
    recording.set_state(gst::State::Playing).expect("record");
    std::thread::sleep(Duration::from_secs(3));

    let x = PrivateDisplay::start();
    let env = [
        ("HINDSIGHT_AUDIO_SINK", Path::new("fakeaudiosink")),
        ("GSETTINGS_BACKEND", Path::new("memory")),
    ];
    let app = App::start_on(
        &x.name,
        store.path(),
        &["play", "--live", "site/live-av"],
        work.path().join("s.json"),
        &env,
    );
    app.wait_for("live with sound", Duration::from_secs(30), |s| {
        s["live"] == "live" && s["sound"]["buffers"].as_u64().unwrap_or(0) > 20
    });
    let offset = median_offset_ms(&app, 20);
    eprintln!("live: sound heard {offset:+.1} ms from the picture shown (median of 20)");
    assert!(offset.abs() <= 40.0, "live sound {offset} ms from the pictures");
    drop(app);

    // A wall tile of the same camera shows its pictures live (its sound is not decoded at all).
    let app = App::start_on(
        &x.name,
        store.path(),
        &["wall", "site/live-av"],
        work.path().join("wall.json"),
        &env,
    );
    let frames = |s: &serde_json::Value| s["tiles"][0]["frames"].as_u64().unwrap_or(0);
    let first = app.wait_for("a live tile", Duration::from_secs(30), |s| {
        s["view"] == "wall" && s["tiles"][0]["state"] == "live" && frames(s) > 0
    });
    app.wait_for("the tile to move on", Duration::from_secs(10), |s| {
        s["tiles"][0]["state"] == "live" && frames(s) >= frames(&first) + 30
    });
    drop(app);
    let _ = recording.set_state(gst::State::Null);
}
