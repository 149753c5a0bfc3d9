//! The library's filter box: which streams a typed filter keeps, and the heading that says how many.

use crate::ui::i18n::i18n_f;
use gettextrs::gettext;

/// Whether stream `name` passes `filter`: every word of the filter occurs in the name, ignoring case, so
/// "lobby 2" finds `site-a/lobby-cam2`. An empty filter keeps everything.
pub fn matches(filter: &str, name: &str) -> bool {
    let name = name.to_lowercase();
    filter
        .split_whitespace()
        .all(|word| name.contains(&word.to_lowercase()))
}

/// The list's heading: "Streams", or how many of them the filter shows.
pub fn heading(shown: usize, total: usize) -> String {
    if shown == total {
        gettext("Streams")
    } else {
        i18n_f("Streams: {} of {}", &[&shown.to_string(), &total.to_string()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_must_occur_ignoring_case() {
        assert!(matches("", "site/cam1"));
        assert!(matches("   ", "site/cam1"));
        assert!(matches("CAM", "site/cam1"));
        assert!(matches("lobby 2", "site-a/lobby-cam2"));
        assert!(matches("2 lobby", "site-a/lobby-cam2"), "words in any order");
        assert!(!matches("lobby 3", "site-a/lobby-cam2"));
        assert!(matches("site-a/", "site-a/lobby-cam2"), "a scope with its slash");
        assert!(!matches("site-b/", "site-a/lobby-cam2"));
    }

    #[test]
    fn the_heading_counts_only_when_filtering() {
        assert_eq!(heading(3, 3), "Streams");
        assert_eq!(heading(2, 1000), "Streams: 2 of 1000");
    }
}
