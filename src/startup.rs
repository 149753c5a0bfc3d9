//! How long the app takes to start, by stage: from `main` to the store opened, the GTK application started
//! (display connected, libadwaita's styles loaded), GStreamer ready (its registry read, our elements
//! registered), the window shown and the first video frame handed to the picture. Logged once at `info`
//! (`HINDSIGHT_LOG=hindsight=info`) and carried by the status report, where the startup benchmark reads it.

use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// The stages, in the order they usually end, with their time from `main`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct StartupReport {
    /// `(stage, ms since main)`, in the order the stages ended.
    pub stages: Vec<(String, f64)>,
    /// Wall-clock time of `main`, ns since the Unix epoch: with `first_frame_unix_ns`, lets a caller that
    /// noted when it started the process tell how long the loader took before `main`.
    pub main_unix_ns: u64,
    /// Wall-clock time the first frame reached the picture, ns since the Unix epoch (0: not yet).
    pub first_frame_unix_ns: u64,
}

struct Clock {
    began: Instant,
    began_wall: SystemTime,
    stages: Vec<(&'static str, Duration)>,
    first_frame: Option<SystemTime>,
}

impl Clock {
    fn new() -> Self {
        Clock {
            began: Instant::now(),
            began_wall: SystemTime::now(),
            stages: Vec::new(),
            first_frame: None,
        }
    }

    fn mark(&mut self, stage: &'static str) {
        if self.first_frame.is_none() && !self.stages.iter().any(|(s, _)| *s == stage) {
            let at = self.began.elapsed();
            self.stages.push((stage, at));
        }
    }

    /// The stages as a line for the log, the first time only.
    fn first_frame(&mut self) -> Option<String> {
        if self.first_frame.is_some() {
            return None;
        }
        let at = self.began.elapsed();
        self.stages.push(("first frame", at));
        self.first_frame = Some(SystemTime::now());
        Some(summary(&self.stages))
    }

    fn report(&self) -> StartupReport {
        let unix = |t: SystemTime| {
            t.duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        };
        StartupReport {
            stages: self
                .stages
                .iter()
                .map(|(s, d)| ((*s).to_owned(), d.as_secs_f64() * 1e3))
                .collect(),
            main_unix_ns: unix(self.began_wall),
            first_frame_unix_ns: self.first_frame.map_or(0, unix),
        }
    }
}

fn clock() -> MutexGuard<'static, Clock> {
    static CLOCK: OnceLock<Mutex<Clock>> = OnceLock::new();
    CLOCK
        .get_or_init(|| Mutex::new(Clock::new()))
        .lock()
        // Marks are appended whole; a panic elsewhere cannot leave them half written.
        .unwrap_or_else(|e| e.into_inner())
}

/// Starts the clock: the first thing `main` does.
pub fn begin() {
    drop(clock());
}

/// Notes that `stage` ended now. Only its first end counts, and nothing after the first frame.
pub fn mark(stage: &'static str) {
    clock().mark(stage);
}

/// Notes the first frame on screen and logs the stages, once.
pub fn first_frame() {
    let line = clock().first_frame();
    if let Some(stages) = line {
        tracing::info!(%stages, "startup");
    }
}

fn summary(stages: &[(&str, Duration)]) -> String {
    stages
        .iter()
        .map(|(s, d)| format!("{s} {:.1} ms", d.as_secs_f64() * 1e3))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The stages so far, for the status report.
pub fn report() -> StartupReport {
    clock().report()
}

/// Calls [`first_frame`] when `paintable` first gets an image (gtk4paintablesink invalidates its contents
/// with each frame it hands over), then stops listening.
pub fn watch_first_frame(paintable: &relm4::gtk::gdk::Paintable) {
    use relm4::gtk::prelude::*;
    use std::cell::RefCell;
    use std::rc::Rc;
    if clock().first_frame.is_some() {
        return;
    }
    let id = Rc::new(RefCell::new(None));
    let handler = id.clone();
    let signal = paintable.connect_invalidate_contents(move |p| {
        first_frame();
        if let Some(h) = handler.borrow_mut().take() {
            p.disconnect(h);
        }
    });
    id.replace(Some(signal));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_count_once_and_stop_at_the_first_frame() {
        let mut c = Clock::new();
        c.mark("store");
        c.mark("store");
        c.mark("gtk");
        assert_eq!(c.report().first_frame_unix_ns, 0);
        assert!(c.first_frame().is_some_and(|line| line.starts_with("store ")));
        c.mark("late");
        assert_eq!(c.first_frame(), None);
        let r = c.report();
        let names: Vec<&str> = r.stages.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(names, ["store", "gtk", "first frame"]);
        assert!(r.stages.windows(2).all(|w| w[0].1 <= w[1].1), "{:?}", r.stages);
        assert!(r.first_frame_unix_ns >= r.main_unix_ns && r.main_unix_ns > 0);
        assert_eq!(summary(&[("a", Duration::from_micros(1500))]), "a 1.5 ms");
    }
}
