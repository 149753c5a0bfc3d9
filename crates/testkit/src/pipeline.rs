//! Running GStreamer pipelines in tests and benchmarks.

use std::time::Duration;

use gst::prelude::*;

/// Parses `desc` into a pipeline; panics with the description when it does not parse (a test bug).
pub fn launch(desc: &str) -> gst::Pipeline {
    gst::parse::launch(desc)
        .unwrap_or_else(|e| panic!("cannot parse {desc}: {e}"))
        .downcast::<gst::Pipeline>()
        .unwrap_or_else(|_| panic!("{desc} is not a pipeline"))
}

/// Waits for EOS on a running pipeline; the error message or the timeout as text otherwise.
pub fn wait_eos(pipeline: &gst::Pipeline, timeout: Duration) -> Result<(), String> {
    let bus = pipeline
        .bus()
        .ok_or_else(|| "the pipeline has no bus".to_owned())?;
    let msg = bus
        .timed_pop_filtered(
            gst::ClockTime::from_nseconds(timeout.as_nanos() as u64),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .ok_or_else(|| format!("no EOS within {timeout:?}"))?;
    match msg.view() {
        gst::MessageView::Error(e) => Err(format!(
            "{}: {} ({})",
            msg.src().map(|s| s.path_string().to_string()).unwrap_or_default(),
            e.error(),
            e.debug().map(|d| d.to_string()).unwrap_or_default()
        )),
        _ => Ok(()),
    }
}

/// Sets the pipeline to NULL and waits (up to 5 s) for it to get there.
pub fn stop(pipeline: &gst::Pipeline) {
    if pipeline.set_state(gst::State::Null).is_err() {
        eprintln!("the pipeline did not stop cleanly");
    }
    // The NULL change is synchronous for these pipelines; the wait only bounds a misbehaving element.
    let _ = pipeline.state(gst::ClockTime::from_seconds(5));
}

/// Plays the pipeline to EOS within `timeout`, then stops it; panics on an error (a test or bench bug).
pub fn run_until_eos(pipeline: &gst::Pipeline, timeout: Duration) {
    pipeline
        .set_state(gst::State::Playing)
        .unwrap_or_else(|e| panic!("cannot play: {e}"));
    let result = wait_eos(pipeline, timeout);
    stop(pipeline);
    if let Err(e) = result {
        panic!("pipeline failed: {e}");
    }
}
