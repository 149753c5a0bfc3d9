//! What the player takes in (its controls, shortcuts, the owner's requests, the engine's events), what it tells
//! its owner, and the results of its background work.

use std::sync::Arc;

use hindsight_store::{Backend, StreamName, Timestamp};

use super::{case_export, live};
use crate::engine::export::ExportSummary;
use crate::engine::job::JobEvent;
use crate::engine::player::{PlayerEvent, StartAt};
use crate::ui::timeline_model::ClipSelection;

/// What to open.
#[derive(Clone)]
pub struct OpenRequest {
    /// The store.
    pub store: Arc<dyn Backend>,
    /// The stream.
    pub stream: StreamName,
    /// More cameras to review in step with it.
    pub others: Vec<StreamName>,
    /// Where to start.
    pub start: StartAt,
    /// Playback speed (1.0 normally).
    pub speed: f64,
}

impl std::fmt::Debug for OpenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenRequest")
            .field("store", &self.store.uri())
            .field("stream", &self.stream)
            .field("others", &self.others)
            .field("start", &self.start)
            .field("speed", &self.speed)
            .finish()
    }
}

/// Input of the player: its controls, shortcuts, the owner's requests and the engine's events.
#[derive(Debug)]
pub enum PlayerMsg {
    /// Open a stream (closing the one open).
    Open(OpenRequest),
    /// Stop playback and release the stream.
    Close,
    /// Play or pause.
    TogglePlay,
    /// Seek by this many seconds from the frame on screen (negative: back).
    SeekBy(f64),
    /// The previous or next recorded range.
    JumpRange {
        /// Next (true) or previous.
        next: bool,
    },
    /// The first recorded key frame.
    GoStart,
    /// Follow the live edge.
    GoLive,
    /// Pause and show the next frame (true) or the previous one.
    StepFrame(bool),
    /// Playback speed.
    SetSpeed(f64),
    /// Zoom the timeline (factor < 1 zooms in).
    Zoom(f64),
    /// Open the go-to-time popover.
    ShowGoto,
    /// Go to the time typed.
    Goto(String),
    /// Mark the start (true) or end of the clip at the frame on screen.
    MarkClip {
        /// Start (true) or end.
        start: bool,
    },
    /// The clip selection changed on the timeline.
    Selected(ClipSelection),
    /// Ask where to save the marked clip, then export it.
    ExportClip,
    /// The save dialog answered: export there (or nothing when cancelled).
    ExportTo(Option<std::path::PathBuf>),
    /// Stop the running export.
    CancelExport,
    /// The timeline is being dragged (`true` once the drag ends).
    Scrub(Timestamp, bool),
    /// The interval of the drag's kept position has passed: seek it now.
    ScrubDue,
    /// An engine event for the player opened as `generation`.
    Engine(u64, PlayerEvent),
    /// Refresh the playhead and live state.
    Tick,
    /// Re-read the index.
    ReloadIndex,
    /// Show exactly this time on every camera (a "nearest recording" button).
    SeekTo(Timestamp),
    /// Fill the "add a camera" list.
    ListCameras,
    /// Review this camera in step with the others.
    AddCamera(StreamName),
    /// Take the camera in this place out of the review.
    RemoveCamera(usize),
    /// Sound volume, 0..=1.
    SetVolume(f64),
    /// Mute (true) or unmute the sound.
    SetMuted(bool),
    /// Mute or unmute (M).
    ToggleMute,
    /// Open the bookmarks, ready to name one at the frame on screen (B).
    ShowBookmarks,
    /// Bookmark the frame on screen with this name.
    AddBookmark(String),
    /// Go exactly to a bookmark's time.
    GoToBookmark(Timestamp),
    /// Go to the next bookmark (true) or the previous one.
    JumpBookmark(bool),
    /// Remove the bookmark with this id.
    RemoveBookmark(String),
    /// The pointer is over the timeline at this time and x (`None`: it left, or a drag started).
    Hover(Option<(Timestamp, f64)>),
    /// A hover thumbnail of the player opened as the given generation finished.
    HoverReady(u64, crate::engine::hover::HoverResult),
    /// The timeline was zoomed or panned to this window.
    Window(crate::ui::timeline_model::TimeWindow),
}

/// What the player tells its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlayerOutput {
    /// A transient message for a toast.
    Toast(String),
}

/// Results of background work.
#[derive(Debug)]
pub enum PlayerCmd {
    /// The index of every camera (in slot order) opened as the given generation was read.
    Index(u64, Vec<Result<live::Snapshot, String>>),
    /// The store's streams, for the "add a camera" list.
    Streams(Result<Vec<StreamName>, String>),
    /// The export job reported.
    Export(JobEvent<f64, ExportSummary>),
    /// The case export job reported.
    Case(JobEvent<case_export::CaseProgress, case_export::CaseSummary>),
    /// A bookmark was added or removed (what to say), or could not be.
    Marked(Result<String, String>),
    /// The video frame times of a window read for the player opened as the given generation.
    FrameTimes(
        u64,
        crate::ui::timeline_model::TimeWindow,
        Result<Vec<Timestamp>, String>,
    ),
}
