//! Validated `scope/stream` names.
//!
//! Names become directory names in the embedded store and stream names in Pravega, so they are checked before
//! they touch either: letters, digits, `-`, `_` and `.`, not `.` or `..`, 1..=255 bytes.

use std::fmt;
use std::str::FromStr;

/// Suffix of the index stream that pairs with every video data stream.
pub const INDEX_SUFFIX: &str = "-index";

/// Errors from validating names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The text is not `scope/stream`.
    #[error("stream name {0:?} must be SCOPE/STREAM")]
    NotScoped(String),
    /// A part is empty, too long, `.`/`..`, or has a character outside the allowed set.
    #[error("invalid {what} name {name:?}: {reason}")]
    Invalid {
        /// "scope" or "stream".
        what: &'static str,
        /// The offending part.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
}

fn validate(what: &'static str, name: &str) -> Result<(), NameError> {
    let invalid = |reason| NameError::Invalid {
        what,
        name: name.to_owned(),
        reason,
    };
    if name.is_empty() {
        return Err(invalid("it is empty"));
    }
    if name.len() > 255 {
        return Err(invalid("it is longer than 255 bytes"));
    }
    if name == "." || name == ".." {
        return Err(invalid("'.' and '..' are reserved"));
    }
    if !name
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
    {
        return Err(invalid("only letters, digits, '-', '_' and '.' are allowed"));
    }
    Ok(())
}

/// A validated `scope/stream` pair naming one byte stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamName {
    scope: String,
    stream: String,
}

impl StreamName {
    /// Validates and builds a name.
    pub fn new(scope: &str, stream: &str) -> Result<Self, NameError> {
        validate("scope", scope)?;
        validate("stream", stream)?;
        Ok(StreamName {
            scope: scope.to_owned(),
            stream: stream.to_owned(),
        })
    }

    /// Parses `scope/stream`.
    pub fn parse(text: &str) -> Result<Self, NameError> {
        let (scope, stream) = text
            .split_once('/')
            .ok_or_else(|| NameError::NotScoped(text.to_owned()))?;
        Self::new(scope, stream)
    }

    /// The scope part.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// The stream part.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// The paired index stream `scope/stream-index`.
    pub fn index(&self) -> Result<StreamName, NameError> {
        StreamName::new(&self.scope, &format!("{}{INDEX_SUFFIX}", self.stream))
    }

    /// True for names of index streams.
    pub fn is_index(&self) -> bool {
        self.stream.ends_with(INDEX_SUFFIX)
    }
}

impl fmt::Display for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.scope, self.stream)
    }
}

impl FromStr for StreamName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_names() {
        let n = StreamName::parse("site-1/cam_2.hd").expect("valid");
        assert_eq!(n.scope(), "site-1");
        assert_eq!(n.stream(), "cam_2.hd");
        assert_eq!(n.index().expect("index").to_string(), "site-1/cam_2.hd-index");
        assert!(n.index().expect("index").is_index());
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in [
            "nostream", "a/", "/b", "a/b/c", "../b", "a/..", "a/.", "a/b c", "a/b\0", "a/ü", "a/b\\c",
        ] {
            assert!(StreamName::parse(bad).is_err(), "{bad:?}");
        }
        let long = "x".repeat(256);
        assert!(StreamName::new("a", &long).is_err());
        assert!(StreamName::new("a", &"x".repeat(255)).is_ok());
    }
}
