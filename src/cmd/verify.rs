//! `hindsight verify STREAM`: checks a stream's frames against the hash chain kept while it was recorded.

use std::io::Write;

use anyhow::Context;
use hindsight_store::evidence::{self, Report, SigningKey, VerifyRange};
use hindsight_store::{Backend, StreamName, Timestamp};
use serde::Serialize;

#[derive(Debug, Serialize)]
struct JsonReport {
    stream: String,
    store: String,
    has_chain: bool,
    intact: bool,
    frames_verified: u64,
    signatures_verified: u64,
    keys: Vec<String>,
    installation_key: Option<String>,
    first_time: Option<String>,
    last_time: Option<String>,
    unsigned_frames: u64,
    uncovered_frames: u64,
    truncated_frames: u64,
    problem_count: u64,
    problems: Vec<String>,
}

/// Runs the command; an altered stream, or one without a chain, is an error after the report is printed.
pub fn run(
    store: &dyn Backend,
    name: &StreamName,
    from: Option<&str>,
    to: Option<&str>,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let range = VerifyRange {
        from: from
            .map(Timestamp::parse_rfc3339)
            .transpose()
            .context("bad --from time")?,
        to: to
            .map(Timestamp::parse_rfc3339)
            .transpose()
            .context("bad --to time")?,
    };
    if !hindsight_store::video::video_stream_exists(store, name)
        .with_context(|| format!("cannot read store {}", store.uri()))?
    {
        anyhow::bail!("stream {name} does not exist in {}", store.uri());
    }
    let report = evidence::verify_stream(store, name, range)
        .with_context(|| format!("cannot verify {name} in {}", store.uri()))?;
    let installation = installation_key();
    if json {
        let r = report.clone().unwrap_or_default();
        let j = JsonReport {
            stream: name.to_string(),
            store: store.uri(),
            has_chain: report.is_some(),
            intact: report.as_ref().is_some_and(Report::is_intact),
            frames_verified: r.frames_verified,
            signatures_verified: r.signatures_verified,
            keys: r.keys.iter().map(hex::encode).collect(),
            installation_key: installation.map(hex::encode),
            first_time: r.first_time.map(Timestamp::to_rfc3339),
            last_time: r.last_time.map(Timestamp::to_rfc3339),
            unsigned_frames: r.unsigned_frames,
            uncovered_frames: r.uncovered_frames,
            truncated_frames: r.truncated_frames,
            problem_count: r.problem_count,
            problems: r.problems.iter().map(ToString::to_string).collect(),
        };
        serde_json::to_writer_pretty(&mut *out, &j)?;
        writeln!(out)?;
    } else if let Some(r) = &report {
        write_text(out, name, r, installation)?;
    }
    match report {
        None => anyhow::bail!(
            "{name} carries no hash chain (recorded without one, e.g. by the original plugin): it plays and \
             exports, but there is nothing to verify it against"
        ),
        Some(r) if !r.is_intact() => {
            let first = r.problems.first().map(ToString::to_string).unwrap_or_default();
            anyhow::bail!(
                "{name} does not match what was recorded ({} problem{}); first: {first}",
                r.problem_count,
                if r.problem_count == 1 { "" } else { "s" }
            )
        }
        Some(_) => Ok(()),
    }
}

fn write_text(
    out: &mut dyn Write,
    name: &StreamName,
    r: &Report,
    installation: Option<[u8; 32]>,
) -> anyhow::Result<()> {
    let span = match (r.first_time, r.last_time) {
        (Some(a), Some(b)) => format!(" from {} to {}", a.to_rfc3339(), b.to_rfc3339()),
        _ => String::new(),
    };
    if r.is_intact() {
        writeln!(
            out,
            "{name}: intact: {} frames{span} match what was recorded",
            r.frames_verified
        )?;
    } else {
        writeln!(
            out,
            "{name}: ALTERED: {} problem(s); {} frames{span} match",
            r.problem_count, r.frames_verified
        )?;
        for p in &r.problems {
            writeln!(out, "  {p}")?;
        }
        if r.problem_count > r.problems.len() as u64 {
            writeln!(out, "  … and {} more", r.problem_count - r.problems.len() as u64)?;
        }
    }
    for key in &r.keys {
        let whose = if Some(*key) == installation {
            "this installation's key"
        } else {
            "another installation's key"
        };
        writeln!(
            out,
            "  signed by {} ({whose}): {}",
            evidence::fingerprint(key),
            hex::encode(key)
        )?;
    }
    writeln!(out, "  signatures verified: {}", r.signatures_verified)?;
    if r.unsigned_frames > 0 {
        writeln!(
            out,
            "  {} newest frames are chained but not signed yet (the writer is recording, or stopped without finishing)",
            r.unsigned_frames
        )?;
    }
    if r.uncovered_frames > 0 {
        writeln!(
            out,
            "  {} frames were stored by a writer that stopped before recording their hashes (not evidence)",
            r.uncovered_frames
        )?;
    }
    if r.truncated_frames > 0 {
        writeln!(
            out,
            "  {} recorded frames in the range were deleted by truncation",
            r.truncated_frames
        )?;
    }
    Ok(())
}

/// This installation's public key, when it has one (verifying never creates a key).
pub fn installation_key() -> Option<[u8; 32]> {
    let path = evidence::default_key_path();
    path.exists()
        .then(|| SigningKey::load_or_create(&path).ok())
        .flatten()
        .map(|k| k.public_key())
}
