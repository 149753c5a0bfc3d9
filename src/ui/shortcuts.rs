//! Keyboard shortcuts: one vocabulary with the buttons. The player's keys act only while a stream is shown; the
//! keyboard shortcuts window (Ctrl+?) is `data/resources/gtk/help-overlay.ui`, which GTK loads from the app's
//! resources, and lists every one of them (a unit test checks).

use std::cell::Cell;
use std::rc::Rc;

use relm4::adw::prelude::*;
use relm4::{adw, gtk};

use crate::ui::player::{PlayerMsg, SEEK_STEP_SECS};

/// What a shortcut does.
#[derive(Debug, Clone, Copy)]
pub enum Shortcut {
    /// A message for the player.
    Player(fn() -> PlayerMsg),
    /// Toggle fullscreen.
    Fullscreen,
    /// Back to the library.
    Back,
}

/// The player page's accelerators and what they do. "equal" is the unshifted "plus" on US keyboards.
pub const PLAYER_SHORTCUTS: &[(&str, Shortcut)] = &[
    ("space", Shortcut::Player(|| PlayerMsg::TogglePlay)),
    ("Left", Shortcut::Player(|| PlayerMsg::SeekBy(-SEEK_STEP_SECS))),
    ("Right", Shortcut::Player(|| PlayerMsg::SeekBy(SEEK_STEP_SECS))),
    (
        "Page_Up",
        Shortcut::Player(|| PlayerMsg::JumpRange { next: false }),
    ),
    (
        "Page_Down",
        Shortcut::Player(|| PlayerMsg::JumpRange { next: true }),
    ),
    ("Home", Shortcut::Player(|| PlayerMsg::GoStart)),
    ("End", Shortcut::Player(|| PlayerMsg::GoLive)),
    ("l", Shortcut::Player(|| PlayerMsg::GoLive)),
    ("period", Shortcut::Player(|| PlayerMsg::StepFrame(true))),
    ("comma", Shortcut::Player(|| PlayerMsg::StepFrame(false))),
    ("plus", Shortcut::Player(|| PlayerMsg::Zoom(0.5))),
    ("equal", Shortcut::Player(|| PlayerMsg::Zoom(0.5))),
    ("minus", Shortcut::Player(|| PlayerMsg::Zoom(2.0))),
    ("<Control>g", Shortcut::Player(|| PlayerMsg::ShowGoto)),
    ("i", Shortcut::Player(|| PlayerMsg::MarkClip { start: true })),
    ("o", Shortcut::Player(|| PlayerMsg::MarkClip { start: false })),
    ("<Control>e", Shortcut::Player(|| PlayerMsg::ExportClip)),
    ("m", Shortcut::Player(|| PlayerMsg::ToggleMute)),
    ("b", Shortcut::Player(|| PlayerMsg::ShowBookmarks)),
    ("bracketright", Shortcut::Player(|| PlayerMsg::JumpBookmark(true))),
    ("bracketleft", Shortcut::Player(|| PlayerMsg::JumpBookmark(false))),
    ("f", Shortcut::Fullscreen),
    ("Escape", Shortcut::Back),
];

/// Installs the player's shortcuts on `window`. `active` is true while the player page shows a stream; `run`
/// carries out a shortcut.
pub fn install(window: &adw::ApplicationWindow, active: Rc<Cell<bool>>, run: impl Fn(Shortcut) + 'static) {
    let controller = gtk::ShortcutController::new();
    controller.set_scope(gtk::ShortcutScope::Global);
    // Capture phase: buttons would otherwise take arrows and space for focus moves and clicks.
    controller.set_propagation_phase(gtk::PropagationPhase::Capture);
    let run = Rc::new(run);
    for &(accel, shortcut) in PLAYER_SHORTCUTS {
        let (window_weak, active, run) = (window.downgrade(), active.clone(), run.clone());
        let action = gtk::CallbackAction::new(move |_, _| {
            // Typing in an entry (go-to-time) keeps its keys.
            let typing = window_weak
                .upgrade()
                .and_then(|w| gtk::prelude::GtkWindowExt::focus(&w))
                .is_some_and(|f| f.dynamic_cast_ref::<gtk::Editable>().is_some());
            if !active.get() || typing {
                return gtk::glib::Propagation::Proceed;
            }
            run(shortcut);
            gtk::glib::Propagation::Stop
        });
        match gtk::ShortcutTrigger::parse_string(accel) {
            Some(trigger) => controller.add_shortcut(gtk::Shortcut::new(Some(trigger), Some(action))),
            None => tracing::warn!(accel, "bad shortcut"),
        }
    }
    window.add_controller(controller);
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELP_OVERLAY: &str = include_str!("../../data/resources/gtk/help-overlay.ui");

    /// Every accelerator the shortcuts window shows, as GTK parses them.
    fn shown() -> Vec<String> {
        HELP_OVERLAY
            .split("<property name=\"accelerator\">")
            .skip(1)
            .filter_map(|s| s.split('<').next())
            .flat_map(|s| {
                s.split_whitespace()
                    .map(|a| a.replace("&lt;", "<").replace("&gt;", ">"))
            })
            .collect()
    }

    #[test]
    fn the_shortcuts_window_lists_every_installed_accelerator() {
        // GTK needs a display; `make test` runs the unit tests under Xvfb. Only this test uses GTK here, so its
        // thread is GTK's main thread.
        gtk::init().expect("GTK needs a display (run under xvfb-run)");
        let builder = gtk::Builder::from_string(HELP_OVERLAY);
        assert!(
            builder.object::<gtk::ShortcutsWindow>("help_overlay").is_some(),
            "the shortcuts window builds"
        );
        let accels = shown();
        assert!(accels.len() >= 20, "{accels:?}");
        for a in &accels {
            assert!(gtk::accelerator_parse(a).is_some(), "{a}");
        }
        assert!(accels.contains(&"<Control>question".to_owned()));
        for (installed, _) in PLAYER_SHORTCUTS {
            // "equal" is "plus" without Shift: the window shows "plus".
            if *installed != "equal" {
                assert!(
                    accels.iter().any(|a| a == installed),
                    "{installed} is not in the shortcuts window"
                );
            }
        }
    }
}
