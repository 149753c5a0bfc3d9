//! The player's widgets: the video with its overlays (LIVE badge, behind-live label), the error page, the
//! export progress row, the timeline and the transport controls. Every control sends a [`PlayerMsg`].

use gettextrs::gettext;
use relm4::adw::prelude::*;
use relm4::{adw, gtk, ComponentSender};

use super::{video, PlayerMsg, PlayerPage, SPEEDS};
use crate::ui::timeline::TimelineWidget;

/// The widgets the player updates.
pub struct PlayerWidgets {
    pub(super) stack: gtk::Stack,
    /// One camera's picture, or the grid of a synchronized review's cameras.
    pub(super) views: gtk::Stack,
    pub(super) picture: gtk::Picture,
    pub(super) grid: gtk::Grid,
    pub(super) add_camera: gtk::MenuButton,
    pub(super) add_list: gtk::ListBox,
    pub(super) error_page: adw::StatusPage,
    pub(super) error_detail: gtk::Label,
    pub(super) live_badge: gtk::Label,
    pub(super) behind_label: gtk::Label,
    pub(super) time_label: gtk::Label,
    pub(super) play_button: gtk::Button,
    pub(super) speed: gtk::DropDown,
    pub(super) goto_entry: gtk::Entry,
    pub(super) goto_popover: gtk::Popover,
    pub(super) timeline: TimelineWidget,
    pub(super) export_row: gtk::Revealer,
    pub(super) export_label: gtk::Label,
    pub(super) export_bar: gtk::ProgressBar,
    /// Mute button and volume slider, shown while the stream has sound.
    pub(super) sound_box: gtk::Box,
    pub(super) mute_button: gtk::ToggleButton,
    pub(super) volume: gtk::Scale,
    /// The bookmark button, its popover and list.
    pub(super) bookmarks: super::marks::BookmarkWidgets,
    /// The hover thumbnail over the timeline.
    pub(super) hover: super::hover::HoverWidgets,
}

/// The sound controls: a mute toggle and a volume slider (shown only for streams with sound).
fn sound_controls(sender: &ComponentSender<PlayerPage>) -> (gtk::Box, gtk::ToggleButton, gtk::Scale) {
    let mute = gtk::ToggleButton::builder()
        .icon_name("audio-volume-high-symbolic")
        .tooltip_text(gettext("Mute (M)"))
        .build();
    mute.add_css_class("flat");
    let s = sender.clone();
    mute.connect_toggled(move |b| s.input(PlayerMsg::SetMuted(b.is_active())));
    let volume = gtk::Scale::with_range(gtk::Orientation::Horizontal, 0.0, 1.0, 0.05);
    volume.set_draw_value(false);
    volume.set_width_request(96);
    volume.set_tooltip_text(Some(&gettext("Volume")));
    volume.update_property(&[gtk::accessible::Property::Label(&gettext("Volume"))]);
    let s = sender.clone();
    volume.connect_value_changed(move |v| s.input(PlayerMsg::SetVolume(v.value())));
    let b = gtk::Box::new(gtk::Orientation::Horizontal, 0);
    b.append(&mute);
    b.append(&volume);
    b.set_visible(false);
    (b, mute, volume)
}

fn icon_button(icon: &str, tooltip: &str) -> gtk::Button {
    let b = gtk::Button::from_icon_name(icon);
    b.set_tooltip_text(Some(tooltip));
    b.add_css_class("flat");
    b
}

/// A button that sends `msg` when clicked.
fn action_button(
    icon: &str,
    tooltip: &str,
    sender: &ComponentSender<PlayerPage>,
    msg: fn() -> PlayerMsg,
) -> gtk::Button {
    let b = icon_button(icon, tooltip);
    let sender = sender.clone();
    b.connect_clicked(move |_| sender.input(msg()));
    b
}

/// The export progress row: what is being written, how far, and a way to stop it.
fn export_row(sender: &ComponentSender<PlayerPage>) -> (gtk::Revealer, gtk::Label, gtk::ProgressBar) {
    let label = gtk::Label::builder()
        .ellipsize(gtk::pango::EllipsizeMode::Middle)
        .build();
    let bar = gtk::ProgressBar::builder()
        .hexpand(true)
        .valign(gtk::Align::Center)
        .build();
    let cancel = gtk::Button::with_label(&gettext("Cancel"));
    let s = sender.clone();
    cancel.connect_clicked(move |_| s.input(PlayerMsg::CancelExport));
    let row = gtk::Box::new(gtk::Orientation::Horizontal, 12);
    row.set_margin_start(12);
    row.set_margin_end(12);
    row.set_margin_top(6);
    row.append(&gtk::Image::from_icon_name("document-save-symbolic"));
    row.append(&label);
    row.append(&bar);
    row.append(&cancel);
    // Hidden, not only folded, while no export runs: a visible empty revealer would still take the box's
    // spacing and leave a strip between the video and the timeline.
    let revealer = gtk::Revealer::builder()
        .child(&row)
        .reveal_child(false)
        .visible(false)
        .build();
    (revealer, label, bar)
}

/// "Add a camera": a popover listing the store's other streams, filled when it opens.
fn add_camera_button(sender: &ComponentSender<PlayerPage>) -> (gtk::MenuButton, gtk::ListBox) {
    let list = gtk::ListBox::builder()
        .selection_mode(gtk::SelectionMode::None)
        .build();
    list.add_css_class("boxed-list");
    let s = sender.clone();
    list.connect_row_activated(move |_, row| {
        if let Some(name) = row.widget_name().strip_prefix("stream:") {
            if let Ok(stream) = hindsight_store::StreamName::parse(name) {
                s.input(PlayerMsg::AddCamera(stream));
            }
        }
    });
    let scrolled = gtk::ScrolledWindow::builder()
        .child(&list)
        .hscrollbar_policy(gtk::PolicyType::Never)
        .propagate_natural_height(true)
        .max_content_height(360)
        .min_content_width(260)
        .build();
    let body = gtk::Box::new(gtk::Orientation::Vertical, 6);
    body.append(&gtk::Label::new(Some(&gettext("Review in step with"))));
    body.append(&scrolled);
    let popover = gtk::Popover::builder().child(&body).build();
    let s = sender.clone();
    popover.connect_show(move |_| s.input(PlayerMsg::ListCameras));
    let button = gtk::MenuButton::builder()
        .icon_name("camera-video-symbolic")
        .tooltip_text(gettext("Add a camera to review in step"))
        .popover(&popover)
        .build();
    button.add_css_class("flat");
    (button, list)
}

/// Builds the page into `root` and returns the widgets the player updates.
pub fn build(root: &gtk::Box, sender: &ComponentSender<PlayerPage>) -> PlayerWidgets {
    let error_detail = gtk::Label::builder().selectable(true).wrap(true).build();
    error_detail.add_css_class("monospace");
    error_detail.add_css_class("dim-label");
    let picture = video::picture();
    let (start, top) = (gtk::Align::Start, gtk::Align::Start);
    let live_badge = video::osd_label("live-badge", Some(&gettext("LIVE")), start, top);
    let behind_label = video::osd_label("osd-label", None, start, top);
    let error_page = adw::StatusPage::builder()
        .icon_name("dialog-error-symbolic")
        .title(gettext("Cannot Play This Stream"))
        .child(&error_detail)
        .build();
    let grid = gtk::Grid::builder()
        .row_homogeneous(true)
        .column_homogeneous(true)
        .row_spacing(2)
        .column_spacing(2)
        .build();
    let views = gtk::Stack::new();
    views.add_named(&picture, Some("single"));
    views.add_named(&grid, Some("grid"));
    // The video, and the error page in its place when playback fails.
    let stack = gtk::Stack::new();
    stack.add_named(
        &video::overlay(&views, &[&live_badge, &behind_label]),
        Some("video"),
    );
    stack.add_named(&error_page, Some("error"));
    stack.set_vexpand(true);

    let timeline = TimelineWidget::new();
    let s = sender.clone();
    timeline.connect_scrub(move |t, done| s.input(PlayerMsg::Scrub(t, done)));
    let s = sender.clone();
    timeline.connect_select(move |sel| s.input(PlayerMsg::Selected(sel)));
    let s = sender.clone();
    timeline.connect_hover(move |at| s.input(PlayerMsg::Hover(at)));
    let s = sender.clone();
    timeline.connect_window(move |win| s.input(PlayerMsg::Window(win)));
    let hover = super::hover::hover_widgets(&timeline.area);

    let play_button = action_button(
        "media-playback-start-symbolic",
        &gettext("Play (Space)"),
        sender,
        || PlayerMsg::TogglePlay,
    );
    let time_label = gtk::Label::builder().label("--").build();
    time_label.add_css_class("numeric");
    let speed_labels: Vec<String> = SPEEDS.iter().map(|s| format!("{s}×")).collect();
    let speed_refs: Vec<&str> = speed_labels.iter().map(String::as_str).collect();
    let speed = gtk::DropDown::from_strings(&speed_refs);
    speed.set_selected(super::NORMAL_SPEED_INDEX);
    speed.set_tooltip_text(Some(&gettext("Playback speed")));
    let s = sender.clone();
    speed.connect_selected_notify(move |d| {
        s.input(PlayerMsg::SetSpeed(
            SPEEDS.get(d.selected() as usize).copied().unwrap_or(1.0),
        ))
    });

    let goto_entry = gtk::Entry::builder()
        .placeholder_text("2024-05-01 14:30:00")
        .width_chars(22)
        .build();
    let s = sender.clone();
    goto_entry.connect_activate(move |e| s.input(PlayerMsg::Goto(e.text().to_string())));
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
    let live_button = gtk::Button::with_label(&gettext("Live"));
    live_button.set_tooltip_text(Some(&gettext("Jump to the live edge (L)")));
    live_button.add_css_class("destructive-action");
    let s = sender.clone();
    live_button.connect_clicked(move |_| s.input(PlayerMsg::GoLive));

    let controls = gtk::Box::new(gtk::Orientation::Horizontal, 4);
    controls.set_margin_start(8);
    controls.set_margin_end(8);
    let transport = [
        action_button(
            "media-skip-backward-symbolic",
            &gettext("Previous recording (Page Up)"),
            sender,
            || PlayerMsg::JumpRange { next: false },
        ),
        action_button(
            "media-seek-backward-symbolic",
            &gettext("Back 10 seconds (Left)"),
            sender,
            || PlayerMsg::SeekBy(-super::SEEK_STEP_SECS),
        ),
        play_button.clone(),
        action_button(
            "media-seek-forward-symbolic",
            &gettext("Forward 10 seconds (Right)"),
            sender,
            || PlayerMsg::SeekBy(super::SEEK_STEP_SECS),
        ),
        action_button(
            "media-skip-forward-symbolic",
            &gettext("Next recording (Page Down)"),
            sender,
            || PlayerMsg::JumpRange { next: true },
        ),
        action_button(
            "go-previous-symbolic",
            &gettext("Previous frame (,)"),
            sender,
            || PlayerMsg::StepFrame(false),
        ),
        action_button("go-next-symbolic", &gettext("Next frame (.)"), sender, || {
            PlayerMsg::StepFrame(true)
        }),
    ];
    for w in &transport {
        controls.append(w);
    }
    controls.append(&time_label);
    let spacer = gtk::Box::new(gtk::Orientation::Horizontal, 0);
    spacer.set_hexpand(true);
    controls.append(&spacer);
    controls.append(&action_button(
        "zoom-out-symbolic",
        &gettext("Zoom out (-)"),
        sender,
        || PlayerMsg::Zoom(2.0),
    ));
    controls.append(&action_button(
        "zoom-in-symbolic",
        &gettext("Zoom in (+)"),
        sender,
        || PlayerMsg::Zoom(0.5),
    ));
    controls.append(&goto_button);
    let bookmarks = super::marks::bookmark_widgets(sender);
    controls.append(&bookmarks.button);
    let (add_camera, add_list) = add_camera_button(sender);
    controls.append(&add_camera);
    controls.append(&action_button(
        "document-save-symbolic",
        &gettext("Export the marked clip (Ctrl+E)"),
        sender,
        || PlayerMsg::ExportClip,
    ));
    let (sound_box, mute_button, volume) = sound_controls(sender);
    controls.append(&sound_box);
    controls.append(&speed);
    controls.append(&live_button);

    let (export_row, export_label, export_bar) = export_row(sender);
    let bottom = gtk::Box::new(gtk::Orientation::Vertical, 6);
    bottom.set_margin_bottom(8);
    bottom.append(&export_row);
    bottom.append(&timeline.area);
    bottom.append(&controls);
    root.append(&stack);
    root.append(&bottom);

    PlayerWidgets {
        stack,
        views,
        picture,
        grid,
        add_camera,
        add_list,
        error_page,
        error_detail,
        live_badge,
        behind_label,
        time_label,
        play_button,
        speed,
        goto_entry,
        goto_popover,
        timeline,
        export_row,
        export_label,
        export_bar,
        sound_box,
        mute_button,
        volume,
        bookmarks,
        hover,
    }
}
