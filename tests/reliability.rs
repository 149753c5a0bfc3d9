//! A real recorder (`hindsight record`, test pattern through the H.264 encoder into the embedded store) killed
//! with SIGKILL at random moments, appending to one stream. After each kill: `hindsight inspect` succeeds, the
//! stream decodes end to end through `pravegasrc ! qtdemux ! avdec_h264` with no error, its frame count never
//! goes down, no index record points past the data, and the footage lost at the kill (the kill's wall-clock
//! time minus the last stored frame's time: what was still inside the pipeline) is measured. A process kill
//! loses nothing the recorder had written (the page cache survives it); power cuts, which lose what was not
//! synced, are tested at the store level (crates/store/tests/power_cut.rs).
//!
//! `HINDSIGHT_RELIABILITY_ROUNDS` sets the number of kills (default 20; `make reliability` runs 100).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{collect_pts, hindsight, ok};
use hindsight_store::video::IndexReader;
use hindsight_store::{Backend, EmbeddedStore, Interrupt, ReadOutcome, StreamName, Timestamp, VideoReader};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Frames stored and the last one's time, read the way a player reads (a torn tail waits, then ends it).
fn stored_frames(store: &EmbeddedStore, cam: &StreamName) -> (u64, Option<Timestamp>) {
    let mut reader = VideoReader::open(store, cam).expect("open reader");
    let interrupt = Interrupt::new().expect("interrupt");
    let (mut frames, mut last) = (0, None);
    loop {
        match reader.next_frame(Instant::now() + Duration::from_millis(200), &interrupt) {
            Ok(ReadOutcome::Frame(f)) => {
                frames += 1;
                if f.header.flags.include_in_index() || !f.header.timestamp.is_unknown() {
                    last = Some(f.header.timestamp);
                }
            }
            Ok(ReadOutcome::TimedOut | ReadOutcome::End) => return (frames, last),
            Ok(other) => panic!("unexpected {other:?} after {frames} frames"),
            Err(e) => panic!("the reader failed after {frames} frames: {e}"),
        }
    }
}

#[test]
fn a_recorder_killed_at_random_moments_leaves_a_stream_that_decodes() {
    let rounds: usize = std::env::var("HINDSIGHT_RELIABILITY_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().expect("tempdir");
    let cam = StreamName::parse("site/cam").expect("name");
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    let mut rng = fastrand::Rng::with_seed(seed);
    println!("seed {seed}");
    println!("round  killed after  frames  decoded  index records  footage lost at the kill");
    let (mut previous_frames, mut lost_ms) = (0u64, Vec::new());

    for round in 0..rounds {
        let mut child = start_recorder(dir.path(), "site/cam", &["--size", "160x120"]);
        // Past the first round, kills land anywhere: while starting, at the first key frame, mid-GOP.
        let delay = Duration::from_millis(if round == 0 { 2500 } else { rng.u64(300..3000) });
        std::thread::sleep(delay);
        let killed_at = Timestamp::now();
        kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).expect("kill the recorder");
        child.wait().expect("reap the recorder");

        ok(&hindsight(dir.path(), &["inspect", "site/cam"]));
        let store = EmbeddedStore::open(dir.path()).expect("open store");
        let (frames, last) = stored_frames(&store, &cam);
        assert!(
            frames >= previous_frames,
            "round {round}: the frame count went down from {previous_frames} to {frames}"
        );
        previous_frames = frames;
        let tail = store.info(&cam).expect("info").tail;
        let (_, records) = IndexReader::open(&store, &cam)
            .expect("index")
            .read_all()
            .expect("read index");
        if let Some(r) = records.iter().find(|r| r.offset > tail) {
            panic!("round {round}: index record {r:?} points past the data tail {tail}");
        }
        // Up to the last index record (a kill can leave a torn frame after it until the next recorder
        // repairs the stream), every frame decodes.
        let decoded = collect_pts(&format!(
            "pravegasrc store={} stream=site/cam end-mode=latest-indexed ! qtdemux ! h264parse ! \
             avdec_h264 ! fakesink name=out sync=false",
            dir.path().display()
        ));
        let lost = last.map(|t| killed_at.duration_since(t));
        if let Some(l) = lost {
            lost_ms.push(l.as_millis() as u64);
        }
        println!(
            "{round:5}  {:9} ms  {frames:6}  {:7}  {:13}  {}",
            delay.as_millis(),
            decoded.len(),
            records.len(),
            lost.map(|l| format!("{} ms", l.as_millis()))
                .unwrap_or_else(|| "(nothing stored yet)".into())
        );
    }
    lost_ms.sort_unstable();
    let max = lost_ms.last().copied().unwrap_or(0);
    println!(
        "{rounds} kills: frame count never went down, every stream decoded; footage lost at a kill: p50 {} ms, \
         max {max} ms",
        lost_ms.get(lost_ms.len() / 2).copied().unwrap_or(0)
    );
    assert!(previous_frames > 0, "the recorder never stored a frame");
    // What a kill loses is what was inside the pipeline: the encoder's and muxer's latency, under a second.
    assert!(max < 1500, "a kill lost {max} ms of footage");
}

/// A small tmpfs mounted for the test (the test runs as root, as `make test` does on a fresh machine);
/// unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "mounting a {size} tmpfs failed: this test needs root"
        );
        SmallDisk { dir }
    }

    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(self.dir.path())
            .status()
            .expect("run mount");
        assert!(status.success(), "resizing the tmpfs failed");
    }

    fn store(&self) -> std::path::PathBuf {
        self.dir.path().join("store")
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// Starts `hindsight record` of the test pattern into `stream` of `store`, with `extra` arguments. Its stderr
/// is piped (a line a second: the pipe never fills in these tests' few seconds).
fn start_recorder(store: &std::path::Path, stream: &str, extra: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_hindsight"))
        .arg("--store")
        .arg(store)
        .args(["record", "--stream", stream, "--source", "test"])
        .args(extra)
        .env_remove("HINDSIGHT_STORE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the recorder")
}

/// Every frame up to the last index record decodes; returns how many.
fn decodes(store: &std::path::Path, stream: &str) -> usize {
    collect_pts(&format!(
        "pravegasrc store={} stream={stream} end-mode=latest-indexed ! qtdemux ! h264parse ! avdec_h264 ! \
         fakesink name=out sync=false",
        store.display()
    ))
    .len()
}

#[test]
fn a_full_disk_stops_the_recorder_clearly_and_retention_keeps_it_from_filling() {
    let disk = SmallDisk::mount("1m");
    let store = disk.store();
    let cam = StreamName::parse("site/cam").expect("name");

    // The test pattern is ~2 Mbit/s: a 1 MiB disk is full within seconds.
    let child = start_recorder(&store, "site/cam", &[]);
    let started = Instant::now();
    let out = child.wait_with_output().expect("wait for the recorder");
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.trim().lines().last().unwrap_or_default();
    println!("stopped after {:?}: {last}", started.elapsed());
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(last.starts_with("hindsight: error: recording stopped"), "{last}");
    for needed in [
        "No space left on device",
        "free of 1 MiB",
        &store.display().to_string(),
    ] {
        assert!(last.contains(needed), "the message lacks {needed:?}: {last}");
    }

    // Readable and repairable as it is.
    ok(&hindsight(&store, &["inspect", "site/cam"]));
    let (frames, _) = stored_frames(&EmbeddedStore::open(&store).expect("store"), &cam);
    assert!(frames > 0 && decodes(&store, "site/cam") > 0);

    // With space again, recording the same stream goes on after what was kept.
    disk.resize("3m");
    let mut child = start_recorder(&store, "site/cam", &[]);
    std::thread::sleep(Duration::from_secs(3));
    let status = common::interrupt(&mut child, Duration::from_secs(20)).expect("the recorder stops");
    assert!(
        status.success(),
        "the recorder failed after space returned: {status}"
    );
    let (after, _) = stored_frames(&EmbeddedStore::open(&store).expect("store"), &cam);
    println!("{frames} frames before space returned, {after} after");
    assert!(
        after > frames + 30,
        "recording did not resume: {frames} then {after} frames"
    );
    assert!(decodes(&store, "site/cam") as u64 > frames);

    // Retention frees space as it goes: 8 s (about 2 MiB) kept to 300 KiB on what is left of the disk.
    let mut child = start_recorder(&store, "site/kept", &["--retain-size", "300K"]);
    std::thread::sleep(Duration::from_secs(8));
    assert!(
        child.try_wait().expect("poll the recorder").is_none(),
        "the recorder stopped although retention was set"
    );
    let status = common::interrupt(&mut child, Duration::from_secs(20)).expect("the recorder stops");
    assert!(status.success(), "{status}");
    assert!(decodes(&store, "site/kept") > 0);
}
