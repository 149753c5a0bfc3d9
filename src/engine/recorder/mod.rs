//! The recorder: a camera, an RTSP URL, a file or a test pattern into a stream, the same for `hindsight record`
//! and the app (which runs it as a [`crate::engine::job::Job`]).
//!
//! An RTSP camera that drops is retried with back-off into the same stream; the new run starts with a
//! discontinuity. So is a store that fails after the recording got going, when the failure is transient (a
//! Pravega server restarting, its connection dropping): the recording resumes when the store is back. A
//! permanent store failure (credentials refused, the stream sealed by someone else, a full disk) stops the
//! recording at once with its message. Every wait is reported as [`RecordEvent::Reconnecting`], so the app can
//! say "reconnecting…" while the camera or the store is away.

mod audio;
mod pipeline;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use gst::prelude::*;
use gstpravega::StoreErrorInfo;

pub use pipeline::{build_pipeline, RecordOptions, Source, TEST_PATTERN_SIZE, TEST_PATTERN_STREAM};

/// How long a camera may deliver nothing before the recorder reconnects.
const STALL_TIMEOUT: Duration = Duration::from_secs(8);
/// The first retry comes after this long; each further one waits twice as long, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A run that lasted this long was a working recording: the next outage starts the back-off over.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

/// Figures of a recording.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Recorded duration (running time).
    pub duration: Duration,
    /// Bytes appended to the data stream by this recording.
    pub bytes: u64,
    /// Recent bitrate in bits per second.
    pub bitrate: f64,
    /// Camera or store reconnections so far.
    pub reconnects: u32,
}

/// What a recording reports while it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordEvent {
    /// Recording; about once a second.
    Recording(Progress),
    /// The camera or the store is away; the next attempt starts after `retry_in`.
    Reconnecting {
        /// What went away, for people ("camera dropped", "store unavailable (…)").
        reason: String,
        /// Until the next attempt.
        retry_in: Duration,
        /// Reconnections so far, this one included.
        reconnects: u32,
    },
}

/// How a recording ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The source ended (file, test with a frame limit).
    Finished,
    /// Stopped on request (Ctrl-C, Stop button).
    Stopped,
}

/// How one run of the pipeline ended.
enum RunEnd {
    /// The recording is over.
    Done(Outcome),
    /// The camera or the store went away: try again.
    Retry(String),
}

/// Runs a recording on the calling thread until the source ends, `stop` is set, or a fatal error; see the
/// module docs for what is retried. `report` is called about once a second and at every reconnection.
pub fn run(
    opts: &RecordOptions,
    stop: &AtomicBool,
    mut report: impl FnMut(RecordEvent),
) -> anyhow::Result<Outcome> {
    // Players shade what the policy deletes next; a recording without one says so too.
    hindsight_store::marks::set_retention(opts.store.as_ref(), &opts.stream, opts.retention)
        .with_context(|| format!("cannot keep the retention policy of {}", opts.stream))?;
    let mut rec = Recording {
        opts,
        reconnects: 0,
        total_bytes: 0,
        total_time: Duration::ZERO,
        delivered: Arc::new(AtomicU64::new(0)),
    };
    let mut backoff = FIRST_BACKOFF;
    loop {
        let run_started = Instant::now();
        let reason = match rec.run_once(stop, &mut report)? {
            RunEnd::Done(outcome) => return Ok(outcome),
            RunEnd::Retry(reason) => reason,
        };
        rec.reconnects += 1;
        if run_started.elapsed() > HEALTHY_RUN {
            // The camera worked for a while: this is a new outage, start the back-off over.
            backoff = FIRST_BACKOFF;
        }
        tracing::warn!(%reason, retry_in = backoff.as_secs(), "recording interrupted; retrying");
        report(RecordEvent::Reconnecting {
            reason,
            retry_in: backoff,
            reconnects: rec.reconnects,
        });
        let until = Instant::now() + backoff;
        while Instant::now() < until {
            if stop.load(Ordering::SeqCst) {
                return Ok(Outcome::Stopped);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// State kept across the runs of one recording.
struct Recording<'a> {
    opts: &'a RecordOptions,
    reconnects: u32,
    total_bytes: u64,
    total_time: Duration,
    /// Buffers that reached the store's sink, over all runs: once the sink has taken one and asked for more,
    /// the store worked, and a later transient store error is an outage to wait out rather than a setup
    /// mistake.
    delivered: Arc<AtomicU64>,
}

impl Recording<'_> {
    fn stored_bytes(&self) -> u64 {
        self.opts
            .store
            .info(&self.opts.stream)
            .map(|i| i.tail)
            .unwrap_or(0)
    }

    fn run_once(
        &mut self,
        stop: &AtomicBool,
        report: &mut impl FnMut(RecordEvent),
    ) -> anyhow::Result<RunEnd> {
        let opts = self.opts;
        let pipeline = build_pipeline(opts)?;
        if let Some(pad) = pipeline.by_name("sink").and_then(|s| s.static_pad("sink")) {
            let delivered = self.delivered.clone();
            pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                delivered.fetch_add(1, Ordering::Relaxed);
                gst::PadProbeReturn::Ok
            });
        }
        let bus = pipeline.bus().ok_or_else(|| anyhow!("pipeline without a bus"))?;
        let run_start_bytes = self.stored_bytes();
        let started = pipeline.set_state(gst::State::Playing);
        let mut last_report = Instant::now();
        let mut last_bytes = 0u64;
        let mut eos_sent = false;
        let mut last_growth = Instant::now();
        let is_rtsp = matches!(opts.source, Source::Rtsp(_));
        let result: anyhow::Result<RunEnd> = loop {
            if stop.load(Ordering::SeqCst) && !eos_sent {
                // EOS lets mp4mux and the sink finish: the last fragment and the end record get written.
                pipeline.send_event(gst::event::Eos::new());
                eos_sent = true;
            }
            let msg = bus.timed_pop_filtered(
                gst::ClockTime::from_mseconds(200),
                &[gst::MessageType::Eos, gst::MessageType::Error],
            );
            if last_report.elapsed() >= Duration::from_secs(1) {
                // While the store does not answer, keep the last figure rather than dropping to zero.
                let bytes = self
                    .stored_bytes()
                    .saturating_sub(run_start_bytes)
                    .max(last_bytes);
                let dt = last_report.elapsed().as_secs_f64();
                if bytes > last_bytes {
                    last_growth = Instant::now();
                }
                report(RecordEvent::Recording(Progress {
                    duration: self.total_time + running_time(&pipeline),
                    bytes: self.total_bytes + bytes,
                    bitrate: (bytes.saturating_sub(last_bytes)) as f64 * 8.0 / dt,
                    reconnects: self.reconnects,
                }));
                last_bytes = bytes;
                last_report = Instant::now();
            }
            if is_rtsp && !eos_sent && last_growth.elapsed() > STALL_TIMEOUT {
                // A camera whose connection died quietly delivers nothing and reports nothing.
                break Ok(RunEnd::Retry(format!(
                    "camera dropped (no data for {} s)",
                    STALL_TIMEOUT.as_secs()
                )));
            }
            match msg.as_ref().map(|m| m.view()) {
                // A camera ending its stream (server going down) is a drop, not the end of the recording.
                Some(gst::MessageView::Eos(_)) if is_rtsp && !eos_sent => {
                    break Ok(RunEnd::Retry("camera dropped (it ended its stream)".into()))
                }
                Some(gst::MessageView::Eos(_)) => {
                    break Ok(RunEnd::Done(if eos_sent {
                        Outcome::Stopped
                    } else {
                        Outcome::Finished
                    }));
                }
                Some(gst::MessageView::Error(err)) => {
                    let recorded = self.total_bytes > 0
                        || last_bytes > 0
                        || self.delivered.load(Ordering::Relaxed) > 1
                        || self.reconnects > 0;
                    break self.on_error(err, recorded, stop);
                }
                _ => {}
            }
            if started.is_err() && msg.is_none() {
                // The state change failed without an error message: nothing more will come.
                break Err(anyhow!("cannot start recording"));
            }
            if eos_sent && stop.load(Ordering::SeqCst) && last_report.elapsed() > Duration::from_secs(10) {
                break Ok(RunEnd::Done(Outcome::Stopped));
            }
        };
        // A store that went away answers nothing: keep what the last progress report saw.
        self.total_bytes += self
            .stored_bytes()
            .saturating_sub(run_start_bytes)
            .max(last_bytes);
        self.total_time += running_time(&pipeline);
        // NULL runs pravegasink's stop: end record, sync, lock released.
        if let Err(e) = pipeline.set_state(gst::State::Null) {
            tracing::warn!(error = ?e, "cannot stop the recording pipeline cleanly");
        }
        result
    }

    /// Decides what an error message means: an outage to wait out, or the end of the recording.
    fn on_error(
        &self,
        err: &gst::message::Error,
        recorded: bool,
        stop: &AtomicBool,
    ) -> anyhow::Result<RunEnd> {
        let text = format!(
            "{} ({})",
            err.error(),
            err.debug().map(|d| d.to_string()).unwrap_or_default()
        );
        if stop.load(Ordering::SeqCst) {
            return Err(anyhow!("recording failed while stopping: {text}"));
        }
        if let Some(store) = StoreErrorInfo::from_message(err) {
            // A transient store failure once recording worked: the store went away and may come back. Before
            // that it is a setup problem (a wrong address, a stream in use) to report. Permanent failures
            // (credentials refused, sealed, disk full) end the recording at once.
            if store.transient && recorded {
                return Ok(RunEnd::Retry(format!("store unavailable ({})", err.error())));
            }
            return Err(anyhow!("recording stopped: {}", err.error()));
        }
        let from_sink = err
            .src()
            .and_then(|s| s.downcast_ref::<gst::Element>())
            .and_then(|e| e.factory())
            .is_some_and(|f| f.name() == "pravegasink");
        let from_camera = matches!(self.opts.source, Source::Rtsp(_))
            && err.error().is::<gst::ResourceError>()
            && !from_sink;
        if from_camera {
            return Ok(RunEnd::Retry(format!("camera dropped ({})", err.error())));
        }
        Err(anyhow!("recording failed: {text}"))
    }
}

fn running_time(pipeline: &gst::Pipeline) -> Duration {
    pipeline
        .query_position::<gst::ClockTime>()
        .map(|t| Duration::from_nanos(t.nseconds()))
        .unwrap_or_default()
}
