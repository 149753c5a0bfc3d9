//! The timeline of 30 days recorded with a key frame a second (2.6 million index records), drawn at its widest
//! (the whole month across 1280 px) and at a day: the app's own drawing code into a cairo image surface (the
//! drawing model on the CPU, not the GPU). Its bitrate strip adds up the lane's byte summary, built
//! incrementally as records come. Baseline in the same run: the same drawing from the records themselves, as
//! before the summary. Also what building the summary costs, at once and per minute of new records. Figures
//! only.

use std::time::{Duration, Instant};

use hindsight::timeline::{Lane, TimelineState};
use hindsight::timeline_draw::draw;
use hindsight::timeline_model::TimeWindow;
use hindsight_store::format::{Flags, IndexRecord};
use hindsight_store::timeline::ByteSummary;
use hindsight_store::{Timestamp, DEFAULT_RANGE_GAP};
use hindsight_testkit::{ms, ratio, Latencies};
use relm4::gtk::cairo;

const DAYS: u64 = 30;
const DRAWS: usize = 30;
const WIDTH: i32 = 1280;
const HEIGHT: i32 = 72;

fn records() -> Vec<IndexRecord> {
    let start = Timestamp::now().saturating_sub(Duration::from_secs(DAYS * 86_400));
    let mut offset = 0u64;
    (0..DAYS * 86_400)
        // A camera that was off for an hour every other day.
        .filter(|s| !(s % (2 * 86_400) > 40_000 && s % (2 * 86_400) < 43_600))
        .map(|s| {
            offset += 40_000 + (s % 7) * 1_000;
            IndexRecord {
                flags: Flags::new(false, true, s == 0),
                timestamp: start.saturating_add(Duration::from_secs(s)),
                offset,
            }
        })
        .collect()
}

fn draw_times(state: &TimelineState) -> Latencies {
    let surface = cairo::ImageSurface::create(cairo::Format::ARgb32, WIDTH, HEIGHT).expect("surface");
    let cr = cairo::Context::new(&surface).expect("context");
    Latencies::new((0..DRAWS).map(|_| {
        let start = Instant::now();
        draw(state, &cr, f64::from(WIDTH), f64::from(HEIGHT));
        start.elapsed()
    }))
}

fn main() {
    let records = records();
    println!(
        "== timeline: {DAYS} days, a key frame a second ({} index records), {WIDTH}x{HEIGHT} px ==",
        records.len()
    );
    let built = Instant::now();
    let lane = Lane::from_records("cam".into(), 0, records.clone());
    println!("lane built at once (ranges and summary): {}", ms(built.elapsed()));
    // Growing by a minute of records at a time: what each index read adds.
    let mut growing = Lane::from_records("cam".into(), 0, records[..records.len() - 600].to_vec());
    let per_minute = Latencies::new(records[records.len() - 600..].chunks(60).map(|minute| {
        let start = Instant::now();
        growing.append(minute);
        start.elapsed()
    }));
    println!(
        "  taking in a minute of new records: p50 {}",
        ms(per_minute.p50())
    );
    assert_eq!(growing.summary(), lane.summary(), "grown and built at once agree");

    let month = TimeWindow::around(records[0].timestamp, records[records.len() - 1].timestamp);
    let day = TimeWindow {
        start: records[records.len() - 1]
            .timestamp
            .saturating_sub(Duration::from_secs(86_400)),
        span: Duration::from_secs(86_400),
    };
    // The baseline lane holds every record and a summary too coarse to use, so the strip comes from the records.
    let mut raw = Lane {
        recent: records.clone(),
        ..lane.clone()
    };
    raw.digest.bytes = ByteSummary::new(Duration::from_secs(400 * 86_400), DEFAULT_RANGE_GAP);
    for (label, window) in [("whole month", month), ("one day", day)] {
        let state = |lane: &Lane| TimelineState {
            window,
            lanes: vec![lane.clone()],
            ..TimelineState::default()
        };
        let (s, r) = (draw_times(&state(&lane)), draw_times(&state(&raw)));
        println!("draw, {label} ({DRAWS} draws):");
        println!(
            "  summary:                 p50 {}  p95 {}",
            ms(s.p50()),
            ms(s.p95())
        );
        println!(
            "  baseline (records):      p50 {}  p95 {}",
            ms(r.p50()),
            ms(r.p95())
        );
        println!(
            "  ratio summary/records:   p50 {:.2}x  p95 {:.2}x",
            ratio(s.p50(), r.p50()),
            ratio(s.p95(), r.p95())
        );
    }
}
