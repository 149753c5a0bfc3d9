//! `hindsight copy`: copy a video stream (data and index) from one store to another, e.g. from the embedded
//! store into Pravega or back.
//!
//! A location names a store and a stream in one argument: `STORE/SCOPE/STREAM`, where STORE is a directory,
//! `file:///dir`, `tcp://[user:password@]host:port` or `tls://…` (as `--store` takes them); a bare `SCOPE/STREAM`
//! is in the `--store` store.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use hindsight_store::pravega::redact;
use hindsight_store::video::{video_stream_exists, VideoStreamNames};
use hindsight_store::{copy_video_stream, open_store, Backend, StreamName};

use crate::human;

/// A stream in a store, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The store URI (as `open_store` takes it).
    pub store: String,
    /// The stream in it.
    pub name: StreamName,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} in {}", self.name, redact(&self.store))
    }
}

/// Splits `STORE/SCOPE/STREAM` (or a bare `SCOPE/STREAM`, in `default_store`) into store URI and stream.
pub fn parse_location(text: &str, default_store: &str) -> anyhow::Result<Location> {
    let bad = |why: &str| anyhow::anyhow!("bad location {text:?}: {why}; expected STORE/SCOPE/STREAM");
    let path = text;
    let (scheme, rest) = match path.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, path),
    };
    let trimmed = rest.trim_end_matches('/');
    let mut parts = trimmed.rsplitn(3, '/');
    let stream = parts
        .next()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("no stream"))?;
    let scope = parts
        .next()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("no scope"))?;
    let store_part = parts.next();
    let name = StreamName::new(scope, stream).with_context(|| format!("bad location {text:?}"))?;
    let store = match (scheme, store_part) {
        (Some(scheme), Some(host_or_path)) if !host_or_path.is_empty() || scheme == "file" => {
            // file:///dir/site/cam leaves "/dir" (rest starts with '/'); tcp://host:9090/site/cam leaves "host:9090".
            format!("{scheme}://{host_or_path}")
        }
        (Some(_), _) => return Err(bad("the store URI has no host or path")),
        (None, Some(dir)) if path.starts_with('/') && dir.is_empty() => "/".to_owned(),
        (None, Some(dir)) => dir.to_owned(),
        (None, None) => default_store.to_owned(),
    };
    Ok(Location { store, name })
}

/// Opens a location's store; `create` makes a missing embedded store directory (for the destination).
fn open(loc: &Location, create: bool) -> anyhow::Result<Arc<dyn Backend>> {
    let is_embedded = !loc.store.contains("://") || loc.store.starts_with("file://");
    if create && is_embedded {
        let dir = loc.store.strip_prefix("file://").unwrap_or(&loc.store);
        std::fs::create_dir_all(Path::new(dir))
            .with_context(|| format!("cannot create store directory {dir}"))?;
    }
    open_store(&loc.store).with_context(|| format!("cannot open store {}", redact(&loc.store)))
}

/// True when the destination already holds data or index bytes.
fn holds_footage(store: &dyn Backend, name: &StreamName) -> anyhow::Result<bool> {
    let names = VideoStreamNames::new(name)?;
    for s in [&names.data, &names.index] {
        if store
            .exists(s)
            .with_context(|| format!("cannot read {name} in {}", store.uri()))?
        {
            let info = store
                .info(s)
                .with_context(|| format!("cannot read {name} in {}", store.uri()))?;
            if info.tail > info.head {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Runs the command: copies everything `src` holds now onto the end of `dst`. Without `append`, a destination
/// that already holds footage is refused, so a mistyped name never mixes two cameras.
pub fn run(src: &Location, dst: &Location, append: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    if src == dst {
        bail!("source and destination are the same stream ({src})");
    }
    let from = open(src, false)?;
    if !video_stream_exists(from.as_ref(), &src.name).with_context(|| format!("cannot read {src}"))? {
        bail!("stream {} does not exist in {}", src.name, from.uri());
    }
    let to = open(dst, true)?;
    // The same store spelled differently (./s, /s, file:///s): the opened stores name themselves alike.
    if from.uri() == to.uri() && src.name == dst.name {
        bail!("source and destination are the same stream ({src})");
    }
    if !append && holds_footage(to.as_ref(), &dst.name)? {
        bail!(
            "{} already holds footage in {}; pass --append to add the copy after it",
            dst.name,
            to.uri()
        );
    }
    let copied = copy_video_stream(from.as_ref(), &src.name, to.as_ref(), &dst.name)
        .with_context(|| format!("cannot copy {src} to {dst}"))?;
    writeln!(
        out,
        "copied {} frames ({}) and {} index records from {} to {}{}",
        copied.frames,
        human::bytes(copied.data_bytes),
        copied.records,
        src,
        dst,
        if copied.offset_shift == 0 {
            String::new()
        } else {
            format!(" (index offsets shifted by {})", copied.offset_shift)
        }
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(text: &str) -> (String, String) {
        let l = parse_location(text, "/default").expect(text);
        (l.store, l.name.to_string())
    }

    #[test]
    fn locations_split_into_store_and_stream() {
        let s = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(loc("site/cam"), s("/default", "site/cam"));
        assert_eq!(loc("/data/store/site/cam"), s("/data/store", "site/cam"));
        assert_eq!(loc("/site/cam"), s("/", "site/cam"));
        assert_eq!(loc("rel/dir/site/cam"), s("rel/dir", "site/cam"));
        assert_eq!(
            loc("file:///data/store/site/cam"),
            s("file:///data/store", "site/cam")
        );
        assert_eq!(
            loc("tcp://127.0.0.1:9090/site/cam"),
            s("tcp://127.0.0.1:9090", "site/cam")
        );
        assert_eq!(
            loc("tcp://127.0.0.1:9090/site/cam/"),
            s("tcp://127.0.0.1:9090", "site/cam")
        );
        assert_eq!(
            loc("tls://u:p@pravega:9090/site/cam"),
            s("tls://u:p@pravega:9090", "site/cam")
        );
    }

    #[test]
    fn messages_never_show_a_password() {
        let l = parse_location("tcp://admin:s3cret@ctl:9090/site/cam", "/d").expect("location");
        assert_eq!(l.to_string(), "site/cam in tcp://admin@ctl:9090");
        assert_eq!(redact("/srv/store"), "/srv/store");
    }

    #[test]
    fn bad_locations_are_errors() {
        for text in [
            "",
            "cam",
            "site/",
            "tcp://site/cam",
            "tcp:///site/cam",
            "a/b/c d",
            "site/cam?user=u",
        ] {
            assert!(parse_location(text, "/default").is_err(), "{text:?}");
        }
    }
}
