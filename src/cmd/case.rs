//! `hindsight export --case DIR STREAM…` and `hindsight verify CASE`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use hindsight_store::evidence::{default_key_path, SigningKey};
use hindsight_store::{Backend, StreamName, Timestamp};

use crate::engine::case::{self, CaseOptions};

/// Exports a case of `streams` into `dir`, printing each camera's progress on stderr.
pub fn export(
    store: Arc<dyn Backend>,
    streams: Vec<StreamName>,
    from: &str,
    to: &str,
    dir: PathBuf,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let key_path = default_key_path();
    let key = SigningKey::load_or_create(&key_path).context("cannot load the signing key")?;
    let opts = CaseOptions {
        store,
        streams,
        from: Timestamp::parse_rfc3339(from).context("bad --from")?,
        to: Timestamp::parse_rfc3339(to).context("bad --to")?,
        dir,
        key: Arc::new(key),
    };
    let cancel = super::record::stop_flag()?;
    let mut last = (usize::MAX, u32::MAX);
    let manifest = case::export_case(&opts, &cancel, |camera, fraction| {
        let percent = (fraction * 100.0) as u32 / 10 * 10;
        if (camera, percent) != last {
            last = (camera, percent);
            eprintln!("{}: {percent}%", opts.streams[camera]);
        }
    })?;
    for c in &manifest.cameras {
        writeln!(
            out,
            "{}: {} frames, {} recording chain entries -> {}",
            c.stream,
            c.frames.len(),
            c.recording_chain.len(),
            opts.dir.join(&c.file).display()
        )?;
    }
    writeln!(
        out,
        "case written to {} and signed with key {}",
        opts.dir.join(case::manifest::MANIFEST).display(),
        manifest.public_key
    )?;
    Ok(())
}

/// True if `target` names a case (a folder with a manifest, or the manifest itself) rather than a stream.
pub fn is_case(target: &str) -> bool {
    let p = Path::new(target);
    p.join(case::manifest::MANIFEST).is_file()
        || (p.is_file() && p.file_name().is_some_and(|n| n == "case.json"))
}

/// Verifies a case; with `store`, against the streams stored now as well. Fails when anything differs.
pub fn verify(target: &str, store: Option<&dyn Backend>, out: &mut dyn Write) -> anyhow::Result<()> {
    let p = Path::new(target);
    let dir = if p.is_file() {
        p.parent().unwrap_or(Path::new("."))
    } else {
        p
    };
    let report = case::verify_case(dir, store);
    let installation = super::verify::installation_key().map(hex::encode);
    if let Some(key) = &report.public_key {
        let whose = if installation.as_ref() == Some(key) {
            "this installation's key"
        } else {
            "another installation's key"
        };
        writeln!(out, "case signed by {key} ({whose})")?;
    }
    for c in &report.cameras {
        let recorded = if c.has_recording_chain {
            format!("recording chain signed by {}", c.recorded_by.join(", "))
        } else {
            "no recording chain (recorded without one): the case proves the export, not the recording".into()
        };
        writeln!(
            out,
            "{}: {} of {} frames match ({}); {recorded}",
            c.stream, c.frames_matched, c.frames, c.file
        )?;
    }
    if report.is_intact() {
        writeln!(
            out,
            "case intact{}",
            if store.is_some() {
                ", and it matches the store"
            } else {
                ""
            }
        )?;
        return Ok(());
    }
    for p in &report.problems {
        writeln!(out, "  {p}")?;
    }
    anyhow::bail!(
        "the case does not verify ({} problem{}); first: {}",
        report.problems.len(),
        if report.problems.len() == 1 { "" } else { "s" },
        report.problems[0]
    )
}
