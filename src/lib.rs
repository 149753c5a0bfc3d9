//! Hindsight: record, watch live and scrub camera footage kept in append-only byte streams.
//!
//! `hindsight` opens the app; `hindsight SUBCOMMAND` works headless (see `--help`). The binary is a thin
//! `main` around [`run`]; the media engine is public so that benchmarks measure the code the app runs.

mod cli;
mod cmd;
pub mod config;
mod credentials;
pub mod engine;
pub mod human;
mod logging;
pub mod serve;
mod settings;
pub(crate) mod startup;
mod ui;

/// The timeline's model and its drawing, GTK widgets aside (the timeline benchmark draws it off screen).
pub use ui::{timeline, timeline_draw, timeline_model};

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use hindsight_store::{Backend, StoreUri};
use std::sync::Arc;

use crate::cli::{Cli, Command};

/// The store a command works on: `--store` (or `$HINDSIGHT_STORE`), else the default embedded store.
fn store_uri(explicit: Option<&str>) -> anyhow::Result<StoreUri> {
    StoreUri::resolve(explicit).context("bad --store")
}

/// Fails with a clear message unless every one of `names` is a video stream of `store`.
fn require_streams(store: &dyn Backend, names: &[hindsight_store::StreamName]) -> anyhow::Result<()> {
    for name in names {
        if !hindsight_store::video::video_stream_exists(store, name)
            .with_context(|| format!("cannot read store {}", store.uri()))?
        {
            anyhow::bail!("stream {name} does not exist in {}", store.uri());
        }
    }
    Ok(())
}

/// Opens the store for reading.
fn open_store(explicit: Option<&str>) -> anyhow::Result<Arc<dyn Backend>> {
    let uri = store_uri(explicit)?;
    uri.open().with_context(|| format!("cannot open store {uri}"))
}

/// Opens the store, creating the embedded store's directory when it is missing, for commands that write.
fn open_or_create_store(explicit: Option<&str>) -> anyhow::Result<Arc<dyn Backend>> {
    let uri = store_uri(explicit)?;
    uri.open_or_create()
        .with_context(|| format!("cannot open store {uri}"))
}

fn run_command(store: Option<&str>, command: Command) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match command {
        Command::List { json } => {
            let default_store = store.is_none_or(|s| s.trim().is_empty());
            cmd::list::run(open_store(store)?.as_ref(), default_store, json, &mut out)
        }
        Command::Inspect {
            stream,
            json,
            records,
            gap,
        } => {
            let name = cmd::parse_stream(&stream)?;
            let gap =
                Duration::try_from_secs_f64(gap).context("--gap must be a positive number of seconds")?;
            cmd::inspect::run(open_store(store)?.as_ref(), &name, json, records, gap, &mut out)
        }
        Command::Dump { stream, data, index } => {
            let name = cmd::parse_stream(&stream)?;
            cmd::dump::run(open_store(store)?.as_ref(), &name, &data, &index, &mut out)
        }
        Command::Import { stream, data, index } => {
            let name = cmd::parse_stream(&stream)?;
            cmd::import::run(
                open_or_create_store(store)?.as_ref(),
                &name,
                &data,
                &index,
                &mut out,
            )
        }
        Command::Record {
            stream,
            source,
            profile,
            start_utc,
            size,
            retain_days,
            retain_size,
        } => {
            let name = cmd::parse_stream(&stream)?;
            let retention = cmd::marks::retention(retain_days, retain_size.as_deref())?;
            let store = open_or_create_store(store)?;
            cmd::record::record(
                store,
                name,
                &source,
                &profile,
                start_utc.as_deref(),
                &size,
                retention,
            )
        }
        Command::Export {
            streams,
            from,
            to,
            output,
            case,
        } => {
            let names = streams
                .iter()
                .map(|s| cmd::parse_stream(s))
                .collect::<anyhow::Result<Vec<_>>>()?;
            match (case, output) {
                (Some(dir), _) => cmd::case::export(open_store(store)?, names, &from, &to, dir, &mut out),
                (None, Some(output)) => {
                    let [name] = <[hindsight_store::StreamName; 1]>::try_from(names).map_err(|_| {
                        anyhow::anyhow!("an MP4 export takes one stream; use --case DIR for several")
                    })?;
                    cmd::record::export(open_store(store)?, name, &from, &to, output)
                }
                (None, None) => anyhow::bail!("give -o FILE or --case DIR"),
            }
        }
        Command::Play {
            streams,
            live,
            at,
            speed,
        } => {
            let mut names = streams
                .iter()
                .map(|s| cmd::parse_stream(s))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let start = match (live, at) {
                (true, _) => engine::player::StartAt::Live,
                (false, Some(text)) => engine::player::StartAt::Time(
                    hindsight_store::Timestamp::parse_rfc3339(&text).context("bad --at time")?,
                ),
                (false, None) => engine::player::StartAt::Earliest,
            };
            let store = open_store(store)?;
            require_streams(store.as_ref(), &names)?;
            let first = names.remove(0);
            ui::run(
                store,
                settings::Settings::open(),
                ui::window::StartView::Play(first, names, start, speed),
            );
            Ok(())
        }
        Command::Wall { streams, layout } => {
            let names = streams
                .iter()
                .map(|s| cmd::parse_stream(s))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let layout = layout
                .map(|l| {
                    ui::wall_layout(&l)
                        .ok_or_else(|| anyhow::anyhow!("bad --layout {l:?}: use 1, 2x2, 3x3, 4x4 or auto"))
                })
                .transpose()?;
            let store = open_store(store)?;
            require_streams(store.as_ref(), &names)?;
            ui::run(
                store,
                settings::Settings::open(),
                ui::window::StartView::Wall(names, layout),
            );
            Ok(())
        }
        Command::Open { case } => {
            if !cmd::case::is_case(&case.to_string_lossy()) {
                anyhow::bail!("{} is not a case: it has no case.json", case.display());
            }
            let store = open_store(store)?;
            ui::run(
                store,
                settings::Settings::open(),
                ui::window::StartView::Case(case),
            );
            Ok(())
        }
        Command::Copy {
            source,
            destination,
            append,
        } => {
            let default_store = store_uri(store)?;
            let src = cmd::copy::parse_location(&source, &default_store)?;
            let dst = cmd::copy::parse_location(&destination, &default_store)?;
            cmd::copy::run(&src, &dst, append, &mut out)
        }
        Command::Serve { listen, token, cors } => {
            let listen = listen
                .parse()
                .with_context(|| format!("bad --listen {listen:?}: use ADDRESS:PORT, e.g. 127.0.0.1:8080"))?;
            serve::run(open_store(store)?, serve::Options { listen, token, cors })
        }
        Command::Verify { stream, .. } if cmd::case::is_case(&stream) => {
            let store = store.map(|s| open_store(Some(s))).transpose()?;
            cmd::case::verify(&stream, store.as_deref(), &mut out)
        }
        Command::Verify {
            stream,
            from,
            to,
            json,
        } => {
            let name = cmd::parse_stream(&stream)?;
            let store = open_store(store)?;
            cmd::verify::run(
                store.as_ref(),
                &name,
                from.as_deref(),
                to.as_deref(),
                json,
                &mut out,
            )
        }
        Command::Bookmarks {
            stream,
            add,
            at,
            remove,
            json,
        } => {
            let name = cmd::parse_stream(&stream)?;
            let store = open_store(store)?;
            require_streams(store.as_ref(), std::slice::from_ref(&name))?;
            let change = match (add, at, remove) {
                (Some(title), Some(at), None) => cmd::marks::BookmarkChange::Add { title, at },
                (None, None, Some(id)) => cmd::marks::BookmarkChange::Remove(id),
                _ => cmd::marks::BookmarkChange::None,
            };
            cmd::marks::bookmarks(store.as_ref(), &name, change, json, &mut out)
        }
        Command::Hold {
            stream,
            from,
            to,
            note,
            release,
            json,
        } => {
            let name = cmd::parse_stream(&stream)?;
            let store = open_store(store)?;
            require_streams(store.as_ref(), std::slice::from_ref(&name))?;
            let change = match (from, to, release) {
                (Some(from), Some(to), None) => cmd::marks::HoldChange::Place { from, to, note },
                (None, None, Some(id)) => cmd::marks::HoldChange::Release(id),
                _ => cmd::marks::HoldChange::None,
            };
            cmd::marks::holds(store.as_ref(), &name, change, json, &mut out)
        }
        Command::Truncate { stream, before } => {
            let name = cmd::parse_stream(&stream)?;
            cmd::truncate::run(open_store(store)?.as_ref(), &name, &before, &mut out)
        }
    }?;
    out.flush().context("cannot write to stdout")
}

/// The store saved in the preferences, with its password from the keyring. A password an older version saved
/// in GSettings moves to the keyring here (the controller's too), and GSettings keeps the address without it.
fn saved_store(settings: &settings::Settings) -> Option<String> {
    use credentials::{resolve, Keyring};
    let controller = settings.controller_uri();
    if credentials::split(&controller).is_ok_and(|s| s.password.is_some()) {
        if let Some(public) = resolve(&Keyring, &controller).migrated {
            settings.set_controller_uri(&public);
        }
    }
    let saved = settings.store_uri()?;
    let resolved = resolve(&Keyring, &saved);
    if let Some(public) = &resolved.migrated {
        settings.set_store_uri(public);
        tracing::info!(store = %public, "moved the store password from the preferences to the keyring");
    }
    if let Some(warning) = &resolved.warning {
        tracing::warn!("{warning}");
    }
    Some(resolved.connect)
}

/// Parses the command line and runs the app or a subcommand; errors are printed as one line.
pub fn run() -> ExitCode {
    startup::begin();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and --version are not errors; usage errors are one line and status 1 like every other error.
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("bad arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("hindsight: error: {first} (see --help)");
            return ExitCode::FAILURE;
        }
    };
    logging::init(matches!(cli.command, Some(Command::Serve { .. })));
    logging::install_panic_hook();
    let result = match cli.command {
        Some(command) => run_command(cli.store.as_deref(), command),
        None => {
            // The app alone: --store / $HINDSIGHT_STORE, else the store chosen in the preferences.
            let settings = settings::Settings::open();
            let store = cli.store.clone().or_else(|| saved_store(&settings));
            open_or_create_store(store.as_deref())
                .map(|store| ui::run(store, settings, ui::window::StartView::Library))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hindsight: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
