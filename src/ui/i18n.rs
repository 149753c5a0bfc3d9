//! Translated messages with values in them.
//!
//! A sentence is translated whole, with `{}` where each value goes, so a translator can move the values
//! (German puts the verb last) instead of translating fragments glued together in English word order.

use gettextrs::gettext;

/// `gettext(msgid)` with each `{}` replaced by the next of `values`, in order.
///
/// A translation with fewer `{}` than values drops the rest rather than failing: a bad translation must not
/// take the message away.
pub fn i18n_f(msgid: &str, values: &[&str]) -> String {
    let translated = gettext(msgid);
    let mut out = String::with_capacity(translated.len() + values.iter().map(|v| v.len()).sum::<usize>());
    let mut values = values.iter();
    let mut rest = translated.as_str();
    while let Some(at) = rest.find("{}") {
        out.push_str(&rest[..at]);
        out.push_str(values.next().copied().unwrap_or(""));
        rest = &rest[at + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::i18n_f;

    #[test]
    fn values_go_where_the_placeholders_are() {
        // No catalogue is loaded in unit tests: gettext returns the msgid.
        assert_eq!(i18n_f("Behind by {}", &["3 s"]), "Behind by 3 s");
        assert_eq!(i18n_f("Clip {} – {} ({})", &["a", "b", "c"]), "Clip a – b (c)");
        assert_eq!(i18n_f("{} and {}", &["one"]), "one and ");
        assert_eq!(i18n_f("no values", &["unused"]), "no values");
    }
}
