//! Helpers shared by the integration tests: running the `hindsight` binary on a store, stopping a recorder
//! with Ctrl-C, decoding a pipeline's frames, and the Pravega test server.
//!
//! Each test file compiles this module on its own and uses part of it.
#![allow(dead_code)]

pub mod app;
pub mod served;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;

/// Runs `hindsight --store STORE ARGS…` to completion (no `$HINDSIGHT_STORE` from the environment).
pub fn hindsight(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hindsight"))
        .arg("--store")
        .arg(store)
        .args(args)
        .env_remove("HINDSIGHT_STORE")
        .output()
        .expect("run hindsight")
}

/// The standard output of a command that must have succeeded; both outputs in the failure message.
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The wall clock as TAI nanoseconds (the time the store keeps).
pub fn now_tai() -> u64 {
    hindsight_store::Timestamp::now().nanos()
}

/// The Pravega server `make test` starts, or `None` (a panic under CI) without one.
pub fn pravega_controller() -> Option<String> {
    hindsight_testkit::env::pravega_controller("this Pravega test")
}

/// Sends SIGINT (Ctrl-C) to a recorder and waits up to `limit` for it to exit; `None` if it did not.
pub fn interrupt(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("SIGINT");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for the recorder") {
            return Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// GStreamer with the app's elements registered, once per test process.
pub fn init_gst() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        gst::init().expect("gstreamer");
        gstpravega::register_static().expect("elements");
    });
}

/// Runs `desc` (ending in `fakesink name=out`) to EOS and returns the PTS of every buffer the sink got.
pub fn collect_pts(desc: &str) -> Vec<u64> {
    init_gst();
    let pipeline = gst::parse::launch(desc)
        .expect("pipeline")
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
    let sink = pipeline.by_name("out").expect("a sink named out");
    let pts = Arc::new(Mutex::new(Vec::new()));
    let pts2 = pts.clone();
    sink.static_pad("sink")
        .expect("sink pad")
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(t) = info.buffer().and_then(|b| b.pts()) {
                pts2.lock().expect("lock").push(t.nseconds());
            }
            gst::PadProbeReturn::Ok
        });
    pipeline.set_state(gst::State::Playing).expect("play");
    let msg = pipeline
        .bus()
        .expect("bus")
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(60),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .expect("pipeline finished");
    pipeline.set_state(gst::State::Null).expect("stop");
    assert!(matches!(msg.view(), gst::MessageView::Eos(_)), "{desc}: {msg:?}");
    let v = pts.lock().expect("lock").clone();
    v
}

/// A Pravega standalone server of the test's own (not the shared one of `make test`, which other tests use
/// while this one restarts it), on its own ports and run directory. Stopped when dropped.
pub struct PrivatePravega {
    run_dir: tempfile::TempDir,
    ports: [u16; 3],
    auth: Option<String>,
    /// A directory with ca.pem, server.pem and server.key: the server speaks TLS.
    tls: Option<PathBuf>,
}

impl PrivatePravega {
    fn script() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pravega-standalone")
    }

    fn command(&self, action: &str) -> Command {
        let mut c = Command::new(Self::script());
        c.arg(action)
            .env("PRAVEGA_RUN_DIR", self.run_dir.path())
            .env("PRAVEGA_CONTROLLER_PORT", self.ports[0].to_string())
            .env("PRAVEGA_SEGMENTSTORE_PORT", self.ports[1].to_string())
            .env("PRAVEGA_ZK_PORT", self.ports[2].to_string())
            .env("PRAVEGA_STOP_TIMEOUT", "5");
        if let Some(auth) = &self.auth {
            c.env("PRAVEGA_AUTH", auth);
        }
        if let Some(tls) = &self.tls {
            c.env("PRAVEGA_TLS_DIR", tls);
        }
        c
    }

    /// Starts a server; `auth` = `Some("user:password")` turns password authentication on.
    pub fn start(auth: Option<&str>) -> Self {
        Self::start_with(auth, None)
    }

    /// Starts a server that speaks TLS with the certificates in `tls` (ca.pem, server.pem, server.key).
    pub fn start_tls(tls: &Path) -> Self {
        Self::start_with(None, Some(tls.to_path_buf()))
    }

    fn start_with(auth: Option<&str>, tls: Option<PathBuf>) -> Self {
        let free = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .expect("a free port")
        };
        let server = PrivatePravega {
            run_dir: tempfile::tempdir().expect("tempdir"),
            ports: [free(), free(), free()],
            auth: auth.map(str::to_owned),
            tls,
        };
        server.up();
        server
    }

    /// Starts it (again).
    pub fn up(&self) {
        let out = self.command("start").output().expect("run pravega-standalone");
        assert!(
            out.status.success(),
            "cannot start a Pravega server: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Stops it; its in-memory data are gone.
    pub fn down(&self) {
        let _ = self.command("stop").output();
    }

    /// `tcp://127.0.0.1:PORT`, without credentials; `tls://localhost:PORT` with TLS (the name in the test's
    /// certificate: the client checks host names, not addresses).
    pub fn uri(&self) -> String {
        match self.tls {
            Some(_) => format!("tls://localhost:{}", self.ports[0]),
            None => format!("tcp://127.0.0.1:{}", self.ports[0]),
        }
    }
}

impl Drop for PrivatePravega {
    fn drop(&mut self) {
        self.down();
    }
}

/// 2024-05-01T12:00:00Z, where [`record_two_runs`] starts.
pub fn base() -> hindsight_store::Timestamp {
    hindsight_store::Timestamp::parse_rfc3339("2024-05-01T12:00:00Z").expect("time")
}

/// Writes two recordings of 20 s (30 fps, a key frame every second, opaque payloads) with a 60 s pause between
/// them into `name` of the embedded store at `store`, directly with the storage API.
pub fn record_two_runs(store: &Path, name: &str) {
    use hindsight_store::video::{IndexPolicy, VideoWriter};
    use hindsight_store::{EmbeddedStore, StreamName, Timestamp};
    const SEC: u64 = 1_000_000_000;
    let backend = EmbeddedStore::open(store).expect("store");
    let name = StreamName::parse(name).expect("name");
    for run in 0..2u64 {
        let mut w = VideoWriter::open(&backend, &name, IndexPolicy::default()).expect("writer");
        let start = base().nanos() + run * 80 * SEC;
        for i in 0..600u64 {
            let ts = Timestamp::from_nanos(start + i * SEC / 30);
            let payload = vec![(i % 251) as u8; if i % 30 == 0 { 3000 } else { 400 }];
            w.append(&payload, ts, i % 30 == 0).expect("append");
        }
        w.finish(Some(Timestamp::from_nanos(start + 20 * SEC)))
            .expect("finish");
    }
}

/// ffprobe's JSON report of `path` with these arguments (`-show_entries …`, `-count_frames`, …).
pub fn ffprobe(path: &Path, args: &[&str]) -> serde_json::Value {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-of", "json"])
        .args(args)
        .arg(path)
        .output()
        .expect("run ffprobe (Debian package ffmpeg)");
    assert!(
        out.status.success(),
        "ffprobe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("ffprobe json")
}
