//! The Pravega backend: byte streams on a Pravega cluster through pravega-client 0.3.7.
//!
//! Store URIs ([`crate::StoreUri`]): `tcp://[user:password@]host[:port]` or `tls://[user:password@]host[:port]`
//! name the controller (port 9090 when omitted). Environment variables complete them ([`PravegaOptions`]):
//! - `HINDSIGHT_PRAVEGA_USERNAME` / `HINDSIGHT_PRAVEGA_PASSWORD`: basic credentials for auth-enabled servers when
//!   the URI carries none (credentials in the URI win; the URI shown in messages never includes the password).
//! - `HINDSIGHT_PRAVEGA_TLS_CERT`: a PEM file or a directory of PEM files with the CA certificates to trust for
//!   `tls://` (default: the system bundle `/etc/ssl/certs/ca-certificates.crt`); `HINDSIGHT_PRAVEGA_TLS_INSECURE=1`
//!   skips certificate verification (tests only).
//! - `HINDSIGHT_PRAVEGA_TIMEOUT_MS`: the longest one operation may take before it fails (default 10 000).
//!
//! Layout and mapping of the storage API:
//! - Every byte stream is a Pravega stream with one fixed segment, created on demand by writers only
//!   ([`Backend::create`]: scope, then stream, tagged `video`, index streams also `index`).
//! - Appends go through pravega-client's `ByteWriter`, positioned with `seek_to_tail`, one `write` plus `flush`
//!   per append so each append is atomic and visible to readers at once. Its appends are conditional on the
//!   writer's offset, so bytes of two writers can never interleave.
//! - Reads, head/tail/sealed queries, truncation and tail waits talk to the segment store directly over
//!   pravega-client's wire protocol (module `conn`): the 0.3.7 `ByteReader` cannot report a sealed segment,
//!   prefetches from offset 0 when created, panics on errors and waits at the tail with the client's request
//!   timeout and retry back-off (seconds of delay after an idle spell, DESIGN.md §7). A tail wait here is a read
//!   at the tail that the segment store answers the moment data is appended, raced against the caller's
//!   deadline and [`crate::Interrupt`] eventfd; the bytes it returns serve the reads that follow.
//! - Readers fetch ahead (at least 256 KiB per read below the tail) and serve those bytes for up to 100 ms, so a
//!   truncation made by another process may go unnoticed by a reader for that long (truncations through the
//!   same store are seen at once). A reader's `info` leaves `writer_active` unset; the store's `info` fills it.
//! - Writer exclusivity: Pravega has no writer lock, so [`lease`] keeps a best-effort one: a lease per stream in a
//!   Pravega key-value table of the scope, renewed every few seconds and taken over only after it expired. A
//!   writer that crashed blocks new writers of its streams for up to [`lease::LEASE_TTL`]; the lease compares
//!   wall clocks, so writers on different hosts need synchronised clocks. The conditional appends stay the hard
//!   guarantee against interleaving.
//! - [`crate::backend::ByteWriter::truncate_tail`] refuses anything but the current tail: appends are atomic.
//!
//! The traits are blocking; the backend owns a small tokio runtime ([`runtime`]) and every call runs as a task on
//! it under an overall timeout, so a dead or restarting server becomes an error the caller can retry
//! (pravega-client panics on some failures: those end the task, not the caller's thread). Client failures become
//! typed errors in [`errors`].
//!
//! Files: `options` (address + environment), `runtime`, `errors`, `core` (segments, connections, tokens,
//! lease tables), `conn` (the wire protocol connection), `reader`, `writer`, `lease`, `store`.

mod conn;
mod core;
mod errors;
pub mod lease;
mod options;
mod read_cache;
mod reader;
mod runtime;
mod store;
mod tls_check;
mod writer;

pub use options::{PravegaOptions, DEFAULT_OP_TIMEOUT};
pub use store::PravegaStore;

/// Tag on every stream this backend creates.
pub const VIDEO_TAG: &str = "video";
/// Extra tag on index streams.
pub const INDEX_TAG: &str = "index";
/// The largest single append Pravega takes (its event size limit); data frames are at most this long.
pub const MAX_APPEND: usize = 8 * 1024 * 1024;
