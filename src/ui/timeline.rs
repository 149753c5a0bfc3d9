//! The timeline widget: recorded ranges, gaps, the truncated head, a bitrate strip, bookmarks, held ranges,
//! what retention deletes within the hour, the playhead and the live edge, drawn with cairo from the index ([`crate::ui::timeline_draw`]); one lane per camera in a synchronized
//! review, under one playhead. Drag or click to scrub, scroll to zoom around the pointer, shift+scroll or
//! horizontal scroll to pan; hovering shows the wall-clock time under the pointer.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use hindsight_store::{IndexRecord, Timeline, Timestamp, DEFAULT_RANGE_GAP};
use relm4::gtk;
use relm4::gtk::prelude::*;

use crate::ui::timeline_draw::draw;
pub use crate::ui::timeline_lane::{Lane, LaneKnown, LaneMarks, LaneUpdate, RECENT_RECORDS};
use crate::ui::timeline_model::{ClipSelection, TimeWindow};

/// Height of the timeline with one lane, and what each further lane adds.
const ONE_LANE_HEIGHT: i32 = 72;
const MORE_LANE_HEIGHT: i32 = 26;

/// What the timeline draws.
#[derive(Debug, Clone)]
pub struct TimelineState {
    /// The visible window.
    pub window: TimeWindow,
    /// One lane per camera, the first camera's on top.
    pub lanes: Vec<Lane>,
    /// The recorded ranges of all lanes together, for going to the previous or next recording.
    pub merged: Timeline,
    /// The frame on screen.
    pub playhead: Option<Timestamp>,
    /// The newest data while the stream is recorded.
    pub edge: Option<Timestamp>,
    /// Pointer position while hovering.
    pub hover: Option<f64>,
    /// The window was set by the user (zoom/pan) and should not jump to the data.
    pub user_moved: bool,
    /// The clip marked for export.
    pub selection: ClipSelection,
    /// Bookmarks, holds and what retention deletes soon, over the first lane.
    pub marks: LaneMarks,
    /// The first lane's video frames in view, ticked at the deepest zoom.
    pub frame_times: Vec<Timestamp>,
}

impl Default for TimelineState {
    fn default() -> Self {
        TimelineState {
            window: TimeWindow {
                start: Timestamp::now().saturating_sub(Duration::from_secs(3600)),
                span: Duration::from_secs(3600),
            },
            lanes: Vec::new(),
            merged: Timeline::default(),
            playhead: None,
            edge: None,
            hover: None,
            user_moved: false,
            selection: ClipSelection::default(),
            marks: LaneMarks::default(),
            frame_times: Vec::new(),
        }
    }
}

type ScrubFn = Rc<dyn Fn(Timestamp, bool)>;
type SelectFn = Rc<dyn Fn(ClipSelection)>;
type HoverFn = Rc<dyn Fn(Option<(Timestamp, f64)>)>;
type WindowFn = Rc<dyn Fn(TimeWindow)>;

/// The widget and its shared state.
#[derive(Clone)]
pub struct TimelineWidget {
    /// The drawing area to pack.
    pub area: gtk::DrawingArea,
    state: Rc<RefCell<TimelineState>>,
    on_scrub: Rc<RefCell<Option<ScrubFn>>>,
    on_select: Rc<RefCell<Option<SelectFn>>>,
    on_hover: Rc<RefCell<Option<HoverFn>>>,
    on_window: Rc<RefCell<Option<WindowFn>>>,
    /// A drag (scrub or selection) is under way: no hover then.
    dragging: Rc<std::cell::Cell<bool>>,
}

impl TimelineWidget {
    /// A new, empty timeline.
    pub fn new() -> Self {
        let area = gtk::DrawingArea::builder()
            .content_height(ONE_LANE_HEIGHT)
            .hexpand(true)
            .focusable(false)
            .build();
        area.add_css_class("timeline");
        let widget = TimelineWidget {
            area,
            state: Rc::new(RefCell::new(TimelineState::default())),
            on_scrub: Rc::new(RefCell::new(None)),
            on_select: Rc::new(RefCell::new(None)),
            on_hover: Rc::new(RefCell::new(None)),
            on_window: Rc::new(RefCell::new(None)),
            dragging: Rc::new(std::cell::Cell::new(false)),
        };
        let state = widget.state.clone();
        widget.area.set_draw_func(move |_, cr, w, h| {
            draw(&state.borrow(), cr, f64::from(w), f64::from(h));
        });
        widget.connect_gestures();
        widget
    }

    /// Calls `f(time, final)` while the user scrubs; `final` is true when the drag ends.
    pub fn connect_scrub(&self, f: impl Fn(Timestamp, bool) + 'static) {
        *self.on_scrub.borrow_mut() = Some(Rc::new(f));
    }

    /// Called when a Shift-drag changes the clip selection.
    pub fn connect_select(&self, f: impl Fn(ClipSelection) + 'static) {
        *self.on_select.borrow_mut() = Some(Rc::new(f));
    }

    /// Calls `f(Some((time, x)))` as the pointer moves over the timeline (not while dragging), `f(None)` when
    /// it leaves or a drag starts.
    pub fn connect_hover(&self, f: impl Fn(Option<(Timestamp, f64)>) + 'static) {
        *self.on_hover.borrow_mut() = Some(Rc::new(f));
    }

    /// Calls `f(window)` when the user zooms or pans.
    pub fn connect_window(&self, f: impl Fn(TimeWindow) + 'static) {
        *self.on_window.borrow_mut() = Some(Rc::new(f));
    }

    fn window_moved(&self) {
        let window = self.state.borrow().window;
        let cb = self.on_window.borrow().clone();
        if let Some(cb) = cb {
            cb(window);
        }
    }

    /// The video frames in view, ticked when zoomed in to a few seconds.
    pub fn set_frame_times(&self, times: Vec<Timestamp>) {
        self.state.borrow_mut().frame_times = times;
        self.area.queue_draw();
    }

    /// How many frame ticks are drawn now.
    pub fn frame_ticks(&self) -> usize {
        let s = self.state.borrow();
        if s.window.span > crate::ui::timeline_model::FRAME_TICKS_SPAN {
            return 0;
        }
        s.frame_times
            .iter()
            .filter(|t| **t >= s.window.start && **t <= s.window.end())
            .count()
    }

    fn hovered(&self, at: Option<(Timestamp, f64)>) {
        let cb = self.on_hover.borrow().clone();
        if let Some(cb) = cb {
            cb(at);
        }
    }

    /// The key frame a hover at `t` shows, from the first lane's index (see [`key_frame_at`]).
    ///
    /// [`key_frame_at`]: crate::engine::hover::key_frame_at
    pub fn key_frame_at(&self, t: Timestamp) -> Option<IndexRecord> {
        let s = self.state.borrow();
        crate::engine::hover::key_frame_at(s.lanes.first()?.records_over(t)?, t)
    }

    /// True when `t` lies within the first lane's stored footage (from its head to its newest record).
    pub fn covers(&self, t: Timestamp) -> bool {
        let s = self.state.borrow();
        s.lanes
            .first()
            .and_then(|l| Some((l.head()?, l.newest()?)))
            .is_some_and(|(a, b)| a <= t && t <= b)
    }

    /// The time span across the widget.
    pub fn window(&self) -> TimeWindow {
        self.state.borrow().window
    }

    /// The clip marked for export.
    pub fn selection(&self) -> ClipSelection {
        self.state.borrow().selection
    }

    /// Replaces the clip selection (marks from the keyboard, or cleared).
    pub fn set_selection(&self, selection: ClipSelection) {
        self.state.borrow_mut().selection = selection;
        self.area.queue_draw();
    }

    /// Brings the lanes up to date, one update per camera, appending to a lane where the update says so.
    pub fn update_lanes(&self, updates: Vec<LaneUpdate>, edge: Option<Timestamp>) {
        let mut old = std::mem::take(&mut self.state.borrow_mut().lanes).into_iter();
        let lanes = updates
            .into_iter()
            .map(|u| match (u, old.next()) {
                (LaneUpdate::Whole(lane), _) => lane,
                (LaneUpdate::Append(new), Some(mut lane)) => {
                    lane.append(&new);
                    lane
                }
                (LaneUpdate::Append(new), None) => Lane::from_records(String::new(), 0, new),
            })
            .collect();
        self.set_lanes(lanes, edge);
    }

    /// `f` of the first lane, if there is one.
    pub fn with_first_lane<R>(&self, f: impl FnOnce(&Lane) -> R) -> Option<R> {
        self.state.borrow().lanes.first().map(f)
    }

    /// What each lane holds, for reading only what was appended since.
    pub fn known(&self) -> Vec<Option<LaneKnown>> {
        self.state.borrow().lanes.iter().map(Lane::known).collect()
    }

    /// Replaces the lanes (one per camera); fits the window to all of them unless the user moved it.
    pub fn set_lanes(&self, lanes: Vec<Lane>, edge: Option<Timestamp>) {
        let height = ONE_LANE_HEIGHT + MORE_LANE_HEIGHT * (lanes.len().max(1) as i32 - 1);
        if self.area.content_height() != height {
            self.area.set_content_height(height);
        }
        {
            let mut s = self.state.borrow_mut();
            let first = lanes.iter().filter_map(Lane::head).min();
            let last = lanes.iter().filter_map(Lane::newest).max();
            if !s.user_moved {
                if let (Some(a), Some(b)) = (first, last) {
                    s.window = TimeWindow::around(a, edge.unwrap_or(b).max(b));
                }
            }
            s.merged = if lanes.len() == 1 {
                lanes[0].timeline().clone()
            } else {
                Timeline::union(lanes.iter().map(Lane::timeline), DEFAULT_RANGE_GAP)
            };
            s.lanes = lanes;
            s.edge = edge;
        }
        self.area.queue_draw();
    }

    /// Replaces the marks drawn over the first lane.
    pub fn set_marks(&self, marks: LaneMarks) {
        let mut s = self.state.borrow_mut();
        if s.marks != marks {
            s.marks = marks;
            drop(s);
            self.area.queue_draw();
        }
    }

    /// Each lane's ranges, in camera order.
    pub fn lane_timelines(&self) -> Vec<Timeline> {
        self.state
            .borrow()
            .lanes
            .iter()
            .map(|l| l.timeline().clone())
            .collect()
    }

    /// Moves the playhead, scrolling the window to keep it visible.
    pub fn set_playhead(&self, t: Option<Timestamp>) {
        {
            let mut s = self.state.borrow_mut();
            s.playhead = t;
            if let Some(t) = t {
                s.window.reveal(t);
            }
        }
        self.area.queue_draw();
    }

    /// The ranges of all lanes together, for previous/next navigation.
    pub fn timeline(&self) -> Timeline {
        self.state.borrow().merged.clone()
    }

    /// Zooms by `factor` around the middle (buttons and shortcuts).
    pub fn zoom(&self, factor: f64) {
        let w = f64::from(self.area.width().max(1));
        {
            let mut s = self.state.borrow_mut();
            let anchor = s
                .playhead
                .map(|p| s.window.x_of(p, w))
                .filter(|x| (0.0..=w).contains(x))
                .unwrap_or(w / 2.0);
            s.window.zoom(factor, anchor, w);
            s.user_moved = true;
        }
        self.area.queue_draw();
        self.window_moved();
    }

    fn scrub(&self, x: f64, done: bool) {
        let w = f64::from(self.area.width().max(1));
        let t = self.state.borrow().window.t_of(x.clamp(0.0, w), w);
        self.state.borrow_mut().playhead = Some(t);
        self.area.queue_draw();
        let cb = self.on_scrub.borrow().clone();
        if let Some(cb) = cb {
            cb(t, done);
        }
    }

    /// Shift-drag: selects the clip between the press and the pointer.
    fn select(&self, x0: f64, x: f64, done: bool) {
        let w = f64::from(self.area.width().max(1));
        let selection = {
            let mut s = self.state.borrow_mut();
            let (a, b) = (
                s.window.t_of(x0.clamp(0.0, w), w),
                s.window.t_of(x.clamp(0.0, w), w),
            );
            s.selection = ClipSelection::between(a, b);
            s.selection
        };
        self.area.queue_draw();
        if done {
            let cb = self.on_select.borrow().clone();
            if let Some(cb) = cb {
                cb(selection);
            }
        }
    }

    fn connect_gestures(&self) {
        let drag = gtk::GestureDrag::new();
        // Where the drag started, and whether it selects (Shift held at the press) rather than scrubs.
        let start = Rc::new(RefCell::new((0.0, false)));
        {
            let this = self.clone();
            let start = start.clone();
            drag.connect_drag_begin(move |g, x, _| {
                this.dragging.set(true);
                this.hovered(None);
                let selecting = g
                    .current_event_state()
                    .contains(gtk::gdk::ModifierType::SHIFT_MASK);
                *start.borrow_mut() = (x, selecting);
                if selecting {
                    this.select(x, x, false);
                } else {
                    this.scrub(x, false);
                }
            });
        }
        {
            let this = self.clone();
            let start = start.clone();
            drag.connect_drag_update(move |_, dx, _| {
                let (x0, selecting) = *start.borrow();
                if selecting {
                    this.select(x0, x0 + dx, false);
                } else {
                    this.scrub(x0 + dx, false);
                }
            });
        }
        {
            let this = self.clone();
            drag.connect_drag_end(move |_, dx, _| {
                this.dragging.set(false);
                let (x0, selecting) = *start.borrow();
                if selecting {
                    this.select(x0, x0 + dx, true);
                } else {
                    this.scrub(x0 + dx, true);
                }
            });
        }
        self.area.add_controller(drag);

        let scroll = gtk::EventControllerScroll::new(gtk::EventControllerScrollFlags::BOTH_AXES);
        {
            let this = self.clone();
            scroll.connect_scroll(move |ctl, dx, dy| {
                let w = f64::from(this.area.width().max(1));
                let shift = ctl
                    .current_event_state()
                    .contains(gtk::gdk::ModifierType::SHIFT_MASK);
                {
                    let mut s = this.state.borrow_mut();
                    let anchor = s.hover.unwrap_or(w / 2.0);
                    if shift {
                        s.window.pan(dy * 40.0, w);
                    } else {
                        if dx != 0.0 {
                            s.window.pan(dx * 40.0, w);
                        }
                        if dy != 0.0 {
                            s.window.zoom(1.25f64.powf(dy), anchor, w);
                        }
                    }
                    s.user_moved = true;
                }
                this.area.queue_draw();
                this.window_moved();
                gtk::glib::Propagation::Stop
            });
        }
        self.area.add_controller(scroll);

        let motion = gtk::EventControllerMotion::new();
        {
            let this = self.clone();
            motion.connect_motion(move |_, x, _| {
                this.state.borrow_mut().hover = Some(x);
                this.area.queue_draw();
                if !this.dragging.get() {
                    let w = f64::from(this.area.width().max(1));
                    let t = this.state.borrow().window.t_of(x.clamp(0.0, w), w);
                    this.hovered(Some((t, x)));
                }
            });
        }
        {
            let this = self.clone();
            motion.connect_leave(move |_| {
                this.state.borrow_mut().hover = None;
                this.area.queue_draw();
                this.hovered(None);
            });
        }
        self.area.add_controller(motion);
    }
}

impl Default for TimelineWidget {
    fn default() -> Self {
        Self::new()
    }
}
