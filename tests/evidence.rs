//! The recording-time hash chain end to end: `hindsight record` through the real encoder, muxer and
//! `pravegasink` keeps the chain, `hindsight verify` checks it, and a byte flipped on disk is named.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{interrupt, ok, pravega_controller};
use hindsight_store::video::{IndexPolicy, ReadOutcome, VideoReader, VideoWriter};
use hindsight_store::{Backend, EmbeddedStore, Interrupt, StreamName, Timestamp};
use hindsight_testkit::env::unique_scope;

/// `hindsight --store STORE ARGS…` with the installation's config (and so its signing key) in `config`.
fn hindsight(store: &str, config: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hindsight"));
    c.args(["--store", store])
        .args(args)
        .env_remove("HINDSIGHT_STORE")
        .env("XDG_CONFIG_HOME", config);
    c
}

fn run(mut c: Command) -> Output {
    c.output().expect("run hindsight")
}

/// Records the test pattern into `stream` for `secs` seconds and stops it with Ctrl-C.
fn record(store: &str, config: &Path, stream: &str, secs: u64) {
    let mut child = hindsight(store, config, &["record", "--stream", stream, "--source", "test"])
        .args(["--size", "320x180"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start recording");
    std::thread::sleep(Duration::from_secs(secs));
    let status = interrupt(&mut child, Duration::from_secs(30)).expect("the recorder stops after SIGINT");
    assert!(status.success(), "recorder exited with {status}");
}

fn verify_json(store: &str, config: &Path, stream: &str) -> (Output, serde_json::Value) {
    let out = run(hindsight(store, config, &["verify", stream, "--json"]));
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "verify --json printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, json)
}

/// Every frame of a stream: (data offset, stored time, payload length, key frame).
fn frames(store: &dyn Backend, name: &StreamName) -> Vec<(u64, Timestamp, usize, bool)> {
    let mut reader = VideoReader::open(store, name).expect("reader");
    let interrupt = Interrupt::new().expect("interrupt");
    let mut out = Vec::new();
    loop {
        match reader.next_frame(Instant::now(), &interrupt).expect("read") {
            ReadOutcome::Frame(f) => out.push((
                f.offset,
                f.header.timestamp,
                f.payload.len(),
                f.header.flags.random_access(),
            )),
            _ => return out,
        }
    }
}

/// Flips one byte at data offset `at` of an embedded stream, in whichever segment file holds it.
fn flip_data_byte(stream_dir: &Path, at: u64) {
    let mut segments: Vec<(u64, std::path::PathBuf)> = std::fs::read_dir(stream_dir)
        .expect("stream dir")
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            let start = p.file_name()?.to_str()?.strip_suffix(".seg")?.parse().ok()?;
            Some((start, p))
        })
        .collect();
    segments.sort();
    let (start, path) = segments
        .iter()
        .rev()
        .find(|(s, _)| *s <= at)
        .expect("segment holding the byte");
    let mut bytes = std::fs::read(path).expect("read segment");
    bytes[(at - start) as usize] ^= 0x10;
    std::fs::write(path, bytes).expect("write segment");
}

#[test]
fn a_recording_verifies_and_one_flipped_byte_is_named_to_the_frame() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    let store = dir.path().to_str().expect("utf-8").to_owned();
    record(&store, config.path(), "site/cam", 4);

    // The installation's key was created on first use, private to the user.
    let key = config.path().join("hindsight/signing-key");
    let mode = std::fs::metadata(&key)
        .expect("signing key created")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the key file is private");

    let text = ok(&run(hindsight(&store, config.path(), &["verify", "site/cam"])));
    assert!(text.contains("site/cam: intact"), "{text}");
    assert!(text.contains("this installation's key"), "{text}");
    let (_, json) = verify_json(&store, config.path(), "site/cam");
    let backend = EmbeddedStore::open(dir.path()).expect("store");
    let name = StreamName::parse("site/cam").expect("name");
    let all = frames(&backend, &name);
    assert!(all.len() >= 60, "4 s at 25 fps: {} frames", all.len());
    assert_eq!(json["frames_verified"], all.len() as u64, "{json}");
    assert_eq!(
        json["unsigned_frames"], 0,
        "a clean stop signs the last frames: {json}"
    );
    assert!(
        json["signatures_verified"].as_u64().expect("count") >= 3,
        "{json}"
    );

    // One byte inside the coded sample of a delta frame in the middle.
    let (offset, time, len, _) = *all[all.len() / 2..]
        .iter()
        .find(|f| !f.3)
        .expect("a delta frame after the middle");
    flip_data_byte(&dir.path().join("site/cam"), offset + 20 + len as u64 - 3);
    let (out, json) = verify_json(&store, config.path(), "site/cam");
    assert!(!out.status.success(), "verify must fail on an altered frame");
    assert_eq!(json["intact"], false);
    assert_eq!(json["problem_count"], 1, "{json}");
    let first = json["problems"][0].as_str().expect("problem");
    assert!(
        first.contains(&format!("frame at {}", time.to_rfc3339()))
            && first.contains(&format!("offset {offset}")),
        "names the frame: {first}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not match what was recorded"), "{err}");
    // Only that frame: the ones before and after still match.
    assert_eq!(json["frames_verified"], all.len() as u64 - 1, "{json}");
}

#[test]
fn verify_a_range_and_a_stream_without_a_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    let store = dir.path().to_str().expect("utf-8").to_owned();
    record(&store, config.path(), "site/cam", 3);
    let backend = EmbeddedStore::open(dir.path()).expect("store");
    let name = StreamName::parse("site/cam").expect("name");
    let all = frames(&backend, &name);
    let (from, to) = (all[10].1, all[30].1);
    let out = run(hindsight(
        &store,
        config.path(),
        &[
            "verify",
            "site/cam",
            "--json",
            "--from",
            &from.to_rfc3339(),
            "--to",
            &to.to_rfc3339(),
        ],
    ));
    let json: serde_json::Value = serde_json::from_str(&ok(&out)).expect("json");
    assert_eq!(json["frames_verified"], 21, "{json}");
    assert_eq!(json["first_time"], from.to_rfc3339());

    // As the original plugin writes: no chain. It still inspects; verify says there is nothing to check.
    let plain = StreamName::parse("site/plain").expect("name");
    let mut w = VideoWriter::open(&backend, &plain, IndexPolicy::default()).expect("writer");
    w.append(b"frame", Timestamp::now(), true).expect("append");
    w.finish(None).expect("finish");
    let out = run(hindsight(&store, config.path(), &["verify", "site/plain"]));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("site/plain carries no hash chain"), "{err}");
    ok(&run(hindsight(&store, config.path(), &["inspect", "site/plain"])));
    // A stream that is not there is a clear error, not a report.
    let out = run(hindsight(&store, config.path(), &["verify", "site/nothing"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("does not exist"), "{err}");
}

#[test]
fn a_pravega_recording_keeps_and_verifies_its_chain() {
    let Some(controller) = pravega_controller() else {
        return;
    };
    let config = tempfile::tempdir().expect("tempdir");
    let stream = format!("{}/cam", unique_scope("evidence"));
    record(&controller, config.path(), &stream, 5);
    let (out, json) = verify_json(&controller, config.path(), &stream);
    assert!(out.status.success(), "{json}");
    assert_eq!(json["intact"], true, "{json}");
    // Connecting takes part of the 5 s; what matters is that every frame recorded is verified and signed.
    assert!(json["frames_verified"].as_u64().expect("count") >= 25, "{json}");
    assert_eq!(json["unsigned_frames"], 0, "{json}");
    assert!(
        json["signatures_verified"].as_u64().expect("count") >= 2,
        "{json}"
    );
    assert_eq!(json["keys"].as_array().map(Vec::len), Some(1), "{json}");
    assert_eq!(json["keys"][0], json["installation_key"], "{json}");
}
