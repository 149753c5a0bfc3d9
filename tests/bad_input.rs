//! Bad input through every headless entry point, from one table: each case must fail with exit status 1 and a
//! single error line on stderr that says what was wrong (besides progress, log records and GStreamer's own
//! diagnostics), never panic, and leave every stream of the store as it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use common::{hindsight, ok, record_two_runs};

/// Every file under `dir` with its contents, to prove a failed command changed nothing.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("list store").flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                files.insert(path.clone(), std::fs::read(&path).expect("read store file"));
            }
        }
    }
    files
}

/// The stream's one data segment file (the store's streams here are small).
fn data_file(store: &Path, scope: &str, stream: &str) -> PathBuf {
    let dir = store.join(scope).join(stream);
    std::fs::read_dir(&dir)
        .expect("stream directory")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "seg"))
        .expect("a segment file")
}

/// The lines of stderr that are not progress ("40%"), log records (the `tracing` format: a time, then the
/// level) or GStreamer's own diagnostics ("(hindsight:PID): GStreamer-WARNING ..."): the error itself.
fn error_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .filter(|l| !(l.ends_with('%') && l[..l.len() - 1].parse::<u32>().is_ok()))
        .filter(|l| !(l.starts_with("20") && [" WARN ", " INFO ", " ERROR "].iter().any(|k| l.contains(k))))
        .filter(|l| !l.starts_with("(hindsight:"))
        .collect()
}

#[test]
fn every_entry_point_refuses_bad_input_with_one_line_and_changes_nothing() {
    let store = tempfile::tempdir().expect("tempdir");
    let files = tempfile::tempdir().expect("tempdir");
    let s = store.path();
    record_two_runs(s, "site/cam1");
    record_two_runs(s, "site/cam2");

    // Real video (5 s of H.264), and a copy of it with damaged frames in the middle of its data.
    common::init_gst();
    let clip = files.path().join("clip.mp4");
    common::collect_pts(&format!(
        "videotestsrc num-buffers=150 ! video/x-raw,width=160,height=120,framerate=30/1 ! \
         x264enc key-int-max=30 speed-preset=ultrafast ! h264parse ! mp4mux ! tee name=t ! \
         queue ! filesink location={} t. ! queue ! fakesink name=out sync=false",
        clip.display()
    ));
    let source = format!("file://{}", clip.display());
    ok(&hindsight(
        s,
        &[
            "record",
            "--stream",
            "site/video",
            "--source",
            &source,
            "--start-utc",
            "2024-05-01T12:00:00Z",
        ],
    ));
    ok(&hindsight(s, &["copy", "site/video", "site/damaged"]));
    let seg = data_file(s, "site", "damaged");
    let mut bytes = std::fs::read(&seg).expect("read segment");
    let middle = bytes.len() / 2;
    // 4 KiB of 0xFF cover at least one frame header of this small video and make its length impossible.
    for b in &mut bytes[middle..middle + 4096] {
        *b = 0xFF;
    }
    std::fs::write(&seg, &bytes).expect("damage segment");

    // Import inputs: garbage, a dump cut in the middle of a frame and of an index record, empty files.
    let f = |name: &str| files.path().join(name).display().to_string();
    let (data, index) = (f("data"), f("index"));
    ok(&hindsight(
        s,
        &["dump", "site/cam1", "--data", &data, "--index", &index],
    ));
    let full_data = std::fs::read(&data).expect("dump");
    let full_index = std::fs::read(&index).expect("dump");
    std::fs::write(f("cut-data"), &full_data[..full_data.len() - 100]).expect("write");
    std::fs::write(f("cut-index"), &full_index[..full_index.len() - 7]).expect("write");
    std::fs::write(f("garbage"), b"\x00\x00\x00\x01 this is not a stream at all").expect("write");
    std::fs::write(f("empty"), b"").expect("write");
    let (cut_data, cut_index, garbage, empty) = (f("cut-data"), f("cut-index"), f("garbage"), f("empty"));
    let (damaged_data, damaged_index) = (f("damaged-data"), f("damaged-index"));
    ok(&hindsight(
        s,
        &[
            "dump",
            "site/damaged",
            "--data",
            &damaged_data,
            "--index",
            &damaged_index,
        ],
    ));
    let out = f("out.mp4");
    let absent = f("absent");
    let long = format!("site/{}", "a".repeat(300));

    let before = snapshot(s);
    let missing_store = s.join("no-such-dir").display().to_string();
    // (arguments, what the one line must mention)
    let cases: Vec<(Vec<&str>, &str)> = vec![
        // Stream names, through each command that takes one.
        (vec!["inspect", "site/.."], "reserved"),
        (vec!["inspect", "/etc/passwd"], "invalid"),
        (vec!["inspect", ""], "SCOPE/STREAM"),
        (vec!["inspect", "site/cam\n1"], "only letters"),
        (vec!["inspect", &long], "longer than 255"),
        (vec!["inspect", "site/kamera-über"], "only letters"),
        (
            vec!["dump", "../x", "--data", &data, "--index", &index],
            "invalid",
        ),
        (
            vec!["import", "site/..", "--data", &data, "--index", &index],
            "reserved",
        ),
        (
            vec![
                "export",
                "site/cam\n1",
                "--from",
                "2024-05-01T12:00:00Z",
                "--to",
                "2024-05-01T12:00:10Z",
                "-o",
                &out,
            ],
            "only letters",
        ),
        (
            vec!["truncate", "/abs/path", "--before", "2024-05-01T12:00:00Z"],
            "invalid",
        ),
        (vec!["bookmarks", &long], "longer than 255"),
        (
            vec![
                "hold",
                "site/.",
                "--from",
                "2024-05-01T12:00:00Z",
                "--to",
                "2024-05-01T12:00:10Z",
            ],
            "reserved",
        ),
        (vec!["verify", "site/..x/"], "invalid"),
        (vec!["copy", "site/cam1", "site/.."], "reserved"),
        (
            vec!["record", "--stream", "site/..", "--source", "test"],
            "reserved",
        ),
        // Streams that do not exist.
        (vec!["inspect", "site/nope"], "does not exist"),
        (
            vec![
                "export",
                "site/nope",
                "--from",
                "2024-05-01T12:00:00Z",
                "--to",
                "2024-05-01T12:00:10Z",
                "-o",
                &out,
            ],
            "does not exist",
        ),
        (vec!["bookmarks", "site/nope"], "does not exist"),
        (vec!["copy", "site/nope", "site/other"], "does not exist"),
        // Import files.
        (
            vec!["import", "site/new", "--data", &garbage, "--index", &empty],
            "bad frame",
        ),
        (
            vec!["import", "site/new", "--data", &cut_data, "--index", &index],
            "frame",
        ),
        (
            vec!["import", "site/new", "--data", &data, "--index", &cut_index],
            "index",
        ),
        (
            vec!["import", "site/new", "--data", &absent, "--index", &index],
            "absent",
        ),
        (
            vec!["import", "site/cam1", "--data", &data, "--index", &index],
            "exists",
        ),
        // A corrupt frame inside a stream.
        (
            vec![
                "import",
                "site/new",
                "--data",
                &damaged_data,
                "--index",
                &damaged_index,
            ],
            "bad frame",
        ),
        (
            vec![
                "export",
                "site/damaged",
                "--from",
                "2024-05-01T12:00:00Z",
                "--to",
                "2024-05-01T12:00:05Z",
                "-o",
                &out,
            ],
            "frame",
        ),
        // Nonsense times and ranges.
        (vec!["truncate", "site/cam1", "--before", "yesterday"], "RFC 3339"),
        (
            vec!["truncate", "site/cam1", "--before", "2024-13-45T25:61:00Z"],
            "RFC 3339",
        ),
        (
            vec![
                "export",
                "site/cam1",
                "--from",
                "2024-05-01T12:01:00Z",
                "--to",
                "2024-05-01T12:00:00Z",
                "-o",
                &out,
            ],
            "start",
        ),
        (
            vec![
                "export",
                "site/cam1",
                "--from",
                "1999-01-01T00:00:00Z",
                "--to",
                "1999-01-01T00:01:00Z",
                "-o",
                &out,
            ],
            "no footage",
        ),
        (
            vec![
                "hold",
                "site/cam1",
                "--from",
                "2024-05-01T12:01:00Z",
                "--to",
                "2024-05-01T12:00:00Z",
            ],
            "start",
        ),
        (
            vec!["bookmarks", "site/cam1", "--add", "x", "--at", "noon"],
            "RFC 3339",
        ),
        (
            vec!["bookmarks", "site/cam1", "--remove", "999999"],
            "no bookmark",
        ),
        (vec!["hold", "site/cam1", "--release", "999999"], "no hold"),
        (
            vec![
                "record",
                "--stream",
                "site/new",
                "--source",
                "test",
                "--retain-size",
                "lots",
            ],
            "size",
        ),
        (
            vec![
                "record",
                "--stream",
                "site/new",
                "--source",
                "test",
                "--retain-days",
                "-3",
            ],
            "-3",
        ),
        (
            vec!["record", "--stream", "site/new", "--source", "gopher://cam"],
            "source",
        ),
        (
            vec![
                "record",
                "--stream",
                "site/new",
                "--source",
                "file:///no/such/file.mp4",
            ],
            "file.mp4",
        ),
        // Unknown URI schemes and unreachable stores.
        (
            vec!["--store", "http://example.invalid/x", "list"],
            "unknown scheme",
        ),
        (vec!["--store", "tcp://h:notaport", "list"], "port"),
        (vec!["--store", &missing_store, "list"], "does not exist"),
        (vec!["--store", "tcp://127.0.0.1:1", "list"], "127.0.0.1:1"),
        (vec!["copy", "ftp://x/site/cam1", "site/other"], "scheme"),
    ];

    let mut failures = Vec::new();
    for (args, expect) in &cases {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hindsight"));
        if args.first() != Some(&"--store") {
            command.arg("--store").arg(s);
        }
        let o = command
            .args(args)
            .env_remove("HINDSIGHT_STORE")
            .env("RUST_BACKTRACE", "0")
            .output()
            .expect("run hindsight");
        let err = String::from_utf8_lossy(&o.stderr);
        let lines = error_lines(&err);
        let problem = if o.status.code() != Some(1) {
            Some(format!("exit status {:?}", o.status.code()))
        } else if err.contains("panicked") {
            Some("panicked".to_owned())
        } else if lines.len() != 1 {
            Some(format!("{} lines", lines.len()))
        } else if !lines[0].starts_with("hindsight: error: ") || !lines[0].contains(expect) {
            Some(format!("does not mention {expect:?}"))
        } else {
            None
        };
        if let Some(problem) = problem {
            failures.push(format!("{args:?}: {problem}: {}", err.trim()));
        }
        println!(
            "{:60}  {}",
            format!("{args:?}").chars().take(60).collect::<String>(),
            err.trim()
        );
        assert_eq!(snapshot(s), before, "{args:?} changed the store");
    }
    assert!(
        failures.is_empty(),
        "{} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
