//! Automation hook: with `HINDSIGHT_STATUS_FILE=PATH` the app writes what it shows to PATH as one JSON object
//! on every tick, replaced atomically: the player (stream, position, live state, the text over the video,
//! error) or the wall (every tile's stream, state, frame time and place in the window), and an open case
//! window's verdict. GUI tests read this
//! file instead of scraping pixels; scripts can use it the same way.

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use serde::Serialize;

/// What the player shows.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Status<'a> {
    /// SCOPE/STREAM, or empty in the library.
    pub stream: &'a str,
    /// TAI nanoseconds of the frame on screen, 0 when unknown.
    pub position_ns: u64,
    /// Playing rather than paused.
    pub playing: bool,
    /// `live`, `behind` or `not-recording`.
    pub live: &'a str,
    /// The text over the video (the LIVE badge or how far behind live), translated as shown.
    pub overlay: Option<&'a str>,
    /// The error shown, if any.
    pub error: Option<&'a str>,
    /// Every camera shown, the first camera first (one outside a synchronized review).
    pub cameras: &'a [CameraReport],
    /// The sound being played, when the stream has some.
    pub sound: Option<SoundReport>,
    /// Bookmarks, holds and retention of the (first) camera's stream.
    pub marks: MarksReport,
    /// Where the timeline is and what it shows.
    pub timeline: Option<TimelineReport>,
    /// The hover thumbnail over the timeline, while the pointer is there.
    pub hover: Option<HoverReport>,
    /// Dragging on the timeline: key-frame seeks made while dragging, and where the last drag was let go.
    pub scrub: ScrubReport,
}

/// Dragging on the timeline.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct ScrubReport {
    /// Key-frame seeks made while dragging, since the stream was opened.
    pub drag_seeks: u32,
    /// TAI ns where the last drag was let go (the exact frame there is shown), 0 before any.
    pub released_ns: u64,
    /// Frames the (first camera's) video sink received so far.
    pub frames: u64,
}

/// Where the timeline is in the window and the time span across it.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct TimelineReport {
    /// `[x, y, width, height]` in the window.
    pub rect: [i32; 4],
    /// TAI ns at the left edge.
    pub start_ns: u64,
    /// TAI ns at the right edge.
    pub end_ns: u64,
    /// Video frames ticked (at the deepest zoom).
    pub frame_ticks: usize,
}

/// The hover thumbnail.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct HoverReport {
    /// TAI ns under the pointer.
    pub pointer_ns: u64,
    /// TAI ns of the key frame whose image is asked for.
    pub key_frame_ns: u64,
    /// TAI ns of the key frame whose image is shown (0: none yet).
    pub shown_ns: u64,
    /// From the pointer reaching that key frame to its image shown, in ms.
    pub latency_ms: u64,
}

/// Where `widget` is in its window, `[x, y, width, height]`, while it is shown.
pub fn rect_of(widget: &impl relm4::gtk::prelude::IsA<relm4::gtk::Widget>) -> Option<[i32; 4]> {
    use relm4::gtk::prelude::WidgetExt;
    let widget = widget.as_ref();
    widget
        .root()
        .and_then(|root| widget.compute_bounds(&root))
        .filter(|_| widget.is_mapped())
        .map(|b| [b.x() as i32, b.y() as i32, b.width() as i32, b.height() as i32])
}

/// What the player shows of a stream's marks.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct MarksReport {
    /// Bookmarks: name and TAI ns, in time order.
    pub bookmarks: Vec<(String, u64)>,
    /// Held ranges, TAI ns.
    pub holds: Vec<[u64; 2]>,
    /// Footage retention deletes within the hour, TAI ns, as shaded on the timeline.
    pub due: Option<[u64; 2]>,
    /// Times the footage being watched was deleted and the player moved to the new head (with a toast).
    pub deleted_under_playhead: u32,
}

/// The player's sound.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct SoundReport {
    /// Volume as set, 0..=100.
    pub volume_percent: u32,
    /// Muted by the user.
    pub muted: bool,
    /// Nothing is heard (muted, volume 0, or a speed other than 1×).
    pub silent: bool,
    /// Sound buffers that reached the audio sink so far.
    pub buffers: u64,
    /// TAI nanoseconds of the sound being heard, 0 when unknown.
    pub position_ns: u64,
}

/// One camera of the player.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct CameraReport {
    /// SCOPE/STREAM.
    pub stream: String,
    /// TAI nanoseconds of the frame its sink shows, 0 before the first.
    pub frame_ns: u64,
    /// It has footage at the instant shown (false: "no recording at this time", or failed).
    pub recorded: bool,
    /// Without footage: the end of its footage before the instant.
    pub before_ns: Option<u64>,
    /// Without footage: the start of its footage after the instant.
    pub after_ns: Option<u64>,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// One wall tile.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct TileReport {
    /// SCOPE/STREAM.
    pub stream: String,
    /// `starting`, `live`, `behind`, `stalled`, `writer-stopped`, `ended` or `error`.
    pub state: String,
    /// The error message of a failed tile.
    pub detail: Option<String>,
    /// TAI nanoseconds of the frame shown, 0 before the first.
    pub position_ns: u64,
    /// Frames shown so far.
    pub frames: u64,
    /// Only key frames are decoded.
    pub key_frames_only: bool,
    /// x, y, width, height in the window, while shown.
    pub rect: Option<[i32; 4]>,
}

/// What the wall shows.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct WallReport {
    /// The wall's name.
    pub wall: String,
    /// Its layout (`auto`, `1`, `2x2`, …).
    pub layout: String,
    /// The enlarged tile, if one is.
    pub enlarged: Option<usize>,
    /// The tiles in order.
    pub tiles: Vec<TileReport>,
}

/// The case window's verdict, while one is open.
#[derive(Debug, Serialize, Clone, PartialEq, Eq)]
pub struct CaseStatus {
    /// The case folder.
    pub dir: String,
    /// `checking`, `verified` or `not-verified`.
    pub state: String,
    /// The cameras' streams with frames matched of frames, `SCOPE/STREAM: M/N`.
    pub cameras: Vec<String>,
    /// The stored streams were compared as well.
    pub compared_with_store: bool,
    /// What does not verify.
    pub problems: Vec<String>,
}

impl CaseStatus {
    /// While the check runs.
    pub fn checking(dir: &str) -> Self {
        CaseStatus {
            dir: dir.to_owned(),
            state: "checking".into(),
            cameras: Vec::new(),
            compared_with_store: false,
            problems: Vec::new(),
        }
    }

    /// Once the check ended.
    pub fn from_report(dir: &str, report: &crate::engine::case::CaseReport, compared: bool) -> Self {
        CaseStatus {
            dir: dir.to_owned(),
            state: if report.is_intact() {
                "verified"
            } else {
                "not-verified"
            }
            .into(),
            cameras: report
                .cameras
                .iter()
                .map(|c| format!("{}: {}/{}", c.stream, c.frames_matched, c.frames))
                .collect(),
            compared_with_store: compared,
            problems: report.problems.clone(),
        }
    }
}

fn case_slot() -> &'static Mutex<Option<CaseStatus>> {
    static CASE: OnceLock<Mutex<Option<CaseStatus>>> = OnceLock::new();
    CASE.get_or_init(|| Mutex::new(None))
}

/// Records the case window's verdict (`None`: closed), and writes it at once: the library behind it writes
/// nothing by itself.
pub fn set_case(case: Option<CaseStatus>) {
    *case_slot().lock().unwrap_or_else(|e| e.into_inner()) = case.clone();
    if let Some(case) = case {
        write_tagged("case", &case);
    }
}

fn path() -> Option<&'static PathBuf> {
    static PATH: OnceLock<Option<PathBuf>> = OnceLock::new();
    PATH.get_or_init(|| std::env::var_os("HINDSIGHT_STATUS_FILE").map(PathBuf::from))
        .as_ref()
}

/// `view` names what is shown (`library`, `player`, `wall` or `case`); the report's fields stay at the top level. An open
/// case window's verdict rides along with the view behind it.
#[derive(Serialize)]
struct Tagged<'a, T: Serialize> {
    view: &'a str,
    #[serde(flatten)]
    report: &'a T,
    #[serde(skip_serializing_if = "Option::is_none")]
    case: Option<CaseStatus>,
    /// How long the app took to start, by stage.
    startup: crate::startup::StartupReport,
}

fn write_tagged<T: Serialize>(view: &str, report: &T) {
    let Some(path) = path() else { return };
    let tmp = path.with_extension("tmp");
    let case = (view != "case")
        .then(|| case_slot().lock().unwrap_or_else(|e| e.into_inner()).clone())
        .flatten();
    let result = serde_json::to_vec(&Tagged {
        view,
        report,
        case,
        startup: crate::startup::report(),
    })
    .map_err(std::io::Error::other)
    .and_then(|bytes| std::fs::write(&tmp, bytes))
    .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        tracing::debug!(error = %e, path = %path.display(), "cannot write status file");
    }
}

/// Writes the player's status if the hook is enabled; failures are logged, never shown.
pub fn write(status: &Status<'_>) {
    write_tagged("player", status);
}

/// What the library shows.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct LibraryReport {
    /// The streams listed, in order, as the filter leaves them.
    pub shown: Vec<String>,
    /// Of those, the rows that have their picture.
    pub thumbnails: usize,
    /// Streams in the store.
    pub total: usize,
    /// The filter box's text.
    pub filter: String,
    /// Where the filter box is, `[x, y, width, height]` in the window.
    pub filter_rect: Option<[i32; 4]>,
}

/// Writes the library's status if the hook is enabled.
pub fn write_library(report: &LibraryReport) {
    write_tagged("library", report);
}

/// Writes the wall's status if the hook is enabled.
pub fn write_wall(report: &WallReport) {
    write_tagged("wall", report);
}
