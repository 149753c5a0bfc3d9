//! The keyboard shortcuts window (Ctrl+?), listing the same accelerators the player installs.

use relm4::gtk;

use crate::config;

/// One section per area; `title` strings are translated through the gettext domain.
const UI: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<interface>
  <object class="GtkShortcutsWindow" id="shortcuts">
    <property name="modal">1</property>
    <property name="section-name">player</property>
    <child>
      <object class="GtkShortcutsSection">
        <property name="section-name">player</property>
        <child>
          <object class="GtkShortcutsGroup">
            <property name="title" translatable="yes">Playback</property>
            <child><object class="GtkShortcutsShortcut">
              <property name="title" translatable="yes">Play or pause</property>
              <property name="accelerator">space</property>
            </object></child>
            <child><object class="GtkShortcutsShortcut">
              <property name="title" translatable="yes">Back or forward 10 seconds</property>
              <property name="accelerator">Left Right</property>
            </object></child>
            <child><object class="GtkShortcutsShortcut">
              <property name="title" translatable="yes">Next frame</property>
              <property name="accelerator">period</property>
            </object></child>
            <child><object class="GtkShortcutsShortcut">
              <property name="title" translatable="yes">Previous or next recording</property>
              <property name="accelerator">Page_Up Page_Down</property>
            </object></child>
            <child><object class="GtkShortcutsShortcut">
              <property name="title" translatable="yes">First recorded frame</property>
              <property name="accelerator">Home</property>
            </object></child>
            <child><object class="GtkShortcutsShortcut">
              <property name="title" translatable="yes">Live edge</property>
              <property name="accelerator">l End</property>
            </object></child>
            <child><object class="GtkShortcutsShortcut">
              <property name="title" translatable="yes">Go to date and time</property>
              <property name="accelerator">&lt;Control&gt;g</property>
            </object></child>
          </object>
        </child>
        <child>
          <object class="GtkShortcutsGroup">
            <property name="title" translatable="yes">Timeline</property>
            <child><object class="GtkShortcutsShortcut">
              <property name="title" translatable="yes">Zoom in or out</property>
              <property name="accelerator">plus minus</property>
            </object></child>
            <child><object class="GtkShortcutsShortcut">
              <property name="title" translatable="yes">Mark the start or end of a clip</property>
              <property name="subtitle" translatable="yes">Or Shift and drag on the timeline</property>
              <property name="accelerator">i o</property>
            </object></child>
            <child><object class="GtkShortcutsShortcut">
              <property name="title" translatable="yes">Export the marked clip</property>
              <property name="accelerator">&lt;Control&gt;e</property>
            </object></child>
          </object>
        </child>
        <child>
          <object class="GtkShortcutsGroup">
            <property name="title" translatable="yes">Window</property>
            <child><object class="GtkShortcutsShortcut">
              <property name="title" translatable="yes">Fullscreen</property>
              <property name="accelerator">f</property>
            </object></child>
            <child><object class="GtkShortcutsShortcut">
              <property name="title" translatable="yes">Back to the library</property>
              <property name="accelerator">Escape</property>
            </object></child>
            <child><object class="GtkShortcutsShortcut">
              <property name="title" translatable="yes">Keyboard shortcuts</property>
              <property name="accelerator">&lt;Control&gt;question</property>
            </object></child>
            <child><object class="GtkShortcutsShortcut">
              <property name="title" translatable="yes">Preferences</property>
              <property name="accelerator">&lt;Control&gt;comma</property>
            </object></child>
            <child><object class="GtkShortcutsShortcut">
              <property name="title" translatable="yes">Quit</property>
              <property name="accelerator">&lt;Control&gt;q</property>
            </object></child>
          </object>
        </child>
      </object>
    </child>
  </object>
</interface>
"#;

/// Builds the window; `None` only if the description above were broken (a unit test guards it).
pub fn build() -> Option<gtk::ShortcutsWindow> {
    let builder = gtk::Builder::new();
    builder.set_translation_domain(Some(config::GETTEXT_PACKAGE));
    if let Err(e) = builder.add_from_string(UI) {
        tracing::error!(error = %e, "broken shortcuts window description");
        return None;
    }
    builder.object::<gtk::ShortcutsWindow>("shortcuts")
}

/// Every accelerator shown, as GTK parses them (for the test that they match what the player installs).
#[cfg(test)]
fn accelerators() -> Vec<String> {
    UI.split("<property name=\"accelerator\">")
        .skip(1)
        .filter_map(|s| s.split('<').next())
        .flat_map(|s| {
            s.split_whitespace()
                .map(|a| a.replace("&lt;", "<").replace("&gt;", ">"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shown_accelerator_parses() {
        // GTK needs a display; `make test` runs the unit tests under Xvfb. Only this test uses GTK here, so its
        // thread is GTK's main thread.
        gtk::init().expect("GTK needs a display (run under xvfb-run)");
        let accels = accelerators();
        assert!(build().is_some(), "the shortcuts window builds");
        assert!(accels.len() >= 20, "{accels:?}");
        for a in &accels {
            assert!(gtk::accelerator_parse(a).is_some(), "{a}");
        }
        assert!(accels.contains(&"<Control>question".to_owned()));
        // Everything the player page reacts to is listed.
        for installed in crate::ui::window::PLAYER_ACCELS {
            assert!(
                accels.iter().any(|a| a == installed),
                "{installed} is not in the shortcuts window"
            );
        }
    }
}
