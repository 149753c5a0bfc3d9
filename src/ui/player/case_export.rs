//! Case export from a synchronized review: every camera in the view over the marked range, into one folder with
//! an MP4 per camera and a signed `case.json` (the same engine code as `hindsight export --case`), then checked
//! against the store the way `hindsight verify CASE` does, so the toast can say the case verifies.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use gettextrs::gettext;
use hindsight_store::evidence::{default_key_path, SigningKey};
use relm4::ComponentSender;

use super::{PlayerCmd, PlayerPage, PlayerWidgets};
use crate::engine::case::{self, CaseOptions};
use crate::engine::job::{Job, JobEvent};
use crate::ui::i18n::i18n_f;
use crate::ui::jobs;

/// What a finished case export wrote and what checking it found.
#[derive(Debug, Clone)]
pub struct CaseSummary {
    /// The case folder.
    pub dir: PathBuf,
    /// Cameras exported.
    pub cameras: usize,
    /// Frames over all cameras.
    pub frames: usize,
    /// What the check found wrong (empty: the case verifies).
    pub problems: Vec<String>,
}

/// Progress of a case export: the camera being exported (its place in the view) and its fraction done.
pub type CaseProgress = (usize, f64);

/// The whole export's fraction: the cameras before `camera` are done, `camera` is `fraction` done.
pub fn overall_fraction((camera, fraction): CaseProgress, cameras: usize) -> f64 {
    if cameras == 0 {
        return 0.0;
    }
    ((camera as f64 + fraction.clamp(0.0, 1.0)) / cameras as f64).clamp(0.0, 1.0)
}

impl PlayerPage {
    /// Starts the case export of every camera shown over the marked range into `dir`.
    pub(super) fn case_to(&mut self, w: &PlayerWidgets, dir: PathBuf, sender: &ComponentSender<Self>) {
        let (Some(store), Some((from, to))) = (self.store.clone(), w.timeline.selection().range()) else {
            return;
        };
        let streams: Vec<_> = self.slots.iter().map(|s| s.stream.clone()).collect();
        let job_dir = dir.clone();
        let job = Job::spawn("case-export", move |ctx| {
            let key = SigningKey::load_or_create(&default_key_path())
                .context("cannot load the installation's signing key")?;
            let opts = CaseOptions {
                store,
                streams,
                from,
                to,
                dir: job_dir,
                key: Arc::new(key),
            };
            let manifest =
                case::export_case(&opts, ctx.cancel_flag(), |camera, f| ctx.progress((camera, f)))?;
            let report = case::verify_case(&opts.dir, Some(opts.store.as_ref()));
            Ok(CaseSummary {
                dir: opts.dir,
                cameras: manifest.cameras.len(),
                frames: manifest.cameras.iter().map(|c| c.frames.len()).sum(),
                problems: report.problems,
            })
        });
        let job = match job {
            Ok(job) => job,
            Err(e) => {
                self.toast(sender, format!("{}: {e:#}", gettext("Cannot start the export")));
                return;
            }
        };
        let text = self.case_progress_text((0, 0.0));
        self.start_export_row(w, job.canceller(), dir, &text);
        jobs::forward(sender, job, PlayerCmd::Case);
    }

    /// "Exporting CAMERA (2 of 4)".
    fn case_progress_text(&self, (camera, _): CaseProgress) -> String {
        let name = self
            .slots
            .get(camera)
            .map(|s| s.stream.to_string())
            .unwrap_or_default();
        // Translators: a camera's stream name, then its place among the cameras exported and their number.
        i18n_f(
            "Exporting {} ({} of {})",
            &[&name, &(camera + 1).to_string(), &self.slots.len().to_string()],
        )
    }

    /// Shows the case export's progress and, once it ended, its outcome.
    pub(super) fn on_case(
        &mut self,
        w: &PlayerWidgets,
        event: JobEvent<CaseProgress, CaseSummary>,
        sender: &ComponentSender<Self>,
    ) {
        match event {
            JobEvent::Progress(p) => {
                w.export_bar.set_fraction(overall_fraction(p, self.slots.len()));
                w.export_label.set_label(&self.case_progress_text(p));
            }
            JobEvent::Finished(result) => {
                if self.finish_export_row(w).is_none() {
                    return;
                }
                let text = match result {
                    Ok(s) if s.problems.is_empty() => i18n_f(
                        // Translators: the case folder, the number of cameras and of frames.
                        "Case exported to {}: {} cameras, {} frames, signed and verified",
                        &[
                            &s.dir.display().to_string(),
                            &s.cameras.to_string(),
                            &s.frames.to_string(),
                        ],
                    ),
                    Ok(s) => {
                        tracing::warn!(problems = ?s.problems, dir = %s.dir.display(), "exported case does not verify");
                        i18n_f(
                            "Case exported to {}, but it does not verify: {}",
                            &[&s.dir.display().to_string(), &s.problems.join("; ")],
                        )
                    }
                    Err(e) => e,
                };
                self.toast(sender, text);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_counts_the_cameras_already_exported() {
        assert_eq!(overall_fraction((0, 0.0), 4), 0.0);
        assert_eq!(overall_fraction((0, 0.5), 4), 0.125);
        assert_eq!(overall_fraction((2, 0.0), 4), 0.5);
        assert_eq!(overall_fraction((3, 1.0), 4), 1.0);
        // Out-of-range reports never push the bar past its ends.
        assert_eq!(overall_fraction((3, 7.0), 4), 1.0);
        assert_eq!(overall_fraction((9, 0.0), 4), 1.0);
        assert_eq!(overall_fraction((0, 0.5), 0), 0.0);
    }
}
