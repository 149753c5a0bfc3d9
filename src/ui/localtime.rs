//! Wall-clock time in the local time zone (GLib's zone database, so it follows the desktop's setting): labels,
//! and times typed by the user.

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

/// `2024-05-01 14:03:07.240` in local time: a key frame's date and exact time (days of footage differ in the date).
pub fn format_with_millis(t: Timestamp) -> String {
    let millis = t.to_utc().datetime.millisecond();
    std::format!("{}.{millis:03}", format(t))
}

/// `14:03:07.240` in local time: a frame's time of day, to the millisecond (frames of one second differ there).
pub fn format_precise(t: Timestamp) -> String {
    let full = format_with_millis(t);
    full.split_once(' ')
        .map_or(full.clone(), |(_, time)| time.to_string())
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
    let dt = glib::DateTime::from_local(y, mo, da, h as i32, mi as i32, s).ok()?;
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
        assert_eq!(format(local), "2024-05-01 12:00:00");
        assert!(parse_local_time("2024-05-01 12:30").is_some());
        assert!(parse_local_time("yesterday").is_none());
        assert!(parse_local_time("2024-13-01 12:00:00").is_none());
    }

    #[test]
    fn exact_times_keep_the_date_and_the_millisecond() {
        let local = parse_local_time("2024-05-01 12:00:07").expect("local time");
        let t = Timestamp::from_nanos(local.nanos() + 240_500_000);
        assert_eq!(format_with_millis(t), "2024-05-01 12:00:07.240");
        assert_eq!(format_precise(t), "12:00:07.240");
    }
}
