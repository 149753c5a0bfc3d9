//! The Pravega backend: byte streams on a Pravega cluster through pravega-client 0.3.7.
//!
//! Store URIs: `tcp://[user:password@]host[:port]` or `tls://[user:password@]host[:port]` name the controller
//! (port 9090 when omitted). Environment variables complete them:
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
//! The traits are blocking; the backend owns a small tokio runtime and every call runs as a task on it under
//! an overall timeout, so a dead or restarting server becomes an error the caller can retry (pravega-client
//! panics on some failures: those end the task, not the caller's thread).

mod conn;
mod io;
pub mod lease;

use std::collections::HashMap;
use std::future::Future;
use std::net::ToSocketAddrs;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pravega_client::client_factory::ClientFactoryAsync;
use pravega_client::sync::table::Table;
use pravega_client_auth::DelegationTokenProvider;
use pravega_client_config::credentials::Credentials;
use pravega_client_config::ClientConfigBuilder;
use pravega_client_retry::retry_policy::RetryWithBackoff;
use pravega_client_shared::{
    CToken, PravegaNodeUri, Retention, ScaleType, Scaling, Scope, ScopedSegment, ScopedStream, Segment,
    Stream, StreamConfiguration,
};
use pravega_wire_protocol::commands::{
    GetStreamSegmentInfoCommand, StreamSegmentInfoCommand, TruncateSegmentCommand,
};
use pravega_wire_protocol::connection_factory::{ConnectionFactory, ConnectionFactoryConfig};
use pravega_wire_protocol::wire_commands::{Replies, Requests};

use crate::backend::{Backend, ByteReader, ByteWriter, Result, StoreError, StreamInfo};
use crate::name::StreamName;

use conn::{request_id, SegmentConn};

/// Tag on every stream this backend creates.
pub const VIDEO_TAG: &str = "video";
/// Extra tag on index streams.
pub const INDEX_TAG: &str = "index";
/// The largest single append Pravega takes (its event size limit); data frames are at most this long.
pub const MAX_APPEND: usize = 8 * 1024 * 1024;
/// Default for [`PravegaOptions::op_timeout`].
pub const DEFAULT_OP_TIMEOUT: Duration = Duration::from_secs(10);

/// How to reach a Pravega cluster.
#[derive(Clone)]
pub struct PravegaOptions {
    /// Controller host.
    pub host: String,
    /// Controller port.
    pub port: u16,
    /// TLS to controller and segment stores.
    pub tls: bool,
    /// Basic credentials for auth-enabled servers.
    pub credentials: Option<(String, String)>,
    /// PEM certificates to trust for TLS (contents, not paths).
    pub trust_certs: Vec<String>,
    /// Skip TLS certificate verification.
    pub insecure: bool,
    /// Longest time one operation (append, read, create, ...) may take before it fails.
    pub op_timeout: Duration,
}

impl std::fmt::Debug for PravegaOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the password.
        f.debug_struct("PravegaOptions")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.credentials.as_ref().map(|c| &c.0))
            .field("trust_certs", &self.trust_certs.len())
            .field("insecure", &self.insecure)
            .field("op_timeout", &self.op_timeout)
            .finish()
    }
}

impl PravegaOptions {
    /// Parses a `tcp://` or `tls://` store URI and completes it from the environment (see the module docs).
    pub fn from_uri(uri: &str) -> Result<Self> {
        Self::from_uri_with_env(uri, |k| std::env::var(k).ok())
    }

    fn from_uri_with_env(uri: &str, env: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let bad = |reason: &str| StoreError::Uri {
            uri: redact(uri),
            reason: reason.to_owned(),
        };
        let (tls, rest) = if let Some(r) = uri.strip_prefix("tcp://") {
            (false, r)
        } else if let Some(r) = uri.strip_prefix("tls://") {
            (true, r)
        } else {
            return Err(bad("a Pravega URI starts with tcp:// or tls://"));
        };
        let rest = rest.trim_end_matches('/');
        if rest.contains('/') || rest.contains('?') {
            return Err(bad(
                "a Pravega URI names only the controller: tcp://[user:password@]host[:port]",
            ));
        }
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                let port = p.parse::<u16>().map_err(|_| bad("the port is not a number"))?;
                (h, port)
            }
            _ => (hostport, 9090),
        };
        if host.is_empty() {
            return Err(bad("no controller host"));
        }
        let credentials = match userinfo {
            Some(u) => {
                let (user, password) = u.split_once(':').unwrap_or((u, ""));
                Some((percent_decode(user), percent_decode(password)))
            }
            None => env("HINDSIGHT_PRAVEGA_USERNAME")
                .filter(|u| !u.is_empty())
                .map(|u| (u, env("HINDSIGHT_PRAVEGA_PASSWORD").unwrap_or_default())),
        };
        let insecure = env("HINDSIGHT_PRAVEGA_TLS_INSECURE").is_some_and(|v| v == "1" || v == "true");
        let trust_certs = if tls {
            let path = env("HINDSIGHT_PRAVEGA_TLS_CERT")
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "/etc/ssl/certs/ca-certificates.crt".to_owned());
            read_certs(&path, insecure)?
        } else {
            Vec::new()
        };
        let op_timeout = match env("HINDSIGHT_PRAVEGA_TIMEOUT_MS") {
            Some(ms) => Duration::from_millis(
                ms.parse::<u64>()
                    .map_err(|_| bad("HINDSIGHT_PRAVEGA_TIMEOUT_MS is not a number of milliseconds"))?
                    .max(1),
            ),
            None => DEFAULT_OP_TIMEOUT,
        };
        Ok(PravegaOptions {
            host: host.trim_start_matches('[').trim_end_matches(']').to_owned(),
            port,
            tls,
            credentials,
            trust_certs,
            insecure,
            op_timeout,
        })
    }

    /// The URI with the credentials (percent-encoded), to open the same store again elsewhere.
    pub fn connect_uri(&self) -> String {
        let scheme = if self.tls { "tls" } else { "tcp" };
        let userinfo = self
            .credentials
            .as_ref()
            .map(|(u, p)| format!("{}:{}@", percent_encode(u), percent_encode(p)))
            .unwrap_or_default();
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{scheme}://{userinfo}{host}:{}", self.port)
    }

    /// The URI for messages: scheme, user (no password), host and port.
    pub fn display_uri(&self) -> String {
        let scheme = if self.tls { "tls" } else { "tcp" };
        let user = self
            .credentials
            .as_ref()
            .map(|(u, _)| format!("{u}@"))
            .unwrap_or_default();
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{scheme}://{user}{host}:{}", self.port)
    }
}

/// A store URI for messages and logs: the password of `scheme://user:password@host` is dropped.
pub fn redact(uri: &str) -> String {
    match (uri.find("://"), uri.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &uri[s + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}@{}", &uri[..s + 3], &uri[at + 1..])
        }
        _ => uri.to_owned(),
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn read_certs(path: &str, insecure: bool) -> Result<Vec<String>> {
    let p = std::path::Path::new(path);
    let read = |f: &std::path::Path| {
        std::fs::read_to_string(f)
            .map_err(|e| StoreError::io(format!("cannot read TLS certificate {}", f.display()), e))
    };
    if p.is_dir() {
        let mut certs = Vec::new();
        let entries = std::fs::read_dir(p)
            .map_err(|e| StoreError::io(format!("cannot list TLS certificates in {path}"), e))?;
        for entry in entries {
            let entry =
                entry.map_err(|e| StoreError::io(format!("cannot list TLS certificates in {path}"), e))?;
            if entry.path().is_file() {
                certs.push(read(&entry.path())?);
            }
        }
        Ok(certs)
    } else if p.is_file() {
        Ok(vec![read(p)?])
    } else if insecure {
        Ok(Vec::new())
    } else {
        Err(StoreError::Uri {
            uri: path.to_owned(),
            reason: "no TLS certificates to trust there; set HINDSIGHT_PRAVEGA_TLS_CERT to a PEM file or directory"
                .into(),
        })
    }
}

/// The tokio runtime the blocking API runs its work on.
struct Rt {
    rt: Option<tokio::runtime::Runtime>,
}

impl Rt {
    fn handle(&self) -> Result<&tokio::runtime::Handle> {
        self.rt
            .as_ref()
            .map(|r| r.handle())
            .ok_or_else(|| StoreError::Backend("Pravega runtime is shut down".into()))
    }

    /// Runs `fut` on the runtime and blocks the calling thread until it ends or `limit` passes. Works from any
    /// thread, including one that runs another async executor.
    fn run<T, F>(&self, what: &str, limit: Option<Duration>, fut: F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        let task = self.handle()?.spawn(async move {
            match limit {
                Some(limit) => tokio::time::timeout(limit, fut).await.map_err(|_| limit),
                None => Ok(fut.await),
            }
        });
        match futures::executor::block_on(task) {
            Ok(Ok(r)) => r,
            Ok(Err(limit)) => Err(StoreError::Backend(format!(
                "{what}: no answer from Pravega within {:.1} s",
                limit.as_secs_f64()
            ))),
            Err(e) if e.is_panic() => {
                let p = e.into_panic();
                let msg = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown failure".into());
                Err(StoreError::Backend(format!(
                    "{what}: the Pravega client failed: {}",
                    explain(&msg)
                )))
            }
            Err(_) => Err(StoreError::Backend(format!("{what}: cancelled"))),
        }
    }
}

impl Drop for Rt {
    fn drop(&mut self) {
        // Never block (or panic) here, even when the last handle goes away on an async thread.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// A resolved byte stream: its one segment and what requests about it need.
pub(crate) struct SegmentHandle {
    pub(crate) name: StreamName,
    pub(crate) stream: ScopedStream,
    /// Qualified segment name as the segment store knows it.
    pub(crate) qualified: String,
    segment: ScopedSegment,
    tokens: DelegationTokenProvider,
    endpoint: Mutex<Option<PravegaNodeUri>>,
    /// Bumped by every truncation through this store, so that its readers drop bytes they fetched ahead.
    pub(crate) truncations: AtomicU64,
}

/// State shared by async work. Holds no runtime, so tasks may own it.
pub(crate) struct Core {
    factory: ClientFactoryAsync,
    conn_factory: Box<dyn ConnectionFactory>,
    handles: Mutex<HashMap<StreamName, Arc<SegmentHandle>>>,
    meta_conns: tokio::sync::Mutex<HashMap<PravegaNodeUri, Arc<SegmentConn>>>,
    tables: tokio::sync::Mutex<HashMap<String, Arc<Table>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn scoped(name: &StreamName) -> ScopedStream {
    ScopedStream {
        scope: Scope::from(name.scope().to_owned()),
        stream: Stream::from(name.stream().to_owned()),
    }
}

fn controller_err<E: std::fmt::Display>(what: impl std::fmt::Display, e: E) -> StoreError {
    StoreError::Backend(format!("{what}: {}", explain(&e.to_string())))
}

/// Turns the client's error text into a sentence for people. The client reports server refusals as gRPC
/// status dumps, whose metadata may carry the request's `authorization` header (the credentials, base64):
/// that part never leaves this function.
pub(crate) fn explain(detail: &str) -> String {
    if detail.contains("Could not connect to controller") || detail.contains("transport error") {
        return "cannot connect to the Pravega controller (is the server running and reachable?)".to_owned();
    }
    if detail.contains("Unauthenticated") {
        return "the server refused the credentials (authentication failed): give them in the store URI \
                (tcp://user:password@host:port) or in HINDSIGHT_PRAVEGA_USERNAME and HINDSIGHT_PRAVEGA_PASSWORD"
            .to_owned();
    }
    if detail.contains("PermissionDenied") {
        return "the server denied this user the operation (permission denied)".to_owned();
    }
    let cut = [", details:", ", metadata:", " metadata:"]
        .iter()
        .filter_map(|m| detail.find(m))
        .min()
        .unwrap_or(detail.len());
    detail[..cut].to_owned()
}

impl Core {
    pub(crate) fn factory(&self) -> &ClientFactoryAsync {
        &self.factory
    }

    /// Resolves the one segment of a stream (cached). [`StoreError::NotFound`] if the stream does not exist.
    pub(crate) async fn handle(&self, name: &StreamName) -> Result<Arc<SegmentHandle>> {
        if let Some(h) = lock(&self.handles).get(name) {
            return Ok(h.clone());
        }
        let stream = scoped(name);
        let controller = self.factory.controller_client();
        if !self.stream_exists(name).await? {
            return Err(StoreError::NotFound(name.clone()));
        }
        let heads = controller
            .get_head_segments(&stream)
            .await
            .map_err(|e| controller_err(format!("cannot get the segments of {name}"), e.error))?;
        if heads.len() != 1 {
            return Err(StoreError::Backend(format!(
                "stream {name} has {} segments; byte streams have exactly one",
                heads.len()
            )));
        }
        let Some(number) = heads.keys().next().map(|s| s.number) else {
            return Err(StoreError::Backend(format!("stream {name} has no segment")));
        };
        let segment = ScopedSegment {
            scope: stream.scope.clone(),
            stream: stream.stream.clone(),
            segment: Segment::from(number),
        };
        let handle = Arc::new(SegmentHandle {
            name: name.clone(),
            qualified: segment.to_string(),
            tokens: DelegationTokenProvider::new(stream.clone()),
            stream,
            segment,
            endpoint: Mutex::new(None),
            truncations: AtomicU64::new(0),
        });
        lock(&self.handles).insert(name.clone(), handle.clone());
        Ok(handle)
    }

    /// After a moved segment or a refused token: locate the segment store and fetch a token again.
    pub(crate) fn forget_endpoint(&self, h: &SegmentHandle) {
        *lock(&h.endpoint) = None;
        h.tokens.signal_token_expiry();
    }

    fn forget(&self, name: &StreamName) {
        lock(&self.handles).remove(name);
    }

    async fn stream_exists(&self, name: &StreamName) -> Result<bool> {
        let controller = self.factory.controller_client();
        match controller.check_stream_exists(&scoped(name)).await {
            Ok(exists) => Ok(exists),
            Err(e) => {
                // A missing scope is reported as an error by some controllers: that stream does not exist.
                let scope = Scope::from(name.scope().to_owned());
                match controller.check_scope_exists(&scope).await {
                    Ok(false) => Ok(false),
                    _ => Err(controller_err(
                        format!("cannot check whether {name} exists"),
                        e.error,
                    )),
                }
            }
        }
    }

    /// The segment store that owns a segment (cached per handle).
    async fn endpoint(&self, h: &SegmentHandle) -> Result<PravegaNodeUri> {
        if let Some(e) = lock(&h.endpoint).clone() {
            return Ok(e);
        }
        let e = self
            .factory
            .controller_client()
            .get_endpoint_for_segment(&h.segment)
            .await
            .map_err(|e| controller_err(format!("cannot locate the segment store of {}", h.name), e.error))?;
        *lock(&h.endpoint) = Some(e.clone());
        Ok(e)
    }

    /// Opens a dedicated connection to a segment's store.
    pub(crate) async fn connect(&self, h: &SegmentHandle) -> Result<Arc<SegmentConn>> {
        let endpoint = self.endpoint(h).await?;
        Ok(Arc::new(
            SegmentConn::connect(&*self.conn_factory, endpoint).await?,
        ))
    }

    /// The shared connection for metadata requests to a segment's store.
    async fn meta_conn(&self, h: &SegmentHandle) -> Result<Arc<SegmentConn>> {
        let endpoint = self.endpoint(h).await?;
        let mut conns = self.meta_conns.lock().await;
        if let Some(c) = conns.get(&endpoint).filter(|c| c.is_alive()) {
            return Ok(c.clone());
        }
        let c = Arc::new(SegmentConn::connect(&*self.conn_factory, endpoint.clone()).await?);
        conns.insert(endpoint, c.clone());
        Ok(c)
    }

    pub(crate) async fn token(&self, h: &SegmentHandle) -> String {
        h.tokens.retrieve_token(self.factory.controller_client()).await
    }

    /// Sends a request about `h`'s segment on `conn` (or the shared connection), handling the replies every
    /// request may get: a moved segment (asks the controller again, once) and an expired token (once).
    pub(crate) async fn segment_call(
        &self,
        h: &SegmentHandle,
        conn: Option<&Arc<SegmentConn>>,
        make: impl Fn(i64, String) -> Requests,
    ) -> Result<Replies> {
        let mut retried = false;
        loop {
            let c = match conn {
                Some(c) => c.clone(),
                None => self.meta_conn(h).await?,
            };
            let token = self.token(h).await;
            let reply = c.call(&make(request_id(), token)).await?;
            match reply {
                Replies::WrongHost(_) if !retried => {
                    *lock(&h.endpoint) = None;
                    retried = true;
                    if conn.is_some() {
                        return Err(StoreError::Backend(format!(
                            "segment of {} moved to another segment store; reconnecting",
                            h.name
                        )));
                    }
                }
                Replies::AuthTokenCheckFailed(_) if !retried => {
                    h.tokens.signal_token_expiry();
                    retried = true;
                }
                Replies::AuthTokenCheckFailed(c) => {
                    return Err(StoreError::Backend(format!(
                        "Pravega refused access to {}: {}",
                        h.name, c.server_stack_trace
                    )))
                }
                Replies::NoSuchSegment(_) => return Err(StoreError::NotFound(h.name.clone())),
                other => return Ok(other),
            }
        }
    }

    /// Head, tail and sealed state of a segment.
    pub(crate) async fn segment_info(
        &self,
        h: &SegmentHandle,
        conn: Option<&Arc<SegmentConn>>,
    ) -> Result<StreamSegmentInfoCommand> {
        let seg = h.qualified.clone();
        let reply = self
            .segment_call(h, conn, |request_id, delegation_token| {
                Requests::GetStreamSegmentInfo(GetStreamSegmentInfoCommand {
                    request_id,
                    segment_name: seg.clone(),
                    delegation_token,
                })
            })
            .await?;
        match reply {
            Replies::StreamSegmentInfo(info) if info.exists && !info.is_deleted => Ok(info),
            Replies::StreamSegmentInfo(_) => Err(StoreError::NotFound(h.name.clone())),
            other => Err(unexpected(&h.name, "segment info", &other)),
        }
    }

    /// Drops the cached lease table of a scope after it failed (e.g. a server restart lost it), so that the next
    /// use creates it again.
    pub(crate) async fn forget_table(&self, scope: &str) {
        self.tables.lock().await.remove(scope);
    }

    /// Runs a lease-table operation, once more with a fresh table if the first attempt failed for a reason
    /// other than the answer itself.
    pub(crate) async fn with_table<T, F, Fut>(&self, scope: &str, op: F) -> Result<T>
    where
        F: Fn(Arc<Table>) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        match op(self.table(scope).await?).await {
            Err(StoreError::Backend(e)) => {
                tracing::debug!(scope, error = %e, "lease table failed; opening it again");
                self.forget_table(scope).await;
                op(self.table(scope).await?).await
            }
            other => other,
        }
    }

    /// The writer lease table of a scope (created on first use).
    pub(crate) async fn table(&self, scope: &str) -> Result<Arc<Table>> {
        let mut tables = self.tables.lock().await;
        if let Some(t) = tables.get(scope) {
            return Ok(t.clone());
        }
        let factory = self.factory.clone();
        let scope_owned = scope.to_owned();
        // Table creation panics on some failures: keep that inside its own task.
        let table = tokio::spawn(async move {
            factory
                .create_table(Scope::from(scope_owned), lease::TABLE_NAME.to_owned())
                .await
        })
        .await
        .map_err(|e| {
            StoreError::Backend(format!(
                "cannot open the writer lease table of scope {scope}: {}",
                explain(&e.to_string())
            ))
        })?;
        let table = Arc::new(table);
        tables.insert(scope.to_owned(), table.clone());
        Ok(table)
    }
}

pub(crate) fn unexpected(name: &StreamName, what: &str, reply: &Replies) -> StoreError {
    let detail = match reply {
        Replies::ErrorMessage(m) => m.message.clone(),
        other => {
            let mut s = format!("{other:?}");
            s.truncate(200);
            s
        }
    };
    StoreError::Backend(format!(
        "unexpected reply from Pravega to {what} of {name}: {detail}"
    ))
}

/// What blocking handles (store, readers, writers) share: the runtime plus the async state.
pub(crate) struct Shared {
    // Field order matters: the core (and the client objects in it) goes before the runtime that drives them.
    pub(crate) core: Arc<Core>,
    pub(crate) op_timeout: Duration,
    pub(crate) uri: String,
    /// With the credentials: only ever passed on (Backend::open_uri), never shown.
    connect_uri: String,
    rt: Rt,
}

impl Shared {
    /// Runs `fut` under the operation timeout.
    pub(crate) fn run<T, F>(&self, what: &str, fut: F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        self.rt.run(what, Some(self.op_timeout), fut)
    }

    /// Runs `fut` with no timeout (it has its own deadline).
    pub(crate) fn run_unbounded<T, F>(&self, what: &str, fut: F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        self.rt.run(what, None, fut)
    }

    /// Runs `fut` with a timeout of its own.
    pub(crate) fn run_limited<T, F>(&self, what: &str, limit: Duration, fut: F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        self.rt.run(what, Some(limit), fut)
    }
}

/// A Pravega cluster as a store of byte streams. Cheap to clone; clones share one client and runtime.
#[derive(Clone)]
pub struct PravegaStore {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for PravegaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PravegaStore")
            .field("uri", &self.shared.uri)
            .finish()
    }
}

impl PravegaStore {
    /// Opens the store a `tcp://` or `tls://` URI names. Connects lazily: an unreachable controller shows up as
    /// an error of the first operation.
    pub fn open(uri: &str) -> Result<Self> {
        Self::with_options(PravegaOptions::from_uri(uri)?)
    }

    /// Opens a store from explicit options.
    pub fn with_options(opts: PravegaOptions) -> Result<Self> {
        let shown = opts.display_uri();
        // pravega-client panics on names it cannot resolve; check here to report it as an error.
        (opts.host.as_str(), opts.port)
            .to_socket_addrs()
            .map_err(|e| StoreError::Uri {
                uri: shown.clone(),
                reason: format!("cannot resolve {}: {e}", opts.host),
            })?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("hindsight-pravega")
            .enable_all()
            .build()
            .map_err(|e| StoreError::io("cannot start the Pravega client runtime", e))?;
        let scheme = if opts.tls { "tls" } else { "tcp" };
        let mut builder = ClientConfigBuilder::default();
        builder
            .controller_uri(PravegaNodeUri::from(format!(
                "{scheme}://{}:{}",
                opts.host, opts.port
            )))
            .is_tls_enabled(opts.tls)
            .trustcerts(opts.trust_certs.clone())
            .disable_cert_verification(opts.insecure)
            // Fail in seconds, not minutes: the caller retries (the client's default back-off grows to 10 s).
            .retry_policy(
                RetryWithBackoff::default_setting()
                    .initial_delay(Duration::from_millis(10))
                    .backoff_coefficient(2)
                    .max_delay(Duration::from_millis(500))
                    .max_attempt(6),
            )
            .request_timeout(opts.op_timeout);
        match &opts.credentials {
            Some((user, password)) => {
                builder
                    .is_auth_enabled(true)
                    .credentials(Credentials::basic(user.clone(), password.clone()));
            }
            None => {
                builder.credentials(Credentials::basic(String::new(), String::new()));
            }
        }
        let config = builder.build().map_err(|e| StoreError::Uri {
            uri: shown.clone(),
            reason: e.to_string(),
        })?;
        let conn_factory = <dyn ConnectionFactory>::create(ConnectionFactoryConfig::from(&config));
        // The controller client connects lazily, but with auth it fetches a token while being built: do that on
        // a runtime thread where a panic stays contained.
        let handle = rt.handle().clone();
        let factory =
            futures::executor::block_on(rt.spawn_blocking(move || ClientFactoryAsync::new(config, handle)))
                .map_err(|e| {
                StoreError::Backend(format!(
                    "cannot create the Pravega client for {shown}: {}",
                    explain(&e.to_string())
                ))
            })?;
        let core = Arc::new(Core {
            factory,
            conn_factory,
            handles: Mutex::default(),
            meta_conns: tokio::sync::Mutex::default(),
            tables: tokio::sync::Mutex::default(),
        });
        tracing::debug!(uri = %shown, "opened Pravega store");
        Ok(PravegaStore {
            shared: Arc::new(Shared {
                core,
                op_timeout: opts.op_timeout,
                uri: shown,
                connect_uri: opts.connect_uri(),
                rt: Rt { rt: Some(rt) },
            }),
        })
    }

    /// The tags of a stream (streams this backend creates carry [`VIDEO_TAG`], index streams also
    /// [`INDEX_TAG`]).
    pub fn stream_tags(&self, name: &StreamName) -> Result<Vec<String>> {
        let core = self.shared.core.clone();
        let name = name.clone();
        self.run(&format!("tags of {name}"), async move {
            if !core.stream_exists(&name).await? {
                return Err(StoreError::NotFound(name));
            }
            let tags = core
                .factory
                .controller_client()
                .get_stream_tags(&scoped(&name))
                .await
                .map_err(|e| controller_err(format!("cannot read the tags of {name}"), e.error))?;
            Ok(tags.unwrap_or_default())
        })
    }

    fn run<T, F>(&self, what: &str, fut: F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        self.shared.run(what, fut)
    }
}

impl Backend for PravegaStore {
    fn uri(&self) -> String {
        self.shared.uri.clone()
    }

    fn open_uri(&self) -> String {
        self.shared.connect_uri.clone()
    }

    fn create(&self, name: &StreamName) -> Result<()> {
        let core = self.shared.core.clone();
        let name = name.clone();
        self.run(&format!("create {name}"), async move {
            let controller = core.factory.controller_client();
            let scope = Scope::from(name.scope().to_owned());
            controller
                .create_scope(&scope)
                .await
                .map_err(|e| controller_err(format!("cannot create scope {}", name.scope()), e.error))?;
            let mut tags = vec![VIDEO_TAG.to_owned()];
            if name.is_index() {
                tags.push(INDEX_TAG.to_owned());
            }
            let config = StreamConfiguration {
                scoped_stream: scoped(&name),
                scaling: Scaling {
                    scale_type: ScaleType::FixedNumSegments,
                    target_rate: 0,
                    scale_factor: 0,
                    min_num_segments: 1,
                },
                retention: Retention::default(),
                tags: Some(tags),
            };
            let created = controller
                .create_stream(&config)
                .await
                .map_err(|e| controller_err(format!("cannot create stream {name}"), e.error))?;
            if created {
                tracing::debug!(stream = %name, "created Pravega stream");
            }
            Ok(())
        })
    }

    fn exists(&self, name: &StreamName) -> Result<bool> {
        let core = self.shared.core.clone();
        let name = name.clone();
        self.run(&format!("check {name}"), async move {
            core.stream_exists(&name).await
        })
    }

    fn list(&self) -> Result<Vec<StreamName>> {
        let core = self.shared.core.clone();
        self.run("list streams", async move {
            let controller = core.factory.controller_client();
            let mut scopes = Vec::new();
            let mut token = CToken::empty();
            while let Some((page, next)) = controller
                .list_scopes(&token)
                .await
                .map_err(|e| controller_err("cannot list scopes", e.error))?
            {
                scopes.extend(page);
                token = next;
            }
            let mut names = Vec::new();
            for scope in scopes {
                // Pravega's own scopes and streams (`_system`, `_RG...`, `_MARK...`) are not ours.
                if scope.name.starts_with('_') {
                    continue;
                }
                let mut token = CToken::empty();
                while let Some((page, next)) = controller.list_streams(&scope, &token).await.map_err(|e| {
                    controller_err(format!("cannot list streams of scope {}", scope.name), e.error)
                })? {
                    for s in page {
                        if s.stream.name.starts_with('_') {
                            continue;
                        }
                        if let Ok(n) = StreamName::new(&s.scope.name, &s.stream.name) {
                            names.push(n);
                        }
                    }
                    token = next;
                }
            }
            names.sort();
            names.dedup();
            Ok(names)
        })
    }

    fn delete(&self, name: &StreamName) -> Result<()> {
        let core = self.shared.core.clone();
        let name = name.clone();
        let result = self.run(&format!("delete {name}"), {
            let core = core.clone();
            let name = name.clone();
            async move {
                if !core.stream_exists(&name).await? {
                    return Err(StoreError::NotFound(name));
                }
                let controller = core.factory.controller_client();
                let stream = scoped(&name);
                // Pravega deletes only sealed streams.
                controller
                    .seal_stream(&stream)
                    .await
                    .map_err(|e| controller_err(format!("cannot seal {name} before deleting it"), e.error))?;
                controller
                    .delete_stream(&stream)
                    .await
                    .map_err(|e| controller_err(format!("cannot delete {name}"), e.error))?;
                // A stale lease would only confuse `writer_active` of a later stream of that name.
                if let Ok(table) = core.table(name.scope()).await {
                    let _ = lease::remove_any(&table, &name).await;
                }
                Ok(())
            }
        });
        core.forget(&name);
        result
    }

    fn info(&self, name: &StreamName) -> Result<StreamInfo> {
        let core = self.shared.core.clone();
        let name = name.clone();
        self.run(&format!("stream info of {name}"), async move {
            let h = core.handle(&name).await?;
            let info = core.segment_info(&h, None).await?;
            let writer_active = core
                .with_table(name.scope(), |table| {
                    let name = name.clone();
                    async move { lease::is_held(&table, &name).await }
                })
                .await
                .ok();
            Ok(StreamInfo {
                head: info.start_offset.max(0) as u64,
                tail: info.write_offset.max(0) as u64,
                sealed: info.is_sealed,
                writer_active,
            })
        })
    }

    fn truncate_before(&self, name: &StreamName, offset: u64) -> Result<()> {
        let core = self.shared.core.clone();
        let name = name.clone();
        self.run(&format!("truncate {name}"), async move {
            let h = core.handle(&name).await?;
            let info = core.segment_info(&h, None).await?;
            let (head, tail) = (info.start_offset.max(0) as u64, info.write_offset.max(0) as u64);
            if offset > tail {
                return Err(StoreError::PastTail {
                    stream: name,
                    offset,
                    tail,
                });
            }
            if offset <= head {
                return Ok(());
            }
            let seg = h.qualified.clone();
            let reply = core
                .segment_call(&h, None, |request_id, delegation_token| {
                    Requests::TruncateSegment(TruncateSegmentCommand {
                        request_id,
                        segment: seg.clone(),
                        truncation_offset: offset as i64,
                        delegation_token,
                    })
                })
                .await?;
            match reply {
                Replies::SegmentTruncated(_) | Replies::SegmentIsTruncated(_) => {
                    h.truncations.fetch_add(1, Ordering::SeqCst);
                    tracing::debug!(stream = %name, offset, "truncated");
                    Ok(())
                }
                other => Err(unexpected(&name, "truncation", &other)),
            }
        })
    }

    fn writer(&self, name: &StreamName) -> Result<Box<dyn ByteWriter>> {
        Ok(Box::new(io::PravegaWriter::open(self.shared.clone(), name)?))
    }

    fn reader(&self, name: &StreamName) -> Result<Box<dyn ByteReader>> {
        Ok(Box::new(io::PravegaReader::open(self.shared.clone(), name)?))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn client_errors_are_explained_without_credentials() {
        let refused =
            "Controller client failed to perform operation ListScopes due to status: Unauthenticated, \
                       message: \"\", details: [], metadata: MetadataMap { headers: {\"authorization\": \
                       \"Basic YWRtaW46d3Jvbmc=\"} }";
        let text = explain(refused);
        assert!(text.contains("authentication failed"), "{text}");
        assert!(
            !text.contains("YWRt") && !text.contains("authorization"),
            "{text}"
        );
        let other = "status: Internal, message: \"boom\", details: [], metadata: MetadataMap { headers: {} }";
        assert_eq!(explain(other), "status: Internal, message: \"boom\"");
        assert!(explain("Could not connect to controller").contains("cannot connect"));
    }

    use super::*;

    fn opts(uri: &str, env: &[(&str, &str)]) -> Result<PravegaOptions> {
        let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        PravegaOptions::from_uri_with_env(uri, |k| env.get(k).cloned())
    }

    #[test]
    fn connect_uris_keep_the_credentials_for_reopening() {
        let o = opts("tcp://ad%40min:p%3Ass@ctl:9090", &[]).expect("with credentials");
        assert_eq!(o.connect_uri(), "tcp://ad%40min:p%3Ass@ctl:9090");
        let again = opts(&o.connect_uri(), &[]).expect("reparsed");
        assert_eq!(again.credentials, Some(("ad@min".to_owned(), "p:ss".to_owned())));
        assert_eq!(o.display_uri(), "tcp://ad@min@ctl:9090");
    }

    #[test]
    fn uris_parse() {
        let o = opts("tcp://127.0.0.1:9090", &[]).expect("plain");
        assert_eq!((o.host.as_str(), o.port, o.tls), ("127.0.0.1", 9090, false));
        assert!(o.credentials.is_none());
        assert_eq!(o.display_uri(), "tcp://127.0.0.1:9090");

        let o = opts("tcp://localhost", &[]).expect("default port");
        assert_eq!(o.port, 9090);

        let o = opts("tcp://admin:s%40cret@ctl.example:9091/", &[]).expect("credentials");
        assert_eq!(o.credentials, Some(("admin".into(), "s@cret".into())));
        assert_eq!(o.display_uri(), "tcp://admin@ctl.example:9091");
        assert!(!format!("{o:?}").contains("cret"));

        let o = opts(
            "tcp://h:1",
            &[
                ("HINDSIGHT_PRAVEGA_USERNAME", "u"),
                ("HINDSIGHT_PRAVEGA_PASSWORD", "p"),
            ],
        )
        .expect("env credentials");
        assert_eq!(o.credentials, Some(("u".into(), "p".into())));

        let o = opts(
            "tls://h:1",
            &[
                ("HINDSIGHT_PRAVEGA_TLS_INSECURE", "1"),
                ("HINDSIGHT_PRAVEGA_TLS_CERT", "/nope"),
            ],
        )
        .expect("insecure tls");
        assert!(o.tls && o.insecure);

        let o = opts("tcp://h:1", &[("HINDSIGHT_PRAVEGA_TIMEOUT_MS", "250")]).expect("timeout");
        assert_eq!(o.op_timeout, Duration::from_millis(250));
    }

    #[test]
    fn bad_uris_are_refused_without_leaking_passwords() {
        for bad in [
            "http://h:1",
            "tcp://",
            "tcp://h:notaport",
            "tcp://h:1/scope/stream",
            "tcp://:1",
        ] {
            assert!(opts(bad, &[]).is_err(), "{bad}");
        }
        let err = opts("tcp://u:secret@h:x", &[]).expect_err("bad port");
        assert!(!err.to_string().contains("secret"), "{err}");
        let err =
            opts("tls://h:1", &[("HINDSIGHT_PRAVEGA_TLS_CERT", "/does/not/exist")]).expect_err("no certs");
        assert!(err.to_string().contains("HINDSIGHT_PRAVEGA_TLS_CERT"), "{err}");
    }
}
