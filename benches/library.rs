//! A store of a thousand streams: how soon the library has its rows, and `hindsight list`. Figures only:
//! `cargo bench --bench library` (under `scripts/with-pravega` it also lists 100 streams on Pravega).
//!
//! - Rows: the app's listing ([`library::list`], what the library paints first) against, in the same run, the
//!   bare list of stream names (the least any listing can do) and the listing followed by decoding every
//!   thumbnail (what the library waited for before it painted rows ahead of their pictures).
//! - `hindsight list`: the real command, process start included, against `true` started the same way.
//!
//! The streams are copies of one recorded second of a 160x90 test pattern (a few key frames each).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hindsight::engine::library::{self, ListCache};
use hindsight_store::copy::copy_video_stream;
use hindsight_store::video::list_video_streams;
use hindsight_store::{Backend, StoreUri, StreamName};
use hindsight_testkit::{ms, ratio};

const RUNS: usize = 5;

fn main() {
    hindsight::engine::init().expect("media engine");
    gstpravega::register_static().expect("elements");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("library-bench");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench directory");
    let source_dir = dir.join("source");
    let source = record_source(&source_dir);

    let store_dir = dir.join("store");
    let store = StoreUri::embedded(&store_dir).open_new().expect("store");
    fill(store.as_ref(), &source, 1000);
    run(
        "1 000 streams, embedded store",
        store.as_ref(),
        &store_dir.display().to_string(),
    );
    match std::env::var("HINDSIGHT_PRAVEGA_CONTROLLER") {
        Ok(uri) if !uri.is_empty() => {
            let pravega = StoreUri::parse(&uri)
                .expect("uri")
                .open_new()
                .expect("Pravega store");
            fill(pravega.as_ref(), &source, 100);
            run("100 streams, Pravega", pravega.as_ref(), &uri);
        }
        _ => println!("(Pravega: run under scripts/with-pravega for 100 streams on Pravega)"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// One second of a small test pattern, recorded for real: (its store, its name).
fn record_source(dir: &Path) -> (Arc<dyn Backend>, StreamName) {
    let pipeline = hindsight_testkit::pipeline::launch(&format!(
        "videotestsrc num-buffers=30 pattern=ball ! video/x-raw,width=160,height=90,framerate=30/1 ! \
         x264enc key-int-max=10 speed-preset=ultrafast tune=zerolatency ! h264parse ! \
         video/x-h264,alignment=au ! mp4mux streamable=true fragment-duration=1 ! \
         pravegasink store=\"{}\" stream=src/cam",
        dir.display()
    ));
    hindsight_testkit::pipeline::run_until_eos(&pipeline, Duration::from_secs(60));
    let store = StoreUri::embedded(dir).open_new().expect("source store");
    (store, StreamName::parse("src/cam").expect("name"))
}

/// Copies the source into `count` streams spread over ten scopes (skipping those already there).
fn fill(store: &dyn Backend, (src, name): &(Arc<dyn Backend>, StreamName), count: usize) {
    let started = Instant::now();
    let scope = format!("lib{}", std::process::id());
    for i in 0..count {
        let to = StreamName::new(&format!("{scope}{}", i % 10), &format!("cam{i:04}")).expect("name");
        copy_video_stream(src.as_ref(), name, store, &to).expect("copy");
    }
    println!(
        "({count} streams made in {:.1} s)",
        started.elapsed().as_secs_f64()
    );
}

/// The fastest of `RUNS` runs of `f`.
fn best(mut f: impl FnMut()) -> Duration {
    (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn run(label: &str, store: &dyn Backend, uri: &str) {
    println!("== library: {label} (best of {RUNS}) ==");
    let names = best(|| {
        list_video_streams(store).expect("names");
    });
    let mut streams = 0;
    let mut wanted = Vec::new();
    // A first listing reads every stream; a refresh with nothing changed reads only their bounds.
    let rows = best(|| {
        let listing = library::list(store, &HashMap::new(), &ListCache::default()).expect("listing");
        streams = listing.summaries.len();
        wanted = listing.wanted;
    });
    let cache = ListCache::default();
    library::list(store, &HashMap::new(), &cache).expect("listing");
    let refresh = best(|| {
        let listing = library::list(store, &HashMap::new(), &cache).expect("refresh");
        assert_eq!(listing.reread, 0, "nothing changed, nothing read again");
    });
    let thumbnails = {
        let wanted = wanted.clone();
        let t = Instant::now();
        let mut decoded = 0;
        library::decode_thumbnails(store, wanted, |batch| decoded += batch.len());
        assert_eq!(decoded, streams, "every stream's thumbnail decodes");
        t.elapsed()
    };
    println!("stream names only (baseline)          {:>12}", ms(names));
    println!(
        "library rows ({streams} streams)            {:>12}  {:.1}x the names",
        ms(rows),
        ratio(rows, names)
    );
    println!(
        "refresh, nothing changed                {:>12}  (streams' bounds only)",
        ms(refresh)
    );
    println!(
        "rows and every thumbnail (before: first paint)  {:>12}  ({} thumbnails)",
        ms(rows + thumbnails),
        wanted.len()
    );
    let exe = env!("CARGO_BIN_EXE_hindsight");
    let list = best(|| {
        let out = Command::new(exe)
            .args(["--store", uri, "list"])
            .env_remove("HINDSIGHT_STORE")
            .output()
            .expect("run hindsight list");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    });
    let process = best(|| {
        Command::new("true").status().expect("run true");
    });
    println!(
        "`hindsight list`                       {:>12}  (starting `true`: {})",
        ms(list),
        ms(process)
    );
}
