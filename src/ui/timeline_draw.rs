//! Drawing the timeline with cairo: per lane the recorded ranges, the truncated head and a bitrate strip; over
//! the first lane what retention deletes within the hour, held ranges and bookmarks; over all lanes the ticks,
//! the clip selection, the live edge, the playhead and the time under the pointer.

use std::time::Duration;

use hindsight_store::timeline::bitrate_buckets;
use hindsight_store::{Timestamp, DEFAULT_RANGE_GAP};
use relm4::gtk;

use crate::ui::localtime;
use crate::ui::timeline::{Lane, TimelineState};
use crate::ui::timeline_model::{TimeWindow, FRAME_TICKS_SPAN};

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

/// Where a lane is drawn: its ranges band and its bitrate strip below it.
struct LaneRows {
    band_top: f64,
    band_h: f64,
    strip_top: f64,
    strip_h: f64,
}

/// Splits the height under the tick labels into `lanes` rows, each a band above a strip.
fn lane_rows(lanes: usize, top: f64, h: f64) -> Vec<LaneRows> {
    let lanes = lanes.max(1);
    let row = (h - top) / lanes as f64;
    (0..lanes)
        .map(|i| {
            let band_top = top + row * i as f64;
            let band_h = row * 0.55;
            let strip_top = band_top + band_h + 2.0;
            LaneRows {
                band_top,
                band_h,
                strip_top,
                strip_h: (row - band_h - 4.0).max(1.0),
            }
        })
        .collect()
}

/// Deleted by retention/truncation: hatched red from the left edge to the first stored time.
fn draw_truncated(lane: &Lane, win: &TimeWindow, cr: &gtk::cairo::Context, w: f64, r: &LaneRows) {
    let Some(cut) = lane.timeline().truncated_before else {
        return;
    };
    let x = win.x_of(cut, w).clamp(0.0, w);
    if x <= 0.0 {
        return;
    }
    let (top, bh) = (r.band_top, r.band_h);
    cr.set_source_rgba(0.75, 0.2, 0.2, 0.35);
    cr.rectangle(0.0, top, x, bh);
    let _ = cr.fill();
    cr.set_source_rgba(0.85, 0.3, 0.3, 0.6);
    cr.set_line_width(1.0);
    let mut hx = -bh;
    while hx < x {
        cr.move_to(hx, top + bh);
        cr.line_to((hx + bh).min(x), top + (hx + bh - (hx + bh).min(x)));
        hx += 8.0;
    }
    let _ = cr.stroke();
}

/// One lane: the truncated head, the recorded ranges (the space between them is a gap), the bitrate strip
/// (bytes per 2-pixel bucket, scaled to the busiest bucket of the lane in view) and the camera's name.
fn draw_lane(lane: &Lane, s: &TimelineState, cr: &gtk::cairo::Context, w: f64, r: &LaneRows, named: bool) {
    let win = &s.window;
    draw_truncated(lane, win, cr, w, r);
    cr.set_source_rgb(0.21, 0.52, 0.89);
    for range in &lane.timeline().ranges {
        let end = if range.closed {
            range.end
        } else {
            s.edge.unwrap_or(range.end).max(range.end)
        };
        let (x0, x1) = (win.x_of(range.start, w), win.x_of(end, w));
        if x1 < 0.0 || x0 > w {
            continue;
        }
        let x0 = x0.max(0.0);
        cr.rectangle(x0, r.band_top, (x1.min(w) - x0).max(1.5), r.band_h);
    }
    let _ = cr.fill();

    let buckets = (w / 2.0).max(1.0) as usize;
    // Wide views add up the digest's minute cells; close up, the records in view are exact and few where the
    // lane holds them (recent footage), older footage stays in minutes.
    let bucket_span = win.span / buckets as u32;
    let close_up = lane
        .records_over(win.start)
        .filter(|_| bucket_span < lane.summary().step() * 4);
    let bytes = match close_up {
        Some(records) => bitrate_buckets(records, win.start, win.end(), buckets, DEFAULT_RANGE_GAP),
        None => lane.summary().buckets(win.start, win.end(), buckets),
    };
    if let Some(&max) = bytes.iter().max().filter(|m| **m > 0) {
        cr.set_source_rgba(0.55, 0.75, 0.95, 0.8);
        for (i, &b) in bytes.iter().enumerate() {
            if b == 0 {
                continue;
            }
            let bh = (b as f64 / max as f64) * r.strip_h;
            cr.rectangle(i as f64 * 2.0, r.strip_top + r.strip_h - bh, 2.0, bh);
        }
        let _ = cr.fill();
    }

    if named {
        cr.set_font_size(10.0);
        let tw = cr.text_extents(&lane.name).map(|e| e.width()).unwrap_or(60.0);
        cr.set_source_rgba(0.0, 0.0, 0.0, 0.6);
        cr.rectangle(2.0, r.band_top + 1.0, tw + 6.0, 12.0);
        let _ = cr.fill();
        cr.set_source_rgb(1.0, 1.0, 1.0);
        cr.move_to(5.0, r.band_top + 10.5);
        let _ = cr.show_text(&lane.name);
    }
}

/// Over the first lane: what retention deletes within the hour (an orange wash over the band), held ranges (a
/// green bar along the band's top) and bookmarks (a yellow flag each).
fn draw_marks(s: &TimelineState, cr: &gtk::cairo::Context, w: f64, r: &LaneRows) {
    let (win, m) = (&s.window, &s.marks);
    let span = |a: Timestamp, b: Timestamp| {
        let (x0, x1) = (win.x_of(a, w).max(0.0), win.x_of(b, w).min(w));
        (x1 > x0).then_some((x0, x1 - x0))
    };
    if let Some((x, dx)) = m.due.and_then(|(a, b)| span(a, b)) {
        cr.set_source_rgba(0.96, 0.47, 0.0, 0.55);
        cr.rectangle(x, r.band_top, dx.max(1.5), r.band_h);
        let _ = cr.fill();
    }
    cr.set_source_rgb(0.18, 0.76, 0.49);
    for (x, dx) in m.holds.iter().filter_map(|&(a, b)| span(a, b)) {
        cr.rectangle(x, r.band_top, dx.max(2.0), 4.0);
    }
    let _ = cr.fill();
    cr.set_source_rgb(0.96, 0.83, 0.18);
    for (t, _) in &m.bookmarks {
        let x = win.x_of(*t, w);
        if !(0.0..=w).contains(&x) {
            continue;
        }
        cr.rectangle(x - 0.75, r.band_top, 1.5, r.band_h);
        cr.move_to(x, r.band_top);
        cr.line_to(x + 7.0, r.band_top + 3.5);
        cr.line_to(x, r.band_top + 7.0);
        cr.close_path();
    }
    let _ = cr.fill();
}

/// At the deepest zoom, a tick under the band for each video frame of the first lane.
fn draw_frame_ticks(s: &TimelineState, cr: &gtk::cairo::Context, w: f64, r: &LaneRows) {
    if s.window.span > FRAME_TICKS_SPAN {
        return;
    }
    cr.set_source_rgba(1.0, 1.0, 1.0, 0.8);
    for t in &s.frame_times {
        let x = s.window.x_of(*t, w);
        if (0.0..=w).contains(&x) {
            cr.rectangle(x.floor(), r.band_top + r.band_h - 6.0, 1.0, 6.0);
        }
    }
    let _ = cr.fill();
}

/// Draws the whole timeline into a `w` × `h` area.
pub fn draw(s: &TimelineState, cr: &gtk::cairo::Context, w: f64, h: f64) {
    let win = &s.window;
    // Background.
    cr.set_source_rgb(0.14, 0.14, 0.16);
    cr.rectangle(0.0, 0.0, w, h);
    let _ = cr.fill();

    let label_h = 16.0;
    let band_top = label_h + 2.0;
    let rows = lane_rows(s.lanes.len(), band_top, h);
    let named = s.lanes.len() > 1;
    for (lane, r) in s.lanes.iter().zip(&rows) {
        draw_lane(lane, s, cr, w, r, named);
    }
    if let Some(first) = rows.first() {
        draw_marks(s, cr, w, first);
        draw_frame_ticks(s, cr, w, first);
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
