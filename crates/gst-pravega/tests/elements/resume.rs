//! `pravegatc`: a processing pipeline (`pravegasrc ! decode ! pravegatc ! overlay ! encode ! pravegasink`) killed
//! with SIGKILL at random moments and started again resumes where its output stream ends: the output's frame
//! times only increase, and once a run gets to the end every input frame is in the output exactly once.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gst::prelude::*;

use crate::common::*;

/// Set in the child process: the store URI the processing pipeline runs on, and its input and output streams.
const CHILD_ENV: &str = "HINDSIGHT_RESUME_CHILD_STORE";
const INPUT_ENV: &str = "HINDSIGHT_RESUME_CHILD_INPUT";
const OUTPUT_ENV: &str = "HINDSIGHT_RESUME_CHILD_OUTPUT";
/// The child prints this once its pipeline is playing.
const READY: &str = "resume-child-playing";

/// Reads `input`, draws over it, encodes it again and writes `output`, resumably.
fn processing(store: &str, input: &str, output: &str) -> String {
    format!(
        "pravegasrc store=\"{store}\" stream={input} end-mode=latest ! qtdemux ! h264parse ! avdec_h264 ! \
         pravegatc store=\"{store}\" stream={output} ! videoconvert ! \
         textoverlay text=processed font-desc=\"Sans 12\" ! \
         x264enc key-int-max={GOP} speed-preset=ultrafast tune=zerolatency ! h264parse ! \
         video/x-h264,alignment=au ! mp4mux streamable=true fragment-duration=1 ! \
         pravegasink store=\"{store}\" stream={output} timestamp-mode=tai"
    )
}

#[test]
#[ignore = "child half of a_processing_pipeline_killed_20_times_resumes_exactly; runs only when re-executed by it"]
fn resume_child() {
    let (Ok(store), Ok(input), Ok(output)) = (
        std::env::var(CHILD_ENV),
        std::env::var(INPUT_ENV),
        std::env::var(OUTPUT_ENV),
    ) else {
        return;
    };
    let pipeline = launch(&processing(&store, &input, &output));
    if let Err(e) = pipeline.set_state(gst::State::Playing) {
        panic!(
            "child: cannot play: {e}: {:?}",
            first_error(&pipeline).map(|e| e.to_string())
        );
    }
    println!("{READY}");
    let _ = std::io::stdout().flush();
    if let Err(e) = wait_eos(&pipeline, Duration::from_secs(300)) {
        panic!("child: {e}");
    }
    stop(&pipeline);
}

/// The input and output streams of a test, in its store's own scope.
struct Streams {
    input: String,
    output: String,
}

/// Starts a processing child and returns once its pipeline plays.
fn spawn_child(store: &TempStore, streams: &Streams) -> Child {
    let exe = std::env::current_exe().expect("path of the test binary");
    let mut child = Command::new(exe)
        .args([
            "resume::resume_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, store.uri())
        .env(INPUT_ENV, &streams.input)
        .env(OUTPUT_ENV, &streams.output)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the processing child");
    let stdout = child.stdout.take().expect("child stdout");
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let ready = lines.any(|line| line.contains(READY));
    assert!(ready, "the child exited before it played (see its stderr above)");
    // The test harness in the child prints its result at the end: keep reading, or it fails on a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    child
}

/// Bytes in the output's data stream so far (0 before it exists).
fn output_bytes(store: &TempStore, streams: &Streams) -> u64 {
    let name = hindsight_store::StreamName::parse(&streams.output).expect("name");
    store.backend().info(&name).map_or(0, |i| i.tail)
}

#[test]
fn a_processing_pipeline_killed_20_times_resumes_exactly() {
    kill_and_resume(&TempStore::new(), 20);
}

#[test]
fn on_pravega_a_killed_processing_pipeline_resumes_exactly() {
    if let Some(store) = TempStore::pravega("resume") {
        kill_and_resume(&store, 5);
    }
}

/// Records the input, kills the processing `kills` times at random moments, lets a last run finish, and checks
/// the output against the input.
fn kill_and_resume(store: &TempStore, kills_wanted: u32) {
    let streams = Streams {
        input: store.stream("input"),
        output: store.stream("output"),
    };
    let (input_name, output_name) = (streams.input.as_str(), streams.output.as_str());
    Recording::frames(900).run(store, input_name);
    let input =
        pts_list(&Collector::decoder(store, input_name, "end-mode=latest").run(Duration::from_secs(60)));
    assert!(input.len() >= 899, "{} input frames", input.len());

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    eprintln!("kill moments from seed {seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    // A kill comes once the output has grown by a random amount (none at all: while the pipeline starts), so
    // that 20 kills land in the work whatever the machine's speed; together they cover about a third of it.
    let input_bytes = store
        .backend()
        .info(&hindsight_store::StreamName::parse(input_name).expect("name"))
        .expect("input info")
        .tail;
    let mut kills = 0;
    while kills < kills_wanted {
        let grown_by = if rng.u8(0..3) == 0 {
            0
        } else {
            rng.u64(0..input_bytes / 15)
        };
        let from = output_bytes(store, &streams);
        let mut child = spawn_child(store, &streams);
        let deadline = Instant::now() + Duration::from_secs(60);
        while output_bytes(store, &streams) < from + grown_by && Instant::now() < deadline {
            std::thread::sleep(Duration::from_micros(rng.u64(200..2000)));
        }
        if let Some(status) = child.try_wait().expect("child state") {
            panic!("a processing run ended before its kill: {status}");
        }
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .expect("SIGKILL the child");
        let _ = child.wait();
        kills += 1;
        let frames = stored_frames(store, output_name);
        let times: Vec<u64> = frames.iter().map(|f| f.ts).collect();
        assert!(
            times.windows(2).all(|w| w[1] > w[0]),
            "after kill {kills}: output times not strictly increasing"
        );
        eprintln!("kill {kills}: {} output frames", frames.len());
    }

    // The last run gets to the end.
    let mut child = spawn_child(store, &streams);
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = child.try_wait().expect("child state") {
            break status;
        }
        assert!(Instant::now() < deadline, "the last run did not finish");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "the last run failed: {status}");

    let frames = stored_frames(store, output_name);
    let times: Vec<u64> = frames.iter().map(|f| f.ts).collect();
    assert!(
        times.windows(2).all(|w| w[1] > w[0]),
        "output times strictly increasing"
    );
    // Every input frame once, at its own time: the output decodes to the input's frame times.
    let output =
        pts_list(&Collector::decoder(store, output_name, "end-mode=latest").run(Duration::from_secs(60)));
    if output.len() != input.len() {
        // Say where they part: the first input frame the output lacks (or repeats), with the stored output
        // frames around it (their times and key flags show the run boundaries the kills left).
        let at = input
            .iter()
            .zip(&output)
            .position(|(a, b)| a.abs_diff(*b) > 1_000_000)
            .unwrap_or(input.len().min(output.len()));
        let near = |t: u64| frames.iter().filter(move |f| f.ts.abs_diff(t) < 200_000_000);
        let around: Vec<(u64, bool)> = input
            .get(at)
            .map(|&t| near(t).map(|f| (f.ts, f.key)).collect())
            .unwrap_or_default();
        panic!(
            "output frames {} vs input {}: they part at frame {at} (input {:?}, output {:?}); stored output \
             frames near it (time, key): {around:?}",
            output.len(),
            input.len(),
            input.get(at),
            output.get(at),
        );
    }
    for (i, (a, b)) in input.iter().zip(&output).enumerate() {
        assert!(
            a.abs_diff(*b) <= 1_000_000,
            "frame {i}: input at {a}, output at {b}"
        );
    }
}

#[test]
fn pravegatc_refuses_a_pipeline_it_cannot_resume() {
    let store = TempStore::new();
    let (input, output) = (store.stream("in"), store.stream("out"));
    Recording::frames(30).run(&store, &input);
    let uri = store.uri();
    let src = format!("pravegasrc name=cam store=\"{uri}\" stream={input} end-mode=latest");
    let chain = format!(
        "qtdemux ! h264parse ! avdec_h264 ! pravegatc store=\"{uri}\" stream={output} TC ! videoconvert ! \
         x264enc speed-preset=ultrafast ! h264parse ! mp4mux streamable=true fragment-duration=1 ! \
         pravegasink store=\"{uri}\" stream={output}"
    );
    let fails = |desc: String| match run_to_eos(&launch(&desc), Duration::from_secs(30)) {
        Ok(()) => panic!("{desc} ran"),
        Err(e) => e.to_string(),
    };
    // Stored at the time of processing, the output would say nothing about how far the input got.
    let e = fails(format!("{src} ! {}", chain.replace(" TC", "")));
    assert!(e.contains("timestamp-mode=tai"), "{e}");
    // Two sources: which one to resume must be said.
    let tai = format!("{chain} timestamp-mode=tai");
    let other = format!("pravegasrc store=\"{uri}\" stream={input} end-mode=latest ! fakesink");
    let e = fails(format!("{src} ! {} {other}", tai.replace(" TC", "")));
    assert!(e.contains("source=NAME"), "{e}");
    let e = fails(format!("{src} ! {} {other}", tai.replace(" TC", " source=nope")));
    assert!(e.contains("no pravegasrc named nope"), "{e}");
    // Named, it runs, and processes every frame.
    let ok = format!("{src} ! {} {other}", tai.replace(" TC", " source=cam"));
    if let Err(e) = run_to_eos(&launch(&ok), Duration::from_secs(60)) {
        panic!("{e}");
    }
    assert_eq!(
        stored_frames(&store, &output).len(),
        stored_frames(&store, &input).len()
    );
}

/// A kill as soon as the output's first frame is stored usually lands before that frame's index record
/// (written after the frame is synced): the resumed run's writer must index the frame, or readers starting
/// from the index never see it while the resumed pipeline, which asks how far the data got, skips it.
#[test]
fn a_kill_right_after_the_first_output_frame_loses_nothing() {
    let store = TempStore::new();
    let streams = Streams {
        input: store.stream("input"),
        output: store.stream("output"),
    };
    Recording::frames(60).run(&store, &streams.input);
    let input =
        pts_list(&Collector::decoder(&store, &streams.input, "end-mode=latest").run(Duration::from_secs(60)));
    let mut child = spawn_child(&store, &streams);
    let deadline = Instant::now() + Duration::from_secs(60);
    while output_bytes(&store, &streams) == 0 {
        assert!(Instant::now() < deadline, "no output within a minute");
        std::thread::sleep(Duration::from_micros(100));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("SIGKILL the child");
    let _ = child.wait();
    let killed_with = stored_frames(&store, &streams.output).len();
    let mut child = spawn_child(&store, &streams);
    let status = child.wait().expect("wait for the last run");
    assert!(status.success(), "the last run failed: {status}");
    let output = pts_list(
        &Collector::decoder(&store, &streams.output, "end-mode=latest").run(Duration::from_secs(60)),
    );
    assert_eq!(
        output.len(),
        input.len(),
        "killed with {killed_with} output frames stored"
    );
    assert!(
        input
            .iter()
            .zip(&output)
            .all(|(a, b)| a.abs_diff(*b) <= 1_000_000),
        "output times differ from the input's"
    );
}
