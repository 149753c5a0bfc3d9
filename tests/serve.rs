//! `hindsight serve` with real clients: ffprobe/ffmpeg play the playlists (every recorded frame, a time range,
//! across a gap), hls-parser checks them strictly, hls.js plays the player page in headless Chromium (recorded
//! and live), byte ranges answer 206/416 as RFC 9110 says, and hostile requests get a 4xx or a clean close while
//! a good client is still served.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::served::{browse, Server};
use common::{init_gst, pravega_controller};
use gst::prelude::*;
use hindsight_testkit::env::unique_scope;

const SEC: u64 = 1_000_000_000;

/// A response, read whole.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `request` (raw bytes) and reads the reply until the server closes.
fn raw(base: &str, request: &[u8]) -> Reply {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s.write_all(request).expect("send");
    let mut bytes = Vec::new();
    s.read_to_end(&mut bytes).expect("read the reply");
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(&bytes)));
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: bytes[split + 4..].to_vec(),
    }
}

fn get(base: &str, path: &str, extra: &[(&str, &str)]) -> Reply {
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    for (k, v) in extra {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    raw(base, req.as_bytes())
}

/// Records `frames` frames at 25 fps (a key frame a second) into `stream`, stamped from `base` (TAI ns).
fn record(store: &Path, stream: &str, frames: u32, base: u64) {
    init_gst();
    let desc = format!(
        "videotestsrc num-buffers={frames} pattern=ball ! video/x-raw,width=320,height=240,framerate=25/1 ! \
         x264enc key-int-max=25 bframes=0 speed-preset=ultrafast tune=zerolatency ! h264parse ! \
         video/x-h264,alignment=au,profile=constrained-baseline ! mp4mux streamable=true fragment-duration=1 ! \
         pravegasink store=\"{}\" stream={stream} timestamp-mode=base-plus-running-time timestamp-base={base}",
        store.display()
    );
    let p = hindsight_testkit::pipeline::launch(&desc);
    hindsight_testkit::pipeline::run_until_eos(&p, Duration::from_secs(120));
}

/// Frames ffprobe decodes from `url`.
fn ffprobe_frames(url: &str) -> u64 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(url)
        .output()
        .expect("run ffprobe");
    assert!(
        out.status.success(),
        "ffprobe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The HLS demuxer lists the stream once per program as well: the first count is the stream's.
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| !l.trim().is_empty())
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("ffprobe printed {text:?}"))
}

/// `ffmpeg -v error -i URL -f null -`: decodes everything; nothing may be printed but the `allowed` lines.
fn ffmpeg_decodes_cleanly(url: &str, allowed: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-i", url, "-f", "null", "-"])
        .output()
        .expect("run ffmpeg");
    let err = String::from_utf8_lossy(&out.stderr);
    let unexpected: Vec<&str> = err
        .lines()
        .filter(|l| !l.trim().is_empty() && !allowed.iter().any(|a| l.contains(a)))
        .collect();
    assert!(
        out.status.success() && unexpected.is_empty(),
        "ffmpeg on {url}: {err}"
    );
}

fn t0() -> u64 {
    hindsight_store::Timestamp::parse_rfc3339("2025-03-01T10:00:00Z")
        .expect("time")
        .nanos()
}

fn rfc(ns: u64) -> String {
    hindsight_store::Timestamp::from_nanos(ns).to_rfc3339()
}

#[test]
fn ffmpeg_plays_every_frame_a_range_and_across_a_gap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("store");
    record(&store, "site/cam", 250, t0());
    // A second camera with two runs a minute apart.
    record(&store, "site/gap", 75, t0());
    record(&store, "site/gap", 75, t0() + 60 * SEC);
    let server = Server::start(&store, &["--listen", "127.0.0.1:0"]);

    let all = server.url("/streams/site/cam/index.m3u8");
    assert_eq!(ffprobe_frames(&all), 250, "every recorded frame");
    ffmpeg_decodes_cleanly(&all, &[]);

    // 3 s .. 6 s: from the key frame at 3 s to the end of the segment holding 6 s.
    let range = format!(
        "{}?begin={}&end={}&target=1",
        all,
        rfc(t0() + 3 * SEC),
        rfc(t0() + 6 * SEC)
    );
    let frames = ffprobe_frames(&range);
    assert!(
        (75..=100).contains(&frames),
        "3 s of 25 fps, whole GOPs: {frames}"
    );

    let gap = server.url("/streams/site/gap/index.m3u8");
    let text = get(&server.base, "/streams/site/gap/index.m3u8", &[]).text();
    assert_eq!(text.matches("#EXT-X-DISCONTINUITY\n").count(), 1, "{text}");
    assert_eq!(
        text.matches("#EXT-X-MAP:").count(),
        2,
        "an init section per run: {text}"
    );
    // Each run alone is every frame; across the gap ffmpeg plays both runs, but it does not honour
    // EXT-X-DISCONTINUITY: the second run's times start at 0 again (as mp4mux wrote them) and the one frame whose
    // time repeats the first run's first is dropped by its muxer. hls.js re-bases at the discontinuity.
    let first = format!("{gap}?end={}", rfc(t0() + 30 * SEC));
    let second = format!("{gap}?begin={}", rfc(t0() + 30 * SEC));
    assert_eq!((ffprobe_frames(&first), ffprobe_frames(&second)), (75, 75));
    let across = ffprobe_frames(&gap);
    assert!(
        (149..=150).contains(&across),
        "both runs, across the gap: {across}"
    );
    // The init section of the new run is read again, and each key frame carries its own: ffmpeg says it skipped
    // the second copy.
    ffmpeg_decodes_cleanly(&gap, &["Found duplicated MOOV Atom. Skipped it"]);

    // Browsers take gzip: a playlist worth compressing goes out compressed, and inflates to the same text.
    let path = "/streams/site/cam/index.m3u8?target=1";
    let plain = get(&server.base, path, &[]);
    assert!(plain.body.len() > 1024 && plain.header("Content-Encoding").is_none());
    let zipped = get(&server.base, path, &[("Accept-Encoding", "gzip, deflate, br")]);
    assert_eq!(zipped.header("Content-Encoding"), Some("gzip"));
    assert_eq!(zipped.header("Vary"), Some("accept-encoding"));
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&zipped.body[..]), &mut text)
        .expect("gunzip");
    assert_eq!(text, plain.text());

    // The I-frame playlist: one key frame a second, ten seconds.
    let iframes = get(&server.base, "/streams/site/cam/iframes.m3u8", &[]).text();
    assert!(iframes.contains("#EXT-X-I-FRAMES-ONLY"), "{iframes}");
    assert_eq!(iframes.matches("#EXT-X-BYTERANGE:").count(), 10, "{iframes}");
    assert_eq!(ffprobe_frames(&server.url("/streams/site/cam/iframes.m3u8")), 10);

    // The API: streams, and ranges with the gap.
    let list: serde_json::Value =
        serde_json::from_slice(&get(&server.base, "/api/streams", &[]).body).expect("json");
    assert_eq!(list.as_array().map(Vec::len), Some(2), "{list}");
    let detail: serde_json::Value =
        serde_json::from_slice(&get(&server.base, "/api/streams/site/gap", &[]).body).expect("json");
    assert_eq!(detail["ranges"].as_array().map(Vec::len), Some(2), "{detail}");
    assert!(
        detail["gaps"][0]["seconds"].as_f64().is_some_and(|s| s > 50.0),
        "{detail}"
    );

    lint(
        &server,
        &[
            "/streams/site/cam/index.m3u8",
            "/streams/site/gap/index.m3u8",
            "/streams/site/cam/iframes.m3u8",
        ],
    );
}

/// The same server over a Pravega store: the list, a playlist ffprobe plays to the last frame, and byte ranges
/// read from the Pravega data stream.
#[test]
fn serves_a_pravega_stream() {
    let Some(controller) = pravega_controller() else {
        return;
    };
    let stream = format!("{}/cam", unique_scope("serve"));
    let store = Path::new(&controller);
    record(store, &stream, 100, t0());
    let server = Server::start(store, &["--listen", "127.0.0.1:0"]);

    let list = get(&server.base, "/api/streams", &[]).text();
    assert!(list.contains(&format!("\"{stream}\"")), "{list}");
    assert_eq!(
        ffprobe_frames(&server.url(&format!("/streams/{stream}/index.m3u8"))),
        100
    );
    let backend = hindsight_store::StoreUri::parse(&controller)
        .and_then(|u| u.open())
        .expect("store");
    let name = hindsight_store::StreamName::parse(&stream).expect("name");
    let tail = backend.info(&name).expect("info").tail;
    let data = format!("/streams/{stream}/data");
    let r = get(&server.base, &data, &[("Range", "bytes=0-99")]);
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("Content-Range"),
        Some(format!("bytes 0-99/{tail}").as_str())
    );
    assert_eq!(&r.body[24..28], b"ftyp");
    let r = get(&server.base, &data, &[("Range", &format!("bytes={tail}-"))]);
    assert_eq!(r.status, 416, "{}", r.text());
}

/// hls-parser in strict mode (installed by scripts/install-deps in web/).
fn lint(server: &Server, paths: &[&str]) {
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("web/node_modules");
    assert!(
        modules.join("hls-parser").is_dir() && Command::new("node").arg("--version").output().is_ok(),
        "node or web/node_modules/hls-parser is missing: run scripts/install-deps"
    );
    let urls: Vec<String> = paths.iter().map(|p| server.url(p)).collect();
    let out = Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/lint.js"))
        .args(&urls)
        .env("WEB_MODULES", &modules)
        .output()
        .expect("run node");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "strict RFC 8216 check: {text}");
}

#[test]
fn byte_ranges_follow_rfc_9110_and_frames_read_as_mp4_boxes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("store");
    record(&store, "site/cam", 100, t0());
    let server = Server::start(&store, &["--listen", "127.0.0.1:0"]);
    let backend = hindsight_store::StoreUri::embedded(&store)
        .open_new()
        .expect("store");
    let name = hindsight_store::StreamName::parse("site/cam").expect("name");
    let tail = backend.info(&name).expect("info").tail;

    let r = get(&server.base, "/streams/site/cam/data", &[("Range", "bytes=0-99")]);
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("Content-Range"),
        Some(format!("bytes 0-99/{tail}").as_str())
    );
    assert_eq!(r.body.len(), 100);
    // The frame header at offset 0 reads as a 20-byte `free` box, then the key frame's ftyp.
    assert_eq!(&r.body[..8], &[0, 0, 0, 20, b'f', b'r', b'e', b'e']);
    assert_eq!(&r.body[24..28], b"ftyp");

    let r = get(&server.base, "/streams/site/cam/data", &[("Range", "bytes=-10")]);
    assert_eq!((r.status, r.body.len()), (206, 10));
    let whole = get(&server.base, "/streams/site/cam/data", &[]);
    assert_eq!((whole.status, whole.body.len() as u64), (200, tail));
    // A range that starts mid-frame is the same bytes as the whole.
    let mid = get(
        &server.base,
        "/streams/site/cam/data",
        &[("Range", "bytes=1000-5999")],
    );
    assert_eq!(mid.body, whole.body[1000..6000]);

    for bad in [
        format!("bytes={tail}-"),
        "bytes=0-1,5-9".into(),
        "bytes=-0".into(),
        "items=0-1".into(),
    ] {
        let r = get(&server.base, "/streams/site/cam/data", &[("Range", &bad)]);
        assert_eq!(r.status, 416, "{bad}: {}", r.text());
        assert_eq!(
            r.header("Content-Range"),
            Some(format!("bytes */{tail}").as_str()),
            "{bad}"
        );
    }

    // Truncated footage is gone for readers: ranges before the new head are unsatisfiable.
    let cut = hindsight_store::video::truncate_before_time(
        backend.as_ref(),
        &name,
        hindsight_store::Timestamp::from_nanos(t0() + 2 * SEC),
    )
    .expect("truncate")
    .expect("something deleted");
    let r = get(&server.base, "/streams/site/cam/data", &[("Range", "bytes=0-99")]);
    assert_eq!(r.status, 416, "{}", r.text());
    let r = get(&server.base, "/streams/site/cam/data", &[]);
    assert_eq!(r.status, 416, "no range from 0 when the head is gone");
    let from = format!("bytes={}-{}", cut.offset, cut.offset + 7);
    let r = get(&server.base, "/streams/site/cam/data", &[("Range", &from)]);
    assert_eq!(
        (r.status, &r.body[..]),
        (206, &[0, 0, 0, 20, b'f', b'r', b'e', b'e'][..])
    );
    let text = get(&server.base, "/streams/site/cam/index.m3u8", &[]).text();
    assert!(
        !text.contains("@0\n") && text.contains(&format!("@{}\n", cut.offset)),
        "the deleted head is simply absent: {text}"
    );
    ffmpeg_decodes_cleanly(&server.url("/streams/site/cam/index.m3u8"), &[]);
}

#[test]
fn hostile_requests_get_a_4xx_and_the_good_client_is_still_served() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("store");
    record(&store, "site/cam", 50, t0());
    let server = Server::start(&store, &["--listen", "127.0.0.1:0"]);
    // A flood of slow clients that never finish their headers.
    let slow: Vec<TcpStream> = (0..60)
        .map(|_| {
            let mut s = TcpStream::connect(server.base.trim_start_matches("http://")).expect("connect");
            s.write_all(b"GET /api/streams HTTP/1.1\r\nHost: x\r\n")
                .expect("send");
            s
        })
        .collect();
    let long = "a".repeat(300);
    // Path, request headers, the status it must get.
    type Case = (String, Vec<(&'static str, &'static str)>, u16);
    let cases: Vec<Case> = vec![
        ("/streams/../../etc/passwd/index.m3u8".into(), vec![], 404),
        ("/streams/..%2F..%2Fetc/passwd/index.m3u8".into(), vec![], 400),
        ("/streams/site/%2e%2e/data".into(), vec![], 400),
        (format!("/streams/site/{long}/index.m3u8"), vec![], 400),
        ("/streams/site/nope/index.m3u8".into(), vec![], 404),
        ("/api/streams/site/nope".into(), vec![], 404),
        ("/streams/site/cam/index.m3u8?begin=yesterday".into(), vec![], 400),
        (
            "/streams/site/cam/index.m3u8?begin=2025-03-01T10:00:05Z&end=2025-03-01T10:00:01Z".into(),
            vec![],
            400,
        ),
        ("/streams/site/cam/index.m3u8?target=-3".into(), vec![], 400),
        (
            "/streams/site/cam/data".into(),
            vec![("Range", "bytes=-99999999999999999999999")],
            416,
        ),
        ("/streams/site/cam/data".into(), vec![("Range", "bytes=5-2")], 416),
        (
            "/streams/site/cam/data".into(),
            vec![("Range", "bytes=0-1,4-8")],
            416,
        ),
        (
            "/streams/site/cam/data".into(),
            vec![("Range", "bytes=-1-2")],
            416,
        ),
        ("/nowhere".into(), vec![], 404),
    ];
    for (path, headers, want) in &cases {
        let r = get(&server.base, path, headers);
        assert_eq!(r.status, *want, "{path} {headers:?}: {}", r.text());
        let json: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
        assert!(
            json["error"].is_string(),
            "{path}: a short JSON error, got {}",
            r.text()
        );
    }
    // Garbage instead of HTTP: a 400 or a clean close, never a hang.
    for junk in [
        &b"\x00\x01\x02 garbage\r\n\r\n"[..],
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET /\r\n\r\n",
    ] {
        let addr = server.base.trim_start_matches("http://");
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        s.write_all(junk).expect("send");
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        let head = String::from_utf8_lossy(&buf);
        assert!(
            buf.is_empty() || head.starts_with("HTTP/1.1 4"),
            "{junk:?}: {head}"
        );
    }
    // The good client is served while the slow ones hang around.
    let started = Instant::now();
    let r = get(&server.base, "/streams/site/cam/index.m3u8", &[]);
    assert_eq!(r.status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    drop(slow);
}

#[test]
fn beyond_loopback_a_token_is_required() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("store");
    record(&store, "site/cam", 25, t0());
    let server = Server::start(&store, &["--listen", "0.0.0.0:0"]);
    let token = server.token.clone().expect("a token is printed");
    let r = get(&server.base, "/api/streams", &[]);
    assert_eq!(r.status, 401, "{}", r.text());
    let r = get(&server.base, &format!("/api/streams?token={token}"), &[]);
    assert_eq!(r.status, 200);
    let bearer = format!("Bearer {token}");
    let r = get(
        &server.base,
        "/streams/site/cam/index.m3u8",
        &[("Authorization", &bearer)],
    );
    assert_eq!(r.status, 200);
    // A playlist asked for with the token hands it on to its media URIs, for browsers.
    let r = get(
        &server.base,
        &format!("/streams/site/cam/index.m3u8?token={token}"),
        &[],
    );
    assert!(
        r.text().contains(&format!("data.mp4?token={token}")),
        "{}",
        r.text()
    );
    assert_eq!(
        ffprobe_frames(&server.url(&format!("/streams/site/cam/index.m3u8?token={token}"))),
        25
    );
}

#[test]
fn hls_js_plays_recorded_and_live_streams_in_chromium() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("store");
    record(&store, "site/history", 250, t0());
    let server = Server::start(&store, &["--listen", "127.0.0.1:0"]);

    // History: it plays, frames are decoded, and the date-time of the frame shown is the stored one.
    let s = browse(
        &server.url("/player.html?stream=site/history"),
        "s.ready && s.frames > 25 && s.currentTime > 2 && s.playingDate",
        30,
        Some(&dir.path().join("history.png")),
    );
    assert!(
        s["errors"]
            .as_array()
            .is_none_or(|e| e.iter().all(|x| !x.as_str().unwrap_or("").contains("fatal"))),
        "{s}"
    );
    let shown = hindsight_store::Timestamp::parse_rfc3339(s["playingDate"].as_str().expect("date"))
        .expect("date")
        .nanos();
    let expected = t0() + (s["currentTime"].as_f64().expect("time") * 1e9) as u64;
    assert!(
        shown.abs_diff(expected) <= SEC,
        "date-time {shown} for media time {expected}: {s}"
    );

    // Live: a stream recorded in real time plays from near its live edge and keeps up.
    init_gst();
    let live = hindsight_testkit::pipeline::launch(&format!(
        "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=25/1 ! \
         x264enc key-int-max=25 bframes=0 speed-preset=ultrafast tune=zerolatency ! h264parse ! \
         video/x-h264,alignment=au,profile=constrained-baseline ! mp4mux streamable=true fragment-duration=1 ! \
         pravegasink store=\"{}\" stream=site/live",
        store.display()
    ));
    live.set_state(gst::State::Playing).expect("record live");
    std::thread::sleep(Duration::from_secs(6));
    let s = browse(
        &server.url("/player.html?stream=site/live"),
        "s.ready && s.recording && s.frames > 50 && s.playingDate",
        40,
        Some(&dir.path().join("live.png")),
    );
    let shown = hindsight_store::Timestamp::parse_rfc3339(s["playingDate"].as_str().expect("date"))
        .expect("date")
        .nanos();
    let now = hindsight_store::Timestamp::now().nanos();
    assert!(
        now.saturating_sub(shown) < 15 * SEC,
        "live playback {} s behind: {s}",
        (now - shown) / SEC
    );
    let playlist = get(&server.base, "/streams/site/live/index.m3u8", &[]).text();
    assert!(
        playlist.contains("#EXT-X-PLAYLIST-TYPE:EVENT") && !playlist.contains("ENDLIST"),
        "{playlist}"
    );
    live.set_state(gst::State::Null).expect("stop");
}
