//! Clip export from the player: marks (I/O or Shift-drag), the save dialog, and the export as an engine
//! [`Job`] with a progress row and Cancel; the same engine code as `hindsight export`. A synchronized review
//! exports a case of all its cameras instead ([`super::case_export`]), through the same dialog and row.

use std::path::PathBuf;

use gettextrs::gettext;
use relm4::adw::prelude::*;
use relm4::{gtk, ComponentSender};

use super::{PlayerCmd, PlayerMsg, PlayerPage, PlayerWidgets};
use crate::engine::export::{self, ExportOptions, ExportSummary};
use crate::engine::job::{Canceller, Job, JobEvent};
use crate::human;
use crate::ui::i18n::i18n_f;
use crate::ui::jobs;
use crate::ui::localtime;
use crate::ui::timeline_model::{case_folder_name, clip_file_name, ClipSelection};

/// The export running now.
pub(super) struct ExportJob {
    pub(super) canceller: Canceller,
    /// The clip's file or the case's folder.
    pub(super) output: PathBuf,
}

impl PlayerPage {
    /// Marks the start (`true`) or end of the clip to export at the frame on screen.
    pub(super) fn mark_clip(&self, w: &PlayerWidgets, start: bool, sender: &ComponentSender<Self>) {
        let Some(pos) = self.player.as_ref().and_then(|p| p.position()) else {
            return;
        };
        let mut sel = w.timeline.selection();
        if start {
            sel.mark_start(pos);
        } else {
            sel.mark_end(pos);
        }
        w.timeline.set_selection(sel);
        self.on_selected(sel, sender);
    }

    pub(super) fn on_selected(&self, sel: ClipSelection, sender: &ComponentSender<Self>) {
        if let Some((a, b)) = sel.range() {
            self.toast(
                sender,
                // Translators: the start and end date-times of a clip, then its length.
                i18n_f(
                    "Clip {} – {} ({})",
                    &[
                        &localtime::format(a),
                        &localtime::format(b),
                        &human::duration(b.duration_since(a)),
                    ],
                ),
            );
        }
    }

    /// Asks where to save the marked clip (or, with several cameras, the case folder); the answer comes back as
    /// [`PlayerMsg::ExportTo`].
    pub(super) fn export_clip(&mut self, w: &PlayerWidgets, root: &gtk::Box, sender: &ComponentSender<Self>) {
        let Some(stream) = self.stream.clone() else { return };
        if self.export.is_some() {
            self.toast(sender, gettext("An export is already running"));
            return;
        }
        if let Some(dialog) = &self.save_dialog {
            // Already asking where to save: bring that dialog back rather than opening a second one.
            dialog.show();
            return;
        }
        let Some((from, _)) = w.timeline.selection().range() else {
            self.toast(
                sender,
                gettext(
                    "Mark a clip first: Shift-drag on the timeline, or press I and O at its start and end",
                ),
            );
            return;
        };
        let start = localtime::format(from);
        let case = self.slots.len() > 1;
        let (title, name) = if case {
            (
                gettext("Export Case"),
                case_folder_name(&stream.to_string(), &start),
            )
        } else {
            (
                gettext("Export Clip"),
                clip_file_name(&stream.to_string(), &start),
            )
        };
        let parent = root.root().and_then(|r| r.downcast::<gtk::Window>().ok());
        let dialog = gtk::FileChooserNative::new(
            Some(&title),
            parent.as_ref(),
            gtk::FileChooserAction::Save,
            Some(&gettext("_Export")),
            Some(&gettext("_Cancel")),
        );
        dialog.set_modal(true);
        // Clips go to the Videos folder by default (home when there is none).
        let folder = gtk::glib::user_special_dir(gtk::glib::UserDirectory::Videos)
            .filter(|d| d.is_dir())
            .unwrap_or_else(gtk::glib::home_dir);
        if let Err(e) = dialog.set_current_folder(Some(&gtk::gio::File::for_path(&folder))) {
            tracing::debug!(error = %e, folder = %folder.display(), "cannot preselect the folder");
        }
        dialog.set_current_name(&name);
        if !case {
            let filter = gtk::FileFilter::new();
            filter.set_name(Some(&gettext("MP4 video")));
            filter.add_mime_type("video/mp4");
            filter.add_suffix("mp4");
            dialog.add_filter(&filter);
        }
        let input = sender.input_sender().clone();
        dialog.connect_response(move |d, response| {
            let path = (response == gtk::ResponseType::Accept)
                .then(|| d.file().and_then(|f| f.path()))
                .flatten();
            d.destroy();
            input.emit(PlayerMsg::ExportTo(path));
        });
        dialog.show();
        self.save_dialog = Some(dialog);
    }

    /// Starts the export of the marked clip to `path` (`None`: the dialog was cancelled).
    pub(super) fn export_to(
        &mut self,
        w: &PlayerWidgets,
        path: Option<PathBuf>,
        sender: &ComponentSender<Self>,
    ) {
        self.save_dialog = None;
        if self.export.is_some() {
            self.toast(sender, gettext("An export is already running"));
            return;
        }
        if let (Some(dir), true) = (&path, self.slots.len() > 1) {
            self.case_to(w, dir.clone(), sender);
            return;
        }
        let (Some(output), Some(store), Some(stream), Some((from, to))) = (
            path,
            self.store.clone(),
            self.stream.clone(),
            w.timeline.selection().range(),
        ) else {
            return;
        };
        let opts = ExportOptions {
            store,
            stream,
            from,
            to,
            output: output.clone(),
        };
        let job = Job::spawn("export", move |ctx| {
            export::run(&opts, ctx.cancel_flag(), |f| ctx.progress(f))
        });
        let job = match job {
            Ok(job) => job,
            Err(e) => {
                self.toast(sender, format!("{}: {e:#}", gettext("Cannot start the export")));
                return;
            }
        };
        let name = output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.start_export_row(
            w,
            job.canceller(),
            output,
            &format!("{} {name}", gettext("Exporting")),
        );
        jobs::forward(sender, job, PlayerCmd::Export);
    }

    /// Shows the progress row of an export that has just started.
    pub(super) fn start_export_row(
        &mut self,
        w: &PlayerWidgets,
        canceller: Canceller,
        output: PathBuf,
        text: &str,
    ) {
        self.export = Some(ExportJob { canceller, output });
        w.export_label.set_label(text);
        w.export_bar.set_fraction(0.0);
        w.export_row.set_visible(true);
        w.export_row.set_reveal_child(true);
    }

    /// Hides the progress row of the export that ended, and hands it back (`None`: none was running).
    pub(super) fn finish_export_row(&mut self, w: &PlayerWidgets) -> Option<ExportJob> {
        let job = self.export.take()?;
        w.export_row.set_reveal_child(false);
        w.export_row.set_visible(false);
        Some(job)
    }

    /// Stops the running export; its partial file is removed.
    pub(super) fn cancel_export(&self) {
        if let Some(job) = &self.export {
            job.canceller.cancel();
        }
    }

    /// Shows the export's progress and, once it ended, its outcome.
    pub(super) fn on_export(
        &mut self,
        w: &PlayerWidgets,
        event: JobEvent<f64, ExportSummary>,
        sender: &ComponentSender<Self>,
    ) {
        match event {
            JobEvent::Progress(fraction) => w.export_bar.set_fraction(fraction),
            JobEvent::Finished(result) => {
                let Some(job) = self.finish_export_row(w) else {
                    return;
                };
                let text = match result {
                    Ok(summary) => format!(
                        "{} {} ({})",
                        gettext("Exported"),
                        job.output.display(),
                        human::bytes(summary.bytes)
                    ),
                    Err(e) => e,
                };
                self.toast(sender, text);
            }
        }
    }
}
