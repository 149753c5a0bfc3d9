//! The player's sound controls: volume and mute, kept in GSettings, applied to the engine's [`Sound`], and shown
//! only while the stream being played has sound.
//!
//! [`Sound`]: crate::engine::player::Sound

use relm4::adw::prelude::*;

use super::{PlayerPage, PlayerWidgets};
use crate::engine::player::SoundSettings;
use crate::ui::status_report::SoundReport;

/// The icon for a volume: muted, low, medium or high, as GNOME's sound controls show it.
pub fn volume_icon(settings: SoundSettings) -> &'static str {
    match settings.volume {
        _ if settings.muted => "audio-volume-muted-symbolic",
        v if v <= 0.0 => "audio-volume-muted-symbolic",
        v if v < 0.34 => "audio-volume-low-symbolic",
        v if v < 0.67 => "audio-volume-medium-symbolic",
        _ => "audio-volume-high-symbolic",
    }
}

/// Puts `settings` on the controls (their change handlers then report the same values back: no effect).
pub(super) fn show_settings(w: &PlayerWidgets, settings: SoundSettings) {
    w.volume.set_value(settings.volume);
    w.mute_button.set_active(settings.muted);
    w.mute_button.set_icon_name(volume_icon(settings));
}

impl PlayerPage {
    pub(super) fn set_volume(&mut self, w: &PlayerWidgets, volume: f64) {
        let volume = volume.clamp(0.0, 1.0);
        if (self.sound.volume - volume).abs() < f64::EPSILON {
            return;
        }
        self.sound.volume = volume;
        self.apply_sound(w);
    }

    pub(super) fn set_muted(&mut self, w: &PlayerWidgets, muted: bool) {
        if self.sound.muted == muted {
            return;
        }
        self.sound.muted = muted;
        self.apply_sound(w);
    }

    fn apply_sound(&self, w: &PlayerWidgets) {
        if let Some(sound) = self.player.as_ref().and_then(|p| p.sound()) {
            sound.set_volume(self.sound.volume);
            sound.set_muted(self.sound.muted);
        }
        w.mute_button.set_icon_name(volume_icon(self.sound));
        self.settings.set_player_sound(self.sound);
    }

    /// Shows the controls while the stream has sound; what the status report says of it.
    pub(super) fn sound_state(&self, w: &PlayerWidgets) -> Option<SoundReport> {
        let sound = self.player.as_ref().and_then(|p| p.sound());
        let present = sound.is_some_and(|s| s.is_present());
        w.sound_box.set_visible(present);
        let sound = sound.filter(|s| s.is_present())?;
        Some(SoundReport {
            volume_percent: (self.sound.volume * 100.0).round() as u32,
            muted: self.sound.muted,
            silent: sound.is_silent(),
            buffers: sound.buffers_played(),
            position_ns: sound.position().map_or(0, |t| t.nanos()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_icon_follows_volume_and_mute() {
        let at = |volume, muted| volume_icon(SoundSettings { volume, muted });
        assert_eq!(at(1.0, true), "audio-volume-muted-symbolic");
        assert_eq!(at(0.0, false), "audio-volume-muted-symbolic");
        assert_eq!(at(0.2, false), "audio-volume-low-symbolic");
        assert_eq!(at(0.5, false), "audio-volume-medium-symbolic");
        assert_eq!(at(0.9, false), "audio-volume-high-symbolic");
    }
}
