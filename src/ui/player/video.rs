//! The video area the player page and the wall tiles share: the picture of an engine player with labels laid
//! over it (LIVE badge, how far behind live, a camera's name and time).

use relm4::adw::prelude::*;
use relm4::gtk;

/// The picture a player's paintable goes into: black bars around the video, filling the space it gets.
pub fn picture() -> gtk::Picture {
    let picture = gtk::Picture::builder()
        .hexpand(true)
        .vexpand(true)
        .content_fit(gtk::ContentFit::Contain)
        .build();
    picture.add_css_class("video");
    picture
}

/// A label over the video in a corner (`halign`, `valign`), hidden until shown; `css` is `live-badge` or
/// `osd-label`.
pub fn osd_label(css: &str, text: Option<&str>, halign: gtk::Align, valign: gtk::Align) -> gtk::Label {
    let label = gtk::Label::builder()
        .halign(halign)
        .valign(valign)
        .margin_start(12)
        .margin_end(12)
        .margin_top(12)
        .margin_bottom(12)
        .visible(false)
        .ellipsize(gtk::pango::EllipsizeMode::End)
        .build();
    if let Some(text) = text {
        label.set_label(text);
    }
    label.add_css_class(css);
    label
}

/// `picture` (or any video area) with `labels` over it.
pub fn overlay(picture: &impl IsA<gtk::Widget>, labels: &[&gtk::Label]) -> gtk::Overlay {
    let overlay = gtk::Overlay::new();
    overlay.set_child(Some(picture));
    for label in labels {
        overlay.add_overlay(*label);
    }
    overlay
}
