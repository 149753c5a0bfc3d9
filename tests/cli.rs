//! The headless subcommands against a real embedded store in a temp directory.

use std::path::Path;
use std::process::Command;

mod common;

use common::{hindsight, ok as stdout, pravega_controller, record_two_runs as record, PrivatePravega};
use hindsight_testkit::env::unique_scope;

#[test]
fn list_and_inspect_show_ranges_and_gaps() {
    let dir = tempfile::tempdir().expect("tempdir");
    record(dir.path(), "site/cam1");
    let out = stdout(&hindsight(dir.path(), &["list"]));
    assert!(out.contains("site/cam1"), "{out}");
    assert!(out.contains("2024-05-01T12:00:00Z"), "{out}");
    assert!(!out.contains("cam1-index"), "index streams are not listed: {out}");

    let json: serde_json::Value = serde_json::from_str(&stdout(&hindsight(
        dir.path(),
        &["inspect", "site/cam1", "--json", "--records"],
    )))
    .expect("json");
    let ranges = json["ranges"].as_array().expect("ranges");
    assert_eq!(ranges.len(), 2, "{json}");
    assert_eq!(ranges[0]["start"], "2024-05-01T12:00:00Z");
    assert_eq!(ranges[0]["end"], "2024-05-01T12:00:20Z");
    assert_eq!(ranges[0]["closed"], true);
    let gaps = json["gaps"].as_array().expect("gaps");
    assert_eq!(gaps.len(), 1);
    assert_eq!(gaps[0]["seconds"], 60.0);
    // 20 key frames + 1 end record per recording.
    assert_eq!(json["records"].as_array().expect("records").len(), 42);
    assert_eq!(json["records"][0]["discontinuity"], true);
    assert_eq!(json["records"][21]["discontinuity"], true);

    let text = stdout(&hindsight(dir.path(), &["inspect", "site/cam1"]));
    assert!(text.contains("ranges      2"), "{text}");
    assert!(text.contains("gaps        1"), "{text}");
}

#[test]
fn dump_import_round_trip_and_truncate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = tempfile::tempdir().expect("tempdir");
    record(dir.path(), "site/cam1");
    let (data, index) = (files.path().join("d.bin"), files.path().join("i.bin"));
    let d = data.to_str().expect("utf-8");
    let i = index.to_str().expect("utf-8");
    stdout(&hindsight(
        dir.path(),
        &["dump", "site/cam1", "--data", d, "--index", i],
    ));
    stdout(&hindsight(
        dir.path(),
        &["import", "site/copy", "--data", d, "--index", i],
    ));
    let original = stdout(&hindsight(
        dir.path(),
        &["inspect", "site/cam1", "--json", "--records"],
    ));
    let copy = stdout(&hindsight(
        dir.path(),
        &["inspect", "site/copy", "--json", "--records"],
    ));
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&original).expect("json"),
        serde_json::from_str(&copy).expect("json"),
    );
    assert_eq!(a["records"], b["records"]);
    assert_eq!(a["data_tail"], b["data_tail"]);

    // Importing over an existing stream is refused and changes nothing.
    let again = hindsight(dir.path(), &["import", "site/copy", "--data", d, "--index", i]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    // Truncate inside the second recording: lands on the key frame at or before the time.
    let out = stdout(&hindsight(
        dir.path(),
        &["truncate", "site/cam1", "--before", "2024-05-01T12:01:25.5Z"],
    ));
    assert!(out.contains("2024-05-01T12:01:25Z"), "{out}");
    let json: serde_json::Value = serde_json::from_str(&stdout(&hindsight(
        dir.path(),
        &["inspect", "site/cam1", "--json"],
    )))
    .expect("json");
    assert_eq!(json["truncated_before"], "2024-05-01T12:01:25Z");
    assert_eq!(json["ranges"].as_array().expect("ranges").len(), 1);

    // A dump of the truncated stream imports with rebased offsets.
    stdout(&hindsight(
        dir.path(),
        &["dump", "site/cam1", "--data", d, "--index", i],
    ));
    let out = stdout(&hindsight(
        dir.path(),
        &["import", "site/rebased", "--data", d, "--index", i],
    ));
    assert!(out.contains("rebased"), "{out}");
    let json: serde_json::Value = serde_json::from_str(&stdout(&hindsight(
        dir.path(),
        &["inspect", "site/rebased", "--json"],
    )))
    .expect("json");
    assert_eq!(json["first_time"], "2024-05-01T12:01:25Z");
    assert_eq!(json["data_head"], 0);
}

#[test]
fn bad_input_is_one_clear_line_and_a_failure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = tempfile::tempdir().expect("tempdir");
    record(dir.path(), "site/cam1");
    let cases: &[(&[&str], &str)] = &[
        (&["inspect", "site/nope"], "does not exist"),
        (&["inspect", "nonsense"], "SCOPE/STREAM"),
        (&["inspect", "../etc/passwd"], "invalid"),
        (
            &["truncate", "site/cam1", "--before", "yesterday"],
            "invalid RFC 3339",
        ),
    ];
    for (args, expect) in cases {
        let o = hindsight(dir.path(), args);
        assert!(!o.status.success(), "{args:?} succeeded");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(expect), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
    }
    let missing = hindsight(&dir.path().join("missing"), &["list"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist"));

    // A corrupt data file is refused before anything is created.
    let bad = files.path().join("bad.bin");
    std::fs::write(&bad, b"\0\0\0\x01garbage-garbage-garbage").expect("write");
    let idx = files.path().join("i.bin");
    std::fs::write(&idx, b"").expect("write");
    let o = hindsight(
        dir.path(),
        &[
            "import",
            "site/bad",
            "--data",
            bad.to_str().expect("utf-8"),
            "--index",
            idx.to_str().expect("utf-8"),
        ],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("bad frame at offset 0"));
    let listing = stdout(&hindsight(dir.path(), &["list"]));
    assert!(!listing.contains("site/bad"), "{listing}");
}

/// The data and index bytes of a stream, through `hindsight dump` on `store` (a directory or URI).
fn dumped(store: &str, stream: &str) -> (Vec<u8>, Vec<u8>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (d, i) = (dir.path().join("d"), dir.path().join("i"));
    let (ds, is) = (d.display().to_string(), i.display().to_string());
    stdout(&hindsight(
        Path::new(store),
        &["dump", stream, "--data", &ds, "--index", &is],
    ));
    (
        std::fs::read(&d).expect("data dump"),
        std::fs::read(&i).expect("index dump"),
    )
}

#[test]
fn copy_is_byte_exact_between_stores() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    record(a.path(), "site/cam1");
    let original = dumped(&a.path().display().to_string(), "site/cam1");
    assert!(original.0.len() > 100_000 && original.1.len() >= 40 * 20);

    // Embedded -> another embedded store (a new directory below b).
    let dst_store = b.path().join("copies");
    let dst = format!("{}/site/copy", dst_store.display());
    let out = stdout(&hindsight(a.path(), &["copy", "site/cam1", &dst]));
    assert!(out.contains("copied 1200 frames"), "{out}");
    assert_eq!(dumped(&dst_store.display().to_string(), "site/copy"), original);

    // A destination with footage is refused unless --append; nothing is written to it.
    let again = hindsight(a.path(), &["copy", "site/cam1", &dst]);
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("already holds footage") && err.contains("--append"),
        "{err}"
    );
    assert_eq!(dumped(&dst_store.display().to_string(), "site/copy"), original);
    let missing = hindsight(a.path(), &["copy", "site/nope", &dst]);
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(
        !missing.status.success() && err.contains("site/nope does not exist"),
        "{err}"
    );

    // Embedded -> Pravega -> embedded, byte for byte.
    let Some(controller) = pravega_controller() else {
        return;
    };
    let scope = unique_scope("copy");
    let remote = format!("{controller}/{scope}/cam1");
    let out = stdout(&hindsight(a.path(), &["copy", "site/cam1", &remote]));
    assert!(out.contains("copied 1200 frames"), "{out}");
    assert_eq!(dumped(&controller, &format!("{scope}/cam1")), original);
    let back = format!("{}/site/back", dst_store.display());
    stdout(&hindsight(a.path(), &["copy", &remote, &back]));
    assert_eq!(dumped(&dst_store.display().to_string(), "site/back"), original);
    // The Pravega copy plays in the library listing like any stream.
    let listed = stdout(&hindsight(Path::new(&controller), &["list"]));
    assert!(listed.contains(&format!("{scope}/cam1")), "{listed}");
}

/// A Pravega server with password authentication: credentials in the store URI or in the environment work,
/// none or a wrong password are refused with a clear message, and no message ever shows the password.
#[test]
fn pravega_credentials_are_used_and_never_shown() {
    if pravega_controller().is_none() {
        return;
    }
    let server = PrivatePravega::start(Some("admin:s3cret-pw"));
    // No process of the server shows the password on its command line.
    let ps = Command::new("ps").args(["-eo", "args"]).output().expect("run ps");
    let shown: Vec<String> = String::from_utf8_lossy(&ps.stdout)
        .lines()
        .filter(|l| l.contains("s3cret-pw"))
        .map(str::to_owned)
        .collect();
    assert!(shown.is_empty(), "ps shows the password: {shown:?}");
    let a = tempfile::tempdir().expect("tempdir");
    record(a.path(), "site/cam1");
    let with = |user: &str| server.uri().replace("tcp://", &format!("tcp://{user}@"));

    let out = stdout(&hindsight(
        a.path(),
        &[
            "copy",
            "site/cam1",
            &format!("{}/site/cam1", with("admin:s3cret-pw")),
        ],
    ));
    assert!(
        out.contains("copied 1200 frames") && out.contains("tcp://admin@"),
        "{out}"
    );
    assert!(!out.contains("s3cret"), "the password is shown: {out}");

    // The same credentials from the environment.
    let listed = Command::new(env!("CARGO_BIN_EXE_hindsight"))
        .args(["--store", &server.uri(), "list"])
        .env("HINDSIGHT_PRAVEGA_USERNAME", "admin")
        .env("HINDSIGHT_PRAVEGA_PASSWORD", "s3cret-pw")
        .env_remove("HINDSIGHT_STORE")
        .output()
        .expect("run hindsight");
    assert!(stdout(&listed).contains("site/cam1"));

    // The elements get the credentials too: a recording through pravegasink with them in the store URI.
    let mut rec = Command::new(env!("CARGO_BIN_EXE_hindsight"))
        .args([
            "--store",
            &with("admin:s3cret-pw"),
            "record",
            "--stream",
            "site/live",
            "--source",
            "test",
        ])
        .args(["--size", "160x120"])
        .env_remove("HINDSIGHT_STORE")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start recording");
    std::thread::sleep(std::time::Duration::from_secs(4));
    let status = common::interrupt(&mut rec, std::time::Duration::from_secs(30)).expect("recorder stops");
    let mut err = String::new();
    if let Some(mut e) = rec.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    assert!(status.success(), "recording with credentials failed: {err}");
    assert!(!err.contains("s3cret"), "the password is shown: {err}");
    let listed = stdout(&hindsight(Path::new(&with("admin:s3cret-pw")), &["list"]));
    assert!(listed.contains("site/live"), "{listed}");

    for store in [server.uri(), with("admin:wrong-pw")] {
        let refused = hindsight(Path::new(&store), &["list"]);
        let err = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success(), "{store}: {err}");
        assert!(err.contains("authentication failed"), "{store}: {err}");
        // Neither password, nor the base64 header that would carry it.
        assert!(
            !err.contains("wrong-pw") && !err.contains("Basic ") && !err.contains("authorization"),
            "{err}"
        );
    }
}
