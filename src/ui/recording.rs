//! A recording started from the app: the engine recorder as a [`Job`], and what the header's stop button says
//! about it: REC with duration and bitrate, or "reconnecting…" while the camera or the store is away.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use gettextrs::gettext;
use hindsight_store::{Backend, StreamName};

use crate::engine::job::{Canceller, Job, JobEvent};
use crate::engine::recorder::{self, Outcome, Progress, RecordEvent, RecordOptions, TEST_PATTERN_SIZE};
use crate::human;
use crate::ui::i18n::i18n_f;
use crate::ui::record_dialog::RecordRequest;

/// The events of a recording job.
pub type RecordJobEvent = JobEvent<RecordEvent, Outcome>;

/// What the recording is doing now.
#[derive(Debug, Clone, PartialEq)]
enum State {
    Starting,
    Recording(Progress),
    Reconnecting { reason: String, retry_in: Duration },
}

/// The preview opens once this much is recorded: the first key frames are stored by then.
const PREVIEW_AFTER: Duration = Duration::from_secs(2);

/// A recording running in the background.
pub struct ActiveRecording {
    /// The stream being written.
    pub stream: StreamName,
    canceller: Canceller,
    state: State,
    preview_opened: bool,
    thread: Option<JoinHandle<()>>,
}

impl ActiveRecording {
    /// Starts recording `req` into `store`. `forward` receives the job, to drain its events in a command.
    pub fn start(
        store: Arc<dyn Backend>,
        req: RecordRequest,
        forward: impl FnOnce(Job<RecordEvent, Outcome>),
    ) -> anyhow::Result<Self> {
        let stream = req.stream.clone();
        let opts = RecordOptions {
            store,
            stream: req.stream,
            source: req.source,
            profile: req.profile,
            start_utc: None,
            size: TEST_PATTERN_SIZE,
            retention: req.retention,
        };
        let mut job = Job::spawn("recorder", move |ctx| {
            recorder::run(&opts, ctx.cancel_flag(), |event| ctx.progress(event))
        })?;
        let rec = ActiveRecording {
            stream,
            canceller: job.canceller(),
            state: State::Starting,
            preview_opened: false,
            thread: job.take_thread(),
        };
        forward(job);
        Ok(rec)
    }

    /// Takes in a progress event. True once, when the preview should open (enough footage is stored).
    pub fn on_event(&mut self, event: RecordEvent) -> bool {
        self.state = match event {
            RecordEvent::Recording(p) => State::Recording(p),
            RecordEvent::Reconnecting { reason, retry_in, .. } => State::Reconnecting { reason, retry_in },
        };
        let ready = matches!(&self.state, State::Recording(p) if p.duration >= PREVIEW_AFTER);
        if ready && !self.preview_opened {
            self.preview_opened = true;
            return true;
        }
        false
    }

    /// The stop button's label.
    pub fn label(&self) -> String {
        match &self.state {
            State::Starting => format!("● {}", gettext("REC")),
            State::Recording(p) => format!(
                "● {}  {}  {:.1} Mbit/s",
                gettext("REC"),
                human::duration(p.duration),
                p.bitrate / 1e6
            ),
            State::Reconnecting { .. } => format!("● {}  {}", gettext("REC"), gettext("reconnecting…")),
        }
    }

    /// The stop button's tooltip: what is going on, and that it stops.
    pub fn tooltip(&self) -> String {
        match &self.state {
            // Translators: the first {} is why the camera dropped, the second a duration such as "5 s".
            State::Reconnecting { reason, retry_in } => i18n_f(
                "{}; next attempt in {}. Click to stop recording",
                &[reason, &human::duration(*retry_in)],
            ),
            _ => gettext("Stop recording"),
        }
    }

    /// Asks the recorder to stop; it writes its last fragment and end record, then its job finishes.
    pub fn stop(&self) {
        self.canceller.cancel();
    }

    /// Stops and waits until the end record is written (the window is closing).
    pub fn stop_and_wait(&mut self) {
        self.stop();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::warn!(stream = %self.stream, "the recorder thread panicked");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recording(duration: u64) -> RecordEvent {
        RecordEvent::Recording(Progress {
            duration: Duration::from_secs(duration),
            bytes: 1_000_000,
            bitrate: 2.5e6,
            reconnects: 0,
        })
    }

    #[test]
    fn the_header_says_recording_or_reconnecting() {
        let mut rec = ActiveRecording {
            stream: StreamName::parse("a/b").expect("name"),
            canceller: Job::<(), ()>::spawn("t", |_| Ok(())).expect("job").canceller(),
            state: State::Starting,
            preview_opened: false,
            thread: None,
        };
        assert_eq!(rec.label(), "● REC");
        assert!(!rec.on_event(recording(1)), "too early for the preview");
        assert!(rec.on_event(recording(2)), "the preview opens once");
        assert!(!rec.on_event(recording(3)));
        assert_eq!(rec.label(), "● REC  3.0s  2.5 Mbit/s");
        assert!(!rec.on_event(RecordEvent::Reconnecting {
            reason: "camera dropped".into(),
            retry_in: Duration::from_secs(4),
            reconnects: 1,
        }));
        assert_eq!(rec.label(), "● REC  reconnecting…");
        assert!(
            rec.tooltip().starts_with("camera dropped; next attempt in 4.0s"),
            "{}",
            rec.tooltip()
        );
        assert!(
            !rec.on_event(recording(9)),
            "back to recording, the preview stays open"
        );
        assert_eq!(rec.tooltip(), "Stop recording");
    }
}
