//! `hindsight truncate`: delete footage before a time.

use std::io::Write;

use anyhow::Context;
use hindsight_store::video::truncate_before_time;
use hindsight_store::{Backend, StreamName, Timestamp};

/// Runs the command.
pub fn run(store: &dyn Backend, name: &StreamName, before: &str, out: &mut dyn Write) -> anyhow::Result<()> {
    let t = Timestamp::parse_rfc3339(before).context("bad --before time")?;
    match truncate_before_time(store, name, t).with_context(|| format!("cannot truncate {name}"))? {
        Some(rec) => writeln!(
            out,
            "{name} now starts at {} (data offset {})",
            rec.timestamp.to_rfc3339(),
            rec.offset
        )?,
        None => writeln!(
            out,
            "{name} has no key frame at or before {before}; nothing deleted"
        )?,
    }
    Ok(())
}
