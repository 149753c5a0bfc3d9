//! The timeline widget: recorded ranges, gaps, the truncated head, a bitrate strip, the playhead and the live
//! edge, drawn with cairo from the index. Drag or click to scrub, scroll to zoom around the pointer, shift+scroll
//! or horizontal scroll to pan; hovering shows the wall-clock time under the pointer.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use hindsight_store::timeline::bitrate_buckets;
use hindsight_store::{IndexRecord, Timeline, Timestamp, DEFAULT_RANGE_GAP};
use relm4::gtk;
use relm4::gtk::prelude::*;

use crate::ui::localtime;
use crate::ui::timeline_model::{ClipSelection, TimeWindow};

/// What the timeline draws.
#[derive(Debug, Clone)]
pub struct TimelineState {
    /// The visible window.
    pub window: TimeWindow,
    /// Index records from the head on.
    pub records: Vec<IndexRecord>,
    /// Ranges and the truncated head, from `records`.
    pub timeline: Timeline,
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
}

impl Default for TimelineState {
    fn default() -> Self {
        TimelineState {
            window: TimeWindow {
                start: Timestamp::now().saturating_sub(Duration::from_secs(3600)),
                span: Duration::from_secs(3600),
            },
            records: Vec::new(),
            timeline: Timeline::default(),
            playhead: None,
            edge: None,
            hover: None,
            user_moved: false,
            selection: ClipSelection::default(),
        }
    }
}

type ScrubFn = Rc<dyn Fn(Timestamp, bool)>;
type SelectFn = Rc<dyn Fn(ClipSelection)>;

/// The widget and its shared state.
#[derive(Clone)]
pub struct TimelineWidget {
    /// The drawing area to pack.
    pub area: gtk::DrawingArea,
    state: Rc<RefCell<TimelineState>>,
    on_scrub: Rc<RefCell<Option<ScrubFn>>>,
    on_select: Rc<RefCell<Option<SelectFn>>>,
}

impl TimelineWidget {
    /// A new, empty timeline.
    pub fn new() -> Self {
        let area = gtk::DrawingArea::builder()
            .content_height(72)
            .hexpand(true)
            .focusable(false)
            .build();
        area.add_css_class("timeline");
        let widget = TimelineWidget {
            area,
            state: Rc::new(RefCell::new(TimelineState::default())),
            on_scrub: Rc::new(RefCell::new(None)),
            on_select: Rc::new(RefCell::new(None)),
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

    /// The clip marked for export.
    pub fn selection(&self) -> ClipSelection {
        self.state.borrow().selection
    }

    /// Replaces the clip selection (marks from the keyboard, or cleared).
    pub fn set_selection(&self, selection: ClipSelection) {
        self.state.borrow_mut().selection = selection;
        self.area.queue_draw();
    }

    /// Replaces the index data; fits the window to it unless the user moved it.
    pub fn set_records(&self, first: u64, records: Vec<IndexRecord>, edge: Option<Timestamp>) {
        {
            let mut s = self.state.borrow_mut();
            s.timeline = Timeline::from_records(first, &records, DEFAULT_RANGE_GAP);
            if !s.user_moved {
                if let (Some(a), Some(b)) = (records.first(), records.last()) {
                    let end = edge.unwrap_or(b.timestamp).max(b.timestamp);
                    s.window = TimeWindow::around(a.timestamp, end);
                }
            }
            s.records = records;
            s.edge = edge;
        }
        self.area.queue_draw();
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

    /// The ranges shown, for previous/next navigation.
    pub fn timeline(&self) -> Timeline {
        self.state.borrow().timeline.clone()
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
            });
        }
        {
            let this = self.clone();
            motion.connect_leave(move |_| {
                this.state.borrow_mut().hover = None;
                this.area.queue_draw();
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

fn tick_label(t: Timestamp, step: Duration) -> String {
    let full = localtime::format(t);
    // "YYYY-MM-DD HH:MM:SS": days show the date, hours and minutes the clock, seconds the seconds.
    if step >= Duration::from_secs(86400) {
        full.get(..10).unwrap_or(&full).to_owned()
    } else if step >= Duration::from_secs(60) {
        full.get(11..16).unwrap_or(&full).to_owned()
    } else {
        full.get(11..19).unwrap_or(&full).to_owned()
    }
}

/// The clip selection: a translucent band between the marks, a bracket at each mark set.
fn draw_selection(s: &TimelineState, cr: &gtk::cairo::Context, w: f64, h: f64, top: f64) {
    let win = &s.window;
    let (start, end) = s.selection.marks();
    cr.set_source_rgba(0.96, 0.76, 0.07, 0.28);
    if let (Some(a), Some(b)) = (start, end) {
        let (x0, x1) = (win.x_of(a, w).max(-1.0), win.x_of(b, w).min(w + 1.0));
        if x1 > x0 {
            cr.rectangle(x0, top, x1 - x0, h - top);
            let _ = cr.fill();
        }
    }
    cr.set_source_rgb(0.96, 0.76, 0.07);
    for (mark, dir) in [(start, 1.0), (end, -1.0)] {
        let Some(t) = mark else { continue };
        let x = win.x_of(t, w);
        if !(0.0..=w).contains(&x) {
            continue;
        }
        cr.rectangle(x - 1.0, top, 2.0, h - top);
        cr.rectangle(x.min(x + 6.0 * dir), top, 6.0, 2.0);
        cr.rectangle(x.min(x + 6.0 * dir), h - 2.0, 6.0, 2.0);
        let _ = cr.fill();
    }
}

fn draw(s: &TimelineState, cr: &gtk::cairo::Context, w: f64, h: f64) {
    let win = &s.window;
    // Background.
    cr.set_source_rgb(0.14, 0.14, 0.16);
    cr.rectangle(0.0, 0.0, w, h);
    let _ = cr.fill();

    let label_h = 16.0;
    let band_top = label_h + 2.0;
    let band_h = (h - band_top) * 0.45;
    let strip_top = band_top + band_h + 4.0;
    let strip_h = h - strip_top - 2.0;

    // Deleted by retention/truncation: hatched red from the left edge to the first stored time.
    if let Some(cut) = s.timeline.truncated_before {
        let x = win.x_of(cut, w).clamp(0.0, w);
        if x > 0.0 {
            cr.set_source_rgba(0.75, 0.2, 0.2, 0.35);
            cr.rectangle(0.0, band_top, x, band_h);
            let _ = cr.fill();
            cr.set_source_rgba(0.85, 0.3, 0.3, 0.6);
            cr.set_line_width(1.0);
            let mut hx = -band_h;
            while hx < x {
                cr.move_to(hx, band_top + band_h);
                cr.line_to(
                    (hx + band_h).min(x),
                    band_top + (hx + band_h - (hx + band_h).min(x)),
                );
                hx += 8.0;
            }
            let _ = cr.stroke();
        }
    }

    // Recorded ranges; the space between them is a gap.
    cr.set_source_rgb(0.21, 0.52, 0.89);
    for r in &s.timeline.ranges {
        let end = if r.closed {
            r.end
        } else {
            s.edge.unwrap_or(r.end).max(r.end)
        };
        let (x0, x1) = (win.x_of(r.start, w), win.x_of(end, w));
        if x1 < 0.0 || x0 > w {
            continue;
        }
        let x0 = x0.max(0.0);
        let width = (x1.min(w) - x0).max(1.5);
        cr.rectangle(x0, band_top, width, band_h);
    }
    let _ = cr.fill();

    // Bitrate strip: bytes per 2-pixel bucket, scaled to the busiest bucket in view.
    let buckets = (w / 2.0).max(1.0) as usize;
    let bytes = bitrate_buckets(&s.records, win.start, win.end(), buckets, DEFAULT_RANGE_GAP);
    if let Some(&max) = bytes.iter().max().filter(|m| **m > 0) {
        cr.set_source_rgba(0.55, 0.75, 0.95, 0.8);
        for (i, &b) in bytes.iter().enumerate() {
            if b == 0 {
                continue;
            }
            let bh = (b as f64 / max as f64) * strip_h;
            cr.rectangle(i as f64 * 2.0, strip_top + strip_h - bh, 2.0, bh);
        }
        let _ = cr.fill();
    }

    // Ticks and labels.
    let step = win.tick_step(w, 90.0);
    let step_ns = step.as_nanos() as u64;
    if step_ns > 0 {
        // Ticks sit on round wall-clock (UTC) values, not round TAI values, which are 37 s off.
        let step_i = i128::from(step_ns);
        let mut unix = win.start.to_unix_nanos().div_euclid(step_i) * step_i;
        let end = win.end();
        cr.set_font_size(11.0);
        while let Ok(ts) = Timestamp::from_unix_nanos(unix) {
            if ts > end {
                break;
            }
            let x = win.x_of(ts, w);
            if x >= 0.0 {
                cr.set_source_rgba(1.0, 1.0, 1.0, 0.25);
                cr.rectangle(x, label_h - 3.0, 1.0, h - label_h + 3.0);
                let _ = cr.fill();
                cr.set_source_rgba(1.0, 1.0, 1.0, 0.7);
                cr.move_to(x + 3.0, label_h - 4.0);
                let _ = cr.show_text(&tick_label(ts, step));
            }
            unix += step_i;
        }
    }

    draw_selection(s, cr, w, h, band_top);

    // Live edge.
    if let Some(edge) = s.edge {
        let x = win.x_of(edge, w);
        if (0.0..=w).contains(&x) {
            cr.set_source_rgb(0.9, 0.2, 0.2);
            cr.rectangle(x - 1.0, band_top, 2.0, h - band_top);
            let _ = cr.fill();
        }
    }

    // Playhead.
    if let Some(p) = s.playhead {
        let x = win.x_of(p, w);
        if (0.0..=w).contains(&x) {
            cr.set_source_rgb(1.0, 1.0, 1.0);
            cr.rectangle(x - 1.0, label_h, 2.0, h - label_h);
            let _ = cr.fill();
            cr.move_to(x - 5.0, label_h);
            cr.line_to(x + 5.0, label_h);
            cr.line_to(x, label_h + 6.0);
            cr.close_path();
            let _ = cr.fill();
        }
    }

    // Hover: the wall-clock time under the pointer, to the second.
    if let Some(hx) = s.hover {
        let t = win.t_of(hx, w);
        let text = localtime::format(t);
        cr.set_source_rgba(1.0, 1.0, 1.0, 0.5);
        cr.rectangle(hx, band_top, 1.0, h - band_top);
        let _ = cr.fill();
        cr.set_font_size(11.0);
        let tw = cr.text_extents(&text).map(|e| e.width()).unwrap_or(120.0);
        let tx = (hx + 6.0).min(w - tw - 6.0).max(2.0);
        cr.set_source_rgba(0.0, 0.0, 0.0, 0.75);
        cr.rectangle(tx - 3.0, band_top + 2.0, tw + 6.0, 15.0);
        let _ = cr.fill();
        cr.set_source_rgb(1.0, 1.0, 1.0);
        cr.move_to(tx, band_top + 13.0);
        let _ = cr.show_text(&text);
    }
}
