//! The command line: `hindsight` alone starts the app; subcommands work headless on a store.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::VERSION;

/// Record, watch live and scrub camera footage kept in append-only byte streams.
#[derive(Debug, Parser)]
#[command(name = "hindsight", version = VERSION, about, long_about = None)]
pub struct Cli {
    /// Store to use: a directory or file:///path (embedded store), or tcp://host:9090 / tls://host:9090
    /// (Pravega). Default: the embedded store in $XDG_DATA_HOME/hindsight/streams.
    #[arg(long, global = true, env = "HINDSIGHT_STORE", value_name = "URI")]
    pub store: Option<String>,

    /// What to do; without a command the app window opens.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the video streams in the store with their recorded time span and size.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show a stream's head, tail, index, recorded ranges and gaps.
    Inspect {
        /// The stream, SCOPE/STREAM.
        stream: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Also list every index record.
        #[arg(long)]
        records: bool,
        /// Records further apart than this many seconds start a new recorded range.
        #[arg(long, default_value_t = hindsight_store::DEFAULT_RANGE_GAP.as_secs_f64(), value_name = "SECONDS")]
        gap: f64,
    },
    /// Write a stream's data and index byte streams to files in the wire format.
    Dump {
        /// The stream, SCOPE/STREAM.
        stream: String,
        /// File for the data stream bytes.
        #[arg(long, value_name = "FILE")]
        data: PathBuf,
        /// File for the index stream bytes.
        #[arg(long, value_name = "FILE")]
        index: PathBuf,
    },
    /// Create a stream from data and index files in the wire format (as written by `dump`).
    Import {
        /// The new stream, SCOPE/STREAM.
        stream: String,
        /// File with the data stream bytes.
        #[arg(long, value_name = "FILE")]
        data: PathBuf,
        /// File with the index stream bytes.
        #[arg(long, value_name = "FILE")]
        index: PathBuf,
    },
    /// Record a camera, an RTSP URL, a file or a test pattern into a stream; Ctrl-C stops cleanly.
    Record {
        /// The stream to write, SCOPE/STREAM (created if missing).
        #[arg(long)]
        stream: String,
        /// test, v4l2:/dev/videoN, rtsp://... or file:///path.mp4
        #[arg(long)]
        source: String,
        /// Encoder profile for sources that are encoded here (see data/profiles.json).
        #[arg(long, default_value = crate::engine::profile::DEFAULT_PROFILE)]
        profile: String,
        /// For files: the wall-clock time of the first frame (RFC 3339); default now.
        #[arg(long, value_name = "TIME")]
        start_utc: Option<String>,
        /// Test pattern size, WIDTHxHEIGHT (the app records its test pattern at the same size).
        #[arg(long, default_value_t = format!("{}x{}", crate::engine::recorder::TEST_PATTERN_SIZE.0, crate::engine::recorder::TEST_PATTERN_SIZE.1))]
        size: String,
        /// Retention: delete footage older than this many days while recording (a held range is kept).
        #[arg(long, value_name = "DAYS")]
        retain_days: Option<f64>,
        /// Retention: keep at most about this much footage, e.g. 500M, 20G or 1T (a held range is kept).
        #[arg(long, value_name = "BYTES")]
        retain_size: Option<String>,
    },
    /// Export a time range of a stream to an MP4 file that plays anywhere, or of several cameras as a case (an
    /// MP4 per camera and a signed manifest that `hindsight verify DIR` checks).
    Export {
        /// The stream, SCOPE/STREAM; with --case, one or more.
        #[arg(value_name = "SCOPE/STREAM", required = true)]
        streams: Vec<String>,
        /// Start (RFC 3339); the clip starts at the key frame at or before it.
        #[arg(long, value_name = "TIME")]
        from: String,
        /// End (RFC 3339).
        #[arg(long, value_name = "TIME")]
        to: String,
        /// The MP4 file to write.
        #[arg(
            short,
            long,
            value_name = "FILE",
            required_unless_present = "case",
            conflicts_with = "case"
        )]
        output: Option<PathBuf>,
        /// Export a case into this new or empty folder instead.
        #[arg(long, value_name = "DIR")]
        case: Option<PathBuf>,
    },
    /// Open the app and play a stream (from its first key frame unless --live or --at); with several, review
    /// them side by side in step (up to 9), all at the same recorded instant.
    Play {
        /// The streams, SCOPE/STREAM.
        #[arg(value_name = "SCOPE/STREAM", required = true, num_args = 1..=9)]
        streams: Vec<String>,
        /// Start at the live edge and follow it.
        #[arg(long, conflicts_with = "at")]
        live: bool,
        /// Start at the key frame at or before this RFC 3339 time (with several streams, exactly at it).
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// Playback speed: 0.25, 0.5, 1, 2 or 4.
        #[arg(long, default_value_t = 1.0, value_parser = parse_speed)]
        speed: f64,
    },
    /// Open the app on a wall of these streams, each live in its own tile.
    Wall {
        /// The streams, SCOPE/STREAM, in tile order.
        #[arg(value_name = "SCOPE/STREAM")]
        streams: Vec<String>,
        /// 1, 2x2, 3x3, 4x4 or auto (the smallest square grid that holds them).
        #[arg(long)]
        layout: Option<String>,
    },
    /// Open the app on a case folder (from `hindsight export --case` or the app): its cameras, range and signer,
    /// and whether it verifies (against the streams in --store too, when it was exported from that store).
    Open {
        /// The case folder.
        #[arg(value_name = "CASE")]
        case: std::path::PathBuf,
    },
    /// Copy a stream's data and index byte for byte to another stream, e.g. between the embedded store and
    /// Pravega. Locations are STORE/SCOPE/STREAM (STORE: a directory, file:///dir, tcp://host:port or
    /// tls://host:port) or a bare SCOPE/STREAM in the --store store.
    Copy {
        /// Where to copy from.
        #[arg(value_name = "SOURCE")]
        source: String,
        /// Where to copy to (created if missing).
        #[arg(value_name = "DESTINATION")]
        destination: String,
        /// Add the copy after footage the destination already holds, instead of refusing.
        #[arg(long)]
        append: bool,
    },
    /// Serve the store over HTTP: HLS playlists from the index, the streams' bytes by range, a JSON API and a
    /// browser player at /. Loopback only unless --listen says otherwise (then a token is required).
    Serve {
        /// Address and port to listen on (port 0: any free port, printed at start).
        #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDRESS:PORT")]
        listen: String,
        /// The access token clients must send (Authorization: Bearer TOKEN or ?token=TOKEN); made and printed
        /// when listening beyond loopback without one.
        #[arg(long, env = "HINDSIGHT_SERVE_TOKEN")]
        token: Option<String>,
        /// Allow cross-origin requests from this one origin, e.g. https://wall.example.
        #[arg(long, value_name = "ORIGIN")]
        cors: Option<String>,
    },
    /// Check a stream's frames against the signed hash chain kept while it was recorded and report the first
    /// frame whose bytes no longer match, or check a case export. Fails when anything was altered or the stream
    /// has no chain.
    Verify {
        /// The stream, SCOPE/STREAM; or a case folder (then --store, when given, also compares it with the
        /// streams stored now).
        #[arg(value_name = "SCOPE/STREAM|CASE")]
        stream: String,
        /// Only frames from this time on (RFC 3339).
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// Only frames up to this time (RFC 3339).
        #[arg(long, value_name = "TIME")]
        to: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List a stream's bookmarks, or add or remove one. Bookmarks are kept beside the stream: every client of
    /// the store sees them, and truncation removes those of deleted footage.
    Bookmarks {
        /// The stream, SCOPE/STREAM.
        stream: String,
        /// Add a bookmark with this name, at --at.
        #[arg(long, value_name = "NAME", requires = "at", conflicts_with = "remove")]
        add: Option<String>,
        /// The time of the bookmark to add (RFC 3339).
        #[arg(long, value_name = "TIME", requires = "add")]
        at: Option<String>,
        /// Remove the bookmark with this id.
        #[arg(long, value_name = "ID")]
        remove: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List a stream's retention holds, place one, or release one. A held range is kept from retention and from
    /// `hindsight truncate` until it is released.
    Hold {
        /// The stream, SCOPE/STREAM.
        stream: String,
        /// Start of the range to hold (RFC 3339).
        #[arg(long, value_name = "TIME", requires = "to", conflicts_with = "release")]
        from: Option<String>,
        /// End of the range to hold (RFC 3339).
        #[arg(long, value_name = "TIME", requires = "from")]
        to: Option<String>,
        /// Why the range is held, e.g. a case number.
        #[arg(long, default_value = "", requires = "from")]
        note: String,
        /// Release the hold with this id.
        #[arg(long, value_name = "ID")]
        release: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Delete footage before a time (at the key frame at or before it), index first, then data.
    Truncate {
        /// The stream, SCOPE/STREAM.
        stream: String,
        /// RFC 3339 time, e.g. 2024-05-01T12:00:00Z.
        #[arg(long, value_name = "TIME")]
        before: String,
    },
}

/// A speed the player offers.
fn parse_speed(text: &str) -> Result<f64, String> {
    let speed: f64 = text.parse().map_err(|_| format!("{text:?} is not a number"))?;
    if [0.25, 0.5, 1.0, 2.0, 4.0].contains(&speed) {
        Ok(speed)
    } else {
        Err(format!("{speed} is not one of 0.25, 0.5, 1, 2, 4"))
    }
}
