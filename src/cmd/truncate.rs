//! `hindsight truncate`: delete footage before a time, except what a hold keeps.

use std::io::Write;

use anyhow::Context;
use hindsight_store::marks;
use hindsight_store::video::truncate_before_time;
use hindsight_store::{Backend, StreamName, Timestamp};

/// Runs the command.
pub fn run(store: &dyn Backend, name: &StreamName, before: &str, out: &mut dyn Write) -> anyhow::Result<()> {
    let t = Timestamp::parse_rfc3339(before).context("bad --before time")?;
    let held = marks::read(store, name)
        .with_context(|| format!("cannot read the holds of {name}"))?
        .holds
        .into_iter()
        .filter(|h| h.from < t)
        .min_by_key(|h| h.from);
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
    if let Some(h) = held {
        writeln!(
            out,
            "footage from {} on is kept: held by {}{} until released (hindsight hold {name} --release {})",
            h.from.to_rfc3339(),
            h.id,
            if h.note.is_empty() {
                String::new()
            } else {
                format!(" ({})", h.note)
            },
            h.id
        )?;
    }
    Ok(())
}
