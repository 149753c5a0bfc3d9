//! `hindsight copy`: copy a video stream (data and index) from one store to another, e.g. from the embedded
//! store into Pravega or back.
//!
//! A location names a store and a stream in one argument: `STORE/SCOPE/STREAM`, where STORE is a directory,
//! `file:///dir`, `tcp://[user:password@]host:port` or `tls://…` (as `--store` takes them); a bare `SCOPE/STREAM`
//! is in the `--store` store.

use std::io::Write;
use std::sync::Arc;

use anyhow::{bail, Context};
use hindsight_store::evidence::ChainCopy;
use hindsight_store::video::{video_stream_exists, VideoStreamNames};
use hindsight_store::{copy_video_stream, Backend, StoreUri, StreamName};

use crate::human;

/// A stream in a store, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The store.
    pub store: StoreUri,
    /// The stream in it.
    pub name: StreamName,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // StoreUri's Display never shows a password.
        write!(f, "{} in {}", self.name, self.store)
    }
}

/// Splits `STORE/SCOPE/STREAM` (or a bare `SCOPE/STREAM`, in `default_store`) into store and stream.
pub fn parse_location(text: &str, default_store: &StoreUri) -> anyhow::Result<Location> {
    let bad = |why: &str| {
        anyhow::anyhow!(
            "bad location {:?}: {why}; expected STORE/SCOPE/STREAM",
            hindsight_store::redact(text)
        )
    };
    let (scheme, rest) = match text.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, text),
    };
    let mut parts = rest.trim_end_matches('/').rsplitn(3, '/');
    let stream = parts
        .next()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("no stream"))?;
    let scope = parts
        .next()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("no scope"))?;
    let name = StreamName::new(scope, stream)
        .with_context(|| format!("bad location {:?}", hindsight_store::redact(text)))?;
    let store_text = match (scheme, parts.next()) {
        // file:///dir/site/cam leaves "/dir"; tcp://host:9090/site/cam leaves "host:9090".
        (Some(scheme), Some(host_or_path)) if !host_or_path.is_empty() || scheme == "file" => {
            format!("{scheme}://{host_or_path}")
        }
        (Some(_), _) => return Err(bad("the store URI has no host or path")),
        (None, Some("")) if text.starts_with('/') => "/".to_owned(),
        (None, Some(dir)) => dir.to_owned(),
        (None, None) => {
            return Ok(Location {
                store: default_store.clone(),
                name,
            })
        }
    };
    let store = StoreUri::parse(&store_text)
        .with_context(|| format!("bad location {:?}", hindsight_store::redact(text)))?;
    Ok(Location { store, name })
}

/// Opens a location's store; `create` makes a missing embedded store directory (for the destination).
fn open(loc: &Location, create: bool) -> anyhow::Result<Arc<dyn Backend>> {
    if create {
        loc.store.open_or_create()
    } else {
        loc.store.open()
    }
    .with_context(|| format!("cannot open store {}", loc.store))
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
    match copied.chain {
        ChainCopy::NoChain => {}
        ChainCopy::Copied(n) => writeln!(out, "copied the hash chain ({n} entries); `hindsight verify` checks the copy")?,
        ChainCopy::DestinationHasChain => writeln!(
            out,
            "the hash chain was not copied: {} keeps a chain of its own, which this one cannot continue; verify the \
             copied footage against the source",
            dst.name
        )?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(text: &str) -> (StoreUri, String) {
        let default = StoreUri::parse("/default").expect("default");
        let l = parse_location(text, &default).expect(text);
        (l.store, l.name.to_string())
    }

    fn uri(text: &str) -> StoreUri {
        StoreUri::parse(text).expect(text)
    }

    #[test]
    fn locations_split_into_store_and_stream() {
        let s = |a: &str, b: &str| (uri(a), b.to_owned());
        assert_eq!(loc("site/cam"), s("/default", "site/cam"));
        assert_eq!(loc("/data/store/site/cam"), s("/data/store", "site/cam"));
        assert_eq!(loc("/site/cam"), s("/", "site/cam"));
        assert_eq!(loc("rel/dir/site/cam"), s("rel/dir", "site/cam"));
        assert_eq!(loc("file:///data/store/site/cam"), s("/data/store", "site/cam"));
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
        let default = uri("/d");
        let l = parse_location("tcp://admin:s3cret@ctl:9090/site/cam", &default).expect("location");
        assert_eq!(l.to_string(), "site/cam in tcp://admin@ctl:9090");
        let err = parse_location("tcp://admin:s3cret@ctl:x/site/cam", &default).expect_err("bad port");
        assert!(!format!("{err:#}").contains("s3cret"), "{err:#}");
    }

    #[test]
    fn bad_locations_are_errors() {
        let default = uri("/default");
        for text in [
            "",
            "cam",
            "site/",
            "tcp://site/cam",
            "tcp:///site/cam",
            "a/b/c d",
            "site/cam?user=u",
            "gopher://h/site/cam",
        ] {
            assert!(parse_location(text, &default).is_err(), "{text:?}");
        }
    }
}
