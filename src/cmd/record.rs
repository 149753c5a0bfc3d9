//! `hindsight record` and `hindsight export`: the media engine from the terminal, with progress and a clean
//! Ctrl-C (EOS through the pipeline, so the last frame and the end record are written).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::{bail, Context};
use hindsight_store::{Backend, StreamName, Timestamp};

use crate::engine::export::{self, ExportOptions};
use crate::engine::profile;
use crate::engine::recorder::{self, Outcome, RecordEvent, RecordOptions, Source};
use crate::human;

/// Stops on the first Ctrl-C (or SIGTERM) by setting the returned flag; a second one ends the process.
pub(crate) fn stop_flag() -> anyhow::Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 1, flag.clone())
            .context("cannot install the signal handler")?;
        signal_hook::flag::register(sig, flag.clone()).context("cannot install the signal handler")?;
    }
    Ok(flag)
}

fn parse_size(text: &str) -> anyhow::Result<(i32, i32)> {
    let (w, h) = text.split_once('x').context("--size must look like 640x360")?;
    let (w, h): (i32, i32) = (w.parse().context("bad width")?, h.parse().context("bad height")?);
    if !(16..=7680).contains(&w) || !(16..=4320).contains(&h) {
        bail!("--size {w}x{h} is out of range");
    }
    Ok((w, h))
}

/// Runs `hindsight record`.
pub fn record(
    store: Arc<dyn Backend>,
    stream: StreamName,
    source: &str,
    profile_id: &str,
    start_utc: Option<&str>,
    size: &str,
    retention: hindsight_store::RetentionPolicy,
) -> anyhow::Result<()> {
    let opts = RecordOptions {
        retention,
        store,
        stream: stream.clone(),
        source: source.parse::<Source>()?,
        profile: profile::by_id(profile_id)?,
        start_utc: start_utc
            .map(Timestamp::parse_rfc3339)
            .transpose()
            .context("bad --start-utc")?,
        size: parse_size(size)?,
    };
    opts.source.check()?;
    let stop = stop_flag()?;
    let tty = std::io::stderr().is_terminal();
    eprintln!(
        "recording {source} into {stream} ({}); Ctrl-C stops",
        opts.store.uri()
    );
    let outcome = recorder::run(&opts, &stop, |event| match event {
        RecordEvent::Recording(p) => {
            let line = format!(
                "{}  {}  {:.2} Mbit/s{}",
                human::duration(p.duration),
                human::bytes(p.bytes),
                p.bitrate / 1e6,
                if p.reconnects > 0 {
                    format!("  ({} reconnects)", p.reconnects)
                } else {
                    String::new()
                }
            );
            if tty {
                eprint!("\r\x1b[2K{line}");
            } else {
                eprintln!("{line}");
            }
        }
        RecordEvent::Reconnecting { reason, retry_in, .. } => {
            if tty {
                eprintln!();
            }
            eprintln!("{reason}; retrying in {}s", retry_in.as_secs());
        }
    })?;
    if tty {
        eprintln!();
    }
    match outcome {
        Outcome::Finished => eprintln!("source ended; {stream} closed with an end record"),
        Outcome::Stopped => eprintln!("stopped; {stream} closed with an end record"),
    }
    Ok(())
}

/// Runs `hindsight export`.
pub fn export(
    store: Arc<dyn Backend>,
    stream: StreamName,
    from: &str,
    to: &str,
    output: PathBuf,
) -> anyhow::Result<()> {
    let opts = ExportOptions {
        store,
        stream,
        from: Timestamp::parse_rfc3339(from).context("bad --from")?,
        to: Timestamp::parse_rfc3339(to).context("bad --to")?,
        output,
    };
    let cancel = stop_flag()?;
    let tty = std::io::stderr().is_terminal();
    let mut last_percent = u32::MAX;
    let summary = export::run(&opts, &cancel, |fraction| {
        let percent = (fraction * 100.0) as u32;
        if percent == last_percent {
            return;
        }
        last_percent = percent;
        if tty {
            let filled = (fraction * 30.0) as usize;
            eprint!(
                "\r[{}{}] {percent:3}%",
                "#".repeat(filled),
                ".".repeat(30 - filled.min(30))
            );
            let _ = std::io::stderr().flush();
        } else if percent % 10 == 0 {
            eprintln!("{percent}%");
        }
    })?;
    if tty {
        eprintln!();
    }
    println!(
        "wrote {} ({}): {} .. {}",
        opts.output.display(),
        human::bytes(summary.bytes),
        summary.first,
        summary.last
    );
    Ok(())
}
