//! Wall-clock labels in the local time zone (GLib's zone database, so it follows the desktop's setting).

use hindsight_store::Timestamp;
use relm4::gtk::glib;

/// `2024-05-01 14:03:07` in local time; leap seconds show as `:60`.
pub fn format(t: Timestamp) -> String {
    let wall = t.to_utc();
    let secs = wall.datetime.unix_timestamp();
    match glib::DateTime::from_unix_local(secs).and_then(|d| d.format("%Y-%m-%d %H:%M:%S")) {
        Ok(text) if wall.leap => text.as_str().replacen(":59", ":60", 1).replace(":60:", ":59:"),
        Ok(text) => text.to_string(),
        Err(_) => t.to_rfc3339(),
    }
}
