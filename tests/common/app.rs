//! The real app window under X: starting it on a store with the status hook, recording test streams for it,
//! screenshots. Shared by the GUI tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gst::prelude::*;

pub fn display() -> String {
    std::env::var("DISPLAY")
        .expect("the GUI tests need an X display: run them under xvfb-run (make test does)")
}

/// Records `seconds` of a test pattern into `stream`; `live` paces it in real time (for tailing).
pub fn record_pipeline(store: &Path, stream: &str, seconds: u32, live: bool) -> gst::Pipeline {
    gst::init().expect("gstreamer");
    gstpravega::register_static().expect("register elements");
    let frames = seconds * 15;
    let desc = format!(
        "videotestsrc is-live={live} num-buffers={frames} pattern=ball ! \
         video/x-raw,width=320,height=240,framerate=15/1 ! \
         x264enc key-int-max=15 bframes=0 speed-preset=ultrafast tune=zerolatency ! h264parse ! \
         video/x-h264,alignment=au ! mp4mux streamable=true fragment-duration=1 ! \
         pravegasink store={} stream={stream}",
        store.display()
    );
    let pipeline = gst::parse::launch(&desc)
        .expect("recording pipeline")
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
    pipeline.set_state(gst::State::Playing).expect("record");
    pipeline
}

/// Waits for a recording to finish.
pub fn wait_eos(pipeline: &gst::Pipeline) {
    hindsight_testkit::pipeline::wait_eos(pipeline, Duration::from_secs(60))
        .expect("recording finished in time");
    hindsight_testkit::pipeline::stop(pipeline);
}

pub struct App {
    child: Child,
    status: PathBuf,
}

/// An X server of the test's own, for tests that click: windows of other tests running at the same time would
/// be under the pointer on a shared display. Stopped when dropped.
pub struct PrivateDisplay {
    server: Child,
    /// `:N`.
    pub name: String,
}

impl PrivateDisplay {
    /// Starts Xvfb 1280x800 on the first free display number from 60 on.
    pub fn start() -> Self {
        for n in 60..200 {
            let lock = format!("/tmp/.X{n}-lock");
            if Path::new(&lock).exists() {
                if !stale_lock(&lock) {
                    continue;
                }
                // Left by a server that was killed: free the number (the old socket would look ready at once).
                let _ = std::fs::remove_file(&lock);
                let _ = std::fs::remove_file(format!("/tmp/.X11-unix/X{n}"));
            }
            let server = Command::new("Xvfb")
                .arg(format!(":{n}"))
                .args(["-screen", "0", "1280x800x24", "-nolisten", "tcp"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start Xvfb");
            let socket = format!("/tmp/.X11-unix/X{n}");
            let started = Instant::now();
            while !Path::new(&socket).exists() && started.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(50));
            }
            let mut d = PrivateDisplay {
                server,
                name: format!(":{n}"),
            };
            // Tests start their displays at the same time: two may have tried the same number, and the one
            // that lost exits only a moment later, while the winner's socket is already there. The lock file
            // names the server that owns the display.
            let lock = std::fs::read_to_string(format!("/tmp/.X{n}-lock")).unwrap_or_default();
            let owner = lock.trim().parse::<u32>().ok();
            if Path::new(&socket).exists()
                && owner == Some(d.server.id())
                && d.server.try_wait().ok().flatten().is_none()
            {
                return d;
            }
            let _ = d.server.kill();
            let _ = d.server.wait();
        }
        panic!("no free X display number");
    }

    /// Moves the pointer to `(x, y)` of the screen and clicks `count` times.
    pub fn click(&self, x: i32, y: i32, count: u32) {
        let ok = Command::new("xdotool")
            .args(["mousemove", &x.to_string(), &y.to_string()])
            .args(["click", "--repeat", &count.to_string(), "--delay", "120", "1"])
            .env("DISPLAY", &self.name)
            .status()
            .expect("run xdotool")
            .success();
        assert!(ok, "xdotool failed");
    }

    /// Clicks the middle of `rect` (`[x, y, w, h]` in the window, which sits at the screen's origin).
    pub fn click_rect(&self, rect: &serde_json::Value, count: u32) {
        let (x, y) = middle(rect);
        self.click(x, y, count);
    }

    /// Types `text` into the focused widget (key events reach GTK when the app runs on a session bus, as
    /// `make test` runs it).
    pub fn type_text(&self, text: &str) {
        self.xdotool(&["type", "--delay", "80", text]);
    }

    /// Presses and releases a key (an X keysym name such as `Escape`) in the window under the pointer.
    pub fn key(&self, keysym: &str) {
        self.xdotool(&["key", "--clearmodifiers", keysym]);
    }

    /// Drags with the first button from the middle of `from` to the middle of `to`, in steps a person's hand
    /// would make (past the drag threshold first, then over the target a moment before letting go).
    pub fn drag(&self, from: &serde_json::Value, to: &serde_json::Value) {
        let ((x0, y0), (x1, y1)) = (middle(from), middle(to));
        let mut points: Vec<(i32, i32)> = (0..=10)
            .map(|step| (x0 + (x1 - x0) * step / 10, y0 + (y1 - y0) * step / 10))
            .collect();
        // Over the target a moment before letting go.
        points.push((x1 + 2, y1 + 2));
        self.drag_through(&points, 0.05, 0.3);
    }

    /// Presses the first button at `points[0]`, moves through the others waiting `step_secs` between them, waits
    /// `hold_secs` on the last and lets go there.
    pub fn drag_through(&self, points: &[(i32, i32)], step_secs: f64, hold_secs: f64) {
        let Some(&(x0, y0)) = points.first() else { return };
        let mut args: Vec<String> = vec![
            "mousemove".into(),
            x0.to_string(),
            y0.to_string(),
            "mousedown".into(),
            "1".into(),
        ];
        for &(x, y) in &points[1..] {
            args.extend([
                "sleep".into(),
                step_secs.to_string(),
                "mousemove".into(),
                x.to_string(),
                y.to_string(),
            ]);
        }
        args.extend([
            "sleep".into(),
            hold_secs.to_string(),
            "mouseup".into(),
            "1".into(),
        ]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.xdotool(&args);
    }

    /// Presses `key` until the app's status satisfies `done` (up to five times, three seconds each). Under Xvfb
    /// without a window manager a key press now and then never reaches the app's shortcut handler; pressing
    /// again is what a person would do. Only for keys where a second press after a lost one does no harm.
    pub fn press_until(
        &self,
        app: &App,
        key: &str,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        for _ in 0..5 {
            self.key(key);
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline {
                if let Some(s) = app.status().filter(|s| done(s)) {
                    return s;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        panic!("{key} did not get there; last status {:?}", app.status());
    }

    /// Moves the pointer to `(x, y)` of the screen without clicking.
    pub fn point_at(&self, x: i32, y: i32) {
        self.xdotool(&["mousemove", &x.to_string(), &y.to_string()]);
    }

    fn xdotool(&self, args: &[&str]) {
        let ok = Command::new("xdotool")
            .args(args)
            .env("DISPLAY", &self.name)
            .status()
            .expect("run xdotool")
            .success();
        assert!(ok, "xdotool {args:?} failed");
    }

    /// A screenshot of the whole screen; also copied into `$HINDSIGHT_TEST_SHOTS` when that names a directory,
    /// to look at after the test (its temporary directory is gone by then).
    pub fn screenshot(&self, out: &Path) {
        let ok = Command::new("import")
            .args(["-window", "root"])
            .arg(out)
            .env("DISPLAY", &self.name)
            .status()
            .expect("run import")
            .success();
        assert!(ok, "screenshot failed");
        if let (Some(dir), Some(file)) = (std::env::var_os("HINDSIGHT_TEST_SHOTS"), out.file_name()) {
            let _ = std::fs::copy(out, Path::new(&dir).join(file));
        }
    }
}

/// The middle of a status report's `[x, y, w, h]`.
fn middle(rect: &serde_json::Value) -> (i32, i32) {
    let v: Vec<i64> = rect
        .as_array()
        .expect("a rect")
        .iter()
        .map(|n| n.as_i64().expect("a number"))
        .collect();
    ((v[0] + v[2] / 2) as i32, (v[1] + v[3] / 2) as i32)
}

/// True for the lock file of an X server that is gone (killed before it could remove it): its display number
/// can be used again.
fn stale_lock(lock: &str) -> bool {
    let pid = std::fs::read_to_string(lock)
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok());
    pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists())
}

impl Drop for PrivateDisplay {
    fn drop(&mut self) {
        // SIGTERM, so the server removes its lock file and socket; SIGKILL only if it does not go.
        let pid = nix::unistd::Pid::from_raw(self.server.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.server.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

impl App {
    pub fn start(store: &Path, args: &[&str], status: PathBuf) -> Self {
        Self::start_with(store, args, status, &[("GSETTINGS_BACKEND", Path::new("memory"))])
    }

    /// Like `start`, with more environment (e.g. a GSettings backend that keeps what is saved).
    pub fn start_with(store: &Path, args: &[&str], status: PathBuf, env: &[(&str, &Path)]) -> Self {
        Self::start_on(&display(), store, args, status, env)
    }

    /// Like `start_with`, on the X display `display`.
    pub fn start_on(
        display: &str,
        store: &Path,
        args: &[&str],
        status: PathBuf,
        env: &[(&str, &Path)],
    ) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_hindsight"))
            .arg("--store")
            .arg(store)
            .args(args)
            .env("DISPLAY", display)
            .env("HINDSIGHT_STATUS_FILE", &status)
            .envs(env.iter().copied())
            .env("GDK_BACKEND", "x11")
            // Xvfb has no GPU: GTK's GL renderer would rasterize through Mesa's llvmpipe on both cores (three
            // quarters of the machine's CPU in a scrub test, the frame clock down to ~19 Hz); a desktop without
            // a GPU is better served by the cairo renderer, and so are the tests.
            .env("GSK_RENDERER", "cairo")
            .env("NO_AT_BRIDGE", "1")
            .env_remove("HINDSIGHT_STORE")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start hindsight");
        App { child, status }
    }

    pub fn status(&self) -> Option<serde_json::Value> {
        let text = std::fs::read_to_string(&self.status).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Polls the status until `pred` holds, or panics with the last status after `timeout`.
    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let start = Instant::now();
        loop {
            if let Some(s) = self.status() {
                if pred(&s) {
                    return s;
                }
                if start.elapsed() > timeout {
                    panic!("timed out waiting for {what}; last status {s}");
                }
            } else if start.elapsed() > timeout {
                panic!("timed out waiting for {what}; no status written");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn position(s: &serde_json::Value) -> u64 {
    s["position_ns"].as_u64().unwrap_or(0)
}

/// Standard deviation of the screen's pixel values (0 for a blank screen).
pub fn screen_variation(out: &Path) -> f64 {
    let ok = Command::new("import")
        .args(["-window", "root"])
        .arg(out)
        .env("DISPLAY", display())
        .status()
        .expect("run import")
        .success();
    assert!(ok, "screenshot failed");
    let text = Command::new("convert")
        .arg(out)
        .args(["-format", "%[fx:standard_deviation]", "info:"])
        .output()
        .expect("run convert");
    String::from_utf8_lossy(&text.stdout)
        .trim()
        .parse()
        .expect("a number from convert")
}
