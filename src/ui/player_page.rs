//! The player page: the video, the timeline, transport controls, the live edge and go-to-time.
//!
//! The page owns a [`Player`] (the media engine) and never touches elements itself. A 100 ms tick moves the
//! playhead and the LIVE/behind state; a 2 s tick re-reads the index in a worker thread so the timeline grows
//! with a recording and follows truncation.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gettextrs::gettext;
use hindsight_store::video::{summarize, IndexReader};
use hindsight_store::{Backend, IndexRecord, StreamName, Timestamp};
use relm4::adw::prelude::*;
use relm4::{adw, gtk};

use crate::engine::export::{self, ExportOptions, ExportSummary};
use crate::engine::player::{Player, PlayerEvent, StartAt};
use crate::human;
use crate::ui::localtime;
use crate::ui::status_report;
use crate::ui::timeline::TimelineWidget;
use crate::ui::timeline_model::{clip_file_name, ClipSelection, LiveStatus, ScrubThrottle};

const SPEEDS: [f64; 5] = [0.25, 0.5, 1.0, 2.0, 4.0];
const SEEK_STEP: Duration = Duration::from_secs(10);
const SCRUB_INTERVAL: Duration = Duration::from_millis(120);

/// Index data read in the background.
struct Snapshot {
    first: u64,
    records: Vec<IndexRecord>,
    recording: bool,
}

fn read_snapshot(store: &dyn Backend, name: &StreamName) -> Result<Snapshot, String> {
    let summary = summarize(store, name).map_err(|e| e.to_string())?;
    let (first, records) = IndexReader::open(store, name)
        .and_then(|mut i| i.read_all())
        .map_err(|e| e.to_string())?;
    Ok(Snapshot {
        first,
        records,
        recording: summary.data.writer_active == Some(true),
    })
}

/// How an export running in a worker thread is doing; the 100 ms tick shows it.
#[derive(Default)]
struct ExportProgress {
    fraction: f64,
    result: Option<Result<ExportSummary, String>>,
}

/// An export in a worker thread.
struct ExportJob {
    cancel: Arc<std::sync::atomic::AtomicBool>,
    progress: Arc<std::sync::Mutex<ExportProgress>>,
    output: std::path::PathBuf,
    /// To notice a worker that ended without a result (a panic).
    thread: Option<std::thread::JoinHandle<()>>,
}

struct State {
    store: Option<Arc<dyn Backend>>,
    stream: Option<StreamName>,
    player: Option<Rc<Player>>,
    throttle: ScrubThrottle,
    recording: bool,
    loading_index: bool,
    generation: u64,
    /// Go to the live edge once the first frame is up (open with `StartAt::Live`).
    live_when_ready: bool,
    export: Option<ExportJob>,
}

type ToastFn = Box<dyn Fn(String)>;

/// Widgets and state of the page.
pub struct Inner {
    /// The page's root widget.
    pub root: gtk::Box,
    stack: gtk::Stack,
    picture: gtk::Picture,
    error_page: adw::StatusPage,
    error_detail: gtk::Label,
    live_badge: gtk::Label,
    behind_label: gtk::Label,
    time_label: gtk::Label,
    play_button: gtk::Button,
    speed: gtk::DropDown,
    goto_entry: gtk::Entry,
    goto_popover: gtk::Popover,
    timeline: TimelineWidget,
    export_row: gtk::Revealer,
    export_label: gtk::Label,
    export_bar: gtk::ProgressBar,
    toast: RefCell<Option<ToastFn>>,
    /// The open save dialog: a native dialog lives only as long as someone holds it.
    save_dialog: RefCell<Option<gtk::FileChooserNative>>,
    state: RefCell<State>,
    error: RefCell<Option<String>>,
}

/// The player page (cheap to clone).
#[derive(Clone)]
pub struct PlayerPage(Rc<Inner>);

fn icon_button(icon: &str, tooltip: &str) -> gtk::Button {
    let b = gtk::Button::from_icon_name(icon);
    b.set_tooltip_text(Some(tooltip));
    b.add_css_class("flat");
    b
}

impl PlayerPage {
    /// Builds the page's widgets.
    pub fn new() -> Self {
        let picture = gtk::Picture::builder()
            .hexpand(true)
            .vexpand(true)
            .content_fit(gtk::ContentFit::Contain)
            .build();
        picture.add_css_class("video");
        let live_badge = gtk::Label::builder()
            .label(gettext("LIVE"))
            .halign(gtk::Align::Start)
            .valign(gtk::Align::Start)
            .margin_start(12)
            .margin_top(12)
            .visible(false)
            .build();
        live_badge.add_css_class("live-badge");
        let behind_label = gtk::Label::builder()
            .halign(gtk::Align::Start)
            .valign(gtk::Align::Start)
            .margin_start(12)
            .margin_top(12)
            .visible(false)
            .build();
        behind_label.add_css_class("osd-label");
        let overlay = gtk::Overlay::new();
        overlay.set_child(Some(&picture));
        overlay.add_overlay(&live_badge);
        overlay.add_overlay(&behind_label);

        let error_detail = gtk::Label::builder().selectable(true).wrap(true).build();
        error_detail.add_css_class("monospace");
        error_detail.add_css_class("dim-label");
        let error_page = adw::StatusPage::builder()
            .icon_name("dialog-error-symbolic")
            .title(gettext("Cannot Play This Stream"))
            .child(&error_detail)
            .build();
        let stack = gtk::Stack::new();
        stack.add_named(&overlay, Some("video"));
        stack.add_named(&error_page, Some("error"));
        stack.set_vexpand(true);

        let timeline = TimelineWidget::new();

        let play_button = icon_button("media-playback-start-symbolic", &gettext("Play (Space)"));
        let prev_range = icon_button(
            "media-skip-backward-symbolic",
            &gettext("Previous recording (Page Up)"),
        );
        let back = icon_button("media-seek-backward-symbolic", &gettext("Back 10 seconds (Left)"));
        let forward = icon_button(
            "media-seek-forward-symbolic",
            &gettext("Forward 10 seconds (Right)"),
        );
        let next_range = icon_button(
            "media-skip-forward-symbolic",
            &gettext("Next recording (Page Down)"),
        );
        let step = icon_button("go-next-symbolic", &gettext("Next frame (.)"));
        let time_label = gtk::Label::builder().label("--").build();
        time_label.add_css_class("numeric");
        let speed_labels: Vec<String> = SPEEDS.iter().map(|s| format!("{s}×")).collect();
        let speed_refs: Vec<&str> = speed_labels.iter().map(String::as_str).collect();
        let speed = gtk::DropDown::from_strings(&speed_refs);
        speed.set_selected(2);
        speed.set_tooltip_text(Some(&gettext("Playback speed")));
        let zoom_out = icon_button("zoom-out-symbolic", &gettext("Zoom out (-)"));
        let zoom_in = icon_button("zoom-in-symbolic", &gettext("Zoom in (+)"));

        let goto_entry = gtk::Entry::builder()
            .placeholder_text("2024-05-01 14:30:00")
            .width_chars(22)
            .build();
        let goto_box = gtk::Box::new(gtk::Orientation::Vertical, 6);
        goto_box.append(&gtk::Label::new(Some(&gettext("Go to date and time (local)"))));
        goto_box.append(&goto_entry);
        let goto_popover = gtk::Popover::builder().child(&goto_box).build();
        let goto_button = gtk::MenuButton::builder()
            .icon_name("x-office-calendar-symbolic")
            .tooltip_text(gettext("Go to time (Ctrl+G)"))
            .popover(&goto_popover)
            .build();
        goto_button.add_css_class("flat");
        let export_button = icon_button(
            "document-save-symbolic",
            &gettext("Export the marked clip (Ctrl+E)"),
        );
        let live_button = gtk::Button::with_label(&gettext("Live"));
        live_button.set_tooltip_text(Some(&gettext("Jump to the live edge (L)")));
        live_button.add_css_class("destructive-action");

        let controls = gtk::Box::new(gtk::Orientation::Horizontal, 4);
        controls.set_margin_start(8);
        controls.set_margin_end(8);
        for w in [&prev_range, &back, &play_button, &forward, &next_range, &step] {
            controls.append(w);
        }
        controls.append(&time_label);
        let spacer = gtk::Box::new(gtk::Orientation::Horizontal, 0);
        spacer.set_hexpand(true);
        controls.append(&spacer);
        controls.append(&zoom_out);
        controls.append(&zoom_in);
        controls.append(&goto_button);
        controls.append(&export_button);
        controls.append(&speed);
        controls.append(&live_button);

        // The export progress row: what is being written, how far, and a way to stop it.
        let export_label = gtk::Label::builder()
            .ellipsize(gtk::pango::EllipsizeMode::Middle)
            .build();
        let export_bar = gtk::ProgressBar::builder()
            .hexpand(true)
            .valign(gtk::Align::Center)
            .build();
        let export_cancel = gtk::Button::with_label(&gettext("Cancel"));
        let export_box = gtk::Box::new(gtk::Orientation::Horizontal, 12);
        export_box.set_margin_start(12);
        export_box.set_margin_end(12);
        export_box.append(&gtk::Image::from_icon_name("document-save-symbolic"));
        export_box.append(&export_label);
        export_box.append(&export_bar);
        export_box.append(&export_cancel);
        let export_row = gtk::Revealer::builder()
            .child(&export_box)
            .reveal_child(false)
            .build();

        let bottom = gtk::Box::new(gtk::Orientation::Vertical, 6);
        bottom.set_margin_top(6);
        bottom.set_margin_bottom(8);
        bottom.append(&export_row);
        bottom.append(&timeline.area);
        bottom.append(&controls);

        let root = gtk::Box::new(gtk::Orientation::Vertical, 0);
        root.append(&stack);
        root.append(&bottom);

        let page = PlayerPage(Rc::new(Inner {
            root,
            stack,
            picture,
            error_page,
            error_detail,
            live_badge,
            behind_label,
            time_label,
            play_button: play_button.clone(),
            speed: speed.clone(),
            goto_entry: goto_entry.clone(),
            goto_popover,
            timeline: timeline.clone(),
            export_row,
            export_label,
            export_bar,
            toast: RefCell::new(None),
            save_dialog: RefCell::new(None),
            error: RefCell::new(None),
            state: RefCell::new(State {
                store: None,
                stream: None,
                player: None,
                throttle: ScrubThrottle::new(SCRUB_INTERVAL),
                recording: false,
                loading_index: false,
                generation: 0,
                live_when_ready: false,
                export: None,
            }),
        }));

        let p = page.clone();
        play_button.connect_clicked(move |_| p.toggle_play());
        let p = page.clone();
        back.connect_clicked(move |_| p.seek_relative(-(SEEK_STEP.as_secs_f64())));
        let p = page.clone();
        forward.connect_clicked(move |_| p.seek_relative(SEEK_STEP.as_secs_f64()));
        let p = page.clone();
        prev_range.connect_clicked(move |_| p.jump_range(false));
        let p = page.clone();
        next_range.connect_clicked(move |_| p.jump_range(true));
        let p = page.clone();
        step.connect_clicked(move |_| p.step_frame());
        let p = page.clone();
        live_button.connect_clicked(move |_| p.go_live());
        let p = page.clone();
        zoom_in.connect_clicked(move |_| p.0.timeline.zoom(0.5));
        let p = page.clone();
        zoom_out.connect_clicked(move |_| p.0.timeline.zoom(2.0));
        let p = page.clone();
        speed.connect_selected_notify(move |d| {
            p.set_speed(SPEEDS.get(d.selected() as usize).copied().unwrap_or(1.0))
        });
        let p = page.clone();
        goto_entry.connect_activate(move |e| p.goto_text(&e.text()));
        let p = page.clone();
        timeline.connect_scrub(move |t, done| p.scrub(t, done));
        let p = page.clone();
        timeline.connect_select(move |sel| p.on_selected(sel));
        let p = page.clone();
        export_button.connect_clicked(move |_| p.export_clip());
        let p = page.clone();
        export_cancel.connect_clicked(move |_| p.cancel_export());

        let weak = Rc::downgrade(&page.0);
        gtk::glib::timeout_add_local(Duration::from_millis(100), move || match weak.upgrade() {
            Some(inner) => {
                PlayerPage(inner).tick();
                gtk::glib::ControlFlow::Continue
            }
            None => gtk::glib::ControlFlow::Break,
        });
        let weak = Rc::downgrade(&page.0);
        gtk::glib::timeout_add_local(Duration::from_secs(2), move || match weak.upgrade() {
            Some(inner) => {
                PlayerPage(inner).reload_index();
                gtk::glib::ControlFlow::Continue
            }
            None => gtk::glib::ControlFlow::Break,
        });
        page
    }

    /// The root widget to pack.
    pub fn widget(&self) -> &gtk::Box {
        &self.0.root
    }

    /// Where transient errors go (the window's toast overlay).
    pub fn connect_toast(&self, f: impl Fn(String) + 'static) {
        *self.0.toast.borrow_mut() = Some(Box::new(f));
    }

    fn toast(&self, text: String) {
        tracing::info!(%text, "toast");
        if let Some(f) = self.0.toast.borrow().as_ref() {
            f(text);
        }
    }

    /// Opens `stream` and starts playing at `start`.
    pub fn open(&self, store: Arc<dyn Backend>, stream: StreamName, start: StartAt) {
        self.close();
        // A clip marked on another stream means nothing here.
        self.0.timeline.set_selection(ClipSelection::default());
        let weak = Rc::downgrade(&self.0);
        let generation = {
            let mut st = self.0.state.borrow_mut();
            st.generation += 1;
            st.generation
        };
        // Live opens at the newest key frame and then takes the same path as the Live button.
        self.0.state.borrow_mut().live_when_ready = start == StartAt::Live;
        let player = Player::new(store.clone(), &stream, start, move |event| {
            if let Some(inner) = weak.upgrade() {
                PlayerPage(inner).on_event(generation, event);
            }
        });
        match player {
            Ok(player) => {
                self.0.picture.set_paintable(Some(player.paintable()));
                self.0.stack.set_visible_child_name("video");
                *self.0.error.borrow_mut() = None;
                if let Err(e) = player.play() {
                    self.show_error(&gettext("Playback could not start"), &format!("{e:#}"));
                }
                let mut st = self.0.state.borrow_mut();
                st.player = Some(player);
                st.store = Some(store);
                st.stream = Some(stream);
            }
            Err(e) => {
                self.show_error(&gettext("Playback could not start"), &format!("{e:#}"));
                let mut st = self.0.state.borrow_mut();
                st.store = Some(store);
                st.stream = Some(stream);
            }
        }
        self.reload_index();
    }

    /// Stops playback and releases the stream.
    pub fn close(&self) {
        let player = {
            let mut st = self.0.state.borrow_mut();
            st.stream = None;
            st.recording = false;
            st.player.take()
        };
        self.0.picture.set_paintable(gtk::gdk::Paintable::NONE);
        drop(player);
    }

    /// The stream open now.
    pub fn stream(&self) -> Option<StreamName> {
        self.0.state.borrow().stream.clone()
    }

    fn player(&self) -> Option<Rc<Player>> {
        self.0.state.borrow().player.clone()
    }

    fn show_error(&self, message: &str, detail: &str) {
        tracing::warn!(message, detail, "player error");
        self.0.error_page.set_description(Some(message));
        self.0.error_detail.set_label(detail);
        *self.0.error.borrow_mut() = Some(message.to_owned());
        self.report(None, false, "not-recording");
        self.0.stack.set_visible_child_name("error");
    }

    fn on_event(&self, generation: u64, event: PlayerEvent) {
        if self.0.state.borrow().generation != generation {
            return;
        }
        match event {
            PlayerEvent::Playing(playing) => self.0.play_button.set_icon_name(if playing {
                "media-playback-pause-symbolic"
            } else {
                "media-playback-start-symbolic"
            }),
            PlayerEvent::Settled => {
                let live = std::mem::take(&mut self.0.state.borrow_mut().live_when_ready);
                if live {
                    self.go_live();
                }
                self.tick();
            }
            PlayerEvent::Ended => self.toast(gettext("End of the recording")),
            PlayerEvent::Error { message, detail } => {
                let stream = self.stream().map(|s| s.to_string()).unwrap_or_default();
                self.show_error(&format!("{stream}: {message}"), &detail);
                self.close();
            }
        }
    }

    /// Play/pause.
    pub fn toggle_play(&self) {
        let Some(player) = self.player() else { return };
        let result = if player.is_playing() {
            player.pause()
        } else {
            player.play()
        };
        if let Err(e) = result {
            self.toast(format!("{e:#}"));
        }
    }

    fn seek(&self, t: Timestamp) {
        if let Some(player) = self.player() {
            if let Err(e) = player.seek(t) {
                self.toast(format!("{e:#}"));
            }
            self.0.timeline.set_playhead(Some(t));
        }
    }

    /// Seeks by `secs` seconds (negative: back) from the frame on screen.
    pub fn seek_by(&self, secs: f64) {
        self.seek_relative(secs);
    }

    fn seek_relative(&self, secs: f64) {
        let Some(pos) = self.player().and_then(|p| p.position()) else {
            return;
        };
        let d = Duration::from_secs_f64(secs.abs());
        self.seek(if secs < 0.0 {
            pos.saturating_sub(d)
        } else {
            pos.saturating_add(d)
        });
    }

    /// Previous (false) or next (true) recorded range.
    pub fn jump_range(&self, next: bool) {
        let Some(pos) = self.player().and_then(|p| p.position()) else {
            return;
        };
        let timeline = self.0.timeline.timeline();
        let target = if next {
            timeline.next_range(pos).map(|r| r.start)
        } else {
            // Within the first seconds of a range, go to the one before it.
            let current = timeline.range_at(pos).map(|r| r.start);
            match current {
                Some(start) if pos.duration_since(start) > Duration::from_secs(3) => Some(start),
                _ => timeline
                    .previous_range(pos.saturating_sub(Duration::from_secs(3)))
                    .map(|r| r.start),
            }
        };
        match target {
            Some(t) => self.seek(t),
            None => self.toast(gettext("No more recordings in that direction")),
        }
    }

    /// Jumps to the first key frame.
    pub fn go_start(&self) {
        if let Some(first) = self.0.timeline.timeline().ranges.first() {
            self.seek(first.start);
        }
    }

    /// Follows the live edge.
    pub fn go_live(&self) {
        let Some(player) = self.player() else { return };
        match player.go_live() {
            Ok(()) => self.0.speed.set_selected(2),
            Err(e) => self.toast(format!("{e:#}")),
        }
    }

    /// Pauses and shows the next frame.
    pub fn step_frame(&self) {
        if let Some(player) = self.player() {
            if let Err(e) = player.step_frame() {
                self.toast(format!("{e:#}"));
            }
        }
    }

    fn set_speed(&self, rate: f64) {
        if let Some(player) = self.player() {
            if (player.rate() - rate).abs() > f64::EPSILON {
                if let Err(e) = player.set_rate(rate) {
                    self.toast(format!("{e:#}"));
                }
            }
        }
    }

    /// Zooms the timeline in (factor < 1) or out.
    pub fn zoom(&self, factor: f64) {
        self.0.timeline.zoom(factor);
    }

    /// Opens the go-to-time popover.
    pub fn show_goto(&self) {
        self.0.goto_popover.popup();
        self.0.goto_entry.grab_focus();
    }

    fn goto_text(&self, text: &str) {
        match parse_local_time(text) {
            Some(t) => {
                self.0.goto_popover.popdown();
                // An analyst asking for a time wants that exact frame, not the key frame before it.
                if let Some(player) = self.player() {
                    if let Err(e) = player.seek_accurate(t) {
                        self.toast(format!("{e:#}"));
                    }
                    self.0.timeline.set_playhead(Some(t));
                }
            }
            None => self.toast(gettext("Enter a time like 2024-05-01 14:30:00")),
        }
    }

    /// Marks the start (`true`) or end of the clip to export at the frame on screen.
    pub fn mark_clip(&self, start: bool) {
        let Some(pos) = self.player().and_then(|p| p.position()) else {
            return;
        };
        let mut sel = self.0.timeline.selection();
        if start {
            sel.mark_start(pos);
        } else {
            sel.mark_end(pos);
        }
        self.0.timeline.set_selection(sel);
        self.on_selected(sel);
    }

    fn on_selected(&self, sel: ClipSelection) {
        if let Some((a, b)) = sel.range() {
            self.toast(format!(
                "{} {} – {} ({})",
                gettext("Clip"),
                localtime::format(a),
                localtime::format(b),
                human::duration(b.duration_since(a))
            ));
        }
    }

    /// Asks where to save the marked clip, then exports it in the background with a progress row.
    pub fn export_clip(&self) {
        let (Some(store), Some(stream)) = ({
            let st = self.0.state.borrow();
            (st.store.clone(), st.stream.clone())
        }) else {
            return;
        };
        if self.0.state.borrow().export.is_some() {
            self.toast(gettext("An export is already running"));
            return;
        }
        if let Some(dialog) = self.0.save_dialog.borrow().as_ref() {
            // Already asking where to save: bring that dialog back rather than opening a second one.
            dialog.show();
            return;
        }
        let Some((from, to)) = self.0.timeline.selection().range() else {
            self.toast(gettext(
                "Mark a clip first: Shift-drag on the timeline, or press I and O at its start and end",
            ));
            return;
        };
        let parent = self.0.root.root().and_then(|r| r.downcast::<gtk::Window>().ok());
        let dialog = gtk::FileChooserNative::new(
            Some(&gettext("Export Clip")),
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
        dialog.set_current_name(&clip_file_name(&stream.to_string(), &localtime::format(from)));
        let filter = gtk::FileFilter::new();
        filter.set_name(Some(&gettext("MP4 video")));
        filter.add_mime_type("video/mp4");
        filter.add_suffix("mp4");
        dialog.add_filter(&filter);
        let page = self.clone();
        dialog.connect_response(move |d, response| {
            if response == gtk::ResponseType::Accept {
                if let Some(path) = d.file().and_then(|f| f.path()) {
                    page.start_export(ExportOptions {
                        store: store.clone(),
                        stream: stream.clone(),
                        from,
                        to,
                        output: path,
                    });
                }
            }
            d.destroy();
            page.0.save_dialog.borrow_mut().take();
        });
        dialog.show();
        *self.0.save_dialog.borrow_mut() = Some(dialog);
    }

    /// Runs an export in a worker thread (the same engine code as `hindsight export`).
    pub fn start_export(&self, opts: ExportOptions) {
        if self.0.state.borrow().export.is_some() {
            self.toast(gettext("An export is already running"));
            return;
        }
        let mut job = ExportJob {
            cancel: Arc::default(),
            progress: Arc::default(),
            output: opts.output.clone(),
            thread: None,
        };
        let (cancel, progress) = (job.cancel.clone(), job.progress.clone());
        let spawned = std::thread::Builder::new().name("export".into()).spawn(move || {
            let report = progress.clone();
            let result = export::run(&opts, &cancel, |f| {
                if let Ok(mut p) = report.lock() {
                    p.fraction = f;
                }
            })
            .map_err(|e| format!("{e:#}"));
            if let Ok(mut p) = progress.lock() {
                p.result = Some(result);
            }
        });
        match spawned {
            Ok(thread) => job.thread = Some(thread),
            Err(e) => {
                self.toast(format!("{}: {e}", gettext("Cannot start the export")));
                return;
            }
        }
        let name = job
            .output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.0
            .export_label
            .set_label(&format!("{} {name}", gettext("Exporting")));
        self.0.export_bar.set_fraction(0.0);
        self.0.export_row.set_reveal_child(true);
        self.0.state.borrow_mut().export = Some(job);
    }

    /// Stops the running export; its partial file is removed.
    pub fn cancel_export(&self) {
        if let Some(job) = &self.0.state.borrow().export {
            job.cancel.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// Shows the export's progress and, once it ended, its outcome.
    fn poll_export(&self) {
        let outcome = {
            let st = self.0.state.borrow();
            let Some(job) = &st.export else { return };
            let Ok(mut p) = job.progress.lock() else { return };
            self.0.export_bar.set_fraction(p.fraction);
            let ended_without_result =
                p.result.is_none() && job.thread.as_ref().is_some_and(|t| t.is_finished());
            if ended_without_result {
                p.result = Some(Err(gettext("The export stopped unexpectedly")));
            }
            p.result.take().map(|r| (r, job.output.clone()))
        };
        let Some((result, output)) = outcome else { return };
        self.0.state.borrow_mut().export = None;
        self.0.export_row.set_reveal_child(false);
        let text = match result {
            Ok(summary) => format!(
                "{} {} ({})",
                gettext("Exported"),
                output.display(),
                human::bytes(summary.bytes)
            ),
            Err(e) => e,
        };
        self.toast(text);
    }

    fn scrub(&self, t: Timestamp, done: bool) {
        let now = Instant::now();
        let go = {
            let mut st = self.0.state.borrow_mut();
            if done {
                // The end of a drag always lands exactly where the pointer stopped.
                st.throttle.offer(t, now + SCRUB_INTERVAL * 10)
            } else {
                st.throttle.offer(t, now)
            }
        };
        if let Some(t) = go {
            self.seek(t);
        }
    }

    fn tick(&self) {
        self.poll_export();
        let due = self.0.state.borrow_mut().throttle.due(Instant::now());
        if let Some(t) = due {
            self.seek(t);
        }
        let Some(player) = self.player() else {
            self.0.live_badge.set_visible(false);
            self.0.behind_label.set_visible(false);
            return;
        };
        let pos = player.position();
        let scrubbing = self.0.state.borrow().throttle.has_pending();
        if !scrubbing {
            self.0.timeline.set_playhead(pos);
        }
        self.0
            .time_label
            .set_label(&pos.map(localtime::format).unwrap_or_else(|| "--".into()));
        let recording = self.0.state.borrow().recording;
        let edge = recording.then(Timestamp::now);
        let status = if player.is_following_live() || recording {
            LiveStatus::compute(pos, edge)
        } else {
            LiveStatus::NotRecording
        };
        self.report(
            pos,
            player.is_playing(),
            match status {
                LiveStatus::Live => "live",
                LiveStatus::Behind(_) => "behind",
                LiveStatus::NotRecording => "not-recording",
            },
        );
        match status {
            LiveStatus::Live => {
                self.0.live_badge.set_visible(true);
                self.0.behind_label.set_visible(false);
            }
            LiveStatus::Behind(d) => {
                self.0.live_badge.set_visible(false);
                self.0.behind_label.set_visible(true);
                let text = if d == Duration::MAX {
                    gettext("Behind live")
                } else {
                    format!("{} {}", gettext("Behind live by"), human::duration(d))
                };
                self.0.behind_label.set_label(&text);
            }
            LiveStatus::NotRecording => {
                self.0.live_badge.set_visible(false);
                let was_live = player.is_following_live();
                self.0.behind_label.set_visible(was_live);
                if was_live {
                    self.0.behind_label.set_label(&gettext("Not recording any more"));
                }
            }
        }
    }

    fn report(&self, position: Option<Timestamp>, playing: bool, live: &str) {
        let stream = self.stream().map(|s| s.to_string()).unwrap_or_default();
        let error = self.0.error.borrow();
        status_report::write(&status_report::Status {
            stream: &stream,
            position_ns: position.map_or(0, Timestamp::nanos),
            playing,
            live,
            error: error.as_deref(),
        });
    }

    fn reload_index(&self) {
        let (store, stream) = {
            let mut st = self.0.state.borrow_mut();
            if st.loading_index {
                return;
            }
            let (Some(store), Some(stream)) = (st.store.clone(), st.stream.clone()) else {
                return;
            };
            st.loading_index = true;
            (store, stream)
        };
        let page = self.clone();
        gtk::glib::MainContext::default().spawn_local(async move {
            let name = stream.clone();
            let result = gtk::gio::spawn_blocking(move || read_snapshot(store.as_ref(), &name)).await;
            page.0.state.borrow_mut().loading_index = false;
            if page.stream().as_ref() != Some(&stream) {
                return;
            }
            match result {
                Ok(Ok(snap)) => {
                    page.0.state.borrow_mut().recording = snap.recording;
                    let edge = snap.recording.then(Timestamp::now);
                    page.0.timeline.set_records(snap.first, snap.records, edge);
                }
                Ok(Err(e)) => {
                    page.show_error(&gettext("The stream cannot be read"), &e);
                    page.close();
                }
                Err(_) => tracing::warn!("index reader thread panicked"),
            }
        });
    }
}

impl Default for PlayerPage {
    fn default() -> Self {
        Self::new()
    }
}

/// Parses "YYYY-MM-DD HH:MM[:SS]" in the local time zone, or any RFC 3339 time.
pub fn parse_local_time(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(t) = Timestamp::parse_rfc3339(text) {
        return Some(t);
    }
    let (date, time) = text.split_once([' ', 'T'])?;
    let mut d = date.split('-').map(|p| p.parse::<i32>().ok());
    let (y, mo, da) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.split(':').map(|p| p.parse::<f64>().ok());
    let (h, mi) = (t.next()??, t.next()??);
    let s = t.next().flatten().unwrap_or(0.0);
    let dt = gtk::glib::DateTime::from_local(y, mo, da, h as i32, mi as i32, s).ok()?;
    let unix_ns = i128::from(dt.to_unix()) * 1_000_000_000 + i128::from(dt.microsecond()) * 1000;
    Timestamp::from_unix_nanos(unix_ns).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_to_time_accepts_local_and_rfc3339() {
        assert_eq!(
            parse_local_time("2024-05-01T12:00:00Z"),
            Timestamp::parse_rfc3339("2024-05-01T12:00:00Z").ok()
        );
        let local = parse_local_time("2024-05-01 12:00:00").expect("local time");
        let back = localtime::format(local);
        assert_eq!(back, "2024-05-01 12:00:00");
        assert!(parse_local_time("2024-05-01 12:30").is_some());
        assert!(parse_local_time("yesterday").is_none());
        assert!(parse_local_time("2024-13-01 12:00:00").is_none());
    }
}
