//! A year of footage: streams of 1, 30 and 365 days at one key frame a second (up to 31.5 million index
//! records, 630 MB of index), written directly in the wire format on the embedded store (the data stream is a
//! sparse file: nothing here reads the frames). For each, as separate processes of the release binary:
//!
//! - `hindsight inspect`: the first run builds the timeline digest from the index and caches it beside the
//!   stream, later runs read the cache; baseline in the same run: `inspect --gap 13`, which reads the whole
//!   index as inspect did before the digest;
//! - `hindsight play`: exec until the app's status report shows the timeline fitted to the stream (its index
//!   read; at most the two months the timeline zooms out to), and the app's resident memory then.
//!
//! Run under a display (`dbus-run-session -- xvfb-run -a cargo bench --bench year`). Figures only.

use std::fs::File;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hindsight_store::format::{Flags, IndexRecord};
use hindsight_store::{StoreUri, StreamName, Timestamp};
use hindsight_testkit::ms;

const DAY: u64 = 86_400;
/// Bytes of a one-second GOP (a 160 kbit/s camera).
const GOP: u64 = 20_000;

fn bin() -> Option<PathBuf> {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/hindsight");
    bin.exists().then_some(bin)
}

/// Writes `days` of index records ending now, and a sparse data stream as long as they say.
fn generate(store: &Path, days: u64) -> StreamName {
    let backend = StoreUri::embedded(store).open_new().expect("store");
    let name = StreamName::parse(&format!("year/d{days}")).expect("name");
    backend.create(&name).expect("data stream");
    backend
        .create(&name.index().expect("index name"))
        .expect("index stream");
    let start = Timestamp::now().saturating_sub(Duration::from_secs(days * DAY));
    let records = days * DAY;
    let mut w = backend
        .writer(&name.index().expect("index name"))
        .expect("writer");
    let mut buf = Vec::with_capacity(1 << 20);
    for s in 0..records {
        // A camera off for an hour every other day: the timeline has gaps to draw.
        if s % (2 * DAY) > 40_000 && s % (2 * DAY) < 43_600 {
            continue;
        }
        let r = IndexRecord {
            flags: Flags::new(false, true, s == 0),
            timestamp: start.saturating_add(Duration::from_secs(s)),
            offset: s * GOP,
        };
        buf.extend_from_slice(&r.encode());
        if buf.len() >= 1 << 20 {
            w.append(&buf).expect("append");
            buf.clear();
        }
    }
    w.append(&buf).expect("append");
    w.sync().expect("sync");
    drop(w);
    // The data: one sparse segment file (the embedded layout: <root>/<scope>/<stream>/<start offset>.seg).
    let seg = store
        .join("year")
        .join(format!("d{days}"))
        .join(format!("{:020}.seg", 0));
    File::create(&seg)
        .and_then(|f| f.set_len(records * GOP))
        .expect("sparse data");
    name
}

/// Runs `hindsight ARGS`; wall time and peak resident memory (MB).
// The child is reaped by wait4 (for its peak memory), which clippy does not see.
#[allow(clippy::zombie_processes)]
fn timed(bin: &Path, store: &Path, args: &[&str]) -> (Duration, f64) {
    let start = Instant::now();
    let child = Command::new(bin)
        .arg("--store")
        .arg(store)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start hindsight");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let (status, rusage) = wait4(pid);
    let took = start.elapsed();
    assert!(
        status.success(),
        "hindsight {args:?} failed: {status:?} (signal {:?})",
        status.signal()
    );
    (took, rusage as f64 / 1024.0)
}

/// Waits for `pid`: its exit status and peak resident set in KiB.
fn wait4(pid: nix::unistd::Pid) -> (std::process::ExitStatus, i64) {
    let mut status = 0i32;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `usage` and `status` are valid for writes; wait4 fills them for our own child.
    let r = unsafe { libc::wait4(pid.as_raw(), &mut status, 0, usage.as_mut_ptr()) };
    assert_eq!(r, pid.as_raw(), "wait4");
    // SAFETY: wait4 returned the child, so it filled `usage`.
    let usage = unsafe { usage.assume_init() };
    (std::process::ExitStatus::from_raw(status), usage.ru_maxrss)
}

/// `hindsight play STREAM` until its status report shows the timeline fitted to the stream; the time that took
/// and the app's resident memory then (MB).
fn open_app(bin: &Path, store: &Path, stream: &str, days: u64, dir: &Path) -> Option<(Duration, f64)> {
    let status = dir.join(format!("status-{days}.json"));
    let _ = std::fs::remove_file(&status);
    let start = Instant::now();
    let mut child = Command::new(bin)
        .arg("--store")
        .arg(store)
        .args(["play", stream])
        .env("HINDSIGHT_STATUS_FILE", &status)
        .env("GSETTINGS_BACKEND", "memory")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start hindsight");
    // The window fits the stream, up to the widest the timeline zooms out to (two months: a year opens on its
    // newest two months).
    let want = Duration::from_secs(days * DAY * 9 / 10)
        .min(hindsight::timeline_model::MAX_SPAN.mul_f64(0.9))
        .as_nanos() as u64;
    let deadline = start + Duration::from_secs(120);
    let mut found = None;
    while Instant::now() < deadline {
        let text = std::fs::read_to_string(&status).unwrap_or_default();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let tl = &json["timeline"];
        let span = tl["end_ns"]
            .as_u64()
            .unwrap_or(0)
            .saturating_sub(tl["start_ns"].as_u64().unwrap_or(0));
        if span >= want {
            let took = start.elapsed();
            // Let the first index read settle before reading the memory.
            std::thread::sleep(Duration::from_millis(500));
            found = Some((took, rss_mb(child.id())));
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    found
}

fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let Some(bin) = bin() else {
        println!("year: skipped, build the release binary first (cargo build --release --bin hindsight)");
        return;
    };
    let work = tempfile::Builder::new()
        .prefix("hindsight-year")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir");
    let store = work.path().join("store");
    println!("== a year of footage: 1 s key frames, index written directly, sparse data ==");
    let mut rows = Vec::new();
    for days in [1u64, 30, 365] {
        let t = Instant::now();
        let name = generate(&store, days);
        let stream = name.to_string();
        println!(
            "{days} days: {} index records written in {:.1} s",
            days * DAY,
            t.elapsed().as_secs_f64()
        );
        let first = timed(&bin, &store, &["inspect", &stream]);
        let cached = timed(&bin, &store, &["inspect", &stream]);
        let baseline = timed(&bin, &store, &["inspect", "--gap", "13", &stream]);
        let app = open_app(&bin, &store, &stream, days, work.path());
        rows.push((days, first, cached, baseline, app));
        let _ = std::io::stdout().flush();
    }
    println!(
        "{:>5} | {:>22} | {:>22} | {:>22} | {:>22}",
        "days", "inspect, digest built", "inspect, cached", "baseline: whole index", "app: timeline drawn"
    );
    for (days, first, cached, baseline, app) in rows {
        let cell = |(d, mb): (Duration, f64)| format!("{} {:>6.0} MB", ms(d), mb);
        println!(
            "{days:>5} | {:>22} | {:>22} | {:>22} | {:>22}",
            cell(first),
            cell(cached),
            cell(baseline),
            app.map_or("no timeline in 120 s".into(), cell)
        );
    }
    // The digest caches left in the store are small beside the index.
    let backend = StoreUri::embedded(&store).open().expect("store");
    for days in [1u64, 30, 365] {
        let name = StreamName::parse(&format!("year/d{days}-digest")).expect("name");
        if let Ok(info) = backend.info(&name) {
            println!(
                "{days:>5} days: digest cache {:.2} MB, index {:.0} MB",
                (info.tail - info.head) as f64 / 1e6,
                (days * DAY * 20) as f64 / 1e6
            );
        }
    }
}
