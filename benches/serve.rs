//! `hindsight serve` under load, beside a plain static file server of the same bytes in the same run.
//!
//! `cargo bench --bench serve` (`SERVE_BENCH_SECONDS` changes the 30 s per measurement). Figures only, no
//! assertions; the goals are printed beside them.
//!
//! - The footage: 24 hours of one key frame a second (4 KiB each, about the bytes a second of 1 Mbit/s video
//!   spends per frame), written once with the store's own writer into the bench's directory and kept for the
//!   next run. The index has 86 400 records, so its playlist has 86 400 segments.
//! - The servers: `hindsight serve` on that store, and the same bytes as files (the playlist and the data
//!   stream, fetched from `hindsight serve` once) served by tower-http's `ServeDir` on axum, the framework
//!   `hindsight serve` is built on. Each runs in a process of its own with a multi-threaded tokio runtime.
//! - The clients: 50 at once, each a loop of one request at a time over a kept-alive connection, reading every
//!   byte of each reply, and taking gzip as browsers do (`hindsight serve` compresses a playlist once per
//!   rendering; the static server has the playlist compressed ahead in a `.gz` file beside it). A request's latency runs from sending it to the last byte of the body. The two
//!   servers take turns in 5 s rounds so that a noisy neighbour hits both alike.
//! - The loads: the whole 24 h playlist (the same URL every time, as many viewers opening one camera would
//!   send); a fresh 24 h playlist each request (a different `end` each time, so no cached playlist helps;
//!   the static server serves its one file), by 50 clients and by one; 1 MiB byte ranges at random offsets of
//!   the data.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use hindsight_store::video::{IndexPolicy, VideoWriter};
use hindsight_store::{StoreUri, StreamName, Timestamp};
use hindsight_testkit::process::Reaped;
use hindsight_testkit::{ms, Latencies};

const CLIENTS: usize = 50;
const ROUND: Duration = Duration::from_secs(5);
const RANGE: u64 = 1 << 20;
const FRAME: usize = 4096;
const DAY: u64 = 24 * 60 * 60;
const STREAM: &str = "bench/day";

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

fn main() {
    if let Ok(dir) = std::env::var("SERVE_BENCH_STATIC") {
        return static_server(Path::new(&dir));
    }
    let seconds = std::env::var("SERVE_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(30)
        .max(5);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-bench");
    let store = dir.join("store");
    let t0 = Timestamp::parse_rfc3339("2025-03-01T00:00:00Z").expect("time");
    footage(&store, t0);

    let mut hindsight = Server::spawn(
        Command::new(env!("CARGO_BIN_EXE_hindsight"))
            .arg("--store")
            .arg(&store)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_remove("HINDSIGHT_STORE")
            .env("HINDSIGHT_LOG", "warn"),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(CLIENTS)
        .build_http();

    // The same bytes as files, for the static server.
    let files = dir.join("files");
    std::fs::create_dir_all(&files).expect("files directory");
    let playlist_path = format!("/streams/{STREAM}/index.m3u8");
    let data_path = format!("/streams/{STREAM}/data.mp4");
    let playlist = rt.block_on(fetch(&client, &hindsight.url(&playlist_path), None));
    let data = rt.block_on(fetch(&client, &hindsight.url(&data_path), None));
    std::fs::write(files.join("index.m3u8"), &playlist).expect("write the playlist file");
    // Compressed ahead, as a static deployment would serve it (ServeDir picks the .gz for clients taking gzip).
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&playlist).expect("compress");
    let gz = gz.finish().expect("compress");
    std::fs::write(files.join("index.m3u8.gz"), &gz).expect("write the compressed playlist");
    std::fs::write(files.join("data.mp4"), &data).expect("write the data file");
    let segments = String::from_utf8_lossy(&playlist).matches("#EXTINF:").count();
    let data_len = data.len() as u64;
    drop(data);
    let mut plain = Server::spawn(
        Command::new(std::env::current_exe().expect("bench executable")).env("SERVE_BENCH_STATIC", &files),
    );

    println!(
        "== hindsight serve vs a static file server (tower-http ServeDir), {CLIENTS} clients, {seconds} s each, \
         turns of {} s ==",
        ROUND.as_secs()
    );
    println!(
        "24 h of 1 s GOPs: a playlist of {segments} segments ({} KiB, {} KiB compressed), {} MiB of data\n",
        playlist.len() / 1024,
        gz.len() / 1024,
        data_len >> 20
    );
    println!(
        "{:<34} {:<16} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "load", "server", "req/s", "MiB/s", "p50 ms", "p99 ms", "max ms"
    );
    let last = t0.saturating_add(Duration::from_secs(DAY - 1));
    let loads: [(&str, usize, Request, Request); 4] = [
        (
            "24 h playlist (one URL)",
            CLIENTS,
            Request::Get(playlist_path.clone()),
            Request::Get("/index.m3u8".into()),
        ),
        (
            "24 h playlist (fresh each time)",
            CLIENTS,
            Request::FreshPlaylist(playlist_path.clone(), last),
            Request::Get("/index.m3u8".into()),
        ),
        (
            "the same, 1 client",
            1,
            Request::FreshPlaylist(playlist_path, last),
            Request::Get("/index.m3u8".into()),
        ),
        (
            "1 MiB ranges",
            CLIENTS,
            Request::Range(data_path, data_len),
            Request::Range("/data.mp4".into(), data_len),
        ),
    ];
    let mut results = Vec::new();
    for (name, clients, ours, theirs) in &loads {
        let (a, b) = rt.block_on(take_turns(
            &client,
            *clients,
            (&hindsight, ours),
            (&plain, theirs),
            Duration::from_secs(seconds),
        ));
        for (server, m) in [("hindsight serve", &a), ("static files", &b)] {
            println!(
                "{:<34} {:<16} {:>9.0} {:>9.1} {:>9} {:>9} {:>9}",
                name,
                server,
                m.per_second(),
                m.mib_per_second(),
                ms(m.latency.p50()),
                ms(m.latency.p99()),
                ms(m.latency.max())
            );
        }
        results.push((a, b));
    }
    let playlist_p99 = results[0].0.latency.p99();
    let throughput = results[3].0.mib_per_second() / results[3].1.mib_per_second().max(f64::MIN_POSITIVE);
    println!();
    println!(
        "goal: a 24 h playlist to {CLIENTS} clients in ≤ 20 ms p99: {} — {}",
        ms(playlist_p99),
        verdict(playlist_p99 <= Duration::from_millis(20))
    );
    println!(
        "(rendering one afresh, index read and gzip included: {} p50 alone; {CLIENTS} different ones at once queue \
         for the cores)",
        ms(results[2].0.latency.p50())
    );
    println!(
        "goal: 1 MiB range throughput ≥ 0.8× the static server: {throughput:.2}× — {}",
        verdict(throughput >= 0.8)
    );
    for (what, m) in results
        .iter()
        .flat_map(|(a, b)| [("hindsight serve", a), ("static files", b)])
    {
        if m.errors > 0 {
            println!("{what}: {} failed requests", m.errors);
        }
    }
    hindsight.stop();
    plain.stop();
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

/// 24 h of one 4 KiB key frame a second, written once; a store from an earlier run is used as it is.
fn footage(store: &Path, t0: Timestamp) {
    let name = StreamName::parse(STREAM).expect("name");
    let done = store.join(".complete");
    if done.exists() {
        return;
    }
    let _ = std::fs::remove_dir_all(store);
    let backend = StoreUri::embedded(store).open_new().expect("bench store");
    let started = Instant::now();
    let mut w = VideoWriter::open(backend.as_ref(), &name, IndexPolicy::default()).expect("writer");
    let mut payload = vec![0u8; FRAME];
    for s in 0..DAY {
        payload[..8].copy_from_slice(&s.to_be_bytes());
        w.append(&payload, t0.saturating_add(Duration::from_secs(s)), true)
            .expect("append");
    }
    w.finish_and_seal(Some(t0.saturating_add(Duration::from_secs(DAY))))
        .expect("finish");
    std::fs::write(&done, b"").expect("mark the footage complete");
    println!(
        "(wrote 24 h of footage in {:.1} s; later runs reuse it)",
        started.elapsed().as_secs_f64()
    );
}

/// What a client asks for.
enum Request {
    /// The same path every time.
    Get(String),
    /// The playlist with a different `end` each time (counting down by milliseconds from this time).
    FreshPlaylist(String, Timestamp),
    /// A 1 MiB range at a random offset of a file of this many bytes.
    Range(String, u64),
}

impl Request {
    fn make(&self, base: &str, n: u64) -> (String, Option<String>) {
        match self {
            Request::Get(path) => (format!("{base}{path}"), None),
            Request::FreshPlaylist(path, last) => {
                let end = Timestamp::from_nanos(last.nanos() - (n % 100_000) * 1_000_000);
                (format!("{base}{path}?end={}", end.to_rfc3339()), None)
            }
            Request::Range(path, len) => {
                let start = fastrand::u64(0..len - RANGE);
                (
                    format!("{base}{path}"),
                    Some(format!("bytes={start}-{}", start + RANGE - 1)),
                )
            }
        }
    }
}

/// What one server answered under one load.
#[derive(Default)]
struct Measured {
    requests: u64,
    bytes: u64,
    errors: u64,
    elapsed: Duration,
    latency: Latencies,
}

impl Measured {
    fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    fn mib_per_second(&self) -> f64 {
        self.bytes as f64 / (1 << 20) as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

/// Runs `a` and `b` in alternating rounds until each had `total`, with `clients` clients.
async fn take_turns(
    client: &HttpClient,
    clients: usize,
    a: (&Server, &Request),
    b: (&Server, &Request),
    total: Duration,
) -> (Measured, Measured) {
    let mut samples = (Vec::new(), Vec::new());
    let mut totals = (Measured::default(), Measured::default());
    let rounds = total.as_secs().div_ceil(ROUND.as_secs()).max(1);
    for _ in 0..rounds {
        for (i, (server, request)) in [a, b].into_iter().enumerate() {
            let (m, s) = load(client, clients, &server.base, request, ROUND).await;
            let (t, all) = if i == 0 {
                (&mut totals.0, &mut samples.0)
            } else {
                (&mut totals.1, &mut samples.1)
            };
            t.requests += m.requests;
            t.bytes += m.bytes;
            t.errors += m.errors;
            t.elapsed += m.elapsed;
            all.extend(s);
        }
    }
    totals.0.latency = Latencies::new(samples.0);
    totals.1.latency = Latencies::new(samples.1);
    totals
}

/// `clients` clients, each requesting one after the other for `length`.
async fn load(
    client: &HttpClient,
    clients: usize,
    base: &str,
    request: &Request,
    length: Duration,
) -> (Measured, Vec<Duration>) {
    let counter = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let samples = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let until = started + length;
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (client, counter, bytes, errors, samples) = (
                client.clone(),
                counter.clone(),
                bytes.clone(),
                errors.clone(),
                samples.clone(),
            );
            let requests: Vec<(String, Option<String>)> =
                (0..4096).map(|_| request.make(base, fastrand::u64(..))).collect();
            async move {
                let mut mine = Vec::new();
                let mut n = 0usize;
                while Instant::now() < until {
                    let (url, range) = &requests[n % requests.len()];
                    n += 1;
                    let sent = Instant::now();
                    match get(&client, url, range.as_deref()).await {
                        Ok(len) => {
                            mine.push(sent.elapsed());
                            bytes.fetch_add(len, Ordering::Relaxed);
                            counter.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                samples.lock().unwrap_or_else(|e| e.into_inner()).extend(mine);
            }
        })
        .map(tokio::spawn)
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed();
    let samples = std::mem::take(&mut *samples.lock().unwrap_or_else(|e| e.into_inner()));
    (
        Measured {
            requests: counter.load(Ordering::Relaxed),
            bytes: bytes.load(Ordering::Relaxed),
            errors: errors.load(Ordering::Relaxed),
            elapsed,
            latency: Latencies::default(),
        },
        samples,
    )
}

/// One request, its body read to the end; the body's length.
async fn get(client: &HttpClient, url: &str, range: Option<&str>) -> Result<u64, String> {
    // As a browser asks: compressed if the server will.
    let mut req = hyper::Request::get(url).header(hyper::header::ACCEPT_ENCODING, "gzip, deflate, br");
    if let Some(r) = range {
        req = req.header(hyper::header::RANGE, r);
    }
    let req = req.body(Empty::new()).map_err(|e| e.to_string())?;
    let res = client.request(req).await.map_err(|e| e.to_string())?;
    let status = res.status();
    let body = res
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    if !status.is_success() || (range.is_some() && body.len() as u64 != RANGE) {
        return Err(format!("{status}, {} bytes", body.len()));
    }
    Ok(body.len() as u64)
}

/// A whole body (`range` optional).
async fn fetch(client: &HttpClient, url: &str, range: Option<&str>) -> Vec<u8> {
    let mut req = hyper::Request::get(url);
    if let Some(r) = range {
        req = req.header(hyper::header::RANGE, r);
    }
    let res = client
        .request(req.body(Empty::new()).expect("request"))
        .await
        .expect("fetch");
    assert!(res.status().is_success(), "{url}: {}", res.status());
    res.into_body().collect().await.expect("body").to_bytes().to_vec()
}

/// A server process that printed its address; killed when stopped or dropped.
struct Server {
    process: Reaped,
    base: String,
}

impl Server {
    fn spawn(cmd: &mut Command) -> Self {
        let served = hindsight_testkit::process::serve(cmd);
        Server {
            process: served.process,
            base: served.base,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn stop(&mut self) {
        self.process.stop();
    }
}

/// The baseline: the files in `dir` by tower-http's `ServeDir` (ranges included) on axum.
fn static_server(dir: &Path) {
    let dir: PathBuf = dir.to_owned();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        println!("static files on http://{addr}/");
        let _ = std::io::stdout().flush();
        let app = axum::Router::new()
            .fallback_service(tower_http::services::ServeDir::new(dir).precompressed_gzip());
        axum::serve(listener, app).await.expect("serve");
    });
}
