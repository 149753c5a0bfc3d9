//! Case export end to end: three cameras recorded through the real recorder, exported as a case, verified;
//! then one byte changed in an MP4's sample data, one in an unrelated MP4 box, one in the manifest, and an MP4
//! cut short: each is reported naming the camera (and the frame where there is one).

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

mod common;

use common::interrupt;
use hindsight_store::video::summarize;
use hindsight_store::{EmbeddedStore, StreamName, Timestamp};

fn hindsight(store: &Path, config: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hindsight"));
    c.arg("--store")
        .arg(store)
        .args(args)
        .env_remove("HINDSIGHT_STORE")
        .env("XDG_CONFIG_HOME", config);
    c
}

fn output(mut c: Command) -> Output {
    c.output().expect("run hindsight")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Verifies the case without the store: must fail, and the output must contain every one of `expect`.
fn verify_fails(config: &Path, case: &Path, expect: &[&str]) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hindsight"));
    c.arg("verify")
        .arg(case)
        .env_remove("HINDSIGHT_STORE")
        .env("XDG_CONFIG_HOME", config);
    let out = output(c);
    let all = text(&out);
    eprintln!("verify {}:\n{all}", case.display());
    assert!(!out.status.success(), "verify passed a changed case:\n{all}");
    for e in expect {
        assert!(all.contains(e), "expected {e:?} in:\n{all}");
    }
}

/// The bytes of sample `n` of the MP4's video track.
fn sample_bytes(path: &Path, n: u32) -> Vec<u8> {
    let file = std::fs::File::open(path).expect("open mp4");
    let size = file.metadata().expect("stat").len();
    let mut mp4 = mp4::Mp4Reader::read_header(std::io::BufReader::new(file), size).expect("mp4 header");
    let track = *mp4.tracks().keys().next().expect("a track");
    mp4.read_sample(track, n + 1)
        .expect("read sample")
        .expect("sample")
        .bytes
        .to_vec()
}

fn flip(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).expect("read");
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).expect("write");
}

fn copy_case(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read case").flatten() {
        std::fs::copy(e.path(), to.join(e.file_name())).expect("copy file");
    }
}

#[test]
fn a_case_of_three_cameras_verifies_and_every_change_is_named() {
    let store = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("tempdir");
    let work = tempfile::tempdir().expect("tempdir");
    let cams = ["site/door", "site/hall", "site/yard"];
    let mut recorders: Vec<_> = cams
        .iter()
        .map(|cam| {
            hindsight(
                store.path(),
                config.path(),
                &["record", "--stream", cam, "--source", "test"],
            )
            .args(["--size", "320x180"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start recording")
        })
        .collect();
    std::thread::sleep(Duration::from_secs(6));
    for r in &mut recorders {
        let status = interrupt(r, Duration::from_secs(30)).expect("recorder stops");
        assert!(status.success());
    }
    let backend = EmbeddedStore::open(store.path()).expect("store");
    let mut start = Timestamp::MIN;
    for cam in cams {
        let s = summarize(&backend, &StreamName::parse(cam).expect("name")).expect("summary");
        start = start.max(s.first_time.expect("recorded"));
    }
    let from = start.saturating_add(Duration::from_millis(1500));
    let to = from.saturating_add(Duration::from_secs(2));
    let case = work.path().join("case");
    let mut args = vec!["export", "--case", case.to_str().expect("utf-8")];
    args.extend(cams);
    let (f, t) = (from.to_rfc3339(), to.to_rfc3339());
    args.extend(["--from", &f, "--to", &t]);
    let out = output(hindsight(store.path(), config.path(), &args));
    assert!(out.status.success(), "{}", text(&out));

    // The MP4s play anywhere: ffprobe counts the frames the manifest lists.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(case.join("case.json")).expect("manifest"))
            .expect("json");
    for camera in manifest["cameras"].as_array().expect("cameras") {
        let frames = camera["frames"].as_array().expect("frames").len();
        assert!(frames >= 40, "2 s at 25 fps from the key frame before: {frames}");
        assert!(!camera["recording_chain"].as_array().expect("chain").is_empty());
        assert!(!camera["index_records"].as_array().expect("records").is_empty());
        let probe = Command::new("ffprobe")
            .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
            .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
            .arg(case.join(camera["file"].as_str().expect("file")))
            .output()
            .expect("ffprobe");
        assert_eq!(String::from_utf8_lossy(&probe.stdout).trim(), frames.to_string());
    }
    assert!(manifest["range"]["from_local"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));

    // Intact, also against the store.
    let out = output(hindsight(
        store.path(),
        config.path(),
        &["verify", case.to_str().expect("utf-8")],
    ));
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("case intact, and it matches the store"), "{all}");
    assert!(all.contains("this installation's key"), "{all}");

    // 1. One byte inside frame 7's sample data of the hall camera.
    let c1 = work.path().join("c1");
    copy_case(&case, &c1);
    let hall = c1.join("site_hall.mp4");
    let sample = sample_bytes(&hall, 7);
    let file = std::fs::read(&hall).expect("read");
    let at = file
        .windows(64)
        .position(|w| w == &sample[..64])
        .expect("sample 7 in the file");
    flip(&hall, at + sample.len() / 2);
    let frame7 = manifest["cameras"][1]["frames"][7]["time_utc"]
        .as_str()
        .expect("time")
        .to_owned();
    verify_fails(
        config.path(),
        &c1,
        &[&format!(
            "camera site/hall (site_hall.mp4), frame 7 at {frame7}: the MP4's sample bytes differ"
        )],
    );

    // 2. One byte of an unrelated box: the ftyp's minor version of the yard camera.
    let c2 = work.path().join("c2");
    copy_case(&case, &c2);
    flip(&c2.join("site_yard.mp4"), 13);
    verify_fails(
        config.path(),
        &c2,
        &["camera site/yard (site_yard.mp4): bytes outside the video samples changed"],
    );

    // 3. One byte of the manifest: a digit of its creation time.
    let c3 = work.path().join("c3");
    copy_case(&case, &c3);
    let m = std::fs::read_to_string(c3.join("case.json")).expect("manifest");
    let at = m.find("\"created_utc\": \"").expect("created_utc") + "\"created_utc\": \"".len() + 3;
    flip(&c3.join("case.json"), at);
    verify_fails(config.path(), &c3, &["case.json: the signature does not verify"]);

    // 4. The door camera's MP4 cut short.
    let c4 = work.path().join("c4");
    copy_case(&case, &c4);
    let door = c4.join("site_door.mp4");
    let len = std::fs::metadata(&door).expect("stat").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&door)
        .expect("open")
        .set_len(len * 6 / 10)
        .expect("truncate");
    verify_fails(
        config.path(),
        &c4,
        &["camera site/door (site_door.mp4), frame ", "cut short"],
    );

    // 5. The case is intact but the store changed since: one byte of the yard camera's frame 3 in its segment.
    let sample = sample_bytes(&case.join("site_yard.mp4"), 3);
    let seg_dir = store.path().join("site/yard");
    let seg = std::fs::read_dir(&seg_dir)
        .expect("segments")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.extension().is_some_and(|x| x == "seg")
                && std::fs::read(p).is_ok_and(|b| b.windows(64).any(|w| w == &sample[..64]))
        })
        .expect("the segment holding frame 3");
    let bytes = std::fs::read(&seg).expect("read segment");
    let at = bytes
        .windows(64)
        .position(|w| w == &sample[..64])
        .expect("frame 3");
    flip(&seg, at + sample.len() / 2);
    let out = output(hindsight(
        store.path(),
        config.path(),
        &["verify", case.to_str().expect("utf-8")],
    ));
    let all = text(&out);
    let frame3 = manifest["cameras"][2]["frames"][3]["time_utc"]
        .as_str()
        .expect("time")
        .to_owned();
    assert!(!out.status.success(), "{all}");
    assert!(
        all.contains(&format!(
            "camera site/yard (site_yard.mp4), frame 3 at {frame3}: differs from the stream in the store now"
        )),
        "{all}"
    );
    // Without the store the case alone still verifies: it proves what was exported and recorded.
    let mut c = Command::new(env!("CARGO_BIN_EXE_hindsight"));
    c.arg("verify")
        .arg(&case)
        .env_remove("HINDSIGHT_STORE")
        .env("XDG_CONFIG_HOME", config.path());
    let out = output(c);
    assert!(out.status.success(), "{}", text(&out));
    // And the stream's own verify names the same frame.
    let out = output(hindsight(store.path(), config.path(), &["verify", "site/yard"]));
    assert!(
        !out.status.success() && text(&out).contains(&format!("frame at {frame3}")),
        "{}",
        text(&out)
    );
}
