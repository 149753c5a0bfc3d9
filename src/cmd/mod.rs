//! Headless subcommands. Each takes the opened store and writes its report to stdout.

pub mod case;
pub mod copy;
pub mod dump;
pub mod import;
pub mod inspect;
pub mod list;
pub mod marks;
pub mod record;
pub mod truncate;
pub mod verify;

use anyhow::Context;
use hindsight_store::StreamName;

/// Parses and validates a `SCOPE/STREAM` argument.
pub fn parse_stream(text: &str) -> anyhow::Result<StreamName> {
    StreamName::parse(text).with_context(|| format!("bad stream argument {text:?}"))
}
